"""The pure parts behind the sidebar and the tables: presets, filters, options, search, stale leads, ages."""

from datetime import date

import pandas as pd
import pytest

from lib import analytics as A
from tests.test_analytics import STATUSES, make_leads

TZ = "Asia/Jerusalem"
NOW = pd.Timestamp("2026-06-30T09:00:00Z")
LEADS = make_leads(
    [
        # 1: open, created 1 Jun, never updated -> idle 29 days
        {"status_id": "s_new", "owner": "Dana", "utm_source": "FB", "utm_medium": "cpc", "name": "דנה כהן",
         "phone": "+972501112233", "created_at": "2026-06-01T09:00:00Z"},
        # 2: open, updated 25 Jun -> idle 5 days
        {"status_id": "s_work", "owner": "Avi", "utm_source": "פייסבוק", "name": "Avi Levi",
         "email": "avi@x.io", "created_at": "2026-06-10T09:00:00Z", "updated_at": "2026-06-25T09:00:00Z"},
        # 3: won -> never stale
        {"status_id": "s_won", "owner": "Dana", "utm_source": "google", "utm_medium": "cpc",
         "created_at": "2026-05-01T09:00:00Z"},
        # 4: open, no owner, no UTM, created 29 Jun 22:30 UTC = 30 Jun 01:30 in Jerusalem
        {"status_id": "s_int", "company": "Acme", "created_at": "2026-06-29T22:30:00Z"},
        # 5: unknown status (counts as open), no dates at all
        {"status_id": "zzz", "owner": "Avi"},
    ]
)  # fmt: skip


@pytest.mark.parametrize(
    ("preset", "today", "expected"),
    [
        ("Today", date(2026, 6, 30), (date(2026, 6, 30), date(2026, 6, 30))),
        ("Last 7 days", date(2026, 6, 30), (date(2026, 6, 24), date(2026, 6, 30))),
        ("Last 30 days", date(2026, 3, 1), (date(2026, 1, 31), date(2026, 3, 1))),
        ("This month", date(2026, 6, 30), (date(2026, 6, 1), date(2026, 6, 30))),
        ("Last month", date(2026, 1, 15), (date(2025, 12, 1), date(2025, 12, 31))),
        ("This quarter", date(2026, 8, 20), (date(2026, 7, 1), date(2026, 8, 20))),
        ("All time", date(2026, 6, 30), (None, None)),
    ],
)
def test_date_presets(preset, today, expected):
    assert A.preset_range(preset, today) == expected


@pytest.mark.parametrize(
    ("f", "ids"),
    [
        (A.LeadFilter(), ["1", "2", "3", "4", "5"]),
        (A.LeadFilter(sources=("facebook",)), ["1", "2"]),  # FB and פייסבוק are one source
        (A.LeadFilter(sources=("(none)",)), ["4", "5"]),
        (A.LeadFilter(owners=("(unassigned)",)), ["4"]),
        (A.LeadFilter(owners=("Dana", "Avi")), ["1", "2", "3", "5"]),
        (A.LeadFilter(status_ids=("s_won", "zzz")), ["3", "5"]),
        (A.LeadFilter(mediums=("cpc",), owners=("Dana",)), ["1", "3"]),
        (A.LeadFilter(start=date(2026, 6, 30), end=date(2026, 6, 30)), ["4"]),  # the Jerusalem day
        (A.LeadFilter(start=date(2026, 6, 1)), ["1", "2", "4"]),  # a bound drops the lead with no date
        (A.LeadFilter(channels=("Paid Search",)), ["3"]),
        (A.LeadFilter(sources=("myspace",)), []),
    ],
)
def test_filter_leads(f, ids):
    assert A.filter_leads(LEADS, f, TZ).lead_id.tolist() == ids


def test_filter_options_most_frequent_first_with_unassigned_last():
    options = A.filter_options(LEADS)
    assert options["owners"] == ["Dana", "Avi", "(unassigned)"]  # 2 each (first seen first), then none
    assert options["sources"] == ["facebook", "(none)", "google"]
    assert options["mediums"] == ["(none)", "cpc"]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("", ["1", "2", "3", "4", "5"]),
        ("דנה", ["1"]),
        ("AVI", ["2"]),
        ("acme", ["4"]),
        ("050-111-2233", ["1"]),  # typed the local way, stored as +972501112233
        ("0501112233", ["1"]),
        ("nobody", []),
    ],
)
def test_search_leads(query, ids):
    assert A.search_leads(LEADS, query).lead_id.tolist() == ids


def test_stale_leads_longest_idle_first_and_counted():
    stale, total = A.stale_leads(LEADS, STATUSES, 5, now=NOW)
    assert total == 2
    assert stale.lead_id.tolist() == ["1", "2"]
    assert stale.days_idle.tolist() == [29, 5]
    top, total = A.stale_leads(LEADS, STATUSES, 5, now=NOW, limit=1)
    assert (top.lead_id.tolist(), total) == (["1"], 2)
    assert A.stale_leads(LEADS, STATUSES, 30, now=NOW)[1] == 0


def test_newest_first_and_undated_last():
    assert A.newest(LEADS, 10).lead_id.tolist() == ["4", "2", "1", "3", "5"]
    assert A.newest(LEADS, 2).lead_id.tolist() == ["4", "2"]


def test_open_lead_ages():
    ages = A.open_lead_ages(LEADS, STATUSES, now=NOW)
    # open leads with a date: 1 (29 days, 💫 חדש), 2 (20 days, 🌟 בטיפול), 4 (0 days, ⚡️ מעוניין)
    assert ages.to_dict("records") == [
        {"age": "0–1 days", "status": "⚡️ מעוניין", "leads": 1},
        {"age": "8–30 days", "status": "💫 חדש", "leads": 1},
        {"age": "8–30 days", "status": "🌟 בטיפול", "leads": 1},
    ]
