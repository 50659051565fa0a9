"""Overview: the managers' morning view — leads this period against the last, customers, conversion."""

import streamlit as st

from lib import analytics, charts, ui

settings = ui.settings()
data = ui.load_data(settings)
start, end = ui.date_range_filter(settings.timezone)
ui.sidebar_status(settings, data)

st.title("Overview")
kpi = analytics.period_kpis(data.leads, data.statuses, start, end, settings.timezone)
days = (end - start).days + 1
st.caption(
    f"Leads created {start:%d %b %Y} – {end:%d %b %Y} ({days} days), compared with the previous "
    f"{days} days ({kpi['prev_start']:%d %b} – {kpi['prev_end']:%d %b %Y})."
)

leads_col, won_col, rate_col = st.columns(3)
leads_col.metric("Leads", f"{kpi['leads']:,}", ui.change(kpi["leads"], kpi["leads_prev"]), border=True)
won_col.metric("Became customers", f"{kpi['won']:,}", ui.change(kpi["won"], kpi["won_prev"]), border=True)
rate_col.metric(
    "Conversion rate",
    ui.percent(kpi["conversion_rate"]),
    ui.points_change(kpi["conversion_rate"], kpi["conversion_rate_prev"]),
    help="Customers ÷ (leads − junk) among the leads created in the period",
    border=True,
)

if kpi["leads"] == 0:
    st.info("No leads were created in this period. Choose a wider date range in the sidebar.")
else:
    freq = st.segmented_control("Group by", ["Day", "Week"], default="Day", key="overview_freq") or "Day"
    code = freq[0]
    series = analytics.leads_over_time(data.leads, code, settings.timezone, start=start, end=end)
    title = f"Leads created per {freq.lower()}, {start:%d %b} – {end:%d %b %Y} ({settings.timezone})"
    st.plotly_chart(charts.leads_over_time_chart(series, code, title=title), key="overview_chart")
