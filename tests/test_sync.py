"""lib.sync against CRMs on loopback (the demo v2 CRM with a request log, the Kommo fake), storing on SQLite
and on PostgreSQL: full then incremental syncs, the overlap, interrupted runs, the lease, failures, the
background worker and Kommo's rate limit.

Every test runs at NOW (tests/conftest.py): 2026-11-23T14:00:00+02:00 = 12:00:00Z, a Monday.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from lib.config import load_settings
from lib.crm import CRMAuthError, CRMConnectionError, connect
from lib.db import open_database
from lib.lead_store import LeadStore, lease_name
from lib.store import crm_key
from lib.sync import SyncBusy, SyncWorker, decide_mode, latest_full_sync_time, sync_once
from tests.conftest import STATUS, lead_item
from tests.fakes import kommo as kf
from tests.fakes.v2_faults import FaultyDemoCRM

NOW_UTC = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CRM = "crm"


@pytest.fixture
def demo(tmp_path):
    """A v2 demo CRM (4 leads a page) that logs its requests, holding leads 1..10: status "new", lead n
    created and last updated n days ago at 10:00 Jerusalem (08:00Z)."""
    crm = FaultyDemoCRM(tmp_path / "crm", size=0, page_size=4).start()
    crm.db.import_items([lead_item(n, "new", n, "10:00:00") for n in range(1, 11)])
    yield crm
    crm.stop()


def kill(pages: int, fetched: int) -> None:
    raise RuntimeError("killed")


def lead_id(n: int) -> str:
    return f"{900000000000000000000000000000000000000 + n}"


def set_status(crm, n: int, status: str, updated_local: str) -> None:
    """Move lead n to `status` in the demo CRM, updated at `updated_local` (Jerusalem time, no offset)."""
    assert crm.db.update_lead(lead_id(n), status_id=STATUS[status], updated_at=updated_local)


def delete(crm, n: int) -> None:
    assert crm.db.delete_lead(lead_id(n))


def source_for(crm, **options):
    return connect("v2", base_url=crm.base_url, token=crm.token, **options)


def live(store: LeadStore) -> dict[str, str]:
    """{lead id: status id} of the store's live leads."""
    frame, _ = store.leads_since(CRM)
    frame = frame[frame["deleted_at"].isna()]
    return dict(zip(frame["lead_id"], frame["status_id"].astype(str), strict=True))


