#!/usr/bin/env bash
# Brooks local stack driver: runs every deploy/local/<name>/server.sh.
#
#   deploy/local/stack.sh up     [name...]  install + start in parallel, wait until healthy
#   deploy/local/stack.sh down   [name...]  stop the pids in the pid files (TERM, then KILL)
#   deploy/local/stack.sh status [name...]  table of port, pid, state, RSS and peak RSS
#
# Environment:
#   BROOKS_STATE              state root (default: <repo>/.brooks)
#   BROOKS_UP_TIMEOUT         seconds a server may take to become healthy (default 180)
#   BROOKS_UP_TIMEOUT_<NAME>  same, for one server (e.g. BROOKS_UP_TIMEOUT_KAFKA=300)
#   BROOKS_DOWN_TIMEOUT       seconds to wait after SIGTERM before SIGKILL (default 30)
#
# The per-server contract (install|start|healthy|port|logfile) is in README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BROOKS_STATE=${BROOKS_STATE:-$(cd "$here/../.." && pwd)/.brooks}
case $BROOKS_STATE in /*) ;; *) BROOKS_STATE=$(cd "$here/../.." && pwd)/$BROOKS_STATE ;; esac # relative: to the repository root, as bin/brooks
export BROOKS_STATE

usage() {
  echo "usage: $0 up|down|status [name...]" >&2
  exit 2
}

# ---- helpers ---------------------------------------------------------------

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

# secs START_MS: seconds elapsed since START_MS, one decimal.
secs() {
  local d=$(($(now_ms) - $1))
  printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

say() { printf '%-14s %s\n' "$1" "$2"; }

# proc_id PID: "PID STARTTICKS BOOTID" for a live, non-zombie process, else fails.
# Start ticks and boot id make a stale pid file that a new process happens to
# share a pid with (after a reboot, say) look dead rather than ours.
proc_id() {
  local stat fields
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  read -ra fields <<<"${stat##*) }" # fields 3.. of proc(5): state is [0], starttime [19]
  [[ ${fields[0]} != Z && ${fields[0]} != X ]] || return 1
  echo "$1 ${fields[19]} $(</proc/sys/kernel/random/boot_id)"
}

# live_pid NAME: prints the server's pid when its pid file names a live process
# that is the one recorded at start (pid.id); fails otherwise.
live_pid() {
  local run=$BROOKS_STATE/$1 pid id
  [[ -s $run/pid ]] || return 1
  pid=$(tr -dc '0-9' <"$run/pid")
  [[ -n $pid ]] || return 1
  id=$(proc_id "$pid") || return 1
  if [[ -s $run/pid.id ]]; then
    local recorded
    recorded=$(<"$run/pid.id")
    # Only trust the record when it is about this pid (start may rewrite pid).
    [[ ${recorded%% *} != "$pid" || $recorded == "$id" ]] || return 1
  fi
  echo "$pid"
}

# remember_pid NAME PID: record the identity of the process we just saw start.
remember_pid() { proc_id "$2" >"$BROOKS_STATE/$1/pid.id" 2>/dev/null || true; }

forget_pid() { rm -f "$BROOKS_STATE/$1/pid" "$BROOKS_STATE/$1/pid.id"; }

healthy() { timeout 5 "$here/$1/server.sh" healthy >/dev/null 2>&1; }

timeout_var() { echo "BROOKS_UP_TIMEOUT_$(tr 'a-z-' 'A-Z_' <<<"$1")"; }

timeout_for() {
  local var
  var=$(timeout_var "$1")
  echo "${!var:-${BROOKS_UP_TIMEOUT:-180}}"
}

# ---- up --------------------------------------------------------------------

# fail NAME MESSAGE [LOGFILE]: report a failure, with the tail of LOGFILE.
fail() {
  {
    echo "---- $1: $2"
    if [[ -n ${3:-} && -f $3 ]]; then
      echo "---- last 40 lines of $3:"
      tail -n 40 "$3"
    fi
    echo "----"
  } >"$tmp/$1.fail"
  say "$1" "FAILED: $2"
  return 1
}

up_one() {
  local name=$1 s=$here/$1/server.sh t0 pid deadline logfile
  t0=$(now_ms)
  if ! "$s" install >"$tmp/$name.install" 2>&1; then
    fail "$name" "install failed after $(secs "$t0")s" "$tmp/$name.install"
    return 1
  fi
  [[ $(secs "$t0") == 0.* ]] || say "$name" "installed in $(secs "$t0")s"
  logfile=$("$s" logfile)

  if pid=$(live_pid "$name"); then
    if healthy "$name"; then
      [[ -s $BROOKS_STATE/$name/pid.id ]] || remember_pid "$name" "$pid"
      say "$name" "already running (pid $pid, port $("$s" port)) $(secs "$t0")s"
      return 0
    fi
    say "$name" "running (pid $pid) but not healthy yet: waiting"
  else
    forget_pid "$name" # stale, or from a process that is not ours any more
    mkdir -p "$BROOKS_STATE/$name/logs"
    if ! "$s" start >"$tmp/$name.start" 2>&1; then
      fail "$name" "start failed" "$tmp/$name.start"
      return 1
    fi
    if ! pid=$(live_pid "$name"); then
      fail "$name" "exited at once (no live pid in $BROOKS_STATE/$name/pid)" "$logfile"
      return 1
    fi
    remember_pid "$name" "$pid"
    say "$name" "started (pid $pid)"
  fi

  deadline=$(($(now_ms) + $(timeout_for "$name") * 1000))
  until healthy "$name"; do
    if ! live_pid "$name" >/dev/null; then
      fail "$name" "process $pid exited after $(secs "$t0")s" "$logfile"
      return 1
    fi
    if (($(now_ms) > deadline)); then
      fail "$name" "not healthy after $(secs "$t0")s (pid $pid still running; raise BROOKS_UP_TIMEOUT or $(timeout_var "$name"))" "$logfile"
      return 1
    fi
    sleep 0.5
  done
  say "$name" "healthy on port $("$s" port) in $(secs "$t0")s"
}

cmd_up() {
  local t0 name failed=0 pids=()
  t0=$(now_ms)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for name in "$@"; do
    up_one "$name" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  if ((failed)); then
    cat "$tmp"/*.fail >&2
    echo "stack up FAILED after $(secs "$t0")s" >&2
    return 1
  fi
  echo "stack up: $# server(s) healthy in $(secs "$t0")s"
}

# ---- down ------------------------------------------------------------------

down_one() {
  local name=$1 pid t0 limit
  t0=$(now_ms)
  if ! pid=$(live_pid "$name"); then
    forget_pid "$name"
    say "$name" "stopped"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  limit=$(($(now_ms) + ${BROOKS_DOWN_TIMEOUT:-30} * 1000))
  while live_pid "$name" >/dev/null && (($(now_ms) < limit)); do sleep 0.2; done
  if live_pid "$name" >/dev/null; then
    say "$name" "pid $pid ignored SIGTERM for ${BROOKS_DOWN_TIMEOUT:-30}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while live_pid "$name" >/dev/null; do sleep 0.1; done
  fi
  forget_pid "$name"
  say "$name" "stopped pid $pid in $(secs "$t0")s"
}

cmd_down() {
  local name rc=0 pids=()
  for name in "$@"; do
    down_one "$name" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  return "$rc"
}

# ---- status ----------------------------------------------------------------

# mem_mib PID FIELD: a /proc/PID/status kB field (VmRSS, VmHWM) in MiB.
mem_mib() {
  awk -v f="$2:" '$1 == f { printf "%d", $2 / 1024; found = 1 } END { if (!found) printf "-" }' \
    "/proc/$1/status" 2>/dev/null || echo -
}

cmd_status() {
  local name s pid state rss peak bad=0 fmt='%-14s %6s %8s  %-10s %8s %9s\n'
  # shellcheck disable=SC2059
  printf "$fmt" SERVER PORT PID STATE RSS_MiB PEAK_MiB
  for name in "$@"; do
    s=$here/$name/server.sh
    rss=- peak=-
    if pid=$(live_pid "$name"); then
      if healthy "$name"; then state=healthy; else state=unhealthy bad=1; fi
      rss=$(mem_mib "$pid" VmRSS)
      peak=$(mem_mib "$pid" VmHWM)
    else
      pid=-
      # Something else answering on our port is not our server.
      if healthy "$name"; then state=foreign; else state=stopped; fi
      bad=1
    fi
    # shellcheck disable=SC2059
    printf "$fmt" "$name" "$("$s" port 2>/dev/null || echo -)" "$pid" "$state" "$rss" "$peak"
  done
  return "$bad"
}

# ---- main ------------------------------------------------------------------

(($# >= 1)) || usage
cmd=$1
shift

all=()
for f in "$here"/*/server.sh; do
  [[ -x $f ]] && all+=("$(basename "$(dirname "$f")")")
done
if (($# == 0)); then
  set -- "${all[@]}"
else
  for name in "$@"; do
    [[ -x $here/$name/server.sh ]] ||
      { echo "unknown server '$name' (have: ${all[*]})" >&2; exit 2; }
  done
fi
(($# > 0)) || { echo "no servers found under $here/*/server.sh" >&2; exit 2; }

case $cmd in
up) cmd_up "$@" ;;
down) cmd_down "$@" ;;
status) cmd_status "$@" ;;
*) usage ;;
esac
