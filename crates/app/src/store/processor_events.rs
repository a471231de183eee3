//! Processor events seen, so a duplicated or replayed event is recognised.

use super::{Conn, StoreError};

/// Records the event; `false` when it was already recorded.
pub async fn record(
    conn: &mut Conn,
    processor: &str,
    event_id: &str,
    event_type: &str,
    payment_id: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO processor_events (processor, event_id, event_type, payment_id, received_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (processor, event_id) DO NOTHING",
    )
    .bind(processor)
    .bind(event_id)
    .bind(event_type)
    .bind(payment_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub const FOR_PAYMENT: &str = "SELECT event_type, event_id, received_at FROM processor_events
    WHERE payment_id = $1 ORDER BY received_at";

/// Events received about a payment, oldest first: (type, event id, when).
pub async fn for_payment<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    payment_id: &str,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    let rows = sqlx::query(FOR_PAYMENT)
        .bind(payment_id)
        .fetch_all(ex)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                super::col(r, "event_type")?,
                super::col(r, "event_id")?,
                super::col(r, "received_at")?,
            ))
        })
        .collect()
}
