"""Tables with a CSV download of exactly what they show; the lead table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib import export
from lib.analytics import UNASSIGNED
from lib.auth import mask_field, mask_leads
from lib.config import Settings
from lib.contacts import display_phones
from lib.links import lead_url_template, lead_urls
from lib.schema import EXTRA_DIMENSIONS
from lib.ui import auth as gate
from lib.ui.data import settings
from lib.ui.formatting import RATE_COLUMNS

EAGER_CSV_ROWS = 2_000


def table(
    frame: pd.DataFrame,
    name: str,
    *,
    column_config: dict | None = None,
    height: int | None = None,
    selectable: bool = False,
    downloadable: bool = True,
) -> None:
    """A table with a CSV download of exactly what it shows (formula-like cells neutralised; each download
    is written to the audit log: who, page, rows). A `selectable` table lets the user pick one row:
    `selected_row(frame, name)` says which. `downloadable=False` leaves the download out."""
    select = {}
    if selectable:
        select = {"key": _selection_key(frame, name), "on_select": "rerun", "selection_mode": "single-row"}
    shown = _rounded_rates(frame, column_config)
    st.dataframe(
        shown,
        column_config=column_config,
        hide_index=True,
        height=height or "auto",
        placeholder="—",
        **select,
    )
    if not downloadable:
        return
    # a small table's CSV is made now; a big one's only when the button is clicked (off the rerun)
    st.download_button(
        "Download CSV",
        export.to_csv(frame) if len(frame) <= EAGER_CSV_ROWS else lambda: export.to_csv(frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        icon="⬇️",
        key=f"csv_{name}",
        on_click=_audit_export,
        args=(name, len(frame)),
    )


def _audit_export(name: str, rows: int) -> None:
    gate.audit(settings(), "export", {"table": name, "rows": rows})


def _rounded_rates(frame: pd.DataFrame, column_config: dict | None) -> pd.DataFrame:
    """The rate columns (RATE_COLUMNS: percent with one decimal) rounded to that decimal for the screen.

    Streamlit *truncates* a number to its column's step (0.067538 shows as 6.7%) while charts and text round
    (6.8%): the same share would read differently in a table and in the chart above it. Rounded first, the
    table shows what the chart shows; the CSV keeps the full value."""
    rates = [
        c
        for c in frame.columns
        if column_config and c in RATE_COLUMNS and column_config.get(c) is RATE_COLUMNS[c]
    ]
    return frame.assign(**{c: frame[c].astype("float64").round(3) for c in rates}) if rates else frame


def _selection_key(frame: pd.DataFrame, name: str) -> str:
    """The selectable table's widget key, new whenever its rows change: a selection never moves on to
    another row that took the selected one's place."""
    rows = frame["lead_id"] if "lead_id" in frame.columns else frame.index.to_series()
    fingerprint = int(pd.util.hash_pandas_object(rows.astype("string"), index=False).sum()) % 10**12
    return f"table_{name}_{len(frame)}_{fingerprint}"


def selected_row(frame: pd.DataFrame, name: str) -> int | None:
    """The position (in `frame`) of the row selected in the selectable table `name` showing `frame`."""
    state = st.session_state.get(_selection_key(frame, name))
    rows = state["selection"]["rows"] if state else []
    return rows[0] if rows and 0 <= rows[0] < len(frame) else None


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
    region: str | None = None,
    selectable: bool = False,
    downloadable: bool = True,
) -> pd.DataFrame:
    """Leads as a table: times in the display zone, phone and e-mail as text, status by name; returns
    what it showed. `columns` replaces the default columns and order (LEAD_TABLE_COLUMNS), `extra` and
    the connector's dimensions follow; `lead_url` (a template with `{id}`, see lib.links) adds a last
    column `crm_link` linking each lead to its page in the CRM. Phones read as people write them: national
    format for `region`'s numbers (default the settings' phone region), international for others.
    `selectable`, `downloadable`: see `table`. Names, phones and e-mails are masked for a role that may not
    see them (marketing), on the screen and in the CSV."""
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
    if "phone" in columns:
        shown = shown.assign(phone=display_phones(shown["phone"], region or settings().phone_region))
    if gate.masked():
        shown = mask_leads(shown)
    table(shown, name, column_config=config, selectable=selectable, downloadable=downloadable)
    return shown


def stale_table(stale: pd.DataFrame, settings: Settings, name: str) -> pd.DataFrame:
    """Stale leads (``analytics.stale_leads``) as a table: days idle first, then the owner (``(unassigned)``
    for none), name, phone, status, times, and a link to the lead in the CRM where it has lead pages."""
    if "owner" in stale.columns:
        stale = stale.assign(owner=stale["owner"].astype("string").fillna(UNASSIGNED))
    return leads_table(
        stale,
        settings.timezone,
        name,
        columns=STALE_TABLE_COLUMNS,
        lead_url=lead_url_template(settings),
        region=settings.phone_region,  # the settings are at hand: no second read of them (and of the gate)
    )


FIELD_LABELS = {
    "lead_id": "Lead id",
    "name": "Name",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "email": "E-mail",
    "company": "Company",
    "owner": "Owner",
    "status": "Status",
    "status_id": "Status id",
    "created_at": "Created",
    "updated_at": "Updated",
    "closed_at": "Closed",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
    "referrer": "Referrer",
    "landing_page": "Landing page",
    "price": "Price",
    **EXTRA_DIMENSIONS,
}


def lead_details(lead: pd.Series, tz: str, region: str) -> pd.DataFrame:
    """One lead as a two-column `field`, `value` table of text: every field it has, times in the display
    zone, the phone as people write it (and as stored, when that differs), numbers with thousands
    separators, empty values as "—". Names, phones and e-mails are masked for a role that may not see them."""
    rows = []
    masking = gate.masked()
    for column, value in lead.items():
        if masking and column != "phone":
            value = mask_field(str(column), value)
        if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
            text = "—"
        elif isinstance(value, pd.Timestamp):
            text = f"{value.tz_convert(tz):%Y-%m-%d %H:%M} ({tz})" if value.tzinfo else f"{value}"
        elif isinstance(value, float):
            text = f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
        elif column == "phone":
            shown = display_phones(pd.Series([str(value)]), region).iloc[0]
            if masking:
                text = mask_field("phone", shown)
            else:
                text = shown if shown == value else f"{shown} ({value})"
        else:
            text = str(value)
        rows.append((FIELD_LABELS.get(str(column), str(column)), text))
    return pd.DataFrame(rows, columns=["field", "value"]).astype("string")
