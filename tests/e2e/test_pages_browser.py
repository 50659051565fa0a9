"""A person opens every page from the sidebar navigation in Chromium, changes a shared filter, and sees the
charts, the KPIs and the URL follow. Screenshots of a failing page land in tests/e2e/screenshots/."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

NAV = '[data-testid="stSidebarNav"]'
PAGES = {  # navigation label -> something only that page shows once it has rendered
    "Funnel": ".js-plotly-plot",
    "Statuses": ".js-plotly-plot",
    "Goals": '[data-testid="stDataFrame"]',  # the goals editor
    "Ad spend": '[data-testid="stFileUploader"]',
    "Marketing": ".js-plotly-plot",
    "Leads": '[data-testid="stDataFrame"]',
    "Settings": '[data-testid="stDataFrame"]',  # the funnel mapping editor
    "Overview": ".js-plotly-plot",
}


def pick(page: Page, label: str, option: str) -> None:
    """Choose `option` in the sidebar select or multiselect labelled `label`, as a person would."""
    box = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name=label, exact=True)
    # The sidebar scrolls to bring a low select into view; a list opened while it still scrolls closes again,
    # as it would for a person clicking mid-scroll: scroll first, then open it.
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def chart_title(page: Page) -> str:
    """The first chart's title with its subtitle line (the period)."""
    return page.locator(".js-plotly-plot .g-gtitle").first.text_content() or ""


def overview_leads(page: Page) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Leads").first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def test_every_page_opens_from_the_sidebar_and_keeps_the_filter(page, app_url):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=60_000)
    pick(page, "Created", "Last 90 days")
    expect(page).to_have_url(re.compile(r"[?&]preset=last-90-days"), timeout=15_000)
    for name, shows in PAGES.items():
        page.locator(NAV).get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible(timeout=30_000)
        expect(page.locator(shows).first).to_be_visible(timeout=30_000)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        if name not in ("Settings", "Ad spend"):  # no lead filters there; the others keep the preset
            expect(page).to_have_url(re.compile(r"[?&]preset=last-90-days"))
            created = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Created")
            expect(created).to_have_value("Last 90 days")


def test_changing_filters_updates_the_kpis_the_chart_and_the_url(page, app_url):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=60_000)
    chart = page.locator(".js-plotly-plot").first
    expect(chart.locator(".gtitle")).to_contain_text("Leads created per day", timeout=30_000)
    title_30 = chart_title(page)
    leads_30 = overview_leads(page)

    pick(page, "Created", "Last 7 days")
    expect(page).to_have_url(re.compile(r"[?&]preset=last-7-days"), timeout=15_000)
    expect(chart.locator(".g-gtitle")).not_to_have_text(title_30, timeout=15_000)
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Leads").first.locator(
        '[data-testid="stMetricValue"]')).not_to_have_text(leads_30, timeout=15_000)  # fmt: skip
    # one bar per day with leads: at most 7 now
    expect(chart.locator("g.point path").first).to_be_attached(timeout=15_000)
    assert 1 <= chart.locator("g.point path").count() <= 7
    leads_7 = int(overview_leads(page).replace(",", ""))

    # The Marketing page under the same preset: narrowing to one UTM source narrows its table and the URL
    page.locator(NAV).get_by_role("link", name="Marketing").click()
    expect(page.get_by_role("heading", name="Marketing", exact=True)).to_be_visible(timeout=30_000)
    pick(page, "UTM source", "facebook")
    expect(page).to_have_url(re.compile(r"[?&]source=facebook"), timeout=15_000)
    expect(page).to_have_url(re.compile(r"[?&]preset=last-7-days"))
    # the bars by source now show facebook alone
    bars = page.locator(".js-plotly-plot").first
    expect(bars.locator(".xtick text")).to_have_text(["facebook"], timeout=15_000)

    # Back on the Overview the source filter holds and the count is at most what it was
    page.locator(NAV).get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"[?&]source=facebook"))
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible()
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=15_000
    )
    assert int(overview_leads(page).replace(",", "")) <= leads_7
