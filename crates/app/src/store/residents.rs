//! Resident accounts, the links they send by e-mail, the service accounts
//! they linked and the e-mails queued about those accounts' bills.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Conn, StoreError};

#[derive(Debug, Clone)]
pub struct ResidentRow {
    pub id: i64,
    pub email_index: String,
    pub email_enc: String,
    pub password_hash: String,
    pub locale: String,
    pub confirmed: bool,
    pub session_epoch: i64,
    pub link_failures: i64,
    pub link_failures_since: i64,
    /// The sealed authenticator secret, when the second factor is on.
    pub totp_secret_enc: Option<String>,
    pub totp_pending_enc: Option<String>,
    pub totp_last_step: i64,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
}

const RESIDENT: &str =
    "SELECT id, email_index, email_enc, password_hash, locale, confirmed_at, session_epoch,
    link_failures, link_failures_since, totp_secret_enc, totp_pending_enc, totp_last_step,
    created_at, last_sign_in_at
    FROM residents";

fn resident_from(r: &AnyRow) -> Result<ResidentRow, StoreError> {
    Ok(ResidentRow {
        id: r.try_get("id")?,
        email_index: r.try_get("email_index")?,
        email_enc: r.try_get("email_enc")?,
        password_hash: r.try_get("password_hash")?,
        locale: r.try_get("locale")?,
        confirmed: r.try_get::<Option<i64>, _>("confirmed_at")?.is_some(),
        session_epoch: r.try_get("session_epoch")?,
        link_failures: r.try_get("link_failures")?,
        link_failures_since: r.try_get("link_failures_since")?,
        totp_secret_enc: r.try_get("totp_secret_enc")?,
        totp_pending_enc: r.try_get("totp_pending_enc")?,
        totp_last_step: r.try_get("totp_last_step")?,
        created_at: r.try_get("created_at")?,
        last_sign_in_at: r.try_get("last_sign_in_at")?,
    })
}

pub async fn by_email_index<'e, E: Executor<'e, Database = Any>>(
    db: E,
    email_index: &str,
) -> Result<Option<ResidentRow>, StoreError> {
    let row = sqlx::query(&format!("{RESIDENT} WHERE email_index = $1"))
        .bind(email_index)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(resident_from).transpose()
}

