"""lib.db: the one interface over SQLite and PostgreSQL, run against both."""

from __future__ import annotations

import threading

import pytest

from lib.db import DatabaseError, check_url, open_database, safe_url, sqlite_url


def test_safe_url_hides_the_password():
    assert (
        safe_url("postgresql://leads:s3cr%40t@db.local:5432/leads")
        == "postgresql://leads:***@db.local:5432/leads"
    )
    assert safe_url("sqlite:////srv/x.sqlite3") == "sqlite:////srv/x.sqlite3"
    assert check_url("mysql://x/y").startswith("LEADS_STORE_URL must start with")
    assert sqlite_url("/srv/leads") == "sqlite:////srv/leads/dashboard.sqlite3"


def test_statements_transactions_and_rollback(store_url):
    db = open_database(store_url)
    assert "secret-pw" not in repr(db)
    db.execute("CREATE TABLE IF NOT EXISTS t (id {id}, name TEXT NOT NULL UNIQUE, n DOUBLE PRECISION)")
    new_id = db.execute("INSERT INTO t (name, n) VALUES (?, ?) RETURNING id", ("a%b", 1.25)).scalar()
    assert new_id == 1
    db.executemany("INSERT INTO t (name, n) VALUES (?, ?)", [("b", 2.0), ("c", 1754000000.123456)])
    assert db.execute("SELECT n FROM t WHERE name = ?", ("c",)).scalar() == 1754000000.123456
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("UPDATE t SET n = 0")
        raise RuntimeError("boom")
    assert db.execute("SELECT sum(n) FROM t WHERE name IN ('a%b', 'b')").scalar() == 3.25  # 1.25 + 2.0
    with pytest.raises(db.IntegrityError):
        db.execute("INSERT INTO t (name, n) VALUES (?, ?)", ("b", 3))
    assert db.columns("t") == {"id", "name", "n"}
    assert "t" in db.tables()
    db.close()


def test_two_connections_one_writer_at_a_time(store_url):
    """Two Database objects (as two processes would) increment a counter in transactions: no update lost."""
    setup = open_database(store_url)
    setup.execute("CREATE TABLE IF NOT EXISTS c (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
    setup.execute("INSERT INTO c (k, v) VALUES ('x', 0)")

    def bump() -> None:
        db = open_database(store_url)
        for _ in range(25):
            with db.transaction(lock="counter"):
                value = db.execute(
                    "SELECT v FROM c WHERE k = 'x' FOR UPDATE"
                    if db.dialect == "postgresql"
                    else "SELECT v FROM c WHERE k = 'x'"
                ).scalar()
                db.execute("UPDATE c SET v = ? WHERE k = 'x'", (value + 1,))
        db.close()

    threads = [threading.Thread(target=bump) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert setup.execute("SELECT v FROM c").scalar() == 50  # 2 writers x 25 increments


def test_a_bad_postgres_url_says_what_without_the_password(pg_cluster):
    url = f"postgresql://postgres:wrong-pw@127.0.0.1:{pg_cluster.port}/postgres"
    with pytest.raises(DatabaseError) as caught:
        open_database(url)
    assert "wrong-pw" not in str(caught.value)
    assert "postgres:***@127.0.0.1" in str(caught.value)
