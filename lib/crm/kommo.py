"""Kommo (amoCRM) API v4 (apis.md §3): pipelines and their statuses, all leads (HAL paging), users for
owner names, the leads' main contacts for phone and e-mail, and creating a lead (with its contact).

Kommo keys a status by (pipeline, status): 142 and 143 exist in every pipeline. The catalogue's status_id
is therefore the string "<pipeline_id>:<status_id>", and every lead's status_id is built the same way.

Kommo allows 7 requests per second per account and may block an account that keeps hitting 429, so one
sliding-window limiter per source (shared by every call, retries included) keeps the client under it.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pandas as pd

from lib.contacts import normalize_emails, normalize_phones
from lib.crm.base import CreatedLead, Progress, first_copies, join_pages
from lib.crm.http import HttpClient, as_json_dict
from lib.crm.parsing import parse_unix_times, text_column
from lib.errors import CRMAuthError, CRMRequestError, CRMResponseError
from lib.schema import DEFAULT_STAGES, UTM_FIELDS, text_category, to_canonical_leads, to_canonical_statuses

LEADS_PATH = "/api/v4/leads"
PIPELINES_PATH = "/api/v4/leads/pipelines"
USERS_PATH = "/api/v4/users"
CONTACTS_PATH = "/api/v4/contacts"
COMPLEX_PATH = "/api/v4/leads/complex"
PAGE_LIMIT = 250  # Kommo's maximum page size
LEADS_WITH = "contacts,source_id,loss_reason"
GROUP_LEADS = 2000  # leads per lead_pages frame: 8 pages of 250, their contacts in up to 20 full batches
CONTACTS_BATCH = 100  # contact ids per GET /contacts (about 3 KB of URL: well under servers' 8 KB)
MAX_PAGES = 20_000  # a guard against a server that never stops sending `next`
# Kommo's documented limit is 7 requests per second; the window's extra 50 ms is a margin for the server's
# clock (the limiter already keeps a place until after the answer, see SlidingWindowLimiter).
RATE_REQUESTS, RATE_WINDOW = 7, 1.05

WON, LOST = 142, 143  # the closing statuses of every pipeline
CUSTOMER, CONTACTED = DEFAULT_STAGES.index("Customer"), DEFAULT_STAGES.index("Contacted")
OPEN_STAGES = DEFAULT_STAGES.index("Customer")  # open statuses spread over New, Contacted, Interested

UTM_CODES = {f.upper(): f for f in UTM_FIELDS} | {"UTM_REFERRER": "referrer"}  # field_code -> column
UTM_NAMES = {code.lower(): col for code, col in UTM_CODES.items()}  # field_name fallback (utm_source...)

__all__ = ["KommoSource", "SlidingWindowLimiter", "open_source", "status_key", "wire_lead"]


class SlidingWindowLimiter:
    """At most `requests` requests within any `window` seconds as the server counts them (thread-safe).

    A request holds one of `requests` places from the moment it is sent until `window` seconds after its
    answer came back. The server counted it somewhere in between, so a request that must wait for a free
    place reaches the server more than `window` after the one whose place it took: delays in the network,
    the server or our own threads cannot squeeze more than `requests` of them into one window. (Spacing
    the sends alone did let a full sync of 20,000 leads put 8 requests in one second at the server.)
    `wait()` returns a ticket to hand to `done()` when the answer (or the error) is in."""

    def __init__(self, requests: int = RATE_REQUESTS, window: float = RATE_WINDOW) -> None:
        self.requests = requests
        self.window = window
        self._frees_at: dict[int, float] = {}  # ticket -> when its place frees (inf while in flight)
        self._tickets = itertools.count()
        self._changed = threading.Condition()

    def wait(self) -> int:
        with self._changed:
            while True:
                now = time.monotonic()
                self._frees_at = {t: end for t, end in self._frees_at.items() if end > now}
                if len(self._frees_at) < self.requests:
                    ticket = next(self._tickets)
                    self._frees_at[ticket] = math.inf
                    return ticket
                soonest = min(self._frees_at.values())
                self._changed.wait(None if soonest == math.inf else soonest - now)

    def done(self, ticket: int) -> None:
        with self._changed:
            if ticket in self._frees_at:
                self._frees_at[ticket] = time.monotonic() + self.window
            self._changed.notify_all()


def status_key(pipeline_id: Any, status_id: Any) -> str | None:
    """Our status id for a Kommo (pipeline, status) pair, e.g. "3177727:142"; None if either is missing."""
    if pipeline_id is None or status_id is None or isinstance(pipeline_id, bool | dict | list):
        return None
    return f"{pipeline_id}:{status_id}"


def open_source(
    base_url: str,
    token: str,
    *,
    phone_region: str = "IL",
    crm_timezone: str | None = None,
    transport: httpx.BaseTransport | None = None,
    **http_options: Any,
) -> KommoSource:
    """The Kommo source for `connect("kommo", ...)`. `crm_timezone` is unused: Kommo sends Unix times."""
    http_options.setdefault("rate_limiter", SlidingWindowLimiter())
    http = HttpClient(base_url, token, crm_name="Kommo", transport=transport, **http_options)
    return KommoSource(http, phone_region=phone_region)


def _first_value(field: Mapping[str, Any]) -> str | None:
    values = field.get("values")
    if isinstance(values, list) and values and isinstance(values[0], dict):
        value = values[0].get("value")
        if value is not None and not isinstance(value, dict | list):
            text = str(value).strip()
            return text or None
    return None


def _field_values(item: Mapping[str, Any], columns: Mapping[str, str], names: Mapping[str, str]) -> dict:
    """{column: first value} of an item's custom fields, by field_code (or, without a code, by the field's
    name, case-insensitive); the first field found for a column wins."""
    out: dict[str, str] = {}
    fields = item.get("custom_fields_values")
    for field in fields if isinstance(fields, list) else []:
        if not isinstance(field, dict):
            continue
        code = field.get("field_code")
        if isinstance(code, str) and code:
            column = columns.get(code.upper())
        else:
            column = names.get(str(field.get("field_name") or "").strip().lower())
        if column and column not in out and (value := _first_value(field)) is not None:
            out[column] = value
    return out


def _embedded(item: Mapping[str, Any], key: str) -> Any:
    embedded = item.get("_embedded")
    return embedded.get(key) if isinstance(embedded, dict) else None


def _main_contact_id(item: Mapping[str, Any]) -> str | None:
    """The lead's main contact (or its first, when none is marked main)."""
    contacts = [
        c for c in _embedded(item, "contacts") or [] if isinstance(c, dict) and c.get("id") is not None
    ]
    main = [c for c in contacts if c.get("is_main")] or contacts
    return str(main[0]["id"]) if main else None


