//! The Stripe adapter against a real peer: localstripe (PyPI), a stateful
//! fake of Stripe's API that signs and delivers webhooks, started here on a
//! free port.
//!
//! localstripe has no Checkout Sessions, so the adapter talks to a small
//! front in this file that implements `/v1/checkout/sessions` (recording
//! every request, honouring idempotency keys) and passes every other call
//! through to localstripe untouched. The resident's step on Stripe's page is
//! simulated the way Stripe completes it: a PaymentMethod and a confirmed
//! PaymentIntent are created at localstripe, carrying the metadata the
//! session asked for; localstripe then signs and delivers
//! `payment_intent.succeeded` to cityteller.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::processor::stripe::{OffSessionOutcome, StripeProcessor, StripeSettings};
use app::processor::{DeclineReason, Processor, signature};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use domain::Cents;
use domain::payment::PaymentStatus;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::db_tests;
use crate::harness::{Backend, Options, TestApp, free_port, python_peer, spawn_with};
use app::staff::roles::Role;

db_tests!(
    the_whole_resident_journey_on_stripe,
    a_guest_pays_through_stripe_and_the_webhook_posts_once,
    a_refund_and_the_days_reconciliation_with_stripe,
    a_refund_stripe_could_not_complete_is_reversed_once,
    leaving_stripes_page_closes_the_session_but_never_undoes_a_payment,
);

#[tokio::test]
async fn saved_cards_are_charged_off_session() {
    let Some(peer) = Peer::start().await else {
        return;
    };
    let stripe = peer.processor();
    let customer = stripe.create_customer("resident-17").await.unwrap();
    // Asked again for the same resident, Stripe would answer with the same
    // Customer (the key is the resident's); localstripe ignores idempotency
    // keys, so here only the key itself is checked.
    let made = peer.front.posts();
    assert_eq!(made[0].path, "/v1/customers");
    assert_eq!(
        made[0].idempotency_key.as_deref(),
        Some("customer-resident-17")
    );
    assert_eq!(
        made[0].body,
        "metadata%5Bcityteller_resident%5D=resident-17"
    );

    let ok = peer.saved_card(&customer, "4242424242424242").await;
    assert_eq!(
        stripe.card_of(&ok).await.unwrap(),
        ("visa".to_string(), "4242".to_string())
    );
    match stripe
        .charge_off_session(
            &customer,
            &ok,
            Cents::new(5_895),
            "pay_auto1",
            "autopay-bill-1",
        )
        .await
        .unwrap()
    {
        OffSessionOutcome::Succeeded {
            payment_intent,
            captured,
        } => {
            assert_eq!(captured.amount, Cents::new(5_895));
            assert_eq!(captured.card_last4, "4242");
            let pi = peer
                .get(&format!("/v1/payment_intents/{payment_intent}"))
                .await;
            assert_eq!(pi["status"], "succeeded");
            assert_eq!(pi["metadata"]["cityteller_payment"], "pay_auto1");
            assert_eq!(pi["customer"], customer.as_str());
        }
        other => panic!("expected a charge, got {other:?}"),
    }

    let declining = peer.saved_card(&customer, "4000000000000341").await;
    assert_eq!(
        stripe
            .charge_off_session(
                &customer,
                &declining,
                Cents::new(1_000),
                "pay_auto2",
                "autopay-bill-2"
            )
            .await
            .unwrap(),
        OffSessionOutcome::Declined {
            payment_intent: None,
            reason: DeclineReason::Declined
        }
    );

    let needs_3ds = peer.saved_card(&customer, "4000000000003220").await;
    match stripe
        .charge_off_session(
            &customer,
            &needs_3ds,
            Cents::new(1_000),
            "pay_auto3",
            "autopay-bill-3",
        )
        .await
        .unwrap()
    {
        OffSessionOutcome::RequiresAction { payment_intent } => {
            let pi = peer
                .get(&format!("/v1/payment_intents/{payment_intent}"))
                .await;
            assert_eq!(pi["status"], "requires_action");
        }
        other => panic!("expected requires_action, got {other:?}"),
    }

    // Every POST the adapter made carried an idempotency key.
    let posts = peer.front.posts();
    assert!(!posts.is_empty());
    for p in &posts {
        assert!(p.idempotency_key.is_some(), "{} without a key", p.path);
    }

    // Removing a saved method removes it at Stripe.
    stripe.detach(&ok).await.unwrap();
    let pm = peer.get(&format!("/v1/payment_methods/{ok}")).await;
    assert_eq!(pm["customer"], Value::Null);

    // The setup page is a Checkout Session in setup mode for the customer.
    let return_url = url::Url::parse("http://127.0.0.1/wallet/saved").unwrap();
    let cancel_url = url::Url::parse("http://127.0.0.1/wallet").unwrap();
    let setup = stripe
        .create_setup_session(&customer, &return_url, &cancel_url, "setup-resident-17-1")
        .await
        .unwrap();
    assert!(setup.id.starts_with("cs_"));
    let recorded = peer.front.sessions_posted();
    let last = recorded.last().unwrap();
    assert_eq!(
        last.body,
        StripeProcessor::setup_form(&customer, &return_url, &cancel_url).encode()
    );

    // Payouts to the bank, listed for the close.
    let created = peer
        .post("/v1/payouts", &[("amount", "5000"), ("currency", "eur")])
        .await;
    let now = jiff::Timestamp::now();
    let payouts = stripe
        .payouts(
            now - jiff::SignedDuration::from_hours(1),
            now + jiff::SignedDuration::from_hours(1),
        )
        .await
        .unwrap();
    let p = payouts
        .iter()
        .find(|p| p.id == created["id"].as_str().unwrap())
        .expect("the payout is listed");
    assert_eq!(p.amount, 5000);
    assert!(p.arrival > p.created);
}

