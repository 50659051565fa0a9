"""Loading: settings, the connected source, the cached leads and statuses, the user's store."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from lib import clock
from lib.config import Settings, load_settings
from lib.crm import LeadsError, Source, connect_settings
from lib.db import DatabaseError
from lib.lead_cache import LeadCache
from lib.store import crm_key
from lib.text import escape_markdown
from lib.ui.navigation import _through_app_navigation

FIRST_SYNC_WAIT_SECONDS = 120  # how long a page shows the first sync's progress before saying it goes on


@dataclass
class LoadedData:
    leads: pd.DataFrame
    statuses: pd.DataFrame
    sync: Any  # lib.lead_store.SyncState of this CRM when the data was read

    @property
    def synced_at(self) -> datetime | None:
        """When the data was last fresh (the end of the last successful sync), UTC."""
        return self.sync.last_success_at

    @property
    def unreadable(self) -> dict[str, int]:
        """{column: values the CRM sent that could not be read} at its last full sync."""
        return dict(self.sync.unreadable or {})


def settings() -> Settings:
    """The app's settings; on a problem, the page shows every problem and stops (never a traceback)."""
    _through_app_navigation()
    try:
        return load_settings()
    except LeadsError as exc:
        st.error("**The dashboard is not configured correctly.**")
        for problem in getattr(exc, "problems", [str(exc)]):
            st.markdown(f"- {escape_markdown(problem)}")
        st.info("Fix the environment variables or `.streamlit/secrets.toml` (see README) and reload.")
        st.stop()
        raise  # unreachable: st.stop() ends the run


def _settings_key(s: Settings) -> tuple:
    token_hash = hashlib.sha256((s.token or "").encode()).hexdigest()[:16]
    return (s.source, s.base_url, token_hash, str(s.data_dir), s.demo_size, s.phone_region, s.crm_timezone)


@st.cache_resource(show_spinner=False)
def _source(_settings: Settings, key: tuple) -> Source:
    return connect_settings(_settings)


def source(s: Settings) -> Source:
    """The connected CRM for these settings, one per process (the demo CRM server starts here)."""
    try:
        return _source(s, _settings_key(s))
    except LeadsError as exc:
        show_error(exc)
        st.stop()
        raise
    except (OSError, sqlite3.Error) as exc:  # the demo CRM keeps its data in LEADS_DATA_DIR
        stop_for_data_dir(s, exc)
        raise


# -- the lead store, its sync and the pages' cached copy ---------------------------------------------------


@st.cache_resource(show_spinner=False)
def _lead_cache(store_url: str, crm: str, data_dir: str) -> LeadCache:
    from lib.lead_store import LeadStore

    return LeadCache(LeadStore(_store(store_url, data_dir).db), crm, Path(data_dir) / "cache")


def lead_cache(s: Settings) -> LeadCache:
    return _lead_cache(s.store_url, crm_key(s), str(s.data_dir))


def lead_store(s: Settings):
    """The synced leads, statuses, history and sync runs of the store (lib.lead_store.LeadStore)."""
    return lead_cache(s).store


_WORKERS: dict[tuple, Any] = {}
_WORKERS_LOCK = threading.Lock()


def sync_worker(s: Settings):
    """This process's background sync (lib.sync.SyncWorker) for these settings, started on first use; None
    when LEADS_SYNC_INTERVAL is off (another process syncs)."""
    if not s.sync_interval:
        return None
    key = (s.store_url, _settings_key(s), s.sync_interval, s.full_sync_at, s.timezone)
    with _WORKERS_LOCK:
        worker = _WORKERS.get(key)
        if worker is None or not worker.running:
            from lib.sync import SyncWorker

            # After each sync the worker also brings this process's copy of the leads up to date (and the
            # snapshot a restart starts from), so a page opened after a big sync does not wait for it.
            source_now = _source(s, _settings_key(s))
            worker = SyncWorker(
                s, lambda: source_now, interval=s.sync_interval, after_sync=lead_cache(s).leads
            )
            worker.start()
            _WORKERS[key] = worker
    return worker


def stop_workers() -> None:
    """Stop every background sync of this process (tests, and a settings change of the connection)."""
    with _WORKERS_LOCK:
        workers = list(_WORKERS.values())
        _WORKERS.clear()
    for worker in workers:
        worker.stop()


def load_data(s: Settings) -> LoadedData:
    """Statuses and leads from the store; a problem is shown on the page, which stops."""
    data = load_data_or_error(s)
    if data is None:
        st.stop()
    return data


