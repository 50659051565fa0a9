"""The demo CRM over real loopback HTTP, read with plain httpx (not the app's client)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from lib import clock
from lib.demo.db import DemoDB
from lib.demo.server import DemoCRM, ensure_running
from tests.fakes.v2_faults import FaultyDemoCRM

END = datetime(2026, 11, 20, 18, 0, 0)
ROOT = Path(__file__).resolve().parents[1]
NEW = "233069071553535427697228277840563827497"
INTERESTED = "233283533732676958969773898519982777485"
FOLLOW_UP_36_DIGITS = "233283533732675753954283890808071309"
WAITING = "233069071553534218771408663211388415145"
UNAUTHORIZED = {"code": "Unauthorized", "message": "Invalid or missing access token"}


def auth(token: str = "demo-token") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    with DemoCRM(tmp_path_factory.mktemp("demo"), size=20, page_size=7, end=END) as server:
        yield server


@pytest.fixture
def fresh(tmp_path):
    with DemoCRM(tmp_path, size=10, page_size=4, end=END) as server:
        yield server


def get(server: DemoCRM, path: str, **kw) -> httpx.Response:
    return httpx.get(server.base_url + path, headers=kw.pop("headers", auth(server.token)), **kw)


def create(server: DemoCRM, body, **kw) -> httpx.Response:
    kw.setdefault("headers", auth(server.token))
    if isinstance(body, bytes):
        return httpx.post(server.base_url + "/v2/leads/create", content=body, **kw)
    return httpx.post(server.base_url + "/v2/leads/create", json=body, **kw)


def all_leads(server: DemoCRM) -> list[dict]:
    items, url = [], server.base_url + "/v2/leads"
    while url:
        body = httpx.get(url, headers=auth(server.token)).json()
        items += body["items"]
        url = body.get("next", {}).get("$ref")
    return items


# ------------------------------------------------------------------------------------------------ statuses
def test_statuses_body(crm):
    r = get(crm, "/v2/leads/statuses")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    body = r.json()
    assert list(body) == ["items", "first"]
    assert body["first"] == {"$ref": f"{crm.base_url}/v2/leads/statuses"}
    items = body["items"]
    assert len(items) == 11
    assert items[0] == {"id": NEW, "name": "💫 חדש", "is_active": "Y"}
    assert items[3] == {"id": FOLLOW_UP_36_DIGITS, "name": "💡 פולו-אפ", "is_active": "Y"}
    assert items[-1] == {"id": WAITING, "name": "⏳ ממתין לחזרה", "is_active": "N"}
    assert [i["is_active"] for i in items] == ["Y"] * 10 + ["N"]
    assert "💫 חדש".encode() in r.content  # Hebrew and emoji sent as UTF-8, not \u escapes


# -------------------------------------------------------------------------------------------------- paging
def test_paging_seven_a_page_over_twenty_leads(crm):
    pages = [get(crm, f"/v2/leads?page={p}").json() for p in range(4)]
    assert [len(p["items"]) for p in pages] == [7, 7, 6, 0]
    assert pages[0]["next"] == {"$ref": f"{crm.base_url}/v2/leads?page=1"}
    assert pages[1]["next"] == {"$ref": f"{crm.base_url}/v2/leads?page=2"}
    assert "next" not in pages[2] and "next" not in pages[3]
    assert all(p["first"] == {"$ref": f"{crm.base_url}/v2/leads"} for p in pages)
    assert get(crm, "/v2/leads").json() == pages[0]  # page 0 by default
    assert get(crm, "/v2/leads?page=").json() == pages[0]
    ids = [lead["id"] for p in pages for lead in p["items"]]
    assert len(set(ids)) == 20
    created = [lead["created_at"] for p in pages for lead in p["items"]]
    assert created == sorted(created)


def test_following_next_links_gets_every_lead_once(crm):
    leads = all_leads(crm)
    assert len(leads) == 20
    lead = leads[0]
    assert re.fullmatch(r"\d{39}", lead["id"])
    assert isinstance(lead["is_subscriber"], bool)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", lead["created_at"])
    assert set(lead) >= {"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "ext_four"}


@pytest.mark.parametrize("page", ["-1", "x", "1.5", "0x1", "9" * 20])
def test_a_bad_page_is_a_400_json_message(crm, page):
    r = get(crm, f"/v2/leads?page={page}")
    assert r.status_code == 400
    assert "page" in r.json()["message"]


def test_the_newer_ords_links_form(tmp_path):
    with DemoCRM(tmp_path, size=20, page_size=7, style="links", end=END) as server:
        first = get(server, "/v2/leads").json()
        assert (first["hasMore"], first["limit"], first["offset"], first["count"]) == (True, 7, 0, 7)
        rels = {link["rel"]: link["href"] for link in first["links"]}
        assert rels["self"] == f"{server.base_url}/v2/leads?offset=0&limit=7"
        assert rels["first"] == f"{server.base_url}/v2/leads?offset=0&limit=7"
        assert rels["next"] == f"{server.base_url}/v2/leads?offset=7&limit=7"
        last = get(server, "/v2/leads?offset=14&limit=7").json()
        assert (last["hasMore"], last["count"]) == (False, 6)
        assert "next" not in {link["rel"] for link in last["links"]}
        assert get(server, "/v2/leads?page=2").json()["items"] == last["items"]
        capped = get(server, "/v2/leads?offset=3&limit=500").json()
        assert (capped["limit"], capped["count"], capped["offset"]) == (7, 7, 3)
        assert capped["items"][0] == first["items"][3]
        assert get(server, "/v2/leads?limit=0").status_code == 400
        # following next hrefs reaches every lead once
        seen, url = [], f"{server.base_url}/v2/leads"
        while url:
            body = httpx.get(url, headers=auth()).json()
            seen += [lead["id"] for lead in body["items"]]
            url = next((lnk["href"] for lnk in body["links"] if lnk["rel"] == "next"), None)
        assert len(seen) == len(set(seen)) == 20


# ---------------------------------------------------------------------------------------------------- auth
@pytest.mark.parametrize(
    "headers",
    [{}, auth("wrong-SECRET-token"), {"Authorization": "demo-token"}, {"Authorization": "Basic demo-token"}],
)
def test_401_without_the_right_token_and_the_token_is_not_echoed(crm, headers):
    for path in ("/v2/leads/statuses", "/v2/leads", "/nowhere"):
        r = get(crm, path, headers=headers)
        assert r.status_code == 401
        assert r.json() == UNAUTHORIZED
        assert b"SECRET" not in r.content and b"demo-token" not in r.content
    r = create(crm, {"name": "a", "f_name": "a", "phone": "0501234567"}, headers=headers)
    assert r.status_code == 401 and r.json() == UNAUTHORIZED
    assert len(all_leads(crm)) == 20


def test_unknown_paths_are_404_json(crm):
    r = get(crm, "/v2/contacts")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert "message" in r.json()


# -------------------------------------------------------------------------------------------------- create
def test_create_answers_201_and_the_lead_is_listed_at_the_end(fresh):
    before = all_leads(fresh)
    body = {
        "name": "רונית בר 🌼",
        "f_name": "רונית בר 🌼",
        "phone": "054-765-4321",
        "email": "Ronit@Example.com",
        "utm_source": "פייסבוק",
        "utm_campaign": "חג האהבה",
        "is_subscriber": True,
        "ext_one": "ערב",
        "unknown_key": "ignored",
    }
    t0 = (
        clock.now().astimezone(ZoneInfo("Asia/Jerusalem")).replace(tzinfo=None, microsecond=0)
    )  # the frozen clock
    r = create(fresh, body)
    assert r.status_code == 201
    created = r.json()
    assert list(created) == ["id", "lead_status", "message"]
    assert re.fullmatch(r"\d{39}", created["id"])
    assert created["lead_status"] == NEW  # no status given: "new"
    assert created["message"] == "הליד נוצר בהצלחה"
    after = all_leads(fresh)
    assert [lead["id"] for lead in after] == [lead["id"] for lead in before] + [created["id"]]
    lead = after[-1]
    assert {k: lead[k] for k in body if k != "unknown_key"} == {
        k: v for k, v in body.items() if k != "unknown_key"
    }
    assert "unknown_key" not in lead
    assert lead["l_name"] is None and lead["utm_medium"] is None and lead["lead_status"] == NEW
    assert lead["created_at"] == lead["updated_at"]
    assert (
        t0 - timedelta(seconds=2) <= datetime.fromisoformat(lead["created_at"]) <= t0 + timedelta(seconds=5)
    )
    assert created["id"] > max(lead["id"] for lead in before)


def test_create_with_a_status_as_string_or_as_a_bare_39_digit_number(fresh):
    r = create(fresh, {"name": "A B", "f_name": "A", "phone": "0501234567", "lead_status": INTERESTED})
    assert (r.status_code, r.json()["lead_status"]) == (201, INTERESTED)
    raw = f'{{"name": "C", "f_name": "C", "phone": "0501234568", "lead_status": {INTERESTED}}}'.encode()
    r = create(fresh, raw, headers={**auth(), "Content-Type": "application/json"})
    assert (r.status_code, r.json()["lead_status"]) == (201, INTERESTED)
    assert all_leads(fresh)[-1]["lead_status"] == INTERESTED


def test_missing_required_fields_are_named(fresh):
    r = create(fresh, {"name": "Dana", "f_name": "  ", "email": "d@example.com"})
    assert r.status_code == 400
    assert r.json() == {
        "code": "ValidationError",
        "message": "Missing required field(s): f_name, phone",
        "fields": ["f_name", "phone"],
    }
    r = create(fresh, {})
    assert r.json()["fields"] == ["name", "f_name", "phone"]
    assert len(all_leads(fresh)) == 10


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"a string"', b"", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_a_400(fresh, raw):
    r = create(fresh, raw)
    assert r.status_code == 400
    assert "JSON object" in r.json()["message"]


def test_an_inactive_or_unknown_status_is_refused(fresh):
    base = {"name": "A", "f_name": "A", "phone": "0501234567"}
    r = create(fresh, {**base, "lead_status": WAITING})
    assert r.status_code == 400
    assert WAITING in r.json()["message"] and "inactive" in r.json()["message"]
    r = create(fresh, {**base, "lead_status": "123"})
    assert r.status_code == 400 and "not a known status" in r.json()["message"]
    assert len(all_leads(fresh)) == 10


def test_concurrent_creates_all_land_with_unique_ids(fresh):
    def one(i: int) -> str:
        r = create(fresh, {"name": f"Lead {i}", "f_name": f"Lead {i}", "phone": f"05012345{i:02d}"})
        assert r.status_code == 201
        return r.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(one, range(24)))
    assert len(set(ids)) == 24
    listed = all_leads(fresh)
    assert len(listed) == 34 and set(ids) <= {lead["id"] for lead in listed}


def test_created_leads_persist_across_restarts(tmp_path):
    with DemoCRM(tmp_path, size=5, end=END) as server:
        new_id = create(server, {"name": "A", "f_name": "A", "phone": "0501234567"}).json()["id"]
    with DemoCRM(tmp_path, size=5) as server:  # no end: reuse the stored anchor and data
        assert all_leads(server)[-1]["id"] == new_id
        assert len(all_leads(server)) == 6
    with DemoCRM(tmp_path, size=7, end=END) as server:  # another size: seeded afresh
        assert len(all_leads(server)) == 7


# -------------------------------------------------------------------------------------------------- prefix
def test_a_path_prefix(tmp_path):
    with DemoCRM(tmp_path, size=9, page_size=4, prefix="/ords/crm/", end=END) as server:
        assert server.base_url.endswith(f":{server.port}/ords/crm")
        body = get(server, "/v2/leads").json()
        assert body["next"] == {"$ref": f"{server.base_url}/v2/leads?page=1"}
        assert (
            get(server, "/v2/leads/statuses").json()["first"]["$ref"].endswith("/ords/crm/v2/leads/statuses")
        )
        root = server.base_url.removesuffix("/ords/crm")
        assert httpx.get(root + "/v2/leads", headers=auth()).status_code == 404
        assert len(all_leads(server)) == 9


# ---------------------------------------------------------------------------------------- process-wide use
def test_ensure_running_starts_one_server_and_reuses_it(tmp_path):
    base_url, token = ensure_running(tmp_path, 30)
    assert ensure_running(tmp_path, 30) == (base_url, token)
    assert token != "demo-token" and len(token) >= 20
    r = httpx.get(base_url + "/v2/leads", headers=auth(token))
    assert r.status_code == 200 and len(r.json()["items"]) == 30
    assert token not in r.text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_python_m_lib_demo_serves_in_the_foreground(tmp_path):
    port = free_port()
    cmd = [sys.executable, "-m", "lib.demo", "--port", str(port), "--size", "50", "--data-dir", str(tmp_path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not any(line.startswith("LEADS_TOKEN=") for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        base_url = next(x for x in lines if x.startswith("LEADS_BASE_URL=")).split("=", 1)[1].strip()
        token = next(x for x in lines if x.startswith("LEADS_TOKEN=")).split("=", 1)[1].strip()
        assert (base_url, token) == (f"http://127.0.0.1:{port}", "demo-token")
        r = httpx.get(base_url + "/v2/leads", headers=auth(token), timeout=10)
        assert r.status_code == 200 and len(r.json()["items"]) == 50
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert (tmp_path / "demo_crm.sqlite3").exists()


def test_seeding_speed_is_recorded(tmp_path, record_property):
    t0 = time.perf_counter()
    db = DemoDB(tmp_path / "x.sqlite3", 20_000, end=END)
    record_property("seed_20k_seconds", round(time.perf_counter() - t0, 2))
    t0 = time.perf_counter()
    page = db.leads_page(19_000, 1000)
    record_property("last_page_ms", round((time.perf_counter() - t0) * 1000, 1))
    assert len(page) == 1000 and db.count() == 20_000
    db.close()


# ---------------------------------------------------------------------------------- the fault-injecting fake
def test_the_faulty_fake_injects_then_answers_normally(tmp_path):
    with FaultyDemoCRM(tmp_path, size=12, page_size=5, end=END) as server:
        server.inject("page=1", 503, times=2, headers={"Retry-After": "0"})
        assert get(server, "/v2/leads").status_code == 200  # page 0 is not matched
        for _ in range(2):
            r = get(server, "/v2/leads?page=1")
            assert r.status_code == 503 and r.headers["retry-after"] == "0"
        assert get(server, "/v2/leads?page=1").status_code == 200  # used up
        server.inject("statuses", 429, body='{"message": "slow down"}')
        r = get(server, "/v2/leads/statuses")
        assert (r.status_code, r.json()) == (429, {"message": "slow down"})

        server.inject("/v2/leads", 200, truncate=True)
        r = get(server, "/v2/leads")
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.content)

        server.inject("/v2/leads", 0, delay=0.3)
        t0 = time.monotonic()
        assert len(get(server, "/v2/leads").json()["items"]) == 5
        assert time.monotonic() - t0 >= 0.3

        server.inject("create", 502)
        r = create(server, {"name": "A", "f_name": "A", "phone": "0501234567"})
        assert r.status_code == 502 and "502" in r.json()["message"]
        r = create(server, {"name": "A", "f_name": "A", "phone": "0501234567"})
        assert r.status_code == 201  # answered normally once the fault is used up

        methods = [(m, p) for m, p, _ in server.requests]
        assert methods[:4] == [("GET", "/v2/leads"), *[("GET", "/v2/leads?page=1")] * 3]
        assert methods[-2:] == [("POST", "/v2/leads/create")] * 2
        stamps = [ts for _, _, ts in server.requests]
        assert stamps == sorted(stamps)
