"""LiveTex (apis.md §4, seed 004): leads from the legacy REST API v2, read-only.

A LiveTex lead is a request a site visitor left (a form, a "call me back" button, a chat an operator turned
into a lead). LiveTex records no sale, only whether staff handled the request: `result` is "missed" (not
yet handled) or "completed" (handled). The status catalogue is therefore fixed, two statuses keyed by that
value, with these default funnel roles (editable per status in Settings):

- "missed" → "Missed (not handled)": open, stage 0 (New) — nobody has answered the visitor yet;
- "completed" → "Handled": won, stage 3 (Customer) — "handled" is the best outcome LiveTex can report, so
  the dashboard's "became customers" and conversion rates read as "handled" and "handling rate".

Times are ISO 8601 to the second in Moscow time without an offset unless one is given (`CRM_TIMEZONE`,
overridden by LEADS_CRM_TIMEZONE). UTM values are not fields of a lead: they are read from the query
string of its landing page (`entry_page`). LiveTex has no method to create a lead, so `can_create` is False.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pandas as pd

from lib.contacts import normalize_emails, normalize_phones
from lib.crm.base import CreatedLead, Progress, client_filtered_frames, first_copies, join_pages
from lib.crm.http import HttpClient, as_json_dict
from lib.crm.parsing import parse_times, text_columns
from lib.errors import CRMResponseError, NotSupportedError
from lib.schema import UTM_FIELDS, text_category, to_canonical_leads, to_canonical_statuses

# Assumptions about the API (apis.md §4 marks the list path as *assumed*), kept in one place.
LEADS_PATH = "/v2/leads"  # Leads.list, by the URL pattern of the other v2 resources
PAGE_LIMIT = 100  # leads per request (the API's default is 50)
SORT = "created_at:a"  # oldest first: leads arriving while we page land at the end, nothing shifts
CRM_TIMEZONE = "Europe/Moscow"  # a time without an offset is Moscow time (seed 004)
MAX_PAGES = 20_000  # a guard against a server whose `total` never ends
CRM_NAME = "LiveTex"

# The fixed status catalogue: result value, display name, role, stage (an index into DEFAULT_STAGES).
STATUSES = (
    ("missed", "Missed (not handled)", "open", 0),
    ("completed", "Handled", "won", 3),
)

# wire field -> canonical column, for plain text fields
_FIELDS = {
    "id": "lead_id",
    "name": "name",
    "result": "status_id",
    "entry_page": "landing_page",
    "ext_referer": "referrer",
}
_TIMES = {"created_at": "created_at", "updated_at": "updated_at", "completed_at": "closed_at"}
_TEXT_EXTRAS = ("text", "search_engine", "search_query")
_CATEGORY_EXTRAS = ("country", "city")  # few distinct values

__all__ = ["LEADS_PATH", "LiveTexSource", "open_source", "utm_from_url"]


def open_source(
    base_url: str,
    token: str,
    *,
    phone_region: str = "IL",
    crm_timezone: str | None = None,
    transport: httpx.BaseTransport | None = None,
    **http_options,
) -> LiveTexSource:
    """The LiveTex source `lib.crm.connect("livetex", ...)` returns."""
    http = HttpClient(base_url, token, crm_name=CRM_NAME, transport=transport, **http_options)
    return LiveTexSource(http, phone_region=phone_region, crm_timezone=crm_timezone)


def utm_from_url(url: object) -> dict[str, str]:
    """The utm_* parameters in the query string of `url`: keys case-insensitive, values URL-decoded (so a
    Hebrew or Cyrillic campaign reads as typed), the first of a repeated key wins, empty values dropped.
    Anything that is not a readable URL gives no UTM rather than an error."""
    if not isinstance(url, str) or "?" not in url:
        return {}
    try:
        query = urlsplit(url.strip()).query
        pairs = parse_qsl(query, keep_blank_values=False, errors="replace")
    except ValueError:  # e.g. an unbalanced "[" in the host part
        return {}
    out: dict[str, str] = {}
    for key, value in pairs:
        field = key.strip().lower()
        if field in UTM_FIELDS and field not in out and value.strip():
            out[field] = value.strip()
    return out


def employee_name(value: object) -> str | None:
    """Who an Employee object is, for people: its `name`, else its `login`, else its `id`. The Employee
    type is not described in the seed, so a bare id or name (not an object) is taken as it is."""
    if isinstance(value, dict):
        for key in ("name", "login", "id"):
            v = value.get(key)
            if v is not None and not isinstance(v, dict | list) and str(v).strip():
                return str(v).strip()
        return None
    if value is None or isinstance(value, list | bool):
        return None
    return str(value).strip() or None


def _nested(value: object, *keys: str) -> str | None:
    """The first present of `keys` in an object (site {id, url}, department {id, title}); a bare value is
    taken as it is."""
    if isinstance(value, dict):
        for key in keys:
            v = value.get(key)
            if v is not None and not isinstance(v, dict | list | bool) and str(v).strip():
                return str(v).strip()
        return None
    if value is None or isinstance(value, list | bool):
        return None
    return str(value).strip() or None


class LiveTexSource:
    """LiveTex reached over HTTP: the fixed two-status catalogue and every lead, read-only."""

    name = "livetex"
    can_create = False
    is_demo = False

    def __init__(
        self,
        http: HttpClient,
        *,
        phone_region: str = "IL",
        crm_timezone: str | None = None,
        page_limit: int = PAGE_LIMIT,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self.http = http
        self.phone_region = phone_region
        self.crm_timezone = crm_timezone or CRM_TIMEZONE
        self.page_limit = page_limit
        self.max_pages = max_pages

    def __repr__(self) -> str:
        return f"LiveTexSource({self.http.base_url!r})"

    @property
    def label(self) -> str:
        return f"LiveTex at {self.http.base_url}"

    # -- statuses -------------------------------------------------------------------------------------

    def statuses(self) -> pd.DataFrame:
        """The fixed catalogue (module docstring): no request, LiveTex has no list of statuses."""
        return to_canonical_statuses(
            pd.DataFrame(
                {
                    "status_id": [s[0] for s in STATUSES],
                    "status": [s[1] for s in STATUSES],
                    "is_active": [True] * len(STATUSES),
                    "position": range(len(STATUSES)),
                    "role": [s[2] for s in STATUSES],
                    "stage": [s[3] for s in STATUSES],
                }
            )
        )

    # -- leads ----------------------------------------------------------------------------------------

    def _page(self, offset: int, limit: int) -> tuple[list, int | None]:
        """One page: its results and the envelope's `total` (None when the server sent no usable one)."""
        params = {"offset": offset, "limit": limit, "sort": SORT}
        response = self.http.get(LEADS_PATH, params)
        if response.status_code == 204:
            return [], None
        body = as_json_dict(self.http.decode(response), "a page of leads")
        results = body.get("results")
        if not isinstance(results, list):
            raise CRMResponseError(
                "A page of LiveTex leads had no `results` list: is LEADS_BASE_URL right "
                "(e.g. https://api.livetex.ru)?"
            )
        total = body.get("total")
        usable = isinstance(total, int) and not isinstance(total, bool) and total >= 0
        return results, total if usable else None

    def _item_pages(self, progress: Progress | None = None) -> Iterator[tuple[list[dict], list[dict]]]:
        """(items, first copies) of every page with leads, one request per step: offset/limit until
        `offset` reaches the envelope's `total` (or an empty page, or a short page when no total came).
        The first copies are the items whose id was not met before. `progress(pages, distinct leads)`."""
        seen: set[str] = set()
        offset = pages = 0
        while True:
            if pages >= self.max_pages:
                raise CRMResponseError(
                    f"Stopped after {pages} pages ({len(seen)} leads): LiveTex kept reporting more leads "
                    "than the page cap allows"
                )
            results, total = self._page(offset, self.page_limit)
            pages += 1
            items = [i for i in results if isinstance(i, dict) and i.get("id") is not None]
            fresh = first_copies(items, [str(i["id"]) for i in items], seen)
            if progress:
                progress(pages, len(seen))
            if not results:
                break
            if (
                items and not fresh
            ):  # a whole page of leads already seen: the server is not honouring `offset`
                raise CRMResponseError(
                    f"LiveTex sent the same leads again at offset {offset} (it seems to ignore the offset "
                    f"parameter); stopped after {pages} pages and {len(seen)} leads"
                )
            if items:
                yield items, fresh
            offset += len(results)
            if total is None and len(results) < self.page_limit:
                break
            if total is not None and offset >= total:
                break

    def lead_items(self, progress: Progress | None = None) -> list[dict]:
        """Every lead (see _item_pages), de-duplicated by id (the last copy wins)."""
        by_id: dict[str, dict] = {}
        for items, _ in self._item_pages(progress):
            for item in items:
                by_id[str(item["id"])] = item
        return list(by_id.values())

    def leads(self, since: datetime | None = None, progress: Progress | None = None) -> pd.DataFrame:
        """Canonical leads (lib.schema) with the extras lead_type, site, department, text, search_engine,
        search_query, country and city: every frame of `lead_pages` in one, a lead met on more than one
        page kept once (its last copy). `attrs["unreadable"]` counts unreadable values;
        `attrs["incremental"]` is False (LiveTex is always read in full)."""
        frame = join_pages(self._frames(since, progress, first_only=False), self.to_frame([]))
        frame.attrs["incremental"] = False
        return frame

    def lead_pages(
        self, since: datetime | None = None, progress: Progress | None = None
    ) -> Iterator[pd.DataFrame]:
        """Canonical lead frames (as `leads()`), one per page of `page_limit` leads, in the CRM's order
        (oldest created first), read lazily: the next page is requested when the next frame is asked for.

        `since` keeps leads updated at or after it (rounded down to the second), filtered here: Leads.list
        documents `created_at` in its `q` search but nothing on `updated_at`, and paging sorted by
        `updated_at` would shift under leads updated meanwhile. So every read is a full read:
        `attrs["incremental"]` is False. `attrs["unreadable"]` counts the frame's unreadable values. A lead
        met on more than one page is yielded once, its first copy (later copies are dropped)."""
        return self._frames(since, progress, first_only=True)

    def _frames(
        self, since: datetime | None, progress: Progress | None, *, first_only: bool
    ) -> Iterator[pd.DataFrame]:
        """lead_pages' frames; `first_only=False` keeps every copy of a lead met twice (for leads())."""
        return client_filtered_frames(self._item_pages(progress), self.to_frame, since, first_only=first_only)

    def to_frame(self, items: list[dict]) -> pd.DataFrame:
        """LiveTex lead objects → the canonical frame. Any field may be missing (a "managed" role gets
        other people's leads without `text`); a bad value becomes NA and is counted, never raised."""
        keys = [*_FIELDS, "phone", "email", "type", *_TIMES, *_TEXT_EXTRAS, *_CATEGORY_EXTRAS]
        wire = text_columns(items, keys)
        raw: dict[str, Any] = {col: wire[key] for key, col in _FIELDS.items()}
        raw["phone"] = normalize_phones(wire["phone"], self.phone_region)
        raw["email"] = normalize_emails(wire["email"])
        names = {s[0]: s[1] for s in STATUSES}
        raw["status"] = raw["status_id"].map(names).astype("string")
        raw["owner"] = pd.Series(
            [employee_name(i.get("assigned_to")) or employee_name(i.get("completed_by")) for i in items],
            dtype="string",
        )
        unreadable = {}
        for key, col in _TIMES.items():
            raw[col], unreadable[col] = parse_times(wire[key], self.crm_timezone)
        utms = {}  # one parse per distinct landing page
        parsed = [utms.setdefault(u, utm_from_url(u)) for u in wire["entry_page"].tolist()]
        for field in UTM_FIELDS:
            raw[field] = pd.Series([p.get(field) for p in parsed], dtype="string")
        raw["lead_type"] = text_category(wire["type"])
        raw["site"] = text_category([_nested(i.get("site"), "url", "id") for i in items])
        raw["department"] = text_category([_nested(i.get("department"), "title", "id") for i in items])
        for key in _TEXT_EXTRAS:
            raw[key] = wire[key]
        for key in _CATEGORY_EXTRAS:
            raw[key] = text_category(wire[key])
        frame = to_canonical_leads(pd.DataFrame(raw))
        frame.attrs["unreadable"] = {k: v for k, v in unreadable.items() if v}
        return frame

    # -- create and check -----------------------------------------------------------------------------

    def create_lead(self, lead: Mapping[str, Any]) -> CreatedLead:
        """Always refused: seed 004 documents no create method."""
        raise NotSupportedError(
            "LiveTex's API does not let other programs create leads; enter the lead in LiveTex itself "
            "(or let the visitor send the site's form) and it will show up here after the next refresh."
        )

    def check(self) -> str:
        """A one-line description of a successful test connection: one request for one lead, reading the
        envelope's total (raises a CRMError otherwise)."""
        _, total = self._page(0, 1)
        if total is None:
            raise CRMResponseError(
                f"{self.label} answered without a lead count (`total`): is LEADS_BASE_URL right?"
            )
        return f"Connected to {self.label}: {total:,} leads."
