//! Server-side sessions. Only a hash of the cookie value is stored, so a
//! copy of the database does not hold live session ids.

use super::inline::{self, Columns};
use super::{Conn, Db, StoreError};

pub struct SessionRow {
    pub data: String,
    pub created_at: i64,
}

const LOAD: &str = "SELECT data, created_at FROM sessions WHERE id_hash = $1 AND expires_at > $2";

fn session_from(r: &impl Columns) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        data: r.text("data")?,
        created_at: r.int("created_at")?,
    })
}

/// Read on every resident request: inline on SQLite.
pub async fn load(db: &Db, id_hash: &str, now: i64) -> Result<Option<SessionRow>, StoreError> {
    if let Some(path) = db.inline_reads() {
        return inline::read(path, |c| {
            let mut stmt = c.prepare_cached(LOAD).map_err(inline::sql)?;
            let mut rows = stmt
                .query(rusqlite::params![id_hash, now])
                .map_err(inline::sql)?;
            match rows.next().map_err(inline::sql)? {
                Some(r) => session_from(r).map(Some),
                None => Ok(None),
            }
        });
    }
    let row = sqlx::query(LOAD)
        .bind(id_hash)
        .bind(now)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(session_from).transpose()
}

pub async fn save(
    conn: &mut Conn,
    id_hash: &str,
    data: &str,
    created_at: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, data, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data,
             last_seen_at = excluded.last_seen_at, expires_at = excluded.expires_at",
    )
    .bind(id_hash)
    .bind(data)
    .bind(created_at)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, id_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn purge_expired(conn: &mut Conn, now: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
