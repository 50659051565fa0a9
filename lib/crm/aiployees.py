"""The aiployees call platform (apis.md §2, seed 001): its leads, read-only.

A lead there is a phone number that a calling campaign works through; `GET /user/leads` pages them with a
Laravel paginator, whose first page already tells `last_page`, so pages 2..last_page are fetched
concurrently (at most MAX_WORKERS at a time) and put back in page order.

Statuses are the platform's fixed set. Their default roles follow what a call-campaign manager counts as
success, a lead that was reached and whose call completed:
- `completed` → won (stage 3, Customer): the call happened;
- `reached-max-retries` → lost (stage 1, Contacted): it was tried, it never answered;
- `blacklisted` → junk (no stage): do-not-call, out of the funnel;
- `created`, `scheduled` → open at stage 0 (New): not called yet;
- `processing`, `rescheduled` → open at stage 1 (Contacted): a call is under way or was attempted.
Users can override each one in Settings. A status code outside the set (the platform may add one) keeps its
code as `status_id` and shows as the title-cased code ("on-hold" → "On Hold"); it is not in the catalogue,
so the pages count it under "(unknown status)".

Times come as "YYYY-MM-DD HH:MM:SS" without a zone. They are read in the account's zone, `crm_timezone`
(LEADS_CRM_TIMEZONE), by default UTC, Laravel's default application time zone: an assumption, since the
API does not say.

The dashboard cannot create aiployees leads: `POST /user/lead` needs a campaign id the new-lead form does
not have, and leads belong to campaigns, so `can_create` is False.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import pandas as pd

from lib.contacts import normalize_emails, normalize_phones
from lib.crm.base import CreatedLead, Progress, client_filtered_frames, first_copies, join_pages
from lib.crm.http import HttpClient, as_json_dict
from lib.crm.parsing import parse_times
from lib.errors import CRMResponseError, NotSupportedError
from lib.schema import UTM_FIELDS, text_category, to_canonical_leads, to_canonical_statuses

LEADS_PATH = "/user/leads"
PER_PAGE = 100  # the API's maximum
MAX_WORKERS = 4  # pages fetched at once: fast, and gentle with an API whose rate limits are undocumented
MAX_PAGES = 10_000  # a million leads; a larger `last_page` is taken for a broken answer
CRM_TIMEZONE = "UTC"  # Laravel's default app time zone: the assumed zone of times sent without one

# code, display name, role, stage (index into lib.schema.DEFAULT_STAGES) — see the module docstring
STATUSES: tuple[tuple[str, str, str, int | None], ...] = (
    ("created", "Created", "open", 0),
    ("scheduled", "Scheduled", "open", 0),
    ("processing", "Calling", "open", 1),
    ("completed", "Completed", "won", 3),
    ("rescheduled", "Rescheduled", "open", 1),
    ("reached-max-retries", "Max retries reached", "lost", 1),
    ("blacklisted", "Blacklisted", "junk", None),
)
STATUS_NAMES = {code: name for code, name, _, _ in STATUSES}
FINAL_STATUSES = frozenset({"completed", "reached-max-retries", "blacklisted"})  # closed_at = updated_at

# canonical column -> keys of `variables` that hold it, in the normalised form of `variable_key`
_VARIABLES: dict[str, tuple[str, ...]] = {
    "name": ("customer_name", "name", "full_name", "fullname", "client_name", "contact_name"),
    "first_name": ("first_name", "firstname", "fname", "f_name"),
    "last_name": ("last_name", "lastname", "lname", "l_name", "surname"),
    "email": ("email", "e_mail", "mail", "email_address"),
    "company": ("company", "company_name"),
    **{f: (f, f.replace("_", "")) for f in UTM_FIELDS},
    "referrer": ("referrer", "referer", "http_referer", "http_referrer"),
    "landing_page": ("landing_page", "page_url", "landing_url"),
}
_TIMES = ("created_at", "updated_at")

__all__ = ["STATUSES", "AiployeesSource", "open_source", "variable_key"]


def open_source(
    base_url: str,
    token: str,
    *,
    phone_region: str = "IL",
    crm_timezone: str | None = None,
    transport: httpx.BaseTransport | None = None,
    **http_options: Any,
) -> AiployeesSource:
    """The aiployees source behind `lib.crm.connect("aiployees", ...)`; `base_url` is the API root
    (https://call.aiployees.com/api)."""
    http = HttpClient(base_url, token, crm_name="aiployees", transport=transport, **http_options)
    return AiployeesSource(http, phone_region=phone_region, crm_timezone=crm_timezone)


def variable_key(key: str) -> str:
    """One spelling for the many a campaign may use: `utmSource`, `UTM-SOURCE`, `utm source` → utm_source."""
    key = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key.strip())
    return re.sub(r"[\s\-.]+", "_", key).casefold()


