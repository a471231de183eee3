//! The Stripe adapter.
//!
//! - One-time payments go through a Checkout Session in `payment` mode:
//!   the resident is redirected to Stripe's page (card, Apple Pay, Google
//!   Pay), and comes back to URLs that carry no outcome. Our processor ref
//!   is the session id (`cs_…`); the outcome is read from Stripe.
//! - Saved methods and off-session charges (the wallet and autopay): a
//!   Customer per resident, a Checkout Session in `setup` mode, and
//!   PaymentIntents confirmed off-session; their processor ref is the
//!   PaymentIntent id (`pi_…`).
//! - Webhooks are verified (`Stripe-Signature`) and never trusted for
//!   state: an event only says which payment to look at, and the state is
//!   re-read from Stripe, so duplicates, late and reordered events all end
//!   in the same answer.
//! - Every POST carries an idempotency key derived from our own id.

pub mod client;
pub mod wire;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::HeaderMap;
use jiff::Timestamp;
use secrecy::SecretString;
use url::Url;

use self::client::Client;
use self::wire::{
    BalanceTransaction, Customer, Expandable, Form, List, PaymentIntent, Refund, Session, Source,
};
use crate::processor::{
    Captured, ChargeOutcome, ChargeRequest, Checkout, CheckoutRequest, CheckoutStatus,
    DeclineReason, PaymentLookup, Payout, Processor, ProcessorError, ProcessorTransaction,
    RefundOutcome, RefundRequest, RefundStatus, SavedMethod, Setup, SetupRequest, SetupStatus,
    TransactionKind, WebhookError, WebhookEvent, WebhookKind, origin_of, signature,
};

pub const SIGNATURE_HEADER: &str = "stripe-signature";
/// The metadata key naming our payment on Stripe's objects.
pub const PAYMENT_KEY: &str = "cityteller_payment";
pub const REFUND_KEY: &str = "cityteller_refund";
/// Stripe refuses a Checkout Session that expires sooner than this.
const MIN_SESSION_LIFETIME: i64 = 31 * 60;
/// Balance transactions and payouts per page (Stripe's maximum).
const PAGE: &str = "100";

#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `https://api.stripe.com/` in production; a local server in tests.
    pub api_base: Url,
    /// Where Stripe's hosted pages live (`https://checkout.stripe.com`):
    /// a session URL on any other origin is refused.
    pub checkout_origin: Url,
    pub secret_key: SecretString,
    pub webhook_secrets: Vec<SecretString>,
    pub timeout: Duration,
    pub backoff: Vec<Duration>,
}

pub struct StripeProcessor {
    client: Client,
    checkout_origin: String,
    webhook_secrets: Vec<SecretString>,
}

/// The result of an off-session charge of a saved method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffSessionOutcome {
    Succeeded {
        payment_intent: String,
        captured: Captured,
    },
    /// The bank wants the card holder present (3-D Secure): the resident
    /// is sent a link to finish on Stripe's page.
    RequiresAction { payment_intent: String },
    Declined {
        payment_intent: Option<String>,
        reason: DeclineReason,
    },
}

/// A hosted page where a resident saves a card for later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupSession {
    pub id: String,
    pub redirect_url: Url,
}

impl StripeProcessor {
    pub fn new(settings: StripeSettings) -> Result<Self, ProcessorError> {
        let client = Client::new(
            settings.api_base,
            settings.secret_key,
            settings.timeout,
            settings.backoff,
        )?;
        Ok(StripeProcessor {
            client,
            checkout_origin: origin_of(&settings.checkout_origin),
            webhook_secrets: settings.webhook_secrets,
        })
    }

