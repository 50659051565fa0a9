"""lib.analytics.roi on small frames; every expected value is worked out by hand in the comments."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from lib import analytics as A
from lib.schema import to_canonical_leads, to_canonical_statuses

TZ = "Asia/Jerusalem"  # UTC+2 in November 2026

STATUSES = to_canonical_statuses(
    pd.DataFrame(
        [("s_new", "חדש", True, 0, "open", 0), ("s_no", "לא מעוניין", True, 1, "lost", 1),
         ("s_dup", "כפול", True, 2, "junk", None), ("s_won", "לקוח", True, 3, "won", 3)],
        columns=["status_id", "status", "is_active", "position", "role", "stage"],
    )
)  # fmt: skip


def make_leads(rows: list[dict]) -> pd.DataFrame:
    return to_canonical_leads(pd.DataFrame([{"lead_id": str(i), **r} for i, r in enumerate(rows, start=1)]))


def make_spend(rows: list[tuple]) -> pd.DataFrame:
    """(day, source, medium, campaign, spend) rows as the store's spend frame."""
    df = pd.DataFrame(rows, columns=["date", "utm_source", "utm_medium", "utm_campaign", "spend"])
    return df.assign(
        date=pd.to_datetime(df["date"]).astype("datetime64[ns]"),
        **{c: df[c].astype("string") for c in ("utm_source", "utm_medium", "utm_campaign")},
        spend=df["spend"].astype("float64"),
    )


def lead(status: str, source: str | None, day: int, medium: str | None = None, price: float | None = None):
    """A lead created at 10:00 Jerusalem (08:00 UTC) on `day` November 2026."""
    at = f"2026-11-{day:02d}T08:00:00Z"
    return {"status_id": status, "utm_source": source, "utm_medium": medium, "price": price, "created_at": at}


LEADS = make_leads(
    [
        # 1-4: facebook in three spellings; 1, 2 won with prices, 3 open, 4 junk
        lead("s_won", "fb", 2, "cpc", 1000.0),
        lead("s_won", "Facebook", 3, "cpc", 500.0),
        lead("s_new", "פייסבוק", 4, "cpc"),
        lead("s_dup", "fb", 5, "cpc"),
        # 5-6: google; 5 lost (its price is no revenue), 6 won without a price (adds 0)
        lead("s_no", "google", 6, "cpc", 200.0),
        lead("s_won", "google", 7, "cpc"),
        # 7: no source; 8: newsletter (→ email), won
        lead("s_new", None, 8),
        lead("s_won", "newsletter", 9, None, 300.0),
    ]
)
SPEND = make_spend(
    [
        ("2026-11-02", "Facebook", "cpc", "summer", 400.0),
        ("2026-11-03", "FB", "cpc", "summer", 200.0),  # facebook: 400 + 200 = 600
        ("2026-11-02", "Google", "cpc", None, 300.0),
        ("2026-11-05", "TikTok", "paid", None, 150.0),  # no TikTok lead
    ]
)


def row(df: pd.DataFrame, col: str, value) -> dict:
    hit = df[df[col] == value]
    assert len(hit) == 1, df
    return hit.iloc[0].to_dict()


