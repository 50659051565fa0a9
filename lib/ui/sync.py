"""The sync as users see it: "Synced 2 min ago" and "Sync now" in the sidebar, the first sync's progress,
the warning when the last sync failed, and the sync runs on the Settings page.

The sync itself runs in the background (lib.sync.SyncWorker, one thread per process; one process of all
replicas at a time by the store's lease). A page only reads the store's sync state; "Sync now" asks the
syncing process to run at once (a flag in the store, so it works across replicas) and shows that run's
progress to the user who asked, while other users go on reading the last synced data.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from lib import clock
from lib.config import Settings
from lib.store import crm_key
from lib.text import escape_markdown
from lib.ui.formatting import count, local_time

SYNC_NOW_WAIT_SECONDS = 60  # how long "Sync now" shows the run's progress before leaving it to run on
POLL_SECONDS = 0.25


def ago(then: datetime | None, now: datetime) -> str:
    """ "just now", "2 min ago", "3 h ago", "2 days ago" (a time in the future reads "just now")."""
    if then is None:
        return "never"
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h ago"
    return f"{hours // 24} days ago"


def sync_ago(s: Settings, at: datetime | None) -> str:
    """ "23 Nov 2026 14:00 (2 min ago)" in the display zone."""
    return "never" if at is None else f"{local_time(at, s.timezone)} ({ago(at, clock.now())})"


def store_label(s: Settings) -> str:
    """Where the store is, for people: the SQLite file, or the PostgreSQL URL without its password."""
    from lib.db import safe_url

    return safe_url(s.store_url).replace("sqlite:///", "SQLite file ", 1)


def _last_run_id(ls: Any, crm: str) -> int:
    runs = ls.runs(crm, limit=1)
    return int(runs["id"].iloc[0]) if len(runs) else 0


def _progress_text(state: Any) -> str:
    running = state.running or {}
    pages, fetched = int(running.get("pages") or 0), int(running.get("fetched") or 0)
    mode = running.get("mode") or "sync"
    if not pages:
        return f"Syncing leads from the CRM ({mode})…"
    return f"Syncing leads from the CRM ({mode})… {pages:,} pages, {fetched:,} leads"


def wait_for_sync(
    s: Settings,
    ls: Any,
    crm: str,
    timeout: float,
    *,
    first: bool = False,
    after_run: int | None = None,
    quiet: bool = False,
    slot: Any = None,
) -> Any:
    """Show a progress bar until a sync run newer than `after_run` (default: the newest now) has finished,
    or, with `first`, until the store holds a first successful sync (or the first attempt failed); returns
    the sync state then (or when `timeout` seconds of real time have passed). `quiet`: no progress bar;
    `slot`: an st.empty() to draw the bar in (else it is drawn where the call is)."""
    after = _last_run_id(ls, crm) if after_run is None else after_run
    deadline = time.monotonic() + timeout
    bar = None
    shown_steps = 0
    seen = 0
    pause = 0.02
    try:
        while True:
            state = ls.state(crm)
            if first and (state.last_success_at is not None or (state.running is None and state.last_error)):
                return state
            if not first:
                runs = ls.runs(crm, limit=1)
                if len(runs) and int(runs["id"].iloc[0]) > after and pd.notna(runs["finished_at"].iloc[0]):
                    return state
            if time.monotonic() > deadline:
                return state
            if quiet:
                pass
            elif bar is None:
                bar = (slot or st).progress(0.0, text=_progress_text(state))
            elif state.running and (state.running.get("fetched") or 0) > seen:
                seen = state.running.get("fetched") or 0  # the bar moves when leads arrive, not with time
                shown_steps += 1
                bar.progress(min(0.95, 1 - 0.8**shown_steps), text=_progress_text(state))
            time.sleep(pause)
            pause = min(POLL_SECONDS, pause * 1.5)  # a quick sync is seen at once, a long one polled calmly
    finally:
        if bar is not None:
            bar.empty()


def sync_now(s: Settings, *, wait: float = SYNC_NOW_WAIT_SECONDS, quiet: bool = False) -> Any:
    """Ask for a sync now (this process's worker at once; another replica's through the store) and show its
    progress (none when `quiet`) until it ends or `wait` seconds pass. Returns the sync state."""
    from lib.ui.data import lead_store, sync_worker

    ls = lead_store(s)
    crm = crm_key(s)
    after = _last_run_id(ls, crm)
    ls.request_sync(crm, clock.now())
    worker = sync_worker(s)
    if worker is not None:
        worker.wake()
    return wait_for_sync(s, ls, crm, wait, after_run=after, quiet=quiet)


def failed_sync_warning(s: Settings, state: Any) -> None:
    """When the last sync failed: say since when the data is from and why, above the page."""
    failed, fresh = state.last_error_at, state.last_success_at
    if not state.last_error or failed is None or (fresh is not None and fresh >= failed):
        return
    st.warning(
        f"**The last sync failed** ({ago(failed, clock.now())}): {escape_markdown(state.last_error)}  \n"
        f"Showing the data as it was at the last successful sync, {local_time(fresh, s.timezone)} "
        f"({ago(fresh, clock.now())}). The sync tries again every {interval_text(s.sync_interval)}.",
        icon="⚠️",
    )


def interval_text(seconds: float) -> str:
    if not seconds:
        return "time the sync service runs"
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"


def sidebar_sync(s: Settings, data: Any) -> None:
    """ "Synced 2 min ago · 1,234 leads" and the Sync now button (in the sidebar)."""
    text = f"{count(len(data.leads), 'lead')} · synced {ago(data.synced_at, clock.now())}"
    if data.sync.running:
        text += " · syncing now…"
    st.caption(text, help=f"Last successful sync: {local_time(data.synced_at, s.timezone)} ({s.timezone})")
    if st.button("Sync now", icon="🔄", help="Fetch what changed in the CRM now (runs in the background)"):
        sync_now(s)
        st.rerun()


RUN_COLUMNS = {
    "started_at": "Started",
    "mode": "Mode",
    "seconds": "Seconds",
    "requests": "Requests",
    "fetched": "Fetched",
    "changed": "Changed",
    "deleted": "Deleted",
    "status_changes": "Status changes",
    "total": "Leads in store",
    "error": "Error",
}


def runs_table(s: Settings, runs: pd.DataFrame) -> pd.DataFrame:
    """The sync runs as shown on Settings: local start time, the figures, the error (blank when none)."""
    out = pd.DataFrame({label: runs[col] for col, label in RUN_COLUMNS.items() if col in runs.columns})
    if "Started" in out.columns:
        started = pd.to_datetime(out["Started"], utc=True)
        out["Started"] = started.dt.tz_convert(s.timezone).dt.strftime("%d %b %H:%M:%S")
    if "Seconds" in out.columns:
        out["Seconds"] = pd.to_numeric(out["Seconds"], errors="coerce").round(1)
    if "Error" in out.columns:
        out["Error"] = out["Error"].fillna("").astype("string")
    return out


__all__ = [
    "ago",
    "failed_sync_warning",
    "interval_text",
    "runs_table",
    "sidebar_sync",
    "store_label",
    "sync_ago",
    "sync_now",
    "wait_for_sync",
]
