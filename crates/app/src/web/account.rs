//! Resident accounts on the resident site: sign-up, sign-in, links from
//! e-mails (confirm, reset, unsubscribe), and the account page with the
//! linked service accounts, their open bills, e-bills and payment history.
//! Paying stays the guest journey: "Pay" on a linked account opens its
//! bills as a successful look-up would.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use domain::Cents;
use domain::personal::EmailAddress;
use secrecy::SecretString;
use serde::Deserialize;

use crate::app::App;
use crate::config::{Department, LinkProof};
use crate::i18n::{Locale, Localize};
use crate::services::lookup::account_summary;
use crate::services::payments::PaymentError;
use crate::services::receipts::card_label;
use crate::services::residents::{
    self, LinkError, SignInError, SignedIn, TokenError, TokenProblem,
};
use crate::services::wallet::{self, SetupResult, WalletError};
use crate::staff::password::{PasswordProblem, check_new_password};
use crate::store::residents::{self as rows, Purpose, ResidentRow};
use crate::store::wallet::{self as wallet_rows, Autopay};
use crate::web::ClientIp;
use crate::web::error::WebError;
use crate::web::form::CsrfForm;
use crate::web::limits::{self, Class};
use crate::web::locale::PageLocale;
use crate::web::pages::{
    Chrome, FieldError, error_for, page_title, render, render_status, sentence,
};
use crate::web::pay::lookup::{LookupForm, VerifierField, input_errors, verifier_fields};
use crate::web::session::{ResidentSession, SessionData, SignedInResident};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/account", get(home))
        .route("/account/signup", get(signup_form).post(signup))
        .route("/account/signin", get(signin_form).post(signin))
        .route("/account/signout", post(signout))
        .route("/account/signin/code", get(code_form).post(code))
        .route("/account/totp", get(totp_form).post(totp_enable))
        .route("/account/totp/off", post(totp_disable))
        .route("/account/confirm/{token}", get(confirm_page).post(confirm))
        .route(
            "/account/reset",
            get(reset_request_form).post(reset_request),
        )
        .route("/account/reset/{token}", get(reset_form).post(reset))
        .route("/account/link/{dept}", get(link_form).post(link))
        .route("/account/links/{id}/unlink", post(unlink))
        .route("/account/links/{id}/paperless", post(paperless))
        .route("/account/links/{id}/pay", post(pay))
        .route(
            "/account/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe),
        )
        .route("/account/cards/add", post(add_card))
        .route("/account/wallet/return", get(card_return))
        .route("/account/cards/{id}/remove", post(remove_card))
        .route("/account/links/{id}/autopay", post(autopay))
        .route(
            "/account/schedule/{bill}",
            get(schedule_form).post(schedule),
        )
        .route("/account/scheduled/{id}/cancel", post(cancel_scheduled))
}

fn enabled(app: &App) -> Result<(), WebError> {
    if app.config.accounts.enabled {
        Ok(())
    } else {
        Err(WebError::NotFound)
    }
}

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> WebError {
    WebError::Internal(Box::new(e))
}

/// One input of an account form.
struct Field {
    id: &'static str,
    label: String,
    hint: String,
    input_type: &'static str,
    value: String,
    error: Option<String>,
    inputmode: &'static str,
    autocomplete: &'static str,
    narrow: bool,
    options: &'static [&'static str],
    /// A choice of value and label (a select), when not empty.
    choices: Vec<(String, String)>,
    choose: String,
}

impl Field {
    fn new(
        id: &'static str,
        (label, hint): (String, String),
        (input_type, autocomplete): (&'static str, &'static str),
        value: &str,
        errors: &[FieldError],
    ) -> Field {
        Field {
            id,
            label,
            hint,
            input_type,
            value: value.trim().to_owned(),
            error: error_for(errors, id),
            inputmode: if input_type == "email" {
                "email"
            } else {
                "text"
            },
            autocomplete,
            narrow: false,
            options: &[],
            choices: Vec::new(),
            choose: String::new(),
        }
    }
}

impl From<VerifierField> for Field {
    fn from(f: VerifierField) -> Field {
        Field {
            id: f.id,
            label: f.label,
            hint: f.hint,
            input_type: "text",
            value: f.value,
            error: f.error,
            inputmode: f.inputmode,
            autocomplete: f.autocomplete,
            narrow: f.narrow,
            options: f.options,
            choices: Vec::new(),
            choose: f.choose,
        }
    }
}

#[derive(Template)]
#[template(path = "account/form.html")]
struct FormPage<'a> {
    chrome: Chrome<'a>,
    heading: String,
    intro: Vec<String>,
    action: String,
    csrf: String,
    fields: Vec<Field>,
    submit: String,
    /// Links under the form: URL and text.
    links: Vec<(String, String)>,
    errors: Vec<FieldError>,
}

/// A form page; 400 when it has errors.
struct Form {
    heading: String,
    intro: Vec<String>,
    action: String,
    fields: Vec<Field>,
    submit: String,
    links: Vec<(String, String)>,
}

fn form_page(
    app: &App,
    session: &ResidentSession,
    page: &PageLocale,
    form: Form,
    errors: Vec<FieldError>,
) -> Result<Response, WebError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let title = page_title(page.locale, form.heading.clone(), !errors.is_empty());
    render_status(
        status,
        &FormPage {
            chrome: Chrome::resident(app, page, title),
            heading: form.heading,
            intro: form.intro,
            action: form.action,
            csrf: session.csrf_token(app),
            fields: form.fields,
            submit: form.submit,
            links: form.links,
            errors,
        },
    )
}

#[derive(Template)]
#[template(path = "account/message.html")]
struct MessagePage<'a> {
    chrome: Chrome<'a>,
    heading: String,
    paragraphs: Vec<String>,
    /// A form with one button: where it posts and its label.
    button: Option<(String, String)>,
    csrf: String,
    links: Vec<(String, String)>,
}

/// A page that says something, perhaps with one button and some links.
struct Message {
    status: StatusCode,
    heading: String,
    paragraphs: Vec<String>,
    button: Option<(String, String)>,
    links: Vec<(String, String)>,
}

