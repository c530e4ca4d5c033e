//! `tariffctl dataset`: datasets as files and on a gateway.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::remote::{GatewayArg, datasets};

mod bar;
mod check;
mod import;
mod synth;

/// How `dataset check` and `dataset synth` print their summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DatasetArgs {
    #[command(subcommand)]
    command: DatasetCommand,
}

#[derive(Debug, Subcommand)]
enum DatasetCommand {
    /// Upload a dataset folder (or a .tar / .tar.gz of one) to a gateway; prints `id@digest`.
    Upload(UploadArgs),
    /// List the datasets a gateway has: built in, and every uploaded version.
    List(ListArgs),
    /// Delete an uploaded version (`id@digest`), or every version of an id, from a gateway.
    Delete(DeleteArgs),
    /// Import published trade and tariff files (BACI, Comtrade, WITS) through a concordance into a dataset folder.
    Import(Box<import::ImportArgs>),
    /// Write a synthetic gravity-shaped dataset (deterministic by seed) of any size.
    Synth(synth::SynthArgs),
    /// Load a dataset folder with the loader and summarise it; non-zero exit with the loader's error.
    Check(check::CheckArgs),
}

#[derive(Debug, Args)]
struct UploadArgs {
    /// The dataset folder, or an archive of it.
    path: PathBuf,
    /// The id to upload under (default: the id in dataset.toml, which must match anyway).
    #[arg(long)]
    id: Option<String>,
    #[command(flatten)]
    gateway: GatewayArg,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    gateway: GatewayArg,
}

#[derive(Debug, Args)]
struct DeleteArgs {
    /// `id@sha256:<hex>`, or an id for all its versions.
    dataset: String,
    #[command(flatten)]
    gateway: GatewayArg,
}

pub fn run(args: DatasetArgs) -> anyhow::Result<()> {
    match args.command {
        DatasetCommand::Upload(a) => datasets::upload(&a.gateway, &a.path, a.id.as_deref()),
        DatasetCommand::List(a) => datasets::list(&a.gateway),
        DatasetCommand::Delete(a) => datasets::delete(&a.gateway, &a.dataset),
        DatasetCommand::Import(a) => import::run(*a),
        DatasetCommand::Synth(a) => synth::run(a),
        DatasetCommand::Check(a) => check::run(a),
    }
}
