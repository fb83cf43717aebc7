#!/usr/bin/env bash
# FerretDB v1 (MongoDB wire protocol) for the Brooks local stack, on 127.0.0.1:27017
# with the embedded SQLite backend; data in $BROOKS_STATE/ferretdb/data.
# The binary is built from main.go in this folder (its own Go module).
# Usage: server.sh install|start|healthy|port|logfile   (contract: deploy/local/README.md)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=${BROOKS_STATE:-$(cd "$here/../../.." && pwd)/.brooks}
case $state in /*) ;; *) state=$PWD/$state ;; esac
name=ferretdb
port=27017
bin=$state/install/$name/ferretdb
run=$state/$name
pidfile=$run/pid
log=$run/logs/ferretdb.log

# launch PIDFILE OUTFILE CMD...: run CMD detached (own session, no stdin, output
# appended to OUTFILE); the process writes its own pid, then execs CMD.
launch() {
  local pidfile=$1 out=$2
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016  # $$ and $@ expand in the child shell
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >>"$out" 2>&1 </dev/null &
  for _ in $(seq 50); do [[ -s $pidfile ]] && return 0; sleep 0.02; done
}

running() { [[ -s $pidfile ]] && kill -0 "$(<"$pidfile")" 2>/dev/null; }

# up_to_date: the binary exists and is newer than every source file.
up_to_date() {
  [[ -x $bin ]] || return 1
  local f
  for f in "$here"/*.go "$here/go.mod" "$here/go.sum"; do
    [[ $f -nt $bin ]] && return 1
  done
  return 0
}

case ${1:-} in
install)
  up_to_date && exit 0
  mkdir -p "$(dirname "$bin")"
  exec 9>"$bin.lock" # one build at a time (two `up`s at once)
  flock 9
  up_to_date && exit 0
  command -v go >/dev/null || { echo "$name: needs Go (go.mod: $here/go.mod)" >&2; exit 1; }
  (cd "$here" && go build -buildvcs=false -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
  ;;
start)
  if running; then echo "$name: already started (pid $(<"$pidfile"))"; exit 0; fi
  mkdir -p "$run/data" "$run/logs"
  launch "$pidfile" "$log" "$bin" -listen "127.0.0.1:$port" -data "$run/data" -log-level warn
  ;;
healthy)
  # A real OP_MSG {ping: 1} round trip (2 s timeout), not just a TCP connect.
  "$bin" -ping -listen "127.0.0.1:$port" >/dev/null 2>&1
  ;;
port) echo "$port" ;;
logfile) echo "$log" ;;
*)
  echo "usage: $0 install|start|healthy|port|logfile" >&2
  exit 2
  ;;
esac
