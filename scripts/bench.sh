#!/usr/bin/env bash
# Benchmarks against the real local stack.
#
#   scripts/bench.sh platform     make bench: the whole-platform scenario
#                                 (bin/brooks bench platform): every component
#                                 on its own ports, groups and a fresh topic,
#                                 loadgen at full speed, one table, written
#                                 with a JSON copy under $BROOKS_STATE/bench/
#   scripts/bench.sh components   make bench-components: each component's own
#                                 benchmarks (make test-setup first)
#
#   BENCH_SECONDS   platform: loadgen duration (default 40); components:
#                   duration of each loadgen scenario (default 20)
#   BENCH_ONLY      components: run only scenarios whose name contains this
#   BENCH_ARGS      platform: more flags for 'bench platform' (see --help)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mode=${1:-platform}
bin=bin/brooks
go build -o "$bin" ./cmd/brooks
out=${BROOKS_STATE:-$root/.brooks}/bench
mkdir -p "$out"

case $mode in
platform)
  # shellcheck disable=SC2086
  exec "$bin" bench platform --duration "${BENCH_SECONDS:-40}s" ${BENCH_ARGS:-}
  ;;
components) ;;
*) echo "usage: $0 [platform|components]" >&2; exit 2 ;;
esac

secs=${BENCH_SECONDS:-20}
only=${BENCH_ONLY:-}

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg)"

want() { [[ -z $only || $1 == *"$only"* ]]; }

collector_scenario() { # name batch concurrency
  local name=$1 batch=$2 conc=$3 port=18080 pid
  "$bin" collector --http-addr 127.0.0.1:$port --ledger=false >"$out/collector-$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
  echo "== collector: $name (batch $batch, concurrency $conc, ${secs}s, real Kafka acks=all)"
  "$bin" loadgen --target "http://127.0.0.1:$port" --duration "${secs}s" --batch "$batch" --concurrency "$conc" --seed 5 | tail -n 2
  kill -TERM "$pid"; wait "$pid" || true
}

if want collector; then
  # Its own topic, so benchmark traffic never mixes with the demo's.
  export BROOKS_TOPIC=brooks.bench.pixels
  "$bin" migrate >"$out/migrate.log" 2>&1 || { cat "$out/migrate.log"; exit 1; }
  collector_scenario tp2-batched 100 8
  collector_scenario get-pixel 1 32
  unset BROOKS_TOPIC
fi

if want parse; then
  echo "== collector parsing and validation (go test -bench)"
  go test -run '^$' -bench . -benchtime 2s ./shadow/collector | grep -E '^(Benchmark|ok)'
fi

# Component benchmarks (each package's bench_test.go) run with go test -bench.
for pkg in ./diff ./legacy/... ./nextgen/... ./audit/... ./shadow/proxy; do
  name=${pkg#./}
  want "$name" || continue
  if ls ${pkg%/...}/*_test.go >/dev/null 2>&1 || [[ $pkg == *... ]]; then
    if go test -list 'Benchmark.*' $pkg 2>/dev/null | grep -q '^Benchmark'; then
      echo "== $name (go test -bench)"
      go test -run '^$' -bench . -timeout 30m $pkg 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)|/s|p99' || true
    fi
  fi
done
