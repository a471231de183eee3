//! Refunds: requested by staff with a reason, approved by a second person
//! above the department's threshold (never by the requester), sent to the
//! processor with an idempotency key, and posted to the ledger once.
//!
//! What may still be refunded is checked inside the write transaction with
//! the payment locked, counting refunds that are waiting for approval or
//! for the processor: two concurrent requests cannot together refund more
//! than was paid.

use std::net::IpAddr;

use domain::Cents;
use domain::payment::{PaymentEvent, PaymentStatus};
use domain::refund::{allocate, refund_entry, refund_reversal_entry};
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::processor::{ProcessorError, RefundOutcome, RefundRequest, RefundStatus};
use crate::services::staff_auth::SignedIn;
use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("no such payment or refund")]
    NotFound,
    #[error("a payment that is {0} cannot be refunded")]
    NotRefundable(PaymentStatus),
    #[error("{0}")]
    Amount(#[from] domain::refund::RefundError),
    #[error("give the reason for the refund")]
    ReasonRequired,
    #[error("the reason is too long (at most 500 characters)")]
    ReasonTooLong,
    #[error("you cannot approve or reject your own refund request")]
    OwnRequest,
    #[error("this refund is no longer waiting for approval")]
    NotPending,
    #[error("ledger: {0}")]
    Ledger(#[from] domain::ledger::LedgerError),
    #[error("processor unavailable: {0}")]
    ProcessorUnavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RefundError {
    fn from(e: sqlx::Error) -> Self {
        RefundError::Store(StoreError::from(e))
    }
}

/// Where a refund stands after an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundState {
    AwaitingApproval,
    Succeeded,
    Failed(String),
    /// The processor could not be reached; a background job keeps trying
    /// with the same idempotency key.
    Queued,
}

fn clean_reason(reason: &str) -> Result<String, RefundError> {
    super::clean_reason(reason).map_err(|p| match p {
        super::ReasonProblem::Missing => RefundError::ReasonRequired,
        super::ReasonProblem::TooLong => RefundError::ReasonTooLong,
    })
}

async fn lock_payment(app: &App, tx: &mut store::Tx, payment_id: &str) -> Result<(), RefundError> {
    if app.db.backend() == store::Backend::Postgres {
        sqlx::query("SELECT id FROM payments WHERE id = $1 FOR UPDATE")
            .bind(payment_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn request(
    app: &App,
    who: &SignedIn,
    payment_id: &str,
    amount: Cents,
    reason: &str,
    ip: Option<IpAddr>,
) -> Result<(String, RefundState), RefundError> {
    let reason = clean_reason(reason)?;
    let mut tx = app.db.begin().await?;
    lock_payment(app, &mut tx, payment_id).await?;
    let payment = store::payments::by_id(&mut *tx, payment_id)
        .await?
        .ok_or(RefundError::NotFound)?;
    if !matches!(
        payment.status,
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded
    ) {
        return Err(RefundError::NotRefundable(payment.status));
    }
    let paid = store::refunds::paid_lines(&mut tx, payment_id).await?;
    let lines = allocate(&paid, amount)?;
    // The strictest threshold of the departments the payment touched.
    let threshold = paid
        .iter()
        .filter_map(|l| app.config.department(&l.department))
        .map(|d| d.refund_approval_threshold)
        .min()
        .unwrap_or(Cents::ZERO);
    let needs_approval = amount > threshold;
    let id = uuid::Uuid::new_v4().to_string();
    let status = if needs_approval {
        "pending_approval"
    } else {
        "approved"
    };
    store::refunds::insert(
        &mut tx,
        &store::refunds::NewRefund {
            id: &id,
            payment_id,
            amount,
            reason: &reason,
            status,
            requested_by: who.id,
            lines: &lines,
            now: app.now_us(),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &who.actor(),
            action: "refund.requested",
            target: Some(format!("payment:{payment_id}")),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({
                "refund": id,
                "amount_cents": amount.get(),
                "needs_approval": needs_approval,
                "threshold_cents": threshold.get(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    if needs_approval {
        return Ok((id, RefundState::AwaitingApproval));
    }
    let state = execute(app, &id).await?;
    Ok((id, state))
}

/// A second person approves (and the refund goes to the processor) or
/// rejects.
pub async fn decide(
    app: &App,
    who: &SignedIn,
    refund_id: &str,
    approve: bool,
    note: &str,
    ip: Option<IpAddr>,
) -> Result<RefundState, RefundError> {
    let mut tx = app.db.begin().await?;
    let refund = store::refunds::by_id(&mut *tx, refund_id)
        .await?
        .ok_or(RefundError::NotFound)?;
    if refund.requested_by == who.id {
        audit::record(
            &mut tx,
            app.now(),
            Event {
                actor: &who.actor(),
                action: "refund.self_approval_refused",
                target: Some(format!("payment:{}", refund.payment_id)),
                outcome: Outcome::Denied,
                source_ip: ip,
                details: json!({ "refund": refund_id }),
            },
        )
        .await?;
        tx.commit().await?;
        return Err(RefundError::OwnRequest);
    }
    let to = if approve { "approved" } else { "rejected" };
    let note = note.trim();
    if !approve && note.is_empty() {
        return Err(RefundError::ReasonRequired);
    }
    let failure = (!approve).then_some(note);
    if !store::refunds::decide(&mut tx, refund_id, to, who.id, failure, app.now_us()).await? {
        return Err(RefundError::NotPending);
    }
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &who.actor(),
            action: if approve {
                "refund.approved"
            } else {
                "refund.rejected"
            },
            target: Some(format!("payment:{}", refund.payment_id)),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({ "refund": refund_id, "amount_cents": refund.amount.get() }),
        },
    )
    .await?;
    tx.commit().await?;
    if approve {
        execute(app, refund_id).await
    } else {
        Ok(RefundState::Failed(note.to_owned()))
    }
}

/// Sends an approved refund to the processor and books the result. Safe to
/// repeat: the processor's idempotency key and the ledger's source key
/// make a second run change nothing.
pub async fn execute(app: &App, refund_id: &str) -> Result<RefundState, RefundError> {
    let refund = store::refunds::by_id(app.db.reader(), refund_id)
        .await?
        .ok_or(RefundError::NotFound)?;
    match refund.status.as_str() {
        "approved" => {}
        "succeeded" => return Ok(RefundState::Succeeded),
        "pending_approval" => return Ok(RefundState::AwaitingApproval),
        _ => return Ok(RefundState::Failed(refund.failure.unwrap_or_default())),
    }
    let payment = store::payments::by_id(app.db.reader(), &refund.payment_id)
        .await?
        .ok_or(RefundError::NotFound)?;
    let processor_ref = payment.processor_ref.clone().unwrap_or_default();
    let outcome = app
        .processor
        .refund(&RefundRequest {
            refund_id: refund_id.to_owned(),
            idempotency_key: format!("refund-{refund_id}"),
            processor_ref,
            amount: refund.amount,
        })
        .await;
    let actor = Actor::Processor(app.processor.name());
    // A refusal is final whichever way the adapter reports it.
    let outcome = match outcome {
        Err(ProcessorError::Rejected { code, message }) => {
            Ok(RefundOutcome::Refused { code, message })
        }
        other => other,
    };
    match outcome {
        Ok(RefundOutcome::Succeeded {
            processor_refund_ref,
        }) => {
            let mut tx = app.db.begin().await?;
            lock_payment(app, &mut tx, &payment.id).await?;
            let today = app
                .now()
                .to_zoned_datetime(app.config.timezone.clone())
                .date()
                .to_string();
            if !store::refunds::mark_succeeded(
                &mut tx,
                refund_id,
                &processor_refund_ref,
                &today,
                app.now_us(),
            )
            .await?
            {
                // Another run booked it first.
                return Ok(RefundState::Succeeded);
            }
            let lines = store::refunds::lines(&mut *tx, refund_id).await?;
            let entry = refund_entry(refund_id, &lines, |d| {
                app.config.department(d).map(|d| &d.ledger)
            })?;
            if !store::ledger::post(&mut tx, &entry, Some(&payment.id), &today, app.now_us())
                .await?
            {
                return Err(RefundError::Store(StoreError::corrupt(format!(
                    "refund {refund_id} was already posted"
                ))));
            }
            app.metrics.ledger_entries.inc();
            let next = follow_refunds(&mut tx, &payment.id, app.now_us(), |_, standing, total| {
                Some(if standing >= total {
                    PaymentEvent::Refunded
                } else {
                    PaymentEvent::PartiallyRefunded
                })
            })
            .await?;
            audit::record(
                &mut tx,
                app.now(),
                Event {
                    actor: &actor,
                    action: "refund.succeeded",
                    target: Some(format!("payment:{}", payment.id)),
                    outcome: Outcome::Success,
                    source_ip: None,
                    details: json!({
                        "refund": refund_id,
                        "amount_cents": refund.amount.get(),
                        "processor_ref": processor_refund_ref,
                        "payment_status": next.as_str(),
                    }),
                },
            )
            .await?;
            tx.commit().await?;
            Ok(RefundState::Succeeded)
        }
        Ok(RefundOutcome::Refused { code, message }) => {
            let mut tx = app.db.begin().await?;
            let why = format!("{code}: {message}");
            if store::refunds::mark_failed(&mut tx, refund_id, &why, app.now_us()).await? {
                audit::record(
                    &mut tx,
                    app.now(),
                    Event {
                        actor: &actor,
                        action: "refund.failed",
                        target: Some(format!("payment:{}", payment.id)),
                        outcome: Outcome::Failure,
                        source_ip: None,
                        details: json!({ "refund": refund_id, "code": code }),
                    },
                )
                .await?;
            }
            tx.commit().await?;
            Ok(RefundState::Failed(why))
        }
        Err(e) => {
            let mut tx = app.db.begin().await?;
            crate::jobs::enqueue_refund(&mut tx, app, refund_id).await?;
            tx.commit().await?;
            tracing::warn!(refund = refund_id, error = %e, "refund not confirmed by the processor; queued for retry");
            Ok(RefundState::Queued)
        }
    }
}

/// Moves the payment's status after its refunds changed (the caller holds
/// the payment's lock): `event` sees the status, the refunds that stand and
/// the payment's total, and names the move (or none). Returns the status
/// the payment ends in.
async fn follow_refunds(
    tx: &mut store::Tx,
    payment_id: &str,
    now: i64,
    event: impl FnOnce(PaymentStatus, Cents, Cents) -> Option<PaymentEvent>,
) -> Result<PaymentStatus, RefundError> {
    let current = store::payments::by_id(&mut **tx, payment_id)
        .await?
        .ok_or(RefundError::NotFound)?;
    let standing = store::refunds::refunded_total(tx, payment_id).await?;
    let Some(event) = event(current.status, standing, current.total) else {
        return Ok(current.status);
    };
    let next = current
        .status
        .apply(event)
        .map_err(|_| RefundError::NotRefundable(current.status))?;
    if !store::payments::set_refund_status(tx, payment_id, current.status, next, now).await? {
        return Err(RefundError::Store(StoreError::corrupt(
            "payment changed while its refunds did",
        )));
    }
    Ok(next)
}

/// What a processor event about a refund came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundCheck {
    /// The refund could not be completed after it was made: its money came
    /// back, its ledger entry is undone and the payment's status follows.
    Reversed,
    /// It stands (or was reversed already).
    Unchanged,
    /// The event was seen before.
    DuplicateEvent,
    /// Not a refund of ours (made outside cityteller, say).
    Unknown,
}

/// A processor event about a refund. The event only says which refund to
/// look at: where it stands is asked of the processor, now, so duplicated,
/// late and reordered events end the same way. A refund that failed after
/// it was made is reversed exactly once: the refund stays on the day it was
/// made (as the processor reports that day), and an entry undoing it is
/// posted to today.
pub async fn on_processor_event(
    app: &App,
    event_id: &str,
    event_type: &str,
    processor_refund_ref: &str,
) -> Result<RefundCheck, RefundError> {
    let Some(refund) =
        store::refunds::by_processor_ref(app.db.reader(), processor_refund_ref).await?
    else {
        tracing::warn!(
            event = event_id,
            "refund event for a refund we did not make"
        );
        return Ok(RefundCheck::Unknown);
    };
    let status = app
        .processor
        .refund_status(processor_refund_ref)
        .await
        .map_err(|e| RefundError::ProcessorUnavailable(e.to_string()))?;
    let payment_id = refund.payment_id.as_str();
    let mut tx = app.db.begin().await?;
    lock_payment(app, &mut tx, payment_id).await?;
    let processor = app.processor.name();
    let now = app.now_us();
    let event = (event_id, event_type);
    if !store::processor_events::record(&mut tx, processor, event.0, event.1, Some(payment_id), now)
        .await?
    {
        return Ok(RefundCheck::DuplicateEvent);
    }
    let RefundStatus::Failed { reason } = status else {
        tx.commit().await?;
        return Ok(RefundCheck::Unchanged);
    };
    let today = crate::services::close::today(app).to_string();
    if !store::refunds::mark_reversed(&mut tx, &refund.id, &reason, &today, now).await? {
        // Reversed already, or it never took money (failed or still
        // waiting on our side): nothing was posted that needs undoing.
        tx.commit().await?;
        return Ok(RefundCheck::Unchanged);
    }
    let lines = store::refunds::lines(&mut *tx, &refund.id).await?;
    let entry = refund_reversal_entry(&refund.id, &lines, |d| {
        app.config.department(d).map(|d| &d.ledger)
    })?;
    if !store::ledger::post(&mut tx, &entry, Some(payment_id), &today, now).await? {
        return Err(RefundError::Store(StoreError::corrupt(format!(
            "refund {} was already reversed in the ledger",
            refund.id
        ))));
    }
    app.metrics.ledger_entries.inc();
    let next = follow_refunds(&mut tx, payment_id, now, |status, standing, _| {
        // A disputed payment keeps its status: the dispute decides.
        (status != PaymentStatus::Disputed).then_some(PaymentEvent::RefundReversed {
            none_left: !standing.is_positive(),
        })
    })
    .await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &Actor::Processor(processor),
            action: "refund.reversed",
            target: Some(format!("payment:{payment_id}")),
            outcome: Outcome::Failure,
            source_ip: None,
            details: json!({
                "refund": refund.id,
                "amount_cents": refund.amount.get(),
                "reason": reason,
                "business_date": today,
                "payment_status": next.as_str(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(refund = %refund.id, payment = payment_id, "refund failed at the processor after it was made; reversed");
    Ok(RefundCheck::Reversed)
}
