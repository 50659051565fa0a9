"""The pages' copy of the synced leads, in process memory, kept fresh by the store's version number.

    cache = LeadCache(lead_store, crm, snapshot_dir=data_dir / "cache")
    frame = cache.leads()          # live leads (canonical columns + extras), never a CRM request

The first call reads the store (or, faster, this machine's snapshot of it plus what changed since); every
later call first asks the store for its version (one cheap query) and, when it moved, pulls only the rows
written since the last read (`LeadStore.leads_since(crm, after=rv)`), replacing changed leads and dropping
deleted ones. One LeadCache is shared by every session of a process (a lock guards it); the frame it
returns is never changed in place, so a page may keep using a frame while a newer one is built.

The snapshot (Parquet, in LEADS_DATA_DIR/cache) is only a cache of the store for a quick restart: it holds
the frame and the row version it reflects; it is rewritten when a read had to pull many rows from the
store, and ignored (then rebuilt) when it does not match the store (another CRM, a newer snapshot than the
store, or a different number of live leads than the store holds).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api.types import union_categoricals

from lib.schema import LEAD_COLUMNS, empty_leads

SNAPSHOT_MIN_ROWS = 20_000  # rewrite the snapshot once a read pulled this many rows (or a fifth of all)
_CAT = "category"


class LeadCache:
    """See the module docstring. `lead_store` is a lib.lead_store.LeadStore."""

    def __init__(self, lead_store: Any, crm: str, snapshot_dir: Path | None = None) -> None:
        self.store = lead_store
        self.crm = crm
        self._lock = threading.Lock()
        self._frame: pd.DataFrame | None = None
        self._rv = 0
        self._version: int | None = None
        self._snapshot = None
        if snapshot_dir is not None:
            self._snapshot = Path(snapshot_dir) / f"leads-{hashlib.sha256(crm.encode()).hexdigest()[:16]}"

    def leads(self) -> pd.DataFrame:
        """The live leads as of the store's current version."""
        with self._lock:
            version = self.store.version(self.crm)
            if self._frame is not None and version == self._version:
                return self._frame
            from_snapshot = False
            if self._frame is None:
                self._frame, self._rv = self._from_snapshot()
                from_snapshot = self._frame is not None
            delta, rv = self.store.leads_since(self.crm, after=self._rv)
            pulled = len(delta)
            frame = merge(self._frame, delta)
            if from_snapshot and self.store.live_count(self.crm) != len(frame):  # not this store's copy
                delta, rv = self.store.leads_since(self.crm, after=0)
                pulled, frame = len(delta), merge(None, delta)
            self._frame, self._rv, self._version = frame, rv, version
            if self._snapshot is not None and pulled >= max(SNAPSHOT_MIN_ROWS, len(frame) // 5):
                self._write_snapshot(frame, rv)
            return frame

    # -- snapshot ---------------------------------------------------------------------------------------

    def _from_snapshot(self) -> tuple[pd.DataFrame | None, int]:
        if self._snapshot is None:
            return None, 0
        meta_path = self._snapshot.with_suffix(".json")
        data_path = self._snapshot.with_suffix(".parquet")
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("crm") != self.crm or int(meta["rv"]) > int(self.store.version(self.crm)):
                return None, 0
            frame = pd.read_parquet(data_path)
        except Exception:  # missing, damaged (pyarrow's own errors) or foreign: the store is the truth
            return None, 0
        return canonical_types(frame), int(meta["rv"])

    def _write_snapshot(self, frame: pd.DataFrame, rv: int) -> None:
        assert self._snapshot is not None
        try:
            self._snapshot.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._snapshot.with_suffix(f".{os.getpid()}.tmp")
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, self._snapshot.with_suffix(".parquet"))
            meta = json.dumps({"crm": self.crm, "rv": int(rv), "rows": len(frame)})
            tmp_meta = self._snapshot.with_suffix(f".{os.getpid()}.json.tmp")
            tmp_meta.write_text(meta)
            os.replace(tmp_meta, self._snapshot.with_suffix(".json"))
        except (OSError, ValueError):
            pass  # a snapshot is only a speed-up: without it the next start reads the store


def canonical_types(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame read back from Parquet with the canonical dtypes (string categories, nullable strings)."""
    out = frame.copy()
    for col, dtype in LEAD_COLUMNS.items():
        if col not in out.columns:
            continue
        values = out[col]
        if dtype == _CAT:
            if isinstance(values.dtype, pd.CategoricalDtype):
                cats = values.cat.categories.astype("string")
                out[col] = pd.Categorical.from_codes(values.cat.codes, categories=cats)
            else:
                out[col] = values.astype("string").astype(pd.CategoricalDtype())
        elif dtype == "string" and values.dtype != "string":
            out[col] = values.astype("string")
    return out


def merge(frame: pd.DataFrame | None, delta: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the leads of `delta` replacing theirs (by lead_id), deleted ones (deleted_at set)
    dropped and new ones appended; categorical columns stay categorical (their categories united)."""
    live = delta
    if "deleted_at" in delta.columns:
        live = delta[delta["deleted_at"].isna()].drop(columns="deleted_at")
    if frame is None:
        return live.reset_index(drop=True) if len(live.columns) else empty_leads()
    if delta.empty:
        return frame
    keep = frame[~frame["lead_id"].isin(delta["lead_id"])]
    if live.empty:
        return keep.reset_index(drop=True)
    parts = {}
    for col in dict.fromkeys([*keep.columns, *live.columns]):
        a = keep[col] if col in keep.columns else _blank(live[col], keep.index)
        b = live[col] if col in live.columns else _blank(keep[col], live.index)
        if isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype):
            parts[col] = pd.Series(union_categoricals([a, b], ignore_order=True))
        else:
            parts[col] = pd.concat([a.reset_index(drop=True), b.reset_index(drop=True)], ignore_index=True)
    return pd.DataFrame(parts)


def _blank(like: pd.Series, index: pd.Index) -> pd.Series:
    """A column of NA as long as `index`, of the dtype of `like` where that dtype can hold NA."""
    if isinstance(like.dtype, pd.CategoricalDtype):
        codes = [-1] * len(index)
        return pd.Series(pd.Categorical.from_codes(codes, categories=like.cat.categories), index=index)
    try:
        return pd.Series(pd.NA, index=index, dtype=like.dtype)
    except (TypeError, ValueError):
        return pd.Series(pd.NA, index=index, dtype="object")


__all__ = ["LeadCache", "canonical_types", "merge"]
