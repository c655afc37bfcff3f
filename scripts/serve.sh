#!/usr/bin/env bash
# The classroom server: REPLICAS Streamlit processes of app.py on 127.0.0.1, behind HAProxy on HOST:PORT.
#
#   bash scripts/serve.sh                          # one replica, http://<this machine>:8501
#   REPLICAS=4 bash scripts/serve.sh               # four replicas (a bigger machine)
#
# Settings (environment variables):
#   REPLICAS       number of Streamlit processes (default 1)
#   PORT           where HAProxy listens (default 8501); HOST its address (default 0.0.0.0: the classroom's network)
#   REPLICA_PORT   the first replica's port on 127.0.0.1 (default PORT+1); replica i listens on REPLICA_PORT+i-1
#   TRAIN_WORKERS  training worker processes per replica (default: max(1, cores / REPLICAS))
#   COOKIE_SECRET  Streamlit's cookie secret, shared by every replica (default: a new random one per start)
#   MNIST_ROOT     where the MNIST data lives (as scripts/run.sh: data/, or ../shared/data when that is all)
#   SERVE_DIR      where the runtime HAProxy file and the replicas' logs go (default: a new folder in $TMPDIR)
#
# Needs HAProxy: Debian's `haproxy` package, installed here with apt-get when it is missing and this runs as
# root. Runs in the foreground; Ctrl-C or SIGTERM stops HAProxy and every replica (and their workers).
# A replica that dies is taken out of rotation by HAProxy's health checks; its students land on a live one.
set -euo pipefail
cd "$(dirname "$0")/.."

REPLICAS=${REPLICAS:-1}
PORT=${PORT:-8501}
HOST=${HOST:-0.0.0.0}
REPLICA_PORT=${REPLICA_PORT:-$((PORT + 1))}
for name in REPLICAS PORT REPLICA_PORT; do
  if ! [[ ${!name} =~ ^[0-9]+$ ]] || (( ${!name} < 1 )); then
    echo "serve.sh: $name must be a positive whole number, not '${!name}'" >&2
    exit 2
  fi
done
if (( REPLICA_PORT <= PORT && PORT < REPLICA_PORT + REPLICAS )) || (( REPLICA_PORT + REPLICAS - 1 > 65535 )); then
  echo "serve.sh: the replicas' ports $REPLICA_PORT..$((REPLICA_PORT + REPLICAS - 1)) must not include PORT=$PORT" \
       "and must end at 65535 at most" >&2
  exit 2
fi

