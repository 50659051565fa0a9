"""Ad spend import: a CSV or Excel export of an ad platform (or our template) in, clean daily spend rows out.

Pure (no Streamlit). The steps, each one a function the Ad spend page calls:

1. `read_file(data, name)` reads the bytes (CSV in UTF-8, UTF-8 with BOM, UTF-16 — Google Ads exports
   UTF-16 tab-separated — or Windows-1255; comma, tab or semicolon separated; or .xlsx) into a `RawTable`:
   the report's title rows above the real header are skipped (the header is the first row with at least two
   recognised column names), and every data row keeps its row number as the user sees it in the file.
2. `guess_mapping(raw)` detects the platform and maps the file's columns to the canonical fields
   `date, utm_source, utm_medium, utm_campaign, spend, currency`; the user may correct every part of it.
3. `apply_mapping(raw, mapping, account_currency=..., rates=...)` gives the clean rows (`date` a
   datetime.date, `utm_source`, `utm_medium`, `utm_campaign` str or None, `spend` float in the account
   currency; rows of the same day × source × medium × campaign in one file are summed) and the per-row
   errors in plain words ("Row 7: the date “32/13/2026” is not a date"). Totals rows are dropped.

Platform exports carry no UTM source: the platform gives it (Meta → facebook / cpc, Google Ads → google /
cpc, TikTok → tiktok / cpc), unless the mapping names a column for it.

Assumption: the column names below are those of each platform's default export as we know them (Meta Ads
Manager: "Day" or "Reporting starts", "Campaign name", "Amount spent (ILS)", Hebrew interface "יום",
"תחילת הדיווח", "שם הקמפיין", "הסכום שהוצא (ILS)"; Google Ads: "Day", "Campaign", "Cost", "Currency code";
TikTok Ads Manager: "Date" or "By Day", "Campaign name", "Cost" or "Total cost", "Currency"). They were not
checked against the platforms' own documents (none could be consulted here); a file whose names differ still
imports once the user picks its columns by hand.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd

FIELDS = ("date", "utm_source", "utm_medium", "utm_campaign", "spend", "currency")
FIELD_LABELS = {
    "date": "Date",
    "utm_source": "UTM source",
    "utm_medium": "UTM medium",
    "utm_campaign": "UTM campaign",
    "spend": "Spend",
    "currency": "Currency",
}
TEMPLATE_COLUMNS = FIELDS

# platform -> (label, utm_source, utm_medium) given to its rows when no column holds them
PLATFORMS: dict[str, tuple[str, str | None, str | None]] = {
    "meta": ("Meta Ads (Facebook, Instagram)", "facebook", "cpc"),
    "google": ("Google Ads", "google", "cpc"),
    "tiktok": ("TikTok Ads", "tiktok", "cpc"),
    "other": ("Other / our template (source and medium from columns)", None, None),
}

# Recognised column names (compared after _norm: NFKC, case-folded, spaces collapsed, a trailing "(XXX)"
# currency code taken off), per canonical field.
_NAMES: dict[str, tuple[str, ...]] = {
    "date": (
        "date", "day", "by day", "stat time day", "יום", "תאריך", "reporting starts", "תחילת הדיווח",
    ),
    "utm_source": ("utm_source", "utm source", "source", "מקור"),
    "utm_medium": ("utm_medium", "utm medium", "medium", "מדיום"),
    "utm_campaign": (
        "utm_campaign", "utm campaign", "campaign name", "campaign", "שם הקמפיין", "קמפיין", "שם קמפיין",
    ),
    "spend": (
        "spend", "amount spent", "cost", "total cost", "הסכום שהוצא", "סכום שהוצא", "עלות", "הוצאה",
    ),
    "currency": ("currency", "currency code", "מטבע", "קוד מטבע"),
}  # fmt: skip
# Names only one platform uses (checked in this order); a file with none of them is "other".
_PLATFORM_MARKS: dict[str, tuple[str, ...]] = {
    "meta": (
        "amount spent",
        "הסכום שהוצא",
        "סכום שהוצא",
        "reporting starts",
        "תחילת הדיווח",
        "reporting ends",
    ),
    "google": ("currency code", "campaign", "קוד מטבע"),
    "tiktok": ("total cost", "by day", "stat time day"),
}
_TOTALS = {"total", "totals", "grand total", "סה״כ", 'סה"כ', "סהכ", "סה'כ", "סך הכל", "סך הכול", "סיכום"}
_SYMBOLS = {
    "₪": "ILS",
    "ש״ח": "ILS",
    'ש"ח': "ILS",
    "שח": "ILS",
    "nis": "ILS",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
}
# ISO 4217 codes in use.
_ISO_4217 = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
    CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF
    GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP
    LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB
    PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL"""
