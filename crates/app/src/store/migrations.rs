//! Forward-only migrations, embedded in the binary (nothing is read from
//! disk at run time). Each one runs in its own transaction and is recorded
//! with its SHA-256; a recorded migration whose text changed stops start-up.

use sqlx::Executor;

use super::{Backend, Db, StoreError, col};
use crate::crypto::sha256_hex;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "staff",
        sqlite: include_str!("../../migrations/sqlite/0002_staff.sql"),
        postgres: include_str!("../../migrations/postgres/0002_staff.sql"),
    },
    Migration {
        version: 3,
        name: "audit_chain",
        sqlite: include_str!("../../migrations/sqlite/0003_audit_chain.sql"),
        postgres: include_str!("../../migrations/postgres/0003_audit_chain.sql"),
    },
    Migration {
        version: 4,
        name: "payment_locale",
        sqlite: include_str!("../../migrations/sqlite/0004_payment_locale.sql"),
        postgres: include_str!("../../migrations/postgres/0004_payment_locale.sql"),
    },
    Migration {
        version: 5,
        name: "audit_pruned",
        sqlite: include_str!("../../migrations/sqlite/0005_audit_pruned.sql"),
        postgres: include_str!("../../migrations/postgres/0005_audit_pruned.sql"),
    },
    Migration {
        version: 6,
        name: "bill_lines",
        sqlite: include_str!("../../migrations/sqlite/0006_bill_lines.sql"),
        postgres: include_str!("../../migrations/postgres/0006_bill_lines.sql"),
    },
    Migration {
        version: 7,
        name: "licences",
        sqlite: include_str!("../../migrations/sqlite/0007_licences.sql"),
        postgres: include_str!("../../migrations/postgres/0007_licences.sql"),
    },
    Migration {
        version: 8,
        name: "residents",
        sqlite: include_str!("../../migrations/sqlite/0008_residents.sql"),
        postgres: include_str!("../../migrations/postgres/0008_residents.sql"),
    },
    Migration {
        version: 9,
        name: "wallet",
        sqlite: include_str!("../../migrations/sqlite/0009_wallet.sql"),
        postgres: include_str!("../../migrations/postgres/0009_wallet.sql"),
    },
    Migration {
        version: 10,
        name: "refund_reversals",
        sqlite: include_str!("../../migrations/sqlite/0010_refund_reversals.sql"),
        postgres: include_str!("../../migrations/postgres/0010_refund_reversals.sql"),
    },
    Migration {
        version: 11,
        name: "payment_lookups",
        sqlite: include_str!("../../migrations/sqlite/0011_payment_lookups.sql"),
        postgres: include_str!("../../migrations/postgres/0011_payment_lookups.sql"),
    },
];

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// Applies what is missing; returns the names of the migrations applied.
/// With `upto`, stops after that version (a restore loads a backup's rows
/// into the schema they were taken from, then migrates the rest).
pub(super) async fn run(db: &Db, upto: Option<i64>) -> Result<Vec<String>, StoreError> {
    let mut applied = Vec::new();
    {
        let mut tx = db.begin().await?;
        lock(db, &mut tx).await?;
        tx.execute(CREATE_TABLE).await?;
        let newest: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM schema_migrations")
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| {
                use sqlx::Row;
                r.try_get::<Option<i64>, _>("v")
            })?;
        let known = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
        if let Some(v) = newest
            && v > known
        {
            return Err(StoreError::SchemaTooNew(v));
        }
        tx.commit().await?;
    }
    for m in MIGRATIONS
        .iter()
        .filter(|m| upto.is_none_or(|u| m.version <= u))
    {
        let sql = match db.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let sum = sha256_hex(sql.as_bytes());
        let mut tx = db.begin().await?;
        lock(db, &mut tx).await?;
        let row = sqlx::query("SELECT sha256 FROM schema_migrations WHERE version = $1")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = row {
            let recorded: String = col(&row, "sha256")?;
            if recorded != sum {
                return Err(StoreError::MigrationChanged {
                    version: m.version,
                    name: m.name,
                });
            }
            continue;
        }
        tx.execute(sqlx::raw_sql(sql)).await?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(&sum)
        .bind(jiff::Timestamp::now().as_microsecond())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        applied.push(format!("{:04}_{}", m.version, m.name));
    }
    super::audit::seal_unchained(db).await?;
    Ok(applied)
}

/// The newest schema version this program knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// Two app nodes starting together on PostgreSQL must not both migrate.
async fn lock(db: &Db, tx: &mut super::Tx) -> Result<(), StoreError> {
    if db.backend() == Backend::Postgres {
        // Selected through a subquery: the Any driver cannot decode `void`.
        tx.execute("SELECT CAST(1 AS BIGINT) AS locked FROM (SELECT pg_advisory_xact_lock(726192301)) AS l")
            .await?;
    }
    Ok(())
}
