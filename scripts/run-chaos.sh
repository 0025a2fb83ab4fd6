#!/usr/bin/env bash
# Runs `make chaos`: dist/scripts/chaos.js starts a PostgreSQL cluster and a Kafka broker of its own
# on free loopback ports, with their state in .local/chaos-<id>, and the service processes under
# test. This wrapper only makes sure that nothing outlives the run: on exit, also after Ctrl-C or
# a crash of the harness, it kills the run's service processes and stops its broker and database.
#
# Variables (all optional): SEED, EVENTS, CUSTOMERS, INSTANCES, DURATION (seconds of traffic),
# EXTRA_FAULTS, CHAOS_REPORT (path of the JSON report), CHAOS_KEEP_STATE=1 (keep the folder).
# Exit status: 0 when every check passed, 1 when one failed, 2 for an invalid setting.
# `make bench` runs dist/scripts/bench.js under the same wrapper, given as the first argument.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

run_id=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
state_dir="$PWD/.local/chaos-$run_id"
export CHAOS_RUN_ID=$run_id CHAOS_STATE_DIR=$state_dir

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  local status=$? environ pid
  trap - EXIT INT TERM
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    if tr '\0' '\n' 2>/dev/null <"$environ" | grep -qx "CHAOS_RUN_ID=$run_id" &&
      tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q 'dist/src/main.js'; then
      kill -CONT "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [[ -d $state_dir/kafka ]]; then
    KAFKA_LOCAL_DIR=$state_dir/kafka scripts/kafka-broker.sh stop >/dev/null 2>&1 || true
  fi
  if [[ -f $state_dir/postgres/pgdata/postmaster.pid ]]; then
    pid=$(head -n 1 "$state_dir/postgres/pgdata/postmaster.pid")
    if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q postgres; then
      kill -QUIT "$pid" 2>/dev/null || true
    fi
  fi
  # A run stopped by an invalid setting leaves an empty folder; a failed run keeps its logs.
  rmdir "$state_dir" 2>/dev/null || true
  exit "$status"
}
# The harness runs in the background so that a signal to this script reaches it at once: bash
# would run a trap only after a foreground child exits. The harness then stops its servers itself.
harness=0
# shellcheck disable=SC2317  # called from the INT and TERM traps
forward() {
  if ((harness > 0)); then
    kill -TERM "$harness" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap forward INT TERM

mkdir -p "$state_dir"
node --disable-warning=TimeoutNegativeWarning "${1:-dist/scripts/chaos.js}" &
harness=$!
status=0
# wait returns early when a trapped signal arrives, so it repeats until the harness has exited.
while kill -0 "$harness" 2>/dev/null; do
  status=0
  wait "$harness" || status=$?
done
exit "$status"
