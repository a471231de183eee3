//! The resident's wallet (cards saved at the processor), autopay per linked
//! account, and payments scheduled for a chosen day.
//!
//! A card is typed only on the processor's own page; we keep its token,
//! brand and last four digits. Every charge on a saved card is a planned
//! charge run by a job on its day: the payment is created with a key
//! derived from the planned charge and its attempt, and charged with a key
//! derived from the payment, so a job interrupted by a crash runs again
//! and finds the same payment and the same charge.

use std::net::IpAddr;

use domain::Cents;
use jiff::civil::Date;
use serde_json::json;
use url::Url;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::crypto::random_token;
use crate::i18n::Locale;
use crate::processor::{ProcessorError, SetupRequest, SetupStatus};
use crate::services::payments::{self, Charged, PaymentError, StartItem, StartRequest};
use crate::services::residents::{self, Mail};
use crate::store::jobs::NewJob;
use crate::store::residents::ResidentRow;
use crate::store::wallet::{self as rows, Autopay, NewPlanned, PlannedRow};
use crate::store::{self, StoreError, Tx};

pub const PLANNED_JOB: &str = "planned_charge";
/// Declined autopay charges are tried again this many days later, while
/// that is still on or before the due date, at most this many times.
const RETRY_DAYS: i64 = 2;
const RETRIES: i64 = 2;
/// Charges run at this hour of their day, in the city's time zone.
const CHARGE_HOUR: i8 = 8;

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("the processor cannot be reached: {0}")]
    Unavailable(String),
    #[error("no such card, bill or plan")]
    NotFound,
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Payment(#[from] PaymentError),
}

impl From<sqlx::Error> for WalletError {
    fn from(e: sqlx::Error) -> Self {
        WalletError::Store(e.into())
    }
}

impl From<ProcessorError> for WalletError {
    fn from(e: ProcessorError) -> Self {
        WalletError::Unavailable(e.to_string())
    }
}

fn actor(resident_id: i64) -> Actor {
    Actor::Resident {
        session_tag: format!("account-{resident_id}"),
    }
}

async fn record(
    tx: &mut Tx,
    app: &App,
    (actor, action, target): (&Actor, &str, String),
    ip: Option<IpAddr>,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    audit::record(
        tx,
        app.now(),
        Event {
            actor,
            action,
            target: Some(target),
            outcome: Outcome::Success,
            source_ip: ip,
            details,
        },
    )
    .await?;
    Ok(())
}

/// Sends the resident to the processor's page for saving a card; returns
/// where to send them.
pub async fn start_setup(
    app: &App,
    resident: &ResidentRow,
    ip: Option<IpAddr>,
) -> Result<Url, WalletError> {
    let token = random_token(24);
    let back = |left: bool| {
        let mut u = Url::parse(&app.config.public_url("/account/wallet/return"))
            .map_err(|_| WalletError::Invalid("public URL"))?;
        u.query_pairs_mut().append_pair("s", &token);
        if left {
            u.query_pairs_mut().append_pair("left", "1");
        }
        Ok::<Url, WalletError>(u)
    };
    let customer = rows::customer(app.db.reader(), resident.id).await?;
    let setup = app
        .processor
        .start_setup(&SetupRequest {
            resident_ref: resident.id.to_string(),
            customer,
            idempotency_key: format!("setup-{token}"),
            return_url: back(false)?,
            cancel_url: back(true)?,
        })
        .await?;
    let mut tx = app.db.begin().await?;
    if let Some(c) = &setup.customer {
        rows::set_customer(&mut tx, resident.id, c).await?;
    }
    rows::insert_setup(
        &mut tx,
        &token,
        resident.id,
        &setup.processor_ref,
        app.now_us(),
    )
    .await?;
    let what = (
        &actor(resident.id),
        "wallet.setup_started",
        format!("resident:{}", resident.id),
    );
    record(
        &mut tx,
        app,
        what,
        ip,
        json!({ "processor": app.processor.name() }),
    )
    .await?;
    tx.commit().await?;
    Ok(setup.redirect_url)
}

