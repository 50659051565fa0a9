"""AppTest of the dashboard pointed at the fake LiveTex holding a small hand-made data set.

Today = T (Jerusalem); the default period is the last 30 days, T-29 .. T. Every lead is created at 12:00
Moscow time on day T-d (Moscow is 0-1 h ahead of Jerusalem, so the day is the same in both zones).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import jerusalem_today, point_app_at, run_app
from tests.fakes.livetex import LiveTexFake

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")

PAGES = [
    "pages/overview.py",
    "pages/funnel.py",
    "pages/statuses.py",
    "pages/marketing.py",
    "pages/leads.py",
    "pages/new_lead.py",
    "pages/settings.py",
]


def item(n: int, kind: str, result: str, days_ago: int, **fields) -> dict:
    stamp = f"{(jerusalem_today() - timedelta(days=days_ago)).isoformat()}T12:00:00"
    return {
        "id": 700 + n,
        "name": f"Лид {n}",
        "phone": f"+7 916 000-00-{n:02d}",
        "type": kind,
        "result": result,
        "site": {"id": 1, "url": "https://clinic.example.co.il"},
        "entry_page": "https://clinic.example.co.il/",
        "created_at": stamp,
        "updated_at": stamp,
        **fields,
    }


ITEMS = [
    item(
        1, "form", "completed", 1, entry_page="https://clinic.example.co.il/?utm_source=google&utm_medium=cpc"
    ),
    item(2, "form", "missed", 2, ext_referer="https://www.google.com/"),
    item(3, "callback", "completed", 3),
    item(4, "callback", "missed", 4),
    item(5, "chat", "completed", 5),
    item(6, "form", "completed", 10),
    item(7, "form", "missed", 20),
    item(8, "form", "completed", 40),  # before the period
]
# In the period: leads 1-7 = 7 leads; handled (completed = won) 1, 3, 5, 6 = 4; no junk.
# Conversion 4 / 7 = 57.1 %, junk rate 0 / 7 = 0.0 %.
# Funnel by lead type (missed = stage 0 New, completed = stage 3 Customer, counted in every stage up to it):
#   form 1, 2, 6, 7 -> New 4, Contacted 2, Interested 2, Customer 2; callback 3, 4 -> 2, 1, 1, 1;
#   chat 5 -> 1, 1, 1, 1.


@pytest.fixture
def livetex(monkeypatch):
    with LiveTexFake(leads=ITEMS) as crm:
        point_app_at(monkeypatch, "livetex", crm)
        yield crm


def test_every_page_runs_on_livetex(livetex):
    at = run_app()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])


def test_overview_counts_handled_leads_as_customers(livetex):
    at = run_app()
    assert {m.label: m.value for m in at.metric} == {
        "Leads": "7",
        "Became customers": "4",
        "Conversion rate": "57.1%",
        "Junk rate": "0.0%",
    }


def test_funnel_split_by_lead_type(livetex):
    at = run_app("pages/funnel.py")
    assert "Lead type" in at.selectbox(key="split").options
    at.selectbox(key="split").set_value("Lead type").run()
    assert not at.exception
    got = {(r["lead_type"], r["stage"]): r["leads"] for r in at.dataframe[1].value.to_dict("records")}
    stages = ("New", "Contacted", "Interested", "Customer")
    assert {k: v for k, v in got.items() if v} == {
        **dict(zip((("form", s) for s in stages), (4, 2, 2, 2), strict=True)),
        **dict(zip((("callback", s) for s in stages), (2, 1, 1, 1), strict=True)),
        **dict(zip((("chat", s) for s in stages), (1, 1, 1, 1), strict=True)),
    }


def test_marketing_groups_by_lead_type(livetex):
    at = run_app("pages/marketing.py")
    group_by = at.get("button_group")[0]
    assert {"Lead type", "Site"} <= set(group_by.options)
    group_by.set_value(["Lead type"]).run()
    assert not at.exception
    table = at.dataframe[0].value
    # form 1, 2, 6, 7: 4 leads, 2 handled; callback 3, 4: 2, 1; chat 5: 1, 1
    assert table[["lead_type", "leads", "won"]].values.tolist() == [
        ["form", 4, 2],
        ["callback", 2, 1],
        ["chat", 1, 1],
    ]


def test_new_lead_page_explains_livetex_takes_no_leads(livetex):
    at = run_app("pages/new_lead.py")
    assert any("does not let the dashboard create leads" in i.value for i in at.info)
    assert any(f"LiveTex at {livetex.base_url}" in i.value for i in at.info)
    assert not list(at.text_input)  # no form to fill in
    assert livetex.requests_to("/v2/leads", method="POST") == []
