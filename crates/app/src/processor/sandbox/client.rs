//! cityteller's adapter for the sandbox processor.

use std::time::Duration;

use async_trait::async_trait;
use axum::http::HeaderMap;
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::signature;
use super::wire::{
    ApiError, CheckoutObject, CreateCharge, CreateCheckout, CreateRefund, CreateSetup, Event,
    MethodObject, RefundObject, SetupObject, TransactionList,
};
use crate::processor::{
    ChargeOutcome, ChargeRequest, Checkout, CheckoutRequest, CheckoutStatus, Payout, Processor,
    ProcessorError, ProcessorTransaction, RefundOutcome, RefundRequest, RefundStatus, SavedMethod,
    Setup, SetupRequest, SetupStatus, TransactionKind, WebhookError, WebhookEvent, WebhookKind,
    origin_of,
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

    /// `GET {collection}/{id}` with the API key; an id that cannot be the
    /// sandbox's is not asked for.
    async fn get_by_id(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<reqwest::Response, ProcessorError> {
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(ProcessorError::NotFound);
        }
        self.http
            .request(
                reqwest::Method::GET,
                self.url(&format!("{collection}/{id}"))?,
            )
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?
            .bearer_auth(self.api_key.expose_secret())
            .send()
            .await
            .map_err(transport_error)
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

impl SandboxProcessor {
    /// One authenticated API call with a JSON body (or none).
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&(dyn erased_json::Json + Sync)>,
        idempotency_key: Option<&str>,
    ) -> Result<T, ProcessorError> {
        let mut req = self
            .http
            .request(method, self.url(path)?)
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?
            .bearer_auth(self.api_key.expose_secret());
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_json()?);
        }
        let resp = req.send().await.map_err(transport_error)?;
        Self::read_json(resp).await
    }
}

/// A request body of any of the sandbox's request types.
mod erased_json {
    use crate::processor::ProcessorError;

    pub trait Json {
        fn to_json(&self) -> Result<Vec<u8>, ProcessorError>;
    }

    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> Result<Vec<u8>, ProcessorError> {
            serde_json::to_vec(self).map_err(|e| ProcessorError::InvalidResponse(e.to_string()))
        }
    }
}

/// Ids go into URL paths: only the sandbox's own shape is accepted.
fn check_id(id: &str, prefix: &str) -> Result<(), ProcessorError> {
    if id.starts_with(prefix)
        && id.len() <= 100
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(())
    } else {
        Err(ProcessorError::NotFound)
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
        let resp = self.get_by_id("v1/checkouts", processor_ref).await?;
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

    async fn start_setup(&self, req: &SetupRequest) -> Result<Setup, ProcessorError> {
        let body = CreateSetup {
            return_url: req.return_url.to_string(),
            cancel_url: req.cancel_url.to_string(),
            reference: req.resident_ref.clone(),
        };
        let obj: SetupObject = self
            .call(
                reqwest::Method::POST,
                "v1/setups",
                Some(&body),
                Some(&req.idempotency_key),
            )
            .await?;
        let redirect_url =
            Url::parse(&obj.url).map_err(|e| ProcessorError::InvalidResponse(e.to_string()))?;
        if origin_of(&redirect_url) != self.hosted_origin() || obj.reference != req.resident_ref {
            return Err(ProcessorError::InvalidResponse(
                "setup does not match the request".into(),
            ));
        }
        // The sandbox keeps cards without customers.
        Ok(Setup {
            processor_ref: obj.id,
            redirect_url,
            customer: None,
        })
    }

    async fn setup_status(&self, processor_ref: &str) -> Result<SetupStatus, ProcessorError> {
        check_id(processor_ref, "seti_")?;
        let obj: SetupObject = self
            .call(
                reqwest::Method::GET,
                &format!("v1/setups/{processor_ref}"),
                None,
                None,
            )
            .await?;
        match (obj.status.as_str(), obj.method) {
            ("open", _) => Ok(SetupStatus::Open),
            ("succeeded", Some(m)) => {
                if m.last4.len() != 4 || !m.last4.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ProcessorError::InvalidResponse(
                        "card last4 is not four digits".into(),
                    ));
                }
                Ok(SetupStatus::Saved(SavedMethod {
                    method_ref: m.id,
                    brand: m.brand,
                    last4: m.last4,
                }))
            }
            ("canceled" | "expired", _) => Ok(SetupStatus::Closed),
            (other, _) => Err(ProcessorError::InvalidResponse(format!(
                "unknown setup status {other:?}"
            ))),
        }
    }

    async fn remove_method(
        &self,
        _customer: Option<&str>,
        method_ref: &str,
    ) -> Result<(), ProcessorError> {
        check_id(method_ref, "pm_")?;
        let done: Result<MethodObject, ProcessorError> = self
            .call(
                reqwest::Method::POST,
                &format!("v1/methods/{method_ref}/detach"),
                None,
                Some(&format!("detach-{method_ref}")),
            )
            .await;
        match done {
            // Already gone is what we wanted.
            Ok(_) | Err(ProcessorError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn charge_saved(&self, req: &ChargeRequest) -> Result<ChargeOutcome, ProcessorError> {
        check_id(&req.method_ref, "pm_")?;
        let body = CreateCharge {
            method: req.method_ref.clone(),
            amount: req.total.get(),
            currency: "usd".into(),
            description: req.description.clone(),
            reference: req.payment_id.clone(),
        };
        let obj: CheckoutObject = self
            .call(
                reqwest::Method::POST,
                "v1/charges",
                Some(&body),
                Some(&req.idempotency_key),
            )
            .await?;
        if obj.reference != req.payment_id || obj.amount != req.total.get() {
            return Err(ProcessorError::InvalidResponse(
                "charge does not match the request".into(),
            ));
        }
        if obj.status == "requires_action" {
            return Ok(ChargeOutcome::RequiresAction {
                processor_ref: obj.id,
            });
        }
        match obj.to_status().map_err(ProcessorError::InvalidResponse)? {
            CheckoutStatus::Succeeded(captured) => Ok(ChargeOutcome::Succeeded {
                processor_ref: obj.id,
                captured,
            }),
            CheckoutStatus::Failed(reason) => Ok(ChargeOutcome::Declined {
                processor_ref: Some(obj.id),
                reason,
            }),
            other => Err(ProcessorError::InvalidResponse(format!(
                "a charge left {other:?}"
            ))),
        }
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

    /// The sandbox completes every refund it makes; it says so when asked.
    async fn refund_status(
        &self,
        processor_refund_ref: &str,
    ) -> Result<RefundStatus, ProcessorError> {
        let resp = self.get_by_id("v1/refunds", processor_refund_ref).await?;
        let r: RefundObject = Self::read_json(resp).await?;
        match r.status.as_str() {
            _ if r.id != processor_refund_ref => {
                Err(ProcessorError::InvalidResponse("refund id mismatch".into()))
            }
            "succeeded" => Ok(RefundStatus::Succeeded),
            "failed" => Ok(RefundStatus::Failed {
                reason: "failed".into(),
            }),
            other => Err(ProcessorError::InvalidResponse(format!(
                "refund {} is {other}",
                r.id
            ))),
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
