"""The aiployees connector over real loopback HTTP against the fake platform (tests/fakes/aiployees.py).

Expected values are worked out by hand from the small lead lists written here.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

import httpx
import pandas as pd
import pytest

from lib.config import load_settings
from lib.crm import (
    CRMAuthError,
    CRMRateLimitError,
    CRMResponseError,
    CRMServerError,
    NotSupportedError,
    connect,
    connect_settings,
)
from lib.crm.aiployees import AiployeesSource, variable_key
from lib.schema import LEAD_COLUMNS, STATUS_COLUMNS
from tests.fakes.aiployees import SEED_001_RESPONSE, AiployeesFake, demo_leads

FAST = {"backoff": 0.01, "backoff_cap": 0.05, "max_attempts": 3}


def source(crm: AiployeesFake, **kw) -> AiployeesSource:
    return connect("aiployees", base_url=crm.base_url, token=crm.token, **FAST, **kw)


def lead(n: int, status: str = "created", **fields: Any) -> dict:
    """A minimal aiployees lead n in campaign 7 "Renewals", created 2026-01-05 10:00 and updated 2026-01-06
    12:30 (UTC-naive, as the platform sends them)."""
    return {
        "id": n,
        "campaign_id": 7,
        "phone_number": f"+97250123{n:04d}",
        "variables": fields.pop("variables", {"customer_name": f"Lead {n}"}),
        "status": status,
        "created_at": "2026-01-05 10:00:00",
        "updated_at": "2026-01-06 12:30:00",
        "campaign": {"id": 7, "name": "Renewals"},
        "secondary_contacts": [],
        **fields,
    }


def raw(crm: AiployeesFake, **params) -> httpx.Response:
    """A plain httpx GET of the fake's lead list (not the code under test)."""
    return httpx.get(
        f"{crm.base_url}/user/leads", params=params, headers={"Authorization": f"Bearer {crm.token}"}
    )


# -- seed 001 ----------------------------------------------------------------------------------------------


def test_seed_example_becomes_the_expected_canonical_row():
    with AiployeesFake(copy.deepcopy(SEED_001_RESPONSE["data"])) as crm:
        leads = source(crm).leads()
    assert list(leads.columns) == [*LEAD_COLUMNS, "campaign", "campaign_id", "secondary_contacts"]
    assert len(leads) == 1  # the secondary contact (id 2) is not a lead of its own
    row = leads.iloc[0]
    assert row["lead_id"] == "1"
    assert row["name"] == "John Doe"
    assert pd.isna(row["first_name"]) and pd.isna(row["last_name"]) and pd.isna(row["company"])
    assert row["phone"] == "+1234567890"
    assert row["email"] == "john.doe@example.com"
    assert (row["status_id"], row["status"]) == ("created", "Created")
    # "2025-06-30 11:18:04" without a zone, read as UTC by default
    assert row["created_at"] == pd.Timestamp("2025-06-30 11:18:04", tz="UTC")
    assert row["updated_at"] == pd.Timestamp("2025-06-30 11:18:04", tz="UTC")
    assert pd.isna(row["closed_at"])  # created is not a final status
    assert pd.isna(row["owner"]) and pd.isna(row["price"])
    assert all(pd.isna(row[f]) for f in ("utm_source", "utm_medium", "utm_campaign", "referrer"))
    assert (row["campaign"], row["campaign_id"], row["secondary_contacts"]) == ("My new campaign", "1", 1)
    assert leads["campaign"].dtype == "category"
    assert leads.attrs["unreadable"] == {}


def test_seed_times_in_the_account_zone_from_leads_crm_timezone(monkeypatch):
    with AiployeesFake(copy.deepcopy(SEED_001_RESPONSE["data"])) as crm:
        monkeypatch.setenv("LEADS_SOURCE", "aiployees")
        monkeypatch.setenv("LEADS_BASE_URL", crm.base_url)
        monkeypatch.setenv("LEADS_TOKEN", crm.token)
        monkeypatch.setenv("LEADS_CRM_TIMEZONE", "Asia/Jerusalem")
        leads = connect_settings(load_settings(), **FAST).leads()
    # 30 June is summer time in Jerusalem (UTC+3): 11:18:04 local is 08:18:04Z
    assert leads["created_at"].iloc[0] == pd.Timestamp("2025-06-30 08:18:04", tz="UTC")


