"""A marketer uploads an ad export in Chromium, corrects the column the app could not recognise, imports it,
and finds the rows in the stored spend; importing it again replaces them instead of doubling them."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

NAV = '[data-testid="stSidebarNav"]'
# "Amount" is no platform's spend column name: the user has to point the Spend mapping at it.
EXPORT = (
    "Date,Campaign name,Amount,Currency\n2026-11-01,מבצע חורף,120.50,ILS\n2026-11-02,Retargeting,79.50,ILS\n"
)


def choose(page: Page, label: str, option: str) -> None:
    page.locator('[data-testid="stMain"]').get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_upload_fix_a_mapping_import_and_see_the_stored_spend(page, app_url):
    page.goto(app_url)
    page.locator(NAV).get_by_role("link", name="Ad spend").click()
    expect(page.get_by_role("heading", name="Ad spend", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("No spend is stored yet.")).to_be_visible(timeout=30_000)

    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": "tiktok-export.csv", "mimeType": "text/csv", "buffer": EXPORT.encode()}]
    )
    expect(page.get_by_text("Choose the column that holds the spend.")).to_be_visible(timeout=30_000)
    import_button = page.get_by_role("button", name="Import 0 rows")
    expect(import_button).to_be_disabled()

    choose(page, "Spend", "Amount")
    choose(
        page, "Platform (gives the UTM source and medium when the file has no column for them)", "TikTok Ads"
    )
    expect(page.get_by_text("2 rows (day × source × medium × campaign) worth 200.00 ILS")).to_be_visible(
        timeout=30_000
    )  # 120.50 + 79.50
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.get_by_text("Imported: 2 new rows, 0 replaced")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("No spend is stored yet.")).to_have_count(0)
    expect(page.get_by_role("heading", name="Spend per month")).to_be_visible()

    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.get_by_text("Imported: 0 new rows, 2 replaced")).to_be_visible(timeout=30_000)
    # the stored table (an editable grid after the preview) holds the two rows once; the grid draws on a
    # canvas, its accessible copy holds the cells
    cells = page.locator('[data-testid="stDataFrame"]').nth(1).locator('[role="gridcell"]')
    expect(cells.filter(has_text=re.compile(r"^מבצע חורף$"))).to_have_count(1, timeout=30_000)
    expect(cells.filter(has_text=re.compile(r"^Retargeting$"))).to_have_count(1)
    expect(cells.filter(has_text=re.compile(r"^120\.50?$"))).to_have_count(1)  # the copy may hold 120.5
    expect(cells.filter(has_text=re.compile(r"^tiktok$"))).to_have_count(2)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

    # Marketing now puts the spend next to the leads it bought: a cost table with cost per lead, tiktok in it
    page.locator(NAV).get_by_role("link", name="Marketing").click()
    expect(page.get_by_role("heading", name="Cost and return")).to_be_visible(timeout=60_000)
    cost = page.locator('[data-testid="stDataFrame"]').filter(has_text="Cost per lead").first
    expect(cost).to_be_visible(timeout=30_000)
    row = cost.locator('[role="row"]').filter(has_text=re.compile(r"^tiktok"))
    expect(row).to_have_count(1, timeout=30_000)
    cells = [c.strip() for c in row.locator('[role="gridcell"]').all_inner_texts()]
    spent, leads, per_lead = float(cells[1].replace(",", "")), int(cells[2]), float(cells[3].replace(",", ""))
    assert spent == 200.0  # 120.50 + 79.50, all of it TikTok's
    assert leads > 0 and abs(per_lead - 200.0 / leads) < 0.01  # e.g. 15 leads -> 13.33 per lead
    expect(page.get_by_text(re.compile(r"In all: ₪200\.00 spent"))).to_be_visible()
