"""Statuses: the status picture, statuses by owner, stale leads and the age of open leads."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib import clock
from lib.analytics._base import (
    _DAY_NS,
    _NAT,
    _OPEN,
    UNASSIGNED,
    UNKNOWN_STATUS,
    _catalogue,
    _catalogue_positions,
    _codes_and_labels,
    _lead_roles,
    _ns,
)
from lib.analytics.dimensions import _dimension


def _status_rows(
    leads: pd.DataFrame, statuses: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The catalogue rows to show (active, or holding leads), per lead its catalogue row (-1 unknown)
    and the per-row counts (index 0 = unknown, then catalogue rows)."""
    cat = _catalogue(statuses)
    pos = _catalogue_positions(leads, cat)
    counts = np.bincount(pos + 1, minlength=len(cat) + 1)
    active = (
        cat["is_active"].fillna(True).astype(bool).to_numpy()
        if "is_active" in cat
        else np.ones(len(cat), bool)
    )
    shown = active | (counts[1:] > 0)
    return cat, pos, counts, shown


def status_breakdown(leads: pd.DataFrame, statuses: pd.DataFrame) -> pd.DataFrame:
    """Leads per status.

    Returns ``status_id, status, leads, share``: every active status in catalogue order (``position``),
    zeros included; inactive statuses only when they hold leads; then one row (status_id NA, status
    ``(unknown status)``) for leads whose status id is missing or not in the catalogue, when there are
    any. ``share`` is the fraction (0..1) of all leads, 0.0 when there are none."""
    cat, _, counts, shown = _status_rows(leads, statuses)
    idx = np.flatnonzero(shown)
    ids = cat["status_id"].astype("string").to_numpy()[idx].tolist()
    names = cat["status"].astype("string").to_numpy()[idx].tolist()
    n = counts[1:][idx].tolist()
    if counts[0] > 0:
        ids.append(pd.NA)
        names.append(UNKNOWN_STATUS)
        n.append(int(counts[0]))
    total = int(counts.sum())
    n_arr = np.asarray(n, dtype=np.int64)
    share = n_arr / total if total else np.zeros(len(n_arr))
    return pd.DataFrame(
        {
            "status_id": pd.array(ids, dtype="string"),
            "status": pd.array(names, dtype="string"),
            "leads": n_arr,
            "share": share.astype(float),
        }
    )


def status_by_owner(leads: pd.DataFrame, statuses: pd.DataFrame) -> pd.DataFrame:
    """Leads per owner (rows) and status (columns).

    Returns ``owner`` (``(unassigned)`` for leads without one), one int64 column per status shown by
    ``status_breakdown`` (same order; headed by the status name, or ``name (id)`` when two statuses share a
    name), ``(unknown status)`` when such leads exist, and ``total``. Owners with leads only, most leads
    first, ``(unassigned)`` last."""
    cat, pos, counts, shown = _status_rows(leads, statuses)
    o_codes, o_labels = _dimension(leads, "owner")
    k, ncol = len(o_labels), len(cat) + 1
    grid = np.bincount(o_codes * ncol + pos + 1, minlength=k * ncol).reshape(k, ncol)
    cols = [*(np.flatnonzero(shown) + 1).tolist()]
    names = cat["status"].astype("string").fillna("").tolist()
    ids = cat["status_id"].astype("string").tolist()
    dup = {nm for nm in names if names.count(nm) > 1}
    headers = [f"{names[c - 1]} ({ids[c - 1]})" if names[c - 1] in dup else names[c - 1] for c in cols]
    if counts[0] > 0:
        cols.append(0)
        headers.append(UNKNOWN_STATUS)
    totals = grid.sum(axis=1)
    rows = [i for i in np.argsort(-totals, kind="stable").tolist() if totals[i] > 0]
    rows = [i for i in rows if o_labels[i] != UNASSIGNED] + [i for i in rows if o_labels[i] == UNASSIGNED]
    out = pd.DataFrame({"owner": pd.array([o_labels[i] for i in rows], dtype="string")})
    for h, c in zip(headers, cols, strict=True):
        out[h] = grid[rows, c].astype(np.int64)
    out["total"] = totals[rows].astype(np.int64)
    return out


def _now(now) -> pd.Timestamp:
    """`now` as a UTC Timestamp; the one clock's now when None."""
    return pd.Timestamp(clock.now() if now is None else now).tz_convert("UTC")


