"""UTM hygiene: normalising messy UTM values, source aliases, quality counts."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

import numpy as np
import pandas as pd

from lib.analytics._base import NONE, _codes_and_labels
from lib.schema import UTM_FIELDS

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
    "fb-ads": "facebook",
    "fb_ads": "facebook",
    "facebook-ads": "facebook",
    "facebook_ads": "facebook",
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
    "google_ads": "google",
    "google-ads": "google",
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
    "twitter ads": "twitter",
    "twitter-ads": "twitter",
    "twitter_ads": "twitter",
    # Telegram, SMS, Zap (Israeli shopping)
    "טלגרם": "telegram",
    "סמס": "sms",
    "מסרון": "sms",
    "זאפ": "zap",
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
