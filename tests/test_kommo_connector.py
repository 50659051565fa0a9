"""The Kommo connector over real loopback HTTP against the fake Kommo (tests/fakes/kommo.py)."""

from __future__ import annotations

import json
import threading
import time

import pandas as pd
import pytest

from lib.crm import CRMAuthError, CRMRateLimitError, CRMRequestError, connect
from lib.crm.kommo import KommoSource, SlidingWindowLimiter
from tests.fakes.kommo import (
    PARTNERS,
    PROBLEM,
    SALES,
    SEED_EXAMPLE_CONTACT,
    SEED_EXAMPLE_LEAD,
    KommoFake,
    contact,
    kommo_data,
    pipeline,
    utm_fields,
)

WITH = "contacts,source_id,loss_reason"


def kommo(crm: KommoFake, token: str | None = None, page_limit: int | None = None, **kw) -> KommoSource:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("backoff_cap", 0.05)
    src = connect("kommo", base_url=crm.base_url, token=token or crm.token, **kw)
    assert isinstance(src, KommoSource)
    if page_limit:
        src.page_limit = page_limit
    return src


def klead(n: int, pid: int = SALES, sid: int = 61000011, **fields) -> dict:
    """A minimal Kommo lead n: id 100+n, created 2026-01-0n 10:00:00Z (1767261600 + (n-1) days)."""
    created = 1767261600 + (n - 1) * 86400
    return {
        "id": 100 + n,
        "name": f"Lead {n}",
        "price": 0,
        "responsible_user_id": 8100003,
        "status_id": sid,
        "pipeline_id": pid,
        "created_at": created,
        "updated_at": created,
        "closed_at": None,
        "custom_fields_values": None,
        "_embedded": {"tags": []},
        **fields,
    }


def lead_targets(crm: KommoFake) -> list[str]:
    return [r.target for r in crm.requests_to("/api/v4/leads?")]


# -- the seed-shaped lead ---------------------------------------------------------------------------------


def test_the_seed_example_lead_becomes_the_expected_canonical_row():
    with KommoFake([SEED_EXAMPLE_LEAD], contacts=[SEED_EXAMPLE_CONTACT]) as crm:
        leads = kommo(crm).leads()
    assert len(leads) == 1
    row = leads.iloc[0]
    expected = {
        "lead_id": "19619111",
        "name": "Website request: Noa Levi",
        "first_name": "Noa",  # from the main contact 40100001
        "last_name": "Levi",
        "phone": "+972521234567",  # 052-123-4567, Israeli, in E.164
        "email": "noa.levi@example.com",  # lower-cased
        "owner": "דנה לוי",  # responsible_user_id 8100002 in /users
        "status_id": "3177727:143",  # "<pipeline_id>:<status_id>"
        "status": "Sales · Closed - lost",  # two pipelines: "<pipeline> · <status>"
        "utm_source": "facebook",  # " facebook " trimmed
        "utm_medium": "paid_social",
        "utm_campaign": "חג האהבה",
        "utm_term": "crm",
        "utm_content": "video_1",
        "referrer": "https://l.facebook.com/",  # UTM_REFERRER
        "price": 4500.0,
        "pipeline": "Sales",
        "loss_reason": "Too expensive",
        "source_id": "7701",
    }
    assert {k: row[k] for k in expected} == expected
    # 1761991200 = 20393 days * 86400 + 36000 s -> 2025-11-01 10:00 UTC; +259200 (3 days) -> 11-04 10:00;
    # closed 1800 s later -> 10:30
    assert row["created_at"] == pd.Timestamp("2025-11-01 10:00:00", tz="UTC")
    assert row["updated_at"] == pd.Timestamp("2025-11-04 10:00:00", tz="UTC")
    assert row["closed_at"] == pd.Timestamp("2025-11-04 10:30:00", tz="UTC")
    assert pd.isna(row["company"]) and pd.isna(row["landing_page"])
    assert leads.attrs["unreadable"] == {}
    assert list(leads.columns[-3:]) == ["pipeline", "loss_reason", "source_id"]
    assert isinstance(leads["pipeline"].dtype, pd.CategoricalDtype)


