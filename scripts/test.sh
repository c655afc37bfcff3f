#!/usr/bin/env bash
# Set up .venv (once), install Debian's Chromium (the browser tests), fonts-noto-cjk (their Korean screenshots)
# HAProxy (tests/test_serve.py: scripts/serve.sh) and PostgreSQL (the class store's tests start a throwaway cluster)
# when we can, and run the whole suite.
#   bash scripts/test.sh --fast    lib and pure logic only: no browser, serve, postgres or slow test (pytest.ini)
# Any other argument goes to pytest (bash scripts/test.sh --fast tests/test_config.py -k lr).
set -euo pipefail
cd "$(dirname "$0")/.."
tier=()
if [[ ${1:-} == --fast ]]; then
  shift
  tier=(-m "not browser and not serve and not postgres and not slow")
fi
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install -q -r requirements-dev.txt
(( ${#tier[@]} )) && exec .venv/bin/python -m pytest "${tier[@]}" "$@"
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
compgen -G "/usr/share/fonts/opentype/noto/NotoSansCJK*" >/dev/null || missing+=(fonts-noto-cjk)   # Korean screenshots
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)   # the class store's PostgreSQL tests
if (( ${#missing[@]} )) && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}") >/dev/null
fi
exec .venv/bin/python -m pytest "$@"
