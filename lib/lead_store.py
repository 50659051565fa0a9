"""The lead store: the synced copy of each CRM's leads and status catalogue, the sync's state and runs, and
the status history, in the dashboard's store database (lib.db: SQLite or PostgreSQL, one code path).

    store = LeadStore(open_database(settings.store_url))    # creates / upgrades its tables
    crm = lib.store.crm_key(settings)                       # "demo" or the CRM's base URL
    seen = store.version(crm)                                # read the version FIRST
    frame, rv = store.leads_since(crm)                      # every lead (deleted ones too), and the max rv
    ...later, on each page run (one cheap query):
    if (v := store.version(crm)) != seen:                   # something was written since
        more, rv = store.leads_since(crm, rv)               # only the leads written after rv
        seen = v                                            # (statuses/history bump it too: re-read them)
        frame = pd.concat([frame, more]).drop_duplicates("lead_id", keep="last")   # newest copy wins

Several CRMs share one store: every table is keyed by `crm`. The tables (schema version in `lead_meta`):

- `synced_leads` (crm, lead_id) -> the canonical columns of lib.schema (text as TEXT, times as BIGINT epoch
  microseconds UTC, price as DOUBLE PRECISION), `extra` (JSON of the connector's extra columns, NULL when
  none), `row_hash` (the content's hash: an unchanged lead is not rewritten), `deleted_at` (set when a
  completed full sync no longer saw the lead; a lead is never erased; one that reappears is undeleted),
  `rv` (row version: the CRM's `sync_state.rv` counter at the write that last changed the row), `seen_run`
  (the sync run that last saw it).
- `synced_statuses`: the canonical status catalogue per CRM.
- `sync_state`, one row per CRM: watermark (the largest CRM `updated_at` seen by a completed run, in the
  CRM's own clock), last_full_at / last_full_run (start and id of the last completed full sync),
  history_since (start of the first completed sync: status history begins there), last_success_at,
  last_error / last_error_at, `rv` (the version counter, bumped by every committed write of this CRM's
  leads, statuses or history), sync_requested_at (a page's "Sync now").
- `sync_runs`: one row per run (started/finished, mode, requests, fetched, changed, deleted,
  status_changes, total, error, holder, pages, progress); a row without finished_at is running or was
  killed (it is "running" only while its holder still holds the lease).
- `status_history`: one row per observed status change (lead_id, from_status_id, to_status_id,
  observed_at = when the sync saw it, crm_updated_at = the lead's updated_at then). It starts at the first
  sync: nothing is invented for earlier times, and a new lead is not a change.
- `sync_lease`: name -> holder, expires_at (epoch seconds of the REAL clock, time.time: a pinned LEADS_NOW
  must not freeze a lease). One holder at a time syncs a CRM, whatever the number of app processes.

Times in and out are timezone-aware UTC datetimes (pd.Timestamp in frames). The write methods are used by
lib.sync (one page = one transaction); pages only read.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from lib.db import Database
from lib.schema import (
    EXTRA_DIMENSIONS,
    LEAD_COLUMNS,
    STATUS_COLUMNS,
    _category,
    empty_statuses,
    text_category,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
INTERRUPTED = "interrupted: the syncing process stopped before the end"
_TIME_COLS = [c for c, t in LEAD_COLUMNS.items() if t.startswith("datetime64")]
_TEXT_COLS = [c for c, t in LEAD_COLUMNS.items() if t in ("string", "category") and c != "lead_id"]
_CONTENT = [c for c in LEAD_COLUMNS if c != "lead_id"]  # stored columns besides the key
_SQL_TYPE = {"string": "TEXT", "category": "TEXT", "float64": "DOUBLE PRECISION"}
_STATUS_SQL = {"string": "TEXT", "bool": "INTEGER", "int64": "BIGINT", "Int64": "BIGINT"}
_CHUNK = 500  # ids per IN (...) list
_READ = ["lead_id", *_CONTENT, "extra", "deleted_at"]  # what leads_since reads
_READ_CHUNK = 100_000  # rows per JSON text leads_since asks the database for (the next is read while
# this one is parsed)


def _lead_columns_ddl() -> str:
    cols = []
    for col in _CONTENT:
        dtype = LEAD_COLUMNS[col]
        cols.append(f"{col} {'BIGINT' if col in _TIME_COLS else _SQL_TYPE[dtype]}")
    return ", ".join(cols)


# Each entry upgrades the schema from the previous version; never edit one that has shipped, add another.
MIGRATIONS: list[list[str]] = [
    [  # version 1
        f"""CREATE TABLE IF NOT EXISTS synced_leads (
            crm TEXT NOT NULL, lead_id TEXT NOT NULL, {_lead_columns_ddl()},
            extra TEXT, row_hash TEXT NOT NULL, deleted_at BIGINT, rv BIGINT NOT NULL, seen_run BIGINT,
            PRIMARY KEY (crm, lead_id))""",
        "CREATE INDEX IF NOT EXISTS synced_leads_rv ON synced_leads (crm, rv)",
        f"""CREATE TABLE IF NOT EXISTS synced_statuses (
            crm TEXT NOT NULL, {", ".join(f"{c} {_STATUS_SQL[t]}" for c, t in STATUS_COLUMNS.items())},
            PRIMARY KEY (crm, status_id))""",
        """CREATE TABLE IF NOT EXISTS sync_state (
            crm TEXT PRIMARY KEY, watermark BIGINT, last_full_at BIGINT, last_full_run BIGINT,
            history_since BIGINT, last_success_at BIGINT, last_error TEXT, last_error_at BIGINT,
            rv BIGINT NOT NULL DEFAULT 0, sync_requested_at BIGINT, statuses_hash TEXT,
            extra_columns TEXT)""",
        """CREATE TABLE IF NOT EXISTS sync_runs (
            id {id}, crm TEXT NOT NULL, started_at BIGINT NOT NULL, finished_at BIGINT, mode TEXT NOT NULL,
            requests BIGINT, fetched BIGINT NOT NULL DEFAULT 0, changed BIGINT NOT NULL DEFAULT 0,
            deleted BIGINT NOT NULL DEFAULT 0, status_changes BIGINT NOT NULL DEFAULT 0, total BIGINT,
            error TEXT, holder TEXT, pages BIGINT NOT NULL DEFAULT 0, progress TEXT,
            seconds DOUBLE PRECISION, unreadable TEXT)""",
        "CREATE INDEX IF NOT EXISTS sync_runs_crm ON sync_runs (crm, id)",
        """CREATE TABLE IF NOT EXISTS status_history (
            id {id}, crm TEXT NOT NULL, lead_id TEXT NOT NULL, from_status_id TEXT, to_status_id TEXT,
            observed_at BIGINT NOT NULL, crm_updated_at BIGINT)""",
        "CREATE INDEX IF NOT EXISTS status_history_crm ON status_history (crm, id)",
        """CREATE TABLE IF NOT EXISTS sync_lease (
            name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL)""",
    ],
]


def to_us(value: datetime | pd.Timestamp | None) -> int | None:
    """A timezone-aware datetime as epoch microseconds (UTC); None stays None."""
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise ValueError("times given to the lead store must be timezone-aware")
    return int(ts.tz_convert("UTC").value // 1000)


def from_us(value: int | None) -> datetime | None:
    """Epoch microseconds as a UTC datetime (None stays None)."""
    if value is None:
        return None
    return pd.Timestamp(int(value) * 1000, tz="UTC").to_pydatetime()


def _floats(values: Any) -> np.ndarray:
    """A list (None for missing) or a pyarrow array as float64 with NaN for missing."""
    if hasattr(values, "to_numpy"):
        return np.asarray(values.to_numpy(), dtype="float64")
    return np.array(values, dtype="float64")


def _time_column(values: Any) -> pd.Series:
    """Epoch microseconds (a list with None, or a pyarrow int64 array) as datetime64[ns, UTC]; exact, since
    epoch microseconds (~1.8e15) are below 2**53."""
    micros = _floats(values)
    return pd.Series(pd.to_datetime(micros, unit="us", utc=True)).astype("datetime64[ns, UTC]")


def _us_column(values: Sequence[Any]) -> pd.Series:
    s = pd.Series(values, dtype="Int64") if len(values) else pd.Series([], dtype="Int64")
    return pd.to_datetime(s, unit="us", utc=True).astype("datetime64[ns, UTC]")


def _none_if_na(series: pd.Series) -> list:
    """A column as a list of plain Python values, NA -> None."""
    obj = series.astype(object)
    return obj.where(series.notna(), None).tolist()


_EPOCH = pd.Timestamp(0, tz="UTC")
_MISSING = -1.0e18  # stands for a missing time or number in row hashes


def _time_us(series: pd.Series) -> list:
    """A time column as epoch microseconds (int) or None, vectorised."""
    micros = (pd.to_datetime(series, utc=True) - _EPOCH) // pd.Timedelta(microseconds=1)
    return [None if v != v else int(v) for v in micros.astype("float64").tolist()]


@dataclass(frozen=True)
class SyncState:
    """Where the sync of one CRM stands (every time UTC-aware or None)."""

    watermark: datetime | None = None  # the largest CRM updated_at a completed run has seen
    last_full_at: datetime | None = None  # start of the last completed full sync
    history_since: datetime | None = None  # start of the first completed sync
    last_success_at: datetime | None = None  # end of the last completed sync
    last_error: str | None = None  # the last failure's message (cleared by a success)
    last_error_at: datetime | None = None
    running: dict | None = None  # the run in progress: started_at, mode, pages, fetched (None if none)
    requested_at: datetime | None = None  # a "Sync now" not yet served
    # {column: how many values the last completed full read of the CRM could not read (kept blank)}
    unreadable: dict | None = None


@dataclass
class PageWrite:
    """What one written page did."""

    rows: int = 0  # distinct leads in the page
    changed: int = 0  # new or changed (or undeleted) leads written
    status_changes: int = 0  # status_history rows added
    max_updated_at: int | None = None  # the page's largest updated_at (epoch us)


class LeadStore:
    """The synced leads and sync bookkeeping in one Database (see the module docstring)."""

    def __init__(self, db: Database, *, wall: Callable[[], float] = time.time) -> None:
        """`wall`: the real clock of leases (epoch seconds); a test may pass its own."""
        self.db = db
        self._wall = wall
        self._upgrade()

    # -- schema ---------------------------------------------------------------------------------------

    def _upgrade(self) -> None:
        with self.db.transaction(lock="schema") as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS lead_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = tx.execute("SELECT value FROM lead_meta WHERE key = 'schema_version'").fetchone()
            current = int(row[0]) if row else 0
            for version, statements in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                for statement in statements:
                    tx.execute(statement)
            if current < len(MIGRATIONS):
                tx.execute(
                    "INSERT INTO lead_meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(len(MIGRATIONS)),),
                )

    def schema_version(self) -> int:
        return int(self.db.execute("SELECT value FROM lead_meta WHERE key = 'schema_version'").scalar(0))

    # -- read API for pages ---------------------------------------------------------------------------

    def version(self, crm: str) -> int:
        """Grows with every committed write of this CRM's leads, statuses or history (0 before any)."""
        return int(self.db.execute("SELECT rv FROM sync_state WHERE crm = ?", (crm,)).scalar(0))

    def leads_since(self, crm: str, after: int = 0) -> tuple[pd.DataFrame, int]:
        """The leads of `crm` written after version `after` (all of them for 0), deleted ones included
        (`deleted_at`, NaT while live), as a canonical frame (lib.schema dtypes, the connector's extra
        columns after the canonical ones, then `deleted_at`), and the largest rv returned (`after` when
        none).

        At a million leads this is an app's restart, so it avoids a Python object per value: the database
        writes each chunk of ~100,000 rows as one text of JSON lines (SQLite json_object/group_concat,
        PostgreSQL json_build_object/string_agg) which pyarrow parses straight into columns; a text it
        cannot parse falls back to reading rows. Chunks follow rv ranges; a lead rewritten between two
        chunk reads is returned once, in its newest form."""
        groups = self.db.execute(
            "SELECT rv, count(*) FROM synced_leads WHERE crm = ? AND rv > ? GROUP BY rv ORDER BY rv",
            (crm, int(after)),
        ).fetchall()
        if not groups:
            return self._frame(crm, {c: [] for c in _READ}), int(after)
        top = int(groups[-1][0])
        ranges, lo, rows = [], int(after), 0
        for rv, count in groups:
            rows += count
            if rows >= _READ_CHUNK:
                ranges.append((lo, int(rv)))
                lo, rows = int(rv), 0
        if rows:
            ranges.append((lo, top))
        try:
            columns = self._read_json(crm, ranges)
        except (ImportError, ValueError, ArithmeticError) as exc:  # pyarrow refused the text (ArrowInvalid)
            log.warning("reading the lead store as JSON failed (%s); reading rows instead", exc)
            columns = self._read_rows(crm, int(after), top)
        frame = self._frame(crm, columns)
        if len(ranges) > 1:
            frame = frame.drop_duplicates("lead_id", keep="last").reset_index(drop=True)
        return frame, top

    def _read_json(self, crm: str, ranges: list[tuple[int, int]]) -> dict[str, Any]:
        import pyarrow as pa
        import pyarrow.json as pa_json

        keys = {c: f"k{i}" for i, c in enumerate(_READ)}
        pairs = ", ".join(f"'{keys[c]}', {c}" for c in _READ)
        if self.db.dialect == "sqlite":
            agg = f"group_concat(json_object({pairs}), char(10))"
        else:
            agg = f"string_agg(json_build_object({pairs})::text, chr(10))"
        sql = f"SELECT {agg} FROM synced_leads WHERE crm = ? AND rv > ? AND rv <= ?"
        types = {c: pa.int64() if c in (*_TIME_COLS, "deleted_at") else pa.string() for c in _READ}
        types["price"] = pa.float64()
        schema = pa.schema([(keys[c], types[c]) for c in _READ])
        options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")

        def fetch(bounds: tuple[int, int]) -> bytes:
            text = self.db.execute(sql, (crm, *bounds)).scalar()
            return text.encode("utf-8") if text else b""

        tables = []
        # the database builds the next chunk's text while pyarrow parses this one (both release the GIL)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lead-store-read") as pool:
            pending = pool.submit(fetch, ranges[0])
            for i in range(len(ranges)):
                data = pending.result()
                if i + 1 < len(ranges):
                    pending = pool.submit(fetch, ranges[i + 1])
                if data:
                    read = pa_json.ReadOptions(block_size=max(1 << 20, len(data) // 8 + 1))
                    tables.append(
                        pa_json.read_json(io.BytesIO(data), read_options=read, parse_options=options)
                    )
                del data
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        return {c: table.column(keys[c]) for c in _READ}

    def _read_rows(self, crm: str, after: int, top: int) -> dict[str, Any]:
        rows = self.db.execute(
            f"SELECT {', '.join(_READ)} FROM synced_leads WHERE crm = ? AND rv > ? AND rv <= ? ORDER BY rv",
            (crm, after, top),
        ).fetchall()
        data = list(zip(*rows, strict=True)) if rows else [()] * len(_READ)
        return {c: list(values) for c, values in zip(_READ, data, strict=True)}

    def _frame(self, crm: str, raw: dict[str, Any]) -> pd.DataFrame:
        """The canonical frame from columns given as lists or pyarrow arrays (see leads_since)."""
        n = len(raw["lead_id"])
        out: dict[str, pd.Series] = {}
        for col, dtype in LEAD_COLUMNS.items():
            values = raw[col]
            if col in _TIME_COLS:
                out[col] = _time_column(values)
            elif dtype == "category":
                out[col] = _category(pd.Series(pd.array(values, dtype="string")))
            elif dtype == "string":
                out[col] = pd.Series(pd.array(values, dtype="string"))
            else:
                out[col] = pd.Series(_floats(values), dtype="float64")
        frame = pd.DataFrame(out, index=pd.RangeIndex(n))
        known = self._extra_columns(crm)
        extras = _arrow_extras(raw["extra"]) if hasattr(raw["extra"], "to_pylist") else None
        if extras is None:
            extras = _python_extras(raw["extra"], n)
        order = sorted(extras, key=lambda c: (known.index(c) if c in known else len(known), c))
        for col in order:
            values = extras[col]
            frame[col] = _category(values.astype("string")) if col in EXTRA_DIMENSIONS else values
        for col in known:
            if col not in frame.columns:  # a column no stored lead has a value in
                empty = pd.Series(pd.NA, index=frame.index, dtype="string")
                frame[col] = text_category(empty) if col in EXTRA_DIMENSIONS else empty
        frame["deleted_at"] = _time_column(raw["deleted_at"])
        return frame

    def _extra_columns(self, crm: str) -> list[str]:
        """The connector's extra columns seen so far for `crm`, in the connector's order."""
        raw = self.db.execute("SELECT extra_columns FROM sync_state WHERE crm = ?", (crm,)).scalar()
        return json.loads(raw) if raw else []

    def statuses(self, crm: str) -> pd.DataFrame:
        """The CRM's saved status catalogue (lib.schema), in position order; empty canonical if none."""
        cols = list(STATUS_COLUMNS)
        rows = self.db.execute(
            f"SELECT {', '.join(cols)} FROM synced_statuses WHERE crm = ? ORDER BY position, status_id",
            (crm,),
        ).fetchall()
        if not rows:
            return empty_statuses()
        frame = pd.DataFrame.from_records(rows, columns=cols)
        frame["is_active"] = frame["is_active"].astype(bool)
        frame["stage"] = pd.Series(frame["stage"].tolist(), dtype="Int64")
        return frame.astype({c: t for c, t in STATUS_COLUMNS.items() if c != "stage"})

    def history(self, crm: str) -> pd.DataFrame:
        """Every observed status change: lead_id, from_status_id, to_status_id (strings), observed_at,
        crm_updated_at (datetime64 UTC), oldest first."""
        rows = self.db.execute(
            "SELECT lead_id, from_status_id, to_status_id, observed_at, crm_updated_at FROM status_history "
            "WHERE crm = ? ORDER BY id",
            (crm,),
        ).fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [()] * 5
        return pd.DataFrame(
            {
                "lead_id": pd.Series(cols[0], dtype="string"),
                "from_status_id": pd.Series(cols[1], dtype="string"),
                "to_status_id": pd.Series(cols[2], dtype="string"),
                "observed_at": _us_column(list(cols[3])),
                "crm_updated_at": _us_column(list(cols[4])),
            }
        )

    def state(self, crm: str) -> SyncState:
        row = self.db.execute(
            "SELECT watermark, last_full_at, history_since, last_success_at, last_error, last_error_at, "
            "sync_requested_at FROM sync_state WHERE crm = ?",
            (crm,),
        ).fetchone()
        if row is None:
            return SyncState(running=self._running(crm))
        unreadable = self.db.execute(
            "SELECT r.unreadable FROM sync_runs r JOIN sync_state s ON r.id = s.last_full_run "
            "WHERE s.crm = ?",
            (crm,),
        ).scalar()
        return SyncState(
            unreadable=json.loads(unreadable) if unreadable else None,
            watermark=from_us(row[0]),
            last_full_at=from_us(row[1]),
            history_since=from_us(row[2]),
            last_success_at=from_us(row[3]),
            last_error=row[4],
            last_error_at=from_us(row[5]),
            running=self._running(crm),
            requested_at=from_us(row[6]),
        )

    def _running(self, crm: str) -> dict | None:
        lease = self.db.execute(
            "SELECT holder, expires_at FROM sync_lease WHERE name = ?", (lease_name(crm),)
        ).fetchone()
        if lease is None or lease[1] <= self._wall():
            return None
        run = self.db.execute(
            "SELECT started_at, mode, pages, fetched FROM sync_runs "
            "WHERE crm = ? AND holder = ? AND finished_at IS NULL ORDER BY id DESC LIMIT 1",
            (crm, lease[0]),
        ).fetchone()
        if run is None:
            return None
        return {"started_at": from_us(run[0]), "mode": run[1], "pages": int(run[2]), "fetched": int(run[3])}

    def runs(self, crm: str, limit: int = 20) -> pd.DataFrame:
        """The latest sync runs, newest first: id, started_at, finished_at, mode, seconds, requests, fetched,
        changed, deleted, status_changes, total, error (an unfinished run has no finished_at/seconds)."""
        rows = self.db.execute(
            "SELECT started_at, finished_at, mode, requests, fetched, changed, deleted, status_changes, "
            "total, error, seconds, id FROM sync_runs WHERE crm = ? ORDER BY id DESC LIMIT ?",
            (crm, int(limit)),
        ).fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [()] * 12
        started, finished = _us_column(list(cols[0])), _us_column(list(cols[1]))
        return pd.DataFrame(
            {
                "id": pd.Series(cols[11], dtype="int64"),
                "started_at": started,
                "finished_at": finished,
                "mode": pd.Series(cols[2], dtype="string"),
                "seconds": pd.Series(cols[10], dtype="float64"),
                **{
                    name: pd.Series(cols[i], dtype="Int64")
                    for i, name in enumerate(
                        ("requests", "fetched", "changed", "deleted", "status_changes", "total"), start=3
                    )
                },
                "error": pd.Series(cols[9], dtype="string"),
            }
        )

    def request_sync(self, crm: str, now: datetime) -> None:
        """Ask whichever process syncs (maybe another replica) to run now; the next run clears it."""
        with self.db.transaction() as tx:
            self._ensure_state(tx, crm)
            tx.execute("UPDATE sync_state SET sync_requested_at = ? WHERE crm = ?", (to_us(now), crm))

    def sync_requested(self, crm: str) -> datetime | None:
        """When a "Sync now" not yet served was asked (one small query: the worker polls it)."""
        return from_us(
            self.db.execute("SELECT sync_requested_at FROM sync_state WHERE crm = ?", (crm,)).scalar()
        )

    def live_count(self, crm: str) -> int:
        """How many leads of `crm` are not marked deleted."""
        return int(
            self.db.execute(
                "SELECT count(*) FROM synced_leads WHERE crm = ? AND deleted_at IS NULL", (crm,)
            ).scalar(0)
        )

    # -- lease ----------------------------------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Take (or renew) the lease `name` for `holder` for `ttl` seconds of the real clock: False when
        another holder has an unexpired one. An expired lease is taken over."""
        with self.db.transaction(lock="lease:" + name) as tx:
            now = self._wall()
            row = tx.execute("SELECT holder, expires_at FROM sync_lease WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] != holder and row[1] > now:
                return False
            tx.execute(
                "INSERT INTO sync_lease (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) "
                "DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
                (name, holder, now + ttl),
            )
            return True

    def renew_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Extend `holder`'s lease; False when it is no longer theirs (expired and taken over)."""
        with self.db.transaction() as tx:
            changed = tx.execute(
                "UPDATE sync_lease SET expires_at = ? WHERE name = ? AND holder = ?",
                (self._wall() + ttl, name, holder),
            ).rowcount
        return changed > 0

    def release_lease(self, name: str, holder: str) -> None:
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM sync_lease WHERE name = ? AND holder = ?", (name, holder))

    def lease_holder(self, name: str) -> str | None:
        """Who holds an unexpired lease `name` (None when nobody does)."""
        row = self.db.execute("SELECT holder, expires_at FROM sync_lease WHERE name = ?", (name,)).fetchone()
        return row[0] if row is not None and row[1] > self._wall() else None

    # -- writes (lib.sync) ----------------------------------------------------------------------------

    @staticmethod
    def _ensure_state(tx: Database, crm: str) -> None:
        tx.execute("INSERT INTO sync_state (crm) VALUES (?) ON CONFLICT (crm) DO NOTHING", (crm,))

    @staticmethod
    def _bump(tx: Database, crm: str) -> int:
        return int(
            tx.execute("UPDATE sync_state SET rv = rv + 1 WHERE crm = ? RETURNING rv", (crm,)).scalar()
        )

    def sync_bookkeeping(self, crm: str) -> dict[str, Any]:
        """The raw state the sync decides with: watermark/last_full_at (epoch us), last_full_run, the id
        of the latest full run started (completed or not), and how long the last completed run took."""
        row = self.db.execute(
            "SELECT watermark, last_full_at, last_full_run FROM sync_state WHERE crm = ?", (crm,)
        ).fetchone()
        latest_full = self.db.execute(
            "SELECT max(id) FROM sync_runs WHERE crm = ? AND mode = 'full'", (crm,)
        ).scalar()
        last_seconds = self.db.execute(
            "SELECT seconds FROM sync_runs WHERE crm = ? AND finished_at IS NOT NULL AND error IS NULL "
            "ORDER BY id DESC LIMIT 1",
            (crm,),
        ).scalar()
        watermark, last_full_at, last_full_run = row if row else (None, None, None)
        return {
            "watermark": watermark,
            "last_full_at": last_full_at,
            "last_full_run": last_full_run,
            "latest_full_run": latest_full,
            "last_seconds": last_seconds,
        }

    def begin_run(self, crm: str, *, started_at: datetime, mode: str, holder: str) -> int:
        """A sync_runs row for a run that starts now (its caller holds the lease); clears a pending "Sync
        now" asked before it. Runs of this CRM left unfinished are marked interrupted: their process died
        (killed, or the machine stopped), since no one else can be syncing now."""
        with self.db.transaction() as tx:
            self._ensure_state(tx, crm)
            tx.execute(
                "UPDATE sync_runs SET error = ?, progress = 'interrupted' "
                "WHERE crm = ? AND finished_at IS NULL AND error IS NULL",
                (INTERRUPTED, crm),
            )
            tx.execute(
                "UPDATE sync_state SET sync_requested_at = NULL WHERE crm = ? AND sync_requested_at <= ?",
                (crm, to_us(started_at)),
            )
            return int(
                tx.execute(
                    "INSERT INTO sync_runs (crm, started_at, mode, holder, progress) VALUES (?, ?, ?, ?, ?) "
                    "RETURNING id",
                    (crm, to_us(started_at), mode, holder, "starting"),
                ).scalar()
            )

    def update_run(self, run_id: int, **fields: Any) -> None:
        """Set columns of a sync_runs row (datetimes become epoch us)."""
        if not fields:
            return
        names = list(fields)
        values = [to_us(v) if isinstance(v, datetime) else v for v in fields.values()]
        with self.db.transaction() as tx:
            tx.execute(
                f"UPDATE sync_runs SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?", (*values, run_id)
            )

    def save_statuses(self, crm: str, catalogue: pd.DataFrame) -> bool:
        """Replace the CRM's status catalogue when it changed (bumping the version); True if it did."""
        frame = catalogue[list(STATUS_COLUMNS)].reset_index(drop=True)
        rows = [
            tuple(None if pd.isna(v) else (int(v) if isinstance(v, (bool, np.bool_)) else v) for v in row)
            for row in frame.astype(object).itertuples(index=False, name=None)
        ]
        rows = [
            (r[0], r[1], r[2], None if r[3] is None else int(r[3]), r[4], None if r[5] is None else int(r[5]))
            for r in rows
        ]
        digest = _hash_text(json.dumps(rows, ensure_ascii=False, default=str))
        with self.db.transaction() as tx:
            self._ensure_state(tx, crm)
            old = tx.execute("SELECT statuses_hash FROM sync_state WHERE crm = ?", (crm,)).scalar()
            if old == digest:
                return False
            tx.execute("DELETE FROM synced_statuses WHERE crm = ?", (crm,))
            tx.executemany(
                f"INSERT INTO synced_statuses (crm, {', '.join(STATUS_COLUMNS)}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(crm, *r) for r in rows],
            )
            tx.execute("UPDATE sync_state SET statuses_hash = ? WHERE crm = ?", (digest, crm))
            self._bump(tx, crm)
        return True

    def write_page(
        self, crm: str, frame: pd.DataFrame, *, run_id: int, now: datetime, full: bool
    ) -> PageWrite:
        """Write one page of canonical leads in ONE transaction: new and changed leads (by row_hash; a
        deleted one that reappears is undeleted) are upserted with a new rv, one status_history row per
        stored lead whose status_id changed; in a full sync every lead seen gets seen_run = run_id."""
        result = PageWrite()
        if frame.empty:
            return result
        frame = frame.copy(deep=False)
        frame.attrs = {}  # pandas deep-copies attrs at every step: a page's need not follow it
        frame = frame.drop_duplicates("lead_id", keep="last").reset_index(drop=True)
        frame = frame[frame["lead_id"].notna()].reset_index(drop=True)
        result.rows = len(frame)
        ids = frame["lead_id"].astype(str).tolist()
        values = {c: _none_if_na(frame[c]) for c in _TEXT_COLS}
        for c in _TIME_COLS:
            values[c] = _time_us(frame[c])
        values["price"] = _none_if_na(frame["price"].astype("float64"))
        extras = [c for c in frame.columns if c not in LEAD_COLUMNS and c != "deleted_at"]
        values["extra"] = _extra_json(frame, extras)
        values["row_hash"] = _row_hashes(frame, extras)
        updated = [u for u in values["updated_at"] if u is not None]
        result.max_updated_at = max(updated) if updated else None
        observed = to_us(now)
        # the lease makes one writer per CRM; the lock keeps it so (PostgreSQL) even if a lease expired
        # under a stalled writer while another took over: no page is written twice at once
        with self.db.transaction(lock=lease_name(crm)) as tx:
            self._ensure_state(tx, crm)
            known = json.loads(
                tx.execute("SELECT extra_columns FROM sync_state WHERE crm = ?", (crm,)).scalar() or "[]"
            )
            if any(c not in known for c in extras):
                known += [c for c in extras if c not in known]
                tx.execute("UPDATE sync_state SET extra_columns = ? WHERE crm = ?", (json.dumps(known), crm))
            stored: dict[str, tuple] = {}
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                for lead_id, row_hash, status_id, deleted_at in tx.execute(
                    "SELECT lead_id, row_hash, status_id, deleted_at FROM synced_leads "
                    f"WHERE crm = ? AND lead_id IN ({marks})",
                    (crm, *chunk),
                ).fetchall():
                    stored[lead_id] = (row_hash, status_id, deleted_at)
            write, seen, history = [], [], []
            for i, lead_id in enumerate(ids):
                old = stored.get(lead_id)
                if old is not None and old[0] == values["row_hash"][i] and old[2] is None:
                    seen.append(i)
                    continue
                write.append(i)
                new_status = values["status_id"][i]
                if old is not None and old[1] != new_status:
                    history.append((crm, lead_id, old[1], new_status, observed, values["updated_at"][i]))
            if write or history:
                rv = self._bump(tx, crm)
                cols = [*_CONTENT, "extra", "row_hash"]
                if len(write) == len(ids):  # every row (a first sync): zip the columns, no indexing
                    rows = list(zip(repeat(crm), ids, *(values[c] for c in cols), repeat(rv), repeat(run_id)))
                else:
                    rows = [(crm, ids[i], *(values[c][i] for c in cols), rv, run_id) for i in write]
                tx.executemany(
                    f"INSERT INTO synced_leads (crm, lead_id, {', '.join(cols)}, deleted_at, rv, seen_run) "
                    f"VALUES (?, ?, {', '.join('?' * len(cols))}, NULL, ?, ?) ON CONFLICT (crm, lead_id) DO "
                    f"UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in cols)}, deleted_at = NULL, "
                    "rv = excluded.rv, seen_run = excluded.seen_run",
                    rows,
                )
                if history:
                    tx.executemany(
                        "INSERT INTO status_history (crm, lead_id, from_status_id, to_status_id, "
                        "observed_at, crm_updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                        history,
                    )
            if full and seen:  # unchanged leads: only remember this run saw them (deletion marking)
                unchanged = [ids[i] for i in seen]
                for start in range(0, len(unchanged), _CHUNK):
                    chunk = unchanged[start : start + _CHUNK]
                    marks = ", ".join("?" * len(chunk))
                    tx.execute(
                        f"UPDATE synced_leads SET seen_run = ? WHERE crm = ? AND lead_id IN ({marks})",
                        (run_id, crm, *chunk),
                    )
        result.changed = len(write)
        result.status_changes = len(history)
        return result

    def mark_unseen_deleted(self, crm: str, *, run_id: int, now: datetime) -> int:
        """After a COMPLETED full sync: the live leads it did not see are marked deleted at `now` (never
        erased). Returns how many."""
        with self.db.transaction() as tx:
            self._ensure_state(tx, crm)
            gone = tx.execute(
                "SELECT count(*) FROM synced_leads WHERE crm = ? AND deleted_at IS NULL "
                "AND (seen_run IS NULL OR seen_run <> ?)",
                (crm, run_id),
            ).scalar(0)
            if gone:
                rv = self._bump(tx, crm)
                tx.execute(
                    "UPDATE synced_leads SET deleted_at = ?, rv = ? WHERE crm = ? AND deleted_at IS NULL "
                    "AND (seen_run IS NULL OR seen_run <> ?)",
                    (to_us(now), rv, crm, run_id),
                )
        return int(gone)

    def finish_run(
        self,
        crm: str,
        run_id: int,
        *,
        started_at: datetime,
        finished_at: datetime,
        mode: str,
        watermark_us: int | None,
        counts: dict[str, Any],
    ) -> None:
        """Record a completed run: its counts, the new watermark (a full run's maximum replaces the old one,
        an incremental run's can only raise it), last full sync, history start, success."""
        with self.db.transaction() as tx:
            self._ensure_state(tx, crm)
            old = tx.execute("SELECT watermark FROM sync_state WHERE crm = ?", (crm,)).scalar()
            if mode == "full":
                watermark = watermark_us if watermark_us is not None else old
            else:
                watermark = (
                    max(w for w in (old, watermark_us) if w is not None) if (old or watermark_us) else None
                )
            tx.execute(
                "UPDATE sync_state SET watermark = ?, last_success_at = ?, last_error = NULL, "
                "last_error_at = NULL, history_since = COALESCE(history_since, ?) WHERE crm = ?",
                (watermark, to_us(finished_at), to_us(started_at), crm),
            )
            if mode == "full":
                tx.execute(
                    "UPDATE sync_state SET last_full_at = ?, last_full_run = ? WHERE crm = ?",
                    (to_us(started_at), run_id, crm),
                )
            names = list(counts)
            tx.execute(
                f"UPDATE sync_runs SET finished_at = ?, progress = 'done', "
                f"{', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
                (to_us(finished_at), *counts.values(), run_id),
            )

    def fail_run(
        self, crm: str, run_id: int | None, *, at: datetime, error: str, counts: dict[str, Any]
    ) -> None:
        """Record a failed run: the message in the run and in the CRM's state; data stays as it is."""
        with self.db.transaction() as tx:
            self._ensure_state(tx, crm)
            tx.execute(
                "UPDATE sync_state SET last_error = ?, last_error_at = ? WHERE crm = ?",
                (error, to_us(at), crm),
            )
            if run_id is not None:
                names = list(counts)
                tx.execute(
                    f"UPDATE sync_runs SET finished_at = ?, error = ?, progress = 'failed'"
                    f"{''.join(f', {n} = ?' for n in names)} WHERE id = ?",
                    (to_us(at), error, *counts.values(), run_id),
                )


def _python_extras(texts: list[str | None], n: int) -> dict[str, pd.Series]:
    """The `extra` JSON texts (None for none) as columns, parsed by the json module."""
    where = [i for i, e in enumerate(texts) if e]
    if not where:
        return {}
    records = json.loads("[" + ",".join(texts[i] for i in where) + "]")  # one parse for all rows
    decoded = pd.DataFrame.from_records(records, index=where).reindex(pd.RangeIndex(n))
    return {c: decoded[c].convert_dtypes() for c in decoded.columns}


def _arrow_extras(column: Any) -> dict[str, pd.Series] | None:
    """The `extra` JSON texts (a pyarrow string column) as columns, parsed by pyarrow (None when it cannot:
    e.g. a key holding numbers in some leads and text in others)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pa_json

    valid = pc.is_valid(column)
    texts = pc.drop_null(column)
    if len(texts) == 0:
        return {}
    data = _json_lines(texts)  # one text per line, joined by pyarrow (no Python string per row)
    try:
        table = pa_json.read_json(
            pa.BufferReader(data),
            read_options=pa_json.ReadOptions(block_size=max(1 << 20, data.size // 8 + 1)),
        )
    except (ValueError, ArithmeticError):
        return None
    # row i of the store -> row j of `table` (null where the lead has no extras)
    rank = np.cumsum(np.asarray(valid.to_numpy(zero_copy_only=False), dtype="int64")) - 1
    positions = pa.array(rank, mask=~np.asarray(valid.to_numpy(zero_copy_only=False), dtype=bool))
    out: dict[str, pd.Series] = {}
    for name in table.column_names:
        col = table.column(name).take(positions)
        kind = col.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
            out[name] = pd.Series(pd.array(col.cast(pa.string()), dtype="string"))
        elif pa.types.is_integer(kind):
            out[name] = pd.Series(pd.array(col, dtype="Int64"))
        elif pa.types.is_floating(kind):
            out[name] = pd.Series(pd.array(col, dtype="Float64"))
        elif pa.types.is_boolean(kind):
            out[name] = pd.Series(pd.array(col, dtype="boolean"))
        else:  # nested values, timestamps...: as the json module reads them
            out[name] = pd.Series(col.to_pylist(), dtype=object).convert_dtypes()
    return out


def _json_lines(texts: Any) -> Any:
    """A pyarrow string array (or chunked array) without nulls as one buffer: each text then a newline."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lines = pc.binary_join_element_wise(texts, pa.scalar(""), "\n")  # text + "\n" + ""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks() if lines.num_chunks else pa.array([], pa.string())
    lines = lines.cast(pa.large_string())  # 64-bit offsets: a text of any size
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    return lines.buffers()[2].slice(start, end - start)


def lease_name(crm: str) -> str:
    """The name of the lease whose holder syncs `crm`."""
    return f"sync:{crm}"


def _hash_text(text: str) -> str:
    import hashlib

    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def _extra_json(frame: pd.DataFrame, extras: Iterable[str]) -> list[str | None]:
    """Per row, the JSON object of its non-empty extra values (keys sorted), or None when it has none."""
    extras = list(extras)
    if not extras:
        return [None] * len(frame)
    try:
        return _extra_json_columns(frame, sorted(extras))
    except TypeError:  # unhashable values (lists, dicts): one row at a time
        return _extra_json_rows(frame, sorted(extras))


def _extra_json_columns(frame: pd.DataFrame, names: list[str]) -> list[str | None]:
    """_extra_json column by column: each distinct value of a column is encoded once, and the rows' texts
    are joined with numpy's element-wise string addition (the same text as _extra_json_rows)."""
    dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode
    n = len(frame)
    acc = np.full(n, "", dtype=object)
    for name in names:
        column = frame[name]
        mask = column.notna().to_numpy(dtype=bool)
        if not mask.any():
            continue
        key = dumps(name) + ": "
        present = column[mask]
        piece = np.full(n, "", dtype=object)
        if present.dtype == object:  # mixed values (1 and True are one key to factorize): each on its own
            piece[mask] = [key + dumps(v.item() if isinstance(v, np.generic) else v) for v in present]
        else:
            codes, uniques = pd.factorize(present)
            encoded = [key + dumps(u.item() if isinstance(u, np.generic) else u) for u in uniques]
            piece[mask] = np.array(encoded, dtype=object)[codes]
        sep = np.where(mask & (acc != ""), ", ", "")
        acc = acc + sep + piece
    empty = acc == ""
    out = np.where(empty, None, "{" + acc + "}")
    return out.tolist()


def _extra_json_rows(frame: pd.DataFrame, names: list[str]) -> list[str | None]:
    columns = [[v.item() if isinstance(v, np.generic) else v for v in _none_if_na(frame[c])] for c in names]
    dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode
    out: list[str | None] = []
    for values in zip(*columns, strict=True):
        kept = {k: v for k, v in zip(names, values, strict=True) if v is not None}
        out.append(dumps(kept) if kept else None)
    return out


def _row_hashes(frame: pd.DataFrame, extras: list[str]) -> list[str]:
    """A hash per row of everything stored about the lead (canonical columns and extras), as text;
    vectorised (pandas' stable siphash of each column, combined per row)."""
    parts: dict[str, pd.Series] = {}
    for col in [*LEAD_COLUMNS, *sorted(extras)]:
        s = frame[col]
        # one dtype per kind whatever the page holds (int64 and float64 hash differently): times and
        # numbers as float64 (exact below 2**53: epoch microseconds are ~1.8e15), missing as a sentinel
        if isinstance(s.dtype, pd.DatetimeTZDtype) or col in _TIME_COLS:
            micros = (pd.to_datetime(s, utc=True) - _EPOCH) // pd.Timedelta(microseconds=1)
            parts[col] = micros.astype("float64").fillna(_MISSING)
        elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            parts[col] = s.astype("float64").fillna(_MISSING)
        else:
            parts[col] = s.astype("string")
    hashed = pd.util.hash_pandas_object(pd.DataFrame(parts), index=False)
    return [format(h, "016x") for h in hashed.to_numpy(dtype="uint64").tolist()]


__all__ = ["LeadStore", "PageWrite", "SyncState", "from_us", "lease_name", "to_us"]
