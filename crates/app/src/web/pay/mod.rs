//! The resident's payment journey: start → look up → bills → review →
//! processor's page → receipt.

mod bills;
mod lookup;
mod receipt;
mod review;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use crate::app::App;
use crate::config::Department;
use crate::web::error::WebError;
use crate::web::locale::PageLocale;
use crate::web::pages::{Chrome, render};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/pay/review", get(review::show).post(review::confirm))
        .route("/pay/receipt/{id}", get(receipt::show))
        .route("/pay/{dept}", get(lookup::show).post(lookup::submit))
        .route("/pay/{dept}/bills", get(bills::show).post(bills::choose))
}

fn department<'a>(app: &'a App, id: &str) -> Result<&'a Department, WebError> {
    app.config.department(id).ok_or(WebError::NotFound)
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    chrome: Chrome<'a>,
    /// Id, name and summary.
    departments: Vec<(&'a str, String, String)>,
}

async fn home(State(app): State<App>, page: PageLocale) -> Result<Response, WebError> {
    let departments = app
        .config
        .departments
        .iter()
        .map(|d| {
            let text = d.text(page.locale);
            (d.id.as_str(), text.name, text.summary)
        })
        .collect();
    render(&HomePage {
        chrome: Chrome::resident(&app, &page, page.locale.msg("home-title")),
        departments,
    })
}