def _days_since(instants: np.ndarray, now: pd.Timestamp) -> np.ndarray:
    """Whole days from each instant (int64 ns, ``_NAT`` unknown) to `now`: -1 when unknown, 0 for an
    instant in the future (a CRM whose clock runs a little ahead stamps its newest leads there)."""
    return np.where(instants == _NAT, -1, np.maximum((now.value - instants) // _DAY_NS, 0))


def _idle_days(leads: pd.DataFrame, now: pd.Timestamp) -> np.ndarray:
    """Per lead whole days since it was last updated (created when never updated); -1 when unknown."""
    last = _ns(leads["updated_at"])
    last = np.where(last == _NAT, _ns(leads["created_at"]), last)
    return _days_since(last, now)


def stale_leads(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    days: int,
    now: pd.Timestamp | None = None,
    limit: int | None = None,
) -> tuple[pd.DataFrame, int]:
    """Open leads not updated for at least `days` days (created time when never updated), longest idle
    first, and how many there are. Returns (the first `limit` of them — all without a limit — with the
    lead's columns plus `days_idle` in whole days, the total count); only the returned rows are copied.
    A lead stamped in the future is idle 0 days; a lead with neither time is never stale."""
    idle = _idle_days(leads, _now(now))
    is_open = _lead_roles(leads, statuses) == _OPEN
    rows = np.flatnonzero(is_open & (idle >= days) & (idle >= 0))
    order = rows[np.argsort(-idle[rows], kind="stable")][:limit]
    out = leads.iloc[order].assign(days_idle=idle[order].astype("int64"))
    return out, len(rows)


IDLE_BOUNDS = (30, 90)  # the idle-age buckets of stale_by_owner end at these days, then one open bucket


def idle_buckets(days: int) -> list[tuple[int, int | None, str]]:
    """The idle-age buckets (low, high or None, label) for leads idle `days` days or more: from `days` to
    30, 31 to 90, over 90, dropping those that end before `days` (14 -> "14–30 days", "31–90 days",
    "over 90 days"; 45 -> "45–90 days", "over 90 days"; 120 -> "120+ days")."""
    days = max(int(days), 0)
    out: list[tuple[int, int | None, str]] = []
    low = 0
    for high in (*IDLE_BOUNDS, None):
        if high is None or high >= days:
            lo = max(low, days)
            if high is None:
                label = "over 90 days" if lo == IDLE_BOUNDS[-1] + 1 else f"{lo}+ days"
            else:
                label = f"{lo} days" if lo == high else f"{lo}–{high} days"
            out.append((lo, high, label))
        low = (high or 0) + 1
    return out


def stale_by_owner(
    leads: pd.DataFrame, statuses: pd.DataFrame, days: int, now: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Stale open leads (as ``stale_leads``: not updated for `days` days or more) per owner and idle age.

    Returns ``owner`` (``(unassigned)`` for leads without one), one int64 column per ``idle_buckets(days)``
    label, and ``total``; one row per owner holding stale leads, most first (on a tie named owners
    before ``(unassigned)``, then by name)."""
    idle = _idle_days(leads, _now(now))
    stale = (_lead_roles(leads, statuses) == _OPEN) & (idle >= days) & (idle >= 0)
    buckets = idle_buckets(days)
    bucket = np.zeros(len(leads), dtype=np.int64)
    for i, (low, _, _) in enumerate(buckets):
        bucket[idle >= low] = i
    codes, labels = _dimension(leads, "owner")
    nb = len(buckets)
    grid = np.bincount(codes[stale] * nb + bucket[stale], minlength=len(labels) * nb).reshape(-1, nb)
    totals = grid.sum(axis=1)
    rows = sorted(
        np.flatnonzero(totals).tolist(), key=lambda i: (-totals[i], labels[i] == UNASSIGNED, labels[i])
    )
    out = pd.DataFrame({"owner": pd.array([labels[i] for i in rows], dtype="string")})
    for j, (_, _, label) in enumerate(buckets):
        out[label] = grid[rows, j].astype(np.int64)
    out["total"] = totals[rows].astype(np.int64)
    return out


def newest(leads: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The `limit` most recently created leads, newest first (no creation time last); copies only those."""
    created = _ns(leads["created_at"])
    key = np.where(created == _NAT, np.iinfo(np.int64).max, -created)  # newest first, no date last
    order = np.argsort(key, kind="stable")
    return leads.iloc[order[:limit]]


AGE_BUCKETS = ((0, 1, "0–1 days"), (2, 7, "2–7 days"), (8, 30, "8–30 days"), (31, 90, "31–90 days"),
               (91, None, "over 90 days"))  # fmt: skip


def _status_names(leads: pd.DataFrame, statuses: pd.DataFrame) -> np.ndarray:
    """Per lead the catalogue name of its status (UNKNOWN_STATUS when not in the catalogue)."""
    names = dict(zip(statuses["status_id"].astype(str), statuses["status"].astype(str), strict=True))
    codes, labels = _codes_and_labels(leads["status_id"])
    lut = np.array([names.get(str(x), UNKNOWN_STATUS) for x in labels] + [UNKNOWN_STATUS], dtype=object)
    return lut[codes]


def open_lead_ages(
    leads: pd.DataFrame, statuses: pd.DataFrame, now: pd.Timestamp | None = None
) -> pd.DataFrame:
    """How long open leads have existed: `age` (AGE_BUCKETS labels), `status`, `leads`, one row per
    (age, status) that holds open leads, ages in order then statuses in catalogue order; leads without a
    creation time are left out, a lead created in the future (a CRM clock running ahead) is 0 days old."""
    order = list(dict.fromkeys([*statuses.sort_values("position")["status"].astype(str), UNKNOWN_STATUS]))
    is_open = _lead_roles(leads, statuses) == _OPEN
    age_days = _days_since(_ns(leads["created_at"]), _now(now))
    labels = [label for _, _, label in AGE_BUCKETS]
    bucket = np.full(len(leads), -1, dtype=np.int64)
    for i, (low, high, _) in enumerate(AGE_BUCKETS):
        bucket[(age_days >= low) & ((age_days <= high) if high is not None else True)] = i
    keep = is_open & (bucket >= 0)
    frame = pd.DataFrame(
        {
            "age": pd.Categorical.from_codes(bucket[keep], categories=labels, ordered=True),
            "status": pd.Categorical(_status_names(leads, statuses)[keep], categories=order),
        }
    )
    out = frame.groupby(["age", "status"], observed=True).size().rename("leads").reset_index()
    return out.astype({"age": str, "status": str})
