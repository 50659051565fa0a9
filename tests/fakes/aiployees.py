"""A fake aiployees call platform (apis.md §2, seed 001): `GET /api/user/leads` with Laravel paging.

    with AiployeesFake(leads=[...]) as crm:        # or AiployeesFake(size=3000): generated demo leads
        crm.base_url                                # http://127.0.0.1:PORT/api
        crm.latency = 0.3                           # every request answered 0.3 s late
        crm.max_in_flight                           # the most requests it was answering at once
        crm.inject("page=2", 429, headers={"Retry-After": "1"})

It answers like Laravel: the full paginator envelope with absolute URLs, per_page 1-100 (default 15, else
422 with `message` and `errors`), filters status, campaign_id, phone_number (partial), date_from/date_to
(creation date), `data: []` past the last page, 401 `{"message": "Unauthenticated."}`. Leads are served in
id order. `python -m tests.fakes.aiployees --port 8702 --size 3000` serves generated leads by hand.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from lib.contacts import normalize_phones
from lib.demo.data import STATUSES, generate_leads, local_now
from lib.roles import default_role_and_stage
from tests.fakes.base import FakeCRM, Response, json_body, serve_main

LEAD_STATUSES = (
    "created",
    "scheduled",
    "processing",
    "completed",
    "rescheduled",
    "reached-max-retries",
    "blacklisted",
)

# Seed 001's example response, copied verbatim.
SEED_001_RESPONSE: dict[str, Any] = {
    "current_page": 1,
    "data": [
        {
            "id": 1,
            "campaign_id": 1,
            "phone_number": "+1234567890",
            "variables": {"customer_name": "John Doe", "email": "john.doe@example.com"},
            "status": "created",
            "created_at": "2025-06-30 11:18:04",
            "updated_at": "2025-06-30 11:18:04",
            "campaign": {"id": 1, "name": "My new campaign"},
            "secondary_contacts": [
                {
                    "id": 2,
                    "phone_number": "+1234567899",
                    "variables": {
                        "customer_name": "Jane Doe Secondary",
                        "email": "jane.doe.secondary@example.com",
                    },
                    "status": "created",
                    "created_at": "2025-06-30 11:18:04",
                    "updated_at": "2025-06-30 11:18:04",
                }
            ],
        }
    ],
    "first_page_url": "https://call.aiployees.com/api/user/leads?page=1",
    "from": 1,
    "last_page": 10,
    "last_page_url": "https://call.aiployees.com/api/user/leads?page=10",
    "links": [
        {"url": None, "label": "&laquo; Previous", "active": False},
        {"url": "https://call.aiployees.com/api/user/leads?page=1", "label": "1", "active": True},
        {"url": "https://call.aiployees.com/api/user/leads?page=2", "label": "2", "active": False},
    ],
    "next_page_url": "https://call.aiployees.com/api/user/leads?page=2",
    "path": "https://call.aiployees.com/api/user/leads",
    "per_page": 15,
    "prev_page_url": None,
    "to": 15,
    "total": 150,
}

# Calling campaigns of the generated data: (id, name, weight)
CAMPAIGNS = (
    (11, "Webinar follow-up", 0.3),
    (12, "חזרה ללידים מפייסבוק", 0.25),
    (13, "Spring promo callback", 0.2),
    (14, "חידוש מנוי – שיחת שימור", 0.15),
    (15, "Cold outreach Q4", 0.1),
)
# How generated leads spell their UTM keys in `variables` (a campaign's CSV decides): key for a field name
UTM_SPELLINGS = (
    lambda f: f,  # utm_source
    lambda f: f.upper(),  # UTM_SOURCE
    lambda f: "utm" + f[4:].capitalize(),  # utmSource
    lambda f: f.replace("_", "-"),  # utm-source
)


def _laravel_error(field: str, message: str) -> Response:
    return json_body({"message": message, "errors": {field: [message]}}, 422)


def _int_param(query: dict[str, list[str]], key: str) -> int | None:
    values = query.get(key)
    if not values or values[-1].strip() == "":
        return None
    try:
        return int(values[-1])
    except ValueError:
        return -1  # not an integer: the caller validates


def _status_code(v2_status_id: str, pick: float) -> str:
    """An aiployees status for a v2 status, through its role and stage (lib.roles): the platform's
    meaning of each status (lib.crm.aiployees) read backwards; `pick` in [0, 1) chooses between two."""
    name = next(s["name"] for s in STATUSES if s["id"] == v2_status_id)
    role, stage = default_role_and_stage(name)
    if role == "won":
        return "completed"
    if role == "lost":
        return "reached-max-retries"
    if role == "junk":
        return "blacklisted"
    if not stage:
        return "created" if pick < 0.6 else "scheduled"
    return "processing" if pick < 0.3 else "rescheduled"


def _utc_naive(local_iso: pd.Series) -> list[str]:
    """Jerusalem-local ISO times (the demo generator's, never in a DST gap or overlap) → UTC
    "YYYY-MM-DD HH:MM:SS", as Laravel sends them."""
    local = pd.to_datetime(local_iso, format="ISO8601").dt.tz_localize("Asia/Jerusalem")
    return local.dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S").tolist()


def demo_leads(n: int, end: datetime | None = None, seed: int = 7) -> list[dict]:
    """`n` aiployees leads made from the demo generator's v2 leads (lib.demo.data), ids 1..n in creation
    order: a campaign each, `variables` with the customer's name, e-mail, a campaign field or two and, for
    many, UTM keys in mixed spellings; status by role and stage; times UTC without a zone. Deterministic
    for (n, end, seed); `end` defaults to now, so recent leads are always there."""
    v2 = sorted(generate_leads(n, end or local_now(), seed), key=lambda lead: lead["created_at"])
    rng = np.random.default_rng(seed)
    camp = rng.choice(len(CAMPAIGNS), size=n, p=[c[2] for c in CAMPAIGNS])
    picks = rng.random(n)
    spelling = rng.integers(0, len(UTM_SPELLINGS), size=n)
    secondary = rng.random(n) < 0.06
    created = _utc_naive(pd.Series([lead["created_at"] for lead in v2], dtype="string"))
    updated = _utc_naive(pd.Series([lead["updated_at"] for lead in v2], dtype="string"))
    phones = normalize_phones(pd.Series([lead["phone"] for lead in v2], dtype="string"), "IL").tolist()
    out = []
    for i, lead in enumerate(v2):
        variables: dict[str, Any] = {"customer_name": lead["name"]}
        if lead["email"]:
            variables["email"] = lead["email"]
        if lead["company"]:
            variables["company"] = lead["company"]
        if lead["ext_two"]:
            variables["city"] = lead["ext_two"]
        if lead["ext_one"]:
            variables["preferred_time"] = lead["ext_one"]
        key = UTM_SPELLINGS[spelling[i]]
        variables.update({key(f): lead[f] for f in ("utm_source", "utm_medium", "utm_campaign") if lead[f]})
        cid, cname, _ = CAMPAIGNS[camp[i]]
        status = _status_code(lead["lead_status"], picks[i])
        item: dict[str, Any] = {
            "id": i + 1,
            "campaign_id": cid,
            "phone_number": phones[i],
            "variables": variables,
            "status": status,
            "created_at": created[i],
            "updated_at": updated[i],
            "campaign": {"id": cid, "name": cname},
            "secondary_contacts": [],
        }
        if secondary[i]:
            item["secondary_contacts"].append(
                {
                    "id": n + i + 1,
                    "phone_number": f"+97252{i % 10_000_000:07d}",
                    "variables": {"customer_name": f"{lead['name']} (2)"},
                    "status": status,
                    "created_at": created[i],
                    "updated_at": updated[i],
                }
            )
        out.append(item)
    return out


class AiployeesFake(FakeCRM):
    """The aiployees API on loopback, holding `leads` (aiployees-shaped dicts) or `size` generated ones."""

    name = "aiployees"
    base_path = "/api"

    def __init__(
        self,
        leads: list[dict] | None = None,
        *,
        size: int = 300,
        latency: float = 0.0,
        token: str = "1|fake-sanctum-token",
        port: int = 0,
    ) -> None:
        super().__init__(token=token, port=port)
        self.leads = sorted(demo_leads(size) if leads is None else leads, key=lambda lead: lead["id"])
        self.latency = latency
        self.in_flight = 0
        self.max_in_flight = 0
        self._flight_lock = threading.Lock()

    def handle_request(self, handler) -> None:
        """Every request is answered `latency` late, and counted while it is being answered."""
        with self._flight_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            super().handle_request(handler)
        finally:
            with self._flight_lock:
                self.in_flight -= 1

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> Response:
        if path == "/user/leads":
            if method != "GET":
                return json_body(
                    {"message": f"The {method} method is not supported for route api/user/leads."}, 405
                )
            return self.list_leads(query)
        return self.not_found(path)

    def _filtered(self, query: dict[str, list[str]]) -> list[dict] | Response:
        leads = self.leads
        status = (query.get("status") or [""])[-1]
        if status:
            if status not in LEAD_STATUSES:
                return _laravel_error("status", "The selected status is invalid.")
            leads = [lead for lead in leads if lead.get("status") == status]
        campaign_id = _int_param(query, "campaign_id")
        if campaign_id is not None:
            if campaign_id < 0:
                return _laravel_error("campaign_id", "The campaign id field must be an integer.")
            leads = [lead for lead in leads if lead.get("campaign_id") == campaign_id]
        phone = (query.get("phone_number") or [""])[-1]
        if phone:
            leads = [lead for lead in leads if phone in str(lead.get("phone_number") or "")]
        for key, keep in (("date_from", lambda d, x: d >= x), ("date_to", lambda d, x: d <= x)):
            value = (query.get(key) or [""])[-1]
            if value:
                try:
                    day = date.fromisoformat(value)
                except ValueError:
                    return _laravel_error(key, f"The {key.replace('_', ' ')} field must be a valid date.")
                leads = [lead for lead in leads if keep(str(lead.get("created_at"))[:10], day.isoformat())]
        return leads

    def list_leads(self, query: dict[str, list[str]]) -> Response:
        per_page = _int_param(query, "per_page")
        if per_page is None:
            per_page = 15
        elif not 1 <= per_page <= 100:
            return _laravel_error("per_page", "The per page field must be between 1 and 100.")
        page = _int_param(query, "page")
        page = page if page is not None and page >= 1 else 1  # Laravel reads a bad page as page 1
        leads = self._filtered(query)
        if not isinstance(leads, list):
            return leads
        total = len(leads)
        last = max(1, -(-total // per_page))
        data = leads[(page - 1) * per_page : page * per_page]
        path = f"{self.base_url}/user/leads"

        def url(n: int) -> str:
            return f"{path}?page={n}"

        links = [{"url": url(page - 1) if page > 1 else None, "label": "&laquo; Previous", "active": False}]
        links += [{"url": url(n), "label": str(n), "active": n == page} for n in range(1, last + 1)]
        links.append(
            {"url": url(page + 1) if page < last else None, "label": "Next &raquo;", "active": False}
        )
        return json_body(
            {
                "current_page": page,
                "data": data,
                "first_page_url": url(1),
                "from": (page - 1) * per_page + 1 if data else None,
                "last_page": last,
                "last_page_url": url(last),
                "links": links,
                "next_page_url": url(page + 1) if page < last else None,
                "path": path,
                "per_page": per_page,
                "prev_page_url": url(page - 1) if page > 1 else None,
                "to": (page - 1) * per_page + len(data) if data else None,
                "total": total,
            }
        )


def _make(size: int, token: str, port: int) -> AiployeesFake:
    return AiployeesFake(size=size, token=token, port=port)


if __name__ == "__main__":
    serve_main(_make, "A fake aiployees call platform serving generated leads (LEADS_SOURCE=aiployees)")
