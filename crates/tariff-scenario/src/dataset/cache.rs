//! Loaded uploaded datasets kept in memory, bounded, least recently used
//! first out; and the names scenarios give datasets (`id`, `id@digest`).

use std::{
    ops::Deref,
    sync::{Arc, Mutex},
};

use super::{BundleError, Dataset, DatasetBundle, DatasetError, DatasetLimits, builtin, valid_digest};

/// A dataset as a scenario names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetName {
    pub id: String,
    /// The version, `sha256:<hex>`; `None` for the latest (or a built-in id).
    pub digest: Option<String>,
}

impl DatasetName {
    /// Reads `id` or `id@sha256:<hex>`.
    ///
    /// # Errors
    /// An empty id or a malformed digest, as a reason for the `dataset` field.
    pub fn parse(text: &str) -> Result<DatasetName, String> {
        let (id, digest) = match text.split_once('@') {
            Some((id, digest)) => (id, Some(digest)),
            None => (text, None),
        };
        if id.is_empty() || !super::load::valid_code(id) {
            return Err(format!("`{text}`: a dataset id is letters, digits, `_`, `-` or `.`"));
        }
        if let Some(d) = digest
            && !valid_digest(d)
        {
            return Err(format!(
                "`{text}`: the version after `@` must be `sha256:` and 64 lowercase hex digits"
            ));
        }
        Ok(DatasetName { id: id.to_owned(), digest: digest.map(str::to_owned) })
    }

    /// `id@digest`, or the id alone.
    pub fn pinned(id: &str, digest: &str) -> String {
        if digest.is_empty() { id.to_owned() } else { format!("{id}@{digest}") }
    }
}

/// A dataset to compute on: built in, or an uploaded version held by the cache.
#[derive(Debug, Clone)]
pub enum DatasetHandle {
    Builtin(&'static Dataset),
    Uploaded { dataset: Arc<Dataset>, digest: String },
}

impl DatasetHandle {
    /// The digest of an uploaded version; empty for a built-in dataset.
    pub fn digest(&self) -> &str {
        match self {
            DatasetHandle::Builtin(_) => "",
            DatasetHandle::Uploaded { digest, .. } => digest,
        }
    }

    /// What a job pins: the built-in id, or `id@digest`.
    pub fn pinned_name(&self) -> String {
        DatasetName::pinned(&self.id, self.digest())
    }
}

impl Deref for DatasetHandle {
    type Target = Dataset;

    fn deref(&self) -> &Dataset {
        match self {
            DatasetHandle::Builtin(d) => d,
            DatasetHandle::Uploaded { dataset, .. } => dataset,
        }
    }
}

/// Why an uploaded bundle did not become a dataset.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
}

/// Decodes a stored bundle and loads its dataset.
///
/// # Errors
/// A corrupt bundle, or files the loader refuses.
pub fn load_bundle(bytes: &[u8], limits: &DatasetLimits) -> Result<Dataset, LoadError> {
    let bundle = DatasetBundle::decode(bytes)?;
    Ok(Dataset::load_with_limits(&bundle, limits)?)
}

/// Loaded datasets by digest, up to a memory budget (estimated from the size
/// of their bundles, which the loaded form is close to); the least recently
/// used leave first. A dataset larger than the budget is loaded and used but
/// not kept.
#[derive(Debug)]
pub struct DatasetCache {
    budget: u64,
    /// Most recently used last: (digest, dataset, estimated bytes).
    entries: Mutex<Vec<(String, Arc<Dataset>, u64)>>,
    /// Held while a dataset is fetched and loaded: jobs (or chunks of one)
    /// that need a dataset at once load it once, and two large loads never
    /// hold memory side by side.
    loading: Mutex<()>,
}

impl DatasetCache {
    pub fn new(budget_bytes: u64) -> DatasetCache {
        DatasetCache { budget: budget_bytes, entries: Mutex::new(Vec::new()), loading: Mutex::new(()) }
    }

    /// The cached dataset of `digest`, now the most recently used.
    pub fn get(&self, digest: &str) -> Option<Arc<Dataset>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let i = entries.iter().position(|(d, _, _)| d == digest)?;
        let entry = entries.remove(i);
        let dataset = Arc::clone(&entry.1);
        entries.push(entry);
        Some(dataset)
    }

    /// Keeps a loaded dataset, evicting the least recently used to stay within the budget.
    pub fn insert(&self, digest: &str, dataset: Arc<Dataset>, bytes: u64) {
        if bytes > self.budget {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(d, _, _)| d != digest);
        entries.push((digest.to_owned(), dataset, bytes));
        let mut total: u64 = entries.iter().map(|e| e.2).sum();
        while total > self.budget && !entries.is_empty() {
            let (_, _, b) = entries.remove(0);
            total -= b;
        }
    }

    /// The digests held, least recently used first.
    pub fn digests(&self) -> Vec<String> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|e| e.0.clone()).collect()
    }

    /// The cached dataset of `digest`, or `fetch`ed bundle bytes loaded and kept.
    ///
    /// # Errors
    /// What `fetch` gives (wrapped by `from_load` for load failures).
    pub fn get_or_load<E>(
        &self,
        digest: &str,
        limits: &DatasetLimits,
        fetch: impl FnOnce() -> Result<Vec<u8>, E>,
        from_load: impl FnOnce(LoadError) -> E,
    ) -> Result<Arc<Dataset>, E> {
        if let Some(found) = self.get(digest) {
            return Ok(found);
        }
        let _loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        // Loaded by whoever held the lock before.
        if let Some(found) = self.get(digest) {
            return Ok(found);
        }
        let bytes = fetch()?;
        let size = bytes.len() as u64;
        let dataset = Arc::new(load_bundle(&bytes, limits).map_err(from_load)?);
        drop(bytes);
        self.insert(digest, Arc::clone(&dataset), size);
        Ok(dataset)
    }
}

/// The built-in dataset of an id, if it is one.
pub fn builtin_handle(id: &str) -> Option<Result<DatasetHandle, DatasetError>> {
    builtin(id).map(|found| found.map(DatasetHandle::Builtin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_refuse() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(DatasetName::parse("x").unwrap(), DatasetName { id: "x".into(), digest: None });
        assert_eq!(DatasetName::parse(&format!("x@{d}")).unwrap().digest.as_deref(), Some(d.as_str()));
        assert!(DatasetName::parse("x@sha256:zz").unwrap_err().contains("64 lowercase hex"));
        assert!(DatasetName::parse("@").is_err());
        assert!(DatasetName::parse("a b").is_err());
    }

    #[test]
    fn least_recently_used_leave_first() {
        let Some(Ok(builtin)) = builtin("jpus-2023") else { panic!("built-in dataset") };
        let cache = DatasetCache::new(10);
        let d = || Arc::new(builtin.clone());
        cache.insert("a", d(), 4);
        cache.insert("b", d(), 4);
        assert!(cache.get("a").is_some());
        cache.insert("c", d(), 4);
        assert_eq!(cache.digests(), ["a", "c"]);
        cache.insert("huge", d(), 11);
        assert_eq!(cache.digests(), ["a", "c"]);
    }
}
