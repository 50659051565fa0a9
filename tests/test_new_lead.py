"""lib.new_lead: the name rule, cleaning, validation, status/owner choices and duplicate lookup.

Expected values are written out by hand. Phone numbers come from ranges `phonenumbers` knows as allocated
(050-234-5678, 054-555-1234, 053-123-4567, 02-123-4567): is_valid_number refuses unallocated ones.
"""

from __future__ import annotations

import pandas as pd
import pytest

from lib.new_lead import (
    FIELDS,
    apply_name_rule,
    clean_text,
    default_status,
    find_created,
    find_duplicates,
    owner_choices,
    validate,
)
from lib.schema import to_canonical_leads

# -- the name rule of seed 003 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (("ישראל ישראלי", "", ""), ("ישראל ישראלי", "ישראל ישראלי", "")),  # full name only: same in f_name
        (("", "דנה", "כהן"), ("דנה כהן", "דנה", "כהן")),  # first + last: name = "first last"
        (("", "Dana", ""), ("Dana", "Dana", "")),
        (("Dana Cohen-Levi", "Dana", "Cohen-Levi"), ("Dana Cohen-Levi", "Dana", "Cohen-Levi")),  # all kept
        (("ד״ר משה", "משה", ""), ("ד״ר משה", "משה", "")),  # both given: nothing is overwritten
        (("", "", "כהן"), ("", "", "כהן")),  # a last name alone is not a name (validate says so)
    ],
)
def test_name_rule(given, expected):
    assert apply_name_rule(*given) == expected


# -- cleaning -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "multiline", "expected"),
    [
        ("  שרה   לוי ", False, "שרה לוי"),
        ("Sara\x00\x07 Levi\x1b", False, "Sara Levi"),  # control characters stripped
        ("line\none\ttab", False, "line one tab"),  # a one-line field gets spaces
        ("\u202eevil\u202c name\ufeff", False, "evil name"),  # bidi override and BOM stripped
        ("שלום\u200f!", False, "שלום\u200f!"),  # a right-to-left mark is legitimate Hebrew text
        ("👩‍💻 Dev", False, "👩‍💻 Dev"),  # the zero-width joiner of an emoji stays
        ("first\r\nsecond  \r\n\x00third\tx", True, "first\nsecond\nthird x"),
        ("e\u0301", False, "\u00e9"),  # NFC
        (None, False, ""),
    ],
)
def test_clean_text(raw, multiline, expected):
    assert clean_text(raw, multiline) == expected


# -- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("050-234-5678", "+972502345678"),
        ("0502345678", "+972502345678"),
        ("050 234 5678", "+972502345678"),
        ("(050) 234-5678", "+972502345678"),
        ("050.234.5678", "+972502345678"),
        ("+972-50-234-5678", "+972502345678"),
        ("+972 50 234 5678", "+972502345678"),
        ("+972502345678", "+972502345678"),
        ("972502345678", "+972502345678"),
        ("972-54-555-1234", "+972545551234"),
        ("00972545551234", "+972545551234"),
        ("+972 (0)53-123-4567", "+972531234567"),
        ("054–555–1234", "+972545551234"),  # en dashes pasted from a document
        ("\u200e054-555-1234\u200f", "+972545551234"),  # direction marks pasted from Hebrew text
        ("02-123-4567", "+97221234567"),  # a Jerusalem landline
        ("03 123 4567", "+97231234567"),
        ("+1 212 555 0123", "+12125550123"),  # a foreign number with its country code
    ],
)
def test_israeli_numbers_in_every_common_form_are_sent_as_e164(typed, e164):
    lead, errors = validate({"name": "דנה כהן", "phone": typed}, "IL")
    assert errors == {}
    assert lead["phone"] == e164


