"""Settings: the connected CRM, a connection test, and the mappings every page uses (status roles and
funnel stages, UTM aliases, custom-field labels)."""

import pandas as pd
import streamlit as st

from lib import analytics, ui
from lib.crm import LeadsError
from lib.schema import DEFAULT_STAGES, ROLES
from lib.store import crm_key

s = ui.settings()
data = ui.load_data(s)
src = ui.source(s)
store = ui.store(s)
key = crm_key(s)
ui.sidebar_status(s, data)

st.title("Settings")

st.subheader("Connection")
left, right = st.columns(2)
left.markdown(
    f"**CRM:** {src.label}  \n**Source setting:** `{s.source}`  \n"
    f"**Token:** {'configured (hidden)' if s.token else 'not needed' if s.is_demo else 'missing'}  \n"
    f"**Display time zone:** {s.timezone} · **Phone region:** {s.phone_region}"
)
synced = data.synced_at.astimezone(pd.Timestamp.now(tz=s.timezone).tz).strftime("%Y-%m-%d %H:%M")
right.markdown(
    f"**Last sync:** {synced} ({s.timezone})  \n**Leads loaded:** {len(data.leads):,}  \n**Statuses:** {len(data.statuses)}"
)
test_col, refresh_col = right.columns(2)
if test_col.button("Test connection", icon="🔌"):
    try:
        st.success(src.check(), icon="✅")
    except LeadsError as exc:
        st.error(f"Connection failed: {exc}", icon="⚠️")
if refresh_col.button("Sync now", icon="🔄"):
    ui.refresh()
    st.rerun()

st.subheader("Funnel mapping")
st.caption(
    "The role of each status (open, won = became a customer, lost, junk = duplicate or invalid) and the furthest "
    "funnel stage a lead in it has reached. Defaults come from the status names; your changes apply to every page."
)
stage_names = ["—", *DEFAULT_STAGES]
statuses = ui.catalogue(s, data)
mapping = pd.DataFrame(
    {
        "status": statuses["status"],
        "active": statuses["is_active"],
        "role": statuses["role"].astype(str),
        "stage": [stage_names[0] if pd.isna(x) else DEFAULT_STAGES[int(x)] for x in statuses["stage"]],
        "status_id": statuses["status_id"],
    }
)
edited = st.data_editor(
    mapping,
    hide_index=True,
    disabled=["status", "active", "status_id"],
    column_config={
        "status": st.column_config.TextColumn("Status"),
        "active": st.column_config.CheckboxColumn("Active in the CRM"),
        "role": st.column_config.SelectboxColumn("Role", options=list(ROLES), required=True),
        "stage": st.column_config.SelectboxColumn("Furthest stage", options=stage_names, required=True),
        "status_id": st.column_config.TextColumn("Status id"),
    },
    key="mapping_editor",
)
save_col, reset_col = st.columns([1, 4])
if save_col.button("Save mapping", type="primary"):
    overrides = {
        row.status_id: {
            "role": row.role,
            "stage": None if row.stage == "—" else DEFAULT_STAGES.index(row.stage),
        }
        for row in edited.itertuples()
    }
    store.save_status_overrides(key, overrides)
    st.toast("Funnel mapping saved", icon="✅")
    st.rerun()
if reset_col.button("Reset mapping to defaults"):
    store.reset_status_overrides(key)
    st.rerun()

st.subheader("UTM aliases")
st.caption(
    "Raw UTM values (any case or spacing) and the one name they count as. Values not listed are kept as they are."
)
aliases = store.utm_aliases()
current = analytics.DEFAULT_UTM_ALIASES if aliases is None else aliases
alias_frame = pd.DataFrame({"raw value": list(current), "counts as": list(current.values())})
edited_aliases = st.data_editor(
    alias_frame, num_rows="dynamic", hide_index=True, key="alias_editor",
    column_config={"raw value": st.column_config.TextColumn(required=True), "counts as": st.column_config.TextColumn(required=True)},
)  # fmt: skip
save_col, reset_col = st.columns([1, 4])
if save_col.button("Save aliases", type="primary"):
    rows = edited_aliases.dropna()
    store.save_utm_aliases(
        {
            str(r).strip(): str(c).strip()
            for r, c in zip(rows["raw value"], rows["counts as"], strict=True)
            if str(r).strip()
        }
    )
    st.toast("UTM aliases saved", icon="✅")
    st.rerun()
if reset_col.button("Reset aliases to defaults", disabled=aliases is None):
    store.reset_utm_aliases()
    st.rerun()
st.caption(
    "Aliases in force: " + ("the defaults." if aliases is None else f"your table ({len(aliases)} entries).")
)

st.subheader("Custom fields")
st.caption("Each account uses the CRM's four custom fields differently: name them as your team knows them.")
labels = store.ext_labels()
with st.form("ext_labels"):
    new_labels = {
        field: st.text_input(f"Custom field {i}", value=labels[field], max_chars=60)
        for i, field in enumerate(labels, 1)
    }
    if st.form_submit_button("Save labels"):
        store.save_ext_labels({k: v.strip() or labels[k] for k, v in new_labels.items()})
        st.toast("Labels saved", icon="✅")
