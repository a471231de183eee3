//! A member of staff's browser: enrols through the real enrolment page
//! (reading the authenticator key from it, as a person would type it into
//! their app), then signs in with a code from that key.

use std::time::Duration;

use app::crypto::totp::{STEP_SECONDS, TotpSecret};
use app::staff::roles::Role;

use crate::harness::TestApp;
use crate::resident::{Page, read};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct StaffClient<'a> {
    pub t: &'a TestApp,
    pub client: reqwest::Client,
    pub email: String,
    pub role: Role,
    pub id: i64,
    pub secret: TotpSecret,
    pub recovery_codes: Vec<String>,
    last_step: i64,
    csrf: Option<String>,
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

impl TestApp {
    pub fn staff_url(&self, path: &str) -> String {
        format!("{}{path}", self.staff)
    }

    /// Adds a member of staff (as the command line does) and returns the
    /// enrolment link.
    pub async fn invite(&self, email: &str, role: Role) -> (i64, String) {
        app::services::staff_auth::add_staff(
            &self.app,
            email,
            role,
            &app::audit::Actor::System("test"),
            None,
        )
        .await
        .unwrap()
    }

    /// A signed-in member of staff with `role`.
    pub async fn staff(&self, role: Role) -> StaffClient<'_> {
        let email = format!(
            "{}.{}@city.example",
            role.as_str(),
            app::crypto::random_token(4)
                .to_lowercase()
                .replace(['-', '_'], "x")
        );
        let (id, link) = self.invite(&email, role).await;
        let mut s = StaffClient {
            t: self,
            client: browser(),
            email,
            role,
            id,
            secret: TotpSecret([0; 20]),
            recovery_codes: Vec::new(),
            last_step: 0,
            csrf: None,
        };
        let page = s.get(&link).await;
        assert_eq!(page.status, 200, "enrolment page: {}", page.body);
        s.secret = TotpSecret::from_base32(&secret_on(&page)).unwrap();
        let code = s.next_code();
        let token = link.rsplit('/').next().unwrap().to_owned();
        let done = s
            .post(
                &format!("/enrol/{token}"),
                &[
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                    ("code", &code),
                ],
            )
            .await;
        assert_eq!(done.status, 200, "enrolment: {}", done.main());
        s.recovery_codes = codes_on(&done);
        assert_eq!(s.recovery_codes.len(), 10);
        let signed = s.sign_in().await;
        assert_eq!(signed.status, 303, "sign-in: {}", signed.body);
        s
    }
}

/// The authenticator key shown on the enrolment page.
pub fn secret_on(page: &Page) -> String {
    let start =
        page.body.find("<code class=\"secret\">").unwrap() + "<code class=\"secret\">".len();
    let end = page.body[start..].find('<').unwrap() + start;
    page.body[start..end].to_owned()
}

pub fn codes_on(page: &Page) -> Vec<String> {
    page.body
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .collect()
}

impl StaffClient<'_> {
    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            self.t.staff_url(path)
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let page = read(self.client.get(self.url(path)).send().await.unwrap()).await;
        if let Some(c) = page.input("csrf") {
            self.csrf = Some(c);
        }
        page
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        if self.csrf.is_none() {
            self.get("/login").await;
        }
        let csrf = self.csrf.clone().unwrap();
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let page = read(
            self.client
                .post(self.url(path))
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if let Some(c) = page.input("csrf") {
            self.csrf = Some(c);
        }
        page
    }

    /// A code the server has not seen from this account: the next step in
    /// the accepted window, moving the test clock on when the window is
    /// used up.
    pub fn next_code(&mut self) -> String {
        let clock = self
            .t
            .clock
            .as_ref()
            .expect("staff tests run on the manual clock");
        loop {
            let now = self.t.app.now().as_second().div_euclid(STEP_SECONDS);
            let step = (now - 1).max(self.last_step + 1);
            if step <= now + 1 {
                self.last_step = step;
                return self.secret.code_at_step(step);
            }
            clock.advance(jiff::SignedDuration::from_secs(STEP_SECONDS));
        }
    }

    pub async fn sign_in(&mut self) -> Page {
        self.csrf = None;
        self.get("/login").await;
        let code = self.next_code();
        let email = self.email.clone();
        let page = self
            .post(
                "/login",
                &[("email", &email), ("password", PASSWORD), ("code", &code)],
            )
            .await;
        // The console pages carry the session's CSRF token from now on.
        self.get("/").await;
        page
    }
}
