//! The daily close: what was taken and returned on a business date, what
//! the ledger posted, and whether the date is closed.

use domain::Cents;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use super::export::Cell;
use super::{Conn, StoreError, col};
use crate::processor::TransactionKind;

pub async fn is_closed<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    date: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM closed_dates WHERE business_date = $1")
        .bind(date)
        .fetch_one(ex)
        .await?;
    Ok(col::<i64>(&row, "n")? > 0)
}

#[derive(Debug, Clone)]
pub struct ClosedRow {
    pub closed_by: String,
    pub closed_at: i64,
    pub mismatches: i64,
    pub note: String,
}

pub async fn closed_info<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    date: &str,
) -> Result<Option<ClosedRow>, StoreError> {
    let row = sqlx::query(
        "SELECT u.email AS closed_by, c.closed_at, c.mismatches, c.note FROM closed_dates c
         JOIN staff_users u ON u.id = c.closed_by WHERE c.business_date = $1",
    )
    .bind(date)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(ClosedRow {
            closed_by: col(&r, "closed_by")?,
            closed_at: col(&r, "closed_at")?,
            mismatches: col(&r, "mismatches")?,
            note: col(&r, "note")?,
        })
    })
    .transpose()
}

/// Closes the date; `false` when it already was.
pub async fn close(
    conn: &mut Conn,
    date: &str,
    staff_id: i64,
    now: i64,
    mismatches: i64,
    note: &str,
    summary: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO closed_dates (business_date, closed_by, closed_at, mismatches, note, summary)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (business_date) DO NOTHING",
    )
    .bind(date)
    .bind(staff_id)
    .bind(now)
    .bind(mismatches)
    .bind(note)
    .bind(summary)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepartmentTotals {
    pub department: String,
    pub payments: i64,
    pub principal: Cents,
    pub fees: Cents,
    pub refunds: i64,
    pub refunded_principal: Cents,
    pub refunded_fees: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodTotals {
    pub method: String,
    pub payments: i64,
    pub total: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTotals {
    pub account: String,
    pub department: String,
    pub debits: Cents,
    pub credits: Cents,
}

pub async fn department_totals<'e, E>(
    ex: E,
    date: &str,
) -> Result<Vec<DepartmentTotals>, StoreError>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let mut out: Vec<DepartmentTotals> = Vec::new();
    let rows = sqlx::query(
        "SELECT i.department, COUNT(DISTINCT p.id) AS n, CAST(SUM(i.amount_cents) AS BIGINT) AS principal,
                CAST(SUM(i.fee_cents) AS BIGINT) AS fees
         FROM payments p JOIN payment_items i ON i.payment_id = p.id
         WHERE p.business_date = $1 AND p.status IN ('succeeded', 'partially_refunded', 'refunded', 'disputed')
         GROUP BY i.department ORDER BY i.department",
    )
    .bind(date)
    .fetch_all(ex)
    .await?;
    for r in rows {
        out.push(DepartmentTotals {
            department: col(&r, "department")?,
            payments: col(&r, "n")?,
            principal: Cents::new(col(&r, "principal")?),
            fees: Cents::new(col(&r, "fees")?),
            ..DepartmentTotals::default()
        });
    }
    let rows = sqlx::query(
        "SELECT l.department, COUNT(DISTINCT r.id) AS n, CAST(SUM(l.principal_cents) AS BIGINT) AS principal,
                CAST(SUM(l.fee_cents) AS BIGINT) AS fees
         FROM refunds r JOIN refund_lines l ON l.refund_id = r.id
         WHERE r.business_date = $1 AND r.status = 'succeeded'
         GROUP BY l.department ORDER BY l.department",
    )
    .bind(date)
    .fetch_all(ex)
    .await?;
    for r in rows {
        let dept: String = col(&r, "department")?;
        let i = match out.iter().position(|d| d.department == dept) {
            Some(i) => i,
            None => {
                out.push(DepartmentTotals {
                    department: dept,
                    ..DepartmentTotals::default()
                });
                out.len() - 1
            }
        };
        out[i].refunds = col(&r, "n")?;
        out[i].refunded_principal = Cents::new(col(&r, "principal")?);
        out[i].refunded_fees = Cents::new(col(&r, "fees")?);
    }
    out.sort_by(|a, b| a.department.cmp(&b.department));
    Ok(out)
}

