"""Statuses: where the period's leads stand now, who holds them, how old the open ones are and which have
gone stale with whom."""

import plotly.express as px
import streamlit as st

from lib import analytics, charts, ui

p = ui.page()
colors = charts.status_colors(p.statuses)
st.title("Statuses")
st.caption(f"Current status of the leads created {p.period}.")

if not ui.no_leads_notice(p):
    breakdown = analytics.status_breakdown(p.leads, p.statuses)
    st.plotly_chart(charts.status_bar_chart(breakdown, colors, period_label=p.period), key="status_chart")
    ui.table(breakdown.drop(columns="status_id"), "statuses", column_config=ui.RATE_COLUMNS)

    st.subheader("Status by owner")
    st.caption("Leads per owner (rows) and status (columns).")
    ui.table(analytics.status_by_owner(p.leads, p.statuses), "status-by-owner")

# The open leads' picture is about every open lead, whenever it was created: the date range does not apply.
if len(p.scoped):
    scope = "whatever their creation date: the date range does not apply here, the other filters do"

    st.subheader("Age of open leads")
    st.caption(f"Every open lead, {scope}.")
    ages = analytics.open_lead_ages(p.scoped, p.statuses, now=p.now)
    if ages.empty:
        st.info("No open leads in this selection.")
    else:
        names = dict(zip(p.statuses["status"], p.statuses["status_id"], strict=True))
        fig = px.bar(
            ages, x="age", y="leads", color="status", barmode="stack",
            color_discrete_map={name: colors.get(sid, "#9ca3af") for name, sid in names.items()},
            labels={"age": "Days since the lead was created", "leads": "Open leads (count)", "status": "Status"},
            title="Open leads by age and status (any creation date)",
        )  # fmt: skip
        st.plotly_chart(fig, key="age_chart")
        ui.table(ages, "open-lead-ages")

    st.subheader("Stale leads per owner")
    idle_days = int(
        st.number_input(
            "Not updated for at least (days)",
            min_value=1,
            max_value=365,
            value=14,
            key="stale_days",
            bind="query-params",
        )
    )
    per_owner = analytics.stale_by_owner(p.scoped, p.statuses, idle_days, now=p.now)
    stale, stale_count = analytics.stale_leads(p.scoped, p.statuses, idle_days, now=p.now, limit=500)
    st.caption(
        f"{ui.count(stale_count, 'open lead')} not updated for {idle_days}+ days, {scope}. "
        "Per owner (rows) and days since the last update (columns); click a column header to sort."
    )
    if per_owner.empty:
        st.info(f"No open lead has waited {idle_days}+ days.")
    else:
        ui.table(per_owner, "stale-by-owner", column_config={"owner": st.column_config.TextColumn("Owner")})
        st.caption(
            "The stale leads, longest idle first"
            + (f" (the {len(stale):,} idle longest)." if len(stale) < stale_count else ".")
        )
        ui.stale_table(stale, p.settings, "stale-leads-by-owner")
