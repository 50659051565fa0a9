"""The sign-in gate: who is signed in, the sign-in form, sign-out, idle expiry, and the audit log's writer.

`gate(settings)` runs on every run of every page (lib.ui.navigation calls it before building the
navigation): when sign-in is required (lib.auth.auth_required) and nobody is signed in, every page URL
shows the sign-in form and nothing else; a signed-in user gets the pages of their role, and a URL to another
page says "Not allowed".
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Mapping

import streamlit as st

from lib import auth, clock
from lib.config import Settings
from lib.errors import ConfigError
from lib.text import escape_markdown

USER_KEY = "auth_user"  # session_state: {"name", "role", "seen": epoch seconds of the last run}
NOTICE_KEY = "auth_notice"
PAGE_KEY = "auth_page"  # the title of the page this run shows (for the audit log)
SIGN_OUT_KEY = "auth_sign_out"
LOCAL_CLIENT = "local or unknown"
OPEN_ACCESS = "(no sign-in)"  # who, in the audit log, when sign-in is not required
SSO_HOLD_KEY = "auth_sso_hold"  # this session does not take st.user's identity (refused, expired, signed out)
SSO_REFUSED_KEY = "auth_sso_refused"  # why the provider's e-mail was refused


def sso_provider() -> str | None:
    """The single sign-on configured in Streamlit's secrets: "" for an `[auth]` section with its own
    client_id (st.login()), a provider's name for the first `[auth.NAME]` section with one
    (st.login(NAME)), None when there is no `[auth]` section (or no secrets file at all)."""
    try:
        section = st.secrets.get("auth") if "auth" in st.secrets else None
    except Exception:  # no secrets file, or one that does not parse: no single sign-on
        return None
    if not isinstance(section, Mapping):
        return None
    if "client_id" in section:
        return ""
    for name, value in section.items():
        if isinstance(value, Mapping) and "client_id" in value:
            return str(name)
    return None


def _sso_identity() -> tuple[bool, str, object]:
    """(whether the provider has signed this browser in, the e-mail it gave, its ID token's `iat`)."""
    try:
        if not st.user.is_logged_in:
            return False, "", None
        return True, str(st.user.get("email") or ""), st.user.get("iat")
    except Exception:  # no request behind this run (AppTest), or no [auth] configured
        return False, "", None


def _sso_entry(s: Settings) -> dict | None:
    """After the provider's redirect back (st.user signed in): this session's user from the e-mail's
    mapping (lib.auth.attempt_sso_sign_in), or None (no single sign-on, held, or refused)."""
    if st.session_state.get(SSO_HOLD_KEY) or sso_provider() is None:
        return None
    signed_in, email, issued_at = _sso_identity()
    if not signed_in:
        return None
    if auth.sso_identity_stale(issued_at, time.time(), s.session_idle_hours):
        st.session_state[SSO_HOLD_KEY] = True
        st.session_state[NOTICE_KEY] = (
            f"Your single sign-on is more than {s.session_idle_hours:g} hours old. Sign in again."
        )
        return None
    from lib.ui.data import store

    user, message = auth.attempt_sso_sign_in(
        store(s), email, s.sso_default_role, client_address(), clock.now()
    )
    if user is None:
        st.session_state[SSO_HOLD_KEY] = True
        st.session_state[SSO_REFUSED_KEY] = message
        return None
    entry = {"name": user.name, "role": user.role, "seen": time.time(), "method": auth.SSO}
    st.session_state[USER_KEY] = entry
    return entry


def required(s: Settings) -> bool:
    """Whether sign-in is required; a refused LEADS_AUTH=off stops the page with the reason."""
    try:
        return auth.auth_required(s, st.config.get_option("server.address"))
    except ConfigError as exc:
        st.error("**The dashboard is not configured correctly.**")
        for problem in exc.problems:
            st.text(problem)
        st.stop()
        raise  # unreachable


def current_user() -> auth.User | None:
    """The signed-in user, or None (nobody signed in, or sign-in not required)."""
    entry = st.session_state.get(USER_KEY)
    return auth.User(entry["name"], entry["role"]) if entry else None


def current_role() -> str | None:
    """The signed-in user's role; None when sign-in is not required (every page open, nothing masked)."""
    user = current_user()
    return user.role if user else None


def masked() -> bool:
    """Whether this user's lead tables mask names, phones and e-mails."""
    user = current_user()
    return bool(user and user.masked)


def who() -> str:
    user = current_user()
    return user.name if user else OPEN_ACCESS


def client_address() -> str:
    """The browser's address (per-client throttling); LOCAL_CLIENT where Streamlit gives none (it gives
    none for a browser on this machine)."""
    try:
        address = st.context.ip_address
    except Exception:  # no request behind this run
        return LOCAL_CLIENT
    return address if isinstance(address, str) and address else LOCAL_CLIENT  # AppTest gives a mock


def audit(s: Settings, action: str, detail: dict | None = None, *, page: str | None = None) -> None:
    """Write a row to the audit log: who (this session's user), `action`, the page, `detail`."""
    from lib.ui.data import store

    store(s).audit(who(), action, page if page is not None else st.session_state.get(PAGE_KEY, ""), detail)


def gate(s: Settings) -> auth.User | None:
    """The signed-in user (None when sign-in is not required). Ends an idle session (LEADS_SESSION_IDLE_HOURS)
    and records this run as activity. Does not stop: the navigation shows the sign-in form instead of pages
    while this returns None with sign-in required."""
    if not required(s):
        st.session_state.pop(USER_KEY, None)
        return None
    entry = st.session_state.get(USER_KEY) or _sso_entry(s)
    if entry is None:
        return None
    now = time.time()  # a lease on the machine's real clock: a pinned LEADS_NOW must not keep it alive
    if now - float(entry.get("seen", 0)) > s.session_idle_hours * 3600:
        _end_session(s, "session expired")
        st.session_state[SSO_HOLD_KEY] = True
        st.session_state[NOTICE_KEY] = (
            f"Your session ended after {s.session_idle_hours:g} hours without activity. Sign in again."
        )
        return None
    from lib.ui.data import store

    if entry.get("method") == auth.SSO:
        role, _reason = auth.sso_role(store(s), entry["name"], s.sso_default_role)
        if role is None:
            _end_session(s, "session ended: e-mail disabled or removed")
            st.session_state[SSO_HOLD_KEY] = True
            st.session_state[NOTICE_KEY] = "Your e-mail no longer has access. Ask an admin."
            return None
        entry["seen"] = now
        entry["role"] = role
        return auth.User(entry["name"], role)
    account = store(s).user(entry["name"])
    if account is None or account["disabled"]:
        _end_session(s, "session ended: account disabled or removed")
        st.session_state[NOTICE_KEY] = "Your account is disabled. Ask an admin."
        return None
    entry["seen"] = now
    entry["role"] = account["role"]  # a role changed by an admin applies on the next run
    return auth.User(entry["name"], entry["role"])


def _end_session(s: Settings, action: str) -> None:
    entry = st.session_state.pop(USER_KEY, None)
    if entry:
        from lib.ui.data import store

        store(s).audit(entry["name"], action, detail={})


def sign_in_page(s: Settings) -> None:
    """The sign-in form, and nothing else."""
    from lib.ui.data import store

    st.title("Sign in")
    st.caption("The leads dashboard holds personal data: sign in with the account an admin gave you.")
    if notice := st.session_state.pop(NOTICE_KEY, None):
        st.info(notice)
    provider = sso_provider()
    if provider is not None:
        _sso_buttons(s, provider)
        st.divider()
        st.caption("Or with a dashboard account:")
    with st.form("sign_in"):
        name = st.text_input("User name", key="auth_name", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="auth_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    user, message = auth.attempt_sign_in(store(s), name, password, client_address(), time.time(), clock.now())
    if user is None:
        st.error(message)
        return
    st.session_state[USER_KEY] = {"name": user.name, "role": user.role, "seen": time.time()}
    st.session_state.pop("auth_password", None)
    st.rerun()


def _sso_buttons(s: Settings, provider: str) -> None:
    """ "Sign in with …" (st.login), and after a refusal the reason and a way to leave the provider's
    account (st.logout) to choose another."""
    if refused := st.session_state.get(SSO_REFUSED_KEY):
        st.error(escape_markdown(refused))  # it quotes the e-mail the provider gave
    if importlib.util.find_spec("authlib") is None:
        st.warning("Single sign-on is configured but Authlib is not installed: pip install 'Authlib>=1.3.2'.")
        return
    if st.button(f"Sign in with {s.sso_label}", type="primary", key="auth_sso_login", icon="🔑"):
        st.session_state.pop(SSO_HOLD_KEY, None)
        st.session_state.pop(SSO_REFUSED_KEY, None)
        st.login(provider) if provider else st.login()
    if refused and _sso_identity()[0] and st.button(f"Sign out of {s.sso_label}", key="auth_sso_logout"):
        st.session_state.pop(SSO_REFUSED_KEY, None)
        st.logout()


def sign_out(s: Settings) -> None:
    """End this session (audited) and show the sign-in form; a single sign-on session also leaves the
    provider's account (st.logout: its cookie goes, and the browser is sent to the provider's sign-out)."""
    entry = st.session_state.pop(USER_KEY, None)
    if entry:
        from lib.ui.data import store

        store(s).audit(entry["name"], "sign-out", detail={"method": entry.get("method", "password")})
    st.session_state[NOTICE_KEY] = "You have signed out."
    if entry and entry.get("method") == auth.SSO:
        st.session_state[SSO_HOLD_KEY] = True
        st.logout()


def sidebar_user(s: Settings, user: auth.User) -> None:
    """Who is signed in, and the sign-out button, at the bottom of the sidebar."""
    with st.sidebar:
        st.caption("Signed in as")
        st.text(f"{user.name} · {auth.ROLE_LABELS.get(user.role, user.role)}")
        st.button("Sign out", key=SIGN_OUT_KEY, icon="🚪", on_click=sign_out, args=(s,))


def not_allowed(title: str) -> None:
    """What a page the role may not open shows instead of itself."""
    st.title("Not allowed")
    st.error(
        f"Not allowed: your role ({auth.ROLE_LABELS.get(current_role() or '', current_role())}) may not open "
        f"{title}. Choose a page in the sidebar, or ask an admin."
    )


def require(s: Settings, page: str) -> auth.User | None:
    """A page's own check (on top of the navigation's): stops unless this session may open `page`."""
    user = gate(s)
    if required(s) and (user is None or not auth.may_open(user.role, page)):
        st.error("Not allowed: sign in with an account that may open this page.")
        st.stop()
    return user


def own_leads(s: Settings, data):
    """`data` (LoadedData) with only this user's own leads when LEADS_OWN_LEADS_ONLY applies to the role."""
    from dataclasses import replace

    leads = auth.own_leads(data.leads, current_user(), s.own_leads_only)
    return data if leads is data.leads else replace(data, leads=leads)
