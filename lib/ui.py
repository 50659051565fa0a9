"""Streamlit glue shared by the pages: settings, the connected source, cached data, sidebar filters.

The only module in lib that imports streamlit. Pages call these and hold no logic of their own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from lib.config import Settings, load_settings
from lib.crm import LeadsError, V2Source, connect_settings

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
    try:
        return load_settings()
    except LeadsError as exc:
        st.error("**The dashboard is not configured correctly.**")
        for problem in getattr(exc, "problems", [str(exc)]):
            st.markdown(f"- {problem}")
        st.info("Fix the environment variables or `.streamlit/secrets.toml` (see README) and reload.")
        st.stop()
        raise  # unreachable: st.stop() ends the run


def _settings_key(s: Settings) -> tuple:
    token_hash = hashlib.sha256((s.token or "").encode()).hexdigest()[:16]
    return (s.source, s.base_url, token_hash, str(s.data_dir), s.demo_size, s.phone_region)


@st.cache_resource(show_spinner=False)
def _source(_settings: Settings, key: tuple) -> V2Source:
    return connect_settings(_settings)


def source(s: Settings) -> V2Source:
    """The connected CRM for these settings, one per process (the demo CRM server starts here)."""
    try:
        return _source(s, _settings_key(s))
    except LeadsError as exc:
        show_error(exc)
        st.stop()
        raise


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=4)
def _load(key: tuple, _src: V2Source) -> LoadedData:
    # The progress bar is made and emptied inside the cached function: a cached rerun replays these few
    # messages and ends with an empty placeholder.
    bar = st.progress(0.0, text="Syncing leads from the CRM…")
    state = {"shown": 0}

    def progress(pages: int, leads: int) -> None:
        if pages >= state["shown"] * 1.25 + 1 and state["shown"] < PROGRESS_UPDATES:
            state["shown"] += 1
            done = min(0.95, 1 - 0.8 ** state["shown"])
            bar.progress(done, text=f"Syncing leads from the CRM… {pages:,} pages, {leads:,} leads")

    leads = _src.leads(progress=progress)
    statuses = _src.statuses()
    bar.empty()
    return LoadedData(leads, statuses, datetime.now(ZoneInfo("UTC")), dict(leads.attrs.get("unreadable", {})))


def load_data(s: Settings) -> LoadedData:
    """Statuses and leads, cached for CACHE_TTL_SECONDS; a CRM error is shown on the page, which stops."""
    src = source(s)
    try:
        return _load(_settings_key(s), src)
    except LeadsError as exc:
        show_error(exc)
        st.stop()
        raise


def refresh() -> None:
    """Forget the cached leads so the next run fetches them again."""
    _load.clear()


def show_error(exc: Exception) -> None:
    st.error(f"**Could not load the leads.** {exc}", icon="⚠️")


def today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def date_range_filter(tz: str, default_days: int = 30) -> tuple[date, date]:
    """A date range in the sidebar (whole days in the display time zone); defaults to the last 30 days."""
    end = today(tz)
    default = (end - timedelta(days=default_days - 1), end)
    picked = st.sidebar.date_input(
        "Created between",
        value=st.session_state.get("period", default),
        key="period_input",
        format="YYYY-MM-DD",
        help=f"Whole days in {tz}",
    )
    if isinstance(picked, tuple | list) and len(picked) == 2:
        start, end = picked
    elif isinstance(picked, tuple | list) and len(picked) == 1:
        start = end = picked[0]
    else:
        start = end = picked
    st.session_state["period"] = (start, end)
    return start, end


def sidebar_status(s: Settings, data: LoadedData) -> None:
    """Which CRM is connected, when it was synced, how many leads, and a refresh button."""
    with st.sidebar:
        if s.is_demo:
            st.badge("Demo data", icon="🧪", color="orange", help="No CRM is configured: this is sample data")
        synced = data.synced_at.astimezone(ZoneInfo(s.timezone)).strftime("%H:%M")
        st.caption(f"{len(data.leads):,} leads · synced at {synced} ({s.timezone})")
        if st.button("Refresh data", icon="🔄", help="Fetch the leads from the CRM again"):
            refresh()
            st.rerun()
    if data.unreadable:
        parts = ", ".join(f"{n:,} {col.replace('_', ' ')}" for col, n in data.unreadable.items())
        st.warning(f"Some values from the CRM could not be read and are left blank: {parts}.")


def percent(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1%}"


def change(now: int, before: int) -> str:
    """'+12 (+8.5%)' for a metric's delta; the percentage is left out when `before` is 0."""
    diff = now - before
    if before:
        return f"{diff:+,} ({diff / before:+.1%}) vs previous period"
    return f"{diff:+,} vs previous period"


def points_change(now: float | None, before: float | None) -> str | None:
    """The change of a rate in percentage points, e.g. '+1.2 pp'."""
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return None
    return f"{(now - before) * 100:+.1f} pp vs previous period"
