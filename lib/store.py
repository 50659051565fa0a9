"""The dashboard's own store (not the CRM's): the user's settings (status roles, UTM aliases, custom-field
labels, goals), the outbox of leads the CRM has not accepted, the ad spend imported or typed in (one row per
day x source x medium x campaign), users, single sign-on e-mails, failed sign-ins and the audit log.

It lives in the database LEADS_STORE_URL names, through lib.db: by default the SQLite file
`dashboard.sqlite3` under LEADS_DATA_DIR (WAL mode, so readers never wait for a writer), or a PostgreSQL
database when several app processes serve a team. One code path and portable SQL for both. One connection
per Store guarded by a lock, so one Store can be shared by every Streamlit session of the process. Settings
are stored as JSON, one row per key; every save or reset bumps `version()` so caches keyed on it refresh.

The schema is versioned (`meta.schema`) and upgrades itself when a Store opens: tables, columns and indexes
are added, never dropped, so an older file keeps its settings, outbox, spend, users and audit log.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from lib import clock
from lib.db import Database, sqlite_url
from lib.schema import ROLES

DB_NAME = "dashboard.sqlite3"
EXT_FIELDS = ("ext_one", "ext_two", "ext_three", "ext_four")
DEFAULT_EXT_LABELS: dict[str, str] = {f: f"Custom field {i}" for i, f in enumerate(EXT_FIELDS, start=1)}
OUTBOX_STATES = ("failed", "unknown")  # "unknown": the request may have reached the CRM (no answer came)
# Every state an outbox row can be in: "sending" is written *before* the request goes out (write-ahead) and
# doubles as the lock that keeps a second click from sending the same entry; "sent" rows are kept a day
# (without the lead's data) so that a late second click learns the outcome instead of sending again.
ROW_STATES = ("sending", *OUTBOX_STATES, "sent")
# A send takes at most the HTTP client's timeouts (30 s read, 10 s connect); a row still "sending" after
# this long belongs to a process that died mid-send and is shown as "unknown". Measured on the machine's
# real clock (a lease, not a date shown to anyone), so a pinned LEADS_NOW cannot freeze or age it.
SEND_TIMEOUT = timedelta(minutes=2)
SENT_KEPT = timedelta(days=1)
STOPPED_MID_SEND = (
    "The dashboard stopped while this lead was being sent (restarted or crashed), so it is not known whether "
    "the CRM created it. Retry first checks whether the CRM already has it, so it will not be doubled."
)
# Who is sending: host, process id and a random id of this process (a pid can be reused after a restart).
PROCESS = f"{socket.gethostname()}|{os.getpid()}|{uuid.uuid4().hex}"
# 1 settings + outbox, 2 the send guard, 3 ad spend, 4 sign-in and audit, 5 single sign-on, 6 the same
# tables in portable SQL (SQLite or PostgreSQL): names unique by lower(name), epoch seconds as DOUBLE
# PRECISION, auto-numbered ids that work on both.
SCHEMA_VERSION = 6

# Every table in portable DDL (`{id}`: lib.db's auto-numbered key). A file made by schema 5 or older keeps
# its tables as they are (CREATE ... IF NOT EXISTS); only what is missing is added.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    """
CREATE TABLE IF NOT EXISTS outbox (
    id {id},
    lead TEXT NOT NULL,
    error TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1
)""",
)
# Schema 2 (the send guard), added to an existing file without touching its rows: the submission's key
# (unique, NULL for rows older than the guard), who holds a "sending" row and since when (epoch seconds:
# DOUBLE PRECISION, as a 4-byte REAL would lose the seconds), and the CRM's id once sent.
_OUTBOX_COLUMNS = {"submission": "TEXT", "owner": "TEXT", "claimed_at": "DOUBLE PRECISION", "lead_id": "TEXT"}
_OUTBOX_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS outbox_submission ON outbox (submission)",
    "CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state)",
)
# Schema 3: ad spend, one row per day x source x medium x campaign (a missing value is stored as '' so the
# key stays unique: NULLs may repeat in a UNIQUE key). `spend` is in the account currency.
_SPEND_SCHEMA = """
CREATE TABLE IF NOT EXISTS ad_spend (
    day TEXT NOT NULL,
    utm_source TEXT NOT NULL DEFAULT '',
    utm_medium TEXT NOT NULL DEFAULT '',
    utm_campaign TEXT NOT NULL DEFAULT '',
    spend DOUBLE PRECISION NOT NULL,
    imported_at TEXT NOT NULL,
    source_file TEXT,
    UNIQUE (day, utm_source, utm_medium, utm_campaign)
)
"""
# Schema 4: sign-in. Users (names unique whatever their case: a unique index on lower(name); the password as
# an argon2 hash, never in clear), failed sign-ins (epoch seconds of the machine's real clock: a lockout is
# a lease, which a pinned LEADS_NOW must not freeze) and the audit log (UTC ISO times of the dashboard's
# clock, detail as JSON). A SQLite file of schema 4 or 5 keeps its `name ... UNIQUE COLLATE NOCASE` column;
# the lower(name) index agrees with it (both fold ASCII letters only in SQLite).
_AUTH_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS users (
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS users_name_lower ON users (lower(name))",
    "CREATE TABLE IF NOT EXISTS sign_in_failures "
    "(account TEXT NOT NULL, client TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sign_in_failures_at ON sign_in_failures (at)",
    """
