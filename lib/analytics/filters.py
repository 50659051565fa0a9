"""The sidebar's filters: what is selected, applying it, and the values to choose from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from lib.analytics._base import UNASSIGNED, _codes_and_labels
from lib.analytics.channels import channel
from lib.analytics.periods import in_period
from lib.analytics.utm import _normalized_codes


@dataclass(frozen=True)
class LeadFilter:
    """What the sidebar selects. Empty tuples mean "all"; UTM values and channels are normalised ones."""

    start: date | None = None
    end: date | None = None
    status_ids: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    mediums: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


def _selected(codes: np.ndarray, labels: Sequence, wanted: Iterable, missing_label: str | None) -> np.ndarray:
    index = {str(lab): i for i, lab in enumerate(labels)}
    keep = [index[w] for w in wanted if w in index]
    if missing_label is not None and missing_label in wanted:
        keep.append(-1)
    return np.isin(codes, np.array(keep, dtype=codes.dtype))


def filter_leads(
    leads: pd.DataFrame, f: LeadFilter, tz: str, aliases: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The leads `f` selects: created on whole days start..end in `tz`, and in every chosen list.

    Owners match by name ("(unassigned)" selects leads without one), statuses by id, UTM values and
    channels by their normalised form. Returns the same columns as `leads`."""
    mask = np.ones(len(leads), dtype=bool)
    if f.status_ids:
        codes, labels = _codes_and_labels(leads["status_id"])
        mask &= _selected(codes, labels, f.status_ids, None)
    if f.owners:
        codes, labels = _codes_and_labels(leads["owner"])
        mask &= _selected(codes, labels, f.owners, UNASSIGNED)
    utm = (("utm_source", f.sources), ("utm_medium", f.mediums), ("utm_campaign", f.campaigns))
    for column, wanted in utm:
        if wanted:
            codes, labels = _normalized_codes(leads[column], aliases)
            mask &= _selected(codes, labels, wanted, None)
    if f.channels:
        ch = channel(leads, aliases)
        mask &= _selected(ch.cat.codes.to_numpy(), list(ch.cat.categories), f.channels, None)
    selected = leads if mask.all() else leads[mask]
    return in_period(selected, f.start, f.end, tz)


def filter_options(leads: pd.DataFrame, aliases: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """The values each sidebar list offers: owners (with "(unassigned)" when some lead has none) and the
    normalised UTM sources, media and campaigns present, most frequent first."""

    def by_count(codes: np.ndarray, labels: Sequence) -> list[str]:
        counts = np.bincount(codes[codes >= 0], minlength=len(labels))
        order = np.argsort(-counts, kind="stable")
        return [str(labels[i]) for i in order if counts[i] > 0]

    codes, labels = _codes_and_labels(leads["owner"])
    owners = by_count(codes, labels) + ([UNASSIGNED] if (codes < 0).any() else [])
    out = {"owners": owners}
    for key, column in (("sources", "utm_source"), ("mediums", "utm_medium"), ("campaigns", "utm_campaign")):
        out[key] = by_count(*_normalized_codes(leads[column], aliases))
    return out
