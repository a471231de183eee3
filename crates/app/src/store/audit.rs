//! The audit table: append-only (database triggers refuse UPDATE and
//! DELETE) and hash-chained. Each insert takes the chain head under a row
//! lock (PostgreSQL) or the single writer (SQLite), so events chain in the
//! order they commit.

use domain::audit_chain::{ChainEvent, GENESIS, StoredEvent as ChainStored, link};
use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use super::{Conn, Db, StoreError, col};

pub struct AuditRow<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub outcome: &'a str,
    pub source_ip: Option<&'a str>,
    pub details: &'a str,
}

fn decode_hash(hex_text: &str) -> Result<[u8; 32], StoreError> {
    let v = hex::decode(hex_text).map_err(|_| StoreError::corrupt("audit hash is not hex"))?;
    v.try_into()
        .map_err(|_| StoreError::corrupt("audit hash is not 32 bytes"))
}

async fn head(conn: &mut Conn) -> Result<(i64, [u8; 32]), StoreError> {
    let lock = if conn.backend_name() == "PostgreSQL" {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(&format!(
        "SELECT seq, hash FROM audit_head WHERE id = 1{lock}"
    ))
    .fetch_one(&mut *conn)
    .await?;
    let hash: String = col(&row, "hash")?;
    Ok((col(&row, "seq")?, decode_hash(&hash)?))
}

pub async fn insert(conn: &mut Conn, e: &AuditRow<'_>) -> Result<i64, StoreError> {
    let (last, prev) = head(conn).await?;
    let seq = last + 1;
    let chain = ChainEvent {
        at: e.at,
        actor: e.actor.to_owned(),
        action: e.action.to_owned(),
        target: e.target.map(str::to_owned),
        outcome: e.outcome.to_owned(),
        source_ip: e.source_ip.map(str::to_owned),
        details: e.details.to_owned(),
    };
    let hash = hex::encode(link(&prev, &chain));
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor, action, target, outcome, source_ip, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(seq)
    .bind(e.at)
    .bind(e.actor)
    .bind(e.action)
    .bind(e.target)
    .bind(e.outcome)
    .bind(e.source_ip)
    .bind(e.details)
    .bind(hex::encode(prev))
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

/// Chains rows written before the chain existed (once, at migration).
pub(super) async fn seal_unchained(db: &Db) -> Result<u64, StoreError> {
    let mut tx = db.begin().await?;
    let (mut last, mut prev) = head(&mut tx).await?;
    // Only events after the head can be waiting for their link (an event at
    // or before it without one is damage, which `audit verify` names); the
    // primary key keeps this from reading the whole table at every start.
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE seq > $1 AND hash IS NULL ORDER BY seq"
    ))
    .bind(last)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut n = 0;
    for r in &rows {
        let seq: i64 = col(r, "seq")?;
        let e = chain_event(r)?;
        let hash = link(&prev, &e);
        sqlx::query(
            "UPDATE audit_events SET prev_hash = $2, hash = $3 WHERE seq = $1 AND hash IS NULL",
        )
        .bind(seq)
        .bind(hex::encode(prev))
        .bind(hex::encode(hash))
        .execute(&mut *tx)
        .await?;
        prev = hash;
        last = seq;
        n += 1;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(last)
        .bind(hex::encode(prev))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(n)
}

const COLUMNS: &str =
    "seq, at, actor, action, target, outcome, source_ip, details, prev_hash, hash";

fn chain_event(r: &AnyRow) -> Result<ChainEvent, StoreError> {
    Ok(ChainEvent {
        at: col(r, "at")?,
        actor: col(r, "actor")?,
        action: col(r, "action")?,
        target: col(r, "target")?,
        outcome: col(r, "outcome")?,
        source_ip: col(r, "source_ip")?,
        details: col(r, "details")?,
    })
}

/// The chain head: last sequence number and its hash.
pub async fn chain_head<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> Result<(i64, [u8; 32]), StoreError> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(ex)
        .await?;
    match row {
        Some(r) => {
            let hash: String = col(&r, "hash")?;
            Ok((col(&r, "seq")?, decode_hash(&hash)?))
        }
        None => Ok((0, GENESIS)),
    }
}

