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

/// Newest first, optionally filtered by action (prefix) and target.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    action_prefix: Option<&str>,
    target: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<StoredEvent>, bool), StoreError> {
    let mut clauses = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    if let Some(a) = action_prefix {
        binds.push(format!("{a}%"));
        clauses.push(format!("action LIKE ${}", binds.len()));
    }
    if let Some(t) = target {
        binds.push(t.to_owned());
        clauses.push(format!("target = ${}", binds.len()));
    }
    let cond = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT seq, at, actor, action, target, outcome, source_ip, details FROM audit_events{cond}
         ORDER BY seq DESC LIMIT ${} OFFSET ${}",
        binds.len() + 1,
        binds.len() + 2
    );
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b.as_str());
    }
    let rows = q.bind(limit + 1).bind(offset).fetch_all(ex).await?;
    let mut out = rows
        .iter()
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
        .collect::<Result<Vec<_>, StoreError>>()?;
    let more = out.len() as i64 > limit;
    out.truncate(usize::try_from(limit).unwrap_or(0));
    Ok((out, more))
}
