//! Staff users, enrolment links, recovery codes, sessions, sign-in
//! throttling and payment notes. Secrets are stored as hashes or sealed.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use super::{Conn, StoreError, col};

#[derive(Debug, Clone)]
pub struct StaffRow {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub status: String,
    pub password_hash: Option<String>,
    pub totp_secret_enc: Option<String>,
    pub totp_last_step: i64,
    pub created_at: i64,
}

const USER_COLUMNS: &str =
    "id, email, role, status, password_hash, totp_secret_enc, totp_last_step, created_at";

fn user_from(r: &AnyRow) -> Result<StaffRow, StoreError> {
    Ok(StaffRow {
        id: col(r, "id")?,
        email: col(r, "email")?,
        role: col(r, "role")?,
        status: col(r, "status")?,
        password_hash: col(r, "password_hash")?,
        totp_secret_enc: col(r, "totp_secret_enc")?,
        totp_last_step: col(r, "totp_last_step")?,
        created_at: col(r, "created_at")?,
    })
}

pub async fn insert_user(
    conn: &mut Conn,
    email: &str,
    role: &str,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO staff_users (email, role, status, created_at, updated_at)
         VALUES ($1, $2, 'invited', $3, $3) RETURNING id",
    )
    .bind(email)
    .bind(role)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    col(&row, "id")
}

pub async fn user_by_email<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    email: &str,
) -> Result<Option<StaffRow>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM staff_users WHERE email = $1");
    let row = sqlx::query(&sql).bind(email).fetch_optional(ex).await?;
    row.as_ref().map(user_from).transpose()
}

pub async fn user_by_id<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
) -> Result<Option<StaffRow>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM staff_users WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(ex).await?;
    row.as_ref().map(user_from).transpose()
}

pub async fn list_users<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> Result<Vec<StaffRow>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM staff_users ORDER BY email");
    let rows = sqlx::query(&sql).fetch_all(ex).await?;
    rows.iter().map(user_from).collect()
}

pub async fn set_status(
    conn: &mut Conn,
    id: i64,
    status: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE staff_users SET status = $2, updated_at = $3 WHERE id = $1 AND status <> $2",
    )
    .bind(id)
    .bind(status)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the password and authenticator and makes the account active.
