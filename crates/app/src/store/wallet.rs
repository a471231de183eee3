//! Saved cards, visits to the processor's page for saving one, autopay
//! settings and the charges planned on saved cards.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Conn, StoreError};

#[derive(Debug, Clone)]
pub struct MethodRow {
    pub id: i64,
    pub resident_id: i64,
    pub processor: String,
    pub method_ref: String,
    pub brand: String,
    pub last4: String,
}

fn method_from(r: &AnyRow) -> Result<MethodRow, StoreError> {
    Ok(MethodRow {
        id: r.try_get("id")?,
        resident_id: r.try_get("resident_id")?,
        processor: r.try_get("processor")?,
        method_ref: r.try_get("method_ref")?,
        brand: r.try_get("brand")?,
        last4: r.try_get("last4")?,
    })
}

const METHOD: &str =
    "SELECT id, resident_id, processor, method_ref, brand, last4 FROM wallet_methods";

/// The resident's saved cards (not removed), oldest first.
pub async fn methods<'e, E: Executor<'e, Database = Any>>(
    db: E,
    resident_id: i64,
) -> Result<Vec<MethodRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "{METHOD} WHERE resident_id = $1 AND removed_at IS NULL ORDER BY id"
    ))
    .bind(resident_id)
    .fetch_all(db)
    .await?;
    rows.iter().map(method_from).collect()
}

/// One saved card, if it is the resident's and not removed.
pub async fn method<'e, E: Executor<'e, Database = Any>>(
    db: E,
    resident_id: i64,
    id: i64,
) -> Result<Option<MethodRow>, StoreError> {
    let row = sqlx::query(&format!(
        "{METHOD} WHERE id = $1 AND resident_id = $2 AND removed_at IS NULL"
    ))
    .bind(id)
    .bind(resident_id)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(method_from).transpose()
}

pub struct NewMethod<'a> {
    pub resident_id: i64,
    pub processor: &'a str,
    pub method_ref: &'a str,
    pub brand: &'a str,
    pub last4: &'a str,
}

/// Saves the card; `None` when this token was saved already.
pub async fn insert_method(
    conn: &mut Conn,
    m: &NewMethod<'_>,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "INSERT INTO wallet_methods (resident_id, processor, method_ref, brand, last4, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (processor, method_ref) DO NOTHING RETURNING id",
    )
    .bind(m.resident_id)
    .bind(m.processor)
    .bind(m.method_ref)
    .bind(m.brand)
    .bind(m.last4)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// Marks the card removed and turns off the autopay that used it; the
/// scheduled payments on it are cancelled. `false` if it was not there.
pub async fn remove_method(
    conn: &mut Conn,
    resident_id: i64,
    id: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE wallet_methods SET removed_at = $3
         WHERE id = $1 AND resident_id = $2 AND removed_at IS NULL",
    )
    .bind(id)
    .bind(resident_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE resident_links SET autopay_method_id = NULL, autopay_days = NULL,
             autopay_max_cents = NULL
         WHERE resident_id = $1 AND autopay_method_id = $2",
    )
    .bind(resident_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE planned_charges SET status = 'cancelled', note = 'card removed', updated_at = $3
         WHERE resident_id = $1 AND method_id = $2 AND status = 'scheduled'",
    )
    .bind(resident_id)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

pub async fn set_customer(
    conn: &mut Conn,
    resident_id: i64,
    customer: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE residents SET processor_customer = $2 WHERE id = $1 AND processor_customer IS NULL",
    )
    .bind(resident_id)
    .bind(customer)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn customer<'e, E: Executor<'e, Database = Any>>(
    db: E,
    resident_id: i64,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT processor_customer FROM residents WHERE id = $1")
        .bind(resident_id)
        .fetch_optional(db)
        .await?;
    Ok(row
        .map(|r| r.try_get::<Option<String>, _>("processor_customer"))
        .transpose()?
        .flatten())
}

pub async fn insert_setup(
    conn: &mut Conn,
    token: &str,
    resident_id: i64,
    processor_ref: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO wallet_setups (token, resident_id, processor_ref, status, created_at)
         VALUES ($1, $2, $3, 'open', $4)",
    )
    .bind(token)
    .bind(resident_id)
    .bind(processor_ref)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The processor's id for the resident's setup visit, while still open.
pub async fn open_setup<'e, E: Executor<'e, Database = Any>>(
    db: E,
    token: &str,
    resident_id: i64,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT processor_ref FROM wallet_setups
         WHERE token = $1 AND resident_id = $2 AND status = 'open'",
    )
    .bind(token)
    .bind(resident_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| r.try_get("processor_ref")).transpose()?)
}

