"""Sending a new lead over loopback HTTP to the demo CRM and its fault-injecting twin; the outbox; retry.

No part of the code under test is replaced: the real V2Source and HttpClient talk to a real server.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from lib.crm.http import HttpClient
from lib.crm.v2 import V2Source
from lib.demo.data import INACTIVE_STATUS_ID, NEW_STATUS_ID, STATUS_IDS
from lib.new_lead import find_created, in_outbox, retry, send, validate
from lib.store import Store
from tests.fakes.v2_faults import FaultyDemoCRM

CREATE = "/v2/leads/create"
INTERESTED = STATUS_IDS[4]


@pytest.fixture
def crm(tmp_path):
    with FaultyDemoCRM(tmp_path / "crm", size=0, page_size=50) as server:
        yield server


@pytest.fixture
def source(crm):
    http = HttpClient(crm.base_url, crm.token, timeout=0.5, max_attempts=2, backoff=0.01, backoff_cap=0.05)
    yield V2Source(http)
    http.close()


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "data")


def hebrew_lead(**changes) -> dict:
    form = {
        "name": "ישראל ישראלי",
        "phone": "054-555-1234",
        "email": "Israel@Example.co.il",
        "status_id": INTERESTED,
        "utm_source": "פייסבוק",
        "utm_campaign": "חג האהבה",
        "text": "לחזור אחרי 17:00",
        **changes,
    }
    lead, errors = validate(form, "IL")
    assert errors == {}
    return lead


def posts(crm) -> list[str]:
    return [path for method, path, _ in crm.requests if method == "POST"]


def wait_for_count(crm, n: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while crm.db.count() < n and time.monotonic() < deadline:
        time.sleep(0.02)
    assert crm.db.count() == n


def test_success_creates_the_lead_with_the_seed_rules_and_leaves_the_outbox_empty(crm, source, store):
    result = send(source, store, hebrew_lead())
    assert result.ok and result.state == "created"
    assert result.status_id == INTERESTED
    assert result.message == f"Lead created: id {result.lead_id}"
    [stored] = crm.db.leads_page(0, 10)
    assert stored["id"] == result.lead_id
    assert stored["name"] == stored["f_name"] == "ישראל ישראלי"  # seed 003: not split -> same in f_name
    assert stored["l_name"] is None
    assert stored["phone"] == "+972545551234"
    assert stored["email"] == "Israel@example.co.il"
    assert stored["lead_status"] == INTERESTED  # the exact 39-digit string
    assert (stored["utm_source"], stored["utm_campaign"]) == ("פייסבוק", "חג האהבה")
    assert store.outbox_list() == []
    assert posts(crm) == [CREATE]


def test_first_and_last_name_reach_the_crm_as_name_f_name_l_name(crm, source, store):
    lead = hebrew_lead(name="", first_name="דנה", last_name="כהן", status_id=None)
    assert send(source, store, lead).ok
    [stored] = crm.db.leads_page(0, 10)
    assert (stored["name"], stored["f_name"], stored["l_name"]) == ("דנה כהן", "דנה", "כהן")
    assert stored["lead_status"] == NEW_STATUS_ID  # no status chosen: the CRM's default


def test_a_400_is_explained_and_the_lead_kept_in_the_outbox(crm, source, store):
    lead = hebrew_lead(status_id=INACTIVE_STATUS_ID)  # the demo CRM refuses an inactive status
    result = send(source, store, lead)
    assert result.state == "failed" and not result.ok
    assert result.message.startswith("The CRM refused this lead.")
    assert "is inactive: a new lead cannot get it" in result.message
    assert result.fields == ("lead_status",)
    [item] = store.outbox_list()
    assert (item.id, item.state, item.attempts) == (result.outbox_id, "failed", 1)
    assert item.lead == lead  # everything typed, Hebrew included
    assert item.error == result.message
    assert crm.db.count() == 0


def test_a_500_is_kept_as_failed_and_a_retry_creates_it_once(crm, source, store):
    crm.inject(CREATE, 500)
    result = send(source, store, hebrew_lead())
    assert result.state == "failed"
    assert "The CRM had a problem and did not create the lead" in result.message
    assert "internal error (500" in result.message
    assert posts(crm) == [CREATE]  # a POST is never resent automatically
    [item] = store.outbox_list()
    assert item.state == "failed"

    again = retry(source, store, item)
    assert again.state == "created" and again.lead_id
    assert crm.db.count() == 1
    assert store.outbox_list() == []
    assert posts(crm) == [CREATE, CREATE]
    assert not [m for m, _, _ in crm.requests if m == "GET"]  # a failed item is not looked up first


def test_a_failed_retry_updates_the_item(crm, source, store):
    crm.inject(CREATE, 500, times=2)
    send(source, store, hebrew_lead())
    [item] = store.outbox_list()
    result = retry(source, store, item)
    assert result.state == "failed" and result.outbox_id == item.id
    [after] = store.outbox_list()
    assert (after.id, after.attempts, after.state) == (item.id, 2, "failed")


def test_a_timeout_goes_to_the_outbox_as_unknown_and_a_retry_finds_the_lead_without_resending(
    crm, source, store
):
    crm.inject(CREATE, 0, delay=1.0)  # the CRM creates it, but answers after the client gave up (0.5 s)
    result = send(source, store, hebrew_lead())
    assert result.state == "unknown"
    assert result.message.startswith("No answer from the CRM: the lead may or may not have been created.")
    [item] = store.outbox_list()
    assert item.state == "unknown"
    wait_for_count(crm, 1)  # the server finished creating it after the timeout
    [created] = crm.db.leads_page(0, 10)

    again = retry(source, store, item)
    assert again.state == "found" and again.ok
    assert again.lead_id == created["id"]
    assert again.message == f"The CRM already has this lead (id {created['id']}): it was not sent again."
    assert posts(crm) == [CREATE]  # no second POST
    assert crm.db.count() == 1
    assert store.outbox_list() == []


def test_a_gateway_504_is_unknown_and_a_retry_sends_only_after_not_finding_it(crm, source, store):
    crm.inject(CREATE, 504)  # the gateway gave up; here the CRM behind it did not create the lead
    result = send(source, store, hebrew_lead())
    assert result.state == "unknown"
    [item] = store.outbox_list()
    assert crm.db.count() == 0

    again = retry(source, store, item)
    assert again.state == "created"
    assert crm.db.count() == 1
    methods = [(m, path.split("?")[0]) for m, path, _ in crm.requests]
    # looked up first (leads, then the status catalogue), then sent once more
    assert methods == [
        ("POST", CREATE),
        ("GET", "/v2/leads"),
        ("GET", "/v2/leads/statuses"),
        ("POST", CREATE),
    ]


def test_a_cut_off_201_is_unknown_and_the_retry_finds_the_lead(crm, source, store):
    crm.inject(CREATE, 201, truncate=True)  # created, but the answer is cut off
    result = send(source, store, hebrew_lead())
    assert result.state == "unknown"
    assert "not clear whether the lead was created" in result.message
    [item] = store.outbox_list()
    assert retry(source, store, item).state == "found"
    assert posts(crm) == [CREATE] and crm.db.count() == 1


def test_an_unknown_item_is_not_resent_when_the_crm_cannot_be_checked(crm, source, store):
    crm.inject(CREATE, 504)
    send(source, store, hebrew_lead())
    [item] = store.outbox_list()
    crm.inject("/v2/leads", 500)  # the look-up fails
    result = retry(source, store, item)
    assert result.state == "unknown"
    assert result.message.startswith("Could not check whether the CRM already has this lead")
    assert posts(crm) == [CREATE]
    [after] = store.outbox_list()
    assert (after.state, after.attempts) == ("unknown", 2)


def test_an_older_lead_with_the_same_phone_does_not_count_as_already_created(crm, source, store):
    old = datetime(2026, 11, 23, 11, 0)  # Jerusalem wall time, 3 h before NOW (14:00 there)
    crm.db.import_items(
        [{"name": "Earlier", "f_name": "Earlier", "phone": "+972545551234", "created_at": old.isoformat()}]
    )
    crm.inject(CREATE, 504)
    send(source, store, hebrew_lead())
    [item] = store.outbox_list()
    assert retry(source, store, item).state == "created"  # the 3-hour-old lead is another enquiry
    assert posts(crm) == [CREATE, CREATE]
    assert crm.db.count() == 2


def test_a_corrected_lead_replaces_its_failed_outbox_item(crm, source, store):
    first = send(source, store, hebrew_lead(status_id=INACTIVE_STATUS_ID))
    assert in_outbox(store, hebrew_lead(status_id=INACTIVE_STATUS_ID)).id == first.outbox_id
    fixed = send(source, store, hebrew_lead(), replaces=first.outbox_id)
    assert fixed.state == "created"
    assert store.outbox_list() == []


def test_find_created_on_real_crm_leads(crm, source, store):
    send(source, store, hebrew_lead())
    leads = source.leads()
    since = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # an hour before NOW (12:00 UTC), when it was created
    assert len(find_created(leads, "+972545551234", since)) == 1
    assert find_created(leads, "+972502345678", since).empty
