"""Settings: the connected CRM, a connection test, and the mappings every page uses (status roles and
funnel stages, UTM aliases, custom-field labels)."""

import pandas as pd
import streamlit as st

from lib import analytics, ui
from lib.config import (
    BASE_URL_EXAMPLES,
    DEFAULT_CRM_TIMEZONES,
    SOURCE_HELP,
    SOURCE_LABELS,
    SOURCES,
    overridden_by_environment,
    save_connection,
)
from lib.crm import LeadsError, connect
from lib.schema import DEFAULT_STAGES, ROLES
from lib.store import crm_key
from lib.ui import auth as gate

s = ui.settings()
gate.require(s, "pages/settings.py")  # admins only: the connection test, "Save and use" and every mapping
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

with st.expander("Connect a CRM", icon="🔗", expanded=s.is_demo):
    st.caption(
        "Choose the system, then test the connection before saving it. Saved settings go to "
        "`.streamlit/secrets.toml` on this machine (readable only by you); the token is never shown again."
    )
    system = st.selectbox(
        "System",
        SOURCES,
        index=SOURCES.index(s.source),
        format_func=SOURCE_LABELS.get,
        key="conn_source",
    )
    st.markdown(SOURCE_HELP[system])
    same = system == s.source
    if system != "demo":
        base_url = st.text_input(
            "Base URL (LEADS_BASE_URL)",
            value=(s.base_url or "") if same else "",
            placeholder=BASE_URL_EXAMPLES[system],
            key=f"conn_url_{system}",
        )
        token = st.text_input(
            "Token (LEADS_TOKEN)",
            type="password",
            placeholder="Leave empty to keep the current token"
            if same and s.token
            else "Paste the API token",
            key=f"conn_token_{system}",
        )
        zone_default = DEFAULT_CRM_TIMEZONES.get(system)
        crm_zone = (
            st.text_input(
                "Time zone of the CRM's times (LEADS_CRM_TIMEZONE)",
                value=(s.crm_timezone or "") if same else "",
                placeholder=zone_default,
                help=f"Times the CRM sends without a zone are read in this zone (default {zone_default}).",
                key=f"conn_zone_{system}",
            )
            if zone_default
            else ""
        )
        token = token.strip() or (s.token if same and base_url.strip().rstrip("/") == s.base_url else "")
    else:
        base_url = token = crm_zone = ""
    try_col, save_col = st.columns(2)
    if try_col.button("Test these settings", icon="🧪", key="conn_test"):
        try:
            trial = connect(
                system,
                base_url=base_url.strip().rstrip("/") or None,
                token=token or None,
                data_dir=s.data_dir,
                demo_size=s.demo_size,
                phone_region=s.phone_region,
                crm_timezone=crm_zone.strip() or None,
            )
            st.success(trial.check(), icon="✅")
        except LeadsError as exc:
            problems = getattr(exc, "problems", None)
            st.error("Connection failed: " + ("; ".join(problems) if problems else str(exc)), icon="⚠️")
    if save_col.button("Save and use", icon="💾", type="primary", key="conn_save"):
        try:
            save_connection(system, base_url.strip().rstrip("/"), token, crm_zone)
        except LeadsError as exc:
            st.error("Not saved: " + "; ".join(getattr(exc, "problems", [str(exc)])), icon="⚠️")
        else:
            gate.audit(s, "connection changed", {"source": system, "base_url": base_url.strip().rstrip("/")})
            ui.forget_connection()
            st.rerun()
    if pinned := overridden_by_environment():
        st.warning(
            "Set in the environment, which wins over saved settings: " + ", ".join(f"`{k}`" for k in pinned),
            icon="📌",
        )

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
    gate.audit(s, "settings changed", {"setting": "funnel mapping", "crm": key})
    st.toast("Funnel mapping saved", icon="✅")
    st.rerun()
if reset_col.button("Reset mapping to defaults"):
    store.reset_status_overrides(key)
    gate.audit(s, "settings changed", {"setting": "funnel mapping reset", "crm": key})
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
    gate.audit(s, "settings changed", {"setting": "UTM aliases"})
    st.toast("UTM aliases saved", icon="✅")
    st.rerun()
if reset_col.button("Reset aliases to defaults", disabled=aliases is None):
    store.reset_utm_aliases()
    gate.audit(s, "settings changed", {"setting": "UTM aliases reset"})
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
        gate.audit(s, "settings changed", {"setting": "custom field labels"})
        st.toast("Labels saved", icon="✅")