def test_the_fake_answers_with_seed_001s_envelope():
    with AiployeesFake([lead(n) for n in range(1, 21)]) as crm:
        body = raw(crm).json()
        assert set(body) == set(SEED_001_RESPONSE)
        assert set(body["data"][0]) == set(SEED_001_RESPONSE["data"][0])
        # default 15 a page: 20 leads make 2 pages; URLs absolute like the seed's
        assert (body["per_page"], body["last_page"], body["total"], body["from"], body["to"]) == (
            15,
            2,
            20,
            1,
            15,
        )
        assert body["next_page_url"] == f"{crm.base_url}/user/leads?page=2"
        assert body["prev_page_url"] is None
        second = raw(crm, page=2).json()
        assert [x["id"] for x in second["data"]] == [16, 17, 18, 19, 20]
        assert second["next_page_url"] is None
        past = raw(crm, page=3).json()
        assert past["data"] == [] and past["from"] is None and past["total"] == 20


def test_the_fake_validates_per_page_and_filters_like_laravel():
    leads = [
        lead(1, "completed", created_at="2026-01-01 09:00:00"),
        lead(2, "created", created_at="2026-01-02 09:00:00", phone_number="+972521112233"),
        lead(3, "completed", created_at="2026-01-03 09:00:00", campaign_id=8),
    ]
    with AiployeesFake(leads) as crm:
        for bad in ("0", "101", "x"):
            answer = raw(crm, per_page=bad)
            assert answer.status_code == 422
            assert "per_page" in answer.json()["errors"]
        assert [x["id"] for x in raw(crm, status="completed").json()["data"]] == [1, 3]
        assert [x["id"] for x in raw(crm, campaign_id=8).json()["data"]] == [3]
        assert [x["id"] for x in raw(crm, phone_number="1112").json()["data"]] == [2]
        assert [x["id"] for x in raw(crm, date_from="2026-01-02").json()["data"]] == [2, 3]
        assert [x["id"] for x in raw(crm, date_to="2026-01-02").json()["data"]] == [1, 2]
        assert raw(crm, status="lost").status_code == 422
        wrong = httpx.get(f"{crm.base_url}/user/leads", headers={"Authorization": "Bearer 1|wrong"})
        assert (wrong.status_code, wrong.json()) == (401, {"message": "Unauthenticated."})


# -- paging --------------------------------------------------------------------------------------------------


def test_pages_in_order_with_progress_from_the_calling_thread():
    calls: list[tuple[int, int, bool]] = []
    with AiployeesFake([lead(n) for n in range(1, 251)]) as crm:
        leads = source(crm).leads(
            progress=lambda p, n: calls.append((p, n, threading.current_thread() is threading.main_thread()))
        )
        pages = [r.query for r in crm.requests_to("/user/leads")]
    # 250 leads at 100 a page: pages 1, 2, 3; page 1 first (it tells last_page = 3)
    assert pages[0] == {"per_page": ["100"], "page": ["1"]}
    assert sorted(q["page"][0] for q in pages) == ["1", "2", "3"]
    assert leads["lead_id"].tolist() == [str(n) for n in range(1, 251)]
    assert calls[0] == (1, 100, True)
    assert calls[-1] == (3, 250, True)
    assert all(on_main for _, _, on_main in calls)


def test_later_pages_are_fetched_concurrently_four_at_a_time():
    # 800 leads = 8 pages of 100. Each request takes 0.3 s: one by one that is 8 x 0.3 = 2.4 s; page 1, then
    # pages 2-8 four at a time (two rounds) is about 3 x 0.3 = 0.9 s.
    with AiployeesFake([lead(n) for n in range(1, 801)], latency=0.3) as crm:
        started = time.monotonic()
        leads = source(crm).leads()
        elapsed = time.monotonic() - started
        assert crm.max_in_flight == 4
        assert len(crm.requests_to("/user/leads")) == 8
    assert len(leads) == 800
    assert leads["lead_id"].tolist() == [str(n) for n in range(1, 801)]
    assert elapsed < 1.8


