"""The "v2" CRM (apis.md §1): statuses, all leads (ORDS paging), create.

Status ids are 36–39 digit numbers written as strings: they stay strings everywhere, including in the
JSON body of a create request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urljoin

import pandas as pd

from lib.contacts import normalize_emails, normalize_phones
from lib.crm.base import CreatedLead, Progress
from lib.crm.http import HttpClient, as_json_dict
from lib.crm.parsing import parse_times, text_column, text_columns
from lib.errors import CRMRequestError, CRMResponseError
from lib.roles import with_default_roles
from lib.schema import UTM_FIELDS, to_canonical_leads, to_canonical_statuses

# Assumptions about the undocumented list endpoint (apis.md: "assumed"), kept in one place.
LEADS_PATH = "/v2/leads"
STATUSES_PATH = "/v2/leads/statuses"
CREATE_PATH = "/v2/leads/create"
CRM_TIMEZONE = "Asia/Jerusalem"  # a time without an offset is the CRM's local time
MAX_PAGES = 20_000  # a guard against a server that never stops sending `next`
# A lead this much older than the asked `since` in an answer to `q` means the server ignored `q`.
IGNORED_Q_TOLERANCE = pd.Timedelta(seconds=1)

# wire field -> canonical column
_FIELDS = {
    "id": "lead_id",
    "name": "name",
    "f_name": "first_name",
    "l_name": "last_name",
    "company": "company",
    "owner": "owner",
    "lead_status": "status_id",
    **{f: f for f in UTM_FIELDS},
}
_EXTRAS = ("text", "is_subscriber", "ext_one", "ext_two", "ext_three", "ext_four")
REQUIRED_CREATE_FIELDS = ("name", "f_name", "phone")

__all__ = ["CreatedLead", "Progress", "V2Source", "next_page", "updated_since_q", "wire_lead"]


def updated_since_q(since: datetime) -> str:
    """The ORDS filter `q` asking for leads updated at or after `since` (timezone-aware), as compact JSON:
    `{"updated_at":{"$gte":{"$date":"2026-11-23T12:00:00Z"}}}`, in UTC to the second, rounded down (so a
    lead updated in the same second as `since` is asked for too)."""
    stamp = _utc_second(since).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"updated_at": {"$gte": {"$date": stamp}}}, separators=(",", ":"))


def _utc_second(since: datetime) -> pd.Timestamp:
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    return pd.Timestamp(since).tz_convert("UTC").floor("s")


def next_page(body: dict) -> str | None:
    """The next page's URL in either ORDS form: `next.$ref`, or `links[rel=next]` while `hasMore`."""
    nxt = body.get("next")
    if isinstance(nxt, dict) and isinstance(nxt.get("$ref"), str):
        return nxt["$ref"]
    if body.get("hasMore") is False:
        return None
    for link in body.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "next" and isinstance(link.get("href"), str):
            return link["href"]
    return None


