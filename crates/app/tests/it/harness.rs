//! `spawn_app`: the real application on real sockets (port 0), a fresh
//! database (SQLite file or a new PostgreSQL database), and the sandbox
//! processor on its own port. Everything a test writes (database, outbox,
//! logs, a dump of the PostgreSQL database) stays under
//! `target/test-artifacts` for the card-number scan that runs after the
//! suite.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use app::App;
use app::clock::{Clock, ManualClock, SystemClock};
use app::config::Config;
use app::keys::Keys;
use app::processor::sandbox::{Sandbox, SandboxSettings};
use app::server::Running;
use app::store::Db;
use secrecy::ExposeSecret;
use sqlx::Connection;

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

/// Where PostgreSQL for tests lives.
/// A Python that can import `module`: `TEST_PYTHON`, or the project's CI
/// virtualenv, or `python3`.
pub fn python_with(module: &str) -> Option<std::path::PathBuf> {
    use std::process::{Command, Stdio};
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("TEST_PYTHON") {
        candidates.push(PathBuf::from(p));
    }
    if let Ok(home) = std::env::var("HOME") {
        candidates.push(Path::new(&home).join(".cache/cityteller/venv/bin/python"));
    }
    candidates.push(PathBuf::from("python3"));
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", &format!("import {module}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The Python for a peer installed from PyPI (`module`), or `None` with a
/// printed reason outside CI; in CI a missing peer fails the test.
pub fn python_peer(module: &str) -> Option<PathBuf> {
    let found = python_with(module);
    if found.is_none() {
        let why = format!("{module} is not installed (pip install {module}, or set TEST_PYTHON)");
        if in_ci() {
            panic!("{why}");
        }
        eprintln!("SKIPPED: {why}");
    }
    found
}

/// A port free right now on 127.0.0.1, for a peer process to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// PostgreSQL if it answers. In CI a missing server fails the test;
/// elsewhere the test is skipped with the reason printed.
pub async fn postgres_or_skip() -> Option<Backend> {
    sqlx::any::install_default_drivers();
    let url = postgres_admin_url();
    match sqlx::AnyConnection::connect(&url).await {
        Ok(c) => {
            let _ = c.close().await;
            Some(Backend::Postgres { admin_url: url })
        }
        Err(e) if in_ci() => panic!("PostgreSQL is required in CI ({url}): {e}"),
        Err(e) => {
            eprintln!("SKIPPED: PostgreSQL not reachable at {url}: {e}");
            None
        }
    }
}

/// Generates one test per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::harness::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(b) = $crate::harness::postgres_or_skip().await {
                        super::$name(b).await
                    }
                }
            }
        )*
    };
}

pub fn artifacts_root() -> PathBuf {
    match std::env::var("TEST_ARTIFACTS_DIR") {
        Ok(p) => PathBuf::from(p),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts"),
    }
}

/// Logs of this test process go to a file the scan reads.
fn init_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let dir = artifacts_root().join("logs");
        let _ = std::fs::create_dir_all(&dir);
        let file = std::fs::File::create(dir.join(format!("test-{}.jsonl", std::process::id())));
        if let Ok(file) = file {
            let _ = tracing_subscriber::fmt()
                .json()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    "debug,sqlx=info,hyper=info,h2=info,reqwest=info,rustls=info",
                ))
                .with_writer(Mutex::new(file))
                .try_init();
        }
    });
}

pub const UTILITIES: &str = r#"
[departments.utilities]
name = "Utilities"
summary = "Water, sewer and garbage"
min_payment = "1.00"
allow_partial = true
allow_overpayment = false

[departments.utilities.es]
name = "Servicios públicos"
summary = "Agua, alcantarillado y basura"

[departments.utilities.card_fee]
percent = "2.5"
min = "1.00"

[departments.utilities.ledger]
cash_clearing = "1010-CLEARING"
receivable = "1210-UTIL-AR"
fee_income = "4490-CONV-FEES"
"#;

