"""A fake Kommo (amoCRM) API v4 following apis.md §3, over real HTTP on 127.0.0.1.

    with KommoFake(leads=[...], page_limit=...) as crm:   # or KommoFake(size=3000) for realistic data
        crm.base_url, crm.token, crm.requests, crm.rate_limited
        crm.users_forbidden = True                        # GET /users answers 403

HAL envelopes with absolute `_links.next` hrefs (Kommo's style), 204 with an empty body past the last
page, `limit` over 250 refused with a 400 problem+json, filter[updated_at][from] honoured, pipelines with
statuses, users, contacts by filter[id][], both create endpoints (validated: 400 problem+json with
validation-errors; a new lead is listed afterwards), 401 problem+json for a wrong token, and Kommo's rate
limit: more than 7 requests within any 1-second sliding window get 429 with `retry_after` in the body
(`rate_limited` counts them).

Run by hand: `.venv/bin/python -m tests.fakes.kommo --port 8701 --size 3000`.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np

from lib import clock
from lib.demo.data import CRM_TIMEZONE as DEMO_TZ
from lib.demo.data import STATUSES, generate_leads, local_now
from lib.roles import default_role_and_stage
from tests.fakes.base import FakeCRM, Request, Response, json_body, serve_main

HAL = "application/hal+json"
PROBLEM = "application/problem+json"
MAX_LIMIT = 250
DEFAULT_LIMIT = 50  # Kommo's page size when `limit` is not given
RATE_LIMIT, RATE_WINDOW = 7, 1.0  # Kommo: 7 requests per second per account
ACCOUNT_ID = 29871234
WON, LOST = 142, 143

USERS = [
    {"id": 8100001, "name": "Admin", "email": "admin@example.com"},
    {"id": 8100002, "name": "דנה לוי", "email": "dana@example.com"},
    {"id": 8100003, "name": "Yossi Mizrahi", "email": "yossi@example.com"},
    {"id": 8100004, "name": "מיכל כהן", "email": "michal@example.com"},
    {"id": 8100005, "name": "Avi Ben-David", "email": "avi@example.com"},
    {"id": 8100006, "name": "רונית אזולאי", "email": "ronit@example.com"},
    {"id": 8100007, "name": "Tom Friedman", "email": "tom@example.com"},
]

SALES, PARTNERS = 3177727, 3177801


def pipeline(pid: int, name: str, sort: int, is_main: bool, statuses: list[tuple[int, str, int]],
             is_archive: bool = False) -> dict:  # fmt: skip
    """A pipeline as GET /leads/pipelines sends it; statuses as (id, name, sort)."""
    return {
        "id": pid,
        "name": name,
        "sort": sort,
        "is_main": is_main,
        "is_unsorted_on": True,
        "is_archive": is_archive,
        "account_id": ACCOUNT_ID,
        "_embedded": {
            "statuses": [
                {
                    "id": sid,
                    "name": sname,
                    "sort": ssort,
                    "is_editable": sid not in (WON, LOST),
                    "pipeline_id": pid,
                    "color": "#99ccff",
                    "type": 1 if ssort == 10 and sid not in (WON, LOST) else 0,
                    "account_id": ACCOUNT_ID,
                }
                for sid, sname, ssort in statuses
            ]
        },
    }


# "Sales" (main): 5 open statuses -> stages 0, 0, 1, 1, 2; "Partners" (Hebrew): 3 open -> 0, 1, 2.
PIPELINES = [
    pipeline(SALES, "Sales", 1, True, [
        (61000010, "Incoming leads", 10), (61000011, "New inquiry", 20), (61000012, "Contacted", 30),
        (61000013, "Meeting scheduled", 40), (61000014, "Proposal sent", 50),
        (WON, "Closed - won", 10000), (LOST, "Closed - lost", 11000),
    ]),
    pipeline(PARTNERS, "Partners", 2, False, [
        (62000010, "ליד חדש", 10), (62000011, "בטיפול", 20), (62000012, "מעוניין", 30),
        (WON, "נסגר בהצלחה", 10000), (LOST, "לא מומש", 11000),
    ]),
]  # fmt: skip
# stage -> the open status a generated lead at that stage gets, per pipeline
OPEN_BY_STAGE = {
    SALES: {0: 61000011, 1: 61000012, 2: 61000014},
    PARTNERS: {0: 62000010, 1: 62000011, 2: 62000012},
}
LOSS_REASONS = [(5001, "Too expensive"), (5002, "יקר מדי"), (5003, "Chose a competitor"), (5004, "No answer")]
JUNK_REASON = (5005, "Duplicate / spam")
UTM_FIELD_IDS = {"UTM_SOURCE": 900101, "UTM_MEDIUM": 900102, "UTM_CAMPAIGN": 900103, "UTM_TERM": 900104,
                 "UTM_CONTENT": 900105, "UTM_REFERRER": 900106}  # fmt: skip
CONTACT_FIELD_IDS = {"PHONE": 900201, "EMAIL": 900202}

# Seed 002 has no example body: this lead is built field by field from its "Response parameters" table
# (every field it lists, with realistic values), as GET /api/v4/leads?with=contacts,source_id,loss_reason
# sends it. A lost lead of the main pipeline, so loss reason and closed_at are set.
SEED_EXAMPLE_LEAD: dict[str, Any] = {
    "id": 19619111,
    "name": "Website request: Noa Levi",
    "price": 4500,
    "responsible_user_id": 8100002,  # דנה לוי
    "group_id": 0,
    "status_id": LOST,
    "pipeline_id": SALES,
    "loss_reason_id": 5001,
    "source_id": 7701,
    "created_by": 8100001,
    "updated_by": 8100002,
    "created_at": 1761991200,  # 2025-11-01T10:00:00Z
    "updated_at": 1762250400,  # 2025-11-04T10:00:00Z
    "closed_at": 1762252200,  # 2025-11-04T10:30:00Z
    "closest_task_at": None,
    "custom_fields_values": [
        {
            "field_id": 900101,
            "field_name": "utm_source",
            "field_code": "UTM_SOURCE",
            "field_type": "tracking_data",
            "values": [{"value": " facebook "}],
        },
        {
            "field_id": 900102,
            "field_name": "utm_medium",
            "field_code": "UTM_MEDIUM",
            "field_type": "tracking_data",
            "values": [{"value": "paid_social"}],
        },
        {
            "field_id": 900103,
            "field_name": "utm_campaign",
            "field_code": "UTM_CAMPAIGN",
            "field_type": "tracking_data",
            "values": [{"value": "חג האהבה"}],
        },
        {
            "field_id": 900104,
            "field_name": "utm_term",
            "field_code": "UTM_TERM",
            "field_type": "tracking_data",
            "values": [{"value": "crm"}],
        },
        {
            "field_id": 900105,
            "field_name": "utm_content",
            "field_code": "UTM_CONTENT",
            "field_type": "tracking_data",
            "values": [{"value": "video_1"}],
        },
        {
            "field_id": 900106,
            "field_name": "utm_referrer",
            "field_code": "UTM_REFERRER",
            "field_type": "tracking_data",
            "values": [{"value": "https://l.facebook.com/"}],
        },
        {
            "field_id": 900300,
            "field_name": "Budget",
            "field_code": None,
            "field_type": "numeric",
            "values": [{"value": "5000"}],
        },
    ],
    "score": None,
    "account_id": ACCOUNT_ID,
    "labor_cost": 1800,
    "is_price_modified_by_robot": False,
    "_embedded": {
        "loss_reason": [{"id": 5001, "name": "Too expensive"}],
        "tags": [{"id": 31, "name": "website", "color": None}],
        "contacts": [{"id": 40100001, "is_main": True}],
        "companies": [{"id": 50100001}],
        "catalog_elements": [],
        "source": {"id": 7701, "name": "Website form"},
    },
}
SEED_EXAMPLE_CONTACT: dict[str, Any] = {
    "id": 40100001,
    "name": "Noa Levi",
    "first_name": "Noa",
    "last_name": "Levi",
    "custom_fields_values": [
        {"field_id": 900201, "field_name": "Phone", "field_code": "PHONE", "field_type": "multitext",
         "values": [{"value": "052-123-4567", "enum_code": "WORK"}]},
        {"field_id": 900202, "field_name": "Email", "field_code": "EMAIL", "field_type": "multitext",
         "values": [{"value": "Noa.Levi@Example.com", "enum_code": "WORK"}]},
    ],
}  # fmt: skip


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """An application/problem+json error, as Kommo sends them."""
    body = {
        "title": title,
        "type": f"https://httpstatus.es/{status}",
        "status": status,
        "detail": detail,
        **extra,
    }
    return json_body(body, status, content_type=PROBLEM)


def invalid(path: str, detail: str, index: int = 0) -> Response:
    return problem(
        400,
        "Bad Request",
        "Request validation failed",
        **{"validation-errors": [{"request_id": str(index), "errors": [
            {"code": "NotSupportedChoice", "path": path, "detail": detail}]}]},
    )  # fmt: skip


def _unix(local_iso: str) -> int:
    """The demo generator's Jerusalem-local ISO time as Unix seconds."""
    return int(datetime.fromisoformat(local_iso).replace(tzinfo=DEMO_TZ).timestamp())


