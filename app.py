"""The leads dashboard: page config and navigation; everything else lives in pages/ and lib/."""

import streamlit as st

st.set_page_config(page_title="Leads dashboard", page_icon="📈", layout="wide")

pages = {
    "Managers": [
        st.Page("pages/overview.py", title="Overview", icon="📊", default=True),
        st.Page("pages/funnel.py", title="Funnel", icon="🔻"),
        st.Page("pages/statuses.py", title="Statuses", icon="🏷️"),
    ],
    "Marketing": [st.Page("pages/marketing.py", title="Marketing", icon="📣")],
    "Sales": [
        st.Page("pages/leads.py", title="Leads", icon="📋"),
        st.Page("pages/new_lead.py", title="New lead", icon="➕"),
    ],
    "Admin": [st.Page("pages/settings.py", title="Settings", icon="⚙️")],
}
st.navigation(pages).run()
