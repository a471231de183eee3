//! Staff sign-in, enrolment, sessions and accounts.

use app::staff::roles::Role;
use jiff::SignedDuration;

use crate::db_tests;
use crate::harness::{Backend, Options, TestApp, spawn_with};
use crate::resident::read;
use crate::staff_client::{PASSWORD, browser, codes_on, secret_on};

db_tests!(
    sign_in_needs_password_and_a_fresh_code,
    repeated_failures_are_throttled_and_recorded,
    enrolment_links_work_once_and_expire,
    enrolment_refuses_weak_passwords_and_wrong_codes,
    sessions_rotate_time_out_and_end_everywhere,
    a_disabled_account_is_out_at_once,
    administrators_add_staff_from_the_console,
);

fn manual() -> Options {
    Options {
        manual_clock: true,
        import_bills: false,
        ..Options::default()
    }
}

async fn login(
    t: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
    code: &str,
) -> crate::resident::Page {
    let page = read(client.get(t.staff_url("/login")).send().await.unwrap()).await;
    let csrf = page.csrf();
    read(
        client
            .post(t.staff_url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", password),
                ("code", code),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn sign_in_needs_password_and_a_fresh_code(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let mut s = t.staff(Role::Viewer).await;
    let home = s.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains(&s.email));
    let c = browser();
    let code = s.next_code();
    let wrong_password = login(&t, &c, &s.email, "correct horse battery stapler", &code).await;
    let wrong_code = login(&t, &c, &s.email, PASSWORD, "000000").await;
    let no_account = login(&t, &c, "nobody@city.example", PASSWORD, &code).await;
    for p in [&wrong_password, &wrong_code, &no_account] {
        assert_eq!(p.status, 401);
        assert!(
            p.body
                .contains("The e-mail address, password or code is not right.")
        );
    }
    assert_eq!(
        wrong_password.main().replace(&s.email, ""),
        wrong_code.main().replace(&s.email, "")
    );
    // The right code works once; the same code again is a replay.
    let ok = login(&t, &c, &s.email, PASSWORD, &code).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let replay = login(&t, &browser(), &s.email, PASSWORD, &code).await;
    assert_eq!(replay.status, 401, "a code is good once");
    // A recovery code works once too.
    let recovery = s.recovery_codes[0].clone();
    assert_eq!(
        login(&t, &browser(), &s.email, PASSWORD, &recovery)
            .await
            .status,
        303
    );
    assert_eq!(
        login(&t, &browser(), &s.email, PASSWORD, &recovery)
            .await
            .status,
        401
    );
    let failed = t
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'staff.sign_in_failed'")
        .await;
    assert_eq!(failed, 5);
    let signed_in = t
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'staff.signed_in'")
        .await;
    assert_eq!(signed_in, 3, "enrolment sign-in, code, recovery code");
    t.stop().await;
}

async fn repeated_failures_are_throttled_and_recorded(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let mut s = t.staff(Role::Clerk).await;
    let c = browser();
    for _ in 0..4 {
        assert_eq!(
            login(&t, &c, &s.email, "wrong password guess", "123456")
                .await
                .status,
            401
        );
    }
    let blocked = {
        let code = s.next_code();
        login(&t, &c, &s.email, PASSWORD, &code).await
    };
    assert_eq!(blocked.status, 429, "even the right password waits");
    assert!(blocked.body.contains("Too many attempts"));
    assert!(blocked.headers.contains_key("retry-after"));
    let locked = t
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'staff.locked_out'")
        .await;
    assert_eq!(locked, 1);
    assert!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'staff.sign_in_throttled'")
            .await
            >= 1
    );
    // The wait grows with each failure and ends.
    t.clock
        .as_ref()
        .unwrap()
        .advance(SignedDuration::from_secs(3));
    let after = {
        let code = s.next_code();
        login(&t, &c, &s.email, PASSWORD, &code).await
    };
    assert_eq!(after.status, 303, "{}", after.body);
    t.stop().await;
}

async fn enrolment_links_work_once_and_expire(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let (_, link) = t.invite("late@city.example", Role::Viewer).await;
    t.clock
        .as_ref()
        .unwrap()
        .advance(SignedDuration::from_hours(25));
    let c = browser();
    let expired = read(c.get(&link).send().await.unwrap()).await;
    assert_eq!(expired.status, 410);
    assert!(expired.body.contains("This link has expired"));
    let (_, link) = t.invite("prompt@city.example", Role::Viewer).await;
    let page = read(c.get(&link).send().await.unwrap()).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<svg"), "QR code drawn on the server");
    let secret = app::crypto::totp::TotpSecret::from_base32(&secret_on(&page)).unwrap();
    let step = t.app.now().as_second() / 30;
    let csrf = page.csrf();
    let token = link.rsplit('/').next().unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
        ("code", &secret.code_at_step(step)),
    ];
    let done = read(
        c.post(t.staff_url(&format!("/enrol/{token}")))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(codes_on(&done).len(), 10);
    let again = read(c.get(&link).send().await.unwrap()).await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("already been used"));
    let reused = read(
        c.post(t.staff_url(&format!("/enrol/{token}")))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reused.status, 410);
    let bogus = read(c.get(t.staff_url("/enrol/nonsense")).send().await.unwrap()).await;
    assert_eq!(bogus.status, 404);
    t.stop().await;
}