def _loss_reason(item: Mapping[str, Any]) -> str | None:
    """The loss reason's name: Kommo sends `_embedded.loss_reason` as a list of one; a dict is accepted."""
    reason = _embedded(item, "loss_reason")
    if isinstance(reason, list):
        reason = reason[0] if reason else None
    if isinstance(reason, dict) and reason.get("name") is not None:
        return str(reason["name"])
    return None


def _open_stage(i: int, n: int) -> int:
    """The i-th (0-based) of n open statuses of a pipeline, spread by sort over New/Contacted/Interested."""
    return math.floor(i * OPEN_STAGES / n)


class KommoSource:
    """A Kommo account reached over its API v4 with a long-lived token."""

    name = "kommo"
    can_create = True
    is_demo = False

    def __init__(self, http: HttpClient, *, phone_region: str = "IL", max_pages: int = MAX_PAGES) -> None:
        self.http = http
        self.phone_region = phone_region
        self.max_pages = max_pages
        self.page_limit = PAGE_LIMIT
        self.group_leads = GROUP_LEADS

    def __repr__(self) -> str:
        return f"KommoSource({self.http.base_url!r})"

    @property
    def label(self) -> str:
        return f"Kommo at {self.http.base_url}"

    # -- paging ---------------------------------------------------------------------------------------

    def _pages(self, path: str, params: list[tuple[str, Any]], key: str) -> Iterator[list[dict]]:
        """The `_embedded[key]` list of every page, following `_links.next.href` (re-based on the
        configured origin). Stops on no next link, an empty page, 204 (past the last page) or a link
        already seen; more pages than the cap is an error (the data would be incomplete)."""
        url: str | None = f"{path}?{urlencode(params, safe='[],')}"
        seen: set[str] = set()
        while url is not None:
            full = self.http.url(url)
            if full in seen:  # a loop: every page it leads to has been read already
                return
            if len(seen) >= self.max_pages:
                raise CRMResponseError(
                    f"Stopped after {len(seen)} pages of {path}: Kommo kept sending more pages than the page "
                    "cap allows"
                )
            seen.add(full)
            response = self.http.get(full)
            if response.status_code == 204 or not response.content.strip():
                return
            body = as_json_dict(self.http.decode(response), f"a page of {key}")
            items = _embedded(body, key)
            if not isinstance(items, list):
                raise CRMResponseError(
                    f"A page from {path} had no `_embedded.{key}` list: is LEADS_BASE_URL your Kommo "
                    "address (https://<subdomain>.kommo.com)?"
                )
            yield [i for i in items if isinstance(i, dict)]
            if not items:
                return
            links = body.get("_links")
            nxt = links.get("next") if isinstance(links, dict) else None
            href = nxt.get("href") if isinstance(nxt, dict) else None
            url = href if isinstance(href, str) and href else None

    # -- statuses -------------------------------------------------------------------------------------

    def _pipelines(self) -> list[dict]:
        body = as_json_dict(self.http.get_json(PIPELINES_PATH) or {}, "the pipeline list")
        pipelines = _embedded(body, "pipelines")
        if not isinstance(pipelines, list):
            raise CRMResponseError(
                "Kommo's pipeline list had no `_embedded.pipelines`: is LEADS_BASE_URL your Kommo address?"
            )
        valid = [p for p in pipelines if isinstance(p, dict) and p.get("id") is not None]
        return sorted(valid, key=lambda p: (not p.get("is_main"), _number(p.get("sort"))))

    def statuses(self) -> pd.DataFrame:
        """The status catalogue (lib.schema), keyed "<pipeline_id>:<status_id>"."""
        return self._catalogue(self._pipelines())

    def _catalogue(self, pipelines: list[dict]) -> pd.DataFrame:
        rows: list[dict] = []
        for pipeline in pipelines:
            raw = _embedded(pipeline, "statuses") or []
            statuses = sorted(
                (s for s in raw if isinstance(s, dict) and s.get("id") is not None),
                key=lambda s: _number(s.get("sort")),
            )
            open_ids = [s["id"] for s in statuses if s["id"] not in (WON, LOST)]
            for status in statuses:
                sid = status["id"]
                if sid == WON:
                    role, stage = "won", CUSTOMER
                elif sid == LOST:  # the v2 convention for lost: the furthest stage reached is unknown
                    role, stage = "lost", CONTACTED
                else:
                    role, stage = "open", _open_stage(open_ids.index(sid), len(open_ids))
                name = str(status.get("name") or sid)
                if len(pipelines) > 1:
                    name = f"{pipeline.get('name') or pipeline['id']} · {name}"
                rows.append(
                    {
                        "status_id": status_key(pipeline["id"], sid),
                        "status": name,
                        "is_active": not pipeline.get("is_archive", False),
                        "position": len(rows),
                        "role": role,
                        "stage": stage,
                    }
                )
        columns = ["status_id", "status", "is_active", "position", "role", "stage"]
        return to_canonical_statuses(pd.DataFrame(rows, columns=columns))

    # -- users and contacts ---------------------------------------------------------------------------

    def users(self) -> dict[str, str] | None:
        """{user id: name}, or None when the token may not list users (403): owners are then shown by id.
        A wrong token (401) still fails with the usual message."""
        names: dict[str, str] = {}
        try:
            for page in self._pages(USERS_PATH, [("limit", PAGE_LIMIT), ("page", 1)], "users"):
                for user in page:
                    if user.get("id") is not None and str(user.get("name") or "").strip():
                        names[str(user["id"])] = str(user["name"]).strip()
        except CRMAuthError as exc:
            if exc.status_code == 403:
                return None
            raise
        return names

    def contacts(self, ids: list[str], progress: Callable[[int], None] | None = None) -> dict[str, dict]:
        """{contact id: contact} for these ids, fetched in batches of CONTACTS_BATCH; `progress(batches)`
        after each batch."""
        found: dict[str, dict] = {}
        for batches, start in enumerate(range(0, len(ids), CONTACTS_BATCH), start=1):
            batch = ids[start : start + CONTACTS_BATCH]
            params = [("filter[id][]", i) for i in batch] + [("limit", PAGE_LIMIT), ("page", 1)]
            for page in self._pages(CONTACTS_PATH, params, "contacts"):
                for contact in page:
                    if contact.get("id") is not None:
                        found[str(contact["id"])] = contact
            if progress:
                progress(batches)
        return found

    # -- leads ----------------------------------------------------------------------------------------

    def _lead_params(self, since: datetime | None) -> list[tuple[str, Any]]:
        params: list[tuple[str, Any]] = [("limit", self.page_limit), ("page", 1), ("with", LEADS_WITH)]
        if since is not None:  # Unix seconds, rounded down: a lead updated in the second of `since` is asked
            params.append(("filter[updated_at][from]", int(pd.Timestamp(since).timestamp())))
        return params

    def lead_items(self, since: datetime | None = None, progress: Progress | None = None) -> list[dict]:
        """Every lead from every page, de-duplicated by id (the last copy wins)."""
        by_id: dict[str, dict] = {}
        for pages, items in enumerate(self._pages(LEADS_PATH, self._lead_params(since), "leads"), start=1):
            for item in items:
                if item.get("id") is not None:
                    by_id[str(item["id"])] = item
            if progress:
                progress(pages, len(by_id))
        return list(by_id.values())

    def leads(self, since: datetime | None = None, progress: Progress | None = None) -> pd.DataFrame:
        """Canonical leads (lib.schema) plus `pipeline`, `loss_reason` and `source_id`: every frame of
        `lead_pages` in one, a lead met on more than one page kept once (its last copy).
        `attrs["unreadable"]` counts values that could not be read; `attrs["incremental"]` is True when
        `since` was given (Kommo filters by it)."""
        frame = join_pages(self._frames(since, progress, first_only=False), self.to_frame([], []))
        frame.attrs["incremental"] = since is not None
        return frame

    def lead_pages(
        self, since: datetime | None = None, progress: Progress | None = None
    ) -> Iterator[pd.DataFrame]:
        """Canonical lead frames (as `leads()`), read lazily in Kommo's order, one per group of lead pages
        of about `group_leads` leads (GROUP_LEADS: 8 pages of 250), so each group's main contacts (phone,
        e-mail, name parts) are looked up in full batches of CONTACTS_BATCH; memory holds one group.

        `since` asks Kommo for the leads updated at or after it (`filter[updated_at][from]`, Unix seconds
        rounded down); any older lead the server sends anyway is dropped here. `attrs["incremental"]` is
        True with `since` (the server filtered), False for a full read; `attrs["unreadable"]` counts the
        frame's unreadable values. A lead met on more than one page (it moved while Kommo was paged) is
        yielded once, its first copy: later copies are dropped (the ids seen are kept for the read).
        Pipelines (the status catalogue) and users (owner names) are fetched once per call. `progress`
        gets (requests for lead pages and contacts so far, distinct leads so far)."""
        return self._frames(since, progress, first_only=True)

    def _frames(
        self, since: datetime | None, progress: Progress | None, *, first_only: bool
    ) -> Iterator[pd.DataFrame]:
        """lead_pages' frames; `first_only=False` keeps every copy of a lead met twice (for leads())."""
        pipelines = self._pipelines()
        users = self.users()
        floor = (
            None if since is None else pd.Timestamp(int(pd.Timestamp(since).timestamp()), unit="s", tz="UTC")
        )
        seen: set[str] = set()
        requests = {"n": 0}
        group: list[dict] = []

        def frame_of(items: list[dict]) -> pd.DataFrame:
            contact_ids = list(dict.fromkeys(c for c in map(_main_contact_id, items) if c is not None))
            done = requests["n"]

            def contact_progress(batches: int) -> None:
                requests["n"] = done + batches
                if progress:  # the contacts take requests too: the progress keeps counting them
                    progress(requests["n"], len(seen))

            contacts = self.contacts(contact_ids, contact_progress) if contact_ids else {}
            frame = self.to_frame(items, pipelines, users, contacts)
            if floor is not None:
                unreadable = frame.attrs.get("unreadable", {})
                frame = frame[frame["updated_at"] >= floor].reset_index(drop=True)
                frame.attrs["unreadable"] = unreadable
            frame.attrs["incremental"] = since is not None
            return frame

        for items in self._pages(LEADS_PATH, self._lead_params(since), "leads"):
            items = [i for i in items if i.get("id") is not None]
            fresh = first_copies(items, [str(i["id"]) for i in items], seen)
            requests["n"] += 1
            if progress:
                progress(requests["n"], len(seen))
            group += fresh if first_only else items
            if len(group) >= self.group_leads:
                yield frame_of(group)
                group = []
        if group:
            yield frame_of(group)

    def to_frame(
        self,
        items: list[dict],
        pipelines: list[dict],
        users: Mapping[str, str] | None = None,
        contacts: Mapping[str, dict] | None = None,
    ) -> pd.DataFrame:
        catalogue = self._catalogue(pipelines)
        names = dict(zip(catalogue["status_id"], catalogue["status"], strict=True))
        pipeline_names = {str(p["id"]): p.get("name") for p in pipelines}
        contacts = contacts or {}
        person = [contacts.get(_main_contact_id(i) or "", {}) for i in items]
        fields = [_field_values(i, UTM_CODES, UTM_NAMES) for i in items]
        phones = [_field_values(c, {"PHONE": "phone", "EMAIL": "email"}, {}) for c in person]
        owner_ids = text_column(items, "responsible_user_id")
        raw: dict[str, pd.Series] = {
            "lead_id": text_column(items, "id"),
            "name": text_column(items, "name"),
            "first_name": text_column(person, "first_name"),
            "last_name": text_column(person, "last_name"),
            "phone": normalize_phones(
                pd.Series([p.get("phone") for p in phones], dtype="string"), self.phone_region
            ),
            "email": normalize_emails(pd.Series([p.get("email") for p in phones], dtype="string")),
            "owner": owner_ids
            if users is None
            else owner_ids.map(lambda u: users.get(u, u)).astype("string"),
            "status_id": pd.Series(
                [status_key(i.get("pipeline_id"), i.get("status_id")) for i in items], dtype="string"
            ),
            **{
                col: pd.Series([f.get(col) for f in fields], dtype="string")
                for col in (*UTM_FIELDS, "referrer")
            },
        }
        raw["status"] = raw["status_id"].map(names).astype("string")
        unreadable: dict[str, int] = {}
        for col in ("created_at", "updated_at", "closed_at"):
            raw[col], unreadable[col] = parse_unix_times(
                text_column(items, col), zero_is_missing=col == "closed_at"
            )
        price = text_column(items, "price")
        raw["price"] = pd.to_numeric(price, errors="coerce").astype("float64")
        unreadable["price"] = int((price.notna() & raw["price"].isna()).sum())
        pipeline_ids = text_column(items, "pipeline_id")
        raw["pipeline"] = text_category(pipeline_ids.map(pipeline_names))
        raw["loss_reason"] = pd.Series([_loss_reason(i) for i in items], dtype="string")
        raw["source_id"] = text_column(items, "source_id")
        frame = to_canonical_leads(pd.DataFrame(raw))
        frame.attrs["unreadable"] = {k: v for k, v in unreadable.items() if v}
        return frame

    # -- create ---------------------------------------------------------------------------------------

    def create_lead(self, lead: Mapping[str, Any]) -> CreatedLead:
        """Create one lead; with a phone, e-mail or name parts also its contact (POST /leads/complex),
        else the lead alone (POST /leads). Never resent (HttpClient). Raises CRMRequestError for a lead
        Kommo refuses or one we can tell is wrong before sending (status, owner), CRMAuthError on 403."""
        body = wire_lead(lead)
        key = _pick(lead, "status_id")
        if key is not None:
            pipeline_id, _, status_id = key.partition(":")
            if not (pipeline_id.isdigit() and status_id.isdigit()):
                raise CRMRequestError(
                    f"Unknown Kommo status {key!r}: choose a status from the list", fields=["status_id"]
                )
            body["pipeline_id"], body["status_id"] = int(pipeline_id), int(status_id)
        owner = _pick(lead, "owner")
        if owner is not None:
            body["responsible_user_id"] = self._user_id(owner)
        complex_ = "_embedded" in body
        try:
            answer = self.http.post_json(COMPLEX_PATH if complex_ else LEADS_PATH, [body])
        except CRMAuthError as exc:
            if exc.status_code != 403:
                raise
            denied = CRMAuthError(
                "Kommo did not let this token create leads (403 Forbidden): the user the token belongs to "
                "needs the right to add leads (or the account is blocked). Nothing was created."
            )
            denied.status_code = 403
            raise denied from None
        created = answer[0] if complex_ and isinstance(answer, list) and answer else None
        if not complex_ and isinstance(answer, dict):
            leads = _embedded(answer, "leads")
            created = leads[0] if isinstance(leads, list) and leads else None
        if not isinstance(created, dict) or created.get("id") is None:
            raise CRMResponseError("Kommo answered the create request without the new lead's id")
        return CreatedLead(lead_id=str(created["id"]), status_id=key, message="")

    def _user_id(self, owner: str) -> int:
        """A Kommo user id for an owner given as an id or as a user's name (case-insensitive)."""
        if owner.isdigit():
            return int(owner)
        users = self.users()
        if users is None:
            raise CRMRequestError(
                f"Cannot look up the owner {owner!r}: this token may not list Kommo users. Give the owner's "
                "user id instead, or leave the owner empty",
                fields=["owner"],
            )
        matches = [uid for uid, name in users.items() if name.casefold() == owner.casefold()]
        if not matches:
            raise CRMRequestError(
                f"Kommo has no user named {owner!r}: choose an owner from the list or leave it empty",
                fields=["owner"],
            )
        return int(matches[0])

    def check(self) -> str:
        """A one-line description of a successful test connection (raises a CRMError otherwise)."""
        pipelines = self._pipelines()
        catalogue = self._catalogue(pipelines)
        users = self.users()
        owners = (
            "owner names available" if users is not None else "owner names not permitted: showing user ids"
        )
        return (
            f"Connected to Kommo at {self.http.base_url}: {len(pipelines)} pipeline"
            f"{'' if len(pipelines) == 1 else 's'}, {len(catalogue)} statuses; {owners}"
        )


