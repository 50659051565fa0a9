"""The LiveTex connector over real loopback HTTP against tests/fakes/livetex.py. Expected values are worked
out by hand in the comments: Moscow is UTC+3 all year (no DST since 2014), Jerusalem is UTC+2 until the
last Friday before the last Sunday of March."""

from __future__ import annotations

import math

import httpx
import pandas as pd
import pytest

from lib import clock
from lib.analytics import channel
from lib.config import load_settings
from lib.crm import (
    CRMAuthError,
    CRMResponseError,
    NotSupportedError,
    connect,
    connect_settings,
)
from lib.crm.livetex import LiveTexSource, utm_from_url
from tests.fakes.livetex import SEED_EXAMPLE_LEAD, LiveTexFake, default_leads

UTC = "UTC"


def livetex(crm: LiveTexFake, token: str | None = None, **kw) -> LiveTexSource:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("backoff_cap", 0.05)
    kw.setdefault("max_attempts", 3)
    return connect("livetex", base_url=crm.base_url, token=token or crm.token, **kw)


def lead(n: int, **fields) -> dict:
    """A minimal LiveTex lead number n (id 100 + n), created 1 March 2026 at 10:00 + n minutes, Moscow."""
    stamp = f"2026-03-01T10:{n:02d}:00"
    return {
        "id": 100 + n,
        "name": f"Lead {n}",
        "phone": f"+7 916 000-00-{n:02d}",
        "type": "form",
        "result": "missed",
        "created_at": stamp,
        "updated_at": stamp,
        **fields,
    }


