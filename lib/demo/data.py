"""Deterministic, realistic-looking leads for the embedded demo CRM (the "v2" contract of apis.md §1).

`generate_columns(n, end, seed)` builds the data column by column with numpy (a million leads take a few
seconds); `generate_leads` returns the same data as a list of lead dicts, `iter_rows` as tuples in
`LEAD_FIELDS` order (what the SQLite loader wants). Everything depends only on (n, end, seed).

Times are what the assumed real CRM sends: ISO 8601 to the second, without an offset, in Israel local time
(`CRM_TIMEZONE`). Generated times avoid 01:00-02:59 local, so no value falls into a daylight-saving gap or
overlap and every value converts to exactly one UTC instant.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from lib import clock

GENERATOR_VERSION = 1

# The CRM's local time zone: timestamps without an offset mean this zone (apis.md §1, *assumed*).
CRM_TIMEZONE = ZoneInfo("Asia/Jerusalem")
WINDOW_DAYS = 180

# The ten statuses of seed 000, with their real ids, in the CRM's order, then one retired status that only
# some old leads still carry. Note the fourth id has 36 digits: ids are kept exactly, as strings.
STATUSES: list[dict[str, str]] = [
    {"id": "233069071553535427697228277840563827497", "name": "💫 חדש", "is_active": "Y"},
    {"id": "233069071553536636623047892469738533673", "name": "🌟 בטיפול", "is_active": "Y"},
    {"id": "233068757482379672535116974651377078673", "name": "☎️ אין מענה", "is_active": "Y"},
    {"id": "233283533732675753954283890808071309", "name": "💡 פולו-אפ", "is_active": "Y"},
    {"id": "233283533732676958969773898519982777485", "name": "⚡️ מעוניין", "is_active": "Y"},
    {"id": "233068757482380881460936589280551784849", "name": "😐 לא מעוניין", "is_active": "Y"},
    {"id": "233283613657759819600694939278253904883", "name": "❗️ כפול", "is_active": "Y"},
    {"id": "233178998040188663790648493563928270356", "name": "⛔️ תקול", "is_active": "Y"},
    {"id": "243106151780891622797278252149114577730", "name": "⚠️ לקוח חוזר", "is_active": "Y"},
    {"id": "233069071553537845548867507098913239849", "name": "🎉 הומר ללקוח", "is_active": "Y"},
    {"id": "233069071553534218771408663211388415145", "name": "⏳ ממתין לחזרה", "is_active": "N"},
]
(
    NEW,
    IN_PROGRESS,
    NO_ANSWER,
    FOLLOW_UP,
    INTERESTED,
    NOT_INTERESTED,
    DUPLICATE,
    FAULTY,
    RETURNING,
    CONVERTED,
    WAITING,
) = range(len(STATUSES))
STATUS_IDS: list[str] = [s["id"] for s in STATUSES]
NEW_STATUS_ID = STATUS_IDS[NEW]
INACTIVE_STATUS_ID = STATUS_IDS[WAITING]
INACTIVE_MIN_AGE_DAYS = 100  # the retired status was in use until about this long before `end`

LEAD_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "f_name",
    "l_name",
    "email",
    "phone",
    "company",
    "text",
    "is_subscriber",
    "owner",
    "ext_one",
    "ext_two",
    "ext_three",
    "ext_four",
    "lead_status",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "created_at",
    "updated_at",
)

# Lead ids: 39 digits = a fixed 24-digit prefix + a 15-digit counter that grows by small random steps.
ID_PREFIX = "271917813959131540676117"
ID_COUNTER_START = 904_886_673_000_000
ID_MAX_STEP = 50


# --------------------------------------------------------------------------------------------- time helpers
def to_local_naive(dt: datetime) -> datetime:
    """`dt` as naive CRM-local time to the second; an aware value is converted, a naive one taken as local."""
    if dt.tzinfo is None:  # a wall-clock time that never happened (a DST gap) moves past the gap
        dt = dt.replace(tzinfo=CRM_TIMEZONE).astimezone(UTC)
    return dt.astimezone(CRM_TIMEZONE).replace(tzinfo=None, microsecond=0)


def local_now() -> datetime:
    """Now, as naive CRM-local time to the second."""
    return to_local_naive(clock.now())


def format_local(dt: datetime) -> str:
    """The CRM's wire format for a time: ISO 8601, no offset, local time, e.g. ``2026-11-20T14:03:27``."""
    return to_local_naive(dt).isoformat(timespec="seconds")


def next_lead_id(last_id: str | None) -> str:
    """A fresh 39-digit id above `last_id` (the newest id so far), for a lead created through the API."""
    last = int(last_id) if last_id else int(ID_PREFIX + f"{ID_COUNTER_START:015d}")
    return str(last + 1 + secrets.randbelow(ID_MAX_STEP))


