//! One repository layer for SQLite and PostgreSQL, through sqlx's `Any`
//! driver. SQL is written once in the common dialect (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT`), money is BIGINT cents and times are BIGINT
//! microseconds, so both backends store and return the same values. Where
//! the dialects differ (row locks, `SKIP LOCKED`) a function branches on
//! [`Backend`].
//!
//! Repository functions take a connection or transaction; the services
//! decide where a transaction starts and ends.
//!
//! SQLite has one writer connection (writes are serialised by SQLite anyway;
//! one connection keeps the WAL small and avoids busy-snapshot errors) and a
//! pool of read-only connections.

pub mod audit;
pub mod close;
pub mod counters;
pub mod export;
pub mod group;
pub mod inline;
pub mod jobs;
pub mod ledger;
mod migrations;
pub mod payments;
pub mod processor_events;
pub mod receivables;
pub mod refunds;
pub mod residents;
pub mod search;
pub mod sessions;
pub mod staff;
pub mod wallet;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor};

use crate::config::DatabaseUrl;

pub type Tx = sqlx::Transaction<'static, Any>;
pub type Conn = sqlx::AnyConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("migration {version} ({name}) was changed after it was applied; refusing to run")]
    MigrationChanged { version: i64, name: &'static str },
    #[error(
        "the database has schema version {0}, newer than this program knows; upgrade cityteller"
    )]
    SchemaTooNew(i64),
    #[error("the database at {0} is not empty")]
    NotEmpty(String),
}

impl StoreError {
    /// True when a UNIQUE constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Sql(sqlx::Error::Database(db)) => db.is_unique_violation(),
            _ => false,
        }
    }

    pub fn corrupt(what: impl Into<String>) -> Self {
        StoreError::Corrupt(what.into())
    }
}

#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
}

struct DbInner {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
    label: String,
    /// The file, for the few bulk paths that read SQLite directly.
    sqlite_path: Option<std::path::PathBuf>,
    /// SQLite's group committer (see [`group`]).
    committer: Option<group::Committer>,
}

