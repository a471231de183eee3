//! Service accounts and their receivables (bills). A receivable's balance is
//! never stored: it is the amount due minus what the ledger has credited to
//! it.

use std::collections::HashMap;

use domain::Cents;
use sqlx::{Any, Executor};

use super::inline::{self, Columns};
use super::{Conn, Db, StoreError, col};

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: i64,
    pub department: String,
    pub account_number: String,
    pub verifier_mac: String,
    pub holder_name_enc: String,
    pub service_address_enc: String,
}

fn account_from(row: &impl Columns) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        id: row.int("id")?,
        department: row.text("department")?,
        account_number: row.text("account_number")?,
        verifier_mac: row.text("verifier_mac")?,
        holder_name_enc: row.text("holder_name_enc")?,
        service_address_enc: row.text("service_address_enc")?,
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

const ACCOUNT_BY_ID: &str = "SELECT id, department, account_number, verifier_mac, holder_name_enc,
    service_address_enc FROM service_accounts WHERE id = $1";

/// Read on every bill page: inline on SQLite.
pub async fn account_by_id(db: &Db, id: i64) -> Result<Option<AccountRow>, StoreError> {
    if let Some(path) = db.inline_reads() {
        return inline::read(path, |c| {
            let mut stmt = c.prepare_cached(ACCOUNT_BY_ID).map_err(inline::sql)?;
            let mut rows = stmt.query([id]).map_err(inline::sql)?;
            match rows.next().map_err(inline::sql)? {
                Some(r) => account_from(r).map(Some),
                None => Ok(None),
            }
        });
    }
    let row = sqlx::query(ACCOUNT_BY_ID)
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(account_from).transpose()
}

/// What an import writes for one account of its department.
pub struct AccountWrite<'a> {
    pub account_number: &'a str,
    pub verifier_mac: &'a str,
    /// Keyed digest of the plaintext fields: equal means nothing changed,
    /// so unchanged rows are not rewritten.
    pub content_mac: &'a str,
    pub holder_name_enc: &'a str,
    pub service_address_enc: &'a str,
}

/// Numbered placeholders for PostgreSQL; anonymous `?` for SQLite, whose
/// look-up of a numbered parameter's name is linear in the number of
/// parameters (sqlx asks for every one: quadratic in a long statement).
struct Placeholders {
    sqlite: bool,
    next: usize,
}

impl Placeholders {
    fn for_conn(conn: &Conn) -> Self {
        Placeholders {
            sqlite: conn.backend_name().eq_ignore_ascii_case("sqlite"),
            next: 1,
        }
    }

    /// `n` placeholders separated by commas.
    fn list(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n * 7);
        for i in 0..n {
            if i > 0 {
                s.push_str(", ");
            }
            if self.sqlite {
                s.push('?');
            } else {
                s.push('$');
                s.push_str(&self.next.to_string());
            }
            self.next += 1;
        }
        s
    }

    /// `(…), (…)`: `rows` tuples of `width` placeholders.
    fn rows(&mut self, rows: usize, width: usize) -> String {
        let mut s = String::with_capacity(rows * (width * 8 + 4));
        for r in 0..rows {
            if r > 0 {
                s.push_str(",\n");
            }
            s.push('(');
            s.push_str(&self.list(width));
            s.push(')');
        }
        s
    }
}

/// The id and content digest of each of these accounts that exists,
/// by account number.
pub async fn account_digests(
    conn: &mut Conn,
    department: &str,
    numbers: &[&str],
) -> Result<HashMap<String, (i64, String)>, StoreError> {
    let mut found = HashMap::with_capacity(numbers.len());
    if numbers.is_empty() {
        return Ok(found);
    }
    let mut p = Placeholders::for_conn(conn);
    let sql = format!(
        "SELECT id, account_number, content_mac FROM service_accounts
         WHERE department = {} AND account_number IN ({})",
        p.list(1),
        p.list(numbers.len())
    );
    let mut q = sqlx::query(&sql).bind(department);
    for n in numbers {
        q = q.bind(*n);
    }
    for row in q.fetch_all(&mut *conn).await? {
        found.insert(
            col(&row, "account_number")?,
            (col(&row, "id")?, col(&row, "content_mac")?),
        );
    }
    Ok(found)
}

/// Inserts these accounts or overwrites them where they exist, in one
/// statement; returns each one's id by account number. Account numbers must
/// be distinct.
pub async fn upsert_accounts(
    conn: &mut Conn,
    department: &str,
    accounts: &[AccountWrite<'_>],
    now: i64,
) -> Result<HashMap<String, i64>, StoreError> {
    let mut ids = HashMap::with_capacity(accounts.len());
    if accounts.is_empty() {
        return Ok(ids);
    }
    let sql = format!(
        "INSERT INTO service_accounts (account_number, verifier_mac, holder_name_enc,
             service_address_enc, content_mac, department, created_at, updated_at)
         VALUES {}
         ON CONFLICT (department, account_number) DO UPDATE SET
             verifier_mac = excluded.verifier_mac,
             holder_name_enc = excluded.holder_name_enc,
             service_address_enc = excluded.service_address_enc,
             content_mac = excluded.content_mac,
             updated_at = excluded.updated_at
         RETURNING id, account_number",
        Placeholders::for_conn(conn).rows(accounts.len(), 8)
    );
    let mut q = sqlx::query(&sql);
    for a in accounts {
        q = q
            .bind(a.account_number)
            .bind(a.verifier_mac)
            .bind(a.holder_name_enc)
            .bind(a.service_address_enc)
            .bind(a.content_mac)
            .bind(department)
            .bind(now)
            .bind(now);
    }
    for row in q.fetch_all(&mut *conn).await? {
        ids.insert(col(&row, "account_number")?, col(&row, "id")?);
    }
    Ok(ids)
}