/// Where the chain resumes after retention removed its oldest events:
/// the last removed sequence number and its hash (a signed checkpoint's).
pub async fn pruned<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> Result<Option<(i64, [u8; 32])>, StoreError> {
    let row = sqlx::query("SELECT seq, hash FROM audit_pruned WHERE id = 1")
        .fetch_optional(ex)
        .await?;
    row.map(|r| {
        let hash: String = col(&r, "hash")?;
        Ok((col(&r, "seq")?, decode_hash(&hash)?))
    })
    .transpose()
}

/// Removes every event up to `seq`, recording that the chain resumes from
/// `hash` (the schema refuses to delete anything after the record, and the
/// record only moves forward). Returns the events removed.
pub async fn prune_through(
    conn: &mut Conn,
    seq: i64,
    hash: &str,
    at: i64,
) -> Result<u64, StoreError> {
    sqlx::query(
        "INSERT INTO audit_pruned (id, seq, hash, at) VALUES (1, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at",
    )
    .bind(seq)
    .bind(hash)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query("DELETE FROM audit_events WHERE seq <= $1")
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Streams every event up to `upto` in sequence order to `each`.
pub async fn walk<F: FnMut(ChainStored)>(
    db: &Db,
    upto: i64,
    mut each: F,
) -> Result<(), StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM audit_events WHERE seq <= $1 ORDER BY seq");
    let mut rows = sqlx::query(&sql).bind(upto).fetch(db.reader());
    while let Some(r) = rows.try_next().await? {
        let prev: Option<String> = col(&r, "prev_hash")?;
        let hash: Option<String> = col(&r, "hash")?;
        let seq: i64 = col(&r, "seq")?;
        // A row without a hash is treated as an edit of that row.
        let decode = |h: Option<String>| {
            h.as_deref()
                .map(decode_hash)
                .transpose()
                .map(|o| o.unwrap_or(GENESIS))
        };
        let (prev_hash, hash) = match (decode(prev), decode(hash)) {
            (Ok(p), Ok(h)) => (p, h),
            _ => (GENESIS, GENESIS),
        };
        each(ChainStored {
            seq,
            prev_hash,
            hash,
            event: chain_event(&r)?,
        });
    }
    Ok(())
}

pub async fn last_checkpoint<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> Result<Option<(i64, i64)>, StoreError> {
    let row = sqlx::query("SELECT seq, at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
        .fetch_optional(ex)
        .await?;
    row.map(|r| Ok((col(&r, "seq")?, col(&r, "at")?)))
        .transpose()
}

/// Claims a checkpoint (one node writes each); `false` if already taken.
pub async fn claim_checkpoint(
    conn: &mut Conn,
    seq: i64,
    hash: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("INSERT INTO audit_checkpoints (seq, hash, at) VALUES ($1, $2, $3) ON CONFLICT (seq) DO NOTHING")
        .bind(seq)
        .bind(hash)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
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

fn stored_from(r: &AnyRow) -> Result<StoredEvent, StoreError> {
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
}

/// Events about one target, oldest first.
pub async fn for_target<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    target: &str,
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE target = $1 ORDER BY seq"
    ))
    .bind(target)
    .fetch_all(ex)
    .await?;
    rows.iter().map(stored_from).collect()
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
        "SELECT {COLUMNS} FROM audit_events{cond} ORDER BY seq DESC LIMIT ${} OFFSET ${}",
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
        .map(stored_from)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let more = out.len() as i64 > limit;
    out.truncate(usize::try_from(limit).unwrap_or(0));
    Ok((out, more))
}
