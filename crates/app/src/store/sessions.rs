//! Server-side sessions. Only a hash of the cookie value is stored, so a
//! copy of the database does not hold live session ids.

use sqlx::{Any, Executor};

use super::{Conn, StoreError, col};

pub struct SessionRow {
    pub data: String,
    pub created_at: i64,
}

pub async fn load<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id_hash: &str,
    now: i64,
) -> Result<Option<SessionRow>, StoreError> {
    let row =
        sqlx::query("SELECT data, created_at FROM sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(id_hash)
            .bind(now)
            .fetch_optional(ex)
            .await?;
    row.map(|r| {
        Ok(SessionRow {
            data: col(&r, "data")?,
            created_at: col(&r, "created_at")?,
        })
    })
    .transpose()
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

pub async fn purge_expired(conn: &mut Conn, now: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
