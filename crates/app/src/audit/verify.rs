//! `cityteller audit verify`: walks the chain and the signed checkpoints
//! and says OK or names the first bad event and what was done to it.

use std::path::Path;

use domain::audit_chain::{Checkpoint, Tampering, Walker};
use ed25519_dalek::VerifyingKey;

use super::checkpoint::{CheckpointError, load_dir};
use crate::store::{self, Db, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub events: u64,
    pub last_seq: i64,
    pub checkpoints: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("audit log tampered with at event {}: {}", .0.first_bad_seq(), .0.describe())]
    Tampered(Tampering),
    #[error("audit log tampered with at event {}: events after {last} were removed (the chain head records event {head})", last + 1)]
    HeadAhead { last: i64, head: i64 },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VerifyError {
    pub fn first_bad_seq(&self) -> Option<i64> {
        match self {
            VerifyError::Tampered(t) => Some(t.first_bad_seq()),
            VerifyError::HeadAhead { last, .. } => Some(last + 1),
            _ => None,
        }
    }
}

/// Verifies the chain; with `key`, every checkpoint file's signature too
/// (a file that fails is reported, never skipped).
pub async fn verify<F: FnMut(u64)>(
    db: &Db,
    checkpoint_dir: &Path,
    key: Option<&VerifyingKey>,
    mut progress: F,
) -> Result<Report, VerifyError> {
    let files = load_dir(checkpoint_dir, key)?;
    let checkpoints: Vec<Checkpoint> = files
        .iter()
        .filter_map(|(_, c)| c.hash_bytes().map(|hash| Checkpoint { seq: c.seq, hash }))
        .collect();
    let n_checkpoints = checkpoints.len();
    let mut walker = Walker::new(checkpoints);
    let mut seen = 0u64;
    store::audit::walk(db, |e| {
        walker.push(e);
        seen += 1;
        if seen.is_multiple_of(65_536) {
            progress(seen);
        }
    })
    .await?;
    progress(seen);
    let (events, last_seq, _) = walker.finish().map_err(VerifyError::Tampered)?;
    let (head, _) = store::audit::chain_head(db.reader()).await?;
    if head > last_seq {
        return Err(VerifyError::HeadAhead {
            last: last_seq,
            head,
        });
    }
    Ok(Report {
        events,
        last_seq,
        checkpoints: n_checkpoints,
    })
}
