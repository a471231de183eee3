//! What every page shares: the layout's data and rendering.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::app::App;
use crate::web::error::WebError;

/// Data the layout (`templates/base.html`) needs.
pub struct Chrome<'a> {
    pub city: &'a str,
    pub title: &'a str,
    pub lang: &'static str,
}

impl<'a> Chrome<'a> {
    pub fn new(app: &'a App, title: &'a str) -> Chrome<'a> {
        Chrome {
            city: &app.config.city_name,
            title,
            lang: "en",
        }
    }
}

pub fn render<T: Template>(t: &T) -> Result<Response, WebError> {
    Ok(Html(t.render()?).into_response())
}

/// A page with a status other than 200 (a form with errors is a 400).
pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Result<Response, WebError> {
    Ok((status, Html(t.render()?)).into_response())
}

/// An error beside a form field, and in the summary at the top.
#[derive(Debug, Clone)]
pub struct FieldError {
    /// The id of the input the summary links to.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub fn error_for(errors: &[FieldError], field: &str) -> Option<String> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.clone())
}

/// Messages from the domain start lower-case ("enter an amount"); pages
/// show them as sentences.
pub fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
