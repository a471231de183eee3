//! Configuration: one TOML file plus `CITYTELLER_*` environment variables
//! (and `DATABASE_URL`), validated at start-up with every problem listed.

mod departments;
pub mod reader;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use jiff::tz::TimeZone;
use url::Url;

pub use departments::{Department, LicenceRules, LinkProof, VerifierKind};
use reader::Reader;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Development and demo: the sandbox processor and plain HTTP are allowed.
    Development,
    /// A city's live service: refuses the sandbox, plain HTTP and missing keys.
    Production,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(rest) = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(
                    "an SQLite URL needs a file path, like sqlite://data/cityteller.db".into(),
                );
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Url::parse(s).map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
            return Ok(DatabaseUrl::Postgres(s.to_owned()));
        }
        Err("expected sqlite://PATH or postgres://…".into())
    }

    /// For logs and errors: never prints a password.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(s) => match Url::parse(s) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("***"));
                    }
                    u.to_string()
                }
                Err(_) => "postgres://(unparseable)".into(),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub enum ProcessorKind {
    /// The fake processor: its API and hosted page at `url`.
    Sandbox { url: Url },
    /// Stripe: its API and its hosted Checkout pages. The secret key and
    /// webhook secrets come from the key file, never from this file.
    Stripe {
        api_url: Url,
        checkout_origin: Url,
        /// Production mode with a test key (`sk_test_…`), for a city's
        /// rehearsal on its production servers.
        allow_test_key: bool,
    },
}

#[derive(Debug, Clone)]
pub struct ProcessorConfig {
    pub kind: ProcessorKind,
    /// How long a resident has on the processor's page.
    pub checkout_ttl: Duration,
    /// Time allowed for one call to the processor.
    pub request_timeout: Duration,
}

#[derive(Debug, Clone)]
pub enum MailTransport {
    /// Each message written to this folder as an `.eml` file.
    Outbox(PathBuf),
    /// `smtp://host:port` (STARTTLS when offered) or `smtps://host:port`;
    /// a user name may be in the URL, the password comes from the key file.
    Smtp(Url),
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub from: String,
    pub transport: MailTransport,
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub listen: SocketAddr,
    /// Where the sandbox delivers webhooks.
    pub webhook_url: Url,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub city_name: String,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    pub keys_file: PathBuf,
    pub timezone: TimeZone,
    pub public_listen: SocketAddr,
    pub public_base_url: Url,
    pub staff_listen: SocketAddr,
    /// Where staff reach the console (enrolment links point here).
    pub staff_base_url: Url,
    /// A staff session ends after this long without a request…
    pub staff_idle: Duration,
    /// …and after this long in any case.
    pub staff_absolute: Duration,
    pub processor: ProcessorConfig,
    pub mail: MailConfig,
    pub sandbox: SandboxConfig,
    pub departments: Vec<Department>,
    pub log_format: LogFormat,
    /// How often background jobs look for work.
    pub job_poll_interval: Duration,
    /// Run the job worker inside `serve` (turn off on web-only nodes when a
    /// separate node runs the jobs).
    pub jobs_in_process: bool,
    pub audit: AuditConfig,
    pub limits: LimitsConfig,
    pub monitor: MonitorConfig,
    pub backup: BackupConfig,
    pub retention: RetentionConfig,
    pub accounts: AccountsConfig,
}

/// Resident accounts (`[accounts]`).
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// Residents may sign up (guest payment works either way).
    pub enabled: bool,
    /// Paperless residents are reminded this many days before a bill is
    /// due (0: no reminders).
    pub reminder_days: i64,
    /// How long an e-mail confirmation link works, in hours.
    pub confirm_link_hours: i64,
    /// How long a password reset link works, in minutes.
    pub reset_link_minutes: i64,
}

#[derive(Debug, Clone)]
pub struct RetentionConfig {
    /// Payments older than this lose their receipt e-mail address (at
    /// least 2 years: payment records are kept at least that long).
    pub payment_email_years: i64,
    /// Finished background jobs older than this are deleted.
    pub finished_job_days: i64,
    /// Accounts with no activity (no import touching them or their bills,
    /// no payment) for this long lose the holder's name and address.
    pub inactive_account_years: i64,
    /// Audit events older than this (at least 12 months) are removed, up
    /// to the newest signed checkpoint before the cut-off.
    pub audit_event_months: i64,
}

