"""Overview: the managers' morning view — leads this period against the last, customers, conversion,
where leads come from, and open leads going stale."""

import streamlit as st

from lib import analytics, charts, ui

p = ui.page()
tz = p.settings.timezone

st.title("Overview")
kpi = analytics.period_kpis(p.scoped, p.statuses, p.start, p.end, tz)
days = (p.end - p.start).days + 1
st.caption(
    f"Leads created {p.period} ({days} days), compared with the previous {days} days "
    f"({ui.period_label(kpi['prev_start'], kpi['prev_end'])})."
)

leads_col, won_col, rate_col, junk_col = st.columns(4)
leads_col.metric("Leads", f"{kpi['leads']:,}", ui.change(kpi["leads"], kpi["leads_prev"]), border=True)
won_col.metric("Became customers", f"{kpi['won']:,}", ui.change(kpi["won"], kpi["won_prev"]), border=True)
rate_col.metric(
    "Conversion rate",
    ui.percent(kpi["conversion_rate"]),
    ui.points_change(kpi["conversion_rate"], kpi["conversion_rate_prev"]),
    help="Customers ÷ (leads − junk) among the leads created in the period",
    border=True,
)
junk_col.metric(
    "Junk rate",
    ui.percent(kpi["junk_rate"]),
    ui.points_change(kpi["junk_rate"], kpi["junk_rate_prev"]),
    delta_color="inverse",
    help="Duplicates and invalid leads ÷ all leads created in the period",
    border=True,
)

if not ui.no_leads_notice(p):
    freq = (
        st.segmented_control("Group by", ["Day", "Week", "Month"], default="Day", key="overview_freq")
        or "Day"
    )
    series = analytics.leads_over_time(p.leads, freq[0], tz, start=p.start, end=p.end)
    title = f"Leads created per {freq.lower()}, {p.period} ({tz})"
    st.plotly_chart(charts.leads_over_time_chart(series, freq[0], title=title), key="overview_chart")

    st.subheader("Top sources")
    sources = analytics.utm_breakdown(p.leads, p.statuses, by=("utm_source",), aliases=p.aliases).head(10)
    st.plotly_chart(
        charts.utm_bar_chart(
            sources, "utm_source", "leads", title=f"Leads by UTM source (top 10), {p.period}"
        ),
        key="overview_sources",
    )
    ui.table(
        sources[["utm_source", "leads", "won", "junk", "conversion_rate", "share"]],
        "top-sources",
        column_config=ui.RATE_COLUMNS,
    )

st.subheader("Stale open leads")
idle_days = st.number_input(
    "Not updated for at least (days)", min_value=1, max_value=365, value=14, key="stale_days"
)
stale, stale_count = analytics.stale_leads(p.scoped, p.statuses, int(idle_days), now=p.now, limit=500)
st.caption(
    f"{stale_count:,} open leads (any creation date, other filters applied) idle for {idle_days}+ days"
    + (f"; the {len(stale):,} idle longest are listed." if len(stale) < stale_count else ".")
)
if len(stale):
    ui.stale_table(stale, p.settings, "stale-leads")
    st.page_link("pages/statuses.py", label="Stale leads per owner and idle age", icon="🏷️")
