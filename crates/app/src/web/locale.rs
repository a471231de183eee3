//! The language of a resident page: the link on every page adds
//! `?lang=es` (or `en`), which wins and is remembered in a cookie (HttpOnly,
//! SameSite=Lax, and `__Host-` and Secure over TLS, like the session
//! cookie); without it the cookie decides, then the browser's
//! `Accept-Language`, then English. No JavaScript is involved.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::App;
use crate::i18n::Locale;
use crate::web::error::WebError;

/// A year: a resident who chose Spanish should not have to choose again
/// next month.
const COOKIE_MAX_AGE: u32 = 365 * 24 * 60 * 60;

/// Where a page's language came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `?lang=` on this request: the resident just chose it.
    Query,
    Cookie,
    AcceptLanguage,
    Default,
}

/// The language of this request's page, and what the language link needs.
#[derive(Debug, Clone)]
pub struct PageLocale {
    pub locale: Locale,
    pub source: Source,
    /// The path the language link points back to.
    path: String,
}

impl PageLocale {
    /// The same page in another language (a receipt is shown in the
    /// language it was paid in).
    pub fn with_locale(&self, locale: Locale) -> PageLocale {
        PageLocale {
            locale,
            ..self.clone()
        }
    }

    /// The link to this page in the other language. Only a plain path of
    /// ours goes into it; anything odd (`//host`, `/\host`, characters our
    /// routes never use) links to the start page instead, so an error page
    /// for a crafted URL cannot carry a link to another site.
    pub fn switch_href(&self) -> String {
        let lang = self.locale.other().code();
        let p = self.path.as_str();
        let plain = p.starts_with('/')
            && !p.starts_with("//")
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
        let path = if plain { p } else { "/" };
        format!("{path}?lang={lang}")
    }
}

fn cookie_name(app: &App) -> &'static str {
    if app.config.is_tls() {
        "__Host-ct_lang"
    } else {
        "ct_lang"
    }
}

fn from_query(query: Option<&str>) -> Option<Locale> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs
        .iter()
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| match v.as_str() {
            "en" => Some(Locale::En),
            "es" => Some(Locale::Es),
            _ => None,
        })
}

fn from_cookie(headers: &HeaderMap, name: &str) -> Option<Locale> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| match v {
            "en" => Some(Locale::En),
            "es" => Some(Locale::Es),
            _ => None,
        })
}

/// Chooses the language, in order: `?lang=`, the cookie, `Accept-Language`,
/// English.
pub fn choose(headers: &HeaderMap, query: Option<&str>, cookie: &str) -> (Locale, Source) {
    if let Some(l) = from_query(query) {
        return (l, Source::Query);
    }
    if let Some(l) = from_cookie(headers, cookie) {
        return (l, Source::Cookie);
    }
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::negotiate);
    match accepted {
        Some(l) => (l, Source::AcceptLanguage),
        None => (Locale::default(), Source::Default),
    }
}

/// Gives every resident page request its [`PageLocale`], and remembers a
/// language chosen with `?lang=`.
pub async fn resident_locale(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let name = cookie_name(&app);
    let (locale, source) = choose(req.headers(), req.uri().query(), name);
    let remembered = from_cookie(req.headers(), name);
    let path = req.uri().path().to_owned();
    req.extensions_mut().insert(PageLocale {
        locale,
        source,
        path,
    });
    let mut res = next.run(req).await;
    if source == Source::Query && remembered != Some(locale) {
        let secure = if app.config.is_tls() { "; Secure" } else { "" };
        let cookie = format!(
            "{name}={}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax{secure}",
            locale.code()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    // The same URL answers in either language.
    res.headers_mut().append(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    res
}

impl<S: Send + Sync> FromRequestParts<S> for PageLocale {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<PageLocale>()
            .cloned()
            .ok_or(WebError::Internal("locale layer missing".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn query_beats_cookie_beats_accept_language_beats_default() {
        let all = headers(&[("cookie", "a=b; ct_lang=en"), ("accept-language", "es")]);
        assert_eq!(
            choose(&all, Some("lang=es"), "ct_lang"),
            (Locale::Es, Source::Query)
        );
        assert_eq!(choose(&all, None, "ct_lang"), (Locale::En, Source::Cookie));
        let no_cookie = headers(&[("accept-language", "fr, es-MX;q=0.8, en;q=0.5")]);
        assert_eq!(
            choose(&no_cookie, None, "ct_lang"),
            (Locale::Es, Source::AcceptLanguage)
        );
        assert_eq!(
            choose(&headers(&[("accept-language", "fr, de")]), None, "ct_lang"),
            (Locale::En, Source::Default)
        );
        assert_eq!(
            choose(&HeaderMap::new(), None, "ct_lang"),
            (Locale::En, Source::Default)
        );
    }

    #[test]
    fn unknown_values_are_ignored() {
        let h = headers(&[("cookie", "ct_lang=fr"), ("accept-language", "es")]);
        assert_eq!(
            choose(&h, Some("lang=fr"), "ct_lang"),
            (Locale::Es, Source::AcceptLanguage)
        );
        // Another cookie's name is not ours.
        let h = headers(&[("cookie", "xct_lang=es")]);
        assert_eq!(
            choose(&h, Some("x=1"), "ct_lang"),
            (Locale::En, Source::Default)
        );
    }

    #[test]
    fn the_language_link_stays_on_this_site() {
        let at = |path: &str| PageLocale {
            locale: Locale::En,
            source: Source::Default,
            path: path.to_owned(),
        };
        assert_eq!(at("/pay/utilities").switch_href(), "/pay/utilities?lang=es");
        assert_eq!(at("//evil.example/x").switch_href(), "/?lang=es");
        assert_eq!(at("/\\evil.example").switch_href(), "/?lang=es");
        assert_eq!(at("/a\"><b").switch_href(), "/?lang=es");
        let es = at("/").with_locale(Locale::Es);
        assert_eq!(es.switch_href(), "/?lang=en");
    }
}
