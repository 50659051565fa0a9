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


RATE_COLUMNS = {
    "conversion_rate": st.column_config.NumberColumn("Conversion rate", format="percent"),
    "ci_low": st.column_config.NumberColumn("CI low (95%)", format="percent"),
    "ci_high": st.column_config.NumberColumn("CI high (95%)", format="percent"),
    "share": st.column_config.NumberColumn("Share of leads", format="percent"),
    "junk_rate": st.column_config.NumberColumn("Junk rate", format="percent"),
}
