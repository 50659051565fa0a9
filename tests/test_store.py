"""lib.store: settings and the outbox persist across Store instances, on SQLite and on PostgreSQL
(`store_url` runs each store test on both)."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from lib.config import Settings
from lib.store import DEFAULT_EXT_LABELS, Store, apply_status_overrides, crm_key

NEW = "233069071553535427697228277840563827497"


def test_a_new_store_in_a_data_dir_creates_its_sqlite_file(tmp_path):
    store = Store(tmp_path / "nested" / "data")
    assert (tmp_path / "nested" / "data" / "dashboard.sqlite3").exists()
    assert store.path == tmp_path / "nested" / "data" / "dashboard.sqlite3"
    assert store.db.dialect == "sqlite"
    assert repr(store) == f"Store('sqlite:///{tmp_path}/nested/data/dashboard.sqlite3')"
    assert store.schema_version() == 6


def test_a_new_store_has_defaults(store_url):
    store = Store.open(store_url)
    assert store.schema_version() == 6
    assert "secret-pw" not in repr(store) and "secret-pw" not in store.url
    assert store.version() == 0
    assert store.status_overrides("demo") == {}
    assert store.utm_aliases() is None
    assert store.ext_labels() == {
        "ext_one": "Custom field 1",
        "ext_two": "Custom field 2",
        "ext_three": "Custom field 3",
        "ext_four": "Custom field 4",
    }
    assert store.outbox_list() == []


def test_settings_persist_across_instances_and_every_save_or_reset_bumps_the_version(store_url):
    a = Store.open(store_url)
    a.save_status_overrides("demo", {NEW: {"role": "won", "stage": 3}})
    assert a.version() == 1
    a.save_utm_aliases({"פייסבוק": "facebook", "fb": "facebook"})
    a.save_ext_labels({"ext_one": "שעה נוחה לחזרה", "ext_three": "  "})
    assert a.version() == 3
    a.close()

    b = Store.open(store_url)
    assert b.version() == 3
    assert b.status_overrides("demo") == {
        "233069071553535427697228277840563827497": {"role": "won", "stage": 3}
    }
    assert b.status_overrides("https://crm.example") == {}  # per CRM
    assert b.utm_aliases() == {"פייסבוק": "facebook", "fb": "facebook"}
    assert b.ext_labels() == {**DEFAULT_EXT_LABELS, "ext_one": "שעה נוחה לחזרה"}  # a blank keeps the default

    b.reset_status_overrides("demo")
    b.reset_utm_aliases()
    assert b.version() == 5
    assert b.status_overrides("demo") == {}
    assert b.utm_aliases() is None


def test_outbox_round_trip_with_hebrew_oldest_first(store_url):
    store = Store.open(store_url)
    lead = {
        "name": "ישראל ישראלי",
        "first_name": "ישראל ישראלי",
        "phone": "+972501234567",
        "text": "שורה\nשנייה",
    }
    first = store.outbox_add(lead, "The CRM had an internal error (500)", "failed")
    second = store.outbox_add({"name": "Dana", "phone": "+972521111111"}, "no answer", "unknown")
    assert second > first

    items = Store.open(store_url).outbox_list()  # another instance sees them
    assert [i.id for i in items] == [first, second]
    assert items[0].lead == lead
    assert items[0].error == "The CRM had an internal error (500)"
    assert items[0].state == "failed"
    assert items[0].attempts == 1
    assert items[0].created_at.tzinfo is not None
    assert items[0].created_at == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # NOW, 14:00 in Jerusalem

    store.outbox_update(first, error="still down (503)", state="unknown")
    updated = store.outbox_list()[0]
    assert (updated.error, updated.state, updated.attempts) == ("still down (503)", "unknown", 2)

    store.outbox_remove(first)
    assert [i.id for i in store.outbox_list()] == [second]
    assert store.version() == 0  # the outbox is not a setting


def test_outbox_refuses_an_unknown_state(store_url):
    with pytest.raises(ValueError):
        Store.open(store_url).outbox_add({"name": "x"}, "err", "lost")


def test_crm_key_is_demo_or_the_base_url():
    assert crm_key(Settings()) == "demo"
    assert crm_key(Settings(source="v2", base_url="https://crm.example/ords/", token="t")) == (
        "https://crm.example/ords"
    )


def _catalogue() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "status_id": pd.array(["1", "2", "3"], dtype="string"),
            "status": pd.array(["New", "Call back", "Spam"], dtype="string"),
            "is_active": [True, True, True],
            "position": [0, 1, 2],
            "role": pd.array(["open", "open", "junk"], dtype="string"),
            "stage": pd.array([0, 1, None], dtype="Int64"),
        }
    )


@pytest.mark.parametrize(
    ("overrides", "roles", "stages"),
    [
        ({}, ["open", "open", "junk"], [0, 1, pd.NA]),
        ({"2": {"role": "lost", "stage": 1}}, ["open", "lost", "junk"], [0, 1, pd.NA]),
        ({"3": {"role": "open", "stage": 0}}, ["open", "open", "open"], [0, 1, 0]),
        ({"1": {"role": "junk", "stage": 2}}, ["junk", "open", "junk"], [pd.NA, 1, pd.NA]),
        ({"2": {"stage": None}}, ["open", "open", "junk"], [0, pd.NA, pd.NA]),
        ({"2": {"role": "won", "stage": "x"}}, ["open", "won", "junk"], [0, 1, pd.NA]),  # bad stage kept
        ({"99": {"role": "won", "stage": 3}}, ["open", "open", "junk"], [0, 1, pd.NA]),  # unknown id
        ({"2": {"role": "customer", "stage": 3}}, ["open", "open", "junk"], [0, 1, pd.NA]),  # bad role
    ],
)
def test_apply_status_overrides(overrides, roles, stages):
    before = _catalogue()
    out = apply_status_overrides(before, overrides)
    assert out["role"].tolist() == roles
    assert [pd.NA if pd.isna(s) else s for s in out["stage"]] == stages
    assert str(out["stage"].dtype) == "Int64" and str(out["role"].dtype) == "string"
    assert before.equals(_catalogue())  # the input is not changed
