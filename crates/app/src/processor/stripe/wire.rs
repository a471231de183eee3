//! Stripe's wire format, for the endpoints we use and only the fields we
//! read. Requests are form-encoded (`a[b][c]=v`); responses are JSON.
//!
//! Amounts cross into Stripe's integer minor units here and nowhere else:
//! [`minor_units`] and [`from_minor_units`]. cityteller bills in US dollars,
//! whose minor unit is the cent, and refuses any other currency it is
//! handed back.

use std::collections::BTreeMap;

use domain::Cents;
use serde::Deserialize;

/// The only currency cityteller charges in.
pub const CURRENCY: &str = "usd";

/// Our cents as Stripe's minor units of [`CURRENCY`]. Zero and negative
/// amounts are never sent to Stripe.
pub fn minor_units(amount: Cents) -> Result<i64, String> {
    match amount.get() {
        n if n > 0 => Ok(n),
        n => Err(format!("{n} cents is not an amount to send to Stripe")),
    }
}

/// Stripe's minor units back into cents, refusing another currency.
pub fn from_minor_units(amount: i64, currency: &str) -> Result<Cents, String> {
    if !currency.eq_ignore_ascii_case(CURRENCY) {
        return Err(format!("amount in {currency:?}, expected {CURRENCY}"));
    }
    Ok(Cents::new(amount))
}

/// A form body in the order fields were added (Stripe reads nested keys
/// as `a[b]`). Keeping the order makes the request reproducible, so tests
/// can compare it with a recorded expectation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn new() -> Self {
        Form(Vec::new())
    }

    pub fn field(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.push((key.to_owned(), value.into()));
        self
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn encode(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            s.append_pair(k, v);
        }
        s.finish()
    }
}

/// A field that is an id unless the request asked Stripe to expand it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Expandable<T> {
    Id(String),
    Object(Box<T>),
}

impl<T: HasId> Expandable<T> {
    pub fn id(&self) -> &str {
        match self {
            Expandable::Id(id) => id,
            Expandable::Object(o) => o.id(),
        }
    }

    pub fn object(&self) -> Option<&T> {
        match self {
            Expandable::Id(_) => None,
            Expandable::Object(o) => Some(o),
        }
    }
}

pub trait HasId {
    fn id(&self) -> &str;
}

macro_rules! has_id {
    ($($t:ty),*) => {$(
        impl HasId for $t {
            fn id(&self) -> &str {
                &self.id
            }
        }
    )*};
}

has_id!(PaymentIntent, PaymentMethod, Charge, Refund);

/// `checkout.session`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub object: String,
    /// `payment` or `setup`.
    pub mode: String,
    /// `open`, `complete` or `expired`.
    pub status: Option<String>,
    /// `paid`, `unpaid` or `no_payment_required`.
    pub payment_status: String,
    pub url: Option<String>,
    pub amount_total: Option<i64>,
    pub currency: Option<String>,
    pub client_reference_id: Option<String>,
    pub customer: Option<String>,
    pub expires_at: i64,
    pub created: i64,
    pub payment_intent: Option<Expandable<PaymentIntent>>,
    pub setup_intent: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// `payment_intent`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PaymentIntent {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    /// `requires_payment_method`, `requires_confirmation`,
    /// `requires_action`, `processing`, `requires_capture`, `canceled`,
    /// `succeeded`.
    pub status: String,
    pub created: i64,
    pub customer: Option<String>,
    pub payment_method: Option<Expandable<PaymentMethod>>,
    pub latest_charge: Option<Expandable<Charge>>,
    pub last_payment_error: Option<ErrorBody>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// `payment_method`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PaymentMethod {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub card: Option<CardDetails>,
    pub customer: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct CardDetails {
    pub brand: String,
    pub last4: String,
    pub exp_month: Option<u32>,
    pub exp_year: Option<i32>,
}

/// `charge`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Charge {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub created: i64,
    pub status: String,
    pub payment_intent: Option<String>,
    pub failure_code: Option<String>,
}

/// `refund`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub created: i64,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    pub status: Option<String>,
    pub charge: Option<String>,
    pub payment_intent: Option<String>,
    pub failure_reason: Option<String>,
}

/// `customer`.
/// `setup_intent`: what a setup session saved.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SetupIntent {
    pub id: String,
    pub status: String,
    pub payment_method: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// What a balance transaction's `source` holds, once expanded.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "object", rename_all = "snake_case")]
pub enum Source {
    Charge(Charge),
    Refund(Refund),
    #[serde(other)]
    Other,
}

impl HasId for Source {
    fn id(&self) -> &str {
        match self {
            Source::Charge(c) => &c.id,
            Source::Refund(r) => &r.id,
            Source::Other => "",
        }
    }
}

/// `balance_transaction`: one movement of money on the Stripe balance,
/// with Stripe's fee.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct BalanceTransaction {
    pub id: String,
    /// Signed: negative for refunds and payouts.
    pub amount: i64,
    pub fee: i64,
    pub net: i64,
    pub currency: String,
    pub created: i64,
    pub available_on: Option<i64>,
    /// `charge`, `payment`, `refund`, `payment_refund`, `payout`,
    /// `stripe_fee`, `adjustment`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub source: Option<Expandable<Source>>,
}

/// `payout`: money sent from the Stripe balance to the city's bank.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Payout {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub created: i64,
    pub arrival_date: i64,
    /// `paid`, `pending`, `in_transit`, `canceled` or `failed`.
    pub status: String,
    pub balance_transaction: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// `card_error`, `invalid_request_error`, `api_error`,
    /// `idempotency_error`, `rate_limit_error`, `authentication_error`, …
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: Option<String>,
    pub payment_intent: Option<Box<PaymentIntent>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

/// A webhook event: only the envelope and the object's identity and
/// metadata are read; the state that matters is re-read from Stripe.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: EventObject,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventObject {
    pub id: String,
    pub object: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}
