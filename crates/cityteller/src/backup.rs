//! `cityteller backup …` and `cityteller restore`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use app::App;
use app::audit::Actor;
use app::backup::{BackupError, Identity};
use app::clock::SystemClock;
use app::config::DatabaseUrl;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Make the key pair backups are encrypted to: writes the private key
    /// (identity) to FILE, mode 0600, and prints the public key for the
    /// config's backup.recipient. Keep FILE offline, never on the server.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Take a consistent, compressed, encrypted and signed backup of the
    /// whole database, while the server keeps serving.
    Create {
        /// The folder to write to (default: backup.dir from the config).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a backup: structure, the manifest's signature and every part's
    /// SHA-256; with --identity also decrypt and read every row.
    Verify {
        file: PathBuf,
        /// The backup identity file (from `backup keygen`).
        #[arg(long)]
        identity: Option<PathBuf>,
        /// The server's public key, base64 (`cityteller keys public`);
        /// default: from the key file in the config.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Remove the backups the retention policy does not keep: the newest
    /// of each of the last N days, M weeks and K months (UTC), and always
    /// the newest of all.
    Prune {
        /// The folder (default: backup.dir from the config).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long)]
        daily: u32,
        #[arg(long)]
        weekly: u32,
        #[arg(long)]
        monthly: u32,
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup file.
    file: PathBuf,
    /// The backup identity file (from `backup keygen`).
    #[arg(long)]
    identity: PathBuf,
    /// The empty database to restore into: postgres://…, sqlite://PATH or a
    /// file path for SQLite.
    #[arg(long)]
    into: String,
    /// The server's public key, base64 (`cityteller keys public`);
    /// default: from the key file in the config.
    #[arg(long)]
    public_key: Option<String>,
}

fn bar(len: u64, template: &str) -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    })
}

/// Exit code and message for what went wrong; `None` for failures of the
/// machinery (database unreachable), which the caller reports with code 3.
fn refused(e: &BackupError) -> Option<u8> {
    match e {
        BackupError::Io { .. } | BackupError::Store(_) => None,
        BackupError::NoSigningKey | BackupError::UnknownTable(_) => Some(2),
        BackupError::NotABackup(_)
        | BackupError::Malformed { .. }
        | BackupError::BadSignature(_)
        | BackupError::WrongSigner { .. }
        | BackupError::PartDamaged { .. }
        | BackupError::WrongIdentity { .. }
        | BackupError::Decrypt { .. }
        | BackupError::Crypto(_)
        | BackupError::NotEmpty { .. }
        | BackupError::SchemaTooNew { .. }
        | BackupError::Mismatch { .. }
        | BackupError::Audit(_) => Some(1),
    }
}

fn report(e: &BackupError) -> ExitCode {
    eprintln!("cityteller: {e}");
    ExitCode::from(refused(e).unwrap_or(3))
}

fn read_identity(path: &Path) -> Result<Identity, ExitCode> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!(
            "cityteller: cannot read the identity {}: {e}",
            path.display()
        );
        ExitCode::from(3)
    })?;
    Identity::parse(&text).map_err(|e| {
        eprintln!(
            "cityteller: {} is not a backup identity: {e}",
            path.display()
        );
        ExitCode::from(2)
    })
}

