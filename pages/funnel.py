"""Funnel: how far the leads of the period got, overall and split by a dimension side by side."""

import streamlit as st

from lib import analytics, charts, ui
from lib.schema import DEFAULT_STAGES

p = ui.page()
st.title("Funnel")
st.caption(
    f"Leads created {p.period} by the furthest stage their current status has reached; junk (duplicates, "
    "invalid leads) is left out. Change the stage of each status under Settings."
)

if not ui.no_leads_notice(p):
    overall = analytics.funnel(p.leads, p.statuses, DEFAULT_STAGES)
    st.plotly_chart(charts.funnel_chart(overall, period_label=p.period), key="funnel_chart")
    steps = overall.rename(
        columns={
            "pct_of_first": "% of first stage",
            "pct_of_previous": "% of previous stage (step conversion)",
        }
    )
    percent = st.column_config.NumberColumn(format="%.1f%%")
    ui.table(steps, "funnel", column_config={c: percent for c in steps.columns if c.startswith("%")})

    st.subheader("Compare")
    dimensions = {"UTM source": "utm_source", "Channel": "channel", "Owner": "owner", "UTM medium": "utm_medium",
                  "UTM campaign": "utm_campaign", **ui.extra_dimensions(p.data.leads)}  # fmt: skip
    label = st.selectbox("Split the funnel by", list(dimensions), key="split", bind="query-params")
    top = st.slider("Values to compare (the rest are grouped as “(other)”)", 2, 8, 4, key="funnel_top")
    split = analytics.funnel_by(
        p.leads, p.statuses, dimensions[label], DEFAULT_STAGES, top=top, aliases=p.aliases
    )
    st.caption(
        "One colour per group. Each bar is the share of the group's own first stage (New) that reached the "
        "stage, so big and small groups compare; its label gives the group's leads and that share. "
        "“(other)” adds up the groups not shown."
    )
    st.plotly_chart(
        charts.funnel_compare_chart(split, dimensions[label], title=f"Funnel by {label.lower()}, {p.period}"),
        key="funnel_split_chart",
    )
    ui.table(split, f"funnel-by-{dimensions[label]}",
             column_config={"pct_of_first": st.column_config.NumberColumn("% of first stage", format="%.1f%%"),
                            "pct_of_previous": st.column_config.NumberColumn("% of previous stage",
                                                                             format="%.1f%%")})  # fmt: skip
