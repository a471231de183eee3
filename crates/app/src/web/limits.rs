//! Who is asking (the client address, behind trusted proxies only) and how
//! often they may: per-address limits on bill look-ups, payment creation,
//! staff sign-in and enrolment, answered with a 429 page and `Retry-After`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::web::error::ErrorInfo;

/// An IPv4 or IPv6 network, `10.0.0.0/8` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("{a:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            Some(l) => l
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("bad prefix length {l:?}"))?,
            None => max,
        };
        Ok(Cidr { addr, len })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if self.len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.len))
                };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if self.len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.len))
                };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The client's address. `X-Forwarded-For` is believed only when the peer
/// is a configured trusted proxy, and only as far back as the chain of
/// trusted proxies goes (read right to left), so a client cannot choose its
/// own address by sending the header.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

pub fn client_ip(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[Cidr],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let Some(xff) = forwarded_for else {
        return Some(peer);
    };
    let mut client = peer;
    for hop in xff.rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    Some(client)
}

impl FromRequestParts<App> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let xff = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(ClientIp(client_ip(
            peer,
            xff,
            &app.config.limits.trusted_proxies,
        )))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Lookup,
    Payment,
    SignIn,
    Enrol,
}

/// Requests per minute for one address, with a burst of the same size.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub per_minute: u32,
}

struct Bucket {
    tokens: f64,
    at: Instant,
    /// Refused since its last accepted request (logged once, not per
    /// refusal, so a flood cannot flood the log).
    refusing: bool,
}

/// A refused request: how long until the next is accepted, and whether it
/// is the first refusal since the last accepted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub wait: Duration,
    pub first: bool,
}

/// A refused request is answered only after this long: a client that keeps
/// a thousand connections busy with refused sign-ins gets at most a
/// thousand answers a second, so the flood cannot take the processors from
/// everyone else.
pub const TARPIT: Duration = Duration::from_secs(1);

/// Token buckets per (class, address), in memory: each node limits what
/// reaches it (the staff sign-in throttle, in the database, is global).
pub struct Limiter {
    buckets: Mutex<HashMap<(Class, IpAddr), Bucket>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

impl Limiter {
    /// Takes one request, or says how long the address must wait.
    pub fn take(&self, class: Class, ip: IpAddr, rule: Rule, now: Instant) -> Result<(), Refused> {
        let capacity = f64::from(rule.per_minute.max(1));
        let rate = capacity / 60.0;
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() > 100_000 {
            // Forget full buckets rather than grow without bound.
            buckets
                .retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < capacity);
        }
        let b = buckets.entry((class, ip)).or_insert(Bucket {
            tokens: capacity,
            at: now,
            refusing: false,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            b.refusing = false;
            Ok(())
        } else {
            let first = !b.refusing;
            b.refusing = true;
            Err(Refused {
                wait: Duration::from_secs_f64(((1.0 - b.tokens) / rate).ceil()),
                first,
            })
        }
    }
}

/// The 429 answer.
pub fn too_many(wait: Duration) -> Response {
    let mut res = StatusCode::TOO_MANY_REQUESTS.into_response();
    res.extensions_mut().insert(ErrorInfo {
        title: "error-too-many-title",
        message: "error-too-many-text",
        correlation: None,
    });
    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// Checks the limit for `class` for the calling address: `Some(429 page)`,
/// after the [`TARPIT`] delay, when it is reached.
pub async fn check(app: &App, ip: Option<IpAddr>, class: Class) -> Option<Response> {
    let ip = ip?;
    let l = &app.config.limits;
    let rule = match class {
        Class::Lookup => l.lookup,
        Class::Payment => l.payment,
        Class::SignIn => l.sign_in,
        Class::Enrol => l.enrol,
    };
    let refused = app.limiter.take(class, ip, rule, Instant::now()).err()?;
    app.metrics.rate_limited.inc();
    if refused.first {
        tracing::warn!(?class, "rate limit reached");
    }
    tokio::time::sleep(TARPIT).await;
    Some(too_many(refused.wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.1.2.3")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(!c.contains(ip("::1")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        // Straight from the internet: the header is ignored.
        assert_eq!(
            client_ip(Some(ip("203.0.113.9")), Some("1.2.3.4"), &trusted),
            Some(ip("203.0.113.9"))
        );
        // Through our proxy: the last untrusted hop is the client, whatever
        // the client claimed before it.
        assert_eq!(
            client_ip(
                Some(ip("10.0.0.2")),
                Some("6.6.6.6, 198.51.100.7"),
                &trusted
            ),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(
                Some(ip("10.0.0.2")),
                Some("198.51.100.7, 10.0.0.5"),
                &trusted
            ),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), None, &trusted),
            Some(ip("10.0.0.2"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), Some("garbage"), &trusted),
            Some(ip("10.0.0.2"))
        );
        assert_eq!(client_ip(None, Some("1.2.3.4"), &trusted), None);
    }

    #[test]
    fn buckets_refill() {
        let l = Limiter::default();
        let rule = Rule { per_minute: 3 };
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert!(l.take(Class::Lookup, a, rule, t0).is_ok());
        }
        let refused = l.take(Class::Lookup, a, rule, t0).unwrap_err();
        assert_eq!(
            refused,
            Refused {
                wait: Duration::from_secs(20),
                first: true
            }
        );
        let again = l.take(Class::Lookup, a, rule, t0).unwrap_err();
        assert!(!again.first, "logged once per run of refusals");
        assert!(
            l.take(Class::Lookup, ip("192.0.2.2"), rule, t0).is_ok(),
            "per address"
        );
        assert!(l.take(Class::SignIn, a, rule, t0).is_ok(), "per class");
        assert!(
            l.take(Class::Lookup, a, rule, t0 + Duration::from_secs(20))
                .is_ok(),
            "refilled"
        );
        assert!(
            l.take(Class::Lookup, a, rule, t0 + Duration::from_secs(20))
                .unwrap_err()
                .first,
            "a new run of refusals"
        );
    }
}
