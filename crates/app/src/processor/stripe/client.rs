//! A small typed HTTP client for Stripe's API: bearer auth, form-encoded
//! POSTs that always carry an `Idempotency-Key`, retries with backoff on
//! timeouts, connection failures, 429 and 5xx (the same key every time, so
//! a retry can never make a second charge or refund), and every Stripe
//! error mapped into [`ProcessorError`].

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::wire::{ErrorResponse, Form};
use crate::processor::ProcessorError;

/// Stripe's API version our wire types are written against.
pub const API_VERSION: &str = "2024-06-20";

#[derive(Clone)]
pub struct Client {
    base: Url,
    secret_key: SecretString,
    http: crate::net::Outbound,
    /// Waits before the second, third, … attempt.
    backoff: Vec<Duration>,
}

/// What went wrong with one attempt, and whether another may help.
enum Attempt {
    Retry(ProcessorError),
    Fail(ProcessorError),
}

impl Client {
    pub fn new(
        base: Url,
        secret_key: SecretString,
        timeout: Duration,
        backoff: Vec<Duration>,
    ) -> Result<Client, ProcessorError> {
        let host = base.host_str().unwrap_or_default().to_owned();
        let http = crate::net::Outbound::new([host], timeout)
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?;
        Ok(Client {
            base,
            secret_key,
            http,
            backoff,
        })
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url, ProcessorError> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| ProcessorError::InvalidResponse(e.to_string()))?;
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// `POST` with the idempotency key Stripe uses to answer a repeated
    /// request with the first one's result.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &Form,
        idempotency_key: &str,
    ) -> Result<T, ProcessorError> {
        let url = self.url(path, &[])?;
        let body = form.encode();
        self.with_retries(|| {
            self.http
                .request(reqwest::Method::POST, url.clone())
                .map(|r| {
                    r.header("Idempotency-Key", idempotency_key)
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .body(body.clone())
                })
        })
        .await
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ProcessorError> {
        let url = self.url(path, query)?;
        self.with_retries(|| self.http.request(reqwest::Method::GET, url.clone()))
            .await
    }

    async fn with_retries<T, F>(&self, build: F) -> Result<T, ProcessorError>
    where
        T: DeserializeOwned,
        F: Fn() -> Result<reqwest::RequestBuilder, crate::net::OutboundError>,
    {
        let mut waits = self.backoff.iter();
        loop {
            let req = build()
                .map_err(|e| ProcessorError::Unavailable(e.to_string()))?
                .bearer_auth(self.secret_key.expose_secret())
                .header("Stripe-Version", API_VERSION);
            let outcome = match req.send().await {
                Ok(resp) => read(resp).await,
                // Timeouts, refused connections, broken bodies: the request
                // may or may not have reached Stripe; the same key makes
                // asking again safe.
                Err(e) => Err(Attempt::Retry(ProcessorError::Unavailable(
                    e.without_url().to_string(),
                ))),
            };
            match outcome {
                Ok(v) => return Ok(v),
                Err(Attempt::Fail(e)) => return Err(e),
                Err(Attempt::Retry(e)) => match waits.next() {
                    Some(wait) => {
                        tracing::warn!(error = %e, "Stripe request failed; retrying with the same idempotency key");
                        tokio::time::sleep(*wait).await;
                    }
                    None => return Err(e),
                },
            }
        }
    }
}

async fn read<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, Attempt> {
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| Attempt::Retry(ProcessorError::Unavailable(e.without_url().to_string())))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| Attempt::Fail(ProcessorError::InvalidResponse(e.to_string())));
    }
    let body = serde_json::from_slice::<ErrorResponse>(&bytes).ok();
    Err(classify(status.as_u16(), body))
}