def test_first_full_then_incremental_then_full_marks_deleted(demo, store_url):
    store = LeadStore(open_database(store_url))
    source = source_for(demo)

    first = sync_once(source, store, CRM)
    assert (first.mode, first.fetched, first.changed, first.deleted, first.status_changes, first.total) == (
        "full", 10, 10, 0, 0, 10,
    )  # fmt: skip
    state = store.state(CRM)
    assert state.watermark == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)  # lead 1: a day ago, 10:00 Jerusalem
    assert state.last_full_at == NOW_UTC and state.history_since == NOW_UTC and state.last_error is None

    # In the CRM: two new leads, two status changes, one deletion (all today, Jerusalem time).
    demo.db.import_items([lead_item(11, "new", 0, "13:00:00"), lead_item(12, "new", 0, "13:05:00")])
    set_status(demo, 3, "no_answer", "2026-11-23T13:30:00")
    set_status(demo, 5, "converted", "2026-11-23T13:40:00")
    delete(demo, 7)
    demo.requests.clear()

    second = sync_once(source, store, CRM)
    # since = watermark 08:00:00Z - 1 min overlap: leads 11, 12, 3, 5, and lead 1 (updated at 08:00Z, inside
    # the overlap; unchanged, so not written). Lead 7's deletion is not seen by an incremental sync.
    assert (second.mode, second.fetched, second.changed, second.deleted, second.status_changes) == (
        "incremental", 5, 4, 0, 2,
    )  # fmt: skip
    assert second.total == 12  # 10 + 2 new; 7 still live until a full sync
    lead_pages = demo.lead_requests()
    assert len(lead_pages) == 2  # 5 leads at 4 a page, all asked with the `q` filter
    assert all("q=" in target for target in lead_pages)

    history = store.history(CRM)
    assert history[["lead_id", "from_status_id", "to_status_id"]].values.tolist() == [
        [lead_id(3), STATUS["new"], STATUS["no_answer"]],
        [lead_id(5), STATUS["new"], STATUS["converted"]],
    ]
    assert (history["observed_at"] == pd.Timestamp(NOW_UTC)).all()
    assert history["crm_updated_at"].tolist() == [
        pd.Timestamp("2026-11-23T11:30:00Z"),  # 13:30 Jerusalem (UTC+2)
        pd.Timestamp("2026-11-23T11:40:00Z"),
    ]
    assert store.state(CRM).watermark == datetime(2026, 11, 23, 11, 40, tzinfo=UTC)

    third = sync_once(source, store, CRM, full=True)
    assert (third.mode, third.fetched, third.changed, third.deleted, third.status_changes, third.total) == (
        "full", 11, 0, 1, 0, 11,
    )  # fmt: skip
    expected = {lead_id(n): STATUS["new"] for n in (1, 2, 4, 6, 8, 9, 10, 11, 12)}
    expected |= {lead_id(3): STATUS["no_answer"], lead_id(5): STATUS["converted"]}
    assert live(store) == expected  # the store equals the CRM
    frame, _ = store.leads_since(CRM)
    gone = frame[frame["lead_id"] == lead_id(7)]
    assert gone["deleted_at"].tolist() == [pd.Timestamp(NOW_UTC)]  # marked, not erased
    assert len(store.history(CRM)) == 2
    runs = store.runs(CRM)
    assert runs["mode"].tolist() == ["full", "incremental", "full"]
    assert runs["changed"].tolist() == [0, 4, 10] and runs["error"].isna().all()


def test_a_lead_updated_in_the_watermarks_second_is_not_missed(demo, store_url):
    store = LeadStore(open_database(store_url))
    source = source_for(demo)
    set_status(demo, 2, "new", "2026-11-23T10:00:00")  # lead 2 is now the newest: 08:00:00Z today
    sync_once(source, store, CRM)
    assert store.state(CRM).watermark == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    # Written after the first sync read the CRM: one in the watermark's very second, one 30 s before it
    # (a CRM that committed it late).
    set_status(demo, 4, "no_answer", "2026-11-23T10:00:00")
    set_status(demo, 6, "not_interested", "2026-11-23T09:59:30")

    exact = sync_once(source, store, CRM, overlap=timedelta(0))  # since = the watermark itself
    assert exact.status_changes == 1  # lead 4, same second; lead 6 needs the overlap
    assert live(store)[lead_id(4)] == STATUS["no_answer"]

    with_overlap = sync_once(source, store, CRM)  # the default minute of overlap
    assert (with_overlap.mode, with_overlap.status_changes) == ("incremental", 1)
    assert live(store)[lead_id(6)] == STATUS["not_interested"]
    assert store.history(CRM)["lead_id"].tolist() == [lead_id(4), lead_id(6)]


