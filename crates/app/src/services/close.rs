//! The daily close: totals for a business date (city time), the
//! reconciliation of our books against what the processor reports for the
//! same day, and closing the date so nothing more is posted to it.

use std::collections::HashMap;
use std::net::IpAddr;

use domain::Cents;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::processor::{Payout, TransactionKind};
use crate::services::staff_auth::SignedIn;
use crate::store::close::{AccountTotals, ClosedRow, DepartmentTotals, MethodTotals};
use crate::store::{self, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MismatchReason {
    MissingAtProcessor,
    MissingInLedger,
    AmountDiffers,
}

impl MismatchReason {
    pub fn describe(self) -> &'static str {
        match self {
            MismatchReason::MissingAtProcessor => "in our books, missing at the processor",
            MismatchReason::MissingInLedger => "at the processor, missing in our books",
            MismatchReason::AmountDiffers => "the amounts differ",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `charge`, `refund` or `refund returned`.
    pub kind: &'static str,
    pub id: String,
    pub checkout: String,
    pub reason: MismatchReason,
    pub ours: Option<Cents>,
    pub processor: Option<Cents>,
}

/// The day as the processor reports it, matched against our books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub mismatches: Vec<Mismatch>,
    /// What the processor charged and refunded, and kept as fees.
    pub charges: Cents,
    pub refunds: Cents,
    /// Refunds that could not be completed: their money came back.
    pub returned: Cents,
    pub fees: Cents,
    /// Charges less refunds (plus those that came back) and fees: what
    /// should reach the bank.
    pub net: Cents,
    /// Payouts to the bank created that day.
    pub payouts: Vec<Payout>,
}

pub struct DayReport {
    pub date: Date,
    pub departments: Vec<DepartmentTotals>,
    pub methods: Vec<MethodTotals>,
    pub accounts: Vec<AccountTotals>,
    /// `Err` when the processor could not be asked.
    pub reconciliation: Result<Reconciliation, String>,
    pub closed: Option<ClosedRow>,
    /// The day is over in the city's time zone.
    pub over: bool,
    pub gross: Cents,
    pub refunded: Cents,
}

#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    #[error("{0} has not ended yet; a day can be closed once it is over")]
    NotOver(Date),
    #[error("{0} is already closed")]
    AlreadyClosed(Date),
    #[error("the processor could not be asked, so the day cannot be reconciled: {0}")]
    NotReconciled(String),
    #[error("there are {0} mismatches: explain them in the note before closing")]
    NoteRequired(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CloseError {
    fn from(e: sqlx::Error) -> Self {
        CloseError::Store(StoreError::from(e))
    }
}

pub fn today(app: &App) -> Date {
    app.now()
        .to_zoned_datetime(app.config.timezone.clone())
        .date()
}

/// `[start, end)` of a date in the city's time zone.
fn bounds(app: &App, date: Date) -> Option<(Timestamp, Timestamp)> {
    let tz = app.config.timezone.clone();
    let start = date.to_zoned_datetime(tz.clone()).ok()?;
    let end = date.tomorrow().ok()?.to_zoned_datetime(tz).ok()?;
    Some((start.timestamp(), end.timestamp()))
}

pub async fn reconcile(
    app: &App,
    date: Date,
) -> Result<Result<Reconciliation, String>, StoreError> {
    let d = date.to_string();
    let ours = store::close::ledger_movements(app.db.reader(), &d).await?;
    let Some((from, to)) = bounds(app, date) else {
        return Ok(Err("the date is outside the time zone's range".into()));
    };
    let theirs = match app.processor.transactions(from, to).await {
        Ok(t) => t,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let payouts = match app.processor.payouts(from, to).await {
        Ok(p) => p,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let total = |kind: TransactionKind| {
        Cents::sum(theirs.iter().filter(|t| t.kind == kind).map(|t| t.amount))
    };
    let totals = (|| {
        let charges = total(TransactionKind::Charge)?;
        let refunds = total(TransactionKind::Refund)?;
        let returned = total(TransactionKind::RefundFailure)?;
        let fees = Cents::sum(theirs.iter().map(|t| t.fee))?;
        let net = charges
            .checked_sub(refunds)?
            .checked_add(returned)?
            .checked_sub(fees)?;
        Ok::<_, domain::money::MoneyError>((charges, refunds, returned, fees, net))
    })();
    let Ok((charges, refunds, returned, fees, net)) = totals else {
        return Ok(Err("the processor's amounts overflow".into()));
    };
    let mut theirs_by: HashMap<(TransactionKind, String), (String, Cents)> = theirs
        .into_iter()
        .map(|t| ((t.kind, t.id), (t.checkout_ref, t.amount)))
        .collect();
    let mut out = Vec::new();
    let kind = |k: TransactionKind| match k {
        TransactionKind::Charge => "charge",
        TransactionKind::Refund => "refund",
        TransactionKind::RefundFailure => "refund returned",
    };
    for (refund, id, checkout, amount) in ours {
        match theirs_by.remove(&(refund, id.clone())) {
            None => out.push(Mismatch {
                kind: kind(refund),
                id,
                checkout,
                reason: MismatchReason::MissingAtProcessor,
                ours: Some(amount),
                processor: None,
            }),
            Some((_, theirs)) if theirs != amount => out.push(Mismatch {
                kind: kind(refund),
                id,
                checkout,
                reason: MismatchReason::AmountDiffers,
                ours: Some(amount),
                processor: Some(theirs),
            }),
            Some(_) => {}
        }
    }
    let mut rest: Vec<_> = theirs_by.into_iter().collect();
    rest.sort_by(|a, b| a.0.1.cmp(&b.0.1));
    for ((refund, id), (checkout, amount)) in rest {
        out.push(Mismatch {
            kind: kind(refund),
            id,
            checkout,
            reason: MismatchReason::MissingInLedger,
            ours: None,
            processor: Some(amount),
        });
    }
    Ok(Ok(Reconciliation {
        mismatches: out,
        charges,
        refunds,
        returned,
        fees,
        net,
        payouts,
    }))
}

pub async fn report(app: &App, date: Date) -> Result<DayReport, StoreError> {
    let d = date.to_string();
    let reader = app.db.reader();
    let departments = store::close::department_totals(reader, &d).await?;
    let gross = Cents::sum(departments.iter().flat_map(|t| [t.principal, t.fees]))
        .map_err(|e| StoreError::corrupt(e.to_string()))?;
    let refunded = Cents::sum(
        departments
            .iter()
            .flat_map(|t| [t.refunded_principal, t.refunded_fees]),
    )
    .map_err(|e| StoreError::corrupt(e.to_string()))?;
    Ok(DayReport {
        date,
        methods: store::close::method_totals(reader, &d).await?,
        accounts: store::close::account_totals(reader, &d).await?,
        reconciliation: reconcile(app, date).await?,
        closed: store::close::closed_info(reader, &d).await?,
        over: date < today(app),
        departments,
        gross,
        refunded,
    })
}

pub async fn close_day(
    app: &App,
    who: &SignedIn,
    date: Date,
    note: &str,
    ip: Option<IpAddr>,
) -> Result<(), CloseError> {
    if date >= today(app) {
        return Err(CloseError::NotOver(date));
    }
    let r = report(app, date).await?;
    if r.closed.is_some() {
        return Err(CloseError::AlreadyClosed(date));
    }
    let reconciled = r
        .reconciliation
        .as_ref()
        .map_err(|e| CloseError::NotReconciled(e.clone()))?;
    let mismatches = &reconciled.mismatches;
    let note = note.trim();
    if !mismatches.is_empty() && note.is_empty() {
        return Err(CloseError::NoteRequired(mismatches.len()));
    }
    let summary = json!({
        "gross_cents": r.gross.get(),
        "refunded_cents": r.refunded.get(),
        "departments": r.departments.iter().map(|d| json!({
            "department": d.department,
            "payments": d.payments,
            "principal_cents": d.principal.get(),
            "fee_cents": d.fees.get(),
            "refunds": d.refunds,
            "refunded_principal_cents": d.refunded_principal.get(),
            "refunded_fee_cents": d.refunded_fees.get(),
        })).collect::<Vec<_>>(),
        "processor": {
            "charges_cents": reconciled.charges.get(),
            "refunds_cents": reconciled.refunds.get(),
            "fees_cents": reconciled.fees.get(),
            "net_cents": reconciled.net.get(),
            "payouts": reconciled.payouts.iter().map(|p| json!({
                "id": p.id, "amount": p.amount, "currency": p.currency,
                "arrival": p.arrival.to_string(), "status": p.status,
            })).collect::<Vec<_>>(),
        },
        "mismatches": mismatches.iter().map(|m| json!({
            "kind": m.kind, "id": m.id, "reason": m.reason.describe(),
            "ours_cents": m.ours.map(Cents::get), "processor_cents": m.processor.map(Cents::get),
        })).collect::<Vec<_>>(),
    });
    let d = date.to_string();
    let mut tx = app.db.begin().await?;
    let count = i64::try_from(mismatches.len()).unwrap_or(i64::MAX);
    if !store::close::close(
        &mut tx,
        &d,
        who.id,
        app.now_us(),
        count,
        note,
        &summary.to_string(),
    )
    .await?
    {
        return Err(CloseError::AlreadyClosed(date));
    }
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor: &who.actor(),
            action: "close.day_closed",
            target: Some(format!("business_date:{d}")),
            outcome: Outcome::Success,
            source_ip: ip,
            details: json!({ "mismatches": count, "gross_cents": r.gross.get(), "refunded_cents": r.refunded.get() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
