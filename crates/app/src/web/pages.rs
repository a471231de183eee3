//! What every page shares: the layout's data and rendering.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use domain::Cents;

use crate::app::App;
use crate::i18n::{Arg, Locale};
use crate::web::error::WebError;
use crate::web::locale::PageLocale;

/// Data the layout (`templates/base.html`) needs.
pub struct Chrome<'a> {
    pub city: &'a str,
    pub title: String,
    pub lang: &'static str,
    pub locale: Locale,
    /// The link to the same page in the other language (resident pages).
    pub switch: Option<LanguageSwitch>,
}

pub struct LanguageSwitch {
    pub lang: &'static str,
    pub name: &'static str,
    pub href: String,
}

impl<'a> Chrome<'a> {
    /// A staff console page: English, no language link.
    pub fn new(app: &'a App, title: &str) -> Chrome<'a> {
        Chrome {
            city: &app.config.city_name,
            title: title.to_owned(),
            lang: Locale::En.code(),
            locale: Locale::En,
            switch: None,
        }
    }

    /// A resident page in the request's language, with the link to the
    /// other one.
    pub fn resident(app: &'a App, page: &PageLocale, title: String) -> Chrome<'a> {
        let other = page.locale.other();
        Chrome {
            city: &app.config.city_name,
            title,
            lang: page.locale.code(),
            locale: page.locale,
            switch: Some(LanguageSwitch {
                lang: other.code(),
                name: other.endonym(),
                href: page.switch_href(),
            }),
        }
    }

    pub fn msg(&self, key: &str) -> String {
        self.locale.msg(key)
    }

    pub fn msg1(&self, key: &str, name: &str, value: impl Into<Arg>) -> String {
        self.locale.msg1(key, name, value)
    }

    pub fn msg2(
        &self,
        key: &str,
        name: &str,
        value: impl Into<Arg>,
        name2: &str,
        value2: impl Into<Arg>,
    ) -> String {
        self.locale.msg2(key, name, value, name2, value2)
    }

    /// HTML: see [`Locale::msg_strong`].
    pub fn msg_strong(&self, key: &str, name: &str, value: impl Into<Arg>) -> String {
        self.locale.msg_strong(key, name, value)
    }

    pub fn money(&self, amount: &Cents) -> String {
        self.locale.money(*amount)
    }

    pub fn date(&self, iso: &str) -> String {
        self.locale.date(iso)
    }
}

/// "Error: " before a page title when the form on it has errors.
pub fn page_title(locale: Locale, title: String, has_errors: bool) -> String {
    if has_errors {
        locale.msg1("title-with-error", "title", title)
    } else {
        title
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
