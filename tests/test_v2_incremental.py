"""Incremental v2 reads: the ORDS `q` filter on updated_at, client and demo server, over loopback HTTP.

Every time here is a fixed instant (no clock): the CRM stores Jerusalem local wall-clock text without an
offset; in November Israel is on UTC+2, in the summer on UTC+3. Israel's 2026 clock changes (checked with
zoneinfo): 27 March 02:00 -> 03:00 (a gap), 25 October 02:00 -> 01:00 (01:00-01:59 happens twice).
"""

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from lib.crm import connect
from lib.crm.v2 import updated_since_q
from lib.demo.server import DemoCRM
from tests.fakes.v2_faults import FaultyDemoCRM


def item(n: int, updated: str, created: str | None = None) -> dict:
    return {
        "id": f"{900000000000000000000000000000000000000 + n}",
        "name": f"ליד {n}",
        "f_name": f"ליד {n}",
        "phone": f"05212345{n:02d}",
        "created_at": created or updated,
        "updated_at": updated,
    }


def lid(n: int) -> str:
    return f"{900000000000000000000000000000000000000 + n}"


# Six leads, stored in this order (seq 1..6). Local (UTC+2) -> UTC:
#   1: created 1 Nov, updated 20 Nov 12:45 -> 10:45Z   (an old lead touched recently)
#   2: 20 Nov 09:00 -> 07:00Z
#   3: 20 Nov 10:59:59 -> 08:59:59Z
#   4: 20 Nov 11:00 -> 09:00Z
#   5: 20 Nov 12:00 -> 10:00Z
#   6: 20 Nov 08:00 -> 06:00Z
SIX = [
    item(1, "2026-11-20T12:45:00", created="2026-11-01T09:00:00"),
    item(2, "2026-11-20T09:00:00"),
    item(3, "2026-11-20T10:59:59"),
    item(4, "2026-11-20T11:00:00"),
    item(5, "2026-11-20T12:00:00"),
    item(6, "2026-11-20T08:00:00"),
]


def v2(crm):
    return connect("v2", base_url=crm.base_url, token=crm.token, backoff=0.01, backoff_cap=0.05)


def start(tmp_path, items, **kw) -> FaultyDemoCRM:
    kw.setdefault("page_size", 2)
    crm = FaultyDemoCRM(tmp_path, size=0, **kw).start()
    crm.db.import_items(items)
    return crm


@pytest.fixture
def six(tmp_path):
    crm = start(tmp_path, SIX)
    yield crm
    crm.stop()


def test_the_q_sent_is_utc_to_the_second_rounded_down():
    # 20 Nov 11:00:00.999 at UTC+2 = 09:00:00.999Z -> 09:00:00Z
    since = datetime(2026, 11, 20, 11, 0, 0, 999000, tzinfo=timezone(timedelta(hours=2)))
    assert updated_since_q(since) == '{"updated_at":{"$gte":{"$date":"2026-11-20T09:00:00Z"}}}'
    with pytest.raises(ValueError):
        updated_since_q(datetime(2026, 11, 20, 9))  # naive: which zone? refused


def test_only_newer_leads_come_back_in_fewer_pages(six):
    src = v2(six)
    full = src.leads()
    assert full.attrs["incremental"] is False and src.last_read_was_incremental is False
    assert len(six.lead_requests()) == 3  # 6 leads at 2 a page: pages 0, 1, 2
    assert all("q=" not in t for t in six.lead_requests())  # since=None sends no q, as before
    six.requests.clear()

    # since 08:30:00.750Z: leads 3 (08:59:59Z), 4 (09:00Z), 5 (10:00Z), 1 (10:45Z); not 2 (07:00Z), 6 (06:00Z)
    leads = src.leads(since=datetime(2026, 11, 20, 8, 30, 0, 750000, tzinfo=UTC))
    assert leads["lead_id"].tolist() == [lid(1), lid(3), lid(4), lid(5)]  # the server's (insertion) order
    assert leads.attrs["incremental"] is True and src.last_read_was_incremental is True
    targets = six.lead_requests()
    assert len(targets) == 2  # 4 leads at 2 a page
    assert all("q=" in t for t in targets)  # the next link kept the filter
    assert str(leads.loc[0, "updated_at"]) == "2026-11-20 10:45:00+00:00"


def test_a_lead_updated_in_the_same_second_as_since_is_included(six):
    # since 09:00:00.400Z: lead 4 was updated at 09:00:00 (the same second) -> in; lead 3 at 08:59:59 -> out
    leads = v2(six).leads(since=datetime(2026, 11, 20, 9, 0, 0, 400000, tzinfo=UTC))
    assert sorted(leads["lead_id"]) == [lid(1), lid(4), lid(5)]
    assert leads.attrs["incremental"] is True


