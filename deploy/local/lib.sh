#!/usr/bin/env bash
# Shared helpers for the local stack scripts: where things live, port checks, readiness waits.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${OMNIMALL_CACHE:-$HOME/.cache/omnimall}"
DATA="${OMNIMALL_DATA:-$ROOT/.local-data}"
RUN="$DATA/run"
LOGS="$DATA/logs"
mkdir -p "$CACHE" "$RUN" "$LOGS"

say() { printf '%-16s %s\n' "[$1]" "$2"; }
die() { printf '%-16s %s\n' "[$1]" "$2" >&2; exit 1; }

need() { # need <component> <command>
  command -v "$2" >/dev/null 2>&1 || die "$1" "$2 not found: install it (see README prerequisites)"
}

# pid_alive <pidfile>: true when the pidfile names a live process
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# port_owner <port>: prints the pid listening on 127.0.0.1:<port>, empty when free
port_owner() {
  local port=$1 inode pid
  inode=$(awk -v p="$(printf ':%04X' "$port")" '$2 ~ p"$" && $4 == "0A" {print $10; exit}' /proc/net/tcp /proc/net/tcp6 2>/dev/null || true)
  [ -n "$inode" ] || return 0
  for pid in /proc/[0-9]*; do
    if ls -l "$pid/fd" 2>/dev/null | grep -q "socket:\[$inode\]"; then echo "${pid#/proc/}"; return 0; fi
  done
  echo "unknown"
}

# port_free_or_die <component> <port>
port_free_or_die() {
  local owner; owner=$(port_owner "$2")
  [ -z "$owner" ] || die "$1" "port $2 is taken by pid $owner"
}

# wait_until <component> <timeout-seconds> <logfile> <command...>: polls the command until it succeeds
wait_until() {
  local name=$1 timeout=$2 log=$3; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "---- last lines of $log" >&2; tail -n 20 "$log" >&2 || true
      die "$name" "not ready after ${timeout}s (log: $log)"
    fi
    sleep 0.3
  done
}

# tcp_open <port>: true when something accepts on 127.0.0.1:<port>
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_pidfile <component> <pidfile>: TERM, wait, then KILL
stop_pidfile() {
  local name=$1 file=$2 pid i
  if ! pid_alive "$file"; then rm -f "$file"; say "$name" "not running"; return 0; fi
  pid=$(cat "$file"); kill "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$file"; say "$name" "stopped (pid $pid)"
}

# kafka_env <principal>: the KAFKA_SASL_* assignments (one per line) of a local Kafka principal, from
# the credentials deploy/local/kafka.sh generated; nothing when KAFKA_SASL_MECHANISM is already set
# (a secured cluster configured through the environment) or the local Kafka has no credentials.
# Use: env $(kafka_env identity) node ...
kafka_env() {
  [ -n "${KAFKA_SASL_MECHANISM:-}" ] && return 0
  local file="$DATA/kafka/secrets.json"
  [ -f "$file" ] || return 0
  node -e 'const s = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")); const pw = s.users[process.argv[2]];
    if (!pw) { console.error(`no local Kafka credentials for ${process.argv[2]} in ${process.argv[1]}: restart Kafka`); process.exit(1); }
    console.log(`KAFKA_SASL_MECHANISM=${s.mechanism}\nKAFKA_SASL_USERNAME=${process.argv[2]}\nKAFKA_SASL_PASSWORD=${pw}`);' "$file" "$1"
}

# registry_env: SCHEMA_REGISTRY_USER / SCHEMA_REGISTRY_PASSWORD (one per line) of the local registry's
# client user, from the users deploy/local/schema-registry.sh generated (schema-registry/local-users.js);
# nothing when SCHEMA_REGISTRY_URL names a registry of your own or SCHEMA_REGISTRY_USER is already set.
# Use: env $(kafka_env identity) $(registry_env) node ...
registry_env() { node "$ROOT/deploy/local/schema-registry/local-users.js" env; }
