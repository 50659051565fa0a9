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