def utm_fields(**values: str | None) -> list[dict] | None:
    """Kommo tracking custom fields for utm_source=..., referrer=...; None when there are none."""
    out = []
    for key, value in values.items():
        code = "UTM_REFERRER" if key == "referrer" else key.upper()
        if value is not None:
            out.append({"field_id": UTM_FIELD_IDS[code], "field_name": code.lower(), "field_code": code,
                        "field_type": "tracking_data", "values": [{"value": value}]})  # fmt: skip
    return out or None


def kommo_data(n: int, end: datetime | None = None, seed: int = 7) -> tuple[list[dict], list[dict]]:
    """(leads, contacts): the demo generator's v2 leads mapped to Kommo. A status goes by its v2 role and
    stage: won -> 142, lost and junk -> 143 (junk with the "Duplicate / spam" loss reason), open -> the open
    status of that stage; ~80 % of leads in "Sales", the rest in "Partners". Deterministic for (n, seed);
    relative to `end` (default now)."""
    rng = np.random.default_rng(seed)
    role_stage = {s["id"]: default_role_and_stage(s["name"]) for s in STATUSES}
    user_ids = {u["name"]: u["id"] for u in USERS}
    leads, contacts = [], []
    for i, v2 in enumerate(generate_leads(n, end or local_now(), seed)):
        lead_id, contact_id = 20000001 + i, 40000001 + i
        pid = SALES if rng.random() < 0.8 else PARTNERS
        role, stage = role_stage[v2["lead_status"]]
        created, updated = _unix(v2["created_at"]), _unix(v2["updated_at"])
        reason = None
        if role == "won":
            sid, price = WON, int(rng.integers(5, 200)) * 100
        elif role in ("lost", "junk"):
            sid, price = LOST, 0
            reason = JUNK_REASON if role == "junk" else LOSS_REASONS[int(rng.integers(len(LOSS_REASONS)))]
        else:
            sid, price = OPEN_BY_STAGE[pid][stage or 0], 0
        referrer = None
        if v2["utm_source"] and rng.random() < 0.3:
            referrer = (
                "https://l.facebook.com/" if "f" in v2["utm_source"].lower() else "https://www.google.com/"
            )
        utm = {
            k: (v2[k] or None)
            for k in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
        }
        embedded: dict[str, Any] = {"tags": [], "companies": []}
        if v2["phone"] or v2["email"]:
            embedded["contacts"] = [{"id": contact_id, "is_main": True}]
            contacts.append(contact(contact_id, v2["f_name"], v2["l_name"], v2["phone"], v2["email"]))
        if reason:
            embedded["loss_reason"] = [{"id": reason[0], "name": reason[1]}]
        leads.append({
            "id": lead_id, "name": v2["name"], "price": price,
            "responsible_user_id": user_ids.get(v2["owner"] or "", USERS[0]["id"]), "group_id": 0,
            "status_id": sid, "pipeline_id": pid, "loss_reason_id": reason[0] if reason else None,
            "source_id": 7701 if v2["utm_source"] else None, "created_by": USERS[0]["id"], "updated_by": 0,
            "created_at": created, "updated_at": updated,
            "closed_at": updated if sid in (WON, LOST) else None, "closest_task_at": None,
            "is_deleted": False, "score": None, "account_id": ACCOUNT_ID, "labor_cost": None,
            "custom_fields_values": utm_fields(**utm, referrer=referrer), "_embedded": embedded,
        })  # fmt: skip
    return leads, contacts


