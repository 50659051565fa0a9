"""CSV export: formula-like cells are neutralised; numbers, dates and Hebrew survive."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.export import neutralize, to_csv

BOM = "\ufeff"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+972501234567", "+972501234567"),  # a phone in international form: no apostrophe
        ("+1 212-555-0123", "+1 212-555-0123"),
        ("+1+cmd", "'+1+cmd"),  # a + followed by more than digits, spaces and dashes is a formula
        ("+2*3", "'+2*3"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+2", "'\t=1+2"),
        ("\r=1+2", "'\r=1+2"),
        ("Dana =1", "Dana =1"),  # a formula sign later in the text is harmless
        ("דנה כהן", "דנה כהן"),
        ("", ""),
        ("'=already quoted", "'=already quoted"),
    ],
)
def test_neutralize_text(cell, expected):
    assert neutralize(cell) == expected


@pytest.mark.parametrize("value", [-5, -1.5, 0, 3, 2.25, None, pd.NA])
def test_neutralize_leaves_non_text_alone(value):
    assert neutralize(value) is value


def test_csv_neutralises_text_columns_of_every_text_dtype():
    frame = pd.DataFrame(
        {
            "object": ["=a", "ok"],
            "string": pd.array(["+b", "ok"], dtype="string"),
            "category": pd.Categorical(["@c", "ok"]),
            "minus": ["-d", "ok"],
        }
    )
    assert to_csv(frame).decode("utf-8-sig") == "object,string,category,minus\n'=a,'+b,'@c,'-d\nok,ok,ok,ok\n"


def test_csv_keeps_numbers_and_dates_as_they_are():
    frame = pd.DataFrame(
        {
            "leads": [-3, 12],
            "rate": [-0.25, 0.5],
            "stage": pd.array([1, None], dtype="Int64"),
            "created": pd.to_datetime(["2024-03-01 08:05", "2024-12-31 23:59"]).tz_localize("Asia/Jerusalem"),
        }
    )
    assert to_csv(frame).decode("utf-8-sig") == (
        "leads,rate,stage,created\n-3,-0.25,1,2024-03-01 08:05\n12,0.5,,2024-12-31 23:59\n"
    )


def test_csv_starts_with_a_bom_and_keeps_hebrew_and_emoji():
    frame = pd.DataFrame({"status": ["🎉 הומר ללקוח"], "name": ["דנה כהן"], "leads": [2]})
    data = to_csv(frame)
    assert data.startswith(BOM.encode())
    assert data == (BOM + "status,name,leads\n🎉 הומר ללקוח,דנה כהן,2\n").encode("utf-8")


def test_csv_quotes_a_cell_with_a_comma_or_a_newline():
    frame = pd.DataFrame({"name": ["Cohen, Dana", "two\nlines", "=x,y"]})
    assert to_csv(frame).decode("utf-8-sig") == 'name\n"Cohen, Dana"\n"two\nlines"\n"\'=x,y"\n'


def test_csv_of_an_empty_table_is_its_header():
    assert to_csv(pd.DataFrame({"a": pd.Series([], dtype="string"), "b": []})) == (BOM + "a,b\n").encode()


def test_csv_does_not_change_the_frame_it_is_given():
    frame = pd.DataFrame({"name": ["=x"]})
    to_csv(frame)
    assert frame["name"].tolist() == ["=x"]
