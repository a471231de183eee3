//! cityteller's adapter for the sandbox processor.

use std::time::Duration;

use async_trait::async_trait;
use axum::http::HeaderMap;
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::signature;
use super::wire::{
    ApiError, CheckoutObject, CreateCheckout, CreateRefund, Event, RefundObject, TransactionList,
};
use crate::processor::{
    Checkout, CheckoutRequest, CheckoutStatus, Payout, Processor, ProcessorError,
    ProcessorTransaction, RefundOutcome, RefundRequest, TransactionKind, WebhookError,
    WebhookEvent, WebhookKind, origin_of,
};

pub struct SandboxProcessor {
    base: Url,
    api_key: SecretString,
    webhook_secrets: Vec<SecretString>,
    http: crate::net::Outbound,
}

impl SandboxProcessor {
    pub fn new(
        base: Url,
        api_key: SecretString,
        webhook_secrets: Vec<SecretString>,
        timeout: Duration,
    ) -> Result<Self, ProcessorError> {
        let host = base.host_str().unwrap_or_default().to_owned();
        let http = crate::net::Outbound::new([host], timeout)
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?;
        Ok(SandboxProcessor {
            base,
            api_key,
            webhook_secrets,
            http,
        })
    }

    fn url(&self, path: &str) -> Result<Url, ProcessorError> {
        self.base
            .join(path)
            .map_err(|e| ProcessorError::InvalidResponse(e.to_string()))
    }

    async fn read_checkout(resp: reqwest::Response) -> Result<CheckoutObject, ProcessorError> {
        Self::read_json(resp).await
    }

