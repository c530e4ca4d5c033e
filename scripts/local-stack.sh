#!/usr/bin/env bash
# The production layout on one machine, without Docker: a JetStream nats-server,
# two gateways and three workers, on loopback.
#
#   scripts/local-stack.sh            start it and wait; Ctrl-C stops everything
#   scripts/local-stack.sh --smoke    start it, call both gateways, stop it (CI)
#
# Ports: NATS 4222, gateways 50051 and 50052 (--smoke: free ports). Override with
# TARIFF_STACK_NATS_PORT, TARIFF_STACK_GATEWAY_PORTS ("50051 50052").
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-run}"
. scripts/lib/ports.sh
if [ "$mode" = --smoke ]; then
  # A smoke run must not meet whatever else listens here: free ports unless told.
  read -r p1 p2 p3 <<<"$(free_ports 3)"
  nats_port="${TARIFF_STACK_NATS_PORT:-$p1}"
  gateway_ports=(${TARIFF_STACK_GATEWAY_PORTS:-$p2 $p3})
else
  nats_port="${TARIFF_STACK_NATS_PORT:-4222}"
  gateway_ports=(${TARIFF_STACK_GATEWAY_PORTS:-50051 50052})
fi
profile="${TARIFF_STACK_PROFILE:-debug}"
work="$(mktemp -d -t tariff-stack.XXXXXX)"
pids=()

nats_server="$(scripts/install-nats-server.sh | tail -n1)"
# JetStream reserves every store's byte limit up front against 75% of the free
# disk; the production defaults (7.5 GiB in all) may not fit a laptop's: 1.7 GiB here.
export TARIFF_NATS_JOBS_MAX_MB="${TARIFF_NATS_JOBS_MAX_MB:-128}"
export TARIFF_NATS_RECORDS_MAX_MB="${TARIFF_NATS_RECORDS_MAX_MB:-512}"
export TARIFF_NATS_RESULTS_MAX_MB="${TARIFF_NATS_RESULTS_MAX_MB:-512}"
export TARIFF_NATS_DATASETS_MAX_MB="${TARIFF_NATS_DATASETS_MAX_MB:-512}"
export TARIFF_NATS_DLQ_MAX_MB="${TARIFF_NATS_DLQ_MAX_MB:-64}"
if [ "$profile" = release ]; then cargo build --release --locked --bins -q; else cargo build --locked --bins -q; fi
bin="target/$profile"

stop() {
  # SIGTERM to the services first (they drain), NATS last.
  local failed=0 i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || failed=1
  done
  rm -rf "$work"
  return $failed
}
trap 'stop; exit 130' INT TERM


"$nats_server" -js -sd "$work/nats" -a 127.0.0.1 -p "$nats_port" -m 0 >"$work/nats.log" 2>&1 &
pids+=($!)
wait_for_port "$nats_port"
url="nats://127.0.0.1:$nats_port"

for port in "${gateway_ports[@]}"; do
  "$bin/scenario-gateway" --nats-url "$url" --listen "127.0.0.1:$port" >"$work/gateway-$port.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do
  "$bin/tariff-worker" --nats-url "$url" --concurrency 2 >"$work/worker-$i.log" 2>&1 &
  pids+=($!)
done
for port in "${gateway_ports[@]}"; do wait_for_port "$port"; done
echo "stack up: NATS $url, gateways ${gateway_ports[*]/#/127.0.0.1:}, 3 workers; logs in $work"

if [ "$mode" != --smoke ]; then
  echo "Ctrl-C to stop"
  wait
  exit 0
fi

first="127.0.0.1:${gateway_ports[0]}"
second="127.0.0.1:${gateway_ports[1]}"
ctl="$bin/tariffctl"
"$ctl" run scenarios/section-232-autos-2025.json --remote "$first" --format csv >"$work/remote.csv"
"$ctl" run scenarios/section-232-autos-2025.json --format csv >"$work/local.csv"
cmp -s "$work/remote.csv" "$work/local.csv" || { echo "remote and local results differ" >&2; stop; exit 1; }
job="$("$ctl" submit scenarios/timeline-2025-2026.json --remote "$first")"
"$ctl" watch "$job" --remote "$second" --format csv >/dev/null
state="$("$ctl" get "$job" --remote "$second" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
[ "$state" = SUCCEEDED ] || { echo "job $job ended $state" >&2; stop; exit 1; }
stop
echo "smoke: remote result equals local; job $job submitted through $first, watched through $second: $state; all processes stopped cleanly on SIGTERM"