def contact(cid: int, first: str | None, last: str | None, phone: str | None, email: str | None) -> dict:
    """A Kommo contact with PHONE and EMAIL multitext fields."""
    fields = [
        {"field_id": CONTACT_FIELD_IDS[code], "field_name": code.title(), "field_code": code,
         "field_type": "multitext", "values": [{"value": value, "enum_code": "WORK"}]}
        for code, value in (("PHONE", phone), ("EMAIL", email)) if value
    ]  # fmt: skip
    name = " ".join(p for p in (first, last) if p)
    return {"id": cid, "name": name, "first_name": first or "", "last_name": last or "",
            "custom_fields_values": fields or None}  # fmt: skip


class KommoFake(FakeCRM):
    """A fake Kommo account. `leads`/`contacts` given: exactly those; else `size` generated leads."""

    name = "Kommo"

    def __init__(
        self,
        leads: list[dict] | None = None,
        *,
        contacts: list[dict] | None = None,
        pipelines: list[dict] | None = None,
        users: list[dict] | None = None,
        size: int = 300,
        seed: int = 7,
        rate_limit: int | None = RATE_LIMIT,
        token: str = "kommo-fake-token",
        port: int = 0,
    ) -> None:
        super().__init__(token=token, port=port)
        if leads is None:
            leads, generated = kommo_data(size, seed=seed)
            contacts = generated if contacts is None else contacts
        self.leads: list[dict] = [json.loads(json.dumps(lead)) for lead in leads]
        self.contacts: dict[int, dict] = {c["id"]: c for c in contacts or []}
        self.pipelines = pipelines if pipelines is not None else PIPELINES
        self.users = users if users is not None else USERS
        self.users_forbidden = False
        self.rate_limit = rate_limit
        self.rate_limited = 0
        self._recent: deque[float] = deque()
        self._rate_lock = threading.Lock()
        self._data_lock = threading.Lock()

    # -- protocol hooks ---------------------------------------------------------------------------------
    def unauthorized(self) -> Response:
        return problem(401, "Unauthorized", "Unauthorized")

    def not_found(self, path: str) -> Response:
        return problem(404, "Not Found", f"No such endpoint: {path}")

    def before(self, request: Request) -> Response | None:
        """Kommo's rate limit: every request counts; over RATE_LIMIT in the last second -> 429."""
        if self.rate_limit is None:
            return None
        with self._rate_lock:
            now = request.time
            self._recent.append(now)
            while self._recent and self._recent[0] <= now - RATE_WINDOW:
                self._recent.popleft()
            if len(self._recent) <= self.rate_limit:
                return None
            self.rate_limited += 1
        return problem(429, "Too Many Requests", "Too many requests per second", retry_after=1)

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> Response:
        if method == "GET" and path == "/api/v4/leads":
            return self._list("/api/v4/leads", "leads", self._lead_view(query), query)
        if method == "GET" and path == "/api/v4/leads/pipelines":
            pipes = self.pipelines
            return json_body({"_total_items": len(pipes), "_links": {"self": {"href": self._href(path, {})}},
                              "_embedded": {"pipelines": pipes}}, content_type=HAL)  # fmt: skip
        if method == "GET" and path == "/api/v4/users":
            if self.users_forbidden:
                return problem(403, "Forbidden", "Access denied")
            return self._list(path, "users", self.users, query)
        if method == "GET" and path == "/api/v4/contacts":
            wanted = {int(i) for i in query.get("filter[id][]", []) if i.isdigit()}
            found = [c for cid, c in sorted(self.contacts.items()) if not wanted or cid in wanted]
            return self._list(path, "contacts", found, query)
        if method == "POST" and path in ("/api/v4/leads", "/api/v4/leads/complex"):
            return self._create(body, complex_=path.endswith("complex"))
        return self.not_found(path)

    # -- lists --------------------------------------------------------------------------------------------
    def _href(self, path: str, params: dict[str, Any]) -> str:
        """Absolute like Kommo's links (with brackets left readable, as Kommo writes them)."""
        query = urlencode(params, doseq=True, safe="[],")
        return f"{self.origin}{path}" + (f"?{query}" if query else "")

    def _lead_view(self, query: dict[str, list[str]]) -> list[dict]:
        """The leads matching the query's filter, each with only the `_embedded` parts `with` asks for."""
        with_ = set(",".join(query.get("with", [])).split(","))
        since = query.get("filter[updated_at][from]", [None])[0]
        with self._data_lock:
            leads = list(self.leads)
        if since is not None and since.lstrip("-").isdigit():
            leads = [lead for lead in leads if isinstance(lead.get("updated_at"), int)
                     and lead["updated_at"] >= int(since)]  # fmt: skip
        out = []
        for lead in leads:
            view = {k: v for k, v in lead.items() if k != "source_id" or "source_id" in with_}
            embedded = dict(lead.get("_embedded") or {})
            for part in ("contacts", "loss_reason", "source"):
                if part not in with_:
                    embedded.pop(part, None)
            view["_embedded"] = embedded
            out.append(view)
        return out

    def _list(self, path: str, key: str, items: list[dict], query: dict[str, list[str]]) -> Response:
        """One HAL page; `next` whenever the page is full (so an exact multiple ends with a 204)."""
        try:
            limit = int(query.get("limit", [DEFAULT_LIMIT])[0])
            page = int(query.get("page", ["1"])[0])
        except ValueError:
            return invalid("limit", "This value should be a valid number.")
        if limit > MAX_LIMIT or limit < 1:
            return invalid("limit", f"This value should be {MAX_LIMIT} or less.")
        chunk = items[(page - 1) * limit : page * limit] if page >= 1 else []
        if not chunk:
            return 204, {}, b""
        params = {k: v for k, v in query.items() if k != "page"}
        links = {"self": {"href": self._href(path, {**params, "page": page})}}
        if len(chunk) == limit:
            links["next"] = {"href": self._href(path, {**params, "page": page + 1})}
        return json_body({"_page": page, "_links": links, "_embedded": {key: chunk}}, content_type=HAL)

    # -- create -------------------------------------------------------------------------------------------
    def _create(self, raw: bytes, *, complex_: bool) -> Response:
        try:
            leads = json.loads(raw or b"null")
        except ValueError:
            return problem(400, "Bad Request", "Malformed JSON")
        if not isinstance(leads, list) or not leads or len(leads) > 50:
            return invalid("", "This value should be an array of 1 to 50 leads.")
        statuses = {(p["id"], s["id"]) for p in self.pipelines for s in p["_embedded"]["statuses"]}
        user_ids = {u["id"] for u in self.users}
        for i, lead in enumerate(leads):
            if not isinstance(lead, dict):
                return invalid(str(i), "This value should be of type object.", i)
            pid, sid = lead.get("pipeline_id"), lead.get("status_id")
            if (pid is None) != (sid is None) or (pid is not None and (pid, sid) not in statuses):
                return invalid("status_id", "The value you selected is not a valid choice.", i)
            if "responsible_user_id" in lead and lead["responsible_user_id"] not in user_ids:
                return invalid("responsible_user_id", "The value you selected is not a valid choice.", i)
            for field in lead.get("custom_fields_values") or []:
                if field.get("field_code") not in UTM_FIELD_IDS:
                    return invalid("custom_fields_values.0.field_code", "This field code does not exist.", i)
            if not complex_ and (lead.get("_embedded") or {}).get("contacts"):
                return invalid("_embedded.contacts", "Use /api/v4/leads/complex to add contacts.", i)
        answers = []
        now = int(clock.now().timestamp())  # the dashboard's clock, as the demo CRM stamps
        with self._data_lock:
            for i, lead in enumerate(leads):
                lead_id = max((x["id"] for x in self.leads), default=20000000) + 1
                main = self.pipelines[0]
                pid = lead.get("pipeline_id", main["id"])
                sid = lead.get("status_id", main["_embedded"]["statuses"][0]["id"])
                fields = [
                    {**f, "field_id": UTM_FIELD_IDS[f["field_code"]], "field_name": f["field_code"].lower()}
                    for f in lead.get("custom_fields_values") or []
                ]
                stored = {
                    "id": lead_id, "name": lead.get("name") or f"Lead #{lead_id}",
                    "price": lead.get("price", 0),
                    "responsible_user_id": lead.get("responsible_user_id", self.users[0]["id"]),
                    "status_id": sid, "pipeline_id": pid, "created_at": now, "updated_at": now,
                    "closed_at": None, "account_id": ACCOUNT_ID, "custom_fields_values": fields or None,
                    "_embedded": {"tags": [], "companies": []},
                }  # fmt: skip
                contact_id = None
                people = (lead.get("_embedded") or {}).get("contacts") or []
                if complex_ and people:
                    contact_id = max(self.contacts, default=40000000) + 1
                    self.contacts[contact_id] = {"id": contact_id, **people[0]}
                    stored["_embedded"]["contacts"] = [{"id": contact_id, "is_main": True}]
                self.leads.append(stored)
                if complex_:
                    answers.append({"id": lead_id, "contact_id": contact_id, "company_id": None,
                                    "request_id": [str(i)], "merged": False})  # fmt: skip
                else:
                    answers.append(
                        {
                            "id": lead_id,
                            "request_id": str(i),
                            "_links": {"self": {"href": self._href(f"/api/v4/leads/{lead_id}", {})}},
                        }
                    )
        if complex_:
            return json_body(answers, content_type="application/json")
        return json_body({"_links": {"self": {"href": self._href("/api/v4/leads", {})}},
                          "_embedded": {"leads": answers}}, content_type=HAL)  # fmt: skip


def unix(when: datetime) -> int:
    """Unix seconds of an aware datetime (tests build their leads' times with it)."""
    return int(when.astimezone(UTC).timestamp())


def days_ago(days: int, hour: int = 12) -> int:
    """Unix seconds of `hour`:00 Jerusalem time, `days` days before today there."""
    today = clock.today("Asia/Jerusalem") - timedelta(days=days)
    return unix(datetime(today.year, today.month, today.day, hour, tzinfo=DEMO_TZ))


def _make(size: int, token: str, port: int) -> KommoFake:
    return KommoFake(size=size, token=token, port=port)


if __name__ == "__main__":
    serve_main(_make, "A fake Kommo API v4 with realistic leads")
