"""SQLite under LEADS_DATA_DIR: the user's settings (status roles, UTM aliases, custom-field labels) and
the outbox of leads the CRM has not accepted.

One file, `dashboard.sqlite3`, in WAL mode so that readers never wait for a writer; one connection per
Store guarded by a lock, so one Store can be shared by every Streamlit session of the process. Settings are
stored as JSON, one row per key; every save or reset bumps `version()` so caches keyed on it refresh.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from lib.schema import ROLES

DB_NAME = "dashboard.sqlite3"
EXT_FIELDS = ("ext_one", "ext_two", "ext_three", "ext_four")
DEFAULT_EXT_LABELS: dict[str, str] = {f: f"Custom field {i}" for i, f in enumerate(EXT_FIELDS, start=1)}
OUTBOX_STATES = ("failed", "unknown")  # "unknown": the request may have reached the CRM (no answer came)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead TEXT NOT NULL,
    error TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1
);
"""


@dataclass(frozen=True)
class OutboxItem:
    """A lead waiting in the outbox. `attempts` counts the sends tried so far (1 when it was added)."""

    id: int
    lead: dict
    error: str
    state: str
    created_at: datetime  # UTC
    attempts: int


def crm_key(settings: Any) -> str:
    """The key the settings of one CRM are saved under: "demo", or the CRM's base URL."""
    if getattr(settings, "is_demo", False) or not getattr(settings, "base_url", None):
        return "demo"
    return str(settings.base_url).rstrip("/")


class Store:
    """The dashboard's own small database (not the CRM's)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / DB_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- generic settings -----------------------------------------------------------------------------

    def _get(self, key: str) -> Any | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _set(self, key: str, value: Any | None) -> None:
        """Save `value` under `key` (None deletes it) and bump the version, in one transaction."""
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                if value is None:
                    c.execute("DELETE FROM settings WHERE key = ?", (key,))
                else:
                    c.execute(
                        "INSERT INTO settings (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (key, json.dumps(value, ensure_ascii=False)),
                    )
                c.execute(
                    "INSERT INTO meta (key, value) VALUES ('version', 1) "
                    "ON CONFLICT(key) DO UPDATE SET value = value + 1"
                )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    def version(self) -> int:
        """A number that grows on every save or reset of a setting (0 before the first)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        return 0 if row is None else int(row[0])

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

    # -- the outbox -----------------------------------------------------------------------------------

    def outbox_add(self, lead: dict, error: str, state: str) -> int:
        """Keep a lead the CRM did not accept; returns its outbox id."""
        _check_state(state)
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO outbox (lead, error, state, created_at, attempts) VALUES (?, ?, ?, ?, 1)",
                (json.dumps(lead, ensure_ascii=False), error, state, now),
            )
            return int(cur.lastrowid)

    def outbox_list(self) -> list[OutboxItem]:
        """Every lead in the outbox, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, lead, error, state, created_at, attempts FROM outbox ORDER BY id"
            ).fetchall()
        return [
            OutboxItem(
                id=int(r[0]),
                lead=json.loads(r[1]),
                error=r[2],
                state=r[3],
                created_at=datetime.fromisoformat(r[4]),
                attempts=int(r[5]),
            )
            for r in rows
        ]

    def outbox_update(self, item_id: int, *, error: str, state: str) -> None:
        """Record another failed attempt for this item."""
        _check_state(state)
        with self._lock:
            self._conn.execute(
                "UPDATE outbox SET error = ?, state = ?, attempts = attempts + 1 WHERE id = ?",
                (error, state, int(item_id)),
            )

    def outbox_remove(self, item_id: int) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM outbox WHERE id = ?", (int(item_id),))


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
    "OutboxItem",
    "Store",
    "apply_status_overrides",
    "crm_key",
]
