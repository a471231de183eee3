//! Payments: from the resident's confirmation to the ledger posting.
//!
//! The rules that keep money right:
//! - a payment is written (with its idempotency key) before the processor
//!   is called, and the processor gets a key derived from it, so a double
//!   submit or a retry finds the same payment and the same checkout;
//! - the outcome is only ever learned from the processor (signed webhook or
//!   our own status query), never from the browser;
//! - the state change, the ledger posting (unique source key), the receipt
//!   job (unique key) and the audit event commit together or not at all;
//! - no transaction is held open across a call to the processor.

use std::net::IpAddr;
use std::time::Duration;

use domain::Cents;
use domain::ledger::{CaptureItem, payment_capture_entry};
use domain::payment::{AmountRuleError, PaymentEvent, PaymentStatus};
use domain::personal::EmailAddress;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use url::Url;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::crypto::fields::FieldContext;
use crate::i18n::Locale;
use crate::processor::{
    ChargeOutcome, ChargeRequest, CheckoutRequest, CheckoutStatus, DeclineReason, PaymentLookup,
    ProcessorError, WebhookEvent, WebhookKind,
};
use crate::store::group::Write;
use crate::store::payments::{Capture, NewItem, NewPayment, PaymentRow};
use crate::store::{self, StoreError, Tx};
use futures_util::future::BoxFuture;

/// What the review page shows.
#[derive(Debug, Clone)]
pub struct Quote {
    pub amount: Cents,
    pub fee: Cents,
    pub total: Cents,
}

/// What one payment of several bills costs: each bill's amount, and each
/// department's convenience fee on its bills together (itemised).
#[derive(Debug, Clone)]
pub struct CartQuote {
    /// (department, amount, fee) per department, in the order the bills
    /// first name them.
    pub departments: Vec<(String, Cents, Cents)>,
    pub amount: Cents,
    pub fee: Cents,
    pub total: Cents,
}

/// Quotes `lines` of (department, amount).
pub fn quote_lines<'a>(
    app: &App,
    lines: impl IntoIterator<Item = (&'a str, Cents)>,
) -> Result<CartQuote, PaymentError> {
    let mut departments: Vec<(String, Cents, Cents)> = Vec::new();
    for (dept, amount) in lines {
        match departments.iter_mut().find(|(d, _, _)| d == dept) {
            Some((_, sum, _)) => {
                *sum = sum
                    .checked_add(amount)
                    .map_err(|_| PaymentError::Overflow)?;
            }
            None => departments.push((dept.to_owned(), amount, Cents::ZERO)),
        }
    }
    let (mut amount, mut fee) = (Cents::ZERO, Cents::ZERO);
    for (dept, sum, dept_fee) in &mut departments {
        let q = quote(app, dept, *sum)?;
        *dept_fee = q.fee;
        amount = amount
            .checked_add(q.amount)
            .map_err(|_| PaymentError::Overflow)?;
        fee = fee.checked_add(q.fee).map_err(|_| PaymentError::Overflow)?;
    }
    let total = amount
        .checked_add(fee)
        .map_err(|_| PaymentError::Overflow)?;
    Ok(CartQuote {
        departments,
        amount,
        fee,
        total,
    })
}

/// A bill in a payment that changed since the resident chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub receivable_id: i64,
    pub reference: String,
    pub department: String,
    pub was: Cents,
    /// What is due on it now (zero: paid, or being paid elsewhere).
    pub now: Cents,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("{0}")]
    Amount(#[from] AmountRuleError),
    /// A fee line that is paid only with its account's other open bills
    /// came without them.
    #[error("bill {0} can only be paid together with the account's other open bills")]
    NotSeparately(String),
    /// Bills of a cart changed since they were chosen: nothing was charged.
    #[error("{} bill(s) changed since they were chosen", .0.len())]
    Changed(Vec<Changed>),
    #[error("the bill no longer exists")]
    UnknownReceivable,
    #[error("amount arithmetic overflowed")]
    Overflow,
    #[error("processor unavailable: {0}")]
    ProcessorUnavailable(String),
    #[error("processor refused the payment: {0}")]
    ProcessorRejected(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn quote(app: &App, department: &str, amount: Cents) -> Result<Quote, PaymentError> {
    let dept = app
        .config
        .department(department)
        .ok_or(PaymentError::UnknownReceivable)?;
    let fee = dept
        .card_fee
        .fee_for(amount)
        .map_err(|_| PaymentError::Overflow)?;
    let total = amount
        .checked_add(fee)
        .map_err(|_| PaymentError::Overflow)?;
    Ok(Quote { amount, fee, total })
}

/// One bill of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartItem {
    pub receivable_id: i64,
    pub amount: Cents,
    /// What was due when the resident chose it: when set and no longer what
    /// is due, nothing is charged and the change is reported.
    pub seen_balance: Option<Cents>,
}

pub struct StartRequest<'a> {
    /// One bill, or a cart of bills from several departments: one payment.
    pub items: Vec<StartItem>,
    pub idempotency_key: &'a str,
    pub email: Option<EmailAddress>,
    /// The language of the pages the resident paid on: their receipt's.
    pub locale: Locale,
    pub actor: &'a Actor,
    pub source_ip: Option<IpAddr>,
}

