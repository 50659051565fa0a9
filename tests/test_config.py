"""Settings: environment over the secrets file over defaults; every problem reported, never a traceback."""

from pathlib import Path

import pytest

from lib.config import Settings, check_base_url, load_settings, read_secrets
from lib.errors import ConfigError


def test_nothing_configured_means_the_demo_crm_with_documented_defaults():
    s = load_settings(env={}, secrets={})
    assert s.source == "demo" and s.is_demo
    assert s.base_url is None and s.token is None
    assert s.timezone == "Asia/Jerusalem"
    assert s.phone_region == "IL"
    assert s.demo_size == 5000
    assert s.data_dir.name == ".data"


def test_environment_overrides_the_secrets_table():
    secrets = {"LEADS_SOURCE": "v2", "LEADS_BASE_URL": "https://a.example", "LEADS_TOKEN": "from-file"}
    env = {"LEADS_BASE_URL": "https://b.example/ords/crm/", "LEADS_DEMO_SIZE": "100_000"}
    s = load_settings(env=env, secrets=secrets)
    assert s.source == "v2"
    assert s.base_url == "https://b.example/ords/crm"  # trailing slash dropped, path kept
    assert s.token == "from-file"
    assert s.demo_size == 100_000


def test_an_empty_environment_variable_does_not_hide_the_file_value():
    s = load_settings(env={"LEADS_TIMEZONE": ""}, secrets={"LEADS_TIMEZONE": "Europe/Moscow"})
    assert s.timezone == "Europe/Moscow"


def test_the_token_never_appears_in_the_settings_repr():
    s = Settings(source="v2", base_url="https://a.example", token="s3cr3t-token")
    assert "s3cr3t-token" not in repr(s)


def test_every_problem_is_reported_at_once():
    env = {
        "LEADS_SOURCE": "v2",
        "LEADS_TIMEZONE": "Mars/Olympus",
        "LEADS_PHONE_REGION": "XX",
        "LEADS_DEMO_SIZE": "lots",
    }
    with pytest.raises(ConfigError) as info:
        load_settings(env=env, secrets={})
    problems = info.value.problems
    assert len(problems) == 5
    text = " ".join(problems)
    for name in ("LEADS_BASE_URL", "LEADS_TOKEN", "LEADS_TIMEZONE", "LEADS_PHONE_REGION", "LEADS_DEMO_SIZE"):
        assert name in text


def test_unknown_source_is_named():
    with pytest.raises(ConfigError, match="must be one of demo, v2, kommo, aiployees, livetex"):
        load_settings(env={"LEADS_SOURCE": "salesforce"}, secrets={})


@pytest.mark.parametrize("source", ["kommo", "aiployees", "livetex"])
def test_every_connector_is_selectable(source):
    s = load_settings(
        env={"LEADS_SOURCE": source.upper(), "LEADS_BASE_URL": "https://x.example.com/", "LEADS_TOKEN": "t"},
        secrets={},
    )
    assert (s.source, s.base_url, s.crm_timezone) == (source, "https://x.example.com", None)


def test_crm_timezone_is_checked():
    env = {"LEADS_CRM_TIMEZONE": "Europe/Moscow"}
    assert load_settings(env=env, secrets={}).crm_timezone == "Europe/Moscow"
    with pytest.raises(ConfigError, match="LEADS_CRM_TIMEZONE must be an IANA"):
        load_settings(env={"LEADS_CRM_TIMEZONE": "Moscow"}, secrets={})


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://crm.example.com", True),
        ("https://crm.example.com/ords/module", True),
        ("http://127.0.0.1:8765", True),
        ("http://localhost:8765", True),
        ("http://[::1]:8765", True),
        ("http://crm.example.com", False),
        ("http://10.0.0.5", False),
        ("ftp://crm.example.com", False),
        ("crm.example.com", False),
        ("https://user:pw@crm.example.com", False),
    ],
)
def test_base_url_must_be_https_unless_loopback(url, ok):
    assert (check_base_url(url) is None) is ok


def test_plain_http_to_a_remote_host_is_refused_with_the_reason():
    env = {"LEADS_SOURCE": "v2", "LEADS_BASE_URL": "http://crm.example.com", "LEADS_TOKEN": "t"}
    with pytest.raises(ConfigError, match="unencrypted"):
        load_settings(env=env, secrets={})


def test_secrets_file_crm_table_is_read(tmp_path: Path):
    f = tmp_path / "secrets.toml"
    f.write_text('[crm]\nLEADS_SOURCE = "v2"\nLEADS_TOKEN = "abc"\n', encoding="utf-8")
    assert read_secrets(f) == {"LEADS_SOURCE": "v2", "LEADS_TOKEN": "abc"}
    assert read_secrets(tmp_path / "absent.toml") == {}


def test_a_broken_secrets_file_is_a_clear_error(tmp_path: Path):
    f = tmp_path / "secrets.toml"
    f.write_text("[crm\nLEADS_SOURCE = ", encoding="utf-8")
    with pytest.raises(ConfigError, match="could not be read"):
        read_secrets(f)
