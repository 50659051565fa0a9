"""The page config and the sectioned navigation."""

from __future__ import annotations

import streamlit as st

NAVIGATION = {  # section -> pages (file, title, icon); the first page is the default
    "Managers": [
        ("pages/overview.py", "Overview", "📊"),
        ("pages/funnel.py", "Funnel", "🔻"),
        ("pages/statuses.py", "Statuses", "🏷️"),
        ("pages/goals.py", "Goals", "🎯"),
    ],
    "Marketing": [("pages/marketing.py", "Marketing", "📣"), ("pages/ad_spend.py", "Ad spend", "💰")],
    "Sales": [("pages/leads.py", "Leads", "📋"), ("pages/new_lead.py", "New lead", "➕")],
    "Admin": [("pages/settings.py", "Settings", "⚙️")],
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
    """The page config and the sectioned navigation (app.py runs the page it returns)."""
    st.set_page_config(page_title="Leads dashboard", page_icon="📈", layout="wide")
    st.html(f"<style>{PHONE_CSS}</style>")
    first = NAVIGATION["Managers"][0][0]
    return st.navigation(
        {
            section: [
                st.Page(path, title=title, icon=icon, default=path == first) for path, title, icon in pages
            ]
            for section, pages in NAVIGATION.items()
        }
    )


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
