"""The page config and the sectioned navigation."""

from __future__ import annotations

import streamlit as st
from streamlit.util import calc_hash

from lib.auth import may_open

NAVIGATION = {  # section -> pages (file, title, icon); the first page is the default
    "Managers": [
        ("pages/overview.py", "Overview", "📊"),
        ("pages/funnel.py", "Funnel", "🔻"),
        ("pages/statuses.py", "Statuses", "🏷️"),
        ("pages/history.py", "Status history", "⏱️"),
        ("pages/goals.py", "Goals", "🎯"),
    ],
    "Marketing": [("pages/marketing.py", "Marketing", "📣"), ("pages/ad_spend.py", "Ad spend", "💰")],
    "Sales": [("pages/leads.py", "Leads", "📋"), ("pages/new_lead.py", "New lead", "➕")],
    "Admin": [
        ("pages/settings.py", "Settings", "⚙️"),
        ("pages/users.py", "Users", "👥"),
        ("pages/audit.py", "Audit log", "🧾"),
    ],
}


# Phone-size screens (Streamlit stacks columns below 640 px): a row of KPI cards becomes a 2-column grid with
# smaller figures instead of four full-width cards that take two screens.
PHONE_CSS = """
@media (max-width: 640px) {
  [data-testid="stHorizontalBlock"]:has([data-testid="stMetric"]) {
    flex-direction: row !important; flex-wrap: wrap !important; gap: 0.5rem !important;
  }
  [data-testid="stHorizontalBlock"]:has([data-testid="stMetric"]) > [data-testid="stColumn"] {
    flex: 1 1 calc(50% - 0.5rem) !important; min-width: calc(50% - 0.5rem) !important;
    width: calc(50% - 0.5rem) !important;
  }
  [data-testid="stMetric"] { padding: 0.5rem 0.6rem !important; }
  [data-testid="stMetricValue"] { font-size: 1.6rem !important; }
}
"""


def navigation():
    """The page config and the sectioned navigation (app.py runs the page it returns), behind the sign-in
    gate (lib.ui.auth), which this runs on every run: with sign-in required and nobody signed in, every page
    URL runs the sign-in form; a signed-in user sees only the pages of their role, and a URL to another
    page runs a "Not allowed" page instead of it."""
    from lib.ui import auth as gate

    st.set_page_config(page_title="Leads dashboard", page_icon="📈", layout="wide")
    st.html(f"<style>{PHONE_CSS}</style>")
    s = _settings()
    user = gate.gate(s) if s else None
    if s and user is None and gate.required(s):
        return _sign_in_navigation(s)
    role = user.role if user else None
    allowed = {
        section: [(path, title, icon) for path, title, icon in pages if may_open(role, path)]
        for section, pages in NAVIGATION.items()
    }
    allowed = {section: pages for section, pages in allowed.items() if pages}
    first = next(iter(allowed.values()))[0][0]
    sections = {
        section: [st.Page(path, title=title, icon=icon, default=path == first) for path, title, icon in pages]
        for section, pages in allowed.items()
    }
    if refused := _requested_refused_page(role):
        sections[""] = [
            st.Page(lambda: gate.not_allowed(refused[1]), title="Not allowed", url_path=refused[0])
        ]
    nav = st.navigation(sections)
    st.session_state[gate.PAGE_KEY] = nav.title
    if user:
        gate.sidebar_user(s, user)
    return nav


def _settings():
    """The settings, or None when they are not valid: then every page's first line (ui.settings()) shows
    the problems and stops, before any data is loaded."""
    from lib.config import load_settings
    from lib.errors import LeadsError

    try:
        return load_settings()
    except LeadsError:
        return None


def _url_path(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".py")


def _sign_in_navigation(s):
    """Every page URL (kept as it is, so the page opens after sign-in) runs the sign-in form."""
    from lib.ui import auth as gate

    pages = [
        st.Page(lambda: gate.sign_in_page(s), title="Sign in", url_path=_url_path(path), default=i == 0)
        for i, (path, _title, _icon) in enumerate(p for pages in NAVIGATION.values() for p in pages)
    ]
    nav = st.navigation(pages, position="hidden")
    st.session_state[gate.PAGE_KEY] = "Sign in"
    return nav


def _requested_refused_page(role: str | None) -> tuple[str, str] | None:
    """(url path, title) of the page this run asks for when `role` may not open it, else None."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if role is None or ctx is None:
        return None
    manager = ctx.pages_manager
    for pages in NAVIGATION.values():
        for path, title, _icon in pages:
            url = _url_path(path)
            asked = manager.intended_page_script_hash == calc_hash(url) or manager.intended_page_name == url
            if asked and not may_open(role, path):
                return url, title
    return None


def _through_app_navigation() -> None:
    """Give a page opened by a deep link the app's navigation and page config, even on the process's first
    visit.

    Streamlit decides once per process, on the first session, whether the app uses the old `pages/`
    directory navigation (it sees our pages/ folder) and keeps that until some run calls st.navigation. If
    the first visitor opens a link such as /funnel?preset=..., the page runs on its own, with a sidebar of
    file names and a narrow layout, and so does every deep link after it. Declaring the navigation here
    (st.navigation also turns that flag off) fixes this run and every later one. Only a session's first run
    does it: declaring the navigation again in a run that has widget state would reset that state (AppTest
    turns the flag back on before every run of its own).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state:
        navigation()
        st.rerun()  # widgets get their ids from the page: let the user's first input meet the final ones
    if PagesManager.uses_pages_directory:
        _gate_direct_run()


def _gate_direct_run() -> None:
    """The sign-in gate for a page that runs on its own, outside app.py's navigation (a deep link while
    Streamlit still uses the pages/ directory, and every run of AppTest): the sign-in form instead of the
    page when nobody is signed in, "Not allowed" when the role may not open it. Stops the run then."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    from lib.ui import auth as gate

    ctx = get_script_run_ctx()
    shared = getattr(ctx, "shared", ctx)  # the keys of this run's widgets (moved to ctx.shared in 1.5x)
    if gate.SIGN_OUT_KEY in getattr(shared, "widget_user_keys_this_run", ()):
        return  # checked already in this run (the page reads the settings more than once)
    running = ctx.page_script_hash if ctx else None
    page = next(
        (
            entry
            for pages in NAVIGATION.values()
            for entry in pages
            if calc_hash(_url_path(entry[0])) == running
        ),
        None,
    )
    if page:
        st.session_state[gate.PAGE_KEY] = page[1]
    s = _settings()
    if s is None or not gate.required(s):
        return  # bad settings: ui.settings() shows the problems and stops
    user = gate.gate(s)
    if user is None:
        st.session_state[gate.PAGE_KEY] = "Sign in"
        gate.sign_in_page(s)
        st.stop()
    if page and not may_open(user.role, page[0]):
        gate.not_allowed(page[1])
        st.stop()
    gate.sidebar_user(s, user)
