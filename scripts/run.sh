#!/usr/bin/env bash
# Set up .venv (once) and start the dashboard on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt
exec .venv/bin/streamlit run app.py "$@"
