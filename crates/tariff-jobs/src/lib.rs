//! The job protocol the gateway and the worker share: job records, the queue
//! and the consumer, over NATS JetStream (production) or in process (the
//! embedded default), and the logic on either side of the queue.

mod backend;
mod ending;
mod error;
pub mod memory;
pub mod nats;
mod reachability;
pub mod record;
mod service;
pub mod telemetry;
mod worker;

pub use backend::{
    ChunkStore, Created, DatasetStore, Delivery, Encoded, EncodedStream, JobConsumer, JobQueue, JobStream,
    RecordStore, Stored, StoredDataset, UNSTORED, Updated, message_id,
};
pub use error::JobsError;
pub use reachability::{REACHABILITY_INTERVAL, follow_reachability};
pub use service::{JobService, Submission, Submitted};
pub use worker::{
    JobRunner, RunFailure, Worker, WorkerConfig, chunk_steps, final_state, give_up, holds_flows,
};
