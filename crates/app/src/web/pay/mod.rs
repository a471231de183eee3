//! The resident's payment journey: start → look up → bills → review →
//! processor's page → receipt.

mod bills;
mod cart;
pub(crate) mod lookup;
mod receipt;
mod renew;
mod review;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};

use crate::app::App;
use crate::config::Department;
use crate::web::error::WebError;
use crate::web::locale::PageLocale;
use crate::web::pages::{Chrome, render};
use crate::web::session::ResidentSession;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/pay/review", get(review::show).post(review::confirm))
        .route("/renew/{dept}", get(renew::show).post(renew::submit))
        .route("/verify", get(renew::verify))
        .route("/pay/receipt/{id}/certificate.pdf", get(renew::certificate))
        .route("/cart", get(cart::show))
        .route("/cart/remove", post(cart::remove))
        .route("/cart/checkout", post(cart::checkout))
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
    /// Bills in the resident's cart.
    cart_count: i64,
    /// Resident accounts are offered.
    accounts: bool,
}

async fn home(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
) -> Result<Response, WebError> {
    let cart_count = i64::try_from(session.load(&app).await?.cart.len()).unwrap_or(0);
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
        cart_count,
        accounts: app.config.accounts.enabled,
    })
}
