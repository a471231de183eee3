//! The staff console, on the staff listener only. Every route is listed
//! once, below, with what it needs; the router is built from that list and
//! the role-matrix test walks the same list.

pub mod auth;
mod close;
mod console;
pub(crate) mod enrol;
mod licences;
mod login;
pub mod monitoring;
mod payments;
mod refunds;
mod residents;
mod users;

use axum::Router;

use crate::app::App;
use crate::staff::roles::Permission as P;
use crate::web::pages::Chrome;
use auth::{Access, StaffCookies, csrf_token};

use crate::services::staff_auth::SignedIn;

/// One console route and what it needs.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

macro_rules! staff_routes {
    ($($method:ident $path:literal $access:expr => $handler:path;)*) => {
        /// Every route of the console, with what it needs.
        pub const ROUTES: &[RouteSpec] = &[
            $(RouteSpec { method: stringify!($method), path: $path, access: $access },)*
        ];

        fn console_routes() -> Router<App> {
            let r = Router::new();
            $(let r = r.route($path, axum::routing::$method($handler));)*
            r
        }
    };
}

staff_routes! {
    get "/login" Access::Public => login::show;
    post "/login" Access::Public => login::submit;
    get "/enrol/{token}" Access::Public => enrol::show;
    post "/enrol/{token}" Access::Public => enrol::submit;
    get "/" Access::SignedIn => console::home;
    post "/logout" Access::SignedIn => login::logout;
    post "/logout-everywhere" Access::SignedIn => login::logout_everywhere;
    get "/payments" Access::Requires(P::ViewPayments) => payments::search;
    get "/payments.csv" Access::Requires(P::Export) => payments::export;
    get "/payments/{id}" Access::Requires(P::ViewPayments) => payments::detail;
    post "/payments/{id}/notes" Access::Requires(P::AddNotes) => payments::add_note;
    post "/payments/{id}/resend" Access::Requires(P::ResendReceipts) => payments::resend;
    get "/payments/{id}/refund" Access::Requires(P::RequestRefunds) => refunds::form;
    post "/payments/{id}/refund" Access::Requires(P::RequestRefunds) => refunds::request;
    get "/refunds" Access::Requires(P::ApproveRefunds) => refunds::pending;
    post "/refunds/{id}/approve" Access::Requires(P::ApproveRefunds) => refunds::approve;
    post "/refunds/{id}/reject" Access::Requires(P::ApproveRefunds) => refunds::reject;
    get "/close" Access::Requires(P::ViewClose) => close::index;
    get "/close/{date}" Access::Requires(P::ViewClose) => close::day;
    post "/close/{date}" Access::Requires(P::CloseDay) => close::close;
    get "/close/{date}/postings.csv" Access::Requires(P::Export) => close::postings_csv;
    get "/close/{date}/journal.csv" Access::Requires(P::Export) => close::journal_csv;
    get "/staff" Access::Requires(P::ManageStaff) => users::list;
    post "/staff" Access::Requires(P::ManageStaff) => users::add;
    post "/staff/{id}/disable" Access::Requires(P::ManageStaff) => users::disable;
    post "/staff/{id}/enable" Access::Requires(P::ManageStaff) => users::enable;
    post "/staff/{id}/invite" Access::Requires(P::ManageStaff) => users::invite;
    get "/audit" Access::Requires(P::ViewAudit) => console::audit_log;
    get "/licences" Access::Requires(P::ViewPayments) => licences::renewals;
    post "/licences/{id}/audit" Access::Requires(P::FlagDeclarations) => licences::flag;
    get "/residents" Access::Requires(P::ViewResidents) => residents::show_lookup;
    post "/residents" Access::Requires(P::ViewResidents) => residents::lookup;
    get "/residents/{id}" Access::Requires(P::ViewResidents) => residents::show;
    post "/residents/{id}/second-factor" Access::Requires(P::HelpResidents) => residents::second_factor_off;
    post "/residents/{id}/sessions" Access::Requires(P::HelpResidents) => residents::end_sessions;
}

pub fn routes() -> Router<App> {
    console_routes()
}

/// The console's navigation, for the layout.
pub struct Nav {
    pub email: String,
    pub role: &'static str,
    pub csrf: String,
    pub links: Vec<(&'static str, &'static str)>,
}

impl Nav {
    pub fn new(app: &App, user: &SignedIn, cookies: &StaffCookies) -> Nav {
        let mut links = vec![("/", "Home")];
        let r = user.role;
        if r.can(P::ViewPayments) {
            links.push(("/payments", "Payments"));
        }
        if r.can(P::ApproveRefunds) {
            links.push(("/refunds", "Refund approvals"));
        }
        if r.can(P::ViewClose) {
            links.push(("/close", "Daily close"));
        }
        if r.can(P::ManageStaff) {
            links.push(("/staff", "Staff"));
        }
        if r.can(P::ViewPayments) && app.config.departments.iter().any(|d| d.licences.is_some()) {
            links.push(("/licences", "Licence renewals"));
        }
        if r.can(P::ViewResidents) && app.config.accounts.enabled {
            links.push(("/residents", "Resident accounts"));
        }
        if r.can(P::ViewAudit) {
            links.push(("/audit", "Audit log"));
        }
        Nav {
            email: user.email.clone(),
            role: user.role.as_str(),
            csrf: csrf_token(app, cookies),
            links,
        }
    }
}

/// Layout data for a console page.
pub fn chrome<'a>(app: &'a App, title: &'a str) -> Chrome<'a> {
    Chrome::new(app, title)
}

/// Microseconds since the epoch as the city's local time, for tables.
pub fn local_time(app: &App, us: i64) -> String {
    jiff::Timestamp::from_microsecond(us)
        .map(|t| {
            t.to_zoned_datetime(app.config.timezone.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}
