#!/usr/bin/env bash
# Local Confluent-compatible schema registry (deploy/local/schema-registry, TypeScript) on 127.0.0.1:8081.
# Its state lives in the compacted Kafka topic _schemas, so Kafka must be running first; it logs in
# as the `schema-registry` principal (ACLs from the topics step: that topic only). Its HTTP API asks
# for basic auth: users `omnimall` (write; every local client, see registry_env in lib.sh) and
# `reader` (read only), generated once into $DATA/schema-registry/secrets.json (git-ignored, mode 600).
# Usage: schema-registry.sh start|stop|status. When SCHEMA_REGISTRY_URL is set, that registry is used: nothing starts.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${SCHEMA_REGISTRY_PORT:-8081}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
WORKSPACE="$ROOT/deploy/local/schema-registry"
PIDFILE="$RUN/schema-registry.pid"
LOG="$LOGS/schema-registry.log"

# build: compile when dist/main.js is missing or older than any source or config file
build() {
  local main="$WORKSPACE/dist/main.js"
  if [ -f "$main" ] && [ -z "$(find "$WORKSPACE/src" "$WORKSPACE/tsconfig.json" "$WORKSPACE/package.json" -newer "$main" -print -quit)" ]; then
    return 0
  fi
  say schema-registry "building $WORKSPACE"
  (cd "$ROOT" && npx tsc -b deploy/local/schema-registry) >"$LOGS/schema-registry-build.log" 2>&1 ||
    die schema-registry "build failed: $(tail -n 10 "$LOGS/schema-registry-build.log")"
  touch "$main"
}

# healthy: GET /healthz answers {"status":"ok"} (curl when present, else node's fetch)
healthy() {
  local url="http://127.0.0.1:$PORT/healthz"
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 2 "$url" 2>/dev/null | grep -q '"ok"'
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then((r) => r.json())
      .then((b) => process.exit(b.status === "ok" ? 0 : 1), () => process.exit(1))' "$url"
  fi
}

# ready: healthy; stops the wait at once when the process has already exited (wait_until silences fd 2)
ready() {
  if ! pid_alive "$PIDFILE"; then
    { echo "---- last lines of $LOG"; tail -n 20 "$LOG"; } >&3
    rm -f "$PIDFILE"
    die schema-registry "exited during start (log: $LOG)" 2>&3
  fi
  healthy
}

start() {
  if [ -n "${SCHEMA_REGISTRY_URL:-}" ]; then say schema-registry "SCHEMA_REGISTRY_URL is set: using $SCHEMA_REGISTRY_URL, starting none"; return 0; fi
  if pid_alive "$PIDFILE"; then say schema-registry "already running (pid $(cat "$PIDFILE")) on http://127.0.0.1:$PORT"; return 0; fi
  need schema-registry node
  port_free_or_die schema-registry "$PORT"
  tcp_open "$KAFKA_PORT" || die schema-registry "Kafka is not reachable on 127.0.0.1:$KAFKA_PORT: run 'bash deploy/local/kafka.sh start' first"
  build
  : >"$LOG"
  local creds; creds=$(kafka_env schema-registry)
  local users; users=$(node "$WORKSPACE/local-users.js" ensure) || die schema-registry "cannot write the registry users"
  env $creds AUTH_FILE="$users" PORT="$PORT" HOST=127.0.0.1 KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" \
    nohup node "$WORKSPACE/dist/main.js" >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  exec 3>&2
  wait_until schema-registry 30 "$LOG" ready
  say schema-registry "ready on http://127.0.0.1:$PORT, basic auth (pid $(cat "$PIDFILE"); users in $users)"
}

case "${1:-}" in
  start) start ;;
  stop) [ -n "${SCHEMA_REGISTRY_URL:-}" ] && { say schema-registry "SCHEMA_REGISTRY_URL is set: nothing to stop"; exit 0; }; stop_pidfile schema-registry "$PIDFILE" ;;
  status)
    if [ -n "${SCHEMA_REGISTRY_URL:-}" ]; then say schema-registry "external: $SCHEMA_REGISTRY_URL"
    elif pid_alive "$PIDFILE"; then say schema-registry "running (pid $(cat "$PIDFILE")) on http://127.0.0.1:$PORT"
    else say schema-registry "stopped"; exit 3; fi ;;
  build) build ;;
  *) echo "usage: $0 start|stop|status|build" >&2; exit 2 ;;
esac
