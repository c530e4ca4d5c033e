//! `tariffctl`: run tariff scenarios locally or on a gateway, follow jobs, and
//! look at reference data.

mod chart;
mod commands;
mod output;
mod progress;
mod tornado;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Command;

/// Tariff scenarios in, impacts out: trade flows, prices, tariff revenue,
/// surplus and welfare, per sector and economy.
#[derive(Debug, Parser)]
#[command(name = "tariffctl", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.execute() {
        Ok(()) => ExitCode::SUCCESS,
        // `tariffctl get ... | head` closing the pipe early is not a failure.
        Err(e) if closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the context chain joined, so scripts and people see the cause.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn closed_pipe(error: &anyhow::Error) -> bool {
    let broken = |io: &std::io::Error| io.kind() == std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(broken)
            // CSV output fails with the writer's error, which holds the I/O one.
            || cause
                .downcast_ref::<csv::Error>()
                .is_some_and(|e| matches!(e.kind(), csv::ErrorKind::Io(io) if broken(io)))
    })
}