def T(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


# -- one lead, by hand ----------------------------------------------------------------------------------


def test_the_seed_example_lead_becomes_this_canonical_row():
    with LiveTexFake(leads=[SEED_EXAMPLE_LEAD]) as crm:
        frame = livetex(crm, phone_region="RU").leads()
    row = frame.iloc[0].to_dict()
    assert row["lead_id"] == "4815162"
    assert row["name"] == "Анна Смирнова"
    assert pd.isna(row["first_name"]) and pd.isna(row["last_name"]) and pd.isna(row["company"])
    assert row["phone"] == "+79161234567"  # "8 (916) 123-45-67": Russian national prefix 8, region RU
    assert row["email"] == "anna.smirnova@mail.ru"  # trimmed, lower-cased
    assert row["owner"] == "Ольга Петрова"  # assigned_to's name (completed_by is someone else)
    assert (row["status_id"], row["status"]) == ("completed", "Handled")
    assert row["created_at"] == T("2026-03-01 09:30:00")  # 12:30 Moscow (UTC+3), no offset
    assert row["updated_at"] == T("2026-03-01 10:00:00")  # "13:00:00+03:00": the offset is used
    assert row["closed_at"] == T("2026-03-01 10:00:00")  # completed_at 13:00 Moscow
    # entry_page ?UTM_Source=google&utm_medium=cpc&utm_campaign=%D0%B2%D0%B5%D1%81%D0%BD%D0%B0 (в е с н а)
    assert [row[f] for f in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")] == [
        "google",
        "cpc",
        "весна",
        "implants",
        "ad_1",
    ]
    assert row["referrer"] == "https://www.google.com/"
    assert row["landing_page"] == SEED_EXAMPLE_LEAD["entry_page"]
    assert math.isnan(row["price"])
    assert row["lead_type"] == "callback"
    assert row["site"] == "https://clinic.example.ru"
    assert row["department"] == "Отдел продаж"
    assert row["text"] == "Перезвоните, пожалуйста, после 18:00"
    assert (row["search_engine"], row["search_query"]) == ("Google", "имплантация зубов цена")
    assert (row["country"], row["city"]) == ("Россия", "Москва")
    assert frame.attrs["unreadable"] == {}
    for dim in ("lead_type", "site"):
        assert isinstance(frame[dim].dtype, pd.CategoricalDtype)


def test_times_with_an_offset_keep_it_and_bad_times_are_counted():
    items = [
        lead(1, created_at="2026-03-01T12:30:00+02:00"),  # 10:30Z (as Moscow it would be 09:30Z)
        lead(2, created_at="2026-03-01T12:30:00Z"),  # 12:30Z
        lead(3, created_at="yesterday", updated_at=None),  # unreadable; missing is not unreadable
    ]
    with LiveTexFake(leads=items) as crm:
        frame = livetex(crm).leads()
    assert frame["created_at"].tolist()[:2] == [T("2026-03-01 10:30"), T("2026-03-01 12:30")]
    assert pd.isna(frame["created_at"][2]) and pd.isna(frame["updated_at"][2])
    assert len(frame) == 3  # the bad row is kept
    assert frame.attrs["unreadable"] == {"created_at": 1}


def test_leads_crm_timezone_overrides_moscow(monkeypatch):
    with LiveTexFake(leads=[lead(30)]) as crm:  # created 2026-03-01T10:30:00, no offset
        assert livetex(crm).leads()["created_at"][0] == T("2026-03-01 07:30")  # Moscow, UTC+3
        monkeypatch.setenv("LEADS_SOURCE", "livetex")
        monkeypatch.setenv("LEADS_BASE_URL", crm.base_url)
        monkeypatch.setenv("LEADS_TOKEN", crm.token)
        monkeypatch.setenv("LEADS_CRM_TIMEZONE", "Asia/Jerusalem")
        src = connect_settings(load_settings(), backoff=0.01)
        assert src.leads()["created_at"][0] == T("2026-03-01 08:30")  # Jerusalem in March: UTC+2


# -- statuses -------------------------------------------------------------------------------------------


def test_the_fixed_status_catalogue():
    with LiveTexFake(leads=[]) as crm:
        statuses = livetex(crm).statuses()
        assert crm.requests == []  # no request: LiveTex has no status list
    assert statuses.to_dict("records") == [
        {
            "status_id": "missed",
            "status": "Missed (not handled)",
            "is_active": True,
            "position": 0,
            "role": "open",
            "stage": 0,
        },
        {
            "status_id": "completed",
            "status": "Handled",
            "is_active": True,
            "position": 1,
            "role": "won",
            "stage": 3,
        },
    ]


def test_missing_or_unknown_result_still_loads():
    items = [
        lead(1, result="completed"),
        lead(2, result="archived"),
        {k: v for k, v in lead(3).items() if k != "result"},
    ]
    with LiveTexFake(leads=items) as crm:
        frame = livetex(crm).leads()
    assert frame["status_id"].tolist()[:2] == ["completed", "archived"]
    assert pd.isna(frame["status_id"][2])
    assert frame["status"].tolist()[0] == "Handled"
    assert pd.isna(frame["status"][1]) and pd.isna(frame["status"][2])


# -- paging ---------------------------------------------------------------------------------------------


def test_offset_paging_to_total_with_progress():
    items = [lead(n) for n in range(1, 8)]  # 7 leads, 3 a page: offsets 0, 3, 6 (6 + 1 = 7 = total)
    with LiveTexFake(leads=items) as crm:
        src = livetex(crm)
        src.page_limit = 3
        seen: list[tuple[int, int]] = []
        frame = src.leads(progress=lambda p, n: seen.append((p, n)))
        offsets = [r.query["offset"] for r in crm.requests_to("/v2/leads")]
        limits = {r.query["limit"][0] for r in crm.requests_to("/v2/leads")}
    assert offsets == [["0"], ["3"], ["6"]]
    assert limits == {"3"}
    assert seen == [(1, 3), (2, 6), (3, 7)]
    assert frame["lead_id"].tolist() == [str(100 + n) for n in range(1, 8)]


def test_default_page_size_is_100():
    items = [lead(n % 60, id=1000 + n) for n in range(250)]  # 250 leads: offsets 0, 100, 200
    with LiveTexFake(leads=items) as crm:
        assert len(livetex(crm).leads()) == 250
        got = [(r.query["offset"][0], r.query["limit"][0]) for r in crm.requests_to("/v2/leads")]
    assert got == [("0", "100"), ("100", "100"), ("200", "100")]


def test_an_empty_page_stops_paging_even_if_total_says_more():
    with LiveTexFake(leads=[lead(n) for n in range(1, 8)]) as crm:
        crm.inject("offset=3", 200, body={"total": 100, "results": []})
        src = livetex(crm)
        src.page_limit = 3
        frame = src.leads()
        assert len(crm.requests_to("/v2/leads")) == 2
    assert frame["lead_id"].tolist() == ["101", "102", "103"]


def test_without_a_total_a_short_page_is_the_last():
    items = [lead(n) for n in range(1, 8)]
    with LiveTexFake(leads=items) as crm:
        crm.inject("offset=3", 200, body={"results": [items[3]]})  # no total, 1 lead where 3 were asked
        src = livetex(crm)
        src.page_limit = 3
        assert src.leads()["lead_id"].tolist() == ["101", "102", "103", "104"]
        assert len(crm.requests_to("/v2/leads")) == 2


def test_the_page_cap_stops_with_a_clear_error():
    with LiveTexFake(leads=[lead(n) for n in range(1, 8)]) as crm:  # 3 pages of 3 needed, 2 allowed
        src = livetex(crm)
        src.page_limit, src.max_pages = 3, 2
        with pytest.raises(CRMResponseError, match="Stopped after 2 pages \\(6 leads\\)"):
            src.leads()


def test_a_lead_seen_twice_is_kept_once():
    items = [lead(n) for n in range(1, 8)]
    with LiveTexFake(leads=items) as crm:
        # page 2 repeats lead 1 (as if a lead moved while paging) and brings 4 and 5; page 3 brings 7
        crm.inject("offset=3", 200, body={"total": 7, "results": [items[0], items[3], items[4]]})
        src = livetex(crm)
        src.page_limit = 3
        frame = src.leads()
    assert frame["lead_id"].tolist() == ["101", "102", "103", "104", "105", "107"]


def test_a_server_ignoring_offset_is_an_error_not_a_loop():
    items = [lead(n) for n in range(1, 8)]
    with LiveTexFake(leads=items) as crm:
        crm.inject("offset=3", 200, body={"total": 7, "results": items[:3]})
        src = livetex(crm)
        src.page_limit = 3
        with pytest.raises(CRMResponseError, match="ignore the offset"):
            src.leads()


def test_since_keeps_leads_updated_at_or_after_it():
    items = [lead(1), lead(2, updated_at="2026-03-05T12:00:00"), lead(3, updated_at="2026-03-06T12:00:00")]
    with LiveTexFake(leads=items) as crm:
        frame = livetex(crm).leads(since=T("2026-03-05 09:00"))  # lead 2: 12:00 Moscow = 09:00Z, kept
    assert frame["lead_id"].tolist() == ["102", "103"]


# -- errors ---------------------------------------------------------------------------------------------


def test_a_wrong_token_says_what_to_check_without_the_token():
    with LiveTexFake(leads=[lead(1)], token="right-token") as crm, pytest.raises(CRMAuthError) as caught:
        livetex(crm, token="wrong-secret-123").leads()
    message = str(caught.value)
    assert "LiveTex refused the token (401 Unauthorized): check LEADS_TOKEN" in message
    assert "wrong-secret-123" not in message and "wrong-secret-123" not in repr(caught.value)


def test_429_with_retry_after_then_success():
    with LiveTexFake(leads=[lead(1), lead(2)]) as crm:
        crm.inject("/v2/leads", 429, headers={"Retry-After": "0.3"})
        frame = livetex(crm).leads()
        first, second = crm.requests_to("/v2/leads")
    assert len(frame) == 2
    assert second.time - first.time >= 0.3


def test_a_truncated_page_is_a_clear_error():
    with LiveTexFake(leads=[lead(1), lead(2)]) as crm:
        crm.inject("/v2/leads", 200, truncate=True)
        with pytest.raises(CRMResponseError, match="not valid JSON"):
            livetex(crm).leads()


def test_a_wrong_base_url_answering_other_json_says_so():
    with LiveTexFake(leads=[lead(1)]) as crm:
        crm.inject("/v2/leads", 200, body={"items": []})
        with pytest.raises(CRMResponseError, match="no `results` list: is LEADS_BASE_URL right"):
            livetex(crm).leads()


# -- fields: UTM, referrer, missing data ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # "חג האהבה" percent-encoded as UTF-8 (ח D7 97, ג D7 92, space, ה D7 94, א D7 90, ה, ב D7 91, ה)
        (
            "https://x.co.il/?utm_source=fb&utm_campaign=%D7%97%D7%92%20%D7%94%D7%90%D7%94%D7%91%D7%94",
            {"utm_source": "fb", "utm_campaign": "חג האהבה"},
        ),
        (
            "https://x.co.il/lp?UTM_SOURCE=Google&Utm_Medium=CPC&utm_term=a+b",
            {"utm_source": "Google", "utm_medium": "CPC", "utm_term": "a b"},
        ),
        ("https://x.co.il/lp?utm_source=ig&utm_source=fb&utm_medium=&ref=1", {"utm_source": "ig"}),
        ("https://x.co.il/prices", {}),  # no query
        ("http://[::1/?utm_source=fb", {}),  # malformed (unbalanced bracket): no UTM, no crash
        ("https://x.co.il/?utm_source=%E2%28%A1", {"utm_source": "\ufffd(\ufffd"}),  # bad UTF-8: replaced
        (None, {}),
    ],
)
def test_utm_from_the_entry_page(url, expected):
    assert utm_from_url(url) == expected