/// Three accounts; the first has one $84.12 bill, the second two bills.
pub const BILLS_CSV: &str = "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
1002-3345,94110,Maria Lopez,\"1234 Maple Ave, Springfield\",2026-10-01/2026-10-31,84.12,2026-12-18,UT-1
2048-7781,94112,Sam Chen,\"77 Harbor View Rd, Unit 3\",2026-09-01/2026-09-30,61.40,2026-11-18,UT-2
2048-7781,94112,Sam Chen,\"77 Harbor View Rd, Unit 3\",2026-10-01/2026-10-31,58.95,2026-12-18,UT-3
3090-1200,94117,Rivera Family Bakery,\"500 Market St\",2026-10-01/2026-10-31,312.50,2026-12-11,UT-4
";

pub struct Options {
    /// Extra TOML appended to the test config.
    pub extra_toml: String,
    /// Deliver the sandbox's webhooks here instead of to the app (a closed
    /// port makes them never arrive).
    pub webhook_url: Option<String>,
    pub manual_clock: bool,
    pub import_bills: bool,
    pub start_sandbox: bool,
    /// The resident site's public base URL, when not the listener's own
    /// (an https URL, as behind a TLS-terminating proxy).
    pub public_base_url: Option<String>,
    /// Send e-mail to this SMTP server instead of the outbox folder.
    pub smtp_url: Option<String>,
    /// Run the background job worker (on by default).
    pub jobs_in_process: bool,
    /// Replaces the `[processor]` table (the sandbox's) with this TOML.
    pub processor_toml: Option<String>,
    /// The processor's secret API key in the key file, instead of a
    /// generated sandbox key.
    pub processor_api_key: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            extra_toml: String::new(),
            webhook_url: None,
            manual_clock: false,
            import_bills: true,
            start_sandbox: true,
            public_base_url: None,
            smtp_url: None,
            jobs_in_process: true,
            processor_toml: None,
            processor_api_key: None,
        }
    }
}

pub struct TestApp {
    pub app: App,
    pub public: String,
    pub staff: String,
    pub sandbox: String,
    pub client: reqwest::Client,
    pub clock: Option<ManualClock>,
    pub dir: PathBuf,
    pub keys_text: String,
    running: Option<Running>,
    guard: Option<DbGuard>,
}

/// Drops the PostgreSQL test database (after dumping it for the scan), even
/// when the test panicked.
struct DbGuard {
    admin_url: String,
    name: String,
    dump_to: PathBuf,
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        let dump_to = self.dump_to.clone();
        let done = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let db_url = swap_database(&admin, &name);
                if let Ok(mut conn) = sqlx::AnyConnection::connect(&db_url).await {
                    let _ = dump_postgres(&mut conn, &dump_to).await;
                    let _ = conn.close().await;
                }
                if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut conn)
                            .await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = done.join();
    }
}

/// Every text cell of every table, one row per line, for the scan.
async fn dump_postgres(conn: &mut sqlx::AnyConnection, to: &Path) -> Result<(), sqlx::Error> {
    use sqlx::Row;
    let tables = sqlx::query(
        "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = String::new();
    for t in tables {
        let table: String = t.try_get("t")?;
        let rows = sqlx::query(&format!(
            "SELECT row_to_json(x)::text AS j FROM \"{table}\" x"
        ))
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            let j: String = r.try_get("j")?;
            out.push_str(&table);
            out.push('\t');
            out.push_str(&j);
            out.push('\n');
        }
    }
    let _ = std::fs::write(to, out);
    Ok(())
}

fn swap_database(url: &str, name: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_path(&format!("/{name}"));
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_with(backend, Options::default()).await
}

