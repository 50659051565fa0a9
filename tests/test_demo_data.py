"""The demo CRM's generated data: deterministic, shaped like the v2 contract, and realistically messy."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lib.demo.data import STATUSES, generate_columns, generate_leads
from tests.conftest import INACTIVE, SEED_STATUSES

END = datetime(2026, 11, 20, 18, 0, 0)  # naive = Israel local time
N = 5000
TZ = ZoneInfo("Asia/Jerusalem")

SEED_000 = SEED_STATUSES
WAITING = INACTIVE[0]
NEW, IN_PROGRESS, CONVERTED, RETURNING = SEED_000[0][0], SEED_000[1][0], SEED_000[9][0], SEED_000[8][0]
DUPLICATE, FAULTY, NOT_INTERESTED = SEED_000[6][0], SEED_000[7][0], SEED_000[5][0]
FIELDS = [
    "id", "name", "f_name", "l_name", "email", "phone", "company", "text", "is_subscriber", "owner",
    "ext_one", "ext_two", "ext_three", "ext_four", "lead_status", "utm_source", "utm_medium", "utm_campaign",
    "utm_term", "utm_content", "created_at", "updated_at",
]  # fmt: skip
UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"]
HEBREW = re.compile("[\u0590-\u05ff]")
LATIN = re.compile("[A-Za-z]")
EMOJI = re.compile("[\u2600-\u27bf\U0001f000-\U0001faff]")


@pytest.fixture(scope="module")
def leads() -> list[dict]:
    return generate_leads(N, END)


def t(s: str) -> datetime:
    return datetime.fromisoformat(s)


def national(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return "0" + digits[3:] if digits.startswith("972") else digits


def test_same_arguments_same_data_and_the_seed_matters():
    assert generate_leads(300, END) == generate_leads(300, END)
    assert generate_leads(300, END, seed=8) != generate_leads(300, END)
    assert generate_leads(0, END) == []


def test_an_aware_end_means_the_same_instant():
    aware = END.replace(tzinfo=TZ).astimezone(UTC)
    assert generate_leads(200, aware) == generate_leads(200, END)


def test_the_eleven_statuses_exactly():
    assert [(s["id"], s["name"]) for s in STATUSES] == [*SEED_000, (WAITING, "⏳ ממתין לחזרה")]
    assert [s["is_active"] for s in STATUSES] == ["Y"] * 10 + ["N"]
    assert len(SEED_000[3][0]) == 36  # kept exactly as the seed writes it


def test_every_lead_has_exactly_the_contract_fields(leads):
    assert all(list(lead) == FIELDS for lead in leads)
    assert all(isinstance(lead["is_subscriber"], bool) for lead in leads)
    for lead in leads:
        for k in FIELDS:
            if k != "is_subscriber":
                assert lead[k] is None or isinstance(lead[k], str), (k, lead[k])
    assert {lead["lead_status"] for lead in leads} <= {s["id"] for s in STATUSES}


def test_ids_are_unique_39_digit_strings_in_creation_order(leads):
    ids = [lead["id"] for lead in leads]
    assert all(isinstance(i, str) and re.fullmatch(r"[1-9]\d{38}", i) for i in ids)
    assert len(set(ids)) == N
    assert ids == sorted(ids)


def test_times_are_local_iso_without_offset_within_the_window(leads):
    created = [lead["created_at"] for lead in leads]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", c) for c in created)
    assert created == sorted(created)
    assert t(created[0]) > END - timedelta(days=180)
    assert t(created[-1]) <= END
    assert t(created[0]) < END - timedelta(days=175)  # the whole window is used
    for lead in leads:
        assert t(lead["created_at"]) <= t(lead["updated_at"]) <= END
        for key in ("created_at", "updated_at"):  # every value names exactly one instant (no DST gap)
            local = t(lead[key]).replace(tzinfo=TZ)
            assert local.astimezone(UTC).astimezone(TZ).replace(tzinfo=None) == t(lead[key])


def test_working_hours_and_a_quiet_shabbat(leads):
    created = [t(lead["created_at"]) for lead in leads]
    hours = Counter(c.hour for c in created)
    assert sum(hours[h] for h in range(8, 23)) / N > 0.85
    assert hours[1] == hours[2] == 0
    days = Counter(c.weekday() for c in created)  # Monday=0 .. Saturday=5, Sunday=6
    weekday_avg = sum(days[d] for d in (6, 0, 1, 2, 3)) / 5
    assert days[5] < 0.5 * weekday_avg  # Saturday
    assert days[4] < 0.8 * weekday_avg  # Friday
    first_half = sum(c < END - timedelta(days=90) for c in created)
    assert first_half < N / 2  # a mild upward trend


def test_names_in_hebrew_english_with_emoji_and_mixed(leads):
    names = [lead["name"] for lead in leads]
    hebrew = sum(bool(HEBREW.search(n)) for n in names) / N
    english = sum(bool(LATIN.search(n)) and not HEBREW.search(n) for n in names) / N
    assert 0.5 < hebrew < 0.7 and 0.25 < english < 0.45
    assert any(EMOJI.search(n) for n in names)
    assert "Dana 🌸" in names or "משה 👍" in names
    assert any(HEBREW.search(n) and LATIN.search(n) for n in names)
    full_only = [lead for lead in leads if lead["l_name"] is None]
    assert 0.05 < len(full_only) / N < 0.25
    assert all(lead["f_name"] == lead["name"] for lead in full_only)  # seed 003: same value in both
    split = [lead for lead in leads if lead["l_name"] is not None]
    assert all(lead["name"] == f"{lead['f_name']} {lead['l_name']}" for lead in split)


def test_israeli_mobiles_in_every_messy_format(leads):
    phones = [lead["phone"] for lead in leads]
    formats = {
        "050-1234567": r"05\d-\d{7}",
        "0501234567": r"05\d{8}",
        "+972501234567": r"\+9725\d{8}",
        "+972-50-123-4567": r"\+972-5\d-\d{3}-\d{4}",
        "972501234567": r"9725\d{8}",
        "050 123 4567": r"05\d \d{3} \d{4}",
    }
    for example, pattern in formats.items():
        assert re.fullmatch(pattern, example)
        assert sum(bool(re.fullmatch(pattern, p)) for p in phones) > N * 0.03, example
    valid = [national(p) for p in phones if re.fullmatch(r"05[0-58]\d{7}", national(p))]
    assert len(valid) > 0.97 * N
    assert {v[:3] for v in valid} == {"050", "052", "053", "054", "055", "058"}


def test_about_two_percent_share_a_phone_mostly_marked_duplicate(leads):
    seen: set[str] = set()
    repeats = []
    for lead in leads:
        key = national(lead["phone"])
        if key in seen and len(key) == 10 and key != "0500000000":  # not the junk number of faulty leads
            repeats.append(lead)
        seen.add(key)
    assert 0.01 < len(repeats) / N < 0.03
    old_repeats = [r for r in repeats if t(r["created_at"]) < END - timedelta(days=5)]
    assert sum(r["lead_status"] == DUPLICATE for r in old_repeats) / len(old_repeats) > 0.7


def test_emails_about_seventy_percent_some_upper_case(leads):
    emails = [lead["email"] for lead in leads if lead["email"]]
    assert 0.65 < len(emails) / N < 0.75
    assert all("@" in e for e in emails)
    assert any(re.search("[A-Z]", e) for e in emails)
    assert not any(HEBREW.search(e) for e in emails)


def test_other_fields_appear_at_their_rates(leads):
    share = {
        k: sum(lead[k] is not None for lead in leads) / N for k in ("company", "text", "owner", "ext_one")
    }
    assert 0.25 < share["company"] < 0.35
    assert 0.35 < share["text"] < 0.45
    assert 0.9 < share["owner"] < 0.98
    assert 0.3 < share["ext_one"] < 0.4
    assert len({lead["owner"] for lead in leads if lead["owner"]}) == 6
    subs = sum(lead["is_subscriber"] for lead in leads) / N
    assert 0.2 < subs < 0.5


def test_utm_values_are_as_messy_as_real_ones(leads):
    sources = Counter(lead["utm_source"] for lead in leads)
    expected = ["facebook", "Facebook", "fb", "FB", "facebook.com", "m.facebook.com", "פייסבוק", " Facebook ",
                "instagram", "ig", "אינסטגרם", "google", "Google", "גוגל", "tiktok", "TikTok", "וואטסאפ",
                "newsletter", "(not set)", "zap.co.il"]  # fmt: skip
    for value in expected:
        assert sources[value] > 0, value
    media = {lead["utm_medium"] for lead in leads}
    assert {"cpc", "CPC", "paid_social", "organic", "email", "referral", "(none)", ""} <= media
    campaigns = {lead["utm_campaign"] for lead in leads}
    assert {"חג האהבה", "brand", "retargeting"} <= campaigns
    assert any(lead["utm_term"] for lead in leads) and any(lead["utm_content"] for lead in leads)
    no_utm = [lead for lead in leads if lead["utm_source"] is None]
    assert 0.15 < len(no_utm) / N < 0.25
    assert all(all(lead[k] is None for k in UTM) for lead in no_utm)


def test_statuses_depend_on_age(leads):
    old = [lead for lead in leads if t(lead["created_at"]) < END - timedelta(days=60)]
    recent = [lead for lead in leads if t(lead["created_at"]) > END - timedelta(days=2)]
    assert len(recent) > 20
    assert sum(lead["lead_status"] in (NEW, IN_PROGRESS) for lead in recent) / len(recent) > 0.5
    assert sum(lead["lead_status"] == NEW for lead in old) / len(old) < 0.1
    counts = Counter(lead["lead_status"] for lead in leads)
    assert 0.10 <= counts[CONVERTED] / N <= 0.15
    assert 0.015 <= counts[RETURNING] / N <= 0.045
    assert 0.15 <= counts[NOT_INTERESTED] / N <= 0.25
    assert 0.03 <= counts[DUPLICATE] / N <= 0.06
    assert 0.025 <= counts[FAULTY] / N <= 0.06
    for lead in leads:
        if lead["lead_status"] == NEW:
            assert lead["updated_at"] == lead["created_at"]


def test_the_inactive_status_only_on_a_few_old_leads(leads):
    waiting = [lead for lead in leads if lead["lead_status"] == WAITING]
    assert waiting
    assert all(t(lead["created_at"]) < END - timedelta(days=100) for lead in waiting)
    assert all(t(lead["updated_at"]) <= END - timedelta(days=100) for lead in waiting)
    old = [lead for lead in leads if t(lead["created_at"]) < END - timedelta(days=100)]
    assert 0.01 < len(waiting) / len(old) < 0.08
    assert len(generate_leads(400, END)) and any(
        lead["lead_status"] == WAITING for lead in generate_leads(400, END)
    )


def test_sources_differ_in_quality():
    cols = generate_columns(40_000, END)

    def rates(keep) -> tuple[float, float]:
        rows = [i for i, s in enumerate(cols["utm_source"]) if keep(s, cols["utm_medium"][i])]
        won = sum(cols["lead_status"][i] == CONVERTED for i in rows) / len(rows)
        junk = sum(cols["lead_status"][i] == FAULTY for i in rows) / len(rows)
        return won, junk

    google_won, google_junk = rates(lambda s, m: s is not None and "oogl" in s and m in ("cpc", "CPC"))
    tiktok_won, tiktok_junk = rates(lambda s, m: s is not None and s.lower() == "tiktok")
    none_won, _ = rates(lambda s, m: s is None)
    assert google_won > 1.5 * tiktok_won
    assert tiktok_junk > 3 * google_junk
    assert tiktok_won < none_won < google_won