# -------------------------------------------------------------------------------------------- vocabularies
# (Hebrew, Latin transliteration) pairs: the Latin form feeds e-mail addresses.
HE_FIRST = [
    ("דנה", "dana"), ("יוסי", "yossi"), ("משה", "moshe"), ("נועה", "noa"), ("אבי", "avi"), ("מיכל", "michal"),
    ("רונית", "ronit"), ("דוד", "david"), ("שירה", "shira"), ("איתי", "itay"), ("תמר", "tamar"),
    ("עומר", "omer"), ("יעל", "yael"), ("אורי", "uri"), ("מאיה", "maya"), ("גיא", "guy"), ("רותם", "rotem"),
    ("אלון", "alon"), ("הילה", "hila"), ("נדב", "nadav"), ("ליאור", "lior"), ("שני", "shani"),
    ("עידו", "ido"), ("אפרת", "efrat"), ("יונתן", "yonatan"), ("טל", "tal"), ("רחל", "rachel"),
    ("חיים", "haim"),
    ("אסתר", "esther"), ("שלמה", "shlomo"), ("ענבל", "inbal"), ("אריאל", "ariel"), ("נטע", "neta"),
    ("בן", "ben"), ("קרן", "keren"), ("רועי", "roy"), ("אורית", "orit"), ("עמית", "amit"), ("לירון", "liron"),
    ("זיו", "ziv"), ("שרית", "sarit"), ("אליהו", "eliyahu"), ("מרים", "miriam"), ("יצחק", "itzik"),
]  # fmt: skip
HE_LAST = [
    ("כהן", "cohen"), ("לוי", "levi"), ("מזרחי", "mizrahi"), ("פרץ", "peretz"), ("ביטון", "biton"),
    ("דהן", "dahan"), ("אברהם", "avraham"), ("פרידמן", "friedman"), ("מלכה", "malka"), ("אזולאי", "azulay"),
    ("כץ", "katz"), ("יוסף", "yosef"), ("דוד", "david"), ("עמר", "amar"), ("אוחיון", "ohayon"),
    ("חדד", "hadad"), ("גבאי", "gabay"), ("בן דוד", "ben-david"), ("שפירא", "shapira"),
    ("רוזנברג", "rosenberg"), ("אשכנזי", "ashkenazi"), ("שלום", "shalom"), ("גולן", "golan"),
    ("ברק", "barak"), ("נחום", "nahum"), ("סויסה", "swisa"), ("וקנין", "vaknin"), ("אלמוג", "almog"),
    ("בן חיים", "ben-haim"), ("טל", "tal"), ("ישראלי", "israeli"), ("אוחנה", "ohana"),
]  # fmt: skip
EN_FIRST = [
    "Dana", "Yossi", "Noa", "Daniel", "Michael", "Sarah", "David", "Rachel", "Jonathan", "Emily", "Ariel",
    "Maya", "Tom", "Adam", "Ella", "Liam", "Olivia", "Noah", "Emma", "James", "Jessica", "Ben", "Lior",
    "Shira", "Guy", "Omer", "Tamar", "Eitan", "Natalie", "Rebecca", "Josh", "Hannah", "Avi", "Yael",
]  # fmt: skip
EN_LAST = [
    "Cohen", "Levi", "Mizrahi", "Smith", "Johnson", "Goldberg", "Friedman", "Katz", "Shapiro", "Brown",
    "Miller", "Rosen", "Klein", "Weiss", "Green", "Baker", "Peretz", "Azoulay", "Bitton", "Stern", "Adler",
    "Segal", "Ben-David", "Goldstein", "Levy", "Harris",
]  # fmt: skip
# Russian and Arabic names, some in Latin letters, some written in Hebrew: (as written, Latin).
OTHER_FIRST = [
    ("Dmitry", "dmitry"), ("Olga", "olga"), ("Sergey", "sergey"), ("Natasha", "natasha"), ("Igor", "igor"),
    ("Svetlana", "svetlana"), ("Ahmad", "ahmad"), ("Mohammed", "mohammed"), ("Rami", "rami"),
    ("Lina", "lina"), ("Yousef", "yousef"), ("Nour", "nour"), ("דמיטרי", "dmitri"), ("אולגה", "olga"),
    ("סרגיי", "sergei"),
    ("מוחמד", "muhammad"), ("ראמי", "rami"), ("אחמד", "ahmad"), ("לינה", "lina"), ("יבגני", "evgeny"),
]  # fmt: skip
OTHER_LAST = [
    ("Ivanov", "ivanov"), ("Petrova", "petrova"), ("Smirnov", "smirnov"), ("Kuznetsov", "kuznetsov"),
    ("Volkov", "volkov"), ("Khalil", "khalil"), ("Haddad", "haddad"), ("Nasser", "nasser"),
    ("Mansour", "mansour"), ("Khoury", "khoury"), ("איבנוב", "ivanov"), ("חורי", "khoury"),
    ("נסאר", "nassar"), ("חדאד", "haddad"), ("פטרוב", "petrov"), ("סמירנוב", "smirnov"),
]  # fmt: skip
# Full names typed with an emoji (lead forms on social media get these), with a Latin form for e-mail.
EMOJI_NAMES = [
    ("Dana 🌸", "dana"), ("משה 👍", "moshe"), ("Noa ✨", "noa"), ("🌺 מיכל", "michal"), ("Avi 🙏", "avi"),
    ("שירה ❤️", "shira"), ("Yael 💕", "yael"), ("רון 😊", "ron"), ("Tom 🔥", "tom"), ("אמא של נועה 🥰", None),
    ("⭐ Lior ⭐", "lior"), ("דניאל 🇮🇱", "daniel"),
]  # fmt: skip
JUNK_NAMES = ["test", "asdf", "בדיקה", "aaa", ".", "xxx", "טסט", "123"]

