//! The Stripe adapter without a network: the exact Checkout Session request,
//! the parsing of Stripe's documented objects (fixtures shaped after the
//! examples in Stripe's API reference, since localstripe has no Checkout
//! Sessions), state mapping, webhook signatures and the key checks.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use domain::Cents;
use jiff::Timestamp;
use secrecy::SecretString;
use url::Url;

use super::wire::{self, Expandable, Session};
use super::*;
use crate::app::{StartError, check_stripe_key};
use crate::config::Mode;

const SESSION: &str = include_str!("fixtures/checkout_session.json");
const PAID: &str = include_str!("fixtures/checkout_session_paid.json");
const EVENT: &str = include_str!("fixtures/event_session_completed.json");
const SECRET: &str = "whsec_test_secret_for_the_unit_tests";

fn processor() -> StripeProcessor {
    StripeProcessor::new(StripeSettings {
        api_base: Url::parse("https://api.stripe.com/").unwrap(),
        checkout_origin: Url::parse("https://checkout.stripe.com/").unwrap(),
        secret_key: SecretString::from("sk_test_unit".to_owned()),
        webhook_secrets: vec![SecretString::from(SECRET.to_owned())],
        timeout: Duration::from_secs(1),
        backoff: vec![],
    })
    .unwrap()
}

fn request(payment_id: &str, cents: i64) -> CheckoutRequest {
    CheckoutRequest {
        payment_id: payment_id.into(),
        idempotency_key: format!("checkout-{payment_id}"),
        total: Cents::new(cents),
        description: "City of Springfield utility bill".into(),
        return_url: Url::parse("https://pay.springfield.example/pay/return/pay_01").unwrap(),
        cancel_url: Url::parse("https://pay.springfield.example/pay/cancel/pay_01").unwrap(),
        expires_at: Timestamp::from_second(1_764_303_600).unwrap(),
    }
}

#[test]
fn the_checkout_request_is_exactly_this_form() {
    let now = Timestamp::from_second(1_764_300_000).unwrap();
    let form = StripeProcessor::checkout_form(&request("pay_01", 4510), now).unwrap();
    assert_eq!(
        form.encode(),
        "mode=payment\
         &client_reference_id=pay_01\
         &line_items%5B0%5D%5Bquantity%5D=1\
         &line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd\
         &line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=4510\
         &line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=City+of+Springfield+utility+bill\
         &success_url=https%3A%2F%2Fpay.springfield.example%2Fpay%2Freturn%2Fpay_01\
         &cancel_url=https%3A%2F%2Fpay.springfield.example%2Fpay%2Fcancel%2Fpay_01\
         &expires_at=1764303600\
         &metadata%5Bcityteller_payment%5D=pay_01\
         &payment_intent_data%5Bdescription%5D=City+of+Springfield+utility+bill\
         &payment_intent_data%5Bmetadata%5D%5Bcityteller_payment%5D=pay_01"
    );
}

#[test]
fn a_session_expiring_too_soon_for_stripe_is_given_its_minimum() {
    // Stripe refuses sessions that expire within 30 minutes.
    let now = Timestamp::from_second(1_764_303_000).unwrap();
    let form = StripeProcessor::checkout_form(&request("pay_01", 4510), now).unwrap();
    let expires = form
        .pairs()
        .iter()
        .find(|(k, _)| k == "expires_at")
        .map(|(_, v)| v.parse::<i64>().unwrap())
        .unwrap();
    assert_eq!(expires, 1_764_303_000 + 31 * 60);
}

#[test]
fn nothing_or_a_negative_amount_is_never_sent() {
    let now = Timestamp::from_second(1_764_300_000).unwrap();
    assert!(StripeProcessor::checkout_form(&request("pay_01", 0), now).is_err());
    assert!(StripeProcessor::checkout_form(&request("pay_01", -5), now).is_err());
    assert!(wire::from_minor_units(100, "eur").is_err());
    assert_eq!(wire::from_minor_units(100, "USD"), Ok(Cents::new(100)));
}

#[test]
fn the_reference_session_object_parses() {
    let s: Session = serde_json::from_str(SESSION).unwrap();
    assert_eq!(s.object, "checkout.session");
    assert_eq!(s.mode, "payment");
    assert_eq!(s.status.as_deref(), Some("open"));
    assert_eq!(s.payment_status, "unpaid");
    assert_eq!(s.amount_total, Some(2198));
    assert_eq!(s.payment_intent, None);
    assert_eq!(session_status(&s).unwrap(), CheckoutStatus::Open);
}

