//! The card processor boundary. Card numbers are entered on the processor's
//! hosted page (another origin); cityteller only ever sees the processor's
//! ids, the card brand and the last four digits.
//!
//! The trait is deliberately small and has no default methods: an adapter
//! states every behaviour, and nothing "succeeds" by accident.

pub mod sandbox;
pub mod signature;
pub mod stripe;

use async_trait::async_trait;
use axum::http::HeaderMap;
use domain::Cents;
use jiff::Timestamp;
use url::Url;

/// What we ask the processor to collect.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub payment_id: String,
    /// Derived from our payment id: a retried call returns the same
    /// checkout instead of a second one.
    pub idempotency_key: String,
    pub total: Cents,
    pub description: String,
    /// Where the payer returns after paying; carries no outcome.
    pub return_url: Url,
    /// Where the payer returns after giving up.
    pub cancel_url: Url,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Checkout {
    pub processor_ref: String,
    /// The hosted page to send the payer to (full-page redirect).
    pub redirect_url: Url,
    pub expires_at: Timestamp,
}

/// Why a card payment did not go through, as residents are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    Declined,
    InsufficientFunds,
    ExpiredCard,
    IncorrectCvc,
    ProcessingError,
    /// The payer left the hosted page.
    Cancelled,
}

impl DeclineReason {
    pub fn code(self) -> &'static str {
        match self {
            DeclineReason::Declined => "card_declined",
            DeclineReason::InsufficientFunds => "insufficient_funds",
            DeclineReason::ExpiredCard => "expired_card",
            DeclineReason::IncorrectCvc => "incorrect_cvc",
            DeclineReason::ProcessingError => "processing_error",
            DeclineReason::Cancelled => "cancelled",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            DeclineReason::Declined,
            DeclineReason::InsufficientFunds,
            DeclineReason::ExpiredCard,
            DeclineReason::IncorrectCvc,
            DeclineReason::ProcessingError,
            DeclineReason::Cancelled,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub amount: Cents,
    pub card_brand: String,
    pub card_last4: String,
    /// When the processor captured the money: the payment's business date
    /// comes from this, so the daily close matches the processor's day.
    pub captured_at: Timestamp,
}

/// A refund we ask the processor for.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub refund_id: String,
    /// Derived from our refund id: a retry never refunds twice.
    pub idempotency_key: String,
    /// The processor's id of the payment being refunded.
    pub processor_ref: String,
    pub amount: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Succeeded {
        processor_refund_ref: String,
    },
    /// The processor refused it for good (for example, already refunded).
    Refused {
        code: String,
        message: String,
    },
}

/// Where a refund the processor made stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundStatus {
    /// Made, or on its way to the card (we cannot take it back).
    Succeeded,
    /// Made, then not completed (the card's account was closed, say): the
    /// money came back to the processor balance.
    Failed { reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionKind {
    Charge,
    Refund,
    /// A refund's money coming back (the refund could not be completed).
    RefundFailure,
}

/// One money movement as the processor records it, for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorTransaction {
    pub kind: TransactionKind,
    /// The charge's checkout id, or the refund's id.
    pub id: String,
    /// The checkout the money belongs to.
    pub checkout_ref: String,
    /// Positive for charges and refunds alike.
    pub amount: Cents,
    /// What the processor kept of it (zero where it charges none).
    pub fee: Cents,
    pub at: Timestamp,
}

/// Money the processor sent to the city's bank account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    pub id: String,
    /// In the minor units of `currency`.
    pub amount: i64,
    /// Lower-case ISO code, as processors write it.
    pub currency: String,
    pub created: Timestamp,
    /// When the bank should have it.
    pub arrival: Timestamp,
    /// The processor's word for it: `paid`, `pending`, `in_transit`,
    /// `failed`, `canceled`.
    pub status: String,
}

impl Payout {
    /// `$1,234.56` for US dollars, `1234.56 EUR` otherwise.
    pub fn amount_text(&self) -> String {
        let c = Cents::new(self.amount);
        if self.currency.eq_ignore_ascii_case("usd") {
            c.to_string()
        } else {
            format!(
                "{} {}",
                c.to_plain_string(),
                self.currency.to_ascii_uppercase()
            )
        }
    }
}

/// Where a checkout stands, as the processor says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutStatus {
    /// The payer has not finished yet.
    Open,
    Succeeded(Captured),
    Failed(DeclineReason),
    /// The window closed without a payment.
    Expired,
}

/// A verified webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub event_id: String,
    pub event_type: String,
    pub kind: WebhookKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookKind {
    /// A checkout reached a new status.
    Checkout {
        processor_ref: String,
        status: CheckoutStatus,
    },
    /// Something happened to a payment: its state is re-read from the
    /// processor (events can arrive twice, late or out of order; the
    /// processor's current answer is the same whatever the order).
    Changed(PaymentLookup),
    /// Something happened to a refund (the processor's id for it): its
    /// state is re-read from the processor likewise.
    RefundChanged(String),
    /// An event type we do not act on: acknowledged and ignored, never
    /// treated as success.
    Ignored,
}

