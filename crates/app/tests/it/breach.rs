//! Breach scope: who could have been exposed, and which of their data,
//! for a compromise of the database or of the public site in a window.

use app::audit::Actor;
use app::services::breach::{Category, Component, recipients_csv, scope};
use jiff::{SignedDuration, Timestamp};

use crate::db_tests;
use crate::harness::{Backend, spawn_app};

db_tests!(breach_scope_names_the_people_and_their_data);

const ONE_MORE: &str = "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
5150-0001,94110,Ada Park,\"9 Pine St, Springfield, CA 94110\",2026-10-01/2026-10-31,12.00,2026-12-18,UT-9
";

async fn breach_scope_names_the_people_and_their_data(b: Backend) {
    let t = spawn_app(b).await;
    t.import(ONE_MORE).await.unwrap();
    let mut r = t.resident();
    let (paid, _) = r
        .pay_bill(
            "1002-3345",
            "94110",
            "UT-1",
            "4242424242424242",
            "Payer@Example.com",
        )
        .await;
    assert!(crate::resident::is_succeeded(&t.settled(&paid).await));
    // The same person pays again: one recipient.
    let mut again = t.resident();
    again
        .pay_bill(
            "2048-7781",
            "94112",
            "UT-2",
            "4242424242424242",
            "payer@example.com",
        )
        .await;

    let now = Timestamp::now();
    let (from, to) = (
        now - SignedDuration::from_hours(1),
        now + SignedDuration::from_hours(1),
    );
    let actor = Actor::System("test");

    // The database: every holder's name and address, every payer's e-mail.
    let db = scope(&t.app, Component::Database, from, to, &actor)
        .await
        .unwrap();
    assert_eq!(db.recipients.len(), 5, "{:?}", db.recipients);
    assert_eq!(db.by_category[&Category::Name], 4);
    assert_eq!(db.by_category[&Category::PostalAddress], 4);
    assert_eq!(db.by_category[&Category::EmailAddress], 1);
    assert_eq!(db.by_state["CA"], 1);
    assert_eq!(db.by_state["unknown"], 4);
    let maria = db
        .recipients
        .iter()
        .find(|p| p.name.as_deref() == Some("Maria Lopez"))
        .unwrap();
    assert_eq!(
        maria.postal_address.as_deref(),
        Some("1234 Maple Ave, Springfield")
    );
    // Each person's own data only.
    assert_eq!(maria.email, None);
    let csv = recipients_csv(&db);
    assert!(csv.starts_with("name,email,postal_address,state,language,categories\n"));
    assert!(csv.contains("Ada Park,,\"9 Pine St, Springfield, CA 94110\",CA,en,"));
    assert!(csv.to_lowercase().contains("payer@example.com"), "{csv}");
    assert!(!csv.contains("4242"), "no card data anywhere");

    // Backups taken in the window hold the same.
    let backups = scope(&t.app, Component::Backups, from, to, &actor)
        .await
        .unwrap();
    assert_eq!(backups.recipients.len(), 5);

    // The public site: only who used it — the two accounts looked up and
    // paid (what they typed), and the payer's e-mail.
    let public = scope(&t.app, Component::Public, from, to, &actor)
        .await
        .unwrap();
    assert_eq!(public.recipients.len(), 3, "{:?}", public.recipients);
    assert_eq!(public.by_category[&Category::AccountNumber], 2);
    assert!(!public.by_category.contains_key(&Category::Name));
    assert_eq!(public.by_category[&Category::EmailAddress], 1);

    // Before any of it was stored: nobody.
    let before = scope(
        &t.app,
        Component::Database,
        now - SignedDuration::from_hours(48),
        now - SignedDuration::from_hours(24),
        &actor,
    )
    .await
    .unwrap();
    assert!(before.recipients.is_empty());
    assert!(
        scope(&t.app, Component::Public, to, from, &actor)
            .await
            .is_err(),
        "an empty window is refused"
    );

    // Every run is in the audit log, with counts and no personal data.
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'breach.scope'")
            .await,
        4
    );
    assert_eq!(
        t.count(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'breach.scope' AND details LIKE '%Maria%'"
        )
        .await,
        0
    );
    t.stop().await;
}