/// Where to send the resident next.
#[derive(Debug)]
pub enum Next {
    /// To the processor's hosted page.
    Processor(Url),
    /// The payment already has an outcome: show it.
    Receipt(String),
}

/// Creates the payment (or finds the one this key already made) and opens
/// its checkout at the processor.
pub async fn start(app: &App, req: StartRequest<'_>) -> Result<Next, PaymentError> {
    let payment = prepare(app, &req).await?;
    match payment.status {
        PaymentStatus::Created => open_checkout(app, &payment, req.actor, req.source_ip).await,
        PaymentStatus::Pending => match payment.checkout_url.as_deref().map(Url::parse) {
            Some(Ok(url)) => Ok(Next::Processor(url)),
            _ => Err(PaymentError::Conflict(
                "pending payment without checkout".into(),
            )),
        },
        _ => Ok(Next::Receipt(payment.id)),
    }
}

/// The payment this request's idempotency key names: the one it already
/// made, or a new one (not yet at the processor).
pub async fn prepare(app: &App, req: &StartRequest<'_>) -> Result<PaymentRow, PaymentError> {
    match store::payments::by_idempotency_key(app.db.reader(), req.idempotency_key).await? {
        Some(p) => Ok(p),
        None => match create(app, req).await {
            Ok(p) => Ok(p),
            // A concurrent submit with the same key won the race.
            Err(PaymentError::Store(e)) if e.is_unique_violation() => {
                store::payments::by_idempotency_key(app.db.reader(), req.idempotency_key)
                    .await?
                    .ok_or_else(|| PaymentError::Conflict("payment vanished".into()))
            }
            Err(e) => Err(e),
        },
    }
}