def test_a_sync_killed_mid_way_is_completed_by_the_next(demo, store_url):
    store = LeadStore(open_database(store_url))
    source = source_for(demo)
    seen: list[tuple[int, int]] = []

    def kill_after_first_page(pages: int, fetched: int) -> None:
        seen.append((pages, fetched))
        raise KeyboardInterrupt  # as a kill would: not even an Exception

    with pytest.raises(KeyboardInterrupt):
        sync_once(source, store, CRM, progress=kill_after_first_page)
    assert len(seen) == 1
    committed = seen[0][1]  # the first page (the whole read for a connector without pages) is committed
    assert len(live(store)) == committed
    state = store.state(CRM)
    assert state.watermark is None and state.last_full_at is None and state.history_since is None
    assert state.last_error == "KeyboardInterrupt" and state.running is None
    assert store.lease_holder(lease_name(CRM)) is None  # released for the next run

    done = sync_once(source, store, CRM)
    assert (done.mode, done.fetched, done.changed, done.total, done.status_changes) == (
        "full", 10, 10 - committed, 10, 0,
    )  # fmt: skip
    assert store.state(CRM).watermark == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)

    # An interrupted full sync leaves the next one full; an interrupted incremental keeps the watermark.
    delete(demo, 10)
    with pytest.raises(RuntimeError, match="killed"):
        sync_once(source, store, CRM, full=True, progress=kill)
    assert live(store).get(lead_id(10)) is not None  # not marked: that run did not complete
    again = sync_once(source, store, CRM)
    assert (again.mode, again.deleted, again.total) == ("full", 1, 9)

    set_status(demo, 2, "no_answer", "2026-11-23T13:00:00")
    with pytest.raises(RuntimeError):
        sync_once(source, store, CRM, progress=kill)
    assert store.state(CRM).watermark == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)  # not advanced
    resumed = sync_once(source, store, CRM)
    assert resumed.mode == "incremental" and resumed.fetched >= 1  # lead 2 again, from the old watermark
    assert store.state(CRM).watermark == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert len(store.history(CRM)) == 1  # one change, one row, however many runs saw it


def test_two_syncers_contend_for_the_lease(demo, store_url):
    first_store = LeadStore(open_database(store_url))
    second_store = LeadStore(open_database(store_url))  # as another process would
    inside, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def slow(pages: int, fetched: int) -> None:
        inside.set()
        assert release.wait(30)

    def first() -> None:
        outcome["first"] = sync_once(source_for(demo), first_store, CRM, holder="replica-1", progress=slow)

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(30)
    with pytest.raises(SyncBusy):
        sync_once(source_for(demo), second_store, CRM, holder="replica-2")
    running = second_store.state(CRM).running
    assert running is not None and running["mode"] == "full" and running["pages"] == 1
    release.set()
    thread.join(30)
    assert outcome["first"].mode == "full"
    assert len(second_store.runs(CRM)) == 1  # the busy one wrote no run
    after = sync_once(source_for(demo), second_store, CRM, holder="replica-2")  # free again
    assert after.mode == "incremental"


def test_an_expired_lease_is_taken_over(demo, store_url):
    wall = [5000.0]
    store = LeadStore(open_database(store_url), wall=lambda: wall[0])
    assert store.acquire_lease(lease_name(CRM), "crashed-replica", 120)  # held until 5120, never renewed
    with pytest.raises(SyncBusy):
        sync_once(source_for(demo), store, CRM, holder="replica-2")
    wall[0] = 5121.0
    assert sync_once(source_for(demo), store, CRM, holder="replica-2").total == 10


def test_a_run_that_lost_its_lease_stops_without_completing(demo, store_url):
    wall = [5000.0]
    store = LeadStore(open_database(store_url), wall=lambda: wall[0])
    thief = LeadStore(open_database(store_url), wall=lambda: wall[0])

    def stall(pages: int, fetched: int) -> None:
        wall[0] += 301  # this process stalled past its 300 s lease, and another replica took over
        assert thief.acquire_lease(lease_name(CRM), "replica-2", 300)

    with pytest.raises(SyncBusy):
        sync_once(source_for(demo), store, CRM, holder="replica-1", progress=stall)
    state = store.state(CRM)
    assert state.last_full_at is None and state.watermark is None  # not completed: the next run is full
    assert state.last_error == f"the sync lease of {CRM} was taken over by another process"
    assert thief.lease_holder(lease_name(CRM)) == "replica-2"  # the loser did not release the thief's lease