    /// The Checkout Session request for a one-time payment, in the order
    /// it is sent.
    pub fn checkout_form(req: &CheckoutRequest, now: Timestamp) -> Result<Form, ProcessorError> {
        let amount = wire::minor_units(req.total).map_err(ProcessorError::InvalidResponse)?;
        let expires_at = req
            .expires_at
            .as_second()
            .max(now.as_second() + MIN_SESSION_LIFETIME);
        Ok(Form::new()
            .field("mode", "payment")
            .field("client_reference_id", &req.payment_id)
            .field("line_items[0][quantity]", "1")
            .field("line_items[0][price_data][currency]", wire::CURRENCY)
            .field("line_items[0][price_data][unit_amount]", amount.to_string())
            .field(
                "line_items[0][price_data][product_data][name]",
                &req.description,
            )
            .field("success_url", req.return_url.as_str())
            .field("cancel_url", req.cancel_url.as_str())
            .field("expires_at", expires_at.to_string())
            .field(&format!("metadata[{PAYMENT_KEY}]"), &req.payment_id)
            .field("payment_intent_data[description]", &req.description)
            .field(
                &format!("payment_intent_data[metadata][{PAYMENT_KEY}]"),
                &req.payment_id,
            ))
    }

    /// Checks a freshly created session against what we asked for.
    pub fn accept_session(
        &self,
        req: &CheckoutRequest,
        s: &Session,
    ) -> Result<Checkout, ProcessorError> {
        let invalid = |m: &str| Err(ProcessorError::InvalidResponse(m.into()));
        if s.object != "checkout.session" || s.mode != "payment" {
            return invalid("not a payment Checkout Session");
        }
        if s.client_reference_id.as_deref() != Some(req.payment_id.as_str()) {
            return invalid("the session names another payment");
        }
        let total = match (s.amount_total, s.currency.as_deref()) {
            (Some(a), Some(c)) => {
                wire::from_minor_units(a, c).map_err(ProcessorError::InvalidResponse)?
            }
            _ => return invalid("the session has no amount"),
        };
        if total != req.total {
            return invalid("the session's amount differs from the payment's");
        }
        let Some(url) = s.url.as_deref() else {
            return invalid("the session has no URL");
        };
        let redirect_url =
            Url::parse(url).map_err(|e| ProcessorError::InvalidResponse(e.to_string()))?;
        // Only ever send a resident to Stripe's own page.
        if origin_of(&redirect_url) != self.checkout_origin {
            return invalid("the session URL is not on Stripe's checkout origin");
        }
        let expires_at = Timestamp::from_second(s.expires_at)
            .map_err(|e| ProcessorError::InvalidResponse(e.to_string()))?;
        Ok(Checkout {
            processor_ref: s.id.clone(),
            redirect_url,
            expires_at,
        })
    }

    async fn session(&self, id: &str) -> Result<Session, ProcessorError> {
        check_id(id, "cs_")?;
        self.client
            .get(
                &format!("v1/checkout/sessions/{id}"),
                &[
                    ("expand[]", "payment_intent.payment_method".into()),
                    ("expand[]", "payment_intent.latest_charge".into()),
                ],
            )
            .await
    }

    async fn payment_intent(&self, id: &str) -> Result<PaymentIntent, ProcessorError> {
        check_id(id, "pi_")?;
        self.client
            .get(
                &format!("v1/payment_intents/{id}"),
                &[
                    ("expand[]", "payment_method".into()),
                    ("expand[]", "latest_charge".into()),
                ],
            )
            .await
    }

    /// A Customer for a resident; `our_ref` is the resident's id (never a
    /// name or an e-mail address: Stripe needs none to charge a card).
    pub async fn create_customer(&self, our_ref: &str) -> Result<String, ProcessorError> {
        let form = Form::new().field("metadata[cityteller_resident]", our_ref);
        let c: Customer = self
            .client
            .post("v1/customers", &form, &format!("customer-{our_ref}"))
            .await?;
        Ok(c.id)
    }

    /// Stripe's hosted page for saving a card (Checkout in `setup` mode).
    pub fn setup_form(customer: &str, return_url: &Url, cancel_url: &Url) -> Form {
        Form::new()
            .field("mode", "setup")
            .field("currency", wire::CURRENCY)
            .field("customer", customer)
            .field("payment_method_types[0]", "card")
            .field("success_url", return_url.as_str())
            .field("cancel_url", cancel_url.as_str())
    }

