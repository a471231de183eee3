//! Business licence renewal: licences come in by file; a holder finds the
//! licence by number and business name, declares gross receipts (or
//! employees), sees the fee (with the late penalty when late), pays it like
//! any bill; the expiry advances once, and the certificate's code checks
//! out on the public page while a forged one does not.

use app::audit::Actor;
use app::services::licences::{LicenceError, import_licences};
use jiff::civil::Date;

use crate::db_tests;
use crate::departments::LICENSING;
use crate::harness::{Backend, Options, TestApp, spawn_with};
use crate::resident::Resident;

db_tests!(
    a_late_licence_is_renewed_with_a_penalty_and_its_certificate_verifies,
    renewal_outside_the_window_and_bad_declarations_are_explained,
);

fn today(t: &TestApp) -> Date {
    t.app
        .now()
        .to_zoned_datetime(t.app.config.timezone.clone())
        .date()
}

fn days(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().days(n)).unwrap()
}

/// Three licences: one expired 45 days ago (retail), one expiring in 20
/// days (contractor), one in 200 days (home occupation).
async fn with_licences(b: Backend) -> TestApp {
    let t = spawn_with(
        b,
        Options {
            extra_toml: LICENSING.into(),
            // Staff sign in with one-time codes on the test's clock.
            manual_clock: true,
            ..Options::default()
        },
    )
    .await;
    let now = today(&t);
    let file = format!(
        "licence_number,business_name,business_address,category,expires_on
BL-000101,Corner Books LLC,\"12 Elm St, Springfield\",retail,{}
BL-000102,Reyes Roofing,\"3 Oak Ave, Springfield\",contractor,{}
BL-000103,Ana's Alterations,\"9 Pine St, Springfield\",home,{}
",
        days(now, -45),
        days(now, 20),
        days(now, 200)
    );
    let dept = t.app.config.department("licensing").unwrap();
    let n = import_licences(&t.app, dept, &file, "licences.csv", &Actor::System("test"))
        .await
        .unwrap();
    assert_eq!(n, 3);
    t
}

async fn find(r: &mut Resident<'_>, number: &str, name: &str) {
    r.get("/pay/licensing").await;
    let found = r
        .post(
            "/pay/licensing",
            &[("account_number", number), ("verifier", name)],
        )
        .await;
    assert_eq!(found.status, 303, "look-up: {}", found.body);
    let bills = r.get("/pay/licensing/bills").await;
    assert!(
        bills.main().contains("Renew this licence"),
        "{}",
        bills.main()
    );
}

