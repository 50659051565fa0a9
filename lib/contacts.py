"""Phone numbers and e-mail addresses in the one form the dashboard compares and shows them in."""

from __future__ import annotations

import pandas as pd
import phonenumbers


def normalize_phone(value: str | None, region: str = "IL") -> str | None:
    """E.164 (`+972501234567`) when `value` parses as a possible number in `region`, else the trimmed input.

    "Possible" (the right length for the country), not "valid" (an allocated range): a CRM's stored numbers
    are shown and matched, not judged; the new-lead form applies the stricter check.
    """
    if value is None or pd.isna(value):
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_possible_number(number):
        # "972501234567" (country code without +) is common in CRMs: try it as international
        if text[0].isdigit():
            try:
                number = phonenumbers.parse("+" + text, None)
            except phonenumbers.NumberParseException:
                return text
            if not phonenumbers.is_possible_number(number):
                return text
        else:
            return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phones(values: pd.Series, region: str = "IL") -> pd.Series:
    """`normalize_phone` over a column, parsing each distinct value once."""
    s = values.astype("string")
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    normalized = pd.array([normalize_phone(v, region) for v in uniques], dtype="string")
    out = normalized.take(codes, allow_fill=True)
    return pd.Series(out, index=values.index, dtype="string")


def normalize_emails(values: pd.Series) -> pd.Series:
    """Trimmed and lower-cased addresses; empty becomes NA."""
    s = values.astype("string").str.strip().str.lower()
    return s.mask(s == "")