impl Message {
    fn new(l: Locale, heading: &str) -> Message {
        Message {
            status: StatusCode::OK,
            heading: l.msg(heading),
            paragraphs: Vec::new(),
            button: None,
            links: Vec::new(),
        }
    }

    fn say(mut self, text: String) -> Message {
        self.paragraphs.push(text);
        self
    }

    fn link(mut self, href: &str, text: String) -> Message {
        self.links.push((href.to_owned(), text));
        self
    }

    fn status(mut self, status: StatusCode) -> Message {
        self.status = status;
        self
    }

    fn show(
        self,
        app: &App,
        session: &ResidentSession,
        page: &PageLocale,
    ) -> Result<Response, WebError> {
        render_status(
            self.status,
            &MessagePage {
                chrome: Chrome::resident(app, page, self.heading.clone()),
                heading: self.heading,
                paragraphs: self.paragraphs,
                button: self.button,
                csrf: session.csrf_token(app),
                links: self.links,
            },
        )
    }
}

/// The session's resident, if still signed in.
async fn signed_in(
    app: &App,
    session: &ResidentSession,
) -> Result<Option<(SessionData, ResidentRow)>, WebError> {
    let data = session.load(app).await?;
    let Some(s) = data.resident else {
        return Ok(None);
    };
    Ok(residents::current(app, s.id, s.epoch)
        .await
        .map_err(internal)?
        .map(|r| (data, r)))
}

/// The signed-in resident, or the answer to give instead (to sign in).
async fn require(
    app: &App,
    session: &ResidentSession,
) -> Result<Result<(SessionData, ResidentRow), Response>, WebError> {
    enabled(app)?;
    Ok(signed_in(app, session)
        .await?
        .ok_or_else(|| Redirect::to("/account/signin").into_response()))
}

/// Signs the session in (or out, with `None`) under a new session id.
async fn switch_session(
    app: &App,
    session: &ResidentSession,
    mut data: SessionData,
    who: Option<SignedIn>,
    to: &str,
) -> Result<Response, WebError> {
    data.resident = who.map(|s| SignedInResident {
        id: s.id,
        epoch: s.epoch,
    });
    data.second_factor = None;
    if who.is_none() {
        data.grants.clear();
        data.draft = None;
    }
    let cookie = session.rotate(app, &data).await?;
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(res)
}

fn password_message(l: Locale, p: PasswordProblem) -> String {
    l.msg(match p {
        PasswordProblem::TooShort => "password-too-short",
        PasswordProblem::TooLong => "password-too-long",
        PasswordProblem::Common => "password-common",
        PasswordProblem::ContainsEmail => "password-contains-email",
        PasswordProblem::Repetitive => "password-repetitive",
        PasswordProblem::Mismatch => "password-mismatch",
    })
}

// --- Sign-up -------------------------------------------------------------

#[derive(Deserialize)]
struct SignUpForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

fn signup_fields(l: Locale, email: &str, errors: &[FieldError]) -> Form {
    Form {
        heading: l.msg("account-signup-title"),
        intro: vec![l.msg("account-signup-intro"), l.msg("account-guest-note")],
        action: "/account/signup".into(),
        fields: vec![
            Field::new(
                "email",
                (l.msg("account-email-label"), String::new()),
                ("email", "email"),
                email,
                errors,
            ),
            Field::new(
                "password",
                (
                    l.msg("account-password-label"),
                    l.msg("account-password-hint"),
                ),
                ("password", "new-password"),
                "",
                errors,
            ),
            Field::new(
                "confirm",
                (l.msg("account-confirm-password-label"), String::new()),
                ("password", "new-password"),
                "",
                errors,
            ),
        ],
        submit: l.msg("account-signup-submit"),
        links: vec![("/account/signin".into(), l.msg("account-have-account"))],
    }
}

async fn signup_form(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
) -> Result<Response, WebError> {
    enabled(&app)?;
    form_page(
        &app,
        &session,
        &page,
        signup_fields(page.locale, "", &[]),
        Vec::new(),
    )
}

async fn signup(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    CsrfForm(form): CsrfForm<SignUpForm>,
) -> Result<Response, WebError> {
    enabled(&app)?;
    if let Some(too_many) = limits::check(&app, ip, Class::SignIn).await {
        return Ok(too_many);
    }
    let l = page.locale;
    let mut errors = Vec::new();
    let email = EmailAddress::parse(&form.email)
        .map_err(|e| errors.push(FieldError::new("email", e.localize(l))))
        .ok();
    if let Err(p) = check_new_password(&form.password, &form.confirm, &form.email) {
        let field = if p == PasswordProblem::Mismatch {
            "confirm"
        } else {
            "password"
        };
        errors.push(FieldError::new(field, password_message(l, p)));
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        return form_page(
            &app,
            &session,
            &page,
            signup_fields(l, &form.email, &errors),
            errors,
        );
    };
    let password = SecretString::from(form.password);
    residents::sign_up(&app, &email, &password, l, ip)
        .await
        .map_err(internal)?;
    Message::new(l, "account-check-email-title")
        .say(l.msg1(
            "account-signup-sent",
            "hours",
            app.config.accounts.confirm_link_hours,
        ))
        .say(l.msg("account-check-spam"))
        .show(&app, &session, &page)
}

// --- Confirm -------------------------------------------------------------

/// The page for a link that cannot be used, saying why.
fn refused_link(
    app: &App,
    session: &ResidentSession,
    page: &PageLocale,
    problem: TokenProblem,
    purpose: Purpose,
) -> Result<Response, WebError> {
    let l = page.locale;
    let (status, why) = match problem {
        TokenProblem::Unknown => (StatusCode::NOT_FOUND, "account-link-unknown"),
        TokenProblem::Used => (StatusCode::GONE, "account-link-used"),
        TokenProblem::Expired => (StatusCode::GONE, "account-link-expired"),
    };
    let (next, next_text) = match purpose {
        Purpose::Confirm => ("/account/signin", "account-link-new-confirm"),
        Purpose::Reset => ("/account/reset", "account-link-new-reset"),
    };
    Message::new(l, "account-link-refused-title")
        .status(status)
        .say(l.msg(why))
        .link(next, l.msg(next_text))
        .show(app, session, page)
}