# -- paging -------------------------------------------------------------------------------------------------


def test_paging_across_three_full_pages_ends_at_the_204():
    with KommoFake([klead(n) for n in range(1, 13)]) as crm:
        calls: list[tuple[int, int]] = []
        leads = kommo(crm, page_limit=4).leads(progress=lambda p, n: calls.append((p, n)))
        targets = lead_targets(crm)
    # 12 leads at 4 a page: pages 1-3 are full and link on; page 4 is past the end -> 204, empty body
    assert calls == [(1, 4), (2, 8), (3, 12)]
    assert [t.split("page=")[1][:1] for t in targets] == ["1", "2", "3", "4"]
    assert all("limit=4" in t and "with=contacts,source_id,loss_reason" in t for t in targets)
    assert leads["lead_id"].tolist() == [str(100 + n) for n in range(1, 13)]


def test_a_short_last_page_has_no_next_link():
    with KommoFake([klead(n) for n in range(1, 11)]) as crm:
        leads = kommo(crm, page_limit=4).leads()
        assert len(lead_targets(crm)) == 3  # 4 + 4 + 2: the third page is short and has no next link
    assert len(leads) == 10


def test_a_next_link_that_loops_back_stops_and_duplicates_are_merged():
    with KommoFake([klead(n) for n in range(1, 13)]) as crm:
        first = f"{crm.origin}/api/v4/leads?limit=4&page=1&with={WITH}"  # the very first page again
        looping = {"_page": 3, "_links": {"next": {"href": first}},
                   "_embedded": {"leads": [klead(9), klead(10), klead(1, name="Lead 1 again")]}}  # fmt: skip
        crm.inject("page=3", 200, body=looping, content_type="application/hal+json")
        leads = kommo(crm, page_limit=4).leads()
        assert len(lead_targets(crm)) == 3  # page 1 is not fetched a second time
    # pages 1 (1-4), 2 (5-8), 3 (9, 10, 1 again): 10 distinct leads, the later copy of lead 1 wins
    assert sorted(leads["lead_id"]) == sorted(str(100 + n) for n in range(1, 11))
    assert leads.set_index("lead_id").loc["101", "name"] == "Lead 1 again"


def test_an_empty_page_stops_the_sync():
    with KommoFake([klead(n) for n in range(1, 13)]) as crm:
        empty = {"_page": 2, "_links": {"next": {"href": f"{crm.origin}/api/v4/leads?page=3"}},
                 "_embedded": {"leads": []}}  # fmt: skip
        crm.inject("page=2", 200, body=empty, content_type="application/hal+json")
        leads = kommo(crm, page_limit=4).leads()
        assert len(lead_targets(crm)) == 2
    assert len(leads) == 4


def test_since_becomes_the_updated_at_filter():
    # leads 1-5 updated on 2026-01-01..05 10:00 UTC; since 2026-01-03 10:00 UTC = 1767434400 keeps 3, 4, 5
    with KommoFake([klead(n) for n in range(1, 6)]) as crm:
        leads = kommo(crm).leads(since=pd.Timestamp("2026-01-03 12:00", tz="Asia/Jerusalem"))
        assert "filter[updated_at][from]=1767434400" in lead_targets(crm)[0]
    assert leads["lead_id"].tolist() == ["103", "104", "105"]


def test_a_page_size_over_250_is_refused_with_the_crms_reason():
    with KommoFake([klead(1)]) as crm, pytest.raises(CRMRequestError) as info:
        kommo(crm, page_limit=300).leads()
    assert "limit: This value should be 250 or less." in str(info.value)


# -- errors -------------------------------------------------------------------------------------------------


def test_a_wrong_token_names_the_problem_without_the_token():
    token = "wrong-kommo-token-DO-NOT-LEAK"
    with KommoFake([klead(1)]) as crm, pytest.raises(CRMAuthError) as info:
        kommo(crm, token=token).leads()
    message = str(info.value)
    assert message.startswith("Kommo refused the token (401 Unauthorized): check LEADS_TOKEN.")
    assert token not in message and token not in repr(info.value)