def test_a_server_ignoring_q_gives_the_same_leads_after_a_full_read(tmp_path):
    crm = start(tmp_path, SIX, ignore_q=True)
    try:
        src = v2(crm)
        leads = src.leads(since=datetime(2026, 11, 20, 8, 30, tzinfo=UTC))
        assert leads["lead_id"].tolist() == [lid(1), lid(3), lid(4), lid(5)]  # as from a server with q
        assert leads.attrs["incremental"] is False and src.last_read_was_incremental is False
        targets = crm.lead_requests()
        assert len(targets) == 3  # every page of the 6 leads
        assert "q=" in targets[0] and all("q=" not in t for t in targets[1:])  # asked once, links lost it
    finally:
        crm.stop()


def test_a_server_refusing_q_is_read_in_full(six):
    six.inject("q=", 400, body='{"code":"BadRequest","message":"unknown parameter q"}')
    leads = v2(six).leads(since=datetime(2026, 11, 20, 9, tzinfo=UTC))
    assert sorted(leads["lead_id"]) == [lid(1), lid(4), lid(5)]  # 09:00Z, 10:00Z, 10:45Z
    assert leads.attrs["incremental"] is False
    targets = six.lead_requests()
    assert len(targets) == 4 and "q=" in targets[0]  # the refused request, then the 3 full pages
    assert all("q=" not in t for t in targets[1:])


def test_the_newer_links_style_keeps_q_in_its_links(tmp_path):
    crm = start(tmp_path, SIX, style="links")
    try:
        leads = v2(crm).leads(since=datetime(2026, 11, 20, 8, 30, tzinfo=UTC))
        assert leads["lead_id"].tolist() == [lid(1), lid(3), lid(4), lid(5)]
        assert leads.attrs["incremental"] is True
        assert len(crm.lead_requests()) == 2 and all("q=" in t for t in crm.lead_requests())
    finally:
        crm.stop()


def test_autumn_dst_end_compares_instants_not_wall_clock_text(tmp_path):
    # 25 Oct 2026: 01:00-01:59 local happens twice. A time without an offset there is read (by the app's
    # client and by the demo alike) as the first, summer-time (UTC+3) occurrence.
    items = [
        item(1, "2026-10-25T01:50:00"),  # first 01:50, UTC+3 -> 24 Oct 22:50Z
        item(2, "2026-10-25T02:10:00"),  # winter, UTC+2 -> 00:10Z
        item(3, "2026-10-25T01:10:00+02:00"),  # second 01:10, written with its offset -> 23:10Z (24 Oct)
        item(4, "2026-10-25T01:25:00+02:00"),  # second 01:25 -> 23:25Z
        item(5, "2026-10-24T23:59:00"),  # summer -> 20:59Z
    ]
    crm = start(tmp_path, items)
    try:
        # since 24 Oct 23:20Z = the second 01:20 local. Comparing wall-clock text would keep lead 1
        # ("01:50" >= "01:20"); by instants: 1 (22:50Z) out, 2 (00:10Z) in, 3 (23:10Z) out, 4 (23:25Z) in,
        # 5 (20:59Z) out.
        leads = v2(crm).leads(since=datetime(2026, 10, 24, 23, 20, tzinfo=UTC))
        assert leads["lead_id"].tolist() == [lid(2), lid(4)]
        assert leads.attrs["incremental"] is True  # the server sent nothing older: no false "ignored q"
        assert len(crm.lead_requests()) == 1  # 2 leads fit one page of 2
    finally:
        crm.stop()


def test_spring_dst_gap_time_counts_from_the_end_of_the_gap(tmp_path):
    # 27 Mar 2026 02:00 local jumps to 03:00. "02:30" never happened: read as 03:00 UTC+3 = 00:00Z.
    items = [
        item(1, "2026-03-27T02:30:00"),  # -> 00:00:00Z (gap end)
        item(2, "2026-03-27T01:59:59"),  # winter, UTC+2 -> 26 Mar 23:59:59Z
        item(3, "2026-03-27T03:00:01"),  # summer, UTC+3 -> 00:00:01Z
    ]
    crm = start(tmp_path, items)
    try:
        leads = v2(crm).leads(since=datetime(2026, 3, 27, 0, 0, tzinfo=UTC))
        assert leads["lead_id"].tolist() == [lid(1), lid(3)]
        assert leads.attrs["incremental"] is True
    finally:
        crm.stop()


# ---------------------------------------------------------------------------------------- the demo server
def get(crm: DemoCRM, **params) -> httpx.Response:
    return httpx.get(
        f"{crm.base_url}/v2/leads", params=params, headers={"Authorization": f"Bearer {crm.token}"}
    )


def ids(response: httpx.Response) -> list[str]:
    return [i["id"] for i in response.json()["items"]]


