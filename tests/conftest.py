"""Shared fixtures: a clean settings environment for every test, and v2 CRMs on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib import clock
from lib.demo.server import DemoCRM

APP = Path(__file__).resolve().parents[1] / "app.py"

# Every test runs at this instant (LEADS_NOW, lib.clock), whatever the hour CI runs at; a test that is
# about the hour sets another one.
NOW = "2026-11-23T14:00:00+02:00"  # a Monday afternoon in Jerusalem

# Seed 000's statuses in the CRM's order, typed from the seed, and the demo CRM's inactive one.
SEED_STATUSES = [
    ("233069071553535427697228277840563827497", "💫 חדש"),
    ("233069071553536636623047892469738533673", "🌟 בטיפול"),
    ("233068757482379672535116974651377078673", "☎️ אין מענה"),
    ("233283533732675753954283890808071309", "💡 פולו-אפ"),
    ("233283533732676958969773898519982777485", "⚡️ מעוניין"),
    ("233068757482380881460936589280551784849", "😐 לא מעוניין"),
    ("233283613657759819600694939278253904883", "❗️ כפול"),
    ("233178998040188663790648493563928270356", "⛔️ תקול"),
    ("243106151780891622797278252149114577730", "⚠️ לקוח חוזר"),
    ("233069071553537845548867507098913239849", "🎉 הומר ללקוח"),
]
INACTIVE = ("233069071553534218771408663211388415145", "⏳ ממתין לחזרה")

STATUS = {
    "new": "233069071553535427697228277840563827497",
    "no_answer": "233068757482379672535116974651377078673",
    "not_interested": "233068757482380881460936589280551784849",
    "duplicate": "233283613657759819600694939278253904883",
    "faulty": "233178998040188663790648493563928270356",
    "returning": "243106151780891622797278252149114577730",
    "converted": "233069071553537845548867507098913239849",
}


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch, tmp_path):
    """No test reads the developer's secrets file or LEADS_* variables; data goes to a temp dir."""
    import os

    for key in list(os.environ):
        if key.startswith("LEADS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LEADS_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))
    monkeypatch.setenv("LEADS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LEADS_NOW", NOW)
    # Sign-in off: page tests point the app at v2 CRMs on loopback, which LEADS_AUTH=auto would put behind
    # sign-in; tests of sign-in (tests/test_auth.py, tests/test_roles_pages.py) set on or auto themselves.
    monkeypatch.setenv("LEADS_AUTH", "off")
    # The demo CRM stays as seeded (its minute-by-minute life is tested in tests/test_demo_alive.py).
    monkeypatch.setenv("LEADS_DEMO_ALIVE", "false")


@pytest.fixture(autouse=True)
def stop_sync_workers():
    """Each AppTest's app starts a background sync thread for its own store: stop them after the test."""
    yield
    from lib.ui.data import stop_workers

    stop_workers()


def run_app(page: str | None = None, **query) -> AppTest:
    """The app run by AppTest (with these URL query parameters), then switched to `page`; no exception."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def point_app_at(monkeypatch, source: str, crm) -> None:
    """The app's settings point at this CRM (anything with base_url and token) as LEADS_SOURCE=source."""
    monkeypatch.setenv("LEADS_SOURCE", source)
    monkeypatch.setenv("LEADS_BASE_URL", crm.base_url)
    monkeypatch.setenv("LEADS_TOKEN", crm.token)


def jerusalem_today() -> date:
    """Today in Jerusalem by the dashboard's clock (NOW unless the test set LEADS_NOW)."""
    return clock.today("Asia/Jerusalem")


def lead_item(n: int, status: str, days_ago: int, clock: str, **fields) -> dict:
    """A v2 lead item created `days_ago` days before today at `clock`, Jerusalem local time, no offset."""
    day = jerusalem_today() - timedelta(days=days_ago)
    created = f"{day.isoformat()}T{clock}"
    return {
        "id": f"{900000000000000000000000000000000000000 + n}",
        "name": fields.pop("name", f"Lead {n}"),
        "f_name": fields.pop("f_name", f"Lead {n}"),
        "phone": fields.pop("phone", f"05212345{n:02d}"),
        "lead_status": STATUS[status],
        "created_at": created,
        "updated_at": created,
        **fields,
    }


@pytest.fixture
def serve_leads(tmp_path, monkeypatch) -> Iterator:
    """serve_leads(items) -> a running v2 CRM holding exactly `items`; the app's settings point at it."""
    servers: list[DemoCRM] = []

    def start(items: list[dict]) -> DemoCRM:
        crm = DemoCRM(Path(tmp_path) / f"crm{len(servers)}", size=0, page_size=4).start()
        crm.db.import_items(items)
        servers.append(crm)
        point_app_at(monkeypatch, "v2", crm)
        return crm

    yield start
    for crm in servers:
        crm.stop()


@pytest.fixture
def fresh_streamlit_caches():
    """AppTest runs share the process's Streamlit caches: each test starts and ends with them empty."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


from tests.pgcluster import pg_cluster, pg_url, store_url  # noqa: E402,F401  (fixtures for every test file)