async fn a_late_licence_is_renewed_with_a_penalty_and_its_certificate_verifies(b: Backend) {
    let t = with_licences(b).await;
    let mut r = t.resident();
    find(&mut r, "BL-000101", "corner books llc").await;
    let form = r.get("/renew/licensing").await;
    assert_eq!(form.status, 200);
    assert!(form.main().contains("Corner Books LLC"), "{}", form.main());
    assert!(
        form.main().contains("A late penalty is added"),
        "{}",
        form.main()
    );

    // $250,000 of gross receipts: $235.00; 45 days late is two started
    // months, 20 % ($47.00); the $4.00 state surcharge.
    let quoted = r
        .post(
            "/renew/licensing",
            &[("gross", "250,000"), ("action", "quote")],
        )
        .await;
    assert_eq!(quoted.status, 200, "{}", quoted.body);
    let main = quoted.main();
    for expected in [
        "Licence fee (Retail)",
        "$235.00",
        "Late penalty (2 months)",
        "$47.00",
        "State disability access fee",
        "$4.00",
        "$286.00",
    ] {
        assert!(main.contains(expected), "{expected:?} not in {main}");
    }
    // Continuing needs an answer about the contact details on file.
    let unanswered = r
        .post(
            "/renew/licensing",
            &[("gross", "250000"), ("action", "continue")],
        )
        .await;
    assert_eq!(unanswered.status, 400, "{}", unanswered.body);
    assert!(
        unanswered
            .main()
            .contains("Say whether the contact details on file are correct"),
        "{}",
        unanswered.main()
    );
    let vague = r
        .post(
            "/renew/licensing",
            &[
                ("gross", "250000"),
                ("contact", "changed"),
                ("changes", "  "),
                ("action", "continue"),
            ],
        )
        .await;
    assert_eq!(vague.status, 400);
    assert!(
        vague.main().contains("Say what has changed"),
        "{}",
        vague.main()
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM licence_renewals").await,
        0,
        "nothing started while the form has errors"
    );
    let go = r
        .post(
            "/renew/licensing",
            &[
                ("gross", "250000"),
                ("contact", "changed"),
                ("changes", "New telephone: 555-0199"),
                ("action", "continue"),
            ],
        )
        .await;
    assert_eq!(go.status, 303, "{}", go.body);
    assert_eq!(go.location.as_deref(), Some("/pay/review"));
    let id = r.confirm_and_pay("books@example.com").await;
    // The receipt e-mail links the certificate.
    let outbox = t.dir.join("outbox");
    let link = format!("/pay/receipt/{id}/certificate.pdf");
    let mut mail = String::new();
    for _ in 0..100 {
        if let Some(e) = std::fs::read_dir(&outbox)
            .ok()
            .and_then(|mut d| d.find_map(Result::ok))
        {
            // Soft line breaks of quoted-printable undone.
            mail = std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .replace("=\r\n", "")
                .replace("=\n", "");
            if mail.contains(&link) {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(mail.contains(&link), "{mail}");
    // …and carries it as a PDF attachment.
    assert!(mail.contains("Content-Type: application/pdf"), "{mail}");
    assert!(mail.contains("licence-certificate.pdf"), "{mail}");

    // The expiry moved a year on from the old one, once.
    let account: i64 = sqlx::query_scalar(
        "SELECT id FROM service_accounts WHERE department = 'licensing' AND account_number = 'BL000101'",
    )
    .fetch_one(t.db().reader())
    .await
    .unwrap();
    let licence = app::services::licences::for_account(&t.app, account)
        .await
        .unwrap()
        .unwrap();
    let old = days(today(&t), -45);
    assert_eq!(
        licence.expires_on,
        old.checked_add(jiff::Span::new().months(12)).unwrap()
    );
    let declared: i64 = sqlx::query_scalar(
        "SELECT declared_gross_cents FROM licence_renewals WHERE status = 'paid'",
    )
    .fetch_one(t.db().reader())
    .await
    .unwrap();
    assert_eq!(declared, 25_000_000, "the declaration is kept for review");

    // The receipt offers the certificate; it carries the code.
    let receipt = r.get(&format!("/pay/receipt/{id}")).await;
    assert!(
        receipt.main().contains("certificate.pdf"),
        "{}",
        receipt.main()
    );
    let pdf = r
        .client
        .get(format!("{}/pay/receipt/{id}/certificate.pdf", t.public))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(
        pdf.headers()["content-type"].to_str().unwrap(),
        "application/pdf"
    );
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-1.4"));
    let code: String =
        sqlx::query_scalar("SELECT certificate_code FROM licence_renewals WHERE status = 'paid'")
            .fetch_one(t.db().reader())
            .await
            .unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains(&code), "the code is on the certificate");
    assert!(text.contains("Corner Books LLC"));

    // Anyone can check it; a forged code is not genuine.
    let mut public = t.resident();
    let ok = public
        .get(&format!("/verify?number=BL-000101&code={code}"))
        .await;
    assert!(
        ok.main()
            .contains("Genuine and current: Corner Books LLC (Retail)"),
        "{}",
        ok.main()
    );
    let mut forged = code.clone().into_bytes();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let bad = public
        .get(&format!("/verify?number=BL-000101&code={forged}"))
        .await;
    assert!(
        bad.main()
            .contains("No certificate with this licence number and code"),
        "{}",
        bad.main()
    );
    // In Spanish, the category is named in Spanish.
    let es = t
        .resident()
        .get(&format!("/verify?number=BL-000101&code={code}&lang=es"))
        .await;
    assert!(
        es.main()
            .contains("Auténtico y vigente: Corner Books LLC (Comercio minorista)"),
        "{}",
        es.main()
    );
    let other = public
        .get(&format!("/verify?number=BL-000102&code={code}"))
        .await;
    assert!(
        other.main().contains("No certificate"),
        "another licence's number"
    );

    // A re-import of the licensing system's older expiry does not move it back.
    let dept = t.app.config.department("licensing").unwrap();
    import_licences(
        &t.app,
        dept,
        &format!(
            "licence_number,business_name,business_address,category,expires_on\nBL-000101,Corner Books LLC,\"12 Elm St, Springfield\",retail,{old}\n"
        ),
        "licences.csv",
        &Actor::System("test"),
    )
    .await
    .unwrap();
    let again = app::services::licences::for_account(&t.app, account)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.expires_on, licence.expires_on);
    // Finance sees the declaration and marks it for audit; audited.
    let mut finance = t.staff(app::staff::roles::Role::Finance).await;
    let list = finance.get("/licences").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("BL000101"), "{}", list.body);
    assert!(
        list.body.contains("gross receipts $250,000.00"),
        "{}",
        list.body
    );
    assert!(
        list.body.contains("changed: New telephone: 555-0199"),
        "the licensing office reads the change: {}",
        list.body
    );
    // Kept sealed, and counted in a breach's scope.
    let sealed: String = sqlx::query_scalar("SELECT contact_changes_enc FROM licence_renewals")
        .fetch_one(t.db().reader())
        .await
        .unwrap();
    assert!(!sealed.contains("555-0199"));
    let scope = app::services::breach::scope(
        &t.app,
        app::services::breach::Component::Database,
        jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1),
        jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
        &Actor::System("test"),
    )
    .await
    .unwrap();
    assert_eq!(
        scope.by_category[&app::services::breach::Category::ContactChanges],
        1
    );
    let renewal: i64 = sqlx::query_scalar("SELECT id FROM licence_renewals WHERE status = 'paid'")
        .fetch_one(t.db().reader())
        .await
        .unwrap();
    let marked = finance
        .post(&format!("/licences/{renewal}/audit"), &[("flag", "1")])
        .await;
    assert_eq!(marked.status, 303, "{}", marked.body);
    let flagged = finance.get("/licences?flagged=1").await;
    assert!(
        flagged.body.contains("Clear the mark on BL000101"),
        "{}",
        flagged.body
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'licence.declaration_flagged'")
            .await,
        1
    );
    t.assert_books_balance().await;
    t.stop().await;
}

