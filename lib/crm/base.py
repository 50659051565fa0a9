"""What every connector offers (the contract of design.md), so pages and tests can rely on it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

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

    def create_lead(self, lead: Mapping[str, Any]) -> CreatedLead: ...  # NotSupportedError if it cannot

    def check(self) -> str: ...  # one line describing a successful test connection, else a CRMError
