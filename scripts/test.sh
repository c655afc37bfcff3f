#!/usr/bin/env bash
# Set up .venv (once), install Debian's Chromium for the browser test when we can, and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install -q -r requirements-dev.txt
if ! command -v chromium >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  (apt-get update -q && apt-get install -y -q chromium) >/dev/null
fi
[[ $(id -u) == 0 ]] && command -v apt-get >/dev/null && ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' && (apt-get update -q && apt-get install -y -q fonts-noto-cjk) >/dev/null   # Korean screenshots
exec .venv/bin/python -m pytest "$@"
