#!/usr/bin/env bash
# Runs `make demo`: the service end to end with a Kafka broker and a database of its own. It starts
# the broker on free ports with its state in .local/demo-<id>, and dist/scripts/demo.js starts the
# service on a new database quota_lock_demo_<id>, plays events and checks the results. On exit, also
# after a failure or Ctrl-C, it stops the broker and drops the database. The logs stay in the folder.
#
# Variables:
#   DEMO_DATABASE_URL  admin connection to PostgreSQL, where the demo creates and drops its database
#                      (default postgres://postgres@127.0.0.1:5432/postgres)
# Exit status: 0 when every check passed, otherwise non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

started_at=$SECONDS
demo_id=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
demo_dir=".local/demo-$demo_id"
broker_started=0
database_checked=0
demo=(node --disable-warning=TimeoutNegativeWarning dist/scripts/demo.js)

export DEMO_ID=$demo_id
DEMO_DIR="$PWD/$demo_dir"
export DEMO_DIR

say() { printf '%s\n' "$*"; }

# Indents the broker script's progress lines and shortens the paths in them to the repository's.
indent() {
  local line
  while IFS= read -r line; do
    say "    ${line//"$PWD/"/}"
  done
}

# Stops the service if demo.js could not, for example because it was killed. The PID file names a
# process only while it runs, and the command line check keeps an unrelated reused PID safe.
stop_leftover_service() {
  local pid_file="$demo_dir/service.pid" pid steps=30
  [[ -f $pid_file ]] || return 0
  pid=$(<"$pid_file")
  if [[ $pid =~ ^[0-9]+$ ]] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'dist/src/main.js'; then
    say "stopping the service left running (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((steps > 0)); do
      sleep 0.5
      steps=$((steps - 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pid_file"
}

cleanup() {
  local status=$? cleanup_failed=0
  trap - EXIT INT TERM
  set +e
  stop_leftover_service
  if [[ $database_checked == 1 ]]; then
    "${demo[@]}" drop-database || cleanup_failed=1
  fi
  if [[ $broker_started == 1 ]]; then
    KAFKA_LOCAL_DIR=$demo_dir scripts/kafka-broker.sh stop 2>&1 | indent
    ((PIPESTATUS[0] == 0)) || cleanup_failed=1
    # The broker's data is not needed after the run, but its logs and the service log stay for reading.
    rm -rf "$demo_dir/data"
  fi
  say
  if [[ $status == 0 && $cleanup_failed == 1 ]]; then
    status=1
  fi
  local where="logs in $demo_dir"
  rmdir "$demo_dir" 2>/dev/null && where="no logs"
  if [[ $status == 0 ]]; then
    say "PASS: make demo, every check passed ($((SECONDS - started_at)) s, $where)"
  else
    say "FAIL: make demo exited with status $status ($((SECONDS - started_at)) s, $where)"
  fi
  exit "$status"
}

if [[ ! -f dist/scripts/demo.js || ! -x node_modules/.bin/node ]]; then
  say "run-demo: dist/scripts/demo.js or node_modules/.bin/node is missing;" \
    "run make demo, which installs and builds first" >&2
  exit 2
fi

say "make demo: run $demo_id, with a broker, a database and topics of its own"
mkdir -p "$demo_dir"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say
say "== PostgreSQL =="
"${demo[@]}" check-database
database_checked=1

say
say "== Kafka broker =="
kafka_port=$(node scripts/free-port.cjs)
controller_port=$kafka_port
# The operating system may hand out the same free port twice in a row.
while [[ $controller_port == "$kafka_port" ]]; do
  controller_port=$(node scripts/free-port.cjs)
done
say "starting a broker on 127.0.0.1:$kafka_port (state in $demo_dir)"
broker_started=1
KAFKA_LOCAL_DIR=$demo_dir KAFKA_PORT=$kafka_port KAFKA_CONTROLLER_PORT=$controller_port \
  KAFKA_READY_TIMEOUT_S=60 scripts/kafka-broker.sh start 2>&1 >/dev/null | indent

KAFKA_BROKERS="127.0.0.1:$kafka_port" DEMO_SERVICE_PORT=$(node scripts/free-port.cjs) "${demo[@]}" run