@pytest.mark.parametrize(
    "q",
    [
        '{"updated_at":{"$gte":"2026-11-20T09:00:00Z"}}',  # a plain string instead of {"$date": ...}
        '{"updated_at":{"$gte":{"$date":"2026-11-20T11:00:00+02:00"}}}',  # the same instant with an offset
        '{"updated_at":{"$gte":{"$date":"2026-11-20T09:00:00"}}}',  # no offset: UTC, as ORDS reads $date
    ],
)
def test_demo_accepts_the_q_forms(tmp_path, q):
    crm = DemoCRM(tmp_path, size=0, page_size=10).start()
    try:
        crm.db.import_items(SIX)
        r = get(crm, q=q)
        assert r.status_code == 200
        assert ids(r) == [lid(1), lid(4), lid(5)]  # 10:45Z, 09:00Z, 10:00Z are >= 09:00Z
    finally:
        crm.stop()


def test_demo_pages_the_filtered_list_and_links_keep_q(tmp_path):
    crm = DemoCRM(tmp_path, size=0, page_size=2).start()
    try:
        crm.db.import_items(SIX)
        q = '{"updated_at":{"$gte":{"$date":"2026-11-20T08:30:00Z"}}}'
        first = get(crm, q=q).json()
        assert [i["id"] for i in first["items"]] == [lid(1), lid(3)]
        nxt = httpx.get(first["next"]["$ref"], headers={"Authorization": f"Bearer {crm.token}"}).json()
        assert [i["id"] for i in nxt["items"]] == [lid(4), lid(5)]
        assert "next" not in nxt  # 4 matching leads: two pages
        assert get(crm, q="{}").json()["items"][0]["id"] == lid(1)  # {} filters nothing
        assert len(get(crm, q="{}", page=2).json()["items"]) == 2  # 6 leads: page 2 holds leads 5 and 6
    finally:
        crm.stop()


@pytest.mark.parametrize(
    ("q", "says"),
    [
        ("not json", "JSON object"),
        ("[1, 2]", "JSON object"),
        ('{"name": "x"}', "name"),  # an unknown field
        ('{"updated_at": {"$gte": "2026-11-20T09:00:00Z"}, "owner": "x"}', "owner"),
        ('{"updated_at": {"$lt": {"$date": "2026-11-20T09:00:00Z"}}}', "$gte"),  # an unsupported operator
        ('{"updated_at": "2026-11-20T09:00:00Z"}', "$gte"),
        ('{"updated_at": {"$gte": {"$date": "yesterday"}}}', "ISO 8601"),
        ('{"updated_at": {"$gte": 1763629200}}', "string"),
    ],
)
def test_demo_refuses_a_malformed_or_unknown_q_with_400(tmp_path, q, says):
    crm = DemoCRM(tmp_path, size=3, page_size=10).start()
    try:
        r = get(crm, q=q)
        assert r.status_code == 400
        body = r.json()
        assert body["code"] == "InvalidQuery"
        assert says in body["message"]
    finally:
        crm.stop()


def test_demo_db_filtered_pages_are_the_same_resumed_or_not(tmp_path):
    # SIX updated at/after 08:30Z, in insertion order: leads 1, 3, 4, 5 (see SIX above)
    crm = DemoCRM(tmp_path, size=0, page_size=2)
    try:
        crm.db.import_items(SIX)
        since = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)

        def page(offset: int, limit: int = 2) -> list[str]:
            return [r["id"] for r in crm.db.leads_page(offset, limit, since)]

        assert page(2) == [lid(4), lid(5)]  # asked cold (no page before it): counted from the start
        assert page(0, 3) == [lid(1), lid(3), lid(4)]  # as the server asks: one more than a page
        assert page(2) == [lid(4), lid(5)]  # now resumed after lead 3
        assert page(1) == [lid(3), lid(4)]
        assert page(4) == []
        # a new lead updated 20 Nov 13:00 local (11:00Z) goes after the others; earlier pages do not move
        crm.db.import_items([item(7, "2026-11-20T13:00:00")])
        assert page(0) == [lid(1), lid(3)]
        assert page(2) == [lid(4), lid(5)]
        assert page(4) == [lid(7)]
    finally:
        crm.stop()


def test_ignored_q_is_told_by_a_lead_more_than_a_second_too_old(tmp_path):
    # since 09:00:00Z; a server ignoring q sends everything. 08:59:59Z (local 10:59:59) is within the one
    # second of tolerance, so an answer holding only it and newer leads still counts as filtered;
    # 08:59:58Z (local 10:59:58) is not.
    since = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    close = [item(1, "2026-11-20T10:59:59"), item(2, "2026-11-20T11:00:10")]
    crm = start(tmp_path / "close", close, ignore_q=True)
    try:
        leads = v2(crm).leads(since=since)
        assert leads["lead_id"].tolist() == [lid(2)]  # 09:00:10Z; 08:59:59Z is still left out here
        assert leads.attrs["incremental"] is True
    finally:
        crm.stop()
    crm = start(tmp_path / "far", [*close, item(3, "2026-11-20T10:59:58")], ignore_q=True)
    try:
        leads = v2(crm).leads(since=since)
        assert leads["lead_id"].tolist() == [lid(2)]
        assert leads.attrs["incremental"] is False
    finally:
        crm.stop()
