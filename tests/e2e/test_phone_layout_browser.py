"""A phone-size screen (390 × 844, an iPhone 12-14): the KPI cards form a compact 2 × 2 grid instead of
four full-width cards, chart titles fit the screen, and the New lead form asks for the phone early."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, request):
    context = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True)
    pg = context.new_page()
    yield pg
    context.close()


def test_overview_kpis_are_a_two_by_two_grid_and_titles_fit(phone, app_url):
    phone.goto(app_url)
    expect(phone.get_by_role("heading", name="Overview")).to_be_visible(timeout=60_000)
    cards = phone.locator('[data-testid="stMetric"]')
    expect(cards).to_have_count(4, timeout=30_000)
    boxes = [cards.nth(i).bounding_box() for i in range(4)]
    # two cards side by side per row: same top, the second to the right of the first, both within the screen
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and abs(boxes[2]["y"] - boxes[3]["y"]) < 2
    assert boxes[2]["y"] > boxes[0]["y"] + boxes[0]["height"] - 2  # the second row is below the first
    assert boxes[1]["x"] > boxes[0]["x"] + boxes[0]["width"] - 2
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= PHONE["width"] + 1 for b in boxes)
    # the whole grid fits on the first screen (four stacked cards took ~1.3 screens)
    assert boxes[3]["y"] + boxes[3]["height"] < PHONE["height"]
    # every chart title is drawn inside the screen, not clipped at the right edge
    title = phone.locator(".js-plotly-plot .gtitle").first
    expect(title).to_contain_text("Leads created per day", timeout=60_000)
    for i in range(phone.locator(".js-plotly-plot .gtitle").count()):
        box = phone.locator(".js-plotly-plot .gtitle").nth(i).bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"], phone.locator(".gtitle").nth(i).text_content()


def test_new_lead_form_asks_for_the_phone_second(phone, app_url):
    phone.goto(f"{app_url}/new_lead")
    expect(phone.get_by_role("heading", name="New lead")).to_be_visible(timeout=60_000)
    form = phone.locator('[data-testid="stForm"]').first
    boxes = form.get_by_role("textbox")
    expect(boxes.nth(1)).to_be_visible(timeout=30_000)
    labels = [boxes.nth(i).get_attribute("aria-label") for i in range(2)]
    assert labels[0].startswith("Full name") and labels[1].startswith("Phone"), labels
    box = boxes.nth(1).bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"]  # the field fits the screen
