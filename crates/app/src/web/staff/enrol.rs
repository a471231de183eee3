//! Enrolment: the one-time link sets a password and an authenticator, and
//! shows the recovery codes once.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;

use super::auth::{StaffCookies, StaffForm, csrf_token};
use super::login::Cookies;
use crate::app::App;
use crate::crypto::totp::TotpSecret;
use crate::services::staff_auth::{self, EnrolError};
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::limits::{self, Class};
use crate::web::pages::{Chrome, FieldError, render_status};

#[derive(Template)]
#[template(path = "staff/enrol.html")]
struct EnrolPage<'a> {
    chrome: Chrome<'a>,
    csrf: String,
    token: &'a str,
    email: &'a str,
    secret: String,
    qr_svg: String,
    errors: Vec<FieldError>,
    password_error: Option<String>,
    code_error: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/enrolled.html")]
struct EnrolledPage<'a> {
    chrome: Chrome<'a>,
    codes: Vec<String>,
}

#[derive(Template)]
#[template(path = "staff/enrol_closed.html")]
struct ClosedPage<'a> {
    chrome: Chrome<'a>,
    title: &'a str,
    message: &'a str,
}

#[derive(Template)]
#[template(path = "staff/qr.svg", escape = "none")]
struct QrSvg {
    size: i32,
    pixels: i32,
    path: String,
}

/// The otpauth URL as an SVG QR code: one path of unit squares.
pub(crate) fn qr_svg(text: &str) -> Result<String, WebError> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium)
        .map_err(|_| WebError::Internal("QR code too long".into()))?;
    let border = 4;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let size = qr.size() + border * 2;
    Ok(QrSvg {
        size,
        pixels: size * 6,
        path,
    }
    .render()?)
}

fn closed(app: &App, e: &EnrolError) -> Result<Response, WebError> {
    let (status, title, message) = match e {
        EnrolError::Expired => (
            StatusCode::GONE,
            "This link has expired",
            "Enrolment links work for 24 hours.",
        ),
        EnrolError::Used => (
            StatusCode::GONE,
            "This link has already been used",
            "Each enrolment link works once.",
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that you copied the whole link.",
        ),
    };
    render_status(
        status,
        &ClosedPage {
            chrome: Chrome::new(app, title),
            title,
            message,
        },
    )
}

fn page(
    app: &App,
    cookies: &StaffCookies,
    token: &str,
    email: &str,
    secret: &TotpSecret,
    errors: Vec<FieldError>,
) -> Result<Response, WebError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let title = if errors.is_empty() {
        "Set up your account"
    } else {
        "Error: Set up your account"
    };
    let url = secret.otpauth_url(&app.config.city_name, email);
    render_status(
        status,
        &EnrolPage {
            chrome: Chrome::new(app, title),
            csrf: csrf_token(app, cookies),
            token,
            email,
            secret: secret.base32(),
            qr_svg: qr_svg(&url)?,
            password_error: crate::web::pages::error_for(&errors, "password"),
            code_error: crate::web::pages::error_for(&errors, "code"),
            errors,
        },
    )
}

pub async fn show(
    State(app): State<App>,
    Cookies(cookies): Cookies,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    match staff_auth::enrolment(&app, &token).await {
        Ok(e) => page(&app, &cookies, &token, &e.email, &e.secret, Vec::new()),
        Err(e @ (EnrolError::Unknown | EnrolError::Expired | EnrolError::Used)) => closed(&app, &e),
        Err(e) => Err(WebError::Internal(Box::new(e))),
    }
}

#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    code: String,
}

pub async fn submit(
    State(app): State<App>,
    Cookies(cookies): Cookies,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
    StaffForm(form): StaffForm<EnrolForm>,
) -> Result<Response, WebError> {
    if let Some(too_many) = limits::check(&app, ip, Class::Enrol).await {
        return Ok(too_many);
    }
    let password = SecretString::from(form.password);
    let confirm = SecretString::from(form.confirm);
    match staff_auth::complete_enrolment(&app, &token, &password, &confirm, &form.code, ip).await {
        Ok(codes) => render_status(
            StatusCode::OK,
            &EnrolledPage {
                chrome: Chrome::new(&app, "Your account is ready"),
                codes,
            },
        ),
        Err(EnrolError::Invalid { password, code }) => {
            let e = staff_auth::enrolment(&app, &token)
                .await
                .map_err(|e| WebError::Internal(Box::new(e)))?;
            let mut errors = Vec::new();
            if let Some(m) = password {
                errors.push(FieldError::new("password", crate::web::pages::sentence(&m)));
            }
            if let Some(m) = code {
                errors.push(FieldError::new("code", crate::web::pages::sentence(&m)));
            }
            page(&app, &cookies, &token, &e.email, &e.secret, errors)
        }
        Err(e @ (EnrolError::Unknown | EnrolError::Expired | EnrolError::Used)) => closed(&app, &e),
        Err(e) => Err(WebError::Internal(Box::new(e))),
    }
}