CREATE TABLE IF NOT EXISTS audit (
    id {id},
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    page TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
)""",
)
# Schema 5: single sign-on. The e-mails an admin let in through the OIDC provider (st.login), each with a
# role; stored lower-case (e-mails are compared in any case).
_SSO_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS sso_users (
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS sso_users_email_lower ON sso_users (lower(email))",
)
SSO_COLUMNS = ("email", "role", "disabled", "created_at", "updated_at")
AUDIT_COLUMNS = ("at", "who", "action", "page", "detail")
SPEND_COLUMNS = ("date", "utm_source", "utm_medium", "utm_campaign", "spend")
EDITED_BY_HAND = "(edited by hand)"


@dataclass(frozen=True)
class OutboxItem:
    """A lead waiting in the outbox. `attempts` counts the sends tried so far (1 when it was added)."""

    id: int
    lead: dict
    error: str
    state: str
    created_at: datetime  # UTC
    attempts: int
    submission: str | None = None  # the form submission's key (None for an item added without one)
    lead_id: str | None = None  # the CRM's id, once "sent"


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a send: `won` = this caller holds the row in state "sending" and must send
    (then record the outcome); otherwise `item` is the row as another caller left it (None if it is gone)."""

    won: bool
    item: OutboxItem | None


def crm_key(settings: Any) -> str:
    """The key the settings of one CRM are saved under: "demo", or the CRM's base URL."""
    if getattr(settings, "is_demo", False) or not getattr(settings, "base_url", None):
        return "demo"
    return str(settings.base_url).rstrip("/")


