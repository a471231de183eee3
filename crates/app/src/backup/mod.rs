//! Backups that ransomware cannot hold hostage: a consistent snapshot of
//! every table, taken while the server serves, compressed, encrypted to a
//! public key whose private half lives offline, with a manifest signed by
//! the server's audit key. `verify` checks one with the public keys only;
//! `restore` loads one into an empty database and proves the result.
//!
//! The format is our own (see [`file`]), so a backup of SQLite restores
//! into PostgreSQL and the other way round.

pub mod crypt;
pub mod file;
mod restore;
pub mod schedule;
pub mod tables;

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::TryStreamExt;
use serde_json::json;
use sqlx::Row;

pub use crypt::{Identity, Recipient};
pub use file::{BackupFile, Manifest};
pub use restore::{Restored, restore};

use crate::app::App;
use crate::audit::{self, Actor, Event, Outcome};
use crate::store::{Backend, StoreError};
use file::{AuditHead, Cell, ColumnKind, Encryption, Writer};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{0} is not a cityteller backup")]
    NotABackup(String),
    #[error("{file} is damaged: {reason}")]
    Malformed { file: String, reason: String },
    #[error(
        "{0}: the manifest's signature does not verify: the manifest was altered after it was signed"
    )]
    BadSignature(String),
    #[error(
        "{file}: the manifest was not signed by the expected key (expected {expected}, the manifest names {found}): it comes from another server, or was forged"
    )]
    WrongSigner {
        file: String,
        expected: String,
        found: String,
    },
    #[error(
        "{file}: part {part} does not match the SHA-256 in the signed manifest: the file was altered or damaged"
    )]
    PartDamaged { file: String, part: String },
    #[error(
        "{file}: this backup is encrypted to {recipient}; the identity given is for {identity}"
    )]
    WrongIdentity {
        file: String,
        recipient: String,
        identity: String,
    },
    #[error("{file}: part {part} does not decrypt: the file was altered or damaged")]
    Decrypt { file: String, part: String },
    #[error("{0}")]
    Crypto(String),
    #[error(
        "the key file has no audit_signing_key, which signs backups; add one (see `cityteller keys init`)"
    )]
    NoSigningKey,
    #[error(
        "the database has a table this program cannot back up: {0} (a newer schema? upgrade cityteller)"
    )]
    UnknownTable(String),
    #[error("refusing to restore into {target}: {why}; restore only into an empty database")]
    NotEmpty { target: String, why: String },
    #[error(
        "the backup has schema version {backup}, newer than this program knows ({known}); restore it with a newer cityteller"
    )]
    SchemaTooNew { backup: i64, known: i64 },
    #[error("after the restore {what}")]
    Mismatch { what: String },
    #[error("after the restore the audit log does not verify: {0}")]
    Audit(#[from] crate::audit::verify::VerifyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Store(StoreError::from(e))
    }
}

/// What a finished backup holds.
#[derive(Debug)]
pub struct Created {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub bytes: u64,
}

impl Created {
    pub fn rows(&self) -> u64 {
        self.manifest.parts.iter().map(|p| p.rows).sum()
    }
}

/// The file name a backup taken at `at` gets.
pub fn file_name(at: jiff::Timestamp) -> String {
    format!("cityteller-backup-{}.ctb", at.strftime("%Y%m%dT%H%M%SZ"))
}

/// Takes a backup into `out_dir`. `progress(rows done, rows in all)`.
pub async fn create<F: FnMut(u64, u64)>(
    app: &App,
    out_dir: &Path,
    recipient: &Recipient,
    actor: &Actor,
    progress: F,
) -> Result<Created, BackupError> {
    let result = create_file(app, out_dir, recipient, progress).await;
    let (outcome, details, target) = match &result {
        Ok(c) => (
            Outcome::Success,
            json!({
                "tables": c.manifest.parts.len(),
                "rows": c.rows(),
                "bytes": c.bytes,
                "audit_head_seq": c.manifest.audit_head.seq,
                "recipient": c.manifest.encryption.recipient,
            }),
            c.path.file_name().map(|n| n.to_string_lossy().into_owned()),
        ),
        Err(e) => (Outcome::Failure, json!({ "error": failure_kind(e) }), None),
    };
    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor,
            action: "backup.create",
            target: target.map(|t| format!("backup:{t}")),
            outcome,
            source_ip: None,
            details,
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    result
}

/// A short, data-free name for an error, for the audit log.
fn failure_kind(e: &BackupError) -> &'static str {
    match e {
        BackupError::Io { .. } => "io",
        BackupError::NoSigningKey => "no_signing_key",
        BackupError::UnknownTable(_) => "unknown_table",
        BackupError::Store(_) => "database",
        _ => "other",
    }
}