#[tokio::test]
async fn a_lost_answer_is_retried_with_the_same_key_and_makes_one_session() {
    let Some(peer) = Peer::start().await else {
        return;
    };
    let stripe = peer.processor();
    peer.front.lose_next_answers(1);
    let req = app::processor::CheckoutRequest {
        payment_id: "pay_retry".into(),
        idempotency_key: "checkout-pay_retry".into(),
        total: Cents::new(1_234),
        description: "Permit fee".into(),
        return_url: url::Url::parse("http://127.0.0.1/pay/return").unwrap(),
        cancel_url: url::Url::parse("http://127.0.0.1/pay/cancel").unwrap(),
        expires_at: jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
    };
    let checkout = stripe.create_checkout(&req).await.unwrap();
    let posted = peer.front.sessions_posted();
    assert_eq!(
        posted.len(),
        2,
        "the first answer was lost, so it asked again"
    );
    assert!(
        posted
            .iter()
            .all(|p| p.idempotency_key.as_deref() == Some("checkout-pay_retry"))
    );
    assert_eq!(posted[0].body, posted[1].body);
    assert_eq!(peer.front.session_count(), 1, "one session, not two");
    assert!(checkout.redirect_url.as_str().starts_with(&peer.front_url));
}

// ---------------------------------------------------------------------------

fn stripe_options(peer: &Peer) -> Options {
    Options {
        processor_toml: Some(format!(
            "[processor]\nkind = \"stripe\"\nstripe_api_url = \"{front}/\"\nstripe_checkout_origin = \"{front}/\"\nrequest_timeout_seconds = 5\ncheckout_ttl_minutes = 60\n",
            front = peer.front_url
        )),
        processor_api_key: Some(API_KEY.into()),
        start_sandbox: false,
        // Staff sign-in codes step this clock; it starts at the real time,
        // which localstripe's signatures are checked against.
        manual_clock: true,
        // Only the webhook may settle the payment here.
        jobs_in_process: false,
        ..Options::default()
    }
}

/// cityteller on Stripe (the front before localstripe), with localstripe
/// delivering its webhooks to it.
async fn app_on(b: Backend, peer: &Peer) -> TestApp {
    let t = spawn_with(b, stripe_options(peer)).await;
    peer.deliver_webhooks_to(
        &format!("{}/webhooks/stripe", t.public),
        &t.webhook_secret(),
    )
    .await;
    t
}

/// Starts paying the first demo bill; returns the payment id and the
/// session id.
async fn pay(t: &TestApp, peer: &Peer) -> (String, String) {
    to_stripe(t, peer, &mut t.resident(), ("1002-3345", "94110", "UT-1")).await
}

/// The resident looks up a bill, reviews it and is sent to Stripe's page.
async fn to_stripe(
    t: &TestApp,
    peer: &Peer,
    r: &mut crate::resident::Resident<'_>,
    (account, zip, reference): (&str, &str, &str),
) -> (String, String) {
    r.prepare(account, zip, reference).await;
    let to_stripe = r.confirm("payer@example.com").await.location.unwrap();
    assert!(
        to_stripe.starts_with(&format!("{}/c/pay/cs_", peer.front_url)),
        "the resident is sent to Stripe's page: {to_stripe}"
    );
    let session = to_stripe.rsplit('/').next().unwrap().to_owned();
    let payment = t.payment_for_checkout(&session).await;
    (payment, session)
}

