"""Monthly goals: targets for leads, customers and cost per lead (in total or for one source) and the pace
to them.

A goal is a dict ``{"month": "2026-11", "metric": "leads" | "customers" | "cost_per_lead", "source": "" (all
sources) or a UTM source, "target": number}``. The month is a calendar month in the display zone.

- ``leads``: leads created in the month (in the display zone); ``customers``: those of them whose status
  now is won (the month's cohort, as everywhere else in the dashboard); ``cost_per_lead``: the month's
  spend (rows dated in the month) ÷ its leads.
- A source goal counts the leads and spend whose source cleans (``normalize_utm`` with the aliases) to the
  goal's source cleaned the same way, so a goal for "Facebook" counts leads tagged "fb".
- Pace: ``share_of_month_gone`` = the time elapsed since the month's first midnight ÷ the month's length,
  at ``now`` (0 before the month, 1 after); ``expected_by_now = target × share_of_month_gone`` for counts.
  A count goal is on track when ``actual >= expected_by_now``; a cost per lead goal when the cost so far is
  at or below the target (NA, unknown, while the month has no spend or no lead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd

from lib.analytics._base import _WON, _lead_roles
from lib.analytics.periods import _midnight_utc, in_period
from lib.analytics.roi import empty_spend, spend_in_period
from lib.analytics.utm import normalize_utm, normalize_value

GOAL_METRICS = ("leads", "customers", "cost_per_lead")
GOAL_COLUMNS = (
    "month", "metric", "source", "target", "actual", "share_of_target", "share_of_month_gone",
    "expected_by_now", "on_track",
)  # fmt: skip


def month_key(value) -> str:
    """A month as "YYYY-MM" from "2026-11", "2026-11-05", a date or a Timestamp; ValueError otherwise."""
    if isinstance(value, (date, datetime, pd.Timestamp)):
        return f"{value.year:04d}-{value.month:02d}"
    text = str(value).strip()
    stamp = pd.to_datetime(text[:7] + "-01" if len(text) >= 7 else text, format="%Y-%m-%d", errors="coerce")
    if pd.isna(stamp):
        raise ValueError(f"a month reads YYYY-MM, e.g. 2026-11 (got {value!r})")
    return f"{stamp.year:04d}-{stamp.month:02d}"


def month_bounds(month) -> tuple[date, date]:
    """First and last day of a month ("YYYY-MM" or any date in it)."""
    first = pd.Timestamp(month_key(month) + "-01")
    last = first + pd.offsets.MonthEnd(0)
    return first.date(), last.date()


def share_of_month_gone(month, now: datetime, tz: str) -> float:
    """How much of the month (in ``tz``) has passed at ``now``: 0..1, by the clock (a 30-day month at noon on
    the 21st: 20.5 / 30)."""
    first, last = month_bounds(month)
    begin = _midnight_utc(first, tz)
    finish = _midnight_utc(last + pd.Timedelta(days=1), tz)
    at = pd.Timestamp(now).tz_convert("UTC").as_unit("ns").value
    return float(min(1.0, max(0.0, (at - begin) / (finish - begin))))


def clean_goals(goals: Sequence[Mapping]) -> list[dict]:
    """Goals as saved: month "YYYY-MM", a known metric, source stripped ("" = all), target a number >= 0;
    rows missing a month, metric or target are dropped. ValueError names the first bad value."""
    out = []
    for g in goals:
        month, metric, target = g.get("month"), g.get("metric"), g.get("target")
        if all(v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "" for v in
               (month, metric, target)):  # fmt: skip
            continue
        if metric not in GOAL_METRICS:
            raise ValueError(f"a goal's metric is one of {', '.join(GOAL_METRICS)} (got {metric!r})")
        if target is None or (isinstance(target, float) and np.isnan(target)) or str(target).strip() == "":
            raise ValueError(f"every goal needs a target (the {metric} goal for {month} has none)")
        try:
            number = float(target)
        except (TypeError, ValueError):
            raise ValueError(f"a goal's target is a number (got {target!r})") from None
        if not np.isfinite(number) or number < 0:
            raise ValueError(f"a goal's target is a number of 0 or more (got {target!r})")
        source = g.get("source")
        source = (
            "" if source is None or (isinstance(source, float) and np.isnan(source)) else str(source).strip()
        )
        out.append({"month": month_key(month), "metric": metric, "source": source, "target": number})
    return out


def _readable(goals: Sequence[Mapping]) -> list[dict]:
    """The goals that pass ``clean_goals``, cleaned; a broken one is left out rather than break a page."""
    out = []
    for g in goals:
        try:
            out += clean_goals([g])
        except ValueError:
            continue
    return out


def goal_progress(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    spend: pd.DataFrame | None,
    goals: Sequence[Mapping],
    month,
    now: datetime,
    tz: str,
    aliases: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Progress of the goals set for ``month`` at ``now`` (see the module's docstring): one row per goal, in
    the order given, with ``GOAL_COLUMNS``. ``leads`` are all leads (any date; the month is cut here),
    ``spend`` the spend frame (any dates). ``source`` is the cleaned source ("" for all sources).
    A goal that ``clean_goals`` refuses is left out."""
    key = month_key(month)
    mine = [g for g in _readable(goals) if g["month"] == key]
    if not mine:
        return pd.DataFrame({c: [] for c in GOAL_COLUMNS})
    first, last = month_bounds(key)
    gone = share_of_month_gone(key, now, tz)
    in_month = in_period(leads, first, last, tz)
    sources = normalize_utm(in_month["utm_source"], aliases).astype(object).to_numpy()
    won = _lead_roles(in_month, statuses) == _WON
    spent = spend_in_period(empty_spend() if spend is None else spend, first, last)
    spent_sources = normalize_utm(spent["utm_source"], aliases).astype(object).to_numpy()
    money = pd.to_numeric(spent["spend"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    rows = []
    for g in mine:
        source = normalize_value(g["source"], aliases) if g["source"] else ""
        pick = sources == source if source else np.ones(len(sources), dtype=bool)
        n = int(pick.sum())
        target = g["target"]
        on_track: bool | None
        if g["metric"] == "cost_per_lead":
            pick_spend = spent_sources == source if source else np.ones(len(spent_sources), dtype=bool)
            cost = float(money[pick_spend].sum())
            has_spend = bool(pick_spend.any())
            actual = cost / n if n and has_spend else np.nan
            expected = target
            on_track = None if np.isnan(actual) else bool(actual <= target)
        else:
            actual = float(n if g["metric"] == "leads" else int((pick & won).sum()))
            expected = target * gone
            on_track = bool(actual >= expected)
        rows.append(
            {
                "month": key,
                "metric": g["metric"],
                "source": source,
                "target": target,
                "actual": actual,
                "share_of_target": actual / target if target else np.nan,
                "share_of_month_gone": gone,
                "expected_by_now": expected,
                "on_track": on_track,
            }
        )
    df = pd.DataFrame(rows, columns=list(GOAL_COLUMNS))
    df["on_track"] = df["on_track"].astype("boolean")
    return df