def wire_lead(lead: Mapping[str, Any]) -> dict[str, Any]:
    """The POST /v2/leads/create body for a lead given with canonical names (or wire names).

    Seed 003's rule: a name not split into first and last goes in both `name` and `f_name`; first and last
    without a full name make `name` "first last". `lead_status` is sent as the exact string id.
    """

    def pick(*keys: str) -> str | None:
        for key in keys:
            value = lead.get(key)
            if value is not None and not (isinstance(value, float) and pd.isna(value)):
                text = str(value).strip() if not isinstance(value, bool) else value
                if text != "":
                    return text
        return None

    name, first, last = pick("name"), pick("first_name", "f_name"), pick("last_name", "l_name")
    if name and not first:
        first = name
    if not name and first:
        name = f"{first} {last}" if last else first
    body: dict[str, Any] = {"name": name, "f_name": first}
    optional = {
        "l_name": last,
        "phone": pick("phone"),
        "email": pick("email"),
        "company": pick("company"),
        "text": pick("text", "note"),
        "owner": pick("owner"),
        "lead_status": pick("status_id", "lead_status"),
        **{f: pick(f) for f in UTM_FIELDS},
        **{f: pick(f) for f in ("ext_one", "ext_two", "ext_three", "ext_four")},
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if "is_subscriber" in lead and lead["is_subscriber"] is not None:
        body["is_subscriber"] = bool(lead["is_subscriber"])
    return body


class V2Source:
    """A v2 CRM reached over HTTP. `is_demo` marks the embedded demo CRM (same client, same contract)."""

    name = "v2"
    can_create = True

    def __init__(
        self,
        http: HttpClient,
        *,
        phone_region: str = "IL",
        is_demo: bool = False,
        max_pages: int = MAX_PAGES,
        crm_timezone: str | None = None,
    ) -> None:
        self.http = http
        self.crm_timezone = crm_timezone or CRM_TIMEZONE
        self.phone_region = phone_region
        self.is_demo = is_demo
        self.max_pages = max_pages
        self.last_read_was_incremental: bool | None = None  # set by every leads() call, see its docstring

    def __repr__(self) -> str:
        return f"V2Source({self.http.base_url!r}, demo={self.is_demo})"

    @property
    def label(self) -> str:
        return "Demo CRM (embedded)" if self.is_demo else f"v2 CRM at {self.http.base_url}"

    # -- statuses -------------------------------------------------------------------------------------

    def statuses(self) -> pd.DataFrame:
        """The status catalogue: status_id, status, is_active, position, role, stage (lib.schema)."""
        body = as_json_dict(self.http.get_json(STATUSES_PATH), "the status list")
        items = [i for i in body.get("items") or [] if isinstance(i, dict) and i.get("id") is not None]
        frame = pd.DataFrame(
            {
                "status_id": text_column(items, "id"),
                "status": text_column(items, "name"),
                "is_active": [str(i.get("is_active", "Y")).upper() != "N" for i in items],
                "position": range(len(items)),
            }
        )
        frame["status"] = frame["status"].fillna(frame["status_id"])
        return to_canonical_statuses(with_default_roles(frame))

    # -- leads ----------------------------------------------------------------------------------------

    def lead_items(self, progress: Progress | None = None, q: str | None = None) -> list[dict]:
        """Every lead item from every page, following `next` links; de-duplicated by id (last copy wins).

        `q` (an ORDS filter, JSON) goes on the first request only; later pages are the server's `next`
        links as given (a server that supports `q` keeps it in them)."""
        url: str | None = LEADS_PATH if q is None else f"{LEADS_PATH}?{urlencode({'q': q})}"
        seen: set[str] = set()
        by_id: dict[str, dict] = {}
        pages = 0
        while url is not None:
            full = self.http.url(url)
            if full in seen:
                raise CRMResponseError(
                    f"The CRM's paging went in a loop (page {full} was linked twice); stopped after "
                    f"{pages} pages and {len(by_id)} leads"
                )
            if pages >= self.max_pages:
                raise CRMResponseError(
                    f"Stopped after {pages} pages ({len(by_id)} leads): the CRM kept sending more pages "
                    "than the page cap allows"
                )
            seen.add(full)
            response = self.http.get(url)
            pages += 1
            if response.status_code == 204:
                break
            body = as_json_dict(self.http.decode(response), "a page of leads")
            items = body.get("items")
            if not isinstance(items, list):
                raise CRMResponseError("A page of leads had no `items` list: is LEADS_BASE_URL right?")
            for item in items:
                if isinstance(item, dict) and item.get("id") is not None:
                    by_id[str(item["id"])] = item
            if progress:
                progress(pages, len(by_id))
            if not items:
                break
            link = next_page(body)
            url = None if link is None else urljoin(full, link)  # a relative link is relative to this page
        return list(by_id.values())

    def leads(self, since: datetime | None = None, progress: Progress | None = None) -> pd.DataFrame:
        """Canonical leads (lib.schema). `attrs["unreadable"]` counts unreadable values.

        `since` (timezone-aware) asks for the leads updated at or after it, to the second (rounded down: a
        lead updated in the same second as `since` is included). The server is asked with the ORDS filter
        `q` (updated_since_q), which the v2 contract does not document: when an answer holds a lead updated
        more than a second before `since`, or the server refuses `q` with a 4xx, the server does not
        support it, so the read is (or is redone as) a full read of every page, filtered here. Which
        happened is in `attrs["incremental"]` and in `self.last_read_was_incremental`: True when the
        server did the filtering (only the changed leads crossed the wire), False for a full read
        (including `since=None`, which sends no `q` and reads everything as before). A server that ignores
        `q` while every lead it holds is newer than `since` cannot be told apart; the result is the same.
        """
        items, incremental = self._read_items(since, progress)
        catalogue = self.statuses()
        frame = self.to_frame(items, catalogue)
        unreadable = frame.attrs.get("unreadable", {})
        if since is not None:
            floor = _utc_second(since)
            if incremental and bool((frame["updated_at"] < floor - IGNORED_Q_TOLERANCE).any()):
                incremental = False  # the server answered more than asked: it ignored `q`
            frame = frame[frame["updated_at"] >= floor].reset_index(drop=True)
        frame.attrs["unreadable"] = unreadable
        frame.attrs["incremental"] = incremental
        self.last_read_was_incremental = incremental
        return frame

    def _read_items(self, since: datetime | None, progress: Progress | None) -> tuple[list[dict], bool]:
        """(items, whether `q` was sent and accepted)."""
        if since is None:
            return self.lead_items(progress), False
        try:
            return self.lead_items(progress, q=updated_since_q(since)), True
        except CRMRequestError:  # the server refuses `q` (e.g. 400 for an unknown parameter): read it all
            return self.lead_items(progress), False

    def to_frame(self, items: list[dict], catalogue: pd.DataFrame) -> pd.DataFrame:
        wire = text_columns(items, [*_FIELDS, "phone", "email", "created_at", "updated_at", *_EXTRAS])
        raw = {col: wire[key] for key, col in _FIELDS.items()}
        raw["phone"] = normalize_phones(wire["phone"], self.phone_region)
        raw["email"] = normalize_emails(wire["email"])
        unreadable = {}
        for col in ("created_at", "updated_at"):
            raw[col], unreadable[col] = parse_times(wire[col], self.crm_timezone)
        names = dict(zip(catalogue["status_id"], catalogue["status"], strict=True))
        raw["status"] = raw["status_id"].map(names).astype("string")
        for key in _EXTRAS:
            raw[key] = wire[key]
        frame = to_canonical_leads(pd.DataFrame(raw))
        frame.attrs["unreadable"] = {k: v for k, v in unreadable.items() if v}
        return frame

    # -- create ---------------------------------------------------------------------------------------

    def create_lead(self, lead: Mapping[str, Any]) -> CreatedLead:
        """Create one lead; returns its new id. Raises CRMRequestError for a lead the CRM refuses (or
        that lacks a required field), OutcomeUnknownError when the answer never came."""
        body = wire_lead(lead)
        missing = [f for f in REQUIRED_CREATE_FIELDS if not body.get(f)]
        if missing:
            raise CRMRequestError(f"Missing required field(s): {', '.join(missing)}", fields=missing)
        answer = as_json_dict(self.http.post_json(CREATE_PATH, body), "the create answer")
        if answer.get("id") is None:
            raise CRMResponseError("The CRM answered the create request without the new lead's id")
        status = answer.get("lead_status")
        return CreatedLead(
            lead_id=str(answer["id"]),
            status_id=None if status is None else str(status),
            message=str(answer.get("message") or ""),
        )

    def check(self) -> str:
        """A one-line description of a successful test connection (raises a CRMError otherwise)."""
        catalogue = self.statuses()
        active = int(catalogue["is_active"].sum())
        return f"Connected to {self.label}: {len(catalogue)} statuses ({active} active)."
