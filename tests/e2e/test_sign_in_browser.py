"""Sign-in in Chromium (LEADS_AUTH=on, the demo CRM): every page URL opened without signing in shows the
sign-in form and no lead data; a wrong password is refused; sign-in and sign-out; marketing's Leads table
and its downloaded CSV are masked; the front desk cannot reach Settings by URL; each action is audited;
five failures lock sign-in. The lock-out test runs last: the failures also count against this client's
address (127.0.0.1) for 15 minutes."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from lib import auth
from lib.store import Store
from tests.e2e.conftest import running_app

PASSWORD = "correct horse battery"
URLS = ["", "overview", "funnel", "statuses", "history", "goals", "marketing", "ad_spend", "leads",
        "new_lead", "settings", "users", "audit"]  # fmt: skip
LEAD_DATA = (
    '[data-testid="stDataFrame"], .js-plotly-plot, [data-testid="stMetric"], [data-testid="stDownloadButton"]'
)


@pytest.fixture(scope="module")
def signed_app(tmp_path_factory):
    data = tmp_path_factory.mktemp("e2e-sign-in")
    store = Store(data)
    for name, role in [("noa", "admin"), ("mia", "marketing"), ("fd", "front_desk"), ("locky", "manager")]:
        store.add_user(name, role, auth.hash_password(PASSWORD))
    store.close()
    with running_app(data, {"LEADS_AUTH": "on"}) as url:
        yield url, data


def sign_in(page: Page, name: str, password: str = PASSWORD) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=60_000)
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def audit_rows(data) -> list[tuple[str, str, str]]:
    store = Store(data)
    log = store.audit_frame()
    store.close()
    return list(zip(log["who"], log["action"], log["detail"], strict=True))[::-1]


def test_every_page_url_opened_without_signing_in_shows_no_lead_data(page, signed_app):
    url, _ = signed_app
    for path in URLS:
        page.goto(f"{url}/{path}")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1500)  # let anything else the page might send arrive
        expect(page.locator(LEAD_DATA)).to_have_count(0)
        expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_wrong_password_then_sign_in_on_the_asked_page_and_sign_out(page, signed_app):
    url, data = signed_app
    page.goto(f"{url}/funnel")
    sign_in(page, "noa", "not the password")
    expect(page.get_by_text("Wrong user name or password.")).to_be_visible(timeout=30_000)
    expect(page.locator(LEAD_DATA)).to_have_count(0)
    sign_in(page, "noa")
    # the page the URL asked for opens, with the admin's navigation
    expect(page.get_by_role("heading", name="Funnel", exact=True)).to_be_visible(timeout=60_000)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav.get_by_role("link", name="Audit log")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    expect(page.locator(LEAD_DATA)).to_have_count(0)
    actions = [(who, action) for who, action, _ in audit_rows(data)]
    assert actions[-3:] == [("noa", "sign-in failed"), ("noa", "sign-in"), ("noa", "sign-out")]


def test_marketing_sees_a_masked_leads_table_and_downloads_a_masked_csv(page, signed_app):
    url, data = signed_app
    page.goto(f"{url}/leads")
    sign_in(page, "mia")
    expect(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible(timeout=60_000)
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
    expect(nav.get_by_role("link", name="New lead")).to_have_count(0)
    with page.expect_download(timeout=60_000) as caught:
        page.get_by_role("button", name="Download CSV").click()
    text = Path(caught.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) > 10
    for row in rows:
        # every name word is one letter and ***; a phone keeps its first 3 and last 2 digits
        assert all(re.fullmatch(r"\S\*\*\*", word) for word in row["name"].split()), row["name"]
        assert sum(ch.isdigit() for ch in row["phone"]) <= 5, row["phone"]
        assert row["email"] == "" or re.fullmatch(r"\S?\*\*\*@.+", row["email"]), row["email"]
    page.wait_for_timeout(1000)
    export = [(who, detail) for who, action, detail in audit_rows(data) if action == "export"]
    assert export == [("mia", f'{{"table": "leads", "rows": {len(rows)}}}')]


def test_the_front_desk_cannot_reach_settings_by_url(page, signed_app):
    url, _ = signed_app
    page.goto(f"{url}/settings")
    sign_in(page, "fd")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Not allowed: your role (Front desk) may not open Settings.")).to_be_visible()
    expect(page.locator(LEAD_DATA)).to_have_count(0)
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav.get_by_role("link", name="New lead")).to_be_visible()
    expect(nav.get_by_role("link", name="Overview")).to_have_count(0)
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)


def test_five_failures_lock_sign_in(page, signed_app):
    url, data = signed_app
    page.goto(url)
    for attempt in range(5):
        sign_in(page, "locky", f"wrong password {attempt}")
        # the same message each time: wait until the server has recorded this attempt
        for _ in range(100):
            if len([a for w, a, _ in audit_rows(data) if w == "locky"]) > attempt:
                break
            page.wait_for_timeout(200)
    expect(
        page.get_by_text(re.compile(r"Too many failed sign-ins\. Try again in 1[45] minutes\."))
    ).to_be_visible()
    sign_in(page, "locky")  # the right password: still locked
    expect(page.get_by_text(re.compile(r"Too many failed sign-ins"))).to_be_visible(timeout=30_000)
    expect(page.locator(LEAD_DATA)).to_have_count(0)
    assert ("locky", "sign-in refused: locked") in [(w, a) for w, a, _ in audit_rows(data)]