@pytest.mark.parametrize(
    ("typed", "message_part"),
    [
        ("", "Required"),
        ("   ", "Required"),
        ("hello", "digits only"),
        ("1-800-FLOWERS", "digits only"),  # letters are not turned into digits
        ("050-234-5678 ext 5", "digits only"),
        ("050-234", "Too short"),
        ("050-234-567", "Not a valid phone number in IL"),  # a digit missing
        ("050-234-56789", "Not a valid phone number in IL"),  # a digit too many
        ("0000000000", "Not a valid phone number in IL"),
        ("+1 555 5555", "Not a valid phone number in IL"),  # a US number without its area code
        ("1234567890123456", "Too long"),
    ],
)
def test_bad_phones_are_refused_with_a_message(typed, message_part):
    lead, errors = validate({"name": "Dana", "phone": typed}, "IL")
    assert message_part in errors["phone"]
    assert lead["phone"] is None


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("dana@example.com", "dana@example.com"),
        ("  Dana.Levi@Example.CO.IL ", "Dana.Levi@example.co.il"),  # domain lower-cased, trimmed
        ("user+tag@sub.example.org", "user+tag@sub.example.org"),
        ("דנה@דוגמה.קום", "דנה@דוגמה.קום"),  # internationalised address
        ("", None),  # e-mail is optional
    ],
)
def test_good_emails(typed, sent):
    lead, errors = validate({"name": "Dana", "phone": "0502345678", "email": typed}, "IL")
    assert errors == {}
    assert lead["email"] == sent


@pytest.mark.parametrize(
    ("typed", "message_part"),
    [
        ("no-at-sign", "must have an @-sign"),
        ("a@b", "should have a period"),
        ("a@@b.com", "invalid characters"),
        ("dana levi@example.com", "invalid characters"),
        ("dana@example.com.", "cannot end with a period"),
        ("@example.com", "something before the @-sign"),
        ("x@localhost", "should have a period"),
    ],
)
def test_bad_emails(typed, message_part):
    lead, errors = validate({"name": "Dana", "phone": "0502345678", "email": typed}, "IL")
    assert set(errors) == {"email"}
    assert message_part in errors["email"]
    assert lead["email"] is None


NAME_REQUIRED = "Required: enter the full name (or a first name)"
OK = {"name": "Dana", "phone": "0502345678"}


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        ({}, {"name": NAME_REQUIRED, "phone": "Required: enter a phone number"}),
        ({"last_name": "כהן", "phone": "0502345678"}, {"name": NAME_REQUIRED}),
        ({"name": "0502345678", "phone": "0502345678"}, {"name": "A name needs at least one letter"}),
        ({"name": "\x00\x01", "phone": "0502345678"}, {"name": NAME_REQUIRED}),
        ({**OK, "name": "א" * 120}, {}),
        ({**OK, "name": "א" * 121}, {"name": "At most 120 characters (this has 121)"}),
        ({**OK, "text": "x" * 2001}, {"text": "At most 2,000 characters (this has 2,001)"}),
        ({**OK, "utm_source": "s" * 251}, {"utm_source": "At most 250 characters (this has 251)"}),
        ({**OK, "ext_two": "e" * 501}, {"ext_two": "At most 500 characters (this has 501)"}),
        ({**OK, "status_id": "42"}, {"status_id": "Choose one of the active statuses"}),
        ({**OK, "status_id": "2"}, {}),
    ],
)
def test_required_fields_and_limits(form, errors):
    assert validate(form, "IL", status_ids={"1", "2"})[1] == errors


def test_a_full_hebrew_lead_is_cleaned_into_every_canonical_key():
    status = "233069071553535427697228277840563827497"
    form = {
        "name": "  ישראל   ישראלי\x00 ",
        "phone": "054-555-1234",
        "email": "Israel@Example.co.il",
        "company": 'בע״מ\t"אופק"',
        "text": "להתקשר אחרי 17:00\r\nשאל על מחירים",
        "is_subscriber": True,
        "owner": "מיכל",
        "status_id": status,
        "utm_source": "פייסבוק",
        "utm_campaign": "חג האהבה",
        "ext_one": "בערב",
    }
    lead, errors = validate(form, "IL", status_ids={status})
    assert errors == {}
    assert set(lead) == set(FIELDS)
    assert lead == {
        "name": "ישראל ישראלי",
        "first_name": "ישראל ישראלי",  # seed 003: not split, so the same value in f_name
        "last_name": None,
        "phone": "+972545551234",
        "email": "Israel@example.co.il",
        "company": 'בע״מ "אופק"',
        "owner": "מיכל",
        "text": "להתקשר אחרי 17:00\nשאל על מחירים",
        "is_subscriber": True,
        "status_id": status,  # the exact 39-digit string
        "utm_source": "פייסבוק",
        "utm_medium": None,
        "utm_campaign": "חג האהבה",
        "utm_term": None,
        "utm_content": None,
        "ext_one": "בערב",
        "ext_two": None,
        "ext_three": None,
        "ext_four": None,
    }


