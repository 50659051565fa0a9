"""Hardening (issue 12 §4): where the server may connect, what a connection test shows, the token, bad
configurations, and CRM text shown as text on every page."""

from __future__ import annotations

import json
import socket
import sqlite3
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from lib import charts, netguard
from lib.config import ConfigError, Settings, connection_to_try, load_settings, secrets_file
from lib.crm import connect
from lib.crm.http import HttpClient
from lib.errors import CRMConnectionError, CRMError
from lib.schema import text_category, to_canonical_leads
from lib.text import clean_text, escape_markdown
from tests.conftest import lead_item, run_app
from tests.fakes.v2_faults import FaultyDemoCRM

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")

# -- where the server may connect ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),  # loopback
        ("127.8.9.10", False),  # all of 127/8 is loopback
        ("::1", False),
        ("10.1.2.3", False),  # private
        ("172.16.0.1", False),
        ("192.168.1.10", False),
        ("169.254.169.254", False),  # cloud metadata (link-local)
        ("169.254.10.1", False),  # link-local
        ("fd00:ec2::254", False),  # AWS metadata over IPv6
        ("fe80::1", False),  # IPv6 link-local
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:169.254.169.254", False),
        ("0.0.0.0", False),  # unspecified: connects to this machine
        ("100.64.0.1", False),  # carrier-grade NAT, not global
        ("224.0.0.1", False),  # multicast
        ("240.0.0.1", False),  # reserved
        ("not-an-ip", False),
        ("8.8.8.8", True),
        ("93.184.216.34", True),
        ("2001:4860:4860::8888", True),
        ("::ffff:8.8.8.8", True),  # mapped, but to a public address
    ],
)
def test_which_addresses_are_public(address, public):
    assert netguard.is_public_address(address) is public