async fn create_file<F: FnMut(u64, u64)>(
    app: &App,
    out_dir: &Path,
    recipient: &Recipient,
    mut progress: F,
) -> Result<Created, BackupError> {
    let key = app
        .keys
        .audit_signing
        .as_ref()
        .ok_or(BackupError::NoSigningKey)?;
    let db = &app.db;
    let backend = db.backend();
    std::fs::create_dir_all(out_dir).map_err(|source| BackupError::Io {
        file: out_dir.display().to_string(),
        source,
    })?;
    // One read transaction sees one moment of the database while the
    // server goes on writing: SQLite's WAL keeps the snapshot the first
    // read takes; PostgreSQL's REPEATABLE READ does the same.
    let mut tx = match backend {
        Backend::Sqlite => db.reader().begin().await?,
        Backend::Postgres => {
            db.reader()
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?
        }
    };
    let schema_version: i64 = sqlx::query("SELECT MAX(version) AS v FROM schema_migrations")
        .fetch_one(&mut *tx)
        .await?
        .try_get::<Option<i64>, _>("v")?
        .unwrap_or(0);
    let present = tables::catalog_tables(&mut tx, backend).await?;
    if let Some(unknown) = present
        .iter()
        .find(|t| *t != tables::MIGRATION_TABLE && tables::order_by(t).is_none())
    {
        return Err(BackupError::UnknownTable(unknown.clone()));
    }
    let (head_seq, head_hash) = crate::store::audit::chain_head(&mut *tx).await?;
    let mut counts = Vec::with_capacity(tables::TABLES.len());
    for (t, _) in tables::TABLES {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {}", tables::quote(t)))
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        counts.push(u64::try_from(n).unwrap_or(0));
    }
    let total: u64 = counts.iter().sum();
    progress(0, total);

    let now = app.now();
    let path = out_dir.join(file_name(now));
    let (keyring, ephemeral) =
        crypt::Keyring::for_recipient(recipient).map_err(BackupError::Crypto)?;
    let mut writer = Writer::create(path, keyring)?;
    let mut done = 0u64;
    let written = async {
        for (table, order) in tables::TABLES {
            let columns = tables::columns(&mut tx, backend, table).await?;
            let list = columns
                .iter()
                .map(|c| tables::quote(&c.name))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT {list} FROM {} ORDER BY {order}",
                tables::quote(table)
            );
            let mut part = writer.start_part(table, columns.clone())?;
            let mut rows = sqlx::query(&sql).fetch(&mut *tx);
            let mut cells = Vec::with_capacity(columns.len());
            while let Some(row) = rows.try_next().await? {
                cells.clear();
                for (i, c) in columns.iter().enumerate() {
                    let cell = match c.kind {
                        ColumnKind::Integer => row
                            .try_get::<Option<i64>, _>(i)?
                            .map_or(Cell::Null, Cell::Int),
                        ColumnKind::Text => row
                            .try_get::<Option<String>, _>(i)?
                            .map_or(Cell::Null, Cell::Text),
                    };
                    cells.push(cell);
                }
                if writer.push_row(&mut part, &cells)? {
                    off_runtime(|| writer.write_chunk(&mut part, false))?;
                }
                done += 1;
                if done.is_multiple_of(4096) {
                    progress(done, total);
                }
            }
            drop(rows);
            off_runtime(|| writer.finish_part(part))?;
        }
        Ok::<(), BackupError>(())
    }
    .await;
    let _ = tx.rollback().await;
    if let Err(e) = written {
        writer.abandon();
        return Err(e);
    }
    progress(done, total);
    let manifest = Manifest {
        format: file::FORMAT.into(),
        format_version: file::FORMAT_VERSION,
        created_at: now,
        cityteller_version: env!("CARGO_PKG_VERSION").into(),
        source: match backend {
            Backend::Sqlite => "sqlite".into(),
            Backend::Postgres => "postgres".into(),
        },
        schema_version,
        audit_head: AuditHead {
            seq: head_seq,
            hash: hex::encode(head_hash),
        },
        encryption: Encryption {
            scheme: file::SCHEME.into(),
            recipient: recipient.to_string(),
            ephemeral: STANDARD.encode(ephemeral),
        },
        compression: file::COMPRESSION.into(),
        signed_by: STANDARD.encode(key.verifying_key().as_bytes()),
        parts: Vec::new(),
    };
    let (path, manifest) = off_runtime(|| writer.finish(manifest, key))?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(Created {
        path,
        manifest,
        bytes,
    })
}

/// Runs CPU- and disk-bound work (compressing, sealing, writing a chunk)
/// without holding up the other tasks of a multi-threaded runtime: inside
/// `serve` a backup must not stall the web listeners.
fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// What `verify` found.
#[derive(Debug)]
pub struct Verified {
    pub manifest: Manifest,
    pub bytes: u64,
    /// Every part decrypted and every row read (with an identity).
    pub decrypted: bool,
}

