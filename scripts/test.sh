#!/usr/bin/env bash
# Set up .venv (once), install Debian's Chromium (the browser tests), fonts-noto-cjk (their Korean screenshots)
# and HAProxy (tests/test_serve.py: scripts/serve.sh) when we can, and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install -q -r requirements-dev.txt
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
compgen -G "/usr/share/fonts/opentype/noto/NotoSansCJK*" >/dev/null || missing+=(fonts-noto-cjk)   # Korean screenshots
if (( ${#missing[@]} )) && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}") >/dev/null
fi
exec .venv/bin/python -m pytest "$@"
