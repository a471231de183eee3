//! Signing in (password and a code, every time) and out.

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::auth::{
    Staff, StaffCookies, StaffForm, clear_session_cookie, cookies_of, csrf_token, need,
    set_session_cookie,
};
use crate::app::App;
use crate::services::staff_auth::{self, SignInError};
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::limits::{self, Class};
use crate::web::pages::{Chrome, render_status};

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginPage<'a> {
    chrome: Chrome<'a>,
    csrf: String,
    email: &'a str,
    error: Option<String>,
    next: &'a str,
}

/// Only paths on this console: never another site (no open redirect).
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains(['\r', '\n'])
        && !next.starts_with("/login");
    if ok { next } else { "/" }
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// The cookies, from the staff cookie layer.
pub struct Cookies(pub StaffCookies);

impl axum::extract::FromRequestParts<App> for Cookies {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &App,
    ) -> Result<Self, Self::Rejection> {
        cookies_of(parts).map(Cookies)
    }
}

fn page(
    app: &App,
    cookies: &StaffCookies,
    status: StatusCode,
    email: &str,
    error: Option<String>,
    next: &str,
) -> Result<Response, WebError> {
    let title = if error.is_some() {
        "Error: Sign in"
    } else {
        "Sign in"
    };
    render_status(
        status,
        &LoginPage {
            chrome: Chrome::new(app, title),
            csrf: csrf_token(app, cookies),
            email,
            error,
            next: safe_next(next),
        },
    )
}

pub async fn show(
    State(app): State<App>,
    Cookies(cookies): Cookies,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Result<Response, WebError> {
    page(&app, &cookies, StatusCode::OK, "", None, &q.next)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(
    State(app): State<App>,
    Cookies(cookies): Cookies,
    ClientIp(ip): ClientIp,
    StaffForm(form): StaffForm<LoginForm>,
) -> Result<Response, WebError> {
    if let Some(too_many) = limits::check(&app, ip, Class::SignIn).await {
        return Ok(too_many);
    }
    let password = SecretString::from(form.password);
    match staff_auth::sign_in(&app, &form.email, &password, &form.code, ip).await {
        Ok(s) => {
            let mut res = Redirect::to(safe_next(&form.next)).into_response();
            res.headers_mut().append(
                header::SET_COOKIE,
                set_session_cookie(&app, &s.cookie_value),
            );
            Ok(res)
        }
        Err(SignInError::Invalid) => page(
            &app,
            &cookies,
            StatusCode::UNAUTHORIZED,
            form.email.trim(),
            Some("The e-mail address, password or code is not right.".into()),
            &form.next,
        ),
        Err(SignInError::Throttled(wait)) => {
            let mut res = page(
                &app,
                &cookies,
                StatusCode::TOO_MANY_REQUESTS,
                form.email.trim(),
                Some(format!(
                    "Too many attempts. Wait {wait} seconds before trying again."
                )),
                &form.next,
            )?;
            if let Ok(v) = wait.to_string().parse() {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(res)
        }
        Err(e) => Err(WebError::Internal(Box::new(e))),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(
    State(app): State<App>,
    staff: Staff<need::SignedIn>,
    ClientIp(ip): ClientIp,
    StaffForm(_): StaffForm<Empty>,
) -> Result<Response, WebError> {
    staff_auth::sign_out(&app, &staff.user, false, ip).await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie(&app));
    Ok(res)
}

pub async fn logout_everywhere(
    State(app): State<App>,
    staff: Staff<need::SignedIn>,
    ClientIp(ip): ClientIp,
    StaffForm(_): StaffForm<Empty>,
) -> Result<Response, WebError> {
    staff_auth::sign_out(&app, &staff.user, true, ip).await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie(&app));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_the_console() {
        assert_eq!(
            safe_next("/payments?status=failed"),
            "/payments?status=failed"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "",
            "javascript:alert(1)",
            "/login?next=/x",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
