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
    departments: Vec<(&'a str, &'a str, &'a str)>,
}

async fn home(State(app): State<App>) -> Result<Response, WebError> {
    let departments = app
        .config
        .departments
        .iter()
        .map(|d| (d.id.as_str(), d.name.as_str(), d.summary.as_str()))
        .collect();
    render(&HomePage {
        chrome: Chrome::new(&app, "Pay the city online"),
        departments,
    })
}