class Store:
    """The dashboard's own small database (not the CRM's)."""

    def __init__(self, data_dir: Path, *, wall: Callable[[], float] = time.time) -> None:
        """The SQLite file `dashboard.sqlite3` in `data_dir` (made when missing). `wall`: the real clock of
        the send lease (epoch seconds); tests may pass their own. `Store.open(url)` opens any store URL.

        As before LEADS_STORE_URL existed, a file that cannot be opened raises sqlite3's own error (or
        OSError for the folder), which tells a damaged file from an unwritable folder."""
        self._setup(Database(sqlite_url(data_dir)), wall)

    @classmethod
    def open(cls, url: str, *, wall: Callable[[], float] = time.time) -> Store:
        """The store at a `sqlite:///…` or `postgresql://…` URL (Settings.store_url); its schema is created
        or upgraded first. lib.db.DatabaseError (never showing the password) when the URL is wrong or
        PostgreSQL cannot be reached; for a SQLite file, sqlite3's own error or OSError, as `Store(data_dir)`
        raises them."""
        store = cls.__new__(cls)
        store._setup(Database(url), wall)
        return store

    def _setup(self, db: Database, wall: Callable[[], float]) -> None:
        self.db = db  # shared with lib.lead_store, which keeps its own tables in the same database
        self.path: Path | None = db.path  # the SQLite file, None on PostgreSQL
        self._wall = wall
        try:
            self._upgrade()
        except BaseException:
            db.close()
            raise

    def _upgrade(self) -> None:
        """Create the tables or bring an older store up to SCHEMA_VERSION by adding tables, columns and
        indexes; never drops anything. One transaction under the "schema" lock: two processes opening a new
        or old store at once do not race (SQLite's write lock; PostgreSQL's advisory lock)."""
        db = self.db
        with db.transaction(lock="schema"):
            for statement in _SCHEMA:
                db.execute(statement)
            have = db.columns("outbox")
            for name, kind in _OUTBOX_COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {kind}")
            for statement in (*_OUTBOX_INDEXES, _SPEND_SCHEMA, *_AUTH_SCHEMA, *_SSO_SCHEMA):
                db.execute(statement)
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT (key) DO UPDATE SET "
                "value = CASE WHEN meta.value > excluded.value THEN meta.value ELSE excluded.value END",
                (SCHEMA_VERSION,),
            )

    def schema_version(self) -> int:
        """The schema version recorded in the store (SCHEMA_VERSION once opened by this code, or more when a
        newer version of the dashboard opened it before)."""
        return int(self.db.execute("SELECT value FROM meta WHERE key = 'schema'").scalar(0))

    def __repr__(self) -> str:
        return f"Store({self.db.url!r})"  # lib.db leaves the password out

    @property
    def url(self) -> str:
        """The store's URL without its password."""
        return self.db.url

    def close(self) -> None:
        self.db.close()

    # -- generic settings -----------------------------------------------------------------------------

    def _get(self, key: str) -> Any | None:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _set(self, key: str, value: Any | None) -> None:
        """Save `value` under `key` (None deletes it) and bump the version, in one transaction."""
        db = self.db
        with db.transaction():
            if value is None:
                db.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                db.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, json.dumps(value, ensure_ascii=False)),
                )
            _bump(db)

    def version(self) -> int:
        """A number that grows on every save or reset of a setting (0 before the first)."""
        return int(self.db.execute("SELECT value FROM meta WHERE key = 'version'").scalar(0))

    # -- status roles ---------------------------------------------------------------------------------

    def status_overrides(self, crm_key: str) -> dict[str, dict]:
        """{status_id: {"role": str, "stage": int | None}} the user set for this CRM (empty by default)."""
        value = self._get(f"status_overrides:{crm_key}")
        return value if isinstance(value, dict) else {}

    def save_status_overrides(self, crm_key: str, overrides: dict[str, dict]) -> None:
        clean = {str(sid): dict(entry) for sid, entry in overrides.items() if isinstance(entry, dict)}
        self._set(f"status_overrides:{crm_key}", clean)

    def reset_status_overrides(self, crm_key: str) -> None:
        self._set(f"status_overrides:{crm_key}", None)

    # -- UTM aliases ----------------------------------------------------------------------------------

    def utm_aliases(self) -> dict[str, str] | None:
        """The user's alias map, or None to use lib.analytics.DEFAULT_UTM_ALIASES."""
        value = self._get("utm_aliases")
        return value if isinstance(value, dict) else None

    def save_utm_aliases(self, aliases: dict[str, str]) -> None:
        self._set("utm_aliases", {str(k): str(v) for k, v in aliases.items()})

    def reset_utm_aliases(self) -> None:
        self._set("utm_aliases", None)

    # -- custom-field labels --------------------------------------------------------------------------

    def ext_labels(self) -> dict[str, str]:
        """Labels of ext_one..ext_four: the saved ones, "Custom field N" where none (or a blank) is saved."""
        saved = self._get("ext_labels")
        saved = saved if isinstance(saved, dict) else {}
        out = dict(DEFAULT_EXT_LABELS)
        for field in EXT_FIELDS:
            label = saved.get(field)
            if isinstance(label, str) and label.strip():
                out[field] = label.strip()
        return out

    def save_ext_labels(self, labels: dict[str, str]) -> None:
        self._set("ext_labels", {f: str(labels[f]).strip() for f in EXT_FIELDS if labels.get(f) is not None})

    # -- monthly goals ---------------------------------------------------------------------------------

    def goals(self) -> list[dict]:
        """The monthly goals (see lib.analytics.goals): [{"month", "metric", "source", "target"}]."""
        value = self._get("goals")
        return [dict(g) for g in value if isinstance(g, dict)] if isinstance(value, list) else []

    def save_goals(self, goals: list[dict]) -> None:
        """Replace the goals (an empty list removes them all)."""
        keys = ("month", "metric", "source", "target")
        self._set("goals", [{k: g.get(k) for k in keys} for g in goals])

    # -- the outbox -----------------------------------------------------------------------------------

    def outbox_add(self, lead: dict, error: str, state: str, *, now: datetime | None = None) -> int:
        """Keep a lead the CRM did not accept; returns its outbox id."""
        _check_state(state)
        new_id = self.db.execute(
            "INSERT INTO outbox (lead, error, state, created_at, attempts) "
            "VALUES (?, ?, ?, ?, 1) RETURNING id",
            (_json(lead), error, state, _stamp(now)),
        ).scalar()
        return int(new_id)

    def outbox_list(self) -> list[OutboxItem]:
        """Every lead in the outbox (failed, unknown, or being sent right now), oldest first. A "sending"
        row whose process died (or that outlived SEND_TIMEOUT) is turned into "unknown" first."""
        self.outbox_reap()
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE state != 'sent' ORDER BY id").fetchall()
        return [_item(r) for r in rows]

    def outbox_get(self, item_id: int | None = None, *, submission: str | None = None) -> OutboxItem | None:
        """One row by id or by submission key, whatever its state ("sent" included); None if there is none."""
        self.outbox_reap()
        column, value = ("id", int(item_id)) if item_id is not None else ("submission", submission)
        row = self.db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE {column} = ?", (value,)).fetchone()
        return None if row is None else _item(row)

    def outbox_claim(self, submission: str, lead: dict, *, now: datetime | None = None) -> Claim:
        """Write-ahead and lock in one step: insert `lead` as "sending" under the unique `submission` key.

        Exactly one caller per key wins, across threads and processes (a UNIQUE index, the insert inside one
        write transaction: SQLite's BEGIN IMMEDIATE; on PostgreSQL a second insert of the key waits for the
        first transaction and then does nothing); the others get the row as it stands. Rows sent more than
        SENT_KEPT ago are dropped here."""
        if not submission:
            raise ValueError("a submission key is required")
        self.outbox_reap()
        stamp = _stamp(now)
        cutoff = _stamp((now or clock.now()) - SENT_KEPT)
        db = self.db
        with db.transaction():
            db.execute("DELETE FROM outbox WHERE state = 'sent' AND created_at < ?", (cutoff,))
            won = (
                db.execute(
                    "INSERT INTO outbox (lead, error, state, created_at, attempts, submission, owner, "
                    "claimed_at) VALUES (?, '', 'sending', ?, 1, ?, ?, ?) "
                    "ON CONFLICT (submission) DO NOTHING",
                    (_json(lead), stamp, submission, PROCESS, self._wall()),
                ).rowcount
                == 1
            )
            row = db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE submission = ?", (submission,)).fetchone()
        return Claim(won, _item(row))

    def outbox_claim_retry(self, item_id: int) -> Claim:
        """Lock an outbox item for a retry: flip it from failed/unknown to "sending" with one conditional
        UPDATE; only the caller whose UPDATE changed the row wins. `item` is the row as it was before the
        flip for the winner (its state tells the retry whether to look the lead up first), else as it is."""
        self.outbox_reap()
        db = self.db
        with db.transaction():
            # SQLite's BEGIN IMMEDIATE already holds the whole file; PostgreSQL locks the row, so a second
            # retrier waits here and then reads the row as the first one left it
            lock = " FOR UPDATE" if db.dialect == "postgresql" else ""
            select = f"SELECT {_COLUMNS} FROM outbox WHERE id = ?{lock}"
            before = db.execute(select, (int(item_id),)).fetchone()
            won = (
                db.execute(
                    "UPDATE outbox SET state = 'sending', owner = ?, claimed_at = ? "
                    "WHERE id = ? AND state IN ('failed', 'unknown')",
                    (PROCESS, self._wall(), int(item_id)),
                ).rowcount
                == 1
            )
        return Claim(won, None if before is None else _item(before))

    def outbox_finish(
        self,
        item_id: int,
        state: str,
        *,
        error: str = "",
        lead_id: str | None = None,
        lead: dict | None = None,
        count_attempt: bool = False,
    ) -> None:
        """Record how a send ended: "sent" (with the CRM's `lead_id`; the lead's data is dropped from the
        row), or "failed"/"unknown" with the `error` (and `lead`, if the entry was changed). `count_attempt`
        adds one to the attempts (a retry)."""
        if state not in ROW_STATES or state == "sending":
            raise ValueError(f"a send ends as sent, failed or unknown, not {state!r}")
        new_lead = "{}" if state == "sent" else (None if lead is None else _json(lead))
        self.db.execute(
            "UPDATE outbox SET state = ?, error = ?, lead_id = ?, owner = NULL, claimed_at = NULL, "
            "lead = coalesce(?, lead), attempts = attempts + ? WHERE id = ?",
            (state, error, lead_id, new_lead, int(count_attempt), int(item_id)),
        )

    def outbox_reap(self) -> int:
        """Turn "sending" rows whose sender is gone into "unknown": the process died (same host, its pid is
        not running, or it is this pid with another process id), or the row outlived SEND_TIMEOUT. Returns
        how many were turned."""
        rows = self.db.execute("SELECT id, owner, claimed_at FROM outbox WHERE state = 'sending'").fetchall()
        if not rows:
            return 0
        oldest = self._wall() - SEND_TIMEOUT.total_seconds()
        dead = [int(i) for i, owner, at in rows if at is None or at < oldest or not _alive(owner)]
        if not dead:
            return 0
        marks = ",".join("?" * len(dead))
        return self.db.execute(
            f"UPDATE outbox SET state = 'unknown', error = ?, owner = NULL, claimed_at = NULL "
            f"WHERE state = 'sending' AND id IN ({marks})",
            (STOPPED_MID_SEND, *dead),
        ).rowcount

    def outbox_update(self, item_id: int, *, error: str, state: str) -> None:
        """Record another failed attempt for this item."""
        _check_state(state)
        self.outbox_finish(item_id, state, error=error, count_attempt=True)

    def outbox_remove(self, item_id: int) -> None:
        self.db.execute("DELETE FROM outbox WHERE id = ?", (int(item_id),))

    # -- ad spend -------------------------------------------------------------------------------------

    def save_spend(
        self, rows: Iterable[Mapping], *, source_file: str | None = None, now: datetime | None = None
    ) -> tuple[int, int]:
        """Upsert spend rows (date, utm_source, utm_medium, utm_campaign, spend): a row whose day x source x
        medium x campaign is already stored replaces it (never adds to it), so importing a file again
        changes nothing. Returns (inserted, replaced)."""
        stamp = _stamp(now)
        inserted = replaced = 0
        db = self.db
        with db.transaction():
            for row in rows:
                key = _spend_key(row)
                found = db.execute(f"SELECT 1 FROM ad_spend WHERE {_SPEND_WHERE}", key).fetchone()
                db.execute(
                    f"INSERT INTO ad_spend ({_SPEND_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (day, utm_source, utm_medium, utm_campaign) DO UPDATE SET "
                    "spend = excluded.spend, imported_at = excluded.imported_at, "
                    "source_file = excluded.source_file",
                    (*key, float(row["spend"]), stamp, source_file),
                )
                if found:
                    replaced += 1
                else:
                    inserted += 1
            _bump(db)
        return inserted, replaced

    def spend_frame(self) -> pd.DataFrame:
        """Every stored spend row, by day, source, medium, campaign: `date` (datetime64[ns], the day),
        `utm_source`, `utm_medium`, `utm_campaign` (string, NA where empty), `spend` (float64)."""
        rows = self.db.execute(
            "SELECT day, utm_source, utm_medium, utm_campaign, spend FROM ad_spend "
            "ORDER BY day, utm_source, utm_medium, utm_campaign"
        ).fetchall()
        frame = pd.DataFrame(rows, columns=list(SPEND_COLUMNS))
        out = pd.DataFrame(
            {"date": pd.to_datetime(frame["date"], format="%Y-%m-%d").astype("datetime64[ns]")}
        )
        for name in SPEND_COLUMNS[1:4]:
            out[name] = frame[name].astype("string").replace("", pd.NA)
        out["spend"] = frame["spend"].astype("float64")
        return out

    def delete_spend(self, keys: Iterable[tuple]) -> int:
        """Delete spend rows by (date, utm_source, utm_medium, utm_campaign) (None or NA for an empty
        value); returns how many were deleted."""
        deleted = 0
        db = self.db
        with db.transaction():
            for day, source, medium, campaign in keys:
                key = _spend_key(
                    {"date": day, "utm_source": source, "utm_medium": medium, "utm_campaign": campaign}
                )
                deleted += db.execute(f"DELETE FROM ad_spend WHERE {_SPEND_WHERE}", key).rowcount
            _bump(db)
        return deleted

    def replace_spend_table(
        self, frame: pd.DataFrame | Iterable[Mapping], *, now: datetime | None = None
    ) -> None:
        """Make the stored spend exactly these rows (the hand-edited table, already checked by
        lib.spend.clean_table: one row per key). A row whose key and spend are unchanged keeps when and from
        which file it was imported; a new or changed one is marked as edited by hand."""
        rows = frame.to_dict("records") if isinstance(frame, pd.DataFrame) else list(frame)
        stamp = _stamp(now)
        db = self.db
        with db.transaction():
            old = {
                tuple(r[:4]): r[4:]
                for r in db.execute(
                    "SELECT day, utm_source, utm_medium, utm_campaign, spend, imported_at, source_file "
                    "FROM ad_spend"
                ).fetchall()
            }
            db.execute("DELETE FROM ad_spend")
            for row in rows:
                key = _spend_key(row)
                spend = round(float(row["spend"]), 2)
                before = old.get(key)
                if before is not None and round(before[0], 2) == spend:
                    meta = (before[1], before[2])
                else:
                    meta = (stamp, EDITED_BY_HAND)
                db.execute(
                    f"INSERT INTO ad_spend ({_SPEND_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*key, spend, *meta),
                )
            _bump(db)

    # -- users, sign-in failures, audit log ---------------------------------------------------------------

    def _write(self, sql: str, params: tuple = ()) -> int:
        return self.db.execute(sql, params).rowcount

    def add_user(self, name: str, role: str, password_hash: str, *, now: datetime | None = None) -> None:
        """Add an account; ValueError when the name (in any case) is taken or blank."""
        name = name.strip()
        if not name:
            raise ValueError("The user name must not be blank.")
        at = _stamp(now)
        try:
            self._write(
                "INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at) "
                "VALUES (?, ?, ?, 0, ?, ?)",
                (name, role, password_hash, at, at),
            )
        except self.db.IntegrityError:
            raise ValueError(f"A user named {name!r} already exists.") from None

    def update_user(
        self,
        name: str,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
        now: datetime | None = None,
    ) -> None:
        """Change an account's role, password hash or disabled flag; KeyError when there is no such user."""
        sets = {"role": role, "password_hash": password_hash}
        sets["disabled"] = None if disabled is None else int(disabled)
        changes = {k: v for k, v in sets.items() if v is not None}
        assignments = ", ".join(f"{k} = ?" for k in [*changes, "updated_at"])
        if not self._write(
            f"UPDATE users SET {assignments} WHERE lower(name) = lower(?)",
            (*changes.values(), _stamp(now), name.strip()),
        ):
            raise KeyError(f"There is no user named {name!r}.")

    def user(self, name: str) -> dict | None:
        """{"name", "role", "password_hash", "disabled", "created_at", "updated_at"} or None (the name in
        any case)."""
        row = self.db.execute(
            "SELECT name, role, password_hash, disabled, created_at, updated_at "
            "FROM users WHERE lower(name) = lower(?)",
            (name.strip(),),
        ).fetchone()
        if row is None:
            return None
        keys = ("name", "role", "password_hash", "disabled", "created_at", "updated_at")
        return {**dict(zip(keys, row, strict=True)), "disabled": bool(row[3])}

    def users(self) -> pd.DataFrame:
        """Every account without its hash: name, role, disabled, created_at, updated_at (by name, in any
        case)."""
        rows = self.db.execute(
            "SELECT name, role, disabled, created_at, updated_at FROM users ORDER BY lower(name), name"
        ).fetchall()
        frame = pd.DataFrame(rows, columns=["name", "role", "disabled", "created_at", "updated_at"])
        return frame.astype({"name": "string", "role": "string", "disabled": "bool"})

    def active_admins(self) -> int:
        return int(
            self.db.execute("SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0").scalar(0)
        )

    # -- single sign-on e-mails ----------------------------------------------------------------------------

    def add_sso_user(self, email: str, role: str, *, now: datetime | None = None) -> str:
        """Let `email` sign in through single sign-on with `role`; returns the e-mail as stored (trimmed,
        lower-case). ValueError when it is blank, not an e-mail address, or already there (in any case)."""
        email = normalize_email(email)
        at = _stamp(now)
        try:
            self._write(
                "INSERT INTO sso_users (email, role, disabled, created_at, updated_at) "
                "VALUES (?, ?, 0, ?, ?)",
                (email, role, at, at),
            )
        except self.db.IntegrityError:
            raise ValueError(f"The e-mail {email} is already there.") from None
        return email

    def update_sso_user(
        self,
        email: str,
        *,
        role: str | None = None,
        disabled: bool | None = None,
        now: datetime | None = None,
    ) -> None:
        """Change an e-mail's role or disabled flag; KeyError when it is not there."""
        sets = {"role": role, "disabled": None if disabled is None else int(disabled)}
        changes = {k: v for k, v in sets.items() if v is not None}
        assignments = ", ".join(f"{k} = ?" for k in [*changes, "updated_at"])
        if not self._write(
            f"UPDATE sso_users SET {assignments} WHERE lower(email) = lower(?)",
            (*changes.values(), _stamp(now), email.strip()),
        ):
            raise KeyError(f"The e-mail {email.strip()} is not in the single sign-on list.")

    def remove_sso_user(self, email: str) -> None:
        """Take `email` off the single sign-on list; KeyError when it is not there."""
        if not self._write("DELETE FROM sso_users WHERE lower(email) = lower(?)", (email.strip(),)):
            raise KeyError(f"The e-mail {email.strip()} is not in the single sign-on list.")

    def sso_user(self, email: str) -> dict | None:
        """{"email", "role", "disabled", "created_at", "updated_at"} for `email` (any case), or None."""
        row = self.db.execute(
            f"SELECT {', '.join(SSO_COLUMNS)} FROM sso_users WHERE lower(email) = lower(?)", (email.strip(),)
        ).fetchone()
        if row is None:
            return None
        return {**dict(zip(SSO_COLUMNS, row, strict=True)), "disabled": bool(row[2])}

    def sso_users(self) -> pd.DataFrame:
        """Every single sign-on e-mail: email, role, disabled, created_at, updated_at (by e-mail)."""
        rows = self.db.execute(f"SELECT {', '.join(SSO_COLUMNS)} FROM sso_users ORDER BY email").fetchall()
        frame = pd.DataFrame(rows, columns=list(SSO_COLUMNS))
        return frame.astype({"email": "string", "role": "string", "disabled": "bool"})

    def add_sign_in_failure(self, account: str, client: str, at: float) -> None:
        """Record a failed sign-in (`at`: epoch seconds); failures older than a day are dropped."""
        db = self.db
        with db.transaction():
            db.execute("DELETE FROM sign_in_failures WHERE at < ?", (at - 86_400,))
            db.execute(
                "INSERT INTO sign_in_failures (account, client, at) VALUES (?, ?, ?)",
                (account.strip().casefold(), client, at),
            )

    def sign_in_failures(self, account: str, client: str, since: float) -> tuple[list[float], list[float]]:
        """The times (epoch seconds) of failures since `since`: (of this account, from this client)."""
        acc = self.db.execute(
            "SELECT at FROM sign_in_failures WHERE account = ? AND at >= ?",
            (account.strip().casefold(), since),
        ).fetchall()
        cli = self.db.execute(
            "SELECT at FROM sign_in_failures WHERE client = ? AND at >= ?", (client, since)
        ).fetchall()
        return [r[0] for r in acc], [r[0] for r in cli]

    def clear_sign_in_failures(self, account: str) -> None:
        """After a successful sign-in: the account's failures are forgotten (the client's are kept)."""
        self._write("DELETE FROM sign_in_failures WHERE account = ?", (account.strip().casefold(),))

    def audit(
        self,
        who: str,
        action: str,
        page: str = "",
        detail: dict | None = None,
        *,
        now: datetime | None = None,
    ) -> None:
        """Add a row to the audit log."""
        self._write(
            "INSERT INTO audit (at, who, action, page, detail) VALUES (?, ?, ?, ?, ?)",
            (_stamp(now), who, action, page, _json(detail or {})),
        )

    def audit_frame(self) -> pd.DataFrame:
        """The audit log, newest first: at (UTC datetime), who, action, page, detail (JSON text)."""
        rows = self.db.execute("SELECT at, who, action, page, detail FROM audit ORDER BY id DESC").fetchall()
        frame = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS)).astype("string")
        frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
        return frame


