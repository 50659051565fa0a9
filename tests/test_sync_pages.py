"""Pages read the lead store, which the background sync fills: the sidebar says how fresh the data is, Sync
now brings what changed, a failed sync keeps the data with a warning, a restart shows the data without the
CRM, and the Status history page shows what the syncs saw."""

from __future__ import annotations

import pandas as pd
import pytest
import streamlit as st

from tests.conftest import STATUS, lead_item, run_app

ID = 900000000000000000000000000000000000000


def caption(at) -> str:
    return next(c.value for c in at.sidebar.caption if " · synced" in c.value)


def click(at, label: str):
    button = next(b for b in [*at.sidebar.button, *at.main.button] if b.label == label)
    button.click().run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(autouse=True)
def clean_caches(fresh_streamlit_caches):
    yield


def test_pages_read_the_store_and_sync_now_brings_a_new_lead(serve_leads):
    crm = serve_leads([lead_item(1, "new", 1, "10:00:00"), lead_item(2, "new", 2, "10:00:00")])
    at = run_app("pages/overview.py")
    assert caption(at) == "2 leads · synced just now"  # the first sync ran at the pinned now
    crm.db.import_items([lead_item(3, "new", 0, "09:00:00")])
    assert caption(run_app("pages/overview.py")) == "2 leads · synced just now"  # pages never ask the CRM
    click(at, "Sync now")
    assert caption(at) == "3 leads · synced just now"


def test_a_failed_sync_keeps_the_data_and_says_when_it_was_fresh_and_why(serve_leads, monkeypatch):
    serve_leads([lead_item(1, "new", 1, "10:00:00"), lead_item(2, "new", 2, "10:00:00")])
    run_app("pages/overview.py")  # first sync at 14:00 (NOW)
    monkeypatch.setenv("LEADS_NOW", "2026-11-23T14:30:00+02:00")
    monkeypatch.setenv("LEADS_TOKEN", "a-revoked-token")  # the CRM now refuses the dashboard's token
    at = run_app("pages/overview.py")
    click(at, "Sync now")
    warning = next(w.value for w in at.warning if "The last sync failed" in w.value)
    assert "401" in warning and "a-revoked-token" not in warning
    assert "23 Nov 2026 14:00 (30 min ago)" in warning  # last fresh at the first sync, 14:00 Jerusalem
    assert caption(at) == "2 leads · synced 30 min ago"  # the data of the last good sync is still shown


def test_a_restart_shows_the_stored_data_at_once_without_the_crm(serve_leads, monkeypatch):
    crm = serve_leads([lead_item(n, "new", n, "10:00:00") for n in range(1, 4)])
    run_app("pages/overview.py")
    crm.stop()  # the CRM is unreachable, and the app restarts (caches and the sync thread gone)
    from lib.ui.data import stop_workers

    stop_workers()
    st.cache_resource.clear()
    monkeypatch.setenv("LEADS_SYNC_INTERVAL", "off")  # nothing in this process syncs
    at = run_app("pages/overview.py")
    assert caption(at) == "3 leads · synced just now"
    assert not at.error


def test_settings_lists_the_sync_runs(serve_leads):
    crm = serve_leads([lead_item(1, "new", 1, "10:00:00")])
    at = run_app("pages/settings.py")
    crm.db.import_items([lead_item(2, "new", 0, "09:00:00")])
    click(at, "Sync now")
    runs = next(df.value for df in at.dataframe if "Mode" in df.value.columns)
    # newest first: an incremental run that fetched the new lead (and the overlap), then the first full one
    assert runs["Mode"].tolist() == ["incremental", "full"]
    assert runs["Fetched"].tolist()[1] == 1 and runs["Changed"].tolist() == [1, 1]
    assert (runs["Error"] == "").all()
    assert any("every 5 min" in c.value for c in at.caption)


def test_history_page_shows_speed_to_lead_and_the_status_flow(serve_leads, monkeypatch):
    # The first sync runs at 09:00 Jerusalem: lead 1 (created yesterday) is there, before history starts.
    monkeypatch.setenv("LEADS_NOW", "2026-11-23T09:00:00+02:00")
    crm = serve_leads([lead_item(1, "new", 1, "10:00:00")])
    at = run_app("pages/history.py")
    assert any("No status change has been seen" in i.value for i in at.info)
    # 10:00: lead 2 arrives (status new); 10:30 lead 2 -> no answer; 11:00 lead 1 -> not interested.
    monkeypatch.setenv("LEADS_NOW", "2026-11-23T12:00:00+02:00")
    crm.db.import_items([lead_item(2, "new", 0, "10:00:00")])
    click(at, "Sync now")
    moves = [(2, "no_answer", "2026-11-23T10:30:00"), (1, "not_interested", "2026-11-23T11:00:00")]
    for n, status, at_local in moves:
        assert crm.db.update_lead(str(ID + n), status_id=STATUS[status], updated_at=at_local)
    click(at, "Sync now")
    text = " ".join(m.value for m in at.markdown)
    assert "History starts at the first sync on 23 Nov 2026, 09:00" in text
    metrics = {m.label: m.value for m in at.metric}
    # lead 2: created 10:00, first change 10:30 -> 30 min; the only eligible lead (lead 1 predates history)
    assert metrics["Median time to first change"] == "30 min"
    assert metrics["Within 1 hour"] == "100.0%"
    flow = next(df.value for df in at.dataframe if "changes" in df.value.columns)
    assert sorted(zip(flow["from_status"], flow["to_status"], flow["changes"], strict=True)) == sorted(
        [("💫 חדש", "☎️ אין מענה", 1), ("💫 חדש", "😐 לא מעוניין", 1)]
    )
    assert isinstance(flow, pd.DataFrame)


def test_values_the_crm_sent_unreadable_are_counted_on_the_page(serve_leads):
    serve_leads(
        [lead_item(1, "new", 1, "10:00:00"), {**lead_item(2, "new", 2, "10:00:00"), "created_at": "soon"}]
    )
    at = run_app("pages/overview.py")
    warning = next(w.value for w in at.warning if "could not be read" in w.value)
    assert warning.endswith("are left blank: 1 created at.")  # lead 2's created_at; the lead itself is kept
    assert caption(at) == "2 leads · synced just now"


def test_a_failed_first_sync_says_why_and_can_be_tried_again(tmp_path, monkeypatch):
    from tests.conftest import point_app_at
    from tests.fakes.v2_faults import FaultyDemoCRM

    with FaultyDemoCRM(tmp_path / "crm", size=0, page_size=4) as crm:
        crm.db.import_items([lead_item(1, "new", 1, "10:00:00")])
        crm.inject("/v2/leads/statuses", 401, times=1)  # the first sync is refused once
        point_app_at(monkeypatch, "v2", crm)
        at = run_app("pages/overview.py")
        assert "Could not load the leads" in at.error[0].value and "401" in at.error[0].value
        assert not at.metric  # nothing to show yet, and nothing invented
        click(at, "Try the sync again")
        assert not at.error
        assert caption(at) == "1 lead · synced just now"