AGENTS = ["דנה לוי", "Yossi Mizrahi", "מיכל כהן", "Avi Ben-David", "רונית אזולאי", "Tom Friedman"]
AGENT_WEIGHTS = [0.22, 0.2, 0.18, 0.16, 0.14, 0.10]

EMAIL_DOMAINS = [
    "gmail.com", "walla.co.il", "hotmail.com", "yahoo.com", "outlook.com", "icloud.com", "012.net.il",
    "bezeqint.net", "netvision.net.il", "live.com",
]  # fmt: skip
EMAIL_DOMAIN_WEIGHTS = [0.56, 0.09, 0.08, 0.06, 0.06, 0.05, 0.02, 0.03, 0.02, 0.03]
GENERIC_LOCALS = ["office", "info", "mail", "me", "contact", "home", "family", "work"]

COMPANIES = [
    "אלקטרה", "Wix", "סטודיו דנה", "Cohen & Co", "מאפיית הכרם", "TechNation Ltd", "א.ב. שיפוצים",
    "Green Leaf Yoga", "משרד עו\"ד לוי ושות'", "ClickData", "פיצה אלמוג", "Bright Dental", "ג'ים פלוס",
    "Nova Insurance", "קליניקה רמת אביב", "StartApp IL", "הנדסת גולן בע\"מ", "Blue Sky Travel",
    "מוסך השרון", "Shapira Accounting", "גן ילדים השקד", "Smart Home IL", "בית קפה לוטוס", "self",
    "עצמאי", "Freelancer",
]  # fmt: skip
NOTES = [
    "מעוניין בהצעת מחיר", "please call after 5pm", "ראיתי את המודעה בפייסבוק", "מה המחיר?",
    "Interested in the premium plan", "לחזור אליי בערב", "רוצה לשמוע עוד פרטים", "Is there a discount?",
    "שאלה לגבי המשלוח", "לא לשלוח וואטסאפ, רק שיחה", "Call me on WhatsApp please", "הגעתי דרך חבר 🙂",
    "מתי אפשר להתחיל?", "I filled this form before, no one called back", "מחפשת משהו לבת שלי",
    "אשמח לפגישה בזום", "need an invoice for my company", "יש לכם סניף בצפון?", "👍",
    "דחוף!!!", "מעוניין\nרק אחרי החגים", "Price for 3 people?", "התקשרו כבר פעמיים ולא עניתי, סליחה",
]  # fmt: skip
CALL_TIMES = ["בוקר", "צהריים", "ערב", "כל שעה", "אחרי 17:00", "morning", "evening", "לא משנה"]
CITIES = [
    "תל אביב", "ירושלים", "חיפה", "ראשון לציון", "פתח תקווה", "באר שבע", "נתניה", "רעננה", "Herzliya",
    "Tel Aviv", "אשדוד", "מודיעין", "Haifa", "כפר סבא",
]  # fmt: skip
FORMS = ["landing_a", "landing_b", "טופס צור קשר", "popup", "lp-2026"]