/// Links from e-mails are followed with GET (mail scanners fetch them
/// too), so the page only offers a button; the POST does the work.
async fn confirm_page(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    enabled(&app)?;
    match residents::check_token(&app, &token, Purpose::Confirm).await {
        Ok(()) => {
            let l = page.locale;
            let mut m =
                Message::new(l, "account-confirm-title").say(l.msg("account-confirm-intro"));
            m.button = Some((
                format!("/account/confirm/{token}"),
                l.msg("account-confirm-submit"),
            ));
            m.show(&app, &session, &page)
        }
        Err(TokenError::Refused(p)) => refused_link(&app, &session, &page, p, Purpose::Confirm),
        Err(TokenError::Resident(e)) => Err(internal(e)),
    }
}

#[derive(Deserialize)]
struct Empty {}

async fn confirm(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    enabled(&app)?;
    let l = page.locale;
    match residents::confirm(&app, &token, ip).await {
        Ok(_) => Message::new(l, "account-confirmed-title")
            .say(l.msg("account-confirmed-body"))
            .link("/account/signin", l.msg("account-signin-title"))
            .show(&app, &session, &page),
        Err(TokenError::Refused(p)) => refused_link(&app, &session, &page, p, Purpose::Confirm),
        Err(TokenError::Resident(e)) => Err(internal(e)),
    }
}

// --- Sign-in and out -----------------------------------------------------

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn signin_fields(l: Locale, email: &str, errors: &[FieldError]) -> Form {
    Form {
        heading: l.msg("account-signin-title"),
        intro: vec![l.msg("account-guest-note")],
        action: "/account/signin".into(),
        fields: vec![
            Field::new(
                "email",
                (l.msg("account-email-label"), String::new()),
                ("email", "username"),
                email,
                errors,
            ),
            Field::new(
                "password",
                (l.msg("account-password-label"), String::new()),
                ("password", "current-password"),
                "",
                errors,
            ),
        ],
        submit: l.msg("account-signin-submit"),
        links: vec![
            ("/account/reset".into(), l.msg("account-forgot-password")),
            ("/account/signup".into(), l.msg("account-create")),
        ],
    }
}

async fn signin_form(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
) -> Result<Response, WebError> {
    enabled(&app)?;
    if signed_in(&app, &session).await?.is_some() {
        return Ok(Redirect::to("/account").into_response());
    }
    form_page(
        &app,
        &session,
        &page,
        signin_fields(page.locale, "", &[]),
        Vec::new(),
    )
}