def _text(value: Any) -> str | None:
    """A scalar as text (integers exact, never through float); None for null, NaN and nested values."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return None
    text = str(value).strip()
    return text or None


def _variables(value: Any) -> dict[str, Any]:
    """`variables` as a dict keyed by normalised names. A JSON string holding an object is read too (an
    API that forgets its cast sends that); anything else is no variables."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if not isinstance(value, dict):
        return {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.setdefault(variable_key(str(key)), item)  # the first spelling wins when two normalise alike
    return out


def _status_name(code: str) -> str:
    """The display name of a status code; a code outside the fixed set is shown title-cased."""
    return STATUS_NAMES.get(code) or code.replace("-", " ").replace("_", " ").title()


class AiployeesSource:
    """An aiployees account reached over HTTP (read-only)."""

    name = "aiployees"
    can_create = False
    is_demo = False

    def __init__(
        self,
        http: HttpClient,
        *,
        phone_region: str = "IL",
        crm_timezone: str | None = None,
        max_pages: int = MAX_PAGES,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        self.http = http
        self.phone_region = phone_region
        self.crm_timezone = crm_timezone or CRM_TIMEZONE
        self.max_pages = max_pages
        self.max_workers = max_workers

    def __repr__(self) -> str:
        return f"AiployeesSource({self.http.base_url!r})"

    @property
    def label(self) -> str:
        return f"aiployees at {self.http.base_url}"

    # -- statuses -------------------------------------------------------------------------------------

    def statuses(self) -> pd.DataFrame:
        """The fixed status catalogue (no request: the API has no status list)."""
        frame = pd.DataFrame(
            {
                "status_id": [s[0] for s in STATUSES],
                "status": [s[1] for s in STATUSES],
                "is_active": True,
                "position": range(len(STATUSES)),
                "role": [s[2] for s in STATUSES],
                "stage": pd.array([s[3] for s in STATUSES], dtype="Int64"),
            }
        )
        return to_canonical_statuses(frame)

    # -- leads ----------------------------------------------------------------------------------------

    def _page(self, page: int, per_page: int = PER_PAGE) -> dict:
        body = as_json_dict(
            self.http.get_json(LEADS_PATH, {"per_page": per_page, "page": page}), "a page of leads"
        )
        if not isinstance(body.get("data"), list):
            raise CRMResponseError(
                "aiployees sent a page of leads without a `data` list: is LEADS_BASE_URL the API root "
                "(https://call.aiployees.com/api)?"
            )
        return body

    def _last_page(self, first: dict) -> int:
        last = first.get("last_page")
        if isinstance(last, bool) or not isinstance(last, int) or last < 1:
            raise CRMResponseError(
                f"aiployees sent a page of leads without a usable `last_page` ({last!r}): cannot tell how "
                "many pages to read"
            )
        if last > self.max_pages:
            raise CRMResponseError(
                f"aiployees says there are {last:,} pages of leads, more than the page cap of "
                f"{self.max_pages:,} ({self.max_pages * PER_PAGE:,} leads): the answer looks broken; "
                "try again later"
            )
        return last

    def _item_pages(self, progress: Progress | None = None) -> Iterator[tuple[list[dict], list[dict]]]:
        """(items, first copies) of every page, in page order; the first copies are the items whose id was
        not met before. `progress(pages, distinct leads)` is called from the calling thread, page by page.

        Page 1 is read first for `last_page`; the pages after it are fetched MAX_WORKERS at a time ahead of
        the one being handed on (a window, so memory holds at most MAX_WORKERS + 1 pages). An empty page
        means the list shrank while syncing: the pages after it are dropped. Any page's error stops the
        rest and is raised; closing the generator early cancels the pages not yet sent."""
        seen: set[str] = set()

        def split(data: list) -> tuple[list[dict], list[dict]]:
            items = [i for i in data if isinstance(i, dict) and _text(i.get("id")) is not None]
            return items, first_copies(items, [_text(i.get("id")) for i in items], seen)

        first = self._page(1)
        page_one = split(first["data"])
        if progress:
            progress(1, len(seen))
        if not first["data"]:
            return
        last = self._last_page(first)
        if last == 1:
            yield page_one
            return
        pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="aiployees-page")
        futures: dict[int, Future] = {}
        try:

            def send_up_to(page: int) -> None:
                for n in range(max(futures, default=1) + 1, min(page, last) + 1):
                    futures[n] = pool.submit(self._page, n)

            send_up_to(1 + self.max_workers)  # pages 2.. go out while page 1 is handed on
            yield page_one
            for n in range(2, last + 1):
                send_up_to(n + self.max_workers - 1)
                data = futures.pop(n).result()["data"]  # raises the page's error
                page = split(data)
                if progress:
                    progress(n, len(seen))
                if not data:  # the list ends here: later pages are not needed
                    return
                yield page
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def lead_items(self, progress: Progress | None = None) -> list[dict]:
        """Every lead item, pages in order, de-duplicated by id (the last copy wins, at the first place)."""
        by_id: dict[str, dict] = {}
        for items, _ in self._item_pages(progress):
            for item in items:
                by_id[_text(item.get("id"))] = item
        return list(by_id.values())

    def leads(self, since: datetime | None = None, progress: Progress | None = None) -> pd.DataFrame:
        """Canonical leads (lib.schema) plus `campaign`, `campaign_id` and `secondary_contacts`: every frame
        of `lead_pages` in one, a lead met on more than one page kept once (its last copy, at the place of
        its first). `attrs["incremental"]` is False (aiployees is always read in full)."""
        frame = join_pages(self._frames(since, progress, first_only=False), self.to_frame([]))
        frame.attrs["incremental"] = False
        return frame

    def lead_pages(
        self, since: datetime | None = None, progress: Progress | None = None
    ) -> Iterator[pd.DataFrame]:
        """Canonical lead frames (as `leads()`), one per page of PER_PAGE leads, in page order, read with
        a window of MAX_WORKERS pages fetched ahead (see _item_pages).

        `since` keeps leads updated at or after it (rounded down to the second), filtered here: the API's
        only date filters (`date_from`/`date_to`) are on creation, and a lead created long ago may have been
        updated since. So every read is a full read: `attrs["incremental"]` is False. `attrs["unreadable"]`
        counts the frame's unreadable values. A lead met on more than one page (the list shifted while it
        was paged) is yielded once, its first copy: later copies are dropped."""
        return self._frames(since, progress, first_only=True)

    def _frames(
        self, since: datetime | None, progress: Progress | None, *, first_only: bool
    ) -> Iterator[pd.DataFrame]:
        """lead_pages' frames; `first_only=False` keeps every copy of a lead met twice (for leads())."""
        return client_filtered_frames(self._item_pages(progress), self.to_frame, since, first_only=first_only)

    def to_frame(self, items: list[dict]) -> pd.DataFrame:
        """Lead items → the canonical frame; values that cannot be read are NA and counted in
        `attrs["unreadable"]` (a nested value where a name or UTM was expected, an unreadable date)."""
        cols: dict[str, list] = {c: [] for c in ["lead_id", "phone", "status_id", *_TIMES, *_VARIABLES]}
        extras: dict[str, list] = {"campaign": [], "campaign_id": [], "secondary_contacts": []}
        unreadable: dict[str, int] = {}
        for item in items:
            cols["lead_id"].append(_text(item.get("id")))
            cols["phone"].append(_text(item.get("phone_number")))
            cols["status_id"].append(_text(item.get("status")))
            for col in _TIMES:
                cols[col].append(_text(item.get(col)))
            variables = _variables(item.get("variables"))
            for col, keys in _VARIABLES.items():
                raw = next((variables[k] for k in keys if variables.get(k) is not None), None)
                if isinstance(raw, dict | list):
                    unreadable[col] = unreadable.get(col, 0) + 1
                cols[col].append(_text(raw))
            campaign = item.get("campaign") if isinstance(item.get("campaign"), dict) else {}
            campaign_id = _text(item.get("campaign_id")) or _text(campaign.get("id"))
            campaign_name = _text(campaign.get("name"))
            if campaign_name is None and campaign_id is not None:
                campaign_name = f"Campaign {campaign_id}"
            extras["campaign"].append(campaign_name)
            extras["campaign_id"].append(campaign_id)
            secondary = item.get("secondary_contacts")
            extras["secondary_contacts"].append(len(secondary) if isinstance(secondary, list) else 0)

        raw = {c: pd.Series(v, dtype="string") for c, v in cols.items()}
        first_last = (raw["first_name"].fillna("") + " " + raw["last_name"].fillna("")).str.strip()
        raw["name"] = raw["name"].fillna(first_last.mask(first_last == ""))
        raw["phone"] = normalize_phones(raw["phone"], self.phone_region)
        raw["email"] = normalize_emails(raw["email"])
        for col in _TIMES:
            raw[col], unreadable[col] = parse_times(raw[col], self.crm_timezone)
        codes = raw["status_id"]
        raw["status"] = codes.map(_status_name, na_action="ignore").astype("string")
        final = codes.isin(FINAL_STATUSES).fillna(False).astype(bool)
        raw["closed_at"] = raw["updated_at"].where(final)
        frame = pd.DataFrame(raw)
        frame["owner"] = pd.NA
        frame["price"] = float("nan")
        frame["campaign"] = text_category(extras["campaign"])
        frame["campaign_id"] = pd.Series(extras["campaign_id"], dtype="string")
        frame["secondary_contacts"] = pd.Series(extras["secondary_contacts"], dtype="int64")
        out = to_canonical_leads(frame)
        out.attrs["unreadable"] = {k: v for k, v in unreadable.items() if v}
        return out

    # -- create and check -----------------------------------------------------------------------------

    def create_lead(self, lead: Mapping[str, Any]) -> CreatedLead:
        """Always NotSupportedError: aiployees leads belong to a calling campaign (see the module docs)."""
        raise NotSupportedError(
            "aiployees does not let the dashboard create leads: leads enter aiployees through its campaigns "
            "(a campaign's upload or its API, which need the campaign). Add the lead there; it shows up "
            "here after the next refresh."
        )

    def check(self) -> str:
        """A one-line description of a successful test connection (raises a CRMError otherwise)."""
        body = self._page(1, per_page=1)
        total = body.get("total")
        if isinstance(total, int) and not isinstance(total, bool):
            return f"Connected to {self.label}: {total:,} leads."
        return f"Connected to {self.label}."