async fn a_guest_pays_through_stripe_and_the_webhook_posts_once(b: Backend) {
    let Some(peer) = Peer::start().await else {
        return;
    };
    let t = app_on(b, &peer).await;
    let (payment, session) = pay(&t, &peer).await;

    // The request Stripe received for it.
    let posted = peer.front.sessions_posted();
    assert_eq!(posted.len(), 1);
    // The key is derived from our payment id: a retried call can only
    // ever find the same session.
    assert_eq!(
        posted[0].idempotency_key.as_deref(),
        Some(format!("checkout-{payment}").as_str())
    );
    let fields: HashMap<String, String> = serde_urlencoded::from_str(&posted[0].body).unwrap();
    assert_eq!(fields["mode"], "payment");
    assert_eq!(fields["client_reference_id"], payment);
    assert_eq!(fields["line_items[0][price_data][unit_amount]"], "8622");
    assert_eq!(fields["line_items[0][price_data][currency]"], "usd");
    assert_eq!(
        fields["payment_intent_data[metadata][cityteller_payment]"],
        payment
    );
    assert!(fields["success_url"].starts_with(&t.public));
    assert!(
        !posted[0].body.contains("payer%40example.com"),
        "no e-mail sent to Stripe"
    );

    // On Stripe's page: a declined card first (the session stays open),
    // then a good one.
    assert!(
        peer.front
            .pay(&peer, &session, "4000000000000341")
            .await
            .is_none()
    );
    assert!(t.payment(&payment).await.status.is_open());
    let pi = peer
        .front
        .pay(&peer, &session, "4242424242424242")
        .await
        .unwrap();

    // localstripe signs and delivers payment_intent.succeeded; cityteller
    // re-reads the session and posts.
    // (The declined attempt's `payment_intent.payment_failed` may arrive
    // after the good card was taken: re-reading the session then already
    // finds it paid, which is why events are never trusted for state.)
    let p = t.settled(&payment).await;
    assert_eq!(p.status, PaymentStatus::Succeeded);
    let event_id = delivered(&t, "payment_intent.succeeded").await;
    assert!(event_id.starts_with("evt_"));
    assert_eq!(
        t.count(&format!("SELECT COUNT(*) FROM journal_entries WHERE payment_id = '{payment}' AND kind = 'payment_capture'")).await,
        1
    );

    // The same event delivered again (as Stripe does) changes nothing.
    let event = peer.get(&format!("/v1/events/{event_id}")).await;
    let body = serde_json::to_vec(&event).unwrap();
    let secret = t.webhook_secret();
    let now = jiff::Timestamp::now().as_second();
    let send = |sig: String, body: Vec<u8>| {
        let client = t.client.clone();
        let url = format!("{}/webhooks/stripe", t.public);
        async move {
            client
                .post(url)
                .header("Stripe-Signature", sig)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        send(
            signature::sign(&[secret.as_bytes()], now, &body),
            body.clone()
        )
        .await,
        StatusCode::OK
    );
    // Forged and stale deliveries are refused.
    assert_eq!(
        send(
            signature::sign(&[b"whsec_not_the_city_s_secret_at_all"], now, &body),
            body.clone()
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(
            signature::sign(&[secret.as_bytes()], now - 400, &body),
            body.clone()
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        t.count(&format!("SELECT COUNT(*) FROM journal_entries WHERE payment_id = '{payment}' AND kind = 'payment_capture'")).await,
        1,
        "posted exactly once"
    );
    let stored = t.payment(&payment).await;
    assert_eq!(stored.card_last4.as_deref(), Some("4242"));
    assert_eq!(stored.processor_ref.as_deref(), Some(session.as_str()));
    let at_stripe = peer.get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(at_stripe["amount"], 8622);
    t.stop().await;
}

async fn a_refund_and_the_days_reconciliation_with_stripe(b: Backend) {
    let Some(peer) = Peer::start().await else {
        return;
    };
    let t = app_on(b, &peer).await;
    let (payment, session) = pay(&t, &peer).await;
    let pi = peer
        .front
        .pay(&peer, &session, "4242424242424242")
        .await
        .unwrap();
    assert_eq!(t.settled(&payment).await.status, PaymentStatus::Succeeded);

    let (_sup, done) = refund_twenty(&t, &payment).await;
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/payments/{payment}?done=refund").as_str()),
        "{}",
        done.body
    );
    assert_eq!(
        t.payment(&payment).await.status,
        PaymentStatus::PartiallyRefunded
    );
    let refunds = peer.get(&format!("/v1/refunds?payment_intent={pi}")).await;
    let data = refunds["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["amount"], 2000);
    let refund_post = peer
        .front
        .posts()
        .into_iter()
        .find(|p| p.path == "/v1/refunds")
        .unwrap();
    assert!(refund_post.idempotency_key.is_some());

    // Ledger against Stripe's balance transactions: the charge (named by
    // its session) and the refund match, nothing is missing either side.
    let today = app::services::close::today(&t.app);
    let payout = peer
        .post("/v1/payouts", &[("amount", "6622"), ("currency", "eur")])
        .await;
    let rec = app::services::close::reconcile(&t.app, today)
        .await
        .unwrap()
        .unwrap();
    assert!(rec.mismatches.is_empty(), "{:?}", rec.mismatches);
    assert_eq!(rec.charges, Cents::new(8622));
    assert_eq!(rec.refunds, Cents::new(2000));
    // localstripe charges no fees; Stripe's would be subtracted here.
    assert_eq!(rec.fees, Cents::ZERO);
    assert_eq!(rec.net, Cents::new(6622));
    assert_eq!(rec.payouts.len(), 1);
    assert_eq!(rec.payouts[0].id, payout["id"].as_str().unwrap());
    assert_eq!(rec.payouts[0].amount_text(), "66.22 EUR");

    // The close page shows the processor's side of the day.
    let mut fin = t.staff(Role::Finance).await;
    let page = fin.get(&format!("/close/{today}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.main().contains("Net, to reach the bank"),
        "{}",
        page.main()
    );
    assert!(page.main().contains("$66.22"));
    assert!(page.main().contains(payout["id"].as_str().unwrap()));
    let theirs = t
        .app
        .processor
        .transactions(
            jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1),
            jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
        )
        .await
        .unwrap();
    assert_eq!(theirs.len(), 2);
    assert!(theirs.iter().all(|x| x.checkout_ref == session));
    t.stop().await;
}

/// A supervisor refunds $20.00 of `payment`; their client and the answer.
async fn refund_twenty<'a>(
    t: &'a TestApp,
    payment: &str,
) -> (crate::staff_client::StaffClient<'a>, crate::resident::Page) {
    let mut sup = t.staff(Role::Supervisor).await;
    let done = sup
        .post(
            &format!("/payments/{payment}/refund"),
            &[("amount", "20.00"), ("reason", "Meter misread")],
        )
        .await;
    (sup, done)
}

/// A refund Stripe made and then could not complete (the card's account
/// was closed): the webhook only says which refund to look at; read back
/// from Stripe, it is reversed once in the ledger, the payment's status and
/// what can be refunded follow, and the day's close and posting file show
/// the money coming back.
async fn a_refund_stripe_could_not_complete_is_reversed_once(b: Backend) {
    use sqlx::Row;
    let Some(peer) = Peer::start().await else {
        return;
    };
    let t = app_on(b, &peer).await;
    let (payment, session) = pay(&t, &peer).await;
    peer.front
        .pay(&peer, &session, "4242424242424242")
        .await
        .unwrap();
    assert_eq!(t.settled(&payment).await.status, PaymentStatus::Succeeded);
    let on_bills = "SELECT COALESCE(CAST(SUM(amount_cents) AS BIGINT), 0) FROM journal_lines
                    WHERE receivable_id IS NOT NULL";
    let paid_state = t.count(on_bills).await;
    let (mut sup, done) = refund_twenty(&t, &payment).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        t.payment(&payment).await.status,
        PaymentStatus::PartiallyRefunded
    );
    assert_ne!(t.count(on_bills).await, paid_state);
    let refund: String = sqlx::query("SELECT processor_ref FROM refunds")
        .fetch_one(t.db().reader())
        .await
        .unwrap()
        .try_get("processor_ref")
        .unwrap();
    assert!(refund.starts_with("re_"), "{refund}");

    let secret = t.webhook_secret();
    let send = |event_id: &str, refund: &str| {
        let body = serde_json::to_vec(&json!({
            "id": event_id,
            "object": "event",
            "type": "charge.refund.updated",
            "created": jiff::Timestamp::now().as_second(),
            "data": { "object": { "id": refund, "object": "refund", "status": "failed" } },
        }))
        .unwrap();
        let sig = signature::sign(
            &[secret.as_bytes()],
            jiff::Timestamp::now().as_second(),
            &body,
        );
        let req = t
            .client
            .post(format!("{}/webhooks/stripe", t.public))
            .header("Stripe-Signature", sig)
            .header("Content-Type", "application/json")
            .body(body);
        async move { req.send().await.unwrap().status() }
    };
    let reversals = "SELECT COUNT(*) FROM journal_entries WHERE kind = 'refund_reversal'";
    // The event's own word is not taken: Stripe still says the refund
    // stands, so nothing changes. A refund we never made is acknowledged.
    assert_eq!(send("evt_refund_1", &refund).await, StatusCode::OK);
    assert_eq!(send("evt_refund_x", "re_not_ours").await, StatusCode::OK);
    assert_eq!(t.count(reversals).await, 0);

    // Stripe now reports it failed: reversed, once, whatever arrives after.
    peer.front.fail_refund(&refund, "expired_or_canceled_card");
    for event in ["evt_refund_2", "evt_refund_2", "evt_refund_3"] {
        assert_eq!(send(event, &refund).await, StatusCode::OK, "{event}");
    }
    assert_eq!(t.count(reversals).await, 1);
    assert_eq!(
        t.count("SELECT COALESCE(CAST(SUM(amount_cents) AS BIGINT), 0) FROM journal_lines")
            .await,
        0,
        "the ledger balances"
    );
    assert_eq!(
        t.count(on_bills).await,
        paid_state,
        "the bill is paid again"
    );
    assert_eq!(t.payment(&payment).await.status, PaymentStatus::Succeeded);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'refund.reversed'")
            .await,
        1
    );
    let today = app::services::close::today(&t.app);
    let page = sup.get(&format!("/payments/{payment}")).await;
    assert!(
        page.body.contains(&format!(
            "then not completed by the processor (expired_or_canceled_card); reversed on {today}"
        )),
        "{}",
        page.body
    );
    let form = sup.get(&format!("/payments/{payment}/refund")).await;
    assert!(
        form.main().contains("$86.22"),
        "all of it can be refunded again"
    );

    // The close: the refund still matches Stripe's refund on the day it was
    // made; its return is in our books (localstripe records no
    // `refund_failure`, so here it shows as missing at the processor).
    let rec = app::services::close::reconcile(&t.app, today)
        .await
        .unwrap()
        .unwrap();
    let kinds: Vec<(&str, &str)> = rec
        .mismatches
        .iter()
        .map(|m| (m.kind, m.id.as_str()))
        .collect();
    assert_eq!(kinds, vec![("refund returned", refund.as_str())]);
    assert_eq!(
        rec.mismatches[0].reason,
        app::services::close::MismatchReason::MissingAtProcessor
    );
    let mut fin = t.staff(Role::Finance).await;
    let postings = fin.get(&format!("/close/{today}/postings.csv")).await;
    assert_eq!(postings.status, 200);
    let lines: Vec<&str> = postings.body.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",refund,") && l.contains("-20.00")),
        "{}",
        postings.body
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",refund_reversal,") && l.contains(",20.00,")),
        "{}",
        postings.body
    );
    t.stop().await;
}

