"""ROI: ad spend against the leads, customers and revenue it brought, per marketing group.

The spend frame (``lib.store``'s ``spend_frame()``): ``date`` (datetime64, naive: the day in the display
zone), ``utm_source``, ``utm_medium``, ``utm_campaign`` (raw strings, NA when empty), ``spend`` (float, the
account currency). Spend and leads are matched on the same normalised UTM values (``normalize_utm`` with the
same aliases), so spend imported as "Facebook" meets leads tagged "fb".

What the numbers mean (the contract of ``roi_breakdown``):
- ``leads``: leads created in the period passed in; ``customers``: those of them whose status now is won
  (``utm_breakdown``'s ``won``); ``revenue``: the sum of ``price`` of those customers. Revenue is NaN
  everywhere when none of the leads passed in has a price (the CRM keeps no prices: unknown, not 0); when
  some have, a customer without a price adds 0.
- ``cost_per_lead = spend / leads``, ``cost_per_customer = spend / customers``, ``roas = revenue / spend``:
  NaN where the base is 0, and the two costs also NaN for a group with no spend row (its cost is not known:
  the spend was not imported, or it is organic).
- Spend has no ``utm_term``/``utm_content`` (nor owner or custom fields): grouped by one of those, all the
  spend falls in ``(none)``. Grouped by ``channel``, a spend row's channel is ``channel_of`` its source,
  medium and campaign (no referrer).
- Data quality: ``no_spend`` flags groups with leads but no spend row, ``no_leads`` groups with spend but no
  lead; ``unmatched_spend`` lists the spend rows behind the latter, raw values and all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

from lib.analytics._base import _WON, NONE, _lead_roles, _ns
from lib.analytics.channels import channel_of
from lib.analytics.dimensions import _dense_key, _dimension, _unravel
from lib.analytics.periods import _bucket_starts, _check_freq, _data_dates, in_period
from lib.analytics.timeseries import leads_over_time
from lib.analytics.utm import normalize_utm

SPEND_FIELDS = ("utm_source", "utm_medium", "utm_campaign")
ROI_METRICS = ("spend", "leads", "cost_per_lead", "customers", "cost_per_customer", "revenue", "roas")


def empty_spend() -> pd.DataFrame:
    """A spend frame with no rows and the contract's columns and dtypes."""
    return pd.DataFrame(
        {
            "date": pd.Series([], dtype="datetime64[ns]"),
            **{f: pd.Series([], dtype="string") for f in SPEND_FIELDS},
            "spend": pd.Series([], dtype="float64"),
        }
    )


