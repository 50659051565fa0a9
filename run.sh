#!/usr/bin/env bash
# Runs the dashboard: http://localhost:8501 (on the embedded demo CRM unless a CRM is configured).
cd "$(dirname "$0")"
. scripts/venv.sh requirements.txt
exec .venv/bin/python -m streamlit run app.py "$@"
