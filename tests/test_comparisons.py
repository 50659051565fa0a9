"""Comparisons a manager can read: leaders by rate with a minimum sample, small groups sorted last, the
funnel compared group by group, one colour per value in every chart, intervals drawn as error bars.

Every expected value is worked out by hand in the comments.
"""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import pytest

from lib import analytics as A
from lib import charts as C
from tests.conftest import lead_item, run_app
from tests.test_analytics import STATUSES, make_leads
from tests.test_pages import ITEMS

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def group(
    source: str, won: int = 0, junk: int = 0, open_: int = 0, campaign: str | None = None
) -> list[dict]:
    """Rows of one UTM source: `won` customers, `junk` duplicates, `open_` open leads."""
    return (
        [{"status_id": "s_won", "utm_source": source, "utm_campaign": campaign}] * won
        + [{"status_id": "s_dup", "utm_source": source, "utm_campaign": campaign}] * junk
        + [{"status_id": "s_new", "utm_source": source, "utm_campaign": campaign}] * open_
    )


# facebook   200 leads, 22 junk, 20 won: junk rate 22/200 = 11.0 %, conversion 20/(200-22) = 20/178 = 11.2 %
# whatsapp    50 leads,  9 junk,  4 won: junk rate  9/50  = 18.0 %, conversion  4/41 =  9.8 %
# tiktok      40 leads,  6 junk,  2 won: junk rate  6/40  = 15.0 %, conversion  2/34 =  5.9 %
# podcast  14 leads,  0 junk,  7 won: junk rate  0,              conversion  7/14 = 50.0 % (sample 14)
# (none)      60 leads, 30 junk, 30 won: junk rate 50.0 %,          conversion 30/30 = 100 % (never a leader)
# Most junk *leads*: (none) 30, then facebook 22 — a count that only says which source is biggest.
SOURCES = make_leads(
    group("facebook", won=20, junk=22, open_=158)
    + group("whatsapp", won=4, junk=9, open_=37)
    + group("tiktok", won=2, junk=6, open_=32)
    + group("podcast", won=7, open_=7)
    + group(None, won=30, junk=30)
)


def leader(found: pd.DataFrame, kind: str) -> dict | None:
    rows = found[found["leader"] == kind].to_dict("records")
    return rows[0] if rows else None


def test_leaders_by_rate_with_a_minimum_sample():
    table = A.utm_breakdown(SOURCES, STATUSES)
    found = A.leaders(table, ("utm_source",), min_sample=30)
    junk = leader(found, "junk")
    # facebook has the most junk leads of the named sources (22) but whatsapp the highest junk rate
    assert (junk["utm_source"], junk["count"], junk["sample"]) == ("whatsapp", 9, 50)
    assert junk["rate"] == pytest.approx(0.18)
    assert junk["ci_low"] < 0.18 < junk["ci_high"]
    conv = leader(found, "conversion")
    # podcast converts 50 % but of 14 leads (< 30): facebook's 20/178 leads
    assert (conv["utm_source"], conv["count"], conv["sample"], conv["leads"]) == ("facebook", 20, 178, 200)
    assert conv["rate"] == pytest.approx(20 / 178)
    # a minimum of 10 lets the podcast's 14 leads compete: 7/14 = 50 % wins
    small = leader(A.leaders(table, "utm_source", min_sample=10), "conversion")
    assert (small["utm_source"], small["rate"]) == ("podcast", 0.5)
    # a minimum of 45: conversion samples facebook 178, whatsapp 41 (too small), junk samples (leads)
    # facebook 200 and whatsapp 50 -> facebook converts best, whatsapp still has the highest junk rate
    big = A.leaders(table, "utm_source", min_sample=45)
    assert leader(big, "conversion")["utm_source"] == "facebook"
    assert leader(big, "junk")["utm_source"] == "whatsapp"


def test_no_customers_means_no_conversion_leader_and_too_small_means_no_leader():
    none_won = make_leads(group("facebook", junk=5, open_=45) + group("google", junk=1, open_=39))
    found = A.leaders(A.utm_breakdown(none_won, STATUSES), "utm_source", min_sample=30)
    # no customers -> no conversion row; junk: facebook 5/50 = 10 %, google 1/40 = 2.5 %
    assert found["leader"].tolist() == ["junk"]
    assert leader(found, "junk")["utm_source"] == "facebook"
    # every group under the minimum: nothing to say
    tiny = make_leads(group("facebook", won=3, junk=2, open_=5))
    assert A.leaders(A.utm_breakdown(tiny, STATUSES), "utm_source", min_sample=30).empty
    assert A.leaders(A.utm_breakdown(make_leads([]), STATUSES), "utm_source").empty