    pub async fn create_setup_session(
        &self,
        customer: &str,
        return_url: &Url,
        cancel_url: &Url,
        idempotency_key: &str,
    ) -> Result<SetupSession, ProcessorError> {
        check_id(customer, "cus_")?;
        let s: Session = self
            .client
            .post(
                "v1/checkout/sessions",
                &Self::setup_form(customer, return_url, cancel_url),
                idempotency_key,
            )
            .await?;
        if s.mode != "setup" || s.customer.as_deref() != Some(customer) {
            return Err(ProcessorError::InvalidResponse(
                "not a setup session for this customer".into(),
            ));
        }
        let url = s
            .url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .filter(|u| origin_of(u) == self.checkout_origin)
            .ok_or_else(|| ProcessorError::InvalidResponse("bad setup session URL".into()))?;
        Ok(SetupSession {
            id: s.id,
            redirect_url: url,
        })
    }

    /// The card saved on a method: brand and last four digits, all we keep.
    pub async fn card_of(&self, payment_method: &str) -> Result<(String, String), ProcessorError> {
        check_id(payment_method, "pm_")?;
        let pm: wire::PaymentMethod = self
            .client
            .get(&format!("v1/payment_methods/{payment_method}"), &[])
            .await?;
        let card = pm
            .card
            .ok_or_else(|| ProcessorError::InvalidResponse("not a card".into()))?;
        check_last4(&card.last4).map_err(ProcessorError::InvalidResponse)?;
        Ok((card.brand, card.last4))
    }

    /// Removes a saved method at Stripe (the wallet's "remove").
    pub async fn detach(&self, payment_method: &str) -> Result<(), ProcessorError> {
        check_id(payment_method, "pm_")?;
        let _: wire::PaymentMethod = self
            .client
            .post(
                &format!("v1/payment_methods/{payment_method}/detach"),
                &Form::new(),
                &format!("detach-{payment_method}"),
            )
            .await?;
        Ok(())
    }

    /// Charges a saved method without the resident present (autopay,
    /// scheduled payments). `idempotency_key` is derived from the bill, so
    /// a job run twice charges once.
    pub async fn charge_off_session(
        &self,
        customer: &str,
        payment_method: &str,
        amount: domain::Cents,
        payment_id: &str,
        idempotency_key: &str,
    ) -> Result<OffSessionOutcome, ProcessorError> {
        check_id(customer, "cus_")?;
        check_id(payment_method, "pm_")?;
        let minor = wire::minor_units(amount).map_err(ProcessorError::InvalidResponse)?;
        let form = Form::new()
            .field("amount", minor.to_string())
            .field("currency", wire::CURRENCY)
            .field("customer", customer)
            .field("payment_method", payment_method)
            .field("off_session", "true")
            .field("confirm", "true")
            .field(&format!("metadata[{PAYMENT_KEY}]"), payment_id);
        let created: Result<PaymentIntent, ProcessorError> = self
            .client
            .post("v1/payment_intents", &form, idempotency_key)
            .await;
        let pi = match created {
            Ok(pi) => pi,
            // Stripe answers a decline of an off-session confirm with a 402
            // card error; any other refusal is ours to fix, not a decline.
            Err(ProcessorError::Rejected { code, .. }) if is_decline(&code) => {
                return Ok(OffSessionOutcome::Declined {
                    payment_intent: None,
                    reason: decline_reason(&code),
                });
            }
            Err(e) => return Err(e),
        };
        if pi.metadata.get(PAYMENT_KEY).map(String::as_str) != Some(payment_id) {
            return Err(ProcessorError::InvalidResponse(
                "the PaymentIntent names another payment".into(),
            ));
        }
        // Read it back with the method and charge expanded.
        let pi = self.payment_intent(&pi.id).await?;
        match intent_status(&pi)? {
            CheckoutStatus::Succeeded(captured) => Ok(OffSessionOutcome::Succeeded {
                payment_intent: pi.id,
                captured,
            }),
            CheckoutStatus::Failed(reason) => Ok(OffSessionOutcome::Declined {
                payment_intent: Some(pi.id),
                reason,
            }),
            CheckoutStatus::Open if pi.status == "requires_action" => {
                Ok(OffSessionOutcome::RequiresAction {
                    payment_intent: pi.id,
                })
            }
            CheckoutStatus::Open | CheckoutStatus::Expired => Err(ProcessorError::InvalidResponse(
                format!("off-session charge left {}", pi.status),
            )),
        }
    }

