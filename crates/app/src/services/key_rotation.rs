//! Rotating the field-encryption key: a new key is added to the key file
//! and made current (old keys stay, so existing values still open), then
//! every sealed value is re-encrypted with it, in batches. Stopping half-way
//! is safe: running it again continues with the values not yet on the
//! current key.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::crypto::fields::FieldContext;
use crate::crypto::random_bytes;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("{0}: {1}")]
    KeyFile(String, String),
    #[error("a sealed value in {table}.{column} cannot be opened: {reason}")]
    Unreadable {
        table: &'static str,
        column: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RotationError {
    fn from(e: sqlx::Error) -> Self {
        RotationError::Store(StoreError::from(e))
    }
}

/// Adds a new field key to the key file and makes it current; returns its
/// id. The file is replaced atomically and stays 0600.
pub fn add_field_key(path: &Path) -> Result<String, RotationError> {
    let label = path.display().to_string();
    let err = |e: String| RotationError::KeyFile(label.clone(), e);
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let mut table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| err(e.message().to_owned()))?;
    let keys = table
        .entry("field_keys")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .ok_or_else(|| err("field_keys is not a table".into()))?;
    let next = (1..)
        .map(|n| format!("k{n}"))
        .find(|id| !keys.contains_key(id))
        .unwrap_or_else(|| "k1".into());
    keys.insert(
        next.clone(),
        toml::Value::String(STANDARD.encode(random_bytes::<32>())),
    );
    table.insert(
        "field_key_current".into(),
        toml::Value::String(next.clone()),
    );
    let body = toml::to_string(&table).map_err(|e| err(e.to_string()))?;
    let out = format!(
        "# cityteller key file. Keep it readable by the service user only (chmod 600),\n\
         # outside the database and its backups, and keep an offline copy.\n\
         # Field key {next} was added by `cityteller keys rotate`; older field keys stay\n\
         # until no value uses them.\n{body}"
    );
    let tmp = path.with_extension("toml.new");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(|e| err(e.to_string()))?;
        f.write_all(out.as_bytes())
            .map_err(|e| err(e.to_string()))?;
        f.sync_all().map_err(|e| err(e.to_string()))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))?;
    Ok(next)
}

/// A column of sealed values and how its rows are named in the AAD.
struct Sealed {
    table: &'static str,
    column: &'static str,
    /// The AAD column name (see where each value is sealed).
    field: &'static str,
    key: &'static str,
    row: &'static str,
}

const SEALED: &[Sealed] = &[
    Sealed {
        table: "service_accounts",
        column: "holder_name_enc",
        field: "holder_name",
        key: "id",
        row: "department || '/' || account_number",
    },
    Sealed {
        table: "service_accounts",
        column: "service_address_enc",
        field: "service_address",
        key: "id",
        row: "department || '/' || account_number",
    },
    Sealed {
        table: "payments",
        column: "receipt_email_enc",
        field: "receipt_email",
        key: "id",
        row: "id",
    },
    Sealed {
        table: "staff_users",
        column: "totp_secret_enc",
        field: "totp_secret",
        key: "id",
        row: "CAST(id AS TEXT)",
    },
    Sealed {
        table: "staff_enrolments",
        column: "pending_totp_enc",
        field: "pending_totp",
        key: "token_hash",
        row: "token_hash",
    },
];

const BATCH: i64 = 500;

/// How many sealed values are not on the current key.
pub async fn remaining(app: &App) -> Result<i64, RotationError> {
    let prefix = format!("v1.{}.%", app.keys.fields.current_id());
    let mut n = 0;
    for s in SEALED {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {} WHERE {} IS NOT NULL AND {} NOT LIKE $1",
            s.table, s.column, s.column
        );
        let row = sqlx::query(&sql)
            .bind(&prefix)
            .fetch_one(app.db.reader())
            .await?;
        n += crate::store::col::<i64>(&row, "n")?;
    }
    Ok(n)
}

/// Re-encrypts every sealed value with the current key; returns how many.
pub async fn reencrypt<F: FnMut(u64)>(
    app: &App,
    actor: &Actor,
    mut progress: F,
) -> Result<u64, RotationError> {
    use sqlx::Row;
    let current = app.keys.fields.current_id().to_owned();
    let prefix = format!("v1.{current}.%");
    let mut done = 0u64;
    for s in SEALED {
        loop {
            let mut tx = app.db.begin().await?;
            // Keys are read as text on both databases.
            let sql = format!(
                "SELECT CAST({key} AS TEXT) AS k, {row} AS r, {col} AS v FROM {table}
                 WHERE {col} IS NOT NULL AND {col} NOT LIKE $1 LIMIT $2",
                key = s.key,
                row = s.row,
                col = s.column,
                table = s.table
            );
            let rows = sqlx::query(&sql)
                .bind(&prefix)
                .bind(BATCH)
                .fetch_all(&mut *tx)
                .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let key: String = r.try_get("k")?;
                let row_name: String = r.try_get("r")?;
                let old: String = r.try_get("v")?;
                let ctx = FieldContext {
                    table: s.table,
                    column: s.field,
                    row: &row_name,
                };
                let plain =
                    app.keys
                        .fields
                        .open(&old, &ctx)
                        .map_err(|e| RotationError::Unreadable {
                            table: s.table,
                            column: s.column,
                            reason: e.to_string(),
                        })?;
                let new =
                    app.keys
                        .fields
                        .seal(&plain, &ctx)
                        .map_err(|e| RotationError::Unreadable {
                            table: s.table,
                            column: s.column,
                            reason: e.to_string(),
                        })?;
                let update = format!(
                    "UPDATE {table} SET {col} = $1 WHERE CAST({key} AS TEXT) = $2 AND {col} = $3",
                    table = s.table,
                    col = s.column,
                    key = s.key
                );
                sqlx::query(&update)
                    .bind(&new)
                    .bind(&key)
                    .bind(&old)
                    .execute(&mut *tx)
                    .await?;
            }
            done += rows.len() as u64;
            tx.commit().await?;
            progress(done);
        }
    }
    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor,
            action: "keys.reencrypted",
            target: None,
            outcome: Outcome::Success,
            source_ip: None,
            details: json!({ "current_key": current, "values": done }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(done)
}