async fn create(app: &App, req: &StartRequest<'_>) -> Result<PaymentRow, PaymentError> {
    let now = app.now();
    let now_us = now.as_microsecond();
    let mut tx = app.db.begin().await?;
    // A concurrent submit with the same key may have committed since the
    // caller looked; inside the write transaction we see it.
    if let Some(existing) =
        store::payments::by_idempotency_key(&mut *tx, req.idempotency_key).await?
    {
        tx.rollback().await?;
        return Ok(existing);
    }
    if req.items.is_empty() {
        return Err(PaymentError::UnknownReceivable);
    }
    let mut views = Vec::with_capacity(req.items.len());
    let mut changed = Vec::new();
    for item in &req.items {
        if views
            .iter()
            .any(|(v, _): &(store::receivables::ReceivableView, Cents)| v.id == item.receivable_id)
        {
            return Err(PaymentError::Conflict(
                "a bill is twice in one payment".into(),
            ));
        }
        let view = store::receivables::view(&mut *tx, item.receivable_id, now_us)
            .await?
            .ok_or(PaymentError::UnknownReceivable)?;
        // Paid (here or at the counter), re-billed or adjusted since: the
        // resident decides again. Amounts reserved by payments in progress
        // are the amount rules' business below.
        if let Some(seen) = item.seen_balance
            && view.balance() != seen
        {
            changed.push(Changed {
                receivable_id: view.id,
                reference: view.reference.clone(),
                department: view.department.clone(),
                was: seen,
                now: view.balance().max(Cents::ZERO),
            });
        }
        views.push((view, item.amount));
    }
    if !changed.is_empty() {
        // A concurrent submit with the same key may be what reserved them.
        if let Some(existing) =
            store::payments::by_idempotency_key(&mut *tx, req.idempotency_key).await?
        {
            tx.rollback().await?;
            return Ok(existing);
        }
        return Err(PaymentError::Changed(changed));
    }
    for (view, _) in views.iter().filter(|(v, _)| !v.pay_separately) {
        let siblings: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM receivables WHERE service_account_id = $1 AND id <> $2",
        )
        .bind(view.service_account_id)
        .bind(view.id)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        for id in siblings {
            if views.iter().any(|(v, _)| v.id == id) {
                continue;
            }
            let open = store::receivables::view(&mut *tx, id, now_us)
                .await?
                .is_some_and(|v| v.available().is_positive());
            if open {
                return Err(PaymentError::NotSeparately(view.reference.clone()));
            }
        }
    }
    for (view, amount) in &views {
        let dept = app
            .config
            .department(&view.department)
            .ok_or(PaymentError::UnknownReceivable)?;
        // Checked inside the write transaction: payments in progress
        // reserve their amount, so two tabs cannot together pay more than
        // is owed.
        if let Err(refused) = dept.rules.check(*amount, view.available()) {
            // On PostgreSQL a concurrent submit with the same key can commit
            // between our look-up and the balance read, and then its own
            // reservation is what makes the amount look too high. It is the
            // same payment.
            if let Some(existing) =
                store::payments::by_idempotency_key(&mut *tx, req.idempotency_key).await?
            {
                tx.rollback().await?;
                return Ok(existing);
            }
            return Err(refused.into());
        }
    }
    let q = quote_lines(app, views.iter().map(|(v, a)| (v.department.as_str(), *a)))?;
    let id = uuid::Uuid::new_v4().to_string();
    let email_enc = match &req.email {
        Some(e) => Some(
            app.keys
                .fields
                .seal(e.expose(), &email_context(&id))
                .map_err(|e| PaymentError::Conflict(e.to_string()))?,
        ),
        None => None,
    };
    let ttl = SignedDuration::try_from(app.config.processor.checkout_ttl)
        .unwrap_or(SignedDuration::from_mins(30));
    let expires = now.checked_add(ttl).unwrap_or(now);
    // Each department's fee goes on its first bill.
    let mut items: Vec<NewItem<'_>> = Vec::with_capacity(views.len());
    for (view, amount) in &views {
        let first = !items.iter().any(|i| i.department == view.department);
        let fee = if first {
            q.departments
                .iter()
                .find(|(d, _, _)| *d == view.department)
                .map_or(Cents::ZERO, |(_, _, f)| *f)
        } else {
            Cents::ZERO
        };
        items.push(NewItem {
            receivable_id: view.id,
            department: &view.department,
            amount: *amount,
            fee,
        });
    }
    store::payments::insert(
        &mut tx,
        &NewPayment {
            id: &id,
            idempotency_key: req.idempotency_key,
            amount: q.amount,
            fee: q.fee,
            total: q.total,
            processor: app.processor.name(),
            receipt_email_enc: email_enc.as_deref(),
            locale: req.locale,
            created_at: now_us,
            expires_at: expires.as_microsecond(),
            items: &items,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        Event {
            actor: req.actor,
            action: "payment.created",
            target: Some(format!("payment:{id}")),
            outcome: Outcome::Success,
            source_ip: req.source_ip,
            details: json!({
                "receivables": views.iter().map(|(v, a)| json!({
                    "reference": v.reference,
                    "department": v.department,
                    "amount_cents": a.get(),
                })).collect::<Vec<_>>(),
                "amount_cents": q.amount.get(),
                "fee_cents": q.fee.get(),
                "total_cents": q.total.get(),
                "receipt_email": req.email.is_some(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    app.metrics.payments_created.inc();
    store::payments::by_id(app.db.reader(), &id)
        .await?
        .ok_or_else(|| PaymentError::Conflict("payment vanished".into()))
}

/// What a charge on a saved card came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charged {
    /// Paid: the payment id (its receipt is on its way).
    Paid(String),
    Declined(DeclineReason),
    /// The bank wants the card holder present; nothing was taken.
    NeedsHolder,
}

/// Pays bills with a saved card, without the resident present (autopay,
/// scheduled payments). The payment is created (or found, by the request's
/// idempotency key) like any other and charged with a key derived from it,
/// so running this again after a crash finds the same payment and the
/// processor answers with the same charge: the card is charged once.
pub async fn charge_saved(
    app: &App,
    req: StartRequest<'_>,
    card: (Option<&str>, &str),
) -> Result<(String, Charged), PaymentError> {
    let payment = prepare(app, &req).await?;
    let mut needs_holder = false;
    let status = match payment.status {
        PaymentStatus::Created => {
            let charge = ChargeRequest {
                payment_id: payment.id.clone(),
                idempotency_key: format!("charge-{}", payment.id),
                customer: card.0.map(str::to_owned),
                method_ref: card.1.to_owned(),
                total: payment.total,
                description: app.config.city_name.clone(),
            };
            let outcome = match app.processor.charge_saved(&charge).await {
                Ok(o) => o,
                // Our request was refused (a card the processor no longer
                // has, say): nothing was taken.
                Err(ProcessorError::Rejected { code, .. }) => {
                    tracing::warn!(payment = %payment.id, %code, "processor refused a saved-card charge");
                    ChargeOutcome::Declined {
                        processor_ref: None,
                        reason: DeclineReason::ProcessingError,
                    }
                }
                // Timeouts and outages: the caller retries later with the
                // same keys.
                Err(e) => return Err(PaymentError::ProcessorUnavailable(e.to_string())),
            };
            let (processor_ref, status) = match outcome {
                ChargeOutcome::Succeeded {
                    processor_ref,
                    captured,
                } => (Some(processor_ref), CheckoutStatus::Succeeded(captured)),
                ChargeOutcome::Declined {
                    processor_ref,
                    reason,
                } => (processor_ref, CheckoutStatus::Failed(reason)),
                ChargeOutcome::RequiresAction { processor_ref } => {
                    needs_holder = true;
                    (
                        Some(processor_ref),
                        CheckoutStatus::Failed(DeclineReason::Declined),
                    )
                }
            };
            if let Some(r) = processor_ref {
                let mut tx = app.db.begin().await?;
                store::payments::mark_pending(
                    &mut tx,
                    &payment.id,
                    &r,
                    "",
                    payment.expires_at,
                    app.now_us(),
                )
                .await?;
                tx.commit().await?;
            }
            status
        }
        // Charged before a crash, not yet recorded: the processor says
        // how it went.
        PaymentStatus::Pending => match payment.processor_ref.as_deref() {
            Some(r) => app
                .processor
                .checkout_status(r)
                .await
                .map_err(|e| PaymentError::ProcessorUnavailable(e.to_string()))?,
            None => return Err(PaymentError::Conflict("pending without a charge".into())),
        },
        _ => CheckoutStatus::Open,
    };
    if !matches!(status, CheckoutStatus::Open) {
        apply_status(app, &payment.id, &status, Source::StatusQuery).await?;
    }
    let now = store::payments::by_id(app.db.reader(), &payment.id)
        .await?
        .ok_or_else(|| PaymentError::Conflict("payment vanished".into()))?;
    let charged = match now.status {
        s if s.was_captured() => Charged::Paid(now.id.clone()),
        PaymentStatus::Failed if needs_holder => Charged::NeedsHolder,
        PaymentStatus::Failed | PaymentStatus::Expired => Charged::Declined(
            now.failure_code
                .as_deref()
                .and_then(DeclineReason::from_code)
                .unwrap_or(DeclineReason::Declined),
        ),
        other => {
            return Err(PaymentError::ProcessorUnavailable(format!(
                "the charge is still {other} at the processor"
            )));
        }
    };
    Ok((now.id, charged))
}

pub fn email_context(payment_id: &str) -> FieldContext<'_> {
    FieldContext {
        table: "payments",
        column: "receipt_email",
        row: payment_id,
    }
}

async fn open_checkout(
    app: &App,
    payment: &PaymentRow,
    actor: &Actor,
    source_ip: Option<IpAddr>,
) -> Result<Next, PaymentError> {
    let base = &app.config.public_base_url;
    let receipt = base
        .join(&format!("pay/receipt/{}", payment.id))
        .map_err(|e| PaymentError::Conflict(e.to_string()))?;
    let items = store::payments::items(app.db.reader(), &payment.id).await?;
    let description = match items.as_slice() {
        [i] => {
            // In the resident's language: a processor that localises its
            // page shows our description as it is.
            let dept = app
                .config
                .department(&i.department)
                .map(|d| d.text(payment.locale).name)
                .unwrap_or_else(|| "City services".to_owned());
            format!("{} · {dept}", app.config.city_name)
        }
        [] => app.config.city_name.clone(),
        several => format!(
            "{} · {}",
            app.config.city_name,
            payment
                .locale
                .msg1("checkout-several-bills", "count", several.len() as i64)
        ),
    };
    let req = CheckoutRequest {
        payment_id: payment.id.clone(),
        idempotency_key: format!("checkout-{}", payment.id),
        total: payment.total,
        description,
        return_url: receipt.clone(),
        // A hint only: the receipt page asks the processor to close the
        // checkout, and the processor's answer decides.
        cancel_url: {
            let mut u = receipt;
            u.set_query(Some("left=1"));
            u
        },
        expires_at: Timestamp::from_microsecond(payment.expires_at).unwrap_or(app.now()),
    };
    let result = app.processor.create_checkout(&req).await;
    let checkout = match result {
        Ok(c) => c,
        Err(ProcessorError::Unavailable(why)) | Err(ProcessorError::InvalidResponse(why)) => {
            // The payment stays `created`; the resident's retry (same
            // key) asks the processor again and gets the same checkout.
            tracing::warn!(payment = %payment.id, error = %why, "processor unavailable while opening checkout");
            return Err(PaymentError::ProcessorUnavailable(why));
        }
        Err(ProcessorError::NotFound) => {
            return Err(PaymentError::ProcessorUnavailable(
                "processor endpoint not found".into(),
            ));
        }
        Err(ProcessorError::Rejected { code, message }) => {
            let mut tx = app.db.begin().await?;
            let moved = store::payments::mark_closed(
                &mut tx,
                &payment.id,
                PaymentStatus::Created,
                PaymentStatus::Created
                    .apply(PaymentEvent::Failed)
                    .map_err(|e| PaymentError::Conflict(e.to_string()))?,
                Some("processor_rejected"),
                app.now_us(),
            )
            .await?;
            if moved {
                audit::record(
                    &mut tx,
                    app.now(),
                    Event {
                        actor,
                        action: "payment.failed",
                        target: Some(format!("payment:{}", payment.id)),
                        outcome: Outcome::Failure,
                        source_ip,
                        details: json!({ "reason": "processor_rejected", "code": code }),
                    },
                )
                .await?;
            }
            tx.commit().await?;
            app.metrics.payments_failed.inc();
            return Err(PaymentError::ProcessorRejected(format!(
                "{code}: {message}"
            )));
        }
    };
    let mut tx = app.db.begin().await?;
    let moved = store::payments::mark_pending(
        &mut tx,
        &payment.id,
        &checkout.processor_ref,
        checkout.redirect_url.as_str(),
        checkout.expires_at.as_microsecond(),
        app.now_us(),
    )
    .await?;
    if moved {
        audit::record(
            &mut tx,
            app.now(),
            Event {
                actor,
                action: "payment.checkout_opened",
                target: Some(format!("payment:{}", payment.id)),
                outcome: Outcome::Success,
                source_ip,
                details: json!({ "processor": app.processor.name(), "processor_ref": checkout.processor_ref }),
            },
        )
        .await?;
        crate::jobs::schedule_status_check(&mut tx, app, &payment.id, 1).await?;
    }
    tx.commit().await?;
    if !moved {
        // Someone else moved it first (a concurrent submit, or the
        // processor's webhook); act on what is there now.
        let now = store::payments::by_id(app.db.reader(), &payment.id)
            .await?
            .ok_or_else(|| PaymentError::Conflict("payment vanished".into()))?;
        return match (now.status, now.checkout_url.as_deref().map(Url::parse)) {
            (PaymentStatus::Pending, Some(Ok(url))) => Ok(Next::Processor(url)),
            _ => Ok(Next::Receipt(now.id)),
        };
    }
    Ok(Next::Processor(checkout.redirect_url))
}

/// How an outcome reached us.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Webhook {
        event_id: &'a str,
        event_type: &'a str,
    },
    StatusQuery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The payment moved to a new status.
    Changed(PaymentStatus),
    /// It already had this outcome (a duplicate or late report).
    AlreadyApplied,
    /// Still open at the processor.
    StillOpen,
    /// The event was seen before.
    DuplicateEvent,
}

/// Applies what the processor says about a payment. Safe to call any
/// number of times, from any path, in any order.
pub async fn apply_status(
    app: &App,
    payment_id: &str,
    status: &CheckoutStatus,
    source: Source<'_>,
) -> Result<Applied, PaymentError> {
    let webhook = match source {
        Source::Webhook {
            event_id,
            event_type,
        } => Some((event_id.to_owned(), event_type.to_owned())),
        Source::StatusQuery => None,
    };
    for _ in 0..3 {
        // Through the group committer: under load, many outcomes share one
        // transaction and one fsync; each is answered once durable.
        let (job_app, id, status, webhook) = (
            app.clone(),
            payment_id.to_owned(),
            status.clone(),
            webhook.clone(),
        );
        let step = app
            .db
            .write(
                move |tx: &mut Tx| -> BoxFuture<'_, Result<Write<Step>, PaymentError>> {
                    Box::pin(async move {
                        let app = &job_app;
                        let source = match &webhook {
                            Some((event_id, event_type)) => Source::Webhook {
                                event_id,
                                event_type,
                            },
                            None => Source::StatusQuery,
                        };
                        if let Some((event_id, event_type)) = &webhook {
                            let fresh = store::processor_events::record(
                                tx,
                                app.processor.name(),
                                event_id,
                                event_type,
                                Some(&id),
                                app.now_us(),
                            )
                            .await?;
                            if !fresh {
                                return Ok(Write::Rollback(Step::Done(Applied::DuplicateEvent)));
                            }
                        }
                        if app.db.backend() == store::Backend::Postgres {
                            // Serialise writers of this payment (SQLite's single
                            // writer already does).
                            sqlx::query(&format!(
                                "SELECT id FROM payments WHERE id = $1{}",
                                store::for_update(app.db.backend())
                            ))
                            .bind(&id)
                            .execute(&mut **tx)
                            .await
                            .map_err(StoreError::from)?;
                        }
                        let payment =
                            store::payments::by_id(&mut **tx, &id)
                                .await?
                                .ok_or_else(|| {
                                    PaymentError::Conflict(format!("unknown payment {id}"))
                                })?;
                        Ok(
                            match apply_in_tx(app, tx, &payment, &status, source).await? {
                                // Keep the audit event (and the event id) of a refusal.
                                Step::Refused(why) => Write::Commit(Step::Refused(why)),
                                Step::Done(applied) => Write::Commit(Step::Done(applied)),
                                Step::Lost => Write::Rollback(Step::Lost),
                            },
                        )
                    })
                },
            )
            .await?;
        match step {
            Step::Refused(why) => return Err(PaymentError::Conflict(why)),
            Step::Done(applied) => {
                if let Applied::Changed(s) = applied {
                    match s {
                        PaymentStatus::Succeeded => app.metrics.payments_succeeded.inc(),
                        PaymentStatus::Failed => app.metrics.payments_failed.inc(),
                        PaymentStatus::Expired => app.metrics.payments_expired.inc(),
                        _ => {}
                    }
                }
                return Ok(applied);
            }
            // A concurrent writer moved it between our read and write;
            // read again.
            Step::Lost => {}
        }
    }
    Err(PaymentError::Conflict(format!(
        "payment {payment_id} kept changing"
    )))
}

