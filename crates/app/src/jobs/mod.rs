//! Background work from the database queue: receipt e-mails and status
//! checks for payments whose webhook has not arrived, refunds, scheduled
//! backups. Also a periodic sweep (expired unopened payments, old sessions,
//! queueing the next backup).
//!
//! Handlers are idempotent: a job may run again after a crash.

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use crate::app::App;
use crate::services::{payments, receipts};
use crate::store::jobs::{JobRow, NewJob};
use crate::store::{self, StoreError, Tx};

const MINUTE_US: i64 = 60 * 1_000_000;

#[derive(Serialize, Deserialize)]
struct PaymentJob {
    payment_id: String,
}

/// Queues the receipt e-mail, once per payment.
pub async fn enqueue_receipt(tx: &mut Tx, app: &App, payment_id: &str) -> Result<(), StoreError> {
    let payload = json!({ "payment_id": payment_id }).to_string();
    store::jobs::enqueue(
        tx,
        &NewJob {
            kind: "send_receipt",
            payload: &payload,
            dedupe_key: Some(&format!("receipt:{payment_id}")),
            run_at: app.now_us(),
            max_attempts: 12,
        },
        app.now_us(),
    )
    .await?;
    Ok(())
}

/// Queues the receipt e-mail once more (staff asked to resend it).
pub async fn enqueue_receipt_again(
    tx: &mut Tx,
    app: &App,
    payment_id: &str,
) -> Result<(), StoreError> {
    let payload = json!({ "payment_id": payment_id }).to_string();
    store::jobs::enqueue(
        tx,
        &NewJob {
            kind: "send_receipt",
            payload: &payload,
            dedupe_key: Some(&format!("receipt:{payment_id}:again:{}", app.now_us())),
            run_at: app.now_us(),
            max_attempts: 12,
        },
        app.now_us(),
    )
    .await?;
    Ok(())
}

/// Queues a status check for a pending payment, in case its webhook never
/// arrives.
pub async fn schedule_status_check(
    tx: &mut Tx,
    app: &App,
    payment_id: &str,
    after_minutes: i64,
) -> Result<(), StoreError> {
    let payload = json!({ "payment_id": payment_id }).to_string();
    store::jobs::enqueue(
        tx,
        &NewJob {
            kind: "check_payment",
            payload: &payload,
            dedupe_key: Some(&format!("check:{payment_id}")),
            run_at: app.now_us() + after_minutes * MINUTE_US,
            max_attempts: 200,
        },
        app.now_us(),
    )
    .await?;
    Ok(())
}

/// Retries sending an approved refund to the processor.
pub async fn enqueue_refund(tx: &mut Tx, app: &App, refund_id: &str) -> Result<(), StoreError> {
    let payload = json!({ "refund_id": refund_id }).to_string();
    store::jobs::enqueue(
        tx,
        &NewJob {
            kind: "execute_refund",
            payload: &payload,
            dedupe_key: Some(&format!("refund:{refund_id}")),
            run_at: app.now_us() + MINUTE_US / 2,
            max_attempts: 50,
        },
        app.now_us(),
    )
    .await?;
    Ok(())
}

enum JobOutcome {
    Done,
    RetryAt(i64, Option<String>),
}