/// What an import writes for one bill of its department.
pub struct ReceivableWrite<'a> {
    pub service_account_id: i64,
    pub reference: &'a str,
    pub period_start: &'a str,
    pub period_end: &'a str,
    pub amount_due: Cents,
    pub due_date: &'a str,
    pub content_mac: &'a str,
    /// Empty when the file says nothing.
    pub description: &'a str,
    pub pay_separately: bool,
}

/// The content digest of each of these bills that exists, by reference.
pub async fn receivable_digests(
    conn: &mut Conn,
    department: &str,
    references: &[&str],
) -> Result<HashMap<String, String>, StoreError> {
    let mut found = HashMap::with_capacity(references.len());
    if references.is_empty() {
        return Ok(found);
    }
    let mut p = Placeholders::for_conn(conn);
    let sql = format!(
        "SELECT reference, content_mac FROM receivables
         WHERE department = {} AND reference IN ({})",
        p.list(1),
        p.list(references.len())
    );
    let mut q = sqlx::query(&sql).bind(department);
    for r in references {
        q = q.bind(*r);
    }
    for row in q.fetch_all(&mut *conn).await? {
        found.insert(col(&row, "reference")?, col(&row, "content_mac")?);
    }
    Ok(found)
}

/// Inserts these bills or updates them with the billing system's new
/// figures where they exist, in one statement. References must be distinct.
pub async fn upsert_receivables(
    conn: &mut Conn,
    department: &str,
    import_run_id: i64,
    bills: &[ReceivableWrite<'_>],
    now: i64,
) -> Result<(), StoreError> {
    if bills.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO receivables (service_account_id, reference, period_start, period_end,
             amount_due_cents, due_date, content_mac, department, import_run_id, created_at,
             updated_at, description, pay_separately)
         VALUES {}
         ON CONFLICT (department, reference) DO UPDATE SET
             service_account_id = excluded.service_account_id,
             period_start = excluded.period_start,
             period_end = excluded.period_end,
             amount_due_cents = excluded.amount_due_cents,
             due_date = excluded.due_date,
             content_mac = excluded.content_mac,
             import_run_id = excluded.import_run_id,
             updated_at = excluded.updated_at,
             description = excluded.description,
             pay_separately = excluded.pay_separately",
        Placeholders::for_conn(conn).rows(bills.len(), 13)
    );
    let mut q = sqlx::query(&sql);
    for b in bills {
        q = q
            .bind(b.service_account_id)
            .bind(b.reference)
            .bind(b.period_start)
            .bind(b.period_end)
            .bind(b.amount_due.get())
            .bind(b.due_date)
            .bind(b.content_mac)
            .bind(department)
            .bind(import_run_id)
            .bind(now)
            .bind(now)
            .bind(b.description)
            .bind(i64::from(b.pay_separately));
    }
    q.execute(&mut *conn).await?;
    Ok(())
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
    /// What the bill is for (empty when the billing system did not say).
    pub description: String,
    /// `false`: paid only together with the account's other open bills.
    pub pay_separately: bool,
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
    r.period_start, r.period_end, r.amount_due_cents, r.due_date, r.description,
    r.pay_separately,
    COALESCE((SELECT CAST(SUM(l.amount_cents) AS BIGINT) FROM journal_lines l
              WHERE l.receivable_id = r.id), 0) AS posted_cents,
    COALESCE((SELECT CAST(SUM(i.amount_cents) AS BIGINT) FROM payment_items i
              JOIN payments p ON p.id = i.payment_id
              WHERE i.receivable_id = r.id AND p.status IN ('created', 'pending')
                AND p.expires_at > $2), 0) AS reserved_cents
  FROM receivables r";

fn view_from(row: &impl Columns) -> Result<ReceivableView, StoreError> {
    Ok(ReceivableView {
        id: row.int("id")?,
        department: row.text("department")?,
        service_account_id: row.int("service_account_id")?,
        reference: row.text("reference")?,
        period_start: row.text("period_start")?,
        period_end: row.text("period_end")?,
        amount_due: Cents::new(row.int("amount_due_cents")?),
        due_date: row.text("due_date")?,
        paid: Cents::new(row.int("posted_cents")?)
            .checked_neg()
            .map_err(|_| StoreError::corrupt("receivable postings overflow"))?,
        reserved: Cents::new(row.int("reserved_cents")?),
        description: row.text("description")?,
        pay_separately: row.int("pay_separately")? != 0,
    })
}

/// Every bill of an account, oldest due date first. Read on every bill
/// page: inline on SQLite.
pub async fn for_account(
    db: &Db,
    service_account_id: i64,
    now: i64,
) -> Result<Vec<ReceivableView>, StoreError> {
    let sql = format!("{VIEW_SELECT} WHERE r.service_account_id = $1 ORDER BY r.due_date, r.id");
    if let Some(path) = db.inline_reads() {
        return inline::read(path, |c| {
            let mut stmt = c.prepare_cached(&sql).map_err(inline::sql)?;
            // `$2` comes first in the text, so the parameters go by name.
            let mut rows = stmt
                .query(rusqlite::named_params! { "$1": service_account_id, "$2": now })
                .map_err(inline::sql)?;
            let mut views = Vec::new();
            while let Some(r) = rows.next().map_err(inline::sql)? {
                views.push(view_from(r)?);
            }
            Ok(views)
        });
    }
    let rows = sqlx::query(&sql)
        .bind(service_account_id)
        .bind(now)
        .fetch_all(db.reader())
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
