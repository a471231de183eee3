//! Webhook signatures in Stripe's scheme, which the sandbox copies: a header
//! (`Stripe-Signature`, `Sandbox-Signature`) holding
//! `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`, one `v1` per
//! active secret. A receiver accepts any secret it knows (rotation) within a
//! tolerance window around the timestamp (replays of old deliveries fail).

use hmac::Mac;

use crate::crypto::{HmacSha256, constant_time_eq};
use crate::processor::WebhookError;

pub const TOLERANCE_SECONDS: i64 = 300;

pub fn sign(secrets: &[&[u8]], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&hex::encode(mac(secret, timestamp, body)));
    }
    header
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> [u8; 32] {
    let mut m = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => return [0; 32],
    };
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().into()
}

/// Checks the signature header `name` of a request against every secret.
pub fn verify_request(
    headers: &axum::http::HeaderMap,
    name: &str,
    secrets: &[secrecy::SecretString],
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    use secrecy::ExposeSecret;
    let header = headers.get(name).and_then(|v| v.to_str().ok());
    let secrets: Vec<&[u8]> = secrets
        .iter()
        .map(|s| s.expose_secret().as_bytes())
        .collect();
    verify(header, &secrets, body, now)
}

/// Checks `header` against every secret; `now` is Unix seconds.
pub fn verify(
    header: Option<&str>,
    secrets: &[&[u8]],
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::MissingSignature)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(WebhookError::MalformedSignature)?;
        match k {
            "t" => {
                timestamp = Some(
                    v.parse::<i64>()
                        .map_err(|_| WebhookError::MalformedSignature)?,
                )
            }
            "v1" => {
                let bytes = hex::decode(v).map_err(|_| WebhookError::MalformedSignature)?;
                candidates.push(bytes);
            }
            // Other schemes (v0, future versions) are ignored, as Stripe does.
            _ => {}
        }
    }
    let t = timestamp.ok_or(WebhookError::MalformedSignature)?;
    if candidates.is_empty() {
        return Err(WebhookError::MalformedSignature);
    }
    // Check the signature first so a forged request learns nothing about
    // the clock.
    let ok = secrets.iter().any(|s| {
        let expected = mac(s, t, body);
        candidates.iter().any(|c| constant_time_eq(c, &expected))
    });
    if !ok {
        return Err(WebhookError::BadSignature);
    }
    if (now - t).abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::StaleTimestamp);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S1: &[u8] = b"whsec_first_secret_value";
    const S2: &[u8] = b"whsec_second_secret_value";

    #[test]
    fn good_signature_passes() {
        let h = sign(&[S1], 1_000, b"{}");
        assert_eq!(verify(Some(&h), &[S1], b"{}", 1_000), Ok(()));
        assert_eq!(verify(Some(&h), &[S1], b"{}", 1_300), Ok(()));
    }

    #[test]
    fn rotation_accepts_either_secret() {
        let old = sign(&[S1], 1_000, b"x");
        let new = sign(&[S2], 1_000, b"x");
        assert_eq!(verify(Some(&old), &[S2, S1], b"x", 1_000), Ok(()));
        assert_eq!(verify(Some(&new), &[S2, S1], b"x", 1_000), Ok(()));
        let both = sign(&[S1, S2], 1_000, b"x");
        assert_eq!(verify(Some(&both), &[S2], b"x", 1_000), Ok(()));
    }

    #[test]
    fn forged_stale_and_malformed_fail() {
        let h = sign(&[S1], 1_000, b"{}");
        assert_eq!(
            verify(Some(&h), &[S2], b"{}", 1_000),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(Some(&h), &[S1], b"{ }", 1_000),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(Some(&h), &[S1], b"{}", 1_301),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(
            verify(Some(&h), &[S1], b"{}", 699),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(
            verify(None, &[S1], b"{}", 1_000),
            Err(WebhookError::MissingSignature)
        );
        assert_eq!(
            verify(Some("t=1000"), &[S1], b"{}", 1_000),
            Err(WebhookError::MalformedSignature)
        );
        assert_eq!(
            verify(Some("v1=00"), &[S1], b"{}", 1_000),
            Err(WebhookError::MalformedSignature)
        );
        assert_eq!(
            verify(Some("garbage"), &[S1], b"{}", 1_000),
            Err(WebhookError::MalformedSignature)
        );
        assert_eq!(
            verify(Some("t=x,v1=00"), &[S1], b"{}", 1_000),
            Err(WebhookError::MalformedSignature)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_headers_never_verify(h in "\\PC{0,120}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert!(verify(Some(&h), &[S1], &body, 1_000).is_err());
        }
    }
}
