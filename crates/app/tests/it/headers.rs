//! Every response, errors included, carries the security headers; no page
//! carries a script.

use crate::db_tests;
use crate::harness::{Backend, Options, spawn_app, spawn_with};
use crate::resident::{Page, read};

db_tests!(
    every_response_has_the_security_headers,
    staff_and_public_listeners_are_separate
);

fn check_headers(p: &Page, what: &str, form_target: Option<&str>) {
    let csp = p
        .headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'none'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'none'"), "{what}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}");
    match form_target {
        Some(o) => assert!(
            csp.ends_with(&format!("form-action 'self' {o}")),
            "{what}: {csp}"
        ),
        None => assert!(csp.ends_with("form-action 'self'"), "{what}: {csp}"),
    }
    assert_eq!(p.headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(p.headers["referrer-policy"], "same-origin", "{what}");
    assert_eq!(p.headers["x-frame-options"], "DENY", "{what}");
    assert!(
        p.headers.get("strict-transport-security").is_none(),
        "{what}: no HSTS over plain HTTP"
    );
    if p.headers
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"))
    {
        let lower = p.body.to_lowercase();
        assert!(!lower.contains("<script"), "{what}: a script");
        assert!(!lower.contains("javascript:"), "{what}: a javascript: URL");
        for attr in [
            " onclick=",
            " onload=",
            " onerror=",
            " onsubmit=",
            " onchange=",
            " onfocus=",
        ] {
            assert!(!lower.contains(attr), "{what}: inline handler {attr}");
        }
        assert!(lower.contains("<html lang=\"en\">"), "{what}: language");
    }
}

async fn every_response_has_the_security_headers(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    let processor = Some(t.sandbox.as_str());
    let mut pages = vec![
        ("home", r.get("/").await),
        ("lookup", r.get("/pay/utilities").await),
        ("404", r.get("/no/such/page").await),
        ("css", r.get("/static/app.css").await),
        ("review without draft", r.get("/pay/review").await),
        ("bad lookup", r.lookup("1", "1").await),
        ("lookup ok", r.lookup("1002-3345", "94110").await),
        ("bills", r.get("/pay/utilities/bills").await),
    ];
    let bill = t.bill_id("UT-1").await;
    pages.push(("bad amount", r.choose(bill, "other", "x").await));
    pages.push(("choose", r.choose(bill, "full", "").await));
    pages.push(("review", r.get("/pay/review").await));
    let confirmed = r.confirm("").await;
    let receipt_url = {
        let checkout = confirmed.location.clone().unwrap();
        let back = r.pay_on_processor(&checkout, "4242424242424242").await;
        back.location.unwrap()
    };
    pages.push(("confirm", confirmed));
    pages.push(("receipt", r.get(&receipt_url).await));
    let plain = t.resident();
    pages.push((
        "403",
        read(
            plain
                .client
                .post(format!("{}/pay/utilities", t.public))
                .form(&[("a", "b")])
                .send()
                .await
                .unwrap(),
        )
        .await,
    ));
    pages.push((
        "413",
        // Its own connection: the server closes it after a 413.
        read(
            t.resident()
                .client
                .post(format!("{}/pay/utilities", t.public))
                .body(vec![b'a'; 100_000])
                .send()
                .await
                .unwrap(),
        )
        .await,
    ));
    pages.push((
        "webhook 401",
        read(
            plain
                .client
                .post(format!("{}/webhooks/sandbox", t.public))
                .body("{}")
                .send()
                .await
                .unwrap(),
        )
        .await,
    ));
    for (what, p) in &pages {
        assert!(p.status < 500, "{what}: {}", p.status);
        check_headers(p, what, processor);
    }
    assert_eq!(pages[0].1.headers["cache-control"], "no-store");
    assert!(
        pages[3].1.headers["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    for (what, path) in [
        ("healthz", "/healthz"),
        ("metrics", "/metrics"),
        ("staff 404", "/nope"),
        ("staff index", "/"),
    ] {
        let p = read(
            t.client
                .get(format!("{}{path}", t.staff))
                .send()
                .await
                .unwrap(),
        )
        .await;
        check_headers(&p, what, None);
    }
    t.stop().await;
}

async fn staff_and_public_listeners_are_separate(b: Backend) {
    let t = spawn_app(b).await;
    for path in ["/healthz", "/metrics"] {
        let public = read(
            t.client
                .get(format!("{}{path}", t.public))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            public.status, 404,
            "{path} must not be on the public listener"
        );
    }
    let health = read(
        t.client
            .get(format!("{}/healthz", t.staff))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(health.status, 200);
    assert!(health.body.contains("\"database\":\"ok\""));
    let pay = read(
        t.client
            .get(format!("{}/pay/utilities", t.staff))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        pay.status, 404,
        "resident pages are not on the staff listener"
    );
    let mut r = t.resident();
    let (id, _) = r
        .pay_bill("1002-3345", "94110", "UT-1", "4242424242424242", "")
        .await;
    t.settled(&id).await;
    let metrics = read(
        t.client
            .get(format!("{}/metrics", t.staff))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        metrics
            .body
            .contains("cityteller_payments_total{event=\"succeeded\"} 1"),
        "{}",
        metrics.body
    );
    assert!(
        metrics
            .body
            .contains("cityteller_webhooks_total{result=\"accepted\"} 1")
    );
    assert!(metrics.body.contains("cityteller_up 1"));
    t.stop().await;
}

/// Over TLS (behind a proxy): HSTS, and a `__Host-` Secure session cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_base_url_turns_on_hsts_and_secure_cookies() {
    let t = spawn_with(
        Backend::Sqlite,
        Options {
            public_base_url: Some("https://pay.springfield.example/".into()),
            ..Options::default()
        },
    )
    .await;
    let p = read(
        t.client
            .get(format!("{}/pay/utilities", t.public))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        p.headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let cookie = p.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-ct_session="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax")
    );
    assert!(cookie.contains("Path=/") && !cookie.contains("Domain"));
    t.stop().await;
}
