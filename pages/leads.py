"""Leads: the filtered leads as a searchable, sortable table with a CSV download."""

import streamlit as st

from lib import analytics, ui

MAX_ROWS = 10_000  # a browser table beyond this is slow to send and no one reads it; narrow instead

p = ui.page()
st.title("Leads")
query = st.text_input("Search", placeholder="Name, phone, e-mail, company or lead id", key="leads_search")
found = analytics.search_leads(p.leads, query)
shown = min(len(found), MAX_ROWS)
st.caption(
    f"{len(found):,} leads created {p.period}"
    + (f" matching “{query}”" if query.strip() else "")
    + (
        f"; showing the newest {shown:,} — narrow the filters or search to see the rest."
        if shown < len(found)
        else "."
    )
)
if len(found):
    ui.leads_table(analytics.newest(found, MAX_ROWS), p.settings.timezone, "leads")
elif not ui.no_leads_notice(p):
    st.info(f"No lead matches “{query}”.")
