//! Closed-loop load: each connection sends its next request when the
//! previous one is answered. Every answer is checked (status, and for
//! pages the content), every latency recorded; the result is one JSON
//! line.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use app::processor::sandbox::{signature, wire};
use secrecy::ExposeSecret;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    scenario: Scenario,
    /// A name for the figures.
    #[arg(long, global = true, default_value = "")]
    label: String,
    /// Concurrent connections.
    #[arg(short = 'c', long, global = true, default_value_t = 64)]
    connections: usize,
    /// Seconds measured (after the warm-up).
    #[arg(short = 'd', long, global = true, default_value_t = 10)]
    duration: u64,
    /// Seconds of load before measuring.
    #[arg(long, global = true, default_value_t = 2)]
    warmup: u64,
}

#[derive(clap::Subcommand)]
enum Scenario {
    /// GET one URL (the static baseline).
    Get { url: String },
    /// Each connection looks up its own account, then reads its bill page.
    Bills {
        /// The resident site, e.g. http://127.0.0.1:8080
        #[arg(long)]
        base: String,
        /// Lines of `account_number,zip`.
        #[arg(long)]
        accounts: PathBuf,
        /// Meanwhile, this many connections post wrong passwords to this
        /// staff sign-in URL.
        #[arg(long)]
        flood_login: Option<String>,
        #[arg(long, default_value_t = 1000)]
        flood_connections: usize,
    },
    /// Signed `checkout.succeeded` webhooks, one per prepared payment.
    Webhooks {
        #[arg(long)]
        url: String,
        /// The key file (its first webhook secret signs).
        #[arg(long)]
        keys: PathBuf,
        /// From `prep`.
        #[arg(long)]
        payments: PathBuf,
    },
    /// POST a webhook-sized body to the baseline's /insert.
    Insert { url: String },
}

/// Latencies of the measured window, in microseconds.
#[derive(Default)]
struct Recorder {
    latencies: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl Recorder {
    fn ok(&mut self, took: Duration) {
        self.latencies
            .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
    }

    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what);
        }
    }
}

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(1)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// The measured window: starts after the warm-up, ends after `duration`.
#[derive(Clone)]
struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    fn new(warmup: u64, duration: u64) -> Window {
        let start = Instant::now() + Duration::from_secs(warmup);
        Window {
            start,
            end: start + Duration::from_secs(duration),
        }
    }
    fn measuring(&self, at: Instant) -> bool {
        at >= self.start && at < self.end
    }
    fn over(&self) -> bool {
        Instant::now() >= self.end
    }
}

fn report(
    label: &str,
    scenario: &str,
    connections: usize,
    seconds: f64,
    all: Vec<Recorder>,
) -> Result<()> {
    let mut lat: Vec<u32> = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for r in all {
        lat.extend(r.latencies);
        errors += r.errors;
        first_error = first_error.or(r.first_error);
    }
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64) * p).ceil() as usize;
        f64::from(lat[i.clamp(1, lat.len()) - 1]) / 1000.0
    };
    let line = serde_json::json!({
        "label": label,
        "scenario": scenario,
        "connections": connections,
        "seconds": seconds,
        "requests": lat.len(),
        "errors": errors,
        "first_error": first_error,
        "rps": lat.len() as f64 / seconds,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": lat.last().map_or(0.0, |m| f64::from(*m) / 1000.0),
    });
    println!("{line}");
    if errors > 0 {
        bail!("{errors} requests failed; first: {}", line["first_error"]);
    }
    Ok(())
}