def test_channels_from_referrer_and_utm_on_the_canonical_frame():
    items = [
        lead(1, ext_referer="https://www.google.com/", entry_page="https://x.co.il/"),  # Organic Search
        lead(
            2,
            ext_referer="https://www.google.com/",
            entry_page="https://x.co.il/?utm_source=google&utm_medium=cpc",
        ),
        lead(3, ext_referer="https://l.facebook.com/", entry_page="https://x.co.il/"),  # Organic Social
        lead(4, entry_page="https://x.co.il/"),  # nothing at all: Direct
    ]
    with LiveTexFake(leads=items) as crm:
        frame = livetex(crm).leads()
    assert channel(frame).tolist() == ["Organic Search", "Paid Search", "Organic Social", "Direct"]


def test_a_managed_role_gets_others_leads_without_text_and_missing_fields_are_accepted():
    mine = lead(1, text="мой", answer_text="ok", assigned_to={"id": 7, "login": "op7"})
    theirs = lead(2, text="чужой", answer_text="ok", assigned_to={"id": 8, "name": "Игорь"}, email="X@Y.RU")
    del theirs["phone"]
    bare = {"id": 103, "phone": "+7 (916) 765-43-21"}  # only what a lead cannot lack
    fallback = lead(4, completed_by={"id": 9})  # nobody assigned: the one who handled it, by id
    with LiveTexFake(leads=[mine, theirs, bare, fallback], managed=True, caller_id=7) as crm:
        frame = livetex(crm).leads().set_index("lead_id")
    # sorted by created_at (the connector asks for created_at:a): the bare lead, without one, comes last
    assert frame.index.tolist() == ["101", "102", "104", "103"]
    assert frame["text"]["101"] == "мой"  # the caller's own lead, in full
    assert frame["text"].isna().tolist() == [False, True, True, True]
    assert frame["owner"]["101"] == "op7"  # login when no name
    assert frame["owner"]["102"] == "Игорь"
    assert frame["owner"]["104"] == "9"  # nobody assigned: who handled it, by id
    assert pd.isna(frame["owner"]["103"])
    assert pd.isna(frame["email"]["101"]) and frame["email"]["102"] == "x@y.ru"
    assert pd.isna(frame["phone"]["102"])
    assert frame["phone"]["103"] == "+79167654321"  # +country parses whatever the region (IL here)
    assert pd.isna(frame["name"]["103"]) and pd.isna(frame["created_at"]["103"])
    assert pd.isna(frame["lead_type"]["103"]) and pd.isna(frame["status_id"]["103"])
    assert frame.attrs["unreadable"] == {}