#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// Where `backup create` and the scheduled backup write (mount it from
    /// write-once storage).
    pub dir: PathBuf,
    /// The offline key backups are encrypted to (`cityteller backup
    /// keygen` prints it); without it backups cannot be taken.
    pub recipient: Option<crate::backup::Recipient>,
    /// `serve` takes a backup this often (hours); 0 leaves it to cron.
    pub interval_hours: i64,
    /// What the scheduled backup's pruning keeps.
    pub keep: domain::backup_retention::Policy,
}

#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// The resident site as the outside world reaches it.
    pub url: Url,
    /// The signed baseline (`cityteller monitor baseline`).
    pub baseline: PathBuf,
    /// Check this often inside `serve`; 0 turns the scheduled check off.
    pub interval_minutes: i64,
    /// Differences are POSTed here as JSON.
    pub alert_webhook: Option<Url>,
}

#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<crate::web::limits::Cidr>,
    pub lookup: crate::web::limits::Rule,
    pub payment: crate::web::limits::Rule,
    pub sign_in: crate::web::limits::Rule,
    pub enrol: crate::web::limits::Rule,
}

#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Signed checkpoints go here, outside the database (mount it from
    /// write-once storage or another host).
    pub checkpoint_dir: PathBuf,
    /// A checkpoint after this many new events…
    pub checkpoint_events: i64,
    /// …or this long after the last one, whichever comes first.
    pub checkpoint_minutes: i64,
    /// Also write each checkpoint to the log (stdout/syslog).
    pub checkpoint_log: bool,
}

/// Every problem found, one per line.
#[derive(Debug, thiserror::Error)]
#[error("configuration has {} problem(s):\n  - {}", .0.len(), .0.join("\n  - "))]
pub struct ConfigErrors(pub Vec<String>);

impl Config {
    /// Reads `file` (if given) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigErrors> {
        let (table, label) = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    ConfigErrors(vec![format!("{}: cannot read: {e}", p.display())])
                })?;
                let table = text.parse::<toml::Table>().map_err(|e| {
                    ConfigErrors(vec![format!("{}: not valid TOML: {e}", p.display())])
                })?;
                (table, p.display().to_string())
            }
            None => (toml::Table::new(), "built-in defaults".to_owned()),
        };
        Self::from_parts(table, &label, std::env::vars())
    }

    /// Builds a config from a TOML table and environment variables; the
    /// seam tests and the demo use.
    pub fn from_parts<I>(table: toml::Table, label: &str, env: I) -> Result<Config, ConfigErrors>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut r = Reader::new(table, label);
        let env: Vec<(String, String)> = env.into_iter().collect();
        // These name files and secrets, not settings.
        r.apply_env(
            env.iter().cloned(),
            &["CITYTELLER_CONFIG", "CITYTELLER_KEYS", "CITYTELLER_LOG"],
        );
        if let Some((_, url)) = env.iter().find(|(k, _)| k == "DATABASE_URL")
            && !url.trim().is_empty()
        {
            r.set(
                "database_url",
                url.clone(),
                "environment variable DATABASE_URL",
            );
        }
        let log_filter = env
            .iter()
            .find(|(k, _)| k == "CITYTELLER_LOG")
            .map(|(_, v)| v.clone());
        read_config(r, log_filter).map_err(ConfigErrors)
    }
}

