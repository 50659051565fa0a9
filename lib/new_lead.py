"""The new-lead model: clean and validate what was typed, find duplicates, send it, keep it if it fails.

Pure functions except `send` and `retry`, which talk to a source (anything with `create_lead(lead)` and,
for a retry, `leads()`) and the outbox of lib.store. No Streamlit here: pages/new_lead.py is the UI.

Sending is guarded in the store, not in session state (Streamlit may start a second run of the page, in a
new thread, while the first is still waiting for the CRM): the entry is written to the outbox as "sending"
under its submission's unique key *before* the request goes out. Only the caller that inserted the row
sends; a second click's run finds the row and waits for its outcome instead. A process killed mid-send
leaves the row behind, shown as "unknown" afterwards (lib.store reaps it), so nothing typed is lost.

A lead is a dict with the canonical keys of lib.schema (name, first_name, last_name, phone, email,
company, text, is_subscriber, owner, status_id, utm_*, ext_*); `V2Source.create_lead` maps them to the
wire names of apis.md §1.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from lib import clock
from lib.errors import (
    CRMAuthError,
    CRMConnectionError,
    CRMError,
    CRMRateLimitError,
    CRMRequestError,
    CRMResponseError,
    CRMServerError,
    NotSupportedError,
    OutcomeUnknownError,
)
from lib.schema import UTM_FIELDS
from lib.store import EXT_FIELDS, SEND_TIMEOUT, STOPPED_MID_SEND, OutboxItem, Store

TEXT_FIELDS = ("name", "first_name", "last_name", "phone", "email", "company", "owner", "text")
FIELDS = (*TEXT_FIELDS, "is_subscriber", "status_id", *UTM_FIELDS, *EXT_FIELDS)
MULTILINE_FIELDS = frozenset({"text"})

# Length limits after cleaning. The seeds give none (*assumed*): generous for people, short enough to
# catch a paste into the wrong field. E-mail: RFC 5321's 254.
MAX_LENGTH: dict[str, int] = {
    "name": 120,
    "first_name": 60,
    "last_name": 60,
    "phone": 30,
    "email": 254,
    "company": 120,
    "owner": 100,
    "text": 2000,
    **{f: 250 for f in UTM_FIELDS},
    **{f: 500 for f in EXT_FIELDS},
}

# What `retry` of an "unknown" lead counts as "the CRM already has it": the same phone, created this
# recently (or since shortly before the first attempt, for an item older than that).
ALREADY_CREATED_WINDOW = timedelta(hours=1)
CLOCK_SLACK = timedelta(minutes=5)
# How long a second click's run waits for the first run's send to end, and how often it looks.
SEND_WAIT = SEND_TIMEOUT.total_seconds()
POLL_SECONDS = 0.2

# Bidirectional embedding/override/isolate controls and the BOM: invisible, they reorder or hide text.
_INVISIBLE = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF])
_PHONE_CHARS = re.compile(r"^[0-9+\-().\s/\u2010-\u2015]+$")


# -- cleaning -----------------------------------------------------------------------------------------


def clean_text(value: Any, multiline: bool = False) -> str:
    """NFC text without control characters or bidi overrides, trimmed; one line unless `multiline`
    (then line breaks are kept, as \\n, and each line's trailing spaces dropped)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = unicodedata.normalize("NFC", str(value)).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if multiline:
        lines = [
            "".join(" " if c == "\t" else c for c in ln if c == "\t" or _keep(c)) for ln in text.split("\n")
        ]
        return "\n".join(line.rstrip() for line in lines).strip()
    kept = "".join(" " if c in "\n\t" else c for c in text if c in "\n\t" or _keep(c))
    return " ".join(kept.split())


def _one_line_char(char: str) -> str:
    return " " if char == "\t" else char


def _keep(char: str) -> bool:
    return unicodedata.category(char) != "Cc"


def apply_name_rule(name: str, first: str, last: str) -> tuple[str, str, str]:
    """Seed 003: a full name alone also becomes the first name; first and last without a full name make
    the full name "first last". Returns (name, first_name, last_name); empty strings where unknown."""
    if name and not first:
        first = name
    if first and not name:
        name = f"{first} {last}".strip()
    return name, first, last


# -- validation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneCheck:
    """What a typed phone number is: `e164` is set when it can be sent; `error` when it cannot be a phone
    number at all (refused); `warning` when it has a possible length but is not in a range the phone
    library knows as allocated (sent only once the user confirms it: the library's ranges lag behind
    the operators', and a real caller's number must never be unenterable)."""

    e164: str | None = None
    error: str | None = None
    warning: str | None = None


def check_phone(text: str, region: str) -> PhoneCheck:
    """Check a typed phone number for `region` (or an international one with its +country code).

    Accepts 050-123-4567, 0501234567, (050) 123 4567, +972-50-123-4567, 972501234567, 00972501234567.
    Valid (an allocated range): e164 only. Possible but not valid: e164 and a warning. Anything else
    (054-123-45, 0000000000, 12): an error. "Possible" is phonenumbers' possible (a full number's length
    for the country, not a local-only one), and the library has a way to write it (a formatting rule for
    its leading digits and length): 054-123-4567 is, 050-234-56 (a digit missing) is not.
    """
    digits_only = "".join(c for c in text if unicodedata.category(c) != "Cf")
    if not _PHONE_CHARS.match(digits_only):
        return PhoneCheck(error="Use digits only (spaces, dashes, brackets and a leading + are fine)")
    count = sum(c.isdigit() for c in digits_only)
    if count < 7:
        return PhoneCheck(error="Too short for a phone number")
    if count > 15:
        return PhoneCheck(error="Too long for a phone number")
    candidates = [digits_only]
    if digits_only.strip()[0].isdigit():
        candidates.append("+" + digits_only.strip())  # 972501234567: a country code without +
    possible: phonenumbers.PhoneNumber | None = None
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return PhoneCheck(e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        if possible is None and _possible(number):
            possible = number
    if possible is not None:
        return PhoneCheck(
            e164=phonenumbers.format_number(possible, phonenumbers.PhoneNumberFormat.E164),
            warning="This number has the right length, but the phone library does not know its range as "
            "in use: check the digits with the caller. If they are right, tick “Save anyway”.",
        )
    return PhoneCheck(error=f"Not a valid phone number in {region} or with a +country code: check the digits")


def _possible(number: phonenumbers.PhoneNumber) -> bool:
    if not number.national_number:
        return False
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return False
    # without a formatting rule for these digits the national format is the bare digits
    shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return any(not c.isdigit() for c in shown)


def parse_phone(text: str, region: str) -> tuple[str | None, str | None]:
    """(E.164, None) for a valid number in `region` (or an international one), else (None, message): the
    strict check, without the "save anyway" of a possible number (see `check_phone`)."""
    checked = check_phone(text, region)
    if checked.error or checked.warning:
        return None, checked.error or checked.warning
    return checked.e164, None


def parse_email(text: str) -> tuple[str | None, str | None]:
    """(normalised address, None) when the syntax is right (no network look-up), else (None, message)."""
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, str(exc)
    return result.normalized, None


def validate(
    form: Mapping[str, Any], region: str = "IL", status_ids: Collection[str] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean what was typed and check it: (lead, errors by field). Send the lead only if errors is empty.

    Required: a full name or a first name, and a phone. A phone that is possible but not known to be in
    use (`check_phone`'s warning) is accepted only when the form's `phone_confirmed` is true ("Save
    anyway"); until then the warning is under errors["phone_confirmed"]. The lead has every key of
    FIELDS: text fields cleaned (None when empty), the name rule applied, the phone in E.164, the e-mail
    normalised, is_subscriber a bool, status_id the exact string id (checked against `status_ids` when given).
    """
    errors: dict[str, str] = {}
    raw = {
        f: clean_text(form.get(f), f in MULTILINE_FIELDS) for f in (*TEXT_FIELDS, *UTM_FIELDS, *EXT_FIELDS)
    }

    for f, text in raw.items():
        limit = MAX_LENGTH[f]
        if len(text) > limit:
            errors[f] = f"At most {limit:,} characters (this has {len(text):,})"

    name, first, last = apply_name_rule(raw["name"], raw["first_name"], raw["last_name"])
    if not name:
        errors.setdefault("name", "Required: enter the full name (or a first name)")
    elif not any(c.isalpha() for c in name):
        errors.setdefault("name", "A name needs at least one letter")

    phone: str | None = None
    if not raw["phone"]:
        errors["phone"] = "Required: enter a phone number"
    elif "phone" not in errors:
        checked = check_phone(raw["phone"], region)
        if checked.error:
            errors["phone"] = checked.error
        elif checked.warning and not form.get("phone_confirmed"):
            errors["phone_confirmed"] = checked.warning  # not sent until the user ticks "Save anyway"
        else:
            phone = checked.e164

    email: str | None = None
    if raw["email"] and "email" not in errors:
        email, problem = parse_email(raw["email"])
        if problem:
            errors["email"] = problem

    status = form.get("status_id")
    status = None if status is None or str(status).strip() == "" else str(status).strip()
    if status is not None and status_ids is not None and status not in set(status_ids):
        errors["status_id"] = "Choose one of the active statuses"

    lead: dict[str, Any] = {f: (raw[f] or None) for f in raw}
    lead.update(
        name=name or None,
        first_name=first or None,
        last_name=last or None,
        phone=phone,
        email=email,
        status_id=status,
        is_subscriber=bool(form.get("is_subscriber") or False),
    )
    return {f: lead.get(f) for f in FIELDS}, errors


# -- choices the form offers ---------------------------------------------------------------------------


def active_statuses(statuses: pd.DataFrame) -> pd.DataFrame:
    """The statuses a new lead may get: active ones, in the CRM's order."""
    active = statuses[statuses["is_active"].astype(bool)]
    return active.sort_values("position", kind="stable").reset_index(drop=True)


def default_status(statuses: pd.DataFrame) -> str | None:
    """The "new" status: the first active one whose role is open at stage 0, else the first active one."""
    active = active_statuses(statuses)
    if active.empty:
        return None
    is_new = (active["role"] == "open").fillna(False) & (active["stage"] == 0).fillna(False)
    row = active[is_new.to_numpy()].iloc[0] if is_new.any() else active.iloc[0]
    return str(row["status_id"])


def owner_choices(leads: pd.DataFrame) -> list[str]:
    """Owners seen among the loaded leads, sorted."""
    if "owner" not in leads.columns:
        return []
    owners = leads["owner"].dropna().astype(str).str.strip()
    return sorted({o for o in owners if o})


# -- duplicates ---------------------------------------------------------------------------------------

DUPLICATE_COLUMNS = ["lead_id", "name", "phone", "email", "status", "created_at", "matched_on"]


def find_duplicates(leads: pd.DataFrame, phone: str | None, email: str | None) -> pd.DataFrame:
    """Loaded leads with the same phone (both in E.164) or the same e-mail (case-insensitive), newest
    first, with `matched_on` = "phone", "email" or "phone and email"."""
    if leads.empty or (not phone and not email):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in DUPLICATE_COLUMNS})
    n = len(leads)
    same_phone = pd.Series(False, index=leads.index)
    same_email = pd.Series(False, index=leads.index)
    if phone and "phone" in leads.columns:
        same_phone = (leads["phone"].astype("string").str.strip() == phone).fillna(False).astype(bool)
    if email and "email" in leads.columns:
        lowered = leads["email"].astype("string").str.strip().str.lower()
        same_email = (lowered == email.strip().lower()).fillna(False).astype(bool)
    hits = leads[(same_phone | same_email).to_numpy()] if n else leads
    out = pd.DataFrame({c: hits[c] if c in hits.columns else pd.NA for c in DUPLICATE_COLUMNS[:-1]})
    both = same_phone[hits.index] & same_email[hits.index]
    out["matched_on"] = [
        "phone and email" if b else ("phone" if p else "email")
        for b, p in zip(both, same_phone[hits.index], strict=True)
    ]
    return out.sort_values("created_at", ascending=False, na_position="last").reset_index(drop=True)


def find_created(leads: pd.DataFrame, phone: str | None, since: datetime) -> pd.DataFrame:
    """Leads with this phone created at or after `since` (UTC), newest first."""
    if not phone or leads.empty:
        return leads.iloc[0:0]
    same = (leads["phone"].astype("string").str.strip() == phone).fillna(False)
    recent = (leads["created_at"] >= pd.Timestamp(since)).fillna(False)
    hits = leads[(same & recent).to_numpy()]
    return hits.sort_values("created_at", ascending=False).reset_index(drop=True)


# -- sending ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What became of one send or retry.

    state: "created" (the CRM accepted it now), "found" (a retry found the CRM already had it, so nothing
    was sent), "failed" (not created), "unknown" (may or may not have been created), "sending" (another run
    is sending it and had no answer yet), "gone" (the outbox item was discarded meanwhile).
    """

    state: str
    message: str
    lead_id: str | None = None
    status_id: str | None = None
    outbox_id: int | None = None
    fields: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.state in ("created", "found")


def explain(exc: Exception) -> tuple[str, str]:
    """(plain-words message, outbox state) for an error raised while creating a lead."""
    if isinstance(exc, OutcomeUnknownError):
        return (
            f"No answer from the CRM: the lead may or may not have been created. {exc}. It is kept in the "
            "outbox; Retry there first checks whether the CRM already has it, so it will not be doubled.",
            "unknown",
        )
    if isinstance(exc, CRMResponseError):
        return (
            f"The CRM answered, but not in the expected form, so it is not clear whether the lead was "
            f"created. {exc}. It is kept in the outbox; Retry first checks the CRM.",
            "unknown",
        )
    if isinstance(exc, CRMRequestError):
        return f"The CRM refused this lead. {exc} Correct it and send again.", "failed"
    if isinstance(exc, CRMServerError):
        return f"The CRM had a problem and did not create the lead. {exc}", "failed"
    if isinstance(exc, CRMRateLimitError):
        return f"The CRM is busy and did not create the lead. {exc}", "failed"
    if isinstance(exc, CRMConnectionError):
        return f"Could not reach the CRM, so nothing was sent. {exc}", "failed"
    if isinstance(exc, CRMAuthError):
        return f"The CRM did not accept the dashboard's credentials, so nothing was created. {exc}", "failed"
    if isinstance(exc, NotSupportedError):
        return f"This CRM does not accept new leads from the dashboard. {exc}", "failed"
    if isinstance(exc, CRMError):
        return f"The lead was not created. {exc}", "failed"
    # An unexpected error may have struck after the request went out: treat it as unknown.
    return f"Something went wrong while sending ({type(exc).__name__}): the outcome is unknown.", "unknown"


def submission_key(session: str, generation: int, lead: Mapping[str, Any]) -> str:
    """The key of one form submission: the browser session, the form's generation (it moves on after each
    success) and the entry itself. Two clicks on the same filled-in form share it, however the runs of the
    page interleave; a corrected entry, or the next lead, gets a new one."""
    entry = json.dumps(dict(lead), sort_keys=True, ensure_ascii=False, default=str)
    return f"{session}:{generation}:{hashlib.sha256(entry.encode()).hexdigest()[:32]}"


def send(
    source: Any,
    store: Store,
    lead: dict,
    *,
    submission: str | None = None,
    replaces: int | None = None,
    now: datetime | None = None,
    wait: float = SEND_WAIT,
) -> Result:
    """Create `lead` in the CRM once per `submission` key (see submission_key; None = a submission of its
    own). The entry is first written to the outbox as "sending" (write-ahead, and the lock); the send's
    outcome then marks it sent (it leaves the outbox), "failed", or "unknown" (it may have reached the CRM).
    A call whose submission is already taken does not send: it waits up to `wait` seconds for that send's
    outcome and returns it (state "sending" if it is still going on). `replaces` is the outbox id of an
    earlier failed attempt at this entry: dropped once this one succeeds or is kept instead of it. `now`
    stamps the outbox row (default: lib.clock)."""
    claim = store.outbox_claim(submission or uuid.uuid4().hex, lead, now=now)
    if not claim.won:
        return outcome(store, claim.item, wait=wait)
    row = claim.item.id
    try:
        created = source.create_lead(lead)
    except Exception as exc:
        message, state = explain(exc)
        store.outbox_finish(row, state, error=message)
        result = Result(state, message, outbox_id=row, fields=tuple(getattr(exc, "fields", ()) or ()))
    except BaseException:  # the run is being torn down mid-send: whether the CRM got it is unknown
        store.outbox_finish(row, "unknown", error=STOPPED_MID_SEND)
        raise
    else:
        message = f"Lead created: id {created.lead_id}"
        store.outbox_finish(row, "sent", error=message, lead_id=created.lead_id)
        result = Result("created", message, lead_id=created.lead_id, status_id=created.status_id)
    old = _outbox_item(store, replaces)
    if old is not None and old.id != row and old.state == "failed":
        store.outbox_remove(old.id)  # superseded by this attempt (sent, or kept in the outbox instead)
    return result


def retry(
    source: Any, store: Store, item: OutboxItem, *, now: datetime | None = None, wait: float = SEND_WAIT
) -> Result:
    """Send an outbox item again, once however many runs ask at the same time: the item is flipped to
    "sending" by a conditional update, and only the caller that flipped it goes on (the others wait up to
    `wait` seconds for its outcome). An item whose outcome is unknown is first looked up in the CRM (same
    phone, created within ALREADY_CREATED_WINDOW before `now` or since shortly before the first attempt)
    and is not sent again when found. Success takes the item out of the outbox; a failure updates its
    error, state and attempts."""
    claim = store.outbox_claim_retry(item.id)
    if not claim.won:
        return outcome(store, claim.item, wait=wait)
    item = claim.item  # as it was before the claim: its state says whether to look first
    try:
        if item.state == "unknown":
            now = now or clock.now()
            since = min(now - ALREADY_CREATED_WINDOW, item.created_at - CLOCK_SLACK)
            try:
                found = find_created(source.leads(), item.lead.get("phone"), since)
            except Exception as exc:
                message = (
                    f"Could not check whether the CRM already has this lead, so it was not sent again. {exc}"
                )
                store.outbox_finish(item.id, "unknown", error=message, count_attempt=True)
                return Result("unknown", message, outbox_id=item.id)
            if not found.empty:
                hit = found.iloc[0]
                message = f"The CRM already has this lead (id {hit['lead_id']}): it was not sent again."
                store.outbox_finish(item.id, "sent", error=message, lead_id=str(hit["lead_id"]))
                return Result(
                    "found",
                    message,
                    lead_id=str(hit["lead_id"]),
                    status_id=None if pd.isna(hit["status_id"]) else str(hit["status_id"]),
                )
        try:
            created = source.create_lead(item.lead)
        except Exception as exc:
            message, state = explain(exc)
            store.outbox_finish(item.id, state, error=message, count_attempt=True)
            return Result(state, message, outbox_id=item.id, fields=tuple(getattr(exc, "fields", ()) or ()))
    except BaseException:
        store.outbox_finish(item.id, "unknown", error=STOPPED_MID_SEND, count_attempt=True)
        raise
    message = f"Lead created: id {created.lead_id}"
    store.outbox_finish(item.id, "sent", error=message, lead_id=created.lead_id)
    return Result("created", message, lead_id=created.lead_id, status_id=created.status_id)


def outcome(store: Store, item: OutboxItem | None, *, wait: float = SEND_WAIT) -> Result:
    """The outcome of a send someone else holds: polls the outbox row until it is no longer "sending"
    (a row whose process died turns "unknown"), for at most `wait` seconds."""
    deadline = time.monotonic() + wait
    while item is not None and item.state == "sending" and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        item = store.outbox_get(item.id)
    if item is None:
        return Result("gone", "This lead is no longer in the outbox: it was discarded in another window.")
    if item.state == "sent":
        state = "found" if item.error.startswith("The CRM already has") else "created"
        return Result(state, item.error or f"Lead created: id {item.lead_id}", lead_id=item.lead_id)
    if item.state == "sending":
        return Result(
            "sending",
            "This lead is already being sent; its outcome will show in the outbox below.",
            outbox_id=item.id,
        )
    return Result(item.state, item.error, outbox_id=item.id)


def form_fields(wire_fields: Collection[str]) -> list[str]:
    """The form's field names for the wire names a CRM error lists (f_name -> name, as the full name is
    what the form asks for)."""
    names = {"f_name": "name", "l_name": "last_name", "lead_status": "status_id"}
    return [names.get(f, f) for f in wire_fields if names.get(f, f) in FIELDS]


def in_outbox(store: Store, lead: dict) -> OutboxItem | None:
    """The outbox item holding exactly this lead, if any (so the same entry is not sent twice)."""
    return next((item for item in store.outbox_list() if item.lead == lead), None)


def _outbox_item(store: Store, item_id: int | None) -> OutboxItem | None:
    return None if item_id is None else store.outbox_get(item_id)


__all__ = [
    "FIELDS",
    "MAX_LENGTH",
    "PhoneCheck",
    "Result",
    "active_statuses",
    "apply_name_rule",
    "check_phone",
    "clean_text",
    "default_status",
    "explain",
    "find_created",
    "find_duplicates",
    "form_fields",
    "in_outbox",
    "outcome",
    "owner_choices",
    "parse_email",
    "parse_phone",
    "retry",
    "send",
    "submission_key",
    "validate",
]