def test_campaign_leaders_never_name_none():
    # most leads carry no campaign: (none) 100 leads, 50 junk, 40 won -> 80 % conversion, 50 % junk;
    # "spring" 40 leads, 4 junk, 9 won -> 9/36 = 25.0 %, junk 10 %; "חנוכה" 35 leads, 7 junk, 2 won
    # -> 2/28 = 7.1 % (sample 28 < 30: no conversion leader), junk 7/35 = 20 %
    leads = make_leads(
        group("facebook", won=40, junk=50, open_=10)
        + group("facebook", won=9, junk=4, open_=27, campaign="spring")
        + group("google", won=2, junk=7, open_=26, campaign="חנוכה")
    )
    found = A.leaders(A.utm_breakdown(leads, STATUSES, by="utm_campaign"), "utm_campaign", min_sample=30)
    assert leader(found, "conversion")["utm_campaign"] == "spring"
    assert leader(found, "junk")["utm_campaign"] == "חנוכה"
    # by source and campaign: facebook/(none) is never a leader either
    by = ("utm_source", "utm_campaign")
    pairs = A.leaders(A.utm_breakdown(leads, STATUSES, by=by), by, min_sample=30)
    assert [(r["utm_source"], r["utm_campaign"]) for r in pairs.to_dict("records")] == [
        ("facebook", "spring"),
        ("google", "חנוכה"),
    ]


def test_sorting_by_a_rate_puts_small_groups_last():
    # conversion among samples >= 30: (none) 100 %, facebook 11.2 %, whatsapp 9.8 %, tiktok 5.9 %;
    # then the podcast (sample 14) although its 50 % is the second highest rate
    got = A.utm_breakdown(SOURCES, STATUSES, sort_by="conversion_rate", min_sample=30)
    assert got["utm_source"].tolist() == ["(none)", "facebook", "whatsapp", "tiktok", "podcast"]
    plain = A.utm_breakdown(SOURCES, STATUSES, sort_by="conversion_rate")
    assert plain["utm_source"].tolist() == ["(none)", "podcast", "facebook", "whatsapp", "tiktok"]
    # junk rate among 30+ leads: (none) 50 %, whatsapp 18 %, tiktok 15 %, facebook 11 %; podcast after
    junk = A.utm_breakdown(SOURCES, STATUSES, sort_by="junk_rate", min_sample=30)
    assert junk["utm_source"].tolist() == ["(none)", "whatsapp", "tiktok", "facebook", "podcast"]
    # counts are not rates: the minimum does not change their order
    leads = A.utm_breakdown(SOURCES, STATUSES, sort_by="leads", min_sample=30)
    assert leads["utm_source"].tolist() == ["facebook", "(none)", "whatsapp", "tiktok", "podcast"]
    big = A.comparable(got, "conversion_rate", 30)
    assert big["utm_source"].tolist() == ["(none)", "facebook", "whatsapp", "tiktok"]
    named = A.comparable(got, "conversion_rate", 30, named=("utm_source",))
    assert named["utm_source"].tolist() == ["facebook", "whatsapp", "tiktok"]
    # junk samples are all leads: the podcast's 14 stay out, tiktok's 40 are in
    assert A.comparable(junk, "junk_rate", 40)["utm_source"].tolist() == [
        "(none)",
        "whatsapp",
        "tiktok",
        "facebook",
    ]


# -- Charts ----------------------------------------------------------------------------------------------

BREAKDOWN = pd.DataFrame(
    {
        "utm_source": ["google", "facebook", "tiktok"],
        "leads": [50, 40, 30],
        "won": [5, 4, 0],
        "junk": [10, 0, 6],
        "conversion_rate": [0.125, 0.1, 0.0],
        "ci_low": [0.05, 0.04, 0.0],
        "ci_high": [0.26, 0.23, 0.14],
        "share": [50 / 120, 40 / 120, 30 / 120],
        "junk_rate": [0.2, 0.0, 0.2],
        "junk_ci_low": [0.11, 0.0, 0.10],
        "junk_ci_high": [0.33, 0.09, 0.39],
    }
)


