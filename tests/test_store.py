"""lib.store: settings and the outbox persist across Store instances, on SQLite and on PostgreSQL
(`store_url` runs each store test on both)."""

import sqlite3
from datetime import UTC, datetime

import pandas as pd
import pytest

from lib.config import Settings
from lib.db import DatabaseError, sqlite_url
from lib.store import DEFAULT_EXT_LABELS, Store, apply_status_overrides, crm_key

NEW = "233069071553535427697228277840563827497"


def test_a_new_store_in_a_data_dir_creates_its_sqlite_file(tmp_path):
    store = Store(tmp_path / "nested" / "data")
    assert (tmp_path / "nested" / "data" / "dashboard.sqlite3").exists()
    assert store.path == tmp_path / "nested" / "data" / "dashboard.sqlite3"
    assert store.db.dialect == "sqlite"
    assert repr(store) == f"Store('sqlite:///{tmp_path}/nested/data/dashboard.sqlite3')"
    assert store.schema_version() == 6


def test_a_new_store_has_defaults(store_url):
    store = Store.open(store_url)
    assert store.schema_version() == 6
    assert "secret-pw" not in repr(store) and "secret-pw" not in store.url
    assert store.version() == 0
    assert store.status_overrides("demo") == {}
    assert store.utm_aliases() is None
    assert store.ext_labels() == {
        "ext_one": "Custom field 1",
        "ext_two": "Custom field 2",
        "ext_three": "Custom field 3",
        "ext_four": "Custom field 4",
    }
    assert store.outbox_list() == []


def test_settings_persist_across_instances_and_every_save_or_reset_bumps_the_version(store_url):
    a = Store.open(store_url)
    a.save_status_overrides("demo", {NEW: {"role": "won", "stage": 3}})
    assert a.version() == 1
    a.save_utm_aliases({"פייסבוק": "facebook", "fb": "facebook"})
    a.save_ext_labels({"ext_one": "שעה נוחה לחזרה", "ext_three": "  "})
    assert a.version() == 3
    a.close()

    b = Store.open(store_url)
    assert b.version() == 3
    assert b.status_overrides("demo") == {
        "233069071553535427697228277840563827497": {"role": "won", "stage": 3}
    }
    assert b.status_overrides("https://crm.example") == {}  # per CRM
    assert b.utm_aliases() == {"פייסבוק": "facebook", "fb": "facebook"}
    assert b.ext_labels() == {**DEFAULT_EXT_LABELS, "ext_one": "שעה נוחה לחזרה"}  # a blank keeps the default

    b.reset_status_overrides("demo")
    b.reset_utm_aliases()
    assert b.version() == 5
    assert b.status_overrides("demo") == {}
    assert b.utm_aliases() is None


def test_outbox_round_trip_with_hebrew_oldest_first(store_url):
    store = Store.open(store_url)
    lead = {
        "name": "ישראל ישראלי",
        "first_name": "ישראל ישראלי",
        "phone": "+972501234567",
        "text": "שורה\nשנייה",
    }
    first = store.outbox_add(lead, "The CRM had an internal error (500)", "failed")
    second = store.outbox_add({"name": "Dana", "phone": "+972521111111"}, "no answer", "unknown")
    assert second > first

    items = Store.open(store_url).outbox_list()  # another instance sees them
    assert [i.id for i in items] == [first, second]
    assert items[0].lead == lead
    assert items[0].error == "The CRM had an internal error (500)"
    assert items[0].state == "failed"
    assert items[0].attempts == 1
    assert items[0].created_at.tzinfo is not None
    assert items[0].created_at == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # NOW, 14:00 in Jerusalem

    store.outbox_update(first, error="still down (503)", state="unknown")
    updated = store.outbox_list()[0]
    assert (updated.error, updated.state, updated.attempts) == ("still down (503)", "unknown", 2)

    store.outbox_remove(first)
    assert [i.id for i in store.outbox_list()] == [second]
    assert store.version() == 0  # the outbox is not a setting


def test_outbox_refuses_an_unknown_state(store_url):
    with pytest.raises(ValueError):
        Store.open(store_url).outbox_add({"name": "x"}, "err", "lost")