def test_a_failed_sync_keeps_the_data_and_records_why(demo, store_url):
    store = LeadStore(open_database(store_url))
    sync_once(source_for(demo), store, CRM)
    wrong = connect("v2", base_url=demo.base_url, token="wrong-token-0123456789")
    with pytest.raises(CRMAuthError):
        sync_once(wrong, store, CRM, secrets=("wrong-token-0123456789",))
    state = store.state(CRM)
    assert "LEADS_TOKEN" in state.last_error  # says which setting to fix
    assert "wrong-token-0123456789" not in state.last_error
    assert state.last_error_at == NOW_UTC and state.last_success_at == NOW_UTC
    assert len(live(store)) == 10
    assert store.runs(CRM)["error"].tolist()[0] == state.last_error

    url = demo.base_url
    demo.stop()
    down = connect("v2", base_url=url, token="t", max_attempts=1)
    with pytest.raises(CRMConnectionError):
        sync_once(down, store, CRM)
    assert len(live(store)) == 10 and store.state(CRM).last_error != state.last_error


def test_the_mode_decision():
    # The latest 03:00 in Jerusalem at or before NOW (14:00 local) is 03:00 local today = 01:00Z.
    assert latest_full_sync_time(NOW_UTC, "03:00", "Asia/Jerusalem") == datetime(
        2026, 11, 23, 1, 0, tzinfo=UTC
    )
    # At 02:00 local (00:00Z) it is yesterday's: 2026-11-22 01:00Z.
    assert latest_full_sync_time(datetime(2026, 11, 23, 0, 0, tzinfo=UTC)) == datetime(
        2026, 11, 22, 1, 0, tzinfo=UTC
    )
    us = 1_000_000
    watermark = int(datetime(2026, 11, 23, 11, 0, tzinfo=UTC).timestamp()) * us
    today_full = int(datetime(2026, 11, 23, 1, 30, tzinfo=UTC).timestamp()) * us  # after today's 03:00
    yesterday_full = int(datetime(2026, 11, 22, 22, 0, tzinfo=UTC).timestamp()) * us  # 00:00 local, before it

    def decide(**book):
        base = {"watermark": watermark, "last_full_at": today_full, "last_full_run": 4, "latest_full_run": 4}
        return decide_mode({**base, **book}, NOW_UTC, full=None, overlap=timedelta(minutes=1),
                           full_sync_at="03:00", tz="Asia/Jerusalem")  # fmt: skip

    assert decide() == ("incremental", datetime(2026, 11, 23, 10, 59, tzinfo=UTC))  # 11:00 - 1 min
    # the last run took 299.2 s (~5 min): a lead changed during it may be older than the watermark
    assert decide(last_seconds=299.2) == ("incremental", datetime(2026, 11, 23, 10, 55, tzinfo=UTC))  # 300 s
    assert decide(last_full_at=None, last_full_run=None, watermark=None)[0] == "full"  # first sync
    assert decide(latest_full_run=5)[0] == "full"  # full run 5 started and did not complete
    assert decide(last_full_at=yesterday_full)[0] == "full"  # the nightly full is due
    never = {"watermark": watermark, "last_full_at": None, "last_full_run": None, "latest_full_run": None}
    forced = decide_mode(never, NOW_UTC, full=False, overlap=timedelta(0), full_sync_at="03:00", tz="UTC")
    assert forced == ("incremental", datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # full=False: as asked


def test_the_background_worker_syncs_on_start_wake_and_request(demo, store_url, monkeypatch):
    monkeypatch.setenv("LEADS_SOURCE", "v2")
    monkeypatch.setenv("LEADS_BASE_URL", demo.base_url)
    monkeypatch.setenv("LEADS_TOKEN", demo.token)
    monkeypatch.setenv("LEADS_STORE_URL", store_url)
    settings = load_settings()
    crm = crm_key(settings)
    pages_store = LeadStore(open_database(store_url))  # what a page reads
    made: list[int] = []

    def factory():
        made.append(1)
        return source_for(demo)

    def wait_for(condition, what: str) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, f"the worker did not {what}"
            time.sleep(0.05)

    worker = SyncWorker(settings, factory, interval=0, poll=0.1).start()  # interval 0: only when asked
    try:
        wait_for(lambda: pages_store.live_count(crm) == 10, "sync at start on an empty store")
        wait_for(lambda: worker.attempts == 1 and worker.last_result is not None, "record its result")
        assert worker.last_result.mode == "full"

        demo.db.import_items([lead_item(11, "new", 0, "13:00:00")])
        worker.wake()
        wait_for(lambda: pages_store.live_count(crm) == 11, "sync on wake()")

        demo.db.import_items([lead_item(12, "new", 0, "13:10:00")])
        pages_store.request_sync(crm, NOW_UTC)  # "Sync now" from any process
        wait_for(lambda: pages_store.live_count(crm) == 12, "sync on request_sync()")
        wait_for(lambda: pages_store.sync_requested(crm) is None, "clear the request")
        attempts = worker.attempts
        time.sleep(0.5)
        assert worker.attempts == attempts == 3  # start, wake, request: nothing more without being asked
        assert len(made) == 1  # one source for every run
    finally:
        worker.stop()
    assert not worker.running


def test_the_worker_records_a_failure_and_keeps_running(demo, store_url, monkeypatch):
    monkeypatch.setenv("LEADS_SOURCE", "v2")
    monkeypatch.setenv("LEADS_BASE_URL", demo.base_url)
    monkeypatch.setenv("LEADS_TOKEN", "not-the-token-xyz")
    monkeypatch.setenv("LEADS_STORE_URL", store_url)
    settings = load_settings()
    store = LeadStore(open_database(store_url))
    worker = SyncWorker(settings, lambda: connect("v2", base_url=demo.base_url, token=settings.token),
                        interval=0, poll=0.1).start()  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while store.state(crm_key(settings)).last_error is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert worker.running and "not-the-token-xyz" not in (worker.last_error or "")
    finally:
        worker.stop()


def test_kommo_incremental_sync_stays_within_a_few_requests_and_the_rate_limit(store_url):
    store = LeadStore(open_database(store_url))
    with kf.KommoFake(size=300) as crm:
        source = connect("kommo", base_url=crm.base_url, token=crm.token)
        first = sync_once(source, store, CRM)
        assert (first.mode, first.fetched, first.total) == ("full", 300, 300)
        # 100 leads move (won <-> anything else), updated two minutes after NOW.
        moved_at = int(NOW_UTC.timestamp()) + 120
        with crm._data_lock:
            for lead in crm.leads[:100]:
                lead["status_id"] = kf.LOST if lead["status_id"] == kf.WON else kf.WON
                lead["updated_at"] = moved_at
        crm.requests.clear()
        second = sync_once(source, store, CRM)
        assert second.mode == "incremental"
        assert (second.changed, second.status_changes) == (100, 100)  # hand-made: each of the 100 moved once
        lead_lists = crm.requests_to("/api/v4/leads?")
        assert len(lead_lists) == 1 and "filter[updated_at][from]" in lead_lists[0].target
        # statuses (pipelines), then leads(): pipelines, users, 1 page of leads, contacts in batches of 100
        assert len(crm.requests) <= 6
        assert crm.rate_limited == 0
    assert store.live_count(CRM) == 300


def test_error_messages_are_one_line_without_secrets():
    from lib.sync import clean_error

    message = clean_error(
        RuntimeError(
            "could not reach postgresql://leads:pa55word@db:5432/x\nwith Authorization: Bearer abc.def"
        ),
        secrets=("tok-123456",),
    )
    assert (
        message
        == "RuntimeError: could not reach postgresql://leads:***@db:5432/x with Authorization: Bearer ***"
    )
    assert (
        clean_error(CRMAuthError("Kommo refused tok-123456"), secrets=("tok-123456",)) == "Kommo refused ***"
    )
    assert clean_error(KeyboardInterrupt()) == "KeyboardInterrupt"
