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
    # Period 8..14 Mar (7 days), previous 1..7 Mar; without `now` both are whole, and the previous period's
    # leads are judged as they stood 7 days before the period's end: at 8 Mar 00:00 local = 7 Mar 22:00Z.
    leads = make_leads(
        [
            # period, won (closed 10 Mar: a customer won in the period too)
            {"status_id": "s_won", "created_at": "2026-03-08T10:00Z", "closed_at": "2026-03-10T10:00Z"},
            {"status_id": "s_dup", "created_at": "2026-03-09T10:00Z"},  # period, junk
            {"status_id": "s_new", "created_at": "2026-03-14T21:30Z"},  # 23:30 on 14 Mar: period, open
            {"status_id": "s_no", "created_at": "2026-03-14T22:30Z"},  # 00:30 on 15 Mar: after period
            # 23:59 on 7 Mar: previous, won on 9 Mar: after the cut (not converted at the same age), and a
            # customer won in the period
            {"status_id": "s_won", "created_at": "2026-03-07T21:59Z", "closed_at": "2026-03-09T10:00Z"},
            {"status_id": "zzz", "created_at": "2026-03-02T10:00Z"},  # previous, unknown status → open
            # previous, won on 5 Mar: converted at the same age and a customer won in the previous period
            {"status_id": "s_won", "created_at": "2026-03-02T10:00Z", "closed_at": "2026-03-05T10:00Z"},
            {"status_id": "s_won", "created_at": "2026-02-28T10:00Z"},  # before both, no stamp at all
        ]
    )
    k = A.period_kpis(leads, STATUSES, date(2026, 3, 8), date(2026, 3, 14), TZ)
    assert k["prev_start"] == date(2026, 3, 1)
    assert k["prev_end"] == date(2026, 3, 7)
    assert not k["partial"] and k["days"] == 7
    assert (k["leads"], k["won"], k["converted"], k["junk"]) == (3, 2, 1, 1)
    assert k["conversion_rate"] == pytest.approx(1 / 2)  # 1 converted / (3 - 1 junk)
    assert k["junk_rate"] == pytest.approx(1 / 3)
    assert (k["leads_prev"], k["won_prev"], k["converted_prev"], k["junk_prev"]) == (3, 1, 1, 0)
    assert k["conversion_rate_prev"] == pytest.approx(1 / 3)
    assert k["junk_rate_prev"] == 0.0
    assert k["same_age"] and k["unsure_prev"] == 0 and k["won_by_update"] == 0


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


# ---------------------------------------------------------------- statuses

MIXED = make_leads(
    [
        {"status_id": "s_new", "owner": "דנה", "utm_source": "fb", "utm_medium": "cpc"},
        {"status_id": "s_won", "owner": "דנה", "utm_source": "Facebook", "utm_medium": "CPC"},
        {"status_id": "s_dup", "owner": None, "utm_source": "פייסבוק"},
        {"status_id": "s_int", "owner": "Avi", "utm_source": "google", "utm_medium": "organic"},
        {"status_id": "s_old", "owner": "Avi", "utm_source": None},
        {"status_id": "zzz", "owner": "Avi", "utm_source": " NULL "},
        {"status_id": None, "owner": None, "utm_source": "Google", "utm_medium": "cpc"},
        {"status_id": "s_won", "owner": "Avi", "utm_source": "google.com", "utm_medium": "cpc"},
    ]
)


def test_status_breakdown_catalogue_order_zeros_inactive_and_unknown():
    got = A.status_breakdown(MIXED, STATUSES)
    # active statuses in position order with zeros; s_old (inactive) has 1 lead so it shows, s_gone does
    # not; "zzz" and the missing id are 2 unknown leads. 8 leads in all.
    assert got["status_id"].tolist()[:7] == ["s_new", "s_work", "s_int", "s_no", "s_dup", "s_won", "s_old"]
    assert pd.isna(got["status_id"].iloc[7])
    assert got["status"].tolist()[7] == "(unknown status)"
    assert got["leads"].tolist() == [1, 0, 1, 0, 1, 2, 1, 2]
    assert got["share"].tolist() == pytest.approx([1 / 8, 0, 1 / 8, 0, 1 / 8, 2 / 8, 1 / 8, 2 / 8])
    assert list(got.columns) == ["status_id", "status", "leads", "share"]


