#!/usr/bin/env bash
# Redis for the Brooks local stack: Debian's redis-server on 127.0.0.1:6379.
# Persistence: append-only file (fsync every second) under $BROOKS_STATE/redis/data,
# no RDB snapshots, so data survives `stack.sh down` / `up` like the other stores.
# Usage: server.sh install|start|healthy|port|logfile   (contract: deploy/local/README.md)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=${BROOKS_STATE:-$(cd "$here/../../.." && pwd)/.brooks}
case $state in /*) ;; *) state=$PWD/$state ;; esac
name=redis
port=6379
run=$state/$name
pidfile=$run/pid
log=$run/logs/redis.log

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

as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

case ${1:-} in
install)
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && exit 0
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q redis-server ||
    { as_root apt-get update -q && as_root apt-get install -y -q redis-server; }
  ;;
start)
  if running; then echo "$name: already started (pid $(<"$pidfile"))"; exit 0; fi
  mkdir -p "$run/data" "$run/logs"
  # Redis logs to stdout (no --logfile) so startup errors land in the same file.
  launch "$pidfile" "$log" \
    redis-server --daemonize no --bind 127.0.0.1 --port "$port" --dir "$run/data" \
    --save "" --appendonly yes --appendfsync everysec
  ;;
healthy)
  [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]
  ;;
port) echo "$port" ;;
logfile) echo "$log" ;;
*)
  echo "usage: $0 install|start|healthy|port|logfile" >&2
  exit 2
  ;;
esac