def test_crm_key_is_demo_or_the_base_url():
    assert crm_key(Settings()) == "demo"
    assert crm_key(Settings(source="v2", base_url="https://crm.example/ords/", token="t")) == (
        "https://crm.example/ords"
    )


def _catalogue() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "status_id": pd.array(["1", "2", "3"], dtype="string"),
            "status": pd.array(["New", "Call back", "Spam"], dtype="string"),
            "is_active": [True, True, True],
            "position": [0, 1, 2],
            "role": pd.array(["open", "open", "junk"], dtype="string"),
            "stage": pd.array([0, 1, None], dtype="Int64"),
        }
    )


@pytest.mark.parametrize(
    ("overrides", "roles", "stages"),
    [
        ({}, ["open", "open", "junk"], [0, 1, pd.NA]),
        ({"2": {"role": "lost", "stage": 1}}, ["open", "lost", "junk"], [0, 1, pd.NA]),
        ({"3": {"role": "open", "stage": 0}}, ["open", "open", "open"], [0, 1, 0]),
        ({"1": {"role": "junk", "stage": 2}}, ["junk", "open", "junk"], [pd.NA, 1, pd.NA]),
        ({"2": {"stage": None}}, ["open", "open", "junk"], [0, pd.NA, pd.NA]),
        ({"2": {"role": "won", "stage": "x"}}, ["open", "won", "junk"], [0, 1, pd.NA]),  # bad stage kept
        ({"99": {"role": "won", "stage": 3}}, ["open", "open", "junk"], [0, 1, pd.NA]),  # unknown id
        ({"2": {"role": "customer", "stage": 3}}, ["open", "open", "junk"], [0, 1, pd.NA]),  # bad role
    ],
)
def test_apply_status_overrides(overrides, roles, stages):
    before = _catalogue()
    out = apply_status_overrides(before, overrides)
    assert out["role"].tolist() == roles
    assert [pd.NA if pd.isna(s) else s for s in out["stage"]] == stages
    assert str(out["stage"].dtype) == "Int64" and str(out["role"].dtype) == "string"
    assert before.equals(_catalogue())  # the input is not changed


# -- the upgrade of an existing SQLite file -------------------------------------------------------------

# The schema-5 file exactly as lib/store.py of schema 5 made it: its CREATE statements, then the columns of
# schema 2 added by ALTER TABLE, then its indexes and tables, and meta.schema = 5.
SCHEMA_5 = (
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        lead TEXT NOT NULL,
        error TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 1
    )""",
    "ALTER TABLE outbox ADD COLUMN submission TEXT",
    "ALTER TABLE outbox ADD COLUMN owner TEXT",
    "ALTER TABLE outbox ADD COLUMN claimed_at REAL",
    "ALTER TABLE outbox ADD COLUMN lead_id TEXT",
    "CREATE UNIQUE INDEX IF NOT EXISTS outbox_submission ON outbox (submission)",
    "CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state)",
    """CREATE TABLE IF NOT EXISTS ad_spend (
        day TEXT NOT NULL,
        utm_source TEXT NOT NULL DEFAULT '',
        utm_medium TEXT NOT NULL DEFAULT '',
        utm_campaign TEXT NOT NULL DEFAULT '',
        spend REAL NOT NULL,
        imported_at TEXT NOT NULL,
        source_file TEXT,
        UNIQUE (day, utm_source, utm_medium, utm_campaign)
    )""",
    """CREATE TABLE IF NOT EXISTS users (
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS sign_in_failures "
    "(account TEXT NOT NULL, client TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sign_in_failures_at ON sign_in_failures (at)",
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        action TEXT NOT NULL,
        page TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}'
    )""",
    """CREATE TABLE IF NOT EXISTS sso_users (
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "INSERT INTO meta (key, value) VALUES ('schema', 5)",
)
T1 = "2026-11-20T08:00:00.000000+00:00"


