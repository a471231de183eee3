//! Forged, stale, replayed, duplicated, reordered and unknown webhooks
//! change nothing; retried deliveries arrive.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use app::processor::sandbox::signature;
use app::processor::sandbox::wire::{Card, CheckoutObject, Event, EventData};
use domain::payment::PaymentStatus;

use crate::db_tests;
use crate::harness::{Backend, Options, TestApp, spawn_app, spawn_with};
use crate::resident::read;

db_tests!(
    forged_and_stale_webhooks_are_refused,
    replayed_and_duplicate_events_post_once,
    reordered_events_cannot_undo_a_payment,
    unknown_event_types_are_acknowledged_not_applied,
    oversized_and_malformed_webhooks,
);

/// An open checkout for the first demo bill: (payment id, checkout id).
async fn open_checkout(t: &TestApp) -> (String, String) {
    open_checkout_for(t, "1002-3345", "94110", "UT-1").await
}

async fn open_checkout_for(
    t: &TestApp,
    account: &str,
    zip: &str,
    reference: &str,
) -> (String, String) {
    let mut r = t.resident();
    r.prepare(account, zip, reference).await;
    let checkout = r.confirm("").await.location.unwrap();
    let checkout_id = checkout.rsplit('/').next().unwrap().to_owned();
    (t.payment_for_checkout(&checkout_id).await, checkout_id)
}

fn event(event_id: &str, kind: &str, checkout_id: &str, payment_id: &str, amount: i64) -> Vec<u8> {
    let (status, card, failure) = match kind {
        "checkout.succeeded" => (
            "succeeded",
            Some(Card {
                brand: "visa".into(),
                last4: "4242".into(),
            }),
            None,
        ),
        "checkout.failed" => ("failed", None, Some("card_declined".to_string())),
        _ => ("open", None, None),
    };
    let e = Event {
        id: event_id.into(),
        event_type: kind.into(),
        created: jiff::Timestamp::now().as_second(),
        data: EventData {
            checkout: CheckoutObject {
                id: checkout_id.into(),
                url: "http://unused/".into(),
                status: status.into(),
                amount,
                currency: "usd".into(),
                expires_at: 0,
                reference: payment_id.into(),
                captured_at: (status == "succeeded").then(|| jiff::Timestamp::now().as_second()),
                card,
                failure_code: failure,
            },
        },
    };
    serde_json::to_vec(&e).unwrap()
}

async fn deliver(t: &TestApp, body: &[u8], header: Option<String>) -> (u16, String) {
    let mut req = t
        .client
        .post(format!("{}/webhooks/sandbox", t.public))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(h) = header {
        req = req.header(signature::HEADER, h);
    }
    let page = read(req.send().await.unwrap()).await;
    (page.status, page.body)
}