pub async fn by_id<'e, E: Executor<'e, Database = Any>>(
    db: E,
    id: i64,
) -> Result<Option<ResidentRow>, StoreError> {
    let row = sqlx::query(&format!("{RESIDENT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(resident_from).transpose()
}

pub struct NewResident<'a> {
    pub email_index: &'a str,
    pub email_enc: &'a str,
    pub password_hash: &'a str,
    pub locale: &'a str,
}

/// `None` when the address is already registered.
pub async fn insert(
    conn: &mut Conn,
    r: &NewResident<'_>,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "INSERT INTO residents (email_index, email_enc, password_hash, locale, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (email_index) DO NOTHING RETURNING id",
    )
    .bind(r.email_index)
    .bind(r.email_enc)
    .bind(r.password_hash)
    .bind(r.locale)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

pub async fn set_confirmed(conn: &mut Conn, id: i64, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE residents SET confirmed_at = COALESCE(confirmed_at, $2), updated_at = $2
         WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A new password ends every session signed in before it.
pub async fn set_password(
    conn: &mut Conn,
    id: i64,
    password_hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE residents SET password_hash = $2, session_epoch = session_epoch + 1,
             updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(password_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_locale(conn: &mut Conn, id: i64, locale: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE residents SET locale = $2 WHERE id = $1")
        .bind(id)
        .bind(locale)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn signed_in(conn: &mut Conn, id: i64, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE residents SET last_sign_in_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends every session the resident has (each carries the epoch it signed
/// in under).
pub async fn end_sessions(conn: &mut Conn, id: i64, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE residents SET session_epoch = session_epoch + 1, updated_at = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Keeps a secret being set up (replacing any earlier one).
pub async fn set_pending_totp(conn: &mut Conn, id: i64, sealed: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE residents SET totp_pending_enc = $2 WHERE id = $1")
        .bind(id)
        .bind(sealed)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Turns the second factor on with the secret being set up (sealed anew
/// for its own column), or off with `None`.
pub async fn set_totp(
    conn: &mut Conn,
    id: i64,
    sealed: Option<&str>,
    step: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE residents SET totp_secret_enc = $2, totp_pending_enc = NULL, totp_last_step = $3
         WHERE id = $1",
    )
    .bind(id)
    .bind(sealed)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records the time step of a code just used; `false` if it (or a later
/// one) was used already.
pub async fn use_totp_step(conn: &mut Conn, id: i64, step: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE residents SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
    )
    .bind(id)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts a wrong proof; the count restarts after `window` microseconds.
pub async fn link_failed(
    conn: &mut Conn,
    id: i64,
    now: i64,
    window: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE residents SET
             link_failures = CASE WHEN link_failures_since > $3 THEN link_failures + 1 ELSE 1 END,
             link_failures_since = CASE WHEN link_failures_since > $3 THEN link_failures_since
                                        ELSE $2 END
         WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(now - window)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a link sent by e-mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Reset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Confirm => "confirm",
            Purpose::Reset => "reset",
        }
    }
}

pub async fn insert_token(
    conn: &mut Conn,
    token_hash: &str,
    resident_id: i64,
    purpose: Purpose,
    expires_at: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO resident_tokens (token_hash, resident_id, purpose, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(resident_id)
    .bind(purpose.as_str())
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub struct TokenRow {
    pub resident_id: i64,
    pub expires_at: i64,
    pub used: bool,
}

/// The token, if it exists for this purpose.
pub async fn token<'e, E: Executor<'e, Database = Any>>(
    db: E,
    token_hash: &str,
    purpose: Purpose,
) -> Result<Option<TokenRow>, StoreError> {
    let row = sqlx::query(
        "SELECT resident_id, expires_at, used_at FROM resident_tokens
         WHERE token_hash = $1 AND purpose = $2",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(TokenRow {
            resident_id: r.try_get("resident_id")?,
            expires_at: r.try_get("expires_at")?,
            used: r.try_get::<Option<i64>, _>("used_at")?.is_some(),
        })
    })
    .transpose()
}

/// Uses the token once: `Some(resident)` only for the first use before it
/// expires.
pub async fn use_token(
    conn: &mut Conn,
    token_hash: &str,
    purpose: Purpose,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "UPDATE resident_tokens SET used_at = $3
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
         RETURNING resident_id",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("resident_id")).transpose()?)
}

/// Every other unused link of that purpose stops working (a new reset
/// link replaces the old; a reset password ends the reset links).
pub async fn retire_tokens(
    conn: &mut Conn,
    resident_id: i64,
    purpose: Purpose,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE resident_tokens SET used_at = $3
         WHERE resident_id = $1 AND purpose = $2 AND used_at IS NULL",
    )
    .bind(resident_id)
    .bind(purpose.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A service account linked to a resident account.
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub id: i64,
    pub service_account_id: i64,
    pub department: String,
    pub account_number: String,
    pub paperless: bool,
}

pub async fn links<'e, E: Executor<'e, Database = Any>>(
    db: E,
    resident_id: i64,
) -> Result<Vec<LinkRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT l.id, l.service_account_id, a.department, a.account_number, l.paperless_since
         FROM resident_links l JOIN service_accounts a ON a.id = l.service_account_id
         WHERE l.resident_id = $1 ORDER BY l.id",
    )
    .bind(resident_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LinkRow {
                id: r.try_get("id")?,
                service_account_id: r.try_get("service_account_id")?,
                department: r.try_get("department")?,
                account_number: r.try_get("account_number")?,
                paperless: r.try_get::<Option<i64>, _>("paperless_since")?.is_some(),
            })
        })
        .collect()
}

/// `false` when the account was already linked.
pub async fn insert_link(
    conn: &mut Conn,
    resident_id: i64,
    service_account_id: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO resident_links (resident_id, service_account_id, created_at)
         VALUES ($1, $2, $3) ON CONFLICT (resident_id, service_account_id) DO NOTHING",
    )
    .bind(resident_id)
    .bind(service_account_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The service account unlinked, if the link was this resident's.
pub async fn delete_link(
    conn: &mut Conn,
    resident_id: i64,
    link_id: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "DELETE FROM resident_links WHERE id = $1 AND resident_id = $2
         RETURNING service_account_id",
    )
    .bind(link_id)
    .bind(resident_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("service_account_id")).transpose()?)
}

/// Turns e-bills on (from `now`) or off; `false` when there is no such
/// link of this resident or nothing changed.
pub async fn set_paperless(
    conn: &mut Conn,
    resident_id: i64,
    link_id: i64,
    on: bool,
    now: i64,
) -> Result<bool, StoreError> {
    let sql = if on {
        "UPDATE resident_links SET paperless_since = $3
         WHERE id = $1 AND resident_id = $2 AND paperless_since IS NULL"
    } else {
        "UPDATE resident_links SET paperless_since = NULL
         WHERE id = $1 AND resident_id = $2 AND paperless_since IS NOT NULL AND $3 >= 0"
    };
    let done = sqlx::query(sql)
        .bind(link_id)
        .bind(resident_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whose link this is.
pub async fn link_owner<'e, E: Executor<'e, Database = Any>>(
    db: E,
    link_id: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT resident_id FROM resident_links WHERE id = $1")
        .bind(link_id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| r.try_get("resident_id")).transpose()?)
}

/// The amount of the account's latest bill (by due date), if it has one.
pub async fn last_bill_cents<'e, E: Executor<'e, Database = Any>>(
    db: E,
    service_account_id: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "SELECT amount_due_cents FROM receivables WHERE service_account_id = $1
         ORDER BY due_date DESC, id DESC LIMIT 1",
    )
    .bind(service_account_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| r.try_get("amount_due_cents")).transpose()?)
}

/// An e-mail about a bill that a paperless resident should get.
#[derive(Debug, Clone)]
pub struct NoticeDue {
    pub resident_id: i64,
    pub receivable_id: i64,
    pub kind: &'static str,
}

/// Bills imported since the resident asked for e-bills, and bills due by
/// `remind_until` (`YYYY-MM-DD`, not before `today`) with something still
/// owed, that have no notice of that kind yet. At most `limit` of each.
pub async fn notices_due(
    conn: &mut Conn,
    (today, remind_until): (&str, Option<&str>),
    limit: i64,
) -> Result<Vec<NoticeDue>, StoreError> {
    let mut out = Vec::new();
    let ready = sqlx::query(
        "SELECT l.resident_id, r.id AS receivable_id
         FROM resident_links l
         JOIN residents p ON p.id = l.resident_id AND p.confirmed_at IS NOT NULL
         JOIN receivables r ON r.service_account_id = l.service_account_id
         WHERE l.paperless_since IS NOT NULL AND r.created_at > l.paperless_since
           AND r.due_date >= $1
           AND NOT EXISTS (SELECT 1 FROM resident_notices n WHERE n.resident_id = l.resident_id
                           AND n.receivable_id = r.id AND n.kind = 'bill_ready')
         ORDER BY r.id LIMIT $2",
    )
    .bind(today)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    for r in &ready {
        out.push(NoticeDue {
            resident_id: r.try_get("resident_id")?,
            receivable_id: r.try_get("receivable_id")?,
            kind: "bill_ready",
        });
    }
    if let Some(until) = remind_until {
        let soon = sqlx::query(
            "SELECT l.resident_id, r.id AS receivable_id
             FROM resident_links l
             JOIN residents p ON p.id = l.resident_id AND p.confirmed_at IS NOT NULL
             JOIN receivables r ON r.service_account_id = l.service_account_id
             WHERE l.paperless_since IS NOT NULL AND r.due_date >= $1 AND r.due_date <= $2
               AND r.amount_due_cents + COALESCE((SELECT CAST(SUM(j.amount_cents) AS BIGINT)
                     FROM journal_lines j WHERE j.receivable_id = r.id), 0) > 0
               AND NOT EXISTS (SELECT 1 FROM resident_notices n WHERE n.resident_id = l.resident_id
                               AND n.receivable_id = r.id AND n.kind = 'due_soon')
             ORDER BY r.id LIMIT $3",
        )
        .bind(today)
        .bind(until)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        for r in &soon {
            out.push(NoticeDue {
                resident_id: r.try_get("resident_id")?,
                receivable_id: r.try_get("receivable_id")?,
                kind: "due_soon",
            });
        }
    }
    Ok(out)
}

/// Records the notice; `false` when another node recorded it first.
pub async fn insert_notice(conn: &mut Conn, n: &NoticeDue, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO resident_notices (resident_id, receivable_id, kind, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (resident_id, receivable_id, kind) DO NOTHING",
    )
    .bind(n.resident_id)
    .bind(n.receivable_id)
    .bind(n.kind)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A payment on one of a resident's linked accounts.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub payment_id: String,
    pub status: String,
    pub receipt_number: Option<String>,
    pub business_date: Option<String>,
    pub created_at: i64,
    pub department: String,
    pub reference: String,
    pub amount_cents: i64,
}

/// Payments on the resident's linked accounts, newest first: captured
/// ones (with their receipts) and those refunded or disputed since.
pub async fn history<'e, E: Executor<'e, Database = Any>>(
    db: E,
    resident_id: i64,
    limit: i64,
) -> Result<Vec<HistoryRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT p.id, p.status, p.receipt_number, p.business_date, p.created_at,
                i.department, r.reference, i.amount_cents
         FROM resident_links l
         JOIN receivables r ON r.service_account_id = l.service_account_id
         JOIN payment_items i ON i.receivable_id = r.id
         JOIN payments p ON p.id = i.payment_id
         WHERE l.resident_id = $1
           AND p.status IN ('succeeded', 'partially_refunded', 'refunded', 'disputed')
         ORDER BY p.created_at DESC, p.id, i.line_no LIMIT $2",
    )
    .bind(resident_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryRow {
                payment_id: r.try_get("id")?,
                status: r.try_get("status")?,
                receipt_number: r.try_get("receipt_number")?,
                business_date: r.try_get("business_date")?,
                created_at: r.try_get("created_at")?,
                department: r.try_get("department")?,
                reference: r.try_get("reference")?,
                amount_cents: r.try_get("amount_cents")?,
            })
        })
        .collect()
}
