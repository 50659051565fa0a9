"""Status history analytics on small hand-made histories: every expected value is worked out by hand in the
comments (times are Jerusalem local, UTC+2 in November 2026; 2026-11-23 is a Monday)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lib import analytics

TZ = "Asia/Jerusalem"
NOW = pd.Timestamp("2026-11-23T14:00:00+02:00")  # Monday 14:00 in Jerusalem (tests/conftest.py's NOW)
SINCE = pd.Timestamp("2026-11-23T08:00:00+02:00")  # the first sync: Monday 08:00

# A small catalogue: Hebrew names, role and stage as the connectors fill them; in the CRM's order.
STATUSES = pd.DataFrame(
    {
        "status_id": ["n", "c", "i", "w", "l", "j"],
        "status": ["💫 חדש", "🌟 בטיפול", "⚡️ מעוניין", "🎉 הומר ללקוח", "😐 לא מעוניין", "❗️ כפול"],
        "is_active": [True] * 6,
        "position": [0, 1, 2, 3, 4, 5],
        "role": ["open", "open", "open", "won", "lost", "junk"],
        "stage": pd.array([0, 1, 2, 3, 1, None], dtype="Int64"),
    }
)


def at(text: str | None) -> pd.Timestamp | None:
    """A Jerusalem wall time "2026-11-23 09:30" (November: UTC+2) as a UTC instant."""
    return None if text is None else pd.Timestamp(text).tz_localize(TZ).tz_convert("UTC")


def leads(*rows) -> pd.DataFrame:
    """rows: (lead_id, status_id, created local time or None, owner, utm_source)."""
    ids, status, created, owner, source = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "lead_id": pd.array(ids, dtype="string"),
            "status_id": pd.array(status, dtype="string"),
            "created_at": pd.to_datetime([at(c) for c in created], utc=True),
            "owner": pd.array(owner, dtype="string"),
            "utm_source": pd.array(source, dtype="string"),
        }
    )


def history(*rows) -> pd.DataFrame:
    """rows: (lead_id, from, to, observed local time, crm_updated_at local time or None)."""
    if not rows:
        return pd.DataFrame({c: [] for c in analytics.HISTORY_COLUMNS}).astype(
            {"observed_at": "datetime64[ns, UTC]", "crm_updated_at": "datetime64[ns, UTC]"}
        )
    lead, frm, to, seen, crm = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "lead_id": pd.array(lead, dtype="string"),
            "from_status_id": pd.array(frm, dtype="string"),
            "to_status_id": pd.array(to, dtype="string"),
            "observed_at": pd.to_datetime([at(s) for s in seen], utc=True).as_unit("ns"),
            "crm_updated_at": pd.to_datetime([at(c) for c in crm], utc=True).as_unit("ns"),
        }
    )


def test_change_time_is_the_crm_stamp_where_known_else_when_the_sync_saw_it():
    h = history(
        ("a", "n", "c", "2026-11-23 09:35", "2026-11-23 09:30"),
        ("b", "n", "c", "2026-11-23 11:00", None),
    )
    assert analytics.change_time(h).tolist() == [at("2026-11-23 09:30"), at("2026-11-23 11:00")]


# -- speed to lead ------------------------------------------------------------------------------------


def test_speed_to_lead_counts_new_leads_only_and_censors_young_unhandled_ones():
    lf = leads(
        ("L0", "c", "2026-11-23 07:00", "Dana", "fb"),  # created before the first sync (08:00): not counted
        ("L1", "i", "2026-11-23 09:00", "Dana", "fb"),
        ("L2", "c", "2026-11-23 09:00", "Dana", "fb"),
        ("L3", "n", "2026-11-23 10:00", "Dana", "fb"),
        ("L4", "n", "2026-11-23 13:40", "Dana", "fb"),
        ("L5", "c", "2026-11-23 13:50", "Dana", "fb"),
        ("L6", "n", None, "Dana", "fb"),  # no creation time: cannot be timed
    )
    h = history(
        ("L0", "n", "c", "2026-11-23 08:30", "2026-11-23 08:20"),
        ("L1", "n", "c", "2026-11-23 09:35", "2026-11-23 09:30"),  # 30 min after creation
        ("L1", "c", "i", "2026-11-23 10:05", "2026-11-23 10:00"),  # a second change: not the first
        ("L2", "n", "c", "2026-11-23 11:00", None),  # no CRM stamp: seen at 11:00, 120 min
        ("L5", "n", "c", "2026-11-23 13:56", "2026-11-23 13:55"),  # 5 min
    )
    row = analytics.speed_to_lead(lf, h, STATUSES, since=SINCE, now=NOW, tz=TZ).iloc[0]
    # eligible: L1..L5 = 5; handled L1 (30), L2 (120), L5 (5)
    assert (row["leads"], row["handled"], row["changed_unseen"]) == (5, 3, 0)
    # sorted 5, 30, 120: median 30; p90 at rank 0.9 * 2 = 1.8: 30 + 0.8 * (120 - 30) = 102
    assert row["median_minutes"] == pytest.approx(30.0)
    assert row["p90_minutes"] == pytest.approx(102.0)
    # 1 h: L1 in time, L2 late, L3 (4 h old, untouched) failed, L5 in time although only 10 min old;
    # L4 (20 min old, untouched) cannot be judged yet -> 2 of 4
    assert row["judged_1h"] == 4
    assert row["within_1h"] == pytest.approx(0.5)
    # working day (due Tuesday at the same time): L1, L2, L5 handled in time; L3 and L4 not due yet -> 3 of 3
    assert row["judged_1_working_day"] == 3
    assert row["within_1_working_day"] == pytest.approx(1.0)


def test_the_working_day_deadline_skips_friday_and_saturday():
    created = pd.Series(
        [
            at("2026-11-22 10:00"),  # Sunday -> Monday 10:00
            at("2026-11-18 23:30"),  # Wednesday -> Thursday 23:30
            at("2026-11-19 15:00"),  # Thursday -> Sunday 15:00
            at("2026-11-20 11:00"),  # Friday: counts from Sunday 00:00 -> Monday 00:00
            at("2026-11-21 21:00"),  # Saturday: the same -> Monday 00:00
        ]
    )
    assert analytics.working_day_deadline(created, TZ).tolist() == [
        at("2026-11-23 10:00"),
        at("2026-11-19 23:30"),
        at("2026-11-22 15:00"),
        at("2026-11-23 00:00"),
        at("2026-11-23 00:00"),
    ]


def test_the_working_day_deadline_on_the_night_clocks_go_back():
    # Israel leaves summer time on Sunday 25 Oct 2026 at 02:00 (back to 01:00): 01:30 happens twice. A lead
    # of Thursday 22 Oct 01:30 (UTC+3, 22:30 UTC on the 21st) is due on Sunday 01:30, the later one: UTC+2,
    # 23:30 UTC on Saturday the 24th.
    created = pd.Series([pd.Timestamp("2026-10-21T22:30:00Z")])
    assert analytics.working_day_deadline(created, TZ).tolist() == [pd.Timestamp("2026-10-24T23:30:00Z")]


def test_speed_to_lead_thursday_leads_are_due_sunday_and_friday_leads_by_the_end_of_sunday():
    lf = leads(
        ("T1", "c", "2026-11-19 15:00", "Dana", "fb"),  # Thursday 15:00, due Sunday 15:00
        ("T2", "c", "2026-11-19 15:00", "Dana", "fb"),
        ("F1", "c", "2026-11-20 11:00", "Dana", "fb"),  # Friday, due Monday 00:00
        ("F2", "n", "2026-11-20 11:00", "Dana", "fb"),
        ("S1", "n", "2026-11-22 16:00", "Dana", "fb"),  # Sunday 16:00, due Monday 16:00 (after now)
    )
    h = history(
        ("T1", "n", "c", "2026-11-22 15:00", "2026-11-22 14:59"),  # a minute early
        ("T2", "n", "c", "2026-11-22 15:05", "2026-11-22 15:01"),  # a minute late
        ("F1", "n", "c", "2026-11-22 23:05", "2026-11-22 23:00"),  # Sunday evening: in time
    )
    since = at("2026-11-01 00:00")
    row = analytics.speed_to_lead(lf, h, STATUSES, since=since, now=NOW, tz=TZ).iloc[0]
    # judged: T1 (in time), T2 (late), F1 (in time), F2 (due Monday 00:00, passed, untouched); S1 not yet
    assert row["judged_1_working_day"] == 4
    assert row["within_1_working_day"] == pytest.approx(0.5)
    # every lead is over an hour old and none was handled within the hour: 0 of 5
    assert (row["judged_1h"], row["within_1h"]) == (5, 0.0)
    # T1: 3 days less 1 minute = 4319 min; F1: Fri 11:00 -> Sun 23:00 = 60 h = 3600 min;
    # T2: 3 days + 1 minute = 4321 min.
    # sorted 3600, 4319, 4321: median 4319; p90 at rank 1.8: 4319 + 0.8 * 2 = 4320.6
    assert (row["median_minutes"], row["p90_minutes"]) == (4319.0, pytest.approx(4320.6))


def test_a_lead_that_changed_before_any_sync_saw_it_gets_no_invented_time():
    lf = leads(
        ("A", "c", "2026-11-23 09:00", "Dana", "fb"),  # handled, with history
        ("B", "i", "2026-11-23 09:10", "Dana", "fb"),  # already "interested" when first synced, no row
        ("C", "n", "2026-11-23 09:20", "Dana", "fb"),  # still new: not handled
    )
    h = history(("A", "n", "c", "2026-11-23 09:45", "2026-11-23 09:40"))  # 40 min
    row = analytics.speed_to_lead(lf, h, STATUSES, since=SINCE, now=NOW, tz=TZ).iloc[0]
    assert (row["leads"], row["handled"], row["changed_unseen"]) == (3, 1, 1)
    # 1 h: A in time, C (4 h 40 min old) failed; B left out -> 1 of 2
    assert (row["judged_1h"], row["within_1h"]) == (2, 0.5)
    assert row["median_minutes"] == 40.0


def test_speed_to_lead_before_the_first_sync_has_no_figures():
    lf = leads(("A", "n", "2026-11-23 09:00", "Dana", "fb"))
    out = analytics.speed_to_lead(lf, history(), STATUSES, since=None, now=NOW, tz=TZ)
    assert len(out) == 1
    assert (out.iloc[0]["leads"], out.iloc[0]["handled"], out.iloc[0]["judged_1h"]) == (0, 0, 0)
    assert math.isnan(out.iloc[0]["median_minutes"]) and math.isnan(out.iloc[0]["within_1h"])


def test_speed_to_lead_by_owner_and_by_normalised_source():
    lf = leads(
        ("A", "c", "2026-11-23 09:00", "דנה", "fb"),
        ("B", "n", "2026-11-23 09:00", "דנה", "Facebook"),
        ("C", "c", "2026-11-23 10:00", None, "גוגל"),
        ("D", "c", "2026-11-23 07:00", "Avi", "fb"),  # before the first sync: Avi has no eligible lead
    )
    h = history(
        ("A", "n", "c", "2026-11-23 09:20", "2026-11-23 09:20"),  # 20 min
        ("C", "n", "c", "2026-11-23 12:00", "2026-11-23 12:00"),  # 120 min
        ("D", "n", "c", "2026-11-23 08:30", "2026-11-23 08:30"),
    )
    by_owner = analytics.speed_to_lead(lf, h, STATUSES, since=SINCE, now=NOW, tz=TZ, by="owner", min_leads=2)
    # דנה: A (20 min, in time) and B (5 h old, untouched): 1 of 2; (unassigned): C late, 0 of 1, last
    assert by_owner["owner"].tolist() == ["דנה", "(unassigned)"]
    assert by_owner["leads"].tolist() == [2, 1]
    assert by_owner["within_1h"].tolist() == [0.5, 0.0]
    assert by_owner["median_minutes"].tolist() == [20.0, 120.0]
    assert by_owner["small"].tolist() == [False, True]

    by_source = analytics.speed_to_lead(lf, h, STATUSES, since=SINCE, now=NOW, tz=TZ, by="utm_source")
    # "fb" and "Facebook" are one source (A, B); "גוגל" is google (C); more leads first
    assert by_source["utm_source"].tolist() == ["facebook", "google"]
    assert by_source["leads"].tolist() == [2, 1]
    assert by_source["handled"].tolist() == [1, 1]


def test_two_changes_between_two_syncs():
    # The sync at 10:00 saw A new; A went new -> contacted at 10:02 and contacted -> interested at 10:04; the
    # sync at 10:05 sees "interested": one row new -> interested, stamped by the CRM at 10:04.
    lf = leads(("A", "i", "2026-11-23 09:58", "Dana", "fb"), ("B", "i", "2026-11-23 09:58", "Dana", "fb"))
    h = history(
        ("A", "n", "i", "2026-11-23 10:05", "2026-11-23 10:04"),
        # B: a store that wrote both changes at one sync, without CRM stamps: kept in the store's order
        ("B", "n", "c", "2026-11-23 10:05", None),
        ("B", "c", "i", "2026-11-23 10:05", None),
    )
    speed = analytics.speed_to_lead(lf, h, STATUSES, since=SINCE, now=NOW, tz=TZ).iloc[0]
    # A: 09:58 -> 10:04 = 6 min (the true 4 min is not known); B: 09:58 -> 10:05 = 7 min
    assert speed["median_minutes"] == pytest.approx(6.5)
    stages = analytics.time_in_stage(h, STATUSES, now=NOW)
    # "contacted": B's stay started and ended at 10:05 (0 h); A's never shows; "interested": both still there
    assert stages[["status_id", "stays", "median_hours", "still_in"]].values.tolist() == [
        ["c", 1, 0.0, 0],
        ["i", 0, pytest.approx(float("nan"), nan_ok=True), 2],
    ]
    flow = analytics.status_flow(h, STATUSES, start=at("2026-11-23 00:00"), end=at("2026-11-24 00:00"))
    assert flow[["from_status_id", "to_status_id", "changes"]].values.tolist() == [
        ["n", "c", 1],
        ["n", "i", 1],
        ["c", "i", 1],
    ]


# -- time in stage --------------------------------------------------------------------------------------


def test_time_in_stage_counts_observed_stays_and_keeps_unfinished_ones_apart():
    h = history(
        ("A", "n", "c", "2026-11-23 09:05", "2026-11-23 09:00"),
        ("A", "c", "i", "2026-11-23 11:35", "2026-11-23 11:30"),  # 2.5 h in contacted
        ("A", "i", "w", "2026-11-23 12:00", None),  # 0.5 h in interested
        ("B", "n", "c", "2026-11-23 10:00", "2026-11-23 10:00"),
        ("B", "c", "l", "2026-11-23 13:05", "2026-11-23 13:00"),  # 3 h in contacted
        ("C", "n", "c", "2026-11-23 12:00", "2026-11-23 12:00"),  # still contacted
        ("D", "n", "i", "2026-11-23 09:00", None),
        ("D", "c", "w", "2026-11-23 12:00", None),  # D left "interested" unseen: that stay has no end
        ("E", "n", "c", "2026-11-23 14:30", None),  # seen after now: ignored
        ("B", "l", "l", "2026-11-23 13:30", None),  # from = to: no change, B's stay in "lost" goes on
    )
    out = analytics.time_in_stage(h, STATUSES, now=NOW)
    assert out["status_id"].tolist() == ["c", "i", "w", "l"]  # catalogue order
    assert out["status"].tolist() == ["🌟 בטיפול", "⚡️ מעוניין", "🎉 הומר ללקוח", "😐 לא מעוניין"]
    # contacted: 2.5 h and 3 h -> median 2.75, p90 2.5 + 0.9 * 0.5 = 2.95; C still there
    assert out["stays"].tolist() == [2, 1, 0, 0]
    assert out["median_hours"].tolist()[:2] == [pytest.approx(2.75), pytest.approx(0.5)]
    assert out["p90_hours"].tolist()[:2] == [pytest.approx(2.95), pytest.approx(0.5)]
    assert out["median_hours"].isna().tolist() == [False, False, True, True]
    # still in: contacted C; won A and D; lost B (E is after now)
    assert out["still_in"].tolist() == [1, 0, 2, 1]


# -- status flow -----------------------------------------------------------------------------------------


def test_status_flow_counts_changes_in_the_period_by_when_they_happened():
    h = history(
        ("A", "n", "c", "2026-11-23 00:05", "2026-11-22 23:59"),  # happened Sunday: out, though seen Monday
        ("B", "n", "c", "2026-11-23 00:00", None),  # the period's first instant: in
        ("C", "n", "c", "2026-11-23 09:05", "2026-11-23 09:00"),
        ("D", "n", "c", "2026-11-23 10:05", "2026-11-23 10:00"),
        ("E", "n", "i", "2026-11-23 11:05", "2026-11-23 11:00"),
        ("F", "zz", "c", "2026-11-23 12:05", "2026-11-23 12:00"),  # a status no longer in the catalogue
        ("G", "n", "n", "2026-11-23 12:05", "2026-11-23 12:00"),  # from = to: no change, not counted
        ("C", "c", "w", "2026-11-24 00:00", None),  # the end is not in the period
    )
    out = analytics.status_flow(h, STATUSES, start=at("2026-11-23 00:00"), end=at("2026-11-24 00:00"))
    # new -> contacted: B, C, D = 3; new -> interested 1; zz -> contacted 1
    # (ties in catalogue order, an unknown status last)
    assert out.to_dict("list") == {
        "from_status_id": ["n", "n", "zz"],
        "from_status": ["💫 חדש", "💫 חדש", "(unknown status)"],
        "to_status_id": ["c", "i", "c"],
        "to_status": ["🌟 בטיפול", "⚡️ מעוניין", "🌟 בטיפול"],
        "changes": [3, 1, 1],
    }


def test_status_flow_of_an_empty_history_is_an_empty_table():
    out = analytics.status_flow(history(), STATUSES, start=None, end=None)
    assert list(out.columns) == ["from_status_id", "from_status", "to_status_id", "to_status", "changes"]
    assert out.empty


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0 min"), (45.4, "45 min"), (59.6, "1 h"), (80, "1 h 20 min"), (2879, "47 h 59 min"),
     (2880, "2 d"), (3000, "2 d 2 h"), (float("nan"), "—"), (None, "—")],
)  # fmt: skip
def test_readable_minutes(minutes, text):
    assert analytics.readable_minutes(minutes) == text


def test_the_one_hour_rule_at_its_edges():
    lf = leads(
        ("A", "c", "2026-11-23 12:00", "Dana", "fb"),  # handled exactly 60 min later: in time
        ("B", "c", "2026-11-23 12:00", "Dana", "fb"),  # 61 min: late
        ("C", "n", "2026-11-23 13:00", "Dana", "fb"),  # exactly 1 h old at 14:00, untouched: judged, failed
        ("D", "n", "2026-11-23 13:01", "Dana", "fb"),  # 59 min old: not judged yet
    )
    h = history(
        ("A", "n", "c", "2026-11-23 13:05", "2026-11-23 13:00"),
        ("B", "n", "c", "2026-11-23 13:05", "2026-11-23 13:01"),
    )
    row = analytics.speed_to_lead(lf, h, STATUSES, since=SINCE, now=NOW, tz=TZ).iloc[0]
    # judged A (in time), B (late), C (failed) -> 1 of 3
    assert (row["judged_1h"], row["within_1h"]) == (3, pytest.approx(1 / 3))
