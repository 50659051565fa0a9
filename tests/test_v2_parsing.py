"""The v2 connector's reading of items and paging rules, on hand-built data (no server needed).

Paging edge cases that a well-behaved server never produces (loops, duplicates across pages, no `next`
but `hasMore`) are served by httpx.MockTransport here; the normal paths run over loopback HTTP against the
demo CRM in test_v2_connector.py.
"""

import httpx
import pandas as pd
import pytest

from lib.crm.http import HttpClient
from lib.crm.v2 import V2Source, next_page, wire_lead
from lib.errors import CRMResponseError

NEW = "233069071553535427697228277840563827497"
WON = "233069071553537845548867507098913239849"
STATUSES = {
    "items": [
        {"id": NEW, "name": "💫 חדש", "is_active": "Y"},
        {"id": WON, "name": "🎉 הומר ללקוח", "is_active": "Y"},
        {"id": "233283533732675753954283890808071309", "name": "💡 פולו-אפ", "is_active": "N"},
    ]
}


def source_for(pages: dict[str, dict], max_pages: int = 100) -> tuple[V2Source, list[str]]:
    """A source whose server answers each path+query in `pages` (statuses are always STATUSES)."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.url.raw_path.decode()
        asked.append(key)
        if key.endswith("/v2/leads/statuses"):
            return httpx.Response(200, json=STATUSES)
        if key not in pages:
            return httpx.Response(404, json={"message": "no such page"})
        return httpx.Response(200, json=pages[key])

    http = HttpClient("https://crm.example/p", "t", transport=httpx.MockTransport(handler))
    return V2Source(http, max_pages=max_pages), asked


def item(i: str, **kw) -> dict:
    return {
        "id": i,
        "name": f"Lead {i}",
        "f_name": f"Lead {i}",
        "phone": "0521234567",
        "lead_status": NEW,
        **kw,
    }


def test_statuses_keep_exact_ids_names_order_and_activity():
    src, _ = source_for({})
    cat = src.statuses()
    assert cat["status_id"].tolist() == [NEW, WON, "233283533732675753954283890808071309"]
    assert cat["status"].tolist() == ["💫 חדש", "🎉 הומר ללקוח", "💡 פולו-אפ"]
    assert cat["is_active"].tolist() == [True, True, False]
    assert cat["position"].tolist() == [0, 1, 2]
    assert cat["role"].tolist() == ["open", "won", "open"]
    assert cat["stage"].tolist() == [0, 3, 1]


def test_items_become_canonical_rows():
    src, _ = source_for({})
    items = [
        item(
            "271900000000000000000000000000000000329",
            name="דנה כהן 🌸",
            f_name="דנה",
            l_name="כהן",
            email=" Dana.Cohen@Gmail.COM ",
            phone="050-123-4567",
            lead_status=WON,
            created_at="2026-11-20T14:03:27",  # no offset: Jerusalem local time (UTC+2 in November)
            updated_at="2026-07-01T10:00:00+03:00",
            utm_source=" Facebook ",
            utm_campaign="חג האהבה",
            text="call after 5",
            ext_one="ערב",
        ),
        item("2", lead_status="999", created_at="not a date", updated_at=None, utm_source=""),
    ]
    frame = src.to_frame(items, src.statuses())
    first = frame.iloc[0]
    assert first["lead_id"] == "271900000000000000000000000000000000329"
    assert first["name"] == "דנה כהן 🌸"
    assert (first["first_name"], first["last_name"]) == ("דנה", "כהן")
    assert first["email"] == "dana.cohen@gmail.com"
    assert first["phone"] == "+972501234567"
    assert first["status_id"] == WON and first["status"] == "🎉 הומר ללקוח"
    assert first["created_at"] == pd.Timestamp("2026-11-20T12:03:27Z")
    assert first["updated_at"] == pd.Timestamp("2026-07-01T07:00:00Z")
    assert first["utm_source"] == "Facebook"  # trimmed, otherwise raw
    assert first["utm_campaign"] == "חג האהבה"
    assert first["text"] == "call after 5" and first["ext_one"] == "ערב"
    second = frame.iloc[1]
    assert second["status_id"] == "999" and pd.isna(second["status"])  # unknown status kept by id
    assert pd.isna(second["created_at"]) and pd.isna(second["utm_source"])
    assert frame.attrs["unreadable"] == {"created_at": 1}
    assert str(frame["lead_id"].dtype) == "string"


def test_numeric_ids_from_a_careless_server_stay_exact_strings():
    src, _ = source_for({})
    big = 233069071553535427697228277840563827497  # what json.loads gives for a bare 39-digit number
    frame = src.to_frame([item(big, lead_status=big)], src.statuses())
    assert frame["lead_id"].tolist() == [str(big)]
    assert frame["status"].tolist() == ["💫 חדש"]


def test_paging_follows_next_refs_and_deduplicates_by_id():
    base = "https://crm.example/p/v2/leads"
    pages = {
        "/p/v2/leads": {"items": [item("1"), item("2")], "next": {"$ref": f"{base}?page=1"}},
        "/p/v2/leads?page=1": {
            "items": [item("2", name="Lead 2 updated"), item("3")],
            "next": {"$ref": f"{base}?page=2"},
        },
        "/p/v2/leads?page=2": {"items": [item("4")]},
    }
    src, asked = source_for(pages)
    progress: list[tuple[int, int]] = []
    frame = src.leads(progress=lambda p, n: progress.append((p, n)))
    assert frame["lead_id"].tolist() == ["1", "2", "3", "4"]
    assert frame.loc[frame["lead_id"] == "2", "name"].item() == "Lead 2 updated"
    assert progress == [(1, 2), (2, 3), (3, 4)]
    assert asked.count("/p/v2/leads?page=2") == 1


def test_newer_ords_form_with_has_more_and_links():
    pages = {
        "/p/v2/leads": {
            "items": [item("1")],
            "hasMore": True,
            "limit": 1,
            "offset": 0,
            "links": [
                {"rel": "self", "href": "x"},
                {"rel": "next", "href": "https://other.host/p/v2/leads?offset=1&limit=1"},
            ],
        },
        "/p/v2/leads?offset=1&limit=1": {
            "items": [item("2")],
            "hasMore": False,
            "links": [{"rel": "next", "href": "https://crm.example/p/v2/leads?x"}],
        },
    }
    src, asked = source_for(pages)
    assert src.leads()["lead_id"].tolist() == ["1", "2"]
    assert "/p/v2/leads?x" not in asked  # hasMore false wins over a stray next link


def test_a_paging_loop_is_stopped_with_a_clear_error():
    pages = {
        "/p/v2/leads": {"items": [item("1")], "next": {"$ref": "/p/v2/leads?page=1"}},
        "/p/v2/leads?page=1": {"items": [item("2")], "next": {"$ref": "/p/v2/leads"}},
    }
    src, _ = source_for(pages)
    with pytest.raises(CRMResponseError, match="loop"):
        src.leads()


def test_the_page_cap_stops_an_endless_server():
    pages = {
        f"/p/v2/leads?page={i}": {"items": [item(str(i))], "next": {"$ref": f"/p/v2/leads?page={i + 1}"}}
        for i in range(1, 10)
    }
    pages["/p/v2/leads"] = {"items": [item("0")], "next": {"$ref": "/p/v2/leads?page=1"}}
    src, asked = source_for(pages, max_pages=5)
    with pytest.raises(CRMResponseError, match="page cap"):
        src.leads()
    assert len([a for a in asked if "statuses" not in a]) == 5


def test_an_empty_page_ends_paging_even_with_a_next_link():
    pages = {"/p/v2/leads": {"items": [], "next": {"$ref": "/p/v2/leads?page=1"}}}
    src, asked = source_for(pages)
    assert len(src.leads()) == 0
    assert "/p/v2/leads?page=1" not in asked


def test_a_page_without_items_is_a_clear_error():
    src, _ = source_for({"/p/v2/leads": {"message": "hello"}})
    with pytest.raises(CRMResponseError, match="no `items`"):
        src.leads()


def test_next_page_reads_both_forms():
    assert next_page({"next": {"$ref": "a"}}) == "a"
    assert next_page({"hasMore": True, "links": [{"rel": "next", "href": "b"}]}) == "b"
    assert next_page({"hasMore": False, "links": [{"rel": "next", "href": "b"}]}) is None
    assert next_page({"items": []}) is None


@pytest.mark.parametrize(
    ("given", "name", "f_name", "l_name"),
    [
        ({"name": "משה כהן"}, "משה כהן", "משה כהן", None),  # seed 003: unsplit name goes in both
        ({"first_name": "Dana", "last_name": "Levi"}, "Dana Levi", "Dana", "Levi"),
        ({"first_name": "Dana"}, "Dana", "Dana", None),
        ({"name": "Dana L.", "first_name": "Dana", "last_name": "Levi"}, "Dana L.", "Dana", "Levi"),
        ({"name": "  ", "first_name": " יוסי ", "last_name": ""}, "יוסי", "יוסי", None),
    ],
)
def test_wire_lead_name_rules(given, name, f_name, l_name):
    body = wire_lead({**given, "phone": "+972521234567"})
    assert body["name"] == name
    assert body["f_name"] == f_name
    assert body.get("l_name") == l_name


def test_wire_lead_sends_status_as_the_exact_string_and_drops_empty_fields():
    body = wire_lead(
        {
            "name": "x",
            "phone": "1",
            "status_id": NEW,
            "email": "",
            "utm_source": "fb",
            "is_subscriber": True,
            "note": "שלום",
        }
    )
    assert body["lead_status"] == NEW and isinstance(body["lead_status"], str)
    assert "email" not in body
    assert body["utm_source"] == "fb" and body["is_subscriber"] is True and body["text"] == "שלום"


def test_mixed_wire_types_are_read_exactly():
    src, _ = source_for({})
    items = [item(7, owner=12, is_subscriber=True, utm_term=None), item("8", owner=None, is_subscriber=False)]
    frame = src.to_frame(items, src.statuses())
    assert frame["lead_id"].tolist() == ["7", "8"]  # never "7.0"
    assert frame["owner"].astype(object).tolist()[0] == "12"
    assert frame["is_subscriber"].tolist() == ["true", "false"]
