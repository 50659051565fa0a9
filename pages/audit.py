"""Audit log (admins only): sign-ins, sign-outs, exports, connection and settings changes, user changes,
created leads and outbox actions, newest first; filter by who, action and date, and download as CSV."""

import streamlit as st

from lib import ui
from lib.ui import auth as gate

s = ui.settings()
gate.require(s, "pages/audit.py")
log = ui.store(s).audit_frame()

st.title("Audit log")
if log.empty:
    st.info("Nothing recorded yet.")
    st.stop()
log = log.assign(at=log["at"].dt.tz_convert(s.timezone))
who_col, action_col, days_col = st.columns(3)
who = who_col.multiselect("Who", sorted(log["who"].dropna().unique()), key="audit_who")
actions = action_col.multiselect("Action", sorted(log["action"].dropna().unique()), key="audit_action")
first, last = log["at"].min().date(), log["at"].max().date()
days = days_col.date_input("Dates", (first, last), key="audit_days")
shown = log
if who:
    shown = shown[shown["who"].isin(who)]
if actions:
    shown = shown[shown["action"].isin(actions)]
if isinstance(days, tuple | list) and len(days) == 2:
    day = shown["at"].dt.date
    shown = shown[(day >= days[0]) & (day <= days[1])]
st.caption(f"{len(shown):,} of {len(log):,} entries.")
ui.table(
    shown,
    "audit_log",
    column_config={
        "at": st.column_config.DatetimeColumn(f"When ({s.timezone})", format="YYYY-MM-DD HH:mm:ss"),
        "who": st.column_config.TextColumn("Who"),
        "action": st.column_config.TextColumn("Action"),
        "page": st.column_config.TextColumn("Page"),
        "detail": st.column_config.TextColumn("Detail"),
    },
)
