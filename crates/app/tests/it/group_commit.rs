//! `Db::write`: jobs that arrive together share a transaction (on SQLite),
//! each keeps or undoes only its own writes, and none is answered before
//! its writes are durable.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use app::store::group::Write;
use app::store::{StoreError, Tx};
use futures_util::future::BoxFuture;

use crate::db_tests;
use crate::harness::{Backend, spawn_app};

db_tests!(jobs_share_commits_and_undo_only_their_own_writes);

#[derive(Debug)]
struct Refused;

impl From<StoreError> for Refused {
    fn from(_: StoreError) -> Self {
        Refused
    }
}

/// Job `i` inserts row `i`, then keeps it, rolls it back (every fifth) or
/// fails (every third).
fn job(i: i64) -> impl for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<Write<i64>, Refused>> {
    move |tx: &mut Tx| -> BoxFuture<'_, Result<Write<i64>, Refused>> {
        Box::pin(async move {
            sqlx::query("INSERT INTO gc_probe (id) VALUES ($1)")
                .bind(i)
                .execute(&mut **tx)
                .await
                .map_err(StoreError::from)?;
            if i % 3 == 0 {
                Err(Refused)
            } else if i % 5 == 0 {
                Ok(Write::Rollback(i))
            } else {
                Ok(Write::Commit(i))
            }
        })
    }
}

async fn jobs_share_commits_and_undo_only_their_own_writes(b: Backend) {
    let t = spawn_app(b.clone()).await;
    let db = t.db().clone();
    let mut tx = db.begin().await.unwrap();
    sqlx::query("CREATE TABLE gc_probe (id BIGINT PRIMARY KEY)")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let before = db.group_commit_stats();

    // The first job holds the writer until every other job has been
    // handed in, so they all queue behind it.
    let n = 60usize;
    let submitted = Arc::new(AtomicUsize::new(0));
    let gate = submitted.clone();
    let first = {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(
                move |tx: &mut Tx| -> BoxFuture<'_, Result<Write<i64>, Refused>> {
                    Box::pin(async move {
                        while gate.load(Ordering::SeqCst) < n - 1 {
                            tokio::task::yield_now().await;
                        }
                        for _ in 0..200 {
                            tokio::task::yield_now().await;
                        }
                        job(1)(tx).await
                    })
                },
            )
            .await
        })
    };
    let mut others = Vec::new();
    for i in 2..=n as i64 {
        let (db, submitted) = (db.clone(), submitted.clone());
        others.push(tokio::spawn(async move {
            submitted.fetch_add(1, Ordering::SeqCst);
            db.write(job(i)).await
        }));
    }
    let mut results = vec![first.await.unwrap()];
    for o in others {
        results.push(o.await.unwrap());
    }
    for (i, r) in (1..=n as i64).zip(&results) {
        match r {
            Ok(v) => {
                assert_eq!(*v, i);
                assert!(i % 3 != 0, "job {i} should have failed");
            }
            Err(Refused) => assert_eq!(i % 3, 0, "job {i} failed"),
        }
    }
    // Exactly the kept rows are there, each answered only after commit.
    use sqlx::Row;
    let rows: Vec<i64> = sqlx::query("SELECT id FROM gc_probe ORDER BY id")
        .fetch_all(db.reader())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64, _>(0))
        .collect();
    let expected: Vec<i64> = (1..=n as i64)
        .filter(|i| i % 3 != 0 && i % 5 != 0)
        .collect();
    assert_eq!(rows, expected);
    if let Backend::Sqlite = b {
        let (tx0, jobs0) = before.unwrap();
        let (tx1, jobs1) = db.group_commit_stats().unwrap();
        assert_eq!(jobs1 - jobs0, n as u64);
        // The first job alone, then everything that queued behind it.
        assert!(
            tx1 - tx0 <= 3,
            "{} transactions for {n} jobs: they were not grouped",
            tx1 - tx0
        );
    } else {
        assert_eq!(db.group_commit_stats(), None);
    }
    let mut tx = db.begin().await.unwrap();
    sqlx::query("DROP TABLE gc_probe")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    t.stop().await;
}