/// Stripe's status codes and error types, every one decided: retry (the
/// same key), not found, or refused for good.
fn classify(status: u16, body: Option<ErrorResponse>) -> Attempt {
    let (kind, code, message) = match &body {
        Some(b) => (
            b.error.kind.clone().unwrap_or_default(),
            b.error
                .decline_code
                .clone()
                .or_else(|| b.error.code.clone())
                .unwrap_or_default(),
            b.error.message.clone().unwrap_or_default(),
        ),
        None => (String::new(), String::new(), String::new()),
    };
    let unavailable = |what: &str| {
        Attempt::Retry(ProcessorError::Unavailable(format!(
            "Stripe answered HTTP {status} ({what})"
        )))
    };
    match status {
        // Rate limited, or a request with this key is still in flight at
        // Stripe (`idempotency_error` with 409 means "in progress").
        429 => unavailable("rate limited"),
        409 if kind == "idempotency_error" && code.is_empty() => unavailable("request in progress"),
        500..=599 => unavailable("server error"),
        404 if kind != "card_error" => Attempt::Fail(ProcessorError::NotFound),
        401 | 403 => Attempt::Fail(ProcessorError::Rejected {
            code: "authentication_error".into(),
            message: "Stripe refused the API key".into(),
        }),
        _ => match kind.as_str() {
            "card_error" | "invalid_request_error" | "idempotency_error" => {
                Attempt::Fail(ProcessorError::Rejected {
                    code: if code.is_empty() { kind } else { code },
                    message,
                })
            }
            "api_error" => unavailable("api_error"),
            "rate_limit_error" => unavailable("rate_limit_error"),
            _ => Attempt::Fail(ProcessorError::InvalidResponse(format!(
                "HTTP {status} with an unrecognised error body"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processor::stripe::wire::ErrorBody;

    fn body(kind: &str, code: Option<&str>, decline: Option<&str>) -> Option<ErrorResponse> {
        Some(ErrorResponse {
            error: ErrorBody {
                kind: Some(kind.into()),
                code: code.map(Into::into),
                decline_code: decline.map(Into::into),
                message: Some("m".into()),
                payment_intent: None,
            },
        })
    }

    fn retried(a: Attempt) -> bool {
        matches!(a, Attempt::Retry(ProcessorError::Unavailable(_)))
    }

    #[test]
    fn transient_answers_are_retried() {
        assert!(retried(classify(429, body("rate_limit_error", None, None))));
        assert!(retried(classify(500, None)));
        assert!(retried(classify(503, body("api_error", None, None))));
        assert!(retried(classify(
            409,
            body("idempotency_error", None, None)
        )));
    }

    #[test]
    fn refusals_are_final_and_keep_stripes_code() {
        match classify(
            402,
            body(
                "card_error",
                Some("card_declined"),
                Some("insufficient_funds"),
            ),
        ) {
            Attempt::Fail(ProcessorError::Rejected { code, .. }) => {
                assert_eq!(code, "insufficient_funds")
            }
            _ => panic!("a decline is final"),
        }
        match classify(
            400,
            body("invalid_request_error", Some("parameter_missing"), None),
        ) {
            Attempt::Fail(ProcessorError::Rejected { code, .. }) => {
                assert_eq!(code, "parameter_missing")
            }
            _ => panic!("a bad request is final"),
        }
        // A key reused with different parameters is our bug: never retried.
        assert!(matches!(
            classify(
                400,
                body("idempotency_error", Some("idempotency_key_in_use"), None)
            ),
            Attempt::Fail(ProcessorError::Rejected { .. })
        ));
        assert!(matches!(
            classify(401, body("authentication_error", None, None)),
            Attempt::Fail(ProcessorError::Rejected { .. })
        ));
        assert!(matches!(
            classify(
                404,
                body("invalid_request_error", Some("resource_missing"), None)
            ),
            Attempt::Fail(ProcessorError::NotFound)
        ));
        assert!(matches!(
            classify(418, None),
            Attempt::Fail(ProcessorError::InvalidResponse(_))
        ));
    }
}