fn read_config(mut r: Reader, log_filter: Option<String>) -> Result<Config, Vec<String>> {
    let mode = r
        .parsed("mode", Some("development"), |s| match s {
            "development" => Ok(Mode::Development),
            "production" => Ok(Mode::Production),
            _ => Err("expected development or production"),
        })
        .unwrap_or(Mode::Development);
    let city_name = r.string("city_name", "City of Springfield");
    let data_dir = PathBuf::from(r.string("data_dir", "data"));
    let default_db = format!("sqlite://{}", data_dir.join("cityteller.db").display());
    let database = r.parsed("database_url", Some(&default_db), DatabaseUrl::parse);
    let keys_default = data_dir.join("keys.toml").display().to_string();
    let keys_file = PathBuf::from(r.string("keys_file", &keys_default));
    let timezone = r.parsed("timezone", Some("America/Los_Angeles"), |s| {
        TimeZone::get(s).map_err(|_| "unknown time zone (use an IANA name like America/Chicago)")
    });
    let public_listen = r.parsed(
        "public.listen",
        Some("127.0.0.1:8080"),
        SocketAddr::from_str,
    );
    let public_base_url = r.parsed(
        "public.base_url",
        Some("http://127.0.0.1:8080"),
        parse_base_url,
    );
    let staff_listen = r.parsed("staff.listen", Some("127.0.0.1:8081"), SocketAddr::from_str);
    let staff_default = staff_listen
        .map(|a| format!("http://{a}/"))
        .unwrap_or_else(|| "http://127.0.0.1:8081/".into());
    let staff_base_url = r.parsed("staff.base_url", Some(&staff_default), parse_base_url);
    let staff_idle = r.integer("staff.session_idle_minutes", 15, 1, 24 * 60);
    let staff_absolute = r.integer("staff.session_absolute_hours", 12, 1, 24 * 7);

    let processor_kind = r.string("processor.kind", "sandbox");
    let processor = match processor_kind.as_str() {
        "sandbox" => r
            .parsed(
                "processor.sandbox_url",
                Some("http://127.0.0.1:8090"),
                parse_base_url,
            )
            .map(|url| ProcessorKind::Sandbox { url }),
        "stripe" => {
            let api_url = r.parsed(
                "processor.stripe_api_url",
                Some("https://api.stripe.com/"),
                parse_base_url,
            );
            let checkout_origin = r.parsed(
                "processor.stripe_checkout_origin",
                Some("https://checkout.stripe.com/"),
                parse_base_url,
            );
            let allow_test_key = r.boolean("processor.allow_test_key", false);
            match (api_url, checkout_origin) {
                (Some(api_url), Some(checkout_origin)) => Some(ProcessorKind::Stripe {
                    api_url,
                    checkout_origin,
                    allow_test_key,
                }),
                _ => None,
            }
        }
        other => {
            r.error(
                "processor.kind",
                format!("unknown processor {other:?} (known: sandbox, stripe)"),
            );
            None
        }
    };
    let ttl = r.integer("processor.checkout_ttl_minutes", 30, 5, 24 * 60);
    let timeout = r.integer("processor.request_timeout_seconds", 15, 1, 120);

    let mail_from = r.parsed(
        "mail.from",
        Some("City of Springfield Payments <payments@springfield.example>"),
        |s| {
            lettre::message::Mailbox::from_str(s)
                .map(|_| s.to_owned())
                .map_err(|_| "expected an address like \"City Payments <payments@city.example>\"")
        },
    );
    let transport = if r.is_set("mail.smtp_url") {
        r.parsed("mail.smtp_url", None, |s| {
            let u = Url::parse(s).map_err(|e| e.to_string())?;
            match u.scheme() {
                "smtp" | "smtps" if u.host_str().is_some() => Ok(MailTransport::Smtp(u)),
                _ => Err("expected smtp://host:port or smtps://host:port".to_owned()),
            }
        })
    } else {
        let outbox_default = data_dir.join("outbox").display().to_string();
        Some(MailTransport::Outbox(PathBuf::from(
            r.string("mail.outbox_dir", &outbox_default),
        )))
    };

    let sandbox_listen = r.parsed(
        "sandbox.listen",
        Some("127.0.0.1:8090"),
        SocketAddr::from_str,
    );
    let webhook_default = public_base_url
        .as_ref()
        .and_then(|u| u.join("webhooks/sandbox").ok())
        .map(|u| u.to_string())
        .unwrap_or_else(|| "http://127.0.0.1:8080/webhooks/sandbox".into());
    let sandbox_webhook = r.parsed("sandbox.webhook_url", Some(&webhook_default), |s| {
        Url::parse(s).map_err(|e| e.to_string())
    });

    let departments = departments::read_departments(&mut r);
    let log_format = r
        .parsed("log.format", Some("json"), |s| match s {
            "json" => Ok(LogFormat::Json),
            "text" => Ok(LogFormat::Text),
            _ => Err("expected json or text"),
        })
        .unwrap_or(LogFormat::Json);
    let poll_ms = r.integer("jobs.poll_interval_ms", 1000, 10, 60_000);
    let jobs_in_process = r.boolean("jobs.in_process", true);
    let mut trusted_proxies = Vec::new();
    for (i, p) in r
        .string_list("limits.trusted_proxies")
        .into_iter()
        .enumerate()
    {
        match p.parse::<crate::web::limits::Cidr>() {
            Ok(c) => trusted_proxies.push(c),
            Err(e) => r.error("limits.trusted_proxies", format!("entry {}: {e}", i + 1)),
        }
    }
    let monitor_url = r.parsed(
        "monitor.url",
        Some(
            public_base_url
                .as_ref()
                .map(Url::as_str)
                .unwrap_or("http://127.0.0.1:8080/"),
        ),
        parse_base_url,
    );
    let monitor_baseline = PathBuf::from(r.string(
        "monitor.baseline",
        &data_dir.join("monitor-baseline.json").display().to_string(),
    ));
    let monitor_interval = r.integer("monitor.interval_minutes", 0, 0, 7 * 24 * 60);
    let alert_webhook = if r.is_set("monitor.alert_webhook") {
        r.parsed("monitor.alert_webhook", None, |s| {
            Url::parse(s).map_err(|e| e.to_string())
        })
    } else {
        None
    };
    let mut rule = |name: &str, default: i64| crate::web::limits::Rule {
        per_minute: u32::try_from(r.integer(
            &format!("limits.{name}_per_minute"),
            default,
            1,
            100_000,
        ))
        .unwrap_or(1),
    };
    let limits = LimitsConfig {
        trusted_proxies,
        lookup: rule("lookup", 20),
        payment: rule("payment", 10),
        sign_in: rule("sign_in", 10),
        enrol: rule("enrol", 10),
    };
    let backup = BackupConfig {
        dir: PathBuf::from(r.string(
            "backup.dir",
            &data_dir.join("backups").display().to_string(),
        )),
        recipient: if r.is_set("backup.recipient") {
            r.parsed(
                "backup.recipient",
                None,
                str::parse::<crate::backup::Recipient>,
            )
        } else {
            None
        },
        interval_hours: r.integer("backup.interval_hours", 0, 0, 24 * 31),
        keep: domain::backup_retention::Policy {
            daily: u32::try_from(r.integer("backup.keep_daily", 7, 0, 3660)).unwrap_or(7),
            weekly: u32::try_from(r.integer("backup.keep_weekly", 4, 0, 520)).unwrap_or(4),
            monthly: u32::try_from(r.integer("backup.keep_monthly", 12, 0, 1200)).unwrap_or(12),
        },
    };
    if backup.interval_hours > 0 && !r.is_set("backup.recipient") {
        r.error(
            "backup.interval_hours",
            "scheduled backups need backup.recipient (`cityteller backup keygen` makes one)",
        );
    }
    let retention = RetentionConfig {
        payment_email_years: r.integer("retention.payment_email_years", 3, 2, 100),
        finished_job_days: r.integer("retention.finished_job_days", 90, 7, 36_500),
        inactive_account_years: r.integer("retention.inactive_account_years", 7, 2, 100),
        audit_event_months: r.integer("retention.audit_event_months", 84, 12, 1_200),
    };
    let accounts = AccountsConfig {
        enabled: r.boolean("accounts.enabled", true),
        reminder_days: r.integer("accounts.reminder_days", 3, 0, 60),
        confirm_link_hours: r.integer("accounts.confirm_link_hours", 48, 1, 24 * 14),
        reset_link_minutes: r.integer("accounts.reset_link_minutes", 60, 10, 24 * 60),
    };
    let checkpoint_default = data_dir.join("checkpoints").display().to_string();
    let audit = AuditConfig {
        checkpoint_dir: PathBuf::from(r.string("audit.checkpoint_dir", &checkpoint_default)),
        checkpoint_events: r.integer("audit.checkpoint_events", 1000, 1, 10_000_000),
        checkpoint_minutes: r.integer("audit.checkpoint_minutes", 10, 1, 24 * 60),
        checkpoint_log: r.boolean("audit.checkpoint_log", true),
    };

    if mode == Mode::Production {
        if let Some(u) = &public_base_url
            && u.scheme() != "https"
        {
            r.error(
                "public.base_url",
                "production mode requires an https:// base URL",
            );
        }
        if processor_kind == "sandbox" {
            r.error(
                "processor.kind",
                "production mode refuses the sandbox processor",
            );
        }
        if matches!(transport, Some(MailTransport::Outbox(_))) {
            r.error(
                "mail.smtp_url",
                "production mode requires an SMTP server for receipts",
            );
        }
        if let Some(u) = &staff_base_url
            && u.scheme() != "https"
        {
            r.error(
                "staff.base_url",
                "production mode requires an https:// staff URL (staff passwords and sessions)",
            );
        }
        if let Some(filter) = &log_filter {
            let f = filter.to_ascii_lowercase();
            if f.contains("debug") || f.contains("trace") {
                r.error(
                    "log",
                    format!("production mode refuses debug or trace logging (CITYTELLER_LOG={filter}): it can record request data"),
                );
            }
        }
        if !keys_file.exists() && std::env::var_os("CITYTELLER_KEYS").is_none() {
            r.error(
                "keys_file",
                format!(
                    "production mode requires the key file ({}) or CITYTELLER_KEYS; create one with `cityteller keys init`",
                    keys_file.display()
                ),
            );
        }
    }

    let finished = r.finish();
    match (
        finished,
        database,
        timezone,
        public_listen,
        public_base_url,
        staff_listen,
        staff_base_url,
        processor,
        mail_from,
        transport,
        sandbox_listen,
        sandbox_webhook,
        departments,
        monitor_url,
    ) {
        (
            Ok(()),
            Some(database),
            Some(timezone),
            Some(public_listen),
            Some(public_base_url),
            Some(staff_listen),
            Some(staff_base_url),
            Some(kind),
            Some(from),
            Some(transport),
            Some(sandbox_listen),
            Some(webhook_url),
            Some(departments),
            Some(monitor_url),
        ) => Ok(Config {
            mode,
            city_name,
            data_dir,
            database,
            keys_file,
            timezone,
            public_listen,
            public_base_url,
            staff_listen,
            staff_base_url,
            staff_idle: Duration::from_secs(staff_idle.unsigned_abs() * 60),
            staff_absolute: Duration::from_secs(staff_absolute.unsigned_abs() * 3600),
            processor: ProcessorConfig {
                kind,
                checkout_ttl: Duration::from_secs(ttl.unsigned_abs() * 60),
                request_timeout: Duration::from_secs(timeout.unsigned_abs()),
            },
            mail: MailConfig { from, transport },
            sandbox: SandboxConfig {
                listen: sandbox_listen,
                webhook_url,
            },
            departments,
            log_format,
            job_poll_interval: Duration::from_millis(poll_ms.unsigned_abs()),
            jobs_in_process,
            audit,
            limits,
            monitor: MonitorConfig {
                url: monitor_url,
                baseline: monitor_baseline,
                interval_minutes: monitor_interval,
                alert_webhook,
            },
            backup,
            retention,
            accounts,
        }),
        (Err(errors), ..) => Err(errors),
        // Every `None` above recorded its own error, so `finish` failed.
        _ => Err(vec!["configuration is incomplete".into()]),
    }
}

