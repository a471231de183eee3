//! Signed checkpoints of the audit chain, written outside the database.
//!
//! Every `audit.checkpoint_events` events or `audit.checkpoint_minutes`
//! minutes, the chain head (sequence number and hash) is signed with the
//! Ed25519 key from the key file and written as a small JSON file to
//! `audit.checkpoint_dir` (and to the log). Someone who rewrites the whole
//! database, re-hashing the chain, cannot produce matching signatures.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::store::{self, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckpointFile {
    pub version: u32,
    pub seq: i64,
    /// Hex SHA-256 chain hash after event `seq`.
    pub hash: String,
    /// Microseconds since the epoch (UTC).
    pub at_us: i64,
    pub at: String,
    /// First 8 bytes of the public key, hex: which key signed it.
    pub key_id: String,
    /// Ed25519 over [`message`], base64.
    pub signature: String,
}

pub fn message(seq: i64, hash: &str, at_us: i64) -> String {
    format!("cityteller-audit-checkpoint-v1\n{seq}\n{hash}\n{at_us}")
}

pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&key.to_bytes()[..8])
}

pub fn sign(key: &SigningKey, seq: i64, hash: &str, at_us: i64) -> CheckpointFile {
    let sig = key.sign(message(seq, hash, at_us).as_bytes());
    let at = jiff::Timestamp::from_microsecond(at_us)
        .map(|t| t.to_string())
        .unwrap_or_default();
    CheckpointFile {
        version: 1,
        seq,
        hash: hash.to_owned(),
        at_us,
        at,
        key_id: key_id(&key.verifying_key()),
        signature: STANDARD.encode(sig.to_bytes()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{file}: unreadable checkpoint: {reason}")]
    Malformed { file: String, reason: String },
    #[error("{file}: bad signature on the checkpoint at event {seq}")]
    BadSignature { file: String, seq: i64 },
    #[error("cannot write checkpoint {file}: {reason}")]
    Write { file: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CheckpointFile {
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let Ok(bytes) = STANDARD.decode(&self.signature) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&bytes) else {
            return false;
        };
        key.verify(message(self.seq, &self.hash, self.at_us).as_bytes(), &sig)
            .is_ok()
    }

    pub fn hash_bytes(&self) -> Option<[u8; 32]> {
        hex::decode(&self.hash).ok()?.try_into().ok()
    }
}

/// Every `checkpoint-*.json` in `dir`, checked against `key` when given.
pub fn load_dir(
    dir: &Path,
    key: Option<&VerifyingKey>,
) -> Result<Vec<(PathBuf, CheckpointFile)>, CheckpointError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => {
            return Err(CheckpointError::Malformed {
                file: dir.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !(name.starts_with("checkpoint-") && name.ends_with(".json")) {
            continue;
        }
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| CheckpointError::Malformed {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        let cp: CheckpointFile =
            serde_json::from_str(&text).map_err(|e| CheckpointError::Malformed {
                file: file.clone(),
                reason: e.to_string(),
            })?;
        if cp.hash_bytes().is_none() {
            return Err(CheckpointError::Malformed {
                file,
                reason: "hash is not 32 bytes of hex".into(),
            });
        }
        if let Some(k) = key
            && !cp.verify(k)
        {
            return Err(CheckpointError::BadSignature { file, seq: cp.seq });
        }
        out.push((path, cp));
    }
    out.sort_by_key(|(_, c)| c.seq);
    Ok(out)
}

fn write_file(dir: &Path, cp: &CheckpointFile) -> Result<PathBuf, CheckpointError> {
    let path = dir.join(format!("checkpoint-{:012}.json", cp.seq));
    let err = |reason: String| CheckpointError::Write {
        file: path.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    let tmp = dir.join(format!(".checkpoint-{:012}.tmp", cp.seq));
    let text = serde_json::to_string_pretty(cp).map_err(|e| err(e.to_string()))?;
    std::fs::write(&tmp, text).map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, &path).map_err(|e| err(e.to_string()))?;
    Ok(path)
}

/// Writes a checkpoint if one is due (or `force`); returns its sequence
/// number.
pub async fn maybe_write(app: &App, force: bool) -> Result<Option<i64>, CheckpointError> {
    let Some(key) = &app.keys.audit_signing else {
        return Ok(None);
    };
    let (seq, hash) = store::audit::chain_head(app.db.reader()).await?;
    if seq == 0 {
        return Ok(None);
    }
    let now = app.now_us();
    let due = match store::audit::last_checkpoint(app.db.reader()).await? {
        None => true,
        Some((last_seq, last_at)) => {
            seq > last_seq
                && (force
                    || seq - last_seq >= app.config.audit.checkpoint_events
                    || now - last_at >= app.config.audit.checkpoint_minutes * 60_000_000)
        }
    };
    if !due {
        return Ok(None);
    }
    let hash_hex = hex::encode(hash);
    let mut tx = app.db.begin().await?;
    if !store::audit::claim_checkpoint(&mut tx, seq, &hash_hex, now).await? {
        return Ok(None);
    }
    tx.commit().await.map_err(StoreError::from)?;
    let cp = sign(key, seq, &hash_hex, now);
    let path = write_file(&app.config.audit.checkpoint_dir, &cp)?;
    if app.config.audit.checkpoint_log {
        tracing::info!(
            checkpoint_seq = cp.seq,
            checkpoint_hash = %cp.hash,
            key_id = %cp.key_id,
            signature = %cp.signature,
            file = %path.display(),
            "audit checkpoint"
        );
    }
    Ok(Some(seq))
}
