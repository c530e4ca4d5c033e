//! `ceiling`: the raw JetStream cycle the pipeline rests on (publish with ack,
//! pull, ack, key-value put) in a closed loop on scratch stream and bucket. The
//! measurement serves `all` too.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, anyhow};
use async_nats::jetstream::{self, consumer::pull, kv, stream};
use futures::StreamExt;

use crate::{
    CeilingArgs,
    drive::{self, Caller, REQUEST_TIMEOUT},
    stats::{Step, write_json},
};

pub async fn command(args: CeilingArgs) -> anyhow::Result<()> {
    let scratch = Arc::new(Scratch::create(&args.nats_url).await?);
    let result =
        measure(&scratch, args.concurrency, Duration::from_secs_f64(args.duration), args.payload_bytes).await;
    scratch.cleanup().await?;
    let step = result?;
    step.print();
    write_json(args.json.as_deref(), &step)
}

/// `concurrency` loops of the cycle for `duration`, with `payload_bytes` in each
/// message and entry.
pub async fn measure(
    scratch: &Arc<Scratch>,
    concurrency: usize,
    duration: Duration,
    payload_bytes: usize,
) -> anyhow::Result<Step> {
    let payload = bytes::Bytes::from(vec![b'x'; payload_bytes]);
    drive::closed_loop("ceiling", concurrency, duration, |worker| CycleCaller {
        scratch: Arc::clone(scratch),
        payload: payload.clone(),
        worker,
        n: 0,
    })
    .await
}

/// The cycles of one loop: `worker` and the count `n` make each message id unique.
#[derive(Debug)]
struct CycleCaller {
    scratch: Arc<Scratch>,
    payload: bytes::Bytes,
    worker: usize,
    n: u64,
}

impl Caller for CycleCaller {
    async fn call(&mut self) -> anyhow::Result<()> {
        let n = self.n;
        self.n += 1;
        let cycle =
            tokio::time::timeout(REQUEST_TIMEOUT, cycle(&self.scratch, &self.payload, n, self.worker));
        cycle.await.map_err(|_| anyhow!("cycle timed out")).and_then(|r| r)
    }
}

/// Scratch stream, consumer and bucket under a unique prefix; deleted by `cleanup`.
#[derive(Debug)]
pub struct Scratch {
    js: jetstream::Context,
    stream: String,
    bucket: String,
    subject: String,
    consumer: jetstream::consumer::Consumer<pull::Config>,
    kv: kv::Store,
}

impl Scratch {
    pub async fn create(nats_url: &str) -> anyhow::Result<Scratch> {
        let client =
            async_nats::connect(nats_url).await.with_context(|| format!("connecting to {nats_url}"))?;
        let js = jetstream::new(client);
        let prefix = format!("LOADGEN_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let stream_name = format!("{prefix}_JOBS");
        let bucket = format!("{prefix}_STATE");
        let subject = format!("{}.jobs", prefix.to_lowercase());
        // The same settings as the pipeline's job stream and record bucket.
        let created = js
            .create_stream(stream::Config {
                name: stream_name.clone(),
                subjects: vec![format!("{subject}.>")],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await?;
        let consumer = created
            .create_consumer(pull::Config {
                durable_name: Some("loadgen".into()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                ..Default::default()
            })
            .await?;
        let kv = js
            .create_key_value(kv::Config {
                bucket: bucket.clone(),
                history: 1,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await?;
        Ok(Scratch { js, stream: stream_name, bucket, subject, consumer, kv })
    }

    pub async fn cleanup(&self) -> anyhow::Result<()> {
        self.js.delete_stream(&self.stream).await?;
        self.js.delete_key_value(&self.bucket).await?;
        Ok(())
    }
}

/// One cycle: publish with a message id and wait for the ack, pull one, ack it, put a record.
async fn cycle(scratch: &Scratch, payload: &bytes::Bytes, n: u64, worker: usize) -> anyhow::Result<()> {
    static RUN: AtomicU64 = AtomicU64::new(0);
    let id = format!("w{worker}-{n}-{}", RUN.fetch_add(1, Ordering::Relaxed));
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
    scratch
        .js
        .publish_with_headers(format!("{}.{id}", scratch.subject), headers, payload.clone())
        .await?
        .await?;
    let mut batch =
        scratch.consumer.batch().max_messages(1).expires(Duration::from_secs(2)).messages().await?;
    let message =
        batch.next().await.ok_or_else(|| anyhow!("pull returned nothing"))?.map_err(|e| anyhow!(e))?;
    message.ack_with(jetstream::AckKind::Ack).await.map_err(|e| anyhow!(e))?;
    scratch.kv.put(&id, payload.clone()).await?;
    Ok(())
}
