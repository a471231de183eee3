//! The resident's journey end to end: site → processor's page → webhook →
//! receipt, with each kind of card, on both databases.

use app::store;
use domain::payment::PaymentStatus;

use crate::db_tests;
use crate::harness::{Backend, spawn_app};

const GOOD: &str = "4242 4242 4242 4242";
const DECLINED: &str = "4000000000000002";
const NO_FUNDS: &str = "4000000000009995";

db_tests!(
    pays_a_bill_in_full,
    declined_card_changes_nothing,
    insufficient_funds_is_reported,
    cancelling_on_the_processor_page,
    partial_payment_reduces_the_balance,
    reload_back_and_resubmit_pay_once,
    double_submit_makes_one_payment,
    return_url_parameters_are_ignored,
);

async fn pays_a_bill_in_full(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    let home = r.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Pay a utilities bill"));

    let found = r.lookup("1002-3345", "94110").await;
    assert_eq!(found.location.as_deref(), Some("/pay/utilities/bills"));
    let bills = r.get("/pay/utilities/bills").await;
    assert!(bills.main().contains("$84.12"), "{}", bills.main());
    assert!(bills.main().contains("•••• Maple Ave"), "address is masked");
    assert!(
        !bills.body.contains("1234 Maple"),
        "street number is hidden"
    );

    let bill = t.bill_id("UT-1").await;
    let chosen = r.choose(bill, "full", "").await;
    assert_eq!(chosen.location.as_deref(), Some("/pay/review"));
    let review = r.get("/pay/review").await;
    assert!(review.main().contains("$84.12"));
    assert!(review.main().contains("$2.10"), "2.5 % fee");
    assert!(review.main().contains("$86.22"), "total");

    let confirmed = r.confirm("maria@example.com").await;
    let checkout = confirmed.location.unwrap();
    assert!(checkout.starts_with(&t.sandbox), "{checkout}");
    assert_ne!(t.sandbox, t.public, "the card page is on another origin");
    let back = r.pay_on_processor(&checkout, GOOD).await;
    let ret = back.location.unwrap();
    assert!(ret.starts_with(&format!("{}/pay/receipt/", t.public)));
    let id = ret.rsplit('/').next().unwrap();

    let receipt = r.get(&ret).await;
    assert_eq!(receipt.status, 200);
    assert!(
        receipt.main().contains("Payment received"),
        "{}",
        receipt.main()
    );
    assert!(receipt.main().contains("Visa ending 4242"));
    assert!(receipt.main().contains("m•••@example.com"));

    let p = t.settled(id).await;
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(p.total.get(), 8622);
    assert_eq!(p.card_last4.as_deref(), Some("4242"));
    let number = p.receipt_number.clone().unwrap();
    assert!(receipt.main().contains(&number));

    // Balanced postings: cash clearing, the receivable, fee income.
    let lines = store::ledger::lines_for_payment(t.db().reader(), id)
        .await
        .unwrap();
    let amounts: Vec<(String, i64)> = lines.iter().map(|l| (l.1.clone(), l.3)).collect();
    assert_eq!(
        amounts,
        vec![
            ("1010-CLEARING".to_string(), 8622),
            ("1210-UTIL-AR".to_string(), -8412),
            ("4490-CONV-FEES".to_string(), -210),
        ]
    );
    assert_eq!(lines[1].2, Some(bill));
    t.assert_books_balance().await;
    assert_eq!(t.balance("UT-1").await, 0);

    let after = r.get("/pay/utilities/bills").await;
    assert!(
        after.main().contains("Nothing is due on this account"),
        "{}",
        after.main()
    );

    // One receipt e-mail, written by the background job.
    let outbox = t.dir.join("outbox");
    let mut emails = Vec::new();
    for _ in 0..100 {
        emails = std::fs::read_dir(&outbox)
            .unwrap()
            .filter_map(Result::ok)
            .collect();
        if !emails.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(emails.len(), 1);
    let eml = std::fs::read_to_string(emails[0].path()).unwrap();
    assert!(eml.contains("maria@example.com"));
    assert!(eml.contains(&number));
    assert!(eml.contains("Visa ending 4242"));

    let events: Vec<String> = store::audit::for_target(t.db().reader(), &format!("payment:{id}"))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        &events[..3],
        [
            "payment.created",
            "payment.checkout_opened",
            "payment.succeeded"
        ]
    );
    t.stop().await;
}

async fn declined_card_changes_nothing(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    let (id, back) = r.pay_bill("1002-3345", "94110", "UT-1", DECLINED, "").await;
    let page = r.get(back.location.as_deref().unwrap()).await;
    assert!(
        page.main().contains("Your payment was not taken"),
        "{}",
        page.main()
    );
    assert!(page.main().contains("Your card was declined"));
    assert!(page.main().contains("You have not been charged"));
    let p = t.settled(&id).await;
    assert_eq!(p.status, PaymentStatus::Failed);
    assert_eq!(p.failure_code.as_deref(), Some("card_declined"));
    assert_eq!(t.count("SELECT COUNT(*) FROM journal_entries").await, 0);
    assert_eq!(t.balance("UT-1").await, 8412);
    // The resident can try again with another card.
    let (id2, _) = r.pay_bill("1002-3345", "94110", "UT-1", GOOD, "").await;
    assert_ne!(id, id2);
    assert_eq!(t.settled(&id2).await.status, PaymentStatus::Succeeded);
    assert_eq!(t.balance("UT-1").await, 0);
    t.stop().await;
}

