//! The `cityteller` command.

mod backup;
mod breach;
mod demo;
mod retention;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use app::App;
use app::audit::Actor;
use app::clock::SystemClock;
use app::config::{Config, Mode};
use app::keys::Keys;
use app::services::import::{ImportError, import_receivables};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cityteller",
    version,
    about = "A secure, self-hosted online payment platform for a city."
)]
struct Cli {
    /// The configuration file (TOML). Settings can also come from
    /// CITYTELLER_* environment variables and DATABASE_URL.
    #[arg(long, global = true, env = "CITYTELLER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the resident site and the staff listener.
    Serve,
    /// Run a complete demo: SQLite in a data folder, demo bills, the
    /// sandbox processor on its own port.
    Demo(demo::DemoArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Import data from the city's other systems.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Manage the key file.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check the books.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Manage staff accounts.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Prove the audit log has not been altered.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Watch the payment pages for unauthorised changes (skimmers).
    #[command(subcommand)]
    Monitor(MonitorCommand),
    /// Encrypted, signed backups (see "When things go wrong" in the README).
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Restore a backup into an empty database, then check the row counts
    /// and the audit chain; prints the time taken.
    Restore(backup::RestoreArgs),
    /// Keep less, lose less: apply the retention rules.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// After an incident: who could have been exposed, and what of theirs.
    #[command(subcommand)]
    Breach(breach::BreachCommand),
    /// Run the sandbox processor (a fake card processor for demos and
    /// tests; refused in production mode).
    Sandbox(demo::SandboxArgs),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import a receivables CSV file (all or nothing).
    Receivables {
        /// The department the bills belong to, as named in the config.
        #[arg(long)]
        department: String,
        /// The CSV file.
        file: PathBuf,
    },
    /// Import the licensing system's licences file (licence_number,
    /// business_name, business_address, category, expires_on; all or
    /// nothing) for a department with [licences] rules.
    Licences {
        #[arg(long)]
        department: String,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a new key file (mode 0600) at the configured path.
    Init,
    /// Print the public key that verifies audit checkpoints (give it to
    /// your auditors).
    Public,
    /// Add a new field-encryption key, make it current and re-encrypt every
    /// sealed value with it. Restart `serve` afterwards.
    Rotate {
        /// Do not add a key: finish re-encrypting to the current one (after
        /// an interruption).
        #[arg(long)]
        resume: bool,
    },
}

#[derive(Subcommand)]
enum MonitorCommand {
    /// Record the payment pages as they are now, signed with the key file's
    /// audit key.
    Baseline {
        /// The resident site (default: monitor.url from the config).
        #[arg(long)]
        url: Option<url::Url>,
        /// Where to write the baseline (default: monitor.baseline).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The key file (default: keys_file from the config).
        #[arg(long)]
        keys_file: Option<PathBuf>,
    },
    /// Fetch the pages again and compare; exit 1 listing every difference.
    /// Runs without a database, e.g. from cron on another host.
    Check {
        #[arg(long)]
        url: Option<url::Url>,
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// The public key (`cityteller keys public`); or use --keys-file.
        #[arg(long)]
        public_key: Option<String>,
        #[arg(long)]
        keys_file: Option<PathBuf>,
        /// POST the differences here as JSON.
        #[arg(long)]
        alert_webhook: Option<url::Url>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and the signed checkpoints; exit 1 naming the
    /// first bad event if anything was altered.
    Verify {
        /// Where the checkpoint files are (default: audit.checkpoint_dir).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// The checkpoints' public key, base64 (default: from the key file).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Write a signed checkpoint of the chain now.
    Checkpoint,
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a member of staff and print their one-time enrolment link
    /// (valid 24 hours).
    Add {
        #[arg(long)]
        email: String,
        /// viewer, clerk, supervisor, finance, administrator or auditor.
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Verify that every journal entry balances and that payments and
    /// postings agree.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cityteller: cannot start: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cityteller: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn load_config(path: Option<&Path>) -> Result<Config, ExitCode> {
    let path = path.map(Path::to_path_buf).or_else(|| {
        let default = PathBuf::from("cityteller.toml");
        default.exists().then_some(default)
    });
    Config::load(path.as_deref()).map_err(|e| {
        eprintln!("cityteller: {e}");
        ExitCode::from(2)
    })
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => demo::run(args).await,
        Command::Sandbox(args) => demo::run_sandbox(args).await,
        Command::Backup(cmd) => backup::run(cli.config.as_deref(), cmd).await,
        Command::Restore(args) => backup::restore(cli.config.as_deref(), args).await,
        Command::Retention(cmd) => retention::run(cli.config.as_deref(), cmd).await,
        Command::Breach(cmd) => breach::run(cli.config.as_deref(), cmd).await,
        Command::Serve => {
            let config = match load_config(cli.config.as_deref()) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            app::telemetry::init_logging(config.log_format);
            serve(config).await
        }
        Command::Migrate => {
            let config = match load_config(cli.config.as_deref()) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let db = app::store::Db::connect(&config.database).await?;
            let applied = db.migrate().await?;
            if applied.is_empty() {
                println!("{}: schema is up to date", db.label());
            } else {
                println!("{}: applied {}", db.label(), applied.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(ImportCommand::Receivables { department, file }) => {
            let config = match load_config(cli.config.as_deref()) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let app = App::from_config(config, Arc::new(SystemClock)).await?;
            import_file(&app, &department, &file).await
        }
        Command::Import(ImportCommand::Licences { department, file }) => {
            let config = match load_config(cli.config.as_deref()) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let app = App::from_config(config, Arc::new(SystemClock)).await?;
            let Some(dept) = app.config.department(&department) else {
                eprintln!("cityteller: unknown department {department:?}");
                return Ok(ExitCode::from(2));
            };
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("cityteller: cannot read {}: {e}", file.display());
                    return Ok(ExitCode::from(3));
                }
            };
            let name = file.display().to_string();
            match app::services::licences::import_licences(&app, dept, &text, &name, &Actor::cli())
                .await
            {
                Ok(n) => {
                    println!("{n} licence(s) imported from {name}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(app::services::licences::LicenceError::Invalid { file, errors }) => {
                    eprintln!("{file}: {} problem(s); nothing was imported", errors.len());
                    for e in errors {
                        eprintln!("  {e}");
                    }
                    Ok(ExitCode::from(1))
                }
                Err(app::services::licences::LicenceError::NotLicensing(d)) => {
                    eprintln!("cityteller: department {d} has no [departments.{d}.licences] rules");
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Keys(KeysCommand::Init) => {
            let config = match load_config(cli.config.as_deref()) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            Keys::write_new_file(&config.keys_file)?;
            println!(
                "wrote {} (mode 0600). Keep an offline copy: without it the personal data in the database cannot be read.",
                config.keys_file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Staff(StaffCommand::Add { email, role }) => {
            let Some(role) = app::staff::roles::Role::parse(role.trim()) else {
                eprintln!(
                    "cityteller: unknown role {role:?} (viewer, clerk, supervisor, finance, administrator, auditor)"
                );
                return Ok(ExitCode::from(2));
            };
            let config = match load_config(cli.config.as_deref()) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let app = App::from_config(config, Arc::new(SystemClock)).await?;
            match app::services::staff_auth::add_staff(&app, &email, role, &Actor::cli(), None)
                .await
            {
                Ok((_, link)) => {
                    println!("added {} as {role}.", email.trim().to_lowercase());
                    println!(
                        "Enrolment link (works once, for 24 hours; send it by a trusted channel):"
                    );
                    println!("{link}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(
                    e @ (app::services::staff_auth::StaffError::InvalidEmail(_)
                    | app::services::staff_auth::StaffError::Exists),
                ) => {
                    eprintln!("cityteller: {e}");
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Keys(KeysCommand::Public) => {
            let config = match load_config(cli.config.as_deref()) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let keys = Keys::load(&config.keys_file, std::env::var("CITYTELLER_KEYS").ok())?;
            match keys.audit_public_key() {
                Some(k) => {
                    println!("{k}");
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("cityteller: the key file has no audit_signing_key");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Keys(KeysCommand::Rotate { resume }) => {
            let config = match load_config(cli.config.as_deref()) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            if !resume {
                let id = app::services::key_rotation::add_field_key(&config.keys_file)?;
                println!(
                    "added field key {id} to {} and made it current",
                    config.keys_file.display()
                );
            }
            let app = App::from_config(config, Arc::new(SystemClock)).await?;
            let total = app::services::key_rotation::remaining(&app).await?;
            let bar = std::io::stderr()
                .is_terminal()
                .then(|| indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0)));
            let n = app::services::key_rotation::reencrypt(&app, &Actor::cli(), |n| {
                if let Some(b) = &bar {
                    b.set_position(n);
                }
            })
            .await?;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            println!(
                "re-encrypted {n} value(s) with field key {}.",
                app.keys.fields.current_id()
            );
            println!("Restart `cityteller serve` now so it seals new values with the new key.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Monitor(cmd) => {
            let config = if cli.config.is_some() || Path::new("cityteller.toml").exists() {
                match load_config(cli.config.as_deref()) {
                    Ok(c) => Some(c),
                    Err(code) => return Ok(code),
                }
            } else {
                None
            };
            monitor_command(config, cmd).await
        }
        Command::Audit(cmd) => {
            let config = match load_config(cli.config.as_deref()) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            audit_command(config, cmd).await
        }
        Command::Ledger(LedgerCommand::Check) => {
            let config = match load_config(cli.config.as_deref()) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let db = app::store::Db::connect(&config.database).await?;
            db.migrate().await?;
            let problems = app::store::ledger::check(db.reader()).await?;
            if problems.is_empty() {
                println!("ledger OK: every entry balances; payments and postings agree");
                Ok(ExitCode::SUCCESS)
            } else {
                for p in &problems {
                    println!("{}", p.what);
                }
                println!("{} problem(s)", problems.len());
                Ok(ExitCode::from(1))
            }
        }
    }
}

async fn audit_command(config: Config, cmd: AuditCommand) -> Result<ExitCode> {
    use base64::Engine;
    let app = App::from_config(config, Arc::new(SystemClock)).await?;
    match cmd {
        AuditCommand::Checkpoint => {
            match app::audit::checkpoint::maybe_write(&app, true).await? {
                Some(seq) => println!(
                    "checkpoint written at event {seq} in {}",
                    app.config.audit.checkpoint_dir.display()
                ),
                None => println!("no checkpoint needed (no new events, or no audit_signing_key)"),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify {
            checkpoints,
            public_key,
        } => {
            let key = match public_key {
                Some(b64) => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .ok()
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok());
                    match bytes {
                        Some(k) => Some(k),
                        None => {
                            eprintln!(
                                "cityteller: --public-key is not an Ed25519 public key in base64"
                            );
                            return Ok(ExitCode::from(2));
                        }
                    }
                }
                None => app.keys.audit_signing.as_ref().map(|k| k.verifying_key()),
            };
            let dir = checkpoints.unwrap_or_else(|| app.config.audit.checkpoint_dir.clone());
            let bar = if std::io::stderr().is_terminal() {
                // The head's sequence number is the length of an intact
                // chain and costs one row, not a count of the table.
                let (total, _) = app::store::audit::chain_head(app.db.reader()).await?;
                Some(total)
            } else {
                None
            };
            let bar = bar.map(|total| {
                let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0));
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{spinner} verifying [{bar:40}] {pos}/{len} events ({per_sec})",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar
            });
            let started = std::time::Instant::now();
            let result = app::audit::verify::verify(&app.db, &dir, key.as_ref(), |n| {
                if let Some(b) = &bar {
                    b.set_position(n);
                }
            })
            .await;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            match result {
                Ok(r) => {
                    let signed = if key.is_some() {
                        "signed "
                    } else {
                        "unverified (no public key) "
                    };
                    let secs = started.elapsed().as_secs_f64();
                    println!(
                        "audit log OK: {} events (last {}), {} {signed}checkpoint(s) in {}",
                        r.events,
                        r.last_seq,
                        r.checkpoints,
                        dir.display()
                    );
                    if let Some(seq) = r.pruned_through {
                        println!(
                            "events up to {seq} were removed by retention; the chain resumes at the signed checkpoint there"
                        );
                    }
                    println!(
                        "verified in {secs:.3} s ({:.0} events/s)",
                        r.events as f64 / secs.max(1e-9)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e @ app::audit::verify::VerifyError::Store(_)) => Err(e.into()),
                Err(e) => {
                    println!("{e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn public_key_from(b64: &str) -> Option<ed25519_dalek::VerifyingKey> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
}

fn signing_key(
    config: Option<&Config>,
    keys_file: Option<PathBuf>,
) -> Result<Option<ed25519_dalek::SigningKey>> {
    let path = match (keys_file, config) {
        (Some(p), _) => p,
        (None, Some(c)) => c.keys_file.clone(),
        (None, None) if std::env::var("CITYTELLER_KEYS").is_ok() => PathBuf::new(),
        (None, None) => return Ok(None),
    };
    Ok(Keys::load(&path, std::env::var("CITYTELLER_KEYS").ok())?.audit_signing)
}

async fn monitor_command(config: Option<Config>, cmd: MonitorCommand) -> Result<ExitCode> {
    use app::monitor;
    let need = |what: &str| {
        eprintln!("cityteller: give {what} (or run with a configuration file)");
        ExitCode::from(2)
    };
    match cmd {
        MonitorCommand::Baseline {
            url,
            out,
            keys_file,
        } => {
            let Some(url) = url.or_else(|| config.as_ref().map(|c| c.monitor.url.clone())) else {
                return Ok(need("--url"));
            };
            let Some(out) = out.or_else(|| config.as_ref().map(|c| c.monitor.baseline.clone()))
            else {
                return Ok(need("--out"));
            };
            let Some(key) = signing_key(config.as_ref(), keys_file)? else {
                return Ok(need("--keys-file with an audit_signing_key"));
            };
            let client = monitor::client(&url, None)?;
            let snap = monitor::snapshot(&client, &url).await?;
            let (pages, assets) = (snap.pages.len(), snap.assets.len());
            let baseline = monitor::sign_baseline(&key, &url, snap, jiff::Timestamp::now());
            std::fs::write(&out, serde_json::to_string_pretty(&baseline)?)?;
            println!(
                "baseline of {pages} page(s) and {assets} asset(s) at {url} written to {}",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        MonitorCommand::Check {
            url,
            baseline,
            public_key,
            keys_file,
            alert_webhook,
        } => {
            let Some(url) = url.or_else(|| config.as_ref().map(|c| c.monitor.url.clone())) else {
                return Ok(need("--url"));
            };
            let Some(path) =
                baseline.or_else(|| config.as_ref().map(|c| c.monitor.baseline.clone()))
            else {
                return Ok(need("--baseline"));
            };
            let key = match public_key {
                Some(b64) => match public_key_from(&b64) {
                    Some(k) => k,
                    None => {
                        eprintln!(
                            "cityteller: --public-key is not an Ed25519 public key in base64"
                        );
                        return Ok(ExitCode::from(2));
                    }
                },
                None => match signing_key(config.as_ref(), keys_file)? {
                    Some(k) => k.verifying_key(),
                    None => return Ok(need("--public-key or --keys-file")),
                },
            };
            let alert_webhook = alert_webhook.or_else(|| {
                config
                    .as_ref()
                    .and_then(|c| c.monitor.alert_webhook.clone())
            });
            let base = match monitor::load_baseline(&path, &key) {
                Ok(b) => b,
                Err(e) => {
                    println!("ALERT: {e}");
                    return Ok(ExitCode::from(1));
                }
            };
            let client = monitor::client(&url, alert_webhook.as_ref())?;
            let changes = monitor::check(&client, &url, &base).await?;
            if changes.is_empty() {
                println!(
                    "payment pages at {url} match the baseline of {} ({} page(s), {} asset(s))",
                    base.taken_at,
                    base.snapshot.pages.len(),
                    base.snapshot.assets.len()
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "ALERT: the payment pages at {url} differ from the baseline of {}:",
                base.taken_at
            );
            for c in &changes {
                println!("  - {c}");
            }
            if let Some(hook) = &alert_webhook {
                monitor::alert(&client, hook, &url, &changes).await?;
                println!("alert sent to {hook}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

pub async fn serve(config: Config) -> Result<ExitCode> {
    if config.mode == Mode::Production {
        tracing::info!("starting in production mode");
    }
    let public_listen = config.public_listen;
    let staff_listen = config.staff_listen;
    let app = App::from_config(config, Arc::new(SystemClock)).await?;
    let public = tokio::net::TcpListener::bind(public_listen)
        .await
        .with_context(|| format!("cannot listen on {public_listen} (public)"))?;
    let staff = tokio::net::TcpListener::bind(staff_listen)
        .await
        .with_context(|| format!("cannot listen on {staff_listen} (staff)"))?;
    let running = app::server::start(app, public, staff)?;
    tracing::info!(public = %running.public_addr, staff = %running.staff_addr, "cityteller is serving");
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn import_file(app: &App, department: &str, file: &Path) -> Result<ExitCode> {
    let Some(dept) = app.config.department(department) else {
        let known: Vec<&str> = app
            .config
            .departments
            .iter()
            .map(|d| d.id.as_str())
            .collect();
        eprintln!(
            "cityteller: unknown department {department:?} (configured: {})",
            known.join(", ")
        );
        return Ok(ExitCode::from(2));
    };
    let bytes = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let sha = {
        use std::io::Read;
        let mut f =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        app::crypto::sha256_hex(&buf)
    };
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
    );
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(bytes);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} importing [{bar:40}] {bytes}/{total_bytes} ({eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Some(bar)
    } else {
        None
    };
    let name = file.display().to_string();
    let progress = bar.clone();
    let result = import_receivables(app, dept, reader, &name, &sha, &Actor::cli(), move |n| {
        if let Some(b) = &progress {
            b.set_position(n);
        }
    })
    .await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match result {
        Ok(s) => {
            println!(
                "{name}: imported {} row(s) for {department}: {} new, {} updated, {} unchanged",
                s.rows, s.inserted, s.updated, s.unchanged
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportError::Invalid { file, errors, more }) => {
            for e in &errors {
                eprintln!("{file}: {e}");
            }
            if more > 0 {
                eprintln!("{file}: … and {more} more problem(s)");
            }
            eprintln!(
                "{file}: {} problem(s); nothing was imported",
                errors.len() + more
            );
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
