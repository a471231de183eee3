//! Rate limits per client address (behind trusted proxies only).

use crate::db_tests;
use crate::harness::{Backend, Options, spawn_with};
use crate::resident::read;

db_tests!(lookups_and_sign_ins_are_rate_limited_per_address);

async fn lookups_and_sign_ins_are_rate_limited_per_address(b: Backend) {
    let t = spawn_with(
        b,
        Options {
            manual_clock: true,
            extra_toml: "[limits]\nlookup_per_minute = 3\npayment_per_minute = 100\nsign_in_per_minute = 2\nenrol_per_minute = 100\ntrusted_proxies = [\"127.0.0.1/32\"]\n".into(),
            ..Options::default()
        },
    )
    .await;
    let mut r = t.resident();
    for _ in 0..3 {
        assert_eq!(r.lookup("9999-0000", "94110").await.status, 400);
    }
    let started = std::time::Instant::now();
    let limited = r.lookup("1002-3345", "94110").await;
    assert_eq!(limited.status, 429, "even the right details wait");
    assert!(
        started.elapsed() >= app::web::limits::TARPIT,
        "a refusal is answered only after the tarpit delay"
    );
    assert!(limited.body.contains("Too many attempts"));
    assert!(
        limited.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(limited.headers.contains_key("content-security-policy"));
    // Behind the trusted proxy, another client has its own allowance…
    let url = format!("{}/pay/utilities", t.public);
    let csrf = r.get("/pay/utilities").await.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("account_number", "1002-3345"),
        ("zip", "94110"),
    ];
    let other = read(
        r.client
            .post(&url)
            .header("x-forwarded-for", "198.51.100.7")
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(other.status, 303, "{}", other.body);
    // …and a client cannot pick its address by sending the header: only
    // the last hop before the trusted proxy counts.
    let spoof = read(
        r.client
            .post(&url)
            .header("x-forwarded-for", "203.0.113.1, 127.0.0.1")
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        spoof.status, 303,
        "a new address from the proxy's view: 203.0.113.1"
    );
    let metrics = read(
        t.client
            .get(format!("{}/metrics", t.staff))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        metrics.body.contains("cityteller_rate_limited_total 1"),
        "{}",
        metrics.body
    );
    // Staff sign-in.
    let c = crate::staff_client::browser();
    let page = read(c.get(t.staff_url("/login")).send().await.unwrap()).await;
    let csrf = page.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("email", "x@city.example"),
        ("password", "wrong password here"),
        ("code", "123456"),
    ];
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            read(
                c.post(t.staff_url("/login"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
            .status,
        );
    }
    assert_eq!(statuses, vec![401, 401, 429]);
    t.stop().await;
}
