#!/usr/bin/env bash
# Set up .venv (once), install Debian's Chromium for the browser test when we can, and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install -q -r requirements-dev.txt
if ! command -v chromium >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  (apt-get update -q && apt-get install -y -q chromium) >/dev/null
fi
exec .venv/bin/python -m pytest "$@"