def test_429_with_retry_after_in_the_problem_body_is_waited_for_then_succeeds():
    with KommoFake([klead(n) for n in range(1, 4)]) as crm:
        body = {"title": "Too Many Requests", "status": 429, "detail": "Slow down", "retry_after": 1}
        crm.inject("/api/v4/leads?", 429, body=body, content_type=PROBLEM)
        leads = kommo(crm).leads()
        gets = crm.requests_to("/api/v4/leads?")
    assert len(leads) == 3
    assert len(gets) == 2 and gets[1].time - gets[0].time >= 0.95  # the retry came after the second


def test_429_past_the_retries_is_a_clear_error():
    with KommoFake([klead(1)]) as crm:
        body = {"title": "Too Many Requests", "status": 429, "detail": "Slow down", "retry_after": 0}
        crm.inject("/api/v4/leads?", 429, body=body, content_type=PROBLEM, times=5)
        with pytest.raises(CRMRateLimitError) as info:
            kommo(crm, max_attempts=3).leads()
        assert len(crm.requests_to("/api/v4/leads?")) == 3
    assert str(info.value) == (
        "Kommo kept answering 429 Too Many Requests for /api/v4/leads: wait a minute and refresh. It said: "
        '"Slow down"'
    )


# -- statuses -----------------------------------------------------------------------------------------------

MAIN = pipeline(
    7001, "Main", 5, True,
    # listed out of order on purpose: the catalogue goes by sort
    [(143, "Lost", 11000), (30, "C", 30), (10, "A", 10), (142, "Won", 10000), (50, "E", 50), (20, "B", 20),
     (40, "D", 40)],
)  # fmt: skip
OLD = pipeline(7002, "Old", 1, False, [(11, "Start", 10), (142, "Done", 10000), (143, "Dropped", 11000)],
               is_archive=True)  # fmt: skip


def test_statuses_ids_names_roles_and_stages_worked_out_by_hand():
    with KommoFake([], pipelines=[OLD, MAIN]) as crm:
        cat = kommo(crm).statuses()
    # Main first (is_main) although Old has the lower sort. Main's 5 open statuses A-E by sort get
    # floor(i*3/5) for i = 0..4 -> 0, 0, 1, 1, 2; Old's single open status: floor(0*3/1) = 0.
    # 142 -> won, stage 3 (Customer); 143 -> lost, stage 1 (Contacted). Old is archived -> inactive.
    expected = [
        ("7001:10", "Main · A", True, 0, "open", 0),
        ("7001:20", "Main · B", True, 1, "open", 0),
        ("7001:30", "Main · C", True, 2, "open", 1),
        ("7001:40", "Main · D", True, 3, "open", 1),
        ("7001:50", "Main · E", True, 4, "open", 2),
        ("7001:142", "Main · Won", True, 5, "won", 3),
        ("7001:143", "Main · Lost", True, 6, "lost", 1),
        ("7002:11", "Old · Start", False, 7, "open", 0),
        ("7002:142", "Old · Done", False, 8, "won", 3),
        ("7002:143", "Old · Dropped", False, 9, "lost", 1),
    ]
    assert list(cat.itertuples(index=False, name=None)) == expected
    assert str(cat["stage"].dtype) == "Int64" and str(cat["status_id"].dtype) == "string"


def test_one_pipeline_gives_plain_status_names_and_three_open_stages():
    steps = [(1, "שלב 1", 1), (2, "שלב 2", 2), (3, "שלב 3", 3), (142, "Won", 9), (143, "Lost", 10)]
    three = pipeline(7003, "Only", 1, True, steps)
    with KommoFake([], pipelines=[three]) as crm:
        cat = kommo(crm).statuses()
    # n = 3 open: floor(0*3/3), floor(1*3/3), floor(2*3/3) = 0, 1, 2
    assert cat["status"].tolist() == ["שלב 1", "שלב 2", "שלב 3", "Won", "Lost"]
    assert cat["stage"].tolist() == [0, 1, 2, 3, 1]