pub async fn run(args: Args) -> Result<()> {
    let c = args.connections.max(1);
    match &args.scenario {
        Scenario::Get { url } => {
            let window = Window::new(args.warmup, args.duration);
            let mut tasks = Vec::new();
            for _ in 0..c {
                let (url, window) = (url.clone(), window.clone());
                tasks.push(tokio::spawn(async move {
                    let client = client()?;
                    let mut rec = Recorder::default();
                    while !window.over() {
                        let t0 = Instant::now();
                        let r = client.get(&url).send().await;
                        let r = match r {
                            Ok(r) if r.status().is_success() => r.bytes().await.map(|_| ()),
                            Ok(r) => {
                                rec.error(format!("status {}", r.status()));
                                continue;
                            }
                            Err(e) => Err(e),
                        };
                        match r {
                            Ok(()) if window.measuring(t0) => rec.ok(t0.elapsed()),
                            Ok(()) => {}
                            Err(e) => rec.error(e.to_string()),
                        }
                    }
                    Ok::<Recorder, anyhow::Error>(rec)
                }));
            }
            let recs = join(tasks).await?;
            report(&args.label, "get", c, args.duration as f64, recs)
        }
        Scenario::Bills {
            base,
            accounts,
            flood_login,
            flood_connections,
        } => {
            let accounts = std::fs::read_to_string(accounts)
                .with_context(|| format!("{}", accounts.display()))?;
            let accounts: Vec<(String, String)> = accounts
                .lines()
                .filter_map(|l| l.split_once(','))
                .map(|(a, z)| (a.to_owned(), z.to_owned()))
                .collect();
            if accounts.len() < c {
                bail!("{} accounts for {c} connections", accounts.len());
            }
            // Sign every connection in first (not measured).
            let mut sessions = Vec::new();
            for (account, zip) in accounts.iter().take(c) {
                sessions.push(Resident::look_up(base, account, zip).await?);
            }
            let stop = Arc::new(AtomicBool::new(false));
            let flood = match flood_login {
                Some(url) => Some(start_flood(url, *flood_connections, stop.clone()).await?),
                None => None,
            };
            let window = Window::new(args.warmup, args.duration);
            let mut tasks = Vec::new();
            for mut s in sessions {
                let window = window.clone();
                let url = format!("{}/pay/utilities/bills", base.trim_end_matches('/'));
                tasks.push(tokio::spawn(async move {
                    let mut rec = Recorder::default();
                    while !window.over() {
                        let t0 = Instant::now();
                        match s.get(&url).await {
                            Ok((200, body)) if body.contains("name=\"bill\"") => {
                                if window.measuring(t0) {
                                    rec.ok(t0.elapsed());
                                }
                            }
                            Ok((status, _)) => rec.error(format!("bill page: status {status}")),
                            Err(e) => rec.error(e.to_string()),
                        }
                    }
                    Ok::<Recorder, anyhow::Error>(rec)
                }));
            }
            let recs = join(tasks).await?;
            stop.store(true, Ordering::Relaxed);
            let flooded = match flood {
                Some(f) => Some(f.finish().await),
                None => None,
            };
            if let Some((sent, refused)) = flooded {
                eprintln!("flood: {sent} wrong-password sign-ins answered ({refused} of them 429)");
            }
            report(
                &args.label,
                if flooded.is_some() {
                    "bills_during_flood"
                } else {
                    "bills"
                },
                c,
                args.duration as f64,
                recs,
            )
        }
        Scenario::Webhooks {
            url,
            keys,
            payments,
        } => {
            let keys = app::keys::Keys::load(keys, None)?;
            let secret = keys
                .webhook_secrets
                .first()
                .ok_or_else(|| anyhow!("the key file has no webhook secret"))?
                .expose_secret()
                .as_bytes()
                .to_vec();
            let payments = std::fs::read_to_string(payments)?;
            let payments: Arc<Vec<(String, String, i64)>> = Arc::new(
                payments
                    .lines()
                    .filter_map(|l| {
                        let mut f = l.split(',');
                        Some((
                            f.next()?.to_owned(),
                            f.next()?.to_owned(),
                            f.next()?.parse().ok()?,
                        ))
                    })
                    .collect(),
            );
            let next = Arc::new(AtomicUsize::new(0));
            let secret = Arc::new(secret);
            // No warm-up: every payment is used once. The window is the
            // whole run, up to `duration`.
            let started = Instant::now();
            let window = Window::new(0, args.duration);
            let mut tasks = Vec::new();
            for _ in 0..c {
                let (url, window, next, payments, secret) = (
                    url.clone(),
                    window.clone(),
                    next.clone(),
                    payments.clone(),
                    secret.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let client = client()?;
                    let mut rec = Recorder::default();
                    while !window.over() {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((checkout, reference, total)) = payments.get(i) else {
                            break;
                        };
                        let now = jiff::Timestamp::now().as_second();
                        let body = webhook_body(i, checkout, reference, *total, now)?;
                        let sig = signature::sign(&[secret.as_slice()], now, &body);
                        let t0 = Instant::now();
                        let r = client
                            .post(&url)
                            .header(signature::HEADER, sig)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await;
                        match r {
                            Ok(r) if r.status() == 200 => {
                                let text = r.text().await.unwrap_or_default();
                                if text == "ok" {
                                    rec.ok(t0.elapsed());
                                } else {
                                    rec.error(format!("webhook answered {text:?}"));
                                }
                            }
                            Ok(r) => rec.error(format!("status {}", r.status())),
                            Err(e) => rec.error(e.to_string()),
                        }
                    }
                    Ok::<Recorder, anyhow::Error>(rec)
                }));
            }
            let recs = join(tasks).await?;
            let seconds = started.elapsed().as_secs_f64();
            report(&args.label, "webhooks", c, seconds, recs)
        }
        Scenario::Insert { url } => {
            let body = Arc::new(webhook_body(
                0,
                "chk_bench_00000000",
                "bench-00000000",
                12_345,
                jiff::Timestamp::now().as_second(),
            )?);
            let window = Window::new(args.warmup, args.duration);
            let mut tasks = Vec::new();
            for _ in 0..c {
                let (url, window, body) = (url.clone(), window.clone(), body.clone());
                tasks.push(tokio::spawn(async move {
                    let client = client()?;
                    let mut rec = Recorder::default();
                    while !window.over() {
                        let t0 = Instant::now();
                        match client.post(&url).body(body.as_ref().clone()).send().await {
                            Ok(r) if r.status() == 200 => {
                                if window.measuring(t0) {
                                    rec.ok(t0.elapsed());
                                }
                            }
                            Ok(r) => rec.error(format!("status {}", r.status())),
                            Err(e) => rec.error(e.to_string()),
                        }
                    }
                    Ok::<Recorder, anyhow::Error>(rec)
                }));
            }
            let recs = join(tasks).await?;
            report(&args.label, "insert", c, args.duration as f64, recs)
        }
    }
}