impl Db {
    pub async fn connect(url: &DatabaseUrl) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| StoreError::Sql(sqlx::Error::Io(e)))?;
                }
                let dsn = format!("sqlite://{}?mode=rwc", path.display());
                let opts: AnyConnectOptions = dsn.parse()?;
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(sqlx::raw_sql(SQLITE_PRAGMAS)).await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts.clone())
                    .await?;
                let read = AnyPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(sqlx::raw_sql(SQLITE_PRAGMAS)).await?;
                            conn.execute(sqlx::raw_sql("PRAGMA query_only = ON;"))
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?;
                let committer = Some(group::Committer::start(write.clone()));
                Ok(Db {
                    inner: Arc::new(DbInner {
                        backend: Backend::Sqlite,
                        read,
                        write,
                        label: url.redacted(),
                        sqlite_path: Some(path.clone()),
                        committer,
                    }),
                })
            }
            DatabaseUrl::Postgres(dsn) => {
                let opts: AnyConnectOptions = dsn.parse()?;
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts)
                    .await?;
                Ok(Db {
                    inner: Arc::new(DbInner {
                        backend: Backend::Postgres,
                        read: pool.clone(),
                        write: pool,
                        label: url.redacted(),
                        sqlite_path: None,
                        committer: None,
                    }),
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Where the data lives, without secrets.
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// The SQLite file, when that is the backend.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        self.inner.sqlite_path.as_deref()
    }

    /// For queries that only read.
    /// The SQLite file whose hot reads go through [`inline::read`]; `None`
    /// on PostgreSQL.
    pub fn inline_reads(&self) -> Option<&std::path::Path> {
        self.inner.sqlite_path.as_deref()
    }

    pub fn reader(&self) -> &AnyPool {
        &self.inner.read
    }

    /// Starts a write transaction. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so a transaction that reads then writes
    /// cannot fail half-way because another process wrote in between.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let tx = match self.inner.backend {
            Backend::Sqlite => self.inner.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.inner.write.begin().await?,
        };
        Ok(tx)
    }

    /// Runs `f` in a write transaction and returns once its writes are
    /// durable (or undone). On SQLite, jobs arriving together share one
    /// transaction and one fsync, each in its own savepoint (see
    /// [`group`]); `f` must only talk to the database, never wait on
    /// anything else, since the jobs after it wait for it.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'t> FnOnce(
                &'t mut Tx,
            )
                -> futures_util::future::BoxFuture<'t, Result<group::Write<T>, E>>
            + Send
            + 'static,
    {
        if let Some(c) = &self.inner.committer {
            return c.submit(f).await;
        }
        let mut tx = self.begin().await?;
        match f(&mut tx).await {
            Ok(group::Write::Commit(v)) => {
                tx.commit().await.map_err(StoreError::from)?;
                Ok(v)
            }
            Ok(group::Write::Rollback(v)) => {
                tx.rollback().await.map_err(StoreError::from)?;
                Ok(v)
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// A write transaction for a bulk load. On SQLite the writer's page
    /// cache grows from SQLite's default 2 MiB to 64 MiB for it, so a large
    /// load does not spill pages to the WAL before its commit. On
    /// PostgreSQL every statement is planned for its own values: a cached
    /// generic plan for `reference IN ($2, …)` on tables the load is still
    /// filling scans the whole index (a second per statement at 60,000
    /// rows, against 10 ms). Call [`Db::end_bulk`] when the transaction is
    /// over, whatever its outcome.
    pub async fn begin_bulk(&self) -> Result<Tx, StoreError> {
        let mut tx = self.begin().await?;
        let setting = match self.inner.backend {
            Backend::Sqlite => "PRAGMA cache_size = -65536",
            Backend::Postgres => "SET LOCAL plan_cache_mode = force_custom_plan",
        };
        sqlx::query(setting).execute(&mut *tx).await?;
        Ok(tx)
    }

    /// After [`Db::begin_bulk`]: puts SQLite's page cache back; on
    /// PostgreSQL refreshes the planner's statistics of the `loaded` tables
    /// (autovacuum would, later) so the pages that read them plan well.
    pub async fn end_bulk(&self, loaded: &[&str]) {
        let sql = match self.inner.backend {
            Backend::Sqlite => "PRAGMA cache_size = -2000".to_owned(),
            Backend::Postgres if loaded.is_empty() => return,
            Backend::Postgres => format!("ANALYZE {}", loaded.join(", ")),
        };
        if let Err(e) = sqlx::query(&sql).execute(&self.inner.write).await {
            tracing::warn!(error = %e, "cannot finish a bulk load's settings");
        }
    }

    /// Transactions and the jobs they carried through [`Db::write`] (SQLite).
    pub fn group_commit_stats(&self) -> Option<(u64, u64)> {
        self.inner.committer.as_ref().map(|c| {
            (
                c.stats
                    .transactions
                    .load(std::sync::atomic::Ordering::Relaxed),
                c.stats.jobs.load(std::sync::atomic::Ordering::Relaxed),
            )
        })
    }

    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        migrations::run(self, None).await
    }

    /// Applies the migrations up to `version` only.
    pub async fn migrate_to(&self, version: i64) -> Result<Vec<String>, StoreError> {
        migrations::run(self, Some(version)).await
    }

    /// The newest schema version this program knows.
    pub fn latest_schema() -> i64 {
        migrations::latest()
    }

    pub async fn close(&self) {
        self.inner.write.close().await;
        self.inner.read.close().await;
    }
}

/// WAL lets readers run beside the writer; `synchronous = FULL` makes every
/// commit durable before it is acknowledged (a payment posting must survive
/// a power cut).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 10000;";

/// `SELECT … FOR UPDATE` where the database has it; SQLite's single writer
/// already holds the lock for the whole transaction.
pub fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    }
}

/// Reads a column, turning a decode failure into [`StoreError::Sql`].
pub(crate) fn col<'r, T>(row: &'r sqlx::any::AnyRow, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    use sqlx::Row;
    Ok(row.try_get::<T, _>(name)?)
}