pub async fn spawn_with(backend: Backend, opts: Options) -> TestApp {
    init_logs();
    let id = app::crypto::random_token(9)
        .replace(['-', '_'], "x")
        .to_lowercase();
    let dir = artifacts_root().join(format!("run-{id}"));
    std::fs::create_dir_all(&dir).unwrap();

    let (database_url, guard) = match &backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.join("cityteller.db").display()),
            None,
        ),
        Backend::Postgres { admin_url } => {
            let name = format!("ct_test_{id}");
            let mut admin = sqlx::AnyConnection::connect(admin_url).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .await
                .unwrap();
            admin.close().await.unwrap();
            let guard = DbGuard {
                admin_url: admin_url.clone(),
                name: name.clone(),
                dump_to: dir.join("postgres-dump.txt"),
            };
            (swap_database(admin_url, &name), Some(guard))
        }
    };

    let public_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let staff_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", public_l.local_addr().unwrap());
    let staff = format!("http://{}", staff_l.local_addr().unwrap());
    let sandbox = format!("http://{}", sandbox_l.local_addr().unwrap());

    let mut keys_text = Keys::generate_file_text();
    if let Some(key) = &opts.processor_api_key {
        let line = keys_text
            .lines()
            .find(|l| l.starts_with("api_key = "))
            .unwrap()
            .to_owned();
        keys_text = keys_text.replace(&line, &format!("api_key = \"{key}\""));
    }
    let keys_path = dir.join("keys.toml");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&keys_path)
            .unwrap();
        f.write_all(keys_text.as_bytes()).unwrap();
    }

    let toml_text = format!(
        r#"
mode = "development"
city_name = "City of Springfield"
data_dir = "{dir}"
database_url = "{database_url}"
keys_file = "{keys}"
[public]
listen = "{public_addr}"
base_url = "{base_url}"
[staff]
listen = "{staff_addr}"
{processor}
[mail]
{mail}
[jobs]
poll_interval_ms = 50
in_process = {jobs_in_process}
{UTILITIES}
{limits}
{extra}
"#,
        dir = dir.display(),
        keys = keys_path.display(),
        processor = opts.processor_toml.clone().unwrap_or_else(|| format!(
            "[processor]\nkind = \"sandbox\"\nsandbox_url = \"{sandbox}/\"\nrequest_timeout_seconds = 5\n"
        )),
        public_addr = public_l.local_addr().unwrap(),
        staff_addr = staff_l.local_addr().unwrap(),
        mail = match &opts.smtp_url {
            Some(u) => format!("smtp_url = \"{u}\""),
            None => format!("outbox_dir = \"{}\"", dir.join("outbox").display()),
        },
        // Tests sign in and look up far more often than a person would; the
        // limits get their own test.
        limits = if opts.extra_toml.contains("[limits]") {
            ""
        } else {
            "[limits]\nlookup_per_minute = 10000\npayment_per_minute = 10000\nsign_in_per_minute = 10000\nenrol_per_minute = 10000\n"
        },
        extra = opts.extra_toml,
        jobs_in_process = opts.jobs_in_process,
        base_url = opts
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("{public}/")),
    );
    let table: toml::Table = toml_text.parse().unwrap();
    let config = Config::from_parts(table, "test config", Vec::<(String, String)>::new()).unwrap();

    let (clock, manual): (Arc<dyn Clock>, Option<ManualClock>) = if opts.manual_clock {
        let c = ManualClock::starting_at(jiff::Timestamp::now());
        (Arc::new(c.clone()), Some(c))
    } else {
        (Arc::new(SystemClock), None)
    };
    let app = App::from_config(config, clock).await.unwrap();

    if opts.start_sandbox {
        let keys = Keys::parse(&keys_text, "test").unwrap();
        let sb = Sandbox::start(SandboxSettings {
            public_base: url::Url::parse(&format!("{sandbox}/")).unwrap(),
            api_key: keys.processor_api_key.clone(),
            webhook_secrets: keys.webhook_secrets.clone(),
            webhook_url: url::Url::parse(
                &opts
                    .webhook_url
                    .clone()
                    .unwrap_or_else(|| format!("{public}/webhooks/sandbox")),
            )
            .unwrap(),
            merchant_origin: public.clone(),
            retry_delays: vec![Duration::from_millis(100), Duration::from_millis(300)],
            test_controls: true,
        });
        tokio::spawn(sb.serve(sandbox_l));
    } else {
        drop(sandbox_l);
    }

    let running = app::server::start(app.clone(), public_l, staff_l).unwrap();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let t = TestApp {
        app,
        public,
        staff,
        sandbox,
        client,
        clock: manual,
        dir,
        keys_text,
        running: Some(running),
        guard,
    };
    if opts.import_bills {
        t.import(BILLS_CSV).await.unwrap();
    }
    t
}