    /// Which Checkout Session a PaymentIntent was paid through; `None` for
    /// an off-session PaymentIntent.
    async fn session_of(&self, payment_intent: &str) -> Result<Option<String>, ProcessorError> {
        check_id(payment_intent, "pi_")?;
        let list: List<Session> = self
            .client
            .get(
                "v1/checkout/sessions",
                &[("payment_intent", payment_intent.to_owned())],
            )
            .await?;
        Ok(list.data.into_iter().next().map(|s| s.id))
    }
}

fn ts(secs: i64) -> Result<Timestamp, ProcessorError> {
    Timestamp::from_second(secs).map_err(|e| ProcessorError::InvalidResponse(e.to_string()))
}

/// Ids go into URL paths: only Stripe's own shape is accepted.
fn check_id(id: &str, prefix: &str) -> Result<(), ProcessorError> {
    let ok = id.starts_with(prefix)
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ProcessorError::NotFound)
    }
}

fn check_last4(last4: &str) -> Result<(), String> {
    if last4.len() == 4 && last4.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("card last4 is not four digits".into())
    }
}

/// Stripe's codes for a card the bank or Stripe refused (as opposed to a
/// request we got wrong).
pub fn is_decline(code: &str) -> bool {
    matches!(
        code,
        "card_declined"
            | "insufficient_funds"
            | "expired_card"
            | "incorrect_cvc"
            | "invalid_cvc"
            | "processing_error"
            | "authentication_required"
            | "generic_decline"
            | "do_not_honor"
            | "fraudulent"
            | "lost_card"
            | "stolen_card"
            | "card_not_supported"
            | "card_velocity_exceeded"
            | "incorrect_number"
            | "invalid_expiry_month"
            | "invalid_expiry_year"
            | "pickup_card"
            | "restricted_card"
            | "transaction_not_allowed"
            | "try_again_later"
            | "withdrawal_count_limit_exceeded"
    )
}

/// Stripe's decline and error codes, as residents are told.
pub fn decline_reason(code: &str) -> DeclineReason {
    match code {
        "insufficient_funds" => DeclineReason::InsufficientFunds,
        "expired_card" => DeclineReason::ExpiredCard,
        "incorrect_cvc" | "invalid_cvc" => DeclineReason::IncorrectCvc,
        "processing_error" => DeclineReason::ProcessingError,
        // `card_declined`, `generic_decline`, `do_not_honor`, `fraudulent`,
        // `lost_card`, `stolen_card`, `authentication_required`, … all read
        // "declined": a resident is never told the bank suspects fraud.
        _ => DeclineReason::Declined,
    }
}

