//! Security headers, written by one layer on every response (pages, errors,
//! 404s, redirects, static files) of every listener.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// What differs between listeners.
#[derive(Debug, Clone)]
pub struct HeaderPolicy {
    /// Origins besides our own that forms may submit to (or redirect a form
    /// submission to): the processor's hosted page.
    pub form_targets: Vec<String>,
    /// Send HSTS (only when served over TLS).
    pub hsts: bool,
}

impl HeaderPolicy {
    pub fn csp(&self) -> String {
        let mut form_action = String::from("'self'");
        for o in &self.form_targets {
            form_action.push(' ');
            form_action.push_str(o);
        }
        format!(
            "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; \
             font-src 'self'; connect-src 'none'; object-src 'none'; base-uri 'none'; \
             frame-ancestors 'none'; form-action {form_action}"
        )
    }

    pub fn apply(&self, headers: &mut HeaderMap) {
        let mut set = |name: HeaderName, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        };
        set(header::CONTENT_SECURITY_POLICY, &self.csp());
        set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        set(header::X_FRAME_OPTIONS, "DENY");
        // `same-origin` rather than `no-referrer`: with no-referrer browsers
        // send `Origin: null` on form posts, which defeats the origin check.
        set(header::REFERRER_POLICY, "same-origin");
        set(
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
        );
        set(
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        );
        set(
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        );
        if self.hsts {
            set(
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=63072000; includeSubDomains",
            );
        }
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
}

pub async fn security_headers(
    State(policy): State<std::sync::Arc<HeaderPolicy>>,
    req: Request,
    next: Next,
) -> Response {
    let mut res = next.run(req).await;
    policy.apply(res.headers_mut());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_forbids_scripts_and_names_the_processor() {
        let p = HeaderPolicy {
            form_targets: vec!["https://pay.example".into()],
            hsts: true,
        };
        let csp = p.csp();
        assert!(csp.contains("script-src 'none'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.ends_with("form-action 'self' https://pay.example"));
        let mut h = HeaderMap::new();
        p.apply(&mut h);
        assert!(h.contains_key(header::STRICT_TRANSPORT_SECURITY));
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        let plain = HeaderPolicy {
            form_targets: vec![],
            hsts: false,
        };
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        );
        plain.apply(&mut h);
        assert!(!h.contains_key(header::STRICT_TRANSPORT_SECURITY));
        assert_eq!(h[header::CACHE_CONTROL], "public, max-age=60");
    }
}
