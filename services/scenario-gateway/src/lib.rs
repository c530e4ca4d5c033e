//! The scenario gateway: `tariff.v1.ScenarioService` over gRPC, stateless over
//! the job records, with health and reflection. [`serve`] runs it on any job
//! backend; [`Embedded`] is the in-process default. Calls can be required to
//! carry a bearer token ([`TokenSet`]) and the server can speak TLS or mTLS
//! ([`TlsSettings`]).

mod auth;
mod closing;
mod datasets;
mod deadline;
mod embedded;
mod passthrough;
mod rpc_metrics;
mod server;
mod service;
mod status;
mod tls;
mod views;
mod wire_errors;

pub use auth::{Access, Authenticator, TOKENS_ENV, Token, TokenError, TokenSet, WRITE_SUFFIX, load_tokens};
pub use datasets::UploadLimits;
pub use embedded::Embedded;
pub use server::{ServerOptions, serve};
pub use service::{Gateway, GatewayLimits};
pub use tls::{TlsConfigError, TlsSettings};
