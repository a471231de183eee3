//! Payments and their items. Status changes are compare-and-set: the
//! UPDATE names the status the service saw, so two racing writers cannot
//! both move a payment.

use domain::Cents;
use domain::payment::PaymentStatus;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use super::{Conn, StoreError, col};
use crate::i18n::Locale;

#[derive(Debug, Clone)]
pub struct PaymentRow {
    pub id: String,
    pub idempotency_key: String,
    pub status: PaymentStatus,
    pub amount: Cents,
    pub fee: Cents,
    pub total: Cents,
    pub currency: String,
    pub processor: String,
    pub processor_ref: Option<String>,
    pub checkout_url: Option<String>,
    pub receipt_email_enc: Option<String>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub failure_code: Option<String>,
    pub receipt_number: Option<String>,
    pub business_date: Option<String>,
    /// The language the resident paid in.
    pub locale: Locale,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ItemRow {
    pub line_no: i64,
    pub receivable_id: i64,
    pub department: String,
    pub amount: Cents,
    pub fee: Cents,
}

const COLUMNS: &str = "id, idempotency_key, status, amount_cents, fee_cents, total_cents, currency,
    processor, processor_ref, checkout_url, receipt_email_enc, card_brand, card_last4, failure_code,
    receipt_number, business_date, locale, created_at, updated_at, expires_at, completed_at";

fn from_row(row: &AnyRow) -> Result<PaymentRow, StoreError> {
    let status: String = col(row, "status")?;
    Ok(PaymentRow {
        id: col(row, "id")?,
        idempotency_key: col(row, "idempotency_key")?,
        status: PaymentStatus::parse(&status).map_err(|e| StoreError::corrupt(e.to_string()))?,
        amount: Cents::new(col(row, "amount_cents")?),
        fee: Cents::new(col(row, "fee_cents")?),
        total: Cents::new(col(row, "total_cents")?),
        currency: col(row, "currency")?,
        processor: col(row, "processor")?,
        processor_ref: col(row, "processor_ref")?,
        checkout_url: col(row, "checkout_url")?,
        receipt_email_enc: col(row, "receipt_email_enc")?,
        card_brand: col(row, "card_brand")?,
        card_last4: col(row, "card_last4")?,
        failure_code: col(row, "failure_code")?,
        receipt_number: col(row, "receipt_number")?,
        business_date: col(row, "business_date")?,
        locale: {
            let code: String = col(row, "locale")?;
            Locale::parse(&code)
                .ok_or_else(|| StoreError::corrupt(format!("unknown payment locale {code:?}")))?
        },
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        expires_at: col(row, "expires_at")?,
        completed_at: col(row, "completed_at")?,
    })
}

pub struct NewItem<'a> {
    pub receivable_id: i64,
    pub department: &'a str,
    pub amount: Cents,
    pub fee: Cents,
}

pub struct NewPayment<'a> {
    pub id: &'a str,
    pub idempotency_key: &'a str,
    pub amount: Cents,
    pub fee: Cents,
    pub total: Cents,
    pub processor: &'a str,
    pub receipt_email_enc: Option<&'a str>,
    pub locale: Locale,
    pub created_at: i64,
    pub expires_at: i64,
    pub items: &'a [NewItem<'a>],
}

pub async fn insert(conn: &mut Conn, p: &NewPayment<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO payments (id, idempotency_key, status, amount_cents, fee_cents, total_cents,
             currency, processor, receipt_email_enc, created_at, updated_at, expires_at, locale)
         VALUES ($1, $2, 'created', $3, $4, $5, 'USD', $6, $7, $8, $8, $9, $10)",
    )
    .bind(p.id)
    .bind(p.idempotency_key)
    .bind(p.amount.get())
    .bind(p.fee.get())
    .bind(p.total.get())
    .bind(p.processor)
    .bind(p.receipt_email_enc)
    .bind(p.created_at)
    .bind(p.expires_at)
    .bind(p.locale.code())
    .execute(&mut *conn)
    .await?;
    for (i, item) in p.items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO payment_items (payment_id, line_no, receivable_id, department,
                 amount_cents, fee_cents)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(p.id)
        .bind(i64::try_from(i + 1).unwrap_or(i64::MAX))
        .bind(item.receivable_id)
        .bind(item.department)
        .bind(item.amount.get())
        .bind(item.fee.get())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn by_id<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: &str,
) -> Result<Option<PaymentRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payments WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(ex).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_idempotency_key<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    key: &str,
) -> Result<Option<PaymentRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payments WHERE idempotency_key = $1");
    let row = sqlx::query(&sql).bind(key).fetch_optional(ex).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_processor_ref<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    processor: &str,
    processor_ref: &str,
) -> Result<Option<PaymentRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payments WHERE processor = $1 AND processor_ref = $2");
    let row = sqlx::query(&sql)
        .bind(processor)
        .bind(processor_ref)
        .fetch_optional(ex)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn items<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    payment_id: &str,
) -> Result<Vec<ItemRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT line_no, receivable_id, department, amount_cents, fee_cents
         FROM payment_items WHERE payment_id = $1 ORDER BY line_no",
    )
    .bind(payment_id)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ItemRow {
                line_no: col(r, "line_no")?,
                receivable_id: col(r, "receivable_id")?,
                department: col(r, "department")?,
                amount: Cents::new(col(r, "amount_cents")?),
                fee: Cents::new(col(r, "fee_cents")?),
            })
        })
        .collect()
}

/// `created → pending`: the processor has a checkout for it.
pub async fn mark_pending(
    conn: &mut Conn,
    id: &str,
    processor_ref: &str,
    checkout_url: &str,
    expires_at: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE payments SET status = 'pending', processor_ref = $2, checkout_url = $3,
             expires_at = $4, updated_at = $5
         WHERE id = $1 AND status = 'created'",
    )
    .bind(id)
    .bind(processor_ref)
    .bind(checkout_url)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct Capture<'a> {
    pub card_brand: Option<&'a str>,
    pub card_last4: Option<&'a str>,
    pub receipt_number: &'a str,
    pub business_date: &'a str,
    pub captured_at: i64,
}

/// `pending → succeeded`.
pub async fn mark_succeeded(
    conn: &mut Conn,
    id: &str,
    c: &Capture<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE payments SET status = 'succeeded', card_brand = $2, card_last4 = $3,
             receipt_number = $4, business_date = $5, completed_at = $6, updated_at = $6,
             captured_at = $7
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(c.card_brand)
    .bind(c.card_last4)
    .bind(c.receipt_number)
    .bind(c.business_date)
    .bind(now)
    .bind(c.captured_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `from → failed | expired`, with the processor's reason.
pub async fn mark_closed(
    conn: &mut Conn,
    id: &str,
    from: PaymentStatus,
    to: PaymentStatus,
    failure_code: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE payments SET status = $3, failure_code = $4, completed_at = $5, updated_at = $5
         WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(failure_code)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A refund moved a captured payment to `to` (partially refunded or
/// refunded).
pub async fn set_refund_status(
    conn: &mut Conn,
    id: &str,
    from: PaymentStatus,
    to: PaymentStatus,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE payments SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Open payments whose checkout window has passed, oldest first.
pub async fn open_expired<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    now: i64,
    limit: i64,
) -> Result<Vec<PaymentRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments WHERE status IN ('created', 'pending') AND expires_at <= $1
         ORDER BY expires_at LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(now)
        .bind(limit)
        .fetch_all(ex)
        .await?;
    rows.iter().map(from_row).collect()
}