def test_a_lead_seen_on_two_pages_is_kept_once():
    # Lead 100 ends page 1 and, having shifted while syncing, starts page 2 again with a newer status.
    items = (
        [lead(n) for n in range(1, 101)]
        + [lead(100, "completed", id=100)]
        + [lead(n) for n in range(101, 121)]
    )
    with AiployeesFake(items) as crm:
        leads = source(crm).leads()
    assert len(leads) == 120  # 121 items, one id twice
    assert leads["lead_id"].is_unique
    assert leads["lead_id"].tolist()[98:101] == ["99", "100", "101"]  # it keeps its first place
    assert leads.loc[leads["lead_id"] == "100", "status"].item() == "Completed"  # the later copy


def test_an_empty_page_ends_the_list():
    # 450 leads = 5 pages; page 3 comes back empty (leads were deleted meanwhile): pages 1-2 are kept
    with AiployeesFake([lead(n) for n in range(1, 451)]) as crm:
        empty = raw(crm, per_page=100, page=99).json()
        crm.inject("page=3", 200, body=empty)
        leads = source(crm).leads()
    assert leads["lead_id"].tolist() == [str(n) for n in range(1, 201)]


def test_an_absurd_last_page_is_refused_before_fetching_it():
    with AiployeesFake([lead(1)]) as crm:
        body = raw(crm, per_page=100).json() | {"last_page": 5_000_000, "total": 500_000_000}
        crm.inject("page=1", 200, body=body)
        crm.requests.clear()
        with pytest.raises(CRMResponseError, match=r"5,000,000 pages .* page cap of 10,000"):
            source(crm).leads()
        assert len(crm.requests_to("/user/leads")) == 1


def test_a_failing_page_stops_the_sync_with_a_clear_error():
    # 2,000 leads = 20 pages; page 3 fails with a 500 (not retried): the pages not yet started are cancelled
    with AiployeesFake([lead(n) for n in range(1, 2001)], latency=0.1) as crm:
        crm.inject("page=3", 500, body={"message": "Server Error"})
        with pytest.raises(
            CRMServerError, match=r"aiployees had an internal error \(500 on /api/user/leads\)"
        ):
            source(crm).leads()
        assert len(crm.requests_to("/user/leads")) < 20


# -- errors ----------------------------------------------------------------------------------------------


def test_a_wrong_token_says_which_setting_to_check():
    with AiployeesFake([lead(1)]) as crm, pytest.raises(CRMAuthError) as caught:
        connect("aiployees", base_url=crm.base_url, token="1|not-the-token", **FAST).leads()
    message = str(caught.value)
    assert "aiployees refused the token (401 Unauthorized): check LEADS_TOKEN" in message
    assert "Unauthenticated." in message
    assert "not-the-token" not in message and "not-the-token" not in repr(caught.value)


def test_429_with_retry_after_then_success():
    with AiployeesFake([lead(n) for n in range(1, 151)]) as crm:
        crm.inject("page=2", 429, headers={"Retry-After": "1"}, body={"message": "Too Many Attempts."})
        started = time.monotonic()
        leads = source(crm).leads()
        elapsed = time.monotonic() - started
        page2 = crm.requests_to("page=2")
    assert len(leads) == 150
    assert len(page2) == 2 and page2[1].time - page2[0].time >= 1.0  # waited as told
    assert elapsed >= 1.0


def test_429_that_never_ends_is_a_rate_limit_error():
    with AiployeesFake([lead(1)]) as crm:
        crm.inject("/user/leads", 429, times=3)
        with pytest.raises(CRMRateLimitError, match="429 Too Many Requests"):
            source(crm).leads()


# -- statuses -----------------------------------------------------------------------------------------------


def test_the_fixed_status_catalogue_with_roles_and_stages():
    with AiployeesFake([]) as crm:
        statuses = source(crm).statuses()
        assert crm.requests == []  # a fixed set: nothing to ask
    assert list(statuses.columns) == list(STATUS_COLUMNS)
    got = [
        (r.status_id, r.status, r.is_active, r.position, r.role, None if pd.isna(r.stage) else r.stage)
        for r in statuses.itertuples()
    ]
    assert got == [
        ("created", "Created", True, 0, "open", 0),
        ("scheduled", "Scheduled", True, 1, "open", 0),
        ("processing", "Calling", True, 2, "open", 1),
        ("completed", "Completed", True, 3, "won", 3),
        ("rescheduled", "Rescheduled", True, 4, "open", 1),
        ("reached-max-retries", "Max retries reached", True, 5, "lost", 1),
        ("blacklisted", "Blacklisted", True, 6, "junk", None),
    ]


