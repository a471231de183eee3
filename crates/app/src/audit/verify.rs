//! `cityteller audit verify`: walks the chain and the signed checkpoints
//! and says OK or names the first bad event and what was done to it.

use std::path::Path;

use domain::audit_chain::{
    ChainParts, Checkpoint, Link, Tampering, Walker, link_bytes, write_canonical,
};
use ed25519_dalek::VerifyingKey;

use super::checkpoint::{CheckpointError, load_dir};
use crate::store::{self, Db, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub events: u64,
    pub last_seq: i64,
    pub checkpoints: usize,
    /// Events up to this one were removed by retention; the chain was
    /// checked from the signed checkpoint there.
    pub pruned_through: Option<i64>,
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
    progress: F,
) -> Result<Report, VerifyError> {
    let files = load_dir(checkpoint_dir, key)?;
    let checkpoints: Vec<Checkpoint> = files
        .iter()
        .filter_map(|(_, c)| c.hash_bytes().map(|hash| Checkpoint { seq: c.seq, hash }))
        .collect();
    walk_chain(db, checkpoints, true, progress).await
}

/// Verifies the chain against checkpoints already read and checked (none
/// for a chain alone, as after a restore, whose signed manifest is the
/// checkpoint).
pub async fn verify_with<F: FnMut(u64)>(
    db: &Db,
    checkpoints: Vec<Checkpoint>,
    progress: F,
) -> Result<Report, VerifyError> {
    walk_chain(db, checkpoints, false, progress).await
}

/// With `require_signed`, a chain whose oldest events were removed by
/// retention must resume at one of `checkpoints`.
async fn walk_chain<F: FnMut(u64)>(
    db: &Db,
    checkpoints: Vec<Checkpoint>,
    require_signed: bool,
    mut progress: F,
) -> Result<Report, VerifyError> {
    let n_checkpoints = checkpoints.len();
    let pruned = store::audit::pruned(db.reader()).await?;
    let mut walker = match pruned {
        Some((seq, hash)) => {
            Walker::after_pruned(Checkpoint { seq, hash }, checkpoints, require_signed)
        }
        None => Walker::new(checkpoints),
    };
    // Everything up to the head as it is now; events written while this
    // runs are left for the next verification.
    let (head, _) = store::audit::chain_head(db.reader()).await?;
    match db.sqlite_path() {
        // SQLite: read the file directly, on one thread per core, each
        // reading and hashing its own ranges of the chain; the walk then
        // takes the ranges back in order. Unlike building the chain,
        // checking it does not have to be sequential: every row carries
        // the hash it follows.
        Some(path) => {
            let path = path.to_owned();
            let (ptx, mut prx) = tokio::sync::mpsc::unbounded_channel::<u64>();
            let walking = tokio::task::spawn_blocking(move || {
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
                parallel_walk(&path, head, CHUNK, threads, &mut walker, |n| {
                    let _ = ptx.send(n);
                })
                .map(|()| walker)
            });
            while let Some(seen) = prx.recv().await {
                progress(seen);
            }
            walker = walking
                .await
                .map_err(|e| StoreError::corrupt(e.to_string()))?
                .map_err(StoreError::corrupt)?;
        }
        None => {
            let mut seen = 0u64;
            store::audit::walk(db, head, |e| {
                walker.push(e);
                seen += 1;
                if seen.is_multiple_of(65_536) {
                    progress(seen);
                }
            })
            .await?;
            progress(seen);
        }
    }
    let (events, last_seq, _) = walker.finish().map_err(VerifyError::Tampered)?;
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
        pruned_through: pruned.map(|(seq, _)| seq),
    })
}

/// Sequence numbers per unit of work.
const CHUNK: i64 = 16_384;

type Chunk = Result<Vec<Link>, String>;

