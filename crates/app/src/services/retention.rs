//! Keep less, lose less: `cityteller retention run` removes what the city
//! no longer needs to hold, in batches, each batch in its own transaction
//! with its own audit event. Ledger rows are never touched: a payment
//! keeps its amounts, references and postings, and loses only the personal
//! data it carried.
//!
//! Rules (`[retention]` in the config):
//! - the receipt e-mail address of payments older than
//!   `payment_email_years` (at least 2) is removed;
//! - finished background jobs (done or given up) older than
//!   `finished_job_days` are deleted;
//! - accounts with no activity for `inactive_account_years` (no import
//!   touched them or their bills, no payment was made on them) lose the
//!   holder's name and service address, replaced by a sealed marker (and
//!   any changed contact details sent with a licence renewal); the
//!   account, its bills and their postings stay;
//! - resident-account leftovers older than 30 days are deleted: links sent
//!   by e-mail (all long expired), visits to the processor's save-card
//!   page, and accounts whose address was never confirmed;
//! - audit events older than `audit_event_months` (at least 12) are
//!   removed, but only up to the newest signed checkpoint before the
//!   cut-off, and only when the whole chain verifies first: the chain then
//!   resumes from that checkpoint's hash, so `audit verify` still proves
//!   everything kept, and evidence of tampering is never what gets removed.

use serde_json::json;
use sqlx::Row;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::crypto::fields::FieldContext;
use crate::store::StoreError;

const BATCH: i64 = 500;
const DAY_US: i64 = 86_400_000_000;

/// What a run did, or with `dry_run` would do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub emails_removed: u64,
    pub accounts_anonymised: u64,
    pub jobs_deleted: u64,
    /// E-mailed links, save-card visits and never-confirmed accounts.
    pub account_leftovers_deleted: u64,
    pub audit_events_removed: u64,
    /// Why old audit events were kept although due, if they were.
    pub audit_events_kept: Option<String>,
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

const RESIDENT_TOKENS: Rule = Rule {
    action: "retention.delete",
    what: "resident_tokens (e-mailed links)",
    due: "SELECT COUNT(*) AS n FROM resident_tokens WHERE created_at < $1",
    apply: "DELETE FROM resident_tokens WHERE token_hash IN (
        SELECT token_hash FROM resident_tokens WHERE created_at < $1 ORDER BY token_hash LIMIT $2)",
};

const WALLET_SETUPS: Rule = Rule {
    action: "retention.delete",
    what: "wallet_setups (visits to the save-card page)",
    due: "SELECT COUNT(*) AS n FROM wallet_setups WHERE created_at < $1",
    apply: "DELETE FROM wallet_setups WHERE token IN (
        SELECT token FROM wallet_setups WHERE created_at < $1 ORDER BY token LIMIT $2)",
};

/// Never confirmed, so never signed in: nothing hangs off them but links.
const UNCONFIRMED: Rule = Rule {
    action: "retention.delete",
    what: "residents (address never confirmed)",
    // Links and visits older than the cut-off go first (the rules above).
    due: "SELECT COUNT(*) AS n FROM residents r WHERE confirmed_at IS NULL AND created_at < $1
          AND NOT EXISTS (SELECT 1 FROM resident_tokens t
                          WHERE t.resident_id = r.id AND t.created_at >= $1)
          AND NOT EXISTS (SELECT 1 FROM wallet_setups w
                          WHERE w.resident_id = r.id AND w.created_at >= $1)",
    apply: "DELETE FROM residents WHERE id IN (
        SELECT id FROM residents r WHERE confirmed_at IS NULL AND created_at < $1
          AND NOT EXISTS (SELECT 1 FROM resident_tokens t
                          WHERE t.resident_id = r.id AND t.created_at >= $1)
          AND NOT EXISTS (SELECT 1 FROM wallet_setups w
                          WHERE w.resident_id = r.id AND w.created_at >= $1)
        ORDER BY id LIMIT $2)",
};

