#!/usr/bin/env bash
# The local infrastructure as one unit: Kafka (SASL + ACLs), FerretDB (unless MONGO_URL), the
# catalogue's topics and the ACLs (as the admin principal), then the schema registry (unless
# SCHEMA_REGISTRY_URL; it needs its ACLs to start).
# Usage: stack.sh up|down|status. `down` stops the registry, FerretDB, then Kafka with a controlled
# shutdown (kafka.sh stop: SIGTERM and a wait for it). A throwaway stack beside the shared one (crash
# tests, bench/chaos): OMNIMALL_DATA=<dir> KAFKA_PORT=… KAFKA_CONTROLLER_PORT=… FERRETDB_PORT=…
# SCHEMA_REGISTRY_PORT=… stack.sh up|down — its own stores, pidfiles and logs under <dir>.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$ROOT/deploy/local"

topics() {
  local creds; creds=$(kafka_env admin)
  (cd "$ROOT" && node_modules/.bin/tsc -b packages/service-kit &&
    env $creds KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}" node packages/service-kit/dist/cli/create-topics.js) | sed 's/^/[topics]         /'
  [ "${PIPESTATUS[0]}" = 0 ] || die topics "the topics step failed"
}

case "${1:-}" in
  up)
    started=$SECONDS
    if [ -n "${KAFKA_BROKERS:-}" ] && [ "${KAFKA_BROKERS}" != "127.0.0.1:${KAFKA_PORT:-9092}" ]; then
      say kafka "KAFKA_BROKERS is set: using $KAFKA_BROKERS, starting none"
    else
      bash "$HERE/kafka.sh" start
    fi
    bash "$HERE/ferretdb.sh" start
    topics
    bash "$HERE/schema-registry.sh" start
    say stack "infrastructure ready in $((SECONDS - started))s"
    ;;
  down)
    bash "$HERE/schema-registry.sh" stop
    bash "$HERE/ferretdb.sh" stop
    bash "$HERE/kafka.sh" stop
    ;;
  status)
    rc=0
    bash "$HERE/kafka.sh" status || rc=1
    bash "$HERE/ferretdb.sh" status || rc=1
    bash "$HERE/schema-registry.sh" status || rc=1
    exit $rc
    ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
