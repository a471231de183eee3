//! Refunds and their lines. A refund's lines say which receivables (and
//! fees) it returns money for.

use domain::Cents;
use domain::refund::{PaidLine, RefundLine};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use super::{Conn, StoreError, col};

#[derive(Debug, Clone)]
pub struct RefundRow {
    pub id: String,
    pub payment_id: String,
    pub amount: Cents,
    pub reason: String,
    pub status: String,
    pub requested_by: i64,
    pub requested_by_email: String,
    pub decided_by: Option<i64>,
    pub processor_ref: Option<String>,
    pub failure: Option<String>,
    pub business_date: Option<String>,
    pub created_at: i64,
    pub completed_at: Option<i64>,
    /// Set when the processor could not complete the refund after it was
    /// made: when we learnt it, the business date of the reversal, why.
    pub reversed_at: Option<i64>,
    pub reversal_date: Option<String>,
    pub reversal_reason: Option<String>,
}

const SELECT: &str =
    "SELECT r.id, r.payment_id, r.amount_cents, r.reason, r.status, r.requested_by,
    u.email AS requested_by_email, r.decided_by, r.processor_ref, r.failure, r.business_date,
    r.created_at, r.completed_at, r.reversed_at, r.reversal_date, r.reversal_reason
  FROM refunds r JOIN staff_users u ON u.id = r.requested_by";

fn from_row(r: &AnyRow) -> Result<RefundRow, StoreError> {
    Ok(RefundRow {
        id: col(r, "id")?,
        payment_id: col(r, "payment_id")?,
        amount: Cents::new(col(r, "amount_cents")?),
        reason: col(r, "reason")?,
        status: col(r, "status")?,
        requested_by: col(r, "requested_by")?,
        requested_by_email: col(r, "requested_by_email")?,
        decided_by: col(r, "decided_by")?,
        processor_ref: col(r, "processor_ref")?,
        failure: col(r, "failure")?,
        business_date: col(r, "business_date")?,
        created_at: col(r, "created_at")?,
        completed_at: col(r, "completed_at")?,
        reversed_at: col(r, "reversed_at")?,
        reversal_date: col(r, "reversal_date")?,
        reversal_reason: col(r, "reversal_reason")?,
    })
}

pub struct NewRefund<'a> {
    pub id: &'a str,
    pub payment_id: &'a str,
    pub amount: Cents,
    pub reason: &'a str,
    pub status: &'a str,
    pub requested_by: i64,
    pub lines: &'a [RefundLine],
    pub now: i64,
}

pub async fn insert(conn: &mut Conn, r: &NewRefund<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refunds (id, payment_id, amount_cents, reason, status, requested_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.id)
    .bind(r.payment_id)
    .bind(r.amount.get())
    .bind(r.reason)
    .bind(r.status)
    .bind(r.requested_by)
    .bind(r.now)
    .execute(&mut *conn)
    .await?;
    for (i, l) in r.lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO refund_lines (refund_id, line_no, receivable_id, department, principal_cents, fee_cents)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.id)
        .bind(i64::try_from(i + 1).unwrap_or(i64::MAX))
        .bind(l.receivable_id)
        .bind(&l.department)
        .bind(l.principal.get())
        .bind(l.fee.get())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn by_id<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: &str,
) -> Result<Option<RefundRow>, StoreError> {
    let sql = format!("{SELECT} WHERE r.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(ex).await?;
    row.as_ref().map(from_row).transpose()
}

/// The refund the processor knows by `processor_ref`.
pub async fn by_processor_ref<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    processor_ref: &str,
) -> Result<Option<RefundRow>, StoreError> {
    let sql = format!("{SELECT} WHERE r.processor_ref = $1");
    let row = sqlx::query(&sql)
        .bind(processor_ref)
        .fetch_optional(ex)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn for_payment<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    payment_id: &str,
) -> Result<Vec<RefundRow>, StoreError> {
    let sql = format!("{SELECT} WHERE r.payment_id = $1 ORDER BY r.created_at");
    let rows = sqlx::query(&sql).bind(payment_id).fetch_all(ex).await?;
    rows.iter().map(from_row).collect()
}

pub async fn with_status<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    status: &str,
) -> Result<Vec<RefundRow>, StoreError> {
    let sql = format!("{SELECT} WHERE r.status = $1 ORDER BY r.created_at");
    let rows = sqlx::query(&sql).bind(status).fetch_all(ex).await?;
    rows.iter().map(from_row).collect()
}