def test_a_lead_in_a_status_missing_from_the_catalogue_keeps_its_id_without_a_name():
    with KommoFake([klead(1), klead(2, pid=PARTNERS, sid=999)]) as crm:
        leads = kommo(crm).leads()
    assert leads["status_id"].tolist() == ["3177727:61000011", "3177801:999"]
    assert leads["status"].iloc[0] == "Sales · New inquiry" and pd.isna(leads["status"].iloc[1])
    assert leads["pipeline"].tolist() == ["Sales", "Partners"]


# -- fields -------------------------------------------------------------------------------------------------


def test_utm_fields_by_code_referrer_and_the_field_name_fallback():
    by_name = [
        {"field_id": 1, "field_name": "UTM_Source", "field_code": None, "values": [{"value": "Google"}]},
        {"field_id": 2, "field_name": "utm_medium", "field_code": None, "values": [{"value": "cpc"}]},
        {"field_id": 3, "field_name": "Budget", "field_code": None, "values": [{"value": "900"}]},
        {"field_id": 4, "field_name": "Notes", "field_code": "NOTES", "values": [{"value": "x"}]},
    ]
    two_values = [{"field_code": "UTM_CAMPAIGN", "values": [{"value": "first"}, {"value": "second"}]}]
    leads_in = [
        klead(1, custom_fields_values=utm_fields(utm_source="fb", utm_term="crm", referrer="https://t.co/")),
        klead(2, custom_fields_values=by_name),
        klead(3, custom_fields_values=two_values),
        klead(4),  # custom_fields_values null
    ]
    with KommoFake(leads_in) as crm:
        leads = kommo(crm).leads().set_index("lead_id")
    got = leads[["utm_source", "utm_medium", "utm_campaign", "utm_term", "referrer"]].astype(object)
    got = got.where(got.notna(), None)
    assert got.to_dict("index") == {
        "101": {"utm_source": "fb", "utm_medium": None, "utm_campaign": None, "utm_term": "crm",
                "referrer": "https://t.co/"},
        "102": {"utm_source": "Google", "utm_medium": "cpc", "utm_campaign": None, "utm_term": None,
                "referrer": None},
        "103": {"utm_source": None, "utm_medium": None, "utm_campaign": "first", "utm_term": None,
                "referrer": None},
        "104": {"utm_source": None, "utm_medium": None, "utm_campaign": None, "utm_term": None,
                "referrer": None},
    }  # fmt: skip


def test_unreadable_times_and_prices_are_counted_and_the_rows_kept():
    leads_in = [
        klead(1, created_at="yesterday", price="a lot", closed_at=0),  # closed_at 0 = not closed, not bad
        klead(2, updated_at=None, closed_at="soon"),
        klead(3, price="1250"),
    ]
    with KommoFake(leads_in) as crm:
        leads = kommo(crm).leads()
    assert len(leads) == 3
    assert leads.attrs["unreadable"] == {"created_at": 1, "closed_at": 1, "price": 1}
    assert leads["price"].tolist()[2] == 1250.0 and pd.isna(leads["price"].iloc[0])
    assert leads["closed_at"].isna().all()


def test_users_forbidden_shows_owner_ids_and_everything_else_works():
    with KommoFake([klead(1), klead(2, responsible_user_id=8100005)]) as crm:
        crm.users_forbidden = True
        src = kommo(crm)
        leads = src.leads()
        check = src.check()
        base_url = crm.base_url
    assert leads["owner"].tolist() == ["8100003", "8100005"]
    assert leads["status"].tolist() == ["Sales · New inquiry", "Sales · New inquiry"]
    assert check == (
        f"Connected to Kommo at {base_url}: 2 pipelines, 12 statuses; owner names not permitted: "
        "showing user ids"
    )


