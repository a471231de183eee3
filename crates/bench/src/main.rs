//! Benchmark tools for cityteller, driven by `bench/run.sh`:
//!
//! - `prep` puts payments waiting for their processor outcome into a
//!   database, as residents leaving for the card page would;
//! - `load` drives a running server (bill pages, signed webhooks, the
//!   baseline's inserts, a sign-in flood) and prints one JSON line of
//!   figures per scenario;
//! - `baseline` serves the durable-insert baseline: one plain INSERT per
//!   request in its own fsynced transaction, on the same framework and
//!   database settings as cityteller;
//! - `weight` adds up what a browser downloads for the payment pages;
//! - `receivables`, `audit-events` and `sha-chain` write the generated
//!   data and measure the audit verification baseline.

mod baseline;
mod data;
mod load;
mod prep;
mod weight;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cityteller-bench", about = "Benchmark tools for cityteller")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create payments waiting for their outcome, and write what their
    /// webhooks need (processor reference and total) to a file.
    Prep {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        payments: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Drive a running server and print the figures as one JSON line.
    Load(load::Args),
    /// Serve the durable-insert baseline.
    Baseline {
        /// `sqlite://…` or `postgres://…`.
        #[arg(long)]
        database: String,
        #[arg(long)]
        listen: std::net::SocketAddr,
    },
    /// What a browser downloads for the bill and review pages.
    Weight {
        /// The resident site, e.g. http://127.0.0.1:8080
        #[arg(long)]
        base: String,
        #[arg(long)]
        account: String,
        #[arg(long)]
        zip: String,
    },
    /// Write N open utility bills as a receivables CSV (and FILE.accounts
    /// with `account_number,zip` per line).
    Receivables { file: PathBuf, n: usize },
    /// Append N chained audit events to a migrated SQLite database, and
    /// their canonical bytes to DB.raw.
    AuditEvents { db: PathBuf, n: u64 },
    /// The audit verification baseline: a plain SHA-256 chain over the
    /// records of a DB.raw file.
    ShaChain { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cityteller-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Prep {
                config,
                payments,
                out,
            } => prep::run(&config, payments, &out).await,
            Command::Load(args) => load::run(args).await,
            Command::Baseline { database, listen } => baseline::run(&database, listen).await,
            Command::Weight { base, account, zip } => weight::run(&base, &account, &zip).await,
            // Plain file and SQLite work, on this thread.
            Command::Receivables { file, n } => data::receivables(&file, n),
            Command::AuditEvents { db, n } => data::audit_events(&db, n),
            Command::ShaChain { file } => data::sha_chain(&file),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cityteller-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