async fn leaving_stripes_page_closes_the_session_but_never_undoes_a_payment(b: Backend) {
    let Some(peer) = Peer::start().await else {
        return;
    };
    let t = app_on(b, &peer).await;

    // The resident leaves Stripe's page through its cancel link.
    let mut r = t.resident();
    let (payment, session) = to_stripe(&t, &peer, &mut r, ("1002-3345", "94110", "UT-1")).await;
    let cancel_url = peer.front.field(&session, "cancel_url");
    assert!(cancel_url.ends_with("?left=1"), "{cancel_url}");
    let back = r.get(cancel_url.strip_prefix(&t.public).unwrap()).await;
    assert_eq!(back.status, 200);
    let p = t.payment(&payment).await;
    assert_eq!(p.status, PaymentStatus::Failed);
    assert_eq!(p.failure_code.as_deref(), Some("cancelled"));
    // Closed at Stripe too: the page cannot take the money later.
    assert_eq!(peer.front.status_of(&session), "expired");
    assert!(
        peer.front
            .pay(&peer, &session, "4242424242424242")
            .await
            .is_none()
    );

    // Another browser replaying the cancel link changes nothing.
    let mut other = t.resident();
    let replay = other.get(cancel_url.strip_prefix(&t.public).unwrap()).await;
    assert_eq!(replay.status, 200);

    // Paid, then the back button to the cancel link: still paid.
    let mut r = t.resident();
    let (payment, session) = to_stripe(&t, &peer, &mut r, ("2048-7781", "94112", "UT-3")).await;
    peer.front
        .pay(&peer, &session, "4242424242424242")
        .await
        .unwrap();
    let cancel_url = peer.front.field(&session, "cancel_url");
    let back = r.get(cancel_url.strip_prefix(&t.public).unwrap()).await;
    assert_eq!(back.status, 200);
    assert_eq!(t.settled(&payment).await.status, PaymentStatus::Succeeded);
    assert_eq!(peer.front.status_of(&session), "complete");
    t.stop().await;
}

