"""SQLite storage of the demo CRM: the status catalogue and the leads, seeded once, then reused.

The first open of a file (or one whose stored size, seed, anchor or schema version differs from what is
asked for) seeds it with generated leads in one transaction, so a half-seeded file is never used. Later
opens reuse the data, including leads created through the API since.

Leads are kept in insertion order under a dense integer key `seq` (1, 2, 3, ... - leads are never
deleted), so page `offset` is simply `seq > offset`, which stays fast at a million rows. A living demo
(lib.demo.alive) also changes leads: `apply_tick` moves some statuses and stamps their updated_at.

Times are stored as the CRM writes them: CRM-local wall-clock text without an offset. A read filtered by
"updated at or after an instant" (the ORDS `q` filter) compares real instants, not that text: each stored
time is turned into UTC the way the app's client reads it (lib.crm.parsing.parse_times: in the autumn hour
that occurs twice the first, summer-time occurrence; a spring time that never happened moves forward to the
end of the gap; a value with an offset is taken as written), so the server and the client agree even across
a DST change.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from lib.demo import data

SCHEMA_VERSION = 1
DEFAULT_DB_NAME = "demo_crm.sqlite3"
_FIELDS = data.LEAD_FIELDS
_COLUMNS_SQL = ", ".join(f"{f} {'INTEGER' if f == 'is_subscriber' else 'TEXT'}" for f in _FIELDS)
_SELECT = f"SELECT {', '.join(_FIELDS)} FROM leads"
_UTC_TEXT = "%Y-%m-%dT%H:%M:%S"
_INSERT = f"INSERT INTO leads (seq, {', '.join(_FIELDS)}) VALUES (?, {', '.join('?' * len(_FIELDS))})"


@dataclass(frozen=True)
class TickState:
    """What a tick's rule sees of the demo: the leads now, the seeded size, the largest 39-digit id so far,
    and the newest leads in an open status as (id, status id, updated_at text), newest first."""

    count: int
    size: int
    max_id: str | None
    open_leads: list[tuple[str, str, str]]


@dataclass(frozen=True)
class TickPlan:
    """What a tick does: new leads (rows with every LEAD_FIELDS key) and moves (id, new status id,
    updated_at text)."""

    new: list[dict] = field(default_factory=list)
    moves: list[tuple[str, str, str]] = field(default_factory=list)


def utc_text(value: object) -> str | None:
    """A stored time as UTC text ``YYYY-MM-DDTHH:MM:SS`` (cut to the second); None if it is unreadable.

    Without an offset it is CRM-local time, read as the client reads it: the first occurrence of an
    ambiguous autumn time, a spring time inside the DST gap moved forward to the gap's end.
    """
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
        if dt.tzinfo is None:
            tz = data.CRM_TIMEZONE
            aware = dt.replace(tzinfo=tz)  # fold=0: the first occurrence of an ambiguous time
            if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != dt:  # inside a DST gap
                aware = pd.Timestamp(dt).tz_localize(tz, nonexistent="shift_forward").to_pydatetime()
            dt = aware
        return dt.astimezone(UTC).strftime(_UTC_TEXT)
    except (ValueError, OverflowError):  # not ISO 8601, or a year at the edge of the calendar
        return None


class DemoDB:
    """The demo CRM's SQLite file. Thread-safe: one connection, every use under a lock."""

    def __init__(self, path: Path, size: int, end: datetime | None = None, seed: int = 7) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.create_function("utc_of", 1, utc_text, deterministic=True)
        self._resume: dict[tuple[str, int], int] = {}  # (since, offset) of a filtered read -> seq to resume
        self._data_version: int | None = None  # PRAGMA data_version when _resume was last valid
        with self._lock:
            self._ensure_seeded(size, None if end is None else data.to_local_naive(end), seed)
        self._statuses = [
            {"id": i, "name": n, "is_active": a}
            for i, n, a in self._conn.execute("SELECT id, name, is_active FROM statuses ORDER BY position")
        ]

    # ----------------------------------------------------------------------------------------- seeding
    def _meta(self) -> dict[str, str]:
        try:
            return dict(self._conn.execute("SELECT key, value FROM meta"))
        except sqlite3.OperationalError:  # a new or foreign file
            return {}

    def _ensure_seeded(self, size: int, end: datetime | None, seed: int) -> None:
        meta = self._meta()
        wanted = {
            "schema_version": str(SCHEMA_VERSION),
            "generator_version": str(data.GENERATOR_VERSION),
            "size": str(size),
            "seed": str(seed),
        }
        if all(meta.get(k) == v for k, v in wanted.items()) and (
            end is None or meta.get("end") == data.format_local(end)
        ):
            return
        end = end or data.local_now()
        columns = data.generate_columns(size, end, seed)
        c = self._conn
        c.execute("PRAGMA synchronous=OFF")
        c.execute("BEGIN IMMEDIATE")
        try:
            for table in ("meta", "statuses", "leads"):
                c.execute(f"DROP TABLE IF EXISTS {table}")
            c.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            c.execute(
                "CREATE TABLE statuses (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
                " name TEXT NOT NULL, is_active TEXT NOT NULL)"
            )
            c.execute(f"CREATE TABLE leads (seq INTEGER PRIMARY KEY, {_COLUMNS_SQL})")
            c.executemany(
                "INSERT INTO statuses VALUES (?, ?, ?, ?)",
                [(i, s["id"], s["name"], s["is_active"]) for i, s in enumerate(data.STATUSES)],
            )
            c.executemany(_INSERT, ((i, *row) for i, row in enumerate(data.iter_rows(columns), start=1)))
            c.execute("CREATE UNIQUE INDEX leads_id ON leads (id)")
            meta_rows = {
                **wanted,
                "end": data.format_local(end),
                "seeded_at": data.format_local(data.local_now()),
            }
            c.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta_rows.items()))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        finally:
            c.execute("PRAGMA synchronous=NORMAL")
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ------------------------------------------------------------------------------------------- reads
    def meta(self) -> dict[str, str]:
        """The stored seeding parameters (size, seed, end, versions, seeded_at)."""
        with self._lock:
            return self._meta()

    def statuses(self) -> list[dict[str, str]]:
        """The status catalogue in the CRM's order: dicts with id, name, is_active ("Y"/"N")."""
        return [dict(s) for s in self._statuses]

    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM leads").fetchone()[0]

    def leads_page(self, offset: int, limit: int, updated_since: datetime | None = None) -> list[dict]:
        """Up to `limit` leads after the first `offset`, in insertion order, as the CRM serves them.

        `updated_since` (timezone-aware) keeps only the leads whose `updated_at` is at or after that
        instant, to the second (a lead updated in the same second counts); `offset` then counts those
        leads, still in insertion order, so paging stays stable. A lead whose updated_at cannot be read is
        left out of a filtered read.
        """
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must be >= 0")
        if updated_since is None:
            with self._lock:
                rows = self._conn.execute(
                    f"{_SELECT} WHERE seq > ? ORDER BY seq LIMIT ?", (offset, limit)
                ).fetchall()
        else:
            rows = self._filtered_page(offset, limit, updated_since)
        out = []
        for row in rows:
            lead = dict(zip(_FIELDS, row, strict=True))
            lead["is_subscriber"] = bool(lead["is_subscriber"])
            out.append(lead)
        return out

    def _filtered_page(self, offset: int, limit: int, updated_since: datetime) -> list[tuple]:
        if updated_since.tzinfo is None:
            raise ValueError("updated_since must be timezone-aware")
        since = updated_since.astimezone(UTC)
        since_text = since.strftime(_UTC_TEXT)
        # The text compare is only a cheap pre-filter (a time written two days earlier, in any offset, cannot
        # be at or after `since`); utc_of() decides.
        floor = "" if since.year < 2 else (since - timedelta(days=2)).date().isoformat()
        sql = (
            f"SELECT seq, {', '.join(_FIELDS)} FROM leads WHERE seq > ? AND updated_at >= ?"
            " AND utc_of(updated_at) >= ? ORDER BY seq LIMIT ? OFFSET ?"
        )
        with self._lock:
            # Where the previous page stopped: while leads are only appended, the n-th lead matching a filter
            # stays the n-th; resuming there spares rescanning `offset` leads. A lead updated since (by a
            # tick here, or by another process sharing the file: data_version) may newly match before that
            # point, so every change forgets the resume points.
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:
                self._resume.clear()
                self._data_version = version
            after = self._resume.get((since_text, offset))
            skip = offset if after is None and offset else 0
            rows = self._conn.execute(sql, (after or 0, floor, since_text, limit, skip)).fetchall()
            for back, row in enumerate(reversed(rows[-2:])):  # the next page starts after one of these
                self._resume[(since_text, offset + len(rows) - back)] = row[0]
            while len(self._resume) > 512:
                self._resume.pop(next(iter(self._resume)))
        return [row[1:] for row in rows]

    # ------------------------------------------------------------------------------------------ writes
    def update_lead(self, lead_id: str, *, status_id: str, updated_at: str) -> bool:
        """What a CRM user does: move a lead to `status_id`, stamped `updated_at` (CRM-local ISO text, no
        offset, like the seeded rows). Returns whether the lead exists."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE leads SET lead_status = ?, updated_at = ? WHERE id = ?",
                (status_id, updated_at, lead_id),
            )
            self._resume.clear()  # resumed filtered reads assume rows do not move
        return cur.rowcount == 1

    def delete_lead(self, lead_id: str) -> bool:
        """Remove a lead, as a CRM user deleting it would. Returns whether it existed."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM leads WHERE id = ?", (lead_id,))
            self._resume.clear()
        return cur.rowcount == 1

    def _last_seq(self) -> int:
        row = self._conn.execute("SELECT max(seq) FROM leads").fetchone()
        return row[0] or 0

    def _max_id(self) -> str | None:
        """The largest 39-digit id so far (ids compare as text when they have the same length)."""
        row = self._conn.execute(
            "SELECT id FROM leads WHERE id >= '1' AND id < ':' AND length(id) = 39 AND id NOT GLOB '*[^0-9]*'"
            " ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def insert_lead(self, fields: dict) -> tuple[str, str]:
        """Store a new lead (fields already validated) created now; returns (id, status id).

        `lead_status` absent or None means the "new" status; otherwise it must be an active status id.
        Other keys outside the lead fields are ignored; id and timestamps are assigned here.
        """
        status = fields.get("lead_status") or data.NEW_STATUS_ID
        if status not in {s["id"] for s in self._statuses if s["is_active"] == "Y"}:
            raise ValueError(f"lead_status {status!r} is not an active status")
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                last_seq = self._last_seq()
                lead_id = data.next_lead_id(self._max_id())
                now = data.format_local(data.local_now())
                row = {**{f: fields.get(f) for f in _FIELDS}, "id": lead_id, "lead_status": status}
                row["is_subscriber"] = 1 if fields.get("is_subscriber") else 0
                row["created_at"] = row["updated_at"] = now
                c.execute(_INSERT, (last_seq + 1, *(row[f] for f in _FIELDS)))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        return lead_id, status

    def import_items(self, items: list[dict]) -> int:
        """Append lead items exactly as given (ids, statuses and times verbatim), e.g. a test's fixture or
        an export of a real CRM; unknown keys are ignored. Only what is missing is filled in: an id (a fresh
        one), the status ("new"), the times (now). Returns how many were added."""
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                last_seq = self._last_seq()
                now = data.format_local(data.local_now())
                rows = []
                for item in items:
                    row = {f: item.get(f) for f in _FIELDS}
                    if row["id"] is None:
                        c.executemany(_INSERT, rows)  # so that the new id is above every id so far
                        rows.clear()
                        row["id"] = data.next_lead_id(self._max_id())
                    row["id"] = str(row["id"])
                    row["lead_status"] = str(row["lead_status"] or data.NEW_STATUS_ID)
                    row["is_subscriber"] = 1 if row["is_subscriber"] else 0
                    row["created_at"] = row["created_at"] or now
                    row["updated_at"] = row["updated_at"] or row["created_at"]
                    last_seq += 1
                    rows.append((last_seq, *(row[f] for f in _FIELDS)))
                c.executemany(_INSERT, rows)
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        return len(items)

    def apply_tick(
        self, minute: int, plan: Callable[[TickState], TickPlan], open_statuses: Sequence[str], recent: int
    ) -> TickPlan | None:
        """One step of a living demo (lib.demo.alive), at most once per `minute`, in one transaction.

        `plan` gets what the rule needs (TickState: the lead count, the seeded size, the largest id, and the
        `recent` newest leads in one of `open_statuses`) and returns the new leads (complete rows) and the
        moves. Returns the applied plan, or None (nothing done) when a tick for this minute or a later one
        has already been applied to this file (the last ticked minute is kept in its meta table).
        """
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")  # also orders ticks of several processes sharing the file
            try:
                last = dict(c.execute("SELECT key, value FROM meta")).get("last_tick_minute")
                if last is not None and int(last) >= minute:
                    c.execute("ROLLBACK")
                    return None
                state = TickState(
                    count=c.execute("SELECT count(*) FROM leads").fetchone()[0],
                    size=int(self._meta().get("size", 0)),
                    max_id=self._max_id(),
                    open_leads=self._recent_open(open_statuses, recent),
                )
                result = plan(state)
                last_seq = self._last_seq()
                c.executemany(
                    _INSERT,
                    [(last_seq + i, *(row[f] for f in _FIELDS)) for i, row in enumerate(result.new, start=1)],
                )
                c.executemany(
                    "UPDATE leads SET lead_status = ?, updated_at = ? WHERE id = ?",
                    [(status, stamp, lead_id) for lead_id, status, stamp in result.moves],
                )
                c.execute("INSERT OR REPLACE INTO meta VALUES ('last_tick_minute', ?)", (str(minute),))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            if result.moves:
                self._resume.clear()
            return result

    def _recent_open(self, statuses: Sequence[str], limit: int) -> list[tuple[str, str, str]]:
        """(id, status id, updated_at) of the `limit` newest leads in one of `statuses`, newest first."""
        if not statuses or limit <= 0:
            return []
        marks = ", ".join("?" * len(statuses))
        return self._conn.execute(
            f"SELECT id, lead_status, updated_at FROM leads WHERE lead_status IN ({marks})"
            " ORDER BY seq DESC LIMIT ?",
            (*statuses, limit),
        ).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
