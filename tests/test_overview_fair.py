"""Fair period comparisons on the Overview: cohorts measured at the same age, partial periods against the
same part of the previous one, All time without a comparison, zero change neutral, and the page run at
fixed instants (after midnight, morning, last minute, both Israeli DST changes of 2026).

Every expected value is worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib import analytics as A
from lib import charts, ui
from tests.conftest import lead_item, run_app
from tests.test_analytics import STATUSES, make_leads

TZ = "Asia/Jerusalem"  # UTC+2 in winter; UTC+3 from Fri 27 Mar 2026 02:00 to Sun 25 Oct 2026 02:00


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# ---------------------------------------------------------------- the cohort case


def cohort_leads():
    """Period 8..14 Nov 2026, previous 1..7 Nov (Jerusalem, UTC+2; 08:00Z is 10:00 local).

    This week: 10 leads (c1 on 8 Nov, c2..c7 on 9..14 Nov, c8..c10 on 14 Nov); only c1 is won so far
    (closed 14 Nov). Last week: 10 leads (p1..p7 on 1..7 Nov, p8..p10 on 7 Nov); p1 was won on 3 Nov, p2..p6
    (created 2..6 Nov) were won a week after coming in, on 9..13 Nov, i.e. during this period."""
    rows = [{"status_id": "s_won", "created_at": "2026-11-08T08:00Z", "closed_at": "2026-11-14T10:00Z"}]
    rows += [{"status_id": "s_new", "created_at": f"2026-11-{d:02d}T08:00Z"} for d in (9, 10, 11, 12, 13, 14)]
    rows += [{"status_id": "s_new", "created_at": "2026-11-14T09:00Z"}] * 3
    rows += [{"status_id": "s_won", "created_at": "2026-11-01T08:00Z", "closed_at": "2026-11-03T10:00Z"}]
    rows += [
        {
            "status_id": "s_won",
            "created_at": f"2026-11-{d:02d}T08:00Z",
            "closed_at": f"2026-11-{d + 7:02d}T10:00Z",
        }
        for d in (2, 3, 4, 5, 6)
    ]
    rows += [{"status_id": "s_new", "created_at": "2026-11-07T08:00Z"}]
    rows += [{"status_id": "s_new", "created_at": "2026-11-07T09:00Z"}] * 3
    return make_leads(rows)


def test_a_young_cohort_is_not_shown_as_a_fall():
    # The naive comparison (cohorts' status now): this week 1 customer of 10 against last week's 6 of 10,
    # "Became customers 1, -5 (-83.3%)", conversion 10.0% against 60.0%: a fall that did not happen.
    now = utc("2026-11-15T00:00:00+02:00")  # the period has just ended: 14 Nov 22:00Z
    k = A.period_kpis(cohort_leads(), STATUSES, date(2026, 11, 8), date(2026, 11, 14), TZ, now=now)
    assert (k["leads"], k["leads_prev"]) == (10, 10)
    # Last week's leads judged as they stood 7 days ago (8 Nov 00:00 local = 7 Nov 22:00Z): only p1 was a
    # customer then: 1 / 10 = 10.0 %, the same as this week's 1 / 10 at the same age.
    assert (k["converted"], k["converted_prev"]) == (1, 1)
    assert k["conversion_rate"] == pytest.approx(0.1)
    assert k["conversion_rate_prev"] == pytest.approx(0.1)
    assert k["same_age"] and k["unsure_prev"] == 0
    # Customers won in the period, by close date: c1 (14 Nov) + p2..p6 (9..13 Nov) = 6; last week: p1 = 1.
    assert (k["won"], k["won_prev"]) == (6, 1)
    assert ui.change(k["won"], k["won_prev"]) == "+5 (+500.0%)"
    assert ui.points_change(k["conversion_rate"], k["conversion_rate_prev"]) == "0.0 pp"
    assert ui.change(k["leads"], k["leads_prev"]) == "0"
    # Half of the 7 customers were won within 8 days: times to win 2d2h (p1), 6d2h (c1), 7d2h (p2..p6);
    # the median is 7d2h, rounded up to 8 days; every lead of this week is younger than that.
    assert (k["days_to_win"], k["maturing"]) == (8, 10)
    assert "10 of the period's 10 leads are under 8 days old" in ui.maturing_note(k)


def test_without_close_dates_the_same_age_cannot_be_measured_and_is_not_coloured():
    # The same leads, but the CRM gives no closed_at: the last update stands in. p2..p6 were updated when
    # they were won (9..13 Nov), after the cut (7 Nov 22:00Z): maybe they were customers by then, maybe not.
    leads = cohort_leads()
    leads["updated_at"] = leads["closed_at"]
    leads["closed_at"] = leads["closed_at"].iloc[:0].reindex(leads.index)  # all NaT
    # and this week c2 (created 9 Nov) became a customer too, updated on 14 Nov
    leads.loc[1, "status_id"] = "s_won"
    leads.loc[1, "updated_at"] = utc("2026-11-14T12:00:00Z")
    now = utc("2026-11-15T00:00:00+02:00")
    k = A.period_kpis(leads, STATUSES, date(2026, 11, 8), date(2026, 11, 14), TZ, now=now)
    assert (k["won"], k["won_by_update"], k["won_prev"]) == (7, 7, 1)  # every one dated by its update
    assert (k["converted_prev"], k["unsure_prev"], k["same_age"]) == (1, 5, False)
    # 2 / 10 = 20.0 % against at least 1 / 10 = 10.0 %: shown, but not coloured
    delta = ui.points_change(k["conversion_rate"], k["conversion_rate_prev"])
    assert delta == "+10.0 pp"
    assert ui.delta_look(delta, "normal" if k["same_age"] else "off") == {"delta_color": "off"}
    assert "For 5 of the previous period's customers the CRM gives no close date" in ui.maturing_note(k)


# ---------------------------------------------------------------- partial periods


def test_today_until_0850_is_compared_with_yesterday_until_0850():
    leads = make_leads(
        [
            {"status_id": "s_new", "created_at": "2026-11-23T07:00:00+02:00"},  # today, before now
            {"status_id": "s_new", "created_at": "2026-11-22T08:00:00+02:00"},  # yesterday, before 08:50
            {"status_id": "s_new", "created_at": "2026-11-22T08:49:00+02:00"},  # yesterday, before 08:50
            {"status_id": "s_new", "created_at": "2026-11-22T08:51:00+02:00"},  # yesterday after 08:50
            {"status_id": "s_new", "created_at": "2026-11-22T15:00:00+02:00"},  # yesterday after 08:50
        ]
    )
    now = utc("2026-11-23T08:50:00+02:00")
    k = A.period_kpis(leads, STATUSES, date(2026, 11, 23), date(2026, 11, 23), TZ, now=now)
    assert k["partial"]
    assert (k["leads"], k["leads_prev"]) == (1, 2)  # not 1 against yesterday's whole 4
    assert k["period_from"] == utc("2026-11-22T22:00:00Z") and k["period_to"] == now
    assert k["prev_from"] == utc("2026-11-21T22:00:00Z")
    assert k["prev_to"] == utc("2026-11-22T08:50:00+02:00")
    assert (k["prev_start"], k["prev_end"]) == (date(2026, 11, 22), date(2026, 11, 22))
    note = ui.comparison_note(k, date(2026, 11, 23), date(2026, 11, 23), TZ, now)
    assert (
        note
        == "Today until 08:50 (Asia/Jerusalem), compared with yesterday (22 Nov 2026) until the same time."
    )


@pytest.mark.parametrize(
    ("now", "prev_from", "prev_to", "period_from"),
    [
        # spring forward, Fri 27 Mar 2026 at 09:59 (+03:00): today began at 00:00 +02:00; yesterday at
        # 09:59 was still +02:00
        ("2026-03-27T09:59:00+03:00", "2026-03-25T22:00:00Z", "2026-03-26T07:59:00Z", "2026-03-26T22:00:00Z"),
        # fall back, Sun 25 Oct 2026 at 00:30 (+03:00, before the change)
        ("2026-10-25T00:30:00+03:00", "2026-10-23T21:00:00Z", "2026-10-23T21:30:00Z", "2026-10-24T21:00:00Z"),
        # fall back day at 23:59 (+02:00, after the change; the day had 25 hours); yesterday 23:59 was +03:00
        ("2026-10-25T23:59:00+02:00", "2026-10-23T21:00:00Z", "2026-10-24T20:59:00Z", "2026-10-24T21:00:00Z"),
    ],
)
def test_today_against_yesterday_at_the_same_wall_clock_time_across_dst(now, prev_from, prev_to, period_from):
    day = datetime.fromisoformat(now).date()
    k = A.period_kpis(make_leads([]), STATUSES, day, day, TZ, now=utc(now))
    assert k["period_from"] == utc(period_from) and k["period_to"] == utc(now)
    assert (k["prev_from"], k["prev_to"]) == (utc(prev_from), utc(prev_to))


def test_all_time_has_no_comparison():
    leads = make_leads([{"status_id": "s_won", "created_at": "2026-11-01T08:00Z"}])
    now = utc("2026-11-23T08:50:00+02:00")
    k = A.period_kpis(leads, STATUSES, date(2026, 11, 1), date(2026, 11, 23), TZ, now=now, compare=False)
    assert k["leads"] == 1 and k["leads_prev"] is None and k["conversion_rate_prev"] is None
    assert ui.change(k["leads"], k["leads_prev"]) is None
    assert ui.points_change(k["conversion_rate"], k["conversion_rate_prev"]) is None
    assert ui.comparison_note(k, date(2026, 11, 1), date(2026, 11, 23), TZ, now) == (
        "All leads, 01 Nov – 23 Nov 2026: there is no earlier period to compare with."
    )


@pytest.mark.parametrize(
    ("preset", "start", "end", "expected"),
    [
        ("This week", date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 15)),  # Sun-Mon: last Sunday
        ("Last week", date(2026, 11, 15), date(2026, 11, 21), date(2026, 11, 8)),
        ("This month", date(2026, 11, 1), date(2026, 11, 23), date(2026, 10, 1)),
        ("Last month", date(2026, 10, 1), date(2026, 10, 31), date(2026, 9, 1)),
        ("This quarter", date(2026, 10, 1), date(2026, 11, 23), date(2026, 7, 1)),
        ("Last 7 days", date(2026, 11, 17), date(2026, 11, 23), date(2026, 11, 10)),  # the 7 days before
        ("Today", date(2026, 11, 23), date(2026, 11, 23), date(2026, 11, 22)),
        ("Custom", date(2026, 11, 1), date(2026, 11, 10), date(2026, 10, 22)),  # 10 days: 22..31 Oct
        ("All time", date(2026, 6, 1), date(2026, 11, 23), None),
    ],
)
def test_previous_period_of_each_preset(preset, start, end, expected):
    assert A.previous_start(preset, start, end) == expected


def test_this_week_is_compared_with_the_same_part_of_last_week():
    # Mon 23 Nov 2026 at 08:50: this week is Sun 22 .. Mon 23 until 08:50; last week's same part is
    # Sun 15 .. Mon 16 until 08:50 (not Fri 20 .. Sat 21, the 2 days just before).
    leads = make_leads(
        [
            {"status_id": "s_new", "created_at": "2026-11-22T12:00:00+02:00"},  # this week
            {"status_id": "s_new", "created_at": "2026-11-15T12:00:00+02:00"},  # last week's Sunday
            {"status_id": "s_new", "created_at": "2026-11-16T08:00:00+02:00"},  # last Monday before 08:50
            {"status_id": "s_new", "created_at": "2026-11-16T09:00:00+02:00"},  # last Monday after 08:50
            {"status_id": "s_new", "created_at": "2026-11-20T12:00:00+02:00"},  # Friday: outside both
        ]
    )
    now = utc("2026-11-23T08:50:00+02:00")
    start, end = A.preset_range("This week", date(2026, 11, 23))
    k = A.period_kpis(
        leads, STATUSES, start, end, TZ, now=now, prev_start=A.previous_start("This week", start, end)
    )
    assert (k["leads"], k["leads_prev"]) == (1, 2)
    assert (k["prev_start"], k["prev_end"], k["shift_days"]) == (date(2026, 11, 15), date(2026, 11, 16), 7)
    assert k["prev_partial"]
    assert ui.comparison_note(k, start, end, TZ, now) == (
        "Leads created 22 Nov – 23 Nov 2026 until 08:50 (Asia/Jerusalem), compared with the same part of the "
        "previous period: 15 Nov – 16 Nov 2026 until 08:50."
    )


def test_this_month_on_the_31st_is_compared_with_the_whole_of_february():
    # 31 Mar 2026 10:00 (+03:00): this month is 1..31 Mar until 10:00. The previous month starts 1 Feb,
    # S = 28 days before 1 Mar; now - S is 3 Mar 10:00, after February's end, so the whole of February
    # (28 days) is the comparison.
    leads = make_leads(
        [
            {"status_id": "s_new", "created_at": "2026-03-05T12:00:00+02:00"},  # this month
            {"status_id": "s_new", "created_at": "2026-02-28T23:00:00+02:00"},  # February's last hour
            {"status_id": "s_new", "created_at": "2026-01-31T12:00:00+02:00"},  # January: outside
        ]
    )
    now = utc("2026-03-31T10:00:00+03:00")
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    k = A.period_kpis(leads, STATUSES, start, end, TZ, now=now, prev_start=date(2026, 2, 1))
    assert (k["leads"], k["leads_prev"], k["shift_days"], k["prev_partial"]) == (1, 1, 28, False)
    assert (k["prev_start"], k["prev_end"]) == (date(2026, 2, 1), date(2026, 2, 28))
    assert ui.comparison_note(k, start, end, TZ, now).endswith(
        "compared with the whole of 01 Feb – 28 Feb 2026."
    )


# ---------------------------------------------------------------- formats and presets


@pytest.mark.parametrize(
    ("delta", "color", "look"),
    [
        ("0", "normal", {"delta_color": "off", "delta_arrow": "off"}),
        ("0.0 pp", "inverse", {"delta_color": "off", "delta_arrow": "off"}),
        ("+1 (+5.0%)", "normal", {"delta_color": "normal"}),
        ("-0.1 pp", "inverse", {"delta_color": "inverse"}),
        (None, "normal", {"delta_color": "normal"}),
    ],
)
def test_zero_change_is_neutral(delta, color, look):
    assert ui.delta_look(delta, color) == look


def test_formats():
    assert ui.change(7, 7) == "0"
    assert ui.change(3, 0) == "+3"
    assert ui.change(3, 19) == "-16 (-84.2%)"  # -16 / 19 = -0.8421
    assert ui.points_change(0.25, 0.25) == "0.0 pp"
    assert ui.points_change(0.1, 0.10004) == "0.0 pp"  # -0.004 pp rounds to zero: no minus sign
    assert ui.points_change(0.017, 0.078) == "-6.1 pp"
    assert ui.percent(0.12) == "12.0%"
    assert ui.percent(-0.00001) == "0.0%"
    assert ui.percent(None) == "—"


@pytest.mark.parametrize(
    ("preset", "today", "expected"),
    [
        ("This week", date(2026, 11, 23), (date(2026, 11, 22), date(2026, 11, 23))),  # Monday
        ("This week", date(2026, 11, 22), (date(2026, 11, 22), date(2026, 11, 22))),  # Sunday
        ("This week", date(2026, 11, 28), (date(2026, 11, 22), date(2026, 11, 28))),  # Saturday
        ("Last week", date(2026, 11, 23), (date(2026, 11, 15), date(2026, 11, 21))),
        ("Last week", date(2026, 11, 22), (date(2026, 11, 15), date(2026, 11, 21))),
        ("Last week", date(2026, 1, 3), (date(2025, 12, 21), date(2025, 12, 27))),  # Saturday 3 Jan
        ("This month", date(2026, 11, 23), (date(2026, 11, 1), date(2026, 11, 23))),
        ("Last month", date(2026, 3, 31), (date(2026, 2, 1), date(2026, 2, 28))),
    ],
)
def test_week_and_month_presets(preset, today, expected):
    assert A.preset_range(preset, today) == expected


# ---------------------------------------------------------------- the page at fixed instants


def metrics(at: AppTest) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


# (LEADS_NOW, items as (status, days_ago, local time), expected Leads / Became customers / Conversion rate,
#  the caption's clock). lead_item marks a lead updated when it was created: a won lead is dated by that.
CASES = [
    pytest.param(
        "2026-11-23T00:30:00+02:00",
        [
            ("converted", 0, "00:10:00"),
            ("new", 1, "00:20:00"),
            ("new", 1, "00:40:00"),
            ("new", 1, "12:00:00"),
        ],
        # today 00:00-00:30: 1 lead, won; yesterday 00:00-00:30: 1 lead (00:20), not won
        {"Leads": ("1", "0"), "Became customers": ("1", "+1"), "Conversion rate": ("100.0%", "+100.0 pp")},
        "00:30",
        id="00:30",
    ),
    pytest.param(
        "2026-11-23T09:59:00+02:00",
        [
            ("new", 0, "08:00:00"),
            ("converted", 1, "09:00:00"),
            ("new", 1, "09:58:00"),
            ("new", 1, "10:00:00"),
        ],
        # today: 1 lead, none won; yesterday until 09:59: 2 (09:00 won, 09:58): 1 / 2 = 50 %
        {
            "Leads": ("1", "-1 (-50.0%)"),
            "Became customers": ("0", "-1 (-100.0%)"),
            "Conversion rate": ("0.0%", "-50.0 pp"),
        },
        "09:59",
        id="09:59",
    ),
    pytest.param(
        "2026-11-23T23:59:00+02:00",
        [
            ("new", 0, "08:00:00"),
            ("duplicate", 0, "23:58:00"),
            ("new", 1, "09:00:00"),
            ("new", 1, "23:59:30"),
        ],
        # today: 2 leads (1 junk); yesterday until 23:59: 1 (23:59:30 is after the cut); no customers
        {
            "Leads": ("2", "+1 (+100.0%)"),
            "Became customers": ("0", "0"),
            "Conversion rate": ("0.0%", "0.0 pp"),
        },
        "23:59",
        id="23:59",
    ),
    pytest.param(
        # spring forward: 02:00 -> 03:00 this night; leads at 01:30 (+02:00) and 09:58 the day before
        "2026-03-27T09:59:00+03:00",
        [
            ("converted", 0, "01:30:00"),
            ("new", 1, "01:30:00"),
            ("converted", 1, "09:58:00"),
            ("new", 1, "10:00:00"),
        ],
        # today: 1 lead, won; yesterday until 09:59: 2, one won (09:58): 100 % against 50 %
        {
            "Leads": ("1", "-1 (-50.0%)"),
            "Became customers": ("1", "0"),
            "Conversion rate": ("100.0%", "+50.0 pp"),
        },
        "09:59",
        id="dst-spring-09:59",
    ),
    pytest.param(
        "2026-03-27T00:30:00+02:00",  # before the jump
        [("new", 0, "00:10:00"), ("new", 1, "00:20:00"), ("new", 1, "00:31:00")],
        {"Leads": ("1", "0"), "Became customers": ("0", "0"), "Conversion rate": ("0.0%", "0.0 pp")},
        "00:30",
        id="dst-spring-00:30",
    ),
    pytest.param(
        # fall back: 02:00 -> 01:00 this night; the day has 25 hours
        "2026-10-25T23:59:00+02:00",
        [
            ("new", 0, "00:30:00"),
            ("converted", 0, "12:00:00"),
            ("new", 1, "12:00:00"),
            ("new", 1, "23:58:00"),
        ],
        # today: 2 leads, 1 won; yesterday until 23:59: 2, none won
        {"Leads": ("2", "0"), "Became customers": ("1", "+1"), "Conversion rate": ("50.0%", "+50.0 pp")},
        "23:59",
        id="dst-autumn-23:59",
    ),
    pytest.param(
        "2026-10-25T09:59:00+02:00",
        [("new", 0, "00:30:00"), ("new", 1, "09:00:00"), ("new", 1, "11:00:00"), ("new", 2, "09:00:00")],
        # today: 1; yesterday until 09:59: 1 (09:00; 11:00 is after the cut, 2 days ago is outside)
        {"Leads": ("1", "0"), "Became customers": ("0", "0"), "Conversion rate": ("0.0%", "0.0 pp")},
        "09:59",
        id="dst-autumn-09:59",
    ),
]


@pytest.mark.usefixtures("fresh_streamlit_caches")
@pytest.mark.parametrize(("now", "items", "expected", "clock"), CASES)
def test_today_on_the_page_at_fixed_instants(serve_leads, monkeypatch, now, items, expected, clock):
    monkeypatch.setenv("LEADS_NOW", now)  # before lead_item, which dates leads from the clock's today
    # plus one open lead 20 days old, never updated: outside today and yesterday, but listed as stale
    items = [*items, ("new", 20, "12:00:00")]
    serve_leads([lead_item(n, status, days, time) for n, (status, days, time) in enumerate(items, 1)])
    at = run_app(preset="today")
    got = metrics(at)
    assert {label: got[label] for label in expected} == expected
    idle = [int(v) for df in at.dataframe if "days_idle" in df.value for v in df.value["days_idle"]]
    assert idle and all(19 <= v <= 20 for v in idle)  # 19 days and some hours (at 00:30 or 09:59), or 20
    assert f"Today until {clock} (Asia/Jerusalem), compared with yesterday" in captions(at)
    chart = at.get("plotly_chart")[0].proto.spec
    assert "23:59:59" not in chart and '"tickvals"' in chart  # one clean day tick


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_all_time_on_the_page_has_no_deltas(serve_leads):
    serve_leads([lead_item(1, "converted", 3, "10:00:00"), lead_item(2, "new", 40, "10:00:00")])
    at = run_app(preset="all-time")
    # 2 leads, 1 won (updated 3 days ago), 1 / 2 = 50 %, no junk
    assert metrics(at) == {
        "Leads": ("2", ""),
        "Became customers": ("1", ""),
        "Conversion rate": ("50.0%", ""),
        "Junk rate": ("0.0%", ""),
    }
    assert "there is no earlier period to compare with" in captions(at)


# ---------------------------------------------------------------- the leads-over-time chart's axis


def test_a_one_day_chart_has_one_clean_day_tick():
    df = pd.DataFrame({"period": [pd.Timestamp("2026-11-23")], "leads": [6]})
    fig = charts.leads_over_time_chart(df, "D")
    axis = fig.layout.xaxis
    assert list(axis.ticktext) == ["23 Nov 2026"]
    assert [pd.Timestamp(v) for v in axis.tickvals] == [pd.Timestamp("2026-11-23")]
    # one day either side, and the bar 0.6 day wide (0.6 * 86,400,000 ms = 51,840,000 ms)
    assert [pd.Timestamp(v) for v in axis.range] == [pd.Timestamp("2026-11-22"), pd.Timestamp("2026-11-24")]
    assert fig.data[0].width == pytest.approx(51_840_000)


def test_a_week_chart_ticks_every_day_and_a_long_one_is_left_to_plotly():
    week = pd.DataFrame({"period": pd.date_range("2026-11-17", "2026-11-23"), "leads": range(7)})
    ticks = charts.leads_over_time_chart(week, "D").layout.xaxis.ticktext
    assert list(ticks) == [f"{d} Nov 2026" for d in range(17, 24)]
    months = pd.DataFrame({"period": pd.date_range("2026-01-01", "2026-03-31"), "leads": 1})
    assert charts.leads_over_time_chart(months, "D").layout.xaxis.tickvals is None  # 90 days: plotly's ticks
