//! Every console route, called as nobody, as each role, and without a
//! valid CSRF token: the exact allow/deny matrix.

use app::staff::roles::Role;
use app::web::staff::ROUTES;
use app::web::staff::auth::Access;

use crate::db_tests;
use crate::harness::{Backend, Options, spawn_with};
use crate::resident::{Page, read};
use crate::staff_client::{StaffClient, browser};

db_tests!(every_route_as_every_role);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Allowed,
    ToSignIn,
    NoPermission,
    BadForm,
}

fn classify(p: &Page) -> Seen {
    assert!(p.status < 500, "server error {}: {}", p.status, p.body);
    if p.status == 303
        && p.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/login?next="))
    {
        Seen::ToSignIn
    } else if p.status == 403 && p.body.contains("You do not have permission") {
        Seen::NoPermission
    } else if p.status == 403 && p.body.contains("the form was not sent from this site") {
        Seen::BadForm
    } else {
        assert_ne!(p.status, 403, "an unexplained 403: {}", p.body);
        Seen::Allowed
    }
}

/// A concrete path, and form fields that pass the gate but change nothing
/// (or something harmless) when they get through.
fn example(
    path: &str,
    payment: &str,
    today: &str,
    yesterday: &str,
    method: &str,
) -> (String, Vec<(&'static str, &'static str)>) {
    let date = if method == "post" { today } else { yesterday };
    let p = path
        .replace("/payments/{id}", &format!("/payments/{payment}"))
        .replace(
            "/refunds/{id}",
            "/refunds/00000000-0000-4000-8000-000000000000",
        )
        .replace("/staff/{id}", "/staff/999999")
        .replace("/licences/{id}", "/licences/999999")
        .replace("/residents/{id}", "/residents/999999")
        .replace("{date}", date)
        .replace("{token}", "not-a-real-token");
    (p, Vec::new())
}

async fn call(
    s: &StaffClient<'_>,
    client: &reqwest::Client,
    method: &str,
    url: &str,
    csrf: Option<&str>,
    fields: &[(&str, &str)],
) -> Page {
    let full = s.t.staff_url(url);
    let resp = if method == "get" {
        client.get(full).send().await.unwrap()
    } else {
        let mut form: Vec<(&str, &str)> = Vec::new();
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        form.extend_from_slice(fields);
        client.post(full).form(&form).send().await.unwrap()
    };
    read(resp).await
}

fn expected(access: Access, role: Option<Role>) -> Seen {
    match (access, role) {
        (Access::Public, _) => Seen::Allowed,
        (_, None) => Seen::ToSignIn,
        (Access::SignedIn, Some(_)) => Seen::Allowed,
        (Access::Requires(p), Some(r)) if r.can(p) => Seen::Allowed,
        (Access::Requires(_), Some(_)) => Seen::NoPermission,
    }
}

async fn every_route_as_every_role(b: Backend) {
    let t = spawn_with(
        b,
        Options {
            manual_clock: true,
            ..Options::default()
        },
    )
    .await;
    let mut r = t.resident();
    let (payment, _) = r
        .pay_bill(
            "3090-1200",
            "94117",
            "UT-4",
            "4242424242424242",
            "bakery@example.com",
        )
        .await;
    t.settled(&payment).await;
    let today = app::services::close::today(&t.app);
    let yesterday = today.yesterday().unwrap().to_string();
    let today = today.to_string();

    let mut staff = Vec::new();
    for role in Role::ALL {
        staff.push(t.staff(role).await);
    }
    // Sign-out routes last: they end the session they are called with.
    let mut routes: Vec<_> = ROUTES.iter().collect();
    routes.sort_by_key(|r| r.path.starts_with("/logout"));
    let mut checked = 0;
    for route in &routes {
        let (path, fields) = example(route.path, &payment, &today, &yesterday, route.method);
        // Nobody signed in.
        let anon = browser();
        let pre = read(anon.get(t.staff_url("/login")).send().await.unwrap())
            .await
            .csrf();
        let seen =
            classify(&call(&staff[0], &anon, route.method, &path, Some(&pre), &fields).await);
        assert_eq!(
            seen,
            expected(route.access, None),
            "anonymous {} {path}",
            route.method
        );
        if route.method == "post" {
            let seen = classify(&call(&staff[0], &anon, route.method, &path, None, &fields).await);
            let want = if route.access == Access::Public {
                Seen::BadForm
            } else {
                Seen::ToSignIn
            };
            assert_eq!(seen, want, "anonymous without CSRF {} {path}", route.method);
        }
        for s in &mut staff {
            if route.path.starts_with("/logout") {
                // Each sign-out route gets a live session to end.
                assert_eq!(s.sign_in().await.status, 303);
            }
            let want = expected(route.access, Some(s.role));
            if route.method == "post" {
                // Missing and forged tokens first: they must change nothing.
                for bad in [None, Some("forged-token")] {
                    let seen =
                        classify(&call(s, &s.client.clone(), "post", &path, bad, &fields).await);
                    let want_bad = if want == Seen::NoPermission {
                        Seen::NoPermission
                    } else {
                        Seen::BadForm
                    };
                    assert_eq!(
                        seen, want_bad,
                        "{} without a valid CSRF token: post {path}",
                        s.role
                    );
                }
            }
            let csrf = s.get("/").await.input("csrf");
            let seen = classify(
                &call(
                    s,
                    &s.client.clone(),
                    route.method,
                    &path,
                    csrf.as_deref(),
                    &fields,
                )
                .await,
            );
            assert_eq!(seen, want, "{} {} {path}", s.role, route.method);
            checked += 1;
        }
    }
    assert!(checked >= ROUTES.len() * 6);
    // Every refusal was recorded.
    let denials = t
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'staff.permission_denied'")
        .await;
    let expected_denials: i64 = ROUTES
        .iter()
        .map(|r| {
            let per_call = if r.method == "post" { 3 } else { 1 };
            Role::ALL
                .iter()
                .filter(|role| expected(r.access, Some(**role)) == Seen::NoPermission)
                .count() as i64
                * per_call
        })
        .sum();
    assert_eq!(denials, expected_denials);
    // Nothing the gate refused happened: no refund, no closed day, no new staff.
    assert_eq!(t.count("SELECT COUNT(*) FROM refunds").await, 0);
    assert_eq!(t.count("SELECT COUNT(*) FROM closed_dates").await, 0);
    assert_eq!(t.count("SELECT COUNT(*) FROM staff_users").await, 6);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM staff_sessions").await,
        0,
        "every role signed out at the end"
    );
    t.stop().await;
}
