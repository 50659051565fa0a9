"""The context every dashboard page starts from."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

import pandas as pd
import streamlit as st

from lib import analytics, clock
from lib.config import Settings
from lib.ui.auth import own_leads
from lib.ui.data import LoadedData, catalogue, load_data, settings, user_aliases
from lib.ui.filters import period_label, period_of, sidebar_filters, sidebar_status

# -- the context every dashboard page starts from --------------------------------------------------


@dataclass
class Page:
    settings: Settings
    data: LoadedData
    statuses: pd.DataFrame  # with the user's overrides
    aliases: dict | None
    filter: analytics.LeadFilter
    scoped: pd.DataFrame  # every filter but the dates (for comparisons with the previous period)
    leads: pd.DataFrame  # every filter applied
    start: date
    end: date
    now: datetime  # the one clock's now (UTC) for this run: ages, idle days and partial periods use it

    @property
    def period(self) -> str:
        return period_label(self.start, self.end)


def page() -> Page:
    """Settings, data, sidebar filters and the filtered leads: the first line of every dashboard page."""
    s = settings()
    now = clock.now()
    data = own_leads(s, load_data(s))
    aliases = user_aliases(s)
    f = sidebar_filters(s, data, aliases)
    sidebar_status(s, data)
    scoped = analytics.filter_leads(data.leads, replace(f, start=None, end=None), s.timezone, aliases)
    leads = analytics.in_period(scoped, f.start, f.end, s.timezone)
    start, end = period_of(f, data.leads, s.timezone)
    return Page(s, data, catalogue(s, data), aliases, f, scoped, leads, start, end, now)


def no_leads_notice(p: Page) -> bool:
    """Says so and returns True when the selection holds no leads."""
    if len(p.leads):
        return False
    if len(p.data.leads) == 0:
        st.info("The CRM has no leads yet. They will show here as soon as the first one arrives.")
    else:
        st.info(
            f"No leads match the filters for {p.period}. "
            "Widen the date range or clear filters in the sidebar."
        )
    return True
