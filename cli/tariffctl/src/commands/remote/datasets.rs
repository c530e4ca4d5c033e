//! `tariffctl dataset upload|list|delete --remote`: datasets on a gateway.

use std::{io::Write, path::Path};

use anyhow::Context;
use tariff_proto::v1::{self as pb, upload_dataset_request::Part};
use tariff_scenario::dataset::{DatasetBundle, FileSource};

use super::{GatewayArg, block_on, client::Gateway};

/// Bytes per upload message: well under the gateway's 4 MiB request limit.
const PART_BYTES: usize = 1 << 20;

/// The messages of an upload of `path`: a dataset folder (its dataset files)
/// or a `.tar` / `.tar.gz` archive of one. The expected digest is computed
/// here, so the gateway refuses anything that arrives changed.
pub fn upload_parts(
    path: &Path,
    id: Option<&str>,
) -> anyhow::Result<(String, Vec<pb::UploadDatasetRequest>)> {
    let shown = path.display();
    let (bundle, archive) = if path.is_dir() {
        (DatasetBundle::from_dir(path).with_context(|| format!("{shown}"))?, None)
    } else {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {shown}"))?;
        let bundle = DatasetBundle::from_archive(&bytes, u64::MAX).with_context(|| format!("{shown}"))?;
        (bundle, Some(bytes))
    };
    // The id is the one in dataset.toml unless given.
    let id = match id {
        Some(id) => id.to_owned(),
        None => {
            let toml = bundle.read("dataset.toml")?.with_context(|| format!("{shown}: no dataset.toml"))?;
            let table: toml::Table =
                toml::from_str(&toml).with_context(|| format!("{shown}/dataset.toml"))?;
            table
                .get("id")
                .and_then(|v| v.as_str())
                .with_context(|| format!("{shown}/dataset.toml: no id"))?
                .to_owned()
        }
    };
    let mut parts = Vec::new();
    let mut total = 0u64;
    match archive {
        Some(bytes) => {
            total = bytes.len() as u64;
            parts.extend(
                bytes
                    .chunks(PART_BYTES)
                    .map(|c| pb::UploadDatasetRequest { part: Some(Part::Archive(c.to_vec())) }),
            );
        }
        None => {
            for name in bundle.names() {
                let data = bundle.read(name)?.unwrap_or_default().into_bytes();
                total += data.len() as u64;
                // An empty file is still a file: one empty part.
                let chunks: Vec<&[u8]> =
                    if data.is_empty() { vec![&[]] } else { data.chunks(PART_BYTES).collect() };
                parts.extend(chunks.into_iter().map(|c| pb::UploadDatasetRequest {
                    part: Some(Part::File(pb::FilePart { name: name.to_owned(), data: c.to_vec() })),
                }));
            }
        }
    }
    let start = pb::UploadStart { id: id.clone(), expected_digest: bundle.digest(), total_bytes: total };
    parts.insert(0, pb::UploadDatasetRequest { part: Some(Part::Start(start)) });
    Ok((id, parts))
}

/// Uploads and prints `id@digest` (what a scenario can name to pin it).
pub fn upload(gateway: &GatewayArg, path: &Path, id: Option<&str>) -> anyhow::Result<()> {
    let (_, parts) = upload_parts(path, id)?;
    let credentials = gateway.credentials()?;
    block_on(async move {
        let mut client = Gateway::connect(&gateway.address, credentials).await?;
        let info = client.upload_dataset(parts).await?;
        let _ = writeln!(
            std::io::stderr(),
            "uploaded {}: {} economies, {} sectors, {} flow rows, {} input shares",
            info.id,
            info.economies.len(),
            info.sectors.len(),
            info.flow_rows,
            info.input_rows
        );
        writeln!(std::io::stdout().lock(), "{}@{}", info.id, info.digest)?;
        Ok(())
    })
}

/// Prints the datasets a gateway knows, one version a line.
pub fn list(gateway: &GatewayArg) -> anyhow::Result<()> {
    let credentials = gateway.credentials()?;
    block_on(async move {
        let mut client = Gateway::connect(&gateway.address, credentials).await?;
        let listed = client.list_datasets().await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{:<20} {:<73} {:>12} {:<25} latest", "id", "digest", "bytes", "uploaded")?;
        for v in listed.datasets {
            let digest = if v.builtin { "(built in)".to_owned() } else { v.digest };
            let latest = if v.latest { "*" } else { "" };
            writeln!(out, "{:<20} {:<73} {:>12} {:<25} {latest}", v.id, digest, v.size_bytes, v.uploaded_at)?;
        }
        Ok(())
    })
}

/// Deletes `id@digest` (or every version of an id) and prints what went.
pub fn delete(gateway: &GatewayArg, dataset: &str) -> anyhow::Result<()> {
    let credentials = gateway.credentials()?;
    block_on(async move {
        let mut client = Gateway::connect(&gateway.address, credentials).await?;
        let deleted = client.delete_dataset(dataset).await?;
        let mut out = std::io::stdout().lock();
        for v in deleted.deleted {
            writeln!(out, "deleted {}@{}", v.id, v.digest)?;
        }
        Ok(())
    })
}