/// A PaymentIntent's state in our terms.
fn intent_status(pi: &PaymentIntent) -> Result<CheckoutStatus, ProcessorError> {
    let invalid = |m: String| Err(ProcessorError::InvalidResponse(m));
    match pi.status.as_str() {
        "succeeded" => {
            let amount = wire::from_minor_units(pi.amount, &pi.currency)
                .map_err(ProcessorError::InvalidResponse)?;
            if amount.get() <= 0 {
                return invalid("a succeeded payment of nothing".into());
            }
            let Some(card) = pi
                .payment_method
                .as_ref()
                .and_then(Expandable::object)
                .and_then(|pm| pm.card.as_ref())
            else {
                return invalid("a succeeded payment without its card".into());
            };
            check_last4(&card.last4).map_err(ProcessorError::InvalidResponse)?;
            let captured_at = match pi.latest_charge.as_ref().and_then(Expandable::object) {
                Some(charge) => ts(charge.created)?,
                None => return invalid("a succeeded payment without its charge".into()),
            };
            Ok(CheckoutStatus::Succeeded(Captured {
                amount,
                card_brand: card.brand.clone(),
                card_last4: card.last4.clone(),
                captured_at,
            }))
        }
        "canceled" => Ok(CheckoutStatus::Expired),
        // A failed attempt leaves the intent waiting for another method.
        "requires_payment_method" => match &pi.last_payment_error {
            Some(err) => Ok(CheckoutStatus::Failed(decline_reason(
                err.decline_code
                    .as_deref()
                    .or(err.code.as_deref())
                    .unwrap_or(""),
            ))),
            None => Ok(CheckoutStatus::Open),
        },
        "requires_confirmation" | "requires_action" | "processing" | "requires_capture" => {
            Ok(CheckoutStatus::Open)
        }
        other => invalid(format!("unknown PaymentIntent status {other:?}")),
    }
}

/// A Checkout Session's state in our terms. A declined card does not end
/// a session (the payer may try another), so a session is open, paid or
/// expired.
fn session_status(s: &Session) -> Result<CheckoutStatus, ProcessorError> {
    match (s.status.as_deref(), s.payment_status.as_str()) {
        (Some("expired"), _) => Ok(CheckoutStatus::Expired),
        (Some("complete"), "paid") => {
            let Some(pi) = s.payment_intent.as_ref().and_then(Expandable::object) else {
                return Err(ProcessorError::InvalidResponse(
                    "a paid session without its PaymentIntent".into(),
                ));
            };
            match intent_status(pi)? {
                CheckoutStatus::Succeeded(c) => Ok(CheckoutStatus::Succeeded(c)),
                _ => Err(ProcessorError::InvalidResponse(
                    "a paid session whose PaymentIntent has not succeeded".into(),
                )),
            }
        }
        // Open, or complete with a delayed payment method still settling.
        (Some("open"), _) | (Some("complete"), "unpaid") => Ok(CheckoutStatus::Open),
        (status, paid) => Err(ProcessorError::InvalidResponse(format!(
            "unknown session state {status:?}/{paid:?}"
        ))),
    }
}

#[async_trait]
impl Processor for StripeProcessor {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn hosted_origin(&self) -> String {
        self.checkout_origin.clone()
    }

    async fn create_checkout(&self, req: &CheckoutRequest) -> Result<Checkout, ProcessorError> {
        let form = Self::checkout_form(req, Timestamp::now())?;
        let s: Session = self
            .client
            .post("v1/checkout/sessions", &form, &req.idempotency_key)
            .await?;
        self.accept_session(req, &s)
    }

    async fn start_setup(&self, req: &SetupRequest) -> Result<Setup, ProcessorError> {
        let customer = match &req.customer {
            Some(c) => c.clone(),
            None => self.create_customer(&req.resident_ref).await?,
        };
        let session = self
            .create_setup_session(
                &customer,
                &req.return_url,
                &req.cancel_url,
                &req.idempotency_key,
            )
            .await?;
        Ok(Setup {
            processor_ref: session.id,
            redirect_url: session.redirect_url,
            customer: Some(customer),
        })
    }

