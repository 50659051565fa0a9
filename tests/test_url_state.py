"""Every page's own choices are in the URL (Streamlit's `bind="query-params"`): a shared link opens the page
with the same grouping, sort, split, period size, idle threshold and search, next to the sidebar's filters.

Same hand-built CRM as tests/test_pages.py (ITEMS, worked out there). Today = T (Jerusalem).
"""

from __future__ import annotations

import pytest

from tests.conftest import run_app
from tests.test_pages import ID, ITEMS

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def test_overview_link_with_week_buckets_and_an_idle_threshold(serve_leads):
    serve_leads(ITEMS)
    at = run_app(per="Week", idle_days="2")
    assert at.segmented_control(key="per").value == "Week"
    assert at.number_input(key="idle_days").value == 2
    assert at.get("plotly_chart")[0].proto.spec and "per week" in at.get("plotly_chart")[0].proto.spec
    # open leads, never updated: 1 (T-0), 6 (no answer, T-3), 7 (interested, T-20); idle 2+ days: 6 and 7
    # (the default 14 days would find 7 alone)
    assert "2 open leads (any creation date, other filters applied) idle for 2+ days." in [
        c.value for c in at.caption
    ]


def test_funnel_link_with_a_split(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/funnel.py", split="Owner")
    assert at.selectbox(key="split").value == "Owner"
    split = at.dataframe[1].value
    # junk left out; Dana: 1, 2, 5 -> New 3; Avi: 3, 7, 10 -> New 3; (unassigned): 6 -> New 1
    first_stage = split[split["stage"] == split["stage"].iloc[0]]
    assert dict(zip(first_stage.iloc[:, 0], first_stage["leads"], strict=True)) == {
        "Dana": 3,
        "Avi": 3,
        "(unassigned)": 1,
    }


def test_marketing_link_with_grouping_sort_and_minimum_sample(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/marketing.py", group=["Source", "Medium"], sort="Junk", min_leads="2")
    assert at.pills(key="group").value == ["Source", "Medium"]
    assert at.selectbox(key="sort").value == "Junk"
    assert at.number_input(key="min_leads").value == 2
    table = at.dataframe[0].value
    assert list(table.columns[:2]) == ["utm_source", "utm_medium"]
    # sorted by junk leads, most first: google (4, 11 junk) 2, then facebook (9) 1, then (none) 0
    assert list(table["junk"]) == [2, 1, 0]


def test_leads_link_with_a_search_across_dates(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/leads.py", q="050-111")
    assert at.text_input(key="q").value == "050-111"
    # lead 11's phone 050-111-2233, created T-8; nothing else has these digits
    assert list(at.dataframe[0].value["lead_id"]) == [ID(11)]


def test_an_invalid_page_value_in_the_link_falls_back_to_the_default(serve_leads):
    serve_leads(ITEMS)
    at = run_app(per="Fortnight")
    assert at.segmented_control(key="per").value == "Day"
