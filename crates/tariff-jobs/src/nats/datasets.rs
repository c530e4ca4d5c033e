//! Uploaded datasets in their own object store: one object per version, named
//! `<id>/<digest>`, with its upload time in the object's metadata.

use std::collections::HashMap;

use async_nats::jetstream::object_store::{DeleteErrorKind, GetErrorKind, ObjectMetadata};
use futures::{StreamExt, TryStreamExt};
use tariff_proto::v1::Job;
use tokio::io::AsyncReadExt;

use super::{NatsBackend, Store, timed};
use crate::{
    JobsError,
    backend::{DatasetStore, StoredDataset},
    record::{self, is_terminal},
};

const UPLOADED_AT: &str = "uploaded_at";

fn object_name(id: &str, digest: &str) -> String {
    format!("{id}/{digest}")
}

impl DatasetStore for NatsBackend {
    async fn put_dataset(
        &self,
        id: &str,
        digest: &str,
        mut bundle: &[u8],
    ) -> Result<StoredDataset, JobsError> {
        self.ready()?;
        let uploaded_at = record::now_rfc3339();
        let meta = ObjectMetadata {
            name: object_name(id, digest),
            metadata: HashMap::from([(UPLOADED_AT.to_owned(), uploaded_at.clone())]),
            ..Default::default()
        };
        // Large bundles take a while: a budget per 16 MiB on top of the usual one.
        let budget = self.config.op_timeout * (4 + u32::try_from(bundle.len() >> 24).unwrap_or(u32::MAX));
        let size = bundle.len() as u64;
        timed(budget, async {
            self.datasets.put(meta, &mut bundle).await.map_err(|e| self.write_error(Store::Datasets, e))
        })
        .await?;
        Ok(StoredDataset { id: id.to_owned(), digest: digest.to_owned(), size, uploaded_at })
    }

    async fn get_dataset(&self, id: &str, digest: &str) -> Result<Option<Vec<u8>>, JobsError> {
        self.ready()?;
        let name = object_name(id, digest);
        let mut object = match timed(self.config.op_timeout, async {
            match self.datasets.get(name.as_str()).await {
                Ok(object) => Ok(Some(object)),
                Err(e) if e.kind() == GetErrorKind::NotFound => Ok(None),
                Err(e) => Err(JobsError::unavailable(e)),
            }
        })
        .await?
        {
            Some(object) => object,
            None => return Ok(None),
        };
        let budget =
            self.config.op_timeout * (4 + u32::try_from(object.info().size >> 24).unwrap_or(u32::MAX));
        let mut bytes = Vec::with_capacity(object.info().size);
        timed(budget, async { object.read_to_end(&mut bytes).await.map_err(JobsError::unavailable) }).await?;
        Ok(Some(bytes))
    }

    async fn list_datasets(&self) -> Result<Vec<StoredDataset>, JobsError> {
        self.ready()?;
        let infos: Vec<_> = timed(self.config.op_timeout * 4, async {
            let list = self.datasets.list().await.map_err(JobsError::unavailable)?;
            list.try_collect::<Vec<_>>().await.map_err(JobsError::unavailable)
        })
        .await?;
        let mut out: Vec<StoredDataset> = infos
            .into_iter()
            .filter(|info| !info.deleted)
            .filter_map(|info| {
                let (id, digest) = info.name.split_once('/')?;
                Some(StoredDataset {
                    id: id.to_owned(),
                    digest: digest.to_owned(),
                    size: info.size as u64,
                    uploaded_at: info.metadata.get(UPLOADED_AT).cloned().unwrap_or_default(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.id, &a.uploaded_at, &a.digest).cmp(&(&b.id, &b.uploaded_at, &b.digest)));
        Ok(out)
    }

    async fn delete_dataset(&self, id: &str, digest: &str) -> Result<bool, JobsError> {
        self.ready()?;
        let name = object_name(id, digest);
        timed(self.config.op_timeout, async {
            match self.datasets.delete(name.as_str()).await {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == DeleteErrorKind::NotFound => Ok(false),
                Err(e) => Err(JobsError::unavailable(e)),
            }
        })
        .await
    }

    async fn unfinished_jobs(&self) -> Result<Vec<Job>, JobsError> {
        self.ready()?;
        let keys: Vec<String> = timed(self.config.op_timeout * 4, async {
            let keys = self.kv.keys().await.map_err(JobsError::unavailable)?;
            keys.try_collect::<Vec<_>>().await.map_err(JobsError::unavailable)
        })
        .await?;
        let mut jobs = Vec::new();
        let mut stream = futures::stream::iter(keys)
            .map(|key| async move { crate::backend::RecordStore::get(self, &key).await })
            .buffer_unordered(16);
        while let Some(stored) = stream.next().await {
            if let Some(stored) = stored?
                && !is_terminal(&stored.job)
            {
                jobs.push(stored.job);
            }
        }
        Ok(jobs)
    }
}
