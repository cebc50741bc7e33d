#!/usr/bin/env bash
# The whole platform on this machine: the infrastructure (stack.sh) and every service under services/.
# Usage: platform.sh up|down|status
#   up: starts what is not running and prints each endpoint; in a terminal it then waits and
#       stops everything on Ctrl-C. A second `up` reports what already runs and changes nothing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$ROOT/deploy/local"
KEYS="$DATA/keys"

# service → port (the Helm chart and docker-compose.yml use the same numbers)
declare -A PORTS=([identity]=4001 [channels]=4002 [catalog-sync]=4003 [cart]=4005 [inventory]=4006 [promotions]=4007 [orders]=4008 [audit]=4009 [sync-monitor]=4010)

services() {
  for dir in "$ROOT"/services/*/; do
    local name; name=$(basename "$dir")
    [ -f "$dir/package.json" ] && [ -f "$dir/src/main.ts" ] && echo "$name"
  done
}

keys() {
  # The ES256 key pair identity signs access tokens with; every service gets the public half.
  [ -f "$KEYS/auth-private.pem" ] && return 0
  mkdir -p "$KEYS"
  (cd "$ROOT" && node -e '
    const { generateKeyPairSync } = require("node:crypto");
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const fs = require("node:fs");
    fs.writeFileSync(process.argv[1] + "/auth-public.pem", publicKey.export({ type: "spki", format: "pem" }));
    fs.writeFileSync(process.argv[1] + "/auth-private.pem", privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  ' "$KEYS")
  say keys "generated the local token signing key pair in $KEYS"
}

start_service() {
  local name=$1 port=${PORTS[$1]:-0} pidfile="$RUN/svc-$1.pid" log="$LOGS/svc-$1.log"
  if pid_alive "$pidfile"; then say "$name" "already running (pid $(cat "$pidfile")) on http://127.0.0.1:$port"; return 0; fi
  [ -f "$ROOT/services/$name/dist/main.js" ] || die "$name" "not built: run make build"
  port_free_or_die "$name" "$port"
  echo "---- start $(date -u +%FT%TZ)" >>"$log"
  local creds; creds=$(kafka_env "$name") # each service logs in to Kafka as its own principal
  creds+=$'\n'$(registry_env) # and to the schema registry as its client user
  # Only identity signs tokens, so only identity gets the private key; the others verify with the public one.
  local own=()
  [ "$name" = identity ] && own+=(AUTH_PRIVATE_KEY_FILE="$KEYS/auth-private.pem" OMNIMALL_LOCAL=true) # local mode: no ERASURE_SALT needed
  # Local mode: channel apps on this machine may receive webhooks over http on loopback; the delivery
  # key (DELIVERY_SECRET_KEY) comes from $DATA/channels/delivery-secret.key (written on first start).
  [ "$name" = channels ] && own+=(WEBHOOK_ALLOW_HTTP=true WEBHOOK_ALLOW_PRIVATE=127.0.0.0/8,::1/128 OMNIMALL_LOCAL=true)
  # the audit's incident feed delivers to webhooks too, under the same local rules
  [ "$name" = audit ] && own+=(WEBHOOK_ALLOW_HTTP=true WEBHOOK_ALLOW_PRIVATE=127.0.0.0/8,::1/128)
  (cd "$ROOT/services/$name" && exec env $creds "${own[@]}" KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}" \
    SCHEMA_REGISTRY_URL="${SCHEMA_REGISTRY_URL:-http://127.0.0.1:${SCHEMA_REGISTRY_PORT:-8081}}" PORT=$port AUTH_PUBLIC_KEY_FILE="$KEYS/auth-public.pem" \
    BOOTSTRAP_ADMIN_EMAIL="${BOOTSTRAP_ADMIN_EMAIL:-admin@omnimall.local}" BOOTSTRAP_ADMIN_PASSWORD="${BOOTSTRAP_ADMIN_PASSWORD:-change-me-now-please}" \
    nohup node dist/main.js >>"$log" 2>&1) &
  echo $! >"$pidfile" # exec: the pid is node's own, and no shell keeps the caller's stdout open
  wait_until "$name" 60 "$log" curl -fsS "http://127.0.0.1:$port/healthz"
  say "$name" "ready on http://127.0.0.1:$port (openapi: /openapi.json, metrics: /metrics, pid $(cat "$pidfile"))"
}

up() {
  local started_any=0
  for c in kafka ferretdb schema-registry; do bash "$HERE/$c.sh" status >/dev/null 2>&1 || started_any=1; done
  bash "$HERE/stack.sh" up
  keys
  for s in $(services); do
    pid_alive "$RUN/svc-$s.pid" || started_any=1
    start_service "$s"
  done
  say platform "ops dashboard: http://127.0.0.1:${PORTS[sync-monitor]}/dashboard/ (paste an admin access token from identity POST /auth/staff/login)"
  say platform "up. Logs in $LOGS; stop with: make down"
  if [ -t 0 ] && [ $started_any = 1 ]; then
    say platform "press Ctrl-C to stop everything"
    trap 'echo; down; exit 0' INT TERM
    while true; do sleep 3600 & wait $!; done
  fi
}

down() {
  for s in $(services); do stop_pidfile "$s" "$RUN/svc-$s.pid"; done
  bash "$HERE/stack.sh" down
}

status() {
  local rc=0
  bash "$HERE/stack.sh" status || rc=1
  for s in $(services); do
    if pid_alive "$RUN/svc-$s.pid"; then say "$s" "running (pid $(cat "$RUN/svc-$s.pid")) on http://127.0.0.1:${PORTS[$s]:-?}"; else say "$s" "stopped"; rc=1; fi
  done
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