fn parse_base_url(s: &str) -> Result<Url, String> {
    let u = Url::parse(s).map_err(|e| e.to_string())?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err("expected an http:// or https:// URL".into());
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err("a base URL has no query or fragment".into());
    }
    // Joining relative paths needs a trailing slash.
    let mut u = u;
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    Ok(u)
}

impl Config {
    pub fn department(&self, id: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.id.as_str() == id)
    }

    pub fn is_tls(&self) -> bool {
        self.public_base_url.scheme() == "https"
    }

    pub fn staff_is_tls(&self) -> bool {
        self.staff_base_url.scheme() == "https"
    }

    /// An absolute URL on the staff console.
    pub fn staff_url(&self, path: &str) -> String {
        let base = self.staff_base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    /// An absolute URL on the resident site.
    pub fn public_url(&self, path: &str) -> String {
        let base = self.public_base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[departments.utilities]
name = "Utilities"
[departments.utilities.ledger]
cash_clearing = "1010"
receivable = "1200"
fee_income = "4410"
"#;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let table = text.parse::<toml::Table>().unwrap();
        Config::from_parts(
            table,
            "cityteller.toml",
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn defaults_are_a_working_development_setup() {
        let c = load(MINIMAL, &[]).unwrap();
        assert_eq!(c.mode, Mode::Development);
        assert_eq!(c.public_listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.staff_listen.to_string(), "127.0.0.1:8081");
        assert_eq!(
            c.database,
            DatabaseUrl::Sqlite(PathBuf::from("data/cityteller.db"))
        );
        assert_eq!(c.departments.len(), 1);
        assert_eq!(c.public_url("/pay"), "http://127.0.0.1:8080/pay");
    }

    #[test]
    fn database_url_from_environment() {
        let c = load(MINIMAL, &[("DATABASE_URL", "postgres://u:secret@db/ct")]).unwrap();
        assert!(matches!(c.database, DatabaseUrl::Postgres(_)));
        assert_eq!(c.database.redacted(), "postgres://u:***@db/ct");
    }

    #[test]
    fn production_lists_every_problem_at_once() {
        let text = format!(
            "mode = \"production\"\nunknown_key = 1\n[public]\nlisten = \"nope\"\n{MINIMAL}"
        );
        let errs = load(
            &text,
            &[
                ("CITYTELLER_KEYS_FILE", "/nonexistent/keys.toml"),
                ("CITYTELLER_LOG", "debug"),
            ],
        )
        .unwrap_err()
        .0;
        let all = errs.join("\n");
        assert!(all.contains("public.listen"), "{all}");
        assert!(all.contains("requires an https:// base URL"), "{all}");
        assert!(all.contains("refuses the sandbox processor"), "{all}");
        assert!(all.contains("requires an SMTP server"), "{all}");
        assert!(all.contains("requires the key file"), "{all}");
        assert!(all.contains("requires an https:// staff URL"), "{all}");
        assert!(all.contains("unknown_key: unknown setting"), "{all}");
        assert!(all.contains("refuses debug or trace logging"), "{all}");
        assert!(errs.len() >= 6, "{all}");
    }

    #[test]
    fn the_documented_example_is_valid() {
        let text = include_str!("../../../../cityteller.example.toml");
        // Production mode wants the key file to exist; point at one that does.
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys.toml");
        std::fs::write(&keys, "x").unwrap();
        let c = load(text, &[("CITYTELLER_KEYS_FILE", keys.to_str().unwrap())]);
        let errs = c.as_ref().err().map(|e| e.0.clone()).unwrap_or_default();
        assert!(errs.is_empty(), "{errs:?}");
        assert!(matches!(
            c.unwrap().processor.kind,
            ProcessorKind::Stripe {
                allow_test_key: false,
                ..
            }
        ));
        let sandbox = text.replace("kind = \"stripe\"", "kind = \"sandbox\"");
        let errs = load(
            &sandbox,
            &[("CITYTELLER_KEYS_FILE", keys.to_str().unwrap())],
        )
        .err()
        .map(|e| e.0)
        .unwrap_or_default();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].contains("refuses the sandbox processor"),
            "{errs:?}"
        );
        let dev = load(text, &[("CITYTELLER_MODE", "development")]).unwrap();
        assert_eq!(dev.departments[0].name, "Utilities");
        assert_eq!(
            dev.departments[0].text(crate::i18n::Locale::Es).name,
            "Servicios públicos"
        );
        assert!(matches!(dev.mail.transport, MailTransport::Smtp(_)));
    }

    #[test]
    fn departments_are_listed_by_position_then_id() {
        let two = format!(
            "{MINIMAL}[departments.parking]\nname = \"Parking\"\n[departments.parking.ledger]\ncash_clearing = \"1\"\nreceivable = \"2\"\nfee_income = \"3\"\n"
        );
        let ids = |c: Config| {
            c.departments
                .iter()
                .map(|d| d.id.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(load(&two, &[]).unwrap()), ["parking", "utilities"]);
        let first = two.replace(
            "name = \"Utilities\"\n",
            "name = \"Utilities\"\nposition = 1\n",
        );
        assert_eq!(ids(load(&first, &[]).unwrap()), ["utilities", "parking"]);
    }

    #[test]
    fn a_misspelt_department_setting_is_reported() {
        let text = MINIMAL.replace(
            "name = \"Utilities\"\n",
            "name = \"Utilities\"\nallow_partail = true\n",
        );
        assert_ne!(text, MINIMAL);
        let errs = load(&text, &[]).unwrap_err().0;
        assert!(
            errs.iter().any(|e| e.contains(
                "departments.utilities.allow_partail: unknown setting (check the spelling)"
            )),
            "{errs:?}"
        );
        let es = format!("{MINIMAL}[departments.utilities.es]\nnmae = \"Servicios\"\n");
        let errs = load(&es, &[]).unwrap_err().0;
        assert!(
            errs.iter()
                .any(|e| e.contains("departments.utilities.es.nmae: unknown setting")),
            "{errs:?}"
        );
    }

    #[test]
    fn backup_settings_are_checked() {
        let id = crate::backup::Identity::generate();
        let good = format!(
            "{MINIMAL}\n[backup]\nrecipient = \"{}\"\ninterval_hours = 24\nkeep_daily = 3\n",
            id.recipient()
        );
        let c = load(&good, &[]).unwrap();
        assert_eq!(c.backup.recipient, Some(id.recipient()));
        assert_eq!(c.backup.interval_hours, 24);
        assert_eq!(c.backup.keep.daily, 3);
        assert_eq!(c.backup.keep.monthly, 12);
        let errs = load(&format!("{MINIMAL}\n[backup]\ninterval_hours = 24\n"), &[])
            .unwrap_err()
            .0
            .join("\n");
        assert!(
            errs.contains("scheduled backups need backup.recipient"),
            "{errs}"
        );
        let errs = load(&format!("{MINIMAL}\n[backup]\nrecipient = \"AAAA\"\n"), &[])
            .unwrap_err()
            .0
            .join("\n");
        assert!(errs.contains("backup.recipient"), "{errs}");
        assert!(errs.contains("backup-recipient:"), "{errs}");
    }

    #[test]
    fn departments_have_spanish_texts_with_fallbacks() {
        use crate::i18n::Locale;
        let bare = load(MINIMAL, &[]).unwrap();
        let es = bare.departments[0].text(Locale::Es);
        // No Spanish given: the city's own name, cityteller's own Spanish
        // for what cityteller wrote.
        assert_eq!(es.name, "Utilities");
        assert_eq!(es.lookup_label, "Número de cuenta");
        assert!(es.lookup_hint.starts_with("Impreso en la parte superior"));
        assert_eq!(bare.departments[0].lookup_label, "Account number");

        let custom =
            format!("{MINIMAL}[departments.utilities.es]\nname = \"Servicios públicos\"\n");
        let c = load(&custom, &[]).unwrap();
        assert_eq!(c.departments[0].text(Locale::Es).name, "Servicios públicos");
        assert_eq!(c.departments[0].text(Locale::En).name, "Utilities");

        // A city's own English hint is kept when it has no Spanish one
        // (rather than our generic Spanish hint, which may be wrong for it).
        let hinted = MINIMAL.replace(
            "name = \"Utilities\"",
            "name = \"Utilities\"\nlookup_hint = \"Top right, e.g. 77-1\"",
        );
        let c = load(&hinted, &[]).unwrap();
        assert_eq!(
            c.departments[0].text(Locale::Es).lookup_hint,
            "Top right, e.g. 77-1"
        );
    }

    #[test]
    fn no_departments_is_an_error() {
        let errs = load("", &[]).unwrap_err().0;
        assert!(
            errs.iter().any(|e| e.contains("at least one department")),
            "{errs:?}"
        );
    }
}
