"""The v2 connector over real loopback HTTP, against the embedded demo CRM and its fault-injecting twin."""

import re

import httpx
import pytest

from lib.crm import CRMAuthError, CRMRequestError, CRMServerError, V2Source, connect
from lib.crm.http import HttpClient
from lib.demo.server import DemoCRM
from tests.conftest import INACTIVE, SEED_STATUSES
from tests.fakes.v2_faults import FaultyDemoCRM


def v2(crm, token=None, **kw) -> V2Source:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("backoff_cap", 0.05)
    return connect("v2", base_url=crm.base_url, token=token or crm.token, **kw)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with DemoCRM(tmp_path_factory.mktemp("demo"), size=400, page_size=150) as crm:
        yield crm


@pytest.fixture
def faulty(tmp_path):
    with FaultyDemoCRM(tmp_path, size=30, page_size=10) as crm:
        yield crm


def raw_items(crm) -> list[dict]:
    """Every lead as the server sends it, read with plain httpx (not the code under test)."""
    items, url = [], f"{crm.base_url}/v2/leads"
    while url:
        body = httpx.get(url, headers={"Authorization": f"Bearer {crm.token}"}).json()
        items += body["items"]
        url = body.get("next", {}).get("$ref")
    return items


def test_paging_across_three_pages_gets_every_lead_once(demo):
    pages: list[int] = []
    leads = v2(demo).leads(progress=lambda p, n: pages.append(p))
    assert pages == [1, 2, 3]  # 400 leads at 150 a page
    assert len(leads) == 400
    assert leads["lead_id"].is_unique


def test_the_newer_ords_links_form_over_http(tmp_path):
    with DemoCRM(tmp_path, size=25, page_size=10, style="links") as crm:
        assert len(v2(crm).leads()) == 25


def test_a_base_url_with_a_path_prefix(tmp_path):
    with DemoCRM(tmp_path, size=12, page_size=5, prefix="/ords/crm") as crm:
        assert crm.base_url.endswith("/ords/crm")
        assert len(v2(crm).leads()) == 12


def test_39_digit_ids_stay_exact(demo):
    src = v2(demo)
    raw = raw_items(demo)
    leads = src.leads()
    assert leads["lead_id"].tolist() == [r["id"] for r in raw]
    assert all(re.fullmatch(r"\d{39}", i) for i in leads["lead_id"])
    assert set(leads["status_id"].astype(str)) <= {s for s, _ in SEED_STATUSES} | {INACTIVE[0]}
    assert src.statuses()["status_id"].tolist() == [s for s, _ in SEED_STATUSES] + [INACTIVE[0]]


def test_hebrew_and_emoji_names_intact(demo):
    src = v2(demo)
    assert src.statuses()["status"].tolist() == [n for _, n in SEED_STATUSES] + [INACTIVE[1]]
    raw = {r["id"]: r["name"] for r in raw_items(demo)}
    leads = src.leads()
    assert dict(zip(leads["lead_id"], leads["name"], strict=True)) == raw
    assert any(re.search("[\u0590-\u05ff]", n) for n in raw.values())
    assert any(re.search("[\U0001f300-\U0001faff]", n) for n in raw.values())


def test_the_inactive_status_is_in_the_catalogue_and_named_on_its_leads(demo):
    src = v2(demo)
    cat = src.statuses()
    row = cat[cat["status_id"] == INACTIVE[0]].iloc[0]
    assert not row["is_active"] and row["status"] == INACTIVE[1]
    assert cat["is_active"].sum() == 10
    leads = src.leads()
    carrying = leads[leads["status_id"] == INACTIVE[0]]
    assert len(carrying) > 0
    assert set(carrying["status"]) == {INACTIVE[1]}


def test_a_wrong_token_names_the_problem_without_the_token(demo):
    token = "wrong-token-DO-NOT-LEAK-42"
    with pytest.raises(CRMAuthError) as info:
        v2(demo, token=token).leads()
    message = str(info.value)
    assert "401" in message and "LEADS_TOKEN" in message
    assert token not in message and token not in repr(info.value)