impl TestApp {
    pub fn db(&self) -> &Db {
        &self.app.db
    }

    pub fn webhook_secret(&self) -> String {
        let keys = Keys::parse(&self.keys_text, "test").unwrap();
        keys.webhook_secrets[0].expose_secret().to_owned()
    }

    pub async fn import(
        &self,
        csv: &str,
    ) -> Result<app::services::import::ImportSummary, app::services::import::ImportError> {
        self.import_to("utilities", csv).await
    }

    /// Imports `csv` as `department`'s receivables file.
    pub async fn import_to(
        &self,
        department: &str,
        csv: &str,
    ) -> Result<app::services::import::ImportSummary, app::services::import::ImportError> {
        let dept = self.app.config.department(department).unwrap();
        app::services::import::import_receivables(
            &self.app,
            dept,
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            "bills.csv",
            &app::crypto::sha256_hex(csv.as_bytes()),
            &app::audit::Actor::System("test"),
            |_| {},
        )
        .await
    }

    /// Stops the servers after checking what must hold after any test: the
    /// audit chain verifies and the books balance.
    pub async fn stop(self) {
        if let Err(e) = app::audit::verify::verify(
            self.db(),
            &self.app.config.audit.checkpoint_dir,
            self.app
                .keys
                .audit_signing
                .as_ref()
                .map(|k| k.verifying_key())
                .as_ref(),
            |_| {},
        )
        .await
        {
            panic!("audit log does not verify after the test: {e}");
        }
        let problems = app::store::ledger::check(self.db().reader()).await.unwrap();
        assert!(
            problems.is_empty(),
            "ledger problems after the test: {problems:?}"
        );
        self.stop_unchecked().await;
    }

    /// Stops without the checks (for tests that damage the data on purpose).
    pub async fn stop_unchecked(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        self.app.db.close().await;
        drop(self.guard.take());
    }
}

/// An empty database beside a test's own, to restore into: a new SQLite
/// file, or a new PostgreSQL database dropped when this is dropped (even
/// when the test panicked).
pub struct ScratchDb {
    pub url: app::config::DatabaseUrl,
    _guard: Option<DbGuard>,
}

impl TestApp {
    pub async fn scratch_database(&self, backend: &Backend, name: &str) -> ScratchDb {
        match backend {
            Backend::Sqlite => ScratchDb {
                url: app::config::DatabaseUrl::Sqlite(self.dir.join(format!("{name}.db"))),
                _guard: None,
            },
            Backend::Postgres { admin_url } => {
                let id = app::crypto::random_token(9)
                    .replace(['-', '_'], "x")
                    .to_lowercase();
                let db = format!("ct_test_{name}_{id}");
                let mut admin = sqlx::AnyConnection::connect(admin_url).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE \"{db}\""))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                ScratchDb {
                    url: app::config::DatabaseUrl::Postgres(swap_database(admin_url, &db)),
                    _guard: Some(DbGuard {
                        admin_url: admin_url.clone(),
                        name: db,
                        dump_to: self.dir.join(format!("postgres-dump-{name}.txt")),
                    }),
                }
            }
        }
    }
}
