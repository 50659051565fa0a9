"""AppTest smoke of every page with the app pointed at the fake aiployees platform holding LEADS below.

Today = T (Jerusalem); the default period is the last 30 days, T-29 .. T. Times are sent UTC-naive at 10:00,
which is 12:00 or 13:00 the same day in Jerusalem, so each lead falls on the day written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.conftest import jerusalem_today, point_app_at, run_app
from tests.fakes.aiployees import AiployeesFake

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")

WEBINAR, CALLBACK = (1, "Webinar follow-up"), (2, "חזרה ללידים מפייסבוק")


def lead(n: int, status: str, days_ago: int, campaign: tuple[int, str], **variables: str) -> dict:
    when = f"{(jerusalem_today() - timedelta(days=days_ago)).isoformat()} 10:00:00"
    return {
        "id": n,
        "campaign_id": campaign[0],
        "phone_number": f"+97250100{n:04d}",
        "variables": {"customer_name": f"Lead {n}", **variables},
        "status": status,
        "created_at": when,
        "updated_at": when,
        "campaign": {"id": campaign[0], "name": campaign[1]},
        "secondary_contacts": [],
    }


LEADS = [
    lead(1, "completed", 2, WEBINAR, utm_source="fb"),  # won, stage 3
    lead(2, "completed", 5, CALLBACK, UTM_SOURCE="Facebook"),  # won, stage 3
    lead(3, "created", 1, WEBINAR),  # open, stage 0
    lead(4, "processing", 3, WEBINAR, utmSource="google"),  # open, stage 1
    lead(5, "reached-max-retries", 10, CALLBACK),  # lost, stage 1
    lead(6, "blacklisted", 4, CALLBACK),  # junk
    lead(7, "rescheduled", 12, WEBINAR),  # open, stage 1
    lead(8, "completed", 45, WEBINAR),  # before the period
    lead(9, "scheduled", 20, CALLBACK),  # open, stage 0
]
# In the period: leads 1-7 and 9 = 8 leads; customers (completed) 1, 2 = 2; junk 6 = 1.
# Conversion 2 / (8 - 1) = 28.6 %, junk rate 1 / 8 = 12.5 %.
# Funnel without junk (1, 2, 3, 4, 5, 7, 9 = 7), each lead counted in every stage up to its own:
#   New 7 · Contacted (>= 1: 1, 2, 4, 5, 7) 5 · Interested (>= 2: 1, 2) 2 · Customer (1, 2) 2.
# By call campaign: Webinar 1 (3), 3 (0), 4 (1), 7 (1) -> New 4, Contacted 3, Interested 1, Customer 1;
#   Callback 2 (3), 5 (1), 9 (0) -> 3, 2, 1, 1.


@pytest.fixture
def aiployees(monkeypatch) -> Iterator[AiployeesFake]:
    with AiployeesFake(LEADS) as crm:
        point_app_at(monkeypatch, "aiployees", crm)
        yield crm


@pytest.mark.parametrize(
    "page",
    ["pages/statuses.py", "pages/marketing.py", "pages/leads.py", "pages/settings.py"],
)
def test_every_page_runs(aiployees, page):
    at = run_app(page)
    assert at.title


def test_overview_counts_completed_calls_as_customers(aiployees):
    at = run_app()
    got = {m.label: m.value for m in at.metric}
    assert (got["Leads"], got["Became customers"], got["Conversion rate"], got["Junk rate"]) == (
        "8",
        "2",
        "28.6%",
        "12.5%",
    )


def test_funnel_and_split_by_call_campaign(aiployees):
    at = run_app("pages/funnel.py")
    assert list(at.dataframe[0].value["leads"]) == [7, 5, 2, 2]
    assert "Call campaign" in at.selectbox(key="split").options
    at.selectbox(key="split").set_value("Call campaign").run()
    assert not at.exception
    got = {(r["campaign"], r["stage"]): r["leads"] for r in at.dataframe[1].value.to_dict("records")}
    assert got == {
        ("Webinar follow-up", "New"): 4, ("Webinar follow-up", "Contacted"): 3,
        ("Webinar follow-up", "Interested"): 1, ("Webinar follow-up", "Customer"): 1,
        ("חזרה ללידים מפייסבוק", "New"): 3, ("חזרה ללידים מפייסבוק", "Contacted"): 2,
        ("חזרה ללידים מפייסבוק", "Interested"): 1, ("חזרה ללידים מפייסבוק", "Customer"): 1,
    }  # fmt: skip


def test_statuses_page_uses_the_platforms_status_names(aiployees):
    at = run_app("pages/statuses.py")
    rows = {r["status"]: r["leads"] for r in at.dataframe[0].value.to_dict("records")}
    # every status of the fixed set has its row, in the period: 1, 2 completed; 3 created; ...
    assert rows == {
        "Created": 1,
        "Scheduled": 1,
        "Calling": 1,
        "Completed": 2,
        "Rescheduled": 1,
        "Max retries reached": 1,
        "Blacklisted": 1,
    }


def test_leads_table_shows_the_call_campaign(aiployees):
    at = run_app("pages/leads.py")
    table = at.dataframe[0].value
    assert len(table) == 8
    assert set(table["campaign"]) == {"Webinar follow-up", "חזרה ללידים מפייסבוק"}


def test_new_lead_page_explains_leads_cannot_be_created_here(aiployees):
    at = run_app("pages/new_lead.py")
    text = " ".join(i.value for i in at.info)
    assert f"aiployees at {aiployees.base_url} does not let the dashboard create leads" in text
    assert not at.button or all("Create" not in b.label for b in at.button)
    assert aiployees.requests_to("/user/lead", method="POST") == []