def fake_dns(table: dict[str, list[str]]):
    def resolver(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror("Name or service not known")
        return table[host]

    return resolver


def test_a_name_is_refused_when_any_of_its_addresses_is_private():
    dns = fake_dns({"crm.example": ["93.184.216.34"], "sneaky.example": ["93.184.216.34", "10.0.0.7"]})
    assert netguard.check_public_url("https://crm.example/api", dns) is None
    problem = netguard.check_public_url("https://sneaky.example", dns)
    assert "'sneaky.example'" in problem and "LEADS_ALLOW_PRIVATE_CRM=true" in problem
    assert "could not be resolved" in netguard.check_public_url("https://nowhere.example", dns)


def test_ip_literals_are_checked_without_dns():
    # the real resolver: an IP literal resolves to itself
    assert "only connects to public CRMs" in netguard.check_public_url("http://169.254.169.254")
    assert "only connects to public CRMs" in netguard.check_public_url("https://127.0.0.1:8443/api")
    assert "only connects to public CRMs" in netguard.check_public_url("https://[::ffff:127.0.0.1]/")


SAVED = Settings(source="v2", base_url="https://crm.a.example", token="saved-token")
DNS = fake_dns({"crm.a.example": ["93.184.216.34"], "crm.b.example": ["93.184.216.35"]})


def test_the_saved_token_goes_only_to_the_saved_address():
    assert connection_to_try("v2", "https://crm.a.example/", "", SAVED, DNS) == ("saved-token", [])
    token, problems = connection_to_try("v2", "https://crm.b.example", "", SAVED, DNS)
    assert token is None and problems[0].startswith("Type the token again for a new address")
    # same address, another system: the token is typed again too
    token, problems = connection_to_try("kommo", "https://crm.a.example", " ", SAVED, DNS)
    assert token is None and problems[0].startswith("Type the token again")
    assert connection_to_try("v2", "https://crm.b.example", " new ", SAVED, DNS) == ("new", [])


def test_a_new_address_must_be_public_unless_private_crms_are_allowed():
    for url in ("http://169.254.169.254", "https://127.0.0.1:8443", "https://[fd00:ec2::254]"):
        _, problems = connection_to_try("v2", url, "t", SAVED, DNS)
        assert len(problems) == 1 and "only connects to public CRMs" in problems[0], url
    on_premises = Settings(source="v2", base_url="https://crm.a.example", token="x", allow_private_crm=True)
    assert connection_to_try("v2", "https://127.0.0.1:8443", "t", on_premises, DNS) == ("t", [])
    # the address the operator configured stays usable as it is
    local = Settings(source="v2", base_url="http://127.0.0.1:9000", token="x")
    assert connection_to_try("v2", "http://127.0.0.1:9000", "", local, DNS) == ("x", [])


def test_a_typed_token_that_cannot_be_sent_is_refused_without_quoting_it():
    _, problems = connection_to_try("v2", "https://crm.a.example", "tök€n", SAVED, DNS)
    assert len(problems) == 1 and "cannot be sent" in problems[0] and "tök" not in problems[0]


def test_allow_private_crm_setting():
    assert load_settings(env={}, secrets={}).allow_private_crm is False
    assert load_settings(env={"LEADS_ALLOW_PRIVATE_CRM": "true"}, secrets={}).allow_private_crm is True
    assert load_settings(env={}, secrets={"LEADS_ALLOW_PRIVATE_CRM": True}).allow_private_crm is True
    with pytest.raises(ConfigError) as info:
        load_settings(env={"LEADS_ALLOW_PRIVATE_CRM": "maybe"}, secrets={})
    assert info.value.problems == ["LEADS_ALLOW_PRIVATE_CRM must be true or false (got 'maybe')"]


def test_a_public_only_client_does_not_connect_to_a_private_address(tmp_path):
    # the check runs again at connect time, on the address the socket would be opened to (DNS rebinding)
    with FaultyDemoCRM(tmp_path / "crm", size=0) as crm:
        client = HttpClient(crm.base_url, crm.token, public_only=True, max_attempts=1)
        with pytest.raises(CRMConnectionError) as info:
            client.get("/v2/leads/statuses")
        assert crm.requests == []  # nothing reached the server
        assert "Could not connect" in str(info.value)
        assert HttpClient(crm.base_url, crm.token).get("/v2/leads/statuses").status_code == 200


def test_a_failed_test_says_one_thing_for_every_connection_failure():
    refused = CRMConnectionError("Could not connect to The CRM at https://x:81: ConnectError.")
    silent = CRMConnectionError("The CRM did not answer /v2/leads in time, even after retries")
    assert netguard.plain_connection_error(refused) == netguard.plain_connection_error(silent)
    server = CRMError('The CRM had an internal error (500 on /x). It said: "db password=hunter2"')
    server.status_code = 500
    assert "hunter2" not in netguard.plain_connection_error(server)


# -- the Settings page ----------------------------------------------------------------------------------


@pytest.fixture
def crm(tmp_path, monkeypatch):
    """The app connected to a v2 CRM on loopback that records every request."""
    with FaultyDemoCRM(tmp_path / "crm", size=0, page_size=4) as server:
        server.db.import_items([lead_item(1, "new", 1, "10:00:00")])
        monkeypatch.setenv("LEADS_SOURCE", "v2")
        monkeypatch.setenv("LEADS_BASE_URL", server.base_url)
        monkeypatch.setenv("LEADS_TOKEN", server.token)
        yield server


def fill(at, url: str, token: str = "") -> None:
    at.text_input(key="conn_url_v2").input(url).run()
    at.text_input(key="conn_token_v2").input(token).run()


@pytest.mark.parametrize("url", ["http://169.254.169.254", "https://127.0.0.1:{port}"])
def test_settings_refuses_to_test_or_save_a_private_address(crm, url):
    at = run_app("pages/settings.py")
    fill(at, url.format(port=crm.port), "some-token")
    before = len(crm.requests)
    at.button(key="conn_test").click().run()
    assert at.error[0].value.startswith("Not tested: The base URL points at")
    at.button(key="conn_save").click().run()
    assert at.error[0].value.startswith("Not saved: The base URL points at")
    assert len(crm.requests) == before  # page reruns are served from the cache: nothing was sent
    assert not secrets_file().exists()


def test_with_the_override_a_private_address_may_be_tested(crm, monkeypatch):
    monkeypatch.setenv("LEADS_ALLOW_PRIVATE_CRM", "true")
    at = run_app("pages/settings.py")
    fill(at, f"https://127.0.0.1:{crm.port}", "some-token")  # https to a plain-http server
    at.button(key="conn_test").click().run()
    assert at.error[0].value.startswith("Connection failed: Could not connect to this address")


def test_settings_never_sends_the_saved_token_to_a_new_address(crm, tmp_path, monkeypatch):
    monkeypatch.setenv("LEADS_ALLOW_PRIVATE_CRM", "true")
    with FaultyDemoCRM(tmp_path / "other", size=0, token=crm.token) as other:
        at = run_app("pages/settings.py")
        fill(at, other.base_url)  # token left empty
        at.button(key="conn_test").click().run()
        assert at.error[0].value.startswith("Not tested: Type the token again for a new address")
        at.button(key="conn_save").click().run()
        assert at.error[0].value.startswith("Not saved: Type the token again for a new address")
        assert other.requests == []
    assert not secrets_file().exists()


def test_the_connection_test_never_echoes_what_the_target_answered(crm):
    at = run_app("pages/settings.py")
    crm.inject("statuses", 404, body=json.dumps({"message": "admin console: root password hunter2"}))
    crm.inject("statuses", 500, body="<html>secret internal page hunter2</html>", times=5)
    at.button(key="conn_test").click().run()  # the saved address: no token typed
    first = at.error[0].value
    assert first.startswith("Connection failed: The CRM rejected the request (HTTP 404)")
    at.button(key="conn_test").click().run()
    second = at.error[0].value
    assert second.startswith("Connection failed: The CRM answered with a server error (HTTP 500)")
    assert "hunter2" not in first + second


@pytest.mark.parametrize("failure", ["500", "401", "unreachable"])
def test_settings_shows_the_connection_form_when_the_crm_fails(crm, monkeypatch, failure):
    if failure == "unreachable":
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        monkeypatch.setenv("LEADS_BASE_URL", f"http://127.0.0.1:{port}")
    elif failure == "401":
        monkeypatch.setenv("LEADS_TOKEN", "wrong-token")
    else:
        crm.inject("/v2/", 500, times=100)
    at = run_app("pages/settings.py")
    assert "Could not load the leads" in at.error[0].value
    assert [e.label for e in at.expander] == ["Connect a CRM", "Sync runs"]
    assert at.button(key="conn_test") and at.button(key="conn_save") and at.text_input(key="conn_url_v2")
    assert "The funnel mapping needs the CRM's statuses" in at.info[0].value


# -- bad configurations: a message that says what to fix -------------------------------------------------


def problems_shown(at) -> str:
    return " ".join(e.value for e in at.error) + " " + " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://[::1", "LEADS\\_BASE\\_URL is not a valid address (Invalid IPv6 URL)"),
        ("https://crm.example:99999", "LEADS\\_BASE\\_URL is not a valid address (Port out of range"),
        ("https://crm.example:abc", "LEADS\\_BASE\\_URL is not a valid address (Port could not be cast"),
    ],
)
def test_a_bad_base_url_is_explained(monkeypatch, url, said):
    monkeypatch.setenv("LEADS_SOURCE", "v2")
    monkeypatch.setenv("LEADS_BASE_URL", url)
    monkeypatch.setenv("LEADS_TOKEN", "t")
    at = run_app()
    assert at.error[0].value == "**The dashboard is not configured correctly.**"
    assert said in problems_shown(at)


