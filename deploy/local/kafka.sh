#!/usr/bin/env bash
# Apache Kafka 3.9 in KRaft mode (one combined broker + controller) on 127.0.0.1:9092, secured:
# SASL/SCRAM-SHA-512 on the broker listener, ACLs enforced (StandardAuthorizer, nothing allowed
# without an ACL). Principals: admin (the tooling), schema-registry, one per service under services/,
# and partner-<code> for each partner in kafka/partners. Their passwords are generated once into
# $DATA/kafka/secrets.json (git-ignored, mode 600; local mode only); the ACLs come from the topics step
# (packages/service-kit/src/cli/create-topics.ts).
# A store formatted before SASL (or before a principal existed) gets its missing SCRAM users at start.
# Usage: kafka.sh start|stop|status|secrets. Jars come from Maven Central via kafka/pom.xml.
# A Kafka of one's own beside the shared one (crash tests, the chaos run): OMNIMALL_DATA=<dir>
# KAFKA_PORT=<port> KAFKA_CONTROLLER_PORT=<port> kafka.sh start|stop — its own store, pidfile and log.
# KAFKA_ADVERTISED_PORT=<port> (default KAFKA_PORT) is the port the broker tells clients to use after
# their first request: a crash test's TCP proxy listening there stays in every client's path (else
# clients bypass it, since the broker advertises the port it listens on).
# Stop is a controlled shutdown: SIGTERM, then up to KAFKA_STOP_TIMEOUT (60) s for the broker to say
# "shut down completed"; only a broker that hangs past that is killed (and says so). A start after an
# unclean stop (SIGKILL, a crash: the pidfile outlived its process) says so; it takes ~6 s, not ~16,
# since the broker session (server.properties) is 3 s, after which the controller accepts the new
# registration — a few DUPLICATE_BROKER_REGISTRATION retries at INFO level remain until then.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VERSION=3.9.1
HOME_DIR="$CACHE/kafka-$VERSION"
PORT="${KAFKA_PORT:-9092}"
ADVERTISED_PORT="${KAFKA_ADVERTISED_PORT:-$PORT}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
PIDFILE="$RUN/kafka.pid"
LOG="$LOGS/kafka.log"
STORE="$DATA/kafka"
SECRETS="$STORE/secrets.json"
USERS_DONE="$STORE/logs/scram-users" # the SCRAM users this store already holds

install() {
  [ -f "$HOME_DIR/libs/kafka_2.13-$VERSION.jar" ] && return 0
  need kafka mvn
  say kafka "fetching Kafka $VERSION jars from Maven Central into $HOME_DIR"
  if ! mvn -q -B -f "$ROOT/deploy/local/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$HOME_DIR/libs.tmp" -DincludeScope=runtime >"$LOGS/kafka-install.log" 2>&1; then
    die kafka "jar download failed: $(tail -n 5 "$LOGS/kafka-install.log")"
  fi
  mv "$HOME_DIR/libs.tmp" "$HOME_DIR/libs"
}

