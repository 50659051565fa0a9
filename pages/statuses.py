"""Statuses: where the period's leads stand now, who holds them, and how old the open ones are."""

import plotly.express as px
import streamlit as st

from lib import analytics, charts, ui

p = ui.page()
st.title("Statuses")
st.caption(f"Current status of the leads created {p.period}.")

if not ui.no_leads_notice(p):
    colors = charts.status_colors(p.statuses)
    breakdown = analytics.status_breakdown(p.leads, p.statuses)
    st.plotly_chart(charts.status_bar_chart(breakdown, colors, period_label=p.period), key="status_chart")
    ui.table(breakdown.drop(columns="status_id"), "statuses", column_config=ui.RATE_COLUMNS)

    st.subheader("Status by owner")
    st.caption("Leads per owner (rows) and status (columns).")
    ui.table(analytics.status_by_owner(p.leads, p.statuses), "status-by-owner")

    st.subheader("Age of open leads")
    ages = analytics.open_lead_ages(p.leads, p.statuses, now=p.now)
    if ages.empty:
        st.info("No open leads in this selection.")
    else:
        names = dict(zip(p.statuses["status"], p.statuses["status_id"], strict=True))
        fig = px.bar(
            ages, x="age", y="leads", color="status", barmode="stack",
            color_discrete_map={name: colors.get(sid, "#9ca3af") for name, sid in names.items()},
            labels={"age": "Days since the lead was created", "leads": "Open leads (count)", "status": "Status"},
            title=f"Open leads by age and status, created {p.period}",
        )  # fmt: skip
        st.plotly_chart(fig, key="age_chart")
        ui.table(ages, "open-lead-ages")
