"""AppTest of the Overview page: the KPIs it shows for a small CRM whose numbers are worked out by hand."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import lead_item, run_app

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


# Today = T (Jerusalem), now = 14:00 (conftest NOW). Default period: the last 30 days, T-29 .. T until 14:00;
# previous period T-59 .. T-30 until 14:00 (the same part of the 30 days before).
ITEMS = [
    lead_item(1, "new", 0, "10:00:00"),
    lead_item(2, "converted", 1, "09:00:00"),
    lead_item(3, "returning", 5, "12:00:00"),  # won
    lead_item(4, "duplicate", 10, "15:00:00"),  # junk
    lead_item(5, "not_interested", 29, "00:30:00"),  # first day of the period (the day before in UTC)
    lead_item(6, "converted", 30, "23:30:00"),  # last day of the previous period, but after its 14:00 cut
    lead_item(7, "new", 40, "11:00:00"),
    lead_item(8, "new", 45, "11:00:00"),
    lead_item(9, "faulty", 59, "08:00:00"),  # junk
    lead_item(10, "converted", 60, "12:00:00"),  # before both periods
]
# Period: 5 leads, 2 won (converted + returning; won = last updated in the period), 1 junk
# -> 2 / (5 - 1) = 50.0 %
# Previous: 3 leads (7, 8, 9), none won, 1 junk -> 0 / 2 = 0.0 %; no lead won in the previous period either
# (lead 6 is after the cut, lead 10 before the start).


def metrics(at: AppTest) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def test_kpis_for_the_last_30_days_against_the_30_before(serve_leads):
    serve_leads(ITEMS)
    at = run_app()
    assert at.title[0].value == "Overview"
    assert metrics(at) == {
        "Leads": ("5", "+2 (+66.7%)"),
        "Became customers": ("2", "+2"),
        "Conversion rate": ("50.0%", "+50.0 pp"),
        "Junk rate": ("20.0%", "-13.3 pp"),  # 1 / 5 = 20.0 % against 1 / 3 = 33.3 %
    }
    assert len(at.get("plotly_chart")) == 2  # leads over time, top sources
    assert not [m for m in at.sidebar.markdown if "Demo data" in m.value]


def test_a_narrower_date_range_recomputes_the_kpis(serve_leads):
    serve_leads(ITEMS)
    at = run_app()
    at.sidebar.selectbox(key="f_preset").set_value("Last 7 days").run()
    # T-6 .. T until 14:00: leads 1, 2, 3 (2 won, no junk); previous T-13 .. T-7 until 14:00: lead 4 (junk)
    assert metrics(at) == {
        "Leads": ("3", "+2 (+200.0%)"),
        "Became customers": ("2", "+2"),
        "Conversion rate": ("66.7%", ""),  # 2 / 3; no previous rate to compare with (1 lead, 1 junk)
        "Junk rate": ("0.0%", "-100.0 pp"),
    }


def test_an_empty_crm_says_so_instead_of_a_chart(serve_leads):
    serve_leads([])
    at = run_app()
    assert metrics(at)["Leads"] == ("0", "0")
    assert metrics(at)["Conversion rate"][0] == "—"
    assert "The CRM has no leads yet" in at.info[0].value
    assert len(at.get("plotly_chart")) == 0


def test_with_nothing_configured_the_demo_crm_is_used_and_badged(monkeypatch):
    monkeypatch.setenv("LEADS_DEMO_SIZE", "300")
    at = run_app()
    assert [m.value for m in at.sidebar.markdown if "badge" in m.value] == [":orange-badge[🧪 Demo data]"]
    leads = int(metrics(at)["Leads"][0].replace(",", ""))
    assert 0 < leads <= 300
    assert "300 leads" in at.sidebar.caption[0].value


def test_a_bad_setting_is_explained_on_the_page_not_a_traceback(monkeypatch):
    monkeypatch.setenv("LEADS_SOURCE", "v2")
    monkeypatch.setenv("LEADS_BASE_URL", "http://crm.example.com")
    at = run_app()
    assert "not configured correctly" in at.error[0].value
    # each problem escaped for Markdown (it may quote what was typed): read it without the escapes
    text = re.sub(r"\\(.)", r"\1", " ".join(m.value for m in at.markdown))
    assert "LEADS_TOKEN is required" in text and "https://" in text


def test_a_wrong_token_is_explained_on_the_page(serve_leads, monkeypatch):
    serve_leads(ITEMS)
    monkeypatch.setenv("LEADS_TOKEN", "not-the-right-token")
    at = run_app()
    assert "refused the token (401" in at.error[0].value
    assert "not-the-right-token" not in at.error[0].value
