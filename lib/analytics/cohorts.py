"""Cohorts: leads grouped by creation bucket and how they ended up."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from lib.analytics._base import _JUNK, _LOST, _OPEN, _WON, _lead_roles
from lib.analytics.periods import _buckets, _check_freq
from lib.schema import ROLES


def cohort_table(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    tz: str = "Asia/Jerusalem",
    freq: str = "W",
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """Of the leads created in each week (Sunday start; or day/month with ``freq``), where they stand now.

    Returns ``cohort`` (tz-naive Timestamp of the bucket's first local day), ``leads, open, won, lost,
    junk`` (int64), ``won_share = won / leads`` and ``conversion_rate = won / (leads - junk)`` (fractions,
    NaN when the base is 0). Every bucket in the range is present (zeros when empty)."""
    f = _check_freq(freq)
    bucket, periods = _buckets(leads, f, tz, start, end)
    nb, nroles = len(periods), len(ROLES)
    roles = _lead_roles(leads, statuses)
    key = np.where(bucket >= 0, bucket * nroles + roles, -1)
    grid = np.bincount(key + 1, minlength=nb * nroles + 1)[1:].reshape(nb, nroles)
    n = grid.sum(axis=1)
    won, junk = grid[:, _WON], grid[:, _JUNK]
    with np.errstate(divide="ignore", invalid="ignore"):
        won_share = np.where(n > 0, won / n, np.nan)
        conv = np.where(n - junk > 0, won / (n - junk), np.nan)
    return pd.DataFrame(
        {
            "cohort": periods,
            "leads": n.astype(np.int64),
            "open": grid[:, _OPEN].astype(np.int64),
            "won": won.astype(np.int64),
            "lost": grid[:, _LOST].astype(np.int64),
            "junk": junk.astype(np.int64),
            "won_share": won_share.astype(float),
            "conversion_rate": conv.astype(float),
        }
    )
