"""Single sign-on in Chromium against a real OpenID Connect provider on loopback (oidc-provider-mock, run as
its own process): the app gets an `[auth]` secrets file pointing at it and LEADS_AUTH=on. An e-mail an admin
mapped to marketing signs in through the provider's page and gets marketing's pages (masked Leads, no
Settings); Sign out leaves the provider's account too; an unknown e-mail is refused. Every step is audited."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from lib.store import Store
from tests.e2e.conftest import ROOT, free_port, start_app, stop_app

LABEL = "Test IdP"
MAPPED = "mia@example.com"
UNKNOWN = "stranger@example.com"


_stop = stop_app


@pytest.fixture(scope="module")
def provider():
    """oidc-provider-mock on a free loopback port (any client id / secret is accepted); its base URL."""
    try:
        import oidc_provider_mock  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("oidc-provider-mock is missing: pip install -r requirements-dev.txt")
        pytest.skip("oidc-provider-mock is not installed: pip install -r requirements-dev.txt")
    port = free_port()
    # the mock insists on https unless told otherwise; loopback http is what this test has
    env = {**os.environ, "AUTHLIB_INSECURE_TRANSPORT": "1"}
    cmd = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError("oidc-provider-mock exited:\n" + proc.stdout.read().decode(errors="replace"))
        try:
            if httpx.get(f"{url}/.well-known/openid-configuration", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError("oidc-provider-mock did not answer within 30 s")
        time.sleep(0.2)
    yield url
    _stop(proc)


def _sso_app(provider: str, tmp_path_factory, env_extra: dict[str, str] | None = None):
    data = tmp_path_factory.mktemp("e2e-sso")
    # the admin maps the e-mail (any case) to marketing from the command line, as the README says
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADS_")}
    added = subprocess.run(
        [sys.executable, "-m", "lib.users", "sso-add", "Mia@Example.com", "--role", "marketing"],
        cwd=ROOT,
        env={**env, "LEADS_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert added.stdout.strip() == f"{MAPPED} may sign in with single sign-on (marketing)."
    port = free_port()
    secrets = tmp_path_factory.mktemp("e2e-sso-secrets") / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a test cookie secret that is long enough to sign"\n'
        'client_id = "leads-dashboard"\n'
        'client_secret = "test client secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    proc, url = start_app(
        data,
        {"LEADS_AUTH": "on", "LEADS_SSO_LABEL": LABEL, **(env_extra or {})},
        extra_args=["--secrets.files", str(secrets)],
        port=port,
    )
    return proc, url, data


@pytest.fixture(scope="module")
def sso_app(provider, tmp_path_factory):
    proc, url, data = _sso_app(provider, tmp_path_factory)
    yield url, data
    _stop(proc)


@pytest.fixture
def short_idle_app(provider, tmp_path_factory):
    """The same with LEADS_SESSION_IDLE_HOURS=0.002 (7.2 seconds)."""
    proc, url, data = _sso_app(provider, tmp_path_factory, {"LEADS_SESSION_IDLE_HOURS": "0.002"})
    yield url, data
    _stop(proc)


def audit_rows(data) -> list[tuple[str, str, str]]:
    store = Store(data)
    log = store.audit_frame()
    store.close()
    return list(zip(log["who"], log["action"], log["detail"], strict=True))[::-1]


def sign_in_at_provider(page: Page, url: str, email: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=60_000)
    # the built-in form stays next to the single sign-on button
    expect(page.get_by_label("User name")).to_be_visible()
    page.get_by_role("button", name=f"Sign in with {LABEL}").click()
    # the provider's own page: type the subject (the mock gives it as the e-mail claim) and authorize
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible(timeout=30_000)
    assert page.url.startswith("http://127.0.0.1:") and "/oauth2/authorize" in page.url
    page.locator('input[name="sub"]').fill(email)
    page.get_by_role("button", name="Authorize").click()


def test_a_mapped_e_mail_signs_in_as_marketing_and_signs_out(page, sso_app):
    url, data = sso_app
    sign_in_at_provider(page, url, MAPPED)
    # back in the app, signed in as marketing: its pages only, the name is the e-mail
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav.get_by_role("link", name="Marketing")).to_be_visible(timeout=60_000)
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(f"{MAPPED} · Marketing")).to_be_visible()
    # the Leads table is masked for marketing (its CSV: every e-mail's local part is one letter and ***)
    nav.get_by_role("link", name="Leads").click()
    expect(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible(timeout=60_000)
    with page.expect_download(timeout=60_000) as caught:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(caught.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) > 10
    assert all(r["email"] == "" or re.fullmatch(r"\S?\*\*\*@.+", r["email"]) for r in rows)
    assert any(r["email"] for r in rows)
    # Settings by URL: not allowed (the session, a new one after the page load, signs in again from the
    # provider's cookie)
    page.goto(f"{url}/settings")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible(timeout=60_000)
    # Sign out: the app's session ends and the provider's account is left (its end-session page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="End Session")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name=f"Sign in with {LABEL}")).to_be_visible()
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    rows = [(who, action, detail) for who, action, detail in audit_rows(data) if who == MAPPED]
    sso = '{"client": "local or unknown", "method": "sso"}'
    # a second sign-in: opening /settings by URL is a new session, signed in again from the provider's cookie
    assert [(a, d) for _, a, d in rows if a != "export"] == [
        ("sign-in", sso),
        ("sign-in", sso),
        ("sign-out", '{"method": "sso"}'),
    ]


def test_an_unknown_e_mail_is_refused(page, sso_app):
    url, data = sso_app
    sign_in_at_provider(page, url, UNKNOWN)
    expect(
        page.get_by_text(f"Your e-mail {UNKNOWN} has no access to this dashboard: ask an admin to add it.")
    ).to_be_visible(timeout=60_000)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(0)
    refused = [(action, detail) for who, action, detail in audit_rows(data) if who == UNKNOWN]
    assert refused == [
        ("sign-in failed", '{"client": "local or unknown", "method": "sso", "reason": "not mapped"}')
    ]
    # the refused browser may leave the provider's account to choose another
    expect(page.get_by_role("button", name=f"Sign out of {LABEL}")).to_be_visible()


def test_a_reload_after_the_idle_limit_goes_through_the_provider_again(page, short_idle_app):
    url, data = short_idle_app
    sign_in_at_provider(page, url, MAPPED)
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav.get_by_role("link", name="Marketing")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(8_000)  # longer than 0.002 h = 7.2 s since the provider signed her in
    page.reload()  # a new browser session: the identity cookie is still there, but too old
    notice = "Your single sign-on is more than 0.002 hours old. Sign in again."
    expect(page.get_by_text(notice)).to_be_visible(timeout=60_000)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    assert [a for w, a, _ in audit_rows(data) if w == MAPPED] == ["sign-in"]