def test_429_with_retry_after_is_waited_for_then_succeeds(faulty):
    faulty.inject("/v2/leads", 429, headers={"Retry-After": "1"}, body='{"message": "slow down"}')
    leads = v2(faulty).leads()
    assert len(leads) == 30
    gets = [(p, t) for m, p, t in faulty.requests if m == "GET" and "statuses" not in p]
    assert gets[1][1] - gets[0][1] >= 0.95  # the retry came after the asked-for second


def test_503_is_retried_up_to_the_cap_then_a_clear_error(faulty):
    faulty.inject("/v2/leads", 503, times=10)
    with pytest.raises(CRMServerError, match=r"unavailable \(503"):
        v2(faulty, max_attempts=3).leads()
    assert len([r for r in faulty.requests if "/v2/leads" in r[1]]) == 3


def test_503_then_success_on_a_later_page(faulty):
    faulty.inject("page=1", 503, times=2)
    assert len(v2(faulty).leads()) == 30


def test_truncated_json_is_retried_as_a_clear_error_not_a_crash(faulty):
    faulty.inject("/v2/leads", 200, truncate=True, times=1)
    with pytest.raises(Exception, match="not valid JSON"):
        v2(faulty).leads()


def test_create_returns_the_new_id_and_the_lead_is_then_listed(tmp_path):
    with DemoCRM(tmp_path, size=5, page_size=3) as crm:
        src = v2(crm)
        interested = SEED_STATUSES[4][0]
        created = src.create_lead(
            {
                "name": "רונית בר 🌼",
                "phone": "054-765-4321",
                "email": "Ronit@Example.com",
                "status_id": interested,
                "utm_source": "פייסבוק",
            }
        )
        assert re.fullmatch(r"\d{39}", created.lead_id)
        assert created.status_id == interested
        assert created.message == "הליד נוצר בהצלחה"
        leads = src.leads()
        row = leads[leads["lead_id"] == created.lead_id].iloc[0]
        assert (row["name"], row["first_name"]) == ("רונית בר 🌼", "רונית בר 🌼")  # seed 003 rule
        assert row["phone"] == "+972547654321"
        assert row["email"] == "ronit@example.com"
        assert row["status"] == "⚡️ מעוניין"
        assert row["utm_source"] == "פייסבוק"
        assert leads["lead_id"].iloc[-1] == created.lead_id


def test_create_without_a_required_field_is_refused_before_sending(faulty):
    with pytest.raises(CRMRequestError, match="phone") as info:
        v2(faulty).create_lead({"name": "Dana"})
    assert info.value.fields == ["phone"]
    assert not [r for r in faulty.requests if r[0] == "POST"]


def test_the_crms_own_missing_field_answer_is_a_clear_error(faulty):
    http = HttpClient(faulty.base_url, faulty.token)
    with pytest.raises(CRMRequestError, match="Missing required field") as info:
        http.post_json("/v2/leads/create", {"name": "Dana", "f_name": "Dana"})
    assert info.value.fields == ["phone"] and info.value.status_code == 400


def test_an_inactive_status_is_refused_by_the_crm(faulty):
    with pytest.raises(CRMRequestError, match="400"):
        v2(faulty).create_lead({"name": "Dana", "phone": "0521234567", "status_id": INACTIVE[0]})


def test_a_create_that_fails_with_503_is_not_resent(faulty):
    faulty.inject("/v2/leads/create", 503, times=5)
    with pytest.raises(CRMServerError):
        v2(faulty).create_lead({"name": "Dana", "phone": "0521234567"})
    assert len([r for r in faulty.requests if r[0] == "POST"]) == 1


def test_check_reports_the_catalogue(demo):
    assert v2(demo).check() == f"Connected to v2 CRM at {demo.base_url}: 11 statuses (10 active)."


def test_demo_source_uses_the_same_client_over_loopback(tmp_path):
    src = connect("demo", data_dir=tmp_path, demo_size=50)
    assert src.is_demo and src.http.base_url.startswith("http://127.0.0.1:")
    assert len(src.leads()) == 50
