//! One cart across departments: bills from utilities, parking and a
//! building department added by configuration alone go into one cart, are
//! paid with one processor payment and one receipt, and the ledger splits
//! the payment by department and bill; a cart whose bills changed stops
//! and says what changed, never charging the old amount.

use crate::db_tests;
use crate::departments::{CITATIONS, PARKING};
use crate::harness::{Backend, Options, TestApp, spawn_with};
use crate::resident::Resident;

db_tests!(
    a_mixed_cart_is_one_payment_split_by_department,
    a_cart_whose_bills_changed_stops_and_says_what_changed,
);

/// A department a city adds with configuration only: building permits,
/// found by permit number and ZIP code, no convenience fee.
pub const BUILDING: &str = r#"
[departments.building]
name = "Building permits"
summary = "Plan check, permit and inspection fees"
lookup_label = "Permit number"
lookup_hint = "On the permit, for example BLD-2026-000123."
verifier = "zip"
account_format = "BLD-####-######"
min_payment = "1.00"
allow_partial = false

[departments.building.es]
name = "Permisos de construcción"

[departments.building.ledger]
cash_clearing = "1010-CLEARING"
receivable = "1240-BLDG-AR"
fee_income = "4490-CONV-FEES"
"#;

const PERMITS: &str = "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
BLD-2026-000123,94110,Ana Builder LLC,\"12 Elm St, Springfield\",2026-11-01/2026-11-30,450.00,2026-12-31,BLD-2026-000123-F1
";

async fn three_departments(b: Backend) -> TestApp {
    let t = spawn_with(
        b,
        Options {
            extra_toml: format!("{PARKING}\n{BUILDING}"),
            ..Options::default()
        },
    )
    .await;
    crate::departments::import(&t, CITATIONS).await.unwrap();
    t.import_to("building", PERMITS).await.unwrap();
    t
}

/// Looks the account up in `dept` and puts `reference` in the cart, paid
/// in full.
async fn add(r: &mut Resident<'_>, dept: &str, fields: &[(&str, &str)], reference: &str) {
    r.get(&format!("/pay/{dept}")).await;
    let found = r.post(&format!("/pay/{dept}"), fields).await;
    assert_eq!(found.status, 303, "look-up in {dept}: {}", found.body);
    let bill = r.t.bill_id(reference).await.to_string();
    let bills = r.get(&format!("/pay/{dept}/bills")).await;
    assert!(bills.main().contains("Add to cart"), "{}", bills.main());
    let added = r
        .post(
            &format!("/pay/{dept}/bills"),
            &[("bill", &bill), ("choice", "full"), ("action", "cart")],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.location.as_deref(), Some("/cart"));
}

async fn fill_cart(r: &mut Resident<'_>) {
    add(
        r,
        "utilities",
        &[("account_number", "1002-3345"), ("zip", "94110")],
        "UT-1",
    )
    .await;
    add(
        r,
        "parking",
        &[
            ("account_number", "PK-1234567"),
            ("plate", "7ABC123"),
            ("state", "CA"),
        ],
        "PK-2026-0001",
    )
    .await;
    add(
        r,
        "building",
        &[("account_number", "BLD-2026-000123"), ("zip", "94110")],
        "BLD-2026-000123-F1",
    )
    .await;
}

async fn payments(t: &TestApp) -> i64 {
    t.count("SELECT COUNT(*) FROM payments").await
}