async fn signin(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Result<Response, WebError> {
    enabled(&app)?;
    if let Some(too_many) = limits::check(&app, ip, Class::SignIn).await {
        return Ok(too_many);
    }
    let l = page.locale;
    let password = SecretString::from(form.password);
    let error = match residents::sign_in(&app, &form.email, &password, ip).await {
        Ok(who) => {
            let data = session.load(&app).await?;
            return switch_session(&app, &session, data, Some(who), "/account").await;
        }
        Err(SignInError::NeedsCode(who)) => {
            let mut data = session.load(&app).await?;
            data.second_factor = Some((
                SignedInResident {
                    id: who.id,
                    epoch: who.epoch,
                },
                app.now_us(),
            ));
            session.save(&app, &data).await?;
            return Ok(Redirect::to("/account/signin/code").into_response());
        }
        Err(SignInError::Invalid) => l.msg("account-signin-invalid"),
        Err(SignInError::Throttled(wait)) => {
            l.msg1("account-signin-throttled", "minutes", (wait + 59) / 60)
        }
        Err(SignInError::Unconfirmed) => {
            return Message::new(l, "account-check-email-title")
                .say(l.msg("account-signin-unconfirmed"))
                .say(l.msg("account-check-spam"))
                .show(&app, &session, &page);
        }
        Err(SignInError::Resident(e)) => return Err(internal(e)),
    };
    let errors = vec![FieldError::new("email", error)];
    form_page(
        &app,
        &session,
        &page,
        signin_fields(l, &form.email, &errors),
        errors,
    )
}

async fn signout(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    enabled(&app)?;
    let data = session.load(&app).await?;
    if let Some(r) = data.resident {
        residents::sign_out(&app, r.id, ip).await?;
    }
    switch_session(&app, &session, data, None, "/").await
}

// --- Password reset ------------------------------------------------------

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

fn reset_request_fields(l: Locale, email: &str, errors: &[FieldError]) -> Form {
    Form {
        heading: l.msg("account-reset-title"),
        intro: vec![l.msg("account-reset-intro")],
        action: "/account/reset".into(),
        fields: vec![Field::new(
            "email",
            (l.msg("account-email-label"), String::new()),
            ("email", "email"),
            email,
            errors,
        )],
        submit: l.msg("account-reset-submit"),
        links: vec![("/account/signin".into(), l.msg("account-signin-title"))],
    }
}

async fn reset_request_form(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
) -> Result<Response, WebError> {
    enabled(&app)?;
    form_page(
        &app,
        &session,
        &page,
        reset_request_fields(page.locale, "", &[]),
        Vec::new(),
    )
}

async fn reset_request(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<Response, WebError> {
    enabled(&app)?;
    if let Some(too_many) = limits::check(&app, ip, Class::SignIn).await {
        return Ok(too_many);
    }
    let l = page.locale;
    let email = match EmailAddress::parse(&form.email) {
        Ok(e) => e,
        Err(e) => {
            let errors = vec![FieldError::new("email", e.localize(l))];
            let f = reset_request_fields(l, &form.email, &errors);
            return form_page(&app, &session, &page, f, errors);
        }
    };
    residents::request_reset(&app, &email, ip)
        .await
        .map_err(internal)?;
    Message::new(l, "account-check-email-title")
        .say(l.msg1(
            "account-reset-sent",
            "minutes",
            app.config.accounts.reset_link_minutes,
        ))
        .say(l.msg("account-check-spam"))
        .show(&app, &session, &page)
}

fn new_password_fields(l: Locale, token: &str, errors: &[FieldError]) -> Form {
    Form {
        heading: l.msg("account-new-password-title"),
        intro: vec![l.msg("account-new-password-intro")],
        action: format!("/account/reset/{token}"),
        fields: vec![
            Field::new(
                "password",
                (
                    l.msg("account-password-label"),
                    l.msg("account-password-hint"),
                ),
                ("password", "new-password"),
                "",
                errors,
            ),
            Field::new(
                "confirm",
                (l.msg("account-confirm-password-label"), String::new()),
                ("password", "new-password"),
                "",
                errors,
            ),
        ],
        submit: l.msg("account-new-password-submit"),
        links: Vec::new(),
    }
}

async fn reset_form(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    enabled(&app)?;
    match residents::check_token(&app, &token, Purpose::Reset).await {
        Ok(()) => form_page(
            &app,
            &session,
            &page,
            new_password_fields(page.locale, &token, &[]),
            Vec::new(),
        ),
        Err(TokenError::Refused(p)) => refused_link(&app, &session, &page, p, Purpose::Reset),
        Err(TokenError::Resident(e)) => Err(internal(e)),
    }
}

#[derive(Deserialize)]
struct NewPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn reset(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<NewPasswordForm>,
) -> Result<Response, WebError> {
    enabled(&app)?;
    let l = page.locale;
    if let Err(p) = check_new_password(&form.password, &form.confirm, "") {
        let field = if p == PasswordProblem::Mismatch {
            "confirm"
        } else {
            "password"
        };
        let errors = vec![FieldError::new(field, password_message(l, p))];
        let f = new_password_fields(l, &token, &errors);
        return form_page(&app, &session, &page, f, errors);
    }
    let password = SecretString::from(form.password);
    match residents::reset_password(&app, &token, &password, ip).await {
        Ok(who) => {
            let data = session.load(&app).await?;
            switch_session(&app, &session, data, Some(who), "/account?notice=reset").await
        }
        Err(TokenError::Refused(p)) => refused_link(&app, &session, &page, p, Purpose::Reset),
        Err(TokenError::Resident(e)) => Err(internal(e)),
    }
}

// --- The account page ----------------------------------------------------

/// A linked account on the account page.
struct LinkView {
    id: i64,
    department_name: String,
    masked_number: String,
    masked_address: String,
    /// Reference, due date and balance of each bill with something owed,
    /// and its id (for scheduling a payment).
    open_bills: Vec<(String, String, Cents, i64)>,
    paperless: bool,
    /// "Visa ending 4242, 5 days before the due date, up to $200.00".
    autopay: Option<String>,
    /// The autopay card's id, for the form.
    autopay_card: Option<i64>,
    autopay_days: i64,
    autopay_max: String,
}

/// A saved card on the account page.
struct CardView {
    id: i64,
    label: String,
}

/// A charge planned on a saved card, on the account page.
struct PlannedView {
    id: i64,
    date: String,
    bill: String,
    /// Empty for autopay (what is owed on the day).
    amount: String,
    autopay: bool,
}

/// One bill paid, on the account page.
struct HistoryView {
    payment_id: String,
    date: String,
    bill: String,
    amount: Cents,
    receipt: String,
    /// "Refunded" and the like; empty for a plain payment.
    status: String,
}

#[derive(Template)]
#[template(path = "account/home.html")]
struct HomePage<'a> {
    chrome: Chrome<'a>,
    email: String,
    csrf: String,
    notice: Option<String>,
    links: Vec<LinkView>,
    departments: Vec<(String, String)>,
    history: Vec<HistoryView>,
    cards: Vec<CardView>,
    planned: Vec<PlannedView>,
    /// The second factor is on.
    totp_on: bool,
}

#[derive(Deserialize, Default)]
struct HomeQuery {
    #[serde(default)]
    notice: Option<String>,
}

fn department_name(app: &App, id: &str, l: Locale) -> String {
    app.config
        .department(id)
        .map(|d| d.text(l).name)
        .unwrap_or_else(|| id.to_owned())
}

async fn home(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
    Query(q): Query<HomeQuery>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let l = page.locale;
    let now = app.now_us();
    let cards: Vec<CardView> = wallet_rows::methods(app.db.reader(), resident.id)
        .await?
        .into_iter()
        .map(|m| CardView {
            id: m.id,
            label: card_label(l, &m.brand, &m.last4),
        })
        .collect();
    let autopays = wallet_rows::autopays(app.db.reader(), resident.id).await?;
    let mut links = Vec::new();
    for k in rows::links(app.db.reader(), resident.id).await? {
        let summary = account_summary(&app, k.service_account_id).await?;
        let bills = crate::store::receivables::for_account(&app.db, k.service_account_id, now)
            .await?
            .into_iter()
            .filter(|b| b.balance().is_positive())
            .map(|b| {
                let balance = b.balance();
                (b.reference, b.due_date, balance, b.id)
            })
            .collect();
        let auto = autopays.iter().find(|(id, _)| *id == k.id).map(|(_, a)| *a);
        links.push(LinkView {
            autopay: auto.map(|a| autopay_text(l, a, &cards)),
            autopay_card: auto.map(|a| a.method_id),
            autopay_days: auto.map_or(DEFAULT_AUTOPAY_DAYS, |a| a.days_before),
            autopay_max: auto
                .and_then(|a| a.max_cents)
                .map(|c| Cents::new(c).to_plain_string())
                .unwrap_or_default(),
            id: k.id,
            department_name: department_name(&app, &k.department, l),
            masked_number: summary
                .as_ref()
                .map(|s| s.masked_number.clone())
                .unwrap_or_default(),
            masked_address: summary.map(|s| s.masked_address).unwrap_or_default(),
            open_bills: bills,
            paperless: k.paperless,
        });
    }
    let history = rows::history(app.db.reader(), resident.id, 200)
        .await?
        .into_iter()
        .map(|h| HistoryView {
            date: h.business_date.unwrap_or_default(),
            bill: format!(
                "{} {}",
                department_name(&app, &h.department, l),
                h.reference
            ),
            amount: Cents::new(h.amount_cents),
            receipt: h.receipt_number.unwrap_or_default(),
            status: match h.status.as_str() {
                "refunded" => l.msg("account-history-refunded"),
                "partially_refunded" => l.msg("account-history-partly-refunded"),
                "disputed" => l.msg("account-history-disputed"),
                _ => String::new(),
            },
            payment_id: h.payment_id,
        })
        .collect();
    let mut planned = Vec::new();
    for p in wallet_rows::upcoming(app.db.reader(), resident.id).await? {
        let bill = crate::store::receivables::view(app.db.reader(), p.receivable_id, now).await?;
        planned.push(PlannedView {
            id: p.id,
            date: p.charge_on,
            bill: bill
                .map(|b| {
                    format!(
                        "{} {}",
                        department_name(&app, &b.department, l),
                        b.reference
                    )
                })
                .unwrap_or_default(),
            amount: p
                .amount_cents
                .map(|c| l.money(Cents::new(c)))
                .unwrap_or_default(),
            autopay: p.kind == "autopay",
        });
    }
    let notice = match q.notice.as_deref() {
        Some("linked") => Some(l.msg("account-notice-linked")),
        Some("already") => Some(l.msg("account-notice-already")),
        Some("unlinked") => Some(l.msg("account-notice-unlinked")),
        Some("paperless-on") => Some(l.msg("account-notice-paperless-on")),
        Some("paperless-off") => Some(l.msg("account-notice-paperless-off")),
        Some("reset") => Some(l.msg("account-notice-reset")),
        Some("card-saved") => Some(l.msg("account-notice-card-saved")),
        Some("card-not-saved") => Some(l.msg("account-notice-card-not-saved")),
        Some("card-waiting") => Some(l.msg("account-notice-card-waiting")),
        Some("card-removed") => Some(l.msg("account-notice-card-removed")),
        Some("autopay-on") => Some(l.msg("account-notice-autopay-on")),
        Some("autopay-off") => Some(l.msg("account-notice-autopay-off")),
        Some("scheduled") => Some(l.msg("account-notice-scheduled")),
        Some("totp-on") => Some(l.msg("account-notice-totp-on")),
        Some("totp-off") => Some(l.msg("account-notice-totp-off")),
        Some("schedule-cancelled") => Some(l.msg("account-notice-schedule-cancelled")),
        _ => None,
    };
    let email = residents::email_of(&app, &resident)
        .map_err(internal)?
        .expose()
        .to_owned();
    render(&HomePage {
        chrome: Chrome::resident(&app, &page, l.msg("account-home-title")),
        email,
        csrf: session.csrf_token(&app),
        notice,
        links,
        departments: app
            .config
            .departments
            .iter()
            .map(|d| (d.id.as_str().to_owned(), d.text(l).name))
            .collect(),
        history,
        cards,
        planned,
        totp_on: resident.totp_secret_enc.is_some(),
    })
}

// --- Linking -------------------------------------------------------------

#[derive(Deserialize)]
struct LinkForm {
    #[serde(flatten)]
    lookup: LookupForm,
    #[serde(default)]
    last_bill: String,
}

fn link_fields(
    d: &Department,
    l: Locale,
    typed: (&str, (&str, &str), &str),
    errors: &[FieldError],
) -> Form {
    let text = d.text(l);
    let mut fields = vec![Field::new(
        "account_number",
        (text.lookup_label, text.lookup_hint),
        ("text", "off"),
        typed.0,
        errors,
    )];
    fields.extend(
        verifier_fields(d.verifier, l, typed.1, errors)
            .into_iter()
            .map(Field::from),
    );
    if d.link_proof == LinkProof::VerifierAndLastBill {
        let mut f = Field::new(
            "last_bill",
            (
                l.msg("account-last-bill-label"),
                l.msg("account-last-bill-hint"),
            ),
            ("text", "off"),
            typed.2,
            errors,
        );
        f.inputmode = "decimal";
        f.narrow = true;
        fields.push(f);
    }
    Form {
        heading: l.msg1("account-link-heading", "department", text.name),
        intro: vec![l.msg("account-link-proof")],
        action: format!("/account/link/{}", d.id),
        fields,
        submit: l.msg("account-link-submit"),
        links: vec![("/account".into(), l.msg("account-back"))],
    }
}

async fn link_form(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
    Path(dept): Path<String>,
) -> Result<Response, WebError> {
    if let Err(to_sign_in) = require(&app, &session).await? {
        return Ok(to_sign_in);
    }
    let d = app.config.department(&dept).ok_or(WebError::NotFound)?;
    let f = link_fields(d, page.locale, ("", ("", ""), ""), &[]);
    form_page(&app, &session, &page, f, Vec::new())
}

async fn link(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    Path(dept): Path<String>,
    CsrfForm(form): CsrfForm<LinkForm>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let d = app.config.department(&dept).ok_or(WebError::NotFound)?;
    if let Some(too_many) = limits::check(&app, ip, Class::Lookup).await {
        return Ok(too_many);
    }
    let l = page.locale;
    let typed = form.lookup.typed(d.verifier);
    let account = form.lookup.account_number.as_str();
    let result = residents::link(&app, &resident, d, account, typed, &form.last_bill, ip).await;
    let errors = match result {
        Ok(true) => return Ok(Redirect::to("/account?notice=linked").into_response()),
        Ok(false) => return Ok(Redirect::to("/account?notice=already").into_response()),
        Err(LinkError::Invalid {
            account,
            verifier,
            last_bill,
        }) => {
            let mut errors = input_errors(d, l, account, verifier);
            if let Some(e) = last_bill {
                errors.push(FieldError::new("last_bill", e.localize(l)));
            }
            errors
        }
        Err(LinkError::NoMatch) => vec![FieldError::new(
            "account_number",
            l.msg("account-link-no-match"),
        )],
        Err(LinkError::Throttled) => {
            return Message::new(l, "account-link-throttled-title")
                .status(StatusCode::TOO_MANY_REQUESTS)
                .say(l.msg("account-link-throttled"))
                .link("/account", l.msg("account-back"))
                .show(&app, &session, &page);
        }
        Err(LinkError::Store(e)) => return Err(e.into()),
    };
    let f = link_fields(d, l, (account, typed, &form.last_bill), &errors);
    form_page(&app, &session, &page, f, errors)
}

fn link_id(raw: &str) -> Result<i64, WebError> {
    raw.parse().map_err(|_| WebError::NotFound)
}

async fn unlink(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    if !residents::unlink(&app, resident.id, link_id(&id)?, ip).await? {
        return Err(WebError::NotFound);
    }
    Ok(Redirect::to("/account?notice=unlinked").into_response())
}

#[derive(Deserialize)]
struct PaperlessForm {
    #[serde(default)]
    on: String,
}

async fn paperless(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<PaperlessForm>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let id = link_id(&id)?;
    if !rows::links(app.db.reader(), resident.id)
        .await?
        .iter()
        .any(|k| k.id == id)
    {
        return Err(WebError::NotFound);
    }
    let on = match form.on.as_str() {
        "1" => true,
        "0" => false,
        _ => return Err(WebError::BadRequest("on must be 1 or 0")),
    };
    residents::set_paperless(&app, resident.id, id, on, ("account page", ip)).await?;
    let notice = if on { "paperless-on" } else { "paperless-off" };
    Ok(Redirect::to(&format!("/account?notice={notice}")).into_response())
}

/// Opens a linked account's bills, as a successful look-up would.
async fn pay(
    State(app): State<App>,
    session: ResidentSession,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let (mut data, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let id = link_id(&id)?;
    let link = rows::links(app.db.reader(), resident.id)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or(WebError::NotFound)?;
    data.set_grant(&link.department, link.service_account_id);
    data.draft = None;
    session.save(&app, &data).await?;
    Ok(Redirect::to(&format!("/pay/{}/bills", link.department)).into_response())
}

// --- Unsubscribe ---------------------------------------------------------

async fn unsubscribe_page(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    enabled(&app)?;
    let l = page.locale;
    if residents::unsubscribe_link(&app, &token).is_none() {
        return Message::new(l, "account-link-refused-title")
            .status(StatusCode::NOT_FOUND)
            .say(l.msg("account-link-unknown"))
            .show(&app, &session, &page);
    }
    let mut m =
        Message::new(l, "account-unsubscribe-title").say(l.msg("account-unsubscribe-intro"));
    m.button = Some((
        format!("/account/unsubscribe/{token}"),
        l.msg("account-unsubscribe-submit"),
    ));
    m.show(&app, &session, &page)
}

/// The one-click unsubscribe (RFC 8058): mail programs POST here without
/// our form, so the token in the link is the only authority; it can only
/// turn e-bills off for the one account it was sent about.
async fn unsubscribe(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    enabled(&app)?;
    let l = page.locale;
    if !residents::unsubscribe(&app, &token, ip).await? {
        return Message::new(l, "account-link-refused-title")
            .status(StatusCode::NOT_FOUND)
            .say(l.msg("account-link-unknown"))
            .show(&app, &session, &page);
    }
    Message::new(l, "account-unsubscribed-title")
        .say(l.msg("account-unsubscribed-body"))
        .link("/account", l.msg("account-home-title"))
        .show(&app, &session, &page)
}

// --- Wallet, autopay, scheduled payments ---------------------------------

/// Autopay charges this many days before the due date unless the resident
/// says otherwise.
const DEFAULT_AUTOPAY_DAYS: i64 = 5;

fn autopay_text(l: Locale, a: Autopay, cards: &[CardView]) -> String {
    let card = cards
        .iter()
        .find(|c| c.id == a.method_id)
        .map(|c| c.label.clone())
        .unwrap_or_default();
    let mut text = l.msg2("account-autopay-on", "card", card, "days", a.days_before);
    if let Some(max) = a.max_cents {
        text.push(' ');
        text.push_str(&l.msg1("account-autopay-max", "amount", l.money(Cents::new(max))));
    }
    text
}

fn wallet_error(
    app: &App,
    session: &ResidentSession,
    page: &PageLocale,
    e: WalletError,
) -> Result<Response, WebError> {
    let l = page.locale;
    match e {
        WalletError::NotFound => Err(WebError::NotFound),
        WalletError::Unavailable(why) => {
            tracing::warn!(error = %why, "processor unavailable for the wallet");
            Message::new(l, "account-processor-down-title")
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .say(l.msg("account-processor-down"))
                .link("/account", l.msg("account-back"))
                .show(app, session, page)
        }
        WalletError::Store(e) => Err(e.into()),
        other => Err(internal(other)),
    }
}

async fn add_card(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    match wallet::start_setup(&app, &resident, ip).await {
        Ok(url) => Ok(Redirect::to(url.as_str()).into_response()),
        Err(e) => wallet_error(&app, &session, &page, e),
    }
}

#[derive(Deserialize)]
struct ReturnQuery {
    #[serde(default)]
    s: String,
}

/// Back from the processor's page (the link carries no outcome: the
/// processor is asked).
async fn card_return(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    Query(q): Query<ReturnQuery>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let notice = match wallet::finish_setup(&app, &resident, &q.s, ip).await {
        Ok(SetupResult::Saved(..)) => "card-saved",
        Ok(SetupResult::NotSaved) => "card-not-saved",
        Ok(SetupResult::Waiting) => "card-waiting",
        Err(WalletError::NotFound) => "card-not-saved",
        Err(e) => return wallet_error(&app, &session, &page, e),
    };
    Ok(Redirect::to(&format!("/account?notice={notice}")).into_response())
}

async fn remove_card(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    match wallet::remove_card(&app, &resident, link_id(&id)?, ip).await {
        Ok(()) => Ok(Redirect::to("/account?notice=card-removed").into_response()),
        Err(e) => wallet_error(&app, &session, &page, e),
    }
}

#[derive(Deserialize)]
struct AutopayForm {
    #[serde(default)]
    card: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    max: String,
    /// `1` turns autopay off.
    #[serde(default)]
    off: String,
}

async fn autopay(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<AutopayForm>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let l = page.locale;
    let link = link_id(&id)?;
    let setting = if form.off == "1" {
        None
    } else {
        let card = form.card.parse::<i64>().ok();
        let days = form
            .days
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|d| (0..=28).contains(d));
        let max = match form.max.trim() {
            "" => Ok(None),
            m => Cents::parse_dollars(m).map(|c| Some(c.get())),
        };
        match (card, days, max) {
            (Some(method_id), Some(days_before), Ok(max_cents)) => Some(Autopay {
                method_id,
                days_before,
                max_cents,
            }),
            (card, days, max) => {
                let mut m = Message::new(l, "account-autopay-invalid-title")
                    .status(StatusCode::BAD_REQUEST);
                if card.is_none() {
                    m = m.say(sentence(&l.msg("account-autopay-choose-card")));
                }
                if days.is_none() {
                    m = m.say(sentence(&l.msg("account-autopay-days-invalid")));
                }
                if let Err(e) = max {
                    m = m.say(sentence(&e.localize(l)));
                }
                return m
                    .link("/account", l.msg("account-back"))
                    .show(&app, &session, &page);
            }
        }
    };
    match wallet::set_autopay(&app, &resident, link, setting, ip).await {
        Ok(()) => {
            let notice = if setting.is_some() {
                "autopay-on"
            } else {
                "autopay-off"
            };
            Ok(Redirect::to(&format!("/account?notice={notice}")).into_response())
        }
        Err(e) => wallet_error(&app, &session, &page, e),
    }
}

#[derive(Deserialize, Default)]
struct ScheduleForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    card: String,
}

