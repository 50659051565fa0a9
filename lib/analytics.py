"""The dashboard's numbers: pure pandas functions, a canonical frame in, a small DataFrame (or dict) out.

No Streamlit here. Every function works on the few distinct values of a column (categorical codes,
integer keys, ``np.bincount``) rather than on a million strings, so a million leads take milliseconds.

Conventions shared by every function:
- ``leads`` is a canonical leads frame (``lib.schema``), ``statuses`` a status catalogue with ``role`` and
  ``stage`` filled in (``lib.roles.with_default_roles`` or the user's overrides).
- A lead whose ``status_id`` is missing or not in the catalogue counts as an **open** lead at the first
  funnel stage (it exists, we just do not know where it stands); ``status_breakdown`` lists it on its own row.
- Time is stored in UTC and bucketed in the display time zone ``tz``; a date bound means whole days there.
  Weeks start on **Sunday** (the Israeli working week), months on the 1st.
- Missing or empty UTM values read ``(none)``; a missing owner reads ``(unassigned)``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from lib.schema import DEFAULT_STAGES, ROLES, UTM_FIELDS

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


# --------------------------------------------------------------------------------------------------
# Time: whole days in the display time zone
# --------------------------------------------------------------------------------------------------


def _midnight_utc(day: date, tz: str) -> int:
    """The UTC instant (ns) at which ``day`` starts in ``tz``."""
    ts = pd.Timestamp(day).tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    return ts.tz_convert("UTC").as_unit("ns").value


def _midnights_utc(first: date, last: date, tz: str) -> np.ndarray:
    """UTC instants (ns) at which each day ``first..last`` starts in ``tz``."""
    days = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D").as_unit("ns")
    local = days.tz_localize(tz, ambiguous=np.zeros(len(days), dtype=bool), nonexistent="shift_forward")
    return local.tz_convert("UTC").asi8


def _local_date(ns: int, tz: str) -> date:
    return pd.Timestamp(ns, tz="UTC").tz_convert(tz).date()


def _data_dates(v: np.ndarray, tz: str) -> tuple[date, date] | None:
    """First and last local creation day in ``v`` (None when every value is NaT)."""
    valid = v[v != _NAT] if (v == _NAT).any() else v
    if valid.size == 0:
        return None
    return _local_date(int(valid.min()), tz), _local_date(int(valid.max()), tz)


def _local_day(v: np.ndarray, tz: str, first: date, last: date) -> np.ndarray:
    """Per instant: 1 + its local day's offset from ``first`` (1..n); 0 before ``first``, n + 1 after ``last``
    or NaT. O(1) per value: a fixed-offset guess, then one correction against the true local midnights
    (a DST shift moves the guess by at most one day)."""
    n = (last - first).days + 1
    edges = _midnights_utc(first - timedelta(days=1), last + timedelta(days=2), tz)  # n + 3 midnights
    base = (pd.Timestamp(first) - pd.Timestamp("1970-01-01")).days - 1  # epoch day of edges[0]'s date
    offset = (base + 1) * _DAY_NS - int(edges[1])  # local minus UTC at the first day's midnight
    nat = v == _NAT
    with np.errstate(over="ignore"):
        g = (v + offset) // _DAY_NS - base
    np.clip(g, 0, n + 1, out=g)
    g -= v < edges[g]
    g += v >= edges[g + 1]
    np.clip(g, 0, n + 1, out=g)
    g[nat] = n + 1
    return g


def _bucket_starts(first: date, last: date, freq: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Bucket starts (tz-naive, local) covering ``first..last`` and each day's bucket index."""
    days = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D").as_unit("ns")
    if freq == "D":
        starts = days
    elif freq == "W":  # Sunday-start weeks: Python's weekday() is Monday 0 .. Sunday 6
        starts = days - pd.to_timedelta((days.day_of_week + 1) % 7, unit="D")
    else:
        starts = days - pd.to_timedelta(days.day - 1, unit="D")
    periods = pd.DatetimeIndex(starts.unique()).as_unit("ns")
    return periods, periods.get_indexer(starts)


def _check_freq(freq: str) -> str:
    f = str(freq).upper()[:1]
    if f not in FREQS:
        raise ValueError(f"freq must be one of {FREQS}, got {freq!r}")
    return f


