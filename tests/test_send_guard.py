"""The send guard: one send per submission, written to the store before it goes out.

Real databases (several Store instances = several connections, as several app processes would have), on
SQLite and on PostgreSQL (`store_url`) for the store's claims, real threads, a real child process killed
mid-send, and the demo CRM over loopback HTTP for the sends.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lib.crm.base import CreatedLead
from lib.crm.http import HttpClient
from lib.crm.v2 import V2Source
from lib.new_lead import retry, send, submission_key, validate
from lib.store import SEND_TIMEOUT, STOPPED_MID_SEND, Store
from tests.fakes.v2_faults import FaultyDemoCRM

ROOT = Path(__file__).resolve().parents[1]
CREATE = "/v2/leads/create"
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # NOW of tests/conftest.py (14:00 in Jerusalem), in UTC


def lead(phone: str = "054-555-1234", name: str = "ישראל ישראלי") -> dict:
    value, errors = validate({"name": name, "phone": phone}, "IL")
    assert errors == {}
    return value


def together(n: int, work) -> list:
    """Run work(i) in n threads released at the same instant; their results in thread order."""
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        out[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


@pytest.fixture
def crm(tmp_path):
    with FaultyDemoCRM(tmp_path / "crm", size=0, page_size=50) as server:
        yield server


@pytest.fixture
def source(crm):
    http = HttpClient(crm.base_url, crm.token, timeout=5.0, max_attempts=1, backoff=0.01, backoff_cap=0.05)
    yield V2Source(http)
    http.close()


def posts(crm) -> int:
    return sum(1 for method, path, _ in crm.requests if method == "POST" and path.startswith(CREATE))


# -- the store's claim ----------------------------------------------------------------------------------


def test_of_threads_claiming_one_submission_exactly_one_wins_across_connections(store_url):
    stores = [Store.open(store_url) for _ in range(4)]  # four connections to one database
    for key in ("k1", "k2", "k3"):
        claims = together(8, lambda i, key=key: stores[i % 4].outbox_claim(key, {"n": i}))
        assert sum(c.won for c in claims) == 1
        winner = next(i for i, c in enumerate(claims) if c.won)
        # every loser sees the winner's row: the same id, its lead, still being sent
        assert {c.item.id for c in claims} == {claims[winner].item.id}
        assert all(c.item.lead == {"n": winner} and c.item.state == "sending" for c in claims)
    rows = Store.open(store_url).outbox_list()
    assert [(r.submission, r.state, r.attempts) for r in rows] == [
        ("k1", "sending", 1),
        ("k2", "sending", 1),
        ("k3", "sending", 1),
    ]


def test_of_threads_retrying_one_item_exactly_one_flips_it(store_url):
    stores = [Store.open(store_url) for _ in range(3)]
    item_id = stores[0].outbox_add({"name": "Dana"}, "refused", "failed")
    claims = together(6, lambda i: stores[i % 3].outbox_claim_retry(item_id))
    assert sum(c.won for c in claims) == 1
    assert next(c for c in claims if c.won).item.state == "failed"  # the winner sees it as it was
    [row] = stores[1].outbox_list()
    assert (row.state, row.attempts) == ("sending", 1)
    # a sending item cannot be claimed again until its send has ended
    assert not stores[2].outbox_claim_retry(item_id).won
    stores[0].outbox_finish(item_id, "failed", error="refused again", count_attempt=True)
    assert stores[2].outbox_claim_retry(item_id).won


def test_a_sent_row_leaves_the_outbox_keeps_no_lead_data_and_is_dropped_after_a_day(store_url):
    store = Store.open(store_url)
    first = store.outbox_claim("a", {"name": "Dana", "phone": "+972521111111"}, now=AT)
    store.outbox_finish(first.item.id, "sent", error="Lead created: id 7", lead_id="7")
    assert store.outbox_list() == []
    again = store.outbox_claim("a", {"name": "Dana"}, now=AT)
    assert not again.won
    assert (again.item.state, again.item.lead_id, again.item.lead) == ("sent", "7", {})
    # 23 h later it is still there; 24 h and a second later the next claim drops it
    store.outbox_claim("b", {}, now=AT + timedelta(hours=23))
    assert store.outbox_get(submission="a") is not None
    store.outbox_claim("c", {}, now=AT + timedelta(days=1, seconds=1))
    assert store.outbox_get(submission="a") is None
    assert store.outbox_get(submission="b").state == "sending"


def test_a_sending_row_of_a_live_process_stays_until_the_send_timeout(store_url):
    wall = [1_000.0]
    store = Store.open(store_url, wall=lambda: wall[0])
    claim = store.outbox_claim("k", {"name": "Dana"}, now=AT)
    wall[0] += SEND_TIMEOUT.total_seconds() - 1  # 119 s: the sender (this process) may still be waiting
    assert [r.state for r in store.outbox_list()] == ["sending"]
    wall[0] += 2  # 121 s: longer than any send can take
    [row] = store.outbox_list()
    assert (row.id, row.state, row.error) == (claim.item.id, "unknown", STOPPED_MID_SEND)
    assert row.lead == {"name": "Dana"}


CHILD = """
import os, signal, sys
from lib.store import Store
store = Store.open(sys.argv[1])
store.outbox_claim("killed", {"name": "נהרג באמצע", "phone": "+972547770003"})
print("claimed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # dies as if killed during the HTTP call
"""


def test_a_process_killed_mid_send_leaves_the_entry_as_unknown(store_url):
    child = subprocess.run(
        [sys.executable, "-c", CHILD, store_url], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert child.returncode == -signal.SIGKILL
    assert child.stdout == "claimed\n"
    [row] = Store.open(store_url).outbox_list()  # no waiting for a timeout: its pid is gone
    assert (row.submission, row.state, row.error) == ("killed", "unknown", STOPPED_MID_SEND)
    assert row.lead == {"name": "נהרג באמצע", "phone": "+972547770003"}
    assert Store.open(store_url).outbox_claim_retry(row.id).won  # and it can be retried


def test_an_older_file_is_upgraded_without_losing_settings_or_outbox(tmp_path):
    # the schema before the send guard, written as that version did
    con = sqlite3.connect(tmp_path / "dashboard.sqlite3")
    con.executescript(
        """
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lead TEXT NOT NULL, error TEXT NOT NULL,
            state TEXT NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1);
        INSERT INTO settings VALUES ('utm_aliases', '{"fb": "facebook"}');
        INSERT INTO meta VALUES ('version', 4);
        INSERT INTO outbox (lead, error, state, created_at, attempts) VALUES
            ('{"name": "דנה"}', 'refused', 'failed', '2026-11-20T08:00:00.000000+00:00', 2),
            ('{"name": "Avi"}', 'no answer', 'unknown', '2026-11-21T08:00:00.000000+00:00', 1);
        """
    )
    con.commit()
    con.close()

    store = Store(tmp_path)
    assert store.utm_aliases() == {"fb": "facebook"} and store.version() == 4
    items = store.outbox_list()
    assert [(i.lead, i.error, i.state, i.attempts, i.submission) for i in items] == [
        ({"name": "דנה"}, "refused", "failed", 2, None),
        ({"name": "Avi"}, "no answer", "unknown", 1, None),
    ]
    assert store.outbox_claim_retry(items[0].id).won  # old rows take part in the guard
    assert store.outbox_claim("new", {"name": "x"}).won
    assert not Store(tmp_path).outbox_claim("new", {"name": "x"}).won  # reopening keeps the unique key
    assert len(Store(tmp_path).outbox_list()) == 3


# -- send and retry --------------------------------------------------------------------------------------


def test_submission_key_is_the_same_for_the_same_entry_only():
    a = submission_key("s1", 0, lead())
    assert a == submission_key("s1", 0, lead())  # a second click on the same form
    assert a != submission_key("s1", 1, lead())  # the next form (after a success)
    assert a != submission_key("s2", 0, lead())  # another browser session
    assert a != submission_key("s1", 0, lead(phone="054-555-1235"))  # a corrected entry


def test_two_sends_of_one_submission_against_a_slow_crm_create_one_lead(crm, source, store_url):
    crm.inject(CREATE, 0, delay=1.0, times=2)  # any create answered 1 s late
    key = submission_key("session", 0, lead())
    stores = [Store.open(store_url), Store.open(store_url)]
    results = together(2, lambda i: send(source, stores[i], lead(), submission=key, now=AT))
    assert posts(crm) == 1 and crm.db.count() == 1
    [created] = crm.db.leads_page(0, 10)
    # both runs report the one lead: the sender from the CRM's answer, the other from the store
    assert [r.state for r in results] == ["created", "created"]
    assert {r.lead_id for r in results} == {created["id"]}
    assert stores[0].outbox_list() == []


def test_the_entry_is_in_the_store_while_it_is_being_sent(crm, source, store_url):
    crm.inject(CREATE, 400, delay=1.0, body='{"message": "phone is blocked"}')
    store = Store.open(store_url)
    sender = threading.Thread(
        target=send, args=(source, store, lead()), kwargs={"submission": "k", "now": AT}
    )
    sender.start()
    try:
        deadline = time.monotonic() + 5
        while posts(crm) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        [row] = Store.open(store_url).outbox_list()  # another connection, mid-send
        assert (row.state, row.lead["phone"], row.created_at) == ("sending", "+972545551234", AT)
    finally:
        sender.join(10)
    [row] = Store.open(store_url).outbox_list()
    assert row.state == "failed" and "phone is blocked" in row.error


def test_a_second_send_after_the_first_ended_reports_it_without_sending(crm, source, store_url):
    store = Store.open(store_url)
    first = send(source, store, lead(), submission="k", now=AT)
    second = send(source, store, lead(), submission="k", now=AT)
    assert (second.state, second.lead_id, second.message) == ("created", first.lead_id, first.message)
    assert posts(crm) == 1


def test_two_retries_of_one_item_against_a_slow_crm_send_once(crm, source, store_url):
    store = Store.open(store_url)
    crm.inject(CREATE, 500)
    failed = send(source, store, lead(), submission="k", now=AT)
    assert failed.state == "failed" and posts(crm) == 1
    [item] = store.outbox_list()
    crm.inject(CREATE, 0, delay=1.0, times=2)
    results = together(2, lambda i: retry(source, Store.open(store_url), item, now=AT))
    assert posts(crm) == 2 and crm.db.count() == 1  # the failed send, then one retry
    [created] = crm.db.leads_page(0, 10)
    assert [r.state for r in results] == ["created", "created"]
    assert {r.lead_id for r in results} == {created["id"]}
    assert store.outbox_list() == []


class Interrupted:
    """A source whose create is cut short by something that is not an error (a stop, Ctrl-C)."""

    def create_lead(self, lead: dict) -> CreatedLead:
        raise KeyboardInterrupt


def test_a_send_torn_down_mid_request_is_kept_as_unknown(store_url):
    store = Store.open(store_url)
    with pytest.raises(KeyboardInterrupt):
        send(Interrupted(), store, lead(), submission="k", now=AT)
    [row] = store.outbox_list()
    assert (row.state, row.error, row.lead["phone"]) == ("unknown", STOPPED_MID_SEND, "+972545551234")


def test_a_waiting_send_gives_up_after_its_wait_and_says_so(store_url):
    store = Store.open(store_url)
    assert store.outbox_claim("k", lead(), now=AT).won  # someone else is sending (this process: alive)
    result = send(Interrupted(), store, lead(), submission="k", now=AT, wait=0.3)
    assert result.state == "sending" and not result.ok
    assert result.message == "This lead is already being sent; its outcome will show in the outbox below."


def test_rows_of_this_running_process_are_not_reaped(store_url):
    store = Store.open(store_url)
    store.outbox_claim("k", {"pid": os.getpid()})
    assert Store.open(store_url).outbox_reap() == 0