/// The bill, if it is on one of the resident's linked accounts.
async fn linked_bill(
    app: &App,
    resident: &ResidentRow,
    bill: &str,
) -> Result<crate::store::receivables::ReceivableView, WebError> {
    let id: i64 = bill.parse().map_err(|_| WebError::NotFound)?;
    let view = crate::store::receivables::view(app.db.reader(), id, app.now_us())
        .await?
        .ok_or(WebError::NotFound)?;
    let linked = rows::links(app.db.reader(), resident.id)
        .await?
        .iter()
        .any(|k| k.service_account_id == view.service_account_id);
    if linked {
        Ok(view)
    } else {
        Err(WebError::NotFound)
    }
}

fn schedule_fields(
    l: Locale,
    bill: &crate::store::receivables::ReceivableView,
    cards: &[CardView],
    typed: &ScheduleForm,
    errors: &[FieldError],
) -> Form {
    let amount = if typed.amount.is_empty() {
        bill.balance().to_plain_string()
    } else {
        typed.amount.clone()
    };
    let mut amount_field = Field::new(
        "amount",
        (l.msg("account-schedule-amount"), String::new()),
        ("text", "off"),
        &amount,
        errors,
    );
    amount_field.inputmode = "decimal";
    amount_field.narrow = true;
    let mut date_field = Field::new(
        "date",
        (
            l.msg("account-schedule-date"),
            l.msg1("account-schedule-date-hint", "due", l.date(&bill.due_date)),
        ),
        ("text", "off"),
        &typed.date,
        errors,
    );
    date_field.narrow = true;
    let mut card_field = Field::new(
        "card",
        (l.msg("account-schedule-card"), String::new()),
        ("text", "off"),
        &typed.card,
        errors,
    );
    card_field.choices = cards
        .iter()
        .map(|c| (c.id.to_string(), c.label.clone()))
        .collect();
    card_field.choose = l.msg("account-schedule-choose-card");
    Form {
        heading: l.msg1("account-schedule-title", "bill", bill.reference.as_str()),
        intro: vec![l.msg2(
            "account-schedule-intro",
            "amount",
            l.money(bill.balance()),
            "due",
            l.date(&bill.due_date),
        )],
        action: format!("/account/schedule/{}", bill.id),
        fields: vec![amount_field, date_field, card_field],
        submit: l.msg("account-schedule-submit"),
        links: vec![("/account".into(), l.msg("account-back"))],
    }
}

