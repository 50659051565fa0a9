"""Phone and e-mail normalisation: one form to compare and show, E.164 when the number is possible."""

import pandas as pd
import pytest

from lib.contacts import normalize_emails, normalize_phone, normalize_phones
from lib.demo.data import generate_leads


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("050-1234567", "+972501234567"),
        ("0501234567", "+972501234567"),
        ("050 123 4567", "+972501234567"),
        ("+972501234567", "+972501234567"),
        ("+972-50-123-4567", "+972501234567"),
        ("972501234567", "+972501234567"),
        ("(03) 123-4567", "+97231234567"),
        ("+1 212 555 0100", "+12125550100"),
        ("garbage", "garbage"),
        ("12", "12"),
        ("  ", None),
        (None, None),
    ],
)
def test_normalize_phone(raw, e164):
    assert normalize_phone(raw, "IL") == e164


def test_the_column_version_agrees_with_the_library_on_every_demo_spelling():
    from datetime import datetime

    phones = [lead["phone"] for lead in generate_leads(3000, datetime(2026, 11, 1, 12))]
    phones += [
        "+9720501234567",
        "0 50 123 4567",
        "+972 (50) 123-4567",
        "05012345678901",
        "+44 20 7946 0958",
        "x",
    ]
    got = normalize_phones(pd.Series(phones), "IL").tolist()
    assert got == [normalize_phone(p, "IL") for p in phones]


def test_the_column_version_keeps_na_and_index():
    s = pd.Series(["050-1234567", None, "x"], index=[10, 11, 12])
    out = normalize_phones(s, "IL")
    assert out.index.tolist() == [10, 11, 12]
    assert out.tolist()[0] == "+972501234567" and pd.isna(out.tolist()[1]) and out.tolist()[2] == "x"


def test_emails_are_trimmed_and_lower_cased():
    assert normalize_emails(pd.Series([" Dana.Cohen@Gmail.COM ", "", None])).tolist()[:1] == [
        "dana.cohen@gmail.com"
    ]
    assert normalize_emails(pd.Series(["", None])).isna().all()