def _buckets(
    leads: pd.DataFrame, freq: str, tz: str, start: date | None, end: date | None
) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Per lead its bucket index (-1 when outside start..end or undated) and the bucket starts.

    Without bounds the range is the first..last local creation day in the data."""
    v = _ns(leads["created_at"])
    if start is None or end is None:
        span = _data_dates(v, tz)
        if span is None:
            return np.full(len(v), -1, dtype=np.int64), pd.DatetimeIndex([], dtype="datetime64[ns]")
        start = span[0] if start is None else start
        end = span[1] if end is None else end
    if start > end:
        return np.full(len(v), -1, dtype=np.int64), pd.DatetimeIndex([], dtype="datetime64[ns]")
    periods, day_bucket = _bucket_starts(start, end, freq)
    lut = np.concatenate(([-1], day_bucket, [-1])).astype(np.int64)
    return lut[_local_day(v, tz, start, end)], periods


def in_period(leads: pd.DataFrame, start: date | None, end: date | None, tz: str) -> pd.DataFrame:
    """Leads created on the whole days ``start..end`` (inclusive) in time zone ``tz``.

    Either bound may be None (open-ended). With any bound given, leads without ``created_at`` are left
    out; with none, ``leads`` is returned as is. Returns the same columns as ``leads``."""
    if start is None and end is None:
        return leads
    v = _ns(leads["created_at"])
    mask = v != _NAT
    if start is not None:
        mask &= v >= _midnight_utc(start, tz)
    if end is not None:
        mask &= v < _midnight_utc(end + timedelta(days=1), tz)
    return leads[mask]


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def period_kpis(leads: pd.DataFrame, statuses: pd.DataFrame, start: date, end: date, tz: str) -> dict:
    """Headline numbers for the days ``start..end`` in ``tz`` and for the previous period of equal length.

    Returns a dict with ``leads, won, junk, conversion_rate, junk_rate`` (leads created in the period;
    ``won``/``junk`` = those whose status role is won/junk *now*; ``conversion_rate = won / (leads - junk)``
    and ``junk_rate = junk / leads``, each None when its denominator is 0), the same five keys with the
    suffix ``_prev`` for the previous period, and ``prev_start``, ``prev_end`` (dates; the previous period
    ends the day before ``start``)."""
    days = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=days - 1)
    v = _ns(leads["created_at"])
    roles = _lead_roles(leads, statuses)
    out: dict = {}
    for suffix, lo, hi in (("", start, end), ("_prev", prev_start, prev_end)):
        mask = (v >= _midnight_utc(lo, tz)) & (v < _midnight_utc(hi + timedelta(days=1), tz)) & (v != _NAT)
        counts = np.bincount(roles[mask], minlength=len(ROLES))
        n, won, junk = int(mask.sum()), int(counts[_WON]), int(counts[_JUNK])
        out["leads" + suffix] = n
        out["won" + suffix] = won
        out["junk" + suffix] = junk
        out["conversion_rate" + suffix] = _ratio(won, n - junk)
        out["junk_rate" + suffix] = _ratio(junk, n)
    out["prev_start"] = prev_start
    out["prev_end"] = prev_end
    return out


# --------------------------------------------------------------------------------------------------
# Dimensions: integer codes for "role", "channel", a UTM field (normalised) or any lead column
# --------------------------------------------------------------------------------------------------


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


def leads_over_time(
    leads: pd.DataFrame,
    freq: str = "D",
    tz: str = "Asia/Jerusalem",
    by: str | None = None,
    start: date | None = None,
    end: date | None = None,
    statuses: pd.DataFrame | None = None,
    aliases: Mapping | None = None,
) -> pd.DataFrame:
    """New leads per day (``freq="D"``), week (``"W"``, weeks start on Sunday) or month (``"M"``).

    Leads are bucketed by ``created_at`` in the display time zone ``tz``. ``start``/``end`` (dates,
    inclusive, whole days in ``tz``) limit the leads counted and fix the range of buckets; without them the
    range is the first..last creation day in the data. Every bucket in the range is present, 0 when empty
    (the first bucket may start before ``start``: a week is labelled by its Sunday, a month by its 1st).

    ``by`` splits the counts: a lead column (UTM fields are normalised with ``aliases``), ``"role"``
    (needs ``statuses``) or ``"channel"``. Then every bucket × every value that has leads in the range.

    Returns columns ``period`` (tz-naive Timestamp: the bucket's first local day), [``by``], ``leads``
    (int64), sorted by period (then by the dimension's order)."""
    f = _check_freq(freq)
    bucket, periods = _buckets(leads, f, tz, start, end)
    nb = len(periods)
    if by is None:
        counts = np.bincount(bucket + 1, minlength=nb + 1)[1:]
        return pd.DataFrame({"period": periods, "leads": counts.astype(np.int64)})
    codes, labels = _dimension(leads, by, statuses, aliases)
    k = len(labels)
    key = np.where(bucket >= 0, bucket * k + codes, -1)
    counts = np.bincount(key + 1, minlength=nb * k + 1)[1:].reshape(nb, k)
    keep = np.flatnonzero(counts.sum(axis=0) > 0)
    grid = counts[:, keep]
    return pd.DataFrame(
        {
            "period": np.repeat(periods.to_numpy(), len(keep)),
            by: np.tile(np.asarray(labels, dtype=object)[keep], nb),
            "leads": grid.reshape(-1).astype(np.int64),
        }
    )


# --------------------------------------------------------------------------------------------------
# UTM hygiene
# --------------------------------------------------------------------------------------------------

# Raw value (already normalised: NFKC, trimmed, single spaces, case-folded) → canonical source.
DEFAULT_UTM_ALIASES: dict[str, str] = {
    # Facebook
    "fb": "facebook",
    "facebook.com": "facebook",
    "www.facebook.com": "facebook",
    "m.facebook.com": "facebook",
    "l.facebook.com": "facebook",
    "lm.facebook.com": "facebook",
    "facebook ads": "facebook",
    "fb ads": "facebook",
    "פייסבוק": "facebook",
    "פייסבוק ממומן": "facebook",
    "פיסבוק": "facebook",
    # Instagram
    "ig": "instagram",
    "insta": "instagram",
    "instagram.com": "instagram",
    "www.instagram.com": "instagram",
    "l.instagram.com": "instagram",
    "אינסטגרם": "instagram",
    "אינסטגראם": "instagram",
    # Google
    "google.com": "google",
    "www.google.com": "google",
    "google.co.il": "google",
    "www.google.co.il": "google",
    "google ads": "google",
    "googleads": "google",
    "adwords": "google",
    "גוגל": "google",
    # Other search engines
    "bing.com": "bing",
    "www.bing.com": "bing",
    # TikTok
    "tik tok": "tiktok",
    "tik-tok": "tiktok",
    "tiktok.com": "tiktok",
    "www.tiktok.com": "tiktok",
    "טיקטוק": "tiktok",
    "טיק טוק": "tiktok",
    # YouTube
    "yt": "youtube",
    "youtube.com": "youtube",
    "www.youtube.com": "youtube",
    "m.youtube.com": "youtube",
    "youtu.be": "youtube",
    "יוטיוב": "youtube",
    # WhatsApp
    "wa": "whatsapp",
    "wa.me": "whatsapp",
    "whatsapp.com": "whatsapp",
    "web.whatsapp.com": "whatsapp",
    "וואטסאפ": "whatsapp",
    "ווטסאפ": "whatsapp",
    "וואצאפ": "whatsapp",
    # LinkedIn / Twitter
    "linkedin.com": "linkedin",
    "www.linkedin.com": "linkedin",
    "lnkd.in": "linkedin",
    "לינקדאין": "linkedin",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "t.co": "twitter",
    # Email
    "e-mail": "email",
    "e_mail": "email",
    "e mail": "email",
    "mail": "email",
    "newsletter": "email",
    "מייל": "email",
    "אימייל": "email",
    "דיוור": "email",
    "ניוזלטר": "email",
    # Direct
    "(direct)": "direct",
    "ישיר": "direct",
}
# Values that mean "no value" once normalised.
MISSING_UTM_VALUES = frozenset({"", "null", "none", "(none)", "(not set)", "not set", "undefined", "nan"})
# Invisible characters that ride along with copy-pasted Hebrew text (bidi marks, zero-width spaces, BOM).
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
)


@lru_cache(maxsize=65536)
def normalize_text(value: str) -> str:
    """One UTM value normalised: NFKC, invisible bidi/zero-width marks dropped, trimmed, runs of
    whitespace collapsed to one space, case-folded; a "no value" spelling becomes ``(none)``."""
    text = " ".join(unicodedata.normalize("NFKC", value).translate(_INVISIBLE).split()).casefold()
    return NONE if text in MISSING_UTM_VALUES else text


def _alias_map(aliases: Mapping[str, str] | None) -> dict[str, str]:
    if aliases is None:
        return _DEFAULT_ALIAS_MAP
    return {normalize_text(str(k)): normalize_text(str(v)) for k, v in aliases.items()}


_DEFAULT_ALIAS_MAP: dict[str, str] = {}
_DEFAULT_ALIAS_MAP.update(_alias_map(DEFAULT_UTM_ALIASES))


def normalize_value(value, aliases: Mapping[str, str] | None = None) -> str:
    """One raw UTM value → its normalised, alias-resolved form (``(none)`` for missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return NONE
    text = normalize_text(str(value))
    return _alias_map(aliases).get(text, text)


def _normalized_codes(values: pd.Series, aliases: Mapping[str, str] | None) -> tuple[np.ndarray, list[str]]:
    """Per value a code into sorted normalised labels (``(none)`` last, only when present)."""
    codes, raw = _codes_and_labels(values)
    amap = _alias_map(aliases)
    norm = []
    for r in raw:
        t = normalize_text(str(r))
        norm.append(amap.get(t, t))
    labels = sorted(set(norm) - {NONE})
    if NONE in norm or (codes < 0).any():
        labels.append(NONE)
    index = {lab: i for i, lab in enumerate(labels)}
    lut = np.array([index[x] for x in norm] + [index.get(NONE, -1)], dtype=np.int64)
    return lut[codes], labels


def normalize_utm(series: pd.Series, aliases: Mapping[str, str] | None = None) -> pd.Series:
    """A UTM column normalised (see ``normalize_text``) and mapped through ``aliases``.

    ``aliases`` maps a raw value to its canonical name; keys and values are normalised the same way, so
    ``{"FB": "Facebook"}`` works and the output is always case-folded. None means
    ``DEFAULT_UTM_ALIASES``; a dict replaces them (merge with ``{**DEFAULT_UTM_ALIASES, **user}``).
    Missing values become ``(none)``. Returns a categorical Series with string categories (sorted,
    ``(none)`` last), same index; the work is done once per distinct value."""
    codes, labels = _normalized_codes(series, aliases)
    cats = pd.Index(labels, dtype="string")
    return pd.Series(pd.Categorical.from_codes(codes, categories=cats), index=series.index, name=series.name)


def utm_quality(
    leads: pd.DataFrame, aliases: Mapping[str, str] | None = None, fields: Iterable[str] = UTM_FIELDS
) -> pd.DataFrame:
    """The UTM data-quality table: every raw value of each field, how many leads carry it and what it
    normalises to, so marketing can spot typos and unmapped spellings.

    Returns columns ``field, raw_value`` (NA for a missing value), ``leads`` (int64), ``normalized``;
    sorted by field (in ``fields`` order), then normalised value (``(none)`` last), then most leads first."""
    amap = _alias_map(aliases)
    parts = []
    for field in fields:
        codes, raw = _codes_and_labels(leads[field])
        counts = np.bincount(codes + 1, minlength=len(raw) + 1)
        raw_values = [pd.NA, *raw]
        norm = [NONE] + [amap.get(normalize_text(str(r)), normalize_text(str(r))) for r in raw]
        keep = np.flatnonzero(counts)
        parts.append(
            pd.DataFrame(
                {
                    "field": field,
                    "raw_value": pd.array([raw_values[i] for i in keep], dtype="string"),
                    "leads": counts[keep].astype(np.int64),
                    "normalized": [norm[i] for i in keep],
                }
            )
        )
    if not parts:
        return pd.DataFrame({"field": [], "raw_value": [], "leads": [], "normalized": []})
    out = pd.concat(parts, ignore_index=True)
    order = {f: i for i, f in enumerate(fields)}
    out["_f"] = out["field"].map(order)
    out["_n"] = out["normalized"] == NONE  # "(none)" last in each field, as in normalize_utm
    keys = ["_f", "_n", "normalized", "leads"]
    out = out.sort_values(keys, ascending=[True, True, True, False], kind="stable")
    return out.drop(columns=["_f", "_n"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# Channels (GA4-spirit default channel grouping)
# --------------------------------------------------------------------------------------------------

CHANNELS = (
    "Direct",
    "Organic Search",
    "Paid Search",
    "Organic Social",
    "Paid Social",
    "Email",
    "Referral",
    "Display",
    "Affiliates",
    "Unassigned",
)
SEARCH_SOURCES = frozenset(
    {"google", "bing", "yahoo", "duckduckgo", "yandex", "baidu", "ecosia", "naver", "ask", "aol", "msn"}
)
SOCIAL_SOURCES = frozenset(
    {"facebook", "instagram", "tiktok", "linkedin", "twitter", "pinterest", "snapchat", "youtube", "whatsapp",
     "telegram", "reddit", "threads", "messenger", "vimeo", "tumblr", "quora", "discord"}
)  # fmt: skip
SOCIAL_MEDIA = frozenset({"social", "social-network", "social-media", "sm", "social network", "social media",
                          "סושיאל", "רשתות חברתיות"})  # fmt: skip
DISPLAY_MEDIA = frozenset({"display", "banner", "banners", "expandable", "interstitial", "cpm", "באנר"})
EMAIL_MEDIA = frozenset({"email", "e-mail", "e_mail", "e mail", "newsletter", "mail"})
REFERRAL_MEDIA = frozenset({"referral", "app", "link"})
AFFILIATE_MEDIA = frozenset({"affiliate", "affiliates", "שותפים"})
DIRECT_MEDIA = frozenset({NONE, "direct"})
_PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*|sponsored|ads?|ממומן)$")
_PAID_WORDS = re.compile(r"(?<![a-z])(cpc|ppc|paid|ads|sponsored)(?![a-z])|ממומן")
_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//")
_SEARCH_HOST = re.compile(r"(?:^|\.)(" + "|".join(sorted(SEARCH_SOURCES)) + r")\.[a-z.]+$")
_SOCIAL_HOST = re.compile(r"(?:^|\.)(" + "|".join(sorted(SOCIAL_SOURCES)) + r")\.[a-z.]+$")


def referrer_host(referrer) -> str:
    """The host of a referrer URL, lower-cased, without ``www.`` or port ("" when none)."""
    if referrer is None or referrer is pd.NA or (isinstance(referrer, float) and math.isnan(referrer)):
        return ""
    text = str(referrer).strip().casefold()
    text = _HOST.sub("", text)
    host = re.split(r"[/?#]", text, maxsplit=1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    return host.removeprefix("www.")


def _source_kind(src: str) -> str:
    """ "search", "social" or "" for a normalised source (a name or a host)."""
    if src in SEARCH_SOURCES or _SEARCH_HOST.search(src):
        return "search"
    if src in SOCIAL_SOURCES or _SOCIAL_HOST.search(src):
        return "social"
    return ""


@lru_cache(maxsize=65536)
def _channel_rule(src: str, raw_src: str, med: str, paid_campaign: bool, host: str) -> str:
    if src == NONE and host:  # no UTM source: fall back on the referrer, as analytics tools do
        src = _DEFAULT_ALIAS_MAP.get(host, host)
        if med == NONE:
            med = "referral"
    if src in ("direct", "(direct)") and med in DIRECT_MEDIA:
        return "Direct"
    if src == NONE and med == NONE and not paid_campaign:
        return "Direct"
    kind = _source_kind(src)
    paid = bool(_PAID_MEDIUM.match(med)) or paid_campaign or bool(_PAID_WORDS.search(raw_src))
    if kind == "search" and paid:
        return "Paid Search"
    if kind == "social" and paid:
        return "Paid Social"
    if med in DISPLAY_MEDIA:
        return "Display"
    if kind == "social" or med in SOCIAL_MEDIA:
        return "Organic Social"
    if kind == "search" or med == "organic":
        return "Organic Search"
    if med in REFERRAL_MEDIA:
        return "Referral"
    if src == "email" or med in EMAIL_MEDIA:
        return "Email"
    if med in AFFILIATE_MEDIA:
        return "Affiliates"
    return "Unassigned"


def channel_of(source=None, medium=None, campaign=None, referrer=None, aliases=None) -> str:
    """The default channel of one lead from its raw UTM source, medium, campaign and referrer.

    Ordered rules, first match wins, case-insensitive (values normalised as in ``normalize_utm``; the
    source and medium go through the aliases first, so "פייסבוק" is facebook):

    1. No UTM source but a referrer: the referrer's host stands in for the source (aliases apply) and a
       missing medium reads "referral".
    2. **Direct** — source "direct"/"(direct)" with no medium, or no source, medium, campaign or referrer.
    3. paid = medium matches ``^(.*cp.*|ppc|retargeting|paid.*|sponsored|ads?|ממומן)$``, or the campaign or
       the raw source mentions cpc/ppc/paid/ads/sponsored/ממומן.
    4. **Paid Search** — a search-engine source and paid. 5. **Paid Social** — a social source and paid.
    6. **Display** — medium display/banner/cpm/interstitial/expandable.
    7. **Organic Social** — a social source or a social medium. 8. **Organic Search** — a search-engine
       source or medium "organic". 9. **Referral** — medium referral/app/link.
    10. **Email** — source or medium email (after aliases: mail, newsletter, מייל, ...).
    11. **Affiliates** — medium affiliate. 12. otherwise **Unassigned**.
    """
    amap = _alias_map(aliases)
    raw_src = normalize_value(source, {})
    src = amap.get(raw_src, raw_src)
    med = normalize_value(medium, aliases)
    camp = normalize_value(campaign, {})
    paid_campaign = camp != NONE and bool(_PAID_WORDS.search(camp))
    return _channel_rule(src, raw_src, med, paid_campaign, referrer_host(referrer))


def channel(leads: pd.DataFrame, aliases: Mapping[str, str] | None = None) -> pd.Series:
    """The default channel of every lead (rules in ``channel_of``), from ``utm_source``, ``utm_medium``,
    ``utm_campaign`` and ``referrer``. Returns a categorical Series with the ``CHANNELS`` categories, same
    index as ``leads``. Rules run once per distinct (source, medium, paid campaign, referrer host)."""
    n = len(leads)
    amap = _alias_map(aliases)
    # source: raw normalised (for paid words) and alias-resolved, per category
    s_codes, s_raw = _codes_and_labels(leads["utm_source"])
    s_norm_raw = [normalize_text(str(x)) for x in s_raw] + [NONE]
    m_codes, m_labels = _normalized_codes(leads["utm_medium"], aliases)
    c_codes, c_raw = _codes_and_labels(leads["utm_campaign"])
    c_paid = np.array(
        [bool(_PAID_WORDS.search(normalize_text(str(x)))) for x in c_raw] + [False], dtype=np.int64
    )
    # referrer only matters where there is no source: factorise those rows' hosts
    src_missing_cat = np.array([x == NONE for x in s_norm_raw], dtype=bool)
    missing = src_missing_cat[s_codes]
    r_codes = np.zeros(n, dtype=np.int64)
    hosts = [""]
    if "referrer" in leads and missing.any():
        ref = leads["referrer"][missing]
        rc, ru = _codes_and_labels(ref)
        host_of = [referrer_host(x) for x in ru]
        hosts_u = sorted(set(host_of) - {""})
        hosts = ["", *hosts_u]
        hidx = {h: i for i, h in enumerate(hosts)}
        lut = np.array([hidx[h] for h in host_of] + [0], dtype=np.int64)
        r_codes[missing] = lut[rc]
    ns, nm, nr = len(s_norm_raw), len(m_labels), len(hosts)
    key = (s_codes.astype(np.int64) % ns) * nm  # code -1 (NA) → the last slot
    key += m_codes
    key *= 2
    key += c_paid[c_codes]
    key *= nr
    key += r_codes
    size = ns * nm * 2 * nr
    if size <= 1 << 24:
        present = np.flatnonzero(np.bincount(key, minlength=size))
        inverse = None
    else:
        inverse, present = pd.factorize(key)
    chan_index = {c: i for i, c in enumerate(CHANNELS)}
    group_codes = np.empty(len(present), dtype=np.int8)
    for j, k in enumerate(present.tolist()):
        k, r = divmod(k, nr)
        k, cp = divmod(k, 2)
        si, mi = divmod(k, nm)
        raw = s_norm_raw[si]
        group_codes[j] = chan_index[_channel_rule(amap.get(raw, raw), raw, m_labels[mi], bool(cp), hosts[r])]
    if inverse is None:
        lut = np.zeros(size, dtype=np.int8)
        lut[present] = group_codes
        codes = lut[key]
    else:
        codes = group_codes[inverse]
    cats = pd.CategoricalDtype(pd.Index(CHANNELS, dtype="string"), ordered=False)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=cats), index=leads.index, name="channel")


# --------------------------------------------------------------------------------------------------
# Statuses
# --------------------------------------------------------------------------------------------------


def _status_rows(
    leads: pd.DataFrame, statuses: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The catalogue rows to show (active, or holding leads), per lead its catalogue row (-1 unknown)
    and the per-row counts (index 0 = unknown, then catalogue rows)."""
    cat = _catalogue(statuses)
    pos = _catalogue_positions(leads, cat)
    counts = np.bincount(pos + 1, minlength=len(cat) + 1)
    active = (
        cat["is_active"].fillna(True).astype(bool).to_numpy()
        if "is_active" in cat
        else np.ones(len(cat), bool)
    )
    shown = active | (counts[1:] > 0)
    return cat, pos, counts, shown


def status_breakdown(leads: pd.DataFrame, statuses: pd.DataFrame) -> pd.DataFrame:
    """Leads per status.

    Returns ``status_id, status, leads, share``: every active status in catalogue order (``position``),
    zeros included; inactive statuses only when they hold leads; then one row (status_id NA, status
    ``(unknown status)``) for leads whose status id is missing or not in the catalogue, when there are
    any. ``share`` is the fraction (0..1) of all leads, 0.0 when there are none."""
    cat, _, counts, shown = _status_rows(leads, statuses)
    idx = np.flatnonzero(shown)
    ids = cat["status_id"].astype("string").to_numpy()[idx].tolist()
    names = cat["status"].astype("string").to_numpy()[idx].tolist()
    n = counts[1:][idx].tolist()
    if counts[0] > 0:
        ids.append(pd.NA)
        names.append(UNKNOWN_STATUS)
        n.append(int(counts[0]))
    total = int(counts.sum())
    n_arr = np.asarray(n, dtype=np.int64)
    share = n_arr / total if total else np.zeros(len(n_arr))
    return pd.DataFrame(
        {
            "status_id": pd.array(ids, dtype="string"),
            "status": pd.array(names, dtype="string"),
            "leads": n_arr,
            "share": share.astype(float),
        }
    )


def status_by_owner(leads: pd.DataFrame, statuses: pd.DataFrame) -> pd.DataFrame:
    """Leads per owner (rows) and status (columns).

    Returns ``owner`` (``(unassigned)`` for leads without one), one int64 column per status shown by
    ``status_breakdown`` (same order; headed by the status name, or ``name (id)`` when two statuses share a
    name), ``(unknown status)`` when such leads exist, and ``total``. Owners with leads only, most leads
    first, ``(unassigned)`` last."""
    cat, pos, counts, shown = _status_rows(leads, statuses)
    o_codes, o_labels = _dimension(leads, "owner")
    k, ncol = len(o_labels), len(cat) + 1
    grid = np.bincount(o_codes * ncol + pos + 1, minlength=k * ncol).reshape(k, ncol)
    cols = [*(np.flatnonzero(shown) + 1).tolist()]
    names = cat["status"].astype("string").fillna("").tolist()
    ids = cat["status_id"].astype("string").tolist()
    dup = {nm for nm in names if names.count(nm) > 1}
    headers = [f"{names[c - 1]} ({ids[c - 1]})" if names[c - 1] in dup else names[c - 1] for c in cols]
    if counts[0] > 0:
        cols.append(0)
        headers.append(UNKNOWN_STATUS)
    totals = grid.sum(axis=1)
    rows = [i for i in np.argsort(-totals, kind="stable").tolist() if totals[i] > 0]
    rows = [i for i in rows if o_labels[i] != UNASSIGNED] + [i for i in rows if o_labels[i] == UNASSIGNED]
    out = pd.DataFrame({"owner": pd.array([o_labels[i] for i in rows], dtype="string")})
    for h, c in zip(headers, cols, strict=True):
        out[h] = grid[rows, c].astype(np.int64)
    out["total"] = totals[rows].astype(np.int64)
    return out


# --------------------------------------------------------------------------------------------------
# Funnel
# --------------------------------------------------------------------------------------------------


def _lead_stages(leads: pd.DataFrame, statuses: pd.DataFrame, n_stages: int) -> np.ndarray:
    """Per lead the furthest stage reached (0..n_stages-1) or -1 for junk (left out of the funnel).

    A missing stage reads 0 (the last stage for a won status); stages past the end are clipped; unknown
    status ids count as stage 0."""
    cat = _catalogue(statuses)
    roles = _role_index(statuses)
    stage = cat["stage"] if "stage" in cat else pd.Series(pd.NA, index=cat.index)
    stage = pd.to_numeric(stage, errors="coerce").astype("Float64")
    default = np.where(roles == _WON, n_stages - 1, 0)
    values = np.where(stage.isna().to_numpy(), default, stage.fillna(0).to_numpy(dtype=float)).astype(
        np.int64
    )
    values = np.clip(values, 0, n_stages - 1)
    values[roles == _JUNK] = -1
    return _status_lut(leads, statuses, values, 0).astype(np.int64, copy=False)


def _funnel_frame(reach: np.ndarray, stages: Sequence[str]) -> dict:
    first = reach[:, :1].astype(float)
    prev = np.concatenate([reach[:, :1], reach[:, :-1]], axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct_first = np.where(first > 0, reach / first * 100.0, np.nan)
        pct_prev = np.where(prev > 0, reach / prev * 100.0, np.nan)
    return {"reach": reach, "pct_first": pct_first, "pct_prev": pct_prev}


def funnel(
    leads: pd.DataFrame, statuses: pd.DataFrame, stages: Sequence[str] = DEFAULT_STAGES
) -> pd.DataFrame:
    """The funnel: how many leads reached each stage.

    Junk leads are left out; a lead counts in every stage up to the one its status has reached (the
    catalogue's ``stage``, an index into ``stages``). Returns ``stage, leads`` (int64),
    ``pct_of_first`` and ``pct_of_previous`` — **percentages 0..100** (NaN when the base is 0; the first
    stage is 100 of itself)."""
    n = len(stages)
    s = _lead_stages(leads, statuses, n)
    at = np.bincount(s + 1, minlength=n + 1)[1:]
    reach = np.cumsum(at[::-1])[::-1][None, :]
    f = _funnel_frame(reach, stages)
    return pd.DataFrame(
        {
            "stage": list(stages),
            "leads": f["reach"][0].astype(np.int64),
            "pct_of_first": f["pct_first"][0],
            "pct_of_previous": f["pct_prev"][0],
        }
    )


def funnel_by(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    by: str,
    stages: Sequence[str] = DEFAULT_STAGES,
    top: int | None = 5,
    aliases: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The funnel per value of ``by`` (a lead column — UTM fields normalised —, ``"channel"`` or
    ``"role"``) for side-by-side comparison.

    The ``top`` values with the most funnel (non-junk) leads are kept, the rest are summed into
    ``(other)`` (``top=None`` keeps all). Returns long format ``by, stage, leads, pct_of_first,
    pct_of_previous`` (as ``funnel``), values with most leads first, stages in order."""
    n = len(stages)
    s = _lead_stages(leads, statuses, n)
    codes, labels = _dimension(leads, by, statuses, aliases)
    k = len(labels)
    at = np.bincount(codes * (n + 1) + s + 1, minlength=k * (n + 1)).reshape(k, n + 1)[:, 1:]
    reach = np.cumsum(at[:, ::-1], axis=1)[:, ::-1]
    order = [i for i in np.argsort(-reach[:, 0], kind="stable").tolist() if reach[i, 0] > 0]
    names = [labels[i] for i in order]
    rows = reach[order]
    if top is not None and len(order) > top:
        rows = np.vstack([rows[:top], rows[top:].sum(axis=0, keepdims=True)])
        names = [*names[:top], OTHER]
    f = _funnel_frame(rows.reshape(len(names), n), stages)
    return pd.DataFrame(
        {
            by: np.repeat(np.asarray(names, dtype=object), n),
            "stage": list(stages) * len(names),
            "leads": f["reach"].reshape(-1).astype(np.int64),
            "pct_of_first": f["pct_first"].reshape(-1),
            "pct_of_previous": f["pct_prev"].reshape(-1),
        }
    )


# --------------------------------------------------------------------------------------------------
# UTM breakdown
# --------------------------------------------------------------------------------------------------


def wilson_interval(won, n, z: float = _Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for the proportion ``won / n`` (arrays); NaN where ``n`` is 0."""
    k = np.asarray(won, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2 = z * z
        denom = 1.0 + z2 / n
        centre = (p + z2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
        low = np.where(n > 0, centre - half, np.nan)
        high = np.where(n > 0, centre + half, np.nan)
    return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)


BREAKDOWN_METRICS = (
    "leads", "won", "lost", "junk", "open", "conversion_rate", "ci_low", "ci_high", "share", "junk_rate",
)  # fmt: skip


def utm_breakdown(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    by: Sequence[str] | str = ("utm_source",),
    aliases: Mapping[str, str] | None = None,
    sort_by: str = "leads",
    ascending: bool = False,
) -> pd.DataFrame:
    """Leads and outcomes per combination of UTM fields (normalised with ``aliases``; missing ``(none)``)
    and/or ``"channel"``.

    Returns the ``by`` columns, then ``leads, won, lost, junk, open`` (int64; role of the status now),
    ``conversion_rate = won / (leads - junk)`` with its Wilson 95 % interval ``ci_low, ci_high`` (NaN
    when ``leads - junk`` is 0), ``share`` (of all leads) and ``junk_rate = junk / leads`` — all rates are
    fractions 0..1. Only combinations that have leads; sorted by ``sort_by`` (any of these columns),
    ties by the ``by`` values."""
    by = (by,) if isinstance(by, str) else tuple(by)
    if not by:
        raise ValueError("by needs at least one column")
    if sort_by not in BREAKDOWN_METRICS and sort_by not in by:
        raise ValueError(f"sort_by must be one of {BREAKDOWN_METRICS + by}, got {sort_by!r}")
    dims = [_dimension(leads, b, statuses, aliases) for b in by]
    roles = _lead_roles(leads, statuses)
    key, sizes = _dense_key(dims)
    size = int(np.prod(sizes)) if sizes else 1
    nroles = len(ROLES)
    if size * nroles <= 1 << 25:
        key *= nroles
        key += roles
        grid = np.bincount(key, minlength=size * nroles).reshape(size, nroles)
        groups = np.flatnonzero(grid.any(axis=1))
        grid = grid[groups]
    else:
        inv, groups = pd.factorize(key)
        grid = np.bincount(inv * nroles + roles, minlength=len(groups) * nroles).reshape(-1, nroles)
        order = np.argsort(groups)
        groups, grid = groups[order], grid[order]
    parts = _unravel(groups, sizes)
    total = grid.sum()
    won, lost, junk, opened = grid[:, _WON], grid[:, _LOST], grid[:, _JUNK], grid[:, _OPEN]
    n = grid.sum(axis=1)
    base = n - junk
    low, high = wilson_interval(won, base)
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = np.where(base > 0, won / base, np.nan)
        junk_rate = np.where(n > 0, junk / n, np.nan)
    out = {
        b: np.asarray(labels, dtype=object)[p]
        for (b, (_, labels)), p in zip(zip(by, dims, strict=True), parts, strict=True)
    }
    out.update(
        leads=n.astype(np.int64),
        won=won.astype(np.int64),
        lost=lost.astype(np.int64),
        junk=junk.astype(np.int64),
        open=opened.astype(np.int64),
        conversion_rate=conv,
        ci_low=low,
        ci_high=high,
        share=n / total if total else np.zeros(len(n)),
        junk_rate=junk_rate,
    )
    df = pd.DataFrame(out)
    if sort_by in BREAKDOWN_METRICS:
        df = df.sort_values(sort_by, ascending=ascending, kind="stable", na_position="last")
    else:
        df = df.sort_values(sort_by, ascending=ascending, kind="stable")
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# Cohorts
# --------------------------------------------------------------------------------------------------


def cohort_table(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    tz: str = "Asia/Jerusalem",
    freq: str = "W",
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """Of the leads created in each week (Sunday start; or day/month with ``freq``), where they stand now.

    Returns ``cohort`` (tz-naive Timestamp of the bucket's first local day), ``leads, open, won, lost,
    junk`` (int64), ``won_share = won / leads`` and ``conversion_rate = won / (leads - junk)`` (fractions,
    NaN when the base is 0). Every bucket in the range is present (zeros when empty)."""
    f = _check_freq(freq)
    bucket, periods = _buckets(leads, f, tz, start, end)
    nb, nroles = len(periods), len(ROLES)
    roles = _lead_roles(leads, statuses)
    key = np.where(bucket >= 0, bucket * nroles + roles, -1)
    grid = np.bincount(key + 1, minlength=nb * nroles + 1)[1:].reshape(nb, nroles)
    n = grid.sum(axis=1)
    won, junk = grid[:, _WON], grid[:, _JUNK]
    with np.errstate(divide="ignore", invalid="ignore"):
        won_share = np.where(n > 0, won / n, np.nan)
        conv = np.where(n - junk > 0, won / (n - junk), np.nan)
    return pd.DataFrame(
        {
            "cohort": periods,
            "leads": n.astype(np.int64),
            "open": grid[:, _OPEN].astype(np.int64),
            "won": won.astype(np.int64),
            "lost": grid[:, _LOST].astype(np.int64),
            "junk": junk.astype(np.int64),
            "won_share": won_share.astype(float),
            "conversion_rate": conv.astype(float),
        }
    )


# --------------------------------------------------------------------------------------------------
# Filters shared by every page
# --------------------------------------------------------------------------------------------------

DATE_PRESETS = (
    "Today",
    "Last 7 days",
    "Last 30 days",
    "Last 90 days",
    "This month",
    "Last month",
    "This quarter",
    "All time",
    "Custom",
)


def preset_range(preset: str, today: date) -> tuple[date | None, date | None]:
    """The whole days a date preset covers, relative to `today` (in the display zone); "All time" and
    "Custom" give (None, None)."""
    if preset == "Today":
        return today, today
    if preset.startswith("Last ") and preset.endswith(" days"):
        days = int(preset.split()[1])
        return today - timedelta(days=days - 1), today
    if preset == "This month":
        return today.replace(day=1), today
    if preset == "Last month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if preset == "This quarter":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    return None, None


@dataclass(frozen=True)
class LeadFilter:
    """What the sidebar selects. Empty tuples mean "all"; UTM values and channels are normalised ones."""

    start: date | None = None
    end: date | None = None
    status_ids: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    mediums: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


def _selected(codes: np.ndarray, labels: Sequence, wanted: Iterable, missing_label: str | None) -> np.ndarray:
    index = {str(lab): i for i, lab in enumerate(labels)}
    keep = [index[w] for w in wanted if w in index]
    if missing_label is not None and missing_label in wanted:
        keep.append(-1)
    return np.isin(codes, np.array(keep, dtype=codes.dtype))


def filter_leads(
    leads: pd.DataFrame, f: LeadFilter, tz: str, aliases: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The leads `f` selects: created on whole days start..end in `tz`, and in every chosen list.

    Owners match by name ("(unassigned)" selects leads without one), statuses by id, UTM values and
    channels by their normalised form. Returns the same columns as `leads`."""
    mask = np.ones(len(leads), dtype=bool)
    if f.status_ids:
        codes, labels = _codes_and_labels(leads["status_id"])
        mask &= _selected(codes, labels, f.status_ids, None)
    if f.owners:
        codes, labels = _codes_and_labels(leads["owner"])
        mask &= _selected(codes, labels, f.owners, UNASSIGNED)
    utm = (("utm_source", f.sources), ("utm_medium", f.mediums), ("utm_campaign", f.campaigns))
    for column, wanted in utm:
        if wanted:
            codes, labels = _normalized_codes(leads[column], aliases)
            mask &= _selected(codes, labels, wanted, None)
    if f.channels:
        ch = channel(leads, aliases)
        mask &= _selected(ch.cat.codes.to_numpy(), list(ch.cat.categories), f.channels, None)
    selected = leads if mask.all() else leads[mask]
    return in_period(selected, f.start, f.end, tz)


def filter_options(leads: pd.DataFrame, aliases: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """The values each sidebar list offers: owners (with "(unassigned)" when some lead has none) and the
    normalised UTM sources, media and campaigns present, most frequent first."""

    def by_count(codes: np.ndarray, labels: Sequence) -> list[str]:
        counts = np.bincount(codes[codes >= 0], minlength=len(labels))
        order = np.argsort(-counts, kind="stable")
        return [str(labels[i]) for i in order if counts[i] > 0]

    codes, labels = _codes_and_labels(leads["owner"])
    owners = by_count(codes, labels) + ([UNASSIGNED] if (codes < 0).any() else [])
    out = {"owners": owners}
    for key, column in (("sources", "utm_source"), ("mediums", "utm_medium"), ("campaigns", "utm_campaign")):
        out[key] = by_count(*_normalized_codes(leads[column], aliases))
    return out


def stale_leads(
    leads: pd.DataFrame,
    statuses: pd.DataFrame,
    days: int,
    now: pd.Timestamp | None = None,
    limit: int | None = None,
) -> tuple[pd.DataFrame, int]:
    """Open leads not updated for at least `days` days (created time when never updated), longest idle
    first, and how many there are. Returns (the first `limit` of them — all without a limit — with the
    lead's columns plus `days_idle` in whole days, the total count); only the returned rows are copied."""
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now).tz_convert("UTC")
    is_open = _lead_roles(leads, statuses) == _OPEN
    last = _ns(leads["updated_at"])
    last = np.where(last == _NAT, _ns(leads["created_at"]), last)
    idle = np.where(last == _NAT, -1, (now.value - last) // _DAY_NS)
    rows = np.flatnonzero(is_open & (idle >= days))
    order = rows[np.argsort(-idle[rows], kind="stable")][:limit]
    out = leads.iloc[order].assign(days_idle=idle[order].astype("int64"))
    return out, len(rows)


def newest(leads: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The `limit` most recently created leads, newest first (no creation time last); copies only those."""
    created = _ns(leads["created_at"])
    key = np.where(created == _NAT, np.iinfo(np.int64).max, -created)  # newest first, no date last
    order = np.argsort(key, kind="stable")
    return leads.iloc[order[:limit]]


AGE_BUCKETS = ((0, 1, "0–1 days"), (2, 7, "2–7 days"), (8, 30, "8–30 days"), (31, 90, "31–90 days"),
               (91, None, "over 90 days"))  # fmt: skip


def _status_names(leads: pd.DataFrame, statuses: pd.DataFrame) -> np.ndarray:
    """Per lead the catalogue name of its status (UNKNOWN_STATUS when not in the catalogue)."""
    names = dict(zip(statuses["status_id"].astype(str), statuses["status"].astype(str), strict=True))
    codes, labels = _codes_and_labels(leads["status_id"])
    lut = np.array([names.get(str(x), UNKNOWN_STATUS) for x in labels] + [UNKNOWN_STATUS], dtype=object)
    return lut[codes]


def open_lead_ages(
    leads: pd.DataFrame, statuses: pd.DataFrame, now: pd.Timestamp | None = None
) -> pd.DataFrame:
    """How long open leads have existed: `age` (AGE_BUCKETS labels), `status`, `leads`, one row per
    (age, status) that holds open leads, ages in order then statuses in catalogue order; leads without a
    creation time are left out."""
    order = list(dict.fromkeys([*statuses.sort_values("position")["status"].astype(str), UNKNOWN_STATUS]))
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now).tz_convert("UTC")
    is_open = _lead_roles(leads, statuses) == _OPEN
    age_days = ((now - leads["created_at"]) // pd.Timedelta(days=1)).to_numpy(
        dtype="float64", na_value=np.nan
    )
    labels = [label for _, _, label in AGE_BUCKETS]
    bucket = np.full(len(leads), -1, dtype=np.int64)
    for i, (low, high, _) in enumerate(AGE_BUCKETS):
        bucket[(age_days >= low) & ((age_days <= high) if high is not None else True)] = i
    keep = is_open & (bucket >= 0)
    frame = pd.DataFrame(
        {
            "age": pd.Categorical.from_codes(bucket[keep], categories=labels, ordered=True),
            "status": pd.Categorical(_status_names(leads, statuses)[keep], categories=order),
        }
    )
    out = frame.groupby(["age", "status"], observed=True).size().rename("leads").reset_index()
    return out.astype({"age": str, "status": str})


def search_leads(leads: pd.DataFrame, query: str) -> pd.DataFrame:
    """Leads whose name, phone, e-mail, company or id contains `query` (case-insensitive). A query with
    digits also matches phones written differently (050-123 finds +97250123…)."""
    query = " ".join(query.split())
    if not query:
        return leads
    mask = np.zeros(len(leads), dtype=bool)
    for column in ("name", "email", "company", "lead_id", "phone"):
        if column in leads:
            found = leads[column].astype("string").str.contains(query, case=False, regex=False, na=False)
            mask |= found.to_numpy(dtype=bool)
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) >= 4 and "phone" in leads:
        phone_digits = leads["phone"].astype("string").str.replace(r"\D", "", regex=True)
        found = phone_digits.str.contains(digits.lstrip("0"), regex=False, na=False)
        mask |= found.to_numpy(dtype=bool)
    return leads[mask]
