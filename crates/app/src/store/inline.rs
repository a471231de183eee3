//! SQLite reads on the calling thread. Through sqlx every statement travels
//! to the connection's own worker thread and back: two thread switches a
//! statement, which on a resident page cost more than the query. The pages
//! read on every request (session, account, bills) use this path instead:
//! one read-only connection per runtime thread, opened on first use, with
//! its prepared statements cached. The queries are indexed look-ups of a
//! few rows; a reader in WAL mode never waits for the writer.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use super::StoreError;

thread_local! {
    static CONNECTIONS: RefCell<Vec<(PathBuf, rusqlite::Connection)>> =
        const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's read-only connection to the database at `path`.
pub fn read<T>(
    path: &Path,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    CONNECTIONS.with(|cell| {
        let mut conns = cell.borrow_mut();
        let i = match conns.iter().position(|(p, _)| p == path) {
            Some(i) => i,
            None => {
                conns.push((path.to_owned(), open(path)?));
                conns.len() - 1
            }
        };
        f(&conns[i].1)
    })
}

fn open(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sql)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// A rusqlite error as a store error (its message names no values).
pub fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::Sql(sqlx::Error::Protocol(format!("sqlite: {e}")))
}

/// Reads named columns from a rusqlite row or a sqlx row alike, so a
/// repository function maps its rows once for both paths.
pub trait Columns {
    fn int(&self, name: &str) -> Result<i64, StoreError>;
    fn text(&self, name: &str) -> Result<String, StoreError>;
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, name: &str) -> Result<i64, StoreError> {
        self.get(name).map_err(sql)
    }
    fn text(&self, name: &str) -> Result<String, StoreError> {
        self.get(name).map_err(sql)
    }
}

impl Columns for sqlx::any::AnyRow {
    fn int(&self, name: &str) -> Result<i64, StoreError> {
        super::col(self, name)
    }
    fn text(&self, name: &str) -> Result<String, StoreError> {
        super::col(self, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_connection_per_thread_and_database() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.db");
        let b = dir.path().join("b.db");
        for (p, v) in [(&a, 1), (&b, 2)] {
            let c = rusqlite::Connection::open(p).unwrap();
            c.execute_batch(&format!(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER); INSERT INTO t VALUES ({v});"
            ))
            .unwrap();
        }
        let get = |p: &Path| {
            read(p, |c| {
                c.query_row("SELECT v FROM t", [], |r| r.get::<_, i64>(0))
                    .map_err(sql)
            })
            .unwrap()
        };
        assert_eq!((get(&a), get(&b), get(&a)), (1, 2, 1));
        CONNECTIONS.with(|c| assert_eq!(c.borrow().len(), 2));
        // Read-only: a write through it fails.
        let err = read(&a, |c| {
            c.execute("INSERT INTO t VALUES (3)", []).map_err(sql)
        });
        assert!(err.is_err());
        assert!(read(&dir.path().join("missing.db"), |_| Ok(())).is_err());
    }
}
