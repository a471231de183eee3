//! Building permits: a permit's fee lines come in the permitting system's
//! file with what each is for and whether it may be paid on its own; a
//! contractor pays the plan check alone, then the rest together with "Pay
//! all"; a line that goes with the others is never taken alone, not even by
//! a hand-made request.

use app::audit::Actor;
use app::services::payments::{self, PaymentError, StartItem, StartRequest};
use domain::Cents;

use crate::cart::BUILDING;
use crate::db_tests;
use crate::harness::{Backend, Options, TestApp, spawn_with};

db_tests!(a_permits_fee_lines_are_paid_alone_or_together_as_marked);

const PERMIT: &str = "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference,description,pay_separately
BLD-2026-000777,94110,Ana Builder LLC,\"12 Elm St, Springfield\",2026-11-01/2026-11-30,1200.00,2026-12-31,BLD-777-1,Plan check fee,yes
BLD-2026-000777,94110,Ana Builder LLC,\"12 Elm St, Springfield\",2026-11-01/2026-11-30,850.00,2026-12-31,BLD-777-2,Building permit fee,no
BLD-2026-000777,94110,Ana Builder LLC,\"12 Elm St, Springfield\",2026-11-01/2026-11-30,300.00,2026-12-31,BLD-777-3,Inspection fee,no
BLD-2026-000777,94110,Ana Builder LLC,\"12 Elm St, Springfield\",2026-11-01/2026-11-30,12.50,2026-12-31,BLD-777-4,Technology surcharge,no
";

async fn import(t: &TestApp, csv: &str) -> app::services::import::ImportSummary {
    t.import_to("building", csv).await.unwrap()
}

async fn a_permits_fee_lines_are_paid_alone_or_together_as_marked(b: Backend) {
    let t = spawn_with(
        b,
        Options {
            extra_toml: BUILDING.into(),
            ..Options::default()
        },
    )
    .await;
    let first = import(&t, PERMIT).await;
    assert_eq!(first.inserted, 4);
    // The same file again changes nothing.
    assert_eq!(import(&t, PERMIT).await.unchanged, 4);

    let mut r = t.resident();
    r.get("/pay/building").await;
    let found = r
        .post(
            "/pay/building",
            &[("account_number", "BLD-2026-000777"), ("zip", "94110")],
        )
        .await;
    assert_eq!(found.status, 303, "{}", found.body);
    let bills = r.get("/pay/building/bills").await;
    let main = bills.main();
    for expected in [
        "Plan check fee",
        "Building permit fee",
        "Inspection fee",
        "Technology surcharge",
        "Pay all",
        "$2,362.50 in all",
        "This fee is paid together with the account",
    ] {
        assert!(main.contains(expected), "{expected:?} not in {main}");
    }
    let id = |reference: &'static str| {
        let t = &t;
        async move { t.bill_id(reference).await }
    };
    // Only the plan check has a form of its own.
    assert!(main.contains(&format!(
        "name=\"bill\" value=\"{}\"",
        id("BLD-777-1").await
    )));
    assert!(!main.contains(&format!(
        "name=\"bill\" value=\"{}\"",
        id("BLD-777-2").await
    )));

    // Asking for a together-line alone is refused, with the reason.
    let line2 = id("BLD-777-2").await.to_string();
    let alone = r
        .post(
            "/pay/building/bills",
            &[("bill", &line2), ("choice", "full")],
        )
        .await;
    assert_eq!(alone.status, 400, "{}", alone.body);
    assert!(
        alone
            .main()
            .contains("This fee can only be paid together with the account&#39;s other open bills"),
        "{}",
        alone.main()
    );
    // Nor does a hand-made payment request get one through.
    let refused = payments::start(
        &t.app,
        StartRequest {
            items: vec![StartItem {
                receivable_id: id("BLD-777-2").await,
                amount: Cents::new(85_000),
                seen_balance: None,
            }],
            idempotency_key: "permit-line-alone",
            email: None,
            locale: app::i18n::Locale::En,
            actor: &Actor::System("test"),
            source_ip: None,
        },
    )
    .await;
    assert!(
        matches!(refused, Err(PaymentError::NotSeparately(ref r)) if r == "BLD-777-2"),
        "{refused:?}"
    );

    // The plan check alone.
    let bill = id("BLD-777-1").await.to_string();
    let chosen = r
        .post(
            "/pay/building/bills",
            &[("bill", &bill), ("choice", "full")],
        )
        .await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    r.confirm_and_pay("").await;

    // Then everything else with "Pay all": one payment of three lines.
    let bills = r.get("/pay/building/bills").await;
    assert!(
        bills.main().contains("$1,162.50 in all"),
        "{}",
        bills.main()
    );
    let all = r.post("/pay/building/bills", &[("action", "all")]).await;
    assert_eq!(all.status, 303, "{}", all.body);
    let review = r.get("/pay/review").await;
    for expected in ["BLD-777-2", "BLD-777-3", "BLD-777-4", "$1,162.50"] {
        assert!(
            review.main().contains(expected),
            "{expected:?} not in {}",
            review.main()
        );
    }
    let rest = r.confirm_and_pay("").await;
    let items = app::store::payments::items(t.db().reader(), &rest)
        .await
        .unwrap();
    assert_eq!(items.len(), 3);
    for reference in ["BLD-777-1", "BLD-777-2", "BLD-777-3", "BLD-777-4"] {
        assert_eq!(t.balance(reference).await, 0, "{reference} paid");
    }
    // Each line posted to the permit receivable, by bill.
    let lines = app::store::ledger::lines_for_payment(t.db().reader(), &rest)
        .await
        .unwrap();
    let ar: Vec<(Option<i64>, i64)> = lines
        .iter()
        .filter(|l| l.1 == "1240-BLDG-AR")
        .map(|l| (l.2, l.3))
        .collect();
    assert_eq!(ar.len(), 3, "{lines:?}");
    assert!(ar.contains(&(Some(id("BLD-777-2").await), -85_000)));
    assert!(ar.contains(&(Some(id("BLD-777-4").await), -1_250)));
    let bills = r.get("/pay/building/bills").await;
    assert!(bills.main().contains("Nothing is due on this account."));
    t.assert_books_balance().await;
    t.stop().await;
}