async fn cards_of(app: &App, resident_id: i64, l: Locale) -> Result<Vec<CardView>, WebError> {
    Ok(wallet_rows::methods(app.db.reader(), resident_id)
        .await?
        .into_iter()
        .map(|m| CardView {
            id: m.id,
            label: card_label(l, &m.brand, &m.last4),
        })
        .collect())
}

async fn schedule_form(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
    Path(bill): Path<String>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let view = linked_bill(&app, &resident, &bill).await?;
    let cards = cards_of(&app, resident.id, page.locale).await?;
    let f = schedule_fields(page.locale, &view, &cards, &ScheduleForm::default(), &[]);
    form_page(&app, &session, &page, f, Vec::new())
}

async fn schedule(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    Path(bill): Path<String>,
    CsrfForm(form): CsrfForm<ScheduleForm>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let l = page.locale;
    let view = linked_bill(&app, &resident, &bill).await?;
    let cards = cards_of(&app, resident.id, l).await?;
    let mut errors = Vec::new();
    let amount = Cents::parse_dollars(&form.amount)
        .map_err(|e| errors.push(FieldError::new("amount", sentence(&e.localize(l)))))
        .ok();
    let date = form
        .date
        .trim()
        .parse::<jiff::civil::Date>()
        .map_err(|_| {
            errors.push(FieldError::new(
                "date",
                l.msg("account-schedule-date-invalid"),
            ))
        })
        .ok();
    let card = form
        .card
        .parse::<i64>()
        .ok()
        .filter(|c| cards.iter().any(|k| k.id == *c));
    if card.is_none() {
        errors.push(FieldError::new(
            "card",
            sentence(&l.msg("account-autopay-choose-card")),
        ));
    }
    if let (Some(amount), Some(date), Some(card), true) = (amount, date, card, errors.is_empty()) {
        match wallet::schedule(&app, &resident, (view.id, card), amount, date, ip).await {
            Ok(_) => return Ok(Redirect::to("/account?notice=scheduled").into_response()),
            Err(WalletError::Invalid("date")) => errors.push(FieldError::new(
                "date",
                l.msg1("account-schedule-date-range", "due", l.date(&view.due_date)),
            )),
            Err(WalletError::Invalid(_)) => {
                errors.push(FieldError::new("date", l.msg("account-schedule-exists")))
            }
            Err(WalletError::Payment(PaymentError::Amount(e))) => {
                errors.push(FieldError::new("amount", sentence(&e.localize(l))))
            }
            Err(e) => return wallet_error(&app, &session, &page, e),
        }
    }
    let f = schedule_fields(l, &view, &cards, &form, &errors);
    form_page(&app, &session, &page, f, errors)
}

