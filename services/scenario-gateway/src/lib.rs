//! The scenario gateway: `tariff.v1.ScenarioService` over gRPC, stateless over
//! the job records, with health and reflection. [`serve`] runs it on any job
//! backend; [`Embedded`] is the in-process default.

mod deadline;
mod embedded;
mod server;
mod service;
mod status;

pub use embedded::Embedded;
pub use server::{ServerOptions, serve};
pub use service::{Gateway, GatewayLimits};
