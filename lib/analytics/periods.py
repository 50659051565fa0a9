"""Time: whole days in the display time zone, period bounds, date presets and time buckets."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from lib.analytics._base import _DAY_NS, _NAT, FREQS, _ns


def _midnight_utc(day: date, tz: str) -> int:
    """The UTC instant (ns) at which ``day`` starts in ``tz``."""
    ts = pd.Timestamp(day).tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    return ts.tz_convert("UTC").as_unit("ns").value


def _midnights_utc(first: date, last: date, tz: str) -> np.ndarray:
    """UTC instants (ns) at which each day ``first..last`` starts in ``tz``."""
    days = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D").as_unit("ns")
    local = days.tz_localize(tz, ambiguous=np.zeros(len(days), dtype=bool), nonexistent="shift_forward")
    return local.tz_convert("UTC").asi8


def _local_date(ns: int, tz: str) -> date:
    return pd.Timestamp(ns, tz="UTC").tz_convert(tz).date()


def _data_dates(v: np.ndarray, tz: str) -> tuple[date, date] | None:
    """First and last local creation day in ``v`` (None when every value is NaT)."""
    valid = v[v != _NAT] if (v == _NAT).any() else v
    if valid.size == 0:
        return None
    return _local_date(int(valid.min()), tz), _local_date(int(valid.max()), tz)


def _local_day(v: np.ndarray, tz: str, first: date, last: date) -> np.ndarray:
    """Per instant: 1 + its local day's offset from ``first`` (1..n); 0 before ``first``, n + 1 after ``last``
    or NaT. O(1) per value: a fixed-offset guess, then one correction against the true local midnights
    (a DST shift moves the guess by at most one day)."""
    n = (last - first).days + 1
    edges = _midnights_utc(first - timedelta(days=1), last + timedelta(days=2), tz)  # n + 3 midnights
    base = (pd.Timestamp(first) - pd.Timestamp("1970-01-01")).days - 1  # epoch day of edges[0]'s date
    offset = (base + 1) * _DAY_NS - int(edges[1])  # local minus UTC at the first day's midnight
    nat = v == _NAT
    with np.errstate(over="ignore"):
        g = (v + offset) // _DAY_NS - base
    np.clip(g, 0, n + 1, out=g)
    g -= v < edges[g]
    g += v >= edges[g + 1]
    np.clip(g, 0, n + 1, out=g)
    g[nat] = n + 1
    return g


def _bucket_starts(first: date, last: date, freq: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Bucket starts (tz-naive, local) covering ``first..last`` and each day's bucket index."""
    days = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D").as_unit("ns")
    if freq == "D":
        starts = days
    elif freq == "W":  # Sunday-start weeks: Python's weekday() is Monday 0 .. Sunday 6
        starts = days - pd.to_timedelta((days.day_of_week + 1) % 7, unit="D")
    else:
        starts = days - pd.to_timedelta(days.day - 1, unit="D")
    periods = pd.DatetimeIndex(starts.unique()).as_unit("ns")
    return periods, periods.get_indexer(starts)


def _check_freq(freq: str) -> str:
    f = str(freq).upper()[:1]
    if f not in FREQS:
        raise ValueError(f"freq must be one of {FREQS}, got {freq!r}")
    return f


def _buckets(
    leads: pd.DataFrame, freq: str, tz: str, start: date | None, end: date | None
) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Per lead its bucket index (-1 when outside start..end or undated) and the bucket starts.

    Without bounds the range is the first..last local creation day in the data."""
    v = _ns(leads["created_at"])
    if start is None or end is None:
        span = _data_dates(v, tz)
        if span is None:
            return np.full(len(v), -1, dtype=np.int64), pd.DatetimeIndex([], dtype="datetime64[ns]")
        start = span[0] if start is None else start
        end = span[1] if end is None else end
    if start > end:
        return np.full(len(v), -1, dtype=np.int64), pd.DatetimeIndex([], dtype="datetime64[ns]")
    periods, day_bucket = _bucket_starts(start, end, freq)
    lut = np.concatenate(([-1], day_bucket, [-1])).astype(np.int64)
    return lut[_local_day(v, tz, start, end)], periods


def in_period(leads: pd.DataFrame, start: date | None, end: date | None, tz: str) -> pd.DataFrame:
    """Leads created on the whole days ``start..end`` (inclusive) in time zone ``tz``.

    Either bound may be None (open-ended). With any bound given, leads without ``created_at`` are left
    out; with none, ``leads`` is returned as is. Returns the same columns as ``leads``."""
    if start is None and end is None:
        return leads
    v = _ns(leads["created_at"])
    mask = v != _NAT
    if start is not None:
        mask &= v >= _midnight_utc(start, tz)
    if end is not None:
        mask &= v < _midnight_utc(end + timedelta(days=1), tz)
    return leads[mask]


DATE_PRESETS = (
    "Today",
    "This week",
    "Last week",
    "Last 7 days",
    "Last 30 days",
    "Last 90 days",
    "This month",
    "Last month",
    "This quarter",
    "All time",
    "Custom",
)


def preset_range(preset: str, today: date) -> tuple[date | None, date | None]:
    """The whole days a date preset covers, relative to `today` (in the display zone); "All time" and
    "Custom" give (None, None). Weeks are Israeli weeks: Sunday to Saturday."""
    if preset == "Today":
        return today, today
    sunday = today - timedelta(days=(today.weekday() + 1) % 7)  # weekday(): Monday 0 .. Sunday 6
    if preset == "This week":
        return sunday, today
    if preset == "Last week":
        return sunday - timedelta(days=7), sunday - timedelta(days=1)
    if preset.startswith("Last ") and preset.endswith(" days"):
        days = int(preset.split()[1])
        return today - timedelta(days=days - 1), today
    if preset == "This month":
        return today.replace(day=1), today
    if preset == "Last month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if preset == "This quarter":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    return None, None


def previous_start(preset: str, start: date, end: date) -> date | None:
    """The first day of the period that ``start..end`` (chosen with ``preset``) is compared with: the
    previous calendar week, month or quarter for the calendar presets, otherwise the same number of days
    just before; None for "All time", which has nothing to compare with."""
    if preset == "All time":
        return None
    if preset in ("This week", "Last week"):
        return start - timedelta(days=7)
    before = start - timedelta(days=1)
    if preset in ("This month", "Last month"):
        return before.replace(day=1)
    if preset == "This quarter":
        return date(before.year, 3 * ((before.month - 1) // 3) + 1, 1)
    return start - timedelta(days=(end - start).days + 1)
