#!/usr/bin/env bash
# Brooks demo: runs every platform component against the local stack, sends
# generated traffic through the collector, and prints where to look.
#
#   deploy/local/demo.sh up     start components (idempotent), send traffic, print links
#   deploy/local/demo.sh down   stop the components this script started
#
# Environment: BROOKS_STATE (default <repo>/.brooks), DEMO_SECONDS (traffic
# duration, default 60), DEMO_RATE (events/s, default 2000), DEMO_SEED
# (default: loadgen picks a fresh seed per run and prints it; set it to
# repeat a run's events exactly).
#
# Every run writes its own expectations file, $BROOKS_STATE/demo/
# expectations-<time>.jsonl; 'bin/brooks loadgen check' sums all of them.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
BROOKS_STATE=${BROOKS_STATE:-$root/.brooks}
case $BROOKS_STATE in /*) ;; *) BROOKS_STATE=$root/$BROOKS_STATE ;; esac
export BROOKS_STATE
run=$BROOKS_STATE/demo
bin=$root/bin/brooks
mkdir -p "$run"
cd "$root"

# The demo's customers: the repository's three, which loadgen sends traffic
# for, plus umbrella.example, a customer without traffic that the demo moves
# (forced, with a reason) all the way to complete, so that every cutover
# state has a customer in it.
demo_customers() {
  cp "$root/deploy/local/customers.yaml" "$run/customers.yaml.tmp"
  cat >>"$run/customers.yaml.tmp" <<'YAML'
  - id: umbrella.example
    name: Umbrella Weekly (demo only, no traffic)
    post_pattern: '^https://umbrella\.example/p/'
    heartbeat_seconds: 10
    timezone: Asia/Tokyo
YAML
  mv "$run/customers.yaml.tmp" "$run/customers.yaml"
}
demo_customers
export BROOKS_CUSTOMERS_FILE=$run/customers.yaml

# name|subcommand and flags|health URL
components=(
  "collector|collector --http-addr 127.0.0.1:8080|http://127.0.0.1:8080/readyz"
  "archive|archive|http://127.0.0.1:9183/healthz"
  "legacy-ingest|legacy ingest|http://127.0.0.1:9181/healthz"
  "legacy-serve|legacy serve|http://127.0.0.1:8081/healthz"
  "nextgen-run|nextgen run|http://127.0.0.1:9184/healthz"
  "nextgen-serve|nextgen serve|http://127.0.0.1:8082/healthz"
  "proxy|proxy --api-tokens-file $run/tokens.yaml --settle 1m|http://127.0.0.1:8090/healthz"
  "cutover|cutover run --api-tokens-file $run/tokens.yaml|http://127.0.0.1:8093/healthz"
  "audit|audit serve --api-tokens-file $run/tokens.yaml|http://127.0.0.1:9185/healthz"
  "dashboards|dashboards --proxy-url http://127.0.0.1:8090 --admin-url http://127.0.0.1:9185|http://127.0.0.1:8088/healthz"
)

alive() { [[ -s $run/$1.pid ]] && kill -0 "$(<"$run/$1.pid")" 2>/dev/null; }

has_cmd() { "$bin" $1 --help >/dev/null 2>&1; }

wait_healthy() { # name url
  local i
  for ((i = 0; i < 120; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$2" 2>/dev/null && return 0
    alive "$1" || break
    sleep 0.5
  done
  echo "demo: $1 did not become healthy; last lines of $run/$1.log:" >&2
  tail -n 30 "$run/$1.log" >&2 || true
  return 1
}

up() {
  "$bin" migrate >"$run/migrate.log" 2>&1 || { cat "$run/migrate.log" >&2; exit 1; }
  local c name args url started=()
  if has_cmd token && [[ ! -s $run/admin.token ]]; then # tokens are shown once: the demo keeps its own
    (umask 077; "$bin" token new --admin --api-tokens-file "$run/tokens.yaml" >"$run/admin.token" 2>>"$run/migrate.log")
    (umask 077; "$bin" token new --customer acme.example --api-tokens-file "$run/tokens.yaml" >"$run/acme.token" 2>>"$run/migrate.log")
  fi
  for c in "${components[@]}"; do
    IFS='|' read -r name args url <<<"$c"
    local sub=${args%% --*}
    if ! has_cmd "$sub"; then
      echo "demo: skipping $name (no 'brooks $sub' in this build)"
      continue
    fi
    if alive "$name"; then
      echo "demo: $name already running (pid $(<"$run/$name.pid"))"
    else
      # shellcheck disable=SC2086
      setsid nohup "$bin" $args >"$run/$name.log" 2>&1 </dev/null &
      echo $! >"$run/$name.pid"
      echo "demo: started $name (pid $!, log $run/$name.log)"
    fi
    started+=("$name|$url")
  done
  for c in "${started[@]}"; do
    wait_healthy "${c%%|*}" "${c#*|}"
  done
  local secs=${DEMO_SECONDS:-60} rate=${DEMO_RATE:-2000} seed=() exp
  exp=$run/expectations-$(date -u +%Y%m%dT%H%M%SZ).jsonl
  [[ -n ${DEMO_SEED:-} ]] && seed=(--seed "$DEMO_SEED")
  echo "demo: sending ${secs}s of traffic at ${rate} events/s ..."
  "$bin" loadgen --target http://127.0.0.1:8080 --duration "${secs}s" --rate "$rate" "${seed[@]}" --expect "$exp"
  if has_cmd cutover; then # one customer per state; forced (the demo's evidence is minutes old), idempotent through --from
    local st
    "$bin" cutover advance --customer acme.example --from legacy --force --reason "demo: shadow" >>"$run/cutover-moves.log" 2>&1 || true
    for st in legacy shadow; do
      "$bin" cutover advance --customer globex.example --from $st --force --reason "demo: live" >>"$run/cutover-moves.log" 2>&1 || true
    done
    for st in legacy shadow live; do
      "$bin" cutover advance --customer umbrella.example --from $st --force --reason "demo: complete (no traffic; shows the last state)" >>"$run/cutover-moves.log" 2>&1 || true
    done
    "$bin" cutover status 2>>"$run/cutover-moves.log" || true
  fi
  local all
  all=$(ls "$run"/expectations-*.jsonl | paste -sd, -)
  cat <<EOT

Brooks is running. Where to look:
  collector      http://127.0.0.1:8080/metrics   (accepted/rejected pixels)
  send a pixel   curl -i 'http://127.0.0.1:8080/i?aid=acme.example&e=pv&url=https://acme.example/post/1'
  expectations   $exp   (this run's exact counts)
  check          $bin loadgen check --expect $all --api http://127.0.0.1:8082
                 (every demo run's expectations against nextgen; :8081 for legacy, posts only)
  compare        $bin compare --customer acme.example   (legacy vs nextgen, the hour that ended 10 minutes ago)
  logs           $run/*.log
EOT
  if has_cmd archive; then
    cat <<EOT
  archive        $BROOKS_STATE/archive/   (hourly raw-log parts + manifests)
  ledger         $bin ledger --customer acme.example
EOT
  fi
  local from to
  from=$(date -u -d '-1 hour' +%Y-%m-%dT%H:00:00Z)
  to=$(date -u -d '+1 hour' +%Y-%m-%dT%H:00:00Z)
  local q='{"customer":"acme.example","metrics":["pageviews"],"group_by":["url"],"from":"'$from'","to":"'$to'","interval":"total","order_by":"-pageviews","limit":5}'
  if has_cmd "legacy serve"; then
    echo "  legacy query   curl -s -XPOST http://127.0.0.1:8081/v1/query -d '$q'"
  fi
  if has_cmd "nextgen serve"; then
    echo "  nextgen query  curl -s -XPOST http://127.0.0.1:8082/v1/query -d '$q'"
  fi
  if has_cmd proxy; then
    echo "  proxy token    $(<"$run/acme.token")   (reads acme.example only; admin token in $run/admin.token)"
    echo "  proxy query    curl -s -H \"Authorization: Bearer \$(cat $run/acme.token)\" -XPOST http://127.0.0.1:8090/v1/query -d '$q'"
    echo "  shadow report  $bin shadow report --customer acme.example --since 1h"
    echo "  cutover        $bin cutover status | gates --customer acme.example | history --customer globex.example"
    echo "  cutover API    curl -s -H \"Authorization: Bearer \$(cat $run/admin.token)\" http://127.0.0.1:8093/v1/cutover/customers"
  fi
  if has_cmd "audit serve"; then
    echo "  audit API      curl -s -H \"Authorization: Bearer \$(cat $run/admin.token)\" 'http://127.0.0.1:9185/v1/ledger/report?customer=acme.example'   (and /v1/audit/runs)"
  fi
  if has_cmd dashboards; then
    echo "  dashboards     http://127.0.0.1:8088/c/acme.example   sign in with $(<"$run/acme.token")"
    echo "  console        http://127.0.0.1:8088/console          sign in with $(<"$run/admin.token")"
  fi
  echo "Stop the components with 'make demo-down', the servers with 'make services-down'."
}

down() {
  local c name pid
  for c in "${components[@]}"; do
    name=${c%%|*}
    alive "$name" || { rm -f "$run/$name.pid"; continue; }
    pid=$(<"$run/$name.pid")
    kill -TERM "$pid"
    for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$run/$name.pid"
    echo "demo: stopped $name"
  done
}

case ${1:-} in
up) up ;;
down) down ;;
*) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
