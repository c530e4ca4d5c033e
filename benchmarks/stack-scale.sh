#!/usr/bin/env bash
# A product-level dataset through the real stack, measured: a synthetic
# dataset (default 200 economies x 5,000 sectors, 5% of pairs trading: about
# 11 million flows) is uploaded to a gateway on NATS with two workers, a
# scenario runs on it with the SUMMARY view, and every flow is paged out with
# `tariffctl flows`; both are compared with `tariffctl run` on the same folder,
# byte for byte. Then the same through the embedded gateway (`--embedded`).
# Prints the time of each step and the peak memory (VmHWM) of every process.
#
# Usage: benchmarks/stack-scale.sh [ECONOMIES SECTORS DENSITY]
# Needs about 6 GB of disk under $TMPDIR and 10 GB of memory at full size.
set -euo pipefail
cd "$(dirname "$0")/.."

economies="${1:-200}" sectors="${2:-5000}" density="${3:-0.05}"
work="$(mktemp -d -t tariff-scale.XXXXXX)"
pids=()
stop() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  pids=()
}
trap 'stop; rm -rf "$work"' EXIT

. scripts/lib/ports.sh
# Seconds a command takes, its output to a file.
timed() {
  local label="$1" out="$2"
  shift 2
  local start end
  start="$(date +%s.%N)"
  "$@" >"$out"
  end="$(date +%s.%N)"
  printf '%-44s %8.2f s\n' "$label" "$(echo "$end - $start" | bc)"
}
peak() { awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$1/status"; }

nats_server="$(scripts/install-nats-server.sh | tail -n1)"
cargo build --release --locked -q -p tariffctl -p scenario-gateway -p tariff-worker
bin="target/release"
ctl="$bin/tariffctl"

echo "== dataset: $economies economies x $sectors sectors, density $density"
timed "tariffctl dataset synth" "$work/synth.txt" \
  "$ctl" dataset synth --economies "$economies" --sectors "$sectors" --density "$density" --seed 1 \
  --id scale --out "$work/data"
tail -n 2 "$work/synth.txt"
cat >"$work/scenario.json" <<'EOF'
{"id": "e001-plus-20", "dataset": "scale",
 "measures": [{"id": "m", "authority": "OTHER", "importer": "E001", "exporters": ["*"],
               "sectors": ["*"], "mode": "ADD", "rate_pct": 20}]}
EOF

echo "== local: tariffctl run --dataset (one process)"
timed "run --view summary --format json" "$work/local-summary.json" \
  "$ctl" run "$work/scenario.json" --dataset "$work/data" --view summary --format json
timed "run --format csv-flows (every flow)" "$work/local-flows.csv" \
  "$ctl" run "$work/scenario.json" --dataset "$work/data" --format csv-flows
echo "flows: $(($(wc -l <"$work/local-flows.csv") - 1))"

# Every upload, job and page of one gateway; `$1` names it in the output.
through() {
  local name="$1" remote="$2"
  timed "$name: dataset upload" "$work/upload.txt" "$ctl" dataset upload "$work/data" --remote "$remote"
  timed "$name: submit --view summary" "$work/job.txt" \
    "$ctl" submit "$work/scenario.json" --remote "$remote" --view summary
  local job
  job="$(tail -n1 "$work/job.txt")"
  timed "$name: watch (the job, SUMMARY)" "$work/$name-summary.json" \
    "$ctl" watch "$job" --remote "$remote" --format json --timeout 1800
  timed "$name: flows (every page of 20,000)" "$work/$name-flows.csv" "$ctl" flows "$job" --remote "$remote"
  cmp "$work/local-summary.json" "$work/$name-summary.json" && echo "$name: SUMMARY identical to the local run's"
  cmp "$work/local-flows.csv" "$work/$name-flows.csv" && echo "$name: every flow identical to the local run's"
}

echo "== NATS, a gateway, two workers"
read -r nats_port gateway_port <<<"$(free_ports 2)"
"$nats_server" -js -sd "$work/nats" -a 127.0.0.1 -p "$nats_port" >"$work/nats.log" 2>&1 &
pids+=($!)
wait_for_port "$nats_port"
url="nats://127.0.0.1:$nats_port"
"$bin/scenario-gateway" --nats-url "$url" --listen "127.0.0.1:$gateway_port" --max-upload-mb 4096 \
  >"$work/gateway.log" 2>&1 &
gateway=$!
pids+=($gateway)
workers=()
for i in 1 2; do
  "$bin/tariff-worker" --nats-url "$url" >"$work/worker-$i.log" 2>&1 &
  workers+=($!)
  pids+=($!)
done
wait_for_port "$gateway_port" 300
through stack "http://127.0.0.1:$gateway_port"
echo "peak memory: gateway $(peak "$gateway"), worker 1 $(peak "${workers[0]}"), worker 2 $(peak "${workers[1]}")"
echo "the job on its worker (start, end):"
grep -h -E "job running|job ended" "$work"/worker-*.log | sed -E 's/\x1b\[[0-9;]*m//g' \
  | awk '{print "  " $1, (/job running/ ? "job running" : "job ended")}' || true
stop

echo "== the embedded gateway (one process)"
embedded_port="$(free_ports 1)"
"$bin/scenario-gateway" --embedded --listen "127.0.0.1:$embedded_port" --max-upload-mb 4096 \
  >"$work/embedded.log" 2>&1 &
embedded=$!
pids+=($embedded)
wait_for_port "$embedded_port" 300
through embedded "http://127.0.0.1:$embedded_port"
echo "peak memory: embedded gateway $(peak "$embedded")"