def test_roi_by_source_hand_worked():
    got = A.roi_breakdown(LEADS, STATUSES, SPEND, by=("utm_source",))
    assert list(got.columns) == [
        "utm_source", "spend", "leads", "cost_per_lead", "customers", "cost_per_customer", "revenue", "roas",
        "no_spend", "no_leads",
    ]  # fmt: skip
    # most spend first: facebook 600, google 300, tiktok 150; then no spend, most leads, by name
    assert got["utm_source"].tolist() == ["facebook", "google", "tiktok", "(none)", "email"]
    fb = row(got, "utm_source", "facebook")
    # spend 600, leads 1-4 = 4 → 600 / 4 = 150 per lead; customers 1, 2 → 600 / 2 = 300;
    # revenue 1000 + 500 = 1500 → ROAS 1500 / 600 = 2.5
    assert (fb["spend"], fb["leads"], fb["cost_per_lead"]) == (600.0, 4, 150.0)
    assert (fb["customers"], fb["cost_per_customer"], fb["revenue"], fb["roas"]) == (2, 300.0, 1500.0, 2.5)
    assert (fb["no_spend"], fb["no_leads"]) == (False, False)
    g = row(got, "utm_source", "google")
    # spend 300, leads 5, 6 → 150; one customer (6) → 300; lead 6 has no price, 5's price is not won → 0
    assert (g["spend"], g["leads"], g["cost_per_lead"], g["customers"], g["cost_per_customer"]) == (
        300.0, 2, 150.0, 1, 300.0,
    )  # fmt: skip
    assert (g["revenue"], g["roas"]) == (0.0, 0.0)
    tt = row(got, "utm_source", "tiktok")
    # spend with no lead: no base for the costs; revenue 0 → ROAS 0 / 150 = 0
    assert (tt["spend"], tt["leads"], tt["customers"], tt["revenue"], tt["roas"]) == (150.0, 0, 0, 0.0, 0.0)
    assert np.isnan(tt["cost_per_lead"]) and np.isnan(tt["cost_per_customer"])
    assert (tt["no_spend"], tt["no_leads"]) == (False, True)
    em = row(got, "utm_source", "email")
    # leads but no spend row: cost unknown (NaN), not 0; ROAS has no base
    assert (em["spend"], em["leads"], em["customers"], em["revenue"]) == (0.0, 1, 1, 300.0)
    assert np.isnan(em["cost_per_lead"]) and np.isnan(em["cost_per_customer"]) and np.isnan(em["roas"])
    assert (em["no_spend"], em["no_leads"]) == (True, False)


def test_roi_without_prices_has_unknown_revenue():
    no_prices = LEADS.assign(price=np.nan)
    got = A.roi_breakdown(no_prices, STATUSES, SPEND)
    assert got["revenue"].isna().all() and got["roas"].isna().all()
    # the costs do not depend on prices: facebook still 600 / 4 and 600 / 2
    fb = row(got, "utm_source", "facebook")
    assert (fb["cost_per_lead"], fb["cost_per_customer"]) == (150.0, 300.0)


def test_roi_user_aliases_replace_the_defaults():
    # With an alias map that knows only "fb", "Facebook" spend stays "facebook" and "פייסבוק" its own group.
    got = A.roi_breakdown(LEADS, STATUSES, SPEND, aliases={"fb": "facebook"})
    fb = row(got, "utm_source", "facebook")
    assert (fb["spend"], fb["leads"]) == (600.0, 3)  # leads 1, 2, 4 → 600 / 3 = 200
    assert fb["cost_per_lead"] == 200.0
    assert row(got, "utm_source", "פייסבוק")["no_spend"]


def test_roi_by_channel_and_by_term():
    got = A.roi_breakdown(LEADS, STATUSES, SPEND, by="channel")
    social = row(got, "channel", "Paid Social")
    # Facebook cpc 600 + TikTok paid 150 = 750 against the facebook cpc leads 1-4 → 187.5 per lead,
    # 2 customers → 375, revenue 1500 → ROAS 2.0
    assert (social["spend"], social["leads"], social["cost_per_lead"]) == (750.0, 4, 187.5)
    assert (social["cost_per_customer"], social["roas"]) == (375.0, 2.0)
    search = row(got, "channel", "Paid Search")
    assert (search["spend"], search["leads"], search["cost_per_lead"]) == (300.0, 2, 150.0)

    term = A.roi_breakdown(LEADS, STATUSES, SPEND, by=("utm_term",))
    # spend has no term: all 1050 falls in (none), as do all 8 leads (none has a term)
    assert term["utm_term"].tolist() == ["(none)"]
    only = term.iloc[0]
    # 1050 / 8 = 131.25; customers 1, 2, 6, 8 = 4 → 262.5; revenue 1000 + 500 + 300 = 1800
    assert (only["spend"], only["leads"], only["cost_per_lead"], only["cost_per_customer"]) == (
        1050.0, 8, 131.25, 262.5,
    )  # fmt: skip
    assert only["roas"] == pytest.approx(1800 / 1050)


