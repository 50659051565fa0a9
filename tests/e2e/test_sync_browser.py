"""The sync as a user sees it in Chromium: the first start shows the first sync's progress, the sidebar says
how fresh the data is, and Sync now brings a lead just added in the CRM."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import lead_item
from tests.e2e.conftest import running_app
from tests.fakes.v2_faults import FaultyDemoCRM

pytestmark = pytest.mark.e2e


def test_first_sync_progress_then_synced_ago_and_sync_now(page, tmp_path):
    with FaultyDemoCRM(tmp_path / "crm", size=0, page_size=2) as crm:
        crm.db.import_items([lead_item(n, "new", n, "10:00:00") for n in range(1, 7)])
        crm.inject("/v2/leads", 0, delay=1.5, times=3)  # a slow CRM: the first sync takes a few seconds
        env = {"LEADS_SOURCE": "v2", "LEADS_BASE_URL": crm.base_url, "LEADS_TOKEN": crm.token}
        with running_app(tmp_path / "app", env) as url:
            page.goto(f"{url}/overview")
            expect(page.get_by_text(re.compile(r"Syncing leads from the CRM"))).to_be_visible(timeout=30_000)
            expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=60_000)
            sidebar = page.locator('[data-testid="stSidebar"]')
            expect(sidebar.get_by_text("6 leads · synced just now")).to_be_visible(timeout=30_000)

            crm.db.import_items([lead_item(7, "new", 0, "09:00:00")])
            sidebar.get_by_role("button", name="Sync now").click()
            expect(sidebar.get_by_text("7 leads · synced just now")).to_be_visible(timeout=30_000)