/// How an event names the payment it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentLookup {
    /// The processor's id for it (a checkout).
    ProcessorRef(String),
    /// Our payment id, which we gave the processor as metadata.
    PaymentId(String),
}

/// A hosted page where a resident saves a card for later (wallet,
/// autopay). The card is typed only on the processor's page.
#[derive(Debug, Clone)]
pub struct SetupRequest {
    /// Our resident id: the processor's customer is made for it (never a
    /// name or an e-mail address).
    pub resident_ref: String,
    /// The processor's customer for the resident, once there is one.
    pub customer: Option<String>,
    pub idempotency_key: String,
    pub return_url: Url,
    pub cancel_url: Url,
}

#[derive(Debug, Clone)]
pub struct Setup {
    pub processor_ref: String,
    pub redirect_url: Url,
    /// The customer the card will be saved on (new or the one given).
    pub customer: Option<String>,
}

/// A card saved at the processor: all cityteller keeps of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedMethod {
    /// The processor's token for it.
    pub method_ref: String,
    pub brand: String,
    pub last4: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupStatus {
    Open,
    Saved(SavedMethod),
    /// The resident left, or the page expired.
    Closed,
}

/// A charge on a saved card without the resident present.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    pub payment_id: String,
    /// Derived from our payment id: a retried call (after a timeout or a
    /// crash) returns the first charge instead of making a second.
    pub idempotency_key: String,
    pub customer: Option<String>,
    pub method_ref: String,
    pub total: Cents,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded {
        processor_ref: String,
        captured: Captured,
    },
    Declined {
        processor_ref: Option<String>,
        reason: DeclineReason,
    },
    /// The bank wants the card holder present (3-D Secure).
    RequiresAction { processor_ref: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessorError {
    /// Timeout, connection failure or a 5xx: safe to retry with the same
    /// idempotency key.
    #[error("processor unavailable: {0}")]
    Unavailable(String),
    /// The processor refused the request (4xx); retrying will not help.
    #[error("processor refused the request: {code}: {message}")]
    Rejected { code: String, message: String },
    #[error("processor has no such object")]
    NotFound,
    /// The processor answered with something we cannot understand.
    #[error("processor sent an invalid response: {0}")]
    InvalidResponse(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("missing signature header")]
    MissingSignature,
    #[error("malformed signature header")]
    MalformedSignature,
    #[error("signature does not match")]
    BadSignature,
    #[error("timestamp outside the tolerance window")]
    StaleTimestamp,
    #[error("payload is not a valid event: {0}")]
    BadPayload(String),
}

#[async_trait]
pub trait Processor: Send + Sync {
    /// Short name stored beside its ids: `sandbox`, `stripe`.
    fn name(&self) -> &'static str;

    /// The origin of the hosted page (scheme, host, port), which the
    /// resident site's CSP allows as a form target.
    fn hosted_origin(&self) -> String;

    async fn create_checkout(&self, req: &CheckoutRequest) -> Result<Checkout, ProcessorError>;

    async fn checkout_status(&self, processor_ref: &str) -> Result<CheckoutStatus, ProcessorError>;

    /// The payer came back through the cancel link: close the checkout if
    /// it is still open, so it cannot be paid later, and say where it
    /// stands (a checkout paid meanwhile stays paid).
    async fn cancel_checkout(&self, processor_ref: &str) -> Result<CheckoutStatus, ProcessorError>;

    async fn refund(&self, req: &RefundRequest) -> Result<RefundOutcome, ProcessorError>;

    /// Where a refund made earlier stands now.
    async fn refund_status(
        &self,
        processor_refund_ref: &str,
    ) -> Result<RefundStatus, ProcessorError>;

    /// Charges and refunds recorded by the processor in `[from, to)`.
    async fn transactions(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ProcessorTransaction>, ProcessorError>;

    /// Payouts to the city's bank created in `[from, to)`, for matching
    /// the processor's deposits against the bank statement.
    async fn payouts(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Payout>, ProcessorError>;

    /// Opens the processor's page for saving a card.
    async fn start_setup(&self, req: &SetupRequest) -> Result<Setup, ProcessorError>;

    async fn setup_status(&self, processor_ref: &str) -> Result<SetupStatus, ProcessorError>;

    /// Removes a saved card at the processor (the wallet's "remove").
    async fn remove_method(
        &self,
        customer: Option<&str>,
        method_ref: &str,
    ) -> Result<(), ProcessorError>;

    /// Charges a saved card off-session (autopay, scheduled payments).
    async fn charge_saved(&self, req: &ChargeRequest) -> Result<ChargeOutcome, ProcessorError>;

    /// Verifies the signature over the raw body and parses the event.
    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError>;
}

/// `scheme://host:port` of a URL.
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}