# Sources: (group, its spellings, weights of the spellings). Group probabilities follow.
SOURCE_GROUPS: list[tuple[str, list[str], list[float]]] = [
    ("facebook", ["facebook", "Facebook", "fb", "FB", "facebook.com", "m.facebook.com", "פייסבוק",
                  " Facebook ", "l.facebook.com"], [0.28, 0.2, 0.14, 0.05, 0.08, 0.07, 0.1, 0.04, 0.04]),
    ("instagram", ["instagram", "ig", "Instagram", "אינסטגרם", "IG"], [0.4, 0.25, 0.2, 0.1, 0.05]),
    ("google", ["google", "Google", "google.com", "גוגל", "GOOGLE"], [0.5, 0.25, 0.12, 0.08, 0.05]),
    ("tiktok", ["tiktok", "TikTok"], [0.6, 0.4]),
    ("youtube", ["youtube", "YouTube"], [0.8, 0.2]),
    ("whatsapp", ["whatsapp", "וואטסאפ", "WhatsApp"], [0.55, 0.35, 0.1]),
    ("email", ["newsletter", "email", "Email", "ניוזלטר"], [0.45, 0.3, 0.15, 0.1]),
    ("bing", ["bing"], [1.0]),
    ("linkedin", ["linkedin", "LinkedIn"], [0.7, 0.3]),
    ("zap", ["zap.co.il", "zap"], [0.8, 0.2]),
    ("not_set", ["(not set)", ""], [0.8, 0.2]),
]  # fmt: skip
SOURCE_GROUP_WEIGHTS = [0.31, 0.14, 0.25, 0.0, 0.03, 0.05, 0.07, 0.02, 0.025, 0.035, 0.02]  # tiktok: by date
NO_UTM = len(SOURCE_GROUPS)  # group index of leads without any UTM
NO_UTM_SHARE = 0.2
SOCIAL_MEDIA = (
    ["paid_social", "cpc", "CPC", "paid", "social", "organic", ""],
    [0.35, 0.22, 0.05, 0.14, 0.15, 0.06, 0.03],
)
MEDIA: dict[str, tuple[list[str], list[float]]] = {
    "facebook": SOCIAL_MEDIA,
    "instagram": SOCIAL_MEDIA,
    "tiktok": SOCIAL_MEDIA,
    "google": (["cpc", "CPC", "organic", "paid", "banner"], [0.6, 0.1, 0.2, 0.05, 0.05]),
    "youtube": (["paid", "banner", "social", "video"], [0.4, 0.2, 0.2, 0.2]),
    "whatsapp": (["social", "referral", "(none)", ""], [0.4, 0.3, 0.15, 0.15]),
    "email": (["email", "Email", "newsletter"], [0.8, 0.1, 0.1]),
    "bing": (["cpc"], [1.0]),
    "linkedin": (["social", "paid_social", "cpc"], [0.5, 0.4, 0.1]),
    "zap": (["referral", "banner", "cpc"], [0.7, 0.2, 0.1]),
    "not_set": (["(none)", "", "(not set)"], [0.6, 0.25, 0.15]),
}  # fmt: skip
SEASONAL_CAMPAIGNS = [
    "חג האהבה", "מבצע פסח", "ראש השנה 2026", "חנוכה", "black_friday", "Summer Sale", "back_to_school",
    "סוכות", "sale_50", "webinar_nov", "השקה_חדשה", "Black Friday",
]  # fmt: skip
EVERGREEN_CAMPAIGNS = ["brand", "retargeting", "lookalike", "leads_form", "remarketing_30d", "Brand"]
EMAIL_CAMPAIGNS = ["newsletter_weekly", "ניוזלטר חודשי", "winback"]
TERMS = [
    "קורס דיגיטל", "crm למשרד", "best crm israel", "ניהול לידים", "מחיר", "הנחה", "crm", "lead management",
    "קורס שיווק", "תוכנה לניהול לקוחות",
]  # fmt: skip
CONTENTS = [
    "video_1",
    "carousel_a",
    "story",
    "banner_300x250",
    "ad_עברית",
    "ad_english",
    "reel_02",
    "static_b",
]
EMAIL_CONTENTS = ["header_button", "footer_link", "נובמבר_ניוזלטר"]

# Outcomes a lead eventually reaches (indices into STATUSES), base probabilities, and per-source tilts.
OUTCOMES = np.array(
    [
        CONVERTED,
        RETURNING,
        NOT_INTERESTED,
        DUPLICATE,
        FAULTY,
        NO_ANSWER,
        FOLLOW_UP,
        INTERESTED,
        IN_PROGRESS,
        NEW,
    ]
)
BASE_OUTCOME_P = np.array([0.13, 0.03, 0.21, 0.025, 0.04, 0.17, 0.10, 0.10, 0.145, 0.05])
# multipliers per source group on (converted, returning, not interested, faulty)
SOURCE_TILT: dict[str, tuple[float, float, float, float]] = {
    "facebook": (0.9, 0.8, 1.1, 1.3),
    "instagram": (0.8, 0.8, 1.1, 1.2),
    "google": (1.5, 1.0, 0.9, 0.6),
    "tiktok": (0.45, 0.5, 1.3, 3.5),
    "youtube": (0.8, 1.0, 1.1, 1.2),
    "whatsapp": (1.2, 2.0, 0.9, 0.8),
    "email": (1.4, 3.0, 0.9, 0.4),
    "bing": (1.3, 1.0, 0.9, 0.7),
    "linkedin": (1.1, 1.0, 1.0, 0.5),
    "zap": (1.3, 1.0, 0.9, 0.8),
    "not_set": (1.0, 1.0, 1.0, 1.0),
}
# Days from creation until the outcome is reached: shift + exponential(mean).
OUTCOME_DELAY = {
    CONVERTED: (3.0, 12.0),
    RETURNING: (0.2, 3.0),
    NOT_INTERESTED: (0.5, 4.0),
    DUPLICATE: (0.02, 0.7),
    FAULTY: (0.02, 0.8),
    NO_ANSWER: (1.0, 6.0),
    FOLLOW_UP: (2.0, 8.0),
    INTERESTED: (2.0, 6.0),
    IN_PROGRESS: (0.1, 2.0),
    NEW: (0.0, 0.0),
}
FIRST_TOUCH_MEAN_DAYS = 0.6
# Hour-of-day profile of lead arrivals (Israel local time); 01:00-02:59 stays empty (see module docstring).
HOUR_WEIGHTS = [0.6, 0, 0, 0.1, 0.1, 0.2, 0.5, 1.2, 2.5, 4, 5, 5.2, 4.8, 4.5, 4.6, 4.4, 4, 3.6, 3.3, 3.6, 3.8,
                3.3, 2.3, 1.3]  # fmt: skip
