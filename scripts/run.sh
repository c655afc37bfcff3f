#!/usr/bin/env bash
# Set up .venv (once) and start the dashboard on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt
# MNIST: data/ by default (torchvision downloads it there when there is internet). A checkout that sits
# beside the project's shared/ folder, which holds the real MNIST test set, uses that when data/ is empty.
if [[ -z "${MNIST_ROOT:-}" && ! -d data/MNIST/raw && -d ../shared/data/MNIST/raw ]]; then
  export MNIST_ROOT=../shared/data
fi
exec .venv/bin/python scripts/launch.py "$@"