/// Checks a backup: structure, the manifest's signature with `key`, and
/// every part's SHA-256; with `identity`, also decrypts every part and
/// reads every row. `progress(bytes done, bytes in all)`.
pub fn verify<F: FnMut(u64, u64)>(
    path: &Path,
    key: &ed25519_dalek::VerifyingKey,
    identity: Option<&Identity>,
    mut progress: F,
) -> Result<Verified, BackupError> {
    let backup = BackupFile::open(path, key)?;
    let total = backup.size;
    backup.check_parts(|n| progress(n, total))?;
    let decrypted = match identity {
        None => false,
        Some(id) => {
            let keyring = keyring_for(&backup, id)?;
            for part in &backup.manifest.parts {
                let mut reader = backup.read_part(part, &keyring)?;
                while reader.next_rows()?.is_some() {}
            }
            true
        }
    };
    Ok(Verified {
        bytes: backup.size,
        manifest: backup.manifest,
        decrypted,
    })
}

/// The part keys, once the identity is known to be the backup's recipient.
fn keyring_for(backup: &BackupFile, id: &Identity) -> Result<crypt::Keyring, BackupError> {
    let mine = id.recipient().to_string();
    if mine != backup.manifest.encryption.recipient {
        return Err(BackupError::WrongIdentity {
            file: backup.path.display().to_string(),
            recipient: backup.manifest.encryption.recipient.clone(),
            identity: mine,
        });
    }
    let eph = STANDARD
        .decode(&backup.manifest.encryption.ephemeral)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| BackupError::Malformed {
            file: backup.path.display().to_string(),
            reason: "the manifest's ephemeral key is not 32 bytes in base64".into(),
        })?;
    crypt::Keyring::for_identity(id, &eph).map_err(BackupError::Crypto)
}

/// When a backup named by [`file_name`] was taken; `None` for any other
/// name.
pub fn parse_file_name(name: &str) -> Option<jiff::Timestamp> {
    let stamp = name
        .strip_prefix("cityteller-backup-")?
        .strip_suffix("Z.ctb")?;
    jiff::Timestamp::strptime("%Y%m%dT%H%M%S%z", format!("{stamp}+0000")).ok()
}

/// What `prune` keeps and removes, oldest first.
#[derive(Debug, Default)]
pub struct Pruned {
    pub kept: Vec<String>,
    pub removed: Vec<String>,
}

/// Applies the retention policy to the backups in `dir` (files named as
/// [`file_name`] names them; anything else is left alone). With `dry_run`
/// nothing is removed and nothing is recorded.
pub async fn prune(
    app: &App,
    dir: &Path,
    policy: domain::backup_retention::Policy,
    actor: &Actor,
    dry_run: bool,
) -> Result<Pruned, BackupError> {
    let io = |source| BackupError::Io {
        file: dir.display().to_string(),
        source,
    };
    let mut found: Vec<(jiff::Timestamp, String)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(at) = parse_file_name(&name) {
            found.push((at, name));
        }
    }
    found.sort();
    let times: Vec<jiff::Timestamp> = found.iter().map(|(t, _)| *t).collect();
    let keep = domain::backup_retention::keep(&times, policy);
    let mut out = Pruned::default();
    for (i, (_, name)) in found.into_iter().enumerate() {
        if keep.contains(&i) {
            out.kept.push(name);
        } else {
            out.removed.push(name);
        }
    }
    if dry_run {
        return Ok(out);
    }
    let mut failed = None;
    let mut removed = Vec::with_capacity(out.removed.len());
    for name in &out.removed {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(name.clone()),
            Err(source) => {
                failed = Some(BackupError::Io {
                    file: path.display().to_string(),
                    source,
                });
                break;
            }
        }
    }
    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        app.now(),
        Event {
            actor,
            action: "backup.prune",
            target: None,
            outcome: if failed.is_some() {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            source_ip: None,
            details: json!({
                "daily": policy.daily,
                "weekly": policy.weekly,
                "monthly": policy.monthly,
                "kept": out.kept.len(),
                "removed": removed,
            }),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_their_time() {
        let at: jiff::Timestamp = "2026-11-28T05:13:01.5Z".parse().unwrap();
        let name = file_name(at);
        assert_eq!(name, "cityteller-backup-20261128T051301Z.ctb");
        assert_eq!(
            parse_file_name(&name).unwrap(),
            "2026-11-28T05:13:01Z".parse::<jiff::Timestamp>().unwrap()
        );
        for other in [
            "cityteller-backup-20261128T051301Z.ctb.partial",
            "cityteller-backup-2026.ctb",
            "notes.txt",
        ] {
            assert!(parse_file_name(other).is_none(), "{other}");
        }
    }
}
