//! Datasets as service resources: uploads (validated whole, stored under their
//! content digest), the list, deletion, and the dataset a scenario names.

use std::sync::Arc;

use futures::StreamExt;
use tariff_jobs::{DatasetStore, StoredDataset};
use tariff_proto::v1::{self as pb, upload_dataset_request::Part};
use tariff_scenario::dataset::{
    BUILTIN_DATASETS, DEFAULT_DATASET, DatasetBundle, DatasetCache, DatasetHandle, DatasetLimits,
    DatasetName, builtin_handle, digest_of, load_bundle,
};
use tonic::{Status, Streaming};

use crate::status;

/// How large an upload may be.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// Bytes of files (or of the archive) in one upload.
    pub max_bytes: u64,
    /// Memory for loaded uploaded datasets kept between calls.
    pub cache_bytes: u64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits { max_bytes: 1 << 30, cache_bytes: 1 << 30 }
    }
}

/// The gateway's view of the datasets: built in, and uploaded to `store`.
#[derive(Debug, Clone)]
pub struct Datasets<S> {
    store: S,
    cache: Arc<DatasetCache>,
    limits: UploadLimits,
    dataset_limits: DatasetLimits,
}

fn dataset_field(reason: impl Into<String>) -> Status {
    status::invalid_field("dataset", reason)
}

impl<S: DatasetStore> Datasets<S> {
    pub fn new(store: S, limits: UploadLimits) -> Datasets<S> {
        Datasets {
            store,
            cache: Arc::new(DatasetCache::new(limits.cache_bytes)),
            limits,
            dataset_limits: DatasetLimits::default(),
        }
    }

    /// The dataset `named` names (empty: the default): a built-in id, an
    /// uploaded id (its latest version), or `id@digest`.
    pub async fn resolve(&self, named: &str) -> Result<DatasetHandle, Status> {
        let named = if named.is_empty() { DEFAULT_DATASET } else { named };
        let name = DatasetName::parse(named).map_err(dataset_field)?;
        if let Some(found) = builtin_handle(&name.id) {
            if name.digest.is_some() {
                return Err(dataset_field(format!("`{}` is built in and has no versions", name.id)));
            }
            return found.map_err(|e| Status::internal(format!("built-in dataset {named} unusable: {e}")));
        }
        let digest = match name.digest {
            Some(digest) => digest,
            None => self.latest(&name.id).await?.map(|v| v.digest).ok_or_else(|| {
                dataset_field(format!(
                    "unknown dataset `{named}` (built in: {}; upload one with UploadDataset)",
                    BUILTIN_DATASETS.join(", ")
                ))
            })?,
        };
        if let Some(dataset) = self.cache.get(&digest) {
            return Ok(DatasetHandle::Uploaded { dataset, digest });
        }
        let bytes = self
            .store
            .get_dataset(&name.id, &digest)
            .await
            .map_err(status::from_jobs)?
            .ok_or_else(|| dataset_field(format!("no version {digest} of dataset `{}`", name.id)))?;
        let (cache, limits, key) = (Arc::clone(&self.cache), self.dataset_limits, digest.clone());
        let dataset = tokio::task::spawn_blocking(move || {
            cache.get_or_load(
                &key,
                &limits,
                || Ok(bytes),
                |e| Status::internal(format!("stored dataset does not load: {e}")),
            )
        })
        .await
        .map_err(|e| Status::internal(format!("loading the dataset stopped: {e}")))??;
        Ok(DatasetHandle::Uploaded { dataset, digest })
    }

    /// The latest uploaded version of an id.
    async fn latest(&self, id: &str) -> Result<Option<StoredDataset>, Status> {
        let all = self.store.list_datasets().await.map_err(status::from_jobs)?;
        Ok(all.into_iter().rfind(|v| v.id == id))
    }

    /// `GetDataset`.
    pub async fn info(&self, named: &str) -> Result<pb::DatasetInfo, Status> {
        let handle = self.resolve(named).await?;
        let mut info = handle.info_proto();
        info.digest = handle.digest().to_owned();
        Ok(info)
    }