def test_a_source_has_one_colour_in_every_chart():
    bars = C.utm_bar_chart(BREAKDOWN, "utm_source", "leads")
    funnel = pd.DataFrame(
        {
            "utm_source": ["instagram", "instagram", "facebook", "facebook"],
            "stage": ["New", "Customer"] * 2,
            "leads": [8, 2, 4, 1],
            "pct_of_first": [100.0, 25.0, 100.0, 25.0],
            "pct_of_previous": [100.0, 25.0, 100.0, 25.0],
        }
    )
    compare = C.funnel_compare_chart(funnel, "utm_source")
    trend = pd.DataFrame(
        {"period": pd.to_datetime(["2026-03-01"] * 2), "utm_source": ["tiktok", "facebook"], "leads": [1, 2]}
    )
    over_time = C.leads_over_time_chart(trend, "W", by="utm_source")
    facebook_bar = list(bars.data[0].marker.color)[1]  # google, facebook, tiktok
    facebook_funnel = next(t for t in compare.data if t.name == "facebook").marker.color
    facebook_trend = next(t for t in over_time.data if t.name == "facebook").marker.color
    assert facebook_bar == facebook_funnel == facebook_trend == "#1877F2"
    # a value without a fixed colour gets the same one from its name alone, whatever else is drawn
    assert C.color_of("Podcast") == C.color_of(" podcast ") == C.color_of("podcast")
    assert C.color_of("podcast") in C.PALETTE
    owners = pd.DataFrame({"owner": ["Dana", "אבי"], "leads": [3, 2]})
    alone = pd.DataFrame({"owner": ["אבי"], "leads": [2]})
    with_dana = C.utm_bar_chart(owners, "owner").data[0].marker.color  # Dana, אבי
    avi_alone = C.utm_bar_chart(alone, "owner").data[0].marker.color  # אבי
    assert with_dana[1] == avi_alone[0] == C.color_of("אבי")


def test_rates_are_drawn_with_error_bars_and_one_decimal():
    conv = C.utm_bar_chart(BREAKDOWN, "utm_source", "conversion_rate")
    bar = conv.data[0]
    # google 12.5 % in 5 %..26 %: +13.5 / -7.5 points; facebook 10 % in 4 %..23 %: +13 / -6
    assert list(bar.error_y.array)[:2] == pytest.approx([0.135, 0.13])
    assert list(bar.error_y.arrayminus)[:2] == pytest.approx([0.075, 0.06])
    assert list(bar.text) == ["12.5%", "10.0%", "0.0%"]
    junk = C.utm_bar_chart(BREAKDOWN, "utm_source", "junk_rate").data[0]
    # google 20 % in 11 %..33 %: +13 / -9 points
    assert junk.error_y.array[0] == pytest.approx(0.13) and junk.error_y.arrayminus[0] == pytest.approx(0.09)
    assert list(junk.text) == ["20.0%", "0.0%", "20.0%"]
    combos = BREAKDOWN.assign(group=["google / cpc", "facebook / cpc", "tiktok / (none)"])
    by_source = C.utm_bar_chart(combos, "group", "conversion_rate", color_by="utm_source").data[0]
    assert list(by_source.marker.color) == [C.color_of("google"), "#1877F2", C.color_of("tiktok")]


def test_funnel_compare_one_labelled_bar_trace_per_group():
    long = pd.DataFrame(
        {
            "owner": ["Dana"] * 3 + ["(other)"] * 3,
            "stage": ["New", "Interested", "Customer"] * 2,
            "leads": [8, 4, 1, 20, 3, 0],
            "pct_of_first": [100.0, 50.0, 12.5, 100.0, 15.0, 0.0],
            "pct_of_previous": [100.0, 50.0, 25.0, 100.0, 15.0, 0.0],
        }
    )
    fig = C.funnel_compare_chart(long, "owner", period_label="March")
    assert [t.name for t in fig.data] == ["Dana", "(other)"]
    assert all(isinstance(t, go.Bar) and t.orientation == "h" for t in fig.data)
    assert fig.layout.barmode == "group"
    # every bar carries its own label outside the bar: no label hides another or reads as a total
    assert list(fig.data[0].text) == ["8 (100.0%)", "4 (50.0%)", "1 (12.5%)"]
    assert list(fig.data[1].text) == ["20 (100.0%)", "3 (15.0%)", "0 (0.0%)"]
    assert {t.textposition for t in fig.data} == {"outside"}
    assert list(fig.data[0].x) == [100.0, 50.0, 12.5]
    assert list(fig.layout.yaxis.categoryarray) == ["New", "Interested", "Customer"]
    assert fig.layout.title.subtitle.text == "March"  # the period on the subtitle line (phone screens)


