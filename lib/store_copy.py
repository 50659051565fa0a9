"""Copy the dashboard's store into a new, empty one (typically the SQLite file into PostgreSQL):

    python -m lib.store_copy --to postgresql://leads:PASSWORD@db.example/leads
    python -m lib.store_copy --from sqlite:////srv/leads/dashboard.sqlite3 --to postgresql://…

--from defaults to the SQLite file of the current settings (dashboard.sqlite3 in LEADS_DATA_DIR); --to
defaults to LEADS_STORE_URL when it is set, so the password need not be typed on the command line. Stop the
app first: the copy is a snapshot of the source.

Both stores are opened with the dashboard's own code first (lib.store.Store and, when the module exists,
lib.lead_store.LeadStore), so each has the current schema (an older source file is upgraded in place, which
only ever adds). Then every table present in both is copied, the columns present in both, in batches, in one
transaction on the destination: a failed copy leaves it as empty as it was. A destination already holding
data is refused (only the schema's own bookkeeping, `meta` and `*_meta` tables, may be there: their rows
in the destination win). On PostgreSQL the auto-numbered ids go on after the largest copied one. URLs are
printed without their password.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from lib.db import Database, DatabaseError, open_database, safe_url, sqlite_url

BATCH = 1000


class CopyRefused(Exception):
    """The copy cannot be done as asked (the message says why, without a password)."""


def _bookkeeping(table: str) -> bool:
    """A table of schema versions, written by opening a store: not data, and not copied over the
    destination's own rows."""
    return table == "meta" or table.endswith("_meta")


