"""Connectors read leads page by page (`lead_pages`), over real loopback HTTP against the fake CRMs, and
HttpClient counts the requests it sends. Expected values are worked out by hand in the comments."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pandas as pd

from lib.crm import connect
from lib.crm.http import HttpClient
from tests.fakes.aiployees import AiployeesFake
from tests.fakes.kommo import SALES, KommoFake
from tests.fakes.livetex import LiveTexFake
from tests.fakes.v2_faults import FaultyDemoCRM

FAST = {"backoff": 0.01, "backoff_cap": 0.05, "max_attempts": 3}
IL = timezone(timedelta(hours=2))  # Israel in November (UTC+2)


def same_columns(frame: pd.DataFrame, whole: pd.DataFrame) -> None:
    """A page has exactly the columns of leads(), in order, with the same dtypes (a categorical's categories
    are the page's own values, so only the kind is compared there)."""
    assert list(frame.columns) == list(whole.columns)
    for col in whole.columns:
        if isinstance(whole[col].dtype, pd.CategoricalDtype):
            assert isinstance(frame[col].dtype, pd.CategoricalDtype), col
        else:
            assert frame[col].dtype == whole[col].dtype, col


# -- v2 -----------------------------------------------------------------------------------------------------


def v2_item(n: int, updated: str) -> dict:
    """Lead n of the v2 CRM: id "90…0n" (39 digits), updated at `updated` (Jerusalem wall clock)."""
    return {
        "id": f"{900000000000000000000000000000000000000 + n}",
        "name": f"ליד {n}",
        "f_name": f"ליד {n}",
        "phone": f"05212345{n:02d}",
        "created_at": updated,
        "updated_at": updated,
    }


def lid(n: int) -> str:
    return f"{900000000000000000000000000000000000000 + n}"


# Six leads stored in this order, updated (local UTC+2 -> UTC) 20 Nov:
#   1: 12:45 -> 10:45Z   2: 09:00 -> 07:00Z   3: 10:59:59 -> 08:59:59Z
#   4: 11:00 -> 09:00Z   5: 12:00 -> 10:00Z   6: 08:00 -> 06:00Z
SIX = [
    v2_item(1, "2026-11-20T12:45:00"),
    v2_item(2, "2026-11-20T09:00:00"),
    v2_item(3, "2026-11-20T10:59:59"),
    v2_item(4, "2026-11-20T11:00:00"),
    v2_item(5, "2026-11-20T12:00:00"),
    v2_item(6, "2026-11-20T08:00:00"),
]


def v2_crm(tmp_path, items, **kw) -> FaultyDemoCRM:
    kw.setdefault("page_size", 2)
    crm = FaultyDemoCRM(tmp_path, size=0, **kw).start()
    crm.db.import_items(items)
    return crm


def v2(crm):
    return connect("v2", base_url=crm.base_url, token=crm.token, **FAST)


def test_v2_yields_one_frame_per_crm_page_in_crm_order(tmp_path):
    crm = v2_crm(tmp_path, SIX[:5])
    try:
        src = v2(crm)
        progress: list[tuple[int, int]] = []
        frames = list(src.lead_pages(progress=lambda p, n: progress.append((p, n))))
        whole = src.leads()
    finally:
        crm.stop()
    # 5 leads at 2 a page: pages of 2, 2, 1 in stored order; leads so far 2, 4, 5
    assert [f["lead_id"].tolist() for f in frames] == [[lid(1), lid(2)], [lid(3), lid(4)], [lid(5)]]
    assert progress == [(1, 2), (2, 4), (3, 5)]
    assert [f.attrs["incremental"] for f in frames] == [False, False, False]
    assert all(f.attrs["unreadable"] == {} for f in frames)
    for frame in frames:
        same_columns(frame, whole)
    # the demo CRM gives an imported lead without a status its first status, named from the catalogue
    assert frames[0]["status"].tolist() == ["💫 חדש", "💫 חדש"]
    assert frames[0]["phone"].tolist() == ["+972521234501", "+972521234502"]
    assert whole["lead_id"].tolist() == [lid(n) for n in range(1, 6)]


def test_v2_is_lazy_one_request_per_frame_asked_for(tmp_path):
    crm = v2_crm(tmp_path, SIX)
    try:
        pages = v2(crm).lead_pages()
        assert crm.lead_requests() == []  # nothing is sent before the first frame is asked for
        first = next(pages)
        after_first = len(crm.lead_requests())
        statuses = [t for m, t, _ in crm.requests if t.endswith("/v2/leads/statuses")]
        second = next(pages)
        after_second = len(crm.lead_requests())
        pages.close()
        assert len(crm.lead_requests()) == 2  # closing sends nothing more
    finally:
        crm.stop()
    assert after_first == 1 and after_second == 2  # 6 leads = 3 pages; only 2 were asked for
    assert len(statuses) == 1  # the catalogue, once, with the first page
    assert first["lead_id"].tolist() == [lid(1), lid(2)]
    assert second["lead_id"].tolist() == [lid(3), lid(4)]


def test_v2_since_with_a_server_that_filters(tmp_path):
    # since 20 Nov 11:00 +02:00 = 09:00Z: leads 1 (10:45Z), 4 (09:00Z, the same second), 5 (10:00Z), in stored
    # order; 2 a page -> [1, 4], [5]
    crm = v2_crm(tmp_path, SIX)
    try:
        src = v2(crm)
        frames = list(src.lead_pages(since=datetime(2026, 11, 20, 11, 0, tzinfo=IL)))
        targets = crm.lead_requests()
    finally:
        crm.stop()
    assert [f["lead_id"].tolist() for f in frames] == [[lid(1), lid(4)], [lid(5)]]
    assert [f.attrs["incremental"] for f in frames] == [True, True]
    assert src.last_read_was_incremental is True
    assert len(targets) == 2 and all("q=" in t for t in targets)  # the q filter is kept in the next link


def test_v2_a_server_ignoring_q_is_noticed_on_the_page_that_shows_it(tmp_path):
    # since 20 Nov 08:30 +02:00 = 06:30Z. The server ignores q and sends all six, 2 a page:
    #   page 1 [1 (10:45Z), 2 (07:00Z)], page 2 [3 (08:59:59Z), 4 (09:00Z)]: all newer than since -> still
    #   looks incremental; page 3 [5 (10:00Z), 6 (06:00Z)]: 6 is 30 min before since -> q was ignored:
    #   incremental False from there, 6 dropped here.
    crm = v2_crm(tmp_path, SIX, ignore_q=True)
    try:
        src = v2(crm)
        frames = list(src.lead_pages(since=datetime(2026, 11, 20, 8, 30, tzinfo=IL)))
        whole = src.leads(since=datetime(2026, 11, 20, 8, 30, tzinfo=IL))
    finally:
        crm.stop()
    assert [f["lead_id"].tolist() for f in frames] == [[lid(1), lid(2)], [lid(3), lid(4)], [lid(5)]]
    assert [f.attrs["incremental"] for f in frames] == [True, True, False]
    assert whole.attrs["incremental"] is False and src.last_read_was_incremental is False
    assert whole["lead_id"].tolist() == [lid(n) for n in range(1, 6)]


def test_v2_a_refused_q_restarts_as_a_full_read_filtered_here(tmp_path):
    # the first request (with q) gets a 400; the full read (no q) then pages all six, 2 a page; since
    # 20 Nov 11:00 +02:00 = 09:00Z keeps [1], [4], [5] of pages [1, 2], [3, 4], [5, 6]
    crm = v2_crm(tmp_path, SIX)
    crm.inject("q=", 400, body='{"message": "unknown parameter q"}')
    try:
        frames = list(v2(crm).lead_pages(since=datetime(2026, 11, 20, 11, 0, tzinfo=IL)))
        targets = crm.lead_requests()
    finally:
        crm.stop()
    assert [f["lead_id"].tolist() for f in frames] == [[lid(1)], [lid(4)], [lid(5)]]
    assert [f.attrs["incremental"] for f in frames] == [False, False, False]
    assert len(targets) == 4 and "q=" in targets[0] and not any("q=" in t for t in targets[1:])


# -- Kommo --------------------------------------------------------------------------------------------------


def klead(n: int, **fields) -> dict:
    """Kommo lead n: id 100+n, created and updated 2026-01-0n 10:00:00Z (1767261600 + (n-1) days)."""
    stamp = 1767261600 + (n - 1) * 86400
    return {
        "id": 100 + n,
        "name": f"Lead {n}",
        "price": 0,
        "responsible_user_id": 8100003,
        "status_id": 61000011,
        "pipeline_id": SALES,
        "created_at": stamp,
        "updated_at": stamp,
        "closed_at": None,
        "custom_fields_values": None,
        "_embedded": {"tags": []},
        **fields,
    }


def kommo(crm: KommoFake, page_limit: int, group_leads: int):
    src = connect("kommo", base_url=crm.base_url, token=crm.token, **FAST)
    src.page_limit, src.group_leads = page_limit, group_leads
    return src


def test_kommo_since_asks_with_filter_updated_at_from_page_by_page():
    # leads 1-7 updated 2026-01-01..07 10:00Z; since 2026-01-03 12:00 Jerusalem (UTC+2) = 10:00Z
    # = 1767261600 + 2 * 86400 = 1767434400: leads 3-7 (5 leads). 2 a page, frames of >= 2 leads (one page):
    # [3, 4], [5, 6], [7]
    with KommoFake([klead(n) for n in range(1, 8)]) as crm:
        src = kommo(crm, page_limit=2, group_leads=2)
        frames = list(src.lead_pages(since=pd.Timestamp("2026-01-03 12:00", tz="Asia/Jerusalem")))
        targets = [r.target for r in crm.requests_to("/api/v4/leads?")]
        whole = src.leads()
    assert [f["lead_id"].tolist() for f in frames] == [["103", "104"], ["105", "106"], ["107"]]
    assert [f.attrs["incremental"] for f in frames] == [True, True, True]
    assert "filter[updated_at][from]=1767434400" in targets[0]
    for frame in frames:
        same_columns(frame, whole)
    assert whole.attrs["incremental"] is False  # no since: a full read


def test_kommo_groups_pages_and_is_lazy():
    # 5 leads, 2 a page, groups of at least 3 leads: pages 1+2 (4 leads) make the first frame, page 3 (1) the
    # last; taking the first frame sent only the lead requests for pages 1 and 2
    with KommoFake([klead(n) for n in range(1, 6)]) as crm:
        pages = kommo(crm, page_limit=2, group_leads=3).lead_pages()
        first = next(pages)
        sent = len(crm.requests_to("/api/v4/leads?"))
        rest = list(pages)
    assert first["lead_id"].tolist() == ["101", "102", "103", "104"]
    assert sent == 2
    assert [f["lead_id"].tolist() for f in rest] == [["105"]]


# -- LiveTex ------------------------------------------------------------------------------------------------


def tlead(n: int, **fields) -> dict:
    """LiveTex lead n (id 100 + n), created and updated 1 March 2026 10:0n:00 Moscow (UTC+3) = 07:0n Z."""
    stamp = f"2026-03-01T10:{n:02d}:00"
    return {"id": 100 + n, "name": f"Lead {n}", "phone": f"+7 916 000-00-{n:02d}", "type": "form",
            "result": "missed", "created_at": stamp, "updated_at": stamp, **fields}  # fmt: skip


def livetex(crm: LiveTexFake, page_limit: int):
    src = connect("livetex", base_url=crm.base_url, token=crm.token, **FAST)
    src.page_limit = page_limit
    return src


def test_livetex_pages_are_lazy_and_filtered_here():
    # 7 leads, 3 a page: offsets 0, 3, 6 -> frames of 3, 3, 1; since 07:04Z keeps leads 4-7:
    # [], [4, 5, 6], [7]
    with LiveTexFake(leads=[tlead(n) for n in range(1, 8)]) as crm:
        src = livetex(crm, page_limit=3)
        pages = src.lead_pages()
        first = next(pages)
        sent = len(crm.requests_to("/v2/leads"))
        rest = list(pages)
        since = list(src.lead_pages(since=datetime(2026, 3, 1, 7, 4, 0, tzinfo=UTC)))
        whole = src.leads()
    assert sent == 1
    assert [len(f) for f in [first, *rest]] == [3, 3, 1]
    assert [f["lead_id"].tolist() for f in since] == [[], ["104", "105", "106"], ["107"]]
    assert all(f.attrs["incremental"] is False for f in [first, *rest, *since])
    for frame in [first, *rest, *since]:
        same_columns(frame, whole)


def test_livetex_a_lead_met_again_on_a_later_page_is_yielded_once_its_first_copy():
    items = [tlead(n) for n in range(1, 8)]
    with LiveTexFake(leads=items) as crm:
        # page 2 (offset 3) repeats lead 1 under a new name, and brings 4 and 5; page 3 (offset 6) brings 7
        crm.inject(
            "offset=3", 200, body={"total": 7, "results": [{**items[0], "name": "Moved"}, items[3], items[4]]}
        )
        frames = list(livetex(crm, page_limit=3).lead_pages())
    assert [f["lead_id"].tolist() for f in frames] == [["101", "102", "103"], ["104", "105"], ["107"]]
    assert frames[0].loc[0, "name"] == "Lead 1"  # the first copy; the later one is dropped


# -- aiployees ----------------------------------------------------------------------------------------------


def alead(n: int, updated: str = "2026-01-06 12:30:00") -> dict:
    return {"id": n, "campaign_id": 7, "phone_number": f"+97250123{n:04d}",
            "variables": {"customer_name": f"Lead {n}"}, "status": "created",
            "created_at": "2026-01-05 10:00:00", "updated_at": updated,
            "campaign": {"id": 7, "name": "Renewals"}, "secondary_contacts": []}  # fmt: skip


def test_aiployees_pages_in_order_and_since_filtered_here():
    # 250 leads at 100 a page: frames of 100, 100, 50. Leads 150 and 240 were updated on 7 Jan (UTC); the
    # others on 6 Jan: since 7 Jan 00:00Z keeps [], [150], [240]
    items = [
        alead(n, "2026-01-07 09:00:00" if n in (150, 240) else "2026-01-06 12:30:00") for n in range(1, 251)
    ]
    with AiployeesFake(items) as crm:
        src = connect("aiployees", base_url=crm.base_url, token=crm.token, **FAST)
        frames = list(src.lead_pages())
        since = list(src.lead_pages(since=datetime(2026, 1, 7, tzinfo=UTC)))
        whole = src.leads()
    assert [len(f) for f in frames] == [100, 100, 50]
    assert frames[1]["lead_id"].iloc[0] == "101" and frames[2]["lead_id"].iloc[-1] == "250"
    assert [f["lead_id"].tolist() for f in since] == [[], ["150"], ["240"]]
    assert all(f.attrs["incremental"] is False for f in frames + since)
    for frame in frames:
        same_columns(frame, whole)


def test_aiployees_keeps_at_most_max_workers_pages_ahead():
    # 10 pages of 100; max_workers 2: while page 1 is held by the caller, pages 2 and 3 are fetched, no more
    # (however long the caller takes)
    with AiployeesFake([alead(n) for n in range(1, 1001)]) as crm:
        src = connect("aiployees", base_url=crm.base_url, token=crm.token, **FAST)
        src.max_workers = 2
        pages = src.lead_pages()
        next(pages)
        time.sleep(0.5)  # time enough for the fake to answer more pages, were they sent
        pages.close()  # waits for the pages in flight
        sent = sorted(int(r.query["page"][0]) for r in crm.requests_to("/user/leads"))
    assert sent == [1, 2, 3]


# -- HttpClient.requests ------------------------------------------------------------------------------------


def test_http_client_counts_every_attempt_retries_included():
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, json={"ok": 1})])
    http = HttpClient(
        "https://crm.example", "tok", transport=httpx.MockTransport(lambda r: next(answers)), backoff=0.001
    )
    assert http.requests == 0
    assert http.get_json("/x") == {"ok": 1}
    assert http.requests == 2  # the 429, then the 200


def test_a_read_reports_its_requests_as_the_server_saw_them(tmp_path):
    # 5 leads at 2 a page = 3 lead pages, plus the status catalogue twice (a 503, then its retry) = 5
    crm = v2_crm(tmp_path, SIX[:5])
    crm.inject("/v2/leads/statuses", 503, times=1)
    try:
        src = v2(crm)
        src.http.requests = 0
        list(src.lead_pages())
        received = len(crm.requests)
    finally:
        crm.stop()
    assert src.http.requests == received == 5