#[test]
fn a_created_session_is_checked_against_the_request() {
    let p = processor();
    let mut v: serde_json::Value = serde_json::from_str(SESSION).unwrap();
    // As it comes back for our request.
    v["client_reference_id"] = "pay_01".into();
    let s: Session = serde_json::from_value(v.clone()).unwrap();
    let c = p.accept_session(&request("pay_01", 2198), &s).unwrap();
    assert_eq!(c.processor_ref, s.id);
    assert_eq!(c.redirect_url.host_str(), Some("checkout.stripe.com"));
    assert_eq!(c.expires_at.as_second(), 1_679_686_615);

    // Another payment's session, another amount, another origin: refused.
    assert!(p.accept_session(&request("pay_02", 2198), &s).is_err());
    assert!(p.accept_session(&request("pay_01", 2199), &s).is_err());
    let mut evil = v.clone();
    evil["url"] = "https://checkout.stripe.com.evil.example/c/pay/x".into();
    let s: Session = serde_json::from_value(evil).unwrap();
    assert!(p.accept_session(&request("pay_01", 2198), &s).is_err());
    let mut eur = v;
    eur["currency"] = "eur".into();
    let s: Session = serde_json::from_value(eur).unwrap();
    assert!(p.accept_session(&request("pay_01", 2198), &s).is_err());
}

#[test]
fn a_paid_session_reads_as_captured_with_brand_and_last_four() {
    let s: Session = serde_json::from_str(PAID).unwrap();
    match session_status(&s).unwrap() {
        CheckoutStatus::Succeeded(c) => {
            assert_eq!(c.amount, Cents::new(4510));
            assert_eq!(c.card_brand, "visa");
            assert_eq!(c.card_last4, "4242");
            assert_eq!(c.captured_at.as_second(), 1_764_300_101);
        }
        other => panic!("expected success, got {other:?}"),
    }
    assert!(matches!(s.payment_intent, Some(Expandable::Object(_))));
}

#[test]
fn inconsistent_sessions_are_refused_not_guessed() {
    let base: serde_json::Value = serde_json::from_str(PAID).unwrap();
    let variants: [(&str, serde_json::Value); 4] = [
        ("payment_intent", serde_json::Value::Null),
        ("payment_intent", "pi_3MtwBwLkdIwHu7ix28a3tqPa".into()),
        ("status", "bewildered".into()),
        ("payment_status", "paid-ish".into()),
    ];
    for (field, value) in variants {
        let mut v = base.clone();
        v[field] = value;
        let s: Session = serde_json::from_value(v).unwrap();
        assert!(session_status(&s).is_err(), "{field}");
    }
    let mut v = base.clone();
    v["payment_intent"]["status"] = "processing".into();
    let s: Session = serde_json::from_value(v).unwrap();
    assert!(session_status(&s).is_err(), "paid but processing");
    let mut v = base.clone();
    v["payment_intent"]["payment_method"]["card"]["last4"] = "42x2".into();
    let s: Session = serde_json::from_value(v).unwrap();
    assert!(session_status(&s).is_err(), "bad last4");
    let mut v = base;
    v["status"] = "expired".into();
    v["payment_status"] = "unpaid".into();
    let s: Session = serde_json::from_value(v).unwrap();
    assert_eq!(session_status(&s).unwrap(), CheckoutStatus::Expired);
}

#[test]
fn payment_intent_states_map_to_ours() {
    let paid: serde_json::Value = serde_json::from_str(PAID).unwrap();
    let pi = paid["payment_intent"].clone();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = pi.clone();
        f(&mut v);
        intent_status(&serde_json::from_value(v).unwrap())
    };
    assert!(matches!(with(&|_| {}), Ok(CheckoutStatus::Succeeded(_))));
    for open in ["requires_action", "processing", "requires_confirmation"] {
        assert_eq!(
            with(&|v| v["status"] = open.into()).unwrap(),
            CheckoutStatus::Open
        );
    }
    assert_eq!(
        with(&|v| v["status"] = "canceled".into()).unwrap(),
        CheckoutStatus::Expired
    );
    let declined = with(&|v| {
        v["status"] = "requires_payment_method".into();
        v["last_payment_error"] = serde_json::json!({
            "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds."
        });
    });
    assert_eq!(
        declined.unwrap(),
        CheckoutStatus::Failed(DeclineReason::InsufficientFunds)
    );
    assert!(with(&|v| v["status"] = "unheard_of".into()).is_err());
}

#[test]
fn decline_codes_never_tell_a_resident_about_fraud() {
    assert_eq!(decline_reason("fraudulent"), DeclineReason::Declined);
    assert_eq!(decline_reason("stolen_card"), DeclineReason::Declined);
    assert_eq!(decline_reason("expired_card"), DeclineReason::ExpiredCard);
    assert_eq!(decline_reason("incorrect_cvc"), DeclineReason::IncorrectCvc);
    assert_eq!(decline_reason(""), DeclineReason::Declined);
}

fn signed(body: &str, secret: &str, at: i64) -> HeaderMap {
    let mut h = HeaderMap::new();
    let sig = signature::sign(&[secret.as_bytes()], at, body.as_bytes());
    h.insert(SIGNATURE_HEADER, HeaderValue::from_str(&sig).unwrap());
    h
}

