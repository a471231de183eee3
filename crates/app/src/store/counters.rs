//! Named sequences (receipt numbers per year), gap-free within committed
//! transactions because the increment is part of the caller's transaction.

use super::{Conn, StoreError, col};

pub async fn next(conn: &mut Conn, name: &str) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO counters (name, value) VALUES ($1, 1)
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1
         RETURNING value",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await?;
    col(&row, "value")
}