# -- Pages -----------------------------------------------------------------------------------------------


def figure(at, index: int) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def test_funnel_page_compares_sources_as_labelled_bars_and_a_table(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/funnel.py")
    # non-junk leads of the period by source (see tests/test_pages.py):
    # facebook 1 (new), 2, 3 (won): New 3, Contacted 2, Interested 2, Customer 2
    # google 5 (lost, stage 1), 7 (interested), 10 (won): New 3, Contacted 3, Interested 2, Customer 1
    # (none) 6 (no answer, stage 1): New 1, Contacted 1, Interested 0, Customer 0
    spec = figure(at, 1)
    assert [(t["type"], t["name"]) for t in spec["data"]] == [("bar", "facebook"), ("bar", "google"),
                                                              ("bar", "(none)")]  # fmt: skip
    texts = {t["name"]: t["text"] for t in spec["data"]}
    assert texts == {
        "facebook": ["3 (100.0%)", "2 (66.7%)", "2 (66.7%)", "2 (66.7%)"],
        "google": ["3 (100.0%)", "3 (100.0%)", "2 (66.7%)", "1 (33.3%)"],
        "(none)": ["1 (100.0%)", "1 (100.0%)", "0 (0.0%)", "0 (0.0%)"],
    }
    table = at.dataframe[1].value
    got = {(r["utm_source"], r["stage"]): r["leads"] for r in table.to_dict("records")}
    assert got[("google", "Customer")] == 1 and got[("facebook", "Interested")] == 2
    assert spec["data"][0]["marker"]["color"] == "#1877F2"


def test_marketing_page_sorts_by_conversion_with_error_bars_and_says_when_there_is_no_leader(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/marketing.py")
    at.selectbox(key="sort").set_value("Conversion rate").run()
    assert not at.exception
    spec = figure(at, 0)
    bar = spec["data"][0]
    assert "error_y" in bar and bar["error_y"]["type"] == "data"
    # facebook 2/3, google 1/3 (samples 3 < 30, so the rates are sorted among the small groups); (none) 0/1
    assert bar["x"] == ["facebook", "google", "(none)"]
    assert bar["text"] == ["66.7%", "33.3%", "0.0%"]
    assert bar["marker"]["color"][0] == "#1877F2"
    assert any("With 95 % confidence the true conversion rate lies between" in c.value for c in at.caption)
    # no source / medium pair has 30 leads: a sentence instead of a chart
    texts = [t.value for t in at.text]
    assert any(
        t.startswith("No source / medium group with a known source has at least 30 leads") for t in texts
    )
    assert len(at.get("plotly_chart")) == 2  # the bars and the trend
    # by source with a minimum of 3: facebook 2/3 and google 1/3 (samples 3); (none) has no source
    at.number_input(key="min_leads").set_value(3).run()
    at.get("button_group")[-2].set_value("Source").run()  # "Down to" (the last one is the trend's "Per")
    assert not at.exception
    combos = figure(at, 1)["data"][0]
    assert combos["x"] == ["facebook", "google"]
    assert combos["text"] == ["66.7%", "33.3%"]
    assert combos["error_y"]["type"] == "data" and combos["error_y"]["symmetric"] is False


def test_marketing_page_without_customers_names_no_customer_leader(serve_leads):
    serve_leads([lead_item(n, "new", n % 5, "10:00:00", utm_source="facebook") for n in range(1, 41)])
    at = run_app("pages/marketing.py")
    texts = [t.value for t in at.text]
    assert texts[0] == "No customers in this period, so no group leads on conversion."
    assert texts[1] == "No junk leads in this period."
    assert "facebook" not in texts[:2]
