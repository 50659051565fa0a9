"""AppTest of every page with the app pointed at the fake Kommo (LEADS_SOURCE=kommo) holding a small,
hand-made set of leads whose numbers are worked out below.

Today = T (Jerusalem); the default period is the last 30 days, T-29 .. T. The fake's default pipelines:
Sales (main) with 5 open statuses -> stages 0, 0, 1, 1, 2, then won (142) and lost (143, stage 1);
Partners with 3 open statuses -> stages 0, 1, 2, then won and lost.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import point_app_at, run_app
from tests.fakes.kommo import PARTNERS, SALES, KommoFake, days_ago, utm_fields

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def lead(n: int, pid: int, sid: int, days: int, **fields) -> dict:
    created = days_ago(days, hour=9)
    return {"id": 300 + n, "name": f"Lead {n}", "price": 0, "responsible_user_id": 8100003, "status_id": sid,
            "pipeline_id": pid, "created_at": created, "updated_at": created, "closed_at": None,
            "custom_fields_values": None, "_embedded": {"tags": []}, **fields}  # fmt: skip


LEADS = [
    lead(1, SALES, 61000011, 0, custom_fields_values=utm_fields(utm_source="fb")),  # New inquiry: stage 0
    lead(2, SALES, 142, 1, price=3000, custom_fields_values=utm_fields(utm_source="google")),  # won: 3
    lead(3, SALES, 143, 5),  # lost: stage 1
    lead(4, SALES, 61000014, 10),  # Proposal sent: stage 2
    lead(5, PARTNERS, 62000011, 3, responsible_user_id=8100002),  # בטיפול: stage 1
    lead(6, PARTNERS, 142, 40),  # won, but before the period
    lead(7, SALES, 61000012, 20),  # Contacted: stage 1
]
# In the period: leads 1-5 and 7 = 6 leads; won: lead 2 = 1; junk: none (Kommo has no junk status).
# Conversion 1 / (6 - 0) = 16.7 %; junk rate 0 / 6 = 0.0 %.
# Funnel: New 6 (all) · Contacted (stage >= 1: 2, 3, 4, 5, 7) 5 · Interested (>= 2: 2, 4) 2 · Customer 1.
# By pipeline: Sales (1, 2, 3, 4, 7) -> New 5, Contacted 4, Interested 2, Customer 1;
#   Partners (5) -> New 1, Contacted 1, Interested 0, Customer 0.


@pytest.fixture
def kommo_app(monkeypatch):
    with KommoFake(LEADS) as crm:
        point_app_at(monkeypatch, "kommo", crm)
        yield crm


def test_every_page_runs_against_kommo(kommo_app):
    at = run_app()
    titles = {}
    for page in ("overview", "funnel", "statuses", "marketing", "leads", "new_lead", "settings"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
        titles[page] = at.title[0].value
    assert titles["funnel"] == "Funnel" and titles["new_lead"] == "New lead"


def test_overview_counts_the_last_30_days(kommo_app):
    at = run_app()
    assert {m.label: m.value for m in at.metric} == {
        "Leads": "6",
        "Became customers": "1",
        "Conversion rate": "16.7%",
        "Junk rate": "0.0%",
    }


def test_funnel_stages_and_the_pipeline_dimension(kommo_app):
    at = run_app("pages/funnel.py")
    steps = at.dataframe[0].value
    assert list(steps["stage"]) == ["New", "Contacted", "Interested", "Customer"]
    assert list(steps["leads"]) == [6, 5, 2, 1]
    split = at.selectbox(key="split")
    assert "Pipeline" in split.options
    split.set_value("Pipeline").run()
    got = {(r["pipeline"], r["stage"]): r["leads"] for r in at.dataframe[1].value.to_dict("records")}
    assert {k: v for k, v in got.items() if k[0] == "Sales"} == {
        ("Sales", "New"): 5, ("Sales", "Contacted"): 4, ("Sales", "Interested"): 2, ("Sales", "Customer"): 1,
    }  # fmt: skip
    assert got[("Partners", "New")] == 1 and got[("Partners", "Contacted")] == 1


def test_statuses_page_names_statuses_with_their_pipeline(kommo_app):
    at = run_app("pages/statuses.py")
    rows = {r["status"]: r["leads"] for r in at.dataframe[0].value.to_dict("records")}
    assert rows["Sales · Closed - won"] == 1
    assert rows["Partners · בטיפול"] == 1
    assert rows["Sales · Meeting scheduled"] == 0  # an active status without leads keeps its row
    assert sum(rows.values()) == 6


def test_new_lead_form_offers_kommo_statuses_and_creates_through_complex(kommo_app):
    at = run_app("pages/new_lead.py")
    status = at.selectbox(key="nl0_status_id")
    assert status.options[:2] == ["Sales · Incoming leads", "Sales · New inquiry"]  # shown names
    at.text_input(key="nl0_name").input("דנה טל")
    at.text_input(key="nl0_phone").input("054-765-4321")
    status.set_value("3177801:62000012")  # Partners · מעוניין
    [button] = [b for b in at.button if b.label == "Create lead"]
    button.click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    posts = kommo_app.requests_to("/api/v4/leads/complex", method="POST")
    assert len(posts) == 1
    sent = json.loads(posts[0].body)[0]
    assert (sent["pipeline_id"], sent["status_id"]) == (PARTNERS, 62000012)
    phone = sent["_embedded"]["contacts"][0]["custom_fields_values"][0]["values"][0]["value"]
    assert phone == "+972547654321"
    assert any("Lead created — id 308" in s.value for s in at.success)  # the fake's next id after 307
