"""The canonical status and lead frames every connector returns and every page reads.

Ids are strings end to end (v2 status ids have 36-39 digits and do not fit in int64 or a float).
Low-cardinality text columns are categoricals: a million leads carry a few dozen distinct UTM values,
statuses and owners, and grouping on integer codes is what keeps the analytics fast.
"""

from __future__ import annotations

import pandas as pd

from lib.text import clean_text

ROLES = ("open", "won", "lost", "junk")
# Funnel stages for the v2 CRM's default mapping (apis.md §1); `stage` in the catalogue indexes this, 0-based.
DEFAULT_STAGES = ("New", "Contacted", "Interested", "Customer")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

# Connector-specific lead columns that pages offer as dimensions (split the funnel, group marketing) when
# the connected CRM fills them: column -> label. Each holds a low-cardinality categorical.
EXTRA_DIMENSIONS = {
    "pipeline": "Pipeline",  # Kommo: the pipeline's name
    "campaign": "Call campaign",  # aiployees: the calling campaign's name
    "lead_type": "Lead type",  # LiveTex: form, callback or chat
    "site": "Site",  # LiveTex: the site the lead was sent from
}

STATUS_COLUMNS = {
    "status_id": "string",
    "status": "string",
    "is_active": "bool",
    "position": "int64",
    "role": "string",
    "stage": "Int64",
}

_TEXT = "string"
_CAT = "category"
_TIME = "datetime64[ns, UTC]"
LEAD_COLUMNS = {
    "lead_id": _TEXT,
    "name": _TEXT,
    "first_name": _TEXT,
    "last_name": _TEXT,
    "phone": _TEXT,
    "email": _TEXT,
    "company": _TEXT,
    "owner": _CAT,
    "status_id": _CAT,
    "status": _CAT,
    "created_at": _TIME,
    "updated_at": _TIME,
    "closed_at": _TIME,
    "utm_source": _CAT,
    "utm_medium": _CAT,
    "utm_campaign": _CAT,
    "utm_term": _CAT,
    "utm_content": _CAT,
    "referrer": _TEXT,
    "landing_page": _TEXT,
    "price": "float64",
}


def empty_statuses() -> pd.DataFrame:
    """An empty status catalogue with the canonical columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in STATUS_COLUMNS.items()})


def empty_leads() -> pd.DataFrame:
    """An empty canonical leads frame with the canonical columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=_dtype(t)) for c, t in LEAD_COLUMNS.items()})


def _dtype(t: str):
    return pd.CategoricalDtype(pd.Index([], dtype="string")) if t == _CAT else t


def _category(values: pd.Series) -> pd.Series:
    """A categorical whose categories are nullable strings (never floats, even when all are NA)."""
    s = values.astype("string")
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    cats = pd.Index(uniques, dtype="string")
    return pd.Series(pd.Categorical.from_codes(codes, categories=cats), index=values.index)


def text_category(values) -> pd.Series:
    """Text (a list or a Series) as a categorical of trimmed strings, empty → NA: how dimension columns are
    kept cheap, canonical or connector extras alike. Bidi controls and zero-width characters are dropped
    (lib.text.clean_text), so "Da\u200bna" is the same owner as "Dana"."""
    s = clean_text(pd.Series(values, dtype="string")).str.strip()
    return _category(s.mask(s == ""))


def to_canonical_statuses(df: pd.DataFrame) -> pd.DataFrame:
    """Cast a status frame to the canonical columns and dtypes (missing columns become NA/defaults)."""
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    for col, dtype in STATUS_COLUMNS.items():
        if col in df.columns:
            values = df[col].reset_index(drop=True)
            if col == "status":
                values = clean_text(values)
        elif col == "position":
            values = pd.Series(range(len(df)))
        elif col == "is_active":
            values = pd.Series([True] * len(df))
        elif col == "role":
            values = pd.Series(["open"] * len(df))
        else:
            values = pd.Series([pd.NA] * len(df))
        out[col] = values.astype(dtype)
    return out


def to_canonical_leads(df: pd.DataFrame) -> pd.DataFrame:
    """Cast a lead frame to the canonical columns and dtypes; extra columns are kept after them.

    Text is cleaned of bidi controls and zero-width characters (lib.text.clean_text), trimmed, and empty
    strings become NA; times must already be tz-aware UTC or naive UTC.
    """
    n = len(df)
    df = df.reset_index(drop=True)
    out: dict[str, pd.Series] = {}
    for col, dtype in LEAD_COLUMNS.items():
        values = df[col] if col in df.columns else pd.Series([pd.NA] * n, dtype="object")
        if dtype == _CAT:
            out[col] = text_category(values)
        elif dtype == _TEXT:
            s = clean_text(values.astype("string")).str.strip()
            out[col] = s.mask(s == "")
        elif dtype == _TIME:
            out[col] = pd.to_datetime(values, utc=True, errors="coerce").astype(_TIME)
        else:
            out[col] = pd.to_numeric(values, errors="coerce").astype(dtype)
    frame = pd.DataFrame(out, index=pd.RangeIndex(n))
    extras = [c for c in df.columns if c not in LEAD_COLUMNS]
    for col in extras:
        frame[col] = df[col].array  # a categorical extra stays categorical
    return frame