def load_data_or_error(s: Settings) -> LoadedData | None:
    """Like load_data, but a problem is shown in place and None returned, so the page goes on (Settings must
    stay usable when the CRM fails). Pages never wait for the CRM: they read the store, which the
    background sync fills; only an empty store (the very first start) waits, showing the sync's progress."""
    from lib.ui.sync import failed_sync_warning, wait_for_sync

    # One slot in the same place on every run for the first sync's progress: a bar drawn on some runs only
    # would move every element after it, and the browser would briefly show the page twice.
    slot = st.empty()
    try:
        _source(s, _settings_key(s))  # connecting needs no CRM request (the demo CRM starts here)
        cache = lead_cache(s)
        worker = sync_worker(s)
        crm = crm_key(s)
        state = cache.store.state(crm)
        # a new worker syncs at once when the store has no sync yet; without one, wait only for a sync
        # service that is running now
        if state.last_success_at is None and (worker is not None or state.running):
            state = wait_for_sync(s, cache.store, crm, FIRST_SYNC_WAIT_SECONDS, first=True, slot=slot)
        if state.last_success_at is None:
            if state.last_error:
                show_error(state.last_error)
                if st.button("Try the sync again", icon="🔄", key="first_sync_retry"):
                    from lib.ui.sync import sync_now

                    sync_now(s)
                    st.rerun()
            elif worker is None:
                st.info(
                    "No sync has run yet and this app does not sync by itself (LEADS_SYNC_INTERVAL is off): "
                    "start `python -m lib.sync --every 5m` (see README, Running for a team).",
                    icon="⏳",
                )
            else:
                st.info("The first sync is still running. This page fills in when it is done: reload it.")
            return None
        leads = cache.leads()
        statuses = cache.store.statuses(crm)
    except LeadsError as exc:
        show_error(exc)
        return None
    except (OSError, sqlite3.Error, DatabaseError) as exc:
        st.error(data_dir_problem(s, exc), icon="⚠️")
        return None
    failed_sync_warning(s, state)
    return LoadedData(leads, statuses, state)


def history_data(s: Settings) -> tuple[pd.DataFrame, datetime | None]:
    """The status history of the connected CRM (lib.lead_store.LeadStore.history) and when it starts (the
    first sync), or None before any sync."""
    ls = lead_store(s)
    crm = crm_key(s)
    return ls.history(crm), ls.state(crm).history_since


def data_dir_problem(s: Settings, exc: BaseException) -> str:
    """What to fix when the dashboard's files in LEADS_DATA_DIR cannot be opened (never a traceback)."""
    if isinstance(exc, DatabaseError):  # the store at LEADS_STORE_URL (its message holds no password)
        return f"**The dashboard's store could not be used:** {escape_markdown(exc)}. Check LEADS_STORE_URL"
    folder = escape_markdown(s.data_dir)
    reason = escape_markdown(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
    if isinstance(exc, OSError) and exc.filename is None and not isinstance(exc, FileNotFoundError):
        # not about a file: e.g. the demo CRM found no free port on this machine
        return f"**The dashboard could not start:** {reason} (LEADS_DATA_DIR is {folder})"
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return (
            f"**The dashboard's database in LEADS_DATA_DIR ({folder}) is damaged** "
            f"({escape_markdown(exc)}): move the .sqlite3 file away and restart the dashboard"
        )
    return (
        f"**LEADS_DATA_DIR ({folder}) is not a writable folder:** {reason}. Set LEADS_DATA_DIR to a folder "
        "this user can write to and restart the dashboard"
    )


def stop_for_data_dir(s: Settings, exc: BaseException) -> None:
    st.error(data_dir_problem(s, exc), icon="⚠️")
    st.stop()


def refresh(s: Settings, wait: float = 15.0) -> None:
    """Ask for a sync now and wait quietly (at most `wait` seconds, drawing nothing, so the page's elements
    keep their places) for it to end, so the next read shows what just changed in the CRM (a created lead).
    Other users are not blocked: the sync runs in the background thread; a slow one finishes later."""
    from lib.ui.sync import sync_now

    sync_now(s, wait=wait, quiet=True)


def forget_connection() -> None:
    """After the connection settings change: drop the connected source, its sync and its cached leads."""
    stop_workers()
    _source.clear()
    _lead_cache.clear()


def show_error(exc: Exception | str) -> None:
    st.error(f"**Could not load the leads.** {escape_markdown(exc)}", icon="⚠️")


def today(tz: str) -> date:
    """Today in the display zone, from the dashboard's one clock (lib.clock)."""
    return clock.today(tz)


# -- user settings (funnel mapping, UTM aliases) ------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _store(store_url: str, data_dir: str):
    from lib.store import Store

    return Store.open(store_url)


def store(s: Settings):
    """The dashboard's own store (settings, outbox, synced leads...) at LEADS_STORE_URL (default SQLite in
    LEADS_DATA_DIR); when it cannot be opened the page says what to fix and stops."""
    try:
        return _store(s.store_url, str(s.data_dir))
    except (OSError, sqlite3.Error, DatabaseError) as exc:
        stop_for_data_dir(s, exc)
        raise


def user_aliases(s: Settings) -> dict | None:
    """The UTM aliases in force: the user's saved table, or None for the defaults."""
    return store(s).utm_aliases()


def catalogue(s: Settings, data: LoadedData) -> pd.DataFrame:
    """The status catalogue with the user's role and stage overrides applied."""
    from lib.store import apply_status_overrides

    return apply_status_overrides(data.statuses, store(s).status_overrides(crm_key(s)))