/// How the visit to the processor's page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupResult {
    /// Brand and last four digits of the card saved.
    Saved(String, String),
    NotSaved,
    /// The processor has not finished yet.
    Waiting,
}

/// Back from the processor's page: asks it what was saved (never trusting
/// the return link) and keeps the card's token.
pub async fn finish_setup(
    app: &App,
    resident: &ResidentRow,
    token: &str,
    ip: Option<IpAddr>,
) -> Result<SetupResult, WalletError> {
    let Some(processor_ref) = rows::open_setup(app.db.reader(), token, resident.id).await? else {
        return Err(WalletError::NotFound);
    };
    let status = app.processor.setup_status(&processor_ref).await?;
    let mut tx = app.db.begin().await?;
    let result = match status {
        SetupStatus::Open => SetupResult::Waiting,
        SetupStatus::Closed => {
            rows::close_setup(&mut tx, token, "closed").await?;
            SetupResult::NotSaved
        }
        SetupStatus::Saved(m) => {
            if rows::close_setup(&mut tx, token, "saved").await? {
                let new = rows::NewMethod {
                    resident_id: resident.id,
                    processor: app.processor.name(),
                    method_ref: &m.method_ref,
                    brand: &m.brand,
                    last4: &m.last4,
                };
                if let Some(id) = rows::insert_method(&mut tx, &new, app.now_us()).await? {
                    let what = (
                        &actor(resident.id),
                        "wallet.card_saved",
                        format!("wallet_method:{id}"),
                    );
                    let details = json!({ "brand": m.brand, "last4": m.last4 });
                    record(&mut tx, app, what, ip, details).await?;
                }
            }
            SetupResult::Saved(m.brand, m.last4)
        }
    };
    tx.commit().await?;
    Ok(result)
}

