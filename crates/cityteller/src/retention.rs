//! `cityteller retention run`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use app::App;
use app::audit::Actor;
use app::clock::SystemClock;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum RetentionCommand {
    /// Remove what the retention rules ([retention] in the config) say is
    /// no longer kept, in audited batches. Ledger rows and audit events are
    /// never touched.
    Run {
        /// Only count what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn run(config: Option<&Path>, cmd: RetentionCommand) -> Result<ExitCode> {
    let RetentionCommand::Run { dry_run } = cmd;
    let config = match crate::load_config(config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let (years, days) = (
        config.retention.payment_email_years,
        config.retention.finished_job_days,
    );
    let app = App::from_config(config, Arc::new(SystemClock)).await?;
    let r = app::services::retention::run(&app, &Actor::cli(), dry_run).await?;
    let verb = if dry_run { "would remove" } else { "removed" };
    println!(
        "{verb} the receipt e-mail address of {} payment(s) older than {years} year(s)",
        r.emails_removed
    );
    println!(
        "{} {} finished background job(s) older than {days} day(s)",
        if dry_run { "would delete" } else { "deleted" },
        r.jobs_deleted
    );
    if !dry_run {
        println!("{} batch(es), each recorded in the audit log", r.batches);
    }
    Ok(ExitCode::SUCCESS)
}
