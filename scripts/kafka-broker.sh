#!/usr/bin/env bash
# Runs a local single-node Apache Kafka broker for development and tests, without Docker.
#
# Usage: scripts/kafka-broker.sh start|stop|status|env
#   start   fetches the jars once, then starts the broker (or reuses the running one) and waits
#           until a consumer group can join it; prints the broker address on standard output
#   stop    stops the broker of the state folder; stopping one that is not running is no error
#   status  prints "running pid=N port=P" and exits 0, or exits 1 when it is not running
#   env     prints KAFKA_BROKERS=127.0.0.1:PORT; export "$(scripts/kafka-broker.sh env)" sets it for
#           the commands that follow (eval alone sets it in the shell without exporting it)
#
# Variables:
#   KAFKA_LOCAL_DIR        state folder with config, data, logs and PID file (default: .local/kafka
#                          under the repository root). A relative path starts at the current folder.
#   KAFKA_PORT             client port on 127.0.0.1 (default: 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port on 127.0.0.1 (default: KAFKA_PORT + 1)
#   KAFKA_READY_TIMEOUT_S  how long start waits for the broker to accept a consumer group (default: 90)
#
# The broker is one KRaft node that is both broker and controller. The jars come from Maven Central
# through scripts/kafka/pom.xml and are kept in .local/kafka-jars/<version>/ for every state folder.
set -euo pipefail

readonly PROG=kafka-broker

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo_root=$(cd -- "$script_dir/.." && pwd -P)
readonly script_dir repo_root
readonly pom="$script_dir/kafka/pom.xml"
readonly log4j_config="$script_dir/kafka/log4j2.properties"
readonly ready_script="$script_dir/kafka-ready.cjs"
readonly self="$script_dir/kafka-broker.sh"

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$self" >&2
}

