#!/usr/bin/env bash
# Apache Kafka 3.9 in KRaft mode (one combined broker + controller) on 127.0.0.1:9092.
# Usage: kafka.sh start|stop|status. Jars come from Maven Central via kafka/pom.xml.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VERSION=3.9.1
HOME_DIR="$CACHE/kafka-$VERSION"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
PIDFILE="$RUN/kafka.pid"
LOG="$LOGS/kafka.log"
STORE="$DATA/kafka"

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

config() {
  mkdir -p "$STORE"
  sed -e "s#@PORT@#$PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" -e "s#@STORE@#$STORE/logs#g" \
    "$ROOT/deploy/local/kafka/server.properties" >"$STORE/server.properties"
}

java_run() { java -Xms256m -Xmx1g -Dlog4j.configuration="file:$ROOT/deploy/local/kafka/log4j.properties" \
  -Dkafka.logs.dir="$LOGS" -cp "$HOME_DIR/libs/*" "$@"; }

ready() {
  # only what this start wrote counts (the log is appended to across restarts)
  tcp_open "$PORT" && tail -c +$((LOG_OFFSET + 1)) "$LOG" | grep -q "Kafka Server started"
}

start() {
  if pid_alive "$PIDFILE"; then say kafka "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; return 0; fi
  need kafka java
  port_free_or_die kafka "$PORT"; port_free_or_die kafka "$CONTROLLER_PORT"
  install; config
  if [ ! -f "$STORE/logs/meta.properties" ]; then
    say kafka "formatting KRaft storage in $STORE/logs"
    java_run kafka.tools.StorageTool format -t "$(java_run kafka.tools.StorageTool random-uuid)" \
      -c "$STORE/server.properties" >"$LOGS/kafka-format.log" 2>&1 || die kafka "storage format failed: $(tail -n 5 "$LOGS/kafka-format.log")"
  fi
  echo "---- start $(date -u +%FT%TZ)" >>"$LOG"
  LOG_OFFSET=$(stat -c %s "$LOG")
  nohup bash -c "exec java -Xms256m -Xmx1g -XX:+UseG1GC -Dlog4j.configuration=file:$ROOT/deploy/local/kafka/log4j.properties \
    -cp '$HOME_DIR/libs/*' kafka.Kafka '$STORE/server.properties'" >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  wait_until kafka 90 "$LOG" ready
  say kafka "ready on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile kafka "$PIDFILE" ;;
  status) if pid_alive "$PIDFILE"; then say kafka "running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; else say kafka "stopped"; exit 3; fi ;;
  install) install ;;
  *) echo "usage: $0 start|stop|status|install" >&2; exit 2 ;;
esac
