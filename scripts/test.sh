#!/usr/bin/env bash
# The project's test command: every test of the workspace, doc tests included,
# and the benchmarks run once each in test mode so they cannot rot. Installs the
# pinned nats-server the end-to-end tests start (once; later runs reuse it).
set -euo pipefail
cd "$(dirname "$0")/.."

TARIFF_NATS_SERVER="$(scripts/install-nats-server.sh | tail -n1)"
export TARIFF_NATS_SERVER

# The service binaries some tests start: store limits that fit any test disk
# (JetStream reserves them up front; in-process services get the same from
# tests/harness.rs test_limits).
export TARIFF_NATS_JOBS_MAX_MB=64 TARIFF_NATS_RECORDS_MAX_MB=256 TARIFF_NATS_RESULTS_MAX_MB=512
export TARIFF_NATS_DATASETS_MAX_MB=512 TARIFF_NATS_DLQ_MAX_MB=16

# The shutdown tests run the real service binaries as processes.
cargo build --workspace --bins --locked
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked

# The production layout without Docker: NATS, two gateways, three workers.
scripts/local-stack.sh --smoke

# The example clients (Rust and Python) against the embedded gateway.
examples/run.sh