async fn cancel_scheduled(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    match wallet::cancel_scheduled(&app, &resident, link_id(&id)?, ip).await {
        Ok(true) => Ok(Redirect::to("/account?notice=schedule-cancelled").into_response()),
        Ok(false) => Err(WebError::NotFound),
        Err(e) => wallet_error(&app, &session, &page, e),
    }
}

// --- Second factor -------------------------------------------------------

/// A code is asked for at most this long after the password.
const CODE_WINDOW_US: i64 = 5 * 60 * 1_000_000;

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

fn code_field(l: Locale, errors: &[FieldError]) -> Field {
    let mut f = Field::new(
        "code",
        (l.msg("account-code-label"), l.msg("account-code-hint")),
        ("text", "one-time-code"),
        "",
        errors,
    );
    f.inputmode = "numeric";
    f.narrow = true;
    f
}

fn code_fields(l: Locale, errors: &[FieldError]) -> Form {
    Form {
        heading: l.msg("account-code-title"),
        intro: vec![l.msg("account-code-intro")],
        action: "/account/signin/code".into(),
        fields: vec![code_field(l, errors)],
        submit: l.msg("account-signin-submit"),
        links: vec![("/account/signin".into(), l.msg("account-code-start-again"))],
    }
}

/// The resident waiting for the code step, while the window is open.
async fn waiting_for_code(
    app: &App,
    session: &ResidentSession,
) -> Result<Option<(SessionData, SignedInResident)>, WebError> {
    let data = session.load(app).await?;
    Ok(match data.second_factor {
        Some((who, at)) if app.now_us() - at < CODE_WINDOW_US => Some((data, who)),
        _ => None,
    })
}