def test_status_breakdown_no_leads_and_one_lead():
    got = A.status_breakdown(empty_leads(), STATUSES)
    assert got["status_id"].tolist() == ["s_new", "s_work", "s_int", "s_no", "s_dup", "s_won"]
    assert got["leads"].tolist() == [0] * 6
    assert got["share"].tolist() == [0.0] * 6
    one = A.status_breakdown(make_leads([{"status_id": "s_gone"}]), STATUSES)
    assert one["status_id"].tolist()[-1] == "s_gone"
    assert one["leads"].tolist() == [0, 0, 0, 0, 0, 0, 1]
    assert one["share"].tolist()[-1] == 1.0


def test_status_by_owner():
    got = A.status_by_owner(MIXED, STATUSES)
    # Avi: s_int, s_old, zzz, s_won = 4; דנה: s_new, s_won = 2; unassigned: s_dup, NA = 2 (last).
    assert got["owner"].tolist() == ["Avi", "דנה", "(unassigned)"]
    assert list(got.columns) == ["owner", "💫 חדש", "🌟 בטיפול", "⚡️ מעוניין", "😐 לא מעוניין", "❗️ כפול",
                                 "🎉 הומר ללקוח", "Old status", "(unknown status)", "total"]  # fmt: skip
    avi = ["⚡️ מעוניין", "🎉 הומר ללקוח", "Old status", "(unknown status)", "total"]
    assert got.loc[0, avi].tolist() == [1, 1, 1, 1, 4]
    assert got.loc[1, ["💫 חדש", "🎉 הומר ללקוח", "total"]].tolist() == [1, 1, 2]
    assert got.loc[2, ["❗️ כפול", "(unknown status)", "total"]].tolist() == [1, 1, 2]


# ---------------------------------------------------------------- funnel


def test_funnel_counts_each_lead_up_to_its_stage_and_drops_junk():
    got = A.funnel(MIXED, STATUSES)
    # non-junk leads and their stage: s_new 0, s_won 3, s_int 2, s_old 0, zzz 0 (unknown),
    # NA 0, s_won 3 → 7 leads; ≥1: 3; ≥2: 3; ≥3: 2. s_dup (junk) is left out.
    assert got["stage"].tolist() == ["New", "Contacted", "Interested", "Customer"]
    assert got["leads"].tolist() == [7, 3, 3, 2]
    assert got["pct_of_first"].tolist() == pytest.approx([100, 300 / 7, 300 / 7, 200 / 7])
    assert got["pct_of_previous"].tolist() == pytest.approx([100, 300 / 7, 100, 200 / 3])


def test_funnel_lost_counts_to_contacted_and_all_junk_is_empty():
    lost = A.funnel(make_leads([{"status_id": "s_no"}]), STATUSES)
    assert lost["leads"].tolist() == [1, 1, 0, 0]
    assert lost["pct_of_previous"].tolist()[:3] == pytest.approx([100, 100, 0])
    assert np.isnan(lost["pct_of_previous"].iloc[3])  # 0 of 0: undefined
    junk = A.funnel(make_leads([{"status_id": "s_dup"}] * 3), STATUSES)
    assert junk["leads"].tolist() == [0, 0, 0, 0]
    assert junk["pct_of_first"].isna().all()
    custom = A.funnel(make_leads([{"status_id": "s_won"}]), STATUSES, stages=("Lead", "Deal"))
    assert custom["stage"].tolist() == ["Lead", "Deal"] and custom["leads"].tolist() == [1, 1]


def test_funnel_by_source_with_top_and_other():
    got = A.funnel_by(MIXED, STATUSES, "utm_source", top=1)
    # normalised sources, non-junk: google: s_int(2), NA status(0), s_won(3) → 3 leads;
    # facebook: s_new(0), s_won(3) → 2 (the junk one is out); (none): s_old(0), zzz(0) → 2.
    # top 1 = google; facebook + (none) → (other): stages [4, 1, 1, 1].
    assert got["utm_source"].tolist() == ["google"] * 4 + ["(other)"] * 4
    assert got["leads"].tolist() == [3, 2, 2, 1, 4, 1, 1, 1]
    assert got["pct_of_first"].tolist()[:4] == pytest.approx([100, 200 / 3, 200 / 3, 100 / 3])
    everything = A.funnel_by(MIXED, STATUSES, "utm_source", top=None)
    assert everything["utm_source"].unique().tolist() == ["google", "facebook", "(none)"]


