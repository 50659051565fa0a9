"""A team: two app processes (as two replicas would be) on one PostgreSQL store and one CRM.

Both run the background sync; the store's lease lets exactly one of them sync at a time. Both show the same
numbers, and a lead kept in the outbox by one (the CRM failed to take it) is seen in the other's outbox.
"""

from __future__ import annotations

import re

import psycopg
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import running_app
from tests.fakes.v2_faults import FaultyDemoCRM

pytestmark = pytest.mark.e2e


@pytest.fixture
def crm(tmp_path):
    with FaultyDemoCRM(tmp_path / "crm", size=120, page_size=50) as server:
        yield server


def sidebar_count(page, url: str) -> str:
    page.goto(f"{url}/overview")
    caption = page.get_by_text(re.compile(r"[\d,]+ leads · synced"))
    expect(caption).to_be_visible(timeout=60_000)
    return re.match(r"([\d,]+) leads", caption.inner_text()).group(1)


def test_two_processes_share_one_postgres_store(page, crm, pg_url, tmp_path):
    env = {
        "LEADS_SOURCE": "v2",
        "LEADS_BASE_URL": crm.base_url,
        "LEADS_TOKEN": crm.token,
        "LEADS_STORE_URL": pg_url,
        "LEADS_SYNC_INTERVAL": "5m",
    }
    with running_app(tmp_path / "a", env) as a, running_app(tmp_path / "b", env) as b:
        assert sidebar_count(page, a) == "120"
        assert sidebar_count(page, b) == "120"
        with psycopg.connect(pg_url) as conn:
            holders = conn.execute("SELECT DISTINCT holder FROM sync_runs WHERE error IS NULL").fetchall()
            leads_requests = [r for r in crm.requests if r[1].startswith("/v2/leads?") or r[1] == "/v2/leads"]
        assert len(holders) == 1  # one process synced; the other read what it stored
        assert len(leads_requests) == 3  # one full read of 120 leads in pages of 50: 50 + 50 + 20

        crm.inject("/v2/leads/create", 503, times=5)  # the CRM fails to take the next lead
        page.goto(f"{a}/new_lead")
        page.get_by_role("textbox", name="Full name *").fill("דנה מהצוות")
        page.get_by_role("textbox", name="Phone *").fill("053-765-4321")
        page.get_by_role("textbox", name="Phone *").blur()
        page.get_by_role("button", name="Create lead").click()
        expect(page.get_by_text("דנה מהצוות").first).to_be_visible(timeout=30_000)

        page.goto(f"{b}/new_lead")
        expect(page.get_by_role("heading", name="New lead")).to_be_visible(timeout=60_000)
        expect(page.get_by_text(re.compile("Outbox"))).to_be_visible(timeout=30_000)
        expect(page.get_by_text("דנה מהצוות")).to_be_visible(timeout=30_000)