async fn insufficient_funds_is_reported(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    let (id, back) = r.pay_bill("3090-1200", "94117", "UT-4", NO_FUNDS, "").await;
    let page = r.get(back.location.as_deref().unwrap()).await;
    assert!(page.main().contains("not enough funds"), "{}", page.main());
    let p = t.settled(&id).await;
    assert_eq!(p.failure_code.as_deref(), Some("insufficient_funds"));
    assert_eq!(t.balance("UT-4").await, 31250);
    t.stop().await;
}

async fn cancelling_on_the_processor_page(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    r.prepare("1002-3345", "94110", "UT-1").await;
    let checkout = r.confirm("").await.location.unwrap();
    let page = r.get(&checkout).await;
    let token = page.input("token").unwrap();
    let back = crate::resident::read(
        r.client
            .post(format!("{checkout}/cancel"))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(back.status, 303);
    let landing = r.get(back.location.as_deref().unwrap()).await;
    assert!(
        landing.main().contains("You cancelled the payment"),
        "{}",
        landing.main()
    );
    // The cancel link says only that the payer left (the processor is
    // asked what that means).
    let location = back.location.unwrap();
    let (path, query) = location.split_once('?').unwrap();
    assert_eq!(query, "left=1");
    let id = path.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        t.settled(&id).await.failure_code.as_deref(),
        Some("cancelled")
    );
    assert_eq!(t.balance("UT-1").await, 8412);
    t.stop().await;
}

async fn partial_payment_reduces_the_balance(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    r.lookup("2048-7781", "94112").await;
    let bill = t.bill_id("UT-2").await;
    let chosen = r.choose(bill, "other", "20.00").await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    let review = r.get("/pay/review").await;
    assert!(review.main().contains("$20.00"));
    assert!(review.main().contains("$1.00"), "minimum fee applies");
    let checkout = r.confirm("").await.location.unwrap();
    let back = r.pay_on_processor(&checkout, GOOD).await;
    let id = back
        .location
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(t.settled(&id).await.status, PaymentStatus::Succeeded);
    assert_eq!(t.balance("UT-2").await, 6140 - 2000);
    assert_eq!(t.balance("UT-3").await, 5895, "the other bill is untouched");
    let bills = r.get("/pay/utilities/bills").await;
    assert!(bills.main().contains("Paid so far"));
    assert!(bills.main().contains("$41.40"));
    t.assert_books_balance().await;
    t.stop().await;
}

async fn reload_back_and_resubmit_pay_once(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    r.prepare("1002-3345", "94110", "UT-1").await;
    let review = r.get("/pay/review").await;
    let key = review.input("idempotency_key").unwrap();
    let confirmed = r
        .post("/pay/review", &[("idempotency_key", &key), ("email", "")])
        .await;
    let checkout = confirmed.location.unwrap();
    let back = r.pay_on_processor(&checkout, GOOD).await;
    let ret = back.location.unwrap();
    let id = ret.rsplit('/').next().unwrap().to_owned();
    t.settled(&id).await;
    for _ in 0..3 {
        let page = r.get(&ret).await;
        assert!(page.main().contains("Payment received"));
    }
    // Back to the review form and submit it again.
    let again = r
        .post("/pay/review", &[("idempotency_key", &key), ("email", "")])
        .await;
    assert_eq!(again.status, 303);
    assert_eq!(
        again.location.as_deref(),
        Some(format!("/pay/receipt/{id}").as_str())
    );
    // Back to the processor's page and pay again.
    let closed = r.get(&checkout).await;
    assert!(closed.body.contains("This checkout is closed"));
    let review_again = r.get("/pay/review").await;
    assert_eq!(review_again.status, 303, "no payment left to review");
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(t.count("SELECT COUNT(*) FROM journal_entries").await, 1);
    assert_eq!(t.balance("UT-1").await, 0);
    // A stale form for the paid bill pays nothing: it leads back to the
    // bills page, which says nothing is due.
    r.lookup("1002-3345", "94110").await;
    let refused = r.choose(t.bill_id("UT-1").await, "full", "").await;
    assert_eq!(refused.location.as_deref(), Some("/pay/utilities/bills"));
    assert!(
        r.get("/pay/utilities/bills")
            .await
            .main()
            .contains("Nothing is due")
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 1);
    t.stop().await;
}

async fn double_submit_makes_one_payment(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    r.prepare("1002-3345", "94110", "UT-1").await;
    let review = r.get("/pay/review").await;
    let key = review.input("idempotency_key").unwrap();
    let csrf = review.csrf();
    let url = format!("{}/pay/review", t.public);
    let form = [
        ("csrf", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("email", ""),
    ];
    let sends = (0..8).map(|_| r.client.post(&url).form(&form).send());
    let mut locations = Vec::new();
    for resp in futures_util::future::join_all(sends).await {
        let page = crate::resident::read(resp.unwrap()).await;
        assert_eq!(page.status, 303, "{}", page.body);
        locations.push(page.location.unwrap());
    }
    assert!(
        locations.iter().all(|l| l == &locations[0]),
        "{locations:?}"
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 1);
    t.stop().await;
}

async fn return_url_parameters_are_ignored(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    let (id, back) = r.pay_bill("1002-3345", "94110", "UT-1", DECLINED, "").await;
    t.settled(&id).await;
    let forged = format!(
        "{}?status=succeeded&paid=true&amount=8622",
        back.location.unwrap()
    );
    let page = r.get(&forged).await;
    assert!(page.main().contains("Your payment was not taken"));
    assert!(!page.main().contains("Payment received"));
    assert_eq!(t.payment(&id).await.status, PaymentStatus::Failed);
    t.stop().await;
}
