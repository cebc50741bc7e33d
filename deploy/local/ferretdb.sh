#!/usr/bin/env bash
# FerretDB 1.24 (MongoDB wire protocol) on its SQLite backend, 127.0.0.1:27017, telemetry always off.
# Usage: ferretdb.sh start|stop|status. When MONGO_URL is set, the user's own server is used: nothing starts.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VERSION=1.24.2
# The source is patched before the build (ferretdb/patches, described in ferretdb/README.md). The
# binary's cache dir is named after a hash of the patches, so changing, adding or removing one rebuilds it.
PATCHES=("$ROOT"/deploy/local/ferretdb/patches/*.patch)
BIN_DIR="$CACHE/ferretdb-$VERSION-$(cat "${PATCHES[@]}" | sha256sum | cut -c1-12)"
BIN="$BIN_DIR/ferretdb"
PORT="${FERRETDB_PORT:-27017}"
# FERRETDB_DEBUG_ADDR=127.0.0.1:8089 serves /debug/pprof (profiling); off by default.
PIDFILE="$RUN/ferretdb.pid"
LOG="$LOGS/ferretdb.log"
STORE="$DATA/ferretdb"

works() { "$BIN" --version >/dev/null 2>&1; }

install() {
  works && return 0
  need ferretdb go
  need ferretdb patch
  say ferretdb "building FerretDB v$VERSION into $BIN_DIR (first run only)"
  mkdir -p "$BIN_DIR"
  # `go install ...@v1.24.2` builds a binary that panics at start: the module zip lacks the generated
  # build/version/version.txt. So fetch the same module through the Go proxy, add that one file, build it.
  local src build
  if ! src=$(go mod download -json "github.com/FerretDB/FerretDB@v$VERSION" 2>"$LOGS/ferretdb-install.log" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p'); then
    die ferretdb "ferretdb build failed: $(tail -n 5 "$LOGS/ferretdb-install.log")"
  fi
  build="$BIN_DIR/src"
  rm -rf "$build"; cp -r "$src" "$build"; chmod -R u+w "$build"
  echo "v$VERSION" >"$build/build/version/version.txt"
  # Defects of FerretDB 1.24 are mended in the source before building, one patch each, applied in
  # order (each patch's message says what it changes and why): lookups by _id that missed the _id
  # index, filters naming _id and another key that read the whole collection, read-modify-write
  # commands that were not atomic per document, and multi-statement updates that lost their
  # per-statement results, among others. A patch must apply exactly (no fuzz), or the build stops.
  local p
  for p in "${PATCHES[@]}"; do
    patch -d "$build" -p1 --forward --batch --fuzz=0 --no-backup-if-mismatch <"$p" >>"$LOGS/ferretdb-install.log" 2>&1 \
      || die ferretdb "ferretdb build failed: patch ${p#"$ROOT"/} does not apply to FerretDB v$VERSION: $(tail -n 3 "$LOGS/ferretdb-install.log")"
  done
  if ! (cd "$build" && GOFLAGS=-mod=mod go build -trimpath -o "$BIN" ./cmd/ferretdb) >>"$LOGS/ferretdb-install.log" 2>&1; then
    die ferretdb "ferretdb build failed: $(tail -n 5 "$LOGS/ferretdb-install.log")"
  fi
  rm -rf "$build"
  works || die ferretdb "ferretdb build failed: $("$BIN" --version 2>&1 | tail -n 3)"
}

# Every test suite and benchmark run writes a database of its own (test_*, bench_*, e2e<run>_*) and
# leaves it behind. They are only evidence of past runs, but FerretDB opens every database in its
# directory at start, recovering each one's write-ahead log, so hundreds of them (6.5 GB after a day
# of runs) slowed its first minute enough to tip a benchmark over. They are removed at each start,
# while nothing can be using them; the platform's own databases (cart, identity...) are kept.
prune_throwaway() {
  local n
  n=$(find "$STORE" -maxdepth 1 -type f \( -name 'test_*' -o -name 'bench_*' -o -name 'e2e*_*' \) -print -delete | wc -l)
  [ "$n" -gt 0 ] || return 0
  say ferretdb "removed $n files of databases earlier test and benchmark runs left behind"
}

start() {
  if [ -n "${MONGO_URL:-}" ]; then say ferretdb "MONGO_URL is set: using $MONGO_URL, starting none"; return 0; fi
  if pid_alive "$PIDFILE"; then say ferretdb "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; return 0; fi
  port_free_or_die ferretdb "$PORT"
  install
  # WAL with synchronous=OFF: a crash of the process loses nothing (committed pages are in the OS's
  # cache); only a crash of the machine or a power cut may lose or damage what was written. This
  # store serves local runs and CI, so that is traded for speed: with NORMAL, SQLite fsyncs at each
  # WAL checkpoint, and a checkpoint runs inside a commit, i.e. while the database's writer mutex is
  # held (ferretdb/patches/0007 and 0008), so every writer of the database waits for the disk
  # meanwhile. A user's own MongoDB (MONGO_URL) keeps its own durability.
  mkdir -p "$STORE"
  prune_throwaway
  echo "---- start $(date -u +%FT%TZ)" >>"$LOG"
  # A larger GC target: far fewer collections of its short-lived decoding garbage, for some more memory.
  GOGC="${FERRETDB_GOGC:-800}" nohup "$BIN" --telemetry=disable --listen-addr="127.0.0.1:$PORT" --handler=sqlite \
    --sqlite-url="file:$STORE/?_pragma=synchronous(off)&_pragma=wal_autocheckpoint(0)" --state-dir="$STORE" --debug-addr="${FERRETDB_DEBUG_ADDR:--}" --log-level=error >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  wait_until ferretdb 30 "$LOG" tcp_open "$PORT"
  say ferretdb "ready on mongodb://127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"
}

case "${1:-}" in
  start) start ;;
  stop) [ -n "${MONGO_URL:-}" ] && { say ferretdb "MONGO_URL is set: nothing to stop"; exit 0; }; stop_pidfile ferretdb "$PIDFILE" ;;
  status) if [ -n "${MONGO_URL:-}" ]; then say ferretdb "external: $MONGO_URL"; elif pid_alive "$PIDFILE"; then say ferretdb "running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; else say ferretdb "stopped"; exit 3; fi ;;
  install) install ;;
  *) echo "usage: $0 start|stop|status|install" >&2; exit 2 ;;
esac