/// Resident-account leftovers are kept this long.
const LEFTOVER_DAYS: i64 = 30;

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
    let leftover_cutoff = now - LEFTOVER_DAYS * DAY_US;
    for rule in [&RESIDENT_TOKENS, &WALLET_SETUPS, &UNCONFIRMED] {
        let (n, b) = apply(app, actor, rule, leftover_cutoff, dry_run).await?;
        report.account_leftovers_deleted += n;
        report.batches += b;
    }
    let account_cutoff = now - cfg.inactive_account_years * 365 * DAY_US;
    let (n, b) = anonymise_accounts(app, actor, account_cutoff, dry_run).await?;
    report.accounts_anonymised = n;
    report.batches += b;
    let audit_cutoff = now - cfg.audit_event_months * 30 * DAY_US;
    match prune_audit(app, actor, audit_cutoff, dry_run).await? {
        Ok((n, b)) => {
            report.audit_events_removed = n;
            report.batches += b;
        }
        Err(why) => report.audit_events_kept = Some(why),
    }
    Ok(report)
}

/// Audit events removed per transaction, at most (a batch ends at a
/// signed checkpoint, so it may hold more when checkpoints are sparse).
const AUDIT_BATCH: i64 = 10_000;

/// Removes audit events older than `cutoff` up to the newest signed
/// checkpoint before it. `Ok(Err(why))` when due events are kept: no
/// signing key, no signed checkpoint, or a chain that does not verify.
async fn prune_audit(
    app: &App,
    actor: &Actor,
    cutoff: i64,
    dry_run: bool,
) -> Result<Result<(u64, u64), String>, StoreError> {
    let last_due: Option<i64> = sqlx::query("SELECT MAX(seq) AS n FROM audit_events WHERE at < $1")
        .bind(cutoff)
        .fetch_one(app.db.reader())
        .await?
        .try_get("n")?;
    let Some(last_due) = last_due else {
        return Ok(Ok((0, 0)));
    };
    let Some(key) = &app.keys.audit_signing else {
        return Ok(Err(
            "the key file has no audit_signing_key: audit events are removed only up to a signed checkpoint"
                .into(),
        ));
    };
    let dir = &app.config.audit.checkpoint_dir;
    let public = key.verifying_key();
    let files = match crate::audit::checkpoint::load_dir(dir, Some(&public)) {
        Ok(f) => f,
        Err(e) => return Ok(Err(format!("the signed checkpoints cannot be read: {e}"))),
    };
    let already = crate::store::audit::pruned(app.db.reader())
        .await?
        .map_or(0, |(seq, _)| seq);
    // Batch ends: signed checkpoints after what is already gone and no
    // later than the newest event due; at least AUDIT_BATCH apart, and
    // always the last.
    let candidates: Vec<(i64, String)> = files
        .iter()
        .filter(|(_, c)| c.seq > already && c.seq <= last_due)
        .map(|(_, c)| (c.seq, c.hash.clone()))
        .collect();
    let Some(last) = candidates.last().cloned() else {
        return Ok(Err(format!(
            "no signed checkpoint between events {} and {last_due}: audit events are removed only up to one",
            already + 1
        )));
    };
    let mut ends = Vec::new();
    let mut from = already;
    for (seq, hash) in &candidates {
        if seq - from >= AUDIT_BATCH || *seq == last.0 {
            ends.push((*seq, hash.clone()));
            from = *seq;
        }
    }
    if dry_run {
        return Ok(Ok((u64::try_from(last.0 - already).unwrap_or(0), 0)));
    }
    // Never remove the evidence of tampering.
    match crate::audit::verify::verify(&app.db, dir, Some(&public), |_| {}).await {
        Ok(_) => {}
        Err(crate::audit::verify::VerifyError::Store(e)) => return Err(e),
        Err(e) => {
            return Ok(Err(format!(
                "the audit log does not verify ({e}); nothing is removed until that is investigated"
            )));
        }
    }
    let (mut rows, mut batches) = (0u64, 0u64);
    for (seq, hash) in ends {
        let mut tx = app.db.begin().await?;
        let done = crate::store::audit::prune_through(&mut tx, seq, &hash, app.now_us()).await?;
        audit::record(
            &mut tx,
            app.now(),
            Event {
                actor,
                action: "retention.delete",
                target: None,
                outcome: Outcome::Success,
                source_ip: None,
                details: json!({
                    "what": "audit_events",
                    "rows": done,
                    "through_seq": seq,
                    "resumes_from_checkpoint": hash,
                    "older_than_us": cutoff,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        rows += done;
        batches += 1;
    }
    Ok(Ok((rows, batches)))
}

/// What an anonymised account holds instead of a name and an address
/// (sealed like any value, so every reader still opens it).
pub const REMOVED: &str = "(removed by retention)";
/// Marks an anonymised account (its content digest no longer matches any
/// file, so a later import with real data restores it).
pub const ANONYMISED_MAC: &str = "anonymised";

/// Accounts with no activity since `$1` that still hold personal data.
const INACTIVE: &str = "FROM service_accounts a
     WHERE a.updated_at < $1 AND a.content_mac <> 'anonymised'
       AND NOT EXISTS (SELECT 1 FROM receivables r
                       WHERE r.service_account_id = a.id AND r.updated_at >= $1)
       AND NOT EXISTS (SELECT 1 FROM receivables r
                       JOIN payment_items i ON i.receivable_id = r.id
                       JOIN payments p ON p.id = i.payment_id
                       WHERE r.service_account_id = a.id AND p.created_at >= $1)";

async fn anonymise_accounts(
    app: &App,
    actor: &Actor,
    cutoff: i64,
    dry_run: bool,
) -> Result<(u64, u64), StoreError> {
    if dry_run {
        return Ok((
            count_due(app, &format!("SELECT COUNT(*) AS n {INACTIVE}"), cutoff).await?,
            0,
        ));
    }
    let (mut rows, mut batches) = (0u64, 0u64);
    loop {
        let mut tx = app.db.begin().await?;
        let due = sqlx::query(&format!(
            "SELECT a.id, a.department, a.account_number {INACTIVE} ORDER BY a.id LIMIT $2"
        ))
        .bind(cutoff)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if due.is_empty() {
            tx.rollback().await?;
            return Ok((rows, batches));
        }
        let mut done = 0u64;
        for r in &due {
            let id: i64 = r.try_get("id")?;
            let dept: String = r.try_get("department")?;
            let number: String = r.try_get("account_number")?;
            let row = format!("{dept}/{number}");
            let seal = |column: &str| {
                app.keys
                    .fields
                    .seal(
                        REMOVED,
                        &FieldContext {
                            table: "service_accounts",
                            column,
                            row: &row,
                        },
                    )
                    .map_err(|e| StoreError::corrupt(format!("cannot seal: {e}")))
            };
            done += sqlx::query(
                "UPDATE service_accounts SET holder_name_enc = $1, service_address_enc = $2,
                 content_mac = $3 WHERE id = $4 AND content_mac <> $3",
            )
            .bind(seal("holder_name")?)
            .bind(seal("service_address")?)
            .bind(ANONYMISED_MAC)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // And what a licence holder told us of changed contact details.
            sqlx::query(
                "UPDATE licence_renewals SET contact_changes_enc = NULL
                 WHERE contact_changes_enc IS NOT NULL
                   AND licence_id IN (SELECT id FROM licences WHERE service_account_id = $1)",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        record_batch(
            &mut tx,
            app,
            actor,
            (
                "retention.anonymise",
                "service_accounts.holder_name_enc, service_address_enc",
            ),
            done,
            cutoff,
        )
        .await?;
        tx.commit().await?;
        rows += done;
        batches += 1;
    }
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
        return Ok((count_due(app, rule.due, cutoff).await?, 0));
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
        record_batch(&mut tx, app, actor, (rule.action, rule.what), done, cutoff).await?;
        tx.commit().await?;
        rows += done;
        batches += 1;
    }
}

/// How many rows `sql` (a `COUNT(*) AS n` with `$1` the cut-off) finds due.
async fn count_due(app: &App, sql: &str, cutoff: i64) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query(sql)
        .bind(cutoff)
        .fetch_one(app.db.reader())
        .await?
        .try_get("n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// One audit event per batch, in the batch's transaction.
async fn record_batch(
    tx: &mut crate::store::Tx,
    app: &App,
    actor: &Actor,
    (action, what): (&'static str, &'static str),
    rows: u64,
    cutoff: i64,
) -> Result<(), StoreError> {
    audit::record(
        tx,
        app.now(),
        Event {
            actor,
            action,
            target: None,
            outcome: Outcome::Success,
            source_ip: None,
            details: json!({ "what": what, "rows": rows, "older_than_us": cutoff }),
        },
    )
    .await?;
    Ok(())
}
