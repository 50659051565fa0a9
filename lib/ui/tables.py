"""Tables with a CSV download of exactly what they show; the lead table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib import export
from lib.analytics import UNASSIGNED
from lib.config import Settings
from lib.links import lead_url_template, lead_urls
from lib.schema import EXTRA_DIMENSIONS

EAGER_CSV_ROWS = 2_000


def table(
    frame: pd.DataFrame, name: str, *, column_config: dict | None = None, height: int | None = None
) -> None:
    """A table with a CSV download of exactly what it shows (formula-like cells neutralised)."""
    st.dataframe(frame, column_config=column_config, hide_index=True, height=height or "auto")
    # a small table's CSV is made now; a big one's only when the button is clicked (off the rerun)
    st.download_button(
        "Download CSV",
        export.to_csv(frame) if len(frame) <= EAGER_CSV_ROWS else lambda: export.to_csv(frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        icon="⬇️",
        key=f"csv_{name}",
    )


def extra_dimensions(leads: pd.DataFrame) -> dict[str, str]:
    """Label -> column of the connector-specific dimensions these leads carry (a Kommo pipeline, an
    aiployees call campaign, a LiveTex lead type or site), for the pages' "split by" choices."""
    return {
        label: col
        for col, label in EXTRA_DIMENSIONS.items()
        if col in leads.columns and leads[col].notna().any()
    }


LEAD_TABLE_COLUMNS = [
    "created_at", "name", "phone", "email", "status", "owner", "company",
    "utm_source", "utm_medium", "utm_campaign", "updated_at", "lead_id",
]  # fmt: skip


# The stale leads: how long each has waited first, then who should act on it and how to reach the lead.
STALE_TABLE_COLUMNS = ["days_idle", "owner", "name", "phone", "status", "created_at", "updated_at"]


def leads_table(
    leads: pd.DataFrame,
    tz: str,
    name: str,
    *,
    extra: list[str] | None = None,
    columns: list[str] | None = None,
    lead_url: str | None = None,
) -> pd.DataFrame:
    """Leads as a table: times in the display zone, phone and e-mail as text, status by name; returns
    what it showed. `columns` replaces the default columns and order (LEAD_TABLE_COLUMNS), `extra` and
    the connector's dimensions follow; `lead_url` (a template with `{id}`, see lib.links) adds a last
    column `crm_link` linking each lead to its page in the CRM."""
    extra = [*(extra or []), *extra_dimensions(leads).values()]
    columns = [c for c in dict.fromkeys([*(columns or LEAD_TABLE_COLUMNS), *extra]) if c in leads.columns]
    shown = leads[columns]
    shown = shown.assign(
        **{c: shown[c].dt.tz_convert(tz) for c in ("created_at", "updated_at") if c in columns}
    )
    if lead_url and "lead_id" in leads.columns:
        shown = shown.assign(crm_link=lead_urls(leads["lead_id"], lead_url))
    config = {
        "created_at": st.column_config.DatetimeColumn(f"Created ({tz})", format="YYYY-MM-DD HH:mm"),
        "updated_at": st.column_config.DatetimeColumn(f"Updated ({tz})", format="YYYY-MM-DD HH:mm"),
        "name": st.column_config.TextColumn("Name"),
        "phone": st.column_config.TextColumn("Phone"),
        "email": st.column_config.TextColumn("E-mail"),
        "status": st.column_config.TextColumn("Status"),
        "owner": st.column_config.TextColumn("Owner"),
        "company": st.column_config.TextColumn("Company"),
        "lead_id": st.column_config.TextColumn("Lead id"),
        "days_idle": st.column_config.NumberColumn("Days idle", help="Whole days since the last update"),
        "crm_link": st.column_config.LinkColumn("In the CRM", display_text="Open in CRM"),
        **{col: st.column_config.TextColumn(label) for col, label in EXTRA_DIMENSIONS.items()},
    }
    table(shown, name, column_config=config)
    return shown


def stale_table(stale: pd.DataFrame, settings: Settings, name: str) -> pd.DataFrame:
    """Stale leads (``analytics.stale_leads``) as a table: days idle first, then the owner (``(unassigned)``
    for none), name, phone, status, times, and a link to the lead in the CRM where it has lead pages."""
    if "owner" in stale.columns:
        stale = stale.assign(owner=stale["owner"].astype("string").fillna(UNASSIGNED))
    return leads_table(
        stale, settings.timezone, name, columns=STALE_TABLE_COLUMNS, lead_url=lead_url_template(settings)
    )
