//! The payment-page integrity monitor (PCI DSS 11.6.1): fetches the pages
//! on the payment path as any outside client would, records what matters
//! for a skimming attack (security headers, every script, frame, stylesheet
//! and form target, inline event handlers, `javascript:` URLs, the hash of
//! every asset the pages load), and compares that with a signed baseline.
//!
//! It runs as `cityteller monitor check` (from cron on another host) or on
//! a schedule inside `serve`; any difference is an alert.

pub mod html;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use crate::net::Outbound;

/// The headers whose weakening matters.
const HEADERS: &[&str] = &[
    "content-security-policy",
    "strict-transport-security",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
];

/// Pages fetched at most (the start page and what it links to on the
/// payment path).
const MAX_PAGES: usize = 20;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PageRecord {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// `src` of each script, or `inline:sha256` of its text.
    pub scripts: Vec<String>,
    pub frames: Vec<String>,
    /// `rel href` of each `<link>`.
    pub links: Vec<String>,
    pub form_actions: Vec<String>,
    /// `tag attribute` of each inline event handler.
    pub handlers: Vec<String>,
    pub javascript_urls: Vec<String>,
    pub objects: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Snapshot {
    /// By path (same-origin URLs are kept as paths so a baseline taken on
    /// one address compares with a check run on another).
    pub pages: BTreeMap<String, PageRecord>,
    /// Same-origin assets the pages load: path → sha256.
    pub assets: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub url: String,
    pub taken_at: String,
    pub snapshot: Snapshot,
    pub key_id: String,
    pub signature: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("cannot fetch {0}: {1}")]
    Fetch(String, String),
    #[error("baseline {0}: {1}")]
    Baseline(String, String),
    #[error("the baseline's signature does not verify: it was changed or signed with another key")]
    BadSignature,
}

fn normalise(base: &Url, raw: &str) -> String {
    match base.join(raw) {
        Ok(u) if u.origin() == base.origin() => {
            let mut p = u.path().to_owned();
            if let Some(q) = u.query() {
                p.push('?');
                p.push_str(q);
            }
            p
        }
        Ok(u) => u.to_string(),
        Err(_) => raw.to_owned(),
    }
}

fn sha256_b64(data: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(data))
}

