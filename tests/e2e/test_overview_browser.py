"""A person opens the dashboard with nothing configured and sees the Overview on demo data."""

import re

from playwright.sync_api import expect


def test_overview_renders_kpis_and_the_plotly_chart(page, app_url):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Demo data").first).to_be_visible()
    metrics = page.locator('[data-testid="stMetric"]')
    expect(metrics).to_have_count(4, timeout=30_000)
    expect(metrics.first).to_contain_text("Leads")
    expect(metrics.first.locator('[data-testid="stMetricValue"]')).to_have_text(re.compile(r"^[\d,]+$"))
    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible(timeout=30_000)
    # Plotly drew real bars (one per day with leads), not an empty frame
    expect(chart.locator("g.point path").first).to_be_attached(timeout=30_000)
    assert chart.locator("g.point path").count() >= 10
    expect(chart.locator(".gtitle")).to_contain_text("Leads created per day")
