"""A fake LiveTex (apis.md §4, seed 004): GET /v2/leads with offset/limit paging, sort, fields and a
minimal q, the {"total", "results"} envelope, 401 for a wrong token, and the "managed" role that gets other
people's leads without `text` and `answer_text`.

    with LiveTexFake(leads=[SEED_EXAMPLE_LEAD]) as crm:      # exactly these leads
        connect("livetex", base_url=crm.base_url, token=crm.token)
    LiveTexFake(size=3000)                                   # realistic default data (default_leads)
    LiveTexFake(leads=..., managed=True, caller_id=7)        # a "managed" role, its own leads: assigned to 7

`q` syntax is not documented; this fake takes `;`-separated `key=value` conditions on result, type, ids
(comma list), site_ids (comma list), email_exists / phone_exists (true/false) and text (substring).
Run by hand: `python -m tests.fakes.livetex --port 8703 --size 3000`.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from lib.demo.data import CRM_TIMEZONE as DEMO_TIMEZONE
from lib.demo.data import STATUSES as V2_STATUSES
from lib.demo.data import generate_leads, local_now
from lib.roles import default_role_and_stage
from tests.fakes.base import FakeCRM, Response, json_body, serve_main

MOSCOW = ZoneInfo("Europe/Moscow")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
SORTABLE = ("created_at", "updated_at", "duration", "result")

# Seed 004 has no example body: this lead is built field by field from the seed's "Поля лида" table,
# every field listed there, with realistic values (a Moscow-local time without an offset, as the seed says).
SEED_EXAMPLE_LEAD: dict[str, Any] = {
    "id": 4815162,
    "name": "Анна Смирнова",
    "email": "Anna.Smirnova@Mail.RU ",
    "phone": "8 (916) 123-45-67",
    "type": "callback",
    "text": "Перезвоните, пожалуйста, после 18:00",
    "result": "completed",
    "answer_text": "Перезвонили, записали на консультацию",
    "duration": 1800,
    "site": {"id": 1201, "url": "https://clinic.example.ru"},
    "department": {"id": 31, "title": "Отдел продаж"},
    "conversation": {"id": 99001},
    "country": "Россия",
    "city": "Москва",
    "ext_referer": "https://www.google.com/",
    "entry_page": "https://clinic.example.ru/prices?UTM_Source=google&utm_medium=cpc"
    "&utm_campaign=%D0%B2%D0%B5%D1%81%D0%BD%D0%B0&utm_term=implants&utm_content=ad_1",
    "int_referer": "https://clinic.example.ru/contacts",
    "search_engine": "Google",
    "search_query": "имплантация зубов цена",
    "visit_count": 3,
    "page_count": 5,
    "is_locked": False,
    "locked_by": None,
    "assigned_to": {"id": 7, "name": "Ольга Петрова", "login": "o.petrova"},
    "completed_by": {"id": 8, "name": "Игорь Волков", "login": "i.volkov"},
    "completed_at": "2026-03-01T13:00:00",
    "created_by": None,
    "is_managed": True,
    "created_at": "2026-03-01T12:30:00",
    "updated_at": "2026-03-01T13:00:00+03:00",
}

SITES = [{"id": 101, "url": "https://clinic.example.co.il"}, {"id": 102, "url": "https://shop.example.co.il"}]
SITE_WEIGHTS = [0.7, 0.3]
PAGES = ["/", "/prices", "/lp/spring", "/services/implants", "/contact"]
DEPARTMENTS = [{"id": 1, "title": "Sales"}, {"id": 2, "title": "מוקד שירות"}, {"id": 3, "title": "Support"}]
TYPES, TYPE_WEIGHTS = ["form", "callback", "chat"], [0.55, 0.3, 0.15]
REFERRERS = {
    "google": "https://www.google.com/",
    "facebook": "https://l.facebook.com/",
    "instagram": "https://l.instagram.com/",
}
SEARCH_QUERIES = ["השתלות שיניים מחיר", "crm israel", "ניהול לידים", "dental clinic tel aviv", "implants"]
ANSWERS = ["חזרנו ללקוח", "Called back, booked a visit", "נשלחה הצעת מחיר", "No answer, left a message"]


def moscow_naive(jerusalem_local: str) -> str:
    """A demo CRM time (Jerusalem local, no offset) as LiveTex sends it: Moscow local, no offset."""
    local = datetime.fromisoformat(jerusalem_local).replace(tzinfo=DEMO_TIMEZONE)
    return local.astimezone(MOSCOW).replace(tzinfo=None).isoformat(timespec="seconds")


def _source_group(source: str | None) -> str | None:
    text = (source or "").casefold()
    for group, words in (
        ("google", ("google", "גוגל")),
        ("facebook", ("facebook", "fb", "פייסבוק")),
        ("instagram", ("instagram", "ig", "אינסטגרם")),
    ):
        if any(w in text for w in words):
            return group
    return None


def _employee(name: str | None, ids: dict[str, int]) -> dict | None:
    if not name:
        return None
    number = ids.setdefault(name, len(ids) + 1)
    return {"id": number, "name": name, "login": f"agent{number}"}


def to_livetex(lead: dict, n: int, rng: random.Random, employees: dict[str, int]) -> dict:
    """One demo (v2-shaped) lead as a LiveTex lead: result by the v2 status's role, UTMs in the entry
    page's query string (percent-encoded; now and then with upper-case keys), a referrer that fits."""
    status_name = next(s["name"] for s in V2_STATUSES if s["id"] == lead["lead_status"])
    role, stage = default_role_and_stage(status_name)
    if role == "open" and not stage:
        result = "missed"
    elif role == "open":
        result = "completed" if rng.random() < 0.8 else "missed"
    else:  # won, lost, junk: somebody looked at it
        result = "completed"
    site = rng.choices(SITES, SITE_WEIGHTS)[0]
    utm = {k: lead[k] for k in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")}
    utm = {(k.upper() if rng.random() < 0.05 else k): v for k, v in utm.items() if v}
    entry = site["url"] + rng.choice(PAGES)
    if utm:
        entry += "?" + urlencode(utm, quote_via=quote)
    group = _source_group(lead["utm_source"])
    if utm:
        referer = REFERRERS.get(group) if group else None
    else:  # no UTM: organic search, a social post, or typed in
        referer = rng.choices([REFERRERS["google"], REFERRERS["facebook"], None], [0.5, 0.2, 0.3])[0]
    searched = referer == REFERRERS["google"] and not utm
    kind = rng.choices(TYPES, TYPE_WEIGHTS)[0]
    owner = _employee(lead["owner"], employees)
    created, updated = moscow_naive(lead["created_at"]), moscow_naive(lead["updated_at"])
    done = result == "completed"
    email, phone = lead["email"], lead["phone"]
    if not email and not phone:
        phone = f"+7 916 {n % 1000:03d}-{n % 100:02d}-{(n * 7) % 100:02d}"
    return {
        "id": 5_000_000 + n,
        "name": lead["name"],
        "email": email,
        "phone": phone,
        "type": kind,
        "text": lead["text"] or (None if kind == "callback" else rng.choice(["שלום, אשמח לפרטים", "Hi!"])),
        "result": result,
        "answer_text": rng.choice(ANSWERS) if done else None,
        "duration": int((datetime.fromisoformat(updated) - datetime.fromisoformat(created)).total_seconds())
        if done
        else None,
        "site": dict(site),
        "department": dict(rng.choice(DEPARTMENTS)),
        "conversation": {"id": 900_000 + n} if kind == "chat" else None,
        "country": "Israel",
        "city": lead["ext_two"],
        "ext_referer": referer,
        "entry_page": entry,
        "int_referer": site["url"] + "/contact",
        "search_engine": "Google" if searched else None,
        "search_query": rng.choice(SEARCH_QUERIES) if searched else None,
        "visit_count": rng.randint(1, 6),
        "page_count": rng.randint(1, 12),
        "is_locked": False,
        "locked_by": None,
        "assigned_to": owner,
        "completed_by": owner if done else None,
        "completed_at": updated if done else None,
        "created_by": owner if kind == "chat" else None,
        "is_managed": True,
        "created_at": created,
        "updated_at": updated,
    }


def default_leads(size: int, end: datetime | None = None, seed: int = 4) -> list[dict]:
    """`size` realistic LiveTex leads from the demo generator, deterministic for (size, end, seed); `end`
    defaults to now, so the dashboard's default "last 30 days" shows leads."""
    rng = random.Random(seed)
    employees: dict[str, int] = {}
    v2 = generate_leads(size, end or local_now(), seed)
    return [to_livetex(lead, n, rng, employees) for n, lead in enumerate(v2)]


def _sort_key(value: Any) -> tuple[bool, Any]:
    """Missing values last; present ones compared as they are (ISO times as text, durations as numbers)."""
    return (value is None, "" if value is None else value)


def _bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes")


def _matches(lead: dict, key: str, value: str) -> bool:
    if key in ("result", "type"):
        return str(lead.get(key)) == value
    if key == "ids":
        return str(lead.get("id")) in value.split(",")
    if key == "site_ids":
        return str((lead.get("site") or {}).get("id")) in value.split(",")
    if key in ("email_exists", "phone_exists"):
        return bool(lead.get(key.removesuffix("_exists"))) == _bool(value)
    if key == "text":
        return value.casefold() in str(lead.get("text") or "").casefold()
    raise KeyError(key)


class LiveTexFake(FakeCRM):
    """LiveTex's Leads.list over loopback HTTP, holding `leads` (or `size` generated ones)."""

    name = "LiveTex"

    def __init__(
        self,
        leads: list[dict] | None = None,
        *,
        size: int = 3000,
        managed: bool = False,
        caller_id: int | None = None,
        token: str = "fake-token",
        port: int = 0,
    ) -> None:
        super().__init__(token=token, port=port)
        self.leads = copy.deepcopy(leads) if leads is not None else default_leads(size)
        self.managed = managed  # the caller has a "managed" role: others' leads lose text and answer_text
        self.caller_id = caller_id  # the employee id of the caller (whose leads are its own)

    def unauthorized(self) -> Response:
        return json_body({"error": "unauthorized", "message": "Invalid or expired access token"}, 401)

    def bad_request(self, message: str) -> Response:
        return json_body({"error": "bad_request", "message": message}, 400)

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> Response:
        if path != "/v2/leads":
            return self.not_found(path)
        if method != "GET":
            return json_body({"error": "method_not_allowed", "message": f"{method} is not allowed"}, 405)
        arg = {k: v[-1] for k, v in query.items()}
        try:
            offset = int(arg.get("offset", 0))
            limit = int(arg.get("limit", DEFAULT_LIMIT))
        except ValueError:
            return self.bad_request("offset and limit must be numbers")
        if offset < 0 or limit < 0 or limit > MAX_LIMIT:
            return self.bad_request(f"limit must be 0..{MAX_LIMIT} and offset at least 0")
        leads = self.leads
        if arg.get("q"):
            try:
                conditions = [c.split("=", 1) for c in arg["q"].split(";") if c.strip()]
                leads = [ld for ld in leads if all(_matches(ld, k.strip(), v.strip()) for k, v in conditions)]
            except (KeyError, ValueError):
                return self.bad_request(f"q is not understood: {arg['q']!r}")
        if arg.get("sort"):
            field, _, direction = arg["sort"].partition(":")
            if field not in SORTABLE or direction not in ("a", "d"):
                return self.bad_request(f"sort must be one of {', '.join(f + ':a' for f in SORTABLE)}")
            leads = sorted(leads, key=lambda ld: _sort_key(ld.get(field)), reverse=direction == "d")
        page = [self.visible(ld) for ld in leads[offset : offset + limit]]
        if arg.get("fields"):
            wanted = [f.strip() for f in arg["fields"].split(",") if f.strip()]
            page = [{f: ld[f] for f in wanted if f in ld} for ld in page]
        return json_body({"total": len(leads), "results": page})

    def visible(self, lead: dict) -> dict:
        """The lead as the caller's role sees it (seed 004: "managed" roles get only their own leads in
        full; others' come without text and answer_text)."""
        if not self.managed:
            return lead
        own = (lead.get("assigned_to") or {}).get("id") == self.caller_id
        if own:
            return {**lead, "is_managed": True}
        return {k: v for k, v in lead.items() if k not in ("text", "answer_text")} | {"is_managed": False}


if __name__ == "__main__":
    serve_main(
        lambda size, token, port: LiveTexFake(size=size, token=token, port=port),
        "A fake LiveTex (GET /v2/leads) for pointing the dashboard at by hand.",
    )
