//! When webhooks do not arrive: the receipt page asks the processor, and a
//! background job does too. When the processor is down: nothing is charged
//! and the unopened payment expires.

use std::time::Duration;

use app::services::payments;
use domain::payment::PaymentStatus;

use crate::db_tests;
use crate::harness::{Backend, Options, spawn_with};

db_tests!(
    receipt_page_asks_the_processor_when_no_webhook_came,
    background_job_settles_a_forgotten_payment,
    processor_down_charges_nothing_and_expires,
);

fn no_webhooks() -> Options {
    // Port 9 (discard) on loopback: nothing listens, deliveries fail.
    Options {
        webhook_url: Some("http://127.0.0.1:9/webhooks/sandbox".into()),
        ..Options::default()
    }
}

async fn receipt_page_asks_the_processor_when_no_webhook_came(b: Backend) {
    let t = spawn_with(b, no_webhooks()).await;
    let mut r = t.resident();
    // Landing on the receipt page before paying: still waiting.
    r.prepare("1002-3345", "94110", "UT-1").await;
    let checkout = r.confirm("").await.location.unwrap();
    let id: String = {
        use sqlx::Row;
        sqlx::query("SELECT id FROM payments")
            .fetch_one(t.db().reader())
            .await
            .unwrap()
            .try_get("id")
            .unwrap()
    };
    let early = r.get(&format!("/pay/receipt/{id}")).await;
    assert!(
        early.main().contains("We are confirming your payment"),
        "{}",
        early.main()
    );
    assert!(early.main().contains("Do not pay again"));
    assert_eq!(t.payment(&id).await.status, PaymentStatus::Pending);
    // Now pay; no webhook will come, the page asks the processor itself.
    let back = r.pay_on_processor(&checkout, "4242424242424242").await;
    let page = r.get(back.location.as_deref().unwrap()).await;
    assert!(page.main().contains("Payment received"), "{}", page.main());
    assert_eq!(t.payment(&id).await.status, PaymentStatus::Succeeded);
    assert_eq!(t.count("SELECT COUNT(*) FROM journal_entries").await, 1);
    let via: String = {
        use sqlx::Row;
        sqlx::query("SELECT details FROM audit_events WHERE action = 'payment.succeeded'")
            .fetch_one(t.db().reader())
            .await
            .unwrap()
            .try_get("details")
            .unwrap()
    };
    assert!(via.contains("status_query"), "{via}");
    t.stop().await;
}

async fn background_job_settles_a_forgotten_payment(b: Backend) {
    let t = spawn_with(
        b,
        Options {
            manual_clock: true,
            ..no_webhooks()
        },
    )
    .await;
    let mut r = t.resident();
    let (id, _back) = r
        .pay_bill("1002-3345", "94110", "UT-1", "4242424242424242", "")
        .await;
    // The resident closed the tab on the way back; no webhook arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.payment(&id).await.status, PaymentStatus::Pending);
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_mins(2));
    for _ in 0..100 {
        if t.payment(&id).await.status != PaymentStatus::Pending {
            break;
        }
        app::jobs::run_one(&t.app).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(t.payment(&id).await.status, PaymentStatus::Succeeded);
    assert_eq!(t.balance("UT-1").await, 0);
    t.assert_books_balance().await;
    t.stop().await;
}

async fn processor_down_charges_nothing_and_expires(b: Backend) {
    let t = spawn_with(
        b,
        Options {
            manual_clock: true,
            start_sandbox: false,
            ..Options::default()
        },
    )
    .await;
    let mut r = t.resident();
    r.prepare("1002-3345", "94110", "UT-1").await;
    let page = r.confirm("").await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains("You have not been charged"));
    assert!(page.headers.contains_key("retry-after"));
    assert_eq!(
        t.count("SELECT COUNT(*) FROM payments WHERE status = 'created'")
            .await,
        1
    );
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_mins(31));
    assert_eq!(payments::expire_unopened(&t.app).await.unwrap(), 1);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM payments WHERE status = 'expired'")
            .await,
        1
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM journal_entries").await, 0);
    assert_eq!(t.balance("UT-1").await, 8412);
    t.stop().await;
}
