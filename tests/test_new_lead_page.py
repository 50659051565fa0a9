"""AppTest of the New lead page against a small v2 CRM on loopback (the `serve_leads` fixture)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.demo.data import STATUSES
from lib.store import Store
from tests.conftest import APP, lead_item
from tests.fakes.v2_faults import FaultyDemoCRM

PAGE = "pages/new_lead.py"

EXISTING = lead_item(1, "no_answer", 3, "11:00:00", name="דנה כהן", f_name="דנה", phone="050-234-5678")

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def open_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "New lead"
    return at


def gen(at: AppTest) -> int:
    return at.session_state["nl_gen"]


def field(at: AppTest, name: str):
    return at.text_input(key=f"nl{gen(at)}_{name}")


def create(at: AppTest) -> AppTest:
    [button] = [b for b in at.button if b.label == "Create lead"]
    button.click().run()
    assert not at.exception, at.exception
    return at


def flat(node) -> list:
    """Every element under `node` in page order."""
    children = getattr(node, "children", None)
    if not children:
        return [node]
    return [leaf for child in children.values() for leaf in flat(child)]


def error_after(at: AppTest, label: str) -> str | None:
    """The error shown right after the input labelled `label`, if any."""
    elements = flat(at.main)
    for i, element in enumerate(elements):
        if getattr(element, "label", None) == label:
            following = elements[i + 1]
            return following.value if following.type == "error" else None
    raise AssertionError(f"no input labelled {label!r}")


def test_the_common_case_is_four_fields_and_a_button_with_the_default_status(serve_leads):
    serve_leads([EXISTING])
    at = open_page()
    status = at.selectbox(key="nl0_status_id")
    active = [s["name"] for s in STATUSES if s["is_active"] == "Y"]
    assert [status.format_func(o) for o in status.options] == active  # active ones, in the CRM's order
    assert "⏳ ממתין לחזרה" not in status.options  # the inactive status is not offered
    assert status.value == STATUSES[0]["id"]  # "💫 חדש" preselected, the exact string id
    labels = [e.label for e in flat(at.main) if getattr(e, "label", None)]
    assert labels[:4] == ["Full name *", "Phone *", "E-mail", "Status"]  # phone second
    assert [e.label for e in at.expander] == [
        "More details: first and last name, company, owner, note",
        "Marketing: UTM source, medium, campaign, term, content",
        "Custom fields: Custom field 1, Custom field 2, Custom field 3, Custom field 4",
    ]
    assert at.selectbox(key="nl0_owner").options == []  # no owner in the loaded leads
    assert "Empty" in at.main.caption[-1].value  # the outbox


def test_required_field_errors_are_shown_next_to_the_fields_and_nothing_is_sent(serve_leads):
    crm = serve_leads([EXISTING])
    at = create(open_page())
    assert error_after(at, "Full name *") == "Required: enter the full name (or a first name)"
    assert error_after(at, "Phone *") == "Required: enter a phone number"
    assert error_after(at, "E-mail") is None
    assert not at.success
    assert crm.db.count() == 1


def test_a_bad_phone_and_email_are_refused_and_what_was_typed_is_kept(serve_leads):
    crm = serve_leads([EXISTING])
    at = open_page()
    field(at, "name").input("ישראל ישראלי")
    field(at, "phone").input("050-234-56")
    field(at, "email").input("israel@example")
    create(at)
    assert (
        error_after(at, "Phone *")
        == "Not a valid phone number in IL or with a +country code: check the digits"
    )
    assert "should have a period" in error_after(at, "E-mail")
    assert error_after(at, "Full name *") is None
    assert (field(at, "name").value, field(at, "phone").value) == ("ישראל ישראלי", "050-234-56")
    assert crm.db.count() == 1


def test_a_valid_lead_is_created_once_the_id_shown_and_the_form_cleared(serve_leads):
    crm = serve_leads([EXISTING])
    at = open_page()
    field(at, "name").input("ישראל ישראלי")
    field(at, "phone").input("054-555-1234")
    field(at, "utm_source").input("פייסבוק")
    create(at)
    assert crm.db.count() == 2
    new = crm.db.leads_page(1, 1)[0]
    assert (new["name"], new["f_name"], new["phone"]) == ("ישראל ישראלי", "ישראל ישראלי", "+972545551234")
    assert new["lead_status"] == STATUSES[0]["id"] and new["utm_source"] == "פייסבוק"
    assert (
        at.success[0].value == f"**Lead created — id {new['id']}.** The form below is ready for the next one."
    )
    assert gen(at) == 1 and field(at, "name").value == "" and field(at, "phone").value == ""
    assert "2 leads" in at.sidebar.caption[0].value  # the cached leads were refreshed

    at.run()  # a rerun does not send it again
    assert crm.db.count() == 2


def test_a_duplicate_phone_is_shown_and_needs_confirmation(serve_leads):
    crm = serve_leads([EXISTING])
    at = open_page()
    field(at, "name").input("Dana Cohen")
    field(at, "phone").input("+972 50 234 5678")  # the same number as the existing 050-234-5678
    create(at)
    assert at.warning[0].value.startswith("**Possible duplicate:** 1 lead(s) in the CRM")
    shown = at.dataframe[0].value
    assert shown["name"].tolist() == ["דנה כהן"]
    assert shown["status"].tolist() == ["☎️ אין מענה"]
    assert shown["matched_on"].tolist() == ["phone"]
    assert crm.db.count() == 1

    at.button(key="nl_confirm_0").click().run()
    assert crm.db.count() == 2
    assert at.success[0].value.startswith("**Lead created — id ")
    assert not at.warning


def test_cancelling_a_duplicate_sends_nothing_and_keeps_the_form(serve_leads):
    crm = serve_leads([EXISTING])
    at = open_page()
    field(at, "name").input("Dana Cohen")
    field(at, "phone").input("0502345678")
    create(at)
    at.button(key="nl_cancel_0").click().run()
    assert not at.warning and crm.db.count() == 1
    assert field(at, "phone").value == "0502345678"


@pytest.fixture
def faulty_crm(tmp_path, monkeypatch):
    """Like serve_leads([EXISTING]), on a CRM whose faults the test injects."""
    with FaultyDemoCRM(tmp_path / "faulty", size=0, page_size=4) as crm:
        crm.db.import_items([EXISTING])
        monkeypatch.setenv("LEADS_SOURCE", "v2")
        monkeypatch.setenv("LEADS_BASE_URL", crm.base_url)
        monkeypatch.setenv("LEADS_TOKEN", crm.token)
        yield crm


def outbox() -> list:
    return Store(Path(os.environ["LEADS_DATA_DIR"])).outbox_list()


def test_a_failed_send_keeps_what_was_typed_and_the_lead_in_the_outbox(faulty_crm):
    at = open_page()
    faulty_crm.inject("/v2/leads/create", 500)
    field(at, "name").input("Noa Levi")
    field(at, "phone").input("053-123-4567")
    create(at)
    # the CRM's words are escaped for Markdown (shown as text): read them back without the escapes
    assert re.sub(r"\\(.)", r"\1", at.error[0].value) == (
        "**The lead was not created.** The CRM had a problem and did not create the lead. The CRM had an "
        'internal error (500 on /v2/leads/create). It said: "Internal Server Error (injected fault 500)"'
    )
    assert field(at, "name").value == "Noa Levi"  # nothing typed is lost
    [item] = outbox()
    assert (item.state, item.lead["phone"]) == ("failed", "+972531234567")
    shown = [m.value for m in at.markdown if "Noa Levi" in m.value]
    assert shown and "🔴 failed" in shown[0] and "1 attempt(s)" in shown[0]
    assert "053-123-4567" in shown[0]  # the phone as people write it, not +972…

    create(at)  # the same entry again: not sent twice, pointed at the outbox
    assert "already in the outbox" in at.warning[0].value
    assert len(outbox()) == 1
    assert faulty_crm.db.count() == 1

    at.button(key=f"nl_retry_{item.id}_1").click().run()  # the CRM is fine again
    assert at.success[0].value.startswith("Lead created: id ")
    assert outbox() == [] and faulty_crm.db.count() == 2
    assert "Empty" in at.main.caption[-1].value


def test_a_timeout_is_marked_unknown_and_can_be_discarded(faulty_crm, monkeypatch):
    at = open_page()
    faulty_crm.inject("/v2/leads/create", 504)  # a gateway gave up: the outcome is unknown
    field(at, "name").input("Noa Levi")
    field(at, "phone").input("053-123-4567")
    create(at)
    assert "the lead may or may not have been created" in at.error[0].value
    [item] = outbox()
    assert item.state == "unknown"
    assert any("🟠 unknown" in m.value for m in at.markdown)
    at.button(key=f"nl_discard_{item.id}").click().run()
    assert "Discard this lead?" in at.warning[0].value and len(outbox()) == 1  # asks first, keeps it
    at.button(key=f"nl_discard_no_{item.id}").click().run()
    assert len(outbox()) == 1 and not at.warning  # "Keep it" keeps it
    at.button(key=f"nl_discard_{item.id}").click().run()
    at.button(key=f"nl_discard_yes_{item.id}").click().run()
    assert outbox() == []


def test_retrying_an_unknown_item_finds_the_lead_already_in_the_crm(serve_leads):
    # the lead reached the CRM (created just now) but the answer was lost
    crm = serve_leads([EXISTING, {"name": "Avi", "f_name": "Avi", "phone": "+972545551234"}])
    store = Store(Path(os.environ["LEADS_DATA_DIR"]))
    item_id = store.outbox_add(
        {"name": "Avi", "first_name": "Avi", "phone": "+972545551234"}, "timeout", "unknown"
    )
    at = open_page()
    assert any("🟠 unknown" in m.value for m in at.markdown)
    at.button(key=f"nl_retry_{item_id}_1").click().run()
    new_id = crm.db.leads_page(1, 1)[0]["id"]
    assert at.success[0].value == f"The CRM already has this lead (id {new_id}): it was not sent again."
    assert crm.db.count() == 2
    assert store.outbox_list() == []
