//! A job queue in the database: it survives restarts and, on PostgreSQL,
//! several app nodes share it without running a job twice
//! (`FOR UPDATE SKIP LOCKED`). A job whose worker died is taken again once
//! its lease runs out, so handlers must be idempotent.

use super::{Backend, Conn, Db, StoreError, col};

#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: &'a str,
    /// At most one job with this key ever exists.
    pub dedupe_key: Option<&'a str>,
    pub run_at: i64,
    pub max_attempts: i64,
}

/// Queues a job in the caller's transaction; `false` when the dedupe key
/// was already used.
pub async fn enqueue(conn: &mut Conn, job: &NewJob<'_>, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO jobs (kind, payload, dedupe_key, status, run_at, attempts, max_attempts, created_at)
         VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6)
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(job.kind)
    .bind(job.payload)
    .bind(job.dedupe_key)
    .bind(job.run_at)
    .bind(job.max_attempts)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the next due job (or one whose lease expired) and leases it.
pub async fn claim(db: &Db, now: i64, lease_us: i64) -> Result<Option<JobRow>, StoreError> {
    let pick = "SELECT id FROM jobs
         WHERE (status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until <= $1)
         ORDER BY run_at, id LIMIT 1";
    let lock = match db.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE jobs SET status = 'running', locked_until = $2, attempts = attempts + 1
         WHERE id = ({pick}{lock})
         RETURNING id, kind, payload, attempts, max_attempts"
    );
    let mut tx = db.begin().await?;
    let row = sqlx::query(&sql)
        .bind(now)
        .bind(now.saturating_add(lease_us))
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    row.map(|r| {
        Ok(JobRow {
            id: col(&r, "id")?,
            kind: col(&r, "kind")?,
            payload: col(&r, "payload")?,
            attempts: col(&r, "attempts")?,
            max_attempts: col(&r, "max_attempts")?,
        })
    })
    .transpose()
}

pub async fn complete(conn: &mut Conn, id: i64, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET status = 'done', finished_at = $2, locked_until = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn retry_at(
    conn: &mut Conn,
    id: i64,
    run_at: i64,
    error: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET status = 'queued', run_at = $2, locked_until = NULL, last_error = $3
         WHERE id = $1",
    )
    .bind(id)
    .bind(run_at)
    .bind(error)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn give_up(conn: &mut Conn, id: i64, error: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET status = 'dead', last_error = $2, finished_at = $3, locked_until = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Counts by status, for metrics and health.
pub async fn counts(db: &Db) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| Ok((col(r, "status")?, col(r, "n")?)))
        .collect()
}
