"""The funnel: how many leads reached each stage, overall and split by a dimension."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.analytics._base import _JUNK, _WON, OTHER, _catalogue, _role_index, _status_lut
from lib.analytics.dimensions import _dimension
from lib.schema import DEFAULT_STAGES


def _lead_stages(leads: pd.DataFrame, statuses: pd.DataFrame, n_stages: int) -> np.ndarray:
    """Per lead the furthest stage reached (0..n_stages-1) or -1 for junk (left out of the funnel).

    A missing stage reads 0 (the last stage for a won status); stages past the end are clipped; unknown
    status ids count as stage 0."""
    cat = _catalogue(statuses)
    roles = _role_index(statuses)
    stage = cat["stage"] if "stage" in cat else pd.Series(pd.NA, index=cat.index)
    stage = pd.to_numeric(stage, errors="coerce").astype("Float64")
    default = np.where(roles == _WON, n_stages - 1, 0)
    values = np.where(stage.isna().to_numpy(), default, stage.fillna(0).to_numpy(dtype=float)).astype(
        np.int64
    )
    values = np.clip(values, 0, n_stages - 1)
    values[roles == _JUNK] = -1
    return _status_lut(leads, statuses, values, 0).astype(np.int64, copy=False)


def _funnel_frame(reach: np.ndarray, stages: Sequence[str]) -> dict:
    first = reach[:, :1].astype(float)
    prev = np.concatenate([reach[:, :1], reach[:, :-1]], axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct_first = np.where(first > 0, reach / first * 100.0, np.nan)
        pct_prev = np.where(prev > 0, reach / prev * 100.0, np.nan)
    return {"reach": reach, "pct_first": pct_first, "pct_prev": pct_prev}


def funnel(
    leads: pd.DataFrame, statuses: pd.DataFrame, stages: Sequence[str] = DEFAULT_STAGES
) -> pd.DataFrame:
    """The funnel: how many leads reached each stage.

    Junk leads are left out; a lead counts in every stage up to the one its status has reached (the
    catalogue's ``stage``, an index into ``stages``). Returns ``stage, leads`` (int64),
    ``pct_of_first`` and ``pct_of_previous`` — **percentages 0..100** (NaN when the base is 0; the first
    stage is 100 of itself)."""
    n = len(stages)
    s = _lead_stages(leads, statuses, n)
    at = np.bincount(s + 1, minlength=n + 1)[1:]
    reach = np.cumsum(at[::-1])[::-1][None, :]
    f = _funnel_frame(reach, stages)
    return pd.DataFrame(
        {
            "stage": list(stages),
            "leads": f["reach"][0].astype(np.int64),
            "pct_of_first": f["pct_first"][0],
            "pct_of_previous": f["pct_prev"][0],
        }
    )


def funnel_by(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    by: str,
    stages: Sequence[str] = DEFAULT_STAGES,
    top: int | None = 5,
    aliases: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The funnel per value of ``by`` (a lead column — UTM fields normalised —, ``"channel"`` or
    ``"role"``) for side-by-side comparison.

    The ``top`` values with the most funnel (non-junk) leads are kept, the rest are summed into
    ``(other)`` (``top=None`` keeps all). Returns long format ``by, stage, leads, pct_of_first,
    pct_of_previous`` (as ``funnel``), values with most leads first, stages in order."""
    n = len(stages)
    s = _lead_stages(leads, statuses, n)
    codes, labels = _dimension(leads, by, statuses, aliases)
    k = len(labels)
    at = np.bincount(codes * (n + 1) + s + 1, minlength=k * (n + 1)).reshape(k, n + 1)[:, 1:]
    reach = np.cumsum(at[:, ::-1], axis=1)[:, ::-1]
    order = [i for i in np.argsort(-reach[:, 0], kind="stable").tolist() if reach[i, 0] > 0]
    names = [labels[i] for i in order]
    rows = reach[order]
    if top is not None and len(order) > top:
        rows = np.vstack([rows[:top], rows[top:].sum(axis=0, keepdims=True)])
        names = [*names[:top], OTHER]
    f = _funnel_frame(rows.reshape(len(names), n), stages)
    return pd.DataFrame(
        {
            by: np.repeat(np.asarray(names, dtype=object), n),
            "stage": list(stages) * len(names),
            "leads": f["reach"].reshape(-1).astype(np.int64),
            "pct_of_first": f["pct_first"].reshape(-1),
            "pct_of_previous": f["pct_prev"].reshape(-1),
        }
    )