/// Closes the setup visit; `false` if another request closed it first.
pub async fn close_setup(conn: &mut Conn, token: &str, status: &str) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE wallet_setups SET status = $2 WHERE token = $1 AND status = 'open'")
            .bind(token)
            .bind(status)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Autopay on a linked account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autopay {
    pub method_id: i64,
    pub days_before: i64,
    pub max_cents: Option<i64>,
}

/// Cancels the charges planned (autopay, or with `scheduled` also the
/// resident's scheduled payments) on the account behind one link.
pub async fn cancel_planned_for_link(
    conn: &mut Conn,
    resident_id: i64,
    link_id: i64,
    (scheduled, note): (bool, &str),
    now: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE planned_charges SET status = 'cancelled', note = $4, updated_at = $5
         WHERE resident_id = $1 AND status = 'scheduled' AND (kind = 'autopay' OR $3 = 1)
           AND receivable_id IN (SELECT r.id FROM receivables r JOIN resident_links l
                                 ON l.service_account_id = r.service_account_id
                                 WHERE l.id = $2 AND l.resident_id = $1)",
    )
    .bind(resident_id)
    .bind(link_id)
    .bind(i64::from(scheduled))
    .bind(note)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Sets (or with `None` clears) autopay on one of the resident's links;
/// `false` if the link is not theirs.
pub async fn set_autopay(
    conn: &mut Conn,
    resident_id: i64,
    link_id: i64,
    autopay: Option<Autopay>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE resident_links SET autopay_method_id = $3, autopay_days = $4,
             autopay_max_cents = $5
         WHERE id = $1 AND resident_id = $2",
    )
    .bind(link_id)
    .bind(resident_id)
    .bind(autopay.map(|a| a.method_id))
    .bind(autopay.map(|a| a.days_before))
    .bind(autopay.and_then(|a| a.max_cents))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The autopay on the resident's link to `service_account_id`, if on.
pub async fn autopay_for<'e, E: Executor<'e, Database = Any>>(
    db: E,
    resident_id: i64,
    service_account_id: i64,
) -> Result<Option<Autopay>, StoreError> {
    let row = sqlx::query(
        "SELECT autopay_method_id, autopay_days, autopay_max_cents FROM resident_links
         WHERE resident_id = $1 AND service_account_id = $2 AND autopay_method_id IS NOT NULL",
    )
    .bind(resident_id)
    .bind(service_account_id)
    .fetch_optional(db)
    .await?;
    row.map(|r| autopay_from(&r)).transpose()
}

fn autopay_from(r: &AnyRow) -> Result<Autopay, StoreError> {
    Ok(Autopay {
        method_id: r.try_get("autopay_method_id")?,
        days_before: r.try_get::<Option<i64>, _>("autopay_days")?.unwrap_or(0),
        max_cents: r.try_get("autopay_max_cents")?,
    })
}

/// Autopay settings of each of the resident's links, by link id.
pub async fn autopays<'e, E: Executor<'e, Database = Any>>(
    db: E,
    resident_id: i64,
) -> Result<Vec<(i64, Autopay)>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, autopay_method_id, autopay_days, autopay_max_cents FROM resident_links
         WHERE resident_id = $1 AND autopay_method_id IS NOT NULL",
    )
    .bind(resident_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, autopay_from(r)?)))
        .collect()
}

/// A bill autopay should plan a charge for.
#[derive(Debug, Clone)]
pub struct AutopayDue {
    pub resident_id: i64,
    pub receivable_id: i64,
    pub due_date: String,
    pub days_before: i64,
}

