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
    connection_to_try,
    overridden_by_environment,
    save_connection,
)
from lib.crm import LeadsError, connect
from lib.errors import ConfigError
from lib.netguard import TRIAL_HTTP_OPTIONS, plain_connection_error
from lib.schema import DEFAULT_STAGES, ROLES, empty_statuses
from lib.store import crm_key
from lib.text import escape_markdown
from lib.ui import auth as gate

s = ui.settings()
gate.require(s, "pages/settings.py")  # admins only: the connection test, "Save and use" and every mapping

st.title("Settings")

st.subheader("Connection")
# Filled after the connection form: the form needs nothing from the CRM, so a CRM that fails or hangs never
# keeps an admin from changing the connection (its buttons are handled before anything waits on the CRM).
status_box = st.container()

with st.expander("Connect a CRM", icon="🔗", expanded=s.is_demo):
    st.caption(
        "Choose the system, then test the connection before saving it. Saved settings go to "
        "`.streamlit/secrets.toml` on this machine (readable only by you); the token is never shown again, "
        "and it is only sent to the address it was saved for."
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
        typed_token = st.text_input(
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
    else:
        base_url = typed_token = crm_zone = ""
    url = base_url.strip().rstrip("/")
    # the saved token only for the saved address; a new address must be public (unless allowed)
    token, refused = connection_to_try(system, url, typed_token, s)
    new_address = system != "demo" and not (same and url == (s.base_url or ""))
    guard = {"public_only": True} if new_address and not s.allow_private_crm else {}
    try_col, save_col = st.columns(2)
    if try_col.button("Test these settings", icon="🧪", key="conn_test"):
        if refused:
            st.error("Not tested: " + "; ".join(escape_markdown(r) for r in refused), icon="⚠️")
        else:
            try:
                trial = connect(
                    system,
                    base_url=url or None,
                    token=token,
                    data_dir=s.data_dir,
                    demo_size=s.demo_size,
                    phone_region=s.phone_region,
                    crm_timezone=crm_zone.strip() or None,
                    **guard,
                    **TRIAL_HTTP_OPTIONS,
                )
                st.success(escape_markdown(trial.check()), icon="✅")
            except LeadsError as exc:
                st.error("Connection failed: " + escape_markdown(plain_connection_error(exc)), icon="⚠️")
    if save_col.button("Save and use", icon="💾", type="primary", key="conn_save"):
        try:
            if refused:
                raise ConfigError(refused)
            save_connection(system, url, token, crm_zone)
        except LeadsError as exc:
            problems = getattr(exc, "problems", [str(exc)])
            st.error("Not saved: " + "; ".join(escape_markdown(p) for p in problems), icon="⚠️")
        else:
            gate.audit(s, "connection changed", {"source": system, "base_url": base_url.strip().rstrip("/")})
            ui.forget_connection()
            st.rerun()
    if pinned := overridden_by_environment():
        st.warning(
            "Set in the environment, which wins over saved settings: " + ", ".join(f"`{k}`" for k in pinned),
            icon="📌",
        )

with status_box:
    src = ui.source(s)
    left, right = st.columns(2)
    left.markdown(
        f"**CRM:** {escape_markdown(src.label)}  \n**Source setting:** `{s.source}`  \n"
        f"**Token:** {'configured (hidden)' if s.token else 'not needed' if s.is_demo else 'missing'}  \n"
        f"**Display time zone:** {s.timezone} · **Phone region:** {s.phone_region}"
    )
    with right:
        data = ui.load_data_or_error(s)
    if data is not None:
        right.markdown(
            f"**Last sync:** {ui.sync_ago(s, data.synced_at)}  \n**Leads in the store:** {len(data.leads):,}  \n"
            f"**Statuses:** {len(data.statuses)}"
        )
    test_col, refresh_col = right.columns(2)
    if test_col.button("Test connection", icon="🔌"):
        try:
            st.success(escape_markdown(src.check()), icon="✅")
        except LeadsError as exc:
            st.error("Connection failed: " + escape_markdown(plain_connection_error(exc)), icon="⚠️")
    if refresh_col.button("Sync now", icon="🔄", key="settings_sync_now"):
        with right:
            ui.sync_now(s)
        st.rerun()

with st.expander("Sync runs", expanded=True):
    st.caption(
        f"The sync copies the CRM into the dashboard's store in the background every "
        f"{ui.interval_text(s.sync_interval)} (LEADS_SYNC_INTERVAL): only what changed since the last run where "
        f"the CRM allows it, and a full read after {s.full_sync_at} each night (LEADS_FULL_SYNC_AT), which also "
        f"finds deleted leads. Pages read the store, never the CRM. Store: {ui.store_label(s)}."
    )
    runs = ui.lead_store(s).runs(crm_key(s), limit=20)
    if runs.empty:
        st.info("No sync has run yet.")
    else:
        ui.table(ui.runs_table(s, runs), "sync-runs")
if data is not None:
    ui.sidebar_status(s, data)
store = ui.store(s)
key = crm_key(s)

st.subheader("Funnel mapping")
st.caption(
    "The role of each status (open, won = became a customer, lost, junk = duplicate or invalid) and the furthest "
    "funnel stage a lead in it has reached. Defaults come from the status names; your changes apply to every page."
)
stage_names = ["—", *DEFAULT_STAGES]
if data is None:
    st.info("The funnel mapping needs the CRM's statuses: it shows once the leads load.", icon="⏳")
statuses = ui.catalogue(s, data) if data is not None else empty_statuses()
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
if save_col.button("Save mapping", type="primary", disabled=data is None):
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
if reset_col.button("Reset mapping to defaults", disabled=data is None):
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

st.subheader("Channel rules")
st.caption(
    "How a lead gets its channel: Google Analytics 4's default channel group, in Google's order; the first rule "
    "that matches wins. Search, social, video and shopping sites come from Google's source-category list plus "
    "our additions (webmail, apps, Israeli sites). Without a UTM source, a click id in the landing page "
    "(gclid, fbclid, msclkid, ttclid...) or the referrer names it; a paid spelling of the source "
    "(google ads, fb-ads), paid words in the campaign or a click id stand in for a missing medium."
)
st.dataframe(
    pd.DataFrame({"channel": [r.name for r in analytics.CHANNEL_RULES], "when": [r.condition for r in analytics.CHANNEL_RULES]}),
    hide_index=True, width="stretch", height=(len(analytics.CHANNEL_RULES) + 1) * 35 + 3,
    column_config={"channel": st.column_config.TextColumn(width="small"), "when": st.column_config.TextColumn(width="large")},
)  # fmt: skip

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
