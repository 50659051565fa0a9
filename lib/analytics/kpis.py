"""Headline numbers for a period: leads, customers, conversion, junk."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from lib.analytics._base import _JUNK, _NAT, _WON, _lead_roles, _ns
from lib.analytics.periods import _midnight_utc
from lib.schema import ROLES


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def period_kpis(leads: pd.DataFrame, statuses: pd.DataFrame, start: date, end: date, tz: str) -> dict:
    """Headline numbers for the days ``start..end`` in ``tz`` and for the previous period of equal length.

    Returns a dict with ``leads, won, junk, conversion_rate, junk_rate`` (leads created in the period;
    ``won``/``junk`` = those whose status role is won/junk *now*; ``conversion_rate = won / (leads - junk)``
    and ``junk_rate = junk / leads``, each None when its denominator is 0), the same five keys with the
    suffix ``_prev`` for the previous period, and ``prev_start``, ``prev_end`` (dates; the previous period
    ends the day before ``start``)."""
    days = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=days - 1)
    v = _ns(leads["created_at"])
    roles = _lead_roles(leads, statuses)
    out: dict = {}
    for suffix, lo, hi in (("", start, end), ("_prev", prev_start, prev_end)):
        mask = (v >= _midnight_utc(lo, tz)) & (v < _midnight_utc(hi + timedelta(days=1), tz)) & (v != _NAT)
        counts = np.bincount(roles[mask], minlength=len(ROLES))
        n, won, junk = int(mask.sum()), int(counts[_WON]), int(counts[_JUNK])
        out["leads" + suffix] = n
        out["won" + suffix] = won
        out["junk" + suffix] = junk
        out["conversion_rate" + suffix] = _ratio(won, n - junk)
        out["junk_rate" + suffix] = _ratio(junk, n)
    out["prev_start"] = prev_start
    out["prev_end"] = prev_end
    return out