def test_closed_at_is_set_for_final_statuses_only():
    items = [
        lead(1, "completed"),
        lead(2, "reached-max-retries"),
        lead(3, "blacklisted"),
        lead(4, "processing"),
    ]
    with AiployeesFake(items) as crm:
        leads = source(crm).leads()
    closed = pd.Timestamp("2026-01-06 12:30:00", tz="UTC")  # their updated_at
    assert leads["closed_at"].tolist()[:3] == [closed] * 3
    assert pd.isna(leads["closed_at"].iloc[3])
    assert leads["status"].tolist() == ["Completed", "Max retries reached", "Blacklisted", "Calling"]


def test_an_unknown_status_code_is_kept_with_a_title_cased_name():
    with AiployeesFake([lead(1, "on-hold"), lead(2, "created")]) as crm:
        src = source(crm)
        leads = src.leads()
        catalogue = src.statuses()
    assert (leads["status_id"].iloc[0], leads["status"].iloc[0]) == ("on-hold", "On Hold")
    assert pd.isna(leads["closed_at"].iloc[0])
    assert "on-hold" not in set(catalogue["status_id"])  # so the pages count it as "(unknown status)"


# -- variables -------------------------------------------------------------------------------------------


def test_utm_and_contact_fields_in_any_spelling():
    spellings = [
        {
            "utm_source": "fb",
            "utm_medium": "cpc",
            "utm_campaign": "spring",
            "utm_term": "shoes",
            "utm_content": "a",
        },
        {
            "UTM_SOURCE": "fb",
            "UTM_MEDIUM": "cpc",
            "UTM_CAMPAIGN": "spring",
            "UTM_TERM": "shoes",
            "UTM_CONTENT": "a",
        },
        {
            "utmSource": "fb",
            "utmMedium": "cpc",
            "utmCampaign": "spring",
            "utmTerm": "shoes",
            "utmContent": "a",
        },
        {
            "utm-source": "fb",
            "Utm-Medium": "cpc",
            "utm campaign": "spring",
            "utmterm": "shoes",
            "UtmContent": "a",
        },
    ]
    contacts = [
        {"customer_name": "Dana Levi", "email": "Dana@X.co", "company": "Acme", "referrer": "https://a.io"},
        {"Name": "Dana Levi", "E-mail": "dana@x.co", "company_name": "Acme", "referer": "https://a.io"},
        {"fullName": "Dana Levi", "MAIL": "dana@x.co ", "Company": "Acme", "Referrer": "https://a.io"},
        {
            "FIRST_NAME": "Dana",
            "lastName": "Levi",
            "email": "DANA@x.co",
            "COMPANY": "Acme",
            "REFERER": "https://a.io",
        },
    ]
    landing = [{"landing_page": "/lp"}, {"page_url": "/lp"}, {"PageUrl": "/lp"}, {"Landing-Page": "/lp"}]
    items = [
        lead(i + 1, variables={**s, **c, **p})
        for i, (s, c, p) in enumerate(zip(spellings, contacts, landing, strict=True))
    ]
    with AiployeesFake(items) as crm:
        leads = source(crm).leads()
    for col, value in {
        "utm_source": "fb",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
        "utm_term": "shoes",
        "utm_content": "a",
        "name": "Dana Levi",
        "email": "dana@x.co",
        "company": "Acme",
        "referrer": "https://a.io",
        "landing_page": "/lp",
    }.items():
        assert leads[col].astype(str).tolist() == [value] * 4, col
    assert leads["first_name"].tolist()[3] == "Dana" and leads["last_name"].tolist()[3] == "Levi"


def test_variable_key_spellings():
    assert variable_key("utmSource") == "utm_source"
    assert variable_key("UTM_SOURCE") == "utm_source"
    assert variable_key(" Utm-Source ") == "utm_source"
    assert variable_key("e-mail") == "e_mail"
    assert variable_key("customerName") == "customer_name"