def spend_in_period(spend: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    """Spend rows whose day is within ``start..end`` (inclusive; either bound may be None)."""
    if spend is None or spend.empty:
        return empty_spend() if spend is None else spend
    day = pd.to_datetime(spend["date"]).dt.normalize()
    keep = pd.Series(True, index=spend.index)
    if start is not None:
        keep &= day >= pd.Timestamp(start)
    if end is not None:
        keep &= day <= pd.Timestamp(end)
    return spend[keep]


def filter_spend(spend: pd.DataFrame | None, f, aliases: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The spend rows a sidebar ``LeadFilter`` selects: its UTM source/medium/campaign and channel lists,
    matched on cleaned values as for leads (dates, statuses and owners do not apply to spend)."""
    spend = empty_spend() if spend is None else spend
    keep = np.ones(len(spend), dtype=bool)
    for field, wanted in (
        ("utm_source", f.sources),
        ("utm_medium", f.mediums),
        ("utm_campaign", f.campaigns),
    ):
        if wanted:
            keep &= _spend_labels(spend, (field,), aliases)[field].isin(list(wanted)).to_numpy()
    if f.channels:
        keep &= _spend_labels(spend, ("channel",), aliases)["channel"].isin(list(f.channels)).to_numpy()
    return spend if keep.all() else spend[keep]


def _spend_labels(spend: pd.DataFrame, by: Sequence[str], aliases: Mapping | None) -> pd.DataFrame:
    """Per spend row its label in each ``by`` dimension, normalised as the leads' are."""
    out = {}
    for b in by:
        if b in SPEND_FIELDS:
            out[b] = normalize_utm(spend[b], aliases).astype(object).to_numpy()
        elif b == "channel":
            keys = spend[list(SPEND_FIELDS)].astype(object).where(spend[list(SPEND_FIELDS)].notna(), None)
            triples = list(zip(*(keys[f] for f in SPEND_FIELDS), strict=True))
            memo = {t: channel_of(*t, aliases=aliases) for t in set(triples)}
            out[b] = np.array([memo[t] for t in triples], dtype=object)
        else:  # utm_term, utm_content, owner, custom fields: spend is not split by them
            out[b] = np.full(len(spend), NONE, dtype=object)
    return pd.DataFrame(out, index=spend.index)


def _lead_groups(
    leads: pd.DataFrame, statuses: pd.DataFrame, by: Sequence[str], aliases: Mapping | None, prices: bool
) -> pd.DataFrame:
    """Leads, customers and revenue per ``by`` group (only groups with leads), on integer codes."""
    dims = [_dimension(leads, b, statuses, aliases) for b in by]
    key, sizes = _dense_key(dims)
    groups, inverse = np.unique(key, return_inverse=True)
    won = _lead_roles(leads, statuses) == _WON
    price = (
        leads["price"].to_numpy(dtype=float, na_value=np.nan) if "price" in leads else np.zeros(len(leads))
    )
    k = len(groups)
    out = {
        b: np.asarray(labels, dtype=object)[part] if len(labels) else np.empty(0, dtype=object)
        for (b, (_, labels)), part in zip(zip(by, dims, strict=True), _unravel(groups, sizes), strict=True)
    }
    out.update(
        leads=np.bincount(inverse, minlength=k).astype(np.int64),
        customers=np.bincount(inverse, weights=won, minlength=k).astype(np.int64),
        revenue=np.bincount(inverse, weights=np.where(won, np.nan_to_num(price), 0.0), minlength=k)
        if prices
        else np.full(k, np.nan),
    )
    return pd.DataFrame(out)


def roi_breakdown(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    spend: pd.DataFrame | None,
    by: Sequence[str] | str = ("utm_source",),
    aliases: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Spend against leads, customers and revenue per ``by`` group (UTM fields normalised with ``aliases``,
    ``"channel"``, or any lead column); see the module's docstring for what each number means.

    ``leads`` and ``spend`` should cover the same period (``in_period`` / ``spend_in_period``). Returns the
    ``by`` columns, ``spend`` (float, 0 where no spend row), ``leads``, ``cost_per_lead``, ``customers``,
    ``cost_per_customer``, ``revenue``, ``roas``, then ``no_spend`` and ``no_leads`` (bool flags); one row
    per group that has leads or spend, most spend first, then most leads, then by the ``by`` values."""
    by = (by,) if isinstance(by, str) else tuple(by)
    if not by:
        raise ValueError("by needs at least one column")
    spend = empty_spend() if spend is None else spend
    prices = "price" in leads and bool(leads["price"].notna().any())
    groups = _lead_groups(leads, statuses, by, aliases, prices)
    money = pd.to_numeric(spend["spend"], errors="coerce").fillna(0.0).astype(float)
    spent = _spend_labels(spend, by, aliases).assign(spend=money.to_numpy(), _rows=1)
    spent = spent.groupby(list(by), sort=False).sum().reset_index()
    df = groups.merge(spent, on=list(by), how="outer")
    df["no_leads"] = df["leads"].isna().to_numpy()
    df["no_spend"] = df["_rows"].isna().to_numpy()
    df["leads"] = df["leads"].fillna(0).astype(np.int64)
    df["customers"] = df["customers"].fillna(0).astype(np.int64)
    df["revenue"] = df["revenue"].astype(float).fillna(0.0) if prices else np.nan
    df["spend"] = df["spend"].astype(float).fillna(0.0)
    s, n, c = df["spend"].to_numpy(), df["leads"].to_numpy(), df["customers"].to_numpy()
    known = ~df["no_spend"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        df["cost_per_lead"] = np.where(known & (n > 0), s / n, np.nan)
        df["cost_per_customer"] = np.where(known & (c > 0), s / c, np.nan)
        df["roas"] = np.where(s > 0, df["revenue"].to_numpy(dtype=float) / s, np.nan)
    df = df.sort_values(["spend", "leads", *by], ascending=[False, False, *[True] * len(by)], kind="stable")
    return df[[*by, *ROI_METRICS, "no_spend", "no_leads"]].reset_index(drop=True)


def unmatched_spend(
    leads: pd.DataFrame,
    spend: pd.DataFrame | None,
    by: Sequence[str] | str = ("utm_source",),
    aliases: Mapping[str, str] | None = None,
    statuses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Spend that matches no lead: the spend rows whose ``by`` group (cleaned as in ``roi_breakdown``) has no
    lead in ``leads``, one row per group and raw spelling. Columns: the ``by`` columns (cleaned),
    ``raw_values`` ("source / medium / campaign" as imported, ``(none)`` for empty), ``days`` (distinct
    days) and ``spend``; most spend first. Empty when every spend row meets a lead."""
    by = (by,) if isinstance(by, str) else tuple(by)
    cols = [*by, "raw_values", "days", "spend"]
    if spend is None or spend.empty:
        return pd.DataFrame({c: pd.Series([], dtype="float64" if c == "spend" else object) for c in cols})
    labels = _spend_labels(spend, by, aliases)
    have: set = set()
    if len(leads):
        lead_cols = [
            np.asarray(lab, dtype=object)[codes]
            for codes, lab in (_dimension(leads, b, statuses, aliases) for b in by)
        ]
        have = set(zip(*lead_cols, strict=True))
    keys = list(zip(*(labels[b] for b in by), strict=True))
    orphan = np.array([k not in have for k in keys], dtype=bool)
    if not orphan.any():
        return pd.DataFrame({c: pd.Series([], dtype="float64" if c == "spend" else object) for c in cols})
    raw = spend[list(SPEND_FIELDS)].astype(object).where(spend[list(SPEND_FIELDS)].notna(), NONE)
    rows = labels[orphan].assign(
        raw_values=raw[orphan].astype(str).agg(" / ".join, axis=1),
        _day=pd.to_datetime(spend["date"]).to_numpy()[orphan],
        spend=pd.to_numeric(spend["spend"], errors="coerce").fillna(0.0).to_numpy(dtype=float)[orphan],
    )
    out = rows.groupby([*by, "raw_values"], sort=False).agg(days=("_day", "nunique"), spend=("spend", "sum"))
    out = out.reset_index().sort_values(
        ["spend", *by, "raw_values"], ascending=[False, *[True] * (len(by) + 1)]
    )
    return out[cols].reset_index(drop=True)


def spend_over_time(
    spend: pd.DataFrame | None,
    leads: pd.DataFrame,
    freq: str = "W",
    tz: str = "Asia/Jerusalem",
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """Spend and new leads per day (``"D"``), week (``"W"``, Sunday start) or month (``"M"``), over
    ``start..end`` (default: the days of the spend and the leads). Returns ``period`` (tz-naive Timestamp:
    the bucket's first day), ``spend`` (float), ``leads`` (int64), ``cost_per_lead`` (NaN where no lead or
    no spend), every bucket of the range present."""
    f = _check_freq(freq)
    spend = empty_spend() if spend is None else spend
    days = pd.to_datetime(spend["date"]).dt.normalize()
    if start is None or end is None:
        span = _data_dates(_ns(leads["created_at"]), tz) if len(leads) else None
        firsts = [d for d in (span[0] if span else None, days.min().date() if len(days) else None) if d]
        lasts = [d for d in (span[1] if span else None, days.max().date() if len(days) else None) if d]
        if not firsts:
            return pd.DataFrame(
                {"period": pd.DatetimeIndex([]), "spend": [], "leads": [], "cost_per_lead": []}
            )
        start = start or min(firsts)
        end = end or max(lasts)
    periods, day_bucket = _bucket_starts(start, end, f)
    counts = leads_over_time(leads, f, tz, start=start, end=end)
    offset = (days - pd.Timestamp(start)).dt.days.to_numpy()
    inside = (offset >= 0) & (offset < len(day_bucket))
    money = pd.to_numeric(spend["spend"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    totals = np.bincount(day_bucket[offset[inside]], weights=money[inside], minlength=len(periods))
    n = counts["leads"].to_numpy(dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        cpl = np.where((n > 0) & (totals > 0), totals / n, np.nan)
    return pd.DataFrame({"period": periods, "spend": totals.astype(float), "leads": n, "cost_per_lead": cpl})


def _period_roi(scoped, statuses, spend, start, end, tz, by, aliases) -> pd.DataFrame:
    leads = in_period(scoped, start, end, tz)
    return roi_breakdown(leads, statuses, spend_in_period(spend, start, end), by, aliases)


def cost_per_lead_change(
    scoped: pd.DataFrame,
    statuses: pd.DataFrame,
    spend: pd.DataFrame | None,
    start: date,
    end: date,
    tz: str,
    by: str = "utm_source",
    aliases: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Cost per lead per ``by`` group in ``start..end`` against the period of the same number of days just
    before (whole days in ``tz``; ``scoped`` holds the leads of every date, other filters applied). Spend is
    entered per day, so a period ending today compares today's leads so far with its whole day's spend.

    Returns ``by``, ``spend``, ``leads``, ``cost_per_lead``, ``spend_prev``, ``leads_prev``,
    ``cost_per_lead_prev``, ``change`` (relative: ``cost_per_lead / cost_per_lead_prev - 1``, NaN when either
    is unknown); only groups with spend in the period, most spend first."""
    length = (end - start).days + 1
    prev_start, prev_end = start - timedelta(days=length), start - timedelta(days=1)
    spend = empty_spend() if spend is None else spend
    now = _period_roi(scoped, statuses, spend, start, end, tz, by, aliases)
    before = _period_roi(scoped, statuses, spend, prev_start, prev_end, tz, by, aliases)
    now = now[now["spend"] > 0][[by, "spend", "leads", "cost_per_lead"]]
    before = before[[by, "spend", "leads", "cost_per_lead"]].rename(
        columns={"spend": "spend_prev", "leads": "leads_prev", "cost_per_lead": "cost_per_lead_prev"}
    )
    df = now.merge(before, on=by, how="left")
    df["spend_prev"] = df["spend_prev"].fillna(0.0)
    df["leads_prev"] = df["leads_prev"].fillna(0).astype(np.int64)
    df["change"] = df["cost_per_lead"] / df["cost_per_lead_prev"] - 1
    return df.reset_index(drop=True)