# Monday=0 .. Sunday=6; the Israeli week runs Sunday-Thursday, Friday is short, Saturday is Shabbat.
WEEKDAY_WEIGHTS = [1.0, 1.0, 1.0, 0.95, 0.55, 0.3, 1.05]
PHONE_PREFIXES = [50, 52, 53, 54, 55, 58]
PHONE_PREFIX_WEIGHTS = [0.28, 0.22, 0.1, 0.25, 0.03, 0.12]
PHONE_FORMATS = [
    lambda p, r: f"0{p}-{r:07d}",  # 050-1234567
    lambda p, r: f"0{p}{r:07d}",  # 0501234567
    lambda p, r: f"+972{p}{r:07d}",  # +972501234567
    lambda p, r: f"+972-{p}-{r // 10000:03d}-{r % 10000:04d}",  # +972-50-123-4567
    lambda p, r: f"972{p}{r:07d}",  # 972501234567
    lambda p, r: f"0{p} {r // 10000:03d} {r % 10000:04d}",  # 050 123 4567
]
PHONE_FORMAT_WEIGHTS = [0.3, 0.3, 0.15, 0.07, 0.06, 0.12]
DUPLICATE_PHONE_SHARE = 0.02


# ------------------------------------------------------------------------------------------------ helpers
def _p(weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _obj(values: Sequence) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _choose(rng: np.random.Generator, values: Sequence, size: int, weights: Sequence[float] | None = None):
    """`size` values drawn from `values` (an object array)."""
    idx = rng.choice(len(values), size=size, p=None if weights is None else _p(weights))
    return _obj(values)[idx]


def _fill(rng, out: np.ndarray, mask: np.ndarray, values: Sequence, weights=None) -> None:
    k = int(mask.sum())
    if k:
        out[mask] = _choose(rng, values, k, weights)


def _sprinkle(rng, n: int, share: float, values: Sequence, weights=None) -> np.ndarray:
    """An object column: a value from `values` for about `share` of the rows, None elsewhere."""
    out = np.full(n, None, dtype=object)
    _fill(rng, out, rng.random(n) < share, values, weights)
    return out


# ---------------------------------------------------------------------------------------------- generator
def _created_seconds(rng: np.random.Generator, n: int, end_s: int) -> np.ndarray:
    """Sorted creation times, in seconds of naive local time, in (end - WINDOW_DAYS, end]."""
    end_day = end_s // 86400
    days_back = np.arange(WINDOW_DAYS + 1)
    day_index = end_day - days_back
    trend = 1.0 + 0.6 * (1.0 - days_back / WINDOW_DAYS)  # mild growth towards `end`
    weekday = np.asarray(WEEKDAY_WEIGHTS)[(day_index + 3) % 7]  # 1970-01-01 was a Thursday
    noise = np.exp(rng.normal(0.0, 0.18, size=days_back.size))  # campaign bursts, quiet days
    day_p = _p(trend * weekday * noise)
    hour_p = _p(HOUR_WEIGHTS)
    out = np.empty(n, dtype=np.int64)
    todo = np.arange(n)
    start_s = end_s - WINDOW_DAYS * 86400
    while todo.size:
        d = rng.choice(days_back.size, size=todo.size, p=day_p)
        h = rng.choice(24, size=todo.size, p=hour_p)
        s = (end_day - d) * 86400 + h * 3600 + rng.integers(0, 3600, size=todo.size)
        ok = (s > start_s) & (s <= end_s)
        out[todo[ok]] = s[ok]
        todo = todo[~ok]
    out.sort(kind="stable")
    return out


def _format_seconds(seconds: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").astype(object)


def _names(rng: np.random.Generator, n: int):
    """name, f_name, l_name and the Latin first/last forms used for e-mail addresses."""
    origin = rng.choice(3, size=n, p=[0.6, 0.35, 0.05])  # Hebrew, English, Russian/Arabic
    he_f, he_l = rng.integers(0, len(HE_FIRST), n), rng.integers(0, len(HE_LAST), n)
    en_f, en_l = rng.integers(0, len(EN_FIRST), n), rng.integers(0, len(EN_LAST), n)
    ot_f, ot_l = rng.integers(0, len(OTHER_FIRST), n), rng.integers(0, len(OTHER_LAST), n)
    kind = rng.random(n)  # < 0.012 emoji full name, < 0.02 mixed scripts, < 0.14 full name only
    part = rng.random(n)
    lower = rng.random(n) < 0.08
    if n >= 2:  # every data set shows at least one emoji name and one mixed Hebrew/English name
        kind[rng.choice(n, size=2, replace=False)] = (0.005, 0.015)
    name, first, last, f_lat, l_lat = ([None] * n for _ in range(5))
    for i in range(n):
        o = origin[i]
        if o == 0:
            f, fl = HE_FIRST[he_f[i]]
            l_, ll = HE_LAST[he_l[i]]
        elif o == 1:
            f, l_ = EN_FIRST[en_f[i]], EN_LAST[en_l[i]]
            fl, ll = f.lower(), l_.lower()
            if lower[i]:
                f, l_ = fl, ll
        else:
            f, fl = OTHER_FIRST[ot_f[i]]
            l_, ll = OTHER_LAST[ot_l[i]]
        k = kind[i]
        if k < 0.012:
            f, fl = EMOJI_NAMES[he_f[i] % len(EMOJI_NAMES)]
            l_ = ll = None
        elif k < 0.02:  # mixed Hebrew/English
            if part[i] < 0.5:
                f, fl = HE_FIRST[he_f[i]]
                l_, ll = EN_LAST[en_l[i]], EN_LAST[en_l[i]].lower()
            else:
                f, fl = EN_FIRST[en_f[i]], EN_FIRST[en_f[i]].lower()
                l_, ll = HE_LAST[he_l[i]]
        if k < 0.012:
            full, fn, ln = f, f, None
        elif 0.02 <= k < 0.14:  # the name was not split: same value in name and f_name (seed 003)
            full = f"{f} {l_}" if part[i] < 0.6 else f
            fn, ln = full, None
            if part[i] >= 0.6:
                ll = None
        else:
            full, fn, ln = f"{f} {l_}", f, l_
        name[i], first[i], last[i], f_lat[i], l_lat[i] = full, fn, ln, fl, ll
    return _obj(name), _obj(first), _obj(last), f_lat, l_lat


def _emails(rng: np.random.Generator, n: int, f_lat: list, l_lat: list) -> np.ndarray:
    has = rng.random(n) < 0.7
    style = rng.integers(0, 6, n)
    domain = rng.choice(len(EMAIL_DOMAINS), size=n, p=_p(EMAIL_DOMAIN_WEIGHTS))
    num = rng.integers(1, 999, n)
    year = rng.integers(60, 105, n) % 100
    generic = rng.integers(0, len(GENERIC_LOCALS), n)
    shout = rng.random(n) < 0.06
    pad = rng.random(n) < 0.01
    out = np.full(n, None, dtype=object)
    for i in np.flatnonzero(has):
        f, l_ = f_lat[i], l_lat[i]
        s = style[i]
        if not f or s == 5:
            local = f"{GENERIC_LOCALS[generic[i]]}{num[i]}"
        elif not l_ or s == 4:
            local = f"{f}{year[i]:02d}" if s % 2 else f"{f}{num[i]}"
        elif s == 0:
            local = f"{f}.{l_}"
        elif s == 1:
            local = f"{f}_{l_}"
        elif s == 2:
            local = f"{f}{l_}{num[i]}"
        else:
            local = f"{f[0]}{l_}"
        dom = EMAIL_DOMAINS[domain[i]]
        if shout[i]:  # Dana.Cohen@Gmail.com
            local = ".".join(p.capitalize() for p in local.split("."))
            dom = dom.capitalize()
        e = f"{local}@{dom}"
        out[i] = f" {e}" if pad[i] else e
    return out


def _phones(rng: np.random.Generator, n: int):
    prefix = _obj(PHONE_PREFIXES)[rng.choice(len(PHONE_PREFIXES), size=n, p=_p(PHONE_PREFIX_WEIGHTS))]
    rest = rng.integers(0, 10_000_000, n)
    fmt = rng.choice(len(PHONE_FORMATS), size=n, p=_p(PHONE_FORMAT_WEIGHTS))
    return prefix, rest, fmt


def _utm(rng: np.random.Generator, n: int, age_days: np.ndarray, created_day: np.ndarray):
    """The five UTM columns and each lead's source group index (NO_UTM for none)."""
    group = rng.choice(len(SOURCE_GROUPS), size=n, p=_p(SOURCE_GROUP_WEIGHTS))
    tiktok = [g for g, _, _ in SOURCE_GROUPS].index("tiktok")
    group[rng.random(n) < 0.02 + 0.09 * (1.0 - age_days / WINDOW_DAYS)] = tiktok  # TikTok grows lately
    group[rng.random(n) < NO_UTM_SHARE] = NO_UTM
    source, medium, campaign, term, content = (np.full(n, None, dtype=object) for _ in range(5))
    for g, (key, spellings, weights) in enumerate(SOURCE_GROUPS):
        m = group == g
        _fill(rng, source, m, spellings, weights)
        _fill(rng, medium, m, *MEDIA[key])
    has = group != NO_UTM
    # Campaigns: evergreen ones, plus two seasonal ones in rotation per 30-day block.
    block = (created_day - created_day.min()) // 30 if n else created_day
    seasonal = _obj(SEASONAL_CAMPAIGNS)[(block * 2 + rng.integers(0, 3, n)) % len(SEASONAL_CAMPAIGNS)]
    pick = rng.random(n)
    campaign[:] = np.where(pick < 0.55, seasonal, _choose(rng, EVERGREEN_CAMPAIGNS, n))
    is_email = group == [g for g, _, _ in SOURCE_GROUPS].index("email")
    campaign[is_email & (pick < 0.7)] = _choose(rng, EMAIL_CAMPAIGNS, int((is_email & (pick < 0.7)).sum()))
    campaign[~has | (rng.random(n) < 0.15)] = None  # some tagged links carry a source but no campaign
    paid_search = np.isin(group, [2, 7]) & np.isin(medium, ["cpc", "CPC", "paid"])
    _fill(rng, term, paid_search & (rng.random(n) < 0.65), TERMS)
    social = np.isin(group, [0, 1, 3, 4, 8])
    _fill(rng, content, social & (rng.random(n) < 0.5), CONTENTS)
    _fill(rng, content, is_email & (rng.random(n) < 0.6), EMAIL_CONTENTS)
    _fill(rng, content, has & ~social & ~is_email & (rng.random(n) < 0.05), CONTENTS)
    return source, medium, campaign, term, content, group


def _outcome_p() -> np.ndarray:
    """Outcome probabilities per source group (rows: SOURCE_GROUPS then no-UTM)."""
    rows = []
    for key in [g for g, _, _ in SOURCE_GROUPS] + ["not_set"]:
        conv, ret, ni, faulty = SOURCE_TILT[key]
        p = BASE_OUTCOME_P.copy()
        p[0] *= conv
        p[1] *= ret
        p[2] *= ni
        p[4] *= faulty
        rows.append(p / p.sum())
    return np.vstack(rows)


def generate_columns(n: int, end: datetime, seed: int = 7) -> dict[str, np.ndarray]:
    """`n` leads created over the WINDOW_DAYS days before `end`, as object arrays keyed by LEAD_FIELDS.

    Rows are in creation order. `end` may be aware (converted to Israel time) or naive (taken as Israel
    local time). Deterministic for (n, end, seed).
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = np.random.default_rng(seed)
    end_local = to_local_naive(end)
    end_s = int((end_local - datetime(1970, 1, 1)).total_seconds())
    created = _created_seconds(rng, n, end_s)
    age_days = (end_s - created) / 86400.0
    created_day = created // 86400

    name, f_name, l_name, f_lat, l_lat = _names(rng, n)
    email = _emails(rng, n, f_lat, l_lat)
    prefix, rest, fmt = _phones(rng, n)
    source, medium, campaign, term, content, group = _utm(rng, n, age_days, created_day)

    # Outcome by source, then how far each lead has got by `end`.
    cum = np.cumsum(_outcome_p(), axis=1)[group]
    outcome = OUTCOMES[np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), len(OUTCOMES) - 1)]

    # About 2 % share a phone with an earlier lead (the same person again): mostly marked as duplicates.
    dup = (rng.random(n) < DUPLICATE_PHONE_SHARE) & (np.arange(n) > 0)
    dup_idx = np.flatnonzero(dup)
    back = np.minimum(dup_idx, 1 + rng.exponential(max(1.0, n / 30), dup_idx.size).astype(np.int64))
    src_idx = dup_idx - back
    for i, j in zip(dup_idx.tolist(), src_idx.tolist(), strict=True):  # in order, so chains resolve
        prefix[i], rest[i] = prefix[j], rest[j]
    same_name = rng.random(dup_idx.size) < 0.8
    name[dup_idx[same_name]] = name[src_idx[same_name]]
    f_name[dup_idx[same_name]] = f_name[src_idx[same_name]]
    l_name[dup_idx[same_name]] = l_name[src_idx[same_name]]
    same_mail = rng.random(dup_idx.size) < 0.7
    email[dup_idx[same_mail]] = email[src_idx[same_mail]]
    outcome[dup_idx[rng.random(dup_idx.size) < 0.85]] = DUPLICATE

    shift = np.zeros(n)
    mean = np.zeros(n)
    for o, (sh, mu) in OUTCOME_DELAY.items():
        m = outcome == o
        shift[m], mean[m] = sh, mu
    delay = shift + rng.exponential(1.0, n) * mean
    first_touch = np.minimum(rng.exponential(FIRST_TOUCH_MEAN_DAYS, n), delay)
    reached = age_days >= delay
    status = np.where(reached, outcome, NEW)
    upd_days = np.where(reached, delay, 0.0)
    # Not there yet but touched: an intermediate status, updated at some point since the first touch.
    mid = ~reached & (age_days >= first_touch) & (outcome != NEW)
    p_interested = np.where(np.isin(outcome, [CONVERTED, RETURNING]), 0.4, 0.08)
    p_progress = p_interested + np.where(age_days - first_touch < 2.0, 0.7, 0.45)  # fresh: being handled
    p_no_answer = np.minimum(p_progress + 0.3, 1.0)
    u = rng.random(n)
    inter = np.where(
        u < p_interested,
        INTERESTED,
        np.where(u < p_progress, IN_PROGRESS, np.where(u < p_no_answer, NO_ANSWER, FOLLOW_UP)),
    )
    status = np.where(mid, inter, status)
    upd_days = np.where(mid, first_touch + rng.random(n) * (age_days - first_touch), upd_days)
    # The retired "waiting for a call back" status: some old leads that stalled still carry it.
    old_open = (age_days > INACTIVE_MIN_AGE_DAYS + 1) & np.isin(status, [NO_ANSWER, FOLLOW_UP, IN_PROGRESS])
    waiting = old_open & (rng.random(n) < 0.1)
    if old_open.any() and not waiting.any():  # show it whenever there are old leads to carry it
        waiting[rng.choice(np.flatnonzero(old_open))] = True
    status[waiting] = WAITING
    room = np.maximum(age_days - INACTIVE_MIN_AGE_DAYS, 0.1)
    upd_days[waiting] = np.minimum(room[waiting], 0.5 + rng.exponential(5.0, int(waiting.sum())))

    # Junk leads are junkier: test names and broken phones.
    faulty = status == FAULTY
    junk_name = faulty & (rng.random(n) < 0.3)
    jn = _choose(rng, JUNK_NAMES, int(junk_name.sum()))
    name[junk_name], f_name[junk_name], l_name[junk_name] = jn, jn, None
    bad_phone = faulty & (rng.random(n) < 0.35)

    # Agents touch leads in working hours: keep the day of the update, draw its time of day, then clip to
    # [created, end]. Both bounds are real local times, so no update falls into a DST gap or overlap.
    updated = created + np.round(upd_days * 86400).astype(np.int64)
    work_tod = rng.integers(int(8.5 * 3600), int(19.5 * 3600), n)
    updated = np.where(upd_days > 0, updated - updated % 86400 + work_tod, created)
    updated = np.minimum(np.maximum(updated, created), end_s)
    retired = end_s - INACTIVE_MIN_AGE_DAYS * 86400  # the retired status was last set before this
    if 1 <= (retired % 86400) // 3600 < 3:
        retired -= 3 * 3600
    updated[waiting] = np.maximum(np.minimum(updated[waiting], retired), created[waiting])

    fmt_fns = PHONE_FORMATS
    bad_kind = rng.integers(0, 4, n)
    phone = np.empty(n, dtype=object)
    phone[:] = [
        fmt_fns[f](p, r)
        if not b
        else ("0500000000", "123", f"05{p % 10}{r % 100000:05d}", "1234567")[k]
        for p, r, f, b, k in zip(
            prefix.tolist(), rest.tolist(), fmt.tolist(), bad_phone.tolist(), bad_kind.tolist(), strict=True
        )
    ]  # fmt: skip
    phone[dup] = [fmt_fns[f](p, r) for p, r, f in zip(prefix[dup], rest[dup], fmt[dup], strict=True)]

    owner = _choose(rng, AGENTS, n, AGENT_WEIGHTS)
    owner[rng.random(n) < np.where(status == NEW, 0.2, 0.04)] = None

    counters = ID_COUNTER_START + np.cumsum(rng.integers(1, ID_MAX_STEP + 1, n))
    ids = np.empty(n, dtype=object)
    ids[:] = [ID_PREFIX + f"{c:015d}" for c in counters.tolist()]

    cols = {
        "id": ids,
        "name": name,
        "f_name": f_name,
        "l_name": l_name,
        "email": email,
        "phone": phone,
        "company": _sprinkle(rng, n, 0.3, COMPANIES),
        "text": _sprinkle(rng, n, 0.4, NOTES),
        "is_subscriber": (rng.random(n) < 0.35).astype(object),
        "owner": owner,
        "ext_one": _sprinkle(rng, n, 0.35, CALL_TIMES),
        "ext_two": _sprinkle(rng, n, 0.2, CITIES),
        "ext_three": _sprinkle(rng, n, 0.1, FORMS),
        "ext_four": _sprinkle(rng, n, 0.02, ["VIP", "partner referral", "לקוח ממליץ"]),
        "lead_status": _obj(STATUS_IDS)[status],
        "utm_source": source,
        "utm_medium": medium,
        "utm_campaign": campaign,
        "utm_term": term,
        "utm_content": content,
        "created_at": _format_seconds(created),
        "updated_at": _format_seconds(updated),
    }
    return cols


def iter_rows(columns: dict[str, np.ndarray]) -> Iterator[tuple]:
    """The rows of `generate_columns` output as tuples in LEAD_FIELDS order."""
    return zip(*(columns[f].tolist() for f in LEAD_FIELDS), strict=True)


def generate_leads(n: int, end: datetime, seed: int = 7) -> list[dict]:
    """`n` lead dicts as the CRM serves them (see generate_columns)."""
    return [dict(zip(LEAD_FIELDS, row, strict=True)) for row in iter_rows(generate_columns(n, end, seed))]


def default_end() -> datetime:
    """The default anchor: now, CRM-local, to the second."""
    return local_now()


__all__ = [
    "CRM_TIMEZONE",
    "INACTIVE_STATUS_ID",
    "LEAD_FIELDS",
    "NEW_STATUS_ID",
    "STATUSES",
    "STATUS_IDS",
    "WINDOW_DAYS",
    "format_local",
    "generate_columns",
    "generate_leads",
    "iter_rows",
    "local_now",
    "next_lead_id",
    "to_local_naive",
]
