#!/usr/bin/env bash
# Runs the whole test suite on servers of its own: a broker on free ports (unless KAFKA_BROKERS is
# set) and databases named quota_lock_test_<run>_*, all stopped or dropped on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

run_id=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
state_dir=".local/test-$run_id"
admin_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
started_broker=0

# Service processes started by this run carry TEST_RUN_ID in their environment. A run cut off by a
# timeout or a crash of the test runner may leave some behind, and this finds them.
# shellcheck disable=SC2317  # called from the EXIT trap
kill_leftover_services() {
  local environ pid
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    if tr '\0' '\n' 2>/dev/null <"$environ" | grep -qx "TEST_RUN_ID=$run_id" &&
      tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q 'dist/src/main.js'; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  local status=$?
  kill_leftover_services
  if [[ $started_broker == 1 ]]; then
    KAFKA_LOCAL_DIR=$state_dir scripts/kafka-broker.sh stop || true
    rm -rf "$state_dir"
  fi
  node scripts/drop-test-databases.cjs "$admin_url" "quota_lock_test_${run_id}_" || true
  exit "$status"
}
trap cleanup EXIT

if [[ -z ${KAFKA_BROKERS:-} ]]; then
  kafka_port=$(node scripts/free-port.cjs)
  controller_port=$(node scripts/free-port.cjs)
  echo "run-tests: starting a broker of its own on 127.0.0.1:$kafka_port"
  started_broker=1
  KAFKA_LOCAL_DIR=$state_dir KAFKA_PORT=$kafka_port KAFKA_CONTROLLER_PORT=$controller_port \
    scripts/kafka-broker.sh start >/dev/null
  export KAFKA_BROKERS="127.0.0.1:$kafka_port"
fi
export TEST_DATABASE_URL=$admin_url
export TEST_RUN_ID=$run_id

results=".local/test-results-$run_id.json"
mkdir -p .local
status=0
NODE_OPTIONS="--experimental-vm-modules --disable-warning=TimeoutNegativeWarning" \
  jest --runInBand --json --outputFile="$results" "$@" || status=$?
# One plain summary line, the same for every runner that reads test output.
node scripts/print-test-summary.cjs "$results" || true
rm -f "$results"
exit "$status"