    async fn read_json<T: serde::de::DeserializeOwned>(
        resp: reqwest::Response,
    ) -> Result<T, ProcessorError> {
        let status = resp.status();
        if status.is_server_error() {
            return Err(ProcessorError::Unavailable(format!("HTTP {status}")));
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(ProcessorError::NotFound);
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            let err: ApiError = serde_json::from_slice(&bytes)
                .map_err(|_| ProcessorError::InvalidResponse(format!("HTTP {status}")))?;
            return Err(ProcessorError::Rejected {
                code: err.error.code,
                message: err.error.message,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ProcessorError::InvalidResponse(e.to_string()))
    }
}

fn transport_error(e: reqwest::Error) -> ProcessorError {
    // Timeouts, refused connections and broken bodies are all worth a retry
    // with the same idempotency key.
    ProcessorError::Unavailable(e.without_url().to_string())
}

#[async_trait]
impl Processor for SandboxProcessor {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn hosted_origin(&self) -> String {
        origin_of(&self.base)
    }

    async fn create_checkout(&self, req: &CheckoutRequest) -> Result<Checkout, ProcessorError> {
        let body = CreateCheckout {
            amount: req.total.get(),
            currency: "usd".into(),
            description: req.description.clone(),
            return_url: req.return_url.to_string(),
            cancel_url: req.cancel_url.to_string(),
            expires_at: req.expires_at.as_second(),
            reference: req.payment_id.clone(),
        };
        let resp = self
            .http
            .request(reqwest::Method::POST, self.url("v1/checkouts")?)
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?
            .bearer_auth(self.api_key.expose_secret())
            .header("Idempotency-Key", &req.idempotency_key)
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let obj = Self::read_checkout(resp).await?;
        if obj.reference != req.payment_id || obj.amount != req.total.get() {
            return Err(ProcessorError::InvalidResponse(
                "checkout does not match the request".into(),
            ));
        }
        let redirect_url =
            Url::parse(&obj.url).map_err(|e| ProcessorError::InvalidResponse(e.to_string()))?;
        // Only ever send a resident to the processor's own origin.
        if origin_of(&redirect_url) != self.hosted_origin() {
            return Err(ProcessorError::InvalidResponse(
                "checkout URL is on an unexpected origin".into(),
            ));
        }
        let expires_at = Timestamp::from_second(obj.expires_at)
            .map_err(|e| ProcessorError::InvalidResponse(e.to_string()))?;
        Ok(Checkout {
            processor_ref: obj.id,
            redirect_url,
            expires_at,
        })
    }

    async fn checkout_status(&self, processor_ref: &str) -> Result<CheckoutStatus, ProcessorError> {
        if !processor_ref
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(ProcessorError::NotFound);
        }
        let resp = self
            .http
            .request(
                reqwest::Method::GET,
                self.url(&format!("v1/checkouts/{processor_ref}"))?,
            )
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?
            .bearer_auth(self.api_key.expose_secret())
            .send()
            .await
            .map_err(transport_error)?;
        let obj = Self::read_checkout(resp).await?;
        if obj.id != processor_ref {
            return Err(ProcessorError::InvalidResponse(
                "checkout id mismatch".into(),
            ));
        }
        obj.to_status().map_err(ProcessorError::InvalidResponse)
    }

    async fn cancel_checkout(&self, processor_ref: &str) -> Result<CheckoutStatus, ProcessorError> {
        // The sandbox's own cancel link has already closed the checkout on
        // its side before sending the payer back.
        self.checkout_status(processor_ref).await
    }

    async fn refund(&self, req: &RefundRequest) -> Result<RefundOutcome, ProcessorError> {
        let resp = self
            .http
            .request(reqwest::Method::POST, self.url("v1/refunds")?)
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?
            .bearer_auth(self.api_key.expose_secret())
            .header("Idempotency-Key", &req.idempotency_key)
            .json(&CreateRefund {
                checkout: req.processor_ref.clone(),
                amount: req.amount.get(),
            })
            .send()
            .await
            .map_err(transport_error)?;
        match Self::read_json::<RefundObject>(resp).await {
            Ok(r) if r.status == "succeeded" && r.amount == req.amount.get() => {
                Ok(RefundOutcome::Succeeded {
                    processor_refund_ref: r.id,
                })
            }
            Ok(r) => Err(ProcessorError::InvalidResponse(format!(
                "refund {} is {} for {} cents",
                r.id, r.status, r.amount
            ))),
            Err(ProcessorError::Rejected { code, message }) => {
                Ok(RefundOutcome::Refused { code, message })
            }
            Err(e) => Err(e),
        }
    }

    async fn transactions(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ProcessorTransaction>, ProcessorError> {
        let mut url = self.url("v1/transactions")?;
        url.query_pairs_mut()
            .append_pair("from", &from.as_second().to_string())
            .append_pair("to", &to.as_second().to_string());
        let resp = self
            .http
            .request(reqwest::Method::GET, url)
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?
            .bearer_auth(self.api_key.expose_secret())
            .send()
            .await
            .map_err(transport_error)?;
        let list: TransactionList = Self::read_json(resp).await?;
        list.data
            .into_iter()
            .map(|t| {
                let kind = match t.kind.as_str() {
                    "charge" => TransactionKind::Charge,
                    "refund" => TransactionKind::Refund,
                    other => {
                        return Err(ProcessorError::InvalidResponse(format!(
                            "unknown transaction type {other:?}"
                        )));
                    }
                };
                Ok(ProcessorTransaction {
                    kind,
                    id: t.id,
                    checkout_ref: t.checkout,
                    amount: domain::Cents::new(t.amount),
                    fee: domain::Cents::ZERO,
                    at: Timestamp::from_second(t.created)
                        .map_err(|e| ProcessorError::InvalidResponse(e.to_string()))?,
                })
            })
            .collect()
    }

    async fn payouts(
        &self,
        _from: Timestamp,
        _to: Timestamp,
    ) -> Result<Vec<Payout>, ProcessorError> {
        // The sandbox holds no balance and pays nothing out.
        Ok(Vec::new())
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        signature::verify_request(
            headers,
            signature::HEADER,
            &self.webhook_secrets,
            body,
            now.as_second(),
        )?;
        let event: Event =
            serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload(e.to_string()))?;
        if event.id.is_empty() || event.id.len() > 100 {
            return Err(WebhookError::BadPayload("bad event id".into()));
        }
        let kind = match event.event_type.as_str() {
            "checkout.succeeded" | "checkout.failed" | "checkout.expired" => {
                let status = event
                    .data
                    .checkout
                    .to_status()
                    .map_err(WebhookError::BadPayload)?;
                // The type and the object must agree; a mismatch is a
                // malformed event, not something to act on.
                let agrees = matches!(
                    (&status, event.event_type.as_str()),
                    (CheckoutStatus::Succeeded(_), "checkout.succeeded")
                        | (CheckoutStatus::Failed(_), "checkout.failed")
                        | (CheckoutStatus::Expired, "checkout.expired")
                );
                if !agrees {
                    return Err(WebhookError::BadPayload(
                        "event type and checkout status disagree".into(),
                    ));
                }
                WebhookKind::Checkout {
                    processor_ref: event.data.checkout.id.clone(),
                    status,
                }
            }
            _ => WebhookKind::Ignored,
        };
        Ok(WebhookEvent {
            event_id: event.id,
            event_type: event.event_type,
            kind,
        })
    }
}
