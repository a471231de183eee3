//! Outbound HTTP: only to the hosts the configuration names (the
//! processor, the monitor's alert webhook). A compromised process cannot use
//! our client to send data anywhere else, and redirects are never followed.

use std::collections::BTreeSet;
use std::time::Duration;

use url::Url;

#[derive(Clone)]
pub struct Outbound {
    allowed: BTreeSet<String>,
    client: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("outbound request to {0} refused: not an allowed host")]
    NotAllowed(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl Outbound {
    /// `hosts` are host names or addresses, compared case-insensitively.
    pub fn new<I: IntoIterator<Item = String>>(
        hosts: I,
        timeout: Duration,
    ) -> Result<Outbound, OutboundError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OutboundError::Client(e.to_string()))?;
        Ok(Outbound {
            allowed: hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
            client,
        })
    }

    pub fn allows(&self, url: &Url) -> bool {
        url.host_str()
            .map(|h| self.allowed.contains(&h.to_ascii_lowercase()))
            .unwrap_or(false)
    }

    /// A request builder, or an error if `url` is not on an allowed host.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: Url,
    ) -> Result<reqwest::RequestBuilder, OutboundError> {
        if !self.allows(&url) {
            tracing::error!(
                host = url.host_str().unwrap_or(""),
                "outbound request to a host not in the allow-list"
            );
            return Err(OutboundError::NotAllowed(
                url.host_str().unwrap_or("(none)").to_owned(),
            ));
        }
        Ok(self.client.request(method, url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_hosts() {
        let o = Outbound::new(
            ["Pay.Example".to_string(), "127.0.0.1".to_string()],
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(o.allows(&Url::parse("https://pay.example/v1/x").unwrap()));
        assert!(o.allows(&Url::parse("http://127.0.0.1:8090/").unwrap()));
        assert!(!o.allows(&Url::parse("https://evil.example/").unwrap()));
        assert!(!o.allows(&Url::parse("https://pay.example.evil.example/").unwrap()));
        assert!(
            o.request(
                reqwest::Method::GET,
                Url::parse("https://evil.example/").unwrap()
            )
            .is_err()
        );
    }
}
