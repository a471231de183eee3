//! Resident accounts over HTTP, with e-mail delivered to a real SMTP
//! server (aiosmtpd) and read back: sign-up and confirmation, sign-in,
//! the answers that must not reveal a registered address, links from
//! e-mails that are used, reused or expired, password reset ending other
//! sessions, linking accounts with proof (and its throttle), e-bills and
//! due-date reminders sent once each through the clock, one-click
//! unsubscribe, and the payment history.

use std::time::Duration;

use crate::db_tests;
use crate::harness::{Backend, Options, TestApp, spawn_with};
use crate::mail::{Smtp, start_smtp};
use crate::resident::Resident;

db_tests!(
    sign_up_confirm_and_sign_in,
    reset_ends_other_sessions_and_links_expire,
    linking_needs_proof_and_is_throttled,
    e_bills_reminders_unsubscribe_and_history,
    second_factor_when_turned_on,
    retention_removes_never_confirmed_accounts_and_old_links,
);

const PASSWORD: &str = "lantern orchard pebble tide";

pub async fn start(b: Backend) -> Option<(TestApp, Smtp)> {
    let scratch =
        crate::harness::artifacts_root().join(format!("smtp-{}", app::crypto::random_token(6)));
    std::fs::create_dir_all(&scratch).unwrap();
    let smtp = start_smtp(&scratch).await?;
    let t = spawn_with(
        b,
        Options {
            smtp_url: Some(format!("smtp://127.0.0.1:{}", smtp.port)),
            manual_clock: true,
            ..Options::default()
        },
    )
    .await;
    Some((t, smtp))
}

/// `date` moved by `days`.
pub fn plus(date: jiff::civil::Date, days: i64) -> jiff::civil::Date {
    date.checked_add(jiff::Span::new().days(days)).unwrap()
}

/// A date as the English pages and e-mails write it.
pub fn long(date: jiff::civil::Date) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = usize::try_from(date.month()).unwrap() - 1;
    format!("{} {}, {}", MONTHS[month], date.day(), date.year())
}

/// Makes UT-1 (account 1002-3345, $84.12) due `days` after the app's
/// today, so the tests do not depend on the calendar they run on.
pub async fn ut1_due_in(t: &TestApp, days: i64) -> jiff::civil::Date {
    let due = plus(app::services::close::today(&t.app), days);
    t.import(&format!(
        "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
1002-3345,94110,Maria Lopez,\"1234 Maple Ave, Springfield\",2026-10-01/2026-10-31,84.12,{due},UT-1
"
    ))
    .await
    .unwrap();
    due
}

/// The path of the first link to `prefix` in a message (`/account/…`).
pub fn link_in(message: &str, prefix: &str) -> String {
    let start = message
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {message}"));
    let rest = &message[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || "/-_.".contains(c)))
        .unwrap_or(rest.len());
    rest[..end].to_owned()
}

pub fn subject(message: &str) -> &str {
    message
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or("")
}

/// Signs up, confirms through the e-mailed link and signs in; `mails` is
/// how many messages the server had before.
pub async fn sign_up_and_in(r: &mut Resident<'_>, smtp: &Smtp, email: &str, mails: usize) {
    let form = r.get("/account/signup").await;
    assert_eq!(form.status, 200);
    let sent = r
        .post(
            "/account/signup",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.main().contains("Check your e-mail"));
    let all = smtp.wait_for(mails + 1).await;
    let confirm = all
        .iter()
        .find(|m| subject(m).starts_with("Confirm your e-mail") && m.contains(email))
        .expect("confirmation e-mail");
    let path = link_in(confirm, "/account/confirm/");
    let page = r.get(&path).await;
    assert_eq!(page.status, 200);
    let done = r.post(&path, &[]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.main().contains("Your e-mail address is confirmed"));
    let signed = r
        .post(
            "/account/signin",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location.as_deref(), Some("/account"));
    let home = r.get("/account").await;
    assert_eq!(home.status, 200);
    assert!(home.main().contains(&format!("Signed in as {email}")));
}

pub async fn sign_in(r: &mut Resident<'_>, email: &str) {
    r.get("/account/signin").await;
    let signed = r
        .post(
            "/account/signin",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location.as_deref(), Some("/account"));
    // A new session: its pages carry a new form token.
    assert_eq!(r.get("/account").await.status, 200);
}

