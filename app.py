"""The leads dashboard: page config and navigation; everything else lives in pages/ and lib/."""

import streamlit as st

st.set_page_config(page_title="Leads dashboard", page_icon="📈", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon="📊", default=True),
]
st.navigation(pages).run()
