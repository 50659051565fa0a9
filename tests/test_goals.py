"""Monthly goals: lib.analytics.goals on hand-worked data, the store's goals, the Goals page and the
Overview's goals section (AppTest at a pinned LEADS_NOW)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from lib import analytics as A
from lib.store import Store
from tests.test_roi import LEADS, SPEND, STATUSES

TZ = "Asia/Jerusalem"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=ZoneInfo(TZ))  # 20.5 of November's 30 days gone


def test_share_of_month_gone():
    assert A.share_of_month_gone("2026-11", NOW, TZ) == pytest.approx(20.5 / 30)
    assert A.share_of_month_gone("2026-12", NOW, TZ) == 0.0  # not begun
    assert A.share_of_month_gone("2026-10", NOW, TZ) == 1.0  # over
    # October 2026 in Jerusalem: the clocks go back an hour on Sunday 25 Oct, so it lasts 31 × 24 + 1 = 745
    # hours; at midnight starting 16 Oct 15 × 24 = 360 hours have gone.
    oct16 = datetime(2026, 10, 16, 0, 0, tzinfo=ZoneInfo(TZ))
    assert A.share_of_month_gone("2026-10", oct16, TZ) == pytest.approx(360 / 745)


GOALS = [
    {"month": "2026-11", "metric": "leads", "source": "", "target": 12},
    {"month": "2026-11", "metric": "leads", "source": "Facebook", "target": 6},
    {"month": "2026-11", "metric": "customers", "source": None, "target": 5},
    {"month": "2026-11", "metric": "cost_per_lead", "source": "", "target": 150},
    {"month": "2026-11", "metric": "cost_per_lead", "source": "fb", "target": 100},
    {"month": "2026-11", "metric": "cost_per_lead", "source": "linkedin", "target": 50},
    {"month": "2026-11", "metric": "leads", "source": "פייסבוק", "target": 3},
    {"month": "2026-10", "metric": "leads", "source": "", "target": 99},  # another month: not shown
]


def test_goal_progress_hand_worked():
    got = A.goal_progress(LEADS, STATUSES, SPEND, GOALS, "2026-11", NOW, TZ)
    assert list(got.columns) == [
        "month", "metric", "source", "target", "actual", "share_of_target", "share_of_month_gone",
        "expected_by_now", "on_track",
    ]  # fmt: skip
    assert got["metric"].tolist() == ["leads", "leads", "customers"] + ["cost_per_lead"] * 3 + ["leads"]
    # sources cleaned with the aliases: "Facebook", "fb" and "פייסבוק" are all facebook
    assert got["source"].tolist() == ["", "facebook", "", "", "facebook", "linkedin", "facebook"]
    gone = 20.5 / 30
    assert got["share_of_month_gone"].tolist() == pytest.approx([gone] * 7)
    # November's leads: 1-8 = 8, facebook 1-4 = 4, customers 1, 2, 6, 8 = 4
    # spend: 1050 in all → 1050 / 8 = 131.25 per lead; facebook 600 / 4 = 150; no linkedin lead or spend
    assert got["actual"].tolist()[:5] == [8.0, 4.0, 4.0, 131.25, 150.0]
    assert np.isnan(got["actual"].iloc[5])
    assert got["actual"].iloc[6] == 4.0
    # pace: 12 × 20.5 / 30 = 8.2 (8 is behind); 6 × 20.5/30 = 4.1 (4 behind); 5 × 20.5/30 = 3.417 (4 on
    # track); a cost target is its own expectation; 3 × 20.5/30 = 2.05 (4 on track)
    assert got["expected_by_now"].tolist()[:3] == pytest.approx([8.2, 4.1, 5 * gone])
    assert got["expected_by_now"].tolist()[3:6] == [150.0, 100.0, 50.0]
    assert got["on_track"].tolist()[:5] == [False, False, True, True, False]
    assert got["on_track"].isna().iloc[5]  # no lead and no spend: not known
    assert bool(got["on_track"].iloc[6]) is True
    assert got["share_of_target"].tolist()[:3] == pytest.approx([8 / 12, 4 / 6, 4 / 5])


def test_goal_progress_other_month_and_none():
    october = A.goal_progress(LEADS, STATUSES, SPEND, GOALS, "2026-10", NOW, TZ)
    # one goal, no October lead; the month is over, so the whole target was expected
    assert october[["actual", "expected_by_now", "on_track"]].to_dict("records") == [
        {"actual": 0.0, "expected_by_now": 99.0, "on_track": False}
    ]
    assert A.goal_progress(LEADS, STATUSES, SPEND, [], "2026-11", NOW, TZ).empty


def test_clean_goals():
    rows = [
        {"month": "2026-11-05", "metric": "leads", "source": " fb ", "target": "900"},
        {"month": None, "metric": None, "source": None, "target": None},  # a blank editor row: dropped
    ]
    assert A.clean_goals(rows) == [{"month": "2026-11", "metric": "leads", "source": "fb", "target": 900.0}]
    with pytest.raises(ValueError, match="metric"):
        A.clean_goals([{"month": "2026-11", "metric": "sales", "target": 1}])
    with pytest.raises(ValueError, match="target"):
        A.clean_goals([{"month": "2026-11", "metric": "leads", "target": -1}])
    with pytest.raises(ValueError, match="YYYY-MM"):
        A.clean_goals([{"month": "November", "metric": "leads", "target": 1}])


def test_store_keeps_goals(tmp_path):
    store = Store(tmp_path)
    assert store.goals() == []
    before = store.version()
    goals = [{"month": "2026-11", "metric": "leads", "source": "פייסבוק", "target": 900.0}]
    store.save_goals(goals)
    assert store.version() == before + 1
    assert Store(tmp_path).goals() == goals  # persisted, Hebrew intact
    store.save_goals([])
    assert store.goals() == []


# -- the Goals page and the Overview's goals (AppTest) ---------------------------------------------------


def goals_store() -> Store:
    import os
    from pathlib import Path

    return Store(Path(os.environ["LEADS_DATA_DIR"]))


@pytest.fixture
def november(monkeypatch, serve_leads, fresh_streamlit_caches):
    """A CRM at 21 Nov 2026 12:00 Jerusalem (20.5 of 30 days gone) holding leads 1-5."""
    monkeypatch.setenv("LEADS_NOW", "2026-11-21T12:00:00+02:00")
    from tests.conftest import lead_item

    serve_leads(
        [
            lead_item(1, "new", 0, "10:00:00", utm_source="fb"),
            lead_item(2, "converted", 1, "09:00:00", utm_source="Facebook"),  # won
            lead_item(3, "returning", 5, "12:00:00", utm_source="google"),  # won
            lead_item(4, "duplicate", 10, "15:00:00", utm_source="google"),
            lead_item(5, "converted", 25, "15:00:00", utm_source="fb"),  # 27 Oct: not this month
        ]
    )
    # November: leads 1-4 = 4; facebook customers: lead 2 = 1


def test_overview_shows_this_months_goals(november):
    from tests.conftest import run_app

    goals_store().save_goals(
        [
            {"month": "2026-11", "metric": "leads", "source": "", "target": 6},
            {"month": "2026-11", "metric": "customers", "source": "fb", "target": 1},
            {"month": "2026-10", "metric": "leads", "source": "", "target": 100},  # last month: not shown
        ]
    )
    at = run_app()
    assert at.subheader[0].value == "Goals for November 2026"
    # 6 × 20.5 / 30 = 4.1 leads expected by now, 4 created: behind. 1 × 20.5 / 30 = 0.68 customers
    # expected, 1 won (lead 2): on track.
    assert [e.value for e in at.error] == [
        "Behind: 4 of 6 leads, 68% of the month gone (4.1 expected by now)."
    ]
    assert [s.value for s in at.success] == [
        "On track: 1 of 1 customers from facebook, 68% of the month gone."
    ]


def test_overview_without_goals_shows_none(november):
    from tests.conftest import run_app

    at = run_app()
    assert "Goals for November 2026" not in [h.value for h in at.subheader]
    assert not at.error and not at.success


def test_goals_page_lists_saves_and_shows_progress(november):
    from tests.conftest import run_app

    store = goals_store()
    # as a user may have typed them: a full date for the month, spaces around the source
    store.save_goals([{"month": "2026-11-02", "metric": "leads", "source": " fb ", "target": 2}])
    at = run_app("pages/goals.py")
    assert at.title[0].value == "Goals"
    shown = at.dataframe[0].value
    assert shown.to_dict("records") == [
        {"month": "2026-11-02", "metric": "Leads", "source": " fb ", "target": 2.0}
    ]
    # facebook leads this month: 1 and 2 = 2 of 2 (1.37 expected by now): on track
    assert [s.value for s in at.success] == ["On track: 2 of 2 leads from facebook, 68% of the month gone."]
    next(b for b in at.button if b.label == "Save goals").click().run()
    assert not at.exception
    assert store.goals() == [{"month": "2026-11", "metric": "leads", "source": "fb", "target": 2.0}]


def test_goals_page_opens_with_no_goal_saved_yet(november):
    from tests.conftest import run_app

    at = run_app("pages/goals.py")  # no exception: the empty table still knows its columns' types
    assert at.title[0].value == "Goals"
    assert at.dataframe[0].value.empty
    assert list(at.dataframe[0].value.columns) == ["month", "metric", "source", "target"]


def test_goals_page_refuses_a_bad_goal(november):
    from tests.conftest import run_app

    store = goals_store()
    store.save_goals([{"month": "2026-11", "metric": "leads", "source": "", "target": -5}])
    at = run_app("pages/goals.py")
    next(b for b in at.button if b.label == "Save goals").click().run()
    assert any("Not saved" in e.value and "0 or more" in e.value for e in at.error)
    assert store.goals()[0]["target"] == -5  # unchanged


def test_goal_progress_leaves_out_a_broken_goal():
    goals = [{"month": "2026-11", "metric": "leads", "target": -5}, GOALS[0]]
    got = A.goal_progress(LEADS, STATUSES, SPEND, goals, "2026-11", NOW, TZ)
    assert got["target"].tolist() == [12.0]


def test_clean_goals_names_a_missing_target():
    with pytest.raises(ValueError, match="every goal needs a target"):
        A.clean_goals([{"month": "2026-11", "metric": "customers", "source": None, "target": None}])


def test_this_month_is_the_display_zones():
    from datetime import UTC

    from lib.ui import roi

    # 22:30 UTC on 30 Nov is 00:30 on 1 Dec in Jerusalem: December's goals, 0.5 h of 744 gone
    just_after_midnight = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
    assert roi.this_month(just_after_midnight, TZ) == "2026-12"
    assert roi.this_month(just_after_midnight, "UTC") == "2026-11"
    assert A.share_of_month_gone("2026-12", just_after_midnight, TZ) == pytest.approx(0.5 / 744)


def test_money_and_goal_sentences():
    from lib.ui import roi

    assert roi.money(1234.5, "ILS") == "₪1,234.50"
    assert roi.money(3, "CHF") == "3.00 CHF"
    assert roi.money(float("nan")) == "—"
    cpl = {"metric": "cost_per_lead", "source": "fb_[x]", "target": 50.0, "actual": 41.2, "on_track": True,
           "share_of_month_gone": 0.5, "expected_by_now": 50.0}  # fmt: skip
    # the source is user text: Markdown signs escaped
    assert roi.goal_line(cpl, "ILS") == (
        "On track: cost per lead from fb\\_\\[x\\] ₪41\\.20, target at most ₪50\\.00.",
        True,
    )