def test_odd_variables_and_fields_never_crash():
    items = [
        lead(1, variables={"customer_name": 12345, "email": {"work": "a@b.c"}, "utm_source": ["fb", "ig"]}),
        lead(2, variables=None),
        lead(3, variables=["not", "a", "dict"]),
        lead(4, variables='{"customer_name": "From JSON text", "utm_source": "google"}'),
        lead(
            5, variables={"customer_name": None, "name": "Second key", "utm_source": 3.5, "utm_medium": True}
        ),
        lead(
            6,
            created_at="not a date",
            updated_at=None,
            phone_number=None,
            campaign=None,
            campaign_id=None,
            secondary_contacts=None,
        ),
        lead(7, campaign={"id": 9}, campaign_id=9, phone_number=972501234567),
        {"campaign_id": 1, "status": "created"},  # no id: not a lead
        "not even an object",
    ]
    with AiployeesFake([]) as crm:
        crm.leads = items  # served as they are, in this order
        leads = source(crm).leads()
    assert leads["lead_id"].tolist() == ["1", "2", "3", "4", "5", "6", "7"]
    assert leads["name"].astype(object).fillna("NA").tolist()[:5] == [
        "12345", "NA", "NA", "From JSON text", "Second key"
    ]  # fmt: skip
    assert pd.isna(leads["email"].iloc[0]) and pd.isna(leads["utm_source"].iloc[0])  # nested: unreadable
    assert leads["utm_source"].astype(object).tolist()[3:5] == ["google", "3.5"]
    assert leads["utm_medium"].astype(object).tolist()[4] == "true"
    assert pd.isna(leads["created_at"].iloc[5]) and pd.isna(leads["phone"].iloc[5])
    assert pd.isna(leads["campaign"].iloc[5]) and pd.isna(leads["campaign_id"].iloc[5])
    assert leads["secondary_contacts"].iloc[5] == 0
    assert leads["campaign"].iloc[6] == "Campaign 9"  # a campaign without a name
    assert leads["phone"].iloc[6] == "+972501234567"  # a number, read as international
    # lead 1's nested email and utm_source, lead 6's created_at
    assert leads.attrs["unreadable"] == {"email": 1, "utm_source": 1, "created_at": 1}


# -- since, create, check ----------------------------------------------------------------------------------


def test_since_keeps_leads_updated_at_or_after_it():
    items = [
        lead(1, updated_at="2026-01-01 00:00:00"),
        lead(2, updated_at="2026-01-10 08:00:00"),
        lead(3, updated_at="2026-01-20 08:00:00"),
    ]
    with AiployeesFake(items) as crm:
        leads = source(crm).leads(since=pd.Timestamp("2026-01-10 08:00:00", tz="UTC"))
    assert leads["lead_id"].tolist() == ["2", "3"]


def test_cannot_create_leads_and_says_why():
    with AiployeesFake([]) as crm:
        src = source(crm)
        assert src.can_create is False
        with pytest.raises(NotSupportedError, match="leads enter aiployees through its campaigns"):
            src.create_lead({"name": "Dana", "phone": "0501234567"})
        assert crm.requests == []


def test_check_and_label():
    with AiployeesFake([lead(n) for n in range(1, 1235)]) as crm:
        src = source(crm)
        assert src.label == f"aiployees at {crm.base_url}"
        assert src.check() == f"Connected to aiployees at {crm.base_url}: 1,234 leads."
        assert len(crm.requests) == 1  # one small page is enough


# -- the fake's default data -------------------------------------------------------------------------------


def test_generated_leads_are_deterministic_and_realistic():
    end = pd.Timestamp("2026-03-01 12:00:00").to_pydatetime()
    first, again = demo_leads(400, end), demo_leads(400, end)
    assert first == again
    assert [x["id"] for x in first] == list(range(1, 401))
    assert {x["status"] for x in first} == {
        "created", "scheduled", "processing", "completed", "rescheduled", "reached-max-retries", "blacklisted"
    }  # fmt: skip
    assert any(any("\u0590" <= ch <= "\u05ff" for ch in x["campaign"]["name"]) for x in first)
    utm_keys = {k for x in first for k in x["variables"] if "utm" in k.lower()}
    assert {"utm_source", "UTM_SOURCE", "utmSource", "utm-source"} <= utm_keys
    with AiployeesFake(first) as crm:
        leads = source(crm).leads()
    assert leads["created_at"].max() <= pd.Timestamp("2026-03-01 12:00:00", tz="Asia/Jerusalem")
    assert leads["utm_source"].notna().mean() > 0.5
    assert leads["phone"].str.startswith("+972").mean() > 0.9