pub async fn method_totals<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    date: &str,
) -> Result<Vec<MethodTotals>, StoreError> {
    let rows = sqlx::query(
        "SELECT COALESCE(card_brand, 'card') AS method, COUNT(*) AS n, CAST(SUM(total_cents) AS BIGINT) AS total
         FROM payments WHERE business_date = $1
           AND status IN ('succeeded', 'partially_refunded', 'refunded', 'disputed')
         GROUP BY COALESCE(card_brand, 'card') ORDER BY 1",
    )
    .bind(date)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MethodTotals {
                method: col(r, "method")?,
                payments: col(r, "n")?,
                total: Cents::new(col(r, "total")?),
            })
        })
        .collect()
}

/// Debits and credits per ledger account for entries dated `date`.
pub async fn account_totals<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    date: &str,
) -> Result<Vec<AccountTotals>, StoreError> {
    let rows = sqlx::query(
        "SELECT l.account_code, l.department,
                CAST(SUM(CASE WHEN l.amount_cents > 0 THEN l.amount_cents ELSE 0 END) AS BIGINT) AS debits,
                CAST(SUM(CASE WHEN l.amount_cents < 0 THEN -l.amount_cents ELSE 0 END) AS BIGINT) AS credits
         FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
         WHERE e.business_date = $1
         GROUP BY l.account_code, l.department ORDER BY l.account_code, l.department",
    )
    .bind(date)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AccountTotals {
                account: col(r, "account_code")?,
                department: col(r, "department")?,
                debits: Cents::new(col(r, "debits")?),
                credits: Cents::new(col(r, "credits")?),
            })
        })
        .collect()
}

/// Money movements our books have for the date, keyed as the processor
/// keys them: (is_refund, processor id, checkout id, amount).
pub async fn ledger_movements<'e, E>(
    ex: E,
    date: &str,
) -> Result<Vec<(TransactionKind, String, String, Cents)>, StoreError>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let mut out = Vec::new();
    let rows = sqlx::query(
        "SELECT processor_ref, total_cents FROM payments
         WHERE business_date = $1 AND processor_ref IS NOT NULL
           AND status IN ('succeeded', 'partially_refunded', 'refunded', 'disputed')",
    )
    .bind(date)
    .fetch_all(ex)
    .await?;
    for r in rows {
        let id: String = col(&r, "processor_ref")?;
        out.push((
            TransactionKind::Charge,
            id.clone(),
            id,
            Cents::new(col(&r, "total_cents")?),
        ));
    }
    let rows = sqlx::query(
        "SELECT r.processor_ref, p.processor_ref AS checkout, r.amount_cents FROM refunds r
         JOIN payments p ON p.id = r.payment_id
         WHERE r.business_date = $1 AND r.status = 'succeeded' AND r.processor_ref IS NOT NULL",
    )
    .bind(date)
    .fetch_all(ex)
    .await?;
    for r in rows {
        out.push((
            TransactionKind::Refund,
            col(&r, "processor_ref")?,
            col::<Option<String>>(&r, "checkout")?.unwrap_or_default(),
            Cents::new(col(&r, "amount_cents")?),
        ));
    }
    // Refunds the processor could not complete: their money came back on
    // the day they were reversed.
    let rows = sqlx::query(
        "SELECT r.processor_ref, p.processor_ref AS checkout, r.amount_cents FROM refunds r
         JOIN payments p ON p.id = r.payment_id
         WHERE r.reversal_date = $1 AND r.processor_ref IS NOT NULL",
    )
    .bind(date)
    .fetch_all(ex)
    .await?;
    for r in rows {
        out.push((
            TransactionKind::RefundFailure,
            col(&r, "processor_ref")?,
            col::<Option<String>>(&r, "checkout")?.unwrap_or_default(),
            Cents::new(col(&r, "amount_cents")?),
        ));
    }
    Ok(out)
}