/// Removes a saved card, at the processor first. Autopay that used it is
/// turned off and payments scheduled on it are cancelled.
pub async fn remove_card(
    app: &App,
    resident: &ResidentRow,
    method_id: i64,
    ip: Option<IpAddr>,
) -> Result<(), WalletError> {
    let m = rows::method(app.db.reader(), resident.id, method_id)
        .await?
        .ok_or(WalletError::NotFound)?;
    let customer = rows::customer(app.db.reader(), resident.id).await?;
    app.processor
        .remove_method(customer.as_deref(), &m.method_ref)
        .await?;
    let mut tx = app.db.begin().await?;
    if rows::remove_method(&mut tx, resident.id, method_id, app.now_us()).await? {
        let what = (
            &actor(resident.id),
            "wallet.card_removed",
            format!("wallet_method:{method_id}"),
        );
        record(&mut tx, app, what, ip, json!({ "last4": m.last4 })).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Turns autopay on (or changes it) for one linked account, or off with
/// `None`. A change applies to charges not yet made.
pub async fn set_autopay(
    app: &App,
    resident: &ResidentRow,
    link_id: i64,
    autopay: Option<Autopay>,
    ip: Option<IpAddr>,
) -> Result<(), WalletError> {
    if let Some(a) = autopay {
        rows::method(app.db.reader(), resident.id, a.method_id)
            .await?
            .ok_or(WalletError::NotFound)?;
        if !(0..=28).contains(&a.days_before) {
            return Err(WalletError::Invalid("days before the due date: 0 to 28"));
        }
    }
    let mut tx = app.db.begin().await?;
    if !rows::set_autopay(&mut tx, resident.id, link_id, autopay).await? {
        return Err(WalletError::NotFound);
    }
    if autopay.is_none() {
        // Charges not yet made are off too (planned again if it comes back).
        let why = (false, "autopay turned off");
        rows::cancel_planned_for_link(&mut tx, resident.id, link_id, why, app.now_us()).await?;
    }
    let (action, details) = match autopay {
        Some(a) => (
            "autopay.set",
            json!({ "link": link_id, "card": a.method_id, "days_before": a.days_before, "max_cents": a.max_cents }),
        ),
        None => ("autopay.off", json!({ "link": link_id })),
    };
    let what = (
        &actor(resident.id),
        action,
        format!("resident:{}", resident.id),
    );
    record(&mut tx, app, what, ip, details).await?;
    tx.commit().await?;
    Ok(())
}

/// 08:00 on `date` in the city, in microseconds.
fn charge_time(app: &App, date: Date) -> i64 {
    date.at(CHARGE_HOUR, 0, 0, 0)
        .to_zoned_datetime(app.config.timezone.clone())
        .map(|z| z.timestamp().as_microsecond())
        .unwrap_or_else(|_| app.now_us())
}

async fn enqueue_run(tx: &mut Tx, app: &App, id: i64, date: Date) -> Result<(), StoreError> {
    let payload = json!({ "planned_id": id }).to_string();
    store::jobs::enqueue(
        tx,
        &NewJob {
            kind: PLANNED_JOB,
            payload: &payload,
            dedupe_key: Some(&format!("planned:{id}")),
            run_at: charge_time(app, date).max(app.now_us()),
            max_attempts: 50,
        },
        app.now_us(),
    )
    .await?;
    Ok(())
}

/// Schedules a payment of `amount` on one of the resident's linked bills
/// for `date` (from tomorrow up to the due date).
pub async fn schedule(
    app: &App,
    resident: &ResidentRow,
    (receivable_id, method_id): (i64, i64),
    amount: Cents,
    date: Date,
    ip: Option<IpAddr>,
) -> Result<i64, WalletError> {
    let view = store::receivables::view(app.db.reader(), receivable_id, app.now_us())
        .await?
        .ok_or(WalletError::NotFound)?;
    let linked = store::residents::links(app.db.reader(), resident.id)
        .await?
        .iter()
        .any(|l| l.service_account_id == view.service_account_id);
    if !linked {
        return Err(WalletError::NotFound);
    }
    rows::method(app.db.reader(), resident.id, method_id)
        .await?
        .ok_or(WalletError::NotFound)?;
    let today = crate::services::close::today(app);
    let due: Date = view
        .due_date
        .parse()
        .map_err(|_| StoreError::corrupt("due date"))?;
    if date <= today || date > due {
        return Err(WalletError::Invalid("date"));
    }
    let dept = app
        .config
        .department(&view.department)
        .ok_or(WalletError::NotFound)?;
    dept.rules
        .check(amount, view.available())
        .map_err(PaymentError::from)?;
    let mut tx = app.db.begin().await?;
    let planned = NewPlanned {
        kind: "scheduled",
        resident_id: resident.id,
        receivable_id,
        method_id: Some(method_id),
        amount_cents: Some(amount.get()),
        charge_on: &date.to_string(),
    };
    let id = rows::insert_planned(&mut tx, &planned, app.now_us())
        .await?
        .ok_or(WalletError::Invalid("already scheduled"))?;
    enqueue_run(&mut tx, app, id, date).await?;
    let what = (
        &actor(resident.id),
        "payment.scheduled",
        format!("planned_charge:{id}"),
    );
    let details = json!({ "receivable": receivable_id, "amount_cents": amount.get(), "date": date.to_string() });
    record(&mut tx, app, what, ip, details).await?;
    tx.commit().await?;
    Ok(id)
}

/// Cancels a scheduled payment that has not run; `false` if there was none.
pub async fn cancel_scheduled(
    app: &App,
    resident: &ResidentRow,
    id: i64,
    ip: Option<IpAddr>,
) -> Result<bool, WalletError> {
    let mut tx = app.db.begin().await?;
    if !rows::cancel_scheduled(&mut tx, resident.id, id, app.now_us()).await? {
        return Ok(false);
    }
    let what = (
        &actor(resident.id),
        "payment.schedule_cancelled",
        format!("planned_charge:{id}"),
    );
    record(&mut tx, app, what, ip, json!({})).await?;
    tx.commit().await?;
    Ok(true)
}

/// Plans the autopay charge of every bill that needs one, with its
/// reminder e-mail (run by the sweep; each bill is planned once).
pub async fn plan_autopay(app: &App) -> Result<usize, StoreError> {
    let today = crate::services::close::today(app);
    let mut tx = app.db.begin().await?;
    let due = rows::autopay_unplanned(&mut tx, &today.to_string(), 500).await?;
    let mut planned = 0;
    for d in &due {
        let Ok(due_date) = d.due_date.parse::<Date>() else {
            continue;
        };
        let on = due_date
            .checked_sub(jiff::Span::new().days(d.days_before))
            .unwrap_or(due_date)
            .max(today);
        let new = NewPlanned {
            kind: "autopay",
            resident_id: d.resident_id,
            receivable_id: d.receivable_id,
            method_id: None,
            amount_cents: None,
            charge_on: &on.to_string(),
        };
        let Some(id) = rows::insert_planned(&mut tx, &new, app.now_us()).await? else {
            continue;
        };
        enqueue_run(&mut tx, app, id, on).await?;
        residents::enqueue_mail(
            &mut tx,
            app,
            &Mail::AutopayPlanned {
                resident_id: d.resident_id,
                planned_id: id,
            },
            &format!("autopay-planned:{id}"),
        )
        .await?;
        let what = (
            &Actor::System("autopay"),
            "autopay.planned",
            format!("planned_charge:{id}"),
        );
        record(
            &mut tx,
            app,
            what,
            None,
            json!({ "receivable": d.receivable_id, "date": on.to_string() }),
        )
        .await?;
        planned += 1;
    }
    tx.commit().await?;
    Ok(planned)
}

/// What the job does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    Done,
    /// Try again at this time (microseconds): a declined autopay charge.
    RetryAt(i64),
}

/// Ends a planned charge that will not be made, telling the resident why
/// when `tell` names the reason.
async fn end_planned(
    app: &App,
    p: &PlannedRow,
    (status, note): (&str, &str),
    payment_id: Option<&str>,
    tell: Option<Mail>,
) -> Result<(), WalletError> {
    let mut tx = app.db.begin().await?;
    if rows::finish_planned(
        &mut tx,
        p.id,
        status,
        (payment_id, Some(note)),
        app.now_us(),
    )
    .await?
    {
        if let Some(mail) = tell {
            residents::enqueue_mail(&mut tx, app, &mail, &format!("planned:{}:{status}", p.id))
                .await?;
        }
        let what = (
            &Actor::System("autopay"),
            "planned_charge.ended",
            format!("planned_charge:{}", p.id),
        );
        let details = json!({ "status": status, "note": note, "payment": payment_id });
        record(&mut tx, app, what, None, details).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Runs a planned charge (the job's handler). Safe to run again: the
/// payment and the charge are found by keys derived from the plan.
pub async fn run_planned(app: &App, id: i64) -> Result<Ran, WalletError> {
    let Some(p) = rows::planned(app.db.reader(), id).await? else {
        return Ok(Ran::Done);
    };
    if p.status != "scheduled" {
        return Ok(Ran::Done);
    }
    let Some(resident) = store::residents::by_id(app.db.reader(), p.resident_id).await? else {
        return Ok(Ran::Done);
    };
    let view = store::receivables::view(app.db.reader(), p.receivable_id, app.now_us())
        .await?
        .ok_or(WalletError::NotFound)?;
    let tell = |reason: &'static str| Mail::ChargeNotMade {
        resident_id: p.resident_id,
        planned_id: p.id,
        reason: reason.to_owned(),
    };
    // Autopay follows the account's settings at the time of the charge.
    let (method_id, max) = if p.kind == "autopay" {
        match rows::autopay_for(app.db.reader(), p.resident_id, view.service_account_id).await? {
            Some(a) => (Some(a.method_id), a.max_cents),
            None => {
                end_planned(app, &p, ("cancelled", "autopay turned off"), None, None).await?;
                return Ok(Ran::Done);
            }
        }
    } else {
        (p.method_id, None)
    };
    let card = match method_id {
        Some(m) => rows::method(app.db.reader(), p.resident_id, m).await?,
        None => None,
    };
    let Some(card) = card else {
        end_planned(
            app,
            &p,
            ("skipped", "card removed"),
            None,
            Some(tell("card_removed")),
        )
        .await?;
        return Ok(Ran::Done);
    };
    let key = format!("planned-{}-{}", p.id, p.attempts);
    // A run interrupted after it made this attempt's payment resumes it
    // (its amount is reserved, so the checks below would see nothing owed).
    let amount = match store::payments::by_idempotency_key(app.db.reader(), &key).await? {
        Some(existing) => existing.amount,
        None => {
            let owed = view.available();
            if !owed.is_positive() {
                end_planned(app, &p, ("skipped", "nothing owed"), None, None).await?;
                return Ok(Ran::Done);
            }
            let amount = match p.amount_cents {
                Some(a) => Cents::new(a).min(owed),
                None => owed,
            };
            if let Some(max) = max
                && amount.get() > max
            {
                let why = ("skipped", "above the maximum");
                end_planned(app, &p, why, None, Some(tell("over_max"))).await?;
                return Ok(Ran::Done);
            }
            amount
        }
    };
    let email = residents::email_of(app, &resident)
        .map_err(|e| WalletError::Store(StoreError::corrupt(format!("resident address: {e}"))))?;
    let charge_actor = Actor::System("autopay");
    let customer = rows::customer(app.db.reader(), p.resident_id).await?;
    let req = StartRequest {
        items: vec![StartItem {
            receivable_id: p.receivable_id,
            amount,
            seen_balance: None,
        }],
        idempotency_key: &key,
        email: Some(email),
        locale: Locale::parse(&resident.locale).unwrap_or_default(),
        actor: &charge_actor,
        source_ip: None,
    };
    let (payment_id, charged) =
        match payments::charge_saved(app, req, (customer.as_deref(), &card.method_ref)).await {
            Ok(v) => v,
            // The bill changed (paid at the counter, re-billed) or the rules
            // refuse the amount: no charge.
            Err(
                PaymentError::Amount(_)
                | PaymentError::Changed(_)
                | PaymentError::UnknownReceivable,
            ) => {
                end_planned(app, &p, ("skipped", "the bill changed"), None, None).await?;
                return Ok(Ran::Done);
            }
            Err(e) => return Err(e.into()),
        };
    match charged {
        Charged::Paid(_) => {
            end_planned(app, &p, ("paid", "paid"), Some(&payment_id), None).await?;
            Ok(Ran::Done)
        }
        Charged::NeedsHolder => {
            end_planned(
                app,
                &p,
                ("needs_action", "the bank wants the card holder"),
                Some(&payment_id),
                Some(tell("needs_holder")),
            )
            .await?;
            Ok(Ran::Done)
        }
        Charged::Declined(reason) => {
            let today = crate::services::close::today(app);
            let retry_on = today
                .checked_add(jiff::Span::new().days(RETRY_DAYS))
                .ok()
                .filter(|d| d.to_string() <= view.due_date);
            match retry_on {
                Some(on) if p.kind == "autopay" && p.attempts < RETRIES => {
                    let mut tx = app.db.begin().await?;
                    rows::retry_planned(
                        &mut tx,
                        p.id,
                        &on.to_string(),
                        reason.code(),
                        app.now_us(),
                    )
                    .await?;
                    residents::enqueue_mail(
                        &mut tx,
                        app,
                        &Mail::ChargeDeclined {
                            resident_id: p.resident_id,
                            planned_id: p.id,
                            retry_on: Some(on.to_string()),
                        },
                        &format!("planned:{}:declined:{}", p.id, p.attempts),
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(Ran::RetryAt(charge_time(app, on)))
                }
                _ => {
                    end_planned(
                        app,
                        &p,
                        ("declined", reason.code()),
                        Some(&payment_id),
                        Some(Mail::ChargeDeclined {
                            resident_id: p.resident_id,
                            planned_id: p.id,
                            retry_on: None,
                        }),
                    )
                    .await?;
                    Ok(Ran::Done)
                }
            }
        }
    }
}