async fn sign_up_confirm_and_sign_in(b: Backend) {
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut r = t.resident();
    // Not signed in: the account page sends to sign-in.
    let away = r.get("/account").await;
    assert_eq!(away.status, 303);
    assert_eq!(away.location.as_deref(), Some("/account/signin"));

    // Bad input is refused field by field, and nothing is stored.
    r.get("/account/signup").await;
    let bad = r
        .post(
            "/account/signup",
            &[
                ("email", "not an address"),
                ("password", "password1234"),
                ("confirm", "password1234"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("<title>Error: Create an account"));
    assert!(bad.main().contains("too common"), "{}", bad.main());
    assert!(bad.main().contains("href=\"#email\""));
    let short = r
        .post(
            "/account/signup",
            &[
                ("email", "ana@example.com"),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 400);
    assert!(short.main().contains("at least 12 characters"));
    assert!(
        !short.body.contains("value=\"short\""),
        "passwords are never echoed"
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM residents").await, 0);

    // Signing in before confirming sends a new link instead.
    r.post(
        "/account/signup",
        &[
            ("email", "ana@example.com"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ],
    )
    .await;
    let first = link_in(&smtp.wait_for(1).await[0], "/account/confirm/");
    let early = r
        .post(
            "/account/signin",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(early.status, 200);
    assert!(early.main().contains("not been confirmed yet"));
    let mails = smtp.wait_for(2).await;
    let second = mails
        .iter()
        .map(|m| link_in(m, "/account/confirm/"))
        .find(|l| *l != first)
        .expect("a second, different link");
    // The newer link replaced the older one.
    let old = r.get(&first).await;
    assert_eq!(old.status, 410, "{}", old.body);
    assert!(old.main().contains("already been used"));
    r.get(&second).await;
    let done = r.post(&second, &[]).await;
    assert!(done.main().contains("Your e-mail address is confirmed"));
    let again = r.post(&second, &[]).await;
    assert_eq!(again.status, 410);
    let unknown = r.get("/account/confirm/not-a-real-token").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.main().contains("not valid"));

    // A wrong password and an unknown address get the same answer.
    let wrong = r
        .post(
            "/account/signin",
            &[
                ("email", "ana@example.com"),
                ("password", "wrong password here"),
            ],
        )
        .await;
    let nobody = r
        .post(
            "/account/signin",
            &[("email", "nobody@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert_eq!(nobody.status, 400);
    assert!(
        wrong
            .main()
            .contains("e-mail address or password is not right")
    );
    assert!(
        nobody
            .main()
            .contains("e-mail address or password is not right")
    );

    // Signing in gives the session a new id.
    let signed = r
        .post(
            "/account/signin",
            &[("email", "Ana@Example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert!(
        signed
            .headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("ct_session=")),
        "a new session cookie"
    );
    let home = r.get("/account").await;
    assert!(home.main().contains("Signed in as ana@example.com"));

    // A second sign-up with the address: the same page, another e-mail.
    let mut other = t.resident();
    other.get("/account/signup").await;
    let same = other
        .post(
            "/account/signup",
            &[
                ("email", "ana@example.com"),
                ("password", "a different long passphrase"),
                ("confirm", "a different long passphrase"),
            ],
        )
        .await;
    assert_eq!(same.status, 200);
    assert!(same.main().contains("Check your e-mail"));
    let mails = smtp.wait_for(3).await;
    let exists = mails
        .iter()
        .find(|m| subject(m).contains("online payments account"))
        .expect("an 'already registered' e-mail");
    assert!(exists.contains("You already have an account"));
    assert!(!exists.contains("/account/confirm/"));
    assert!(exists.contains("multipart/alternative"));
    // The first password still works; the second does not.
    let mut third = t.resident();
    third.get("/account/signin").await;
    let no = third
        .post(
            "/account/signin",
            &[
                ("email", "ana@example.com"),
                ("password", "a different long passphrase"),
            ],
        )
        .await;
    assert_eq!(no.status, 400);

    // Signing out ends it.
    r.get("/account").await;
    let out = r.post("/account/signout", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(r.get("/account").await.status, 303);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'resident.signed_in'")
            .await,
        1
    );
    // The address is sealed at rest.
    assert_eq!(
        t.count("SELECT COUNT(*) FROM residents WHERE email_enc LIKE '%example.com%'")
            .await,
        0
    );
    t.stop().await;
}

async fn reset_ends_other_sessions_and_links_expire(b: Backend) {
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut phone = t.resident();
    sign_up_and_in(&mut phone, &smtp, "sam@example.com", 0).await;
    let mut laptop = t.resident();
    laptop.get("/account/signin").await;
    let signed = laptop
        .post(
            "/account/signin",
            &[("email", "sam@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed.status, 303);

    // Unknown addresses get the same answer and no e-mail.
    let mut someone = t.resident();
    someone.get("/account/reset").await;
    let unknown = someone
        .post("/account/reset", &[("email", "who@example.com")])
        .await;
    let known = someone
        .post("/account/reset", &[("email", "sam@example.com")])
        .await;
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.main(), known.main());
    let mails = smtp.wait_for(2).await;
    let reset = mails
        .iter()
        .find(|m| subject(m).starts_with("Reset your password"))
        .unwrap();
    let path = link_in(reset, "/account/reset/");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 2, "no e-mail for an unknown address");

    let form = someone.get(&path).await;
    assert_eq!(form.status, 200);
    let weak = someone
        .post(&path, &[("password", "password"), ("confirm", "password")])
        .await;
    assert_eq!(weak.status, 400);
    let new_password = "quiet harbour lamp seventeen";
    let done = someone
        .post(
            &path,
            &[("password", new_password), ("confirm", new_password)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/account?notice=reset"));
    let home = someone.get("/account?notice=reset").await;
    assert!(home.main().contains("signed out everywhere else"));
    // Both earlier sessions ended.
    assert_eq!(phone.get("/account").await.status, 303);
    assert_eq!(laptop.get("/account").await.status, 303);
    // The link worked once.
    let reused = someone.get(&path).await;
    assert_eq!(reused.status, 410);
    assert!(reused.main().contains("already been used"));
    // The old password is gone, the new one works.
    laptop.get("/account/signin").await;
    let old = laptop
        .post(
            "/account/signin",
            &[("email", "sam@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status, 400);
    let new = laptop
        .post(
            "/account/signin",
            &[("email", "sam@example.com"), ("password", new_password)],
        )
        .await;
    assert_eq!(new.status, 303);

    // A reset link expires.
    someone.get("/account/reset").await;
    someone
        .post("/account/reset", &[("email", "sam@example.com")])
        .await;
    let mails = smtp.wait_for(3).await;
    let path = mails
        .iter()
        .map(|m| {
            if subject(m).starts_with("Reset your password") {
                link_in(m, "/account/reset/")
            } else {
                String::new()
            }
        })
        .rfind(|p| !p.is_empty() && *p != link_in(reset, "/account/reset/"))
        .unwrap();
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_mins(61));
    let expired = someone.get(&path).await;
    assert_eq!(expired.status, 410);
    assert!(expired.main().contains("expired"));
    let refused = someone
        .post(
            &path,
            &[("password", new_password), ("confirm", new_password)],
        )
        .await;
    assert_eq!(refused.status, 410);
    t.stop().await;
}

async fn linking_needs_proof_and_is_throttled(b: Backend) {
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut r = t.resident();
    sign_up_and_in(&mut r, &smtp, "maria@example.com", 0).await;
    let form = r.get("/account/link/utilities").await;
    assert_eq!(form.status, 200);
    assert!(form.main().contains("Amount of your latest bill"));

    let attempt = |account: &'static str, zip: &'static str, last: &'static str| {
        [
            ("account_number", account),
            ("zip", zip),
            ("last_bill", last),
        ]
    };
    // Malformed input is named field by field.
    let bad = r
        .post(
            "/account/link/utilities",
            &attempt("1002-3345", "94110", "abc"),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.main().contains("href=\"#last_bill\""));
    // A wrong amount and an unknown account get the same answer.
    let wrong_amount = r
        .post(
            "/account/link/utilities",
            &attempt("1002-3345", "94110", "80.00"),
        )
        .await;
    let unknown = r
        .post(
            "/account/link/utilities",
            &attempt("9999-0000", "94110", "84.12"),
        )
        .await;
    assert_eq!(wrong_amount.status, 400);
    assert_eq!(unknown.status, 400);
    let said = |p: &crate::resident::Page| {
        p.main()
            .contains("we could not find an account with those details")
            || p.main()
                .contains("We could not find an account with those details")
    };
    assert!(said(&wrong_amount) && said(&unknown));
    // The right proof links it; linking again says so.
    let ok = r
        .post(
            "/account/link/utilities",
            &attempt("1002-3345", "94110", "84.12"),
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.location.as_deref(), Some("/account?notice=linked"));
    let home = r.get("/account?notice=linked").await;
    assert!(home.main().contains("The account is linked."));
    assert!(home.main().contains("UT-1"), "the open bill is listed");
    assert!(home.main().contains("$84.12"));
    assert!(!home.main().contains("Maria Lopez"), "no holder's name");
    let again = r
        .post(
            "/account/link/utilities",
            &attempt("1002-3345", "$84.12", "84.12"),
        )
        .await;
    assert_eq!(again.status, 400, "the ZIP is checked too");
    let again = r
        .post(
            "/account/link/utilities",
            &attempt("1002-3345", "94110", "$84.12"),
        )
        .await;
    assert_eq!(again.location.as_deref(), Some("/account?notice=already"));

    // Another person may link the same account (a couple).
    let mut partner = t.resident();
    sign_up_and_in(&mut partner, &smtp, "luis@example.com", 1).await;
    partner.get("/account/link/utilities").await;
    let theirs = partner
        .post(
            "/account/link/utilities",
            &attempt("1002-3345", "94110", "84.12"),
        )
        .await;
    assert_eq!(theirs.status, 303);
    assert_eq!(t.count("SELECT COUNT(*) FROM resident_links").await, 2);

    // "Pay these bills" opens the account's bills like a look-up.
    let home = r.get("/account").await;
    let link_id = home
        .main()
        .split("/account/links/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_owned();
    let pay = r.post(&format!("/account/links/{link_id}/pay"), &[]).await;
    assert_eq!(pay.status, 303);
    assert_eq!(pay.location.as_deref(), Some("/pay/utilities/bills"));
    let bills = r.get("/pay/utilities/bills").await;
    assert_eq!(bills.status, 200);
    assert!(bills.main().contains("UT-1"));
    // Someone else's link cannot be touched.
    let mut stranger = t.resident();
    sign_up_and_in(&mut stranger, &smtp, "eve@example.com", 2).await;
    let theirs = stranger
        .post(&format!("/account/links/{link_id}/unlink"), &[])
        .await;
    assert_eq!(theirs.status, 404);
    let theirs = stranger
        .post(&format!("/account/links/{link_id}/pay"), &[])
        .await;
    assert_eq!(theirs.status, 404);

    // Unlinking is self-service.
    let gone = r
        .post(&format!("/account/links/{link_id}/unlink"), &[])
        .await;
    assert_eq!(gone.location.as_deref(), Some("/account?notice=unlinked"));
    assert_eq!(t.count("SELECT COUNT(*) FROM resident_links").await, 2 - 1);

    // Five wrong proofs an hour, then even the right one is refused.
    for _ in 0..4 {
        let no = stranger
            .post(
                "/account/link/utilities",
                &attempt("2048-7781", "94112", "1.00"),
            )
            .await;
        assert_eq!(no.status, 400);
    }
    let right = attempt("2048-7781", "94112", "58.95");
    let fifth = stranger
        .post(
            "/account/link/utilities",
            &attempt("2048-7781", "94112", "2.00"),
        )
        .await;
    assert_eq!(fifth.status, 400);
    let refused = stranger.post("/account/link/utilities", &right).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.main().contains("try again in an hour"));
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_mins(61));
    // The session ended too (30 minutes idle): sign in again.
    assert_eq!(stranger.get("/account").await.status, 303);
    sign_in(&mut stranger, "eve@example.com").await;
    let later = stranger.post("/account/link/utilities", &right).await;
    assert_eq!(later.status, 303, "{}", later.body);
    assert_eq!(later.location.as_deref(), Some("/account?notice=linked"));
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'resident.link_failed'")
            .await,
        2 + 5
    );
    t.stop().await;
}

async fn e_bills_reminders_unsubscribe_and_history(b: Backend) {
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let due = ut1_due_in(&t, 20).await;
    let ut9_due = plus(due, 33);
    let mut r = t.resident();
    sign_up_and_in(&mut r, &smtp, "maria@example.com", 0).await;
    r.get("/account/link/utilities").await;
    let ok = r
        .post(
            "/account/link/utilities",
            &[
                ("account_number", "1002-3345"),
                ("zip", "94110"),
                ("last_bill", "84.12"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303);
    let home = r.get("/account").await;
    let link_id = home
        .main()
        .split("/account/links/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_owned();
    let on = r
        .post(
            &format!("/account/links/{link_id}/paperless"),
            &[("on", "1")],
        )
        .await;
    assert_eq!(on.location.as_deref(), Some("/account?notice=paperless-on"));
    let app = &t.app;
    // Nothing new yet: the bill on file came before e-bills.
    app::services::residents::queue_notices(app).await.unwrap();
    app::jobs::drain(app).await.unwrap();
    assert_eq!(smtp.messages().len(), 1);

    // A new bill is imported: one "bill ready" e-mail, however often the
    // sweep runs.
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_secs(5));
    t.import(&format!(
        "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
1002-3345,94110,Maria Lopez,\"1234 Maple Ave, Springfield\",2026-11-01/2026-11-30,91.30,{ut9_due},UT-9
"
    ))
    .await
    .unwrap();
    for _ in 0..3 {
        app::services::residents::queue_notices(app).await.unwrap();
        app::jobs::drain(app).await.unwrap();
    }
    let mails = smtp.wait_for(2).await;
    let ready = mails
        .iter()
        .find(|m| subject(m) == "Your Utilities bill is ready")
        .unwrap_or_else(|| panic!("bill e-mail in {mails:#?}"));
    assert!(ready.contains("$91.30"), "{ready}");
    assert!(ready.contains(&long(ut9_due)));
    assert!(ready.contains("/account"));
    assert!(!ready.contains("Maria Lopez") && !ready.contains("Maple"));
    assert!(!ready.contains("1002-3345"), "the account number is masked");
    assert!(ready.contains("List-Unsubscribe: <"));
    assert!(ready.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    let unsubscribe = link_in(ready, "/account/unsubscribe/");

    // Paying the new bill through the account: the history shows the
    // receipt.
    let pay = r.post(&format!("/account/links/{link_id}/pay"), &[]).await;
    assert_eq!(pay.status, 303);
    let bill = t.bill_id("UT-9").await;
    let chosen = r.choose(bill, "full", "").await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    let id = r.confirm_and_pay("maria@example.com").await;
    let number = t.settled(&id).await.receipt_number.unwrap();
    let home = r.get("/account").await;
    assert!(home.main().contains(&number), "{}", home.main());
    assert!(home.main().contains(&format!("/pay/receipt/{id}")));
    // The receipt e-mail goes to the address typed at payment.
    smtp.wait_for(3).await;

    // Three days before UT-1's due date, one reminder.
    let clock = t.clock.as_ref().unwrap();
    clock.advance(jiff::SignedDuration::from_hours(24 * 17));
    for _ in 0..3 {
        app::services::residents::queue_notices(app).await.unwrap();
        app::jobs::drain(app).await.unwrap();
    }
    let mails = smtp.wait_for(4).await;
    let reminder = mails
        .iter()
        .find(|m| subject(m).starts_with("Reminder: your Utilities bill is due"))
        .unwrap_or_else(|| panic!("reminder in {mails:#?}"));
    assert!(reminder.contains(&long(due)) && reminder.contains("$84.12"));

    // One click in the mail program turns e-bills off, without a session
    // or a form token.
    let page = t
        .client
        .get(format!("{}{unsubscribe}", t.public))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let posted = t
        .client
        .post(format!("{}{unsubscribe}", t.public))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert!(
        posted
            .text()
            .await
            .unwrap()
            .contains("no longer get these e-mails")
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM resident_links WHERE paperless_since IS NOT NULL")
            .await,
        0
    );
    let forged = t
        .client
        .post(format!("{}/account/unsubscribe/{link_id}.0000", t.public))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'resident.paperless_off'")
            .await,
        1
    );
    t.stop().await;
}

/// The code an authenticator with `secret` shows at the app's time, `ahead`
/// steps later.
pub fn code_for(t: &TestApp, secret: &str, ahead: i64) -> String {
    let s = app::crypto::totp::TotpSecret::from_base32(secret).unwrap();
    s.code_at_step(t.app.now().as_second() / 30 + ahead)
}

pub fn key_on(page: &crate::resident::Page) -> String {
    let main = page.main();
    let start = main.find("Key: ").expect("the key is shown") + 5;
    main[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

async fn second_factor_when_turned_on(b: Backend) {
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut r = t.resident();
    sign_up_and_in(&mut r, &smtp, "ana@example.com", 0).await;
    let setup = r.get("/account/totp").await;
    assert_eq!(setup.status, 200);
    assert!(setup.body.contains("<svg"), "a QR code");
    let first = key_on(&setup);
    let right = code_for(&t, &first, 0);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let refused = r.post("/account/totp", &[("code", &wrong)]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.main().contains("did not match"));
    let second = key_on(&refused);
    assert_ne!(first, second, "a new key after a failed try");
    let on = r
        .post("/account/totp", &[("code", &code_for(&t, &second, 0))])
        .await;
    assert_eq!(on.location.as_deref(), Some("/account?notice=totp-on"));
    assert_eq!(
        t.count("SELECT COUNT(*) FROM residents WHERE totp_secret_enc IS NOT NULL")
            .await,
        1
    );

    // Signing in now takes the password, then a code.
    let mut phone = t.resident();
    phone.get("/account/signin").await;
    let half = phone
        .post(
            "/account/signin",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(half.location.as_deref(), Some("/account/signin/code"));
    assert_eq!(phone.get("/account").await.status, 303, "not signed in yet");
    let form = phone.get("/account/signin/code").await;
    assert_eq!(form.status, 200);
    let bad = phone
        .post("/account/signin/code", &[("code", "12345x")])
        .await;
    assert_eq!(bad.status, 400);
    // The code used to turn it on does not work again.
    let replay = phone
        .post(
            "/account/signin/code",
            &[("code", &code_for(&t, &second, 0))],
        )
        .await;
    assert_eq!(replay.status, 400);
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_secs(30));
    let code = code_for(&t, &second, 0);
    let ok = phone.post("/account/signin/code", &[("code", &code)]).await;
    assert_eq!(ok.location.as_deref(), Some("/account"), "{}", ok.body);
    let home = phone.get("/account").await;
    assert!(home.main().contains("Two-step verification"));
    assert!(home.main().contains("On: signing in asks for a code"));

    // The code step does not wait for ever.
    let mut late = t.resident();
    late.get("/account/signin").await;
    late.post(
        "/account/signin",
        &[("email", "ana@example.com"), ("password", PASSWORD)],
    )
    .await;
    late.get("/account/signin/code").await;
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_mins(6));
    let expired = late
        .post(
            "/account/signin/code",
            &[("code", &code_for(&t, &second, 0))],
        )
        .await;
    assert_eq!(expired.location.as_deref(), Some("/account/signin"));

    // Turning it off takes a current code.
    sign_in_with_code(&mut phone, &t, &second).await;
    phone.get("/account").await;
    let no = phone.post("/account/totp/off", &[("code", "000000")]).await;
    assert_eq!(no.status, 400);
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_secs(30));
    let off = phone
        .post("/account/totp/off", &[("code", &code_for(&t, &second, 0))])
        .await;
    assert_eq!(off.location.as_deref(), Some("/account?notice=totp-off"));
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'resident.second_factor_off'")
            .await,
        1
    );
    t.stop().await;
}

async fn sign_in_with_code(r: &mut Resident<'_>, t: &TestApp, secret: &str) {
    r.get("/account/signin").await;
    let half = r
        .post(
            "/account/signin",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(half.location.as_deref(), Some("/account/signin/code"));
    r.get("/account/signin/code").await;
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_secs(30));
    let ok = r
        .post("/account/signin/code", &[("code", &code_for(t, secret, 0))])
        .await;
    assert_eq!(ok.location.as_deref(), Some("/account"), "{}", ok.body);
}

async fn retention_removes_never_confirmed_accounts_and_old_links(b: Backend) {
    use app::services::retention::run;
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut sam = t.resident();
    sign_up_and_in(&mut sam, &smtp, "sam@example.com", 0).await;
    let mut ana = t.resident();
    ana.get("/account/signup").await;
    ana.post(
        "/account/signup",
        &[
            ("email", "ana@example.com"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ],
    )
    .await;
    smtp.wait_for(2).await;
    let actor = app::audit::Actor::System("test");
    let now = run(&t.app, &actor, true).await.unwrap();
    assert_eq!(now.account_leftovers_deleted, 0, "nothing is old enough");
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_hours(24 * 31));
    let planned = run(&t.app, &actor, true).await.unwrap();
    // Two links (one used, one never) and Ana's account.
    assert_eq!(planned.account_leftovers_deleted, 3);
    let done = run(&t.app, &actor, false).await.unwrap();
    assert_eq!(done.account_leftovers_deleted, 3);
    assert_eq!(t.count("SELECT COUNT(*) FROM residents").await, 1);
    assert_eq!(t.count("SELECT COUNT(*) FROM resident_tokens").await, 0);
    // Sam, confirmed, keeps the account and can sign in.
    sign_in(&mut sam, "sam@example.com").await;
    t.stop().await;
}
