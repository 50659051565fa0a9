"""A front-desk user enters a lead in Chromium, sees its id, and finds it on the Leads page; a double click
on the submit button creates exactly one lead.

The app runs against a v2 CRM started here (the demo CRM's server on loopback), so the test can count the
CRM's leads before and after without going through the app.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from lib.demo.server import DemoCRM
from tests.e2e.conftest import running_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    with DemoCRM(tmp_path_factory.mktemp("crm"), size=40, page_size=25) as server:
        yield server


@pytest.fixture(scope="module")
def crm_app(crm, tmp_path_factory):
    env = {"LEADS_SOURCE": "v2", "LEADS_BASE_URL": crm.base_url, "LEADS_TOKEN": crm.token}
    with running_app(tmp_path_factory.mktemp("app-data"), env) as url:
        yield url


def open_form(page, url: str) -> None:
    page.goto(f"{url}/new_lead")
    expect(page.get_by_role("heading", name="New lead")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("textbox", name="Full name *")).to_be_visible(timeout=30_000)


def fill(page, name: str, phone: str) -> None:
    page.get_by_role("textbox", name="Full name *").fill(name)
    page.get_by_role("textbox", name="Phone *").fill(phone)
    page.get_by_role("textbox", name="Phone *").blur()


def created_id(page) -> str:
    success = page.get_by_text(re.compile(r"Lead created — id \d+"))
    expect(success).to_be_visible(timeout=30_000)
    return re.search(r"id (\d+)", success.inner_text()).group(1)


def test_enter_a_lead_and_find_it_on_the_leads_page(page, crm, crm_app):
    before = crm.db.count()
    open_form(page, crm_app)
    fill(page, "ישראלה בדיקה", "053-123-4567")
    page.get_by_role("button", name="Create lead").click()
    lead_id = created_id(page)
    assert crm.db.count() == before + 1
    stored = {lead["id"]: lead for lead in crm.db.leads_page(0, 1000)}[lead_id]
    assert (stored["name"], stored["f_name"], stored["phone"]) == (
        "ישראלה בדיקה",
        "ישראלה בדיקה",
        "+972531234567",
    )
    expect(page.get_by_role("textbox", name="Full name *")).to_have_value(
        ""
    )  # the form is cleared for the next one

    page.get_by_role("link", name="Leads").click()  # the sidebar navigation, same session
    expect(page.get_by_role("heading", name="Leads")).to_be_visible(timeout=60_000)
    search = page.get_by_role("textbox", name="Search")
    search.fill("ישראלה בדיקה")
    search.press("Enter")
    expect(page.get_by_text("1 lead found, created at any date.")).to_be_visible(timeout=30_000)
    grid = page.locator('[data-testid="stDataFrame"]')
    expect(grid).to_be_visible()
    # the grid draws on a canvas; its accessible copy holds the cells (the visible columns only)
    cells = grid.locator('[role="gridcell"]')
    expect(cells.filter(has_text=re.compile(r"^ישראלה בדיקה$"))).to_have_count(1, timeout=30_000)
    expect(cells.filter(has_text=re.compile(r"^053-123-4567$"))).to_have_count(1)  # sent as +972531234567


def test_a_double_click_creates_exactly_one_lead(page, crm, crm_app):
    open_form(page, crm_app)
    fill(page, "Double Click", "054-555-1234")
    before = crm.db.count()
    page.get_by_role("button", name="Create lead").dblclick()
    created_id(page)
    page.wait_for_timeout(2000)  # let a second run, if any, finish
    assert crm.db.count() == before + 1
    phones = [lead["phone"] for lead in crm.db.leads_page(0, 1000)]
    assert phones.count("+972545551234") == 1