def test_roi_by_source_and_medium():
    got = A.roi_breakdown(LEADS, STATUSES, SPEND, by=("utm_source", "utm_medium"))
    pairs = list(zip(got["utm_source"], got["utm_medium"], strict=True))
    # facebook/cpc 600, google/cpc 300, tiktok/paid 150, then (none)/(none) and email/(none) with no spend
    assert pairs == [
        ("facebook", "cpc"), ("google", "cpc"), ("tiktok", "paid"), ("(none)", "(none)"), ("email", "(none)"),
    ]  # fmt: skip


def test_roi_with_no_spend_at_all():
    for spend in (None, A.empty_spend()):
        got = A.roi_breakdown(LEADS, STATUSES, spend)
        assert got["spend"].tolist() == [0.0] * 4  # facebook 4, google 2, (none) 1, email 1
        assert got["leads"].tolist() == [4, 2, 1, 1]
        assert got["no_spend"].all() and got["cost_per_lead"].isna().all()


def test_unmatched_spend_lists_spend_without_leads():
    got = A.unmatched_spend(LEADS, SPEND, by=("utm_source",))
    assert got.to_dict("records") == [
        {"utm_source": "tiktok", "raw_values": "TikTok / paid / (none)", "days": 1, "spend": 150.0}
    ]
    # With no leads at all every spend row is unmatched; the two facebook spellings stay apart.
    none = A.unmatched_spend(LEADS.iloc[0:0], SPEND, by="utm_source")
    assert none["raw_values"].tolist() == [
        "Facebook / cpc / summer", "Google / cpc / (none)", "FB / cpc / summer", "TikTok / paid / (none)"
    ]  # fmt: skip
    assert none["spend"].tolist() == [400.0, 300.0, 200.0, 150.0]
    assert A.unmatched_spend(LEADS, None).empty
    # by channel every spend row meets leads: Paid Social (facebook cpc, tiktok paid) and Paid Search
    matched = A.unmatched_spend(LEADS, SPEND, by=("channel",))
    assert matched.empty and list(matched.columns) == ["channel", "raw_values", "days", "spend"]


def test_spend_in_period_keeps_whole_days():
    got = A.spend_in_period(SPEND, date(2026, 11, 3), date(2026, 11, 5))
    assert got["spend"].tolist() == [200.0, 150.0]


