"""Goals: monthly targets for leads, customers and cost per lead, in total or for one source, and how this
month is doing against them."""

import pandas as pd
import streamlit as st

from lib import analytics, ui
from lib.text import escape_markdown
from lib.ui import roi

p = ui.page()
tz = p.settings.timezone
code = roi.currency(p.settings)
store = ui.store(p.settings)
month = roi.this_month(p.now, tz)

st.title("Goals")
st.caption(
    "Monthly targets: leads created, customers (leads created in the month whose status is won) and cost per "
    "lead (the month's ad spend ÷ its leads), for all sources (leave Source empty) or one UTM source (cleaned "
    "with the aliases, so “fb” counts for facebook). Goals count every lead: the sidebar filters do not apply."
)

saved = store.goals()
frame = pd.DataFrame(  # typed columns: with no goal saved yet the editor still knows what each column holds
    {
        "month": pd.array([str(g.get("month") or "") for g in saved], dtype="string"),
        "metric": pd.array([roi.METRIC_LABELS.get(g.get("metric"), None) for g in saved], dtype="string"),
        "source": pd.array([str(g.get("source") or "") for g in saved], dtype="string"),
        "target": pd.array([g.get("target") for g in saved], dtype="Float64"),
    }
)
edited = st.data_editor(
    frame,
    num_rows="dynamic",
    hide_index=True,
    key="goals_editor",
    column_config={
        "month": st.column_config.TextColumn(
            "Month", help="YYYY-MM, e.g. 2026-11", default=month, required=True, validate=r"^\d{4}-\d{2}$"
        ),
        "metric": st.column_config.SelectboxColumn(
            "Metric", options=list(roi.METRIC_LABELS.values()), default="Leads", required=True
        ),
        "source": st.column_config.TextColumn("Source", help="A UTM source, or empty for all sources"),
        "target": st.column_config.NumberColumn(
            "Target",
            help=f"A count, or for cost per lead the most it may be ({code})",
            min_value=0,
            required=True,
        ),
    },
)
if st.button("Save goals", type="primary"):
    metric_of = {label: key for key, label in roi.METRIC_LABELS.items()}
    rows = [{**r, "metric": metric_of.get(r["metric"], r["metric"])} for r in edited.to_dict("records")]
    try:
        goals = analytics.clean_goals(rows)
    except ValueError as exc:
        st.error(f"Not saved: {escape_markdown(exc)}", icon="⚠️")  # may quote what was typed
    else:
        store.save_goals(goals)
        st.toast(f"{ui.count(len(goals), 'goal')} saved", icon="✅")
        st.rerun()

st.subheader(f"This month: {roi.month_title(month)}")
progress = analytics.goal_progress(p.data.leads, p.statuses, roi.spend(p.settings), saved, month, p.now, tz,
                                   p.aliases)  # fmt: skip
if progress.empty:
    st.text(f"No goals for {roi.month_title(month)} yet: add rows above with month {month} and save.")
else:
    st.caption(
        f"{analytics.share_of_month_gone(month, p.now, tz):.0%} of the month gone ({tz}): a count is on track "
        "when it is at least its target × the share of the month gone; a cost per lead when it is at or below "
        "its target."
    )
    roi.show_goal_lines(progress, code)