async fn fetch(
    client: &Outbound,
    url: Url,
) -> Result<(u16, BTreeMap<String, String>, Vec<u8>), MonitorError> {
    let shown = url.to_string();
    let resp = client
        .request(reqwest::Method::GET, url)
        .map_err(|e| MonitorError::Fetch(shown.clone(), e.to_string()))?
        .send()
        .await
        .map_err(|e| MonitorError::Fetch(shown.clone(), e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let mut headers = BTreeMap::new();
    for h in HEADERS {
        let v = resp
            .headers()
            .get(*h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(absent)");
        headers.insert((*h).to_owned(), v.to_owned());
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| MonitorError::Fetch(shown, e.without_url().to_string()))?;
    Ok((status, headers, body.to_vec()))
}

/// Fetches the start page, the payment-path pages it links to, and their
/// assets.
pub async fn snapshot(client: &Outbound, base: &Url) -> Result<Snapshot, MonitorError> {
    let mut snap = Snapshot::default();
    let mut queue = vec!["/".to_owned()];
    let mut asset_paths = Vec::new();
    while let Some(path) = queue.pop() {
        if snap.pages.contains_key(&path) || snap.pages.len() >= MAX_PAGES {
            continue;
        }
        let url = base
            .join(&path)
            .map_err(|e| MonitorError::Fetch(path.clone(), e.to_string()))?;
        let (status, headers, body) = fetch(client, url).await?;
        let text = String::from_utf8_lossy(&body);
        let mut page = PageRecord {
            status,
            headers,
            ..PageRecord::default()
        };
        for t in html::tags(&text) {
            for (k, v) in &t.attrs {
                if k.starts_with("on") {
                    page.handlers.push(format!("{} {k}", t.name));
                }
                if v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("javascript:")
                {
                    page.javascript_urls.push(format!("{} {k}", t.name));
                }
            }
            match t.name.as_str() {
                "script" => match t.attr("src") {
                    Some(src) => {
                        let n = normalise(base, src);
                        if n.starts_with('/') {
                            asset_paths.push(n.clone());
                        }
                        page.scripts.push(n);
                    }
                    None => page.scripts.push(format!(
                        "inline:{}",
                        sha256_b64(t.text.unwrap_or_default().as_bytes())
                    )),
                },
                "iframe" | "frame" => page
                    .frames
                    .push(normalise(base, t.attr("src").unwrap_or(""))),
                "object" | "embed" | "applet" => page.objects.push(t.name.clone()),
                "link" => {
                    let href = normalise(base, t.attr("href").unwrap_or(""));
                    if href.starts_with('/') {
                        asset_paths.push(href.clone());
                    }
                    page.links
                        .push(format!("{} {href}", t.attr("rel").unwrap_or("")));
                }
                "img" => {
                    if let Some(src) = t.attr("src") {
                        let n = normalise(base, src);
                        if n.starts_with('/') {
                            asset_paths.push(n);
                        }
                    }
                }
                "form" => page
                    .form_actions
                    .push(normalise(base, t.attr("action").unwrap_or(""))),
                "a" => {
                    // Follow the payment path: the department pages.
                    let href = normalise(base, t.attr("href").unwrap_or(""));
                    if href.starts_with("/pay/") && !href.contains("/receipt/") {
                        queue.push(href);
                    }
                }
                _ => {}
            }
        }
        snap.pages.insert(path, page);
    }
    asset_paths.sort();
    asset_paths.dedup();
    for a in asset_paths {
        let url = base
            .join(&a)
            .map_err(|e| MonitorError::Fetch(a.clone(), e.to_string()))?;
        let (status, _, body) = fetch(client, url).await?;
        snap.assets
            .insert(a, format!("{status} {}", sha256_b64(&body)));
    }
    Ok(snap)
}

fn signed_bytes(url: &str, snap: &Snapshot) -> Vec<u8> {
    let mut out = b"cityteller-monitor-baseline-v1\n".to_vec();
    out.extend_from_slice(url.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(serde_json::to_string(snap).unwrap_or_default().as_bytes());
    out
}

pub fn sign_baseline(
    key: &SigningKey,
    url: &Url,
    snap: Snapshot,
    taken_at: jiff::Timestamp,
) -> Baseline {
    let sig = key.sign(&signed_bytes(url.as_str(), &snap));
    Baseline {
        version: 1,
        url: url.to_string(),
        taken_at: taken_at.to_string(),
        snapshot: snap,
        key_id: crate::audit::checkpoint::key_id(&key.verifying_key()),
        signature: STANDARD.encode(sig.to_bytes()),
    }
}

pub fn verify_baseline(b: &Baseline, key: &VerifyingKey) -> Result<(), MonitorError> {
    let bytes = STANDARD
        .decode(&b.signature)
        .map_err(|_| MonitorError::BadSignature)?;
    let sig = Signature::from_slice(&bytes).map_err(|_| MonitorError::BadSignature)?;
    key.verify(&signed_bytes(&b.url, &b.snapshot), &sig)
        .map_err(|_| MonitorError::BadSignature)
}

/// Every difference, one readable line each.
pub fn diff(baseline: &Snapshot, now: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for (path, old) in &baseline.pages {
        let Some(new) = now.pages.get(path) else {
            out.push(format!(
                "page {path}: no longer linked from the payment path"
            ));
            continue;
        };
        if old.status != new.status {
            out.push(format!(
                "page {path}: status {} → {}",
                old.status, new.status
            ));
        }
        for (h, v) in &old.headers {
            let nv = new.headers.get(h).map(String::as_str).unwrap_or("(absent)");
            if v != nv {
                out.push(format!("page {path}: header {h} changed: {v:?} → {nv:?}"));
            }
        }
        let lists: [(&str, &Vec<String>, &Vec<String>); 7] = [
            ("script", &old.scripts, &new.scripts),
            ("frame", &old.frames, &new.frames),
            ("link", &old.links, &new.links),
            ("form action", &old.form_actions, &new.form_actions),
            ("inline event handler", &old.handlers, &new.handlers),
            (
                "javascript: URL",
                &old.javascript_urls,
                &new.javascript_urls,
            ),
            ("embedded object", &old.objects, &new.objects),
        ];
        for (what, a, b) in lists {
            for x in b.iter().filter(|x| !a.contains(x)) {
                out.push(format!("page {path}: new {what} {x}"));
            }
            for x in a.iter().filter(|x| !b.contains(x)) {
                out.push(format!("page {path}: {what} gone: {x}"));
            }
        }
    }
    for path in now
        .pages
        .keys()
        .filter(|p| !baseline.pages.contains_key(*p))
    {
        out.push(format!("page {path}: new page on the payment path"));
    }
    for (a, h) in &baseline.assets {
        match now.assets.get(a) {
            None => out.push(format!("asset {a}: no longer loaded")),
            Some(n) if n != h => out.push(format!("asset {a} changed: {h} → {n}")),
            Some(_) => {}
        }
    }
    for a in now
        .assets
        .keys()
        .filter(|a| !baseline.assets.contains_key(*a))
    {
        out.push(format!("asset {a}: newly loaded"));
    }
    out
}

/// An HTTP client for the monitor: the site's host and the alert
/// webhook's, nothing else.
pub fn client(site: &Url, alert: Option<&Url>) -> Result<Outbound, MonitorError> {
    let mut hosts = vec![site.host_str().unwrap_or_default().to_owned()];
    if let Some(a) = alert {
        hosts.push(a.host_str().unwrap_or_default().to_owned());
    }
    Outbound::new(hosts, Duration::from_secs(20))
        .map_err(|e| MonitorError::Fetch(site.to_string(), e.to_string()))
}

/// Reads a baseline file and checks its signature.
pub fn load_baseline(path: &std::path::Path, key: &VerifyingKey) -> Result<Baseline, MonitorError> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| MonitorError::Baseline(label.clone(), e.to_string()))?;
    let b: Baseline =
        serde_json::from_str(&text).map_err(|e| MonitorError::Baseline(label, e.to_string()))?;
    verify_baseline(&b, key)?;
    Ok(b)
}

/// Fetches the site now and lists what differs from the baseline.
pub async fn check(
    client: &Outbound,
    site: &Url,
    baseline: &Baseline,
) -> Result<Vec<String>, MonitorError> {
    let now = snapshot(client, site).await?;
    Ok(diff(&baseline.snapshot, &now))
}

/// The check `serve` runs on a schedule: differences are logged, recorded
/// in the audit log and sent to the alert webhook.
pub async fn scheduled(app: &crate::app::App) {
    use crate::audit::{self, Actor, Event, Outcome};
    let Some(key) = app
        .keys
        .audit_signing
        .as_ref()
        .map(SigningKey::verifying_key)
    else {
        tracing::warn!("monitor: no audit_signing_key to check the baseline with");
        return;
    };
    let cfg = &app.config.monitor;
    let result = async {
        let baseline = load_baseline(&cfg.baseline, &key)?;
        let c = client(&cfg.url, cfg.alert_webhook.as_ref())?;
        let changes = check(&c, &cfg.url, &baseline).await?;
        Ok::<_, MonitorError>((c, changes))
    }
    .await;
    let (outcome, changes, error) = match result {
        Ok((_, changes)) if changes.is_empty() => {
            tracing::info!("monitor: payment pages match the baseline");
            return;
        }
        Ok((c, changes)) => {
            for line in &changes {
                tracing::error!(change = %line, "monitor: payment page changed");
            }
            if let Some(hook) = &cfg.alert_webhook
                && let Err(e) = alert(&c, hook, &cfg.url, &changes).await
            {
                tracing::error!(error = %e, "monitor: alert webhook failed");
            }
            (Outcome::Failure, changes, None)
        }
        Err(e) => {
            tracing::error!(error = %e, "monitor: check could not run");
            (Outcome::Failure, Vec::new(), Some(e.to_string()))
        }
    };
    let record = async {
        let mut tx = app.db.begin().await?;
        audit::record(
            &mut tx,
            app.now(),
            Event {
                actor: &Actor::System("monitor"),
                action: "monitor.alert",
                target: Some(format!("site:{}", cfg.url)),
                outcome,
                source_ip: None,
                details: serde_json::json!({ "changes": changes, "error": error }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok::<(), crate::store::StoreError>(())
    };
    if let Err(e) = record.await {
        tracing::error!(error = %e, "monitor: could not record the alert");
    }
}

/// Sends the differences to the alert webhook as JSON.
pub async fn alert(
    client: &Outbound,
    webhook: &Url,
    site: &Url,
    changes: &[String],
) -> Result<(), MonitorError> {
    let body = serde_json::json!({
        "source": "cityteller monitor",
        "site": site.to_string(),
        "changes": changes,
    });
    let resp = client
        .request(reqwest::Method::POST, webhook.clone())
        .map_err(|e| MonitorError::Fetch(webhook.to_string(), e.to_string()))?
        .json(&body)
        .send()
        .await
        .map_err(|e| MonitorError::Fetch(webhook.to_string(), e.without_url().to_string()))?;
    if !resp.status().is_success() {
        return Err(MonitorError::Fetch(
            webhook.to_string(),
            format!("HTTP {}", resp.status()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_readable() {
        let mut a = Snapshot::default();
        let mut page = PageRecord {
            status: 200,
            ..PageRecord::default()
        };
        page.headers
            .insert("content-security-policy".into(), "script-src 'none'".into());
        page.form_actions.push("/pay/utilities".into());
        a.pages.insert("/pay/utilities".into(), page.clone());
        a.assets.insert("/static/app.css".into(), "200 abc".into());
        let mut b = a.clone();
        assert!(diff(&a, &b).is_empty());
        let p = b.pages.get_mut("/pay/utilities").unwrap();
        p.scripts.push("https://evil.example/skim.js".into());
        p.form_actions = vec!["https://evil.example/collect".into()];
        p.headers
            .insert("content-security-policy".into(), "(absent)".into());
        b.assets.insert("/static/app.css".into(), "200 def".into());
        let d = diff(&a, &b);
        assert!(
            d.contains(&"page /pay/utilities: new script https://evil.example/skim.js".to_string()),
            "{d:?}"
        );
        assert!(d.contains(
            &"page /pay/utilities: new form action https://evil.example/collect".to_string()
        ));
        assert!(d.contains(&"page /pay/utilities: form action gone: /pay/utilities".to_string()));
        assert!(
            d.iter()
                .any(|l| l.contains("header content-security-policy changed"))
        );
        assert!(d.contains(&"asset /static/app.css changed: 200 abc → 200 def".to_string()));
    }

    #[test]
    fn baselines_are_signed() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let url = Url::parse("https://pay.example/").unwrap();
        let mut b = sign_baseline(&key, &url, Snapshot::default(), jiff::Timestamp::UNIX_EPOCH);
        assert!(verify_baseline(&b, &key.verifying_key()).is_ok());
        b.snapshot.assets.insert("/x".into(), "y".into());
        assert!(verify_baseline(&b, &key.verifying_key()).is_err());
        let other = SigningKey::from_bytes(&[8; 32]);
        let b = sign_baseline(
            &other,
            &url,
            Snapshot::default(),
            jiff::Timestamp::UNIX_EPOCH,
        );
        assert!(verify_baseline(&b, &key.verifying_key()).is_err());
    }
}