def test_first_and_last_name_make_the_full_name():
    lead, errors = validate({"first_name": "Noa", "last_name": "Mizrahi", "phone": "+972502345678"}, "IL")
    assert errors == {}
    assert (lead["name"], lead["first_name"], lead["last_name"]) == ("Noa Mizrahi", "Noa", "Mizrahi")
    assert lead["is_subscriber"] is False and lead["status_id"] is None


# -- statuses and owners ------------------------------------------------------------------------------


def _statuses(rows):
    return pd.DataFrame(
        {
            "status_id": pd.array([r[0] for r in rows], dtype="string"),
            "status": pd.array([r[1] for r in rows], dtype="string"),
            "is_active": [r[2] for r in rows],
            "position": [r[3] for r in rows],
            "role": pd.array([r[4] for r in rows], dtype="string"),
            "stage": pd.array([r[5] for r in rows], dtype="Int64"),
        }
    )


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # id, name, active, position, role, stage
        ([("a", "In progress", True, 0, "open", 1), ("b", "New", True, 1, "open", 0)], "b"),
        ([("a", "Old new", False, 0, "open", 0), ("b", "New", True, 1, "open", 0)], "b"),  # inactive skipped
        ([("b", "New", True, 5, "open", 0), ("a", "Fresh", True, 2, "open", 0)], "a"),  # CRM order
        ([("a", "Call", True, 0, "open", 1), ("b", "Spam", True, 1, "junk", None)], "a"),  # none at stage 0
        ([("a", "Won", True, 0, "won", 0), ("b", "Call", True, 1, "open", 1)], "a"),  # open is needed: first
        ([("a", "Old", False, 0, "open", 0)], None),
    ],
)
def test_default_status(rows, expected):
    assert default_status(_statuses(rows)) == expected


def test_owner_choices_are_the_distinct_owners_seen_sorted():
    leads = to_canonical_leads(pd.DataFrame({"owner": ["Yossi", None, "אורית", "Yossi", " ", "Avi"]}))
    assert owner_choices(leads) == ["Avi", "Yossi", "אורית"]


# -- duplicates ---------------------------------------------------------------------------------------


def _leads():
    return to_canonical_leads(
        pd.DataFrame(
            {
                "lead_id": ["1", "2", "3", "4"],
                "name": ["דנה כהן", "Dana C", "Moshe", "No phone"],
                "phone": ["+972502345678", "+972545551234", "+972502345678", None],
                "email": ["dana@example.com", "dana@example.com", None, None],
                "status": ["חדש", "בטיפול", "כפול", "חדש"],
                "created_at": pd.to_datetime(
                    ["2025-01-01T10:00Z", "2025-02-01T10:00Z", "2025-03-01T10:00Z", "2025-04-01T10:00Z"]
                ),
            }
        )
    )


@pytest.mark.parametrize(
    ("phone", "email", "ids", "matched"),
    [
        ("+972502345678", None, ["3", "1"], ["phone", "phone"]),  # newest first
        (None, "DANA@Example.com", ["2", "1"], ["email", "email"]),  # e-mail compared lower-cased
        ("+972502345678", "dana@example.com", ["3", "2", "1"], ["phone", "email", "phone and email"]),
        ("+972531234567", "other@example.com", [], []),
        (None, None, [], []),
    ],
)
def test_find_duplicates(phone, email, ids, matched):
    out = find_duplicates(_leads(), phone, email)
    assert out["lead_id"].tolist() == ids
    assert out["matched_on"].tolist() == matched
    assert {"name", "status", "created_at"} <= set(out.columns)


def test_find_created_looks_only_at_recent_leads_with_the_phone():
    since = pd.Timestamp("2025-02-15T00:00Z")
    assert find_created(_leads(), "+972502345678", since)["lead_id"].tolist() == ["3"]
    assert find_created(_leads(), "+972545551234", since).empty  # created before `since`
    assert find_created(_leads(), None, since).empty
