"""How numbers read: percentages, changes against the previous period, rate columns."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from lib.ui.filters import period_label


def count(n: int, word: str, plural: str | None = None) -> str:
    """'1 lead', '2 leads', '1,204 customers': a number with its noun in the right number."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def local_time(at, tz: str) -> str:
    """A UTC instant as "23 Nov 2026 14:00" in the display zone `tz`; "—" when there is none."""
    return "—" if at is None else at.astimezone(ZoneInfo(tz)).strftime("%d %b %Y %H:%M")


def percent(value: float | None) -> str:
    """The one percent format: one decimal, e.g. '12.0%'; '—' when there is no value."""
    if value is None or pd.isna(value):
        return "—"
    text = f"{value:.1%}"
    return "0.0%" if text == "-0.0%" else text


def change(now: int, before: int | None) -> str | None:
    """'+12 (+8.5%)': a metric's change against the previous period (no percentage when `before` is 0);
    '0' when nothing changed; None when there is nothing to compare with."""
    if before is None or now is None:
        return None
    diff = now - before
    if diff == 0:
        return "0"
    if before:
        return f"{diff:+,} ({diff / before:+.1%})"
    return f"{diff:+,}"


def points_change(now: float | None, before: float | None) -> str | None:
    """The change of a rate in percentage points, e.g. '+1.2 pp'; '0.0 pp' when it rounds to nothing."""
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return None
    text = f"{(now - before) * 100:+.1f} pp"
    return "0.0 pp" if text in ("+0.0 pp", "-0.0 pp") else text


def delta_look(delta: str | None, color: str = "normal") -> dict:
    """``st.metric`` keyword arguments for a delta from `change`/`points_change`: a zero change is grey
    and has no arrow (neutral), any other keeps `color` ("normal", "inverse" or "off")."""
    if delta is not None and not delta.startswith(("+", "-")):
        return {"delta_color": "off", "delta_arrow": "off"}
    return {"delta_color": color}


def _rate(label: str, help: str | None = None):
    # "percent" alone shows 12% next to 10.33% (0-2 decimals as needed); step 0.001 fixes one decimal,
    # "12.0%" and "10.3%", like percent() above. The values stay fractions 0..1 (the CSV keeps them so).
    return st.column_config.NumberColumn(label, format="percent", step=0.001, help=help)


_CI = (
    "With 95 % confidence the true rate lies between the low and high values; small groups have wide ranges."
)
RATE_COLUMNS = {
    "conversion_rate": _rate("Conversion rate", "Customers ÷ (leads − junk)."),
    "ci_low": _rate("Conversion: low (95%)", _CI),
    "ci_high": _rate("Conversion: high (95%)", _CI),
    "share": _rate("Share of leads"),
    "junk_rate": _rate("Junk rate", "Junk leads (duplicates, invalid) ÷ leads."),
    "junk_ci_low": _rate("Junk rate: low (95%)", _CI),
    "junk_ci_high": _rate("Junk rate: high (95%)", _CI),
}


# -- the Overview's period comparison, in words ------------------------------------------------------


def _days(n: int) -> str:
    return f"{n:,} day" if n == 1 else f"{n:,} days"


def _clock(instant: datetime, tz: str) -> str:
    return instant.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def comparison_note(kpi: dict, start: date, end: date, tz: str, now: datetime) -> str:
    """What the period is compared with, in one sentence (from ``analytics.period_kpis``)."""
    if kpi["prev_start"] is None:
        return f"All leads, {period_label(start, end)}: there is no earlier period to compare with."
    prev = period_label(kpi["prev_start"], kpi["prev_end"])
    if not kpi["partial"]:
        prev_days = (kpi["prev_end"] - kpi["prev_start"]).days + 1
        return (
            f"Leads created {period_label(start, end)} ({_days(kpi['days'])}), compared with {prev} "
            f"({_days(prev_days)})."
        )
    until = _clock(kpi["period_to"], tz)
    if kpi["days"] == 1 and kpi["shift_days"] == 1 and start == now.astimezone(ZoneInfo(tz)).date():
        return f"Today until {until} ({tz}), compared with yesterday ({prev}) until the same time."
    if kpi["prev_partial"]:
        return (
            f"Leads created {period_label(start, end)} until {until} ({tz}), compared with the same part of "
            f"the previous period: {prev} until {_clock(kpi['prev_to'], tz)}."
        )
    return (
        f"Leads created {period_label(start, end)} until {until} ({tz}), compared with the whole of {prev}."
    )


def conversion_help(kpi: dict) -> str:
    """The help text of the "Conversion rate" metric: what it counts and how the comparison is fair."""
    text = (
        "Of the leads created in the period, the share that are customers so far: customers ÷ (leads − junk)."
    )
    if kpi["shift_days"]:
        text += (
            " The previous period's leads are measured at the same age: each counts as a customer only if it"
            f" was won by this time {_days(kpi['shift_days'])} ago (by the CRM's closed date; a customer"
            " without one counts only if it was last updated by then)."
        )
    return text


def won_help(kpi: dict) -> str:
    """The help text of the "Became customers" metric."""
    return (
        "Leads that became customers in the period, whenever they came in, counted on the date they closed"
        " (the CRM's closed date; where the CRM gives none, the date the lead was last updated is the best"
        f" available stamp: {kpi['won_by_update']:,} of these {kpi['won']:,})."
    )


def conversion_note(kpi: dict) -> str:
    """How many of the period's leads are customers so far, and the previous period's at the same age."""
    n, conv = kpi["leads"], kpi["converted"]
    are = "is a customer" if conv == 1 else "are customers"
    text = (
        f"Of the {count(n, 'lead')} created in the period, {conv:,} {are} so far: "
        f"{percent(kpi['conversion_rate'])} of those that are not junk."
    )
    if kpi["leads_prev"] is not None:
        text += (
            f" The previous period's {count(kpi['leads_prev'], 'lead')} at the same age: "
            f"{count(kpi['converted_prev'], 'customer')}, {percent(kpi['conversion_rate_prev'])}."
        )
    return text


def maturing_note(kpi: dict) -> str | None:
    """Says that recent leads have not had time to convert yet (None when that does not matter)."""
    parts = []
    if kpi["maturing"] and kpi["days_to_win"]:
        parts.append(
            "Recent leads are still maturing: "
            f"{kpi['maturing']:,} of the period's {count(kpi['leads'], 'lead')}"
            f" {'is' if kpi['maturing'] == 1 else 'are'} under {_days(kpi['days_to_win'])} old (half of all"
            " customers are won within "
            f"{_days(kpi['days_to_win'])} of coming in)."
        )
    if kpi["unsure_prev"]:
        parts.append(
            f"For {kpi['unsure_prev']:,} of the previous period's customers the CRM gives no close date, so "
            "their conversion at the same age cannot be measured: the change is shown without colour."
        )
    return " ".join(parts) or None
