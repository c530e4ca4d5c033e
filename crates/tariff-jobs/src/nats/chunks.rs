//! Chunk results in the object store, next to large results: chunks of a
//! job's draws are several hundred kilobytes each, past what a record holds.

use async_nats::jetstream::object_store::{DeleteErrorKind, GetErrorKind, InfoErrorKind};
use tokio::io::AsyncReadExt;

use super::{NatsBackend, Store, timed};
use crate::{JobsError, backend::ChunkStore};

fn object_name(job_id: &str, index: u32) -> String {
    format!("{job_id}.chunk.{index}")
}

impl ChunkStore for NatsBackend {
    async fn put_chunk(&self, job_id: &str, index: u32, mut data: &[u8]) -> Result<(), JobsError> {
        self.ready()?;
        let name = object_name(job_id, index);
        timed(self.config.op_timeout * 4, async {
            self.objects.put(name.as_str(), &mut data).await.map_err(|e| self.write_error(Store::Results, e))
        })
        .await?;
        Ok(())
    }

    async fn get_chunk(&self, job_id: &str, index: u32) -> Result<Option<Vec<u8>>, JobsError> {
        self.ready()?;
        let name = object_name(job_id, index);
        timed(self.config.op_timeout * 4, async {
            let mut object = match self.objects.get(name.as_str()).await {
                Ok(object) => object,
                Err(e) if e.kind() == GetErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(JobsError::unavailable(e)),
            };
            let mut bytes = Vec::new();
            object.read_to_end(&mut bytes).await.map_err(JobsError::unavailable)?;
            Ok(Some(bytes))
        })
        .await
    }

    async fn has_chunk(&self, job_id: &str, index: u32) -> Result<bool, JobsError> {
        self.ready()?;
        let name = object_name(job_id, index);
        timed(self.config.op_timeout, async {
            match self.objects.info(name.as_str()).await {
                Ok(info) => Ok(!info.deleted),
                Err(e) if e.kind() == InfoErrorKind::NotFound => Ok(false),
                Err(e) => Err(JobsError::unavailable(e)),
            }
        })
        .await
    }

    async fn delete_chunks(&self, job_id: &str, count: u32) -> Result<(), JobsError> {
        self.ready()?;
        for index in 0..count {
            let name = object_name(job_id, index);
            timed(self.config.op_timeout, async {
                match self.objects.delete(name.as_str()).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == DeleteErrorKind::NotFound => Ok(()),
                    Err(e) => Err(JobsError::unavailable(e)),
                }
            })
            .await?;
        }
        Ok(())
    }
}