def test_a_schema_5_file_is_upgraded_to_6_keeping_settings_outbox_spend_users_and_audit(tmp_path):
    con = sqlite3.connect(tmp_path / "dashboard.sqlite3")
    for statement in SCHEMA_5:
        con.execute(statement)
    con.executemany(
        "INSERT INTO settings (key, value) VALUES (?, ?)",
        [
            ("utm_aliases", '{"פייסבוק": "facebook"}'),
            ("status_overrides:demo", '{"7": {"role": "won", "stage": 3}}'),
        ],
    )
    con.execute("INSERT INTO meta (key, value) VALUES ('version', 9)")
    con.executemany(
        "INSERT INTO outbox (id, lead, error, state, created_at, attempts, submission, owner, claimed_at, "
        "lead_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (3, '{"name": "דנה"}', "refused (400)", "failed", T1, 2, "s-3", None, None, None),
            (8, '{"name": "Avi"}', "no answer", "unknown", T1, 1, None, None, None, None),
        ],
    )
    con.execute(
        "INSERT INTO ad_spend VALUES ('2026-11-01', 'facebook', 'cpc', 'חורף', 120.5, ?, 'meta.csv')", (T1,)
    )
    con.execute("INSERT INTO users VALUES ('Noa', 'admin', '$argon2id$x', 0, ?, ?)", (T1, T1))
    con.execute("INSERT INTO sso_users VALUES ('dana@example.com', 'manager', 0, ?, ?)", (T1, T1))
    con.execute("INSERT INTO sign_in_failures VALUES ('noa', '10.0.0.9', 1764000000.25)")
    con.execute(
        "INSERT INTO audit (at, who, action, page, detail) VALUES (?, 'Noa', 'sign-in', '', '{}')", (T1,)
    )
    con.commit()
    con.close()

    store = Store(tmp_path)
    assert store.schema_version() == 6
    assert store.version() == 9
    assert store.utm_aliases() == {"פייסבוק": "facebook"}
    assert store.status_overrides("demo") == {"7": {"role": "won", "stage": 3}}
    items = store.outbox_list()
    assert [(i.id, i.lead, i.error, i.state, i.attempts, i.submission) for i in items] == [
        (3, {"name": "דנה"}, "refused (400)", "failed", 2, "s-3"),
        (8, {"name": "Avi"}, "no answer", "unknown", 1, None),
    ]
    assert store.outbox_add({"name": "new"}, "err", "failed") == 9  # numbering goes on after 8
    assert not store.outbox_claim("s-3", {"name": "x"}).won  # the submission key stays unique
    spend = store.spend_frame()
    assert spend["utm_campaign"].tolist() == ["חורף"] and spend["spend"].tolist() == [120.5]
    assert store.user("NOA")["role"] == "admin"  # the old NOCASE table still finds any case
    with pytest.raises(ValueError, match="already exists"):
        store.add_user("noa", "manager", "$argon2id$y")
    assert store.sso_user("Dana@Example.com")["role"] == "manager"
    assert store.sign_in_failures("Noa", "10.0.0.9", 1764000000.0) == ([1764000000.25], [1764000000.25])
    assert store.audit_frame()["action"].tolist() == ["sign-in"]
    store.close()
    assert Store(tmp_path).schema_version() == 6  # opening again changes nothing


# -- users, single sign-on, sign-in failures, spend and audit on both databases ---------------------------


def test_user_names_are_unique_and_found_in_any_case(store_url):
    store = Store.open(store_url)
    store.add_user("Noa", "admin", "h1")
    store.add_user("bob", "manager", "h2")
    store.add_user("Avi", "admin", "h3")
    with pytest.raises(ValueError, match="A user named 'NOA' already exists"):
        store.add_user(" NOA ", "manager", "h4")
    with pytest.raises(ValueError, match="blank"):
        store.add_user("  ", "manager", "h5")
    assert store.user("nOa")["name"] == "Noa"
    store.update_user("AVI", disabled=True)
    assert store.user("avi")["disabled"] is True
    with pytest.raises(KeyError):
        store.update_user("nobody", role="admin")
    users = store.users()
    assert users["name"].tolist() == ["Avi", "bob", "Noa"]  # by name in any case, not A-Z before a-z
    assert users["disabled"].tolist() == [True, False, False]
    assert store.active_admins() == 1  # Noa; Avi is disabled