/// The id of the first event of `kind` localstripe delivered to cityteller.
async fn delivered(t: &TestApp, kind: &str) -> String {
    use sqlx::Row;
    for _ in 0..100 {
        let row = sqlx::query(
            "SELECT event_id FROM processor_events WHERE processor = 'stripe' AND event_type = $1",
        )
        .bind(kind)
        .fetch_optional(t.db().reader())
        .await
        .unwrap();
        if let Some(r) = row {
            return r.get(0);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("localstripe never delivered {kind}");
}

// ---------------------------------------------------------------------------
// The peer: localstripe, and the Checkout front before it.

const API_KEY: &str = "sk_test_cityteller_localstripe";

struct Peer {
    child: Child,
    localstripe: String,
    front_url: String,
    front: Front,
    http: reqwest::Client,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    async fn start() -> Option<Peer> {
        let py = python_peer("localstripe")?;
        // Tests start in parallel processes: one at a time picks a port and
        // starts its localstripe, so two never end up on one port (and
        // then in each other's data).
        let lock = std::fs::File::create(crate::harness::artifacts_root().join("localstripe.lock"))
            .unwrap();
        lock.lock().unwrap();
        let http = reqwest::Client::new();
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(&py)
                .args([
                    "-m",
                    "localstripe",
                    "--port",
                    &port.to_string(),
                    "--from-scratch",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let localstripe = format!("http://127.0.0.1:{port}");
            let mut up = false;
            for _ in 0..150 {
                // Exited: the port was taken meanwhile by someone else.
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if let Ok(r) = http
                    .get(format!("{localstripe}/v1/balance"))
                    .bearer_auth(API_KEY)
                    .send()
                    .await
                    && r.status().is_success()
                {
                    up = child.try_wait().unwrap().is_none();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !up {
                let _ = child.kill();
                let _ = child.wait();
                continue;
            }
            drop(lock);
            let front = Front::new(localstripe.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let front_url = format!("http://{}", listener.local_addr().unwrap());
            front.set_origin(&front_url);
            tokio::spawn(axum::serve(listener, front.clone().router()).into_future());
            return Some(Peer {
                child,
                localstripe,
                front_url,
                front,
                http,
            });
        }
        panic!("localstripe did not start");
    }

    fn processor(&self) -> StripeProcessor {
        StripeProcessor::new(StripeSettings {
            api_base: url::Url::parse(&format!("{}/", self.front_url)).unwrap(),
            checkout_origin: url::Url::parse(&format!("{}/", self.front_url)).unwrap(),
            secret_key: SecretString::from(API_KEY.to_owned()),
            webhook_secrets: vec![SecretString::from("whsec_unused_in_this_test".to_owned())],
            timeout: Duration::from_secs(5),
            backoff: vec![Duration::from_millis(50), Duration::from_millis(100)],
        })
        .unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.localstripe))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.localstripe))
            .bearer_auth(API_KEY)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{path}: {v}");
        v
    }

    /// A card as Stripe's page takes it (the number goes to localstripe,
    /// never to cityteller).
    async fn card(&self, number: &str) -> Value {
        self.post(
            "/v1/payment_methods",
            &[
                ("type", "card"),
                ("card[number]", number),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2030"),
                ("card[cvc]", "123"),
            ],
        )
        .await
    }

    /// What Stripe's setup page leaves behind: a card saved on the customer.
    async fn saved_card(&self, customer: &str, number: &str) -> String {
        let pm = self.card(number).await;
        let id = pm["id"].as_str().unwrap().to_owned();
        self.post(
            &format!("/v1/payment_methods/{id}/attach"),
            &[("customer", customer)],
        )
        .await;
        id
    }

    async fn deliver_webhooks_to(&self, url: &str, secret: &str) {
        let r = self
            .http
            .post(format!("{}/_config/webhooks/cityteller", self.localstripe))
            .form(&[("url", url), ("secret", secret)])
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "registering the webhook: {}",
            r.status()
        );
    }
}

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    idempotency_key: Option<String>,
    body: String,
}

#[derive(Default)]
struct FrontState {
    origin: String,
    sessions: HashMap<String, Value>,
    /// Idempotency key -> session id, as Stripe remembers them.
    by_key: HashMap<String, String>,
    requests: Vec<Recorded>,
    lose_answers: u32,
    /// Refunds Stripe is to report failed, with the reason it gives.
    failed_refunds: HashMap<String, String>,
}

#[derive(Clone)]
struct Front {
    upstream: String,
    state: Arc<Mutex<FrontState>>,
    http: reqwest::Client,
}

