"""Leads over time, bucketed by day, week or month and split by a dimension."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from lib.analytics.dimensions import _dimension
from lib.analytics.periods import _buckets, _check_freq


def leads_over_time(
    leads: pd.DataFrame,
    freq: str = "D",
    tz: str = "Asia/Jerusalem",
    by: str | None = None,
    start: date | None = None,
    end: date | None = None,
    statuses: pd.DataFrame | None = None,
    aliases: Mapping | None = None,
) -> pd.DataFrame:
    """New leads per day (``freq="D"``), week (``"W"``, weeks start on Sunday) or month (``"M"``).

    Leads are bucketed by ``created_at`` in the display time zone ``tz``. ``start``/``end`` (dates,
    inclusive, whole days in ``tz``) limit the leads counted and fix the range of buckets; without them the
    range is the first..last creation day in the data. Every bucket in the range is present, 0 when empty
    (the first bucket may start before ``start``: a week is labelled by its Sunday, a month by its 1st).

    ``by`` splits the counts: a lead column (UTM fields are normalised with ``aliases``), ``"role"``
    (needs ``statuses``) or ``"channel"``. Then every bucket × every value that has leads in the range.

    Returns columns ``period`` (tz-naive Timestamp: the bucket's first local day), [``by``], ``leads``
    (int64), sorted by period (then by the dimension's order)."""
    f = _check_freq(freq)
    bucket, periods = _buckets(leads, f, tz, start, end)
    nb = len(periods)
    if by is None:
        counts = np.bincount(bucket + 1, minlength=nb + 1)[1:]
        return pd.DataFrame({"period": periods, "leads": counts.astype(np.int64)})
    codes, labels = _dimension(leads, by, statuses, aliases)
    k = len(labels)
    key = np.where(bucket >= 0, bucket * k + codes, -1)
    counts = np.bincount(key + 1, minlength=nb * k + 1)[1:].reshape(nb, k)
    keep = np.flatnonzero(counts.sum(axis=0) > 0)
    grid = counts[:, keep]
    return pd.DataFrame(
        {
            "period": np.repeat(periods.to_numpy(), len(keep)),
            by: np.tile(np.asarray(labels, dtype=object)[keep], nb),
            "leads": grid.reshape(-1).astype(np.int64),
        }
    )
