"""The store on PostgreSQL: several processes opening a new database at once, secrets kept out of messages,
the users command line on LEADS_STORE_URL, and `lib.store_copy` from the SQLite file into PostgreSQL."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lib.db import DatabaseError, sqlite_url
from lib.store import Store
from lib.store_copy import CopyRefused, copy_store, main
from lib.users import run as users_cli

ROOT = Path(__file__).resolve().parents[1]
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_several_processes_opening_a_new_database_at_once_all_get_the_schema(pg_url):
    """Each thread opens its own connection (as each app process would) at the same instant: without the
    schema lock two CREATE TABLE IF NOT EXISTS of one table race and one fails."""
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []
    stores: list[Store] = []

    def open_store() -> None:
        barrier.wait()
        try:
            stores.append(Store.open(pg_url))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(stores) == 6 and {s.schema_version() for s in stores} == {6}
    stores[0].save_utm_aliases({"fb": "facebook"})
    assert stores[5].utm_aliases() == {"fb": "facebook"}  # one database
    for s in stores:
        s.close()


def test_the_password_is_never_shown(pg_url, pg_cluster):
    store = Store.open(pg_url)
    assert "secret-pw" not in repr(store) and "secret-pw" not in store.url
    assert (
        repr(store)
        == f"Store('postgresql://postgres:***@127.0.0.1:{pg_cluster.port}/{pg_url.rsplit('/', 1)[1]}')"
    )
    assert store.path is None and store.db.dialect == "postgresql"
    with pytest.raises(DatabaseError) as caught:
        Store.open(f"postgresql://postgres:wrong-pw@127.0.0.1:{pg_cluster.port}/postgres")
    assert "wrong-pw" not in str(caught.value) and "postgres:***@127.0.0.1" in str(caught.value)


def test_the_users_command_line_uses_leads_store_url(pg_url, monkeypatch):
    monkeypatch.setenv("LEADS_STORE_URL", pg_url)
    out = io.StringIO()
    code = users_cli(
        ["add", "Noa", "--role", "admin", "--password-stdin"],
        stdin=io.StringIO("correct horse battery\n"),
        out=out,
    )
    assert (code, out.getvalue()) == (0, "Added Noa (admin).\n")
    assert Store.open(pg_url).user("noa")["role"] == "admin"
    assert not (Path(os.environ["LEADS_DATA_DIR"]) / "dashboard.sqlite3").exists()  # not the SQLite file


# -- lib.store_copy ------------------------------------------------------------------------------------


def _filled_sqlite_store(data_dir: Path) -> Store:
    """A SQLite store with 2 settings (+1 version), 3 outbox rows of which 1 removed, 2 spend rows, 2 users,
    1 SSO e-mail and 2 audit rows."""
    store = Store(data_dir)
    store.save_utm_aliases({"פייסבוק": "facebook"})  # version 1
    store.save_status_overrides("demo", {"7": {"role": "won", "stage": 3}})  # version 2
    first = store.outbox_add({"name": "דנה כהן", "phone": "+972521111111"}, "refused (400)", "failed", now=AT)
    store.outbox_add({"name": "Avi"}, "no answer", "unknown", now=AT)  # id 2
    store.outbox_remove(first)  # id 1 gone: ids 2 and 3 remain
    claim = store.outbox_claim("sub-3", {"name": "Rina"}, now=AT)  # id 3
    store.outbox_finish(claim.item.id, "failed", error="CRM down (503)")
    store.save_spend(  # version 3
        [
            {
                "date": "2026-11-01",
                "utm_source": "facebook",
                "utm_medium": "cpc",
                "utm_campaign": "חורף",
                "spend": 120.5,
            },
            {
                "date": "2026-11-02",
                "utm_source": "google",
                "utm_medium": None,
                "utm_campaign": None,
                "spend": 40,
            },
        ],
        source_file="meta.csv",
        now=AT,
    )
    store.add_user("Noa", "admin", "$argon2id$noa", now=AT)
    store.add_user("dana", "marketing", "$argon2id$dana", now=AT)
    store.add_sso_user("Rina@Example.com", "manager", now=AT)
    store.audit("Noa", "sign-in", now=AT)
    store.audit("Noa", "export", "Leads", {"rows": 3}, now=AT)
    return store


def test_copy_from_sqlite_into_an_empty_postgresql_store_keeps_everything(tmp_path, pg_url):
    _filled_sqlite_store(tmp_path / "data").close()
    out = io.StringIO()
    counts = copy_store(sqlite_url(tmp_path / "data"), pg_url, batch=1, out=out)  # 2 batches a table
    assert {t: counts[t] for t in ("settings", "outbox", "ad_spend", "users", "sso_users", "audit")} == {
        "settings": 2,
        "outbox": 2,
        "ad_spend": 2,
        "users": 2,
        "sso_users": 1,
        "audit": 2,
    }
    assert counts["sign_in_failures"] == 0
    printed = out.getvalue()
    assert "outbox: 2 rows\n" in printed and "settings: 2 rows\n" in printed
    assert "secret-pw" not in printed and "postgres:***@" in printed

    store = Store.open(pg_url)
    assert store.schema_version() == 6
    assert store.version() == 3  # two settings saves and one spend save
    assert store.utm_aliases() == {"פייסבוק": "facebook"}
    assert store.status_overrides("demo") == {"7": {"role": "won", "stage": 3}}
    items = store.outbox_list()
    assert [(i.id, i.lead, i.state, i.error, i.submission) for i in items] == [
        (2, {"name": "Avi"}, "unknown", "no answer", None),
        (3, {"name": "Rina"}, "failed", "CRM down (503)", "sub-3"),
    ]
    assert items[0].created_at == AT
    assert store.spend_frame()["spend"].tolist() == [120.5, 40.0]
    assert store.spend_frame()["utm_campaign"].tolist()[0] == "חורף"
    assert store.users()["name"].tolist() == ["dana", "Noa"]
    assert store.user("NOA")["password_hash"] == "$argon2id$noa"
    with pytest.raises(ValueError, match="already exists"):
        store.add_user("noa", "manager", "x")  # still unique in any case
    assert store.sso_user("rina@example.com")["role"] == "manager"
    assert store.audit_frame()["action"].tolist() == ["export", "sign-in"]
    # the identities go on after the copied ids: outbox 2, 3 -> 4; audit 1, 2 -> 3
    assert store.outbox_add({"name": "new"}, "err", "failed") == 4
    store.audit("cli", "copied")
    assert store.db.execute("SELECT id FROM audit WHERE action = 'copied'").scalar() == 3
    assert not store.outbox_claim("sub-3", {"name": "again"}).won  # the submission key is unique there too


def test_a_destination_holding_data_is_refused_and_left_alone(tmp_path, pg_url):
    _filled_sqlite_store(tmp_path / "data").close()
    target = Store.open(pg_url)
    target.add_user("other", "admin", "h")
    target.outbox_add({"name": "kept"}, "err", "failed")
    with pytest.raises(CopyRefused) as caught:
        copy_store(sqlite_url(tmp_path / "data"), pg_url)
    message = str(caught.value)
    assert "already holds data: outbox (1 row), users (1 row)" in message
    assert "secret-pw" not in message
    assert target.users()["name"].tolist() == ["other"]
    assert [i.lead for i in target.outbox_list()] == [{"name": "kept"}]


def test_a_store_the_app_only_opened_counts_as_empty(tmp_path, pg_url):
    """Starting the app on the new database before the copy writes only schema versions: still empty."""
    _filled_sqlite_store(tmp_path / "data").close()
    Store.open(pg_url).close()
    assert copy_store(sqlite_url(tmp_path / "data"), pg_url)["outbox"] == 2
    assert Store.open(pg_url).version() == 3  # the source's version, the destination's schema


def test_refusals_say_why(tmp_path, pg_url):
    with pytest.raises(CopyRefused, match=r"There is no store at sqlite:///.*nowhere"):
        copy_store(sqlite_url(tmp_path / "nowhere"), pg_url)
    with pytest.raises(CopyRefused, match="the same store"):
        copy_store(pg_url, pg_url)


def test_python_dash_m_lib_store_copy_from_the_settings_sqlite_file_to_leads_store_url(tmp_path, pg_url):
    data = tmp_path / "data"
    _filled_sqlite_store(data).close()
    env = {**os.environ, "LEADS_DATA_DIR": str(data), "LEADS_STORE_URL": pg_url}
    done = subprocess.run(
        [sys.executable, "-m", "lib.store_copy"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "users: 2 rows\n" in done.stdout and "Now set LEADS_STORE_URL" in done.stdout
    assert "secret-pw" not in done.stdout + done.stderr
    again = subprocess.run(
        [sys.executable, "-m", "lib.store_copy", "--to", pg_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert again.returncode == 1 and "already holds data" in again.stderr
    assert "secret-pw" not in again.stdout + again.stderr


def test_main_without_a_destination_says_what_to_pass(capsys):
    assert main([]) == 1
    assert "--to postgresql://" in capsys.readouterr().err


def test_copy_back_from_postgresql_into_a_new_sqlite_file(tmp_path, pg_url):
    _filled_sqlite_store(tmp_path / "a").close()
    copy_store(sqlite_url(tmp_path / "a"), pg_url)
    counts = copy_store(pg_url, sqlite_url(tmp_path / "b"))
    assert counts["outbox"] == 2 and counts["audit"] == 2
    back = Store(tmp_path / "b")
    assert [i.id for i in back.outbox_list()] == [2, 3]
    assert back.outbox_add({"name": "new"}, "err", "failed") == 4  # SQLite numbers on after the copied ids