def test_a_non_ascii_token_is_explained_and_never_carried_by_an_error(monkeypatch):
    token = "tök€n-secret"
    monkeypatch.setenv("LEADS_SOURCE", "v2")
    monkeypatch.setenv("LEADS_BASE_URL", "https://crm.example")
    monkeypatch.setenv("LEADS_TOKEN", token)
    at = run_app()
    shown = problems_shown(at)
    assert "LEADS\\_TOKEN contains characters that cannot be sent" in shown and token not in shown

    errors = []
    for attempt in (
        lambda: load_settings(),
        lambda: HttpClient("https://crm.example", token),
        lambda: connect("v2", base_url="https://crm.example", token=token),
        lambda: connect("kommo", base_url="https://acme.kommo.com", token=token),
    ):
        with pytest.raises(Exception) as info:  # any type: the point is what it carries
            attempt()
        errors.append(info.value)
    for exc in errors:
        assert "cannot be sent" in str(exc)
        for text in (str(exc), repr(exc), repr(exc.args), str(exc.__cause__), str(exc.__context__)):
            assert "tök" not in text, text


def test_a_data_dir_under_a_regular_file_is_explained(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("LEADS_DATA_DIR", str(tmp_path / "file" / "data"))
    at = run_app()
    error = at.error[0].value
    assert (
        error.startswith("**LEADS_DATA_DIR (")
        and "/file/data) is not a writable folder:** Not a directory" in error
    )


def test_a_data_dir_in_proc_is_explained(monkeypatch):
    monkeypatch.setenv("LEADS_DATA_DIR", "/proc/leads-dashboard")
    at = run_app()
    assert at.error[0].value.startswith(
        "**LEADS_DATA_DIR (/proc/leads-dashboard) is not a writable folder:**"
    )


@pytest.mark.parametrize("name", ["dashboard.sqlite3", "demo_crm.sqlite3"])
def test_a_damaged_database_is_explained(tmp_path, monkeypatch, name):
    data = tmp_path / "data"
    data.mkdir()
    (data / name).write_bytes(b"this is not an SQLite file, it was damaged" * 100)
    monkeypatch.setenv("LEADS_DEMO_SIZE", "30")
    at = run_app()
    error = at.error[0].value
    assert "is damaged" in error and "move the .sqlite3 file away and restart" in error
    with pytest.raises(sqlite3.DatabaseError):  # the file really is unreadable, as the page says
        sqlite3.connect(data / name).execute("SELECT * FROM sqlite_master").fetchall()


def test_what_each_data_dir_problem_says():
    from lib.ui.data import data_dir_problem

    s = Settings(data_dir=Path("/srv/leads"))
    locked = sqlite3.OperationalError("unable to open database file")  # a folder it may not write in
    assert data_dir_problem(s, locked).startswith("**LEADS_DATA_DIR (/srv/leads) is not a writable folder:**")
    damaged = sqlite3.DatabaseError("file is not a database")
    assert data_dir_problem(s, damaged) == (
        "**The dashboard's database in LEADS_DATA_DIR (/srv/leads) is damaged** (file is not a database): "
        "move the .sqlite3 file away and restart the dashboard"
    )
    no_port = OSError(98, "Address already in use")  # about no file
    assert data_dir_problem(s, no_port) == (
        "**The dashboard could not start:** Address already in use (LEADS_DATA_DIR is /srv/leads)"
    )


# -- CRM text: no bidi tricks, no invisible twins, never Markdown or HTML ------------------------------------


def test_bidi_controls_and_zero_width_characters_are_dropped_from_crm_text():
    raw = pd.Series(["John \u202egnp.exe\u202c", "Da\u200bna", "\u2067שלום\u2069", "\ufeffאבי\u200f", None])
    assert clean_text(raw).tolist() == ["John gnp.exe", "Dana", "שלום", "אבי\u200f", pd.NA]  # RLM kept
    owners = text_category(["Dana", "Da\u200bna", "Dan\u2060a "])
    assert owners.cat.categories.tolist() == ["Dana"] and owners.tolist() == ["Dana"] * 3


def test_connectors_clean_the_text_they_bring(tmp_path):
    items = [
        lead_item(1, "new", 1, "10:00:00", name="John \u202egnp.exe\u202c", owner="Dana"),
        lead_item(2, "new", 1, "11:00:00", name="Noa", owner="Da\u200bna", utm_source="fb\u200b"),
    ]
    with FaultyDemoCRM(tmp_path / "crm", size=0) as crm:
        crm.db.import_items(items)
        leads = connect("v2", base_url=crm.base_url, token=crm.token).leads()
    assert sorted(leads["name"]) == ["John gnp.exe", "Noa"]
    assert leads["owner"].cat.categories.tolist() == ["Dana"]
    assert to_canonical_leads(pd.DataFrame({"company": ["\u200b"]}))["company"].isna().all()  # empty → NA


def test_text_for_markdown_is_escaped_and_addresses_become_code():
    assert escape_markdown("[x](javascript:alert(1))") == "\\[x\\](javascript\\:alert(1))"
    assert escape_markdown("<img src=x onerror=alert(1)>") == "\\<img src=x onerror=alert(1)\\>"
    assert escape_markdown("**Tom & Jerry** :red[x] $1") == "\\*\\*Tom \\& Jerry\\*\\* \\:red\\[x\\] \\$1"
    # Streamlit links web and e-mail addresses even when escaped: they go in code spans, the trailing
    # punctuation stays outside
    assert escape_markdown("at https://crm.example:8443/api: ok") == "at `https://crm.example:8443/api`\\: ok"
    assert escape_markdown("write to noa@x.example.") == "write to `noa@x.example`."
    assert escape_markdown("see www.x.example/a`b") == "see ``www.x.example/a`b``"  # a longer fence


def test_chart_labels_from_data_are_escaped_for_plotly():
    frame = pd.DataFrame(
        {
            "status_id": ["1", "2"],
            "status": ['<a href="https://evil.example">win</a>', "Tom & Jerry"],
            "leads": [3, 1],
            "share": [0.75, 0.25],
        }
    )
    fig = charts.status_bar_chart(frame)
    assert list(fig.data[0].y) == ['&lt;a href="https://evil.example"&gt;win&lt;/a&gt;', "Tom &amp; Jerry"]
    assert list(fig.data[0].x) == [3, 1]  # numbers untouched


PAYLOADS = ("[x](javascript:alert(1))", "<img src=x onerror=alert(1)>")
PAGES = (
    "pages/overview.py",
    "pages/funnel.py",
    "pages/statuses.py",
    "pages/goals.py",
    "pages/marketing.py",
    "pages/ad_spend.py",
    "pages/leads.py",
    "pages/new_lead.py",
    "pages/settings.py",
)


def markdown_bodies(at) -> list[str]:
    """Every element Streamlit renders as Markdown (and the labels of metrics and widgets)."""
    out = []
    for kind in (
        "markdown",
        "caption",
        "error",
        "warning",
        "info",
        "success",
        "title",
        "header",
        "subheader",
    ):
        out += [str(e.value) for e in at.get(kind)]
    out += [str(m.label) for m in at.metric]
    for kind in ("selectbox", "multiselect", "text_input", "button", "radio", "checkbox", "expander"):
        out += [str(getattr(e, "label", "")) for e in at.get(kind)]
    return out


def chart_strings(at) -> list[str]:
    """Every string inside every Plotly figure on the page."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for chart in at.get("plotly_chart"):
        walk(json.loads(chart.proto.spec))
    return found


@pytest.mark.parametrize("page", PAGES)
def test_a_hostile_lead_renders_as_text_on_every_page(serve_leads, monkeypatch, page):
    items = [
        lead_item(1, "new", 1, "10:00:00", name=PAYLOADS[0], owner=PAYLOADS[1], utm_source=PAYLOADS[1]),
        lead_item(2, "converted", 3, "09:00:00", name=PAYLOADS[1], owner=PAYLOADS[0], utm_source=PAYLOADS[0]),
        lead_item(3, "no_answer", 9, "12:00:00", utm_campaign=PAYLOADS[1]),
    ]
    serve_leads(items)
    monkeypatch.setenv("LEADS_ALLOW_PRIVATE_CRM", "true")
    at = run_app(page)
    if page == "pages/leads.py":  # a search string is shown back too
        at.text_input(key="q").input(PAYLOADS[1]).run()
        assert not at.exception, at.exception
    for body in markdown_bodies(at):
        for payload in PAYLOADS:
            assert payload not in body, (page, body)
        assert "<img" not in body and "](javascript" not in body, (page, body)
    for text in chart_strings(at):
        assert "<img" not in text and "<a " not in text, (page, text)


def test_the_saved_settings_file_never_gets_a_refused_connection(crm):
    # the token typed for a refused address is not written anywhere
    at = run_app("pages/settings.py")
    fill(at, "https://10.0.0.8", "typed-secret")
    at.button(key="conn_save").click().run()
    assert at.error[0].value.startswith("Not saved: The base URL points at")
    assert not secrets_file().exists() or "typed-secret" not in tomllib.loads(secrets_file().read_text())
