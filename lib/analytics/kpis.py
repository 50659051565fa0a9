"""Headline numbers for a period, compared fairly with the previous one: leads, customers, conversion, junk.

Fair means: both periods are cut at the same point (a period still running, e.g. "today until 08:50", is
compared with "yesterday until 08:50"), customers are counted on the day they were won, and conversion of
the previous period's leads is measured as it stood at that cut, so both cohorts had the same time to
convert."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from lib.analytics._base import _DAY_NS, _JUNK, _NAT, _WON, _lead_roles, _ns
from lib.analytics.periods import _local_date, _midnight_utc


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def _local_ns(wall: pd.Timestamp, tz: str) -> int:
    """The UTC instant (ns) of the wall-clock time ``wall`` (tz-naive) in ``tz``; a time skipped by a DST
    change moves forward, a repeated one takes its later (standard-time) occurrence."""
    return wall.tz_localize(tz, ambiguous=False, nonexistent="shift_forward").tz_convert("UTC").value


def _instant(ns: int) -> datetime:
    return pd.Timestamp(ns, tz="UTC").to_pydatetime().astimezone(UTC)


def _days_to_win(created: np.ndarray, stamp: np.ndarray, won: np.ndarray) -> int | None:
    """Whole days (rounded up) within which half of the customers were won after they came in."""
    ok = won & (created != _NAT) & (stamp != _NAT) & (stamp >= created)
    if not ok.any():
        return None
    return max(1, math.ceil(float(np.median(stamp[ok] - created[ok])) / _DAY_NS))


def period_kpis(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    start: date,
    end: date,
    tz: str,
    now: datetime | None = None,
    compare: bool = True,
    prev_start: date | None = None,
) -> dict:
    """Headline numbers for the days ``start..end`` in ``tz`` up to ``now``, and for the previous period.

    The period runs from ``start``'s midnight to the end of ``end`` or to ``now``, whichever comes first
    (``partial`` is True when ``now`` cuts it). The previous period starts on ``prev_start`` (default: the
    ``L`` whole days before, ``start − L``; ``periods.previous_start`` gives the previous calendar week,
    month or quarter) and ends where this one starts or, when this one is partial, at the same wall-clock
    time ``S = start − prev_start`` days before now: "today until 08:50" against "yesterday until 08:50",
    "this month until the 23rd 08:50" against "last month until the 23rd 08:50". With ``compare=False``
    (all time) every ``*_prev`` value and the previous bounds are None.

    A lead's win time is its ``closed_at``; a won lead without one uses ``updated_at`` (its status has not
    changed since, so it was won by then at the latest).

    Keys (each also with the suffix ``_prev`` for the previous period):
    ``leads`` created in the period; ``won`` customers won in the period (won now, win time in the period,
    created at any time); ``converted`` leads created in the period that are customers so far; for the
    previous period, those won by ``as_of_prev`` = now − S at the same wall-clock time, i.e. each previous
    lead is judged at the same age this period's leads have now; ``junk`` created in the period and junk
    now; ``conversion_rate = converted / (leads − junk)``; ``junk_rate = junk / leads`` (rates None when
    their denominator is 0).
    Plus: ``won_by_update`` (of ``won``, how many have no ``closed_at``); ``unsure_prev`` (previous-period
    leads won now whose win time is unknown and may be after ``as_of_prev``, so the same-age measure cannot
    tell); ``same_age`` (comparing, and ``unsure_prev`` is 0); ``days_to_win`` (half of all customers in
    ``leads`` were won within this many days of coming in; None without data); ``maturing`` (leads of the
    period younger than ``days_to_win`` now); ``partial``; ``days`` (L); ``shift_days`` (S);
    ``prev_partial`` (the previous period is cut before its end); ``period_from``/``period_to`` and
    ``prev_from``/``prev_to`` (UTC datetimes bounding each period, end exclusive); ``as_of_prev``;
    ``prev_start``/``prev_end`` (the previous period's days)."""
    days = (end - start).days + 1
    lo = _midnight_utc(start, tz)
    full_hi = _midnight_utc(end + timedelta(days=1), tz)
    now_ns = full_hi if now is None else pd.Timestamp(now).as_unit("ns").value
    hi = max(lo, min(full_hi, now_ns))
    partial = now_ns < full_hi
    prev_start = start - timedelta(days=days) if prev_start is None else min(prev_start, start)
    shift = (start - prev_start).days
    prev_lo = _midnight_utc(prev_start, tz)
    # The same wall-clock time S days ago: the previous period's leads are judged as they stood then.
    wall = pd.Timestamp(now_ns, tz="UTC").tz_convert(tz).tz_localize(None) - pd.Timedelta(days=shift)
    then = min(now_ns, _local_ns(wall, tz))
    prev_hi = max(prev_lo, min(lo, then)) if partial else lo
    prev_end = max(prev_start, _local_date(prev_hi - 1, tz))

    created = _ns(leads["created_at"])
    updated = _ns(leads["updated_at"])
    closed = _ns(leads["closed_at"])
    roles = _lead_roles(leads, statuses)
    won_now, junk_now = roles == _WON, roles == _JUNK
    no_close = closed == _NAT
    stamp = np.where(no_close, updated, closed)  # when the lead was won at the latest
    dated = created != _NAT
    days_to_win = _days_to_win(created, stamp, won_now)

    out: dict = {}
    windows = [("", lo, hi, now_ns)] + ([("_prev", prev_lo, prev_hi, then)] if compare else [])
    for suffix, a, b, cut in windows:
        cohort = dated & (created >= a) & (created < b)
        won_in = won_now & (stamp != _NAT) & (stamp >= a) & (stamp < b)
        # customers so far: every lead won now; the previous period's only if won by its cut
        converted = cohort & won_now if suffix == "" else cohort & won_now & (stamp != _NAT) & (stamp <= cut)
        n, junk, conv = int(cohort.sum()), int((cohort & junk_now).sum()), int(converted.sum())
        out["leads" + suffix] = n
        out["won" + suffix] = int(won_in.sum())
        out["converted" + suffix] = conv
        out["junk" + suffix] = junk
        out["conversion_rate" + suffix] = _ratio(conv, n - junk)
        out["junk_rate" + suffix] = _ratio(junk, n)
        if suffix == "":
            out["won_by_update"] = int((won_in & no_close).sum())
            young = cohort & (created > now_ns - days_to_win * _DAY_NS) if days_to_win else cohort & False
            out["maturing"] = int(young.sum())
        else:
            unsure = cohort & won_now & no_close & ((updated == _NAT) | (updated > cut))
            out["unsure_prev"] = int(unsure.sum())
    if not compare:
        for key in ("leads", "won", "converted", "junk", "conversion_rate", "junk_rate"):
            out[key + "_prev"] = None
        out["unsure_prev"] = 0
    out["same_age"] = compare and out["unsure_prev"] == 0
    out["days_to_win"] = days_to_win
    out["partial"] = partial
    out["days"] = days
    out["shift_days"] = shift if compare else None
    out["prev_partial"] = compare and prev_hi < lo
    out["period_from"], out["period_to"] = _instant(lo), _instant(hi)
    out["prev_from"] = _instant(prev_lo) if compare else None
    out["prev_to"] = _instant(prev_hi) if compare else None
    out["as_of_prev"] = _instant(then) if compare else None
    out["prev_start"] = prev_start if compare else None
    out["prev_end"] = prev_end if compare else None
    return out