impl Front {
    fn new(upstream: String) -> Front {
        Front {
            upstream,
            state: Arc::default(),
            http: reqwest::Client::new(),
        }
    }

    fn set_origin(&self, origin: &str) {
        self.state.lock().unwrap().origin = origin.to_owned();
    }

    /// From now on Stripe reports `refund` failed (as for a card whose
    /// account was closed after the refund was made).
    fn fail_refund(&self, refund: &str, reason: &str) {
        self.state
            .lock()
            .unwrap()
            .failed_refunds
            .insert(refund.to_owned(), reason.to_owned());
    }

    fn lose_next_answers(&self, n: u32) {
        self.state.lock().unwrap().lose_answers = n;
    }

    fn posts(&self) -> Vec<Recorded> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.method == "POST")
            .cloned()
            .collect()
    }

    fn sessions_posted(&self) -> Vec<Recorded> {
        self.posts()
            .into_iter()
            .filter(|r| r.path == "/v1/checkout/sessions")
            .collect()
    }

    fn status_of(&self, session: &str) -> String {
        self.state.lock().unwrap().sessions[session]["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A field of the request that created the session.
    fn field(&self, session: &str, name: &str) -> String {
        self.state.lock().unwrap().sessions[session]["_request"][name]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn session_count(&self) -> usize {
        self.state.lock().unwrap().sessions.len()
    }

    fn router(self) -> axum::Router {
        axum::Router::new()
            .route(
                "/v1/checkout/sessions",
                axum::routing::post(create_session).get(list_sessions),
            )
            .route(
                "/v1/checkout/sessions/{id}",
                axum::routing::get(get_session),
            )
            .route(
                "/v1/checkout/sessions/{id}/expire",
                axum::routing::post(expire_session),
            )
            .route("/v1/refunds/{id}", axum::routing::get(get_refund))
            .fallback(pass_through)
            .with_state(self)
    }

    /// The resident on Stripe's page: enters a card and pays. Returns the
    /// PaymentIntent when the card was accepted.
    async fn pay(&self, peer: &Peer, session: &str, number: &str) -> Option<String> {
        let (amount, metadata_payment) = {
            let st = self.state.lock().unwrap();
            let s = &st.sessions[session];
            if s["status"] != "open" {
                // Stripe's page for a closed session takes no card.
                return None;
            }
            (
                s["amount_total"].as_i64().unwrap().to_string(),
                s["_payment_intent_metadata"].as_str().unwrap().to_owned(),
            )
        };
        let pm = peer.card(number).await;
        let r = peer
            .http
            .post(format!("{}/v1/payment_intents", peer.localstripe))
            .bearer_auth(API_KEY)
            .form(&[
                ("amount", amount.as_str()),
                ("currency", "usd"),
                ("payment_method", pm["id"].as_str().unwrap()),
                ("confirm", "true"),
                ("metadata[cityteller_payment]", metadata_payment.as_str()),
            ])
            .send()
            .await
            .unwrap();
        if !r.status().is_success() {
            return None;
        }
        let pi: Value = r.json().await.unwrap();
        let id = pi["id"].as_str().unwrap().to_owned();
        let mut st = self.state.lock().unwrap();
        let s = st.sessions.get_mut(session).unwrap();
        s["payment_intent"] = Value::String(id.clone());
        s["status"] = "complete".into();
        s["payment_status"] = "paid".into();
        Some(id)
    }
}

impl Front {
    /// The resident on Stripe's page for saving a card (a setup-mode
    /// session): the card is saved on the session's customer through a
    /// SetupIntent confirmed at localstripe, and the session completes.
    async fn complete_setup(&self, peer: &Peer, session: &str, number: &str) -> String {
        let customer = {
            let st = self.state.lock().unwrap();
            let s = &st.sessions[session];
            assert_eq!(s["mode"], "setup");
            assert_eq!(s["status"], "open");
            s["customer"].as_str().unwrap().to_owned()
        };
        let pm = peer.saved_card(&customer, number).await;
        let si = peer
            .post("/v1/setup_intents", &[("customer", customer.as_str())])
            .await;
        let id = si["id"].as_str().unwrap().to_owned();
        let confirmed = peer
            .post(
                &format!("/v1/setup_intents/{id}/confirm"),
                &[("payment_method", pm.as_str())],
            )
            .await;
        assert_eq!(confirmed["status"], "succeeded");
        let mut st = self.state.lock().unwrap();
        let s = st.sessions.get_mut(session).unwrap();
        s["setup_intent"] = Value::String(id);
        s["status"] = "complete".into();
        pm
    }
}

fn record(front: &Front, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
    front.state.lock().unwrap().requests.push(Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        idempotency_key: headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(body).into_owned(),
    });
}

/// The public view of a stored session (without our bookkeeping fields).
fn public(s: &Value) -> Value {
    let mut v = s.clone();
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !k.starts_with('_'));
    }
    v
}

