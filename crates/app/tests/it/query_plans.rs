//! Finding payments and what belongs to them uses indexes, on both
//! databases. Without them the staff payment page read whole tables, the
//! payment list sorted every payment for each page, and `ledger check` grew
//! with the square of the number of payments; a plan, unlike a timing, says
//! so on an empty database.

use app::store::{Backend as DbBackend, ledger, processor_events, search};
use sqlx::Row;

use crate::db_tests;
use crate::harness::{Backend, spawn_app};

db_tests!(payment_lookups_use_their_indexes);

/// Each query, a value for its `$1` (if any) and the index its plan must
/// name.
type Case = (&'static str, String, Option<&'static str>, &'static str);

fn queries(backend: DbBackend) -> Vec<Case> {
    let mut cases = vec![
        (
            "ledger check: capture entries per payment",
            ledger::CAPTURES_PER_PAYMENT.into(),
            None,
            "journal_entries_by_payment",
        ),
        (
            "a payment's journal lines",
            ledger::LINES_FOR_PAYMENT.into(),
            Some("pay_1"),
            "journal_entries_by_payment",
        ),
        (
            "a payment's processor events",
            processor_events::FOR_PAYMENT.into(),
            Some("pay_1"),
            "processor_events_by_payment",
        ),
    ];
    // PostgreSQL chooses between reading in index order and sorting by the
    // table's statistics: on an empty table it sorts, so its plan would
    // prove nothing here.
    if backend == DbBackend::Sqlite {
        cases.push((
            "the staff payment list's export, unfiltered, in creation order",
            search::export_query(&search::PaymentFilter::default()).0,
            None,
            "payments_by_created",
        ));
    }
    cases
}

async fn payment_lookups_use_their_indexes(backend: Backend) {
    let t = spawn_app(backend).await;
    let db = t.db();
    for (what, sql, arg, index) in queries(db.backend()) {
        let mut tx = db.begin().await.unwrap();
        let explain = match db.backend() {
            DbBackend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
            DbBackend::Postgres => {
                // An empty table is cheapest to read whole; with that ruled
                // out the plan shows whether an index can answer.
                sqlx::query("SET LOCAL enable_seqscan = off")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                format!("EXPLAIN {sql}")
            }
        };
        let mut q = sqlx::query(&explain);
        if let Some(a) = arg {
            q = q.bind(a);
        }
        let rows = q.fetch_all(&mut *tx).await.unwrap();
        let plan: Vec<String> = rows
            .iter()
            .map(|r| {
                // SQLite: (id, parent, notused, detail); PostgreSQL: one
                // text column.
                let last = r.len() - 1;
                r.try_get::<String, _>(last).unwrap()
            })
            .collect();
        tx.rollback().await.unwrap();
        let plan = plan.join("\n");
        assert!(
            plan.contains(index),
            "{what}: the plan does not use {index}:\n{plan}"
        );
    }
    t.stop().await;
}