# ---------------------------------------------------------------- UTM normalisation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("facebook", "facebook"),
        ("Facebook", "facebook"),
        ("  FaceBook  ", "facebook"),
        ("fb", "facebook"),
        ("FB", "facebook"),
        ("facebook.com", "facebook"),
        ("m.facebook.com", "facebook"),
        ("l.facebook.com", "facebook"),
        ("פייסבוק", "facebook"),
        ("\u200fפייסבוק\u200f", "facebook"),  # RLM marks from copy-paste
        ("פייסבוק  ממומן", "facebook"),  # double space collapses
        ("ig", "instagram"),
        ("Instagram.com", "instagram"),
        ("אינסטגרם", "instagram"),
        ("google.com", "google"),
        ("גוגל", "google"),
        ("AdWords", "google"),
        ("Tik Tok", "tiktok"),
        ("טיקטוק", "tiktok"),
        ("YT", "youtube"),
        ("יוטיוב", "youtube"),
        ("wa", "whatsapp"),
        ("וואטסאפ", "whatsapp"),
        ("ווטסאפ", "whatsapp"),
        ("E-Mail", "email"),
        ("newsletter", "email"),
        ("mail", "email"),
        ("מייל", "email"),
        ("ניוזלטר", "email"),
        ("(direct)", "direct"),
        ("ＦＢ", "facebook"),  # full-width letters: NFKC
        ("", "(none)"),
        ("null", "(none)"),
        ("None", "(none)"),
        ("(not set)", "(none)"),
        ("undefined", "(none)"),
        ("taboola", "taboola"),  # unmapped values stay, case-folded
        ("חג האהבה", "חג האהבה"),
    ],
)
def test_normalize_utm_default_aliases(raw, expected):
    s = pd.Series([raw], dtype="string")
    assert A.normalize_utm(s).tolist() == [expected]
    assert A.normalize_value(raw) == expected


def test_normalize_utm_categorical_na_custom_aliases_and_index():
    leads = make_leads([{"utm_source": "FB"}, {"utm_source": None}, {"utm_source": "Partner X"}])
    leads.index = [10, 11, 12]
    got = A.normalize_utm(leads["utm_source"])
    assert got.tolist() == ["facebook", "(none)", "partner x"]
    assert got.index.tolist() == [10, 11, 12]
    assert isinstance(got.dtype, pd.CategoricalDtype)
    custom = A.normalize_utm(leads["utm_source"], aliases={"Partner  X": "Affiliate"})
    assert custom.tolist() == ["fb", "(none)", "affiliate"]  # a given dict replaces the defaults


def test_utm_quality_lists_raw_values():
    got = A.utm_quality(MIXED, fields=("utm_source",))
    rows = list(zip(got["raw_value"].fillna("<NA>"), got["leads"], got["normalized"], strict=True))
    # sorted by normalised value, then most leads first
    assert rows == [
        ("fb", 1, "facebook"),
        ("Facebook", 1, "facebook"),
        ("פייסבוק", 1, "facebook"),
        ("google", 1, "google"),
        ("Google", 1, "google"),
        ("google.com", 1, "google"),
        ("<NA>", 1, "(none)"),
        ("NULL", 1, "(none)"),
    ]
    assert set(got["field"]) == {"utm_source"}
    assert list(got.columns) == ["field", "raw_value", "leads", "normalized"]


# ---------------------------------------------------------------- channels


