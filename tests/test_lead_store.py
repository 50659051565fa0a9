"""lib.lead_store: the synced leads, statuses, history, runs and lease, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from lib.db import open_database
from lib.lead_store import LeadStore, lease_name
from lib.schema import LEAD_COLUMNS, to_canonical_leads, to_canonical_statuses

T = pd.Timestamp
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 23, 12, 5, tzinfo=UTC)


def leads(*rows: dict) -> pd.DataFrame:
    """Canonical leads with two connector extras: `pipeline` (a dimension) and `score` (a number)."""
    return to_canonical_leads(pd.DataFrame(list(rows)))


A = {
    "lead_id": "1001",
    "name": "דנה כהן",
    "status_id": "s1",
    "status": "חדש",
    "created_at": "2026-11-20T08:00:00Z",
    "updated_at": "2026-11-20T08:00:00Z",
    "price": 250.5,
    "pipeline": "Sales",
    "score": 3,
}
B = {
    "lead_id": "1002",
    "name": "Yossi",
    "status_id": "s2",
    "created_at": "2026-11-21T09:30:00Z",
    "updated_at": "2026-11-21T09:30:00Z",
    "price": None,
    "pipeline": None,
    "score": None,
}
C = {"lead_id": "1003", "name": "New", "status_id": "s1", "created_at": "2026-11-23T11:00:00Z"}


def test_schema_is_created_once_and_kept(store_url):
    db = open_database(store_url)
    store = LeadStore(db)
    assert store.schema_version() == 1
    assert {"synced_leads", "synced_statuses", "sync_state", "sync_runs", "status_history", "sync_lease"} <= (
        db.tables()
    )
    assert {
        "crm",
        "lead_id",
        *LEAD_COLUMNS,
        "extra",
        "row_hash",
        "deleted_at",
        "rv",
        "seen_run",
    } == db.columns("synced_leads")
    store.write_page("demo", leads(A), run_id=1, now=NOW, full=True)
    again = LeadStore(open_database(store_url))  # a restart (or a second process) upgrades nothing
    assert again.schema_version() == 1
    frame, rv = again.leads_since("demo")
    assert frame["lead_id"].tolist() == ["1001"] and rv == 1


def test_leads_round_trip_versions_and_history(store_url):
    store = LeadStore(open_database(store_url))
    assert store.version("crm") == 0
    assert store.leads_since("crm")[1] == 0

    first = store.write_page("crm", leads(A, B), run_id=1, now=NOW, full=True)
    assert (first.rows, first.changed, first.status_changes) == (2, 2, 0)  # new leads are not history
    # B's 2026-11-21T09:30:00Z: (56 * 365 + 14 leap days + 324 days into 2026) * 86400 + 9.5 * 3600 seconds
    assert first.max_updated_at == 1_795_253_400 * 1_000_000
    assert store.version("crm") == 1

    frame, rv = store.leads_since("crm")
    assert rv == 1
    frame = frame.set_index("lead_id")
    assert frame.loc["1001", "name"] == "דנה כהן"
    assert frame.loc["1001", "created_at"] == T("2026-11-20T08:00:00Z")
    assert frame.loc["1001", "price"] == 250.5 and pd.isna(frame.loc["1002", "price"])
    assert frame.loc["1001", "pipeline"] == "Sales" and pd.isna(frame.loc["1002", "pipeline"])
    assert frame.loc["1001", "score"] == 3 and pd.isna(frame.loc["1002", "score"])
    assert frame["deleted_at"].isna().all()
    assert str(frame["created_at"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(frame["status_id"].dtype, pd.CategoricalDtype)
    assert isinstance(frame["pipeline"].dtype, pd.CategoricalDtype)
    assert list(frame.columns[-3:]) == ["pipeline", "score", "deleted_at"]  # extras, then deleted_at

    # the same page again: nothing written, the version stays
    same = store.write_page("crm", leads(A, B), run_id=2, now=NOW, full=True)
    assert (same.changed, same.status_changes) == (0, 0)
    assert store.version("crm") == 1
    empty, rv = store.leads_since("crm", 1)
    assert empty.empty and rv == 1

    # A moves from s1 to s3: one write, one history row; only A is newer than version 1
    moved = {**A, "status_id": "s3", "updated_at": "2026-11-23T11:30:00Z"}
    result = store.write_page("crm", leads(moved, B, C), run_id=3, now=LATER, full=False)
    assert (result.changed, result.status_changes) == (2, 1)  # A changed, C is new; B as it was
    assert store.version("crm") == 2
    newer, rv = store.leads_since("crm", 1)
    assert sorted(newer["lead_id"]) == ["1001", "1003"] and rv == 2
    history = store.history("crm")
    assert history[["lead_id", "from_status_id", "to_status_id"]].values.tolist() == [["1001", "s1", "s3"]]
    assert history.loc[0, "observed_at"] == T(LATER)
    assert history.loc[0, "crm_updated_at"] == T("2026-11-23T11:30:00Z")

    # other CRMs are separate
    assert store.version("other") == 0 and store.leads_since("other")[0].empty
    assert store.history("other").empty


def test_unseen_leads_are_marked_deleted_and_undeleted_when_back(store_url):
    store = LeadStore(open_database(store_url))
    store.write_page("crm", leads(A, B, C), run_id=1, now=NOW, full=True)
    store.write_page("crm", leads(A), run_id=2, now=NOW, full=True)  # a full run that saw only A
    assert store.mark_unseen_deleted("crm", run_id=2, now=LATER) == 2  # B and C
    assert store.live_count("crm") == 1
    frame, rv = store.leads_since("crm", 1)
    assert rv == 2
    assert sorted(frame["lead_id"]) == ["1002", "1003"]
    assert (frame["deleted_at"] == T(LATER)).all()
    assert store.mark_unseen_deleted("crm", run_id=2, now=LATER) == 0  # nothing more, and no new version
    assert store.version("crm") == 2

    back = store.write_page("crm", leads(B), run_id=3, now=LATER, full=False)
    assert (back.changed, back.status_changes) == (1, 0)
    frame, _ = store.leads_since("crm", 2)
    assert frame["lead_id"].tolist() == ["1002"] and frame["deleted_at"].isna().all()
    assert store.live_count("crm") == 2


def test_status_catalogue_round_trip(store_url):
    store = LeadStore(open_database(store_url))
    assert store.statuses("crm").empty
    catalogue = to_canonical_statuses(
        pd.DataFrame(
            {
                "status_id": ["s1", "s2"],
                "status": ["💫 חדש", "Won"],
                "is_active": [True, False],
                "position": [0, 1],
                "role": ["open", "won"],
                "stage": [0, None],
            }
        )
    )
    assert store.save_statuses("crm", catalogue) is True
    assert store.version("crm") == 1
    assert store.save_statuses("crm", catalogue) is False  # unchanged: no new version
    assert store.version("crm") == 1
    pd.testing.assert_frame_equal(store.statuses("crm"), catalogue)


def test_lease_is_exclusive_and_an_expired_one_is_taken_over(store_url):
    wall = [1000.0]
    db = open_database(store_url)
    store = LeadStore(db, wall=lambda: wall[0])
    other = LeadStore(open_database(store_url), wall=lambda: wall[0])
    name = lease_name("crm")
    assert store.acquire_lease(name, "a", 120) is True
    assert other.acquire_lease(name, "b", 120) is False  # a holds it until 1120
    assert store.acquire_lease(name, "a", 120) is True  # its holder may renew
    assert other.lease_holder(name) == "a"
    wall[0] = 1121.0  # a stopped renewing: expired
    assert other.lease_holder(name) is None
    assert other.acquire_lease(name, "b", 120) is True
    assert store.renew_lease(name, "a", 120) is False  # a lost it
    store.release_lease(name, "a")  # not a's to release: b keeps it
    assert other.lease_holder(name) == "b"
    other.release_lease(name, "b")
    assert store.acquire_lease(name, "a", 120) is True


def test_runs_state_and_sync_requests(store_url):
    wall = [1000.0]
    store = LeadStore(open_database(store_url), wall=lambda: wall[0])
    assert store.state("crm").last_success_at is None and store.runs("crm").empty
    store.request_sync("crm", NOW)
    assert store.sync_requested("crm") == NOW and store.state("crm").requested_at == NOW

    store.acquire_lease(lease_name("crm"), "me", 120)
    run = store.begin_run("crm", started_at=LATER, mode="full", holder="me")
    assert store.sync_requested("crm") is None  # the run serves the request asked before it
    store.update_run(run, pages=2, fetched=500)
    assert store.state("crm").running == {"started_at": LATER, "mode": "full", "pages": 2, "fetched": 500}
    store.finish_run(
        "crm",
        run,
        started_at=LATER,
        finished_at=datetime(2026, 11, 23, 12, 6, tzinfo=UTC),
        mode="full",
        watermark_us=1_795_253_400 * 1_000_000,  # 2026-11-21T09:30:00Z
        counts={"fetched": 700, "changed": 700, "total": 700, "requests": 9, "seconds": 61.5},
    )
    state = store.state("crm")
    assert state.running is None  # finished, even though the lease is still held
    assert state.watermark == datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    assert state.last_full_at == LATER and state.history_since == LATER
    assert state.last_success_at == datetime(2026, 11, 23, 12, 6, tzinfo=UTC)

    failed = store.begin_run("crm", started_at=datetime(2026, 11, 23, 12, 10, tzinfo=UTC), mode="incremental",
                             holder="me")  # fmt: skip
    store.fail_run("crm", failed, at=datetime(2026, 11, 23, 12, 11, tzinfo=UTC), error="CRM down", counts={})
    state = store.state("crm")
    assert state.last_error == "CRM down" and state.last_error_at == datetime(
        2026, 11, 23, 12, 11, tzinfo=UTC
    )
    assert state.last_success_at == datetime(2026, 11, 23, 12, 6, tzinfo=UTC)  # the last good one stays
    store.begin_run("crm", started_at=LATER, mode="full", holder="a-process-killed-by-sigkill")
    store.begin_run("crm", started_at=LATER, mode="full", holder="me")  # the next run, under the lease
    runs = store.runs("crm")
    assert pd.isna(runs.loc[0, "error"])  # the one running now
    assert runs.loc[1, "error"] == "interrupted: the syncing process stopped before the end"
    runs = runs.iloc[2:].reset_index(drop=True)
    assert runs["mode"].tolist() == ["incremental", "full"]  # newest first
    assert runs["error"].tolist()[0] == "CRM down" and pd.isna(runs["error"].tolist()[1])
    assert runs.loc[1, ["fetched", "changed", "total", "requests"]].tolist() == [700, 700, 700, 9]
    assert runs.loc[1, "seconds"] == 61.5


@pytest.mark.parametrize("bad", [datetime(2026, 11, 23, 12, 0)])
def test_naive_times_are_refused(store_url, bad):
    store = LeadStore(open_database(store_url))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.request_sync("crm", bad)


def test_leads_read_in_json_chunks_equal_the_rows(store_url, monkeypatch):
    """leads_since reads chunks of JSON lines (parsed by pyarrow); the same leads read as plain rows give
    the same frame, awkward text included."""
    import lib.lead_store as lead_store

    monkeypatch.setattr(lead_store, "_READ_CHUNK", 2)  # chunks of at least 2 rows: (0, 2] and (2, 3]
    store = LeadStore(open_database(store_url))
    awkward = {**B, "name": 'שם "במרכאות" \\ ועוד\nשורה\t, {"x": 1}', "company": "\u05d0\u200f!"}
    store.write_page("crm", leads(A, awkward), run_id=1, now=NOW, full=True)  # rv 1
    store.write_page("crm", leads(C), run_id=1, now=NOW, full=True)  # rv 2
    moved = {**A, "status_id": "s3", "updated_at": "2026-11-23T11:30:00Z"}
    store.write_page("crm", leads(moved), run_id=1, now=NOW, full=True)  # rv 3: A again
    read_rows = store._read_rows
    store._read_rows = None  # the JSON path must not fall back to rows here
    frame, rv = store.leads_since("crm")
    store._read_rows = read_rows
    assert rv == 3 and sorted(frame["lead_id"]) == ["1001", "1002", "1003"]
    by_id = frame.set_index("lead_id")
    assert by_id.loc["1002", "name"] == 'שם "במרכאות" \\ ועוד\nשורה\t, {"x": 1}'
    assert by_id.loc["1001", "status_id"] == "s3"
    rows = store._frame("crm", store._read_rows("crm", 0, 3))
    pd.testing.assert_frame_equal(
        frame.sort_values("lead_id").reset_index(drop=True),
        rows.sort_values("lead_id").reset_index(drop=True),
    )