CURRENCIES = frozenset(_ISO_4217.split())
HEADER_SCAN = 30  # rows searched for the header
_CURRENCY_IN_HEADER = re.compile(r"^(.*?)\s*[(\[]\s*([A-Za-z]{3})\s*[)\]]\s*$")


class SpendFileError(ValueError):
    """The file as a whole cannot be read (the message says why, in plain words)."""


@dataclass(frozen=True)
class RawTable:
    """A file's table under its header: `columns` as written in the file, `rows` the cells as read (str,
    number, datetime or None), `row_numbers` each row's number as a spreadsheet shows it (1-based)."""

    name: str
    columns: list[str]
    rows: list[list]
    row_numbers: list[int]
    header_row: int


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds each canonical field (None: none does), and the platform, whose source and medium
    fill rows when no column holds them. `header_currency`: a currency read off the spend column's header
    ("Amount spent (USD)"), used when no column holds the currency."""

    platform: str
    columns: dict[str, str | None]
    header_currency: str | None = None


@dataclass(frozen=True)
class RowError:
    row: int | None  # the row number in the file (None: the file as a whole)
    problem: str


@dataclass
class SpendImport:
    """What a file gives under a mapping: clean rows, per-row errors, and what else the page must show."""

    rows: list[dict] = field(default_factory=list)  # date, utm_source, utm_medium, utm_campaign, spend, rows
    errors: list[RowError] = field(default_factory=list)
    missing_rates: list[str] = field(default_factory=list)  # foreign currencies seen with no rate given
    currencies: list[str] = field(default_factory=list)  # every foreign currency seen (rate given or not)
    totals_dropped: int = 0

    def frame(self) -> pd.DataFrame:
        """The clean rows as a table (for the preview): file row(s), date, source, medium, campaign, spend."""
        columns = ["rows", "date", "utm_source", "utm_medium", "utm_campaign", "spend"]
        return pd.DataFrame(self.rows, columns=columns)

    def errors_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"row": [e.row for e in self.errors], "problem": [e.problem for e in self.errors]}
        ).astype({"row": "Int64", "problem": "string"})


# -- reading a file ------------------------------------------------------------------------------------


def read_file(data: bytes, name: str) -> RawTable:
    """The table in an uploaded file (CSV or .xlsx), from the header row down."""
    if not data:
        raise SpendFileError(f"The file “{name}” is empty.")
    if name.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        grid = _read_xlsx(data, name)
    elif name.lower().endswith(".xls"):
        raise SpendFileError("Old Excel files (.xls) cannot be read: save the file as .xlsx or CSV.")
    else:
        grid = _read_csv(data, name)
    return _table(grid, name)


def _read_xlsx(data: bytes, name: str) -> list[list]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise SpendFileError(f"The file “{name}” is not a readable Excel workbook ({exc}).") from None
    try:
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(min_row=1, values_only=True)]
    finally:
        book.close()


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    sample = data[:200]
    if sample and sample.count(0) > len(sample) // 4:  # UTF-16 without a byte-order mark
        return data.decode("utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1255", errors="replace")  # Hebrew Windows (Excel's "CSV" on a Hebrew PC)


def _read_csv(data: bytes, name: str) -> list[list]:
    text = _decode(data)
    lines = [line for line in text.splitlines()[:HEADER_SCAN] if line.strip()]
    sample = "\n".join(lines)
    delimiter = max(("\t", ",", ";"), key=lambda d: sum(line.count(d) for line in lines[-10:]))
    if not sample or sample.count(delimiter) == 0:
        delimiter = ","
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _norm(text: object) -> str:
    value = unicodedata.normalize("NFKC", str(text)).replace("\u200f", "").replace("\u200e", "")
    return " ".join(value.split()).casefold()


def _split_currency(header: str) -> tuple[str, str | None]:
    """ "Amount spent (USD)" -> ("amount spent", "USD")."""
    m = _CURRENCY_IN_HEADER.match(_norm(header))
    if m and m.group(2).upper() in CURRENCIES:
        return m.group(1).strip(), m.group(2).upper()
    return _norm(header), None


def _field_of(header: object) -> str | None:
    if header is None:
        return None
    base, _ = _split_currency(str(header))
    for name, names in _NAMES.items():
        if base in names:
            return name
    return None


def _table(grid: list[list], name: str) -> RawTable:
    numbered = [(i + 1, row) for i, row in enumerate(grid)]
    header_at = None
    for i, (_, row) in enumerate(numbered[:HEADER_SCAN]):
        if len({f for f in map(_field_of, row) if f}) >= 2:
            header_at = i
            break
    if header_at is None:  # nothing recognised: the first non-empty row is the header
        header_at = next((i for i, (_, row) in enumerate(numbered) if any(_filled(c) for c in row)), None)
    if header_at is None:
        raise SpendFileError(f"The file “{name}” holds no table.")
    number, header = numbered[header_at]
    columns: list[str] = []
    for i, cell in enumerate(header):
        label = str(cell).strip() if _filled(cell) else f"Column {i + 1}"
        while label in columns:
            label += " (2)"
        columns.append(label)
    rows, numbers = [], []
    for n, row in numbered[header_at + 1 :]:
        if not any(_filled(c) for c in row):
            continue
        cells = list(row[: len(columns)]) + [None] * (len(columns) - len(row))
        rows.append(cells)
        numbers.append(n)
    return RawTable(name, columns, rows, numbers, number)


def _filled(cell: object) -> bool:
    return cell is not None and str(cell).strip() != ""


# -- the mapping ---------------------------------------------------------------------------------------


def detect_platform(columns: Iterable[str]) -> str:
    """meta, google, tiktok or other, from the column names a platform's export alone uses."""
    names = {_split_currency(c)[0] for c in columns}
    if "utm_source" in names or "utm source" in names:
        return "other"
    for platform, marks in _PLATFORM_MARKS.items():
        if names & set(marks):
            return platform
    if "campaign name" in names and "cost" in names:  # TikTok's plain export (Meta says "Amount spent")
        return "tiktok"
    return "other"


