"""Reading CRM values into canonical columns, shared by every connector."""

from __future__ import annotations

import numpy as np
import pandas as pd

_HAS_OFFSET = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"


def parse_times(values: pd.Series, assume_tz: str) -> tuple[pd.Series, int]:
    """ISO 8601 strings → UTC datetimes; a value without an offset is local time in `assume_tz`.

    Returns the times and how many non-empty values could not be read (those become NaT). In the autumn
    hour that occurs twice, a time without an offset is taken as the first (summer-time) occurrence.
    """
    s = values.astype("string").str.strip()
    s = s.mask(s == "")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    aware = s.str.contains(_HAS_OFFSET, regex=True, na=False)
    if aware.any():
        out[aware] = pd.to_datetime(s[aware], utc=True, errors="coerce", format="ISO8601")
    naive = s.notna() & ~aware
    if naive.any():
        local = pd.to_datetime(s[naive], errors="coerce", format="ISO8601")
        local = local.dt.tz_localize(
            assume_tz, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
        )
        out[naive] = local.dt.tz_convert("UTC")
    unreadable = int((s.notna() & out.isna()).sum())
    return out, unreadable


def parse_unix_times(values: pd.Series, *, zero_is_missing: bool = False) -> tuple[pd.Series, int]:
    """Unix seconds (numbers or numeric strings) → UTC datetimes, and how many non-empty values could
    not be read (text, out of range): those become NaT. `zero_is_missing`: 0 means "not set" (Kommo's
    `closed_at` of an open lead), so it becomes NaT without counting as unreadable."""
    s = values.astype("string").str.strip()
    s = s.mask(s == "")
    numbers = pd.to_numeric(s, errors="coerce")
    if zero_is_missing:
        zero = numbers == 0
        s, numbers = s.mask(zero.fillna(False)), numbers.mask(zero.fillna(False))
    out = pd.to_datetime(numbers, unit="s", utc=True, errors="coerce").astype("datetime64[ns, UTC]")
    unreadable = int((s.notna() & out.isna()).sum())
    return out, unreadable


def text_column(items: list[dict], key: str) -> pd.Series:
    """The `key` of every item as strings (numbers kept exact, never through float); missing → NA."""
    return pd.Series([_as_text(item.get(key)) for item in items], dtype="string")


def text_columns(items: list[dict], keys: list[str]) -> dict[str, pd.Series]:
    """`text_column` for many keys at once: one pass to build the table; a column pandas inferred as text
    is cast as a whole, a mixed one (numbers, booleans) goes value by value through the exact conversion."""
    table = pd.DataFrame.from_records(items, columns=keys) if items else pd.DataFrame(columns=keys)
    out = {}
    for key in keys:
        column = table[key]
        if isinstance(column.dtype, pd.StringDtype) or column.isna().all():  # inferred as text: all strings
            out[key] = column.astype("string")
        else:  # re-read from the items: the table may already have turned [12, None] into 12.0
            out[key] = text_column(items, key)
    return out


def _as_text(value) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