def test_single_sign_on_emails_in_any_case(store_url):
    store = Store.open(store_url)
    assert store.add_sso_user(" Dana@Example.COM ", "manager") == "dana@example.com"
    with pytest.raises(ValueError, match="already there"):
        store.add_sso_user("DANA@example.com", "admin")
    store.update_sso_user("DANA@EXAMPLE.COM", role="marketing", disabled=True)
    assert store.sso_user("dana@example.com")["role"] == "marketing"
    assert store.sso_users()["disabled"].tolist() == [True]
    store.remove_sso_user("Dana@example.com")
    assert store.sso_user("dana@example.com") is None
    with pytest.raises(KeyError):
        store.remove_sso_user("dana@example.com")


def test_sign_in_failures_keep_fractions_of_a_second_and_drop_after_a_day(store_url):
    store = Store.open(store_url)
    base = 1_764_000_000.123456  # epoch seconds: a 4-byte float would round this to 1764000000.0
    store.add_sign_in_failure(" Noa ", "10.0.0.1", base)
    store.add_sign_in_failure("noa", "10.0.0.2", base + 10)
    store.add_sign_in_failure("avi", "10.0.0.1", base + 20)
    assert store.sign_in_failures("NOA", "10.0.0.1", base) == ([base, base + 10], [base, base + 20])
    assert store.sign_in_failures("noa", "10.0.0.1", base + 5) == ([base + 10], [base + 20])
    store.add_sign_in_failure("avi", "10.0.0.3", base + 86_400 + 11)  # drops what is older than a day
    assert store.sign_in_failures("noa", "10.0.0.1", 0) == ([], [base + 20])  # base, base+10 < base+11
    store.clear_sign_in_failures("AVI")
    assert store.sign_in_failures("avi", "10.0.0.3", 0) == ([], [])


def test_spend_upsert_replace_delete_and_the_version(store_url):
    store = Store.open(store_url)
    rows = [
        {
            "date": "2026-11-01",
            "utm_source": "facebook",
            "utm_medium": "cpc",
            "utm_campaign": "חורף",
            "spend": 100,
        },
        {
            "date": "2026-11-02",
            "utm_source": "google",
            "utm_medium": None,
            "utm_campaign": None,
            "spend": 40.5,
        },
    ]
    assert store.save_spend(rows, source_file="a.csv") == (2, 0)
    assert store.save_spend([{**rows[0], "spend": 80}], source_file="b.csv") == (0, 1)  # replaced, not added
    frame = store.spend_frame()
    assert frame["spend"].tolist() == [80.0, 40.5]
    assert frame["utm_medium"].isna().tolist() == [False, True]
    store.replace_spend_table([rows[1]])  # the table as edited by hand: only the google row is left
    assert store.spend_frame()["utm_source"].tolist() == ["google"]
    assert store.delete_spend([(pd.Timestamp("2026-11-02"), "google", pd.NA, None)]) == 1
    assert store.spend_frame().empty
    assert store.version() == 4  # every change of the spend bumps it: 2 saves + 1 replace + 1 delete


def test_the_audit_log_newest_first_with_hebrew_detail(store_url):
    store = Store.open(store_url)
    store.audit("noa", "sign-in", now=datetime(2026, 11, 23, 6, 0, tzinfo=UTC))
    store.audit(
        "noa",
        "export",
        "Leads",
        {"rows": 3, "file": "לידים.csv"},
        now=datetime(2026, 11, 23, 7, 0, tzinfo=UTC),
    )
    frame = store.audit_frame()
    assert frame["action"].tolist() == ["export", "sign-in"]
    assert frame["detail"].tolist() == ['{"rows": 3, "file": "לידים.csv"}', "{}"]
    assert frame["at"].tolist() == [
        pd.Timestamp("2026-11-23 07:00", tz="UTC"),
        pd.Timestamp("2026-11-23 06:00", tz="UTC"),
    ]


def test_opening_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(DatabaseError, match="must start with sqlite:/// or postgresql://"):
        Store.open("mysql://leads:pw@db/leads")
    (tmp_path / "dashboard.sqlite3").write_bytes(b"not a database file " * 100)
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):  # the page says "damaged"
        Store.open(sqlite_url(tmp_path))
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        Store(tmp_path)
