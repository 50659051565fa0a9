"""Money on the page: the ad spend in the store, money and ROI table formats, and the goals' sentences."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from lib import analytics
from lib.ui.data import store

CURRENCY_SIGNS = {"ILS": "₪", "USD": "$", "EUR": "€", "GBP": "£"}
METRIC_LABELS = {"leads": "Leads", "customers": "Customers", "cost_per_lead": "Cost per lead"}


def currency(settings) -> str:
    """The account currency (LEADS_CURRENCY, ILS by default)."""
    return settings.currency


def money(value, code: str = "ILS", decimals: int = 2) -> str:
    """'₪1,234.50', '1,234.50 CHF'; '—' when there is no value."""
    if value is None or pd.isna(value):
        return "—"
    text = f"{float(value):,.{decimals}f}"
    sign = CURRENCY_SIGNS.get(code)
    return f"{sign}{text}" if sign else f"{text} {code}"


def spend(settings) -> pd.DataFrame | None:
    """Every ad spend row in the store (any date), or None while no spend has been entered."""
    frame = store(settings).spend_frame()
    return None if frame.empty else frame


def roi_columns(code: str) -> dict:
    """Column labels and formats of an ``analytics.roi_breakdown`` table."""
    cash = {"format": "accounting"}
    return {
        "spend": st.column_config.NumberColumn(f"Spend ({code})", **cash),
        "leads": st.column_config.NumberColumn("Leads"),
        "cost_per_lead": st.column_config.NumberColumn(
            f"Cost per lead ({code})",
            help="Spend ÷ leads; None where no spend was entered or no lead came",
            **cash,
        ),
        "customers": st.column_config.NumberColumn(
            "Customers", help="Leads of the period whose status is won"
        ),
        "cost_per_customer": st.column_config.NumberColumn(
            f"Cost per customer ({code})", help="Spend ÷ customers", **cash
        ),
        "revenue": st.column_config.NumberColumn(
            f"Revenue ({code})", help="Sum of the CRM's price of the customers", **cash
        ),
        "roas": st.column_config.NumberColumn(
            "ROAS", help="Return on ad spend: revenue ÷ spend (2.00 = twice the spend back)", format="%.2f"
        ),
    }


def markdown_text(value: object) -> str:
    """User or CRM text made literal inside Markdown (every Markdown and HTML sign escaped)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])", r"\\\1", str(value))


def _count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def goal_line(goal: pd.Series | dict, code: str = "ILS") -> tuple[str, bool | None]:
    """One goal's progress as a sentence (Markdown-safe) and whether it is on track (None: not known).

    "On track: 612 of 900 leads, 68% of the month gone"; "Behind: 10 of 40 customers from facebook, 68% of
    the month gone (27 expected by now)"; "On track: cost per lead ₪41.20, target at most ₪50.00"."""
    g = dict(goal)
    ok = None if pd.isna(g["on_track"]) else bool(g["on_track"])
    where = f" from {markdown_text(g['source'])}" if g["source"] else ""
    gone = f"{g['share_of_month_gone']:.0%} of the month gone"
    if g["metric"] == "cost_per_lead":
        target = markdown_text(money(g["target"], code))
        if ok is None:
            return (
                f"Not known yet: cost per lead{where} (target at most {target}): no spend or no lead yet.",
                None,
            )
        actual = markdown_text(money(g["actual"], code))
        return (
            f"{'On track' if ok else 'Behind'}: cost per lead{where} {actual}, target at most {target}.",
            ok,
        )
    noun = "lead" if g["metric"] == "leads" else "customer"
    text = f"{_count(g['actual'])} of {_count(g['target'])} {noun}s{where}, {gone}"
    if not ok:
        text += f" ({_count(round(g['expected_by_now'], 1))} expected by now)"
    return f"{'On track' if ok else 'Behind'}: {text}.", ok


def this_month(now: datetime, tz: str) -> str:
    """The current month ("YYYY-MM") in the display zone at ``now``."""
    return analytics.month_key(now.astimezone(ZoneInfo(tz)))


def month_title(month: str) -> str:
    """'2026-11' → 'November 2026'."""
    return pd.Timestamp(f"{month}-01").strftime("%B %Y")


def show_goal_lines(progress: pd.DataFrame, code: str) -> None:
    """Each goal's sentence: green when on track, red when behind, blue when not known yet."""
    for _, goal in progress.iterrows():
        text, ok = goal_line(goal, code)
        box = st.info if ok is None else st.success if ok else st.error
        box(text, icon="🎯" if ok is None else "✅" if ok else "⚠️")
