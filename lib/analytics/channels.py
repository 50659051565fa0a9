"""Channels: GA4's default channel group, from source, medium, campaign, referrer and landing page.

The rules are Google's ("[GA4] Default channel group", support.google.com/analytics/answer/9756891), in
Google's order, first match wins: ``CHANNEL_RULES`` is that table (a name, the condition in words, and the
test). Sources are matched against Google's source-category list (``data/ga4_source_categories.csv``)
plus our additions (``data/source_categories_additions.csv``: webmail, apps, Israeli sites).

Before the rules run, each lead's values are prepared (``channel_of`` lists the steps): values are
normalised as in ``normalize_utm``, the source goes through the aliases, Hebrew and other medium spellings
are mapped to GA4's words, a missing source falls back on the click id or the referrer, and a medium that
names no channel falls back on a paid marker (in the source, the campaign, or a click id).

**Paid spellings of a source** (decision): the aliases keep naming the platform ("google ads" → google,
so the UTM source tables group every Google spelling together), and the channel rules read the raw
spelling as well: a source spelt with a paid word (``google ads``, ``googleads``, ``adwords``,
``google_ads``, ``fb-ads``, ``fbad``, ``facebook-ads``, ``twitter-ads``, ``פייסבוק ממומן``...) names its
platform and carries a paid marker. The marker, like a click id, stands in for a medium that is missing or
names no channel (it reads "cpc"); a medium that names a channel (organic, social, email, display...)
always wins.

**Click ids** (``CLICK_IDS``, read from the landing page): a click id marks a lead as paid traffic from its
platform unless the UTM tags say otherwise: a stated medium that names a channel wins, and a UTM source
outside the platform's family (``PLATFORM_FAMILIES``: a DuckDuckGo-tagged lead with a gclid) means the
click id is not this lead's. With no UTM source the platform is the source, or the referrer when it is one
of the platform's own sites (YouTube for a gclid: Paid Video). Note that Facebook adds fbclid to organic
links too; the issue asks for fbclid to mean Meta paid, so a lead tagged only by it counts as Paid Social.

Where we deliberately differ from GA4 (all documented in ``CHANNEL_RULES``' conditions or here): webmail
referrers are Email (Google's list files mail.google.com under search); the Email rule also accepts
"newsletter" and Hebrew spellings; "direct" is accepted as a medium of Direct; a campaign-only lead (no
source, no medium) is not Direct, as in GA4, but a referrer alone is a Referral (GA4 reads referrers the
same way); the source lists match a host's parent domains and brand (google.co.il, amazon.de).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lib.analytics._base import NONE, _codes_and_labels
from lib.analytics.utm import _alias_map, _normalized_codes, normalize_text, normalize_value

CHANNELS = (
    "Direct",
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "Organic Search",
    "Referral",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Unassigned",
)

# ---------------------------------------------------------------------------------------- source lists
DATA_DIR = Path(__file__).resolve().parent / "data"
GOOGLE_CATEGORIES_FILE = DATA_DIR / "ga4_source_categories.csv"  # Google's list, unchanged (see README)
OUR_CATEGORIES_FILE = DATA_DIR / "source_categories_additions.csv"  # ours: webmail, apps, Israeli sites
_CATEGORY_NAMES = {
    "SOURCE_CATEGORY_SEARCH": "search",
    "SOURCE_CATEGORY_SOCIAL": "social",
    "SOURCE_CATEGORY_VIDEO": "video",
    "SOURCE_CATEGORY_SHOPPING": "shopping",
    "SOURCE_CATEGORY_EMAIL": "email",  # ours: Google's list has no email category
}


def load_source_categories(*paths: Path) -> dict[str, str]:
    """Normalised source → ``search``/``social``/``video``/``shopping``/``email`` from CSV files with
    ``source`` and ``category`` (GA4's ``SOURCE_CATEGORY_*`` names) columns; later files win."""
    out: dict[str, str] = {}
    for path in paths or (GOOGLE_CATEGORIES_FILE, OUR_CATEGORIES_FILE):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out[normalize_text(row["source"])] = _CATEGORY_NAMES[row["category"].strip().upper()]
    return out


SOURCE_CATEGORIES: dict[str, str] = load_source_categories()
# Second-level labels under a country code (google.co.il, amazon.com.au): the brand is the label before.
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go", "gob"})
# Brands not matched by their bare name on another host: Google lists "cnn" as a search source (the
# search box's tag), but a visit from cnn.com is a referral from a news site.
_NO_BRAND_MATCH = frozenset({"cnn"})


@lru_cache(maxsize=65536)
def source_category(source: str) -> str:
    """The category of a normalised source or host: ``search``, ``social``, ``video``, ``shopping``,
    ``email`` or "" (none). A host matches by itself, then by its parent domains (``news.ycombinator.com``,
    ``ycombinator.com``), then by its brand label (``google.co.il`` → ``google``, ``amazon.de`` →
    ``amazon``)."""
    cats = SOURCE_CATEGORIES
    if source in cats:
        return cats[source]
    if "." not in source or " " in source:
        return ""
    labels = source.removeprefix("www.").split(".")
    for i in range(len(labels) - 1):
        parent = ".".join(labels[i:])
        if parent in cats:
            return cats[parent]
    brand = labels[-3] if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL else labels[-2]
    return "" if brand in _NO_BRAND_MATCH else cats.get(brand, "")


# ------------------------------------------------------------------------------ preparing the values
# Medium spellings → GA4's words (Hebrew, and paid words GA4's regex does not know). Keys normalised.
MEDIUM_SYNONYMS: dict[str, str] = {
    "ads": "paid",
    "ad": "paid",
    "sponsored": "paid",
    "pmax": "paid",
    "performance max": "paid",
    "ממומן": "paid",
    "ממומנות": "paid",
    "קידום ממומן": "paid",
    "פרסום ממומן": "paid",
    "אורגני": "organic",
    "קידום אורגני": "organic",
    "סושיאל": "social",
    "רשתות חברתיות": "social",
    "רשת חברתית": "social",
    "באנר": "banner",
    "באנרים": "banner",
    "תצוגה": "display",
    "הפניה": "referral",
    "הפנייה": "referral",
    "קישור": "link",
    "affiliates": "affiliate",
    "שותפים": "affiliate",
    "שותף": "affiliate",
    "וידאו": "video",
    "וידיאו": "video",
    "סרטון": "video",
    "אודיו": "audio",
    "פודקאסט": "audio",
    "רדיו": "audio",
    "מסרון": "sms",
    "מסרונים": "sms",
    "סמס": "sms",
    "פוש": "push",
    "התראות": "notification",
}
# Click ids in the landing page's query string → the ad platform (a source name), first listed wins.
CLICK_IDS: dict[str, str] = {
    "gclid": "google",
    "gbraid": "google",
    "wbraid": "google",
    "gad_source": "google",
    "fbclid": "facebook",
    "msclkid": "bing",
    "ttclid": "tiktok",
}
# The sites of each click id's platform (labels of a source or host): a UTM source outside the family
# means the click id is not this lead's; a referrer inside it names the placement (youtube → Paid Video).
PLATFORM_FAMILIES: dict[str, frozenset[str]] = {
    "google": frozenset(
        {"google", "youtube", "youtu", "googlesyndication", "googleadservices", "doubleclick"}
    ),
    "facebook": frozenset({"facebook", "fb", "instagram", "ig", "messenger", "threads", "meta", "whatsapp"}),
    "bing": frozenset({"bing", "msn", "microsoft"}),
    "tiktok": frozenset({"tiktok"}),
}
_CLICK_ID = re.compile(r"(?:^|[?&#;])(" + "|".join(CLICK_IDS) + r")=[^&#;\s]", re.IGNORECASE)
# Words that mark a source spelling as paid ("google ads", "fb-ads", "פייסבוק ממומן").
_PAID_TOKENS = frozenset({"ads", "ad", "adwords", "cpc", "ppc", "paid", "sponsored", "ממומן", "ממומנות"})
_PLATFORM_TOKENS = {"adwords": "google"}
_SITES = frozenset({"search", "social", "video", "shopping"})  # a paid word that names its platform by itself
_TOKEN_SPLIT = re.compile(r"[\s_\-+|/]+")
# Campaign words that mark paid traffic when the medium is missing (the campaign says "paid").
_PAID_WORDS = re.compile(r"(?<![a-z])(cpc|ppc|paid|ads|sponsored)(?![a-z])|ממומן")
_PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")  # GA4's, verbatim
_SHOP_CAMPAIGN = re.compile(r"^(.*(([^a-df-z]|^)shop|shopping).*)$")  # GA4's, verbatim
_EMAIL = re.compile(r"email|e-mail|e_mail|e mail|newsletter|ניוזלטר|דיוור|מייל")  # GA4's words, then ours
_CAMP_PRESENT, _CAMP_PAID, _CAMP_CROSS, _CAMP_SHOP = 1, 2, 4, 8
_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//")


def referrer_host(referrer) -> str:
    """The host of a referrer URL, lower-cased, without ``www.`` or port ("" when none). An Android app
    referrer (``android-app://com.google.android.gm/``) gives the app's package name."""
    if _missing(referrer):
        return ""
    text = str(referrer).strip().casefold()
    text = _HOST.sub("", text)
    host = re.split(r"[/?#]", text, maxsplit=1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    return host.removeprefix("www.")


def click_platform(landing_page) -> str:
    """The ad platform named by a click id in a landing page URL (``?gclid=...`` → ``google``), or ""."""
    if _missing(landing_page):
        return ""
    found = {m.casefold() for m in _CLICK_ID.findall(str(landing_page))}
    return next((platform for key, platform in CLICK_IDS.items() if key in found), "")


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


@lru_cache(maxsize=65536)
def paid_source(raw: str) -> tuple[str, bool]:
    """A normalised raw source → (the platform spelling, whether it carries a paid marker):
    ``google ads`` → (``google``, True), ``googleads`` → (``google``, True), ``adwords`` → (``google``,
    True), ``fb-ads`` → (``fb``, True), ``facebook`` → (``facebook``, False)."""
    if raw == NONE:
        return raw, False
    tokens = [t for t in _TOKEN_SPLIT.split(raw) if t]
    rest = [t for t in tokens if t not in _PAID_TOKENS]
    if len(rest) < len(tokens):
        named = next((_PLATFORM_TOKENS[t] for t in tokens if t in _PLATFORM_TOKENS), "")
        return (" ".join(rest) or named or raw), True
    for suffix in ("ads", "ad"):  # glued: googleads, fbads, fbad, bingads
        prefix = raw.removesuffix(suffix)
        if len(tokens) == 1 and prefix != raw and len(prefix) > 1 and source_category(prefix) in _SITES:
            return prefix, True
    return raw, False


def _campaign_bits(camp: str) -> int:
    if camp == NONE:
        return 0
    bits = _CAMP_PRESENT
    if _PAID_WORDS.search(camp):
        bits |= _CAMP_PAID
    if "cross-network" in camp:
        bits |= _CAMP_CROSS
    if _SHOP_CAMPAIGN.match(camp):
        bits |= _CAMP_SHOP
    return bits


# -------------------------------------------------------------------------------------------- rules
class Visit(NamedTuple):
    """A lead's prepared values: ``src`` the source (alias-resolved platform), ``raw`` its spelling,
    ``cat`` its category (or ""), ``med`` the medium, ``camp`` the campaign flags."""

    src: str
    raw: str
    cat: str
    med: str
    camp: int


class ChannelRule(NamedTuple):
    name: str
    condition: str
    test: Callable[[Visit], bool]


def _paid(v: Visit) -> bool:
    return bool(_PAID_MEDIUM.match(v.med))


def _shopping(v: Visit) -> bool:
    return v.cat == "shopping" or bool(v.camp & _CAMP_SHOP)


_PAID_TEXT = "medium matches ^(.*cp.*|ppc|retargeting|paid.*)$"
_SHOP_TEXT = "campaign matches ^(.*(([^a-df-z]|^)shop|shopping).*)$"
SOCIAL_MEDIA = frozenset({"social", "social-network", "social-media", "sm", "social network", "social media"})
DIRECT_MEDIA = frozenset({NONE, "direct"})
DIRECT_SOURCES = frozenset({"direct", "(direct)"})
DISPLAY_MEDIA = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
REFERRAL_MEDIA = frozenset({"referral", "app", "link"})
EMAIL_MEDIA = frozenset({"email", "e-mail", "e_mail", "e mail"})
AFFILIATE_MEDIA = frozenset({"affiliate"})
SEARCH_SOURCES = frozenset(k for k, v in SOURCE_CATEGORIES.items() if v == "search")
SOCIAL_SOURCES = frozenset(k for k, v in SOURCE_CATEGORIES.items() if v == "social")

# GA4's default channel group, in Google's order; the first rule whose test passes names the channel.
CHANNEL_RULES: tuple[ChannelRule, ...] = (
    ChannelRule(
        "Direct",
        'source is "(direct)" (or missing, with no campaign) AND medium is "(none)"/"(not set)"/"direct"',
        lambda v: v.med in DIRECT_MEDIA and (v.src in DIRECT_SOURCES or (v.src == NONE and not v.camp)),
    ),
    ChannelRule("Cross-network", 'campaign contains "cross-network"', lambda v: bool(v.camp & _CAMP_CROSS)),
    ChannelRule(
        "Paid Shopping",
        f"(source is a shopping site OR {_SHOP_TEXT}) AND {_PAID_TEXT}",
        lambda v: _shopping(v) and _paid(v),
    ),
    ChannelRule(
        "Paid Search", f"source is a search site AND {_PAID_TEXT}", lambda v: v.cat == "search" and _paid(v)
    ),
    ChannelRule(
        "Paid Social", f"source is a social site AND {_PAID_TEXT}", lambda v: v.cat == "social" and _paid(v)
    ),
    ChannelRule(
        "Paid Video", f"source is a video site AND {_PAID_TEXT}", lambda v: v.cat == "video" and _paid(v)
    ),
    ChannelRule(
        "Display",
        "medium is one of display, banner, expandable, interstitial, cpm",
        lambda v: v.med in DISPLAY_MEDIA,
    ),
    ChannelRule("Paid Other", _PAID_TEXT, _paid),
    ChannelRule("Organic Shopping", f"source is a shopping site OR {_SHOP_TEXT}", _shopping),
    ChannelRule(
        "Organic Social",
        "source is a social site OR medium is one of social, social-network, social-media, sm, "
        "social network, social media",
        lambda v: v.cat == "social" or v.med in SOCIAL_MEDIA,
    ),
    ChannelRule(
        "Organic Video",
        "source is a video site OR medium matches ^(.*video.*)$",
        lambda v: v.cat == "video" or "video" in v.med,
    ),
    ChannelRule(
        "Organic Search",
        'source is a search site OR medium is "organic"',
        lambda v: v.cat == "search" or v.med == "organic",
    ),
    ChannelRule("Referral", "medium is one of referral, app, link", lambda v: v.med in REFERRAL_MEDIA),
    ChannelRule(
        "Email",
        "source or medium contains email|e-mail|e_mail|e mail (ours: also newsletter, ניוזלטר, דיוור, מייל) "
        "OR source is a webmail site (ours)",
        lambda v: v.cat == "email" or any(_EMAIL.search(x) for x in (v.src, v.raw, v.med)),
    ),
    ChannelRule("Affiliates", 'medium is "affiliate"', lambda v: v.med in AFFILIATE_MEDIA),
    ChannelRule("Audio", 'medium is "audio"', lambda v: v.med == "audio"),
    ChannelRule("SMS", 'source is "sms" OR medium is "sms"', lambda v: "sms" in (v.src, v.raw, v.med)),
    ChannelRule(
        "Mobile Push Notifications",
        'medium ends with "push" OR contains "mobile" or "notification" OR source is "firebase"',
        lambda v: (
            v.med.endswith("push")
            or "mobile" in v.med
            or "notification" in v.med
            or "firebase" in (v.src, v.raw)
        ),
    ),
    ChannelRule("Unassigned", "no rule above matched", lambda v: True),
)
assert tuple(r.name for r in CHANNEL_RULES) == CHANNELS


def _same_platform(name: str, platform: str) -> bool:
    """Whether a source or host belongs to a click id's ad platform (``youtube.com`` to google)."""
    return not PLATFORM_FAMILIES[platform].isdisjoint(_TOKEN_SPLIT.split(name.replace(".", " ")))


@lru_cache(maxsize=256)
def _says_nothing(med: str) -> bool:
    """Whether a (prepared) medium names no channel by itself: missing, or matched by no medium rule."""
    if med == NONE:
        return True
    visit = Visit(NONE, NONE, "", med, _CAMP_PRESENT)
    return next(rule.name for rule in CHANNEL_RULES if rule.test(visit)) == "Unassigned"


@lru_cache(maxsize=65536)
def _channel_rule(src: str, raw: str, marked: bool, med: str, camp: int, host: str, click: str) -> str:
    """The channel of prepared values (``src`` alias-resolved, ``raw`` its spelling, ``host`` the
    referrer host or "", ``click`` the click id's platform or "")."""
    med = MEDIUM_SYNONYMS.get(med, med)
    if click and src in DIRECT_SOURCES:  # a tracker's "(direct)" default says nothing against a click id
        src, raw, host = NONE, NONE, ""  # (its referrer is not read: the source was not missing)
    if click and src != NONE and not (_same_platform(src, click) or _same_platform(raw, click)):
        click = ""  # the UTM source names another site: the click id is not this lead's
    if src == NONE and click:
        # the referrer names the placement when it is the platform's own (youtube.com for a gclid)
        src = raw = host if host and _same_platform(host, click) else click
    elif src == NONE and host:
        src = raw = host
        if med == NONE:
            med = "email" if source_category(host) == "email" else "referral"
    if _says_nothing(med) and (marked or click or camp & _CAMP_PAID):
        med = "cpc"
    cat = source_category(src) or source_category(raw)
    visit = Visit(src, raw, cat, med, camp)
    return next(rule.name for rule in CHANNEL_RULES if rule.test(visit))


def _prepared_source(raw: str, amap: Mapping[str, str]) -> tuple[str, str, bool]:
    platform, marked = paid_source(raw)
    return amap.get(platform, platform), raw, marked


def channel_of(
    source=None, medium=None, campaign=None, referrer=None, aliases=None, *, landing_page=None
) -> str:
    """The default channel of one lead from its raw UTM source, medium, campaign, referrer and landing page.

    Values are normalised as in ``normalize_utm`` (case-insensitive). Preparation, then ``CHANNEL_RULES``
    in order (first match wins):

    1. The source goes through the aliases (after its paid word is split off: ``fb-ads`` → fb, paid
       marker); the medium through the aliases and ``MEDIUM_SYNONYMS`` (``ממומן`` → paid, ``סושיאל`` →
       social, ``ads``/``sponsored``/``pmax`` → paid...).
    2. A click id in the landing page (``CLICK_IDS``: gclid/gbraid/wbraid/gad_source → google, fbclid →
       facebook, msclkid → bing, ttclid → tiktok) is dropped when the UTM source belongs to another
       platform (``PLATFORM_FAMILIES``).
    3. No source: the click id's platform names it (or the referrer, when it is the platform's own site);
       else the referrer's host does, and a missing medium reads "referral" ("email" for a webmail host
       such as mail.google.com).
    4. A medium that is missing or names no channel becomes "cpc" when the source carries a paid marker,
       the campaign has paid words (cpc/ppc/paid/ads/sponsored/ממומן) or a click id remains.
    5. The source's category comes from Google's source-category list plus ours (``source_category``).
    """
    amap = _alias_map(aliases)
    src, raw, marked = _prepared_source(normalize_value(source, {}), amap)
    med = normalize_value(medium, aliases)
    camp = _campaign_bits(normalize_value(campaign, {}))
    host = referrer_host(referrer)
    return _channel_rule(src, raw, marked, med, camp, amap.get(host, host), click_platform(landing_page))


def _distinct_at(values: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, list]:
    """Codes (-1 for NA) and distinct values of ``values`` at positions ``rows``; Arrow strings are taken
    and dictionary-encoded in Arrow, without building a Python string per row."""
    chunked = getattr(values.array, "_pa_array", None)
    if chunked is not None and not isinstance(values.dtype, pd.CategoricalDtype):
        encoded = pc.dictionary_encode(chunked.take(pa.array(rows))).combine_chunks()
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        return codes, encoded.dictionary.to_pylist()
    return _codes_and_labels(values.iloc[rows])


def _codes_at(values: pd.Series | None, mask: np.ndarray, fn) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``fn(value)`` for the rows in ``mask``, computed once per distinct value: the rows (positions),
    their codes into the labels, and the labels (``labels[0] == ""``; rows whose code would be 0 are
    left out)."""
    empty = np.empty(0, dtype=np.int64)
    if values is None or not mask.any():
        return empty, empty, [""]
    rows = np.flatnonzero(mask)
    vc, vu = _distinct_at(values, rows)
    out = [fn(x) for x in vu]
    labels = ["", *sorted(set(out) - {""})]
    if len(labels) == 1:  # nothing found (e.g. no click id on any landing page)
        return empty, empty, labels
    index = {lab: i for i, lab in enumerate(labels)}
    codes = np.array([index[x] for x in out] + [0], dtype=np.int64)[vc]
    keep = codes > 0
    return rows[keep], codes[keep], labels


def channel(leads: pd.DataFrame, aliases: Mapping[str, str] | None = None) -> pd.Series:
    """The default channel of every lead (rules in ``channel_of``), from ``utm_source``, ``utm_medium``,
    ``utm_campaign``, ``referrer`` and ``landing_page`` (click ids). Returns a categorical Series with the
    ``CHANNELS`` categories, same index as ``leads``. The rules run once per distinct combination; the
    referrer is read only where the source is missing, the landing page only where the medium names no
    channel."""
    amap = _alias_map(aliases)
    s_codes, s_raw = _codes_and_labels(leads["utm_source"])
    s_norm = [normalize_text(str(x)) for x in s_raw] + [NONE]  # the last slot answers code -1 (NA)
    m_codes, m_labels = _normalized_codes(leads["utm_medium"], aliases)
    c_codes, c_raw = _codes_and_labels(leads["utm_campaign"])
    c_bits = [_campaign_bits(normalize_text(str(x))) for x in c_raw] + [0]
    c_classes = sorted(set(c_bits))  # the campaign flag combinations present, densely numbered
    c_lut = np.array([c_classes.index(b) for b in c_bits], dtype=np.int64)
    src_missing = np.array([x == NONE for x in s_norm], dtype=bool)[s_codes]
    # click ids matter where the medium names no channel (missing, or a word no rule knows)
    says_nothing = [_says_nothing(MEDIUM_SYNONYMS.get(x, x)) for x in m_labels] + [True]
    med_missing = np.array(says_nothing, dtype=bool)[m_codes]
    r_rows, r_codes, hosts = _codes_at(leads.get("referrer"), src_missing, referrer_host)
    k_rows, k_codes, clicks = _codes_at(leads.get("landing_page"), med_missing, click_platform)
    ns, nm, nc, nr, nk = len(s_norm), len(m_labels), len(c_classes), len(hosts), len(clicks)
    size = ns * nm * nc * nr * nk
    # one mixed-radix key per lead, built by gathers from small premultiplied tables (code -1 → last slot)
    dtype = np.int32 if size < 1 << 31 else np.int64
    key = (np.arange(ns, dtype=dtype) * (nm * nc * nr * nk))[s_codes]
    key += (np.arange(nm, dtype=dtype) * (nc * nr * nk))[m_codes]
    if nc > 1:
        key += (c_lut.astype(dtype) * (nr * nk))[c_codes]
    key[r_rows] += (r_codes * nk).astype(dtype, copy=False)
    key[k_rows] += k_codes.astype(dtype, copy=False)
    if size <= 1 << 24:
        present = np.flatnonzero(np.bincount(key, minlength=size))
        inverse = None
    else:
        inverse, present = pd.factorize(key)
    chan_index = {c: i for i, c in enumerate(CHANNELS)}
    group_codes = np.empty(len(present), dtype=np.int8)
    for j, k in enumerate(present.tolist()):
        k, ki = divmod(k, nk)
        k, ri = divmod(k, nr)
        k, ci = divmod(k, nc)
        si, mi = divmod(k, nm)
        src, raw, marked = _prepared_source(s_norm[si], amap)
        host = hosts[ri]
        name = _channel_rule(src, raw, marked, m_labels[mi], c_classes[ci], amap.get(host, host), clicks[ki])
        group_codes[j] = chan_index[name]
    if inverse is None:
        lut = np.zeros(size, dtype=np.int8)
        lut[present] = group_codes
        codes = lut[key]
    else:
        codes = group_codes[inverse]
    cats = pd.CategoricalDtype(pd.Index(CHANNELS, dtype="string"), ordered=False)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=cats), index=leads.index, name="channel")
