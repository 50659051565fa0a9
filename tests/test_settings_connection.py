"""Choosing, testing and saving a CRM connection: `save_connection` and the Settings page's "Connect a CRM".

The CRM the page connects to is a real v2 demo server on loopback holding exactly three leads.
"""

from __future__ import annotations

import os
import stat
import tomllib

import pytest
from streamlit.testing.v1 import AppTest

from lib.config import ConfigError, load_settings, overridden_by_environment, save_connection, secrets_file
from lib.demo.server import DemoCRM
from tests.conftest import lead_item, run_app
from tests.fakes.aiployees import AiployeesFake
from tests.fakes.kommo import KommoFake
from tests.fakes.livetex import LiveTexFake

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def test_save_connection_writes_the_crm_table_and_keeps_the_rest(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text('other = 1\n[crm]\nLEADS_TIMEZONE = "Europe/London"\nLEADS_SOURCE = "v2"\n[x]\ny = "z"\n')
    saved = save_connection("kommo", "https://acme.kommo.com/", 's3cr"et', " ", path=path)
    assert (saved.source, saved.base_url, saved.token, saved.timezone) == (
        "kommo", "https://acme.kommo.com", 's3cr"et', "Europe/London"
    )  # fmt: skip
    document = tomllib.loads(path.read_text())
    assert document == {
        "other": 1,
        "x": {"y": "z"},
        "crm": {
            "LEADS_TIMEZONE": "Europe/London",
            "LEADS_SOURCE": "kommo",
            "LEADS_BASE_URL": "https://acme.kommo.com/",
            "LEADS_TOKEN": 's3cr"et',
        },
    }
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # it holds the token
    assert load_settings(env={}, secrets=document["crm"]).base_url == "https://acme.kommo.com"


def test_save_connection_refuses_bad_settings_and_writes_nothing(tmp_path):
    path = tmp_path / "secrets.toml"
    with pytest.raises(ConfigError) as info:
        save_connection("livetex", "http://api.livetex.ru", "", "Moscow", path=path)
    text = " ".join(info.value.problems)
    assert "LEADS_TOKEN is required" in text and "https://" in text and "LEADS_CRM_TIMEZONE" in text
    assert not path.exists()


def test_choosing_the_demo_drops_the_url_and_token(tmp_path):
    path = tmp_path / "secrets.toml"
    save_connection("aiployees", "https://call.aiployees.com/api", "1|abc", "Asia/Jerusalem", path=path)
    assert tomllib.loads(path.read_text())["crm"]["LEADS_CRM_TIMEZONE"] == "Asia/Jerusalem"
    save_connection("demo", "https://ignored.example", "ignored", None, path=path)
    assert tomllib.loads(path.read_text()) == {"crm": {"LEADS_SOURCE": "demo"}}


def test_the_environment_pins_connection_settings():
    assert overridden_by_environment({"LEADS_SOURCE": "v2", "LEADS_TOKEN": " ", "LEADS_TIMEZONE": "UTC"}) == [
        "LEADS_SOURCE"
    ]


@pytest.fixture
def crm(tmp_path):
    items = [lead_item(n, "new", n, "10:00:00") for n in (1, 2, 3)]
    with DemoCRM(tmp_path / "crm", size=0, token="right-token") as server:
        server.db.import_items(items)
        yield server


def settings_page(monkeypatch) -> AppTest:
    monkeypatch.setenv("LEADS_DEMO_SIZE", "40")  # the app starts on the demo CRM
    monkeypatch.setenv("LEADS_ALLOW_PRIVATE_CRM", "true")  # the CRMs of these tests run on 127.0.0.1
    return run_app("pages/settings.py")


def fill(at: AppTest, crm: DemoCRM, token: str) -> None:
    at.selectbox(key="conn_source").select("v2").run()
    at.text_input(key="conn_url_v2").input(crm.base_url).run()
    at.text_input(key="conn_token_v2").input(token).run()


def test_the_settings_page_tests_then_saves_a_connection(monkeypatch, crm):
    at = settings_page(monkeypatch)
    assert "**CRM:** Demo CRM (embedded)" in " ".join(m.value for m in at.markdown)

    fill(at, crm, "wrong-token")
    at.button(key="conn_test").click().run()
    assert "refused the token (401" in at.error[0].value and "wrong-token" not in at.error[0].value
    assert not secrets_file().exists()  # testing saves nothing

    fill(at, crm, "right-token")
    at.button(key="conn_test").click().run()
    # Markdown: the typed address in a code span (shown as text, never a link), the ':' after it escaped
    url = f"`{crm.base_url}`"
    assert at.success[0].value == f"Connected to v2 CRM at {url}\\: 11 statuses (10 active)."

    at.button(key="conn_save").click().run()
    assert not at.exception, at.exception
    assert tomllib.loads(secrets_file().read_text())["crm"] == {
        "LEADS_SOURCE": "v2", "LEADS_BASE_URL": crm.base_url, "LEADS_TOKEN": "right-token"
    }  # fmt: skip
    text = " ".join(m.value for m in at.markdown)
    assert f"**CRM:** v2 CRM at {url}" in text and "**Leads in the store:** 3" in text
    assert "right-token" not in text


def test_an_invalid_connection_is_not_saved(monkeypatch, crm):
    at = settings_page(monkeypatch)
    at.selectbox(key="conn_source").select("kommo").run()
    at.text_input(key="conn_url_kommo").input("http://acme.kommo.com").run()
    at.button(key="conn_save").click().run()
    error = at.error[0].value
    # escaped for Markdown: "_" and ":" carry a backslash
    assert error.startswith("Not saved:") and "LEADS\\_TOKEN is required" in error and "https\\://" in error
    assert not secrets_file().exists()


@pytest.mark.parametrize(
    ("source", "make", "said"),
    [
        ("kommo", lambda: KommoFake(size=20), "Connected to Kommo at {url}: 2 pipelines"),
        ("aiployees", lambda: AiployeesFake(size=20), "Connected to aiployees at {url}: 20 leads."),
        ("livetex", lambda: LiveTexFake(size=20), "Connected to LiveTex at {url}: 20 leads."),
    ],
)
def test_each_system_can_be_tested_and_saved_from_the_settings_page(monkeypatch, source, make, said):
    at = settings_page(monkeypatch)
    with make() as crm:
        at.selectbox(key="conn_source").select(source).run()
        assert any(m.value.startswith("**Base URL:**") for m in at.markdown)  # what to enter, for this system
        at.text_input(key=f"conn_url_{source}").input(crm.base_url).run()
        at.text_input(key=f"conn_token_{source}").input(crm.token).run()
        at.button(key="conn_test").click().run()
        assert not at.error, [e.value for e in at.error]
        # Markdown: the address in a code span (never a link), the ':' after it escaped
        shown = said.replace("{url}:", "{url}\\:").format(url=f"`{crm.base_url}`")
        assert at.success[0].value.startswith(shown)
        at.button(key="conn_save").click().run()
        assert not at.exception, at.exception
        text = " ".join(m.value for m in at.markdown)
        assert f"**Source setting:** `{source}`" in text and "**Leads in the store:** 20" in text
    assert tomllib.loads(secrets_file().read_text())["crm"]["LEADS_SOURCE"] == source
