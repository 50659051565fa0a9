"""What every connector offers (the contract of design.md), so pages and tests can rely on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

Progress = Callable[[int, int], None]  # (pages fetched, leads so far)


@dataclass(frozen=True)
class CreatedLead:
    lead_id: str
    status_id: str | None
    message: str = ""


class Source(Protocol):
    """A connected CRM. `name` is its LEADS_SOURCE value; `label` says which CRM it is, for people."""

    name: str
    can_create: bool  # False: the new-lead page explains that this CRM takes no leads from the dashboard
    is_demo: bool

    @property
    def label(self) -> str: ...

    def statuses(self) -> pd.DataFrame: ...  # the canonical status catalogue (lib.schema)

    def leads(self, since: datetime | None = None, progress: Progress | None = None) -> pd.DataFrame: ...

    def lead_pages(
        self, since: datetime | None = None, progress: Progress | None = None
    ) -> Iterator[pd.DataFrame]: ...  # canonical frames as the CRM's pages arrive (see join_pages)

    def create_lead(self, lead: Mapping[str, Any]) -> CreatedLead: ...  # NotSupportedError if it cannot

    def check(self) -> str: ...  # one line describing a successful test connection, else a CRMError


def first_copies(items: list[dict], ids: list[str | None], seen: set[str]) -> list[dict]:
    """The items whose id is not in `seen` yet (the first copy of a lead wins, within the page too), adding
    their ids to `seen`; items without an id are dropped. `ids[i]` is the id of `items[i]`.

    Reading page by page, a lead met again on a later page (it moved while the CRM was paged) cannot replace
    the copy already handed on, so the later copy is dropped."""
    fresh = []
    for item, lead_id in zip(items, ids, strict=True):
        if lead_id is not None and lead_id not in seen:
            seen.add(lead_id)
            fresh.append(item)
    return fresh


def join_pages(frames: Iterable[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    """One canonical frame from per-page frames (`empty`, the connector's empty frame, when there are none):
    column dtypes as in the pages (categoricals re-made over the union of values), a lead present on more
    than one page kept once (its last copy, at the place of its first: what reading everything into one
    dict by id gave), `attrs["unreadable"]` summed per column. `attrs["incremental"]` is the caller's."""
    frames = list(frames)
    if not frames:
        out = empty.copy()
        out.attrs = {"unreadable": {}}
        return out
    unreadable: dict[str, int] = {}
    for frame in frames:
        for col, n in frame.attrs.get("unreadable", {}).items():
            unreadable[col] = unreadable.get(col, 0) + n
    if len(frames) == 1:
        out = frames[0].reset_index(drop=True)
    else:
        out = pd.concat([f.reset_index(drop=True) for f in frames], ignore_index=True)
        for col in frames[0].columns:
            if isinstance(frames[0][col].dtype, pd.CategoricalDtype) and not isinstance(
                out[col].dtype, pd.CategoricalDtype
            ):
                out[col] = _category(out[col])
            elif out[col].dtype != frames[0][col].dtype:
                out[col] = out[col].astype(frames[0][col].dtype)
    ids = out["lead_id"]
    if not ids.is_unique:
        first_place = pd.Series(np.arange(len(out))).groupby(ids.to_numpy()).transform("min")
        last = ~ids.duplicated(keep="last").to_numpy()
        order = np.argsort(first_place.to_numpy()[last], kind="stable")
        out = out[last].iloc[order].reset_index(drop=True)
    out.attrs = {"unreadable": {k: v for k, v in unreadable.items() if v}}
    return out


def _category(values: pd.Series) -> pd.Series:
    """A categorical over nullable strings, categories in order of appearance (as lib.schema makes them)."""
    s = values.astype("string")
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype="string")))


def client_filtered_frames(
    item_pages: Iterable[tuple[list[dict], list[dict]]],
    to_frame: Callable[[list[dict]], pd.DataFrame],
    since: datetime | None,
    *,
    first_only: bool,
) -> Iterator[pd.DataFrame]:
    """Frames of a CRM read in full whose API cannot filter by update time: each page's items (`fresh`: those
    not met on an earlier page, used when `first_only`) become a canonical frame, kept to the leads updated at
    or after `since` (rounded down to the second); `attrs["incremental"]` is False and `attrs["unreadable"]`
    counts the whole page's unreadable values."""
    floor = None if since is None else pd.Timestamp(since).tz_convert("UTC").floor("s")
    for items, fresh in item_pages:
        frame = to_frame(fresh if first_only else items)
        if floor is not None:
            unreadable = frame.attrs.get("unreadable", {})
            frame = frame[frame["updated_at"] >= floor].reset_index(drop=True)
            frame.attrs["unreadable"] = unreadable
        frame.attrs["incremental"] = False
        yield frame