# principals: every SCRAM user of the local cluster, one per line
principals() {
  echo admin
  echo schema-registry
  for dir in "$ROOT"/services/*/; do [ -f "$dir/src/main.ts" ] && basename "$dir"; done
  grep -v '^\s*#' "$ROOT/deploy/local/kafka/partners" | sed -n 's/^\s*\([a-z0-9-]\+\)\s*$/partner-\1/p'
}

# secrets: a random password for the broker and each principal that has none yet (kept across starts)
secrets() {
  mkdir -p "$STORE"
  principals | node -e '
    const fs = require("node:fs"), { randomBytes } = require("node:crypto");
    const file = process.argv[1];
    const cur = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    const pw = () => randomBytes(18).toString("base64url");
    const out = { mechanism: "scram-sha-512", broker: cur.broker ?? pw(), users: { ...(cur.users ?? {}) } };
    for (const name of fs.readFileSync(0, "utf8").split("\n").filter(Boolean)) out.users[name] ??= pw();
    fs.writeFileSync(file, JSON.stringify(out, null, 2) + "\n", { mode: 0o600 });
  ' "$SECRETS"
}

# secret <principal>: its password ("broker" for the broker itself)
secret() { node -e 'const s = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const p = process.argv[2] === "broker" ? s.broker : s.users[process.argv[2]]; if (!p) process.exit(1); process.stdout.write(p);' "$SECRETS" "$1"; }

config() {
  mkdir -p "$STORE"
  sed -e "s#@PORT@#$PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" -e "s#@STORE@#$STORE/logs#g" \
    -e "s#@BROKER_PASSWORD@#$(secret broker)#g" -e "s#@SECRETS@#$SECRETS#g" \
    -e "s#^advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$PORT\$#advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$ADVERTISED_PORT#" \
    "$ROOT/deploy/local/kafka/server.properties" >"$STORE/server.properties"
  chmod 600 "$STORE/server.properties"
  printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="%s";\n' \
    "$(secret broker)" >"$STORE/broker-client.properties"
  chmod 600 "$STORE/broker-client.properties"
}

java_run() { java -Xms64m -Xmx512m -Dlog4j.configuration="file:$ROOT/deploy/local/kafka/log4j.properties" \
  -Dkafka.logs.dir="$LOGS" -cp "$HOME_DIR/libs/*" "$@"; }

# scram_arg <principal>: the SCRAM-SHA-512 credential as kafka-storage / kafka-configs take it
scram_arg() { echo "SCRAM-SHA-512=[name=$1,password=$(secret "$1")]"; }

format() {
  say kafka "formatting KRaft storage in $STORE/logs (with the SCRAM users)"
  local args=() name
  for name in $(principals); do args+=(--add-scram "$(scram_arg "$name")"); done
  java_run kafka.tools.StorageTool format -t "$(java_run kafka.tools.StorageTool random-uuid)" \
    -c "$STORE/server.properties" "${args[@]}" >"$LOGS/kafka-format.log" 2>&1 || die kafka "storage format failed: $(tail -n 5 "$LOGS/kafka-format.log")"
  principals >"$USERS_DONE"
}

# add_missing_users: SCRAM users the store lacks (formatted before SASL, or a new service or partner),
# added through the broker listener as the broker's PLAIN login, a super user (kafka-configs)
add_missing_users() {
  local name missing=()
  for name in $(principals); do grep -qx "$name" "$USERS_DONE" 2>/dev/null || missing+=("$name"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say kafka "adding SCRAM users: ${missing[*]}"
  for name in "${missing[@]}"; do
    java_run kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$PORT" \
      --command-config "$STORE/broker-client.properties" --alter --entity-type users --entity-name "$name" \
      --add-config "SCRAM-SHA-512=[password=$(secret "$name")]" >>"$LOGS/kafka-users.log" 2>&1 ||
      die kafka "could not add SCRAM user $name: $(tail -n 5 "$LOGS/kafka-users.log")"
    echo "$name" >>"$USERS_DONE"
  done
}

ready() {
  # only what this start wrote counts (the log is appended to across restarts)
  tcp_open "$PORT" && tail -c +$((LOG_OFFSET + 1)) "$LOG" | grep -q "Kafka Server started"
}

ports_free() { [ -z "$(port_owner "$PORT")" ] && [ -z "$(port_owner "$CONTROLLER_PORT")" ]; }

# running: the pidfile names a live process (a zombie left by a SIGKILL is not)
running() { pid_alive "$PIDFILE" && ! grep -q '^[^)]*) Z' "/proc/$(cat "$PIDFILE")/stat" 2>/dev/null; }

start() {
  if running; then
    say kafka "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"
    # a service or partner added since the broker started gets its user now, without a restart
    secrets; add_missing_users
    return 0
  fi
  if [ -f "$PIDFILE" ]; then
    say kafka "the last run did not stop cleanly (pid $(cat "$PIDFILE") gone without a stop): recovering logs"
    rm -f "$PIDFILE"
    # a killed broker's sockets close a moment after it dies
    wait_until kafka 15 "$LOG" ports_free
  fi
  need kafka java
  need kafka node
  port_free_or_die kafka "$PORT"; port_free_or_die kafka "$CONTROLLER_PORT"
  install; secrets; config
  [ -f "$STORE/logs/meta.properties" ] || format
  touch "$LOG"
  echo "---- start $(date -u +%FT%TZ)" >>"$LOG"
  LOG_OFFSET=$(stat -c %s "$LOG")
  nohup bash -c "exec java -Xms256m -Xmx1g -XX:+UseG1GC -Dlog4j.configuration=file:$ROOT/deploy/local/kafka/log4j.properties \
    -cp '$HOME_DIR/libs/*' kafka.Kafka '$STORE/server.properties'" >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  wait_until kafka 90 "$LOG" ready
  add_missing_users
  say kafka "ready on 127.0.0.1:$PORT, SASL/SCRAM-SHA-512 with ACLs (pid $(cat "$PIDFILE"); credentials in $SECRETS)"
}

# stop: a controlled shutdown (SIGTERM), waited for; SIGKILL only past KAFKA_STOP_TIMEOUT
stop() {
  if ! running; then rm -f "$PIDFILE"; say kafka "not running"; return 0; fi
  local pid timeout=${KAFKA_STOP_TIMEOUT:-60} offset started=$SECONDS
  pid=$(cat "$PIDFILE")
  offset=$(stat -c %s "$LOG" 2>/dev/null || echo 0)
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - started)) -lt "$timeout" ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    say kafka "no controlled shutdown after ${timeout}s: killed (pid $pid); the next start recovers its logs"
    return 0
  fi
  rm -f "$PIDFILE"
  if tail -c +$((offset + 1)) "$LOG" | grep -q "shut down completed"; then
    say kafka "stopped cleanly (controlled shutdown, pid $pid, $((SECONDS - started))s)"
  else
    say kafka "stopped (pid $pid, $((SECONDS - started))s) without a shutdown line in $LOG"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then say kafka "running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; else say kafka "stopped"; exit 3; fi ;;
  install) install ;;
  secrets) secrets; echo "$SECRETS" ;;
  *) echo "usage: $0 start|stop|status|install|secrets" >&2; exit 2 ;;
esac
