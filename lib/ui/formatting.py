"""How numbers read: percentages, changes against the previous period, rate columns."""

from __future__ import annotations

import pandas as pd
import streamlit as st


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
