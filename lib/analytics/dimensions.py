"""Dimensions: integer codes for "role", "channel", a UTM field (normalised) or any lead column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.analytics._base import NONE, UNASSIGNED, _codes_and_labels, _lead_roles
from lib.analytics.channels import CHANNELS, channel
from lib.analytics.utm import _normalized_codes
from lib.schema import ROLES, UTM_FIELDS


def _dimension(
    leads: pd.DataFrame, by: str, statuses: pd.DataFrame | None = None, aliases: Mapping | None = None
) -> tuple[np.ndarray, list[str]]:
    """Per lead a code 0..k-1 (never -1) and the k labels; missing values get a label of their own."""
    if by == "role":
        if statuses is None:
            raise ValueError('by="role" needs the status catalogue (statuses=...)')
        return _lead_roles(leads, statuses).astype(np.int64), list(ROLES)
    if by == "channel":
        ch = channel(leads, aliases)
        return ch.cat.codes.to_numpy().astype(np.int64), list(CHANNELS)
    if by in UTM_FIELDS:
        return _normalized_codes(leads[by], aliases)
    codes, labels = _codes_and_labels(leads[by])
    missing = UNASSIGNED if by == "owner" else NONE
    labels = [str(x) for x in labels] + [missing]
    codes = codes.astype(np.int64)
    codes[codes < 0] = len(labels) - 1
    return codes, labels


def _dense_key(dims: Sequence[tuple[np.ndarray, list[str]]]) -> tuple[np.ndarray, list[int]]:
    """One int64 key per lead combining several dimensions (mixed radix) and the radix sizes."""
    sizes = [len(labels) for _, labels in dims]
    key = np.zeros(len(dims[0][0]) if dims else 0, dtype=np.int64)
    for (codes, _), k in zip(dims, sizes, strict=True):
        key *= k
        key += codes
    return key, sizes


def _unravel(groups: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    out = []
    for k in reversed(sizes):
        out.append(groups % k)
        groups = groups // k
    return out[::-1]
