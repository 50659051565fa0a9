"""CSV downloads that open safely in a spreadsheet and keep Hebrew readable."""

from __future__ import annotations

import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A phone number in international form (+972547234567, +1 212-555-0123): a + then digits, spaces and
# dashes only. It calls no function and reads no cell, so it is left as typed, without an apostrophe.
PHONE = re.compile(r"\+[0-9][0-9 \-]*[0-9]")


def neutralize(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (starts with = + - @, tab or CR) gets a leading
    apostrophe, so it is shown as text; a phone number in international form (`PHONE`) and everything
    else is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not PHONE.fullmatch(value):
        return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> bytes:
    """`frame` as UTF-8 CSV with a byte-order mark (Excel then reads Hebrew right); text cells neutralised,
    numbers and dates left as they are."""
    out = frame.copy()
    for column in out.columns:
        dtype = out[column].dtype
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype | pd.CategoricalDtype):
            out[column] = out[column].astype(object).map(neutralize)
        elif isinstance(dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.strftime("%Y-%m-%d %H:%M")
    return out.to_csv(index=False).encode("utf-8-sig")