#[test]
fn a_signed_event_names_the_session_to_re_read() {
    let p = processor();
    let now = Timestamp::from_second(1_764_300_110).unwrap();
    let e = p
        .verify_webhook(&signed(EVENT, SECRET, 1_764_300_102), EVENT.as_bytes(), now)
        .unwrap();
    assert_eq!(e.event_type, "checkout.session.completed");
    assert_eq!(
        e.kind,
        WebhookKind::Changed(PaymentLookup::ProcessorRef(
            "cs_test_b1Kc0u7Y9qWm2Xo4PaidSessionForTests0001".into()
        ))
    );
    // The event's own claims (paid, amount) are not what we act on.
    assert!(!matches!(e.kind, WebhookKind::Checkout { .. }));
}

#[test]
fn a_refund_event_names_the_refund_to_re_read() {
    let p = processor();
    let now = Timestamp::from_second(1_764_300_110).unwrap();
    for kind in ["charge.refund.updated", "refund.updated", "refund.failed"] {
        let body = format!(
            r#"{{"id":"evt_1RefundEventForTests","object":"event","type":"{kind}","created":1764300100,
               "data":{{"object":{{"id":"re_1RefundForTests","object":"refund","status":"failed"}}}}}}"#
        );
        let e = p
            .verify_webhook(&signed(&body, SECRET, 1_764_300_102), body.as_bytes(), now)
            .unwrap();
        assert_eq!(
            e.kind,
            WebhookKind::RefundChanged("re_1RefundForTests".into()),
            "{kind}"
        );
    }
    // A refund event about something that is not a refund is not acted on.
    let body = r#"{"id":"evt_1RefundEventForTests","object":"event","type":"refund.updated","created":1764300100,
                   "data":{"object":{"id":"ch_1","object":"charge"}}}"#;
    let e = p
        .verify_webhook(&signed(body, SECRET, 1_764_300_102), body.as_bytes(), now)
        .unwrap();
    assert_eq!(e.kind, WebhookKind::Ignored);
}

#[test]
fn forged_stale_and_unknown_events() {
    let p = processor();
    let now = Timestamp::from_second(1_764_300_110).unwrap();
    assert_eq!(
        p.verify_webhook(
            &signed(EVENT, "whsec_someone_else", 1_764_300_102),
            EVENT.as_bytes(),
            now
        ),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        p.verify_webhook(&signed(EVENT, SECRET, 1_764_299_000), EVENT.as_bytes(), now),
        Err(WebhookError::StaleTimestamp)
    );
    assert_eq!(
        p.verify_webhook(&HeaderMap::new(), EVENT.as_bytes(), now),
        Err(WebhookError::MissingSignature)
    );
    // A sandbox-style header is not Stripe's.
    let mut h = HeaderMap::new();
    h.insert(
        "sandbox-signature",
        HeaderValue::from_str(&signature::sign(
            &[SECRET.as_bytes()],
            1_764_300_102,
            EVENT.as_bytes(),
        ))
        .unwrap(),
    );
    assert_eq!(
        p.verify_webhook(&h, EVENT.as_bytes(), now),
        Err(WebhookError::MissingSignature)
    );
    for kind in [
        "charge.refunded",
        "customer.created",
        "payout.paid",
        "checkout.session.unknown",
    ] {
        let body = EVENT.replace("checkout.session.completed", kind);
        let e = p
            .verify_webhook(&signed(&body, SECRET, 1_764_300_102), body.as_bytes(), now)
            .unwrap();
        assert_eq!(e.kind, WebhookKind::Ignored, "{kind}");
    }
    let body = EVENT.replace("evt_1NG8Du2eZvKYlo2CUI79vXWy", "not-an-event");
    assert!(matches!(
        p.verify_webhook(&signed(&body, SECRET, 1_764_300_102), body.as_bytes(), now),
        Err(WebhookError::BadPayload(_))
    ));
}

#[test]
fn keys_must_match_the_mode() {
    let ok = |k: &str, m: Mode, allow: bool| check_stripe_key(k, m, allow).is_ok();
    assert!(ok("sk_test_abc", Mode::Development, false));
    assert!(ok("rk_test_abc", Mode::Development, false));
    assert!(ok("sk_live_abc", Mode::Production, false));
    assert!(!ok("sk_live_abc", Mode::Development, true));
    assert!(!ok("sk_test_abc", Mode::Production, false));
    assert!(ok("sk_test_abc", Mode::Production, true));
    assert!(!ok("pk_live_abc", Mode::Production, false));
    assert!(!ok("hunter2", Mode::Development, false));
    // The refusal never repeats the key.
    match check_stripe_key("sk_live_secretvalue", Mode::Development, false) {
        Err(StartError::ProcessorKey(m)) => assert!(!m.contains("secretvalue")),
        _ => panic!("refused"),
    }
}
