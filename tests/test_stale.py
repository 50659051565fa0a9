"""Stale leads per owner and idle age, the age of every open lead, and links to a lead's page in the CRM.

Every expected value is worked out by hand in the comments: the analytics on a small frame, the pages on a
small v2 CRM (serve_leads) and on the fake Kommo, at the pinned instant of tests/conftest.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from lib import analytics as A
from lib.config import Settings, load_settings
from lib.errors import ConfigError
from lib.links import lead_url_template, lead_urls
from tests.conftest import NOW as APP_NOW
from tests.conftest import lead_item, point_app_at, run_app
from tests.fakes.kommo import SALES, KommoFake, unix
from tests.test_analytics import STATUSES, make_leads

# -- analytics on a small frame -------------------------------------------------------------------------

NOW = pd.Timestamp("2026-06-30T09:00:00Z")
LEADS = make_leads(
    [
        # 1: Dana, open, created 1 Jun, never updated: idle 29 days (1 Jun -> 30 Jun); age 29
        {"status_id": "s_new", "owner": "Dana", "created_at": "2026-06-01T09:00:00Z"},
        # 2: Dana, open, updated 15 May: idle 16 (to 31 May) + 30 = 46; created 1 Mar: age 30+30+31+30 = 121
        {"status_id": "s_work", "owner": "Dana", "created_at": "2026-03-01T09:00:00Z",
         "updated_at": "2026-05-15T09:00:00Z"},
        # 3: Dana, won: never stale, not in the ages
        {"status_id": "s_won", "owner": "Dana", "created_at": "2026-01-01T09:00:00Z"},
        # 4: Avi, open, updated 1 Mar: idle 121; created 1 Feb: age 28 + 121 = 149
        {"status_id": "s_int", "owner": "Avi", "created_at": "2026-02-01T09:00:00Z",
         "updated_at": "2026-03-01T09:00:00Z"},
        # 5: Avi, open, updated exactly 14 days before NOW: idle 14 (stale at 14); created 10 Jun: age 20
        {"status_id": "s_new", "owner": "Avi", "created_at": "2026-06-10T09:00:00Z",
         "updated_at": "2026-06-16T09:00:00Z"},
        # 6: Avi, open, updated one second later: 13 days 23:59:59 -> idle 13 (not stale at 14); age 20
        {"status_id": "s_new", "owner": "Avi", "created_at": "2026-06-10T09:00:00Z",
         "updated_at": "2026-06-16T09:00:01Z"},
        # 7: no owner, open, created and updated 1 Apr: idle and age 29 + 31 + 30 = 90
        {"status_id": "s_work", "created_at": "2026-04-01T09:00:00Z", "updated_at": "2026-04-01T09:00:00Z"},
        # 8: no owner, unknown status (counts as open), created 31 Mar: idle and age 91
        {"status_id": "zzz", "created_at": "2026-03-31T09:00:00Z"},
        # 9: Avi, junk: never stale, not in the ages
        {"status_id": "s_dup", "owner": "Avi", "created_at": "2026-01-01T09:00:00Z"},
        # 10: Dana, open, stamped 30 s after NOW by a CRM whose clock runs ahead: idle 0, age 0
        {"status_id": "s_int", "owner": "Dana", "created_at": "2026-06-30T09:00:30Z",
         "updated_at": "2026-06-30T09:00:30Z"},
        # 11: Avi, open, no times at all: neither stale nor aged
        {"status_id": "s_new", "owner": "Avi"},
        # 12: Dana, inactive but open status, updated 31 May: idle 30; created 1 May: age 30 + 30 = 60
        {"status_id": "s_old", "owner": "Dana", "created_at": "2026-05-01T09:00:00Z",
         "updated_at": "2026-05-31T09:00:00Z"},
    ]
)  # fmt: skip


@pytest.mark.parametrize(
    ("days", "labels"),
    [
        (14, ["14–30 days", "31–90 days", "over 90 days"]),
        (1, ["1–30 days", "31–90 days", "over 90 days"]),
        (30, ["30 days", "31–90 days", "over 90 days"]),
        (31, ["31–90 days", "over 90 days"]),
        (45, ["45–90 days", "over 90 days"]),
        (91, ["over 90 days"]),
        (120, ["120+ days"]),
    ],
)
def test_idle_buckets_start_at_the_threshold(days, labels):
    assert [label for _, _, label in A.idle_buckets(days)] == labels


def test_stale_by_owner_counts_each_owner_per_idle_age():
    table = A.stale_by_owner(LEADS, STATUSES, 14, now=NOW)
    # stale at 14 (open, idle >= 14): 1 (29), 2 (46), 4 (121), 5 (14), 7 (90), 8 (91), 12 (30)
    # Dana: 1 and 12 in 14–30, 2 in 31–90 -> 2, 1, 0 = 3
    # Avi: 5 in 14–30, 4 over 90 -> 1, 0, 1 = 2
    # (unassigned): 7 in 31–90 (90 is its last day), 8 over 90 -> 0, 1, 1 = 2; after Avi on the tie
    assert list(table.columns) == ["owner", "14–30 days", "31–90 days", "over 90 days", "total"]
    assert table.to_dict("records") == [
        {"owner": "Dana", "14–30 days": 2, "31–90 days": 1, "over 90 days": 0, "total": 3},
        {"owner": "Avi", "14–30 days": 1, "31–90 days": 0, "over 90 days": 1, "total": 2},
        {"owner": "(unassigned)", "14–30 days": 0, "31–90 days": 1, "over 90 days": 1, "total": 2},
    ]


def test_stale_by_owner_with_a_higher_threshold():
    table = A.stale_by_owner(LEADS, STATUSES, 45, now=NOW)
    # stale at 45: 2 (46, Dana), 4 (121, Avi), 7 (90, none), 8 (91, none)
    assert table.to_dict("records") == [
        {"owner": "(unassigned)", "45–90 days": 1, "over 90 days": 1, "total": 2},
        {"owner": "Avi", "45–90 days": 0, "over 90 days": 1, "total": 1},
        {"owner": "Dana", "45–90 days": 1, "over 90 days": 0, "total": 1},
    ]
    # at 122 nobody: 4 is the longest idle with 121 days
    nobody = A.stale_by_owner(LEADS, STATUSES, 122, now=NOW)
    assert list(nobody.columns) == ["owner", "122+ days", "total"] and nobody.empty


def test_stale_leads_agree_with_the_owner_table_longest_idle_first():
    stale, total = A.stale_leads(LEADS, STATUSES, 14, now=NOW)
    assert total == 7  # 3 + 2 + 2 in the owner table
    assert stale.lead_id.tolist() == ["4", "8", "7", "2", "12", "1", "5"]
    assert stale.days_idle.tolist() == [121, 91, 90, 46, 30, 29, 14]


def test_a_lead_stamped_in_the_future_is_idle_zero_days():
    stale, total = A.stale_leads(LEADS, STATUSES, 0, now=NOW)
    # every open lead with a time: 1, 2, 4, 5, 6, 7, 8, 10, 12 = 9; lead 10 last with 0 days, not -1
    assert total == 9
    assert (stale.lead_id.iloc[-1], stale.days_idle.iloc[-1]) == ("10", 0)


def test_open_lead_ages_count_a_lead_from_the_future_as_new():
    ages = A.open_lead_ages(LEADS, STATUSES, now=NOW)
    # open leads by age: 10 (0, ⚡️); 1, 5, 6 (29, 20, 20, 💫); 7 (90, 🌟), 12 (60, Old status);
    # 2 (121, 🌟), 4 (149, ⚡️), 8 (91, unknown status); 11 has no creation time
    assert ages.to_dict("records") == [
        {"age": "0–1 days", "status": "⚡️ מעוניין", "leads": 1},
        {"age": "8–30 days", "status": "💫 חדש", "leads": 3},
        {"age": "31–90 days", "status": "🌟 בטיפול", "leads": 1},
        {"age": "31–90 days", "status": "Old status", "leads": 1},
        {"age": "over 90 days", "status": "🌟 בטיפול", "leads": 1},
        {"age": "over 90 days", "status": "⚡️ מעוניין", "leads": 1},
        {"age": "over 90 days", "status": "(unknown status)", "leads": 1},
    ]


# -- the lead link setting -------------------------------------------------------------------------------


def test_lead_url_setting_is_read_and_checked():
    assert load_settings(env={}, secrets={}).lead_url is None
    env = {"LEADS_LEAD_URL": " https://crm.example/lead/{id} "}
    assert load_settings(env=env, secrets={}).lead_url == "https://crm.example/lead/{id}"
    secrets = {"LEADS_LEAD_URL": "https://crm.example/from-secrets/{id}"}
    assert load_settings(env={}, secrets=secrets).lead_url == "https://crm.example/from-secrets/{id}"
    assert load_settings(env=env, secrets=secrets).lead_url == "https://crm.example/lead/{id}"  # env wins
    for bad in ("https://crm.example/lead/", "javascript:alert({id})", "crm.example/{id}", "https:///{id}"):
        with pytest.raises(ConfigError, match="LEADS_LEAD_URL"):
            load_settings(env={"LEADS_LEAD_URL": bad}, secrets={})


def test_lead_url_template_per_crm():
    kommo = Settings(source="kommo", base_url="https://acme.kommo.com", token="t")
    assert lead_url_template(kommo) == "https://acme.kommo.com/leads/detail/{id}"
    assert lead_url_template(Settings(source="v2", base_url="https://crm.example", token="t")) is None
    assert lead_url_template(Settings()) is None  # the demo
    mine = Settings(
        source="v2", base_url="https://crm.example", token="t", lead_url="https://x.example/l/{id}"
    )
    assert lead_url_template(mine) == "https://x.example/l/{id}"
    ids = pd.Series(["301", "a/b c", pd.NA], dtype="string")
    assert lead_urls(ids, "https://x.example/l/{id}?tab=1").tolist() == [
        "https://x.example/l/301?tab=1",
        "https://x.example/l/a%2Fb%20c?tab=1",  # an id cannot leave its place in the address
        pd.NA,
    ]


# -- the Statuses page on a small v2 CRM -----------------------------------------------------------------


def ID(n: int) -> str:  # lead_item's id for lead n
    return str(900000000000000000000000000000000000000 + n)


# Now = 23 Nov 2026 14:00 in Jerusalem (UTC+2; UTC+3 before 25 Oct). Times below are Jerusalem local time.
ITEMS = [
    lead_item(1, "new", 20, "10:00:00", owner="Dana"),  # idle 20 days 4 h -> 20; age 20
    lead_item(2, "no_answer", 120, "09:00:00", owner="Dana"),  # idle and age 120 (+6 h)
    lead_item(3, "new", 40, "12:00:00", owner="Avi"),  # idle and age 40 (+3 h)
    lead_item(4, "converted", 100, "12:00:00", owner="Avi"),  # won: never stale, not in the ages
    lead_item(5, "new", 3, "09:00:00"),  # no owner, idle and age 3
    lead_item(6, "no_answer", 15, "08:00:00"),  # no owner, idle and age 15
    lead_item(7, "new", 0, "14:00:30", owner="Dana"),  # 30 s after now: idle and age 0
    lead_item(8, "new", 50, "12:00:00", owner="Avi", updated_at=f"{APP_NOW[:10]}T12:00:00"),  # idle 0; age 50
]


def frame_with(at, column: str) -> pd.DataFrame:
    """The one table on the page that has this column."""
    [frame] = [df.value for df in at.dataframe if column in df.value.columns]
    return frame


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_statuses_page_pins_stale_leads_on_owners(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/statuses.py")
    # stale at the default 14 days: 1 (20, Dana), 2 (120, Dana), 3 (40, Avi), 6 (15, no owner)
    per_owner = frame_with(at, "14–30 days")
    assert per_owner.to_dict("records") == [
        {"owner": "Dana", "14–30 days": 1, "31–90 days": 0, "over 90 days": 1, "total": 2},
        {"owner": "Avi", "14–30 days": 0, "31–90 days": 1, "over 90 days": 0, "total": 1},
        {"owner": "(unassigned)", "14–30 days": 1, "31–90 days": 0, "over 90 days": 0, "total": 1},
    ]
    stale = frame_with(at, "days_idle")
    # v2 without LEADS_LEAD_URL: no link column
    assert list(stale.columns) == [
        "days_idle",
        "owner",
        "name",
        "phone",
        "status",
        "created_at",
        "updated_at",
    ]
    assert stale["days_idle"].tolist() == [120, 40, 20, 15]
    assert stale["name"].tolist() == ["Lead 2", "Lead 3", "Lead 1", "Lead 6"]
    assert stale["owner"].tolist() == ["Dana", "Avi", "Dana", "(unassigned)"]
    assert any("4 open leads not updated for 14+ days" in c.value for c in at.caption)

    at.number_input(key="stale_days").set_value(30).run()
    # stale at 30: 2 (120, Dana), 3 (40, Avi); a tie of 1, by name
    assert frame_with(at, "30 days").to_dict("records") == [
        {"owner": "Avi", "30 days": 0, "31–90 days": 1, "over 90 days": 0, "total": 1},
        {"owner": "Dana", "30 days": 0, "31–90 days": 0, "over 90 days": 1, "total": 1},
    ]


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_age_of_open_leads_covers_every_open_lead_whatever_its_creation_date(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/statuses.py")  # the default period: the last 30 days
    ages = {(r["age"], r["status"]): r["leads"] for r in frame_with(at, "age").to_dict("records")}
    # open: 7 (0, 💫), 5 (3, 💫), 1 (20, 💫), 6 (15, ☎️), 3 and 8 (40, 50, 💫), 2 (120, ☎️), created 120
    # days ago, long before the period
    assert ages == {
        ("0–1 days", "💫 חדש"): 1,
        ("2–7 days", "💫 חדש"): 1,
        ("8–30 days", "💫 חדש"): 1,
        ("8–30 days", "☎️ אין מענה"): 1,
        ("31–90 days", "💫 חדש"): 2,
        ("over 90 days", "☎️ אין מענה"): 1,
    }
    assert any("the date range does not apply here" in c.value for c in at.caption)


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_the_other_filters_still_apply_to_stale_and_ages(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/statuses.py", owner="Avi")
    # Avi's open leads: 3 (40 days, stale) and 8 (50 days old, idle 0)
    assert frame_with(at, "14–30 days").to_dict("records") == [
        {"owner": "Avi", "14–30 days": 0, "31–90 days": 1, "over 90 days": 0, "total": 1},
    ]
    ages = frame_with(at, "age").to_dict("records")
    assert ages == [{"age": "31–90 days", "status": "💫 חדש", "leads": 2}]


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_a_configured_lead_url_links_each_stale_lead(serve_leads, monkeypatch):
    monkeypatch.setenv("LEADS_LEAD_URL", "https://crm.example/lead/{id}")
    serve_leads(ITEMS)
    at = run_app("pages/statuses.py")
    stale = frame_with(at, "days_idle")
    assert list(stale.columns)[-1] == "crm_link"
    assert stale["crm_link"].tolist() == [f"https://crm.example/lead/{ID(n)}" for n in (2, 3, 1, 6)]


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_overview_lists_stale_leads_days_idle_first(serve_leads):
    serve_leads(ITEMS)
    at = run_app()
    stale = frame_with(at, "days_idle")
    assert list(stale.columns)[:3] == ["days_idle", "owner", "name"]
    assert "crm_link" not in stale.columns
    assert stale["days_idle"].tolist() == [120, 40, 20, 15]
    assert [link.proto.page for link in at.get("page_link")] == ["statuses"]  # its URL path


# -- Kommo: every lead has a page at {base_url}/leads/detail/{id} -----------------------------------------


def kommo_lead(n: int, days: int, **fields) -> dict:
    when = unix(datetime.fromisoformat(APP_NOW) - timedelta(days=days))
    return {"id": 400 + n, "name": f"Lead {n}", "price": 0, "responsible_user_id": 8100003,
            "status_id": 61000011, "pipeline_id": SALES, "created_at": when, "updated_at": when,
            "closed_at": None, "custom_fields_values": None, "_embedded": {"tags": []}, **fields}  # fmt: skip


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_kommo_stale_leads_link_to_the_lead_in_kommo(monkeypatch):
    # 1: open, 20 days idle -> stale; 2: open, 2 days -> not; 3: won 40 days ago -> never stale
    leads = [kommo_lead(1, 20), kommo_lead(2, 2), kommo_lead(3, 40, status_id=142)]
    with KommoFake(leads) as crm:
        point_app_at(monkeypatch, "kommo", crm)
        at = run_app("pages/statuses.py")
        stale = frame_with(at, "days_idle")
        assert stale["days_idle"].tolist() == [20]
        assert stale["crm_link"].tolist() == [f"{crm.base_url}/leads/detail/401"]
        per_owner = frame_with(at, "14–30 days").to_dict("records")
        assert per_owner == [
            {"owner": "Yossi Mizrahi", "14–30 days": 1, "31–90 days": 0, "over 90 days": 0, "total": 1}
        ]
