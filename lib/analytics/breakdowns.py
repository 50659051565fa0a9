"""UTM breakdowns: leads, outcomes and conversion with Wilson intervals per source/medium/campaign."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.analytics._base import _JUNK, _LOST, _OPEN, _WON, _Z95, _lead_roles
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
)  # fmt: skip


def utm_breakdown(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    by: Sequence[str] | str = ("utm_source",),
    aliases: Mapping[str, str] | None = None,
    sort_by: str = "leads",
    ascending: bool = False,
) -> pd.DataFrame:
    """Leads and outcomes per combination of UTM fields (normalised with ``aliases``; missing ``(none)``)
    and/or ``"channel"``.

    Returns the ``by`` columns, then ``leads, won, lost, junk, open`` (int64; role of the status now),
    ``conversion_rate = won / (leads - junk)`` with its Wilson 95 % interval ``ci_low, ci_high`` (NaN
    when ``leads - junk`` is 0), ``share`` (of all leads) and ``junk_rate = junk / leads`` — all rates are
    fractions 0..1. Only combinations that have leads; sorted by ``sort_by`` (any of these columns),
    ties by the ``by`` values."""
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
    )
    df = pd.DataFrame(out)
    if sort_by in BREAKDOWN_METRICS:
        df = df.sort_values(sort_by, ascending=ascending, kind="stable", na_position="last")
    else:
        df = df.sort_values(sort_by, ascending=ascending, kind="stable")
    return df.reset_index(drop=True)
