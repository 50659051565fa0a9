"""The living demo CRM (lib.demo.alive): ticks over real loopback HTTP, read with the app's own v2 client.

The rule, typed from the module docstring: tick minute m creates CREATED[m % 10] and moves MOVED[m % 10]
leads, with
    m % 10 :  0  1  2  3  4  5  6  7  8  9
    CREATED:  1  0  0  1  0  0  0  2  0  0
    MOVED  :  0  1  0  0  0  1  0  2  1  0
m counts minutes since 1970-01-01 UTC and a day has 1,440 minutes (a multiple of 10), so m % 10 is the last
digit of the UTC minute of the hour: 12:07Z -> 7. Times here are fixed instants; the demo stores Israel
local time without an offset (UTC+2 in November: 12:07Z is stored as 2026-11-23T14:07:00).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import pytest

from lib.config import load_settings
from lib.crm import connect
from lib.crm.v2 import updated_since_q
from lib.demo import alive
from lib.demo import server as demo_server
from lib.demo.db import DemoDB
from lib.demo.server import DemoCRM, ensure_running
from lib.errors import ConfigError
from tests.conftest import SEED_STATUSES, STATUS

END = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # the seed's last instant (= the tests' LEADS_NOW)
AT_1207 = datetime(2026, 11, 23, 12, 7, tzinfo=UTC)
NEW, IN_PROGRESS = STATUS["new"], SEED_STATUSES[1][0]
NO_ANSWER, FOLLOW_UP, INTERESTED = STATUS["no_answer"], SEED_STATUSES[3][0], SEED_STATUSES[4][0]
NOT_INTERESTED, DUPLICATE, FAULTY = STATUS["not_interested"], STATUS["duplicate"], STATUS["faulty"]
CONVERTED = STATUS["converted"]
# Where a tick may take a lead in each open status: one step forward, or out of the funnel.
ALLOWED = {
    NEW: {IN_PROGRESS, DUPLICATE, FAULTY},
    IN_PROGRESS: {INTERESTED, NOT_INTERESTED},
    NO_ANSWER: {FOLLOW_UP, NOT_INTERESTED},
    FOLLOW_UP: {INTERESTED, NOT_INTERESTED},
    INTERESTED: {CONVERTED, NOT_INTERESTED},
}


def v2(crm: DemoCRM):
    return connect("v2", base_url=crm.base_url, token=crm.token, backoff=0.01, backoff_cap=0.05)


def by_id(frame: pd.DataFrame) -> dict[str, dict]:
    return {row["lead_id"]: row for row in frame.to_dict("records")}


def same(a: dict, b: dict) -> bool:
    return all((pd.isna(a[k]) and pd.isna(b[k])) or a[k] == b[k] for k in a)


@pytest.fixture
def crm(tmp_path):
    with DemoCRM(tmp_path, size=50, page_size=7, end=END) as server:
        yield server


def test_a_tick_creates_and_moves_what_the_rule_says(crm):
    src = v2(crm)
    before = by_id(src.leads())
    assert crm.tick(AT_1207) == {"created": 2, "moved": 2}  # 12:07Z -> m % 10 = 7: CREATED 2, MOVED 2
    after = by_id(src.leads())
    assert len(before) == 50 and len(after) == 52

    new = [after[i] for i in after.keys() - before.keys()]
    assert len(new) == 2
    for lead in new:
        assert lead["status_id"] == NEW
        assert lead["created_at"] == lead["updated_at"] == pd.Timestamp(AT_1207)
        assert isinstance(lead["name"], str) and lead["name"].strip()
        assert lead["phone"].startswith("+9725")  # an Israeli mobile number, E.164 after the client
        assert int(lead["lead_id"]) > max(int(i) for i in before)  # a fresh id above every id so far

    changed = [i for i in before if not same(before[i], after[i])]
    assert len(changed) == 2
    for i in changed:
        old, now = before[i], after[i]
        assert now["updated_at"] == pd.Timestamp(AT_1207)
        assert now["status_id"] in ALLOWED[old["status_id"]], (old["status"], now["status"])
        rest = [c for c in old if c not in ("status_id", "status", "updated_at", "closed_at")]
        assert same({c: old[c] for c in rest}, {c: now[c] for c in rest})


def test_the_same_minute_twice_does_nothing(crm):
    src = v2(crm)
    assert crm.tick(AT_1207) == {"created": 2, "moved": 2}
    after_first = src.leads()
    assert crm.tick(AT_1207 + timedelta(seconds=40)) == {"created": 0, "moved": 0}  # still 12:07
    assert crm.tick(AT_1207 - timedelta(minutes=2)) == {"created": 0, "moved": 0}  # 12:05: time went back
    pd.testing.assert_frame_equal(src.leads(), after_first)
    assert crm.db.meta()["last_tick_minute"] == str(int(AT_1207.timestamp()) // 60)
    # the next minute (12:08 -> m % 10 = 8: CREATED 0, MOVED 1) lives again
    assert crm.tick(AT_1207 + timedelta(minutes=1)) == {"created": 0, "moved": 1}


def test_a_minute_ticked_is_remembered_by_the_file(tmp_path):
    with DemoCRM(tmp_path, size=50, end=END) as first:
        assert first.tick(AT_1207) == {"created": 2, "moved": 2}
    with DemoCRM(tmp_path, size=50, end=END) as again:  # the same file reopened (an app restart)
        assert again.db.count() == 52
        assert again.tick(AT_1207) == {"created": 0, "moved": 0}


def test_growth_stops_at_the_bound(tmp_path):
    # size 50, at most 10 more. Minutes 12:00 .. 12:29 would create 3 x 4 = 12; with the bound:
    # 12:00 +1 (1), 12:03 +1 (2), 12:07 +2 (4), 12:10 +1 (5), 12:13 +1 (6), 12:17 +2 (8), 12:20 +1 (9),
    # 12:23 +1 (10), and 12:27 would add 2: no room left.
    with DemoCRM(tmp_path, size=50, end=END, max_growth=10) as crm:
        created = [crm.tick(END + timedelta(minutes=k))["created"] for k in range(30)]
        assert created == [1, 0, 0, 1, 0, 0, 0, 2, 0, 0] * 2 + [1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        assert crm.db.count() == 60
        assert len(v2(crm).leads()) == 60


def one_lead(**fields) -> dict:
    return {"id": "1", "name": "דנה", "f_name": "דנה", "phone": "0521234567", **fields}


def test_moves_stop_when_no_recent_lead_is_open(tmp_path):
    # A demo of one lead, status "new", and no room to grow. Ticks move it one step forward or out of the
    # funnel until it reaches a status no tick moves (customer, not interested, junk): at most 3 moves
    # (new -> in progress -> interested -> customer; any exit ends it sooner). Every 10 minutes hold 4
    # with a move, so 60 ticks give it far more chances than it needs; the last ten change nothing.
    with DemoCRM(tmp_path, size=0, end=END, max_growth=0) as crm:
        crm.db.import_items([one_lead(created_at="2026-11-23T13:00:00")])  # status "new"; updated = created
        results = [crm.tick(END + timedelta(minutes=k)) for k in range(60)]
        assert sum(r["created"] for r in results) == 0
        assert 1 <= sum(r["moved"] for r in results) <= 3
        assert results[-10:] == [{"created": 0, "moved": 0}] * 10
        final = crm.db.leads_page(0, 10)[0]["lead_status"]
        assert final in {CONVERTED, NOT_INTERESTED, DUPLICATE, FAULTY}


def test_a_lead_updated_after_the_tick_is_not_moved_back_in_time(tmp_path):
    # The only open lead was updated at 14:30 local (12:30Z); a tick at 12:07Z (MOVED[7] = 2) leaves it.
    with DemoCRM(tmp_path, size=0, end=END, max_growth=0) as crm:
        crm.db.import_items([one_lead(created_at="2026-11-23T13:00:00", updated_at="2026-11-23T14:30:00")])
        assert crm.tick(AT_1207) == {"created": 0, "moved": 0}
        assert crm.db.leads_page(0, 10)[0]["lead_status"] == NEW
        assert crm.tick(AT_1207 + timedelta(minutes=30)) == {"created": 0, "moved": 1}  # 12:37Z: 7 again


def test_incremental_read_returns_exactly_the_ticked_leads(crm):
    src = v2(crm)
    before = by_id(src.leads())
    crm.tick(AT_1207)
    after = by_id(src.leads())
    ticked = {i for i in after if i not in before or not same(before[i], after[i])}
    assert len(ticked) == 4  # 2 created + 2 moved

    since = src.leads(since=AT_1207 - timedelta(seconds=30))  # every seed lead was updated by 12:00Z
    assert since.attrs["incremental"] is True  # the server filtered (q): only the ticked leads came
    assert set(since["lead_id"]) == ticked


def ten_leads() -> list[dict]:
    """Leads 1 and 2: "new", untouched since October; leads 3-10: customers updated at 13:30 local
    (11:30Z) today. Only 1 and 2 are open, so a tick that moves two leads moves exactly those."""

    def lead(n: int, status: str, updated: str) -> dict:
        name = f"ליד {n}"
        return {
            "id": str(n),
            "name": name,
            "f_name": name,
            "phone": f"05212345{n:02d}",
            "lead_status": status,
            "created_at": "2026-10-01T10:00:00",
            "updated_at": updated,
        }

    return [lead(1, NEW, "2026-10-01T10:00:00"), lead(2, NEW, "2026-10-01T10:00:00")] + [
        lead(n, CONVERTED, "2026-11-23T13:30:00") for n in range(3, 11)
    ]


def page_ids(crm: DemoCRM, since: datetime, page: int) -> list[str]:
    """The ids on one page of the filtered list, asked for directly (a client resuming a saved link)."""
    r = httpx.get(
        f"{crm.base_url}/v2/leads",
        params={"q": updated_since_q(since), "page": page},
        headers={"Authorization": f"Bearer {crm.token}"},
    )
    assert r.status_code == 200
    return [item["id"] for item in r.json()["items"]]


@pytest.mark.parametrize("where", ["this server", "another process"])
def test_filtered_pages_after_a_tick_are_the_pages_of_the_new_list(tmp_path, where):
    # Filtered by updated_at >= 11:00Z, pages of 3: [3 4 5] [6 7 8] [9 10]; reading them, the server notes
    # where each page stopped (after lead 5, after lead 8) to resume the next one there. The tick at 12:07Z
    # moves two leads (MOVED[7] = 2; no room to create): 1 and 2, which now match too, before those
    # points. The filtered list is now 1..10, its page 1 [4 5 6] and page 2 [7 8 9]; resuming at the old
    # points would give [6 7 8] and [9 10], and a client would lose 4 and 5.
    with DemoCRM(tmp_path, size=0, page_size=3, end=END, max_growth=0) as crm:
        crm.db.import_items(ten_leads())
        src = v2(crm)
        since = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
        assert list(src.leads(since=since)["lead_id"]) == [str(n) for n in range(3, 11)]
        if where == "this server":
            assert crm.tick(AT_1207) == {"created": 0, "moved": 2}
        else:  # a second app process ticking the same demo file: its own connection
            other = DemoDB(crm.db.path, size=0)
            try:
                assert alive.tick(other, AT_1207, max_growth=0) == {"created": 0, "moved": 2}
            finally:
                other.close()
        assert page_ids(crm, since, 1) == ["4", "5", "6"]
        assert page_ids(crm, since, 2) == ["7", "8", "9"]
        again = src.leads(since=since)
        assert again.attrs["incremental"] is True
        assert list(again["lead_id"]) == [str(n) for n in range(1, 11)]


def test_alive_thread_ticks_and_stops(tmp_path):
    # LEADS_NOW pins the clock at 12:00Z (conftest): the thread then ticks at 12:00Z + one minute per
    # interval elapsed, 12:01, 12:02, 12:03 ... With CREATED at 0, 0, 1 for those minutes, the first new
    # leads come by the third tick at the latest; they are stamped 14:0X:00 local, X > 0.
    crm = DemoCRM(tmp_path, size=20, end=END, alive=True, tick_seconds=0.2).start()
    try:
        assert crm.heart_running
        deadline = time.monotonic() + 10
        while crm.db.count() == 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert crm.db.count() > 20
        assert crm.ticks >= 1
        new = crm.db.leads_page(20, 10)
        assert all(lead["lead_status"] == NEW for lead in new)
        assert all(
            "2026-11-23T14:01:00" <= lead["created_at"] <= "2026-11-23T14:59:00"
            and lead["created_at"].endswith(":00")
            for lead in new
        )
    finally:
        heart = crm._heart
        crm.stop()
    assert heart is not None and not heart.is_alive()
    assert not crm.heart_running


def test_alive_thread_with_a_pinned_clock_goes_on_after_a_restart(tmp_path):
    # The file was ticked up to 12:07Z by an earlier run; the clock is pinned at 12:00Z. The first tick of
    # the new run is at 12:08Z (not 12:01Z, which would wait seven minutes for minutes already ticked).
    with DemoCRM(tmp_path, size=20, end=END) as first:
        first.tick(AT_1207)
    crm = DemoCRM(tmp_path, size=20, end=END, alive=True, tick_seconds=0.5).start()
    try:
        deadline = time.monotonic() + 10
        while crm.ticks == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert crm.ticks >= 1
        minute_1207 = int(AT_1207.timestamp()) // 60
        assert minute_1207 < int(crm.db.meta()["last_tick_minute"]) <= minute_1207 + crm.ticks + 1
    finally:
        crm.stop()


def test_still_by_default(tmp_path):
    crm = DemoCRM(tmp_path, size=10, end=END, tick_seconds=0.05).start()
    try:
        time.sleep(0.3)
        assert not crm.heart_running
        assert crm.ticks == 0 and crm.db.count() == 10
    finally:
        crm.stop()


def test_setting_demo_alive():
    assert load_settings(env={}, secrets={}).demo_alive is True
    assert load_settings(env={"LEADS_DEMO_ALIVE": "false"}, secrets={}).demo_alive is False
    assert load_settings(env={"LEADS_DEMO_ALIVE": "0"}, secrets={}).demo_alive is False
    assert load_settings(env={}, secrets={"LEADS_DEMO_ALIVE": False}).demo_alive is False
    assert load_settings(env={"LEADS_DEMO_ALIVE": "yes"}, secrets={"LEADS_DEMO_ALIVE": False}).demo_alive
    with pytest.raises(ConfigError) as info:
        load_settings(env={"LEADS_DEMO_ALIVE": "sometimes"}, secrets={})
    assert info.value.problems == ["LEADS_DEMO_ALIVE must be true or false (got 'sometimes')"]


@pytest.mark.parametrize(("value", "alive"), [("false", False), ("true", True)])
def test_ensure_running_follows_the_setting(tmp_path, monkeypatch, value, alive):
    monkeypatch.setenv("LEADS_DEMO_ALIVE", value)
    ensure_running(tmp_path, 10)
    crm = demo_server._running[(str(tmp_path.resolve()), 10)]
    try:
        assert crm.alive is alive
        assert crm.heart_running is alive
    finally:
        crm.stop()
