//! The audit table. Rows are only ever inserted.

use sqlx::{Any, Executor};

use super::{Conn, StoreError, col};

pub struct AuditRow<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub outcome: &'a str,
    pub source_ip: Option<&'a str>,
    pub details: &'a str,
}

pub async fn insert(conn: &mut Conn, e: &AuditRow<'_>) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO audit_events (at, actor, action, target, outcome, source_ip, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
    )
    .bind(e.at)
    .bind(e.actor)
    .bind(e.action)
    .bind(e.target)
    .bind(e.outcome)
    .bind(e.source_ip)
    .bind(e.details)
    .fetch_one(&mut *conn)
    .await?;
    col(&row, "seq")
}

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub source_ip: Option<String>,
    pub details: String,
}

/// Events about one target, oldest first.
pub async fn for_target<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    target: &str,
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, target, outcome, source_ip, details
         FROM audit_events WHERE target = $1 ORDER BY seq",
    )
    .bind(target)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredEvent {
                seq: col(r, "seq")?,
                at: col(r, "at")?,
                actor: col(r, "actor")?,
                action: col(r, "action")?,
                target: col(r, "target")?,
                outcome: col(r, "outcome")?,
                source_ip: col(r, "source_ip")?,
                details: col(r, "details")?,
            })
        })
        .collect()
}