def guess_mapping(raw: RawTable, platform: str | None = None) -> ColumnMapping:
    """The mapping the file's column names suggest (the first column recognised for each field)."""
    columns: dict[str, str | None] = dict.fromkeys(FIELDS)
    rank: dict[str, int] = {}
    for col in raw.columns:  # the best-known name wins: Meta's "Day" over its "Reporting starts"
        name = _field_of(col)
        if name:
            at = _NAMES[name].index(_split_currency(col)[0])
            if name not in rank or at < rank[name]:
                columns[name], rank[name] = col, at
    spend_col = columns["spend"]
    header_currency = _split_currency(spend_col)[1] if spend_col else None
    return ColumnMapping(platform or detect_platform(raw.columns), columns, header_currency)


def with_columns(mapping: ColumnMapping, platform: str, columns: Mapping[str, str | None]) -> ColumnMapping:
    """The mapping the user corrected: another platform and/or other columns; the header currency follows
    the spend column."""
    cols = {f: columns.get(f) for f in FIELDS}
    spend_col = cols.get("spend")
    return ColumnMapping(platform, cols, _split_currency(spend_col)[1] if spend_col else None)


# -- values --------------------------------------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})(?:[ T].*)?$")
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value: object) -> date | None:
    """A day from ISO (2026-11-01), day-first (01/11/2026, 1.11.26 — Israel's order, also when it could
    be read either way), an Excel date (a date cell or a serial number) or a written one (Nov 1, 2026)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _excel_serial(float(value))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    try:
        if m := _ISO.match(text):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _DMY.match(text):
            year = int(m.group(3))
            return date(year + 2000 if year < 100 else year, int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _excel_serial(float(text))
    if re.search(r"[A-Za-z]{3}", text) and re.search(r"\d{4}", text):
        from dateutil import parser

        try:
            return parser.parse(text, dayfirst=True).date()
        except (ValueError, OverflowError):
            return None
    return None


def _excel_serial(number: float) -> date | None:
    if 20_000 <= number <= 80_000:  # 1954..2119: anything else is not a spend report's day
        return _EXCEL_EPOCH + timedelta(days=int(number))
    return None


def parse_amount(value: object) -> float | None:
    """A number from 1234.5, "1,234.50", "₪ 1,234.50", "1 234,50", "(120.00)" (negative); None if none."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None if pd.isna(value) else float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for symbol in ("₪", "$", "€", "£", "ש״ח", 'ש"ח', "\u200f", "\u200e", "\xa0", " "):
        text = text.replace(symbol, "")
    text = re.sub(r"^[A-Za-z]{3}|[A-Za-z]{3}$", "", text).strip()
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    text = text.replace("\u2212", "-")  # the minus sign
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+,\d{1,2}", text) or re.fullmatch(r"-?\d+,\d{1,2}", text):
        text = text.replace(".", "").replace(",", ".")  # 1.234,50 / 12,50: a decimal comma
    text = text.replace(",", "")
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        return None
    number = float(text)
    return -number if negative else number