    /// `UploadDataset`: reads every part, checks sizes, builds the bundle,
    /// validates it with the loader, compares digests, and only then stores it.
    pub async fn upload(
        &self,
        mut parts: Streaming<pb::UploadDatasetRequest>,
    ) -> Result<pb::DatasetInfo, Status> {
        let first =
            parts.next().await.ok_or_else(|| status::invalid_field("start", "the upload is empty"))??;
        let Some(Part::Start(start)) = first.part else {
            return Err(status::invalid_field("start", "the first message must be `start`"));
        };
        let name = DatasetName::parse(&start.id).map_err(|r| status::invalid_field("start.id", r))?;
        if name.digest.is_some() {
            return Err(status::invalid_field(
                "start.id",
                "an id, without `@digest` (the digest is computed)",
            ));
        }
        if BUILTIN_DATASETS.contains(&name.id.as_str()) {
            return Err(status::invalid_field("start.id", format!("`{}` is a built-in dataset", name.id)));
        }
        if start.total_bytes > self.limits.max_bytes {
            return Err(too_large(self.limits.max_bytes));
        }
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut archive: Vec<u8> = Vec::new();
        let mut received = 0u64;
        while let Some(message) = parts.next().await {
            let message = message?;
            let size = match &message.part {
                Some(Part::File(f)) => f.data.len(),
                Some(Part::Archive(a)) => a.len(),
                _ => 0,
            };
            received = received.saturating_add(size as u64);
            if received > self.limits.max_bytes {
                return Err(too_large(self.limits.max_bytes));
            }
            match message.part {
                Some(Part::File(part)) => match files.last_mut() {
                    Some((last, data)) if *last == part.name => data.extend_from_slice(&part.data),
                    _ => {
                        if files.iter().any(|(n, _)| *n == part.name) {
                            return Err(status::invalid_field(
                                "file.name",
                                format!("`{}` was sent before; a file's parts come together", part.name),
                            ));
                        }
                        files.push((part.name, part.data));
                    }
                },
                Some(Part::Archive(bytes)) => archive.extend_from_slice(&bytes),
                Some(Part::Start(_)) => return Err(status::invalid_field("start", "sent twice")),
                None => return Err(status::invalid_field("part", "empty message")),
            }
        }
        if start.total_bytes > 0 && received != start.total_bytes {
            return Err(status::invalid_field(
                "start.total_bytes",
                format!(
                    "{} bytes announced, {received} received: the upload is incomplete",
                    start.total_bytes
                ),
            ));
        }
        if !files.is_empty() && !archive.is_empty() {
            return Err(status::invalid_field("archive", "send files or one archive, not both"));
        }
        let (limits, dataset_limits, id) = (self.limits, self.dataset_limits, name.id.clone());
        let checked = tokio::task::spawn_blocking(move || -> Result<_, Status> {
            let bundle = if archive.is_empty() {
                let mut bundle = DatasetBundle::default();
                for (name, data) in files {
                    bundle
                        .insert(&name, data)
                        .map_err(|e| status::invalid_field("file.name", e.to_string()))?;
                }
                bundle
            } else {
                DatasetBundle::from_archive(&archive, limits.max_bytes)
                    .map_err(|e| status::invalid_field("archive", e.to_string()))?
            };
            let encoded = bundle.encode();
            let digest = digest_of(&encoded);
            let dataset = load_bundle(&encoded, &dataset_limits)
                .map_err(|e| status::invalid_field("file", e.to_string()))?;
            if dataset.id != id {
                return Err(status::invalid_field(
                    "start.id",
                    format!("`{id}` but dataset.toml says id = \"{}\"", dataset.id),
                ));
            }
            Ok((encoded, digest, dataset))
        })
        .await
        .map_err(|e| Status::internal(format!("validating the upload stopped: {e}")))??;
        let (encoded, digest, dataset) = checked;
        if !start.expected_digest.is_empty() && start.expected_digest != digest {
            return Err(status::invalid_field(
                "start.expected_digest",
                format!("{} expected, the files received have {digest}", start.expected_digest),
            ));
        }
        self.store.put_dataset(&name.id, &digest, &encoded).await.map_err(status::from_jobs)?;
        tracing::info!(dataset = %name.id, %digest, bytes = encoded.len(), "dataset uploaded");
        let dataset = Arc::new(dataset);
        self.cache.insert(&digest, Arc::clone(&dataset), encoded.len() as u64);
        let mut info = dataset.info_proto();
        info.digest = digest;
        Ok(info)
    }

    /// `ListDatasets`: the built-in ones, then every uploaded version.
    pub async fn list(&self) -> Result<pb::ListDatasetsResponse, Status> {
        let mut datasets: Vec<pb::DatasetVersion> = BUILTIN_DATASETS
            .iter()
            .map(|id| pb::DatasetVersion {
                id: (*id).to_owned(),
                builtin: true,
                latest: true,
                ..Default::default()
            })
            .collect();
        let uploaded = self.store.list_datasets().await.map_err(status::from_jobs)?;
        for (i, v) in uploaded.iter().enumerate() {
            let latest = uploaded.get(i + 1).is_none_or(|next| next.id != v.id);
            datasets.push(version(v, latest));
        }
        Ok(pb::ListDatasetsResponse { datasets })
    }

    /// `DeleteDataset`: refused while a job not yet ended uses a version.
    pub async fn delete(&self, named: &str) -> Result<pb::DeleteDatasetResponse, Status> {
        let name = DatasetName::parse(named).map_err(dataset_field)?;
        if BUILTIN_DATASETS.contains(&name.id.as_str()) {
            return Err(dataset_field(format!("`{}` is built in and cannot be deleted", name.id)));
        }
        let all = self.store.list_datasets().await.map_err(status::from_jobs)?;
        let doomed: Vec<&StoredDataset> = all
            .iter()
            .filter(|v| v.id == name.id && name.digest.as_ref().is_none_or(|d| *d == v.digest))
            .collect();
        if doomed.is_empty() {
            return Err(Status::not_found(format!("no uploaded dataset `{named}`")));
        }
        let jobs = self.store.unfinished_jobs().await.map_err(status::from_jobs)?;
        for v in &doomed {
            let pinned = DatasetName::pinned(&v.id, &v.digest);
            if let Some(job) = jobs.iter().find(|j| j.dataset == pinned) {
                return Err(Status::failed_precondition(format!(
                    "dataset {pinned} is in use by job {} (not yet ended): delete it once that job ends",
                    job.job_id
                )));
            }
        }
        let mut deleted = Vec::new();
        for v in doomed {
            if self.store.delete_dataset(&v.id, &v.digest).await.map_err(status::from_jobs)? {
                tracing::info!(dataset = %v.id, digest = %v.digest, "dataset deleted");
                deleted.push(version(v, false));
            }
        }
        Ok(pb::DeleteDatasetResponse { deleted })
    }
}

fn version(v: &StoredDataset, latest: bool) -> pb::DatasetVersion {
    pb::DatasetVersion {
        id: v.id.clone(),
        digest: v.digest.clone(),
        size_bytes: v.size,
        uploaded_at: v.uploaded_at.clone(),
        latest,
        builtin: false,
    }
}

fn too_large(limit: u64) -> Status {
    Status::resource_exhausted(format!(
        "the upload is larger than {limit} bytes (the gateway's --max-upload-mb); nothing was stored"
    ))
}
