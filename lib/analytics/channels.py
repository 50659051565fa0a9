"""Channels: a GA4-spirit default channel grouping from source, medium, campaign and referrer."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pandas as pd

from lib.analytics._base import NONE, _codes_and_labels
from lib.analytics.utm import (
    _DEFAULT_ALIAS_MAP,
    _alias_map,
    _normalized_codes,
    normalize_text,
    normalize_value,
)

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
