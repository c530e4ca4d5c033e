//! The end-to-end tests that need no process of their own, as one binary (one
//! link and one executable in CI instead of fifteen). Each module is what was a
//! test binary: every test starts its own nats-server on a free port, with
//! names of its own (`isolated_config`), so they run in parallel. Tests in
//! `tracing.rs` and `metrics.rs` install process-wide OpenTelemetry providers
//! and stay binaries of their own (tests/Cargo.toml).

mod analysis;
mod bad_requests;
mod beyond_ad_valorem;
mod cluster;
mod datasets;
mod error_codes;
mod faults;
mod kills;
mod nats_security;
mod observability;
mod outage;
mod pipeline;
mod scale_out;
mod shutdown;
mod split_by_sector;
mod storage_limits;
mod uncertainty;
mod watch;