def test_check_names_pipelines_statuses_and_owner_names():
    with KommoFake([]) as crm:
        # Sales 7 statuses + Partners 5 = 12
        assert kommo(crm).check() == (
            f"Connected to Kommo at {crm.base_url}: 2 pipelines, 12 statuses; owner names available"
        )
        assert kommo(crm).label == f"Kommo at {crm.base_url}"


def test_contacts_are_fetched_in_batches_of_100_and_fill_the_person():
    # 120 leads, each with its own main contact (plus a second, non-main one on lead 1): 100 + 20 ids
    people = [
        contact(5000 + n, f"First{n}", f"Last{n}", f"050-000-{n:04d}", f"P{n}@Mail.com") for n in range(120)
    ]
    leads_in = [
        klead(n, _embedded={"contacts": [{"id": 5000 + n - 1, "is_main": True}]}) for n in range(1, 121)
    ]
    leads_in[0]["_embedded"]["contacts"].insert(0, {"id": 5119, "is_main": False})
    with KommoFake(leads_in, contacts=people) as crm:
        calls: list[tuple[int, int]] = []
        leads = kommo(crm, page_limit=50).leads(progress=lambda p, n: calls.append((p, n)))
        batches = [r.query.get("filter[id][]", []) for r in crm.requests_to("/api/v4/contacts")]
    assert [len(b) for b in batches] == [100, 20]
    # 3 lead pages (50 + 50 + 20), then the 2 contact batches keep the count of requests moving
    assert calls == [(1, 50), (2, 100), (3, 120), (4, 120), (5, 120)]
    first = leads.iloc[0]
    assert (first["first_name"], first["last_name"], first["phone"], first["email"]) == (
        "First0", "Last0", "+972500000000", "p0@mail.com",
    )  # fmt: skip


# -- create -------------------------------------------------------------------------------------------------


def test_create_without_contact_data_posts_to_leads_and_the_lead_is_listed():
    with KommoFake([klead(1)]) as crm:
        src = kommo(crm)
        created = src.create_lead(
            {"name": "Walk-in", "status_id": "3177801:62000011", "owner": "avi ben-david", "utm_source": "fb",
             "utm_campaign": "חנוכה"}
        )  # fmt: skip
        posts = crm.requests_to("/api/v4/leads", method="POST")
        assert [r.path for r in posts] == ["/api/v4/leads"]
        assert json.loads(posts[0].body) == [
            {
                "name": "Walk-in",
                "custom_fields_values": [
                    {"field_code": "UTM_SOURCE", "values": [{"value": "fb"}]},
                    {"field_code": "UTM_CAMPAIGN", "values": [{"value": "חנוכה"}]},
                ],
                "pipeline_id": 3177801,
                "status_id": 62000011,
                "responsible_user_id": 8100005,  # "Avi Ben-David", matched case-insensitively
            }
        ]
        assert created.lead_id == "102" and created.status_id == "3177801:62000011"
        row = src.leads().set_index("lead_id").loc["102"]
    assert (row["name"], row["status"], row["owner"], row["utm_source"]) == (
        "Walk-in", "Partners · בטיפול", "Avi Ben-David", "fb",
    )  # fmt: skip


def test_create_with_a_phone_uses_the_complex_endpoint_with_the_contact():
    with KommoFake([klead(1)]) as crm:
        src = kommo(crm)
        created = src.create_lead(
            {"name": "נועה כהן", "first_name": "נועה", "last_name": "כהן", "phone": "+972541234567",
             "email": "noa@example.com", "owner": "8100002"}
        )  # fmt: skip
        posts = crm.requests_to("/api/v4/leads", method="POST")
        assert [r.path for r in posts] == ["/api/v4/leads/complex"]
        assert json.loads(posts[0].body) == [
            {
                "name": "נועה כהן",
                "_embedded": {
                    "contacts": [
                        {
                            "first_name": "נועה",
                            "last_name": "כהן",
                            "name": "נועה כהן",
                            "custom_fields_values": [
                                {
                                    "field_code": "PHONE",
                                    "values": [{"value": "+972541234567", "enum_code": "WORK"}],
                                },
                                {
                                    "field_code": "EMAIL",
                                    "values": [{"value": "noa@example.com", "enum_code": "WORK"}],
                                },
                            ],
                        }
                    ]
                },
                "responsible_user_id": 8100002,
            }
        ]
        # no status given: Kommo puts it in the main pipeline's first stage, so we do not claim one
        assert created.lead_id == "102" and created.status_id is None
        row = src.leads().set_index("lead_id").loc["102"]
    assert (row["phone"], row["email"], row["first_name"], row["owner"]) == (
        "+972541234567", "noa@example.com", "נועה", "דנה לוי",
    )  # fmt: skip
    assert row["status"] == "Sales · Incoming leads"