/// The key that must have signed a backup: --public-key, or the key file's.
fn verifying_key(
    config: Option<&Path>,
    public_key: Option<&str>,
) -> Result<ed25519_dalek::VerifyingKey, ExitCode> {
    if let Some(b64) = public_key {
        return crate::public_key_from(b64).ok_or_else(|| {
            eprintln!("cityteller: --public-key is not an Ed25519 public key in base64");
            ExitCode::from(2)
        });
    }
    let config = crate::load_config(config)?;
    match crate::signing_key(Some(&config), None) {
        Ok(Some(k)) => Ok(k.verifying_key()),
        Ok(None) => {
            eprintln!(
                "cityteller: give --public-key (`cityteller keys public` on the server prints it): the key file has no audit_signing_key"
            );
            Err(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("cityteller: {e:#}; or give --public-key");
            Err(ExitCode::from(2))
        }
    }
}

pub async fn run(config: Option<&Path>, cmd: BackupCommand) -> Result<ExitCode> {
    match cmd {
        BackupCommand::Keygen { out } => keygen(&out),
        BackupCommand::Create { out } => {
            let config = match crate::load_config(config) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let Some(recipient) = config.backup.recipient.clone() else {
                eprintln!(
                    "cityteller: backup.recipient is not set in the configuration; make a key pair with `cityteller backup keygen --out FILE` (keep FILE offline) and put the line it prints in the config"
                );
                return Ok(ExitCode::from(2));
            };
            let dir = out.unwrap_or_else(|| config.backup.dir.clone());
            let app = App::from_config(config, Arc::new(SystemClock)).await?;
            let progress = bar(
                0,
                "{spinner} backing up [{bar:40}] {pos}/{len} rows ({eta})",
            );
            let started = std::time::Instant::now();
            let result = app::backup::create(&app, &dir, &recipient, &Actor::cli(), |n, total| {
                if let Some(b) = &progress {
                    b.set_length(total);
                    b.set_position(n);
                }
            })
            .await;
            if let Some(b) = &progress {
                b.finish_and_clear();
            }
            match result {
                Ok(c) => {
                    println!(
                        "backup written: {} ({} tables, {} rows, {} bytes) in {:.3} s",
                        c.path.display(),
                        c.manifest.parts.len(),
                        c.rows(),
                        c.bytes,
                        started.elapsed().as_secs_f64()
                    );
                    println!(
                        "encrypted to {}; audit chain head event {}; manifest signed by {}",
                        c.manifest.encryption.recipient,
                        c.manifest.audit_head.seq,
                        c.manifest.signed_by
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) if refused(&e).is_some() => Ok(report(&e)),
                Err(e) => Err(e.into()),
            }
        }
        BackupCommand::Prune {
            dir,
            daily,
            weekly,
            monthly,
            dry_run,
        } => {
            let config = match crate::load_config(config) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let dir = dir.unwrap_or_else(|| config.backup.dir.clone());
            let app = App::from_config(config, Arc::new(SystemClock)).await?;
            let policy = domain::backup_retention::Policy {
                daily,
                weekly,
                monthly,
            };
            match app::backup::prune(&app, &dir, policy, &Actor::cli(), dry_run).await {
                Ok(p) => {
                    let verb = if dry_run { "would remove" } else { "removed" };
                    for name in &p.removed {
                        println!("{verb} {name}");
                    }
                    println!(
                        "{}: kept {} backup(s), {verb} {}",
                        dir.display(),
                        p.kept.len(),
                        p.removed.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e @ BackupError::Io { .. }) => {
                    eprintln!("cityteller: {e}");
                    Ok(ExitCode::from(3))
                }
                Err(e) => Err(e.into()),
            }
        }
        BackupCommand::Verify {
            file,
            identity,
            public_key,
        } => {
            let key = match verifying_key(config, public_key.as_deref()) {
                Ok(k) => k,
                Err(code) => return Ok(code),
            };
            let identity = match identity.as_deref().map(read_identity).transpose() {
                Ok(i) => i,
                Err(code) => return Ok(code),
            };
            let progress = bar(0, "{spinner} verifying [{bar:40}] {bytes}/{total_bytes}");
            let result = tokio::task::block_in_place(|| {
                app::backup::verify(&file, &key, identity.as_ref(), |n, total| {
                    if let Some(b) = &progress {
                        b.set_length(total);
                        b.set_position(n);
                    }
                })
            });
            if let Some(b) = &progress {
                b.finish_and_clear();
            }
            match result {
                Ok(v) => {
                    let m = &v.manifest;
                    println!(
                        "backup OK: {} taken {} from {} (schema {}), {} tables, {} rows, {} bytes",
                        file.display(),
                        m.created_at,
                        m.source,
                        m.schema_version,
                        m.parts.len(),
                        m.parts.iter().map(|p| p.rows).sum::<u64>(),
                        v.bytes
                    );
                    println!(
                        "signature and SHA-256 of every part verified; audit chain head event {}",
                        m.audit_head.seq
                    );
                    if v.decrypted {
                        println!("decrypted with the identity: every row read");
                    } else {
                        println!(
                            "not decrypted (give --identity to check that too); encrypted to {}",
                            m.encryption.recipient
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(report(&e)),
            }
        }
    }
}

fn keygen(out: &Path) -> Result<ExitCode> {
    use std::io::Write;
    let id = Identity::generate();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = match opts.open(out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cityteller: cannot create {}: {e}", out.display());
            return Ok(ExitCode::from(
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    1
                } else {
                    3
                },
            ));
        }
    };
    f.write_all(id.file_text().as_bytes())?;
    f.sync_all()?;
    println!(
        "wrote the backup identity to {} (mode 0600). Move it OFF this server to offline storage, with a second copy elsewhere: without it no backup can be restored; with it anyone can read them.",
        out.display()
    );
    println!("Put this in the configuration, under [backup]:");
    println!("recipient = \"{}\"", id.recipient());
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(config: Option<&Path>, args: RestoreArgs) -> Result<ExitCode> {
    let into = if args.into.contains("://") || args.into.starts_with("sqlite:") {
        match DatabaseUrl::parse(&args.into) {
            Ok(u) => u,
            Err(e) => {
                eprintln!("cityteller: --into: {e}");
                return Ok(ExitCode::from(2));
            }
        }
    } else if args.into.trim().is_empty() {
        eprintln!("cityteller: --into needs a database URL or an SQLite file path");
        return Ok(ExitCode::from(2));
    } else {
        DatabaseUrl::Sqlite(PathBuf::from(&args.into))
    };
    let key = match verifying_key(config, args.public_key.as_deref()) {
        Ok(k) => k,
        Err(code) => return Ok(code),
    };
    let identity = match read_identity(&args.identity) {
        Ok(i) => i,
        Err(code) => return Ok(code),
    };
    let progress = bar(0, "{spinner} restoring [{bar:40}] {pos}/{len} rows ({eta})");
    let result = app::backup::restore(
        &args.file,
        &identity,
        &key,
        &into,
        &Actor::cli(),
        |n, total| {
            if let Some(b) = &progress {
                b.set_length(total);
                b.set_position(n);
            }
        },
    )
    .await;
    if let Some(b) = &progress {
        b.finish_and_clear();
    }
    match result {
        Ok(r) => {
            println!(
                "restored {} rows in {} tables from {} (taken {}) into {}",
                r.rows,
                r.manifest.parts.len(),
                args.file.display(),
                r.manifest.created_at,
                into.redacted()
            );
            println!(
                "row counts match the signed manifest; audit log OK: {} events, head event {} as the manifest says",
                r.audit_events, r.manifest.audit_head.seq
            );
            println!("restore took {:.3} s", r.took.as_secs_f64());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if refused(&e).is_some() => Ok(report(&e)),
        Err(BackupError::Io { file, source }) => {
            eprintln!("cityteller: cannot read {file}: {source}");
            Ok(ExitCode::from(3))
        }
        Err(e) => Err(e.into()),
    }
}
