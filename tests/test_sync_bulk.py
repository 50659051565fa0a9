"""The sync's bulk mode (issue 11, point 8: the benchmark's speed-ups): v2 `lead_pages(min_rows=)` joins CRM
pages into bigger frames read ahead by a thread, the sync uses it, and the store's extra-JSON builder gives
the same text whatever the path. Over real loopback HTTP against the demo CRM; expected values by hand."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pandas as pd
import pytest

from lib.crm import connect
from lib.db import open_database, sqlite_url
from lib.errors import LeadsError
from lib.lead_store import LeadStore, _extra_json
from lib.sync import sync_once
from tests.fakes.v2_faults import FaultyDemoCRM
from tests.test_lead_pages import FAST, IL, SIX, lid, v2_crm


def v2(crm):
    return connect("v2", base_url=crm.base_url, token=crm.token, **FAST)


def test_min_rows_joins_pages_and_reports_progress_per_page_in_the_callers_thread(tmp_path):
    crm = v2_crm(tmp_path, SIX[:5])  # 5 leads, 2 a page: pages [1, 2], [3, 4], [5]
    calls: list[tuple[int, int, str]] = []
    try:
        src = v2(crm)
        frames = list(
            src.lead_pages(
                progress=lambda p, n: calls.append((p, n, threading.current_thread().name)), min_rows=3
            )
        )
        requests = len(crm.lead_requests())
    finally:
        crm.stop()
    # min_rows 3: pages 1+2 hold 4 >= 3 -> one frame; page 3 (1 lead) is the rest
    assert [f["lead_id"].tolist() for f in frames] == [[lid(1), lid(2), lid(3), lid(4)], [lid(5)]]
    assert requests == 3  # still one request per CRM page
    # progress per CRM page (pages, leads so far): (1, 2), (2, 4), (3, 5), all in this thread
    here = threading.current_thread().name
    assert calls == [(1, 2, here), (2, 4, here), (3, 5, here)]
    assert frames[0]["status"].tolist() == ["💫 חדש"] * 4  # named from the catalogue as page by page
    assert frames[0]["phone"].tolist() == [f"+9725212345{n:02d}" for n in range(1, 5)]


def test_min_rows_with_since_keeps_the_incremental_read(tmp_path):
    # since 20 Nov 11:00 +02:00 = 09:00Z: the demo filters to leads 1, 4, 5 (see test_lead_pages), 2 a page
    # -> pages [1, 4], [5]; min_rows 10 joins both into one frame
    crm = v2_crm(tmp_path, SIX)
    try:
        src = v2(crm)
        frames = list(src.lead_pages(since=datetime(2026, 11, 20, 11, 0, tzinfo=IL), min_rows=10))
        targets = crm.lead_requests()
    finally:
        crm.stop()
    assert [f["lead_id"].tolist() for f in frames] == [[lid(1), lid(4), lid(5)]]
    assert frames[0].attrs["incremental"] is True and src.last_read_was_incremental is True
    assert len(targets) == 2 and all("q=" in t for t in targets)


def test_min_rows_a_failing_page_raises_in_the_caller_and_stops_reading(tmp_path):
    crm = v2_crm(tmp_path, SIX)  # pages /v2/leads [1, 2], ?page=1 [3, 4], ?page=2 [5, 6]
    crm.inject("page=1", 500, body='{"message": "boom"}')  # a 500 is not retried
    try:
        with pytest.raises(LeadsError):
            list(v2(crm).lead_pages(min_rows=10))
        targets = crm.lead_requests()
    finally:
        crm.stop()
    # the first page, then page 1 (fails); page 2 never asked for
    assert targets == ["/v2/leads", "/v2/leads?page=1"]
    assert not any("page=2" in t for t in targets)
    assert not [t for t in threading.enumerate() if t.name == "v2-prefetch"]  # the reader ended


def test_closing_a_bulk_read_early_stops_the_reader(tmp_path):
    crm = v2_crm(tmp_path, SIX)
    try:
        pages = v2(crm).lead_pages(min_rows=1)  # every page is a frame (2 >= 1)
        first = next(pages)
        pages.close()
        alive = [t for t in threading.enumerate() if t.name == "v2-prefetch"]
    finally:
        crm.stop()
    assert first["lead_id"].tolist() == [lid(1), lid(2)]
    assert alive == []


def test_a_sync_reads_a_v2_crm_in_bulk_and_stores_every_lead(tmp_path):
    # 6 leads, 2 a page = 3 requests for leads; the sync's bulk mode (10,000 rows) writes them as ONE frame:
    # one progress call with (1 frame, 6 leads)
    crm = FaultyDemoCRM(tmp_path / "crm", size=0, page_size=2).start()
    crm.db.import_items(SIX)
    store = LeadStore(open_database(sqlite_url(tmp_path / "store")))
    seen: list[tuple[int, int]] = []
    try:
        result = sync_once(
            v2(crm),
            store,
            "bench",
            now=lambda: datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
            progress=lambda p, n: seen.append((p, n)),
        )
        lead_requests = len(crm.lead_requests())
    finally:
        crm.stop()
    assert (result.mode, result.fetched, result.changed, result.total) == ("full", 6, 6, 6)
    assert lead_requests == 3
    assert seen == [(1, 6)]
    frame, _ = store.leads_since("bench")
    assert sorted(frame["lead_id"].tolist()) == [lid(n) for n in range(1, 7)]


def test_extra_json_text_by_hand():
    frame = pd.DataFrame(
        {
            "b": pd.Series(['שלום "x"', None, "a\\b"], dtype="string"),
            "a": pd.Series([1, None, 3], dtype="Int64"),
            "c": pd.Series([True, None, 1], dtype=object),  # True and 1 stay apart (not one factorize key)
            "d": pd.Categorical(["x", None, None]),
        }
    )
    # keys sorted a, b, c, d; missing values left out; a row with none -> None; JSON as json.dumps writes it
    # (", " and ": " separators, non-ASCII kept, quote and backslash escaped)
    assert _extra_json(frame, ["b", "a", "c", "d"]) == [
        '{"a": 1, "b": "שלום \\"x\\"", "c": true, "d": "x"}',
        None,
        '{"a": 3, "b": "a\\\\b", "c": 1}',
    ]
    assert _extra_json(frame, []) == [None, None, None]
    nested = pd.DataFrame({"k": pd.Series([{"x": [1]}, None], dtype=object)})  # unhashable values
    assert _extra_json(nested, ["k"]) == ['{"k": {"x": [1]}}', None]