def _tables(db: Database) -> list[str]:
    return sorted(t for t in db.tables() if not t.startswith("sqlite_"))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _count(db: Database, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {_quote(table)}").scalar(0))


def _key_columns(db: Database, table: str) -> list[str]:
    """The primary key's columns of `table` in key order (empty when it has none)."""
    if db.dialect == "sqlite":
        rows = db.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
        return [r[1] for r in sorted((r for r in rows if r[5]), key=lambda r: r[5])]
    rows = db.execute(
        "SELECT k.column_name FROM information_schema.table_constraints c "
        "JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
        "AND k.table_schema = c.table_schema AND k.table_name = c.table_name "
        "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() "
        "AND c.table_name = ? ORDER BY k.ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def _open_store(url: str) -> Database:
    """The store at `url` with the current schema (Store, and LeadStore when lib.lead_store exists)."""
    from lib.store import Store

    store = Store.open(url)
    if importlib.util.find_spec("lib.lead_store") is not None:
        from lib.lead_store import LeadStore  # written alongside; creates its own tables

        LeadStore(store.db)
    return store.db


def _refuse_non_empty(url: str) -> None:
    db = open_database(url)
    try:
        full = {t: n for t in _tables(db) if not _bookkeeping(t) and (n := _count(db, t))}
    finally:
        db.close()
    if full:
        listed = ", ".join(f"{t} ({_rows(n)})" for t, n in sorted(full.items()))
        raise CopyRefused(
            f"The destination {safe_url(url)} already holds data: {listed}. Copy into an empty database "
            "(create a new one, or drop these tables first if they hold nothing you need)."
        )


def copy_store(
    source: str, destination: str, *, batch: int = BATCH, out: TextIO | None = None
) -> dict[str, int]:
    """Copy every table of the store at `source` into the empty store at `destination`; returns the rows
    copied per table (printed to `out` as they are copied). CopyRefused when the destination holds data, is
    the source, or the source does not exist; lib.db.DatabaseError when a database cannot be opened."""
    if source == destination:
        raise CopyRefused("The source and the destination are the same store.")
    if source.startswith("sqlite:///") and not Path(source[len("sqlite:///") :]).is_file():
        raise CopyRefused(f"There is no store at {safe_url(source)} (no such file).")
    _refuse_non_empty(destination)
    src = _open_store(source)
    try:
        dst = _open_store(destination)
        try:
            return _copy(src, dst, batch, out)
        finally:
            dst.close()
    finally:
        src.close()


def _copy(src: Database, dst: Database, batch: int, out: TextIO | None) -> dict[str, int]:
    if out:
        print(f"Copying {src.url} -> {dst.url}", file=out)
    counts: dict[str, int] = {}
    dst_tables = set(_tables(dst))
    with src.transaction(), dst.transaction():
        if src.dialect == "postgresql":  # one snapshot of the source for every table and batch
            src.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for table in _tables(src):
            if table not in dst_tables:
                if out:
                    print(f"{table}: skipped (the destination has no such table)", file=out)
                continue
            have = dst.columns(table)
            columns = [c for c in sorted(src.columns(table)) if c in have]
            counts[table] = _copy_table(src, dst, table, columns, batch)
            if out:
                print(f"{table}: {_rows(counts[table])}", file=out)
        if dst.dialect == "postgresql":
            for table in counts:
                _reset_identity(dst, table)
    if out:
        print(f"Done: {_rows(sum(counts.values()))} in {len(counts)} tables.", file=out)
    return counts


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _reset_identity(db: Database, table: str) -> None:
    """PostgreSQL: the next auto-numbered id of `table` after the largest copied one (rows were inserted
    with their ids, which does not move the identity's sequence)."""
    if "id" not in db.columns(table):
        return
    sequence = db.execute("SELECT pg_get_serial_sequence(?, 'id')", (_quote(table),)).scalar()
    largest = db.execute(f"SELECT max(id) FROM {_quote(table)}").scalar()
    if sequence and largest is not None:
        db.execute("SELECT setval(?::regclass, ?)", (sequence, int(largest)))


def _copy_table(src: Database, dst: Database, table: str, columns: list[str], batch: int) -> int:
    names = ", ".join(_quote(c) for c in columns)
    order = ", ".join(_quote(c) for c in (_key_columns(src, table) or columns))
    insert = f"INSERT INTO {_quote(table)} ({names}) VALUES ({', '.join('?' * len(columns))})"
    if _bookkeeping(table):
        insert += " ON CONFLICT DO NOTHING"  # the destination's own schema versions stay
    copied = offset = 0
    while True:
        rows = src.execute(
            f"SELECT {names} FROM {_quote(table)} ORDER BY {order} LIMIT ? OFFSET ?", (batch, offset)
        ).fetchall()
        if not rows:
            return copied
        added = dst.executemany(insert, rows)  # a bookkeeping row the destination has already is not added
        copied += added if added >= 0 else len(rows)
        offset += len(rows)


def _scrub(message: str, *urls: str) -> str:
    """`message` without the password of any of `urls`."""
    for url in urls:
        try:
            password = urlsplit(url).password
        except ValueError:
            continue
        if password:
            message = message.replace(password, "***")
    return message


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lib.store_copy",
        description="Copy the dashboard's store (settings, outbox, spend, users, audit, synced leads) into a "
        "new, empty store, e.g. from the SQLite file to PostgreSQL. Stop the app first.",
    )
    parser.add_argument(
        "--from", dest="source", help="the store to copy (default: dashboard.sqlite3 in LEADS_DATA_DIR)"
    )
    parser.add_argument("--to", dest="destination", help="the empty store to fill (default: LEADS_STORE_URL)")
    parser.add_argument("--batch", type=int, default=BATCH, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """The command line: 0 copied, 1 refused or failed (the reason on standard error), 2 wrong usage."""
    from lib.config import load_settings
    from lib.errors import LeadsError

    out = out or sys.stdout
    args = _parser().parse_args(argv)
    source = destination = ""
    try:
        settings = load_settings()
        source = args.source or sqlite_url(settings.data_dir)
        destination = args.destination or settings.store_url_setting
        if not destination:
            raise CopyRefused("Say where to copy to: --to postgresql://… (or set LEADS_STORE_URL).")
        copy_store(source, destination, batch=max(1, args.batch), out=out)
    except (CopyRefused, DatabaseError, LeadsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a driver's error mid-copy: the destination's transaction was rolled back
        message = _scrub(f"{type(exc).__name__}: {exc}", source, destination)
        print(f"error: the copy failed and the destination was left unchanged: {message}", file=sys.stderr)
        return 1
    print("Now set LEADS_STORE_URL to the new store and start the app.", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["CopyRefused", "copy_store", "main"]