async fn code_form(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
) -> Result<Response, WebError> {
    enabled(&app)?;
    if waiting_for_code(&app, &session).await?.is_none() {
        return Ok(Redirect::to("/account/signin").into_response());
    }
    form_page(
        &app,
        &session,
        &page,
        code_fields(page.locale, &[]),
        Vec::new(),
    )
}

async fn code(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    enabled(&app)?;
    if let Some(too_many) = limits::check(&app, ip, Class::SignIn).await {
        return Ok(too_many);
    }
    let Some((data, who)) = waiting_for_code(&app, &session).await? else {
        return Ok(Redirect::to("/account/signin").into_response());
    };
    let l = page.locale;
    let pending = SignedIn {
        id: who.id,
        epoch: who.epoch,
        locale: l,
    };
    let error = match residents::second_factor(&app, pending, &form.code, ip).await {
        Ok(who) => return switch_session(&app, &session, data, Some(who), "/account").await,
        Err(SignInError::Throttled(wait)) => {
            l.msg1("account-signin-throttled", "minutes", (wait + 59) / 60)
        }
        Err(SignInError::Resident(e)) => return Err(internal(e)),
        Err(_) => l.msg("account-code-wrong"),
    };
    let errors = vec![FieldError::new("code", error)];
    form_page(&app, &session, &page, code_fields(l, &errors), errors)
}

async fn totp_page(
    app: &App,
    session: &ResidentSession,
    page: &PageLocale,
    resident: &ResidentRow,
    errors: Vec<FieldError>,
) -> Result<Response, WebError> {
    let l = page.locale;
    let (secret, url) = residents::totp_begin(app, resident)
        .await
        .map_err(internal)?;
    let qr = crate::web::staff::enrol::qr_svg(&url)?;
    let form = Form {
        heading: l.msg("account-totp-title"),
        intro: vec![
            l.msg("account-totp-intro"),
            l.msg1("account-totp-secret", "secret", secret),
        ],
        action: "/account/totp".into(),
        fields: vec![code_field(l, &errors)],
        submit: l.msg("account-totp-submit"),
        links: vec![("/account".into(), l.msg("account-back"))],
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let title = page_title(l, form.heading.clone(), !errors.is_empty());
    render_status(
        status,
        &TotpPage {
            chrome: Chrome::resident(app, page, title),
            qr,
            form: FormPage {
                chrome: Chrome::resident(app, page, String::new()),
                heading: form.heading,
                intro: form.intro,
                action: form.action,
                csrf: session.csrf_token(app),
                fields: form.fields,
                submit: form.submit,
                links: form.links,
                errors,
            },
        },
    )
}

#[derive(Template)]
#[template(path = "account/totp.html")]
struct TotpPage<'a> {
    chrome: Chrome<'a>,
    /// The QR code (SVG, made here).
    qr: String,
    form: FormPage<'a>,
}

async fn totp_form(
    State(app): State<App>,
    session: ResidentSession,
    page: PageLocale,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    if resident.totp_secret_enc.is_some() {
        return Ok(Redirect::to("/account").into_response());
    }
    totp_page(&app, &session, &page, &resident, Vec::new()).await
}

async fn totp_enable(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    if residents::totp_enable(&app, &resident, &form.code, ip)
        .await
        .map_err(internal)?
    {
        return Ok(Redirect::to("/account?notice=totp-on").into_response());
    }
    // A new secret for the next try: the resident scans again.
    let errors = vec![FieldError::new(
        "code",
        page.locale.msg("account-totp-wrong"),
    )];
    let fresh = rows::by_id(app.db.reader(), resident.id)
        .await?
        .ok_or(WebError::NotFound)?;
    totp_page(&app, &session, &page, &fresh, errors).await
}

async fn totp_disable(
    State(app): State<App>,
    session: ResidentSession,
    ClientIp(ip): ClientIp,
    page: PageLocale,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let (_, resident) = match require(&app, &session).await? {
        Ok(v) => v,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    if residents::totp_disable(&app, &resident, &form.code, ip)
        .await
        .map_err(internal)?
    {
        return Ok(Redirect::to("/account?notice=totp-off").into_response());
    }
    let l = page.locale;
    Message::new(l, "account-totp-off-refused-title")
        .status(StatusCode::BAD_REQUEST)
        .say(l.msg("account-totp-off-refused"))
        .link("/account", l.msg("account-back"))
        .show(&app, &session, &page)
}