_SPEND_FIELDS = "day, utm_source, utm_medium, utm_campaign, spend, imported_at, source_file"
_SPEND_WHERE = "day = ? AND utm_source = ? AND utm_medium = ? AND utm_campaign = ?"


def _spend_key(row: Mapping) -> tuple[str, str, str, str]:
    """(day as YYYY-MM-DD, source, medium, campaign) with '' for a missing value."""
    day = row["date"]
    if isinstance(day, datetime | pd.Timestamp):
        day = day.date()
    elif not isinstance(day, date):
        day = pd.Timestamp(str(day)).date()
    return (day.isoformat(), *(_key_text(row.get(k)) for k in SPEND_COLUMNS[1:4]))


def _key_text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def _bump(db: Database) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('version', 1) "
        "ON CONFLICT (key) DO UPDATE SET value = meta.value + 1"
    )


_COLUMNS = "id, lead, error, state, created_at, attempts, submission, lead_id"


def _item(r: tuple) -> OutboxItem:
    return OutboxItem(
        id=int(r[0]),
        lead=json.loads(r[1]),
        error=r[2],
        state=r[3],
        created_at=datetime.fromisoformat(r[4]),
        attempts=int(r[5]),
        submission=r[6],
        lead_id=r[7],
    )


def _json(lead: dict) -> str:
    return json.dumps(lead, ensure_ascii=False)


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def normalize_email(email: str) -> str:
    """An e-mail as the single sign-on list keeps it: trimmed and lower-case; ValueError unless it looks like
    one address (something@domain, no spaces)."""
    text = str(email or "").strip().lower()
    if not _EMAIL.fullmatch(text):
        raise ValueError(f"Enter one e-mail address such as dana@example.com (got {str(email or '')!r}).")
    return text


