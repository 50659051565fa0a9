"""Ad spend: reading each ad platform's export (written by hand here from their column names), bad rows,
currencies, the store's idempotent upsert and upgrade, the LEADS_CURRENCY setting, and the Ad spend page."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import date, datetime

import pandas as pd
import pytest
from openpyxl import Workbook

from lib import spend
from lib.config import load_settings
from lib.errors import ConfigError
from lib.store import SCHEMA_VERSION, Store
from tests.conftest import run_app

NOV1, NOV2, NOV3, NOV4 = (date(2026, 11, d) for d in (1, 2, 3, 4))


def rows_of(result: spend.SpendImport) -> list[tuple]:
    return [(r["date"], r["utm_source"], r["utm_medium"], r["utm_campaign"], r["spend"]) for r in result.rows]


def problems(result: spend.SpendImport) -> list[str]:
    return [e.problem for e in result.errors]


# -- sample exports, typed by hand -----------------------------------------------------------------------

# Meta Ads Manager, English interface, broken down by day: UTF-8 with BOM, the account's currency in the
# spend column's header; "Reporting starts"/"ends" span the whole report, "Day" is each row's day.
META_EN = (
    "\ufeffReporting starts,Reporting ends,Campaign name,Day,Amount spent (ILS),Impressions\r\n"
    '2026-11-01,2026-11-03,Black Friday,2026-11-01,"1,250.40",10234\r\n'
    "2026-11-01,2026-11-03,Black Friday,2026-11-02,980.10,8000\r\n"
    "2026-11-01,2026-11-03,Retargeting,2026-11-02,0,0\r\n"
).encode()

# Meta Ads Manager, Hebrew interface: a merged title row above the header, dates day-first, a totals row.
META_HE = (
    "\ufeffדוח ביצועי קמפיינים,,,\n"
    "שם הקמפיין,יום,הסכום שהוצא (ILS),חשיפות\n"
    "מבצע חורף,01/11/2026,200,500\n"
    "מבצע חורף,02/11/2026,150.5,400\n"
    'קמפיין לידים,02/11/2026,"1,000.00",900\n'
    'סה"כ,,"1,350.50",1800\n'
).encode()

# Google Ads: UTF-16 with BOM, tab-separated, the report's name and date range above the header, and the
# account / network totals at the end.
GOOGLE = (
    "Campaign performance report\n"
    '"November 1, 2026 - November 2, 2026"\n'
    "Day\tCampaign\tCampaign status\tCurrency code\tCost\tClicks\n"
    "2026-11-01\tSearch | Brand\tEnabled\tILS\t310.25\t40\n"
    "2026-11-02\tSearch | Brand\tEnabled\tILS\t289.75\t35\n"
    "2026-11-02\tPMax - חורף\tEnabled\tILS\t1,020.00\t80\n"
    "Total: Account\t--\t--\tILS\t1,620.00\t155\n"
    "Total: Search\t--\t--\tILS\t600.00\t75\n"
).encode("utf-16")

TEMPLATE = (
    b"date,utm_source,utm_medium,utm_campaign,spend,currency\n"
    b"2026-11-01,facebook,cpc,black_friday,250,ILS\n"
    b"2026-11-01,google,cpc,,120.5,\n"
    b"2026-11-02,newsletter,email,nov,40,USD\n"
)


def tiktok_xlsx() -> bytes:
    """TikTok Ads Manager's export as a workbook: one row per ad (two ads of one campaign on Nov 2), a date
    cell, an Excel serial number and a text date, then a Total row."""
    book = Workbook()
    sheet = book.active
    sheet.append(["By Day", "Campaign name", "Ad name", "Total cost", "Currency"])
    sheet.append([datetime(2026, 11, 1), "Leads IL", "Video A", 75.5, "ILS"])
    sheet.append([46328, "Leads IL", "Video A", 60, "ILS"])  # 46023 = 2026-01-01, + 304 (Jan..Oct) + 1
    sheet.append(["2026-11-02", "Leads IL", "Video B", 24.5, "ILS"])
    sheet.append(["Total", None, None, 160, None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- each platform's export ------------------------------------------------------------------------------


def test_meta_english_export_is_mapped_and_read():
    mapping, result = spend.import_file(META_EN, "meta.csv")
    assert mapping.platform == "meta"
    assert mapping.columns == {
        "date": "Day",  # the row's day, not the report's "Reporting starts"
        "utm_source": None,
        "utm_medium": None,
        "utm_campaign": "Campaign name",
        "spend": "Amount spent (ILS)",
        "currency": None,
    }
    assert mapping.header_currency == "ILS"
    assert rows_of(result) == [
        (NOV1, "facebook", "cpc", "Black Friday", 1250.40),
        (NOV2, "facebook", "cpc", "Black Friday", 980.10),
        (NOV2, "facebook", "cpc", "Retargeting", 0.0),
    ]
    assert result.errors == []


def test_meta_hebrew_export_skips_the_title_row_and_the_totals_row():
    raw = spend.read_file(META_HE, "meta-he.csv")
    assert raw.header_row == 2
    mapping = spend.guess_mapping(raw)
    assert mapping.platform == "meta"
    assert (mapping.columns["date"], mapping.columns["utm_campaign"], mapping.columns["spend"]) == (
        "יום",
        "שם הקמפיין",
        "הסכום שהוצא (ILS)",
    )
    result = spend.apply_mapping(raw, mapping, account_currency="ILS")
    assert rows_of(result) == [
        (NOV1, "facebook", "cpc", "מבצע חורף", 200.0),
        (NOV2, "facebook", "cpc", "מבצע חורף", 150.5),  # 02/11/2026 read day-first
        (NOV2, "facebook", "cpc", "קמפיין לידים", 1000.0),
    ]
    assert [r["rows"] for r in result.rows] == ["3", "4", "5"]
    assert result.totals_dropped == 1 and result.errors == []


def test_google_ads_utf16_tsv_with_title_rows_and_totals():
    mapping, result = spend.import_file(GOOGLE, "Campaign performance report.csv")
    assert mapping.platform == "google"
    assert mapping.columns["date"] == "Day" and mapping.columns["currency"] == "Currency code"
    assert mapping.columns["utm_campaign"] == "Campaign" and mapping.columns["spend"] == "Cost"
    assert rows_of(result) == [
        (NOV1, "google", "cpc", "Search | Brand", 310.25),
        (NOV2, "google", "cpc", "Search | Brand", 289.75),
        (NOV2, "google", "cpc", "PMax - חורף", 1020.0),
    ]
    assert [r["rows"] for r in result.rows] == ["4", "5", "6"]  # two title rows, then the header on row 3
    assert result.totals_dropped == 2 and result.errors == []
    # 310.25 + 289.75 + 1,020.00 = 1,620.00, the file's own "Total: Account"
    assert sum(r["spend"] for r in result.rows) == 1620.0


def test_tiktok_xlsx_sums_the_ads_of_one_campaign_day():
    mapping, result = spend.import_file(tiktok_xlsx(), "tiktok.xlsx")
    assert mapping.platform == "tiktok"
    assert mapping.columns["date"] == "By Day" and mapping.columns["spend"] == "Total cost"
    # Nov 2: 60 (serial 46328) + 24.5 (text date) = 84.5, from rows 3 and 4
    assert rows_of(result) == [
        (NOV1, "tiktok", "cpc", "Leads IL", 75.5),
        (NOV2, "tiktok", "cpc", "Leads IL", 84.5),
    ]
    assert [r["rows"] for r in result.rows] == ["2", "3, 4"]
    assert result.totals_dropped == 1 and result.errors == []


def test_our_template_takes_source_and_medium_from_its_columns():
    mapping, result = spend.import_file(TEMPLATE, "template.csv", rates={"USD": 3.7})
    assert mapping.platform == "other"
    assert rows_of(result) == [
        (NOV1, "facebook", "cpc", "black_friday", 250.0),
        (NOV1, "google", "cpc", None, 120.5),  # empty campaign -> None, empty currency -> the account's
        (NOV2, "newsletter", "email", "nov", 148.0),  # 40 USD x 3.7
    ]


def test_the_downloadable_template_imports_as_is():
    mapping, result = spend.import_file(spend.template_csv("ILS"), "ad-spend-template.csv")
    assert mapping.columns == {f: f for f in spend.FIELDS}
    assert rows_of(result) == [
        (NOV1, "facebook", "cpc", "black_friday", 250.0),
        (NOV1, "google", "cpc", "מבצע חורף", 120.5),
    ]


# -- bad rows and currencies -----------------------------------------------------------------------------

BAD = (
    b"date,utm_source,utm_medium,utm_campaign,spend,currency\n"
    b",facebook,cpc,a,10,ILS\n"
    b"32/13/2026,facebook,cpc,a,10,ILS\n"
    b"2026-11-03,facebook,cpc,a,-120,ILS\n"
    b"2026-11-03,facebook,cpc,b,10,XYZ\n"
    b"2026-11-03,facebook,cpc,c,ten,ILS\n"
    b"2026-11-03,facebook,cpc,d,,ILS\n"
    b"2026-11-04,facebook,cpc,e,5,ILS\n"
    b"Totals,,,,5,\n"
)


def test_bad_rows_are_explained_by_their_row_in_the_file():
    _, result = spend.import_file(BAD, "bad.csv")
    assert problems(result) == [
        "Row 2: there is no date",
        "Row 3: the date “32/13/2026” is not a date",
        "Row 4: spend is negative (\u2212120.00)",
        "Row 5: the currency “XYZ” is not a currency code",
        "Row 6: the spend “ten” is not a number",
        "Row 7: there is no spend",
    ]
    assert rows_of(result) == [(NOV4, "facebook", "cpc", "e", 5.0)]
    assert result.totals_dropped == 1
    assert list(result.errors_frame()["row"]) == [2, 3, 4, 5, 6, 7]


def test_a_foreign_currency_is_refused_until_a_rate_is_given():
    _, result = spend.import_file(TEMPLATE, "template.csv")
    assert problems(result) == [
        "Row 4: currency USD is not the account currency ILS: enter a rate to convert"
    ]
    assert result.missing_rates == ["USD"] and result.currencies == ["USD"]
    assert len(result.rows) == 2
    # the spend header's "(USD)" is the currency of a Meta file without a currency column
    _, meta_usd = spend.import_file(META_EN.replace(b"(ILS)", b"(USD)"), "meta.csv", rates={"usd": 3.5})
    # 1,250.40 x 3.5 = 4,376.40; 980.10 x 3.5 = 3,430.35
    assert [r["spend"] for r in meta_usd.rows] == [4376.4, 3430.35, 0.0]
    # in a USD account the same file needs no rate
    _, usd_account = spend.import_file(
        META_EN.replace(b"(ILS)", b"(USD)"), "meta.csv", account_currency="USD"
    )
    assert [r["spend"] for r in usd_account.rows] == [1250.4, 980.1, 0.0] and usd_account.errors == []


def test_a_file_without_the_needed_columns_says_which_to_choose():
    raw = spend.read_file(b"Date,Campaign name,Amount\n2026-11-01,x,10\n", "x.csv")
    mapping = spend.guess_mapping(raw)
    assert mapping.columns["spend"] is None and mapping.platform == "other"
    result = spend.apply_mapping(raw, mapping)
    assert problems(result) == [
        "Choose the column that holds the spend.",
        "Choose the platform, or the column that holds the UTM source.",
    ]
    fixed = spend.with_columns(mapping, "tiktok", {**mapping.columns, "spend": "Amount"})
    assert rows_of(spend.apply_mapping(raw, fixed)) == [(NOV1, "tiktok", "cpc", "x", 10.0)]


def test_unreadable_files_raise_a_plain_error():
    with pytest.raises(spend.SpendFileError, match="is empty"):
        spend.read_file(b"", "empty.csv")
    with pytest.raises(spend.SpendFileError, match="not a readable Excel workbook"):
        spend.read_file(b"PK\x03\x04 not really a zip", "broken.xlsx")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", NOV1),
        ("2026/11/01", NOV1),
        ("2026-11-01 00:00:00", NOV1),
        ("01/11/2026", NOV1),
        ("1.11.26", NOV1),
        ("05/06/2026", date(2026, 6, 5)),  # could be May 6: read day-first, as in Israel
        ("Nov 1, 2026", NOV1),
        (46328, NOV2),
        ("46328", NOV2),
        (datetime(2026, 11, 1, 0, 0), NOV1),
        ("32/13/2026", None),
        ("2026-02-30", None),
        ("soon", None),
        (12, None),
    ],
)
def test_parse_date(text, expected):
    assert spend.parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.50", 1234.5),
        ("₪ 1,234.50", 1234.5),
        ("1.234,50", 1234.5),
        ("12,50", 12.5),
        ("(120.00)", -120.0),
        ("\u2212120", -120.0),
        ("USD 40", 40.0),
        (7, 7.0),
        ("--", None),
    ],
)
def test_parse_amount(text, expected):
    assert spend.parse_amount(text) == expected


# -- the store -------------------------------------------------------------------------------------------


def test_importing_the_same_file_twice_replaces_instead_of_doubling(tmp_path):
    store = Store(tmp_path)
    _, result = spend.import_file(GOOGLE, "google.csv")
    assert store.save_spend(result.rows, source_file="google.csv") == (3, 0)
    assert store.save_spend(result.rows, source_file="google.csv") == (0, 3)
    frame = store.spend_frame()
    assert len(frame) == 3 and frame["spend"].sum() == 1620.0
    # a corrected export: Nov 2 brand cost 289.75 -> 300.00; the total becomes 1,620.00 + 10.25 = 1,630.25
    changed = GOOGLE.decode("utf-16").replace("289.75", "300.00").encode("utf-16")
    _, again = spend.import_file(changed, "google.csv")
    assert store.save_spend(again.rows) == (0, 3)
    frame = store.spend_frame()
    assert len(frame) == 3 and frame["spend"].sum() == 1630.25


def test_spend_frame_columns_and_empty_values(tmp_path):
    store = Store(tmp_path)
    assert list(store.spend_frame().columns) == ["date", "utm_source", "utm_medium", "utm_campaign", "spend"]
    rows = [
        {"date": NOV2, "utm_source": "google", "utm_medium": "cpc", "utm_campaign": None, "spend": 120.5},
        {"date": NOV1, "utm_source": "facebook", "utm_medium": "cpc", "utm_campaign": "bf", "spend": 250.0},
    ]
    store.save_spend(rows)
    # None is one key with '': saving it again replaces it
    assert store.save_spend([{**rows[0], "utm_campaign": "", "spend": 100.0}]) == (0, 1)
    frame = store.spend_frame()
    assert str(frame["date"].dtype) == "datetime64[ns]"
    assert all(str(frame[c].dtype) == "string" for c in ("utm_source", "utm_medium", "utm_campaign"))
    assert str(frame["spend"].dtype) == "float64"
    assert list(frame["date"]) == [pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-02")]
    assert frame["utm_campaign"].iloc[0] == "bf" and pd.isna(frame["utm_campaign"].iloc[1])
    assert list(frame["spend"]) == [250.0, 100.0]


def test_delete_and_replace_the_hand_edited_table(tmp_path):
    store = Store(tmp_path)
    store.save_spend(
        [
            {"date": NOV1, "utm_source": "facebook", "utm_medium": "cpc", "utm_campaign": "a", "spend": 10.0},
            {"date": NOV1, "utm_source": "google", "utm_medium": "cpc", "utm_campaign": None, "spend": 20.0},
        ]
    )
    before = store.version()
    assert store.delete_spend([(NOV1, "google", "cpc", pd.NA)]) == 1
    assert store.version() > before
    assert list(store.spend_frame()["utm_source"]) == ["facebook"]

    edited = store.spend_frame()
    edited.loc[len(edited)] = [pd.Timestamp("2026-11-03"), "tiktok", "cpc", pd.NA, 5.0]
    edited.loc[0, "spend"] = 12.5
    rows, found = spend.clean_table(edited)
    assert found == []
    store.replace_spend_table(rows)
    frame = store.spend_frame()
    assert list(zip(frame["utm_source"], frame["spend"], strict=True)) == [
        ("facebook", 12.5),
        ("tiktok", 5.0),
    ]


def test_clean_table_explains_each_bad_line():
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-01", None, "2026-11-01", "2026-11-02", "2026-11-01", None]),
            "utm_source": ["facebook", "google", "google", "google", "facebook", None],
            "utm_medium": ["cpc"] * 5 + [None],
            "utm_campaign": ["a", None, None, None, "a", None],
            "spend": [10.0, 5.0, -1.0, None, 3.0, None],
        }
    )  # fmt: skip
    rows, found = spend.clean_table(frame)
    assert found == [
        "Line 2: there is no date",
        "Line 3: spend is negative (\u22121.00)",
        "Line 4: there is no spend",
        "Line 5: the same day, source, medium and campaign as line 1",
    ]  # line 6 is empty: ignored
    assert rows == [
        {"date": NOV1, "utm_source": "facebook", "utm_medium": "cpc", "utm_campaign": "a", "spend": 10.0}
    ]


def test_monthly_totals():
    frame = pd.DataFrame(
        {"date": pd.to_datetime(["2026-10-31", "2026-11-01", "2026-11-30"]), "spend": [5.0, 10.25, 20.5]}
    )
    out = spend.monthly_totals(frame)
    assert list(out["month"]) == ["2026-10", "2026-11"]
    assert list(out["spend"]) == [5.0, 30.75]  # 10.25 + 20.5


def test_upgrading_a_schema_2_file_keeps_settings_and_outbox(tmp_path):
    # a dashboard.sqlite3 as schema 2 left it: settings, meta and the outbox with the send-guard columns
    conn = sqlite3.connect(tmp_path / "dashboard.sqlite3")
    conn.executescript(
        """
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lead TEXT NOT NULL, error TEXT NOT NULL,
            state TEXT NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1,
            submission TEXT, owner TEXT, claimed_at REAL, lead_id TEXT);
        CREATE UNIQUE INDEX outbox_submission ON outbox (submission);
        INSERT INTO meta VALUES ('schema', 2), ('version', 7);
        """
    )
    conn.execute("INSERT INTO settings VALUES ('utm_aliases', ?)", (json.dumps({"fb": "facebook"}),))
    conn.execute(
        "INSERT INTO outbox (lead, error, state, created_at, attempts) VALUES (?, 'timeout', 'failed', ?, 2)",
        (json.dumps({"name": "דנה"}, ensure_ascii=False), "2026-11-20T10:00:00+00:00"),
    )
    conn.commit()
    conn.close()

    store = Store(tmp_path)
    assert store.utm_aliases() == {"fb": "facebook"}
    [item] = store.outbox_list()
    assert (item.lead, item.error, item.state, item.attempts) == ({"name": "דנה"}, "timeout", "failed", 2)
    assert store.save_spend([{"date": NOV1, "utm_source": "x", "spend": 1.0}]) == (1, 0)
    schema = store.schema_version()
    assert schema == SCHEMA_VERSION == 6  # 4: sign-in tables; 5: single sign-on e-mails; 6: portable SQL
    store.close()
    assert Store(tmp_path).spend_frame()["spend"].tolist() == [1.0]  # a second open keeps the rows


# -- the setting -----------------------------------------------------------------------------------------


def test_leads_currency_setting():
    assert load_settings(env={}, secrets={}).currency == "ILS"
    assert load_settings(env={"LEADS_CURRENCY": " usd "}, secrets={}).currency == "USD"
    assert load_settings(env={}, secrets={"LEADS_CURRENCY": "EUR"}).currency == "EUR"
    with pytest.raises(ConfigError, match="LEADS_CURRENCY must be a three-letter currency code"):
        load_settings(env={"LEADS_CURRENCY": "shekel"}, secrets={})


# -- the page --------------------------------------------------------------------------------------------


def ad_spend_page(serve_leads):
    serve_leads([])
    at = run_app("pages/ad_spend.py")
    assert at.title[0].value == "Ad spend"
    return at


def selectbox(at, label):
    return next(s for s in at.selectbox if s.label == label)


def click(at, prefix):
    next(b for b in at.button if b.label.startswith(prefix)).click().run()
    assert not at.exception, at.exception


def stored(at) -> pd.DataFrame:
    return at.data_editor[0].value


def test_page_without_spend_offers_the_template(serve_leads):
    at = ad_spend_page(serve_leads)
    assert [i.value for i in at.info] == [
        "No spend is stored yet. Upload an export above, or add rows here by hand."
    ]
    assert len(stored(at)) == 0


def test_page_upload_fix_a_mapping_import_and_import_again(serve_leads):
    at = ad_spend_page(serve_leads)
    file = "Date,Campaign name,Amount,Currency\n2026-11-01,חורף,10,ILS\n2026-11-02,x,2.5,ILS\n".encode()
    at.file_uploader[0].set_value(("export.csv", file, "text/csv")).run()
    assert not at.exception
    assert selectbox(at, "Spend").value == "(none)"
    assert "Choose the column that holds the spend." in [w.value for w in at.warning]
    assert next(b for b in at.button if b.label.startswith("Import")).disabled

    selectbox(at, "Spend").set_value("Amount").run()
    selectbox(
        at, "Platform (gives the UTM source and medium when the file has no column for them)"
    ).set_value("google").run()
    preview = at.dataframe[0].value
    assert list(preview["UTM campaign"]) == ["חורף", "x"] and list(preview["UTM source"]) == ["google"] * 2
    assert list(preview["Spend (ILS)"]) == [10.0, 2.5]

    click(at, "Import 2 rows")
    assert at.success[0].value.startswith("Imported: 2 new rows, 0 replaced")
    assert list(stored(at)["spend"]) == [10.0, 2.5]

    click(at, "Import 2 rows")  # the same file again: replaced, not doubled
    assert at.success[0].value.startswith("Imported: 0 new rows, 2 replaced")
    assert stored(at)["spend"].sum() == 12.5
    months = at.dataframe[-1].value
    assert list(months["Month"]) == ["2026-11"] and list(months["Spend (ILS)"]) == [12.5]


def test_page_asks_for_a_rate_and_shows_row_errors(serve_leads):
    at = ad_spend_page(serve_leads)
    at.file_uploader[0].set_value(("template.csv", TEMPLATE, "text/csv")).run()
    errors = at.dataframe[1].value
    assert list(errors["Row"]) == [4]
    assert list(errors["Problem"]) == [
        "Row 4: currency USD is not the account currency ILS: enter a rate to convert"
    ]
    assert [n.label for n in at.number_input] == ["1 USD = … ILS"]
    at.number_input[0].set_value(3.7).run()
    assert list(at.dataframe[0].value["Spend (ILS)"]) == [250.0, 120.5, 148.0]  # 40 x 3.7 = 148
    click(at, "Import 3 rows")
    assert stored(at)["spend"].sum() == 518.5  # 250 + 120.5 + 148


def test_page_hand_edits_the_stored_spend(serve_leads):
    at = ad_spend_page(serve_leads)
    at.file_uploader[0].set_value(("template.csv", TEMPLATE, "text/csv")).run()
    at.number_input[0].set_value(3.7).run()
    click(at, "Import 3 rows")  # facebook 250, google 120.5, newsletter 148
    key = at.data_editor[0].key
    # a wrong edit (negative spend) saves nothing and says which line
    at.session_state[key] = {"edited_rows": {"1": {"spend": -5.0}}, "added_rows": [], "deleted_rows": []}
    click(at, "Save changes")
    assert at.error[0].value == "Nothing was saved. Fix these lines first:"
    [found] = [d.value for d in at.dataframe if "Problem" in d.value.columns]
    assert list(found["Problem"]) == ["Line 2: spend is negative (\u22125.00)"]
    assert list(stored(at)["spend"]) == [250.0, 120.5, 148.0]
    # change one value, add a row, delete one: the table is stored as edited
    at.session_state[key] = {
        "edited_rows": {"0": {"spend": 99.0}},
        "added_rows": [{"date": "2026-11-05", "utm_source": "yahoo", "spend": 3}],
        "deleted_rows": [2],
    }
    click(at, "Save changes")
    assert at.success[0].value == "Saved: 3 rows of spend."
    table = stored(at)
    assert list(table["utm_source"]) == ["facebook", "google", "yahoo"]
    assert list(table["spend"]) == [99.0, 120.5, 3.0]
    months = at.dataframe[-1].value
    assert list(months["Spend (ILS)"]) == [222.5]  # 99 + 120.5 + 3


def test_page_explains_an_unreadable_file_as_plain_text(serve_leads):
    at = ad_spend_page(serve_leads)
    at.file_uploader[0].set_value(
        ("**bold** [x](http://evil).xlsx", b"PK\x03\x04 broken", "application/zip")
    ).run()
    assert not at.exception
    message = at.error[0].value
    assert message.startswith(
        "The file “\\*\\*bold\\*\\* \\[x\\]\\(http\\:"
    )  # shown literally, not as Markdown
    assert not [b for b in at.button if b.label.startswith("Import")]


@pytest.mark.parametrize(
    ("columns", "platform"),
    [
        (["יום", "קמפיין", "עלות", "קוד מטבע"], "google"),  # Google Ads, Hebrew interface
        (["Campaign name", "Day", "Amount spent (USD)"], "meta"),
        (["Date", "Campaign name", "Cost", "Currency"], "tiktok"),
        (["date", "utm_source", "utm_medium", "utm_campaign", "spend"], "other"),
        (["Date", "Amount"], "other"),
    ],
)
def test_detect_platform(columns, platform):
    assert spend.detect_platform(columns) == platform


def test_meta_without_a_day_column_refuses_rows_that_span_days():
    # "Reporting starts"/"Reporting ends" are the only dates: a row of Nov 1..3 is three days' spend in one
    data = (
        b"Campaign name,Reporting starts,Reporting ends,Amount spent (ILS)\n"
        b"Black Friday,2026-11-01,2026-11-01,100\n"
        b"Black Friday,2026-11-01,2026-11-03,300\n"
    )
    mapping, result = spend.import_file(data, "meta.csv")
    assert mapping.columns["date"] == "Reporting starts"
    assert rows_of(result) == [(NOV1, "facebook", "cpc", "Black Friday", 100.0)]
    assert problems(result) == [
        "Row 3: covers 2026-11-01 to 2026-11-03, not one day: export the report broken down by day"
    ]


def test_a_campaign_named_total_on_a_real_day_is_kept():
    data = (
        "שם הקמפיין,יום,הסכום שהוצא (ILS)\nTotal Recall,2026-11-01,50\nסה״כ מבצעים,2026-11-01,25\nסה״כ,,75\n"
    ).encode()
    _, result = spend.import_file(data, "meta-he.csv")
    assert rows_of(result) == [
        (NOV1, "facebook", "cpc", "Total Recall", 50.0),
        (NOV1, "facebook", "cpc", "סה״כ מבצעים", 25.0),
    ]
    assert result.totals_dropped == 1
