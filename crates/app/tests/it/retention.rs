//! Keep less, lose less: old payments lose their receipt e-mail address,
//! finished jobs go, each batch is audited, and the ledger and the audit
//! chain stay whole (`TestApp::stop` checks both).

use app::audit::Actor;
use app::services::retention::{Report, run};
use sqlx::Row;

use crate::db_tests;
use crate::harness::{Backend, Options, spawn_with};

db_tests!(
    old_personal_data_and_jobs_go_in_audited_batches,
    inactive_accounts_lose_the_holders_name_and_address,
);

async fn inactive_accounts_lose_the_holders_name_and_address(b: Backend) {
    use app::services::breach::{Component, scope};
    use app::services::retention::REMOVED;
    let t = spawn_with(
        b,
        Options {
            jobs_in_process: false,
            manual_clock: true,
            ..Options::default()
        },
    )
    .await;
    let actor = Actor::System("test");
    let clock = t.clock.clone().unwrap();
    // Six years on, one account gets a new bill: activity.
    clock.advance(jiff::SignedDuration::from_hours(24 * 365 * 6));
    t.import(
        "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
3090-1200,94117,Rivera Family Bakery,\"500 Market St\",2032-10-01/2032-10-31,99.00,2032-12-11,UT-40
",
    )
    .await
    .unwrap();
    // Seven years and a day after the first import.
    clock.advance(jiff::SignedDuration::from_hours(24 * (365 + 2)));
    let planned = run(&t.app, &actor, true).await.unwrap();
    assert_eq!(planned.accounts_anonymised, 2, "{planned:?}");
    let before = app::store::ledger::check(t.db().reader()).await.unwrap();
    let done = run(&t.app, &actor, false).await.unwrap();
    assert_eq!(done.accounts_anonymised, 2);
    // Sealed like any value: readers still open it, and see nothing.
    let summary = app::services::lookup::account_summary(&t.app, {
        use sqlx::Row;
        sqlx::query("SELECT id FROM service_accounts WHERE account_number = '10023345'")
            .fetch_one(t.db().reader())
            .await
            .unwrap()
            .get::<i64, _>("id")
    })
    .await
    .unwrap()
    .unwrap();
    assert!(!summary.masked_address.contains("Maple"));
    let (from, to) = (
        t.app.now() - jiff::SignedDuration::from_hours(1),
        t.app.now() + jiff::SignedDuration::from_hours(1),
    );
    let exposed = scope(&t.app, Component::Database, from, to, &actor)
        .await
        .unwrap();
    let names: Vec<_> = exposed
        .recipients
        .iter()
        .filter_map(|r| r.name.clone())
        .collect();
    assert_eq!(
        names,
        vec!["Rivera Family Bakery".to_string()],
        "only the active account is held"
    );
    assert!(!names.iter().any(|n| n == REMOVED));
    // The books are as they were; a second run finds nothing more.
    assert_eq!(
        app::store::ledger::check(t.db().reader()).await.unwrap(),
        before
    );
    assert_eq!(
        run(&t.app, &actor, false)
            .await
            .unwrap()
            .accounts_anonymised,
        0
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM receivables").await,
        5,
        "bills stay"
    );
    t.stop().await;
}

async fn old_personal_data_and_jobs_go_in_audited_batches(b: Backend) {
    let t = spawn_with(
        b,
        Options {
            jobs_in_process: false,
            manual_clock: true,
            ..Options::default()
        },
    )
    .await;
    let (id, _) = t
        .resident()
        .pay_bill(
            "1002-3345",
            "94110",
            "UT-1",
            "4242424242424242",
            "maria@example.com",
        )
        .await;
    t.settled(&id).await;
    assert!(
        app::jobs::drain(&t.app).await.unwrap() >= 1,
        "the receipt job ran"
    );
    let email = |t: &crate::harness::TestApp, id: String| {
        let db = t.db().clone();
        async move {
            sqlx::query("SELECT receipt_email_enc AS e FROM payments WHERE id = $1")
                .bind(id)
                .fetch_one(db.reader())
                .await
                .unwrap()
                .try_get::<Option<String>, _>("e")
                .unwrap()
        }
    };
    let count = |sql: &'static str| {
        let db = t.db().clone();
        async move {
            sqlx::query(sql)
                .fetch_one(db.reader())
                .await
                .unwrap()
                .try_get::<i64, _>(0)
                .unwrap()
        }
    };
    let jobs = count("SELECT COUNT(*) FROM jobs WHERE status = 'done'").await;
    assert!(jobs >= 1);
    let actor = Actor::System("test");

    // Nothing is old enough yet.
    assert_eq!(run(&t.app, &actor, false).await.unwrap(), Report::default());
    assert!(email(&t, id.clone()).await.is_some());

    // Three years and a day later (the default rules: 3 years, 90 days).
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_hours(24 * (3 * 365 + 1)));
    let planned = run(&t.app, &actor, true).await.unwrap();
    assert_eq!(planned.emails_removed, 1);
    assert_eq!(planned.jobs_deleted, u64::try_from(jobs).unwrap());
    assert_eq!(planned.batches, 0);
    assert!(
        email(&t, id.clone()).await.is_some(),
        "a dry run changes nothing"
    );

    let events = count("SELECT COUNT(*) FROM audit_events").await;
    let done = run(&t.app, &actor, false).await.unwrap();
    assert_eq!(done.emails_removed, 1);
    assert_eq!(done.jobs_deleted, planned.jobs_deleted);
    assert_eq!(done.batches, 2);
    assert!(email(&t, id.clone()).await.is_none());
    assert_eq!(
        count("SELECT COUNT(*) FROM jobs WHERE status = 'done'").await,
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM audit_events").await,
        events + 2,
        "one audit event per batch"
    );
    // The payment and its postings stay.
    let p = t.payment(&id).await;
    assert_eq!(p.amount.get(), 8412);
    assert!(count("SELECT COUNT(*) FROM journal_lines").await > 0);
    assert_eq!(run(&t.app, &actor, false).await.unwrap(), Report::default());
    t.stop().await;
}