enum Step {
    Done(Applied),
    /// A compare-and-set lost a race; nothing was written.
    Lost,
    /// The report contradicts our records; only the audit event was
    /// written.
    Refused(String),
}

async fn apply_in_tx(
    app: &App,
    tx: &mut Tx,
    payment: &PaymentRow,
    status: &CheckoutStatus,
    source: Source<'_>,
) -> Result<Step, PaymentError> {
    let now = app.now();
    let now_us = now.as_microsecond();
    let actor = Actor::Processor(app.processor.name());
    let via = match source {
        Source::Webhook { .. } => "webhook",
        Source::StatusQuery => "status_query",
    };
    let target = Some(format!("payment:{}", payment.id));
    let (event, outcome_status) = match status {
        CheckoutStatus::Open => return Ok(Step::Done(Applied::StillOpen)),
        CheckoutStatus::Succeeded(_) => (PaymentEvent::Succeeded, PaymentStatus::Succeeded),
        CheckoutStatus::Failed(_) => (PaymentEvent::Failed, PaymentStatus::Failed),
        CheckoutStatus::Expired => (PaymentEvent::Expired, PaymentStatus::Expired),
    };
    if payment.status == outcome_status {
        return Ok(Step::Done(Applied::AlreadyApplied));
    }
    let current = payment.status;
    let next = match current.apply(event) {
        Ok(n) => n,
        Err(illegal) => {
            // The processor contradicts what we recorded. Never guess:
            // record it loudly for staff and change nothing.
            tracing::error!(payment = %payment.id, from = %illegal.from, ?event, "processor outcome contradicts payment state");
            audit::record(
                tx,
                now,
                Event {
                    actor: &actor,
                    action: "payment.outcome_conflict",
                    target,
                    outcome: Outcome::Failure,
                    source_ip: None,
                    details: json!({ "recorded": payment.status.as_str(), "reported": outcome_status.as_str(), "via": via }),
                },
            )
            .await?;
            return Ok(Step::Refused(illegal.to_string()));
        }
    };
    match status {
        CheckoutStatus::Succeeded(captured) => {
            if captured.amount != payment.total {
                tracing::error!(payment = %payment.id, expected = payment.total.get(), got = captured.amount.get(), "captured amount differs");
                audit::record(
                    tx,
                    now,
                    Event {
                        actor: &actor,
                        action: "payment.amount_mismatch",
                        target,
                        outcome: Outcome::Failure,
                        source_ip: None,
                        details: json!({ "expected_cents": payment.total.get(), "captured_cents": captured.amount.get(), "via": via }),
                    },
                )
                .await?;
                return Ok(Step::Refused(
                    "captured amount differs from the payment".into(),
                ));
            }
            // The processor's day, so the daily close matches its report;
            // if that day is already closed, today (an adjusting entry in
            // an open period, never an edit of a closed one).
            let tz = app.config.timezone.clone();
            let mut business_date = captured.captured_at.to_zoned_datetime(tz.clone()).date();
            if store::close::is_closed(&mut **tx, &business_date.to_string()).await? {
                business_date = now.to_zoned_datetime(tz).date();
            }
            let receipt_seq =
                store::counters::next(tx, &format!("receipt:{}", business_date.year())).await?;
            let receipt_number = format!("R{}-{:06}", business_date.year(), receipt_seq);
            let date = business_date.to_string();
            let brand = normalise_brand(&captured.card_brand);
            if !store::payments::mark_succeeded(
                tx,
                &payment.id,
                &Capture {
                    card_brand: Some(brand),
                    card_last4: Some(&captured.card_last4),
                    receipt_number: &receipt_number,
                    business_date: &date,
                    captured_at: captured.captured_at.as_microsecond(),
                },
                now_us,
            )
            .await?
            {
                return Ok(Step::Lost);
            }
            post_capture(app, tx, payment, &date, now_us).await?;
            if payment.receipt_email_enc.is_some() {
                crate::jobs::enqueue_receipt(tx, app, &payment.id).await?;
            }
            audit::record(
                tx,
                now,
                Event {
                    actor: &actor,
                    action: "payment.succeeded",
                    target,
                    outcome: Outcome::Success,
                    source_ip: None,
                    details: json!({
                        "via": via,
                        "receipt_number": receipt_number,
                        "total_cents": payment.total.get(),
                        "card_brand": brand,
                    }),
                },
            )
            .await?;
        }
        CheckoutStatus::Failed(reason) => {
            if !store::payments::mark_closed(
                tx,
                &payment.id,
                current,
                next,
                Some(reason.code()),
                now_us,
            )
            .await?
            {
                return Ok(Step::Lost);
            }
            audit::record(
                tx,
                now,
                Event {
                    actor: &actor,
                    action: "payment.failed",
                    target,
                    outcome: Outcome::Failure,
                    source_ip: None,
                    details: json!({ "via": via, "reason": reason.code() }),
                },
            )
            .await?;
        }
        CheckoutStatus::Expired => {
            if !store::payments::mark_closed(tx, &payment.id, current, next, None, now_us).await? {
                return Ok(Step::Lost);
            }
            audit::record(
                tx,
                now,
                Event {
                    actor: &actor,
                    action: "payment.expired",
                    target,
                    outcome: Outcome::Failure,
                    source_ip: None,
                    details: json!({ "via": via }),
                },
            )
            .await?;
        }
        CheckoutStatus::Open => return Ok(Step::Done(Applied::StillOpen)),
    }
    Ok(Step::Done(Applied::Changed(next)))
}