def parse_currency(value: object) -> str | None:
    """An ISO code from "usd", "USD", "₪", "ש״ח", "NIS"; None when it is none of these."""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if text.casefold() in _SYMBOLS or text in _SYMBOLS:
        return _SYMBOLS.get(text.casefold(), _SYMBOLS.get(text))
    code = text.upper()
    return code if code in CURRENCIES else None


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text or None


def _shown(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def money(value: float) -> str:
    """-120 -> "−120.00" (a real minus sign) for messages."""
    return f"{value:,.2f}".replace("-", "\u2212")


def _is_totals(row: list, date_index: int | None) -> bool:
    """A totals row: "Total", "Total: Account", "סה״כ"... in the first cell or the date's, where no day is
    (so a campaign named "Total Recall" on a real day is kept)."""
    if date_index is not None and parse_date(row[date_index]) is not None:
        return False
    cells = [row[0]] if row else []
    if date_index is not None:
        cells.append(row[date_index])
    for cell in cells:
        if not _filled(cell) or not isinstance(cell, str):
            continue
        text = _norm(cell).rstrip(":")
        if text in _TOTALS or text.startswith(("total:", "total ", "totals ", "סה״כ", 'סה"כ')):
            return True
    return False


def _range_end(raw: RawTable, mapping: ColumnMapping) -> int | None:
    """The "Reporting ends" column when the date is Meta's "Reporting starts" (a row then covers a range)."""
    date_col = mapping.columns.get("date")
    if not date_col or _split_currency(date_col)[0] not in ("reporting starts", "תחילת הדיווח"):
        return None
    ends = [i for i, c in enumerate(raw.columns) if _norm(c) in ("reporting ends", "סיום הדיווח")]
    return ends[0] if ends else None


# -- applying a mapping --------------------------------------------------------------------------------


def apply_mapping(
    raw: RawTable,
    mapping: ColumnMapping,
    *,
    account_currency: str = "ILS",
    rates: Mapping[str, float] | None = None,
) -> SpendImport:
    """The clean rows and the per-row errors of `raw` read under `mapping`.

    A row in another currency than the account's is converted at `rates[code]` (account currency per unit)
    or refused with a message asking for the rate. Rows of one day × source × medium × campaign are summed
    (an export broken down by ad set or ad has several)."""
    rates = {str(k).upper(): float(v) for k, v in (rates or {}).items() if v and float(v) > 0}
    out = SpendImport()
    index = {f: raw.columns.index(c) if c in raw.columns else None for f, c in mapping.columns.items()}
    if index.get("date") is None:
        out.errors.append(RowError(None, "Choose the column that holds the date."))
    if index.get("spend") is None:
        out.errors.append(RowError(None, "Choose the column that holds the spend."))
    _, default_source, default_medium = PLATFORMS.get(mapping.platform, PLATFORMS["other"])
    if index.get("utm_source") is None and default_source is None:
        out.errors.append(RowError(None, "Choose the platform, or the column that holds the UTM source."))
    if any(e.row is None for e in out.errors):
        return out

    range_end = _range_end(raw, mapping)
    sums: dict[tuple, dict] = {}
    seen_foreign: set[str] = set()
    missing: set[str] = set()
    for n, row in zip(raw.row_numbers, raw.rows, strict=True):
        if _is_totals(row, index["date"]):
            out.totals_dropped += 1
            continue

        def cell(name: str, row: list = row) -> object:
            i = index.get(name)
            return None if i is None else row[i]

        day_cell, spend_cell = cell("date"), cell("spend")
        campaign = _text(cell("utm_campaign"))
        if not _filled(day_cell):
            if _filled(spend_cell) and campaign is None:  # a sum with no date and no campaign: a total
                out.totals_dropped += 1
            else:
                out.errors.append(RowError(n, f"Row {n}: there is no date"))
            continue
        day = parse_date(day_cell)
        if day is None:
            out.errors.append(RowError(n, f"Row {n}: the date “{_shown(day_cell)}” is not a date"))
            continue
        last = parse_date(row[range_end]) if range_end is not None else None
        if last is not None and last != day:
            out.errors.append(
                RowError(
                    n,
                    f"Row {n}: covers {day.isoformat()} to {last.isoformat()}, not one day: export the "
                    "report broken down by day",
                )
            )
            continue
        if not _filled(spend_cell):
            out.errors.append(RowError(n, f"Row {n}: there is no spend"))
            continue
        amount = parse_amount(spend_cell)
        if amount is None:
            out.errors.append(RowError(n, f"Row {n}: the spend “{_shown(spend_cell)}” is not a number"))
            continue
        if amount < 0:
            out.errors.append(RowError(n, f"Row {n}: spend is negative ({money(amount)})"))
            continue
        currency = mapping.header_currency or account_currency
        if _filled(cell("currency")):
            currency = parse_currency(cell("currency"))
            if currency is None:
                shown = _shown(cell("currency"))
                out.errors.append(RowError(n, f"Row {n}: the currency “{shown}” is not a currency code"))
                continue
        if currency != account_currency:
            seen_foreign.add(currency)
            if currency not in rates:
                missing.add(currency)
                out.errors.append(
                    RowError(
                        n,
                        f"Row {n}: currency {currency} is not the account currency {account_currency}: "
                        "enter a rate to convert",
                    )
                )
                continue
            amount *= rates[currency]
        source = _text(cell("utm_source")) or default_source
        medium = _text(cell("utm_medium")) or (default_medium if index.get("utm_source") is None else None)
        key = (day, source, medium, campaign)
        entry = sums.setdefault(
            key,
            {"rows": "", "date": day, "utm_source": source, "utm_medium": medium, "utm_campaign": campaign,
             "spend": 0.0},
        )  # fmt: skip
        entry["spend"] += amount
        entry["rows"] = f"{entry['rows']}, {n}" if entry["rows"] else str(n)
    for entry in sums.values():
        entry["spend"] = round(entry["spend"], 2)
    out.rows = list(sums.values())
    out.currencies = sorted(seen_foreign)
    out.missing_rates = sorted(missing)
    return out


def import_file(
    data: bytes,
    name: str,
    *,
    account_currency: str = "ILS",
    rates: Mapping[str, float] | None = None,
    mapping: ColumnMapping | None = None,
) -> tuple[ColumnMapping, SpendImport]:
    """read_file + guess_mapping (unless `mapping` is given) + apply_mapping, in one call."""
    raw = read_file(data, name)
    mapping = mapping or guess_mapping(raw)
    return mapping, apply_mapping(raw, mapping, account_currency=account_currency, rates=rates)


# -- the template and the hand-edited table ------------------------------------------------------------


def template_csv(account_currency: str = "ILS") -> bytes:
    """Our template: the header and two example rows, UTF-8 with BOM (Excel then shows Hebrew)."""
    lines = [
        ",".join(TEMPLATE_COLUMNS),
        f"2026-11-01,facebook,cpc,black_friday,250.00,{account_currency}",
        f"2026-11-01,google,cpc,מבצע חורף,120.50,{account_currency}",
    ]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def clean_table(frame: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """The rows of the hand-edited spend table (columns date, utm_source, utm_medium, utm_campaign, spend)
    and its problems in plain words ("Line 3: there is no date"); rows left wholly empty are ignored. Two
    lines with the same day × source × medium × campaign are a problem (which one is meant?)."""
    rows, problems, seen = [], [], {}
    for line, rec in enumerate(frame.to_dict("records"), start=1):
        day, amount = rec.get("date"), rec.get("spend")
        texts = {k: _text(rec.get(k)) if not _missing(rec.get(k)) else None for k in FIELDS[1:4]}
        if _missing(day) and _missing(amount) and not any(texts.values()):
            continue
        if _missing(day):
            problems.append(f"Line {line}: there is no date")
            continue
        day = pd.Timestamp(day).date() if not isinstance(day, date) or isinstance(day, datetime) else day
        if _missing(amount):
            problems.append(f"Line {line}: there is no spend")
            continue
        amount = float(amount)
        if amount < 0:
            problems.append(f"Line {line}: spend is negative ({money(amount)})")
            continue
        key = (day, texts["utm_source"], texts["utm_medium"], texts["utm_campaign"])
        if key in seen:
            problems.append(f"Line {line}: the same day, source, medium and campaign as line {seen[key]}")
            continue
        seen[key] = line
        rows.append({"date": day, **texts, "spend": round(amount, 2)})
    return rows, problems


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def monthly_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Spend per calendar month (`month` as "2026-11", `spend`), oldest first, from spend_frame()."""
    if frame.empty:
        return pd.DataFrame({"month": pd.Series(dtype="string"), "spend": pd.Series(dtype="float64")})
    months = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m")
    out = frame.groupby(months)["spend"].sum().round(2).reset_index()
    out.columns = ["month", "spend"]
    return out.astype({"month": "string", "spend": "float64"})


__all__ = [
    "CURRENCIES",
    "FIELDS",
    "FIELD_LABELS",
    "PLATFORMS",
    "ColumnMapping",
    "RawTable",
    "RowError",
    "SpendFileError",
    "SpendImport",
    "apply_mapping",
    "clean_table",
    "detect_platform",
    "guess_mapping",
    "import_file",
    "monthly_totals",
    "parse_amount",
    "parse_currency",
    "parse_date",
    "read_file",
    "template_csv",
    "with_columns",
]