async fn a_mixed_cart_is_one_payment_split_by_department(b: Backend) {
    let t = three_departments(b).await;
    let mut r = t.resident();
    fill_cart(&mut r).await;

    let cart = r.get("/cart").await;
    assert_eq!(cart.status, 200);
    let main = cart.main();
    for expected in [
        "Utilities bill UT-1",
        "Parking citations bill PK-2026-0001",
        "Building permits bill BLD-2026-000123-F1",
        // 84.12 + 65.00 + 450.00
        "$599.12",
    ] {
        assert!(main.contains(expected), "{expected:?} not in {main}");
    }
    let home = r.get("/").await;
    assert!(
        home.main().contains("Your cart: 3 bills"),
        "{}",
        home.main()
    );

    let checkout = r.post("/cart/checkout", &[]).await;
    assert_eq!(checkout.status, 303, "{}", checkout.body);
    assert_eq!(checkout.location.as_deref(), Some("/pay/review"));
    let review = r.get("/pay/review").await;
    let main = review.main();
    // Each department's fee, itemised: 2.5 % of $84.12 for utilities, a
    // flat $1.50 for parking, none for building permits.
    for expected in [
        "Card convenience fee (Utilities)",
        "$2.10",
        "Card convenience fee (Parking citations)",
        "$1.50",
        "Card convenience fee (Building permits)",
        "$0.00",
        "$602.72",
        "href=\"/cart\"",
    ] {
        assert!(main.contains(expected), "{expected:?} not in {main}");
    }

    let before = payments(&t).await;
    let confirmed = r.confirm("ana@example.com").await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    assert_eq!(payments(&t).await, before + 1, "one payment for the cart");
    let back = r
        .pay_on_processor(&confirmed.location.unwrap(), "4242424242424242")
        .await;
    let id = back
        .location
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let paid = t.settled(&id).await;
    assert!(crate::resident::is_succeeded(&paid));
    assert_eq!(paid.total.get(), 60272);
    assert_eq!(paid.fee.get(), 360);

    // The ledger splits it by department and bill.
    let lines = app::store::ledger::lines_for_payment(t.db().reader(), &id)
        .await
        .unwrap();
    let mut by_account: Vec<(String, Option<i64>, i64)> =
        lines.iter().map(|l| (l.1.clone(), l.2, l.3)).collect();
    by_account.sort();
    let bill = |r: &str| {
        let t = &t;
        let r = r.to_owned();
        async move { Some(t.bill_id(&r).await) }
    };
    let cash: i64 = lines
        .iter()
        .filter(|l| l.1 == "1010-CLEARING")
        .map(|l| l.3)
        .sum();
    assert_eq!(cash, 60272, "{by_account:?}");
    for (account, receivable, amount) in [
        ("1210-UTIL-AR", bill("UT-1").await, -8412),
        ("1230-PARK-AR", bill("PK-2026-0001").await, -6500),
        ("1240-BLDG-AR", bill("BLD-2026-000123-F1").await, -45000),
    ] {
        assert!(
            by_account.contains(&(account.to_owned(), receivable, amount)),
            "{account} {amount} not in {by_account:?}"
        );
    }
    let fees: i64 = lines
        .iter()
        .filter(|l| l.1 == "4490-CONV-FEES")
        .map(|l| l.3)
        .sum();
    assert_eq!(fees, -360);
    t.assert_books_balance().await;

    // One receipt listing each bill; the cart is empty again.
    let receipt = r.get(&format!("/pay/receipt/{id}")).await;
    let main = receipt.main();
    for expected in ["UT-1", "PK-2026-0001", "BLD-2026-000123-F1", "$602.72"] {
        assert!(main.contains(expected), "{expected:?} not in {main}");
    }
    let cart = r.get("/cart").await;
    assert!(
        cart.main().contains("Your cart is empty"),
        "{}",
        cart.main()
    );
    for reference in ["UT-1", "PK-2026-0001", "BLD-2026-000123-F1"] {
        assert_eq!(t.balance(reference).await, 0, "{reference} paid");
    }
    t.stop().await;
}

async fn a_cart_whose_bills_changed_stops_and_says_what_changed(b: Backend) {
    let t = three_departments(b).await;
    let mut r = t.resident();
    fill_cart(&mut r).await;

    // Someone else pays the parking citation meanwhile.
    let mut other = t.resident();
    other.get("/pay/parking").await;
    let found = other
        .post(
            "/pay/parking",
            &[
                ("account_number", "PK-1234567"),
                ("plate", "7ABC123"),
                ("state", "CA"),
            ],
        )
        .await;
    assert_eq!(found.status, 303);
    let citation = t.bill_id("PK-2026-0001").await.to_string();
    other
        .post(
            "/pay/parking/bills",
            &[("bill", &citation), ("choice", "full")],
        )
        .await;
    other.confirm_and_pay("").await;
    // And the utility re-bills UT-1 at a corrected amount.
    t.import(
        "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
1002-3345,94110,Maria Lopez,\"1234 Maple Ave, Springfield\",2026-10-01/2026-10-31,90.00,2026-12-18,UT-1
",
    )
    .await
    .unwrap();

    let before = payments(&t).await;
    let stopped = r.post("/cart/checkout", &[]).await;
    assert_eq!(stopped.status, 409, "{}", stopped.body);
    let main = stopped.main();
    assert!(
        main.contains("Parking citations bill PK-2026-0001 has been paid since you added it"),
        "{main}"
    );
    assert!(
        main.contains("The amount due on Utilities bill UT-1 changed from $84.12 to $90.00"),
        "{main}"
    );
    assert_eq!(payments(&t).await, before, "nothing charged");
    // The cart now holds what is due: the paid citation is gone, the
    // re-billed bill is paid in full at its new amount.
    let cart = r.get("/cart").await;
    let main = cart.main();
    assert!(!main.contains("PK-2026-0001"), "{main}");
    assert!(main.contains("$540.00"), "90.00 + 450.00: {main}");

    // A change between the review page and paying stops it too.
    let checkout = r.post("/cart/checkout", &[]).await;
    assert_eq!(checkout.status, 303, "{}", checkout.body);
    let review = r.get("/pay/review").await;
    assert!(review.main().contains("$540.00"), "{}", review.main());
    t.import(
        "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
1002-3345,94110,Maria Lopez,\"1234 Maple Ave, Springfield\",2026-10-01/2026-10-31,95.00,2026-12-18,UT-1
",
    )
    .await
    .unwrap();
    let key = review.input("idempotency_key").unwrap();
    let refused = r
        .post("/pay/review", &[("idempotency_key", &key), ("email", "")])
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.main().contains("changed from $90.00 to $95.00"),
        "{}",
        refused.main()
    );
    assert_eq!(payments(&t).await, before, "still nothing charged");
    t.stop().await;
}