pub async fn activate(
    conn: &mut Conn,
    id: i64,
    password_hash: &str,
    totp_enc: &str,
    totp_step: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE staff_users SET password_hash = $2, totp_secret_enc = $3, totp_last_step = $4,
             status = 'active', updated_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(password_hash)
    .bind(totp_enc)
    .bind(totp_step)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records that a TOTP step was used; `false` if it (or a later one)
/// already was: the replay check, atomic across nodes.
pub async fn use_totp_step(conn: &mut Conn, id: i64, step: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE staff_users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
    )
    .bind(id)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_enrolment(
    conn: &mut Conn,
    token_hash: &str,
    staff_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    // A new link replaces any earlier one.
    sqlx::query("UPDATE staff_enrolments SET used_at = $2, pending_totp_enc = NULL WHERE staff_id = $1 AND used_at IS NULL")
        .bind(staff_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO staff_enrolments (token_hash, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(staff_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct EnrolmentRow {
    pub staff_id: i64,
    pub pending_totp_enc: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub async fn enrolment<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token_hash: &str,
) -> Result<Option<EnrolmentRow>, StoreError> {
    let row = sqlx::query(
        "SELECT staff_id, pending_totp_enc, expires_at, used_at FROM staff_enrolments WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(EnrolmentRow {
            staff_id: col(&r, "staff_id")?,
            pending_totp_enc: col(&r, "pending_totp_enc")?,
            expires_at: col(&r, "expires_at")?,
            used_at: col(&r, "used_at")?,
        })
    })
    .transpose()
}

pub async fn set_pending_totp(
    conn: &mut Conn,
    token_hash: &str,
    enc: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE staff_enrolments SET pending_totp_enc = $2 WHERE token_hash = $1 AND pending_totp_enc IS NULL")
        .bind(token_hash)
        .bind(enc)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks the link used; `false` when it already was (single use).
pub async fn use_enrolment(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE staff_enrolments SET used_at = $2, pending_totp_enc = NULL WHERE token_hash = $1 AND used_at IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn replace_recovery_codes(
    conn: &mut Conn,
    staff_id: i64,
    hashes: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM staff_recovery_codes WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut *conn)
        .await?;
    for h in hashes {
        sqlx::query("INSERT INTO staff_recovery_codes (staff_id, code_hash) VALUES ($1, $2)")
            .bind(staff_id)
            .bind(h)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Spends a recovery code; `false` if unknown or already used.
pub async fn use_recovery_code(
    conn: &mut Conn,
    staff_id: i64,
    hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE staff_recovery_codes SET used_at = $3 WHERE staff_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(staff_id)
    .bind(hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn recovery_codes_left<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    staff_id: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM staff_recovery_codes WHERE staff_id = $1 AND used_at IS NULL",
    )
    .bind(staff_id)
    .fetch_one(ex)
    .await?;
    col(&row, "n")
}

pub async fn insert_session(
    conn: &mut Conn,
    id_hash: &str,
    staff_id: i64,
    now: i64,
    expires_at: i64,
    source_ip: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO staff_sessions (id_hash, staff_id, created_at, last_seen_at, expires_at, source_ip)
         VALUES ($1, $2, $3, $3, $4, $5)",
    )
    .bind(id_hash)
    .bind(staff_id)
    .bind(now)
    .bind(expires_at)
    .bind(source_ip)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A live session: not past its absolute end, not idle too long, and its
/// user still active.
pub async fn live_session<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id_hash: &str,
    now: i64,
    idle_us: i64,
) -> Result<Option<(StaffRow, i64)>, StoreError> {
    let sql = format!(
        "SELECT {}, s.last_seen_at AS seen FROM staff_sessions s JOIN staff_users u ON u.id = s.staff_id
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.status = 'active'",
        USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let row = sqlx::query(&sql)
        .bind(id_hash)
        .bind(now)
        .bind(now - idle_us)
        .fetch_optional(ex)
        .await?;
    row.map(|r| Ok((user_from(&r)?, col(&r, "seen")?)))
        .transpose()
}

pub async fn touch_session(conn: &mut Conn, id_hash: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE staff_sessions SET last_seen_at = $2 WHERE id_hash = $1")
        .bind(id_hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn end_session(conn: &mut Conn, id_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM staff_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn end_all_sessions(conn: &mut Conn, staff_id: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Failures so far and when the key may try again.
pub async fn throttle<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    key: &str,
) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query("SELECT failures, blocked_until FROM login_throttle WHERE key = $1")
        .bind(key)
        .fetch_optional(ex)
        .await?;
    Ok(match row {
        Some(r) => (col(&r, "failures")?, col(&r, "blocked_until")?),
        None => (0, 0),
    })
}

pub async fn record_failure(
    conn: &mut Conn,
    key: &str,
    blocked_until: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO login_throttle (key, failures, blocked_until, updated_at) VALUES ($1, 1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1,
             blocked_until = excluded.blocked_until, updated_at = excluded.updated_at
         RETURNING failures",
    )
    .bind(key)
    .bind(blocked_until)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    col(&row, "failures")
}

pub async fn clear_throttle(conn: &mut Conn, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NoteRow {
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

pub async fn add_note(
    conn: &mut Conn,
    payment_id: &str,
    staff_id: i64,
    body: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO payment_notes (payment_id, staff_id, body, created_at) VALUES ($1, $2, $3, $4)")
        .bind(payment_id)
        .bind(staff_id)
        .bind(body)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn notes<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    payment_id: &str,
) -> Result<Vec<NoteRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT u.email AS author, n.body, n.created_at FROM payment_notes n
         JOIN staff_users u ON u.id = n.staff_id WHERE n.payment_id = $1 ORDER BY n.id",
    )
    .bind(payment_id)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(NoteRow {
                author: col(r, "author")?,
                body: col(r, "body")?,
                created_at: col(r, "created_at")?,
            })
        })
        .collect()
}