/// Bills with something owed, due today or later, on accounts with
/// autopay, that have no autopay charge planned yet.
pub async fn autopay_unplanned(
    conn: &mut Conn,
    today: &str,
    limit: i64,
) -> Result<Vec<AutopayDue>, StoreError> {
    let rows = sqlx::query(
        "SELECT l.resident_id, r.id AS receivable_id, r.due_date, l.autopay_days
         FROM resident_links l
         JOIN residents p ON p.id = l.resident_id AND p.confirmed_at IS NOT NULL
         JOIN receivables r ON r.service_account_id = l.service_account_id
         WHERE l.autopay_method_id IS NOT NULL AND r.due_date >= $1
           AND r.amount_due_cents + COALESCE((SELECT CAST(SUM(j.amount_cents) AS BIGINT)
                 FROM journal_lines j WHERE j.receivable_id = r.id), 0) > 0
           AND NOT EXISTS (SELECT 1 FROM planned_charges c WHERE c.kind = 'autopay'
                           AND c.status <> 'cancelled'
                           AND c.resident_id = l.resident_id AND c.receivable_id = r.id)
         ORDER BY r.id LIMIT $2",
    )
    .bind(today)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AutopayDue {
                resident_id: r.try_get("resident_id")?,
                receivable_id: r.try_get("receivable_id")?,
                due_date: r.try_get("due_date")?,
                days_before: r.try_get::<Option<i64>, _>("autopay_days")?.unwrap_or(0),
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct PlannedRow {
    pub id: i64,
    pub kind: String,
    pub resident_id: i64,
    pub receivable_id: i64,
    pub method_id: Option<i64>,
    pub amount_cents: Option<i64>,
    pub charge_on: String,
    pub status: String,
    pub attempts: i64,
    pub payment_id: Option<String>,
}

const PLANNED: &str = "SELECT id, kind, resident_id, receivable_id, method_id, amount_cents,
    charge_on, status, attempts, payment_id FROM planned_charges";

fn planned_from(r: &AnyRow) -> Result<PlannedRow, StoreError> {
    Ok(PlannedRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        resident_id: r.try_get("resident_id")?,
        receivable_id: r.try_get("receivable_id")?,
        method_id: r.try_get("method_id")?,
        amount_cents: r.try_get("amount_cents")?,
        charge_on: r.try_get("charge_on")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        payment_id: r.try_get("payment_id")?,
    })
}

pub struct NewPlanned<'a> {
    pub kind: &'a str,
    pub resident_id: i64,
    pub receivable_id: i64,
    pub method_id: Option<i64>,
    pub amount_cents: Option<i64>,
    pub charge_on: &'a str,
}

/// Plans a charge; `None` when autopay already planned this bill.
pub async fn insert_planned(
    conn: &mut Conn,
    p: &NewPlanned<'_>,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "INSERT INTO planned_charges (kind, resident_id, receivable_id, method_id, amount_cents,
             charge_on, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', $7, $7)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(p.kind)
    .bind(p.resident_id)
    .bind(p.receivable_id)
    .bind(p.method_id)
    .bind(p.amount_cents)
    .bind(p.charge_on)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

pub async fn planned<'e, E: Executor<'e, Database = Any>>(
    db: E,
    id: i64,
) -> Result<Option<PlannedRow>, StoreError> {
    let row = sqlx::query(&format!("{PLANNED} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(planned_from).transpose()
}

/// The resident's planned charges still to run, soonest first.
pub async fn upcoming<'e, E: Executor<'e, Database = Any>>(
    db: E,
    resident_id: i64,
) -> Result<Vec<PlannedRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "{PLANNED} WHERE resident_id = $1 AND status = 'scheduled' ORDER BY charge_on, id"
    ))
    .bind(resident_id)
    .fetch_all(db)
    .await?;
    rows.iter().map(planned_from).collect()
}

/// Moves a planned charge on from `scheduled`; `false` if it had already
/// moved (cancelled meanwhile, or run by another node).
pub async fn finish_planned(
    conn: &mut Conn,
    id: i64,
    status: &str,
    (payment_id, note): (Option<&str>, Option<&str>),
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE planned_charges SET status = $2, payment_id = COALESCE($3, payment_id),
             note = $4, updated_at = $5
         WHERE id = $1 AND status = 'scheduled'",
    )
    .bind(id)
    .bind(status)
    .bind(payment_id)
    .bind(note)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A declined attempt that will be tried again on `charge_on`.
pub async fn retry_planned(
    conn: &mut Conn,
    id: i64,
    charge_on: &str,
    note: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE planned_charges SET attempts = attempts + 1, charge_on = $2, note = $3,
             updated_at = $4
         WHERE id = $1 AND status = 'scheduled'",
    )
    .bind(id)
    .bind(charge_on)
    .bind(note)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Cancels one of the resident's scheduled payments; `false` if it is not
/// theirs or no longer waiting.
pub async fn cancel_scheduled(
    conn: &mut Conn,
    resident_id: i64,
    id: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE planned_charges SET status = 'cancelled', note = 'cancelled by the resident',
             updated_at = $3
         WHERE id = $1 AND resident_id = $2 AND kind = 'scheduled' AND status = 'scheduled'",
    )
    .bind(id)
    .bind(resident_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
