"""lib.lead_cache: the pages' in-memory copy of the synced leads (merge of what changed)."""

from __future__ import annotations

import pandas as pd

from lib.lead_cache import canonical_types, merge
from lib.schema import to_canonical_leads


def frame(rows: list[dict]) -> pd.DataFrame:
    return to_canonical_leads(pd.DataFrame(rows))


def test_merge_replaces_changed_drops_deleted_appends_new():
    old = frame(
        [
            {"lead_id": "1", "owner": "Dana", "status_id": "a"},
            {"lead_id": "2", "owner": "Avi", "status_id": "a"},
            {"lead_id": "3", "owner": "Dana", "status_id": "b"},
        ]
    )
    delta = frame(
        [
            {"lead_id": "2", "owner": "Avi", "status_id": "c"},  # changed
            {"lead_id": "3", "owner": "Dana", "status_id": "b"},  # deleted in the CRM
            {"lead_id": "4", "owner": "נועה", "status_id": "a"},  # new, a new owner
        ]
    )
    delta["deleted_at"] = pd.to_datetime([None, "2026-11-23T10:00:00Z", None], utc=True)
    out = merge(old, delta)
    # kept: 1 (unchanged); replaced: 2; dropped: 3; appended: 4 -> ids 1, 2, 4 in that order
    assert out["lead_id"].tolist() == ["1", "2", "4"]
    assert out["status_id"].astype("string").tolist() == ["a", "c", "a"]
    assert isinstance(out["owner"].dtype, pd.CategoricalDtype)  # still categorical, categories united
    assert set(out["owner"].cat.categories) == {"Dana", "Avi", "נועה"}
    assert "deleted_at" not in out.columns


def test_merge_of_nothing_new_keeps_the_same_frame_and_first_read_drops_deleted():
    old = frame([{"lead_id": "1", "status_id": "a"}])
    empty = frame([])
    empty["deleted_at"] = pd.Series([], dtype="datetime64[ns, UTC]")
    assert merge(old, empty) is old
    first = frame([{"lead_id": "1"}, {"lead_id": "2"}])
    first["deleted_at"] = pd.to_datetime([None, "2026-11-01T00:00:00Z"], utc=True)
    assert merge(None, first)["lead_id"].tolist() == ["1"]


def test_merge_keeps_extra_columns_of_either_side():
    old = frame([{"lead_id": "1", "pipeline": "Sales"}])
    delta = frame([{"lead_id": "2"}])
    out = merge(old, delta)
    assert out["lead_id"].tolist() == ["1", "2"]
    assert out["pipeline"].iloc[0] == "Sales" and pd.isna(out["pipeline"].iloc[1])


def test_canonical_types_after_parquet(tmp_path):
    original = frame([{"lead_id": "233069071553535427697228277840563827497", "owner": "דנה", "price": 5}])
    original.to_parquet(tmp_path / "x.parquet", index=False)
    back = canonical_types(pd.read_parquet(tmp_path / "x.parquet"))
    assert back["lead_id"].dtype == "string" and back["lead_id"].iloc[0] == original["lead_id"].iloc[0]
    assert isinstance(back["owner"].dtype, pd.CategoricalDtype)
    assert back["owner"].cat.categories.dtype == "string"
    assert str(back["created_at"].dtype) == "datetime64[ns, UTC]"


def _store_with(path, ids: list[str]):
    from datetime import UTC, datetime

    from lib.db import open_database
    from lib.lead_store import LeadStore

    store = LeadStore(open_database(f"sqlite:///{path}"))
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    run = store.begin_run("crm", started_at=now, mode="full", holder="test")
    store.write_page(
        "crm", frame([{"lead_id": i, "status_id": "a"} for i in ids]), run_id=run, now=now, full=True
    )
    return store


def test_a_restart_reads_the_snapshot_and_a_foreign_snapshot_is_ignored(tmp_path, monkeypatch):
    import lib.lead_cache as lead_cache

    monkeypatch.setattr(lead_cache, "SNAPSHOT_MIN_ROWS", 1)
    store = _store_with(tmp_path / "a.sqlite3", ["1", "2", "3"])
    first = lead_cache.LeadCache(store, "crm", tmp_path / "cache").leads()  # pulls 3 rows: writes a snapshot
    assert sorted(first["lead_id"]) == ["1", "2", "3"]
    assert (tmp_path / "cache").is_dir()
    again = lead_cache.LeadCache(store, "crm", tmp_path / "cache")  # a restart: the snapshot, nothing pulled
    assert sorted(again.leads()["lead_id"]) == ["1", "2", "3"]
    # another store of the same CRM key holding other leads: the snapshot is not its copy
    other = _store_with(tmp_path / "b.sqlite3", ["7", "8"])
    assert sorted(lead_cache.LeadCache(other, "crm", tmp_path / "cache").leads()["lead_id"]) == ["7", "8"]
