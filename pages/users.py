"""Users (admins only): every account with its role, and forms to add one, change a role, set a new
password, and disable or enable an account. Passwords are hashed (lib.auth); every change is audited.
Then the e-mails that may sign in through single sign-on (st.login), each with its role."""

import pandas as pd
import streamlit as st

from lib import auth, ui
from lib.text import escape_markdown
from lib.ui import auth as gate

s = ui.settings()
gate.require(s, "pages/users.py")
store = ui.store(s)


def accounts_table(frame: pd.DataFrame, name: str, key: str, key_label: str) -> None:
    """Accounts (built-in or single sign-on) with their role's label and times in the display zone."""
    when = {
        c: pd.to_datetime(frame[c], utc=True, format="ISO8601").dt.tz_convert(s.timezone)
        for c in ("created_at", "updated_at")
    }
    ui.table(
        frame.assign(role=frame["role"].map(lambda r: auth.ROLE_LABELS.get(r, r)).astype("string"), **when),
        name,
        column_config={
            key: st.column_config.TextColumn(key_label),
            "role": st.column_config.TextColumn("Role"),
            "disabled": st.column_config.CheckboxColumn("Disabled"),
            "created_at": st.column_config.DatetimeColumn(
                f"Created ({s.timezone})", format="YYYY-MM-DD HH:mm"
            ),
            "updated_at": st.column_config.DatetimeColumn(
                f"Changed ({s.timezone})", format="YYYY-MM-DD HH:mm"
            ),
        },
    )


st.title("Users")
if note := st.session_state.pop("users_note", None):
    st.success(escape_markdown(note))  # it may quote a name or e-mail an admin typed
if not gate.required(s):
    st.info(
        "Sign-in is off for this dashboard (the demo on this machine, or LEADS_AUTH=off): the accounts below "
        "are used once sign-in is on (LEADS_AUTH=on, a real CRM, or serving beyond this machine)."
    )
users = store.users()
if users.empty:
    st.info(
        "No users yet. Add the first admin below, or from a terminal: `python -m lib.users add NAME --role admin`"
    )
else:
    accounts_table(users, "users", "name", "User")


def role_label(role: str) -> str:
    return auth.ROLE_LABELS[role]


def done(message: str, action: str, detail: dict) -> None:
    gate.audit(s, action, detail)
    st.session_state["users_note"] = message
    st.rerun()


add_tab, role_tab, password_tab, state_tab = st.tabs(
    ["Add", "Change role", "New password", "Disable / enable"]
)
with add_tab, st.form("users_add", clear_on_submit=True):
    name = st.text_input("User name", key="users_add_name")
    role = st.selectbox("Role", auth.USER_ROLES, format_func=role_label, key="users_add_role")
    password = st.text_input(
        "Password",
        type="password",
        key="users_add_password",
        help="At least 12 characters, not a common one.",
    )
    if st.form_submit_button("Add user", type="primary"):
        name = name.strip()
        try:
            if not name:
                raise ValueError("Enter a user name.")
            auth.check_password(password, name)
            store.add_user(name, role, auth.hash_password(password))
        except ValueError as exc:
            st.error(escape_markdown(exc))
        else:
            done(f"Added {name} ({role_label(role)}).", "user added", {"user": name, "role": role})