/// Reads and hashes `seq <= upto` with one thread per core, feeding the
/// links to `walker` in sequence order.
fn parallel_walk(
    path: &Path,
    upto: i64,
    chunk: i64,
    threads: usize,
    walker: &mut Walker,
    mut progress: impl FnMut(u64),
) -> Result<(), String> {
    let conn = open(path)?;
    let first: Option<i64> = conn
        .query_row("SELECT MIN(seq) FROM audit_events", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    drop(conn);
    let Some(first) = first.filter(|&f| f <= upto) else {
        return Ok(());
    };
    let chunk = chunk.max(1);
    let chunks = (upto - first) / chunk + 1;
    let threads = i64::try_from(threads.max(1)).unwrap_or(1);
    std::thread::scope(|scope| {
        let receivers: Vec<_> = (0..threads)
            .map(|t| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(2);
                scope.spawn(move || {
                    let run = || -> Result<(), String> {
                        let conn = open(path)?;
                        let mut stmt = conn
                            .prepare(
                                "SELECT seq, at, actor, action, target, outcome, source_ip, details, prev_hash, hash
                                 FROM audit_events WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq",
                            )
                            .map_err(|e| e.to_string())?;
                        let mut buf = Vec::with_capacity(512);
                        let mut c = t;
                        while c < chunks {
                            let lo = first + c * chunk;
                            let hi = (lo + chunk - 1).min(upto);
                            let links = read_range(&mut stmt, lo, hi, &mut buf)?;
                            if tx.send(Ok(links)).is_err() {
                                return Ok(());
                            }
                            c += threads;
                        }
                        Ok(())
                    };
                    if let Err(e) = run() {
                        let _ = tx.send(Err(e));
                    }
                });
                rx
            })
            .collect();
        let mut seen = 0u64;
        for c in 0..chunks {
            let Some(rx) = usize::try_from(c % threads)
                .ok()
                .and_then(|i| receivers.get(i))
            else {
                return Err("internal: no reader for a range".to_owned());
            };
            let links = rx
                .recv()
                .map_err(|_| "a reading thread stopped early".to_owned())??;
            seen += links.len() as u64;
            for l in links {
                walker.push_link(l);
            }
            progress(seen);
        }
        Ok(())
    })
}

fn open(path: &Path) -> Result<rusqlite::Connection, String> {
    use rusqlite::OpenFlags;
    rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())
}

/// Reads `lo..=hi` and recomputes each row's link.
fn read_range(
    stmt: &mut rusqlite::Statement<'_>,
    lo: i64,
    hi: i64,
    buf: &mut Vec<u8>,
) -> Result<Vec<Link>, String> {
    let mut links = Vec::with_capacity(usize::try_from(hi - lo + 1).unwrap_or(0));
    let mut rows = stmt.query([lo, hi]).map_err(|e| e.to_string())?;
    while let Some(r) = rows.next().map_err(|e| e.to_string())? {
        let seq: i64 = r.get(0).map_err(|e| e.to_string())?;
        let at: i64 = r.get(1).map_err(|e| e.to_string())?;
        let get = |i: usize| text_of(r, i);
        let (Some(actor), Some(action), Some(outcome), Some(details)) =
            (get(2), get(3), get(5), get(7))
        else {
            // The schema forbids NULL and non-text here.
            return Err(format!("audit event {seq} has a missing or non-text field"));
        };
        buf.clear();
        write_canonical(
            buf,
            &ChainParts {
                at,
                actor,
                action,
                target: get(4),
                outcome,
                source_ip: get(6),
                details,
            },
        );
        let prev_hash = hash_of(r.get_ref(8));
        links.push(Link {
            seq,
            prev_hash,
            hash: hash_of(r.get_ref(9)),
            computed: link_bytes(&prev_hash, buf),
        });
    }
    Ok(links)
}

/// Lower-case hex digit values; 0xff for anything else.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decodes 64 hex digits (as the application writes them). Anything else
/// decodes to all zeros, which cannot match a computed hash, so the walk
/// reports the row as edited.
fn decode_hash(hex: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (HEX[pair[0] as usize], HEX[pair[1] as usize]);
        bad |= (hi | lo) & 0xf0;
        *o = (hi << 4) | (lo & 0x0f);
    }
    if bad != 0 || hex.len() != 64 {
        [0; 32]
    } else {
        out
    }
}

/// A stored hash; a missing or malformed one reads as all zeros.
fn hash_of(v: Result<rusqlite::types::ValueRef<'_>, rusqlite::Error>) -> [u8; 32] {
    match v {
        Ok(rusqlite::types::ValueRef::Text(t)) => decode_hash(t),
        _ => [0; 32],
    }
}

