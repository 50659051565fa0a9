"""The shared sidebar filters and the URL: a link with filters reproduces the view (numbers and widgets),
an invalid value is ignored with a notice, and the selection survives a page switch.

Same hand-built CRM as tests/test_pages.py (ITEMS, worked out there). Today = T (Jerusalem).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP, STATUS, jerusalem_today
from tests.test_pages import ITEMS

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def open_link(**query) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def notices(at: AppTest) -> list[str]:
    return [w.value for w in at.sidebar.warning if "Ignored from the link" in w.value]


def test_a_link_with_preset_source_and_statuses_reproduces_the_view(serve_leads):
    serve_leads(ITEMS)
    won = [STATUS["converted"], STATUS["returning"]]
    at = open_link(preset="last-7-days", source="facebook", status=won)
    # T-6 .. T, facebook, converted or returning: lead 2 (Facebook, converted, T-1) and lead 3 (פייסבוק,
    # returning, T-5); lead 10 is converted but from google.
    assert metrics(at) == {
        "Leads": "2",
        "Became customers": "2",
        "Conversion rate": "100.0%",
        "Junk rate": "0.0%",
    }
    assert at.sidebar.selectbox(key="f_preset").value == "Last 7 days"
    assert at.sidebar.multiselect(key="f_source").value == ["facebook"]
    assert at.sidebar.multiselect(key="f_status").value == won
    assert at.sidebar.multiselect(key="f_owner").value == []
    assert not notices(at)
    # the URL still says the same after the run (and nothing more)
    assert at.query_params == {"preset": "last-7-days", "source": "facebook", "status": won}


def test_a_link_with_owner_medium_and_channel(serve_leads):
    serve_leads(ITEMS)
    at = open_link(owner="Avi", preset="all-time")
    # All time, Avi: 3 (won), 4 (junk), 7 (open), 8 (won, T-40), 10 (won) -> 5 leads, 3 won, 1 junk
    assert metrics(at)["Leads"] == "5"
    assert metrics(at)["Became customers"] == "3"
    assert metrics(at)["Conversion rate"] == "75.0%"
    assert at.sidebar.selectbox(key="f_preset").value == "All time"
    assert at.sidebar.multiselect(key="f_owner").value == ["Avi"]


@pytest.mark.parametrize(
    ("query", "leads"),
    [
        ({"owner": "(unassigned)"}, "1"),  # lead 6 is the only one without an owner
        ({"source": "(none)"}, "1"),  # ... and the only one without a UTM source
        ({"channel": "Direct"}, "1"),  # no source, no medium, no referrer: Direct
        ({"source": ["facebook", "google"], "owner": "Dana"}, "5"),  # Dana's leads 1, 2, 5, 9, 11
    ],
)
def test_special_values_in_the_link(serve_leads, query, leads):
    serve_leads(ITEMS)
    at = open_link(**query)
    assert not notices(at)
    assert metrics(at)["Leads"] == leads


def test_a_custom_date_range_from_the_link(serve_leads):
    serve_leads(ITEMS)
    today = jerusalem_today()
    start, end = today - timedelta(days=12), today - timedelta(days=8)
    # the link may give the dates in either order
    at = open_link(**{"from": end.isoformat(), "to": start.isoformat()})
    # T-12 .. T-8: leads 5 (lost, T-12), 4 (junk, T-10), 11 (junk, T-8) -> 3 leads, 0 won, 2 junk
    assert metrics(at)["Leads"] == "3"
    assert metrics(at)["Became customers"] == "0"
    assert metrics(at)["Junk rate"] == "66.7%"
    assert at.sidebar.selectbox(key="f_preset").value == "Custom"
    assert at.sidebar.date_input(key="f_range").value == (start, end)
    assert at.query_params["from"] == start.isoformat() and at.query_params["to"] == end.isoformat()


def test_invalid_values_in_the_link_are_ignored_with_a_notice(serve_leads):
    serve_leads(ITEMS)
    at = open_link(status="123", preset="bogus", source=["facebook", "myspace"])
    (notice,) = notices(at)
    for part in ("date preset “bogus”", "status “123”", "utm source “myspace”"):
        assert part in notice
    # the valid part is kept: facebook over the default last 30 days -> leads 1, 2, 3, 9
    assert at.sidebar.selectbox(key="f_preset").value == "Last 30 days"
    assert at.sidebar.multiselect(key="f_status").value == []
    assert at.sidebar.multiselect(key="f_source").value == ["facebook"]
    assert metrics(at)["Leads"] == "4"
    # the URL is rewritten to what is in force
    assert at.query_params == {"source": "facebook"}
    # the notice is shown once, not on every rerun
    at.run()
    assert not notices(at)


def test_bad_dates_in_the_link_are_ignored_with_a_notice(serve_leads):
    serve_leads(ITEMS)
    at = open_link(**{"from": "2024-13-40", "to": "yesterday"})
    assert any("dates “2024-13-40” – “yesterday”" in n for n in notices(at))
    assert at.sidebar.selectbox(key="f_preset").value == "Last 30 days"
    assert metrics(at)["Leads"] == "10"


def test_changing_a_widget_updates_the_url_and_the_numbers(serve_leads):
    serve_leads(ITEMS)
    at = open_link()
    assert at.query_params == {}
    at.sidebar.multiselect(key="f_source").set_value(["google"]).run()
    # google in the last 30 days: 4, 5, 7, 10, 11 -> 5 leads, 1 won, 2 junk
    assert metrics(at)["Leads"] == "5"
    assert metrics(at)["Became customers"] == "1"
    assert at.query_params == {"source": "google"}
    at.sidebar.selectbox(key="f_preset").set_value("Last 7 days").run()
    # T-6 .. T: no google lead (the newest, lead 10, is T-7)
    assert metrics(at)["Leads"] == "0"
    assert at.query_params == {"preset": "last-7-days", "source": "google"}


def test_filters_survive_a_page_switch(serve_leads):
    serve_leads(ITEMS)
    at = open_link()
    at.sidebar.multiselect(key="f_source").set_value(["google"]).run()
    at.switch_page("pages/funnel.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Funnel"
    assert at.sidebar.multiselect(key="f_source").value == ["google"]
    assert at.query_params == {"source": "google"}
    # google, non-junk: 5 (lost, stage 1), 7 (interested, stage 2), 10 (won) -> New 3, Contacted 3,
    # Interested 2, Customer 1
    assert list(at.dataframe[0].value["leads"]) == [3, 3, 2, 1]
    at.switch_page("pages/leads.py").run()
    assert at.sidebar.multiselect(key="f_source").value == ["google"]
    assert at.caption[0].value.startswith("5 leads created")


def test_clear_filters_empties_the_selection_and_the_url(serve_leads):
    serve_leads(ITEMS)
    at = open_link(preset="last-7-days", source="facebook")
    assert metrics(at)["Leads"] == "4"  # T-6 .. T, facebook: leads 1, 2, 3 and 9 (faulty, still a lead)
    next(b for b in at.sidebar.button if b.label == "Clear filters").click().run()
    assert not at.exception, at.exception
    assert at.query_params == {}
    assert at.sidebar.selectbox(key="f_preset").value == "Last 30 days"
    assert at.sidebar.multiselect(key="f_source").value == []
    assert metrics(at)["Leads"] == "10"