names = users["name"].tolist()
if names:
    with role_tab, st.form("users_role"):
        who_ = st.selectbox("User", names, key="users_role_name")
        role = st.selectbox("New role", auth.USER_ROLES, format_func=role_label, key="users_role_role")
        if st.form_submit_button("Change role"):
            account = store.user(who_)
            if account["role"] == auth.ADMIN and role != auth.ADMIN and store.active_admins() <= 1:
                st.error(f"{who_} is the only active admin: make another user admin first.")
            else:
                store.update_user(who_, role=role)
                done(
                    f"{who_} is now {role_label(role)}.",
                    "user role changed",
                    {"user": who_, "from": account["role"], "to": role},
                )
    with password_tab, st.form("users_password", clear_on_submit=True):
        who_ = st.selectbox("User", names, key="users_password_name")
        password = st.text_input("New password", type="password", key="users_password_password")
        if st.form_submit_button("Set password"):
            try:
                auth.check_password(password, who_)
            except ValueError as exc:
                st.error(escape_markdown(exc))
            else:
                store.update_user(who_, password_hash=auth.hash_password(password))
                done(f"New password set for {who_}.", "user password reset", {"user": who_})
    with state_tab, st.form("users_state"):
        who_ = st.selectbox("User", names, key="users_state_name")
        disable_col, enable_col = st.columns(2)
        disable = disable_col.form_submit_button("Disable")
        enable = enable_col.form_submit_button("Enable")
        if disable or enable:
            account = store.user(who_)
            if (
                disable
                and account["role"] == auth.ADMIN
                and not account["disabled"]
                and store.active_admins() <= 1
            ):
                st.error(f"{who_} is the only active admin: add another admin first.")
            elif disable and who_ == gate.who():
                st.error("You cannot disable your own account.")
            else:
                store.update_user(who_, disabled=bool(disable))
                verb = "disabled" if disable else "enabled"
                done(f"{who_} is {verb}.", f"user {verb}", {"user": who_})


# -- single sign-on e-mails -------------------------------------------------------------------------------
st.header("Single sign-on e-mails")
if gate.sso_provider() is None:
    st.info(
        "Single sign-on is not configured: add an [auth] section to .streamlit/secrets.toml (see "
        ".streamlit/secrets.example.toml). The e-mails below are used once it is."
    )
if s.sso_default_role:
    st.caption(
        f"An e-mail not listed here signs in as {role_label(s.sso_default_role)} (LEADS_SSO_DEFAULT_ROLE)."
    )
else:
    st.caption("An e-mail not listed here is refused (LEADS_SSO_DEFAULT_ROLE is empty).")
sso_users = store.sso_users()
if sso_users.empty:
    st.info("No single sign-on e-mails yet.")
else:
    accounts_table(sso_users, "sso_users", "email", "E-mail")

sso_add_tab, sso_change_tab = st.tabs(["Add e-mail", "Change / remove e-mail"])
with sso_add_tab, st.form("sso_add", clear_on_submit=True):
    email = st.text_input("E-mail", key="sso_add_email", help="As the provider gives it (any case).")
    role = st.selectbox("Role", auth.USER_ROLES, format_func=role_label, key="sso_add_role")
    if st.form_submit_button("Add e-mail", type="primary"):
        try:
            email = store.add_sso_user(email, role)
        except ValueError as exc:
            st.error(escape_markdown(exc))
        else:
            done(
                f"{email} may sign in as {role_label(role)}.",
                "sso e-mail added",
                {"email": email, "role": role},
            )

emails = sso_users["email"].tolist()
if emails:
    with sso_change_tab, st.form("sso_change"):
        email = st.selectbox("E-mail", emails, key="sso_change_email")
        role = st.selectbox("New role", auth.USER_ROLES, format_func=role_label, key="sso_change_role")
        role_col, disable_col, enable_col, remove_col = st.columns(4)
        change = role_col.form_submit_button("Change e-mail's role")
        disable = disable_col.form_submit_button("Disable e-mail")
        enable = enable_col.form_submit_button("Enable e-mail")
        remove = remove_col.form_submit_button("Remove e-mail")
        mapping = store.sso_user(email) if email else None
        if (change or disable or enable or remove) and mapping is None:
            st.error(f"{escape_markdown(email)} is no longer in the list.")
        elif (disable or remove) and email == gate.who():
            st.error("You cannot disable or remove the e-mail you are signed in with.")
        elif change:
            store.update_sso_user(email, role=role)
            done(
                f"{email} is now {role_label(role)}.",
                "sso e-mail role changed",
                {"email": email, "from": mapping["role"], "to": role},
            )
        elif disable or enable:
            store.update_sso_user(email, disabled=bool(disable))
            verb = "disabled" if disable else "enabled"
            done(f"{email} is {verb}.", f"sso e-mail {verb}", {"email": email})
        elif remove:
            store.remove_sso_user(email)
            done(f"{email} is removed.", "sso e-mail removed", {"email": email, "role": mapping["role"]})
