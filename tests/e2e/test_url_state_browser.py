"""A person sets up a page (grouping, sort, search) and shares the link: whoever opens it sees the same view.
The page's choices are bound to the URL by Streamlit; the sidebar's filters write only their own keys, so
changing a filter keeps the page's choices in the link."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.test_pages_browser import pick


def test_marketing_choices_and_filters_travel_together_in_the_link(page, browser, app_url):
    page.goto(f"{app_url}/marketing")
    expect(page.get_by_role("heading", name="Marketing", exact=True)).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Medium", exact=True).click()  # group by source and medium
    expect(page).to_have_url(re.compile(r"[?&]group=Source&group=Medium"), timeout=15_000)
    page.get_by_role("combobox", name="Sort by", exact=True).click()
    page.get_by_role("option", name="Junk rate", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]sort=Junk\+rate"), timeout=15_000)
    # a sidebar filter joins the link without dropping the page's choices
    pick(page, "Created", "Last 90 days")
    expect(page).to_have_url(re.compile(r"[?&]preset=last-90-days"), timeout=15_000)
    expect(page).to_have_url(re.compile(r"group=Medium"))
    expect(page).to_have_url(re.compile(r"sort=Junk\+rate"))
    link = page.url

    # someone else opens the link: same grouping, sort and period
    other = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US").new_page()
    try:
        other.goto(link)
        expect(other.get_by_role("heading", name="Marketing", exact=True)).to_be_visible(timeout=60_000)
        expect(other.get_by_role("combobox", name="Sort by", exact=True)).to_have_value(
            "Junk rate", timeout=30_000
        )
        sidebar = other.locator('[data-testid="stSidebar"]')
        expect(sidebar.get_by_role("combobox", name="Created", exact=True)).to_have_value("Last 90 days")
        table = other.locator('[data-testid="stDataFrame"]').first
        expect(table).to_contain_text("utm_medium", timeout=30_000)
    finally:
        other.context.close()


def test_a_leads_search_is_in_the_link_and_shown_as_text(page, app_url):
    page.goto(f"{app_url}/leads")
    expect(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible(timeout=60_000)
    search = page.get_by_role("textbox", name="Search")
    search.fill("[x](https://example.com)")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=%5Bx%5D%28https"), timeout=15_000)
    expect(page.get_by_text("No lead matches the search")).to_be_visible(timeout=30_000)
    assert page.locator('a[href="https://example.com"]').count() == 0  # never a live link
    page.reload()
    expect(page.get_by_role("textbox", name="Search")).to_have_value(
        "[x](https://example.com)", timeout=60_000
    )
