#!/usr/bin/env bash
# Runs the client examples against an embedded gateway started here (with a
# bearer token, so the clients' auth path runs too), and fails unless each
# one submitted a scenario, followed it to SUCCEEDED and printed its result,
# the Rust and the Python client printed the same figures, and a client
# without the token was refused with a non-zero exit.
#
# Needs python3 (3.10 or later, with venv and pip) and the Rust toolchain. The
# Python packages go into .tools/examples-venv, set up again only when
# examples/python/requirements.txt or python3 changes.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/lib/ports.sh
source scripts/lib/ports.sh

say() { echo "examples: $*"; }
fail() {
  echo "examples/run.sh: $*" >&2
  exit 1
}

# The Python environment, reused while the requirements and python3 are the same.
requirements=examples/python/requirements.txt
venv=.tools/examples-venv
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || fail "python3 $(python3 -V 2>&1) is too old: grpcio-tools needs 3.10 or later"
stamp="$({ python3 -VV; cat "$requirements"; } | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$stamp" ]; then
  say "setting up $venv from $requirements"
  rm -rf "$venv"
  python3 -m venv "$venv" || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
  # Written last: an interrupted install is redone next time.
  echo "$stamp" >"$venv/.requirements.sha256"
fi

# The same build as scripts/test.sh's (every binary, same features), so that
# after it nothing is rebuilt.
cargo build --workspace --bins --locked -q
bin="${CARGO_TARGET_DIR:-target}/debug"

work="$(mktemp -d)"
port="$(free_ports 1)"
token="examples-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
# TLS settings from the caller's environment would make the gateway speak TLS,
# which these plaintext clients do not.
env -u TARIFF_TLS_CERT -u TARIFF_TLS_KEY -u TARIFF_TLS_CLIENT_CA -u TARIFF_TOKENS_FILE \
  TARIFF_TOKENS="example:$token" "$bin/scenario-gateway" --embedded --listen "127.0.0.1:$port" \
  >"$work/gateway.log" 2>&1 &
gateway=$!
trap 'kill "$gateway" 2>/dev/null || true; wait "$gateway" 2>/dev/null || true; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if ! wait_for_port "$port" 300 || ! kill -0 "$gateway" 2>/dev/null; then
  cat "$work/gateway.log" >&2
  fail "the embedded gateway did not start on port $port"
fi
addr="http://127.0.0.1:$port"
say "embedded gateway on $addr"

rust=("$bin/tariff-example-client" --addr "$addr")
python=("$venv/bin/python" examples/python/client.py --addr "$addr")
passed=0

# Runs one client (`name` then its command), prints its output, and checks the
# lines every successful run prints: an empty or cut-short run fails.
run_client() {
  local name=$1
  shift
  echo "== $name"
  if ! TARIFF_TOKEN="$token" "$@" >"$work/$name.out" 2>"$work/$name.err"; then
    cat "$work/$name.out" "$work/$name.err" >&2
    fail "$name failed"
  fi
  cat "$work/$name.out"
  local marker
  for marker in '^submitted job [0-9a-f]' '^  SUCCEEDED' '^result: .* at [0-9-]*$' \
    '^welfare by economy' '^  USA  *-\?[0-9]' '^top sectors by change in imports'; do
    grep -q -- "$marker" "$work/$name.out" || fail "$name printed no line matching /$marker/"
  done
  passed=$((passed + 1))
}

# The same scenario must give the same summary from both clients.
same_result() {
  if ! diff <(sed -n '/^result: /,$p' "$work/$1.out") <(sed -n '/^result: /,$p' "$work/$2.out") >&2; then
    fail "$1 and $2 printed different results for the same scenario"
  fi
  passed=$((passed + 1))
}

# Without the token the gateway refuses the call: a one-line error naming
# TARIFF_TOKEN and a non-zero exit.
refused_without_token() {
  local name=$1
  shift
  if "$@" >"$work/$name.out" 2>"$work/$name.err"; then
    fail "$name succeeded without the token the gateway requires"
  fi
  grep -q '^error: .*TARIFF_TOKEN' "$work/$name.err" || {
    cat "$work/$name.err" >&2
    fail "$name: no error naming TARIFF_TOKEN"
  }
  passed=$((passed + 1))
}

# The scenario built in code (the US adds 20% on every import), then a file:
# 10,000 uncertainty draws, long enough for progress lines to show.
scenario=scenarios/section-232-autos-2025-uncertainty.json
run_client rust "${rust[@]}"
run_client python "${python[@]}"
same_result rust python
run_client rust-file "${rust[@]}" --scenario "$scenario"
run_client python-file "${python[@]}" --scenario "$scenario"
same_result rust-file python-file
refused_without_token rust-no-token env -u TARIFF_TOKEN "${rust[@]}"
refused_without_token python-no-token env -u TARIFF_TOKEN "${python[@]}"

kill -0 "$gateway" 2>/dev/null || { cat "$work/gateway.log" >&2; fail "the gateway died during the run"; }
say "$passed passed, 0 failed"