# -- create, check, label ---------------------------------------------------------------------------------


def test_livetex_cannot_create_leads():
    with LiveTexFake(leads=[]) as crm:
        src = livetex(crm)
        assert src.can_create is False and src.is_demo is False
        with pytest.raises(NotSupportedError, match="LiveTex's API does not let other programs create leads"):
            src.create_lead({"name": "Dana", "phone": "0501234567"})
        assert crm.requests == []


def test_check_reads_the_total_with_one_small_request_and_label():
    items = [lead(n % 60, id=n) for n in range(1234)]
    with LiveTexFake(leads=items) as crm:
        src = livetex(crm)
        assert src.label == f"LiveTex at {crm.base_url}"
        assert src.check() == f"Connected to LiveTex at {crm.base_url}: 1,234 leads."
        (request,) = crm.requests_to("/v2/leads")
    assert request.query["limit"] == ["1"]


# -- the fake itself --------------------------------------------------------------------------------------


def test_the_fake_follows_the_seed_parameters():
    items = [lead(1, result="completed"), lead(2), lead(3, created_at="2026-02-01T09:00:00")]
    with LiveTexFake(leads=items) as crm:
        auth = {"Authorization": f"Bearer {crm.token}"}
        url = f"{crm.base_url}/v2/leads"
        assert httpx.get(url, params={"limit": 1001}, headers=auth).status_code == 400
        assert httpx.get(url, params={"limit": -1}, headers=auth).status_code == 400
        assert httpx.get(url, headers={"Authorization": "Bearer nope"}).json()["message"]
        body = httpx.get(url, params={"q": "result=missed", "fields": "id,result"}, headers=auth).json()
        assert body == {
            "total": 2,
            "results": [{"id": 102, "result": "missed"}, {"id": 103, "result": "missed"}],
        }
        body = httpx.get(url, params={"sort": "created_at:a", "fields": "id"}, headers=auth).json()
        assert [r["id"] for r in body["results"]] == [103, 101, 102]


def test_the_default_data_is_deterministic_and_recent():
    from datetime import datetime

    end = datetime(2026, 6, 1, 12, 0, 0)
    first, again = default_leads(60, end), default_leads(60, end)
    assert first == again
    assert {ld["type"] for ld in first} == {"form", "callback", "chat"}
    assert {ld["result"] for ld in first} == {"missed", "completed"}
    assert all(ld.get("email") or ld.get("phone") for ld in first)
    with LiveTexFake(size=200) as crm:
        frame = livetex(crm).leads()
    recent = frame["created_at"] >= pd.Timestamp(clock.now()) - pd.Timedelta(days=30)
    assert len(frame) == 200 and recent.sum() > 20
    assert frame["utm_source"].notna().any() and frame["site"].notna().all()