async fn enrolment_refuses_weak_passwords_and_wrong_codes(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let (_, link) = t.invite("new@city.example", Role::Viewer).await;
    let c = browser();
    let page = read(c.get(&link).send().await.unwrap()).await;
    let csrf = page.csrf();
    let secret = app::crypto::totp::TotpSecret::from_base32(&secret_on(&page)).unwrap();
    let good_code = secret.code_at_step(t.app.now().as_second() / 30);
    let token = link.rsplit('/').next().unwrap();
    for (pw, confirm, code, message) in [
        (
            "short",
            "short",
            good_code.as_str(),
            "Use at least 12 characters",
        ),
        (
            "password1234",
            "password1234",
            good_code.as_str(),
            "too common",
        ),
        (
            "correct horse battery staple",
            "correct horse battery",
            good_code.as_str(),
            "The two passwords do not match",
        ),
        (PASSWORD, PASSWORD, "123456", "The code does not match"),
    ] {
        let form = [
            ("csrf", csrf.as_str()),
            ("password", pw),
            ("confirm", confirm),
            ("code", code),
        ];
        let p = read(
            c.post(t.staff_url(&format!("/enrol/{token}")))
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(p.status, 400, "{pw}");
        assert!(p.main().contains(message), "{message}: {}", p.main());
        assert!(p.main().contains("There is a problem"));
    }
    assert_eq!(
        t.count("SELECT COUNT(*) FROM staff_users WHERE status = 'active'")
            .await,
        0
    );
    t.stop().await;
}

async fn sessions_rotate_time_out_and_end_everywhere(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let mut s = t.staff(Role::Supervisor).await;
    let login_page = read(browser().get(t.staff_url("/login")).send().await.unwrap()).await;
    let pre = login_page.headers["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        pre.contains("HttpOnly") && pre.contains("SameSite=Strict"),
        "{pre}"
    );
    // Each sign-in gets a new session id.
    let c1 = browser();
    let first = {
        let code = s.next_code();
        login(&t, &c1, &s.email, PASSWORD, &code).await
    };
    let second = {
        let code = s.next_code();
        login(&t, &browser(), &s.email, PASSWORD, &code).await
    };
    let cookie = |p: &crate::resident::Page| p.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie(&first).starts_with("ct_staff="));
    assert_ne!(cookie(&first), cookie(&second));
    assert_eq!(
        read(c1.get(t.staff_url("/payments")).send().await.unwrap())
            .await
            .status,
        200
    );
    // Idle for 16 minutes: signed out.
    t.clock
        .as_ref()
        .unwrap()
        .advance(SignedDuration::from_mins(16));
    let idle = read(c1.get(t.staff_url("/payments")).send().await.unwrap()).await;
    assert_eq!(
        idle.location.as_deref(),
        Some("/login?next=%2Fpayments"),
        "back to the page after signing in"
    );
    // Sign out everywhere ends every session of the account.
    let other = browser();
    {
        let code = s.next_code();
        login(&t, &other, &s.email, PASSWORD, &code).await
    };
    s.sign_in().await;
    let everywhere = s.post("/logout-everywhere", &[]).await;
    assert_eq!(everywhere.location.as_deref(), Some("/login"));
    let after = read(other.get(t.staff_url("/")).send().await.unwrap()).await;
    assert_eq!(after.location.as_deref(), Some("/login?next=%2F"));
    t.stop().await;
}

async fn a_disabled_account_is_out_at_once(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let mut admin = t.staff(Role::Administrator).await;
    let mut clerk = t.staff(Role::Clerk).await;
    assert_eq!(clerk.get("/payments").await.status, 200);
    let page = admin
        .post(&format!("/staff/{}/disable", clerk.id), &[])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        clerk.get("/payments").await.location.as_deref(),
        Some("/login?next=%2Fpayments"),
        "session ended at once"
    );
    let again = {
        let code = clerk.next_code();
        login(&t, &browser(), &clerk.email, PASSWORD, &code).await
    };
    assert_eq!(again.status, 401);
    let own = admin
        .post(&format!("/staff/{}/disable", admin.id), &[])
        .await;
    assert_eq!(own.status, 400);
    assert!(own.main().contains("You cannot disable your own account"));
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'staff.disabled'")
            .await,
        1
    );
    t.stop().await;
}

async fn administrators_add_staff_from_the_console(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let mut admin = t.staff(Role::Administrator).await;
    let added = admin
        .post(
            "/staff",
            &[("email", "New.Clerk@City.example"), ("role", "clerk")],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.main());
    assert!(
        added
            .main()
            .contains("Enrolment link for new.clerk@city.example")
    );
    assert!(added.main().contains("/enrol/"));
    let dup = admin
        .post(
            "/staff",
            &[("email", "new.clerk@city.example"), ("role", "clerk")],
        )
        .await;
    assert_eq!(dup.status, 400);
    assert!(dup.main().contains("already exists"));
    let bad = admin
        .post("/staff", &[("email", "not an address"), ("role", "nobody")])
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.main().contains("Choose a role"));
    let list = admin.get("/staff").await;
    assert!(list.main().contains("new.clerk@city.example"));
    assert!(list.main().contains("invited"));
    t.stop().await;
}