def test_a_validation_error_names_the_field_and_is_sent_once():
    with KommoFake([]) as crm:
        with pytest.raises(CRMRequestError) as info:
            kommo(crm).create_lead({"name": "X", "status_id": "3177727:999"})
        assert len(crm.requests_to("/api/v4/leads", method="POST")) == 1
    assert str(info.value) == (
        'Kommo rejected the request to /api/v4/leads (400). It said: "Request validation failed '
        '(status_id: The value you selected is not a valid choice.)"'
    )


def test_a_403_on_create_says_the_token_may_not_create_leads():
    with KommoFake([]) as crm:
        denied = {"title": "Forbidden", "status": 403, "detail": "Access denied"}
        crm.inject("/api/v4/leads", 403, body=denied, content_type=PROBLEM)
        with pytest.raises(CRMAuthError, match="did not let this token create leads"):
            kommo(crm).create_lead({"name": "X"})


def test_an_unknown_owner_or_status_key_is_refused_before_sending():
    with KommoFake([]) as crm:
        src = kommo(crm)
        with pytest.raises(CRMRequestError, match="no user named 'Nobody'") as info:
            src.create_lead({"name": "X", "owner": "Nobody"})
        assert info.value.fields == ["owner"]
        with pytest.raises(CRMRequestError) as info:
            src.create_lead({"name": "X", "status_id": "142"})
        assert info.value.fields == ["status_id"]
        assert crm.requests_to("/api/v4/leads", method="POST") == []


# -- the rate limit -----------------------------------------------------------------------------------------


def most_in_one_second(times: list[float]) -> int:
    """The largest number of requests the fake logged within any 1-second window [t, t + 1)."""
    times = sorted(times)
    return max((sum(1 for u in times[i:] if u - t < 1.0) for i, t in enumerate(times)), default=0)


def test_a_full_sync_stays_under_7_requests_per_second():
    # 2000 generated leads at 150 a page = 14 pages (13 full + 50), plus pipelines, users and the
    # contacts of every 4th lead (500 ids = 5 batches): 21 requests, so the window is tested many times
    leads_in, people = kommo_data(2000, seed=11)
    for i, lead in enumerate(leads_in):
        if i % 4:
            lead["_embedded"].pop("contacts", None)
    with KommoFake(leads_in, contacts=people) as crm:
        leads = kommo(crm, page_limit=150).leads()
        times = [r.time for r in crm.requests]
        assert crm.rate_limited == 0
    assert len(leads) == 2000
    assert len(times) == 1 + 1 + 14 + 5
    assert most_in_one_second(times) <= 7


def test_the_limiter_keeps_a_place_until_a_window_after_the_answer():
    # 2 places, 0.3 s window. Both are taken by requests still in flight: a third must wait however long
    # they take, and then until 0.3 s after the first answer, so the server can never count 3 in 0.3 s.
    limiter = SlidingWindowLimiter(requests=2, window=0.3)
    first, _second = limiter.wait(), limiter.wait()
    got: list[float] = []
    third = threading.Thread(target=lambda: (limiter.wait(), got.append(time.monotonic())))
    third.start()
    time.sleep(0.5)  # longer than the window: a limiter counting from the sends would have let it go
    assert got == []
    answered = time.monotonic()
    limiter.done(first)
    third.join(2)
    assert got and 0.29 <= got[0] - answered < 0.5
