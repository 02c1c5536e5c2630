#!/usr/bin/env bash
# MongoDB-compatible test server for Parley (embedded FerretDB 1.x, SQLite backend).
#
# Usage:
#   scripts/mongo-test-server.sh build
#       Build (or reuse) the binary in the cache dir; prints its path on stdout.
#   scripts/mongo-test-server.sh start [PIDFILE] [--data-dir DIR]
#       Start the server in the background on 127.0.0.1 with a free port, write its
#       PID to PIDFILE (default: $CACHE/run/mongo-test-server.pid), wait until it
#       accepts connections and print exactly one line: MONGODB_URI=mongodb://127.0.0.1:<port>/
#       The URI is also written to PIDFILE.uri, server logs go to PIDFILE.log.
#       Without --data-dir the data lives in a temp dir that is removed on stop.
#   scripts/mongo-test-server.sh stop [PIDFILE]
#       SIGTERM the server whose PID is in PIDFILE, wait for it to exit (SIGKILL after 10 s),
#       remove PIDFILE. Succeeds if it is not running (safe in an EXIT trap). PIDFILE.log is kept.
#   scripts/mongo-test-server.sh run [--port N] [--data-dir DIR]
#       Run in the foreground (exec); Ctrl-C stops it.
#
# Environment:
#   PARLEY_CACHE   cache root (default: $HOME/.cache/parley); binary: $PARLEY_CACHE/bin/mongo-test-server
#   GO             go command (default: go on PATH, else /usr/local/go/bin/go)
#
# Needs only Go (>= 1.24, or a Go that may fetch that toolchain) and the Go module proxy.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC_DIR="$SCRIPT_DIR/mongo-test-server"
CACHE="${PARLEY_CACHE:-${HOME:-/tmp}/.cache/parley}"
BIN="$CACHE/bin/mongo-test-server"
STAMP="$BIN.stamp"
DEFAULT_PIDFILE="$CACHE/run/mongo-test-server.pid"

die() { echo "mongo-test-server.sh: $*" >&2; exit 1; }

find_go() {
  if [[ -n "${GO:-}" ]]; then echo "$GO"; return; fi
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  if [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go; return; fi
  die "Go toolchain not found (set GO or put go on PATH)"
}

source_hash() {
  # Rebuild only when the program's sources (or the Go version) change.
  local go_bin="$1"
  {
    cat "$SRC_DIR/main.go" "$SRC_DIR/go.mod" "$SRC_DIR/go.sum"
    "$go_bin" version
  } | sha256sum | cut -d' ' -f1
}

cmd_build() {
  local go_bin hash
  go_bin="$(find_go)"
  hash="$(source_hash "$go_bin")"
  if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$hash" ]]; then
    echo "$BIN"
    return 0
  fi
  mkdir -p "$(dirname "$BIN")"
  echo "mongo-test-server.sh: building $BIN (first build downloads modules and takes ~1-2 min)..." >&2
  local tmp="$BIN.tmp.$$"
  (
    cd "$SRC_DIR"
    GOFLAGS="${GOFLAGS:-} -mod=mod" CGO_ENABLED=0 "$go_bin" build -trimpath -o "$tmp" . >&2
  ) || { rm -f "$tmp"; die "go build failed"; }
  mv -f "$tmp" "$BIN"
  echo "$hash" >"$STAMP"
  echo "$BIN"
}

# Is PID alive and our server (guards against PID reuse)?
is_our_server() {
  local pid="$1"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 0 # no procfs: trust kill -0
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'mongo-test-server'
}

cmd_start() {
  local pidfile="" data_args=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --data-dir) [[ $# -ge 2 ]] || die "--data-dir needs a value"; data_args=(-data-dir "$2"); shift 2 ;;
      --data-dir=*) data_args=(-data-dir "${1#*=}"); shift ;;
      -*) die "unknown option: $1" ;;
      *) [[ -z "$pidfile" ]] || die "unexpected argument: $1"; pidfile="$1"; shift ;;
    esac
  done
  pidfile="${pidfile:-$DEFAULT_PIDFILE}"
  mkdir -p "$(dirname "$pidfile")"

  if [[ -f "$pidfile" ]] && is_our_server "$(cat "$pidfile")"; then
    die "already running with PID $(cat "$pidfile") (pidfile $pidfile); stop it first"
  fi

  local bin
  bin="$(cmd_build)"

  local out="$pidfile.out" log="$pidfile.log"
  rm -f "$out" "$pidfile.uri"
  # Detach fully: no inherited stdin/stdout/stderr, so `$(... start)` does not hang.
  nohup "$bin" -port 0 "${data_args[@]}" </dev/null >"$out" 2>"$log" &
  local pid=$!
  echo "$pid" >"$pidfile"

  # The server prints MONGODB_URI only after a TCP connect to it succeeded.
  local uri="" i
  for ((i = 0; i < 600; i++)); do # up to 30 s
    if uri="$(grep -m1 '^MONGODB_URI=' "$out" 2>/dev/null)"; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$log" >&2 || true
      rm -f "$pidfile"
      die "server exited during startup"
    fi
    sleep 0.05
  done
  if [[ -z "$uri" ]]; then
    cat "$log" >&2 || true
    kill -TERM "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    die "server did not become ready within 30 s"
  fi

  # Double-check from here that the port accepts connections.
  local hostport="${uri#MONGODB_URI=mongodb://}"
  hostport="${hostport%/}"
  if ! (exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    die "server announced $uri but does not accept connections"
  fi

  echo "${uri#MONGODB_URI=}" >"$pidfile.uri"
  echo "$uri"
}

cmd_stop() {
  local pidfile="${1:-$DEFAULT_PIDFILE}"
  if [[ ! -f "$pidfile" ]]; then
    echo "mongo-test-server.sh: no pidfile $pidfile (not running?)" >&2
    return 0
  fi
  local pid
  pid="$(cat "$pidfile")"
  if is_our_server "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 200; i++)); do # up to 10 s
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "mongo-test-server.sh: PID $pid ignored SIGTERM, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    echo "mongo-test-server.sh: PID $pid from $pidfile is not running" >&2
  fi
  rm -f "$pidfile" "$pidfile.uri" "$pidfile.out"
}

cmd_run() {
  local bin
  bin="$(cmd_build)"
  exec "$bin" "$@"
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  run) shift; cmd_run "$@" ;;
  *) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
