"""Single sign-on without a browser: the store's e-mail -> role list (schema 5, upgraded without losing data),
the mapping the gate applies after the provider's redirect (lib.auth.attempt_sso_sign_in: mapped, any case,
disabled, unknown with and without LEADS_SSO_DEFAULT_ROLE), the gate's re-check of a single sign-on session,
the Users page's "Single sign-on e-mails" section and `python -m lib.users sso-*`. The provider's redirect
itself is driven in Chromium by tests/e2e/test_sso_browser.py (AppTest cannot follow st.login)."""

from __future__ import annotations

import io
import sqlite3
import time
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from lib import auth
from lib.config import load_settings
from lib.errors import ConfigError
from lib.store import Store
from lib.users import run
from tests.conftest import APP
from tests.test_roles_pages import ITEMS, add_user, open_url, sign_in, store

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CLIENT = "203.0.113.7"


def audit_rows(s: Store) -> list[tuple[str, str, str]]:
    log = s.audit_frame()
    return list(zip(log["who"], log["action"], log["detail"], strict=True))[::-1]


# -- the store ----------------------------------------------------------------------------------------------


def test_e_mails_are_kept_trimmed_and_lower_case_and_unique_in_any_case(tmp_path):
    s = Store(tmp_path)
    assert s.add_sso_user("  Dana.Levi@Example.COM ", "marketing", now=NOW) == "dana.levi@example.com"
    with pytest.raises(ValueError, match="already there"):
        s.add_sso_user("DANA.LEVI@example.com", "admin")
    for bad in ("", "dana", "dana levi@example.com", "a@b@c"):
        with pytest.raises(ValueError, match="Enter one e-mail address"):
            s.add_sso_user(bad, "admin")
    assert s.sso_user("Dana.Levi@EXAMPLE.com")["role"] == "marketing"  # looked up in any case
    s.update_sso_user("DANA.levi@example.com", role="manager", disabled=True)
    row = s.sso_user("dana.levi@example.com")
    assert (row["email"], row["role"], row["disabled"]) == ("dana.levi@example.com", "manager", True)
    frame = s.sso_users()
    assert frame[["email", "role", "disabled"]].values.tolist() == [
        ["dana.levi@example.com", "manager", True]
    ]
    s.remove_sso_user("Dana.Levi@example.com")
    assert s.sso_user("dana.levi@example.com") is None and s.sso_users().empty
    with pytest.raises(KeyError):
        s.remove_sso_user("dana.levi@example.com")
    with pytest.raises(KeyError):
        s.update_sso_user("nobody@example.com", role="admin")


def test_a_schema_4_file_gets_the_sso_table_and_keeps_its_users(tmp_path):
    s = Store(tmp_path)
    s.add_user("noa", "admin", auth.hash_password("correct horse battery"))
    s.close()
    # make it the file an older dashboard left: no sso_users table, schema 4
    path = next(tmp_path.glob("*.sqlite*"))
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE sso_users")
    conn.execute("UPDATE meta SET value = 4 WHERE key = 'schema'")
    conn.commit()
    conn.close()
    s = Store(tmp_path)
    assert s.user("noa")["role"] == "admin"
    assert s.add_sso_user("mia@example.com", "marketing") == "mia@example.com"
    s.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (6,)  # the current one
    conn.close()


# -- the mapping after the provider's redirect --------------------------------------------------------------


def test_a_mapped_e_mail_signs_in_with_its_role_in_any_case_and_is_audited(tmp_path):
    s = Store(tmp_path)
    s.add_sso_user("mia@example.com", "marketing")
    user, message = auth.attempt_sso_sign_in(s, " Mia@Example.com ", "", CLIENT, NOW)
    assert (user, message) == (auth.User("mia@example.com", "marketing"), "")
    assert user.masked
    assert audit_rows(s)[-1] == ("mia@example.com", "sign-in", '{"client": "203.0.113.7", "method": "sso"}')
    # a mapping wins over the default role
    user, _ = auth.attempt_sso_sign_in(s, "mia@example.com", "manager", CLIENT, NOW)
    assert user.role == "marketing"


def test_an_unknown_e_mail_is_refused_with_a_clear_message_and_audited(tmp_path):
    s = Store(tmp_path)
    user, message = auth.attempt_sso_sign_in(s, "Stranger@Example.com", "", CLIENT, NOW)
    assert user is None
    assert message == (
        "Your e-mail stranger@example.com has no access to this dashboard: ask an admin to add it."
    )
    detail = '{"client": "203.0.113.7", "method": "sso", "reason": "not mapped"}'
    assert audit_rows(s) == [("stranger@example.com", "sign-in failed", detail)]


