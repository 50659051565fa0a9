"""Overview: the managers' morning view — leads this period against the last, customers, conversion,
where leads come from, and open leads going stale."""

import streamlit as st

from lib import analytics, charts, ui
from lib.ui import roi

p = ui.page()
tz = p.settings.timezone

st.title("Overview")
prev_start = analytics.previous_start(ui.chosen_preset(), p.start, p.end)
kpi = analytics.period_kpis(
    p.scoped, p.statuses, p.start, p.end, tz, now=p.now, compare=prev_start is not None, prev_start=prev_start
)
st.caption(ui.comparison_note(kpi, p.start, p.end, tz, p.now))

leads_col, won_col, rate_col, junk_col = st.columns(4)
delta = ui.change(kpi["leads"], kpi["leads_prev"])
leads_col.metric(
    "Leads",
    f"{kpi['leads']:,}",
    delta,
    help="Leads created in the period",
    border=True,
    **ui.delta_look(delta),
)
delta = ui.change(kpi["won"], kpi["won_prev"])
won_col.metric(
    "Became customers",
    f"{kpi['won']:,}",
    delta,
    help=ui.won_help(kpi),
    border=True,
    **ui.delta_look(delta),
)
delta = ui.points_change(kpi["conversion_rate"], kpi["conversion_rate_prev"])
rate_col.metric(
    "Conversion rate",
    ui.percent(kpi["conversion_rate"]),
    delta,
    help=ui.conversion_help(kpi),
    border=True,
    **ui.delta_look(delta, "normal" if kpi["same_age"] else "off"),
)
delta = ui.points_change(kpi["junk_rate"], kpi["junk_rate_prev"])
junk_col.metric(
    "Junk rate",
    ui.percent(kpi["junk_rate"]),
    delta,
    help="Duplicates and invalid leads ÷ all leads created in the period (their status now)",
    border=True,
    **ui.delta_look(delta, "inverse"),
)
st.caption(ui.conversion_note(kpi))
if kpi["prev_start"] is not None and (note := ui.maturing_note(kpi)):
    st.caption(note)

# This month's goals (set on the Goals page): every lead counts, whatever the filters.
month = roi.this_month(p.now, tz)
goals = analytics.goal_progress(p.data.leads, p.statuses, roi.spend(p.settings), ui.store(p.settings).goals(),
                                month, p.now, tz, p.aliases)  # fmt: skip
if len(goals):
    st.subheader(f"Goals for {roi.month_title(month)}")
    roi.show_goal_lines(goals, roi.currency(p.settings))
    st.page_link("pages/goals.py", label="Set goals", icon="🎯")

if not ui.no_leads_notice(p):
    freq = (
        st.segmented_control(
            "Group by", ["Day", "Week", "Month"], default="Day", key="per", bind="query-params"
        )
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
    "Not updated for at least (days)",
    min_value=1,
    max_value=365,
    value=14,
    key="idle_days",
    bind="query-params",
)
stale, stale_count = analytics.stale_leads(p.scoped, p.statuses, int(idle_days), now=p.now, limit=500)
st.caption(
    f"{ui.count(stale_count, 'open lead')} (any creation date, other filters applied) idle for {idle_days}+ days"
    + (f"; the {len(stale):,} idle longest are listed." if len(stale) < stale_count else ".")
)
if len(stale):
    ui.stale_table(stale, p.settings, "stale-leads")
    st.page_link("pages/statuses.py", label="Stale leads per owner and idle age", icon="🏷️")
