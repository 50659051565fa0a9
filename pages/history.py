"""Status history: how fast new leads are handled, how long leads stay in each status and where they move,
from the status changes the sync has seen since it first ran."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from lib import analytics, charts, ui

p = ui.page()
tz = p.settings.timezone
st.title("Status history")
history, since = ui.history_data(p.settings)
# Only the changes of the leads the sidebar filters (all but the dates) and the user's role let through.
history = history[history["lead_id"].astype("string").isin(p.scoped["lead_id"].astype("string"))]
minutes = analytics.readable_minutes


def hours(value: float) -> str:
    return minutes(value * 60)


def share(label: str, help: str) -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(label, format="percent", step=0.001, help=help)


def rounded(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    # a percent column shows one decimal, rounded like the cards above (Streamlit would cut it)
    return frame.assign(**{c: frame[c].round(3) for c in columns})


if since is None:
    st.info(
        "No sync has run yet: the status history starts with the first sync of the lead store. Speed to lead, "
        "time in stage and the status flow show here once it has run and seen leads change status."
    )
    st.stop()

first_sync = pd.Timestamp(since).tz_convert(tz)
st.write(
    f"History starts at the first sync on {first_sync:%d %b %Y, %H:%M} ({tz}); leads created earlier have no "
    "speed-to-lead figures."
)
if history.empty:
    st.info(
        "No status change has been seen since the first sync for the leads these filters select: leads not "
        "handled yet count as such below, and time in stage and the status flow fill in as changes come."
    )

# -- speed to lead -----------------------------------------------------------------------------------------
st.subheader("Speed to lead")
JUDGED = "Counts only leads old enough to be judged: handled in time, or past the deadline (handled late or not yet)."
speed = analytics.speed_to_lead(
    p.leads, history, p.statuses, since=since, now=p.now, tz=tz, aliases=p.aliases
)
overall = speed.iloc[0]
if overall["leads"] == 0:
    st.info(f"No lead created {p.period} since the first sync matches the filters.")
else:
    st.caption(
        f"Time from a lead's creation to its first status change, for the {ui.count(int(overall['leads']), 'lead')} "
        f"created {p.period} since the first sync; {int(overall['handled']):,} of them have changed status. "
        "A working day is Sunday to Thursday: a lead is in time if handled by the same time on the next working "
        "day (one created on Friday or Saturday counts from Sunday 00:00)."
    )
    cards = [*st.columns(2), *st.columns(2)]  # two rows of two: "10 h 40 min" fits a card on a laptop
    cards[0].metric(
        "Median time to first change",
        minutes(overall["median_minutes"]),
        help="Half of the handled leads changed status sooner than this.",
        border=True,
    )
    cards[1].metric(
        "90th percentile",
        minutes(overall["p90_minutes"]),
        help="9 in 10 handled leads changed status sooner than this.",
        border=True,
    )
    cards[2].metric(
        "Within 1 hour",
        ui.percent(overall["within_1h"]),
        help=f"{JUDGED} {int(overall['judged_1h']):,} leads judged.",
        border=True,
    )
    cards[3].metric(
        "Within 1 working day",
        ui.percent(overall["within_1_working_day"]),
        help=f"{JUDGED} {int(overall['judged_1_working_day']):,} leads judged.",
        border=True,
    )
    if overall["changed_unseen"]:
        st.caption(
            f"{ui.count(int(overall['changed_unseen']), 'lead')} had already changed status when the sync first saw "
            "them: when is not known, so they are left out of the figures."
        )
    columns = {
        "leads": st.column_config.NumberColumn("Leads", help="Created in the period since the first sync."),
        "handled": st.column_config.NumberColumn("Handled", help="Have changed status at least once."),
        "median": st.column_config.TextColumn("Median time"),
        "p90": st.column_config.TextColumn("90th percentile"),
        "within_1h": share("Within 1 hour", JUDGED),
        "judged_1h": st.column_config.NumberColumn("Judged (1 h)"),
        "within_1_working_day": share("Within 1 working day", JUDGED),
        "judged_1_working_day": st.column_config.NumberColumn("Judged (working day)"),
        "note": st.column_config.TextColumn("Note"),
    }
    small = f"fewer than {analytics.SMALL_GROUP} leads: read with care"
    for by, title, name in (
        ("owner", "By owner", "speed-by-owner"),
        ("utm_source", "By source", "speed-by-source"),
    ):
        st.markdown(f"**{title}**")
        groups = analytics.speed_to_lead(
            p.leads, history, p.statuses, since=since, now=p.now, tz=tz, by=by, aliases=p.aliases
        )
        if by == "owner" and (groups["judged_1h"].sum() + groups["judged_1_working_day"].sum()) > 0:
            st.plotly_chart(charts.speed_to_lead_chart(groups, by, period_label=p.period), key="speed_chart")
        shown = pd.DataFrame(
            {
                by: groups[by],
                "leads": groups["leads"],
                "handled": groups["handled"],
                "median": groups["median_minutes"].map(minutes),
                "p90": groups["p90_minutes"].map(minutes),
                "within_1h": groups["within_1h"],
                "judged_1h": groups["judged_1h"],
                "within_1_working_day": groups["within_1_working_day"],
                "judged_1_working_day": groups["judged_1_working_day"],
                "note": groups["small"].map({True: small, False: ""}),
            }
        )
        label = "Owner" if by == "owner" else "Source"
        ui.table(
            rounded(shown, "within_1h", "within_1_working_day"),
            name,
            column_config={by: st.column_config.TextColumn(label), **columns},
        )

# -- time in stage ------------------------------------------------------------------------------------------
st.subheader("Time in stage")
st.caption(
    "How long leads stayed in each status before they left it, over every change seen since the first sync "
    "(the date range does not apply here, the other filters do). Only stays whose start was seen count; leads "
    "still in a status are counted apart and not in the times."
)
stages = analytics.time_in_stage(history, p.statuses, now=p.now)
if stages.empty:
    st.info("No status change seen yet for these leads.")
else:
    ui.table(
        pd.DataFrame(
            {
                "status": stages["status"],
                "stays": stages["stays"],
                "median": stages["median_hours"].map(hours),
                "p90": stages["p90_hours"].map(hours),
                "still_in": stages["still_in"],
            }
        ),
        "time-in-stage",
        column_config={
            "status": st.column_config.TextColumn("Status"),
            "stays": st.column_config.NumberColumn(
                "Stays ended", help="Leads that entered and then left it."
            ),
            "median": st.column_config.TextColumn("Median time"),
            "p90": st.column_config.TextColumn("90th percentile"),
            "still_in": st.column_config.NumberColumn("Still in it", help="Entered and not left yet."),
        },
    )

# -- status flow ---------------------------------------------------------------------------------------------
st.subheader("Status flow")
st.caption(
    f"Status changes {p.period} ({tz}): which status leads left (left) and which they entered (right)."
)
flow = analytics.status_flow(
    history,
    p.statuses,
    start=pd.Timestamp(p.start).tz_localize(tz),
    end=pd.Timestamp(p.end + timedelta(days=1)).tz_localize(tz),
)
if flow.empty:
    st.info(f"No status change seen {p.period}.")
else:
    colors = charts.status_colors(p.statuses)
    st.plotly_chart(charts.status_flow_sankey(flow, colors, period_label=p.period), key="flow_chart")
    ui.table(
        flow[["from_status", "to_status", "changes"]],
        "status-flow",
        column_config={
            "from_status": st.column_config.TextColumn("From"),
            "to_status": st.column_config.TextColumn("To"),
            "changes": st.column_config.NumberColumn("Changes"),
        },
    )