def test_an_unknown_e_mail_gets_the_default_role_when_one_is_set(tmp_path):
    s = Store(tmp_path)
    user, message = auth.attempt_sso_sign_in(s, "new@example.com", "front_desk", CLIENT, NOW)
    assert (user, message) == (auth.User("new@example.com", "front_desk"), "")
    detail = '{"client": "203.0.113.7", "method": "sso", "default_role": "front_desk"}'
    assert audit_rows(s) == [("new@example.com", "sign-in", detail)]
    assert s.sso_users().empty  # the default is not written into the list


def test_a_disabled_e_mail_is_refused_even_with_a_default_role(tmp_path):
    s = Store(tmp_path)
    s.add_sso_user("gone@example.com", "manager")
    s.update_sso_user("gone@example.com", disabled=True)
    user, message = auth.attempt_sso_sign_in(s, "gone@example.com", "manager", CLIENT, NOW)
    assert user is None
    assert message == "Your e-mail gone@example.com is disabled for this dashboard: ask an admin."
    assert audit_rows(s)[-1][1:] == (
        "sign-in failed",
        '{"client": "203.0.113.7", "method": "sso", "reason": "disabled"}',
    )


def test_a_provider_without_an_e_mail_is_refused(tmp_path):
    s = Store(tmp_path)
    user, message = auth.attempt_sso_sign_in(s, "", "admin", CLIENT, NOW)
    assert user is None and "did not give an e-mail address" in message
    assert audit_rows(s)[-1][:2] == ("(no e-mail)", "sign-in failed")


def test_the_default_role_setting_is_checked(monkeypatch):
    monkeypatch.setenv("LEADS_SSO_DEFAULT_ROLE", " Front desk ")
    assert load_settings().sso_default_role == "front_desk"
    monkeypatch.setenv("LEADS_SSO_DEFAULT_ROLE", "")
    assert load_settings().sso_default_role == ""
    monkeypatch.setenv("LEADS_SSO_DEFAULT_ROLE", "boss")
    with pytest.raises(ConfigError, match="LEADS_SSO_DEFAULT_ROLE must be empty"):
        load_settings()


# -- the command line ---------------------------------------------------------------------------------------


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return run(list(argv), stdin=io.StringIO(""), out=out), out.getvalue()


def test_sso_commands_add_change_disable_list_and_remove_e_mails(capsys):
    assert cli("sso-add", "Mia@Example.com", "--role", "Marketing") == (
        0,
        "mia@example.com may sign in with single sign-on (marketing).\n",
    )
    assert cli("sso-add", "MIA@example.com", "--role", "admin")[0] == 1
    assert "already there" in capsys.readouterr().err
    assert cli("sso-add", "x@example.com", "--role", "boss")[0] == 1
    changed = cli("sso-set-role", "mia@EXAMPLE.com", "--role", "manager")
    assert changed == (0, "mia@example.com is now manager.\n")
    assert cli("sso-disable", "mia@example.com") == (0, "mia@example.com is disabled.\n")
    assert cli("list") == (0, "mia@example.com\tmanager (disabled)\tsingle sign-on\n")
    assert cli("sso-remove", "Mia@example.com") == (
        0,
        "mia@example.com can no longer sign in with single sign-on.\n",
    )
    assert cli("sso-remove", "mia@example.com")[0] == 1
    assert "not in the single sign-on list" in capsys.readouterr().err
    s = store()
    assert [(w, a) for w, a, _ in audit_rows(s)] == [
        ("cli", "sso e-mail added"),
        ("cli", "sso e-mail role changed"),
        ("cli", "sso e-mail disabled"),
        ("cli", "sso e-mail removed"),
    ]
    s.close()


# -- the app ------------------------------------------------------------------------------------------------


@pytest.fixture
def crm(serve_leads, monkeypatch):
    monkeypatch.setenv("LEADS_AUTH", "on")
    return serve_leads(ITEMS)


