"""lib.analytics on small frames; every expected value below is worked out by hand in the comments."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from lib import analytics as A
from lib.schema import empty_leads, to_canonical_leads, to_canonical_statuses

TZ = "Asia/Jerusalem"  # UTC+2 until 2026-03-27 02:00 local, UTC+3 after


def make_statuses() -> pd.DataFrame:
    """A catalogue with explicit roles/stages (not derived from names, so the tests pin analytics only)."""
    rows = [
        # status_id, status, is_active, position, role, stage
        ("s_new", "💫 חדש", True, 0, "open", 0),
        ("s_work", "🌟 בטיפול", True, 1, "open", 1),
        ("s_int", "⚡️ מעוניין", True, 2, "open", 2),
        ("s_no", "😐 לא מעוניין", True, 3, "lost", 1),
        ("s_dup", "❗️ כפול", True, 4, "junk", None),
        ("s_won", "🎉 הומר ללקוח", True, 5, "won", 3),
        ("s_old", "Old status", False, 6, "open", 0),
        ("s_gone", "Retired", False, 7, "lost", 0),
    ]
    cols = ["status_id", "status", "is_active", "position", "role", "stage"]
    return to_canonical_statuses(pd.DataFrame(rows, columns=cols))


def make_leads(rows: list[dict]) -> pd.DataFrame:
    ids = [str(i + 1) for i in range(len(rows))]
    return to_canonical_leads(pd.DataFrame([{"lead_id": i, **r} for i, r in zip(ids, rows, strict=True)]))


STATUSES = make_statuses()


# ---------------------------------------------------------------- in_period


BOUNDARY = make_leads(
    [
        {"status_id": "s_new", "created_at": "2026-03-10T21:59:59Z"},  # 23:59:59 on 10 Mar in Jerusalem
        {"status_id": "s_new", "created_at": "2026-03-10T22:00:00Z"},  # 00:00 on 11 Mar in Jerusalem
        {"status_id": "s_new", "created_at": "2026-03-10T22:30:00Z"},  # 00:30 on 11 Mar in Jerusalem
        {"status_id": "s_new", "created_at": None},  # no date
    ]
)


def test_in_period_uses_local_whole_days():
    got = A.in_period(BOUNDARY, date(2026, 3, 11), date(2026, 3, 11), TZ)
    assert got["lead_id"].tolist() == ["2", "3"]
    got_utc = A.in_period(BOUNDARY, date(2026, 3, 11), date(2026, 3, 11), "UTC")
    assert got_utc["lead_id"].tolist() == []
    got_utc10 = A.in_period(BOUNDARY, date(2026, 3, 10), date(2026, 3, 10), "UTC")
    assert got_utc10["lead_id"].tolist() == ["1", "2", "3"]


def test_in_period_open_bounds_and_na_dates():
    assert A.in_period(BOUNDARY, None, None, TZ)["lead_id"].tolist() == ["1", "2", "3", "4"]
    assert A.in_period(BOUNDARY, None, date(2026, 3, 10), TZ)["lead_id"].tolist() == ["1"]
    assert A.in_period(BOUNDARY, date(2026, 3, 11), None, TZ)["lead_id"].tolist() == ["2", "3"]


def test_in_period_empty_frame():
    got = A.in_period(empty_leads(), date(2026, 1, 1), date(2026, 1, 31), TZ)
    assert len(got) == 0
    assert list(got.columns) == list(empty_leads().columns)


# ---------------------------------------------------------------- period_kpis


def test_period_kpis_hand_counted():
    # Period 8..14 Mar (7 days), previous 1..7 Mar.
    leads = make_leads(
        [
            {"status_id": "s_won", "created_at": "2026-03-08T10:00Z"},  # period, won
            {"status_id": "s_dup", "created_at": "2026-03-09T10:00Z"},  # period, junk
            {"status_id": "s_new", "created_at": "2026-03-14T21:30Z"},  # 23:30 on 14 Mar: period, open
            {"status_id": "s_no", "created_at": "2026-03-14T22:30Z"},  # 00:30 on 15 Mar: after period
            {"status_id": "s_won", "created_at": "2026-03-07T21:59Z"},  # 23:59 on 7 Mar: previous, won
            {"status_id": "zzz", "created_at": "2026-03-02T10:00Z"},  # previous, unknown status → open
            {"status_id": "s_won", "created_at": "2026-02-28T10:00Z"},  # before both
        ]
    )
    k = A.period_kpis(leads, STATUSES, date(2026, 3, 8), date(2026, 3, 14), TZ)
    assert k["prev_start"] == date(2026, 3, 1)
    assert k["prev_end"] == date(2026, 3, 7)
    assert (k["leads"], k["won"], k["junk"]) == (3, 1, 1)
    assert k["conversion_rate"] == pytest.approx(1 / 2)  # 1 won / (3 - 1 junk)
    assert k["junk_rate"] == pytest.approx(1 / 3)
    assert (k["leads_prev"], k["won_prev"], k["junk_prev"]) == (2, 1, 0)
    assert k["conversion_rate_prev"] == pytest.approx(1 / 2)
    assert k["junk_rate_prev"] == 0.0


def test_period_kpis_no_leads_and_all_junk():
    k = A.period_kpis(empty_leads(), STATUSES, date(2026, 3, 1), date(2026, 3, 1), TZ)
    assert (k["leads"], k["won"], k["junk"], k["conversion_rate"], k["junk_rate"]) == (0, 0, 0, None, None)
    assert k["prev_start"] == k["prev_end"] == date(2026, 2, 28)
    junk = make_leads([{"status_id": "s_dup", "created_at": "2026-03-01T10:00Z"}] * 2)
    k = A.period_kpis(junk, STATUSES, date(2026, 3, 1), date(2026, 3, 1), TZ)
    assert (k["leads"], k["junk"], k["conversion_rate"], k["junk_rate"]) == (2, 2, None, 1.0)


# ---------------------------------------------------------------- leads_over_time


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def test_leads_over_time_days_in_display_tz():
    got = A.leads_over_time(BOUNDARY, "D", TZ)
    # Jerusalem: lead 1 on 10 Mar, leads 2 and 3 on 11 Mar, lead 4 undated (not counted).
    assert got["period"].tolist() == [ts("2026-03-10"), ts("2026-03-11")]
    assert got["leads"].tolist() == [1, 2]
    got_utc = A.leads_over_time(BOUNDARY, "D", "UTC")
    assert got_utc["period"].tolist() == [ts("2026-03-10")]
    assert got_utc["leads"].tolist() == [3]
    assert got["period"].dt.tz is None


def test_leads_over_time_fills_empty_buckets_within_bounds():
    got = A.leads_over_time(BOUNDARY, "D", TZ, start=date(2026, 3, 9), end=date(2026, 3, 12))
    assert got["leads"].tolist() == [0, 1, 2, 0]
    assert got["period"].tolist() == [ts(f"2026-03-{d:02d}") for d in (9, 10, 11, 12)]
    # A start bound cuts leads before it: 11..11 keeps leads 2 and 3 only.
    got = A.leads_over_time(BOUNDARY, "D", TZ, start=date(2026, 3, 11), end=date(2026, 3, 11))
    assert got["leads"].tolist() == [2]


def test_leads_over_time_weeks_start_sunday_and_months():
    leads = make_leads(
        [
            {"status_id": "s_new", "created_at": "2026-03-07T10:00Z"},  # Sat 7 Mar → week of Sun 1 Mar
            {
                "status_id": "s_new",
                "created_at": "2026-03-07T22:30Z",
            },  # 00:30 Sun 8 Mar local → week of 8 Mar
            {"status_id": "s_won", "created_at": "2026-03-22T10:00Z"},  # Sun 22 Mar → week of 22 Mar
            {"status_id": "s_won", "created_at": "2026-03-31T21:30Z"},  # 00:30 on 1 Apr local (UTC+3)
        ]
    )
    weeks = A.leads_over_time(leads, "W", TZ)
    assert weeks["period"].tolist() == [ts(f"2026-03-{d:02d}") for d in (1, 8, 15, 22, 29)]
    assert weeks["leads"].tolist() == [1, 1, 0, 1, 1]
    months = A.leads_over_time(leads, "M", TZ)
    assert months["period"].tolist() == [ts("2026-03-01"), ts("2026-04-01")]
    assert months["leads"].tolist() == [3, 1]
    # start mid-week: the first bucket is labelled by its Sunday but counts from start only.
    weeks = A.leads_over_time(leads, "W", TZ, start=date(2026, 3, 8), end=date(2026, 3, 10))
    assert weeks["period"].tolist() == [ts("2026-03-08")]
    assert weeks["leads"].tolist() == [1]


def test_leads_over_time_by_role_fills_grid():
    leads = make_leads(
        [
            {"status_id": "s_new", "created_at": "2026-03-01T10:00Z"},
            {"status_id": "s_won", "created_at": "2026-03-03T10:00Z"},
            {"status_id": "nope", "created_at": "2026-03-03T11:00Z"},  # unknown status → open
        ]
    )
    got = A.leads_over_time(leads, "D", TZ, by="role", statuses=STATUSES)
    assert got["role"].tolist() == ["open", "won"] * 3
    assert got["leads"].tolist() == [1, 0, 0, 0, 1, 1]
    assert got["period"].tolist() == [ts(f"2026-03-0{d}") for d in (1, 1, 2, 2, 3, 3)]


def test_leads_over_time_empty_and_bad_freq():
    got = A.leads_over_time(empty_leads(), "W", TZ)
    assert list(got.columns) == ["period", "leads"] and len(got) == 0
    got = A.leads_over_time(empty_leads(), "D", TZ, start=date(2026, 3, 1), end=date(2026, 3, 2))
    assert got["leads"].tolist() == [0, 0]
    with pytest.raises(ValueError):
        A.leads_over_time(BOUNDARY, "Q", TZ)


def test_leads_over_time_dst_day_boundaries():
    # Israel moves to UTC+3 on Fri 27 Mar 2026 at 02:00: 27 Mar starts 22:00Z on the 26th,
    # 28 Mar starts 21:00Z on the 27th.
    leads = make_leads(
        [
            {"status_id": "s_new", "created_at": "2026-03-26T21:59Z"},  # 26 Mar
            {"status_id": "s_new", "created_at": "2026-03-26T22:00Z"},  # 27 Mar
            {"status_id": "s_new", "created_at": "2026-03-27T20:59Z"},  # 27 Mar 23:59 (UTC+3)
            {"status_id": "s_new", "created_at": "2026-03-27T21:00Z"},  # 28 Mar
        ]
    )
    got = A.leads_over_time(leads, "D", TZ)
    assert got["leads"].tolist() == [1, 2, 1]
    assert got["period"].tolist() == [ts("2026-03-26"), ts("2026-03-27"), ts("2026-03-28")]
    assert np.issubdtype(got["leads"].dtype, np.integer)