/// Runs queued jobs until `shutdown` turns true.
pub async fn run_worker(app: App, mut shutdown: watch::Receiver<bool>) {
    let mut next_sweep = 0i64;
    let mut next_monitor = 0i64;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = app.now_us();
        if now >= next_sweep {
            sweep(&app).await;
            next_sweep = now + MINUTE_US;
        }
        let every = app.config.monitor.interval_minutes;
        if every > 0 && now >= next_monitor {
            crate::monitor::scheduled(&app).await;
            next_monitor = now + every * MINUTE_US;
        }
        let worked = match run_one(&app).await {
            Ok(worked) => worked,
            Err(e) => {
                tracing::error!(error = %e, "job queue error");
                false
            }
        };
        if !worked {
            tokio::select! {
                _ = tokio::time::sleep(app.config.job_poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Runs at most one due job; `true` if there was one.
pub async fn run_one(app: &App) -> Result<bool, StoreError> {
    let lease = 5 * MINUTE_US;
    let Some(job) = store::jobs::claim(&app.db, app.now_us(), lease).await? else {
        return Ok(false);
    };
    let outcome = dispatch(app, &job).await;
    let mut tx = app.db.begin().await?;
    match outcome {
        Ok(JobOutcome::Done) => {
            store::jobs::complete(&mut tx, job.id, app.now_us()).await?;
            app.metrics.jobs_done.inc();
        }
        Ok(JobOutcome::RetryAt(at, note)) if job.attempts < job.max_attempts => {
            store::jobs::retry_at(&mut tx, job.id, at, note.as_deref()).await?;
        }
        Err(e) if job.attempts < job.max_attempts => {
            let backoff = MINUTE_US / 2 * (1i64 << job.attempts.clamp(0, 7));
            tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed; will retry");
            store::jobs::retry_at(&mut tx, job.id, app.now_us() + backoff, Some(&e)).await?;
            app.metrics.jobs_retried.inc();
        }
        Ok(JobOutcome::RetryAt(_, note)) => {
            let why = note.unwrap_or_else(|| "gave up waiting".into());
            tracing::error!(job = job.id, kind = %job.kind, "job gave up: {why}");
            store::jobs::give_up(&mut tx, job.id, &why, app.now_us()).await?;
            app.metrics.jobs_dead.inc();
        }
        Err(e) => {
            tracing::error!(job = job.id, kind = %job.kind, error = %e, "job failed for the last time");
            store::jobs::give_up(&mut tx, job.id, &e, app.now_us()).await?;
            app.metrics.jobs_dead.inc();
        }
    }
    tx.commit().await?;
    Ok(true)
}

#[derive(Serialize, Deserialize)]
struct RefundJob {
    refund_id: String,
}

async fn dispatch(app: &App, job: &JobRow) -> Result<JobOutcome, String> {
    if job.kind == crate::backup::schedule::JOB_KIND {
        return crate::backup::schedule::run(app)
            .await
            .map(|()| JobOutcome::Done)
            .map_err(|e| e.to_string());
    }
    if job.kind == crate::services::residents::MAIL_JOB {
        return crate::services::residents::send_mail(app, &job.payload)
            .await
            .map(|()| JobOutcome::Done);
    }
    if job.kind == crate::services::wallet::PLANNED_JOB {
        let id = serde_json::from_str::<serde_json::Value>(&job.payload)
            .ok()
            .and_then(|v| v["planned_id"].as_i64())
            .ok_or("bad payload")?;
        return match crate::services::wallet::run_planned(app, id).await {
            Ok(crate::services::wallet::Ran::Done) => Ok(JobOutcome::Done),
            Ok(crate::services::wallet::Ran::RetryAt(at)) => Ok(JobOutcome::RetryAt(
                at,
                Some("declined; tried again later".into()),
            )),
            Err(e) => Err(e.to_string()),
        };
    }
    if job.kind == "execute_refund" {
        let parsed: RefundJob =
            serde_json::from_str(&job.payload).map_err(|e| format!("bad payload: {e}"))?;
        return match crate::services::refunds::execute(app, &parsed.refund_id).await {
            Ok(crate::services::refunds::RefundState::Queued) => {
                Err("processor still unavailable".into())
            }
            Ok(_) => Ok(JobOutcome::Done),
            Err(e) => Err(e.to_string()),
        };
    }
    let parsed: PaymentJob =
        serde_json::from_str(&job.payload).map_err(|e| format!("bad payload: {e}"))?;
    match job.kind.as_str() {
        "send_receipt" => {
            receipts::send_receipt(app, &parsed.payment_id)
                .await
                .map_err(|e| e.to_string())?;
            Ok(JobOutcome::Done)
        }
        "check_payment" => check_payment(app, &parsed.payment_id).await,
        other => Err(format!("unknown job kind {other}")),
    }
}

async fn check_payment(app: &App, payment_id: &str) -> Result<JobOutcome, String> {
    let payment = store::payments::by_id(app.db.reader(), payment_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("unknown payment")?;
    if !payment.status.is_open() {
        return Ok(JobOutcome::Done);
    }
    let status = payments::refresh(app, &payment)
        .await
        .map_err(|e| e.to_string())?;
    if !status.is_open() {
        return Ok(JobOutcome::Done);
    }
    // Every 5 minutes until a quarter of an hour past the checkout's
    // window, then hourly (the processor should have closed it by then).
    let now = app.now_us();
    let next = if now < payment.expires_at + 15 * MINUTE_US {
        now + 5 * MINUTE_US
    } else {
        now + 60 * MINUTE_US
    };
    Ok(JobOutcome::RetryAt(
        next,
        Some("still open at the processor".into()),
    ))
}

async fn sweep(app: &App) {
    match crate::audit::checkpoint::maybe_write(app, false).await {
        Ok(Some(seq)) => tracing::debug!(seq, "audit checkpoint written"),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "audit checkpoint failed"),
    }
    match crate::backup::schedule::enqueue_due(app).await {
        Ok(true) => tracing::info!("scheduled backup queued"),
        Ok(false) => {}
        Err(e) => tracing::error!(error = %e, "cannot queue the scheduled backup"),
    }
    match crate::services::residents::queue_notices(app).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(queued = n, "e-bill and reminder e-mails queued"),
        Err(e) => tracing::error!(error = %e, "cannot queue e-bill e-mails"),
    }
    match crate::services::wallet::plan_autopay(app).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(planned = n, "autopay charges planned"),
        Err(e) => tracing::error!(error = %e, "cannot plan autopay charges"),
    }
    match payments::expire_unopened(app).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(expired = n, "expired payments that were never opened"),
        Err(e) => tracing::error!(error = %e, "expiry sweep failed"),
    }
    let purge = async {
        let mut tx = app.db.begin().await?;
        let n = store::sessions::purge_expired(&mut tx, app.now_us()).await?;
        tx.commit().await?;
        Ok::<u64, StoreError>(n)
    };
    if let Err(e) = purge.await {
        tracing::error!(error = %e, "session purge failed");
    }
}

/// Drives the queue until it is empty (tests and one-shot commands).
pub async fn drain(app: &App) -> Result<usize, StoreError> {
    let mut n = 0;
    while run_one(app).await? {
        n += 1;
    }
    Ok(n)
}