def sso_session(email: str, role: str) -> AppTest:
    """A session as the gate leaves it after the provider's redirect (what _sso_entry stores)."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["auth_user"] = {"name": email, "role": role, "seen": time.time(), "method": "sso"}
    return at


def test_without_an_auth_secret_the_sign_in_page_has_no_sso_button(crm):
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert not [b for b in at.button if b.label.startswith("Sign in with")]


def test_a_single_sign_on_session_follows_its_mapping_on_every_run(crm):
    s = store()
    s.add_sso_user("mia@example.com", "marketing")
    at = open_url(sso_session("mia@example.com", "marketing"), "pages/leads.py")
    assert not at.exception, at.exception
    assert at.sidebar.text[-1].value == "mia@example.com · Marketing"
    # an admin makes her a manager: the next run has the new role
    s.update_sso_user("mia@example.com", role="manager")
    open_url(at, "pages/leads.py")
    assert at.sidebar.text[-1].value == "mia@example.com · Manager"
    # the admin removes the e-mail: the next run signs her out
    s.remove_sso_user("mia@example.com")
    open_url(at, "pages/leads.py")
    assert [t.value for t in at.title] == ["Sign in"]
    assert at.info[0].value == "Your e-mail no longer has access. Ask an admin."
    assert audit_rows(s)[-1][:2] == ("mia@example.com", "session ended: e-mail disabled or removed")
    s.close()


def test_an_admin_maps_e_mails_on_the_users_page(crm):
    add_user("noa", "admin")
    at = open_url(sign_in("noa"), "pages/users.py")
    assert "Single sign-on e-mails" in [h.value for h in at.header]
    assert "Single sign-on is not configured" in at.info[0].value
    at.text_input(key="sso_add_email").input("not an e-mail")
    next(b for b in at.button if b.label == "Add e-mail").click().run()
    # shown escaped (an address in a code span, so no link is made of it)
    assert at.error[0].value == "Enter one e-mail address such as `dana@example.com` (got 'not an e-mail')."
    at.text_input(key="sso_add_email").input(" Mia@Example.com")
    at.selectbox(key="sso_add_role").set_value("marketing")
    next(b for b in at.button if b.label == "Add e-mail").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "`mia@example.com` may sign in as Marketing."
    s = store()
    assert s.sso_user("mia@example.com")["role"] == "marketing"
    added = '{"email": "mia@example.com", "role": "marketing"}'
    assert audit_rows(s)[-1] == ("noa", "sso e-mail added", added)
    # change the role, then remove
    at.selectbox(key="sso_change_email").set_value("mia@example.com")
    at.selectbox(key="sso_change_role").set_value("front_desk")
    next(b for b in at.button if b.label == "Change e-mail's role").click().run()
    assert at.success[0].value == "`mia@example.com` is now Front desk."
    assert s.sso_user("mia@example.com")["role"] == "front_desk"
    next(b for b in at.button if b.label == "Remove e-mail").click().run()
    assert at.success[0].value == "`mia@example.com` is removed."
    assert s.sso_user("mia@example.com") is None
    assert [a for w, a, _ in audit_rows(s) if w == "noa"][-3:] == [
        "sso e-mail added",
        "sso e-mail role changed",
        "sso e-mail removed",
    ]
    s.close()


AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a test cookie secret that is long enough",
}
CLIENT_KEYS = {"client_id": "id", "client_secret": "secret", "server_metadata_url": "https://idp.test/.wk"}


@pytest.mark.parametrize(
    ("section", "label"),
    [({**AUTH, **CLIENT_KEYS}, ""), ({**AUTH, "okta": CLIENT_KEYS}, "Okta")],
    ids=["auth section", "named provider"],
)
def test_an_auth_secret_adds_the_sso_button_next_to_the_built_in_form(crm, monkeypatch, section, label):
    if label:
        monkeypatch.setenv("LEADS_SSO_LABEL", label)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = section
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    sso = [b.label for b in at.button if b.label.startswith("Sign in with")]
    assert sso == [f"Sign in with {label or 'single sign-on'}"]
    assert at.text_input(key="auth_name") is not None  # the built-in form stays


def test_an_identity_older_than_the_idle_limit_is_not_taken_from_the_cookie():
    wall = 1_800_000_000.0
    # idle limit 8 h = 28,800 s: issued 28,800 s ago is still fresh, 28,801 s ago is stale
    assert not auth.sso_identity_stale(wall - 28_800, wall, 8)
    assert auth.sso_identity_stale(wall - 28_801, wall, 8)
    assert auth.sso_identity_stale(str(int(wall - 3 * 3600)), wall, 2)  # 3 h > 2 h, given as text
    # a provider that gives no issue time: nothing to judge by
    assert not auth.sso_identity_stale(None, wall, 8)
    assert not auth.sso_identity_stale("soon", wall, 8)


def test_a_refusal_quoting_the_providers_e_mail_is_shown_as_text(crm):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = {**AUTH, **CLIENT_KEYS}
    # what the gate stores after refusing an e-mail; the provider's e-mail may hold Markdown signs
    at.session_state["auth_sso_refused"] = "Your e-mail *x*_y@a.com has no access to this dashboard."
    at.session_state["auth_sso_hold"] = True
    at.run()
    # the stars escaped (no italics), the address part in a code span (no mailto link)
    assert at.error[0].value == r"Your e-mail \*x\*`_y@a.com` has no access to this dashboard."