# Stops the script unless $2 is a whole number from 1 to 65535, naming the variable $1 in the message.
check_port() {
  local name=$1 value=$2
  if ! [[ $value =~ ^[0-9]{1,5}$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
    die "invalid TCP port $name=$value; set $name to a whole number from 1 to 65535"
  fi
}

port=${KAFKA_PORT:-9092}
check_port KAFKA_PORT "$port"
port=$((10#$port))
controller_port=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
check_port KAFKA_CONTROLLER_PORT "$controller_port"
controller_port=$((10#$controller_port))
ready_timeout=${KAFKA_READY_TIMEOUT_S:-90}
if ! [[ $ready_timeout =~ ^[0-9]+$ ]] || ((10#$ready_timeout < 1)); then
  die "invalid KAFKA_READY_TIMEOUT_S=$ready_timeout; set it to a whole number of seconds, 1 or more"
fi
ready_timeout=$((10#$ready_timeout))

state_dir=$(realpath -m -- "${KAFKA_LOCAL_DIR:-$repo_root/.local/kafka}")
# Kafka reads log.dirs as a comma-separated list and the properties format gives backslashes a meaning,
# so a state folder with either character would end up in the wrong place.
case $state_dir in
*,* | *\\* | *$'\n'*) die "invalid KAFKA_LOCAL_DIR=$state_dir: it contains a comma, a backslash or a line break; choose a path without them" ;;
esac
readonly state_dir port controller_port ready_timeout
readonly config="$state_dir/server.properties"
readonly pid_file="$state_dir/broker.pid"
readonly data_dir="$state_dir/data"
readonly logs_dir="$state_dir/logs"
readonly server_log="$logs_dir/server.log"
readonly console_log="$state_dir/broker.out"

kafka_version=$(sed -n 's:.*<kafka\.version>\([^<]*\)</kafka\.version>.*:\1:p' "$pom" | head -n 1)
[[ -n $kafka_version ]] || die "<kafka.version> property not found in $pom; put the Kafka version back there"
readonly kafka_version
readonly jars_root="$repo_root/.local/kafka-jars"
readonly jars_dir="$jars_root/$kafka_version"
# The marker contains a digest of the pom, so a changed pom fetches again, and a fetch that was cut off
# (no marker) is redone instead of starting a broker with jars missing.
readonly jars_marker="$jars_dir/.complete"

require() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH; $2"
}

# Prints the comma-separated PIDs that listen on TCP port $1, and nothing when the port is free.
# A listener whose owner ss cannot see is printed as "unknown".
port_owners() {
  local listeners pids
  listeners=$(ss -ltnpH "sport = :$1") || die "ss failed to list the listeners on port $1; check that iproute2 works (ss -ltn)"
  [[ -n $listeners ]] || return 0
  pids=$(grep -o 'pid=[0-9]*' <<<"$listeners" | cut -d= -f2 | sort -un | paste -sd, -) || true
  printf '%s\n' "${pids:-unknown}"
}

# Succeeds when PID $1 is a Kafka broker started with this state folder's server.properties.
# Only this test decides whether a process may be reused or signalled, so nothing else is stopped.
is_our_broker() {
  local args
  args=$(tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline") || return 1
  grep -Fxq 'kafka.Kafka' <<<"$args" && grep -Fxq -- "$config" <<<"$args"
}

# Prints the client port written into this state folder's server.properties. That is the port of a
# running broker even when KAFKA_PORT now sets another one.
configured_port() {
  [[ -f $config ]] || return 1
  local found
  found=$(sed -n 's|^advertised\.listeners=PLAINTEXT://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$config")
  [[ -n $found ]] || return 1
  printf '%s\n' "$found"
}

# Prints the PID of this state folder's running broker, or fails. The PID file is read first. When it
# is missing or stale, the listener on the configured port is checked, so a broker is found even after
# its PID file was deleted.
running_pid() {
  local pid known_port owner
  if [[ -f $pid_file ]]; then
    pid=$(<"$pid_file")
    if [[ $pid =~ ^[0-9]+$ ]] && is_our_broker "$pid"; then
      printf '%s\n' "$pid"
      return 0
    fi
  fi
  known_port=$(configured_port) || return 1
  owner=$(port_owners "$known_port")
  for pid in ${owner//,/ }; do
    if [[ $pid =~ ^[0-9]+$ ]] && is_our_broker "$pid"; then
      printf '%s\n' "$pid"
      return 0
    fi
  done
  return 1
}

# Stops the script when another process listens on port $2, naming the variable $1 in the message.
ensure_port_free() {
  local name=$1 value=$2 owners
  owners=$(port_owners "$value")
  [[ -z $owners ]] && return 0
  if [[ $owners == unknown ]]; then
    die "port $value ($name) is already in use by a process whose PID ss cannot see; stop that process or choose another $name"
  fi
  die "port $value ($name) is already in use by PID $owners ($(ps -o comm= -p "${owners%%,*}" 2>/dev/null || echo '?')); stop that process or choose another $name"
}

fetch_jars() {
  local digest lock_fd tmp
  digest=$(sha256sum "$pom" | cut -d' ' -f1)
  if [[ -f $jars_marker && $(<"$jars_marker") == "$digest" ]]; then
    return 0
  fi
  require mvn "install Maven 3 (apt-get install maven) so the broker jars can be fetched"
  mkdir -p "$jars_root"

  # Two starts with different state folders share the jar folder, so only one of them fetches.
  exec {lock_fd}>"$jars_root/.fetch.lock"
  flock "$lock_fd"
  if [[ -f $jars_marker && $(<"$jars_marker") == "$digest" ]]; then
    exec {lock_fd}>&-
    return 0
  fi

  say "fetching the Kafka $kafka_version jars with Maven into $jars_dir, where later starts find them"
  tmp=$(mktemp -d "$jars_root/.fetch-$kafka_version.XXXXXX")
  if ! mvn -q -B dependency:copy-dependencies -f "$pom" -DoutputDirectory="$tmp" -DincludeScope=runtime \
    >"$tmp.log" 2>&1; then
    tail -n 30 "$tmp.log" >&2
    rm -rf "$tmp"
    exec {lock_fd}>&-
    die "mvn failed to copy the jars listed in $pom (whole output in $tmp.log); check that Maven Central can be reached, then run start again"
  fi

  if ! compgen -G "$tmp/kafka_2.13-$kafka_version.jar" >/dev/null; then
    rm -rf "$tmp"
    exec {lock_fd}>&-
    die "kafka_2.13-$kafka_version.jar not found among the jars that mvn copied; check the dependencies in $pom"
  fi

  printf '%s\n' "$digest" >"$tmp/.complete"
  rm -rf "$jars_dir" "$tmp.log"
  mv -T "$tmp" "$jars_dir"
  exec {lock_fd}>&-
}

write_config() {
  mkdir -p "$data_dir" "$logs_dir"
  cat >"$config.tmp" <<EOF
# Written by scripts/kafka-broker.sh at every start of a stopped broker: edits here are overwritten.
# One KRaft node that is both the broker and the only controller, listening on 127.0.0.1 only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data_dir

# A single node can hold one replica only, so every internal topic gets replication factor 1.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests join groups often and should not wait for more members that never come.
group.initial.rebalance.delay.ms=0
# Topics come from the service's own setup, so a typo in a topic name fails instead of creating one.
auto.create.topics.enable=false
message.max.bytes=2097152
num.network.threads=2
num.io.threads=2
EOF
  mv "$config.tmp" "$config"
}

# Kafka cluster ids are 16 random bytes in unpadded URL-safe base64. Like Kafka's own generator, this
# skips ids that begin with a dash, because a command line would read them as an option.
new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* ]] || break
  done
  printf '%s\n' "$id"
}

java_opts=(
  -Xmx768m -Xms256m
  -XX:ActiveProcessorCount=2
  -XX:+ExitOnOutOfMemoryError
  "-XX:ErrorFile=$state_dir/logs/hs_err_pid%p.log"
  -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$log4j_config"
  "-Dkafka.logs.dir=$logs_dir"
)

format_storage() {
  [[ -f $data_dir/meta.properties ]] && return 0
  local cluster_id
  cluster_id=$(new_cluster_id)
  say "formatting KRaft storage in $data_dir (cluster id $cluster_id)"
  if ! java "${java_opts[@]}" -cp "$jars_dir/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$config" \
    >"$state_dir/format.log" 2>&1; then
    tail -n 30 "$state_dir/format.log" >&2
    die "kafka.tools.StorageTool failed to format $data_dir (output in $state_dir/format.log); if the folder contains data of an older broker, remove $state_dir and start again"
  fi
}

show_logs() {
  local file
  for file in "$server_log" "$console_log"; do
    if [[ -s $file ]]; then
      say "last 30 lines of $file:"
      tail -n 30 "$file" >&2
    fi
  done
}

node_bin() {
  if [[ -x $repo_root/node_modules/.bin/node ]]; then
    printf '%s\n' "$repo_root/node_modules/.bin/node"
  else
    require node "install the project's packages with npm ci, which also brings Node itself"
    command -v node
  fi
}

wait_ready() {
  local pid=$1 node rc=0
  node=$(node_bin)
  [[ -f $repo_root/node_modules/kafkajs/package.json ]] ||
    die "kafkajs not found in $repo_root/node_modules, and the readiness check needs it; run npm ci in $repo_root"
  "$node" "$ready_script" --brokers "127.0.0.1:$port" --timeout-s "$ready_timeout" --pid "$pid" || rc=$?
  case $rc in
  0) ;;
  3)
    show_logs
    rm -f "$pid_file"
    die "the broker (pid $pid) exited before it was ready; the log lines above say why (logs in $logs_dir)"
    ;;
  1)
    show_logs
    die "timed out after KAFKA_READY_TIMEOUT_S=$ready_timeout s waiting for the broker (pid $pid), which is left running; read $server_log, then stop it with $self stop or raise KAFKA_READY_TIMEOUT_S"
    ;;
  *) die "the readiness check $ready_script failed with exit code $rc; see its message above" ;;
  esac
}

cmd_start() {
  local pid known_port lock_fd started_at
  started_at=$SECONDS
  require ss "install iproute2 (apt-get install iproute2), which the port check needs"
  require java "install a Java 17 or newer runtime (apt-get install openjdk-17-jre-headless)"
  mkdir -p "$state_dir"
  # A second start of the same state folder waits here until the first one is done, then reuses it.
  exec {lock_fd}>"$state_dir/.start.lock"
  flock "$lock_fd"

  if pid=$(running_pid); then
    known_port=$(configured_port)
    if ((known_port != port)); then
      die "the broker of $state_dir already runs on port $known_port (pid $pid), not on KAFKA_PORT=$port; use KAFKA_PORT=$known_port, or stop it first with $self stop"
    fi
    printf '%s\n' "$pid" >"$pid_file"
    say "reusing the running broker pid=$pid on 127.0.0.1:$port"
    wait_ready "$pid"
  else
    if [[ -f $pid_file ]]; then
      say "removing the stale PID file $pid_file (it names no broker of this state folder)"
      rm -f "$pid_file"
    fi
    ((port != controller_port)) ||
      die "KAFKA_CONTROLLER_PORT=$controller_port is the same as KAFKA_PORT; choose two different ports"
    ensure_port_free KAFKA_PORT "$port"
    ensure_port_free KAFKA_CONTROLLER_PORT "$controller_port"

    fetch_jars
    write_config
    format_storage

    say "starting Kafka $kafka_version on 127.0.0.1:$port (controller port $controller_port, state in $state_dir)"
    # setsid and nohup detach the broker from this shell's session, so it outlives the terminal and
    # the test run that started it. The subshell first closes the lock, which the broker must not keep.
    # Without job control the subshell leads no process group, so setsid does not fork. Each step then
    # execs the next, and $! is the PID of java itself.
    (
      exec {lock_fd}>&-
      cd "$state_dir"
      exec setsid nohup java "${java_opts[@]}" -cp "$jars_dir/*" kafka.Kafka "$config" \
        >"$console_log" 2>&1 </dev/null
    ) &
    pid=$!
    printf '%s\n' "$pid" >"$pid_file"
    wait_ready "$pid"
  fi
  exec {lock_fd}>&-
  say "ready at 127.0.0.1:$port (pid $pid, $((SECONDS - started_at)) s, log $server_log)"
  printf '127.0.0.1:%s\n' "$port"
}

# Succeeds while PID $1 may still listen on the broker's ports. That is so while its command line
# matches, and also while its main thread is a zombie (empty command line) and other threads still exit.
broker_alive() {
  is_our_broker "$1" && return 0
  local stat tasks
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} == Z ]] || return 1
  tasks=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  ((tasks > 1))
}

# Waits up to $2 seconds for PID $1 to be gone; fails when it is still there.
wait_gone() {
  local pid=$1 steps=$(($2 * 2))
  while broker_alive "$pid" && ((steps > 0)); do
    sleep 0.5
    steps=$((steps - 1))
  done
  ! broker_alive "$pid"
}

cmd_stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pid_file"
    say "no broker of $state_dir is running; nothing to stop"
    return 0
  fi
  say "stopping the broker pid=$pid"
  kill -TERM "$pid" 2>/dev/null || true
  # A controlled shutdown of this single node took about half a second when measured here, so 30 s
  # leaves room for a slow disk.
  if ! wait_gone "$pid" 30; then
    say "the broker pid=$pid did not stop within 30 s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 ||
      die "timed out waiting 10 s for the broker pid=$pid to exit after SIGKILL; inspect it with ps -o pid,stat,cmd -p $pid"
  fi
  rm -f "$pid_file"
  say "stopped the broker of $state_dir"
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    printf 'running pid=%s port=%s\n' "$pid" "$(configured_port)"
    return 0
  fi
  say "not running (state folder $state_dir)"
  return 1
}

cmd_env() {
  local known_port
  # A running broker of this state folder is where clients must go, even if KAFKA_PORT differs now.
  if ! running_pid >/dev/null || ! known_port=$(configured_port); then
    known_port=$port
  fi
  printf 'KAFKA_BROKERS=127.0.0.1:%s\n' "$known_port"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
-h | --help | help) usage ;;
'')
  usage
  die "no subcommand given; use start, stop, status or env"
  ;;
*)
  usage
  die "unknown subcommand '$1'; use start, stop, status or env"
  ;;
esac