async fn renewal_outside_the_window_and_bad_declarations_are_explained(b: Backend) {
    let t = with_licences(b).await;
    // Not yet: 200 days before expiry, the window is 60.
    let mut r = t.resident();
    find(&mut r, "BL-000103", "Ana's Alterations").await;
    let early = r.get("/renew/licensing").await;
    assert_eq!(early.status, 200);
    let opens = days(today(&t), 140);
    let main = early.main();
    assert!(main.contains("cannot be renewed yet"), "{main}");
    assert!(main.contains("60 days before it expires"), "{main}");
    let opens_text = app::i18n::Locale::En.date(&opens.to_string());
    assert!(main.contains(&opens_text), "{opens_text} in {main}");
    assert!(!main.contains("Continue to payment"));

    // In the window, by employees: errors beside the field.
    let mut r = t.resident();
    find(&mut r, "BL-000102", "REYES ROOFING").await;
    for (typed, expected) in [
        ("", "Enter the number of employees"),
        ("four", "Enter the number of employees as a whole number"),
        ("-3", "Enter the number of employees as a whole number"),
        (
            "2000000",
            "More than 10,000 employees cannot be declared online",
        ),
    ] {
        let page = r
            .post(
                "/renew/licensing",
                &[("employees", typed), ("action", "quote")],
            )
            .await;
        assert_eq!(page.status, 400, "{typed:?}: {}", page.body);
        assert!(page.main().contains(expected), "{typed:?}: {}", page.main());
        assert!(page.main().contains("aria-invalid=\"true\""));
    }
    let fine = r
        .post(
            "/renew/licensing",
            &[("employees", "10"), ("action", "quote")],
        )
        .await;
    assert_eq!(fine.status, 200);
    // $60 for two, $12.50 for each of eight more, $4 surcharge; not late.
    assert!(fine.main().contains("$164.00"), "{}", fine.main());
    assert!(!fine.main().contains("Late penalty"));

    // A bad licences file: every problem, nothing imported.
    let dept = t.app.config.department("licensing").unwrap();
    let bad = import_licences(
        &t.app,
        dept,
        "licence_number,business_name,business_address,category,expires_on
BL-000201,New Shop,\"1 Main St\",bakery,2027-01-01
BL-000202,Other Shop,\"2 Main St\",retail,next year
BL-000201,Again,\"3 Main St\",retail,2027-01-01
",
        "licences.csv",
        &Actor::System("test"),
    )
    .await;
    match bad {
        Err(LicenceError::Invalid { errors, .. }) => {
            let all = errors.join("\n");
            assert!(
                all.contains("line 2, column category: unknown category \"bakery\""),
                "{all}"
            );
            assert!(
                all.contains("line 3, column expires_on: expected a date"),
                "{all}"
            );
            assert!(
                all.contains("line 4, column licence_number: licence BL000201 appears twice"),
                "{all}"
            );
        }
        other => panic!("expected problems, got {other:?}"),
    }
    assert_eq!(
        t.count("SELECT COUNT(*) FROM licences").await,
        3,
        "nothing imported"
    );
    t.stop().await;
}
