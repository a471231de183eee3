//! Journal entries and lines. The UNIQUE source key makes posting the same
//! event twice impossible, in the same transaction as the state change
//! that caused it.

use domain::ledger::JournalEntry;
use sqlx::{Any, Executor};

use super::{Conn, StoreError, col};

/// Posts `entry`. Returns `false` (and writes nothing) when an entry with
/// the same source key already exists.
pub async fn post(
    conn: &mut Conn,
    entry: &JournalEntry,
    payment_id: Option<&str>,
    business_date: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "INSERT INTO journal_entries (source_key, kind, payment_id, business_date, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (source_key) DO NOTHING
         RETURNING id",
    )
    .bind(entry.source_key())
    .bind(entry.kind().as_str())
    .bind(payment_id)
    .bind(business_date)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let entry_id: i64 = col(&row, "id")?;
    // Every line in one statement (one round trip to the database).
    let postings = entry.postings();
    let mut sql = String::from(
        "INSERT INTO journal_lines (entry_id, account_code, department, receivable_id, amount_cents) VALUES ",
    );
    for i in 0..postings.len() {
        let b = i * 5;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        ));
    }
    let mut q = sqlx::query(&sql);
    for p in postings {
        q = q
            .bind(entry_id)
            .bind(p.account.as_str())
            .bind(&p.department)
            .bind(p.receivable_id)
            .bind(p.amount.get());
    }
    q.execute(&mut *conn).await?;
    Ok(true)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub what: String,
}

/// Each payment's status and its number of capture entries (one index
/// look-up per payment; see the query plan tests).
pub const CAPTURES_PER_PAYMENT: &str = "SELECT p.id, p.status,
        (SELECT COUNT(*) FROM journal_entries e
         WHERE e.payment_id = p.id AND e.kind = 'payment_capture') AS captures
    FROM payments p";

/// Everything that would make the books wrong: entries that do not
/// balance, entries without lines, captured payments without exactly one
/// capture entry (or entries for payments that were never captured), and
/// receivables whose postings disagree with the payments applied to them.
pub async fn check<'e, E>(ex: E) -> Result<Vec<Problem>, StoreError>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let mut problems = Vec::new();
    let rows = sqlx::query(
        "SELECT e.id, e.source_key, CAST(COALESCE(SUM(l.amount_cents), 0) AS BIGINT) AS total,
                COUNT(l.id) AS lines
         FROM journal_entries e LEFT JOIN journal_lines l ON l.entry_id = e.id
         GROUP BY e.id, e.source_key
         HAVING COALESCE(SUM(l.amount_cents), 0) <> 0 OR COUNT(l.id) < 2",
    )
    .fetch_all(ex)
    .await?;
    for r in rows {
        let key: String = col(&r, "source_key")?;
        let total: i64 = col(&r, "total")?;
        let lines: i64 = col(&r, "lines")?;
        problems.push(Problem {
            what: format!("journal entry {key} does not balance: {lines} line(s), sum {total}"),
        });
    }
    let rows = sqlx::query(CAPTURES_PER_PAYMENT).fetch_all(ex).await?;
    for r in rows {
        let id: String = col(&r, "id")?;
        let status: String = col(&r, "status")?;
        let captures: i64 = col(&r, "captures")?;
        let captured = domain::payment::PaymentStatus::parse(&status)
            .map(|s| s.was_captured())
            .unwrap_or(false);
        let expected = i64::from(captured);
        if captures != expected {
            problems.push(Problem {
                what: format!(
                    "payment {id} is {status} but has {captures} capture entr{} (expected {expected})",
                    if captures == 1 { "y" } else { "ies" }
                ),
            });
        }
    }
    let rows = sqlx::query(
        "SELECT f.id, f.status, f.reversed_at,
                (SELECT COUNT(*) FROM journal_entries e WHERE e.source_key = 'refund:' || f.id) AS entries,
                (SELECT COUNT(*) FROM journal_entries e
                 WHERE e.source_key = 'refund-reversal:' || f.id) AS reversals
         FROM refunds f",
    )
    .fetch_all(ex)
    .await?;
    let entries = |n: i64| if n == 1 { "y" } else { "ies" };
    for r in rows {
        let id: String = col(&r, "id")?;
        let status: String = col(&r, "status")?;
        let made: i64 = col(&r, "entries")?;
        let expected = i64::from(status == "succeeded");
        if made != expected {
            problems.push(Problem {
                what: format!(
                    "refund {id} is {status} but has {made} ledger entr{} (expected {expected})",
                    entries(made)
                ),
            });
        }
        let reversals: i64 = col(&r, "reversals")?;
        let reversed = col::<Option<i64>>(&r, "reversed_at")?.is_some();
        let expected = i64::from(reversed && status == "succeeded");
        if reversals != expected {
            problems.push(Problem {
                what: format!(
                    "refund {id} has {reversals} reversal entr{} (expected {expected})",
                    entries(reversals)
                ),
            });
        }
    }
    let rows = sqlx::query(
        "SELECT id, reference, by_payments, by_ledger FROM (
            SELECT r.id, r.reference,
              COALESCE((SELECT CAST(SUM(i.amount_cents) AS BIGINT) FROM payment_items i
                        JOIN payments p ON p.id = i.payment_id
                        WHERE i.receivable_id = r.id
                          AND p.status IN ('succeeded', 'partially_refunded', 'refunded', 'disputed')), 0)
              - COALESCE((SELECT CAST(SUM(l.principal_cents) AS BIGINT) FROM refund_lines l
                        JOIN refunds f ON f.id = l.refund_id
                        WHERE l.receivable_id = r.id AND f.status = 'succeeded'
                          AND f.reversed_at IS NULL), 0)
                AS by_payments,
              COALESCE((SELECT CAST(-SUM(l.amount_cents) AS BIGINT) FROM journal_lines l
                        WHERE l.receivable_id = r.id), 0) AS by_ledger
            FROM receivables r) AS t
         WHERE by_payments <> by_ledger",
    )
    .fetch_all(ex)
    .await?;
    for r in rows {
        let reference: String = col(&r, "reference")?;
        let a: i64 = col(&r, "by_payments")?;
        let b: i64 = col(&r, "by_ledger")?;
        problems.push(Problem {
            what: format!(
                "receivable {reference}: payments applied {a} cents but the ledger credited {b} cents"
            ),
        });
    }
    Ok(problems)
}

pub const LINES_FOR_PAYMENT: &str =
    "SELECT e.source_key, l.account_code, l.receivable_id, l.amount_cents
     FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id
     WHERE e.payment_id = $1 ORDER BY l.id";

/// Lines of one payment's entries, for tests and the staff console.
pub async fn lines_for_payment<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    payment_id: &str,
) -> Result<Vec<(String, String, Option<i64>, i64)>, StoreError> {
    let rows = sqlx::query(LINES_FOR_PAYMENT)
        .bind(payment_id)
        .fetch_all(ex)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                col(r, "source_key")?,
                col(r, "account_code")?,
                col(r, "receivable_id")?,
                col(r, "amount_cents")?,
            ))
        })
        .collect()
}