/// Card brands we show; anything else is stored as "card".
fn normalise_brand(brand: &str) -> &'static str {
    match brand {
        "visa" => "visa",
        "mastercard" => "mastercard",
        "amex" => "amex",
        "discover" => "discover",
        _ => "card",
    }
}

async fn post_capture(
    app: &App,
    tx: &mut Tx,
    payment: &PaymentRow,
    business_date: &str,
    now_us: i64,
) -> Result<(), PaymentError> {
    let items = store::payments::items(&mut **tx, &payment.id).await?;
    let mut capture_items = Vec::with_capacity(items.len());
    for item in &items {
        let dept = app.config.department(&item.department).ok_or_else(|| {
            PaymentError::Conflict(format!(
                "department {} is no longer configured",
                item.department
            ))
        })?;
        capture_items.push(CaptureItem {
            department: &item.department,
            accounts: &dept.ledger,
            receivable_id: item.receivable_id,
            amount: item.amount,
            fee: item.fee,
        });
    }
    let entry = payment_capture_entry(&payment.id, &capture_items)
        .map_err(|e| PaymentError::Conflict(e.to_string()))?;
    let posted = store::ledger::post(tx, &entry, Some(&payment.id), business_date, now_us).await?;
    if !posted {
        // The unique source key stopped a second posting. The status
        // compare-and-set should make this unreachable; if it happens,
        // refuse the whole transaction rather than half-apply it.
        return Err(PaymentError::Conflict(format!(
            "payment {} was already posted",
            payment.id
        )));
    }
    app.metrics.ledger_entries.inc();
    // Licence renewals these bills paid: the new expiry and certificate,
    // in the same transaction (exactly once).
    let paid: Vec<i64> = items.iter().map(|i| i.receivable_id).collect();
    crate::services::licences::on_captured(app, tx, &paid, now_us).await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookResult {
    Applied(Applied),
    /// An event about a refund, and what came of it.
    Refund(crate::services::refunds::RefundCheck),
    Ignored,
    UnknownPayment,
}

pub async fn handle_webhook(
    app: &App,
    event: &WebhookEvent,
) -> Result<WebhookResult, PaymentError> {
    let (payment_id, status) = match &event.kind {
        WebhookKind::Ignored => {
            let mut tx = app.db.begin().await?;
            store::processor_events::record(
                &mut tx,
                app.processor.name(),
                &event.event_id,
                &event.event_type,
                None,
                app.now_us(),
            )
            .await?;
            tx.commit().await?;
            app.metrics.webhooks_ignored.inc();
            return Ok(WebhookResult::Ignored);
        }
        WebhookKind::Checkout {
            processor_ref,
            status,
        } => {
            let Some(payment) = store::payments::by_processor_ref(
                app.db.reader(),
                app.processor.name(),
                processor_ref,
            )
            .await?
            else {
                // Not ours (or our record of the checkout did not commit).
                // The status query job will find it from our side.
                tracing::warn!(event = %event.event_id, "webhook for an unknown checkout");
                return Ok(WebhookResult::UnknownPayment);
            };
            (payment.id, status.clone())
        }
        WebhookKind::RefundChanged(refund) => {
            use crate::services::refunds::{self, RefundCheck, RefundError};
            let check =
                refunds::on_processor_event(app, &event.event_id, &event.event_type, refund)
                    .await
                    .map_err(|e| match e {
                        RefundError::ProcessorUnavailable(m) => {
                            PaymentError::ProcessorUnavailable(m)
                        }
                        RefundError::Store(s) => PaymentError::Store(s),
                        other => PaymentError::Conflict(other.to_string()),
                    })?;
            match check {
                RefundCheck::DuplicateEvent => app.metrics.webhooks_duplicate.inc(),
                _ => app.metrics.webhooks_accepted.inc(),
            }
            return Ok(WebhookResult::Refund(check));
        }
        WebhookKind::Changed(lookup) => {
            let payment = match lookup {
                PaymentLookup::ProcessorRef(r) => {
                    store::payments::by_processor_ref(app.db.reader(), app.processor.name(), r)
                        .await?
                }
                PaymentLookup::PaymentId(id) => store::payments::by_id(app.db.reader(), id)
                    .await?
                    .filter(|p| p.processor == app.processor.name()),
            };
            let Some((payment, processor_ref)) =
                payment.and_then(|p| p.processor_ref.clone().map(|r| (p, r)))
            else {
                tracing::warn!(event = %event.event_id, "webhook for an unknown payment");
                return Ok(WebhookResult::UnknownPayment);
            };
            // The event only says where to look: the state comes from the
            // processor, now.
            match app.processor.checkout_status(&processor_ref).await {
                Ok(status) => (payment.id, status),
                Err(e) => return Err(PaymentError::ProcessorUnavailable(e.to_string())),
            }
        }
    };
    let applied = apply_status(
        app,
        &payment_id,
        &status,
        Source::Webhook {
            event_id: &event.event_id,
            event_type: &event.event_type,
        },
    )
    .await?;
    match applied {
        Applied::DuplicateEvent => app.metrics.webhooks_duplicate.inc(),
        _ => app.metrics.webhooks_accepted.inc(),
    }
    Ok(WebhookResult::Applied(applied))
}

/// Asks the processor about an open payment and applies the answer.
pub async fn refresh(app: &App, payment: &PaymentRow) -> Result<PaymentStatus, PaymentError> {
    ask_processor(app, payment, false).await
}

/// The payer came back through the processor's cancel link: the checkout
/// is closed at the processor if still open, and whatever the processor
/// then says is applied (a payment made meanwhile stays made).
pub async fn payer_left(app: &App, payment: &PaymentRow) -> Result<PaymentStatus, PaymentError> {
    ask_processor(app, payment, true).await
}

async fn ask_processor(
    app: &App,
    payment: &PaymentRow,
    close: bool,
) -> Result<PaymentStatus, PaymentError> {
    if !payment.status.is_open() {
        return Ok(payment.status);
    }
    let Some(processor_ref) = payment.processor_ref.as_deref() else {
        return Ok(payment.status);
    };
    let answer = if close {
        app.processor.cancel_checkout(processor_ref).await
    } else {
        app.processor.checkout_status(processor_ref).await
    };
    let status = match answer {
        Ok(s) => s,
        Err(ProcessorError::NotFound) => CheckoutStatus::Expired,
        Err(e) => return Err(PaymentError::ProcessorUnavailable(e.to_string())),
    };
    apply_status(app, &payment.id, &status, Source::StatusQuery).await?;
    let now = store::payments::by_id(app.db.reader(), &payment.id)
        .await?
        .ok_or_else(|| PaymentError::Conflict("payment vanished".into()))?;
    Ok(now.status)
}

/// For the receipt page: ask a few times, briefly, before showing
/// "still processing".
pub async fn refresh_patiently(
    app: &App,
    payment: &PaymentRow,
    tries: u32,
) -> Result<PaymentRow, PaymentError> {
    let mut current = payment.clone();
    for i in 0..tries {
        if !current.status.is_open() {
            break;
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        if let Err(e) = refresh(app, &current).await {
            tracing::warn!(payment = %current.id, error = %e, "status query failed");
        }
        current = store::payments::by_id(app.db.reader(), &current.id)
            .await?
            .ok_or_else(|| PaymentError::Conflict("payment vanished".into()))?;
    }
    Ok(current)
}

/// Closes payments that were never sent to the processor's page and whose
/// window has passed. (Pending ones are settled by asking the processor.)
pub async fn expire_unopened(app: &App) -> Result<u64, PaymentError> {
    let overdue = store::payments::open_expired(app.db.reader(), app.now_us(), 200).await?;
    let mut n = 0;
    for p in overdue
        .into_iter()
        .filter(|p| p.status == PaymentStatus::Created)
    {
        let mut tx = app.db.begin().await?;
        if store::payments::mark_closed(
            &mut tx,
            &p.id,
            PaymentStatus::Created,
            PaymentStatus::Expired,
            None,
            app.now_us(),
        )
        .await?
        {
            audit::record(
                &mut tx,
                app.now(),
                Event {
                    actor: &Actor::System("expiry"),
                    action: "payment.expired",
                    target: Some(format!("payment:{}", p.id)),
                    outcome: Outcome::Failure,
                    source_ip: None,
                    details: json!({ "via": "never_opened" }),
                },
            )
            .await?;
            n += 1;
            app.metrics.payments_expired.inc();
        }
        tx.commit().await?;
    }
    Ok(n)
}

impl From<sqlx::Error> for PaymentError {
    fn from(e: sqlx::Error) -> Self {
        PaymentError::Store(StoreError::from(e))
    }
}
