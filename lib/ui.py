"""Streamlit glue shared by the pages: settings, the connected source, cached data, sidebar filters.

The only module in lib that imports streamlit. Pages call these and hold no logic of their own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import streamlit as st

from lib import analytics, export
from lib.config import Settings, load_settings
from lib.crm import LeadsError, Source, connect_settings
from lib.schema import EXTRA_DIMENSIONS

CACHE_TTL_SECONDS = 15 * 60
EAGER_CSV_ROWS = 2_000
PROGRESS_UPDATES = 20  # progress updates per sync: each one is replayed on every cached rerun


@dataclass
class LoadedData:
    leads: pd.DataFrame
    statuses: pd.DataFrame
    synced_at: datetime
    unreadable: dict[str, int] = field(default_factory=dict)


NAVIGATION = {  # section -> pages (file, title, icon); the first page is the default
    "Managers": [
        ("pages/overview.py", "Overview", "📊"),
        ("pages/funnel.py", "Funnel", "🔻"),
        ("pages/statuses.py", "Statuses", "🏷️"),
    ],
    "Marketing": [("pages/marketing.py", "Marketing", "📣")],
    "Sales": [("pages/leads.py", "Leads", "📋"), ("pages/new_lead.py", "New lead", "➕")],
    "Admin": [("pages/settings.py", "Settings", "⚙️")],
}


def navigation():
    """The page config and the sectioned navigation (app.py runs the page it returns)."""
    st.set_page_config(page_title="Leads dashboard", page_icon="📈", layout="wide")
    first = NAVIGATION["Managers"][0][0]
    return st.navigation(
        {
            section: [
                st.Page(path, title=title, icon=icon, default=path == first) for path, title, icon in pages
            ]
            for section, pages in NAVIGATION.items()
        }
    )


def _through_app_navigation() -> None:
    """Give a page opened by a deep link the app's navigation and page config, even on the process's first
    visit.

    Streamlit decides once per process, on the first session, whether the app uses the old `pages/`
    directory navigation (it sees our pages/ folder) and keeps that until some run calls st.navigation. If
    the first visitor opens a link such as /funnel?preset=..., the page runs on its own, with a sidebar of
    file names and a narrow layout, and so does every deep link after it. Declaring the navigation here
    (st.navigation also turns that flag off) fixes this run and every later one. Only a session's first run
    does it: declaring the navigation again in a run that has widget state would reset that state (AppTest
    turns the flag back on before every run of its own).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state:
        navigation()
        st.rerun()  # widgets get their ids from the page: let the user's first input meet the final ones


def settings() -> Settings:
    """The app's settings; on a problem, the page shows every problem and stops (never a traceback)."""
    _through_app_navigation()
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


def forget_connection() -> None:
    """After the connection settings change: drop the connected source and its cached leads."""
    _source.clear()
    _load.clear()


def show_error(exc: Exception) -> None:
    st.error(f"**Could not load the leads.** {exc}", icon="⚠️")


def today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


# -- shared filters ---------------------------------------------------------------------------------
# The selection lives in st.session_state["filters"] (plain data, so it survives page switches, unlike
# widget state) and is mirrored into the URL, so a copied link opens the same view.

DEFAULT_PRESET = "Last 30 days"
_LIST_FILTERS = {  # URL parameter -> (LeadFilter field, sidebar label)
    "status": ("status_ids", "Status"),
    "owner": ("owners", "Owner"),
    "source": ("sources", "UTM source"),
    "medium": ("mediums", "UTM medium"),
    "campaign": ("campaigns", "UTM campaign"),
    "channel": ("channels", "Channel"),
}


def _slug(preset: str) -> str:
    return preset.lower().replace(" ", "-")


def _filter_choices(data: LoadedData, aliases: dict | None) -> dict[str, list[str]]:
    options = analytics.filter_options(data.leads, aliases)
    codes = data.leads["status_id"].cat.codes.to_numpy()
    carried = set(data.leads["status_id"].cat.categories[np.unique(codes[codes >= 0])])
    statuses = [
        sid
        for sid, active in zip(data.statuses["status_id"], data.statuses["is_active"], strict=True)
        if active or sid in carried
    ]
    return {
        "status": statuses,
        "owner": options["owners"],
        "source": options["sources"],
        "medium": options["mediums"],
        "campaign": options["campaigns"],
        "channel": list(analytics.CHANNELS),
    }


def filters_from_url(params: dict[str, list[str]], choices: dict[str, list[str]]) -> tuple[dict, list[str]]:
    """The filter selection a link asks for, and a notice for every value that was ignored."""
    chosen: dict = {"preset": DEFAULT_PRESET, "start": None, "end": None}
    notices: list[str] = []
    slugs = {_slug(p): p for p in analytics.DATE_PRESETS}
    if params.get("preset"):
        value = params["preset"][0]
        if value in slugs:
            chosen["preset"] = slugs[value]
        else:
            notices.append(f"date preset “{value}”")
    try:
        start = date.fromisoformat(params["from"][0]) if params.get("from") else None
        end = date.fromisoformat(params["to"][0]) if params.get("to") else None
        if start or end:
            start, end = start or end, end or start
            if start > end:
                start, end = end, start
            chosen.update(preset="Custom", start=start, end=end)
    except ValueError:
        notices.append(f"dates “{params.get('from', [''])[0]}” – “{params.get('to', [''])[0]}”")
    for param, (field_name, label) in _LIST_FILTERS.items():
        wanted = params.get(param, [])
        valid = [v for v in wanted if v in choices[param]]
        notices += [f"{label.lower()} “{v}”" for v in wanted if v not in choices[param]]
        chosen[field_name] = valid
    return chosen, notices