def _pick(lead: Mapping[str, Any], *keys: str) -> str | None:
    """The first of `keys` with a non-empty value, as trimmed text."""
    for key in keys:
        value = lead.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        text = str(value).strip()
        if text:
            return text
    return None


def wire_lead(lead: Mapping[str, Any]) -> dict[str, Any]:
    """The Kommo body of one lead (without status and owner, which need checking), from canonical keys.

    UTM values go in custom fields by field_code. Phone, e-mail and name parts belong to a contact in
    Kommo, and a company to a company: when there are any, they go in `_embedded` for /leads/complex."""
    first, last = _pick(lead, "first_name", "f_name"), _pick(lead, "last_name", "l_name")
    name = _pick(lead, "name") or " ".join(p for p in (first, last) if p) or None
    body: dict[str, Any] = {}
    if name:
        body["name"] = name
    fields = [
        {"field_code": code, "values": [{"value": value}]}
        for code, column in UTM_CODES.items()
        if (value := _pick(lead, column)) is not None
    ]
    if fields:
        body["custom_fields_values"] = fields
    phone, email, company = _pick(lead, "phone"), _pick(lead, "email"), _pick(lead, "company")
    contact: dict[str, Any] = {}
    if first or last or phone or email:
        contact = {k: v for k, v in (("first_name", first), ("last_name", last), ("name", name)) if v}
        contact_fields = [
            {"field_code": code, "values": [{"value": value, "enum_code": "WORK"}]}
            for code, value in (("PHONE", phone), ("EMAIL", email))
            if value
        ]
        if contact_fields:
            contact["custom_fields_values"] = contact_fields
    embedded: dict[str, Any] = {}
    if contact:
        embedded["contacts"] = [contact]
    if company:
        embedded["companies"] = [{"name": company}]
    if embedded:
        body["_embedded"] = embedded
    return body


def _number(value: Any) -> float:
    """A sort key: numbers as they are, anything else last."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.inf
