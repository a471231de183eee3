//! Service accounts and their receivables (bills). A receivable's balance is
//! never stored: it is the amount due minus what the ledger has credited to
//! it.

use domain::Cents;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use super::{Conn, StoreError, col};

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: i64,
    pub department: String,
    pub account_number: String,
    pub verifier_mac: String,
    pub holder_name_enc: String,
    pub service_address_enc: String,
}

fn account_from(row: &AnyRow) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        id: col(row, "id")?,
        department: col(row, "department")?,
        account_number: col(row, "account_number")?,
        verifier_mac: col(row, "verifier_mac")?,
        holder_name_enc: col(row, "holder_name_enc")?,
        service_address_enc: col(row, "service_address_enc")?,
    })
}

const ACCOUNT_COLUMNS: &str =
    "id, department, account_number, verifier_mac, holder_name_enc, service_address_enc";

pub async fn find_account<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    department: &str,
    account_number: &str,
) -> Result<Option<AccountRow>, StoreError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM service_accounts WHERE department = $1 AND account_number = $2"
    );
    let row = sqlx::query(&sql)
        .bind(department)
        .bind(account_number)
        .fetch_optional(ex)
        .await?;
    row.as_ref().map(account_from).transpose()
}

pub async fn account_by_id<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
) -> Result<Option<AccountRow>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM service_accounts WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(ex).await?;
    row.as_ref().map(account_from).transpose()
}

/// What an import writes for one account.
pub struct AccountWrite<'a> {
    pub department: &'a str,
    pub account_number: &'a str,
    pub verifier_mac: &'a str,
    /// Keyed digest of the plaintext fields: equal means nothing changed,
    /// so unchanged rows are not re-encrypted and rewritten.
    pub content_mac: &'a str,
    pub holder_name_enc: &'a str,
    pub service_address_enc: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Inserted(i64),
    Updated(i64),
    Unchanged(i64),
}

impl Upserted {
    pub fn id(self) -> i64 {
        match self {
            Upserted::Inserted(id) | Upserted::Updated(id) | Upserted::Unchanged(id) => id,
        }
    }
}

/// Looks up the existing row's id and content digest.
pub async fn account_digest(
    conn: &mut Conn,
    department: &str,
    account_number: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    let row = sqlx::query(
        "SELECT id, content_mac FROM service_accounts WHERE department = $1 AND account_number = $2",
    )
    .bind(department)
    .bind(account_number)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((col(&r, "id")?, col(&r, "content_mac")?)))
        .transpose()
}

pub async fn insert_account(
    conn: &mut Conn,
    a: &AccountWrite<'_>,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO service_accounts (department, account_number, verifier_mac, holder_name_enc,
             service_address_enc, content_mac, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(a.department)
    .bind(a.account_number)
    .bind(a.verifier_mac)
    .bind(a.holder_name_enc)
    .bind(a.service_address_enc)
    .bind(a.content_mac)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    col(&row, "id")
}

pub async fn update_account(
    conn: &mut Conn,
    id: i64,
    a: &AccountWrite<'_>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE service_accounts SET verifier_mac = $2, holder_name_enc = $3,
             service_address_enc = $4, content_mac = $5, updated_at = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(a.verifier_mac)
    .bind(a.holder_name_enc)
    .bind(a.service_address_enc)
    .bind(a.content_mac)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub struct ReceivableWrite<'a> {
    pub department: &'a str,
    pub service_account_id: i64,
    pub reference: &'a str,
    pub period_start: &'a str,
    pub period_end: &'a str,
    pub amount_due: Cents,
    pub due_date: &'a str,
    pub content_mac: &'a str,
    pub import_run_id: i64,
}

