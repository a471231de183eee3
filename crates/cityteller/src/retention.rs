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
    /// no longer kept, in audited batches. Ledger rows are never touched;
    /// audit events go only up to a signed checkpoint.
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
    let (years, days, inactive, months) = (
        config.retention.payment_email_years,
        config.retention.finished_job_days,
        config.retention.inactive_account_years,
        config.retention.audit_event_months,
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
    println!(
        "{} {} resident-account leftover(s) older than 30 days (e-mailed links, save-card visits, never-confirmed accounts)",
        if dry_run { "would delete" } else { "deleted" },
        r.account_leftovers_deleted
    );
    println!(
        "{} the holder's name and address of {} inactive account(s) (no activity for {} year(s))",
        if dry_run { "would remove" } else { "removed" },
        r.accounts_anonymised,
        inactive
    );
    println!(
        "{verb} {} audit event(s) older than {months} month(s), up to a signed checkpoint",
        r.audit_events_removed
    );
    if let Some(why) = &r.audit_events_kept {
        println!("kept older audit events: {why}");
    }
    if !dry_run {
        println!("{} batch(es), each recorded in the audit log", r.batches);
    }
    Ok(ExitCode::SUCCESS)
}
