"""UTM breakdowns: leads, outcomes and conversion with Wilson intervals per source/medium/campaign."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.analytics._base import _JUNK, _LOST, _OPEN, _WON, _Z95, NONE, OTHER, UNASSIGNED, _lead_roles
from lib.analytics.dimensions import _dense_key, _dimension, _unravel
from lib.schema import ROLES


def wilson_interval(won, n, z: float = _Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for the proportion ``won / n`` (arrays); NaN where ``n`` is 0."""
    k = np.asarray(won, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2 = z * z
        denom = 1.0 + z2 / n
        centre = (p + z2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
        low = np.where(n > 0, centre - half, np.nan)
        high = np.where(n > 0, centre + half, np.nan)
    return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)


BREAKDOWN_METRICS = (
    "leads", "won", "lost", "junk", "open", "conversion_rate", "ci_low", "ci_high", "share", "junk_rate",
    "junk_ci_low", "junk_ci_high",
)  # fmt: skip
# Each rate and the count it is a share of (its sample): a rate needs a big enough sample to be compared.
RATE_SAMPLES = {"conversion_rate": ("won", "leads - junk"), "junk_rate": ("junk", "leads")}
# Labels that name no real group: never a leader.
NOT_A_GROUP = (NONE, OTHER, UNASSIGNED)


def _sample(df: pd.DataFrame, rate: str) -> np.ndarray:
    """The sample a rate is computed on: ``leads - junk`` for conversion, ``leads`` for junk rate."""
    n = df["leads"].to_numpy(dtype=np.int64)
    return n - df["junk"].to_numpy(dtype=np.int64) if rate == "conversion_rate" else n


def utm_breakdown(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    by: Sequence[str] | str = ("utm_source",),
    aliases: Mapping[str, str] | None = None,
    sort_by: str = "leads",
    ascending: bool = False,
    min_sample: int = 0,
) -> pd.DataFrame:
    """Leads and outcomes per combination of UTM fields (normalised with ``aliases``; missing ``(none)``)
    and/or ``"channel"``.

    Returns the ``by`` columns, then ``leads, won, lost, junk, open`` (int64; role of the status now),
    ``conversion_rate = won / (leads - junk)`` with its Wilson 95 % interval ``ci_low, ci_high`` (NaN
    when ``leads - junk`` is 0), ``share`` (of all leads), ``junk_rate = junk / leads`` and its Wilson 95 %
    interval ``junk_ci_low, junk_ci_high`` — all rates are fractions 0..1. Only combinations that have
    leads; sorted by ``sort_by`` (any of these columns), ties by the ``by`` values.

    Sorting by a rate (``conversion_rate``, ``ci_low``, ``ci_high``, ``junk_rate`` and its bounds) with
    ``min_sample`` puts the groups whose sample (``leads - junk`` for conversion, ``leads`` for junk) is
    below ``min_sample`` after the others, so a tiny group with a lucky rate is never first; each part is
    sorted by the rate, ties by the bigger sample."""
    by = (by,) if isinstance(by, str) else tuple(by)
    if not by:
        raise ValueError("by needs at least one column")
    if sort_by not in BREAKDOWN_METRICS and sort_by not in by:
        raise ValueError(f"sort_by must be one of {BREAKDOWN_METRICS + by}, got {sort_by!r}")
    dims = [_dimension(leads, b, statuses, aliases) for b in by]
    roles = _lead_roles(leads, statuses)
    key, sizes = _dense_key(dims)
    size = int(np.prod(sizes)) if sizes else 1
    nroles = len(ROLES)
    if size * nroles <= 1 << 25:
        key *= nroles
        key += roles
        grid = np.bincount(key, minlength=size * nroles).reshape(size, nroles)
        groups = np.flatnonzero(grid.any(axis=1))
        grid = grid[groups]
    else:
        inv, groups = pd.factorize(key)
        grid = np.bincount(inv * nroles + roles, minlength=len(groups) * nroles).reshape(-1, nroles)
        order = np.argsort(groups)
        groups, grid = groups[order], grid[order]
    parts = _unravel(groups, sizes)
    total = grid.sum()
    won, lost, junk, opened = grid[:, _WON], grid[:, _LOST], grid[:, _JUNK], grid[:, _OPEN]
    n = grid.sum(axis=1)
    base = n - junk
    low, high = wilson_interval(won, base)
    junk_low, junk_high = wilson_interval(junk, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = np.where(base > 0, won / base, np.nan)
        junk_rate = np.where(n > 0, junk / n, np.nan)
    out = {
        b: np.asarray(labels, dtype=object)[p]
        for (b, (_, labels)), p in zip(zip(by, dims, strict=True), parts, strict=True)
    }
    out.update(
        leads=n.astype(np.int64),
        won=won.astype(np.int64),
        lost=lost.astype(np.int64),
        junk=junk.astype(np.int64),
        open=opened.astype(np.int64),
        conversion_rate=conv,
        ci_low=low,
        ci_high=high,
        share=n / total if total else np.zeros(len(n)),
        junk_rate=junk_rate,
        junk_ci_low=junk_low,
        junk_ci_high=junk_high,
    )
    df = pd.DataFrame(out)
    rate = {"ci_low": "conversion_rate", "ci_high": "conversion_rate", "junk_ci_low": "junk_rate",
            "junk_ci_high": "junk_rate"}.get(sort_by, sort_by)  # fmt: skip
    if rate in RATE_SAMPLES and min_sample > 0:
        sample = _sample(df, rate)
        keys = df.assign(_small=sample < min_sample, _sample=sample)
        order = ["_small", sort_by, "_sample"]
        keys = keys.sort_values(order, ascending=[True, ascending, False], kind="stable", na_position="last")
        df = df.loc[keys.index]
    elif sort_by in BREAKDOWN_METRICS:
        df = df.sort_values(sort_by, ascending=ascending, kind="stable", na_position="last")
    else:
        df = df.sort_values(sort_by, ascending=ascending, kind="stable")
    return df.reset_index(drop=True)


def comparable(
    breakdown: pd.DataFrame,
    rate: str = "conversion_rate",
    min_sample: int = 30,
    named: Sequence[str] = (),
) -> pd.DataFrame:
    """The rows of a ``utm_breakdown`` table whose ``rate`` (``conversion_rate`` or ``junk_rate``) rests
    on at least ``min_sample`` leads (``leads - junk`` for conversion, ``leads`` for junk), in order;
    rows whose ``named`` columns read ``(none)``, ``(other)`` or ``(unassigned)`` are left out."""
    if rate not in RATE_SAMPLES:
        raise ValueError(f"rate must be one of {tuple(RATE_SAMPLES)}, got {rate!r}")
    keep = _sample(breakdown, rate) >= min_sample
    if named:
        keep &= ~breakdown[list(named)].astype(str).isin(NOT_A_GROUP).any(axis=1).to_numpy()
    return breakdown[keep].reset_index(drop=True)


def leaders(breakdown: pd.DataFrame, by: Sequence[str] | str, min_sample: int = 30) -> pd.DataFrame:
    """The groups that stand out by *rate* in a ``utm_breakdown(by=by)`` table, among groups big enough
    to compare.

    One row per leader found, ``leader`` first: ``"conversion"`` (highest ``conversion_rate`` among groups
    with at least ``min_sample`` non-junk leads and at least one customer) and ``"junk"`` (highest
    ``junk_rate`` among groups with at least ``min_sample`` leads and at least one junk lead). Groups in
    which any ``by`` value is ``(none)``, ``(other)`` or ``(unassigned)`` are never leaders. Ties go to the
    higher lower bound of the 95 % interval, then the bigger sample. Columns: ``leader``, the ``by``
    columns, ``leads``, ``sample`` (the rate's denominator), ``count`` (customers or junk leads),
    ``rate``, ``ci_low``, ``ci_high``. No row when nothing qualifies (no customers → no conversion
    leader)."""
    by = [by] if isinstance(by, str) else list(by)
    cols = ["leader", *by, "leads", "sample", "count", "rate", "ci_low", "ci_high"]
    if breakdown.empty:
        return pd.DataFrame(columns=cols)
    real = ~breakdown[by].astype(str).isin(NOT_A_GROUP).any(axis=1)
    rows = []
    for leader, rate, count, low, high in (
        ("conversion", "conversion_rate", "won", "ci_low", "ci_high"),
        ("junk", "junk_rate", "junk", "junk_ci_low", "junk_ci_high"),
    ):
        sample = _sample(breakdown, rate)
        ok = real & (sample >= max(min_sample, 1)) & (breakdown[count].to_numpy() > 0)
        if not ok.any():
            continue
        cand = breakdown[ok].assign(_sample=sample[ok.to_numpy()])
        best = cand.sort_values([rate, low, "_sample"], ascending=False, kind="stable").iloc[0]
        numbers = (int(best["leads"]), int(best["_sample"]), int(best[count]))
        rows.append([leader, *(best[b] for b in by), *numbers, *(float(best[c]) for c in (rate, low, high))])
    return pd.DataFrame(rows, columns=cols)
