"""The dashboard in Chromium on each of the other CRMs (their fakes on loopback): a shared deep link opened
as the app's very first visit shows the page with the real navigation and a chart, the funnel offers the
connector's own dimension, Kommo takes a new lead, and the others explain that they cannot."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import NOW
from tests.e2e.conftest import running_app
from tests.fakes.aiployees import AiployeesFake
from tests.fakes.kommo import KommoFake
from tests.fakes.livetex import LiveTexFake

pytestmark = pytest.mark.e2e

FAKES = {  # source -> (fake, the funnel's connector dimension)
    "kommo": (lambda: KommoFake(size=300), "Pipeline"),
    "aiployees": (lambda: AiployeesFake(size=300), "Call campaign"),
    "livetex": (lambda: LiveTexFake(size=300), "Lead type"),
}


@pytest.fixture(scope="module", params=list(FAKES))
def connected(request, tmp_path_factory):
    make, dimension = FAKES[request.param]
    # The fake's leads are dated from the dashboard's clock, pinned for every test (tests/conftest.py NOW) but
    # not yet while this module-wide fixture runs: pin it here too, or the seeded leads would be newer than a
    # lead the test creates (stamped at NOW), as no real CRM's clock would make them.
    with pytest.MonkeyPatch.context() as pinned:
        pinned.setenv("LEADS_NOW", NOW)
        crm = make()
    with crm:
        env = {"LEADS_SOURCE": request.param, "LEADS_BASE_URL": crm.base_url, "LEADS_TOKEN": crm.token}
        with running_app(tmp_path_factory.mktemp(f"{request.param}-app"), env) as url:
            yield request.param, crm, url, dimension


def test_a_deep_link_as_first_visit_shows_the_funnel_with_the_app_navigation(page, connected):
    _, _, url, dimension = connected
    page.goto(f"{url}/funnel?preset=last-90-days")
    expect(page.get_by_role("heading", name="Funnel", exact=True)).to_be_visible(timeout=90_000)
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav).to_contain_text("Managers")  # the sections of st.navigation, not the pages/ file names
    expect(nav.get_by_role("link", name="New lead")).to_be_visible()
    expect(page.get_by_role("combobox", name="Created")).to_have_value("Last 90 days")
    chart = page.locator(".js-plotly-plot").first
    expect(chart.locator(".trace").first).to_be_attached(timeout=30_000)
    expect(page.locator(".js-plotly-plot")).to_have_count(2, timeout=30_000)  # the run has finished
    split = page.get_by_role("combobox", name="Split the funnel by")
    split.scroll_into_view_if_needed()  # a dropdown opened while the page scrolls closes again
    page.wait_for_timeout(500)
    split.click()
    expect(page.get_by_role("option", name=dimension)).to_be_visible(timeout=10_000)


def test_new_lead_on_each_crm(page, connected):
    source, crm, url, _ = connected
    page.goto(f"{url}/new_lead")
    expect(page.get_by_role("heading", name="New lead")).to_be_visible(timeout=90_000)
    if source != "kommo":
        expect(page.get_by_text("does not let the dashboard create leads")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="Create lead")).to_have_count(0)
        assert not crm.requests_to("/", method="POST")
        return
    page.get_by_role("textbox", name="Full name *").fill("Дмитрий Kommo 🚀")
    page.get_by_role("textbox", name="Phone *").fill("052-765-4321")
    page.get_by_role("button", name="Create lead").click()
    success = page.get_by_text(re.compile(r"Lead created — id \d+"))
    expect(success).to_be_visible(timeout=30_000)
    lead_id = int(re.search(r"id (\d+)", success.inner_text()).group(1))
    posts = crm.requests_to("/api/v4/leads/complex", method="POST")
    assert len(posts) == 1
    created = next(lead for lead in crm.leads if lead["id"] == lead_id)
    assert created["name"] == "Дмитрий Kommo 🚀"

    page.get_by_role("link", name="Leads").click()
    expect(page.get_by_role("heading", name="Leads")).to_be_visible(timeout=60_000)
    search = page.get_by_role("textbox", name="Search")
    search.fill("+972527654321")
    search.press("Enter")
    expect(page.get_by_text(re.compile(r"^1 lead found, created at any date"))).to_be_visible(timeout=30_000)
