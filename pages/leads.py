"""Leads: the filtered leads as a searchable, sortable table with a CSV download; a search looks across
all dates unless told to keep to the period; selecting a row shows every field of that lead. The front desk
only looks a lead up by its exact phone, e-mail or full name (no browsing, no export)."""

import streamlit as st

from lib import analytics, auth, ui

MAX_ROWS = 10_000  # a browser table beyond this is slow to send and no one reads it; narrow instead

s = ui.settings()
if ui.current_role() == auth.FRONT_DESK:  # no browsing: no sidebar filters, only an exact lookup
    st.title("Leads")
    lookup = st.text_input(
        "Find a lead", placeholder="The exact phone, e-mail or full name", key="fd_lookup", max_chars=200
    )
    if not lookup.strip():
        st.caption("Type a lead's whole phone number, e-mail address or full name to find it.")
        st.stop()
    leads = ui.own_leads(s, ui.load_data(s)).leads
    matches = auth.exact_matches(leads, lookup, s.phone_region)
    if matches.empty:
        st.info("No lead has exactly this phone, e-mail or name. Check it, or enter the lead on New lead.")
        st.stop()
    st.caption(f"{len(matches):,} lead" + ("" if len(matches) == 1 else "s") + " found.")
    ui.leads_table(
        analytics.newest(matches, 50), s.timezone, "leads_lookup", region=s.phone_region, downloadable=False,
        columns=["created_at", "name", "phone", "email", "status", "owner"],
    )  # fmt: skip
    st.stop()

p = ui.page()
tz, region = p.settings.timezone, p.settings.phone_region
st.title("Leads")
search_col, period_col = st.columns([3, 1], vertical_alignment="bottom")
query = search_col.text_input(
    "Search", placeholder="Name, phone, e-mail, company or lead id", key="q", bind="query-params"
)
only_period = period_col.toggle(
    "Only the selected period",
    key="in_period",
    bind="query-params",
    help="Off: a search looks at leads of every date (the sidebar's other filters still apply). "
    "On: only at leads created in the selected period.",
)
searching = bool(query.strip())


def count(n: int) -> str:
    return f"{n:,} lead" + ("" if n == 1 else "s")


across_dates = searching and not only_period


def search(leads, query: str):
    """The search; a role that sees contacts masked searches the masked values (it cannot find a lead by a
    phone or name it may not see)."""
    if not ui.masked():
        return analytics.search_leads(leads, query)
    return leads.loc[analytics.search_leads(auth.mask_leads(leads), query).index]


found = search(p.scoped if across_dates else p.leads, query)
shown = min(len(found), MAX_ROWS)
# The query itself is never put into Markdown: it is in the search box, as typed.
if not searching:
    summary = f"{count(len(found))} created {p.period}"
elif across_dates:
    summary = f"{count(len(found))} found, created at any date"
else:
    summary = f"{count(len(found))} found among those created {p.period}"
st.caption(
    summary
    + (
        f"; showing the newest {shown:,} — narrow the filters or search to see the rest."
        if shown < len(found)
        else "."
    )
)
outside = 0
if searching and only_period:
    outside = len(search(p.scoped, query)) - len(found)
    if outside:
        st.info(
            f"{count(outside)} more found outside {p.period}: "
            "turn off “Only the selected period” to see them.",
            icon="🔎",
        )

if len(found):
    top = analytics.newest(found, MAX_ROWS)
    table = ui.leads_table(top, tz, "leads", region=region, selectable=True)
    row = ui.selected_row(table, "leads")
    if row is None:
        st.caption("Select a row to see every field of that lead.")
    else:
        st.subheader("Lead details")
        details = ui.lead_details(top.iloc[row], tz, region)
        st.dataframe(
            details,
            hide_index=True,
            height=(len(details) + 1) * 35 + 3,  # every field at once, no inner scrolling
            column_config={"field": "Field", "value": "Value"},
            key="leads_detail",
        )
        st.caption("Status history starts with the lead store (coming).")
elif searching and not outside:
    hidden = len(search(p.data.leads, query))
    st.info(
        "No lead matches the search"
        + (f" with the sidebar filters; {count(hidden)} found when they are cleared." if hidden else ".")
    )
elif not searching:
    ui.no_leads_notice(p)
