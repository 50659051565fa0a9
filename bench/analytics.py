"""Benchmark lib.analytics on 1,000,000 synthetic canonical leads.

Run:  .venv/bin/python -m bench.analytics  [--rows 1000000] [--repeat 5]

Prints the frame's memory and a markdown table: each function's best time, its ratio to a bare
``leads.groupby("utm_source", observed=True).size()`` on the same frame in the same run (the practical
floor), and whether the target is met (< 0.5 s and <= 3x the bare groupby; <= 6x for the three-column UTM
breakdown; the rest are reported without a target).
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np
import pandas as pd

from lib import analytics as A
from lib.roles import with_default_roles
from lib.schema import LEAD_COLUMNS, to_canonical_statuses

SOURCES = (
    "facebook",
    "Facebook",
    "FACEBOOK",
    "fb",
    "FB",
    "facebook.com",
    "m.facebook.com",
    "l.facebook.com",
    "פייסבוק",
    " פייסבוק ",
    "פייסבוק ממומן",
    "Facebook Ads",
    "instagram",
    "Instagram",
    "ig",
    "IG",
    "instagram.com",
    "אינסטגרם",
    "google",
    "Google",
    "GOOGLE",
    "google.com",
    "adwords",
    "גוגל",
    "google ",
    "tiktok",
    "TikTok",
    "tik tok",
    "טיקטוק",
    "youtube",
    "YouTube",
    "yt",
    "יוטיוב",
    "whatsapp",
    "WhatsApp",
    "wa",
    "וואטסאפ",
    "ווטסאפ",
    "email",
    "Email",
    "e-mail",
    "newsletter",
    "mail",
    "מייל",
    "ניוזלטר",
    "(direct)",
    "direct",
    "linkedin",
    "LinkedIn",
    "bing",
    "taboola",
    "outbrain",
    "partner-site",
    "affiliate_x",
    "null",
    "undefined",
    "(not set)",
    "none",
    "NULL",
    "",
)  # fmt: skip  -- 60 raw variants
MEDIA = ("cpc", "CPC", "paid", "paid_social", "organic", "social", "email", "referral", "display", "banner",
         "affiliate", "ממומן", "(none)", "", "ppc")  # fmt: skip
STATUS_NAMES = ("💫 חדש", "🌟 בטיפול", "☎️ אין מענה", "💡 פולו-אפ", "⚡️ מעוניין", "😐 לא מעוניין",
                "❗️ כפול", "⛔️ תקול", "⚠️ לקוח חוזר", "🎉 הומר ללקוח", "ארכיון")  # fmt: skip
OWNERS = ("דנה", "Avi", "יוסי", "Noa", "מיכל", "Omer", "רונית")
TZ = "Asia/Jerusalem"


def _cat(rng: np.random.Generator, values, n: int, p=None, na: float = 0.0) -> pd.Categorical:
    """A categorical over ``values`` drawn with probabilities ``p`` (Zipf-like by default)."""
    values = [v.strip() for v in values]
    uniq = list(dict.fromkeys(v for v in values if v))
    index = {v: i for i, v in enumerate(uniq)}
    lut = np.array([index.get(v, -1) for v in values])  # "" → NA, as to_canonical_leads does
    if p is None:
        w = 1.0 / np.arange(1, len(values) + 1)
        p = w / w.sum()
    codes = lut[rng.choice(len(values), size=n, p=p)]
    if na:
        codes[rng.random(n) < na] = -1
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniq, dtype="string"))


def _text(rng: np.random.Generator, pool, n: int) -> pd.arrays.ArrowStringArray:
    return pd.array(np.asarray(pool, dtype=object)[rng.integers(0, len(pool), n)], dtype="string")


def make_statuses() -> pd.DataFrame:
    ids = [str(233069071553535427697228277840563827497 + 1000 * i) for i in range(len(STATUS_NAMES))]
    df = pd.DataFrame({"status_id": ids, "status": list(STATUS_NAMES), "position": range(len(ids))})
    df["is_active"] = [True] * 10 + [False]
    return with_default_roles(to_canonical_statuses(df))


def make_leads(n: int, statuses: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = statuses["status_id"].tolist()
    p_status = np.array([20, 12, 10, 8, 9, 14, 5, 4, 3, 12, 3], dtype=float)
    status_cat = _cat(rng, ids, n, p=p_status / p_status.sum())
    names = statuses["status"].tolist()
    status_name = pd.Categorical.from_codes(status_cat.codes, categories=pd.Index(names, dtype="string"))
    end = pd.Timestamp("2026-04-01", tz="UTC").value
    created = end - rng.integers(0, 183 * 86_400 * 10**9, n)
    created_at = pd.Series(pd.to_datetime(created, utc=True)).astype("datetime64[ns, UTC]")
    updated_at = created_at + pd.to_timedelta(rng.integers(0, 30 * 86_400, n), unit="s")
    closed = np.where(rng.random(n) < 0.3, updated_at.array.asi8, np.iinfo(np.int64).min)
    closed_at = pd.Series(pd.to_datetime(closed, utc=True)).astype("datetime64[ns, UTC]")
    first = ("דנה", "Avi", "יוסי", "Noa", "מיכל", "Omer", "רונית", "David", "שרה", "Maya") * 5
    last = ("כהן", "Levi", "מזרחי", "Peretz", "ביטון", "Friedman", "אזולאי", "Dahan") * 5
    campaigns = [f"campaign_{i}" for i in range(190)] + ["חג האהבה", "פסח 2026", "ראש השנה", "summer_sale",
                                                         "black friday", "retargeting", "brand", "לידים",
                                                         "webinar", "promo"]  # fmt: skip
    lead_id = pd.array((2719000000000000000 + np.arange(n)).astype(str), dtype="string")
    phone = pd.array(
        np.char.add("+9725", rng.integers(10_000_000, 99_999_999, n).astype(str)), dtype="string"
    )
    frame = {
        "lead_id": lead_id,
        "name": _text(rng, [f"{a} {b}" for a in first[:10] for b in last[:8]], n),
        "first_name": _text(rng, first, n),
        "last_name": _text(rng, last, n),
        "phone": phone,
        "email": pd.array(np.char.add(np.arange(n).astype(str), "@example.com"), dtype="string"),
        "company": _text(rng, ["", "Acme", "חברת בדיקה", "Globex"], n),
        "owner": _cat(rng, OWNERS, n, na=0.05),
        "status_id": status_cat,
        "status": status_name,
        "created_at": created_at,
        "updated_at": updated_at,
        "closed_at": closed_at,
        "utm_source": _cat(rng, SOURCES, n, na=0.1),
        "utm_medium": _cat(rng, MEDIA, n, na=0.2),
        "utm_campaign": _cat(rng, campaigns, n, na=0.2),
        "utm_term": _cat(rng, [f"term {i}" for i in range(50)], n, na=0.6),
        "utm_content": _cat(rng, [f"ad_{i}" for i in range(80)], n, na=0.5),
        "referrer": _text(rng, [None] * 20 + ["https://www.google.com/", "https://l.facebook.com/l.php",
                                              "https://example.org/blog", "https://www.bing.com/search"], n),
        "landing_page": _text(rng, ["https://shop.example.co.il/", "https://shop.example.co.il/sale"], n),
        "price": np.round(rng.gamma(2.0, 1500.0, n), 2),
    }  # fmt: skip
    leads = pd.DataFrame(frame)
    leads["company"] = leads["company"].mask(leads["company"] == "")
    for col, dtype in LEAD_COLUMNS.items():  # the frame must be exactly canonical
        kind = "category" if isinstance(leads[col].dtype, pd.CategoricalDtype) else str(leads[col].dtype)
        assert kind == dtype, (col, kind, dtype)
    return leads


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    statuses = make_statuses()
    t0 = time.perf_counter()
    leads = make_leads(args.rows, statuses)
    built = time.perf_counter() - t0
    mb = leads.memory_usage(deep=True).sum() / 2**20
    print(
        f"{len(leads):,} leads built in {built:.1f} s; "
        f"memory_usage(deep=True) = {mb:.0f} MB (target < 500 MB)"
    )
    start, end = date(2026, 1, 1), date(2026, 3, 31)
    bare = best_of(lambda: leads.groupby("utm_source", observed=True).size(), args.repeat)
    cases = [
        ("status_breakdown", lambda: A.status_breakdown(leads, statuses), 3),
        ("status_by_owner", lambda: A.status_by_owner(leads, statuses), 3),
        ("funnel", lambda: A.funnel(leads, statuses), 3),
        ("funnel_by utm_source", lambda: A.funnel_by(leads, statuses, "utm_source"), 3),
        ("normalize_utm (utm_source)", lambda: A.normalize_utm(leads["utm_source"]), 3),
        ("utm_breakdown utm_source", lambda: A.utm_breakdown(leads, statuses), 3),
        (
            "utm_breakdown source+medium+campaign",
            lambda: A.utm_breakdown(leads, statuses, by=("utm_source", "utm_medium", "utm_campaign")),
            6,
        ),
        ("leads_over_time D", lambda: A.leads_over_time(leads, "D", TZ), 3),
        (
            "leads_over_time W by role",
            lambda: A.leads_over_time(leads, "W", TZ, by="role", statuses=statuses),
            3,
        ),
        ("leads_over_time M by utm_source", lambda: A.leads_over_time(leads, "M", TZ, by="utm_source"), 3),
        ("cohort_table W", lambda: A.cohort_table(leads, statuses, TZ), 3),
        ("period_kpis", lambda: A.period_kpis(leads, statuses, start, end, TZ), None),
        ("channel", lambda: A.channel(leads), None),
        ("utm_breakdown channel", lambda: A.utm_breakdown(leads, statuses, by=("channel",)), None),
        ("utm_quality (5 fields)", lambda: A.utm_quality(leads), None),
        ("in_period (90 days)", lambda: A.in_period(leads, start, end, TZ), None),
    ]
    print()
    print(f"bare `leads.groupby('utm_source', observed=True).size()`: {bare * 1000:.1f} ms")
    print()
    print("| function | seconds | × bare groupby | target met |")
    print("|---|---:|---:|---|")
    print(f"| bare groupby (floor) | {bare:.4f} | 1.0 | – |")
    for name, fn, limit in cases:
        fn()  # warm caches (alias/regex lookups), as a running app would have
        t = best_of(fn, args.repeat)
        ratio = t / bare
        if limit is None:
            verdict = "no target" if t < 0.5 else "no target (> 0.5 s)"
        else:
            verdict = "yes" if (t < 0.5 and ratio <= limit) else "**NO**"
            verdict += f" (< 0.5 s, ≤ {limit}×)"
        print(f"| {name} | {t:.4f} | {ratio:.1f} | {verdict} |")


if __name__ == "__main__":
    main()