async fn create_session(
    State(front): State<Front>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&front, &method, &uri, &headers, &body);
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {API_KEY}"))
    {
        return (StatusCode::UNAUTHORIZED, "{}").into_response();
    }
    let fields: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut st = front.state.lock().unwrap();
    let existing = key.as_ref().and_then(|k| st.by_key.get(k)).cloned();
    let id = match existing {
        Some(id) => id,
        None => {
            let id = format!(
                "cs_test_{}",
                app::crypto::random_token(18).replace('-', "x")
            );
            let now = jiff::Timestamp::now().as_second();
            let mode = fields["mode"].clone();
            let session = json!({
                "id": id,
                "object": "checkout.session",
                "mode": mode,
                "status": "open",
                "payment_status": if mode == "setup" { "no_payment_required" } else { "unpaid" },
                "url": format!("{}/c/pay/{id}", st.origin),
                "amount_total": fields.get("line_items[0][price_data][unit_amount]").map(|a| a.parse::<i64>().unwrap()),
                "currency": fields.get("line_items[0][price_data][currency]").or(fields.get("currency")),
                "client_reference_id": fields.get("client_reference_id"),
                "customer": fields.get("customer"),
                "expires_at": fields.get("expires_at").map(|e| e.parse::<i64>().unwrap()).unwrap_or(now + 86_400),
                "created": now,
                "payment_intent": null,
                "setup_intent": null,
                "metadata": fields
                    .iter()
                    .filter_map(|(k, v)| {
                        let key = k.strip_prefix("metadata[")?.strip_suffix(']')?;
                        Some((key.to_owned(), Value::String(v.clone())))
                    })
                    .collect::<serde_json::Map<String, Value>>(),
                "_payment_intent_metadata": fields.get("payment_intent_data[metadata][cityteller_payment]"),
                "_request": fields,
            });
            st.sessions.insert(id.clone(), session);
            if let Some(k) = &key {
                st.by_key.insert(k.clone(), id.clone());
            }
            id
        }
    };
    if st.lose_answers > 0 {
        st.lose_answers -= 1;
        return (StatusCode::BAD_GATEWAY, "lost").into_response();
    }
    axum::Json(public(&st.sessions[&id])).into_response()
}

async fn get_session(State(front): State<Front>, Path(id): Path<String>) -> Response {
    let stored = front.state.lock().unwrap().sessions.get(&id).cloned();
    let Some(mut s) = stored else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such checkout session"}})),
        )
            .into_response();
    };
    // `expand[]=payment_intent.payment_method` and `…latest_charge`.
    if let Some(pi) = s["payment_intent"].as_str() {
        let expanded: Value = front
            .http
            .get(format!(
                "{}/v1/payment_intents/{pi}?expand[]=payment_method&expand[]=latest_charge",
                front.upstream
            ))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        s["payment_intent"] = expanded;
    }
    axum::Json(public(&s)).into_response()
}

async fn expire_session(
    State(front): State<Front>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    record(&front, &method, &uri, &headers, b"");
    let mut st = front.state.lock().unwrap();
    let Some(s) = st.sessions.get_mut(&id) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(
                json!({"error": {"type": "invalid_request_error", "code": "resource_missing"}}),
            ),
        )
            .into_response();
    };
    if s["status"] != "open" {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"type": "invalid_request_error", "message": "Only Checkout Sessions with a status in [\"open\"] can be expired."}})),
        )
            .into_response();
    }
    s["status"] = "expired".into();
    axum::Json(public(s)).into_response()
}

async fn list_sessions(
    State(front): State<Front>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = front.state.lock().unwrap();
    let data: Vec<Value> = st
        .sessions
        .values()
        .filter(|s| match q.get("payment_intent") {
            Some(pi) => s["payment_intent"].as_str() == Some(pi.as_str()),
            None => true,
        })
        .map(public)
        .collect();
    axum::Json(json!({"object": "list", "data": data, "has_more": false})).into_response()
}

/// A refund as localstripe has it, or failed where the test said so.
async fn get_refund(
    State(front): State<Front>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let resp = pass_through(State(front.clone()), method, uri, headers, Bytes::new()).await;
    let failed = front.state.lock().unwrap().failed_refunds.get(&id).cloned();
    let Some(reason) = failed else {
        return resp;
    };
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let mut refund: Value = serde_json::from_slice(&bytes).unwrap();
    refund["status"] = json!("failed");
    refund["failure_reason"] = json!(reason);
    axum::Json(refund).into_response()
}

async fn pass_through(
    State(front): State<Front>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&front, &method, &uri, &headers, &body);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut req = front
        .http
        .request(method, format!("{}{path}", front.upstream))
        .body(body.to_vec());
    for name in ["authorization", "content-type", "idempotency-key"] {
        if let Some(v) = headers.get(name) {
            req = req.header(name, v.clone());
        }
    }
    let resp = req.send().await.unwrap();
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let bytes = resp.bytes().await.unwrap();
    (status, [("content-type", "application/json")], bytes).into_response()
}