    async fn setup_status(&self, processor_ref: &str) -> Result<SetupStatus, ProcessorError> {
        let s = self.session(processor_ref).await?;
        if s.mode != "setup" {
            return Err(ProcessorError::InvalidResponse(
                "not a setup session".into(),
            ));
        }
        match (s.status.as_deref(), s.setup_intent.as_deref()) {
            (Some("open"), _) => Ok(SetupStatus::Open),
            (Some("expired"), _) => Ok(SetupStatus::Closed),
            (Some("complete"), Some(intent)) => {
                check_id(intent, "seti_")?;
                let si: wire::SetupIntent = self
                    .client
                    .get(&format!("v1/setup_intents/{intent}"), &[])
                    .await?;
                let method = match (si.status.as_str(), si.payment_method) {
                    ("succeeded", Some(pm)) => pm,
                    (status, _) => {
                        return Err(ProcessorError::InvalidResponse(format!(
                            "a completed setup left its intent {status}"
                        )));
                    }
                };
                let (brand, last4) = self.card_of(&method).await?;
                Ok(SetupStatus::Saved(SavedMethod {
                    method_ref: method,
                    brand,
                    last4,
                }))
            }
            (status, _) => Err(ProcessorError::InvalidResponse(format!(
                "unknown setup session state {status:?}"
            ))),
        }
    }

