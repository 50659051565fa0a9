"""Hardening in the real app: hostile lead names and UTM values create no <img> or <a> in Chromium (Markdown
in the outbox, Plotly labels in the charts), and only the app's own host names open its connection."""

from __future__ import annotations

import socket

import pytest
from playwright.sync_api import expect

from lib.demo.server import DemoCRM
from lib.store import Store
from tests.conftest import lead_item
from tests.e2e.conftest import running_app

pytestmark = pytest.mark.e2e

LINK = "[x](javascript:alert(1))"
IMG = "<img src=x onerror=alert(1)>"
ANCHOR = "<a href=https://evil.example/>win</a>"


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    """The app on a v2 CRM whose leads carry Markdown and HTML in names, owners and UTM values, with one
    such lead waiting in the outbox."""
    data = tmp_path_factory.mktemp("hostile-app")
    items = [
        lead_item(1, "new", 1, "10:00:00", name=LINK, owner=IMG, utm_source=ANCHOR, utm_campaign=IMG),
        lead_item(2, "converted", 2, "09:00:00", name=IMG, owner=LINK, utm_source=LINK),
        lead_item(3, "no_answer", 3, "12:00:00", name="Noa", utm_source=ANCHOR),
    ]
    Store(data).outbox_add({"name": LINK, "first_name": IMG, "phone": "+972545551234"}, IMG, "failed")
    with DemoCRM(tmp_path_factory.mktemp("hostile-crm"), size=0, page_size=4) as crm:
        crm.db.import_items(items)
        env = {"LEADS_SOURCE": "v2", "LEADS_BASE_URL": crm.base_url, "LEADS_TOKEN": crm.token}
        with running_app(data, env) as url:
            yield url


def no_markup_from_data(page) -> None:
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator('a[href^="javascript"]').count() == 0
    assert page.locator('a[href*="evil.example"]').count() == 0


def test_hostile_text_creates_no_image_or_link(page, hostile_app):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if "evil.example" in r.url else None)

    page.goto(f"{hostile_app}/new_lead")
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible(timeout=90_000)
    outbox = page.get_by_text(LINK, exact=False).first
    expect(outbox).to_be_visible(timeout=30_000)  # the name shown as typed, brackets and all
    expect(page.get_by_text(IMG, exact=False).first).to_be_visible()  # the CRM's error text, as text
    no_markup_from_data(page)

    page.goto(f"{hostile_app}/marketing?preset=last-30-days")
    chart = page.locator(".js-plotly-plot").first
    expect(chart.locator(".trace").first).to_be_attached(timeout=90_000)
    page.wait_for_timeout(1500)  # the rest of the charts
    # the UTM value is drawn as a label: its text is there, but no link element
    labels = " ".join(page.locator(".js-plotly-plot text").all_text_contents())
    assert "evil.example" in labels.replace("\u200b", "")
    no_markup_from_data(page)

    page.goto(f"{hostile_app}/settings")
    expect(page.get_by_text("v2 CRM at", exact=False).first).to_be_visible(timeout=90_000)
    links = page.locator('[data-testid="stMarkdownContainer"] a[href^="http"]')
    assert links.count() == 0  # the CRM's address is shown as text, not as a link
    assert dialogs == [] and outside == []


def handshake(url: str, host: str) -> str:
    """The status line the app answers to a WebSocket upgrade of its stream sent with this Host header."""
    port = int(url.rsplit(":", 1)[1])
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://{host}:{port}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_only_the_apps_own_host_names_open_its_connection(hostile_app):
    # a DNS-rebinding page reaches 127.0.0.1 under its own name: the Host header gives it away
    assert " 101 " in handshake(hostile_app, "127.0.0.1") + " "
    assert " 101 " in handshake(hostile_app, "localhost") + " "
    refused = handshake(hostile_app, "evil.example")
    assert refused.startswith("HTTP/1.1 4"), refused
