//! Keep less, lose less: `cityteller retention run` removes what the city
//! no longer needs to hold, in batches, each batch in its own transaction
//! with its own audit event. Ledger rows and audit events are never
//! touched: a payment keeps its amounts, references and postings, and
//! loses only the personal data it carried.
//!
//! Rules (`[retention]` in the config):
//! - the receipt e-mail address of payments older than
//!   `payment_email_years` (at least 2) is removed;
//! - finished background jobs (done or given up) older than
//!   `finished_job_days` are deleted.

use serde_json::json;
use sqlx::Row;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::store::StoreError;

const BATCH: i64 = 500;
const DAY_US: i64 = 86_400_000_000;

/// What a run did, or with `dry_run` would do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub emails_removed: u64,
    pub jobs_deleted: u64,
    pub batches: u64,
}

struct Rule {
    action: &'static str,
    what: &'static str,
    /// Rows due, with `$1` the cut-off.
    due: &'static str,
    /// Applies the rule to at most `$2` rows due at `$1`.
    apply: &'static str,
}

const EMAILS: Rule = Rule {
    action: "retention.anonymise",
    what: "payments.receipt_email_enc",
    due: "SELECT COUNT(*) AS n FROM payments WHERE receipt_email_enc IS NOT NULL AND created_at < $1",
    apply: "UPDATE payments SET receipt_email_enc = NULL WHERE id IN (
        SELECT id FROM payments WHERE receipt_email_enc IS NOT NULL AND created_at < $1 ORDER BY id LIMIT $2)",
};

const JOBS: Rule = Rule {
    action: "retention.delete",
    what: "jobs (finished)",
    due: "SELECT COUNT(*) AS n FROM jobs WHERE status IN ('done', 'dead') AND finished_at < $1",
    apply: "DELETE FROM jobs WHERE id IN (
        SELECT id FROM jobs WHERE status IN ('done', 'dead') AND finished_at < $1 ORDER BY id LIMIT $2)",
};

pub async fn run(app: &App, actor: &Actor, dry_run: bool) -> Result<Report, StoreError> {
    let cfg = &app.config.retention;
    let now = app.now_us();
    let email_cutoff = now - cfg.payment_email_years * 365 * DAY_US;
    let job_cutoff = now - cfg.finished_job_days * DAY_US;
    let mut report = Report::default();
    let (n, b) = apply(app, actor, &EMAILS, email_cutoff, dry_run).await?;
    report.emails_removed = n;
    report.batches += b;
    let (n, b) = apply(app, actor, &JOBS, job_cutoff, dry_run).await?;
    report.jobs_deleted = n;
    report.batches += b;
    Ok(report)
}

/// Returns (rows, batches).
async fn apply(
    app: &App,
    actor: &Actor,
    rule: &Rule,
    cutoff: i64,
    dry_run: bool,
) -> Result<(u64, u64), StoreError> {
    if dry_run {
        let n: i64 = sqlx::query(rule.due)
            .bind(cutoff)
            .fetch_one(app.db.reader())
            .await?
            .try_get("n")?;
        return Ok((u64::try_from(n).unwrap_or(0), 0));
    }
    let (mut rows, mut batches) = (0u64, 0u64);
    loop {
        let mut tx = app.db.begin().await?;
        let done = sqlx::query(rule.apply)
            .bind(cutoff)
            .bind(BATCH)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if done == 0 {
            tx.rollback().await?;
            return Ok((rows, batches));
        }
        audit::record(
            &mut tx,
            app.now(),
            Event {
                actor,
                action: rule.action,
                target: None,
                outcome: Outcome::Success,
                source_ip: None,
                details: json!({
                    "what": rule.what,
                    "rows": done,
                    "older_than_us": cutoff,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        rows += done;
        batches += 1;
    }
}