def _url_params(chosen: dict) -> dict[str, str | list[str]]:
    params: dict[str, str | list[str]] = {}
    if chosen["preset"] == "Custom" and chosen.get("start"):
        params["from"], params["to"] = chosen["start"].isoformat(), chosen["end"].isoformat()
    elif chosen["preset"] != DEFAULT_PRESET:
        params["preset"] = _slug(chosen["preset"])
    for param, (field_name, _) in _LIST_FILTERS.items():
        if chosen.get(field_name):
            params[param] = list(chosen[field_name])
    return params


def sidebar_filters(s: Settings, data: LoadedData, aliases: dict | None = None) -> analytics.LeadFilter:
    """The shared filters in the sidebar (the same on every page); returns the selection."""
    choices = _filter_choices(data, aliases)
    if "filters" not in st.session_state:
        params = {k: st.query_params.get_all(k) for k in st.query_params}
        st.session_state["filters"], notices = filters_from_url(params, choices)
        if notices:
            st.session_state["filter_notices"] = notices
    chosen = st.session_state["filters"]
    names = dict(zip(data.statuses["status_id"], data.statuses["status"], strict=True))
    tz_today = today(s.timezone)
    with st.sidebar:
        st.subheader("Filters")
        if notices := st.session_state.pop("filter_notices", None):
            st.warning("Ignored from the link (not valid here): " + ", ".join(notices), icon="🔗")
        preset = st.selectbox(
            "Created",
            analytics.DATE_PRESETS,
            index=analytics.DATE_PRESETS.index(chosen["preset"]),
            key="f_preset",
            help=f"Whole days in {s.timezone}",
        )
        if preset == "Custom":
            default = (chosen.get("start") or tz_today - timedelta(days=29), chosen.get("end") or tz_today)
            picked = st.date_input("Between", value=default, key="f_range", format="YYYY-MM-DD")
            picked = tuple(picked) if isinstance(picked, tuple | list) else (picked,)
            start, end = (picked + picked)[:2] if picked else default
        else:
            start, end = analytics.preset_range(preset, tz_today)
        chosen.update(preset=preset, start=start, end=end)
        for param, (field_name, label) in _LIST_FILTERS.items():
            options = choices[param]
            kept = [v for v in chosen.get(field_name, []) if v in options]
            chosen[field_name] = st.multiselect(
                label,
                options,
                default=kept,
                key=f"f_{param}",
                placeholder="All",
                format_func=(lambda sid: names.get(sid, sid)) if param == "status" else str,
            )
        if st.button("Clear filters", icon="🧹", disabled=_url_params(chosen) == {}):
            for key in [k for k in st.session_state if str(k).startswith("f_")] + ["filters"]:
                del st.session_state[key]
            st.query_params.clear()
            st.rerun()
    st.query_params.from_dict(_url_params(chosen))
    return analytics.LeadFilter(
        start=start,
        end=end,
        **{field_name: tuple(chosen[field_name]) for field_name, _ in _LIST_FILTERS.values()},
    )


def period_of(f: analytics.LeadFilter, leads: pd.DataFrame, tz: str) -> tuple[date, date]:
    """Concrete first and last day of the selection ("All time" runs from the first lead to today)."""
    end = f.end or today(tz)
    if f.start is not None:
        return f.start, end
    created = leads["created_at"].dropna()
    first = created.min().tz_convert(tz).date() if len(created) else end
    return min(first, end), end


def period_label(start: date, end: date) -> str:
    return (
        f"{start:%d %b %Y} – {end:%d %b %Y}" if start.year != end.year else f"{start:%d %b} – {end:%d %b %Y}"
    )


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
    """'+12 (+8.5%)': a metric's change against the previous period (no percentage when `before` is 0)."""
    diff = now - before
    if before:
        return f"{diff:+,} ({diff / before:+.1%})"
    return f"{diff:+,}"


def points_change(now: float | None, before: float | None) -> str | None:
    """The change of a rate in percentage points, e.g. '+1.2 pp'."""
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return None
    return f"{(now - before) * 100:+.1f} pp"


# -- user settings (funnel mapping, UTM aliases) ------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _store(data_dir: str):
    from lib.store import Store

    return Store(Path(data_dir))


def store(s: Settings):
    """The dashboard's own SQLite store (user settings and the outbox) under LEADS_DATA_DIR."""
    return _store(str(s.data_dir))


