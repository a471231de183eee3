//! The `cityteller` command as an operator runs it: exit codes, messages
//! that say what and where, and the demo from the README.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

mod backup;
mod breach;

const BIN: &str = env!("CARGO_BIN_EXE_cityteller");

fn artifacts(name: &str) -> PathBuf {
    let root = match std::env::var("TEST_ARTIFACTS_DIR") {
        Ok(p) => PathBuf::from(p),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts"),
    };
    let dir = root.join(format!("cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

const GOOD: &str = "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
1002-3345,94110,Maria Lopez,\"1234 Maple Ave\",2026-10-01/2026-10-31,84.12,2026-12-18,UT-1
2048-7781,94112,Sam Chen,\"77 Harbor View Rd\",2026-10-01/2026-10-31,58.95,2026-12-18,UT-3
";

const BAD: &str = "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
1002-3345,94110,Maria Lopez,\"1234 Maple Ave\",2026-10-01/2026-10-31,84.12,2026-12-18,UT-1
2048-7781,94112,Sam Chen,\"77 Harbor View Rd\",2026-10-01/2026-10-31,58.951,2026-12-18,UT-3
3090-1200,94117,,\"500 Market St\",2026-10-01/2026-10-31,10.00,2026-13-01,UT-4
";

fn write_config(dir: &Path, database_url: &str) -> PathBuf {
    let text = format!(
        r#"data_dir = "{dir}"
database_url = "{database_url}"
[mail]
outbox_dir = "{dir}/outbox"
[departments.utilities]
name = "Utilities"
[departments.utilities.ledger]
cash_clearing = "1010"
receivable = "1210"
fee_income = "4490"
"#,
        dir = dir.display()
    );
    let path = dir.join("cityteller.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A key file and the good bills, through the commands, as an operator
/// starts.
fn keys_and_bills(dir: &Path, config: &Path) {
    assert_eq!(run(config, &["keys", "init"]).0, 0);
    let csv = dir.join("bills.csv");
    std::fs::write(&csv, GOOD).unwrap();
    let (code, _, err) = run(
        config,
        &[
            "import",
            "receivables",
            "--department",
            "utilities",
            &csv.display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{err}");
}

fn run(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn import_through_the_command(dir: PathBuf, database_url: &str) {
    let config = write_config(&dir, database_url);
    let (code, out, err) = run(&config, &["keys", "init"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&config, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 0001_init"), "{out}");
    assert!(
        run(&config, &["migrate"])
            .1
            .contains("schema is up to date")
    );

    let good = dir.join("good.csv");
    std::fs::write(&good, GOOD).unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, BAD).unwrap();
    let g = good.display().to_string();
    let b = bad.display().to_string();

    let (code, out, err) = run(
        &config,
        &["import", "receivables", "--department", "utilities", &b],
    );
    assert_eq!(code, 1, "{out}{err}");
    for expected in [
        format!(
            "{b}: line 3, column amount_due: bad amount: an amount cannot have more than two decimal places (got \"58.951\")"
        ),
        format!("{b}: line 4, column name: missing value"),
        format!(
            "{b}: line 4, column due_date: bad date: write dates as YYYY-MM-DD, like 2026-11-30 (got \"2026-13-01\")"
        ),
        format!("{b}: 3 problem(s); nothing was imported"),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
    assert!(
        !err.contains("Maria") && !err.contains("Maple"),
        "no personal data in messages"
    );

    let (code, out, err) = run(
        &config,
        &["import", "receivables", "--department", "utilities", &g],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("imported 2 row(s) for utilities: 2 new, 0 updated, 0 unchanged"),
        "{out}"
    );
    let (code, out, _) = run(
        &config,
        &["import", "receivables", "--department", "utilities", &g],
    );
    assert_eq!(code, 0);
    assert!(out.contains("0 new, 0 updated, 2 unchanged"), "{out}");

    let (code, _, err) = run(
        &config,
        &["import", "receivables", "--department", "parking", &g],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown department \"parking\" (configured: utilities)"),
        "{err}"
    );
    let (code, _, err) = run(
        &config,
        &[
            "import",
            "receivables",
            "--department",
            "utilities",
            "/no/such.csv",
        ],
    );
    assert_eq!(code, 3);
    assert!(err.contains("/no/such.csv"), "{err}");

    let (code, out, _) = run(&config, &["ledger", "check"]);
    assert_eq!(code, 0);
    assert!(out.contains("ledger OK"));

    let (code, out, err) = run(
        &config,
        &[
            "staff",
            "add",
            "--email",
            "Ops@City.example",
            "--role",
            "administrator",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("added ops@city.example as administrator"),
        "{out}"
    );
    assert!(out.contains("/enrol/"), "{out}");
    let (code, _, err) = run(
        &config,
        &[
            "staff",
            "add",
            "--email",
            "ops@city.example",
            "--role",
            "viewer",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = run(
        &config,
        &[
            "staff",
            "add",
            "--email",
            "x@city.example",
            "--role",
            "boss",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("unknown role"), "{err}");
}

#[tokio::test]
async fn import_command_on_sqlite() {
    let dir = artifacts("import-sqlite");
    let url = format!("sqlite://{}", dir.join("cityteller.db").display());
    import_through_the_command(dir, &url).await;
}

#[tokio::test]
async fn import_command_on_postgres() {
    sqlx::any::install_default_drivers();
    let admin = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = match sqlx::AnyConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) if in_ci() => panic!("PostgreSQL is required in CI ({admin}): {e}"),
        Err(e) => {
            eprintln!("SKIPPED: PostgreSQL not reachable at {admin}: {e}");
            return;
        }
    };
    let name = format!("ct_test_cli_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    let dir = artifacts("import-postgres");
    let result = tokio::spawn({
        let url = url.to_string();
        async move { import_through_the_command(dir, &url).await }
    })
    .await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[test]
fn configuration_problems_are_all_listed() {
    let dir = artifacts("config");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        r#"mode = "production"
colour = "blue"
[public]
listen = "not an address"
base_url = "http://pay.example"
[departments.utilities]
name = "Utilities"
min_payment = "a lot"
[departments.utilities.ledger]
cash_clearing = "10 10"
receivable = "1210"
fee_income = "4490"
"#,
    )
    .unwrap();
    let (code, _, err) = run(&path, &["serve"]);
    assert_eq!(code, 2, "{err}");
    for needle in [
        "public.listen",
        "production mode requires an https:// base URL",
        "production mode refuses the sandbox processor",
        "production mode requires an SMTP server",
        "colour: unknown setting",
        "departments.utilities.min_payment",
        "departments.utilities.ledger.cash_clearing",
        "requires the key file",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    let (code, _, err) = run(Path::new("/no/such/config.toml"), &["serve"]);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/config.toml: cannot read"), "{err}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn input(body: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = body.find(&needle).unwrap() + needle.len();
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].to_owned()
}

/// The README's first command: the demo starts, prints where everything
/// is, and a payment goes through its separate sandbox process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_a_payment_end_to_end() {
    let dir = artifacts("demo");
    let (public, staff, sandbox) = (free_port(), free_port(), free_port());
    let mut child = Command::new(BIN)
        .args(["demo", "--data-dir"])
        .arg(dir.join("data"))
        .args(["--public", &format!("127.0.0.1:{public}")])
        .args(["--staff", &format!("127.0.0.1:{staff}")])
        .args(["--sandbox", &format!("127.0.0.1:{sandbox}")])
        .env_remove("DATABASE_URL")
        .env("CITYTELLER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut banner = String::new();
    let started = Instant::now();
    while !banner.contains("Press Ctrl+C to stop.") {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                banner.push_str(&line);
                banner.push('\n');
            }
            Err(_) if started.elapsed() > Duration::from_secs(60) => {
                let _ = child.kill();
                panic!("demo did not start:\n{banner}");
            }
            Err(_) => {}
        }
    }
    assert!(
        banner.contains(&format!("Residents:  http://127.0.0.1:{public}/")),
        "{banner}"
    );
    assert!(banner.contains(&format!("Staff:      http://127.0.0.1:{staff}/")));
    assert!(banner.contains("account 1002-3345   ZIP 94110"));
    assert_eq!(banner.matches("   ZIP ").count(), 3, "three demo accounts");
    assert!(
        banner.contains("set up the demo administrator (admin@springfield.example)"),
        "{banner}"
    );
    let enrol = banner
        .lines()
        .find(|l| l.contains("/enrol/"))
        .map(str::trim)
        .unwrap()
        .to_owned();
    assert!(
        enrol.starts_with(&format!("http://127.0.0.1:{staff}/enrol/")),
        "{enrol}"
    );

    let base = format!("http://127.0.0.1:{public}");
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let health = c
        .get(format!("http://127.0.0.1:{staff}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let page = c
        .get(format!("{base}/pay/utilities"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = input(&page, "csrf");
    let r = c
        .post(format!("{base}/pay/utilities"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("account_number", "3090-1200"),
            ("zip", "94117"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let bills = c
        .get(format!("{base}/pay/utilities/bills"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bill = input(&bills, "bill");
    let r = c
        .post(format!("{base}/pay/utilities/bills"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("bill", bill.as_str()),
            ("choice", "full"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let review = c
        .get(format!("{base}/pay/review"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = input(&review, "idempotency_key");
    let r = c
        .post(format!("{base}/pay/review"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("idempotency_key", key.as_str()),
            ("email", "bakery@example.com"),
        ])
        .send()
        .await
        .unwrap();
    let checkout = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        checkout.starts_with(&format!("http://127.0.0.1:{sandbox}/pay/")),
        "{checkout}"
    );
    let hosted = c.get(&checkout).send().await.unwrap().text().await.unwrap();
    let token = input(&hosted, "token");
    let r = c
        .post(&checkout)
        .form(&[
            ("token", token.as_str()),
            ("name", "R"),
            ("number", "4242424242424242"),
            ("expiry", "12/39"),
            ("cvc", "123"),
        ])
        .send()
        .await
        .unwrap();
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    let mut receipt = String::new();
    for _ in 0..50 {
        receipt = c.get(&back).send().await.unwrap().text().await.unwrap();
        if receipt.contains("Payment received") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(receipt.contains("Payment received"), "{receipt}");
    let outbox = dir.join("data/outbox");
    let mut mails = 0;
    for _ in 0..50 {
        mails = std::fs::read_dir(&outbox).map(|d| d.count()).unwrap_or(0);
        if mails > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mails, 1, "one receipt .eml in the outbox");

    // The payment-page monitor, as cron on another host would run it.
    let keys = dir.join("data/keys.toml");
    let baseline = dir.join("baseline.json");
    let site = format!("http://127.0.0.1:{public}/");
    let out = Command::new(BIN)
        .args(["monitor", "baseline", "--url", &site, "--out"])
        .arg(&baseline)
        .arg("--keys-file")
        .arg(&keys)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(BIN)
        .args(["monitor", "check", "--url", &site, "--baseline"])
        .arg(&baseline)
        .arg("--keys-file")
        .arg(&keys)
        .current_dir(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("match the baseline"), "{text}");
    let mut edited: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    edited["snapshot"]["assets"]["/static/app.css"] = "200 forged".into();
    std::fs::write(&baseline, edited.to_string()).unwrap();
    let out = Command::new(BIN)
        .args(["monitor", "check", "--url", &site, "--baseline"])
        .arg(&baseline)
        .arg("--keys-file")
        .arg(&keys)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("signature does not verify"));

    // SIGTERM stops the demo and its sandbox process.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("demo did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut sandbox_gone = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", sandbox)).is_err() {
            sandbox_gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(sandbox_gone, "the sandbox process stopped with the demo");
}
