"""Low-level helpers shared by the analytics modules: integer codes per lead, role look-ups,
the labels for missing values. Private to lib.analytics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib.schema import ROLES

NONE = "(none)"
UNASSIGNED = "(unassigned)"
UNKNOWN_STATUS = "(unknown status)"
OTHER = "(other)"
FREQS = ("D", "W", "M")
_ROLE_INDEX = {r: i for i, r in enumerate(ROLES)}  # open 0, won 1, lost 2, junk 3
_OPEN, _WON, _LOST, _JUNK = (_ROLE_INDEX[r] for r in ("open", "won", "lost", "junk"))
_DAY_NS = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min
_Z95 = 1.959963984540054  # two-sided 95 % normal quantile


# --------------------------------------------------------------------------------------------------
# Low-level helpers: integer codes per lead
# --------------------------------------------------------------------------------------------------


def _ns(values: pd.Series) -> np.ndarray:
    """UTC instants as int64 nanoseconds since the epoch; NaT is ``_NAT``."""
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        values = pd.to_datetime(values, utc=True, errors="coerce")
    if values.dtype.unit != "ns":
        values = values.dt.as_unit("ns")
    return values.array.asi8


def _codes_and_labels(values: pd.Series) -> tuple[np.ndarray, list]:
    """Integer codes (-1 for NA) and the distinct values they index, without touching strings twice."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), list(values.cat.categories)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, list(uniques)


def _catalogue(statuses: pd.DataFrame) -> pd.DataFrame:
    """The catalogue in the CRM's order, one row per status id (the first wins if an id repeats)."""
    cat = statuses.sort_values("position", kind="stable") if "position" in statuses else statuses
    cat = cat.drop_duplicates("status_id", keep="first").reset_index(drop=True)
    return cat


def _catalogue_positions(leads: pd.DataFrame, cat: pd.DataFrame) -> np.ndarray:
    """Per lead: the row of ``cat`` its status is in, or -1 (missing or unknown status id)."""
    codes, labels = _codes_and_labels(leads["status_id"])
    ids = pd.Index(cat["status_id"].astype("string"))
    pos = ids.get_indexer(pd.Index(labels, dtype="string")) if labels else np.empty(0, dtype=np.intp)
    lut = np.append(pos, -1).astype(np.int64)  # the last slot answers code -1 (NA)
    return lut[codes]


def _status_lut(leads: pd.DataFrame, statuses: pd.DataFrame, values: np.ndarray, unknown) -> np.ndarray:
    """Per lead: ``values[row of its status in the catalogue]``, ``unknown`` for missing/unknown statuses."""
    codes, labels = _codes_and_labels(leads["status_id"])
    cat = _catalogue(statuses)
    ids = pd.Index(cat["status_id"].astype("string"))
    pos = ids.get_indexer(pd.Index(labels, dtype="string")) if labels else np.empty(0, dtype=np.intp)
    table = np.append(np.asarray(values), unknown)  # index -1 → unknown
    lut = table[np.append(pos, -1)]
    return lut[codes]


def _role_index(statuses: pd.DataFrame) -> np.ndarray:
    """Catalogue order role index (open 0, won 1, lost 2, junk 3); an unknown role reads open."""
    cat = _catalogue(statuses)
    roles = cat["role"].astype("string").str.strip().str.casefold() if "role" in cat else None
    if roles is None:
        return np.zeros(len(cat), dtype=np.int8)
    return np.array(
        [_ROLE_INDEX.get(r, _OPEN) if isinstance(r, str) else _OPEN for r in roles], dtype=np.int8
    )


def _lead_roles(leads: pd.DataFrame, statuses: pd.DataFrame) -> np.ndarray:
    """Per lead role index: 0 open, 1 won, 2 lost, 3 junk (see ``ROLES``)."""
    return _status_lut(leads, statuses, _role_index(statuses), _OPEN).astype(np.int8, copy=False)