/// Guest payment, saving a card on Stripe's page, an autopay charge made
/// off-session, and a refund of it: every step through the Stripe adapter
/// against localstripe (Stripe's hosted pages simulated as Stripe
/// completes them).
async fn the_whole_resident_journey_on_stripe(b: Backend) {
    let Some(peer) = Peer::start().await else {
        return;
    };
    let scratch =
        crate::harness::artifacts_root().join(format!("smtp-{}", app::crypto::random_token(6)));
    std::fs::create_dir_all(&scratch).unwrap();
    let Some(smtp) = crate::mail::start_smtp(&scratch).await else {
        return;
    };
    let t = spawn_with(
        b,
        Options {
            smtp_url: Some(format!("smtp://127.0.0.1:{}", smtp.port)),
            jobs_in_process: true,
            ..stripe_options(&peer)
        },
    )
    .await;
    peer.deliver_webhooks_to(
        &format!("{}/webhooks/stripe", t.public),
        &t.webhook_secret(),
    )
    .await;

    // A guest pays UT-1 on Stripe's page.
    let (guest, session) = pay(&t, &peer).await;
    peer.front
        .pay(&peer, &session, "4242424242424242")
        .await
        .unwrap();
    assert_eq!(t.settled(&guest).await.status, PaymentStatus::Succeeded);

    // Sam makes an account, links 2048-7781 (UT-3 due in 20 days is the
    // latest bill) and saves a card on Stripe's setup page.
    let due = crate::accounts::plus(app::services::close::today(&t.app), 20);
    t.import(&format!(
        "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
2048-7781,94112,Sam Chen,\"77 Harbor View Rd, Unit 3\",2026-10-01/2026-10-31,58.95,{due},UT-3
"
    ))
    .await
    .unwrap();
    let mut r = t.resident();
    // The guest's receipt first.
    smtp.wait_for(1).await;
    crate::accounts::sign_up_and_in(&mut r, &smtp, "sam@example.com", 1).await;
    r.get("/account/link/utilities").await;
    let linked = r
        .post(
            "/account/link/utilities",
            &[
                ("account_number", "2048-7781"),
                ("zip", "94112"),
                ("last_bill", "58.95"),
            ],
        )
        .await;
    assert_eq!(linked.status, 303, "{}", linked.body);
    r.get("/account").await;
    let to = r.post("/account/cards/add", &[]).await;
    let setup_url = to.location.expect("sent to Stripe's page");
    assert!(
        setup_url.starts_with(&format!("{}/c/pay/cs_", peer.front_url)),
        "{setup_url}"
    );
    let session = setup_url.rsplit('/').next().unwrap().to_owned();
    let posted = peer.front.sessions_posted();
    let last = posted.last().unwrap();
    let fields: HashMap<String, String> = serde_urlencoded::from_str(&last.body).unwrap();
    assert_eq!(fields["mode"], "setup");
    assert!(fields["customer"].starts_with("cus_"));
    assert!(fields["success_url"].contains("/account/wallet/return?s="));
    assert!(
        !last.body.contains("sam%40example.com"),
        "no e-mail to Stripe"
    );
    let pm = peer
        .front
        .complete_setup(&peer, &session, "4242424242424242")
        .await;
    let back = r.get(&fields["success_url"]).await;
    assert_eq!(back.location.as_deref(), Some("/account?notice=card-saved"));
    let home = r.get("/account?notice=card-saved").await;
    assert!(home.main().contains("Visa ending 4242"), "{}", home.main());
    let card: i64 = t.count("SELECT MAX(id) FROM wallet_methods").await;
    let link = home
        .main()
        .split("/account/links/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_owned();

    // Autopay charges UT-3 off-session with the saved card.
    let on = r
        .post(
            &format!("/account/links/{link}/autopay"),
            &[("card", &card.to_string()), ("days", "5"), ("max", "")],
        )
        .await;
    assert_eq!(on.location.as_deref(), Some("/account?notice=autopay-on"));
    assert_eq!(
        app::services::wallet::plan_autopay(&t.app).await.unwrap(),
        1
    );
    let planned = t.count("SELECT MAX(id) FROM planned_charges").await;
    // The job, on its day.
    assert_eq!(
        app::services::wallet::run_planned(&t.app, planned)
            .await
            .unwrap(),
        app::services::wallet::Ran::Done
    );
    let autopay: String = {
        use sqlx::Row;
        sqlx::query("SELECT payment_id FROM planned_charges WHERE id = $1")
            .bind(planned)
            .fetch_one(t.db().reader())
            .await
            .unwrap()
            .try_get("payment_id")
            .unwrap()
    };
    let paid = t.payment(&autopay).await;
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    let pi = paid.processor_ref.clone().unwrap();
    assert!(pi.starts_with("pi_"), "{pi}");
    let at_stripe = peer.get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(at_stripe["status"], "succeeded");
    assert_eq!(at_stripe["payment_method"], pm.as_str());
    assert_eq!(
        at_stripe["metadata"]["cityteller_payment"],
        autopay.as_str()
    );
    let charge_post = peer
        .front
        .posts()
        .into_iter()
        .find(|p| p.path == "/v1/payment_intents")
        .unwrap();
    assert_eq!(
        charge_post.idempotency_key.as_deref(),
        Some(format!("charge-{autopay}").as_str())
    );
    // Run again (a crash and a restart): nothing more at Stripe.
    app::services::wallet::run_planned(&t.app, planned)
        .await
        .unwrap();
    let intents = peer
        .front
        .posts()
        .into_iter()
        .filter(|p| p.path == "/v1/payment_intents")
        .count();
    assert_eq!(intents, 1);

    // Staff refund part of it: Stripe refunds the PaymentIntent.
    let mut sup = t.staff(Role::Supervisor).await;
    let done = sup
        .post(
            &format!("/payments/{autopay}/refund"),
            &[("amount", "10.00"), ("reason", "Meter misread")],
        )
        .await;
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/payments/{autopay}?done=refund").as_str()),
        "{}",
        done.body
    );
    let refunds = peer.get(&format!("/v1/refunds?payment_intent={pi}")).await;
    assert_eq!(refunds["data"].as_array().unwrap().len(), 1);
    assert_eq!(refunds["data"][0]["amount"], 1000);
    assert_eq!(
        t.payment(&autopay).await.status,
        PaymentStatus::PartiallyRefunded
    );

    // Removing the card removes it at Stripe.
    r.get("/account").await;
    let gone = r.post(&format!("/account/cards/{card}/remove"), &[]).await;
    assert_eq!(
        gone.location.as_deref(),
        Some("/account?notice=card-removed")
    );
    let detached = peer.get(&format!("/v1/payment_methods/{pm}")).await;
    assert_eq!(detached["customer"], Value::Null);
    t.stop().await;
}
