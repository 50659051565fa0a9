"""Marketing: which sources, media and campaigns bring leads that convert, and which bring junk."""

import streamlit as st

from lib import analytics, charts, ui

p = ui.page()
st.title("Marketing")
st.caption(
    f"Leads created {p.period}, grouped by their cleaned UTM values (spellings such as “fb”, “Facebook” and "
    "“פייסבוק” count as one source; edit the aliases under Settings)."
)

if not ui.no_leads_notice(p):
    dims = {"Source": "utm_source", "Medium": "utm_medium", "Campaign": "utm_campaign", "Term": "utm_term",
            "Content": "utm_content", "Channel": "channel", **ui.extra_dimensions(p.data.leads)}  # fmt: skip
    picked = st.pills("Group by", list(dims), selection_mode="multi", default=["Source"], key="mkt_by") or [
        "Source"
    ]
    by = tuple(dims[d] for d in picked)
    metrics = {"Leads": "leads", "Customers": "won", "Conversion rate": "conversion_rate", "Junk": "junk",
               "Junk rate": "junk_rate", "Share of leads": "share"}  # fmt: skip
    sort_label = st.selectbox("Sort by", list(metrics), key="mkt_sort")
    table = analytics.utm_breakdown(
        p.leads, p.statuses, by=by, aliases=p.aliases, sort_by=metrics[sort_label]
    )

    best, junk = (
        table.sort_values("won", ascending=False).iloc[0],
        table.sort_values("junk", ascending=False).iloc[0],
    )
    name = " / ".join(picked).lower()
    label = " / ".join

    left, right = st.columns(2)
    left.metric(f"Most customers ({name})", label(str(best[c]) for c in by), f"{int(best['won']):,} customers",
                delta_color="off", border=True)  # fmt: skip
    right.metric(f"Most junk ({name})", label(str(junk[c]) for c in by), f"{int(junk['junk']):,} junk leads",
                 delta_color="off", border=True)  # fmt: skip

    dim = by[0] if len(by) == 1 else "group"
    chart_frame = (
        table if len(by) == 1 else table.assign(group=table[list(by)].astype(str).agg(" / ".join, axis=1))
    )
    metric = metrics[sort_label]
    st.plotly_chart(
        charts.utm_bar_chart(chart_frame, dim, metric if metric != "share" else "leads",
                             title=f"{sort_label} by {name}, {p.period}"),
        key="mkt_bars",
    )  # fmt: skip
    ui.table(table, "utm-breakdown", column_config=ui.RATE_COLUMNS)

    st.subheader("Source → medium → campaign")
    tree = analytics.utm_breakdown(p.leads, p.statuses, by=("utm_source", "utm_medium", "utm_campaign"),
                                   aliases=p.aliases)  # fmt: skip
    st.plotly_chart(charts.utm_treemap(tree, period_label=p.period), key="mkt_tree")

    st.subheader("Trend by source")
    freq = st.segmented_control("Per", ["Day", "Week", "Month"], default="Week", key="mkt_freq") or "Week"
    trend = analytics.leads_over_time(p.leads, freq[0], p.settings.timezone, by="utm_source", start=p.start,
                                      end=p.end, aliases=p.aliases)  # fmt: skip
    top = trend.groupby("utm_source", observed=True)["leads"].sum().nlargest(6).index
    trend = trend.assign(utm_source=trend["utm_source"].where(trend["utm_source"].isin(top), analytics.OTHER))
    trend = trend.groupby(["period", "utm_source"], as_index=False, observed=True)["leads"].sum()
    st.plotly_chart(
        charts.leads_over_time_chart(trend, freq[0], by="utm_source",
                                     title=f"Leads per {freq.lower()} by UTM source (top 6), {p.period}"),
        key="mkt_trend",
    )  # fmt: skip

    st.subheader("UTM data quality")
    st.caption(
        "Every raw value, how many leads carry it and what it is cleaned to: spot typos and unmapped spellings."
    )
    ui.table(analytics.utm_quality(p.leads, p.aliases), "utm-data-quality")
