//! Finding payments for staff: by bill reference, account number, receipt
//! number, last four digits, amount, status, department and dates.

use domain::Cents;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use super::export::{Bind, Cell, bind_all};
use super::{StoreError, col};

#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub reference: Option<String>,
    pub account_number: Option<String>,
    pub receipt_number: Option<String>,
    pub last4: Option<String>,
    /// Matches the payment amount or the total charged.
    pub amount: Option<Cents>,
    pub status: Option<String>,
    pub department: Option<String>,
    /// Created at or after (microseconds).
    pub from_us: Option<i64>,
    /// Created before (microseconds).
    pub to_us: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct PaymentListRow {
    pub id: String,
    pub created_at: i64,
    pub status: String,
    pub amount: Cents,
    pub fee: Cents,
    pub total: Cents,
    pub receipt_number: Option<String>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub department: String,
    pub reference: String,
    pub account_number: String,
}

const FROM: &str = "FROM payments p
  JOIN payment_items i ON i.payment_id = p.id AND i.line_no = 1
  JOIN receivables r ON r.id = i.receivable_id
  JOIN service_accounts a ON a.id = r.service_account_id";

const COLUMNS: &str = "p.id, p.created_at, p.status, p.amount_cents, p.fee_cents, p.total_cents,
  p.receipt_number, p.card_brand, p.card_last4, i.department, r.reference, a.account_number";

/// WHERE clauses with numbered placeholders, built up one condition at a
/// time; `?` in a condition stands for the value being added.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Where {
    fn add(&mut self, sql: &str, value: Bind) {
        self.binds.push(value);
        let n = self.binds.len();
        self.clauses.push(sql.replace('?', &format!("${n}")));
    }

    fn finish(self) -> (String, Vec<Bind>) {
        let sql = if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        };
        (sql, self.binds)
    }
}

fn conditions(f: &PaymentFilter) -> (String, Vec<Bind>) {
    let mut w = Where::default();
    let text = |v: &String| Bind::Text(v.clone());
    if let Some(v) = &f.reference {
        w.add("EXISTS (SELECT 1 FROM payment_items x JOIN receivables y ON y.id = x.receivable_id WHERE x.payment_id = p.id AND y.reference = ?)", text(v));
    }
    if let Some(v) = &f.account_number {
        w.add("EXISTS (SELECT 1 FROM payment_items x JOIN receivables y ON y.id = x.receivable_id JOIN service_accounts z ON z.id = y.service_account_id WHERE x.payment_id = p.id AND z.account_number = ?)", text(v));
    }
    if let Some(v) = &f.receipt_number {
        w.add("p.receipt_number = ?", text(v));
    }
    if let Some(v) = &f.last4 {
        w.add("p.card_last4 = ?", text(v));
    }
    if let Some(v) = f.amount {
        // `?` twice: the same numbered placeholder.
        w.add(
            "(p.amount_cents = ? OR p.total_cents = ?)",
            Bind::I64(v.get()),
        );
    }
    if let Some(v) = &f.status {
        w.add("p.status = ?", text(v));
    }
    if let Some(v) = &f.department {
        w.add(
            "EXISTS (SELECT 1 FROM payment_items x WHERE x.payment_id = p.id AND x.department = ?)",
            text(v),
        );
    }
    if let Some(v) = f.from_us {
        w.add("p.created_at >= ?", Bind::I64(v));
    }
    if let Some(v) = f.to_us {
        w.add("p.created_at < ?", Bind::I64(v));
    }
    w.finish()
}

fn from_row(r: &AnyRow) -> Result<PaymentListRow, StoreError> {
    Ok(PaymentListRow {
        id: col(r, "id")?,
        created_at: col(r, "created_at")?,
        status: col(r, "status")?,
        amount: Cents::new(col(r, "amount_cents")?),
        fee: Cents::new(col(r, "fee_cents")?),
        total: Cents::new(col(r, "total_cents")?),
        receipt_number: col(r, "receipt_number")?,
        card_brand: col(r, "card_brand")?,
        card_last4: col(r, "card_last4")?,
        department: col(r, "department")?,
        reference: col(r, "reference")?,
        account_number: col(r, "account_number")?,
    })
}

/// One page, newest first; `limit + 1` rows are read to know whether a next
/// page exists.
pub async fn search<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    f: &PaymentFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<PaymentListRow>, bool), StoreError> {
    let (cond, mut binds) = conditions(f);
    binds.push(Bind::I64(limit + 1));
    binds.push(Bind::I64(offset));
    let n = binds.len();
    let sql = format!(
        "SELECT {COLUMNS} {FROM}{cond} ORDER BY p.created_at DESC, p.id LIMIT ${} OFFSET ${n}",
        n - 1
    );
    let rows = bind_all(sqlx::query(&sql), &binds).fetch_all(ex).await?;
    let mut out: Vec<PaymentListRow> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    let more = out.len() as i64 > limit;
    out.truncate(usize::try_from(limit).unwrap_or(0));
    Ok((out, more))
}

pub const EXPORT_HEADER: &[&str] = &[
    "payment_id",
    "created_at_utc",
    "status",
    "department",
    "bill_reference",
    "account_number",
    "receipt_number",
    "amount",
    "fee",
    "total",
    "card_brand",
    "card_last4",
];

/// The whole search, oldest first, for a CSV export.
pub fn export_query(f: &PaymentFilter) -> (String, Vec<Bind>) {
    let (cond, binds) = conditions(f);
    (
        format!("SELECT {COLUMNS} {FROM}{cond} ORDER BY p.created_at, p.id"),
        binds,
    )
}

pub fn export_row(r: &AnyRow) -> Result<Vec<Cell>, StoreError> {
    let p = from_row(r)?;
    let at = jiff::Timestamp::from_microsecond(p.created_at)
        .map(|t| t.to_string())
        .unwrap_or_default();
    Ok(vec![
        Cell::Text(p.id),
        Cell::Text(at),
        Cell::Text(p.status),
        Cell::Text(p.department),
        Cell::Text(p.reference),
        Cell::Text(p.account_number),
        Cell::Text(p.receipt_number.unwrap_or_default()),
        Cell::Cents(p.amount.get()),
        Cell::Cents(p.fee.get()),
        Cell::Cents(p.total.get()),
        Cell::Text(p.card_brand.unwrap_or_default()),
        Cell::Text(p.card_last4.unwrap_or_default()),
    ])
}
