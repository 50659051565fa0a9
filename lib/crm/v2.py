"""The "v2" CRM (apis.md §1): statuses, all leads (ORDS paging), create.

Status ids are 36–39 digit numbers written as strings: they stay strings everywhere, including in the
JSON body of a create request.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urljoin

import pandas as pd

from lib.contacts import normalize_emails, normalize_phones
from lib.crm.base import CreatedLead, Progress, first_copies, join_pages
from lib.crm.http import HttpClient, as_json_dict
from lib.crm.parsing import parse_times, text_column, text_columns
from lib.errors import CRMRequestError, CRMResponseError
from lib.roles import with_default_roles
from lib.schema import UTM_FIELDS, empty_statuses, to_canonical_leads, to_canonical_statuses

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


PREFETCH_PAGES = 16  # pages read ahead in bulk mode (lead_pages' min_rows)


def _prefetched(start: Callable[[Progress], Iterator[Any]], progress: Progress | None) -> Iterator[Any]:
    """The values of the iterator `start(relay)` read by a daemon thread, at most PREFETCH_PAGES ahead;
    the progress calls it makes through `relay` reach `progress` in the consumer's thread, in order; its
    exception is raised here; closing this generator stops the thread (after its current request)."""
    box: queue.Queue = queue.Queue(maxsize=PREFETCH_PAGES)
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                box.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = None
        try:
            source = start(lambda pages, leads: put(("progress", pages, leads)) and None)
            for value in source:
                if not put(("value", value)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer
            put(("error", exc))
        finally:
            if source is not None and hasattr(source, "close"):
                with contextlib.suppress(Exception):
                    source.close()

    thread = threading.Thread(target=produce, name="v2-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, *rest = box.get()
            if kind == "progress":
                if progress:
                    progress(*rest)
            elif kind == "value":
                yield rest[0]
            elif kind == "error":
                raise rest[0]
            else:
                return
    finally:
        stop.set()
        thread.join(30)


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

    def _item_pages(
        self, progress: Progress | None = None, q: str | None = None, seen: set[str] | None = None
    ) -> Iterator[tuple[list[dict], list[dict]]]:
        """(items, first copies) of every page with leads, following `next` links, one request per step.

        `seen` (ids met so far, updated here) tells the first copies: the items whose id was not met on an
        earlier page (or earlier on this one). `progress(pages, distinct leads so far)` after each page.
        `q` (an ORDS filter, JSON) goes on the first request only; later pages are the server's `next`
        links as given (a server that supports `q` keeps it in them)."""
        url: str | None = LEADS_PATH if q is None else f"{LEADS_PATH}?{urlencode({'q': q})}"
        seen = set() if seen is None else seen
        links: set[str] = set()
        pages = 0
        while url is not None:
            full = self.http.url(url)
            if full in links:
                raise CRMResponseError(
                    f"The CRM's paging went in a loop (page {full} was linked twice); stopped after "
                    f"{pages} pages and {len(seen)} leads"
                )
            if pages >= self.max_pages:
                raise CRMResponseError(
                    f"Stopped after {pages} pages ({len(seen)} leads): the CRM kept sending more pages "
                    "than the page cap allows"
                )
            links.add(full)
            response = self.http.get(url)
            pages += 1
            if response.status_code == 204:
                break
            body = as_json_dict(self.http.decode(response), "a page of leads")
            raw = body.get("items")
            if not isinstance(raw, list):
                raise CRMResponseError("A page of leads had no `items` list: is LEADS_BASE_URL right?")
            items = [i for i in raw if isinstance(i, dict) and i.get("id") is not None]
            fresh = first_copies(items, [str(i["id"]) for i in items], seen)
            if progress:
                progress(pages, len(seen))
            if not raw:
                break
            if items:
                yield items, fresh
            link = next_page(body)
            url = None if link is None else urljoin(full, link)  # a relative link is relative to this page

    def lead_items(self, progress: Progress | None = None, q: str | None = None) -> list[dict]:
        """Every lead item from every page (see _item_pages), de-duplicated by id (last copy wins)."""
        by_id: dict[str, dict] = {}
        for items, _ in self._item_pages(progress, q):
            for item in items:
                by_id[str(item["id"])] = item
        return list(by_id.values())

    def leads(self, since: datetime | None = None, progress: Progress | None = None) -> pd.DataFrame:
        """Canonical leads (lib.schema): every page of `lead_pages` in one frame, a lead met on more than one
        page kept once (its last copy). `attrs["unreadable"]` counts unreadable values,
        `attrs["incremental"]` (also `self.last_read_was_incremental`) says whether the server did the
        filtering (see lead_pages)."""
        frame = join_pages(
            self._frames(since, progress, first_only=False), self.to_frame([], empty_statuses())
        )
        frame.attrs["incremental"] = bool(self.last_read_was_incremental)
        return frame

    def lead_pages(
        self, since: datetime | None = None, progress: Progress | None = None, *, min_rows: int = 0
    ) -> Iterator[pd.DataFrame]:
        """Canonical lead frames, one per page of the CRM, in its order, read lazily (the next page is
        requested when the next frame is asked for), so memory holds one page at a time.

        `since` (timezone-aware) asks for the leads updated at or after it, to the second (rounded down: a
        lead updated in the same second as `since` is included). The server is asked with the ORDS filter
        `q` (updated_since_q), which the v2 contract does not document. When a page holds a lead updated
        more than a second before `since`, the server ignored `q`: the read goes on through every page
        (its links are those of a full read), filtered here. A 4xx refusal of `q` restarts the read as a
        full read. Each frame's `attrs["incremental"]` is True while the server is doing the filtering
        (only changed leads cross the wire) and False for a full read (always with `since=None`); the last
        frame's value, also in `self.last_read_was_incremental` once the read ends, is the read's. A
        server that ignores `q` while every lead it holds is newer than `since` cannot be told apart; the
        result is the same. `attrs["unreadable"]` counts the page's unreadable values.

        A lead met on more than one page (it moved while the CRM was paged) is yielded once, its first
        copy: the later copies are dropped (a set of the ids seen is kept for the read). Frames may be
        empty when `since` or that de-duplication leaves nothing of a page. The status catalogue (for the
        `status` names) is fetched once, after the first page arrives (at the end when no page held a
        lead).

        `min_rows` > 0 (the sync's bulk mode) joins consecutive CRM pages into one frame of at least that
        many leads (the last may be smaller) before converting them: far less per-page pandas work for a
        big account. The pages are then read ahead by a thread (one request at a time, at most
        PREFETCH_PAGES pages waiting), so the CRM prepares the next pages while this process converts and
        stores a batch; memory stays bounded, `progress` is still called in the caller's thread, and
        closing the iterator stops the reading."""
        return self._frames(since, progress, first_only=True, min_rows=min_rows)

    def _frames(
        self, since: datetime | None, progress: Progress | None, *, first_only: bool, min_rows: int = 0
    ) -> Iterator[pd.DataFrame]:
        """lead_pages' frames; `first_only=False` keeps every copy of a lead met twice (for leads());
        `min_rows` joins pages (see lead_pages)."""
        floor = None if since is None else _utc_second(since)
        catalogue: pd.DataFrame | None = None
        self.last_read_was_incremental = since is not None
        if min_rows > 0:  # bulk: the next pages are fetched (in a thread) while this batch is converted
            pages = _prefetched(lambda relay: self._raw_pages(since, relay), progress)
        else:
            pages = self._raw_pages(since, progress)
        for items, fresh, asked in self._batches(pages, min_rows, first_only):
            if catalogue is None:
                catalogue = self.statuses()
            frame = self.to_frame(fresh if first_only else items, catalogue)
            unreadable = frame.attrs.get("unreadable", {})
            if not asked:
                self.last_read_was_incremental = False
            if floor is not None:
                if self.last_read_was_incremental and bool(
                    (frame["updated_at"] < floor - IGNORED_Q_TOLERANCE).any()
                ):
                    self.last_read_was_incremental = False  # the server answered more than asked: no `q`
                frame = frame[frame["updated_at"] >= floor].reset_index(drop=True)
            frame.attrs["unreadable"] = unreadable
            frame.attrs["incremental"] = bool(self.last_read_was_incremental)
            yield frame
        if catalogue is None:  # no lead at all: the catalogue is still read, so an empty CRM is checked alike
            self.statuses()

    @staticmethod
    def _batches(
        pages: Iterator[tuple[list[dict], list[dict], bool]], min_rows: int, first_only: bool
    ) -> Iterator[tuple[list[dict], list[dict], bool]]:
        """Consecutive pages joined until they hold `min_rows` leads (0: every page as it is); `asked` is
        False for a batch when it is for any of its pages."""
        if min_rows <= 0:
            yield from pages
            return
        items: list[dict] = []
        fresh: list[dict] = []
        asked = True
        for page_items, page_fresh, page_asked in pages:
            items.extend(page_items)
            fresh.extend(page_fresh)
            asked = asked and page_asked
            if len(fresh if first_only else items) >= min_rows:
                yield items, fresh, asked
                items, fresh, asked = [], [], True
        if items:
            yield items, fresh, asked

    def _raw_pages(
        self, since: datetime | None, progress: Progress | None
    ) -> Iterator[tuple[list[dict], list[dict], bool]]:
        """(items, first copies, whether `q` was sent and accepted) per page; a 4xx refusal of `q`
        restarts the read without it (ids already met stay met, so nothing is yielded twice as new)."""
        seen: set[str] = set()
        if since is not None:
            try:
                for items, fresh in self._item_pages(progress, updated_since_q(since), seen):
                    yield items, fresh, True
                return
            except CRMRequestError:  # the server refuses `q` (e.g. 400 for an unknown parameter): read it all
                pass
        for items, fresh in self._item_pages(progress, None, seen):
            yield items, fresh, False

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