@pytest.mark.parametrize(
    ("source", "medium", "campaign", "referrer", "expected"),
    [
        (None, None, None, None, "Direct"),
        ("(direct)", "(none)", None, None, "Direct"),
        ("direct", None, None, None, "Direct"),
        ("google", "cpc", None, None, "Paid Search"),
        ("גוגל", "ppc", None, None, "Paid Search"),
        ("bing", "paid_search", None, None, "Paid Search"),
        ("google", "organic", None, None, "Organic Search"),
        ("google", None, None, None, "Organic Search"),
        (None, "organic", None, None, "Organic Search"),
        ("fb", "cpc", None, None, "Paid Social"),
        ("פייסבוק", "ממומן", None, None, "Paid Social"),
        ("פייסבוק ממומן", None, None, None, "Paid Social"),  # the raw source says "sponsored"
        ("Instagram", "paid_social", None, None, "Paid Social"),
        ("facebook", None, "Spring sale - paid", None, "Paid Social"),  # the campaign says paid
        ("facebook", "cpm", None, None, "Paid Social"),  # GA4: .*cp.* is paid before display
        ("FACEBOOK", None, None, None, "Organic Social"),
        ("facebook", "social", None, None, "Organic Social"),
        ("טיקטוק", None, None, None, "Organic Social"),
        ("partner", "social", None, None, "Organic Social"),
        ("taboola", "display", None, None, "Display"),
        ("outbrain", "Banner", None, None, "Display"),
        ("blog.example.com", "referral", None, None, "Referral"),
        ("newsletter", None, None, None, "Email"),
        ("מייל", None, None, None, "Email"),
        ("crm", "e-mail", None, None, "Email"),
        ("partner-site", "affiliate", None, None, "Affiliates"),
        ("somewhere", None, None, None, "Unassigned"),
        (None, "cpc", None, None, "Paid Other"),  # GA4: a paid medium from no known site
        # no UTM: the referrer decides
        (None, None, None, "https://www.google.co.il/search?q=x", "Organic Search"),
        (None, None, None, "https://l.facebook.com/l.php?u=x", "Organic Social"),
        (None, None, None, "https://blog.example.org/post", "Referral"),
        (None, None, None, "", "Direct"),
    ],
)
def test_channel_rules(source, medium, campaign, referrer, expected):
    assert A.channel_of(source, medium, campaign, referrer) == expected


def test_channel_vectorised_matches_rules_row_by_row():
    rows = [
        {"utm_source": "fb", "utm_medium": "cpc"},
        {"utm_source": "google", "utm_medium": "organic"},
        {"utm_source": None, "referrer": "https://www.bing.com/search?q=a"},
        {"utm_source": None},
        {"utm_source": "newsletter"},
        {"utm_source": "facebook", "utm_campaign": "ads retargeting"},
        {"utm_source": "somewhere"},
    ]
    got = A.channel(make_leads(rows))
    assert got.tolist() == ["Paid Social", "Organic Search", "Organic Search", "Direct", "Email",
                            "Paid Social", "Unassigned"]  # fmt: skip
    assert list(got.cat.categories) == list(A.CHANNELS)
    assert len(A.channel(empty_leads())) == 0


# ---------------------------------------------------------------- utm_breakdown


