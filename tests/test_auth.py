"""lib.auth without Streamlit: page access, passwords, throttling, masking, when sign-in is required; and the
store's users, sign-in failures and audit log."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from lib import auth
from lib.config import Settings, load_settings
from lib.errors import ConfigError
from lib.store import Store

PASSWORD = "correct horse battery"  # 21 characters, not a common one
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T0 = 1_800_000_000.0  # epoch seconds of the lockout lease (the tests' own "wall clock")


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "store")
    yield s
    s.close()


# -- page access ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "opens"),
    [
        (
            "admin",
            {"overview", "funnel", "statuses", "history", "goals", "marketing", "ad_spend", "leads"}
            | {"new_lead", "settings", "users", "audit"},
        ),
        (
            "manager",
            {"overview", "funnel", "statuses", "history", "goals", "marketing", "ad_spend"}
            | {"leads", "new_lead"},
        ),
        ("marketing", {"overview", "funnel", "goals", "marketing", "ad_spend", "leads"}),
        ("front_desk", {"leads", "new_lead"}),
    ],
)
def test_each_role_opens_exactly_its_pages(role, opens):
    pages = [p.stem for p in (Path(__file__).resolve().parents[1] / "pages").glob("*.py")]
    assert {p for p in pages if auth.may_open(role, f"pages/{p}.py")} == opens


def test_without_sign_in_every_page_opens_and_an_unknown_page_is_admins_only():
    assert auth.may_open(None, "pages/users.py")
    assert auth.may_open("admin", "pages/new_page.py")
    assert not auth.may_open("manager", "pages/new_page.py")


def test_roles_are_read_in_any_spelling_and_unknown_ones_refused():
    assert auth.normalize_role("Front desk") == "front_desk"
    assert auth.normalize_role("front-desk") == "front_desk"
    assert auth.normalize_role(" ADMIN ") == "admin"
    with pytest.raises(ValueError, match="role must be one of"):
        auth.normalize_role("owner")


# -- passwords --------------------------------------------------------------------------------------------


def test_a_hash_verifies_its_password_only_and_is_salted():
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and first != second and PASSWORD not in first
    assert auth.verify(first, PASSWORD) and auth.verify(second, PASSWORD)
    assert not auth.verify(first, PASSWORD + "!")
    assert not auth.verify(None, PASSWORD)  # no such account
    assert not auth.verify("not a hash", PASSWORD)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short pass1", "at least 12"),  # 11 characters
        ("Password1234", "too common"),  # "password" + digits
        ("qwertyuiop1!", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),  # one letter repeated
        ("dana-the-marketer", "user name"),
    ],
)
def test_the_password_policy_refuses(password, why):
    with pytest.raises(auth.PasswordPolicyError, match=why):
        auth.check_password(password, "Dana")


def test_the_password_policy_accepts_a_long_uncommon_password():
    auth.check_password("שמש בבוקר 2026", "dana")  # 14 characters, Hebrew is fine
    auth.check_password(PASSWORD, "dana")


# -- throttling -------------------------------------------------------------------------------------------


def test_five_failures_in_fifteen_minutes_lock_until_the_oldest_leaves_the_window():
    # failures at 0, 60, 120, 180, 240 s; now = 300 s: the oldest (0) leaves the 900 s window at 900,
    # so the wait is 900 - 300 = 600 s
    times = [T0 + t for t in (0, 60, 120, 180, 240)]
    assert auth.lockout_seconds(times, [], T0 + 300) == 600
    assert auth.lockout_seconds([], times, T0 + 300) == 600  # the same from one client address
    assert auth.lockout_seconds(times[:4], [], T0 + 300) == 0  # four are allowed
    assert auth.lockout_seconds(times, [], T0 + 900) == 0  # at 900 the first one is out: four left
    assert auth.lockout_message(600) == "Too many failed sign-ins. Try again in 10 minutes."
    assert auth.lockout_message(61) == "Too many failed sign-ins. Try again in 2 minutes."
    assert auth.lockout_message(59) == "Too many failed sign-ins. Try again in 1 minute."


def test_sign_in_counts_failures_locks_after_five_and_audits(store):
    store.add_user("dana", "marketing", auth.hash_password(PASSWORD), now=AT)
    for i in range(4):
        user, message = auth.attempt_sign_in(store, "dana", "wrong password!", "10.0.0.1", T0 + i, AT)
        assert (user, message) == (None, "Wrong user name or password.")
    user, message = auth.attempt_sign_in(store, "dana", "wrong password!", "10.0.0.1", T0 + 4, AT)
    # the fifth failure (at T0+4) locks: the first (T0) leaves the window at T0+900 -> 896 s -> 15 minutes
    assert (user, message) == (None, "Too many failed sign-ins. Try again in 15 minutes.")
    # locked: even the right password is refused, from another address too (the account is locked)
    user, message = auth.attempt_sign_in(store, "dana", PASSWORD, "10.0.0.2", T0 + 10, AT)
    assert user is None and message.startswith("Too many failed sign-ins")
    # after the window: the right password works, and the account's failures are forgotten
    user, message = auth.attempt_sign_in(store, "dana", PASSWORD, "10.0.0.2", T0 + 901, AT)
    assert user == auth.User("dana", "marketing") and message == ""
    assert store.sign_in_failures("dana", "10.0.0.2", 0) == ([], [])
    log = store.audit_frame()
    assert log["action"].tolist()[::-1] == ["sign-in failed"] * 5 + ["sign-in refused: locked", "sign-in"]
    assert set(log["who"]) == {"dana"}
    assert '"client": "10.0.0.1"' in log["detail"].iloc[-1]


def test_one_client_trying_many_accounts_is_locked_too(store):
    for i, name in enumerate(["a1", "a2", "a3", "a4", "a5"]):
        auth.attempt_sign_in(store, name, "whatever password", "10.9.9.9", T0 + i, AT)
    user, message = auth.attempt_sign_in(store, "someone", "whatever password", "10.9.9.9", T0 + 5, AT)
    assert user is None and message.startswith("Too many failed sign-ins")
    # another client may still try
    user, message = auth.attempt_sign_in(store, "someone", "whatever password", "10.1.1.1", T0 + 5, AT)
    assert message == "Wrong user name or password."


def test_a_disabled_account_cannot_sign_in(store):
    store.add_user("dana", "manager", auth.hash_password(PASSWORD), now=AT)
    store.update_user("dana", disabled=True, now=AT)
    user, message = auth.attempt_sign_in(store, "dana", PASSWORD, "10.0.0.1", T0, AT)
    assert user is None and message == "This account is disabled. Ask an admin."


def test_user_names_are_unique_whatever_their_case(store):
    store.add_user("Dana", "manager", auth.hash_password(PASSWORD), now=AT)
    with pytest.raises(ValueError, match="already exists"):
        store.add_user("dana", "admin", auth.hash_password(PASSWORD), now=AT)
    assert store.user("DANA")["name"] == "Dana"
    user, _ = auth.attempt_sign_in(store, "dana", PASSWORD, "10.0.0.1", T0, AT)
    assert user == auth.User("Dana", "manager")


# -- when sign-in is required -----------------------------------------------------------------------------

DEMO = Settings()
REAL = Settings(source="v2", base_url="https://crm.example.com", token="t")


@pytest.mark.parametrize(
    ("mode", "settings", "address", "required"),
    [
        ("auto", DEMO, "localhost", False),  # the demo on this machine: opens at once
        ("auto", DEMO, "127.0.0.1", False),
        ("auto", DEMO, "0.0.0.0", True),  # the demo served to the network
        ("auto", DEMO, None, True),  # Streamlit's default: every interface
        ("auto", REAL, "localhost", True),  # a real CRM, even on this machine only
        ("on", DEMO, "localhost", True),
        ("off", DEMO, "0.0.0.0", False),
        ("off", REAL, "localhost", False),
    ],
)
def test_when_sign_in_is_required(mode, settings, address, required):
    s = Settings(**{**settings.__dict__, "auth": mode})
    assert auth.auth_required(s, address) is required


def test_sign_in_off_is_refused_for_a_real_crm_served_beyond_loopback():
    s = Settings(**{**REAL.__dict__, "auth": "off"})
    with pytest.raises(ConfigError, match="LEADS_AUTH=off is refused"):
        auth.auth_required(s, "0.0.0.0")


def test_sign_in_settings_are_read_and_checked():
    s = load_settings(
        env={"LEADS_AUTH": "ON", "LEADS_SESSION_IDLE_HOURS": "0.5", "LEADS_OWN_LEADS_ONLY": "yes"}, secrets={}
    )
    assert (s.auth, s.session_idle_hours, s.own_leads_only) == ("on", 0.5, True)
    defaults = load_settings(env={}, secrets={})
    assert (defaults.auth, defaults.session_idle_hours, defaults.own_leads_only) == ("auto", 8.0, False)
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"LEADS_AUTH": "maybe", "LEADS_SESSION_IDLE_HOURS": "0"}, secrets={})
    assert "LEADS_AUTH must be auto, on or off (got 'maybe')" in caught.value.problems
    assert any(p.startswith("LEADS_SESSION_IDLE_HOURS") for p in caught.value.problems)


# -- masking ----------------------------------------------------------------------------------------------


def test_masking_keeps_a_first_letter_of_names_and_e_mails_and_the_ends_of_phones():
    assert auth.mask_name("יוסי כהן") == "י*** כ***"
    assert auth.mask_name("  Dana   Levi ") == "D*** L***"
    assert auth.mask_phone("054-123-4567") == "054-***-**67"
    assert auth.mask_phone("+972 54-123-4567") == "+972 **-***-**67"  # digits 9,7,2 and 6,7 kept
    assert auth.mask_phone("1234") == "1***"  # too short to keep both ends
    assert auth.mask_email("dana@gmail.com") == "d***@gmail.com"
    assert auth.mask_email("not-an-address") == "n***"
    assert auth.mask_name(None) is None and auth.mask_phone(pd.NA) is pd.NA


def test_mask_leads_masks_contact_columns_only():
    frame = pd.DataFrame(
        {
            "name": ["יוסי כהן", None],
            "phone": ["054-123-4567", "050-765-4321"],
            "email": ["dana@gmail.com", None],
            "company": ["אקמה", "Acme"],
        }
    ).astype("string")
    masked = auth.mask_leads(frame)
    assert masked["name"].tolist() == ["י*** כ***", pd.NA]
    assert masked["phone"].tolist() == ["054-***-**67", "050-***-**21"]
    assert masked["email"].tolist() == ["d***@gmail.com", pd.NA]
    assert masked["company"].tolist() == ["אקמה", "Acme"]


# -- the front desk's exact lookup ------------------------------------------------------------------------


def test_the_front_desk_finds_only_exact_phone_email_or_full_name():
    leads = pd.DataFrame(
        {
            "lead_id": ["1", "2", "3"],
            "name": ["יוסי כהן", "Dana Levi", "Dana Levinson"],
            "phone": ["+972541234567", "+972507654321", "+972521111111"],
            "email": ["yossi@example.com", "dana@gmail.com", None],
        }
    ).astype("string")

    def ids(query):
        return auth.exact_matches(leads, query, "IL")["lead_id"].tolist()

    assert ids("054-123-4567") == ["1"]  # the same number written nationally
    assert ids("+972 54 123 4567") == ["1"]
    assert ids("054-123-456") == []  # one digit short: no partial match
    assert ids("DANA@gmail.com") == ["2"]
    assert ids("dana levi") == ["2"]  # the full name, any case; not "Dana Levinson"
    assert ids("Dana") == []  # no browsing by a part of a name
    assert ids("da") == [] and ids("") == []


# -- the store: upgrade, users, audit ---------------------------------------------------------------------


def test_a_schema_3_file_gains_the_sign_in_tables_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old"
    path.mkdir()
    db = sqlite3.connect(path / "dashboard.sqlite3")
    db.executescript(
        """
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO settings VALUES ('utm_aliases', '{"fb": "facebook"}');
        INSERT INTO meta VALUES ('schema', 3);
        """
    )
    db.close()
    store = Store(path)
    assert store.utm_aliases() == {"fb": "facebook"}
    store.add_user("admin1", "admin", "hash", now=AT)
    store.audit("admin1", "settings changed", "Settings", {"setting": "x"}, now=AT)
    assert store.users()["name"].tolist() == ["admin1"]
    row = store.audit_frame().iloc[0]
    assert (row["at"], row["who"], row["action"], row["page"]) == (
        pd.Timestamp(AT),
        "admin1",
        "settings changed",
        "Settings",
    )
    store.close()
    db = sqlite3.connect(path / "dashboard.sqlite3")
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (6,)  # the current schema
    db.close()


def test_users_list_never_holds_the_hash(store):
    store.add_user("dana", "manager", auth.hash_password(PASSWORD), now=AT)
    users = store.users()
    assert list(users.columns) == ["name", "role", "disabled", "created_at", "updated_at"]
    with pytest.raises(KeyError, match="no user named"):
        store.update_user("nobody", role="admin")


def test_own_leads_only_keeps_a_manager_or_front_desk_to_their_leads():
    leads = pd.DataFrame({"lead_id": ["1", "2", "3"], "owner": ["Dana", " dana ", "Avi"]}).astype("string")
    dana = auth.User("dana", "manager")
    assert auth.own_leads(leads, dana, True)["lead_id"].tolist() == ["1", "2"]
    assert auth.own_leads(leads, auth.User("DANA", "front_desk"), True)["lead_id"].tolist() == ["1", "2"]
    assert len(auth.own_leads(leads, dana, False)) == 3  # the setting is off
    assert len(auth.own_leads(leads, auth.User("dana", "marketing"), True)) == 3  # not for marketing
    assert len(auth.own_leads(leads, None, True)) == 3  # no sign-in
    no_owners = leads.assign(owner=pd.Series([pd.NA] * 3, dtype="string"))
    assert len(auth.own_leads(no_owners, dana, True)) == 3  # a CRM without owners