fn signed(t: &TestApp, body: &[u8], at: i64) -> String {
    signature::sign(&[t.webhook_secret().as_bytes()], at, body)
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

async fn forged_and_stale_webhooks_are_refused(b: Backend) {
    let t = spawn_app(b).await;
    let (id, checkout) = open_checkout(&t).await;
    let body = event("evt_forged1", "checkout.succeeded", &checkout, &id, 8622);
    let forged = signature::sign(&[b"whsec_not_the_real_secret_at_all"], now(), &body);
    assert_eq!(deliver(&t, &body, Some(forged)).await.0, 401);
    assert_eq!(deliver(&t, &body, None).await.0, 401);
    assert_eq!(deliver(&t, &body, Some("t=1,v1=zz".into())).await.0, 401);
    let stale = signed(&t, &body, now() - 600);
    assert_eq!(deliver(&t, &body, Some(stale)).await.0, 400);
    let future = signed(&t, &body, now() + 600);
    assert_eq!(deliver(&t, &body, Some(future)).await.0, 400);
    // A good signature over a different body.
    let other = event("evt_forged2", "checkout.succeeded", &checkout, &id, 1);
    assert_eq!(
        deliver(&t, &other, Some(signed(&t, &body, now()))).await.0,
        401
    );
    assert_eq!(t.payment(&id).await.status, PaymentStatus::Pending);
    assert_eq!(t.count("SELECT COUNT(*) FROM journal_entries").await, 0);
    assert_eq!(t.count("SELECT COUNT(*) FROM processor_events").await, 0);
    t.stop().await;
}

async fn replayed_and_duplicate_events_post_once(b: Backend) {
    let t = spawn_app(b).await;
    let (id, checkout) = open_checkout(&t).await;
    let body = event("evt_dup1", "checkout.succeeded", &checkout, &id, 8622);
    let header = signed(&t, &body, now());
    let (status, text) = deliver(&t, &body, Some(header.clone())).await;
    assert_eq!((status, text.as_str()), (200, "ok"));
    assert_eq!(t.payment(&id).await.status, PaymentStatus::Succeeded);
    // The same delivery replayed, byte for byte.
    for _ in 0..3 {
        assert_eq!(deliver(&t, &body, Some(header.clone())).await.0, 200);
    }
    // The same news in a new event.
    let again = event("evt_dup2", "checkout.succeeded", &checkout, &id, 8622);
    assert_eq!(
        deliver(&t, &again, Some(signed(&t, &again, now()))).await.0,
        200
    );
    // Concurrent duplicates.
    let third = event("evt_dup3", "checkout.succeeded", &checkout, &id, 8622);
    let h3 = signed(&t, &third, now());
    let (x, y) = tokio::join!(
        deliver(&t, &third, Some(h3.clone())),
        deliver(&t, &third, Some(h3))
    );
    assert_eq!((x.0, y.0), (200, 200));
    assert_eq!(t.count("SELECT COUNT(*) FROM journal_entries").await, 1);
    assert_eq!(t.count("SELECT COUNT(*) FROM journal_lines").await, 3);
    assert_eq!(t.balance("UT-1").await, 0);
    t.assert_books_balance().await;
    t.stop().await;
}

async fn reordered_events_cannot_undo_a_payment(b: Backend) {
    let t = spawn_app(b).await;
    let (id, checkout) = open_checkout(&t).await;
    let ok = event("evt_r1", "checkout.succeeded", &checkout, &id, 8622);
    assert_eq!(deliver(&t, &ok, Some(signed(&t, &ok, now()))).await.0, 200);
    let late_fail = event("evt_r0", "checkout.failed", &checkout, &id, 8622);
    let (status, _) = deliver(&t, &late_fail, Some(signed(&t, &late_fail, now()))).await;
    assert_eq!(status, 409, "a contradiction is refused and recorded");
    let p = t.payment(&id).await;
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(t.count("SELECT COUNT(*) FROM journal_entries").await, 1);
    let conflicts = t
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'payment.outcome_conflict'")
        .await;
    assert_eq!(conflicts, 1);
    // A captured amount that differs from ours is refused too.
    let (id2, checkout2) = open_checkout_for(&t, "3090-1200", "94117", "UT-4").await;
    let short = event("evt_r2", "checkout.succeeded", &checkout2, &id2, 100);
    assert_eq!(
        deliver(&t, &short, Some(signed(&t, &short, now()))).await.0,
        409
    );
    assert_eq!(t.payment(&id2).await.status, PaymentStatus::Pending);
    assert_eq!(t.count("SELECT COUNT(*) FROM journal_entries").await, 1);
    t.stop().await;
}

async fn unknown_event_types_are_acknowledged_not_applied(b: Backend) {
    let t = spawn_app(b).await;
    let (id, checkout) = open_checkout(&t).await;
    let body = event(
        "evt_u1",
        "checkout.payment_method_attached",
        &checkout,
        &id,
        8622,
    );
    let (status, text) = deliver(&t, &body, Some(signed(&t, &body, now()))).await;
    assert_eq!((status, text.as_str()), (200, "ignored"));
    assert_eq!(t.payment(&id).await.status, PaymentStatus::Pending);
    // An event about a checkout that is not ours.
    let stranger = event("evt_u2", "checkout.succeeded", "cs_not_ours", "p", 5);
    assert_eq!(
        deliver(&t, &stranger, Some(signed(&t, &stranger, now())))
            .await
            .0,
        200
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM journal_entries").await, 0);
    t.stop().await;
}

async fn oversized_and_malformed_webhooks(b: Backend) {
    let t = spawn_app(b).await;
    let big = vec![b'x'; 200 * 1024];
    let too_big = read(
        t.resident()
            .client
            .post(format!("{}/webhooks/sandbox", t.public))
            .header(signature::HEADER, signed(&t, &big, now()))
            .body(big.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(too_big.status, 413);
    let junk = b"{not json".to_vec();
    assert_eq!(
        deliver(&t, &junk, Some(signed(&t, &junk, now()))).await.0,
        400
    );
    // Type and status that disagree.
    let (id, checkout) = open_checkout(&t).await;
    let mut lie: serde_json::Value =
        serde_json::from_slice(&event("evt_m1", "checkout.succeeded", &checkout, &id, 8622))
            .unwrap();
    lie["type"] = "checkout.failed".into();
    let lie = serde_json::to_vec(&lie).unwrap();
    assert_eq!(
        deliver(&t, &lie, Some(signed(&t, &lie, now()))).await.0,
        400
    );
    let unknown_processor = read(
        t.client
            .post(format!("{}/webhooks/stripe", t.public))
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(unknown_processor.status, 404);
    assert_eq!(t.payment(&id).await.status, PaymentStatus::Pending);
    t.stop().await;
}

/// The sandbox retries a delivery the receiver refused, signing each
/// attempt afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_retries_failed_deliveries() {
    use axum::routing::post;
    let attempts = Arc::new(AtomicUsize::new(0));
    let seen = attempts.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    assert!(headers.contains_key(signature::HEADER));
                    let e: Event = serde_json::from_slice(&body).unwrap();
                    assert_eq!(e.event_type, "checkout.succeeded");
                    if n < 2 {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, receiver).await });
    let t = spawn_with(
        Backend::Sqlite,
        Options {
            webhook_url: Some(hook),
            ..Options::default()
        },
    )
    .await;
    let mut r = t.resident();
    let (id, _) = r
        .pay_bill("1002-3345", "94110", "UT-1", "4242424242424242", "")
        .await;
    for _ in 0..100 {
        if attempts.load(Ordering::SeqCst) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "two refusals, then delivered"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "no more attempts after success"
    );
    // The webhook went elsewhere; the status query settles the payment.
    let page = r.get(&format!("/pay/receipt/{id}")).await;
    assert!(page.main().contains("Payment received"));
    t.stop().await;
}