    async fn remove_method(
        &self,
        _customer: Option<&str>,
        method_ref: &str,
    ) -> Result<(), ProcessorError> {
        match self.detach(method_ref).await {
            Ok(()) | Err(ProcessorError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn charge_saved(&self, req: &ChargeRequest) -> Result<ChargeOutcome, ProcessorError> {
        let customer = req.customer.as_deref().ok_or_else(|| {
            ProcessorError::InvalidResponse("a saved card without its customer".into())
        })?;
        let outcome = self
            .charge_off_session(
                customer,
                &req.method_ref,
                req.total,
                &req.payment_id,
                &req.idempotency_key,
            )
            .await?;
        Ok(match outcome {
            OffSessionOutcome::Succeeded {
                payment_intent,
                captured,
            } => ChargeOutcome::Succeeded {
                processor_ref: payment_intent,
                captured,
            },
            OffSessionOutcome::RequiresAction { payment_intent } => ChargeOutcome::RequiresAction {
                processor_ref: payment_intent,
            },
            OffSessionOutcome::Declined {
                payment_intent,
                reason,
            } => ChargeOutcome::Declined {
                processor_ref: payment_intent,
                reason,
            },
        })
    }

    async fn checkout_status(&self, processor_ref: &str) -> Result<CheckoutStatus, ProcessorError> {
        if processor_ref.starts_with("pi_") {
            let pi = self.payment_intent(processor_ref).await?;
            return intent_status(&pi);
        }
        let s = self.session(processor_ref).await?;
        if s.id != processor_ref {
            return Err(ProcessorError::InvalidResponse(
                "session id mismatch".into(),
            ));
        }
        session_status(&s)
    }

    async fn cancel_checkout(&self, processor_ref: &str) -> Result<CheckoutStatus, ProcessorError> {
        if processor_ref.starts_with("pi_") {
            // Off-session charges have no page to leave.
            return self.checkout_status(processor_ref).await;
        }
        check_id(processor_ref, "cs_")?;
        let expired: Result<Session, _> = self
            .client
            .post(
                &format!("v1/checkout/sessions/{processor_ref}/expire"),
                &Form::new(),
                &format!("expire-{processor_ref}"),
            )
            .await;
        match expired {
            Ok(s) if s.id == processor_ref && s.status.as_deref() == Some("expired") => {
                Ok(CheckoutStatus::Failed(DeclineReason::Cancelled))
            }
            Ok(_) => Err(ProcessorError::InvalidResponse(
                "the expired session is not the one asked for".into(),
            )),
            // Only open sessions can be expired: this one was paid or had
            // already expired. Stripe's answer decides.
            Err(ProcessorError::Rejected { .. }) => self.checkout_status(processor_ref).await,
            Err(e) => Err(e),
        }
    }

    async fn refund(&self, req: &RefundRequest) -> Result<RefundOutcome, ProcessorError> {
        let payment_intent = if req.processor_ref.starts_with("pi_") {
            req.processor_ref.clone()
        } else {
            let s = self.session(&req.processor_ref).await?;
            match s.payment_intent {
                Some(pi) if s.payment_status == "paid" => pi.id().to_owned(),
                _ => {
                    return Ok(RefundOutcome::Refused {
                        code: "not_paid".into(),
                        message: "the checkout was never paid".into(),
                    });
                }
            }
        };
        let amount = wire::minor_units(req.amount).map_err(ProcessorError::InvalidResponse)?;
        let form = Form::new()
            .field("payment_intent", &payment_intent)
            .field("amount", amount.to_string())
            .field(&format!("metadata[{REFUND_KEY}]"), &req.refund_id);
        let r: Result<Refund, _> = self
            .client
            .post("v1/refunds", &form, &req.idempotency_key)
            .await;
        let r = match r {
            Ok(r) => r,
            Err(ProcessorError::Rejected { code, message }) => {
                return Ok(RefundOutcome::Refused { code, message });
            }
            Err(e) => return Err(e),
        };
        if wire::from_minor_units(r.amount, &r.currency) != Ok(req.amount) {
            return Err(ProcessorError::InvalidResponse(format!(
                "refund {} is for {} {}, not {} cents",
                r.id, r.amount, r.currency, req.amount
            )));
        }
        match r.status.as_deref() {
            // Card refunds settle at once or shortly after; both are
            // accepted by Stripe and cannot be taken back by us.
            Some("succeeded") | Some("pending") | None => Ok(RefundOutcome::Succeeded {
                processor_refund_ref: r.id,
            }),
            Some(status) => Ok(RefundOutcome::Refused {
                code: r.failure_reason.unwrap_or_else(|| status.to_owned()),
                message: format!("Stripe reports the refund {status}"),
            }),
        }
    }

    /// A refund as Stripe has it now. `failed` and `canceled` are final
    /// and mean the money went back to the balance; anything else is the
    /// refund made or on its way.
    async fn refund_status(
        &self,
        processor_refund_ref: &str,
    ) -> Result<RefundStatus, ProcessorError> {
        check_id(processor_refund_ref, "re_")?;
        let r: Refund = self
            .client
            .get(&format!("v1/refunds/{processor_refund_ref}"), &[])
            .await?;
        if r.id != processor_refund_ref {
            return Err(ProcessorError::InvalidResponse(format!(
                "asked for refund {processor_refund_ref}, got {}",
                r.id
            )));
        }
        Ok(match r.status.as_deref() {
            Some(status @ ("failed" | "canceled")) => RefundStatus::Failed {
                reason: r.failure_reason.unwrap_or_else(|| status.to_owned()),
            },
            _ => RefundStatus::Succeeded,
        })
    }

    /// Charges and refunds on the Stripe balance created in `[from, to)`,
    /// each named by the Checkout Session (or off-session PaymentIntent)
    /// it belongs to, with Stripe's fee.
    async fn transactions(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ProcessorTransaction>, ProcessorError> {
        let mut out = Vec::new();
        let mut sessions: HashMap<String, String> = HashMap::new();
        let mut after: Option<String> = None;
        'pages: loop {
            let mut q = vec![
                ("limit", PAGE.to_string()),
                ("expand[]", "data.source".to_string()),
            ];
            if let Some(a) = &after {
                q.push(("starting_after", a.clone()));
            }
            let page: List<BalanceTransaction> =
                self.client.get("v1/balance_transactions", &q).await?;
            after = page.data.last().map(|t| t.id.clone());
            for t in page.data {
                let at = ts(t.created)?;
                // Newest first: everything after this is older still.
                if at < from {
                    break 'pages;
                }
                if at >= to {
                    continue;
                }
                let source = t.source.as_ref().and_then(Expandable::object);
                let (kind, id, payment_intent) = match (t.kind.as_str(), source) {
                    ("charge" | "payment", Some(Source::Charge(c))) => {
                        (TransactionKind::Charge, None, c.payment_intent.clone())
                    }
                    ("refund" | "payment_refund", Some(Source::Refund(r))) => (
                        TransactionKind::Refund,
                        Some(r.id.clone()),
                        r.payment_intent.clone(),
                    ),
                    // A refund's money back: the refund could not be completed.
                    ("refund_failure", Some(Source::Refund(r))) => (
                        TransactionKind::RefundFailure,
                        Some(r.id.clone()),
                        r.payment_intent.clone(),
                    ),
                    // Payouts, Stripe's own fees, adjustments: not ours to
                    // match against the ledger.
                    _ => continue,
                };
                let Some(pi) = payment_intent else {
                    return Err(ProcessorError::InvalidResponse(format!(
                        "balance transaction {} has no PaymentIntent",
                        t.id
                    )));
                };
                let checkout_ref = match sessions.get(&pi) {
                    Some(s) => s.clone(),
                    None => {
                        let s = self.session_of(&pi).await?.unwrap_or_else(|| pi.clone());
                        sessions.insert(pi.clone(), s.clone());
                        s
                    }
                };
                let amount = wire::from_minor_units(t.amount.abs(), &t.currency)
                    .map_err(ProcessorError::InvalidResponse)?;
                let fee = wire::from_minor_units(t.fee, &t.currency)
                    .map_err(ProcessorError::InvalidResponse)?;
                out.push(ProcessorTransaction {
                    kind,
                    id: id.unwrap_or_else(|| checkout_ref.clone()),
                    checkout_ref,
                    amount,
                    fee,
                    at,
                });
            }
            if !page.has_more || after.is_none() {
                break;
            }
        }
        Ok(out)
    }

    async fn payouts(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Payout>, ProcessorError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut q = vec![("limit", PAGE.to_string())];
            if let Some(a) = &after {
                q.push(("starting_after", a.clone()));
            }
            let page: List<wire::Payout> = self.client.get("v1/payouts", &q).await?;
            after = page.data.last().map(|p| p.id.clone());
            for p in page.data {
                let created = ts(p.created)?;
                if created >= from && created < to {
                    out.push(Payout {
                        id: p.id,
                        amount: p.amount,
                        currency: p.currency,
                        created,
                        arrival: ts(p.arrival_date)?,
                        status: p.status,
                    });
                }
            }
            if !page.has_more || after.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        signature::verify_request(
            headers,
            SIGNATURE_HEADER,
            &self.webhook_secrets,
            body,
            now.as_second(),
        )?;
        let event: wire::Event =
            serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload(e.to_string()))?;
        if !event.id.starts_with("evt_") || event.id.len() > 255 {
            return Err(WebhookError::BadPayload("bad event id".into()));
        }
        let object = &event.data.object;
        let kind = match (event.kind.as_str(), object.object.as_str()) {
            (
                "checkout.session.completed"
                | "checkout.session.async_payment_succeeded"
                | "checkout.session.async_payment_failed"
                | "checkout.session.expired",
                "checkout.session",
            ) => WebhookKind::Changed(PaymentLookup::ProcessorRef(object.id.clone())),
            (
                "payment_intent.succeeded"
                | "payment_intent.payment_failed"
                | "payment_intent.canceled"
                | "payment_intent.requires_action",
                "payment_intent",
            ) => WebhookKind::Changed(match object.metadata.get(PAYMENT_KEY) {
                Some(p) => PaymentLookup::PaymentId(p.clone()),
                None => PaymentLookup::ProcessorRef(object.id.clone()),
            }),
            // A refund changed (in practice: it failed after it was made).
            ("charge.refund.updated" | "refund.updated" | "refund.failed", "refund") => {
                WebhookKind::RefundChanged(object.id.clone())
            }
            // Everything else (other charge.* events, payouts, customer
            // events…) is acknowledged and not acted on.
            _ => WebhookKind::Ignored,
        };
        Ok(WebhookEvent {
            event_id: event.id,
            event_type: event.kind,
            kind,
        })
    }
}

#[cfg(test)]
mod tests;