/// A column as stored text, without re-checking it is UTF-8 (the bytes are
/// hashed as they are; text the application wrote is always UTF-8).
fn text_of<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> Option<&'a [u8]> {
    match r.get_ref(i) {
        Ok(rusqlite::types::ValueRef::Text(t)) => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{decode_hash, parallel_walk};
    use domain::audit_chain::{ChainEvent, StoredEvent, Walker, link};
    use proptest::prelude::*;

    /// A chain of `n` events in a bare `audit_events` table.
    fn chain(n: i64) -> (tempfile::TempDir, Vec<StoredEvent>) {
        let dir = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("a.db")).unwrap();
        conn.execute_batch(
            "CREATE TABLE audit_events (seq INTEGER PRIMARY KEY, at BIGINT NOT NULL,
             actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT, outcome TEXT NOT NULL,
             source_ip TEXT, details TEXT NOT NULL, prev_hash TEXT, hash TEXT)",
        )
        .unwrap();
        let mut prev = [0u8; 32];
        let mut events = Vec::new();
        for seq in 1..=n {
            let event = ChainEvent {
                at: 1_000 + seq,
                actor: format!("staff:{}", seq % 5),
                action: "payment.refunded".into(),
                target: (seq % 3 != 0).then(|| format!("payment:{seq}")),
                outcome: "success".into(),
                source_ip: (seq % 4 != 0).then(|| "192.0.2.7".into()),
                details: format!("{{\"n\":{seq}}}"),
            };
            let hash = link(&prev, &event);
            conn.execute(
                "INSERT INTO audit_events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                rusqlite::params![
                    seq,
                    event.at,
                    event.actor,
                    event.action,
                    event.target,
                    event.outcome,
                    event.source_ip,
                    event.details,
                    hex::encode(prev),
                    hex::encode(hash)
                ],
            )
            .unwrap();
            events.push(StoredEvent {
                seq,
                prev_hash: prev,
                hash,
                event,
            });
            prev = hash;
        }
        (dir, events)
    }

    /// The parallel reader must reach exactly the verdict of feeding the
    /// same rows one by one, whatever the chunking and thread count.
    #[test]
    fn parallel_walk_agrees_with_the_sequential_walk() {
        let n = 200;
        let (dir, events) = chain(n);
        let path = dir.path().join("a.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        let sequential = |events: &[StoredEvent]| {
            let mut w = Walker::new(vec![]);
            for e in events {
                w.push(e.clone());
            }
            w.finish()
        };
        let parallel = |chunk: i64, threads: usize| {
            let mut w = Walker::new(vec![]);
            let mut last = 0;
            parallel_walk(&path, n, chunk, threads, &mut w, |s| last = s).unwrap();
            (w.finish(), last)
        };
        let mut events = events;
        // Intact; a deleted row; a whole chunk deleted; an edited row; two
        // rows swapped.
        type Tamper = Box<dyn Fn(&mut Vec<StoredEvent>)>;
        let steps: Vec<(&str, Tamper)> = vec![
            ("", Box::new(|_| {})),
            (
                "DELETE FROM audit_events WHERE seq = 150",
                Box::new(|e| e.retain(|x| x.seq != 150)),
            ),
            (
                "DELETE FROM audit_events WHERE seq BETWEEN 14 AND 20",
                Box::new(|e| e.retain(|x| !(14..=20).contains(&x.seq))),
            ),
            (
                "UPDATE audit_events SET details = 'x' WHERE seq = 9",
                Box::new(|e| {
                    if let Some(x) = e.iter_mut().find(|x| x.seq == 9) {
                        x.event.details = "x".into();
                    }
                }),
            ),
        ];
        for (sql, apply) in steps {
            if !sql.is_empty() {
                conn.execute(sql, []).unwrap();
            }
            apply(&mut events);
            let expect = sequential(&events);
            for (chunk, threads) in [(7, 3), (1, 2), (16_384, 2), (50, 1), (13, 8)] {
                let (got, seen) = parallel(chunk, threads);
                assert_eq!(
                    got, expect,
                    "{sql:?} with chunks of {chunk} on {threads} threads"
                );
                assert_eq!(seen, events.len() as u64);
            }
        }
        // The first step really was intact and the later ones were caught.
        assert!(sequential(&events).is_err());
    }

    #[test]
    fn an_empty_table_walks_to_nothing() {
        let (dir, _) = chain(0);
        let mut w = Walker::new(vec![]);
        parallel_walk(&dir.path().join("a.db"), 0, 7, 2, &mut w, |_| {}).unwrap();
        assert_eq!(w.finish().map(|(n, _, _)| n), Ok(0));
    }

    proptest! {
        #[test]
        fn decodes_what_hex_encodes(bytes in any::<[u8; 32]>()) {
            prop_assert_eq!(decode_hash(hex::encode(bytes).as_bytes()), bytes);
        }

        #[test]
        fn anything_but_lower_hex_decodes_to_zeros(s in "[0-9a-zA-Z-]{64}") {
            let expect = match hex::decode(&s) {
                Ok(b) if s.bytes().all(|c| !c.is_ascii_uppercase()) => b,
                _ => vec![0; 32],
            };
            prop_assert_eq!(decode_hash(s.as_bytes()).to_vec(), expect);
        }
    }

    #[test]
    fn wrong_length_decodes_to_zeros() {
        assert_eq!(decode_hash(b"ab"), [0; 32]);
        assert_eq!(decode_hash(&[b'a'; 66]), [0; 32]);
    }
}
