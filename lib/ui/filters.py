"""The sidebar: shared filters (kept in session state, mirrored into the URL) and the data status."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import streamlit as st

from lib import analytics
from lib.config import Settings
from lib.ui.data import LoadedData, today

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


_URL_KEYS = ("preset", "from", "to", *_LIST_FILTERS)  # the URL parameters the sidebar owns


def _sync_url(params: dict[str, str | list[str]]) -> None:
    """Write the sidebar's parameters into the URL, one key at a time: the page's own choices are bound to
    the URL by Streamlit (``bind="query-params"``), and replacing the whole query string would drop them."""
    for key in _URL_KEYS:
        wanted = params.get(key)
        if wanted is None or wanted == []:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get_all(key) != ([wanted] if isinstance(wanted, str) else list(wanted)):
            st.query_params[key] = wanted


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
            _sync_url({})
            st.rerun()
    _sync_url(_url_params(chosen))
    return analytics.LeadFilter(
        start=start,
        end=end,
        **{field_name: tuple(chosen[field_name]) for field_name, _ in _LIST_FILTERS.values()},
    )


def chosen_preset() -> str:
    """The date preset chosen in the sidebar ("Custom" for picked dates)."""
    return st.session_state.get("filters", {}).get("preset", DEFAULT_PRESET)


def period_of(f: analytics.LeadFilter, leads: pd.DataFrame, tz: str) -> tuple[date, date]:
    """Concrete first and last day of the selection ("All time" runs from the first lead to today)."""
    end = f.end or today(tz)
    if f.start is not None:
        return f.start, end
    created = leads["created_at"].dropna()
    first = created.min().tz_convert(tz).date() if len(created) else end
    return min(first, end), end


def period_label(start: date, end: date) -> str:
    if start == end:  # one day: "23 Nov 2026", not "23 Nov – 23 Nov 2026"
        return f"{start:%d %b %Y}"
    return (
        f"{start:%d %b %Y} – {end:%d %b %Y}" if start.year != end.year else f"{start:%d %b} – {end:%d %b %Y}"
    )


def sidebar_status(s: Settings, data: LoadedData) -> None:
    """Which CRM is connected, how fresh its data is ("Synced 2 min ago"), how many leads, and Sync now."""
    from lib.ui.sync import sidebar_sync

    with st.sidebar:
        if s.is_demo:
            st.badge("Demo data", icon="🧪", color="orange", help="No CRM is configured: this is sample data")
        sidebar_sync(s, data)
    if data.unreadable:
        parts = ", ".join(f"{n:,} {col.replace('_', ' ')}" for col, n in data.unreadable.items())
        st.warning(
            f"Some values from the CRM could not be read at its last full sync and are left blank: {parts}."
        )