# ---------------------------------------------------------------- HAProxy
HAPROXY=$(command -v haproxy || true)
[[ -z $HAPROXY && -x /usr/sbin/haproxy ]] && HAPROXY=/usr/sbin/haproxy
if [[ -z $HAPROXY ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "serve.sh: installing Debian's haproxy package (apt-get install haproxy)"
    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends haproxy) \
      >/dev/null
    HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
  else
    echo "serve.sh: HAProxy is missing. Install it once (Debian/Ubuntu: sudo apt-get install haproxy), or run" \
         "this script as root, which installs it." >&2
    exit 1
  fi
fi

# ---------------------------------------------------------------- the app's environment (as scripts/run.sh)
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt
if [[ -z "${MNIST_ROOT:-}" && ! -d data/MNIST/raw && -d ../shared/data/MNIST/raw ]]; then
  export MNIST_ROOT=../shared/data
fi
cores=$(nproc)
if [[ -z "${TRAIN_WORKERS:-}" ]]; then
  TRAIN_WORKERS=$(( cores / REPLICAS ))
  (( TRAIN_WORKERS >= 1 )) || TRAIN_WORKERS=1
fi
export TRAIN_WORKERS
# Streamlit signs its XSRF cookie with this secret: every replica must have the same one, or a student moved
# to another replica could not upload a file any more. Given to Streamlit through its environment, not argv
# (no secret in `ps`).
if [[ -z "${COOKIE_SECRET:-}" ]]; then
  COOKIE_SECRET=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')
fi
export STREAMLIT_SERVER_COOKIE_SECRET=$COOKIE_SECRET
unset COOKIE_SECRET

SERVE_DIR=${SERVE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/serve.XXXXXX")}
mkdir -p "$SERVE_DIR"

port_free() {   # can we listen on 127.0.0.1:$1 (or $2:$1)?
  .venv/bin/python - "$1" "${2:-127.0.0.1}" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[2], int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}
port_free "$PORT" "$HOST" || { echo "serve.sh: $HOST:$PORT is in use; choose another PORT" >&2; exit 1; }
servers="$SERVE_DIR/servers.cfg"
{
  echo "# written by scripts/serve.sh: its $REPLICAS replicas on this machine"
  echo "backend replicas"
  for (( i = 1; i <= REPLICAS; i++ )); do
    p=$(( REPLICA_PORT + i - 1 ))
    port_free "$p" || { echo "serve.sh: 127.0.0.1:$p (replica r$i) is in use; choose another REPLICA_PORT" >&2; exit 1; }
    echo "    server r$i 127.0.0.1:$p check cookie r$i"
  done
} >"$servers"
export HOST PORT
"$HAPROXY" -c -f deploy/haproxy.cfg -f "$servers" >/dev/null

# ---------------------------------------------------------------- start, and stop everything on the way out
set -m            # every background job gets its own process group: a replica and its workers stop together
pids=()           # process-group leaders we started
haproxy_pid=""
declare -A replica_of=()

group_alive() {   # whether process group $1 has a process that is not a zombie (from /proc/*/stat)
  local stat line state pgrp
  for stat in /proc/[0-9]*/stat; do
    read -r line < "$stat" 2>/dev/null || continue
    line=${line##*) }                 # after the command's name: state, ppid, pgrp, ...
    read -r state _ pgrp _ <<< "$line"
    [[ $pgrp == "$1" && $state != Z ]] && return 0
  done
  return 1
}

stop_all() {
  trap - EXIT INT TERM
  (( ${#pids[@]} )) || exit "${1:-0}"
  echo "serve.sh: stopping HAProxy and the replicas"
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  # whatever has not stopped 15 s later is killed
  ( sleep 15; for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done ) &
  local watchdog=$!
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # ... and until no process of their groups is left (a replica's training workers exit just after it), at most
  # until the watchdog's kill
  local left=1 tries=0
  while (( left && tries++ < 160 )); do
    left=0
    for pid in "${pids[@]}"; do group_alive "$pid" && left=1; done
    (( left )) && sleep 0.1
  done
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
  echo "serve.sh: stopped; logs in $SERVE_DIR"
  exit "${1:-0}"
}
trap 'stop_all $?' EXIT
trap 'stop_all 130' INT
trap 'stop_all 143' TERM

echo "serve.sh: $REPLICAS replica(s), $TRAIN_WORKERS training worker(s) each, $cores core(s); MNIST_ROOT=${MNIST_ROOT:-data}"
for (( i = 1; i <= REPLICAS; i++ )); do
  p=$(( REPLICA_PORT + i - 1 ))
  .venv/bin/python scripts/launch.py --server.address 127.0.0.1 --server.port "$p" --server.headless true \
    --server.fileWatcherType none --browser.gatherUsageStats false >"$SERVE_DIR/r$i.log" 2>&1 &
  pids+=("$!")
  replica_of[$!]="r$i"
  echo "serve.sh: replica r$i listens on 127.0.0.1:$p, pid $! (log $SERVE_DIR/r$i.log)"
done

# HAProxy starts once every replica answers its health check (a server HAProxy has never checked counts as up)
deadline=$(( SECONDS + ${STARTUP_TIMEOUT:-120} ))
for (( i = 1; i <= REPLICAS; i++ )); do
  p=$(( REPLICA_PORT + i - 1 ))
  until .venv/bin/python -c "import urllib.request as u, sys; sys.exit(u.urlopen('http://127.0.0.1:$p/_stcore/health', timeout=2).read() != b'ok')" 2>/dev/null; do
    if ! kill -0 "${pids[i - 1]}" 2>/dev/null; then
      echo "serve.sh: replica r$i exited while starting; its log:" >&2
      tail -n 20 "$SERVE_DIR/r$i.log" >&2
      exit 1
    fi
    if (( SECONDS > deadline )); then
      echo "serve.sh: replica r$i did not answer /_stcore/health in ${STARTUP_TIMEOUT:-120} s" >&2
      exit 1
    fi
    sleep 0.5
  done
done

"$HAPROXY" -db -f deploy/haproxy.cfg -f "$servers" &
haproxy_pid=$!
pids+=("$haproxy_pid")
# "ready" once the proxy itself answers the health check
probe=$HOST
[[ $probe == 0.0.0.0 || $probe == "::" || $probe == "*" ]] && probe=127.0.0.1
[[ $probe == *:* ]] && probe="[$probe]"
until .venv/bin/python -c "import urllib.request as u, sys; sys.exit(u.urlopen('http://$probe:$PORT/_stcore/health', timeout=2).read() != b'ok')" 2>/dev/null; do
  kill -0 "$haproxy_pid" 2>/dev/null || { echo "serve.sh: HAProxy exited while starting" >&2; exit 1; }
  (( SECONDS <= deadline + 30 )) || { echo "serve.sh: HAProxy did not answer on $HOST:$PORT" >&2; exit 1; }
  sleep 0.2
done
echo "serve.sh: HAProxy listens on http://$HOST:$PORT, pid $haproxy_pid; ready (Ctrl-C stops everything)"

# In the foreground until HAProxy ends, every replica has died, or a signal comes.
alive=$REPLICAS
while true; do
  status=0
  wait -n -p ended || status=$?
  [[ -n ${ended:-} ]] || continue
  if [[ $ended == "$haproxy_pid" ]]; then
    echo "serve.sh: HAProxy exited (status $status)" >&2
    exit 1
  fi
  if [[ -n ${replica_of[$ended]:-} ]]; then
    alive=$(( alive - 1 ))
    echo "serve.sh: replica ${replica_of[$ended]} (pid $ended) exited (status $status); HAProxy takes it out of" \
         "rotation and its students reconnect to another; $alive replica(s) left" >&2
    kill -TERM -- "-$ended" 2>/dev/null || true     # its training workers, if any outlived it
    (( alive > 0 )) || { echo "serve.sh: no replica left" >&2; exit 1; }
  fi
  unset ended
done