def user_aliases(s: Settings) -> dict | None:
    """The UTM aliases in force: the user's saved table, or None for the defaults."""
    return store(s).utm_aliases()


def catalogue(s: Settings, data: LoadedData) -> pd.DataFrame:
    """The status catalogue with the user's role and stage overrides applied."""
    from lib.store import apply_status_overrides, crm_key

    return apply_status_overrides(data.statuses, store(s).status_overrides(crm_key(s)))


# -- the context every dashboard page starts from --------------------------------------------------


@dataclass
class Page:
    settings: Settings
    data: LoadedData
    statuses: pd.DataFrame  # with the user's overrides
    aliases: dict | None
    filter: analytics.LeadFilter
    scoped: pd.DataFrame  # every filter but the dates (for comparisons with the previous period)
    leads: pd.DataFrame  # every filter applied
    start: date
    end: date

    @property
    def period(self) -> str:
        return period_label(self.start, self.end)


def page() -> Page:
    """Settings, data, sidebar filters and the filtered leads: the first line of every dashboard page."""
    s = settings()
    data = load_data(s)
    aliases = user_aliases(s)
    f = sidebar_filters(s, data, aliases)
    sidebar_status(s, data)
    scoped = analytics.filter_leads(data.leads, replace(f, start=None, end=None), s.timezone, aliases)
    leads = analytics.in_period(scoped, f.start, f.end, s.timezone)
    start, end = period_of(f, data.leads, s.timezone)
    return Page(s, data, catalogue(s, data), aliases, f, scoped, leads, start, end)


def table(
    frame: pd.DataFrame, name: str, *, column_config: dict | None = None, height: int | None = None
) -> None:
    """A table with a CSV download of exactly what it shows (formula-like cells neutralised)."""
    st.dataframe(frame, column_config=column_config, hide_index=True, height=height or "auto")
    # a small table's CSV is made now; a big one's only when the button is clicked (off the rerun)
    st.download_button(
        "Download CSV",
        export.to_csv(frame) if len(frame) <= EAGER_CSV_ROWS else lambda: export.to_csv(frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        icon="⬇️",
        key=f"csv_{name}",
    )


def extra_dimensions(leads: pd.DataFrame) -> dict[str, str]:
    """Label -> column of the connector-specific dimensions these leads carry (a Kommo pipeline, an
    aiployees call campaign, a LiveTex lead type or site), for the pages' "split by" choices."""
    return {
        label: col
        for col, label in EXTRA_DIMENSIONS.items()
        if col in leads.columns and leads[col].notna().any()
    }


def no_leads_notice(p: Page) -> bool:
    """Says so and returns True when the selection holds no leads."""
    if len(p.leads):
        return False
    if len(p.data.leads) == 0:
        st.info("The CRM has no leads yet. They will show here as soon as the first one arrives.")
    else:
        st.info(
            f"No leads match the filters for {p.period}. "
            "Widen the date range or clear filters in the sidebar."
        )
    return True


RATE_COLUMNS = {
    "conversion_rate": st.column_config.NumberColumn("Conversion rate", format="percent"),
    "ci_low": st.column_config.NumberColumn("CI low (95%)", format="percent"),
    "ci_high": st.column_config.NumberColumn("CI high (95%)", format="percent"),
    "share": st.column_config.NumberColumn("Share of leads", format="percent"),
    "junk_rate": st.column_config.NumberColumn("Junk rate", format="percent"),
}
LEAD_TABLE_COLUMNS = [
    "created_at", "name", "phone", "email", "status", "owner", "company",
    "utm_source", "utm_medium", "utm_campaign", "updated_at", "lead_id",
]  # fmt: skip


def leads_table(leads: pd.DataFrame, tz: str, name: str, *, extra: list[str] | None = None) -> pd.DataFrame:
    """Leads as a table: times in the display zone, phone and e-mail as text, status by name; returns
    what it showed."""
    extra = [*(extra or []), *extra_dimensions(leads).values()]
    columns = [c for c in LEAD_TABLE_COLUMNS + extra if c in leads.columns]
    shown = leads[columns]
    shown = shown.assign(
        **{c: shown[c].dt.tz_convert(tz) for c in ("created_at", "updated_at") if c in columns}
    )
    config = {
        "created_at": st.column_config.DatetimeColumn(f"Created ({tz})", format="YYYY-MM-DD HH:mm"),
        "updated_at": st.column_config.DatetimeColumn(f"Updated ({tz})", format="YYYY-MM-DD HH:mm"),
        "name": st.column_config.TextColumn("Name"),
        "phone": st.column_config.TextColumn("Phone"),
        "email": st.column_config.TextColumn("E-mail"),
        "status": st.column_config.TextColumn("Status"),
        "owner": st.column_config.TextColumn("Owner"),
        "company": st.column_config.TextColumn("Company"),
        "lead_id": st.column_config.TextColumn("Lead id"),
        "days_idle": st.column_config.NumberColumn("Days idle"),
        **{col: st.column_config.TextColumn(label) for col, label in EXTRA_DIMENSIONS.items()},
    }
    table(shown, name, column_config=config)
    return shown
