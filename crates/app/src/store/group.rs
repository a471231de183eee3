//! Group commit: write transactions that arrive while another is committing
//! share the next transaction and its one fsync.
//!
//! On SQLite every commit waits for an fsync (`synchronous = FULL`), and
//! there is one writer, so under concurrent load the fsyncs, not the work,
//! set the pace. [`Db::write`] hands its work to one committer task, which
//! takes every job waiting, runs each in a savepoint of one transaction
//! (a job that fails or asks to roll back undoes only its own writes) and
//! commits once. Each caller hears its result only after that commit: a
//! posting is never acknowledged before it is durable.
//!
//! On PostgreSQL each job simply runs in its own transaction (PostgreSQL
//! has many writers and groups WAL flushes itself).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::BoxFuture;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::{StoreError, Tx};

/// What a job decided about its writes.
#[derive(Debug)]
pub enum Write<T> {
    /// Keep them; the caller gets `T` once they are durable.
    Commit(T),
    /// Undo them; the caller gets `T` at once.
    Rollback(T),
}

/// The most jobs in one transaction (bounds the work lost to a failed
/// commit and the wait of the last job in a batch).
const MAX_BATCH: usize = 256;

/// A job as the committer sees it: run it in the transaction, then either
/// keep its writes (and deliver after the commit) or undo them.
type Job = Box<dyn for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Ran> + Send>;

enum Ran {
    /// Release the savepoint; call with the commit's outcome.
    Keep(Box<dyn FnOnce(Result<(), String>) + Send>),
    /// Roll back to the savepoint; the result was already delivered.
    Undo,
}

/// How many transactions carried how many jobs (for tests and metrics).
#[derive(Debug, Default)]
pub struct Stats {
    pub transactions: AtomicU64,
    pub jobs: AtomicU64,
}

pub(super) struct Committer {
    jobs: mpsc::UnboundedSender<Job>,
    pub(super) stats: Arc<Stats>,
}

impl Committer {
    /// Starts the committer task for SQLite's single writer pool.
    pub(super) fn start(write: AnyPool) -> Committer {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Stats::default());
        tokio::spawn(run(write, rx, stats.clone()));
        Committer { jobs: tx, stats }
    }

    pub(super) async fn submit<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<Write<T>, E>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |tx: &mut Tx| {
            Box::pin(async move {
                match f(tx).await {
                    Ok(Write::Commit(value)) => Ran::Keep(Box::new(move |committed| {
                        let _ = reply.send(match committed {
                            Ok(()) => Ok(value),
                            Err(e) => Err(E::from(StoreError::Corrupt(format!(
                                "the transaction failed to commit: {e}"
                            )))),
                        });
                    })),
                    Ok(Write::Rollback(value)) => {
                        let _ = reply.send(Ok(value));
                        Ran::Undo
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        Ran::Undo
                    }
                }
            })
        });
        if self.jobs.send(job).is_err() {
            return Err(E::from(StoreError::Corrupt(
                "the database writer has stopped".into(),
            )));
        }
        answer.await.unwrap_or_else(|_| {
            Err(E::from(StoreError::Corrupt(
                "the database writer stopped before answering".into(),
            )))
        })
    }
}

async fn run(pool: AnyPool, mut rx: mpsc::UnboundedReceiver<Job>, stats: Arc<Stats>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        stats.transactions.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        run_batch(&pool, &mut batch).await;
    }
}

/// Runs every job of `batch` in one transaction; a job that fails or rolls
/// back undoes only its savepoint.
async fn run_batch(pool: &AnyPool, batch: &mut Vec<Job>) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            // Nothing ran: run each job alone, so each hears its own error.
            tracing::error!(error = %e, "cannot start a write transaction");
            for job in batch.drain(..) {
                run_alone(pool, job).await;
            }
            return;
        }
    };
    let mut kept = Vec::with_capacity(batch.len());
    // One savepoint, reused: after a job that keeps its writes it is
    // released and taken again in the same round trip; after one that
    // undoes them, `ROLLBACK TO` leaves it in place for the next job.
    let mut jobs = batch.drain(..).peekable();
    let mut step = sqlx::query("SAVEPOINT grouped")
        .execute(&mut *tx)
        .await
        .map(|_| ());
    while let Some(job) = jobs.next() {
        if let Err(e) = step {
            // The transaction itself is broken: abandon it; this job and
            // the rest run on their own.
            tracing::error!(error = %e, "savepoint failed");
            drop(tx);
            for d in kept {
                deliver(d, Err("the shared transaction failed".into()));
            }
            run_alone(pool, job).await;
            for rest in jobs {
                run_alone(pool, rest).await;
            }
            return;
        }
        let next = match job(&mut tx).await {
            Ran::Keep(d) => {
                kept.push(d);
                if jobs.peek().is_some() {
                    "RELEASE grouped; SAVEPOINT grouped"
                } else {
                    "RELEASE grouped"
                }
            }
            Ran::Undo => "ROLLBACK TO grouped",
        };
        step = sqlx::query(next).execute(&mut *tx).await.map(|_| ());
    }
    if let Err(e) = step {
        tracing::error!(error = %e, "savepoint release failed");
        drop(tx);
        for d in kept {
            deliver(d, Err("the shared transaction failed".into()));
        }
        return;
    }
    drop(jobs);
    let committed = tx.commit().await.map_err(|e| e.to_string());
    for d in kept {
        deliver(d, committed.clone());
    }
}

fn deliver(d: Box<dyn FnOnce(Result<(), String>) + Send>, outcome: Result<(), String>) {
    d(outcome);
}

/// One job in its own transaction (after a shared one failed).
async fn run_alone(pool: &AnyPool, job: Job) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            // The job never runs; its caller hears that the writer failed
            // when the reply channel drops.
            tracing::error!(error = %e, "cannot start a write transaction");
            return;
        }
    };
    match job(&mut tx).await {
        Ran::Keep(d) => deliver(d, tx.commit().await.map_err(|e| e.to_string())),
        Ran::Undo => {
            let _ = tx.rollback().await;
        }
    }
}