pub const POSTINGS_HEADER: &[&str] = &[
    "business_date",
    "type",
    "receipt_number",
    "payment_id",
    "refund_id",
    "department",
    "account_number",
    "bill_reference",
    "amount",
    "fee",
];

/// The billing system's posting file for a date: each bill paid (positive)
/// or refunded (negative), and each refund the processor could not
/// complete (positive again, on the day it was reversed), by account and
/// bill reference.
pub fn postings_query() -> &'static str {
    "SELECT p.business_date AS business_date, 'payment' AS kind, p.receipt_number, p.id AS payment_id,
            '' AS refund_id, i.department, a.account_number, r.reference,
            i.amount_cents AS amount, i.fee_cents AS fee, p.created_at AS at
     FROM payments p JOIN payment_items i ON i.payment_id = p.id
     JOIN receivables r ON r.id = i.receivable_id JOIN service_accounts a ON a.id = r.service_account_id
     WHERE p.business_date = $1 AND p.status IN ('succeeded', 'partially_refunded', 'refunded', 'disputed')
     UNION ALL
     SELECT f.business_date AS business_date, 'refund' AS kind, p.receipt_number, p.id AS payment_id,
            f.id AS refund_id, l.department, a.account_number, r.reference,
            -l.principal_cents AS amount, -l.fee_cents AS fee, f.created_at AS at
     FROM refunds f JOIN refund_lines l ON l.refund_id = f.id JOIN payments p ON p.id = f.payment_id
     JOIN receivables r ON r.id = l.receivable_id JOIN service_accounts a ON a.id = r.service_account_id
     WHERE f.business_date = $1 AND f.status = 'succeeded'
     UNION ALL
     SELECT f.reversal_date AS business_date, 'refund_reversal' AS kind, p.receipt_number,
            p.id AS payment_id, f.id AS refund_id, l.department, a.account_number, r.reference,
            l.principal_cents AS amount, l.fee_cents AS fee, f.reversed_at AS at
     FROM refunds f JOIN refund_lines l ON l.refund_id = f.id JOIN payments p ON p.id = f.payment_id
     JOIN receivables r ON r.id = l.receivable_id JOIN service_accounts a ON a.id = r.service_account_id
     WHERE f.reversal_date = $1
     ORDER BY at, payment_id, refund_id"
}

pub fn postings_row(r: &AnyRow) -> Result<Vec<Cell>, StoreError> {
    Ok(vec![
        Cell::Text(col(r, "business_date")?),
        Cell::Text(col(r, "kind")?),
        Cell::Text(col::<Option<String>>(r, "receipt_number")?.unwrap_or_default()),
        Cell::Text(col(r, "payment_id")?),
        Cell::Text(col(r, "refund_id")?),
        Cell::Text(col(r, "department")?),
        Cell::Text(col(r, "account_number")?),
        Cell::Text(col(r, "reference")?),
        Cell::Cents(col(r, "amount")?),
        Cell::Cents(col(r, "fee")?),
    ])
}

pub const JOURNAL_HEADER: &[&str] = &[
    "business_date",
    "entry",
    "kind",
    "account_code",
    "department",
    "debit",
    "credit",
    "bill_reference",
];

pub fn journal_query() -> &'static str {
    "SELECT e.business_date, e.source_key, e.kind, l.account_code, l.department, l.amount_cents,
            COALESCE(r.reference, '') AS reference
     FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id
     LEFT JOIN receivables r ON r.id = l.receivable_id
     WHERE e.business_date = $1 ORDER BY e.id, l.id"
}

pub fn journal_row(r: &AnyRow) -> Result<Vec<Cell>, StoreError> {
    let amount: i64 = col(r, "amount_cents")?;
    let (debit, credit) = if amount >= 0 {
        (amount, 0)
    } else {
        (0, -amount)
    };
    Ok(vec![
        Cell::Text(col(r, "business_date")?),
        Cell::Text(col(r, "source_key")?),
        Cell::Text(col(r, "kind")?),
        Cell::Text(col(r, "account_code")?),
        Cell::Text(col(r, "department")?),
        Cell::Cents(debit),
        Cell::Cents(credit),
        Cell::Text(col(r, "reference")?),
    ])
}