/// Inserts a bill, updates it when the billing system sent new figures, or
/// leaves it alone when nothing changed.
pub async fn upsert_receivable(
    conn: &mut Conn,
    r: &ReceivableWrite<'_>,
    now: i64,
) -> Result<Upserted, StoreError> {
    let existing = sqlx::query(
        "SELECT id, content_mac FROM receivables WHERE department = $1 AND reference = $2",
    )
    .bind(r.department)
    .bind(r.reference)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = existing {
        let id: i64 = col(&row, "id")?;
        let mac: String = col(&row, "content_mac")?;
        if mac == r.content_mac {
            return Ok(Upserted::Unchanged(id));
        }
        sqlx::query(
            "UPDATE receivables SET service_account_id = $2, period_start = $3, period_end = $4,
                 amount_due_cents = $5, due_date = $6, content_mac = $7, import_run_id = $8,
                 updated_at = $9
             WHERE id = $1",
        )
        .bind(id)
        .bind(r.service_account_id)
        .bind(r.period_start)
        .bind(r.period_end)
        .bind(r.amount_due.get())
        .bind(r.due_date)
        .bind(r.content_mac)
        .bind(r.import_run_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        return Ok(Upserted::Updated(id));
    }
    let row = sqlx::query(
        "INSERT INTO receivables (department, service_account_id, reference, period_start,
             period_end, amount_due_cents, due_date, content_mac, import_run_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(r.department)
    .bind(r.service_account_id)
    .bind(r.reference)
    .bind(r.period_start)
    .bind(r.period_end)
    .bind(r.amount_due.get())
    .bind(r.due_date)
    .bind(r.content_mac)
    .bind(r.import_run_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Upserted::Inserted(col(&row, "id")?))
}

/// A bill with what has been paid on it and what is reserved by payments
/// still open at the processor.
#[derive(Debug, Clone)]
pub struct ReceivableView {
    pub id: i64,
    pub department: String,
    pub service_account_id: i64,
    pub reference: String,
    pub period_start: String,
    pub period_end: String,
    pub amount_due: Cents,
    pub due_date: String,
    /// Credited to the receivable by captured payments (positive).
    pub paid: Cents,
    /// In open (created or pending, not expired) payments.
    pub reserved: Cents,
}

impl ReceivableView {
    /// What is still owed.
    pub fn balance(&self) -> Cents {
        self.amount_due
            .checked_sub(self.paid)
            .unwrap_or(Cents::ZERO)
    }

    /// What may still be paid now, leaving room for payments in progress.
    pub fn available(&self) -> Cents {
        self.balance()
            .checked_sub(self.reserved)
            .unwrap_or(Cents::ZERO)
    }
}

const VIEW_SELECT: &str = "SELECT r.id, r.department, r.service_account_id, r.reference,
    r.period_start, r.period_end, r.amount_due_cents, r.due_date,
    COALESCE((SELECT CAST(SUM(l.amount_cents) AS BIGINT) FROM journal_lines l
              WHERE l.receivable_id = r.id), 0) AS posted_cents,
    COALESCE((SELECT CAST(SUM(i.amount_cents) AS BIGINT) FROM payment_items i
              JOIN payments p ON p.id = i.payment_id
              WHERE i.receivable_id = r.id AND p.status IN ('created', 'pending')
                AND p.expires_at > $2), 0) AS reserved_cents
  FROM receivables r";

fn view_from(row: &AnyRow) -> Result<ReceivableView, StoreError> {
    let posted: i64 = col(row, "posted_cents")?;
    Ok(ReceivableView {
        id: col(row, "id")?,
        department: col(row, "department")?,
        service_account_id: col(row, "service_account_id")?,
        reference: col(row, "reference")?,
        period_start: col(row, "period_start")?,
        period_end: col(row, "period_end")?,
        amount_due: Cents::new(col(row, "amount_due_cents")?),
        due_date: col(row, "due_date")?,
        paid: Cents::new(posted)
            .checked_neg()
            .map_err(|_| StoreError::corrupt("receivable postings overflow"))?,
        reserved: Cents::new(col(row, "reserved_cents")?),
    })
}

/// Every bill of an account, oldest due date first.
pub async fn for_account<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    service_account_id: i64,
    now: i64,
) -> Result<Vec<ReceivableView>, StoreError> {
    let sql = format!("{VIEW_SELECT} WHERE r.service_account_id = $1 ORDER BY r.due_date, r.id");
    let rows = sqlx::query(&sql)
        .bind(service_account_id)
        .bind(now)
        .fetch_all(ex)
        .await?;
    rows.iter().map(view_from).collect()
}

pub async fn view<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
    now: i64,
) -> Result<Option<ReceivableView>, StoreError> {
    let sql = format!("{VIEW_SELECT} WHERE r.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(now)
        .fetch_optional(ex)
        .await?;
    row.as_ref().map(view_from).transpose()
}

pub struct ImportRun<'a> {
    pub department: &'a str,
    pub file_name: &'a str,
    pub file_sha256: &'a str,
    pub actor: &'a str,
}

pub async fn start_import_run(
    conn: &mut Conn,
    run: &ImportRun<'_>,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO import_runs (department, file_name, file_sha256, rows_total, inserted, updated,
             unchanged, actor, finished_at)
         VALUES ($1, $2, $3, 0, 0, 0, 0, $4, $5) RETURNING id",
    )
    .bind(run.department)
    .bind(run.file_name)
    .bind(run.file_sha256)
    .bind(run.actor)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    col(&row, "id")
}

pub async fn finish_import_run(
    conn: &mut Conn,
    id: i64,
    counts: [i64; 4],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE import_runs SET rows_total = $2, inserted = $3, updated = $4, unchanged = $5,
             finished_at = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(counts[0])
    .bind(counts[1])
    .bind(counts[2])
    .bind(counts[3])
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
