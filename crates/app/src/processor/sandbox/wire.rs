//! The sandbox's JSON, shared by its server and our client.

use domain::Cents;
use serde::{Deserialize, Serialize};

use crate::processor::{Captured, CheckoutStatus, DeclineReason};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreateCheckout {
    /// Minor units (cents).
    pub amount: i64,
    pub currency: String,
    pub description: String,
    pub return_url: String,
    pub cancel_url: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// The merchant's own id for it (our payment id).
    pub reference: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Card {
    pub brand: String,
    pub last4: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckoutObject {
    pub id: String,
    pub url: String,
    /// `open`, `succeeded`, `failed` or `expired`.
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub expires_at: i64,
    pub reference: String,
    pub card: Option<Card>,
    pub failure_code: Option<String>,
    /// Unix seconds, when it succeeded.
    #[serde(default)]
    pub captured_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreateRefund {
    pub checkout: String,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefundObject {
    pub id: String,
    pub checkout: String,
    pub amount: i64,
    pub status: String,
    pub created: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TransactionObject {
    /// `charge` or `refund`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub checkout: String,
    pub amount: i64,
    pub created: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransactionList {
    pub data: Vec<TransactionObject>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventData {
    pub checkout: CheckoutObject,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    pub error: ApiErrorBody,
}

impl CheckoutObject {
    /// Reads the status, refusing anything inconsistent rather than
    /// guessing.
    pub fn to_status(&self) -> Result<CheckoutStatus, String> {
        match self.status.as_str() {
            "open" => Ok(CheckoutStatus::Open),
            "expired" => Ok(CheckoutStatus::Expired),
            "succeeded" => {
                let card = self
                    .card
                    .as_ref()
                    .ok_or("a succeeded checkout without card details")?;
                if card.last4.len() != 4 || !card.last4.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("card last4 is not four digits".into());
                }
                if self.amount <= 0 {
                    return Err("a succeeded checkout with no amount".into());
                }
                let captured_at = self
                    .captured_at
                    .and_then(|s| jiff::Timestamp::from_second(s).ok())
                    .ok_or("a succeeded checkout without its capture time")?;
                Ok(CheckoutStatus::Succeeded(Captured {
                    amount: Cents::new(self.amount),
                    card_brand: card.brand.clone(),
                    card_last4: card.last4.clone(),
                    captured_at,
                }))
            }
            "failed" => {
                let code = self.failure_code.as_deref().unwrap_or("");
                DeclineReason::from_code(code)
                    .map(CheckoutStatus::Failed)
                    .ok_or_else(|| format!("unknown failure code {code:?}"))
            }
            other => Err(format!("unknown checkout status {other:?}")),
        }
    }
}

/// A hosted page for saving a card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreateSetup {
    pub return_url: String,
    pub cancel_url: String,
    /// The merchant's own id for the card holder (our resident id).
    pub reference: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SetupObject {
    pub id: String,
    pub url: String,
    /// `open`, `succeeded`, `canceled` or `expired`.
    pub status: String,
    pub reference: String,
    pub expires_at: i64,
    /// The card saved, once it is.
    pub method: Option<MethodObject>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MethodObject {
    pub id: String,
    pub brand: String,
    pub last4: String,
}

/// A charge on a saved card, without the card holder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreateCharge {
    pub method: String,
    pub amount: i64,
    pub currency: String,
    pub description: String,
    /// Our payment id.
    pub reference: String,
}