def test_spend_over_time_weekly():
    got = A.spend_over_time(SPEND, LEADS, "W", TZ, date(2026, 11, 1), date(2026, 11, 14))
    # weeks start on Sunday 1 Nov and 8 Nov; spend 400 + 200 + 300 + 150 = 1050 in the first, none after;
    # leads created 2-7 Nov (1-6) = 6 in the first, 8 and 9 Nov (7, 8) = 2 in the second
    assert got["period"].tolist() == [pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-08")]
    assert got["spend"].tolist() == [1050.0, 0.0]
    assert got["leads"].tolist() == [6, 2]
    assert got["cost_per_lead"].iloc[0] == 175.0  # 1050 / 6
    assert np.isnan(got["cost_per_lead"].iloc[1])  # no spend that week


def test_cost_per_lead_change_against_the_same_length_before():
    got = A.cost_per_lead_change(LEADS, STATUSES, SPEND, date(2026, 11, 3), date(2026, 11, 4), TZ)
    # 3-4 Nov against 1-2 Nov. facebook now: spend 200 (3 Nov), leads 2 and 3 → 100 per lead;
    # before: 400 (2 Nov), lead 1 → 400 per lead; change 100 / 400 - 1 = -75 %.
    # google spent only on 2 Nov (before), tiktok on 5 Nov: only groups with spend now are listed.
    assert got["utm_source"].tolist() == ["facebook"]
    fb = got.iloc[0]
    assert (fb["spend"], fb["leads"], fb["cost_per_lead"]) == (200.0, 2, 100.0)
    assert (fb["spend_prev"], fb["leads_prev"], fb["cost_per_lead_prev"]) == (400.0, 1, 400.0)
    assert fb["change"] == pytest.approx(-0.75)


def test_filter_spend_follows_the_sidebar_utm_filters():
    only_fb = A.filter_spend(SPEND, A.LeadFilter(sources=("facebook",)))
    assert only_fb["spend"].tolist() == [400.0, 200.0]  # "Facebook" and "FB" rows
    social = A.filter_spend(SPEND, A.LeadFilter(channels=("Paid Social",)))
    assert social["spend"].tolist() == [400.0, 200.0, 150.0]  # Facebook cpc ×2, TikTok paid
    assert len(A.filter_spend(SPEND, A.LeadFilter(status_ids=("s_won",)))) == 4  # statuses do not apply


# -- charts ------------------------------------------------------------------------------------------------


def test_spend_leads_chart():
    from lib import charts

    data = A.spend_over_time(SPEND, LEADS, "W", TZ, date(2026, 11, 1), date(2026, 11, 14))
    fig = charts.spend_leads_chart(data, "W", "ILS", title="Ad spend and new leads per week, 1–14 Nov 2026")
    bars, line = fig.data
    assert list(bars.y) == [1050.0, 0.0] and list(line.y) == [6, 2]
    assert line.yaxis == "y2"
    assert list(bars.customdata) == ["175.00 ILS", "–"]  # 1050 / 6; no spend in the second week
    assert (fig.layout.yaxis.title.text, fig.layout.yaxis2.title.text) == ("Spend (ILS)", "New leads (count)")


def test_cost_per_lead_chart_labels_the_change():
    from lib import charts

    change = A.cost_per_lead_change(LEADS, STATUSES, SPEND, date(2026, 11, 3), date(2026, 11, 4), TZ)
    fig = charts.cost_per_lead_chart(change, "utm_source", "ILS")
    before, now = fig.data
    assert list(now.x) == ["facebook"] and list(now.y) == [100.0] and list(before.y) == [400.0]
    assert list(now.text) == ["-75%"]  # 100 / 400 - 1


# -- the Marketing page (AppTest) ------------------------------------------------------------------------

PAGE_SPEND = make_spend(
    [
        ("2026-11-21", "Facebook", "cpc", "winter", 300.0),
        ("2026-11-20", "Google", "cpc", None, 90.0),
        ("2026-11-19", "TikTok", "paid", None, 50.0),  # no TikTok lead
        (
            "2026-10-01",
            "Facebook",
            "cpc",
            "winter",
            1000.0,
        ),  # before the period (T-29 = 25 Oct .. T = 23 Nov)
    ]
)


@pytest.fixture
def page_leads(serve_leads, fresh_streamlit_caches):
    from tests.conftest import lead_item

    serve_leads(
        [
            lead_item(1, "converted", 1, "10:00:00", utm_source="fb"),  # won
            lead_item(2, "new", 2, "10:00:00", utm_source="Facebook"),
            lead_item(3, "new", 3, "10:00:00", utm_source="google"),
            lead_item(4, "new", 4, "10:00:00"),
        ]
    )


def test_marketing_without_spend_points_to_the_ad_spend_page(page_leads):
    from tests.conftest import run_app

    at = run_app("pages/marketing.py")
    assert "Cost and return" in [h.value for h in at.subheader]
    assert any("No ad spend has been entered yet" in i.value and "Ad spend page" in i.value for i in at.info)


def stored_spend() -> None:
    """PAGE_SPEND saved in the dashboard's real store (LEADS_DATA_DIR), where the Ad spend page puts it."""
    import os
    from pathlib import Path

    from lib.store import Store

    store = Store(Path(os.environ["LEADS_DATA_DIR"]))
    try:
        store.save_spend(PAGE_SPEND.to_dict("records"), source_file="test.csv")
    finally:
        store.close()


def test_marketing_cost_and_return_with_spend(page_leads):
    from tests.conftest import run_app

    stored_spend()
    at = run_app("pages/marketing.py")
    tables = [d.value for d in at.dataframe if "cost_per_lead" in d.value.columns]
    assert len(tables) == 1
    cost = tables[0]
    # facebook: 300 spent on 21 Nov, leads 1, 2 → 150 per lead, 1 customer → 300; google: 90, lead 3 → 90, no
    # customer; tiktok: 50 with no lead; (none): lead 4 with no spend. The 1 Oct spend is outside the period.
    assert cost["utm_source"].tolist() == ["facebook", "google", "tiktok", "(none)"]
    assert cost["spend"].tolist() == [300.0, 90.0, 50.0, 0.0]
    assert cost["leads"].tolist() == [2, 1, 0, 1]
    assert cost["cost_per_lead"].tolist()[:2] == [150.0, 90.0]
    assert cost["cost_per_customer"].tolist()[0] == 300.0
    captions = [c.value for c in at.caption]
    # 300 + 90 + 50 = 440 spent; the groups with spend (facebook, google, tiktok) hold leads 1-3, one customer
    # (lead 1): 440 / 3 = 146.67 per lead, 440 per customer; over all 4 leads 440 / 4 = 110 per lead
    assert (
        "In all: ₪440.00 spent. Over the 3 leads of the groups with spend: ₪146.67 per lead, ₪440.00 "
        "per customer (1). Blended over all 4 leads (organic included): ₪110.00 per lead, ₪440.00 per "
        "customer (1)."
    ) in captions
    assert any("no prices" in c for c in captions)  # the v2 CRM has no prices: revenue unknown
    orphan = next(d.value for d in at.dataframe if "raw_values" in d.value.columns)
    assert orphan.to_dict("records") == [
        {"utm_source": "tiktok", "raw_values": "TikTok / paid / (none)", "days": 1, "spend": 50.0}
    ]
    unspent = next(
        d.value for d in at.dataframe if list(d.value.columns) == ["utm_source", "leads", "customers"]
    )
    assert unspent.to_dict("records") == [{"utm_source": "(none)", "leads": 1, "customers": 0}]


def test_cost_per_lead_chart_without_comparison():
    from lib import charts

    change = A.cost_per_lead_change(LEADS, STATUSES, SPEND, date(2026, 11, 3), date(2026, 11, 4), TZ)
    before, now = charts.cost_per_lead_chart(change, "utm_source", "ILS", compare=False).data
    assert before.visible is False and list(now.text) == [""]


def test_spend_over_time_without_bounds_spans_leads_and_spend():
    got = A.spend_over_time(SPEND, LEADS, "D", TZ)
    # first day: 2 Nov (lead 1, spend 400 + 300); last: 9 Nov (lead 8) → 8 days
    assert got["period"].iloc[0] == pd.Timestamp("2026-11-02") and len(got) == 8
    assert got["spend"].tolist() == [700.0, 200.0, 0.0, 150.0, 0.0, 0.0, 0.0, 0.0]
    assert got["leads"].tolist() == [1] * 8
    assert A.spend_over_time(None, LEADS.iloc[0:0], "W", TZ).empty


@pytest.mark.parametrize(
    "group",
    [["Channel"], ["Term"], ["Source", "Medium", "Campaign"], ["Content", "Channel"]],
)
def test_marketing_cost_section_for_every_grouping(page_leads, group):
    from tests.conftest import run_app

    stored_spend()
    at = run_app("pages/marketing.py", group=group)
    cost = next(d.value for d in at.dataframe if "cost_per_lead" in d.value.columns)
    assert cost["spend"].sum() == 440.0  # 300 + 90 + 50 in the period, whatever the grouping
    assert cost["leads"].sum() == 4
    spend_only = {"Term", "Content"} & set(group)
    assert any("falls in “(none)”" in c.value for c in at.caption) == bool(spend_only)