def _stamp(now: datetime | None) -> str:
    return (now or clock.now()).astimezone(UTC).isoformat(timespec="microseconds")


def _alive(owner: str | None) -> bool:
    """Whether the process that wrote `owner` (host|pid|random id) may still be running. Another host's
    process cannot be checked from here: it counts as alive (SEND_TIMEOUT still applies)."""
    if not owner:
        return False
    if owner == PROCESS:
        return True
    host, _, rest = owner.partition("|")
    pid_text, _, _ = rest.partition("|")
    if host != socket.gethostname():
        return True
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return False  # this pid, another process id: the process that wrote it is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # running, as another user
    try:  # a killed child its parent has not reaped yet is a zombie: dead for our purpose
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _check_state(state: str) -> None:
    if state not in OUTBOX_STATES:
        raise ValueError(f"outbox state must be one of {OUTBOX_STATES}, not {state!r}")


def apply_status_overrides(statuses: pd.DataFrame, overrides: dict) -> pd.DataFrame:
    """The status catalogue with `role` and `stage` replaced where the user overrode them.

    Ids not in the catalogue are ignored, and so is an entry whose role is not one of lib.schema.ROLES. A
    stage may be a whole number >= 0 or None (no stage); anything else keeps the default stage. A junk
    status never has a stage (it is left out of the funnel).
    """
    out = statuses.copy()
    if not overrides or out.empty:
        return out
    ids = out["status_id"].astype("string")
    roles = out["role"].astype("string").copy()
    stages = out["stage"].astype("Int64").copy()
    for sid, entry in overrides.items():
        if not isinstance(entry, dict):
            continue
        mask = (ids == str(sid)).fillna(False).to_numpy()
        if not mask.any():
            continue
        role = entry.get("role")
        if role is not None and role not in ROLES:
            continue
        if role is not None:
            roles[mask] = role
        if "stage" in entry:
            stage = entry["stage"]
            if stage is None:
                stages[mask] = pd.NA
            elif isinstance(stage, int) and not isinstance(stage, bool) and stage >= 0:
                stages[mask] = stage
        if role == "junk":
            stages[mask] = pd.NA
    out["role"] = roles.astype(statuses["role"].dtype)
    out["stage"] = stages.astype("Int64")
    return out


__all__ = [
    "DEFAULT_EXT_LABELS",
    "EXT_FIELDS",
    "OUTBOX_STATES",
    "ROW_STATES",
    "SEND_TIMEOUT",
    "SPEND_COLUMNS",
    "Claim",
    "OutboxItem",
    "Store",
    "apply_status_overrides",
    "crm_key",
]
