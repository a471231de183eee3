//! Staff accounts, for administrators.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::{Staff, StaffForm, need};
use super::{Nav, chrome, local_time};
use crate::app::App;
use crate::services::staff_auth::{self, StaffError};
use crate::staff::roles::Role;
use crate::store;
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::pages::{Chrome, FieldError, error_for, render_status, sentence};

pub struct UserRow {
    id: i64,
    email: String,
    role: String,
    status: String,
    created: String,
    is_me: bool,
}

#[derive(Template)]
#[template(path = "staff/users.html")]
struct UsersPage<'a> {
    chrome: Chrome<'a>,
    nav: Nav,
    rows: Vec<UserRow>,
    roles: Vec<(&'static str, &'static str)>,
    email: &'a str,
    role: &'a str,
    errors: Vec<FieldError>,
    email_error: Option<String>,
    role_error: Option<String>,
    link: Option<(String, String)>,
}

async fn page(
    app: &App,
    staff: &Staff<need::ManageStaff>,
    status: StatusCode,
    typed: (&str, &str),
    errors: Vec<FieldError>,
    link: Option<(String, String)>,
) -> Result<Response, WebError> {
    let rows = store::staff::list_users(app.db.reader())
        .await?
        .into_iter()
        .map(|u| UserRow {
            is_me: u.id == staff.user.id,
            created: local_time(app, u.created_at),
            id: u.id,
            email: u.email,
            role: u.role,
            status: u.status,
        })
        .collect();
    let title = if errors.is_empty() {
        "Staff"
    } else {
        "Error: Staff"
    };
    render_status(
        status,
        &UsersPage {
            chrome: chrome(app, title),
            nav: Nav::new(app, &staff.user, &staff.cookies),
            rows,
            roles: Role::ALL
                .iter()
                .map(|r| (r.as_str(), r.describe()))
                .collect(),
            email: typed.0,
            role: typed.1,
            email_error: error_for(&errors, "email"),
            role_error: error_for(&errors, "role"),
            errors,
            link,
        },
    )
}

pub async fn list(
    State(app): State<App>,
    staff: Staff<need::ManageStaff>,
) -> Result<Response, WebError> {
    page(&app, &staff, StatusCode::OK, ("", ""), Vec::new(), None).await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn add(
    State(app): State<App>,
    staff: Staff<need::ManageStaff>,
    ClientIp(ip): ClientIp,
    StaffForm(form): StaffForm<AddForm>,
) -> Result<Response, WebError> {
    let typed = (form.email.trim(), form.role.trim());
    let Some(role) = Role::parse(typed.1) else {
        let errors = vec![FieldError::new("role", "Choose a role")];
        return page(&app, &staff, StatusCode::BAD_REQUEST, typed, errors, None).await;
    };
    match staff_auth::add_staff(&app, typed.0, role, &staff.user.actor(), ip).await {
        Ok((_, link)) => {
            page(
                &app,
                &staff,
                StatusCode::OK,
                ("", ""),
                Vec::new(),
                Some((typed.0.to_lowercase(), link)),
            )
            .await
        }
        Err(e @ (StaffError::InvalidEmail(_) | StaffError::Exists)) => {
            let errors = vec![FieldError::new("email", sentence(&e.to_string()))];
            page(&app, &staff, StatusCode::BAD_REQUEST, typed, errors, None).await
        }
        Err(e) => Err(WebError::Internal(Box::new(e))),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

async fn set_disabled(
    app: App,
    staff: Staff<need::ManageStaff>,
    ip: Option<std::net::IpAddr>,
    id: i64,
    disabled: bool,
) -> Result<Response, WebError> {
    match staff_auth::set_disabled(&app, &staff.user, id, disabled, ip).await {
        Ok(()) => Ok(Redirect::to("/staff").into_response()),
        Err(StaffError::NotFound) => Err(WebError::NotFound),
        Err(e @ StaffError::OwnAccount) => {
            let errors = vec![FieldError::new("staff-list", sentence(&e.to_string()))];
            page(
                &app,
                &staff,
                StatusCode::BAD_REQUEST,
                ("", ""),
                errors,
                None,
            )
            .await
        }
        Err(e) => Err(WebError::Internal(Box::new(e))),
    }
}

pub async fn disable(
    State(app): State<App>,
    staff: Staff<need::ManageStaff>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    StaffForm(_): StaffForm<Empty>,
) -> Result<Response, WebError> {
    set_disabled(app, staff, ip, id, true).await
}

pub async fn enable(
    State(app): State<App>,
    staff: Staff<need::ManageStaff>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    StaffForm(_): StaffForm<Empty>,
) -> Result<Response, WebError> {
    set_disabled(app, staff, ip, id, false).await
}

pub async fn invite(
    State(app): State<App>,
    staff: Staff<need::ManageStaff>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    StaffForm(_): StaffForm<Empty>,
) -> Result<Response, WebError> {
    match staff_auth::reinvite(&app, &staff.user, id, ip).await {
        Ok(link) => {
            let email = store::staff::user_by_id(app.db.reader(), id)
                .await?
                .map(|u| u.email)
                .unwrap_or_default();
            page(
                &app,
                &staff,
                StatusCode::OK,
                ("", ""),
                Vec::new(),
                Some((email, link)),
            )
            .await
        }
        Err(StaffError::NotFound) => Err(WebError::NotFound),
        Err(e) => Err(WebError::Internal(Box::new(e))),
    }
}