def test_wilson_interval_hand_values():
    # k=1, n=2: p=.5, z²=3.8415, denom=2.92073, centre=.5, half=1.96·sqrt(.125+.24009)/2.92073=.40547
    low, high = A.wilson_interval([1, 0, 0], [2, 4, 0])
    assert low[0] == pytest.approx(0.094531, abs=1e-5)
    assert high[0] == pytest.approx(0.905469, abs=1e-5)
    # k=0, n=4: low 0, high = (z²/8)/(1+z²/4)·2 = .48019/1.96038·2 = .48990
    assert low[1] == 0.0
    assert high[1] == pytest.approx(0.48990, abs=1e-4)
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_utm_breakdown_by_source():
    got = A.utm_breakdown(MIXED, STATUSES)
    # google: google(s_int open), Google(NA → open), google.com(s_won) = 3 leads, 1 won, 2 open;
    # facebook: fb(open), Facebook(won), פייסבוק(junk) = 3 leads, 1 won, 1 junk;
    # (none): None(s_old open), NULL(zzz → open) = 2 leads.
    assert got["utm_source"].tolist() == ["facebook", "google", "(none)"]  # 3, 3 (tie: label order), 2
    assert got["leads"].tolist() == [3, 3, 2]
    assert got["won"].tolist() == [1, 1, 0]
    assert got["lost"].tolist() == [0, 0, 0]
    assert got["junk"].tolist() == [1, 0, 0]
    assert got["open"].tolist() == [1, 2, 2]
    assert got["conversion_rate"].tolist() == pytest.approx([1 / 2, 1 / 3, 0])
    assert got["share"].tolist() == pytest.approx([3 / 8, 3 / 8, 2 / 8])
    assert got["junk_rate"].tolist() == pytest.approx([1 / 3, 0, 0])
    assert got.loc[0, "ci_low"] == pytest.approx(0.094531, abs=1e-5)
    # junk rate's Wilson interval, facebook k=1, n=3: p=1/3, denom=1+3.8415/3=2.28049,
    # centre=(.33333+.64024)/2.28049=.42692, half=1.96·sqrt(.074074+.106708)/2.28049=.36542
    assert got.loc[0, "junk_ci_low"] == pytest.approx(0.06150, abs=1e-4)
    assert got.loc[0, "junk_ci_high"] == pytest.approx(0.79234, abs=1e-4)
    assert list(got.columns) == ["utm_source", "leads", "won", "lost", "junk", "open", "conversion_rate",
                                 "ci_low", "ci_high", "share", "junk_rate", "junk_ci_low",
                                 "junk_ci_high"]  # fmt: skip


def test_utm_breakdown_two_fields_channel_sorting_and_all_junk():
    got = A.utm_breakdown(MIXED, STATUSES, by=("utm_source", "utm_medium"), sort_by="conversion_rate")
    top = got.iloc[0]
    assert (top["utm_source"], top["utm_medium"], top["leads"], top["won"]) == ("facebook", "cpc", 2, 1)
    # google/cpc: Google (open) + google.com (won) = 1/2 as well, later by label order
    assert (got.iloc[1]["utm_source"], got.iloc[1]["utm_medium"]) == ("google", "cpc")
    assert got["leads"].sum() == 8
    # facebook/(none) is the junk lead alone: no base, NaN rate, sorted last
    last = got.iloc[-1]
    assert (last["utm_source"], last["utm_medium"]) == ("facebook", "(none)")
    assert np.isnan(last["conversion_rate"]) and np.isnan(last["ci_low"])
    ch = A.utm_breakdown(MIXED, STATUSES, by=("channel",), sort_by="channel", ascending=True)
    assert dict(zip(ch["channel"], ch["leads"], strict=True)) == {
        "Direct": 2, "Organic Search": 1, "Organic Social": 1, "Paid Search": 2, "Paid Social": 2,
    }  # fmt: skip
    assert len(A.utm_breakdown(empty_leads(), STATUSES)) == 0


# ---------------------------------------------------------------- cohorts


def test_cohort_table_weekly():
    leads = make_leads(
        [
            {"status_id": "s_won", "created_at": "2026-03-01T10:00Z"},  # week of Sun 1 Mar
            {"status_id": "s_dup", "created_at": "2026-03-02T10:00Z"},
            {"status_id": "s_new", "created_at": "2026-03-07T21:30Z"},  # 23:30 Sat 7 Mar local
            {"status_id": "s_no", "created_at": "2026-03-15T10:00Z"},  # week of 15 Mar (8 Mar empty)
            {"status_id": "s_won", "created_at": None},  # undated: no cohort
        ]
    )
    got = A.cohort_table(leads, STATUSES, TZ)
    assert got["cohort"].tolist() == [ts("2026-03-01"), ts("2026-03-08"), ts("2026-03-15")]
    assert got["leads"].tolist() == [3, 0, 1]
    assert got[["open", "won", "lost", "junk"]].to_numpy().tolist() == [
        [1, 1, 0, 1],
        [0, 0, 0, 0],
        [0, 0, 1, 0],
    ]
    assert got["won_share"].tolist()[0] == pytest.approx(1 / 3)
    assert got["conversion_rate"].tolist()[0] == pytest.approx(1 / 2)
    assert np.isnan(got["won_share"].iloc[1])
    assert got["conversion_rate"].iloc[2] == 0.0
    assert len(A.cohort_table(empty_leads(), STATUSES, TZ)) == 0
