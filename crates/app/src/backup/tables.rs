//! Which tables a backup holds, in an order that restores without breaking
//! a foreign key, and reading their columns from either database's
//! catalog.

use sqlx::Row;

use super::file::{Column, ColumnKind};
use crate::store::{Backend, Conn, StoreError};

/// Every table of the schema except `schema_migrations` (the manifest
/// records the schema version; restore runs the migrations), parents
/// before children. A migration that adds a table must add it here:
/// `backup create` refuses a database with a table it does not know, and a
/// test compares this list with the migrated schema.
pub const TABLES: &[(&str, &str)] = &[
    ("counters", "name"),
    ("sessions", "id_hash"),
    ("jobs", "id"),
    ("import_runs", "id"),
    ("service_accounts", "id"),
    ("receivables", "id"),
    ("licences", "id"),
    ("licence_renewals", "id"),
    ("payments", "id"),
    ("payment_items", "payment_id, line_no"),
    ("processor_events", "processor, event_id"),
    ("journal_entries", "id"),
    ("journal_lines", "id"),
    ("audit_events", "seq"),
    ("audit_head", "id"),
    ("audit_checkpoints", "seq"),
    ("audit_pruned", "id"),
    ("staff_users", "id"),
    ("staff_enrolments", "token_hash"),
    ("staff_recovery_codes", "staff_id, code_hash"),
    ("staff_sessions", "id_hash"),
    ("login_throttle", "key"),
    ("payment_notes", "id"),
    ("refunds", "id"),
    ("refund_lines", "refund_id, line_no"),
    ("closed_dates", "business_date"),
    ("residents", "id"),
    ("resident_tokens", "token_hash"),
    ("wallet_methods", "id"),
    ("wallet_setups", "token"),
    ("resident_links", "id"),
    ("resident_notices", "resident_id, receivable_id, kind"),
    ("planned_charges", "id"),
];

/// Tables the migrations themselves fill.
pub const MIGRATION_TABLE: &str = "schema_migrations";

pub fn order_by(table: &str) -> Option<&'static str> {
    TABLES.iter().find(|(t, _)| *t == table).map(|(_, k)| *k)
}

/// The tables in the database, by name (SQLite's own excluded).
pub async fn catalog_tables(conn: &mut Conn, backend: Backend) -> Result<Vec<String>, StoreError> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS t FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
    };
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("t").map_err(StoreError::from))
        .collect()
}

/// A table's columns in their order, with the kind of value each holds.
pub async fn columns(
    conn: &mut Conn,
    backend: Backend,
    table: &str,
) -> Result<Vec<Column>, StoreError> {
    let rows = match backend {
        Backend::Sqlite => {
            sqlx::query("SELECT name AS c, type AS k FROM pragma_table_info($1) ORDER BY cid")
                .bind(table)
                .fetch_all(&mut *conn)
                .await?
        }
        Backend::Postgres => {
            sqlx::query(
                "SELECT CAST(column_name AS TEXT) AS c, CAST(data_type AS TEXT) AS k
                 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let name: String = r.try_get("c")?;
        let declared: String = r.try_get("k")?;
        let upper = declared.to_ascii_uppercase();
        let kind = if upper.contains("INT") {
            ColumnKind::Integer
        } else if upper.contains("TEXT") {
            ColumnKind::Text
        } else {
            return Err(StoreError::corrupt(format!(
                "{table}.{name} has type {declared}, which backups do not hold yet"
            )));
        };
        out.push(Column { name, kind });
    }
    Ok(out)
}

/// `"name"` quoted for SQL (names come from our own list or catalog).
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