async fn join(
    tasks: Vec<tokio::task::JoinHandle<Result<Recorder, anyhow::Error>>>,
) -> Result<Vec<Recorder>> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}

/// The event the sandbox sends when a card payment succeeds.
fn webhook_body(
    i: usize,
    checkout: &str,
    reference: &str,
    total: i64,
    now: i64,
) -> Result<Vec<u8>> {
    let event = wire::Event {
        id: format!("evt_bench_{i:08}"),
        event_type: "checkout.succeeded".into(),
        created: now,
        data: wire::EventData {
            checkout: wire::CheckoutObject {
                id: checkout.to_owned(),
                url: "http://127.0.0.1:9/bench".into(),
                status: "succeeded".into(),
                amount: total,
                currency: "usd".into(),
                expires_at: now + 3600,
                reference: reference.to_owned(),
                card: Some(wire::Card {
                    brand: "visa".into(),
                    last4: "4242".into(),
                }),
                failure_code: None,
                captured_at: Some(now),
            },
        },
    };
    Ok(serde_json::to_vec(&event)?)
}

/// A browser session on the resident site: cookies kept by hand.
struct Resident {
    client: reqwest::Client,
    cookies: String,
}

impl Resident {
    async fn look_up(base: &str, account: &str, zip: &str) -> Result<Resident> {
        let base = base.trim_end_matches('/');
        let mut r = Resident {
            client: client()?,
            cookies: String::new(),
        };
        let (status, page) = r.get(&format!("{base}/pay/utilities")).await?;
        if status != 200 {
            bail!("look-up page: status {status}");
        }
        let csrf = input(&page, "csrf").ok_or_else(|| anyhow!("no CSRF token"))?;
        let resp = r
            .client
            .post(format!("{base}/pay/utilities"))
            .header("cookie", &r.cookies)
            .form(&[
                ("csrf", csrf.as_str()),
                ("account_number", account),
                ("zip", zip),
            ])
            .send()
            .await?;
        r.keep_cookies(&resp);
        if resp.status() != 303 {
            bail!("look-up of {account}: status {}", resp.status());
        }
        Ok(r)
    }

    fn keep_cookies(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all("set-cookie") {
            if let Some(pair) = v.to_str().ok().and_then(|s| s.split(';').next()) {
                let name = pair.split('=').next().unwrap_or_default();
                let mut kept: Vec<&str> = self
                    .cookies
                    .split("; ")
                    .filter(|c| !c.is_empty() && !c.starts_with(&format!("{name}=")))
                    .collect();
                kept.push(pair);
                self.cookies = kept.join("; ");
            }
        }
    }

    async fn get(&mut self, url: &str) -> Result<(u16, String)> {
        let mut req = self.client.get(url);
        if !self.cookies.is_empty() {
            req = req.header("cookie", &self.cookies);
        }
        let resp = req.send().await?;
        self.keep_cookies(&resp);
        let status = resp.status().as_u16();
        Ok((status, resp.text().await?))
    }
}

fn input(page: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = page.find(&needle)? + needle.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

/// Wrong-password sign-ins on many connections until `stop`.
struct Flood {
    tasks: Vec<tokio::task::JoinHandle<(u64, u64)>>,
}

impl Flood {
    async fn finish(self) -> (u64, u64) {
        let mut total = (0, 0);
        for t in self.tasks {
            if let Ok((a, b)) = t.await {
                total.0 += a;
                total.1 += b;
            }
        }
        total
    }
}

async fn start_flood(url: &str, connections: usize, stop: Arc<AtomicBool>) -> Result<Flood> {
    let mut tasks = Vec::new();
    for i in 0..connections {
        let (url, stop) = (url.to_owned(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let (mut sent, mut refused) = (0u64, 0u64);
            let Ok(client) = client() else {
                return (0, 0);
            };
            while !stop.load(Ordering::Relaxed) {
                // A fresh form each time, as a password-guessing script
                // would fetch it.
                let Ok(form) = client.get(&url).send().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let cookies: Vec<String> = form
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
                    .collect();
                let page = form.text().await.unwrap_or_default();
                let csrf = input(&page, "csrf").unwrap_or_default();
                let email = format!("guess{i}@springfield.example");
                let r = client
                    .post(&url)
                    .header("cookie", cookies.join("; "))
                    .form(&[
                        ("csrf", csrf.as_str()),
                        ("email", email.as_str()),
                        ("password", "not-the-password-123"),
                        ("code", "123456"),
                    ])
                    .send()
                    .await;
                if let Ok(r) = r {
                    sent += 1;
                    if r.status() == 429 {
                        refused += 1;
                    }
                    let _ = r.bytes().await;
                }
            }
            (sent, refused)
        }));
    }
    Ok(Flood { tasks })
}
