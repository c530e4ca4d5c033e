//! The tariff worker: pulls jobs from the shared durable consumer and runs them
//! with [`ScenarioRunner`]. The binary wires configuration and signals; the
//! gateway's embedded mode runs the same worker in process.

mod limits;
mod runner;

pub use limits::LimitArgs;
pub use runner::{
    DEFAULT_DATASET_CACHE_BYTES, DEFAULT_SPLIT_FLOWS, DatasetFetch, ScenarioRunner, StoreFetch,
};