pub async fn lines<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    refund_id: &str,
) -> Result<Vec<RefundLine>, StoreError> {
    let rows = sqlx::query(
        "SELECT receivable_id, department, principal_cents, fee_cents FROM refund_lines
         WHERE refund_id = $1 ORDER BY line_no",
    )
    .bind(refund_id)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RefundLine {
                receivable_id: col(r, "receivable_id")?,
                department: col(r, "department")?,
                principal: Cents::new(col(r, "principal_cents")?),
                fee: Cents::new(col(r, "fee_cents")?),
            })
        })
        .collect()
}

/// What each line of the payment paid, and what refunds that are not
/// rejected or failed already claim of it.
pub async fn paid_lines(conn: &mut Conn, payment_id: &str) -> Result<Vec<PaidLine>, StoreError> {
    let rows = sqlx::query(
        "SELECT i.receivable_id, i.department, i.amount_cents, i.fee_cents,
            COALESCE((SELECT CAST(SUM(l.principal_cents) AS BIGINT) FROM refund_lines l
                      JOIN refunds r ON r.id = l.refund_id
                      WHERE r.payment_id = i.payment_id AND l.receivable_id = i.receivable_id
                        AND r.status IN ('pending_approval', 'approved', 'succeeded')
                        AND r.reversed_at IS NULL), 0) AS principal_refunded,
            COALESCE((SELECT CAST(SUM(l.fee_cents) AS BIGINT) FROM refund_lines l
                      JOIN refunds r ON r.id = l.refund_id
                      WHERE r.payment_id = i.payment_id AND l.receivable_id = i.receivable_id
                        AND r.status IN ('pending_approval', 'approved', 'succeeded')
                        AND r.reversed_at IS NULL), 0) AS fee_refunded
         FROM payment_items i WHERE i.payment_id = $1 ORDER BY i.line_no",
    )
    .bind(payment_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PaidLine {
                receivable_id: col(r, "receivable_id")?,
                department: col(r, "department")?,
                principal: Cents::new(col(r, "amount_cents")?),
                fee: Cents::new(col(r, "fee_cents")?),
                principal_refunded: Cents::new(col(r, "principal_refunded")?),
                fee_refunded: Cents::new(col(r, "fee_refunded")?),
            })
        })
        .collect()
}

/// Total of the payment's succeeded refunds that still stand.
pub async fn refunded_total(conn: &mut Conn, payment_id: &str) -> Result<Cents, StoreError> {
    let row = sqlx::query(
        "SELECT COALESCE(CAST(SUM(amount_cents) AS BIGINT), 0) AS n FROM refunds
         WHERE payment_id = $1 AND status = 'succeeded' AND reversed_at IS NULL",
    )
    .bind(payment_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Cents::new(col(&row, "n")?))
}

/// `pending_approval → approved | rejected`, by someone other than the
/// requester (the table's CHECK refuses self-approval too).
pub async fn decide(
    conn: &mut Conn,
    id: &str,
    to: &str,
    decided_by: i64,
    failure: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE refunds SET status = $2, decided_by = $3, decided_at = $4, failure = $5
         WHERE id = $1 AND status = 'pending_approval' AND requested_by <> $3",
    )
    .bind(id)
    .bind(to)
    .bind(decided_by)
    .bind(now)
    .bind(failure)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn mark_succeeded(
    conn: &mut Conn,
    id: &str,
    processor_ref: &str,
    business_date: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE refunds SET status = 'succeeded', processor_ref = $2, business_date = $3, completed_at = $4
         WHERE id = $1 AND status = 'approved'",
    )
    .bind(id)
    .bind(processor_ref)
    .bind(business_date)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn mark_failed(
    conn: &mut Conn,
    id: &str,
    failure: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE refunds SET status = 'failed', failure = $2, completed_at = $3
         WHERE id = $1 AND status = 'approved'",
    )
    .bind(id)
    .bind(failure)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that the processor could not complete a succeeded refund;
/// `false` if it was not a standing succeeded refund (already reversed,
/// or never made).
pub async fn mark_reversed(
    conn: &mut Conn,
    id: &str,
    reason: &str,
    business_date: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE refunds SET reversed_at = $4, reversal_date = $3, reversal_reason = $2
         WHERE id = $1 AND status = 'succeeded' AND reversed_at IS NULL",
    )
    .bind(id)
    .bind(reason)
    .bind(business_date)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
