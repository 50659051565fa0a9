"""Loading: settings, the connected source, the cached leads and statuses, the user's store."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from lib import clock
from lib.config import Settings, load_settings
from lib.crm import LeadsError, Source, connect_settings
from lib.text import escape_markdown
from lib.ui.navigation import _through_app_navigation

CACHE_TTL_SECONDS = 15 * 60
PROGRESS_UPDATES = 20  # progress updates per sync: each one is replayed on every cached rerun


@dataclass
class LoadedData:
    leads: pd.DataFrame
    statuses: pd.DataFrame
    synced_at: datetime
    unreadable: dict[str, int] = field(default_factory=dict)


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
    return (s.source, s.base_url, token_hash, str(s.data_dir), s.demo_size, s.phone_region)


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


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=4)
def _load(key: tuple, _src: Source) -> LoadedData:
    # The progress bar is made and emptied inside the cached function: a cached rerun replays these few
    # messages and ends with an empty placeholder.
    bar = st.progress(0.0, text="Syncing leads from the CRM…")
    state = {"shown": 0}

    def progress(pages: int, leads: int) -> None:
        if pages >= state["shown"] * 1.25 + 1 and state["shown"] < PROGRESS_UPDATES:
            state["shown"] += 1
            done = min(0.95, 1 - 0.8 ** state["shown"])
            bar.progress(done, text=f"Syncing leads from the CRM… {pages:,} pages, {leads:,} leads")

    try:
        leads = _src.leads(progress=progress)
        statuses = _src.statuses()
    finally:
        bar.empty()  # a failed sync leaves no stuck bar above its error
    return LoadedData(leads, statuses, clock.now(), dict(leads.attrs.get("unreadable", {})))


def load_data(s: Settings) -> LoadedData:
    """Statuses and leads, cached for CACHE_TTL_SECONDS; a CRM error is shown on the page, which stops."""
    data = load_data_or_error(s)
    if data is None:
        st.stop()
    return data


def load_data_or_error(s: Settings) -> LoadedData | None:
    """Like load_data, but a CRM problem is shown in place and None returned, so the page goes on (Settings
    must stay usable when the CRM fails)."""
    try:
        return _load(_settings_key(s), _source(s, _settings_key(s)))
    except LeadsError as exc:
        show_error(exc)
    except (OSError, sqlite3.Error) as exc:
        st.error(data_dir_problem(s, exc), icon="⚠️")
    return None


def data_dir_problem(s: Settings, exc: BaseException) -> str:
    """What to fix when the dashboard's files in LEADS_DATA_DIR cannot be opened (never a traceback)."""
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


def refresh() -> None:
    """Forget the cached leads so the next run fetches them again."""
    _load.clear()


def forget_connection() -> None:
    """After the connection settings change: drop the connected source and its cached leads."""
    _source.clear()
    _load.clear()


def show_error(exc: Exception) -> None:
    st.error(f"**Could not load the leads.** {escape_markdown(exc)}", icon="⚠️")


def today(tz: str) -> date:
    """Today in the display zone, from the dashboard's one clock (lib.clock)."""
    return clock.today(tz)


# -- user settings (funnel mapping, UTM aliases) ------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _store(data_dir: str):
    from lib.store import Store

    return Store(Path(data_dir))


def store(s: Settings):
    """The dashboard's own SQLite store (user settings and the outbox) under LEADS_DATA_DIR; when it cannot
    be opened the page says what to fix and stops."""
    try:
        return _store(str(s.data_dir))
    except (OSError, sqlite3.Error) as exc:
        stop_for_data_dir(s, exc)
        raise


def user_aliases(s: Settings) -> dict | None:
    """The UTM aliases in force: the user's saved table, or None for the defaults."""
    return store(s).utm_aliases()


def catalogue(s: Settings, data: LoadedData) -> pd.DataFrame:
    """The status catalogue with the user's role and stage overrides applied."""
    from lib.store import apply_status_overrides, crm_key

    return apply_status_overrides(data.statuses, store(s).status_overrides(crm_key(s)))
