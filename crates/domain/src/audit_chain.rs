//! The audit log's hash chain: `h_n = SHA-256(h_{n-1} ‖ canonical(event_n))`,
//! and the walk that finds the first place where the stored log and its
//! chain (and the signed checkpoints) disagree, naming what happened there.
//!
//! Canonical encoding, version 1: the byte `0x01`, then each field with an
//! 8-byte big-endian length (or, for integers, the 8-byte value):
//! `at`, `actor`, `action`, `target` (a presence byte, then the text),
//! `outcome`, `source_ip` (likewise), `details`. The sequence number is
//! not hashed: an event's place is fixed by the link to its predecessor,
//! which is what lets a moved event be told from an edited one.

use sha2::{Digest, Sha256};

pub const VERSION: u8 = 1;
pub const GENESIS: [u8; 32] = [0; 32];

/// The fields of an event that the chain covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEvent {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub source_ip: Option<String>,
    pub details: String,
}

fn put_text(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s);
}

fn put_opt(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => {
            out.push(1);
            put_text(out, s);
        }
        None => out.push(0),
    }
}

/// The same fields, borrowed as the bytes stored (for verifying without
/// copying or re-validating text).
#[derive(Debug, Clone, Copy)]
pub struct ChainParts<'a> {
    pub at: i64,
    pub actor: &'a [u8],
    pub action: &'a [u8],
    pub target: Option<&'a [u8]>,
    pub outcome: &'a [u8],
    pub source_ip: Option<&'a [u8]>,
    pub details: &'a [u8],
}

impl ChainEvent {
    pub fn parts(&self) -> ChainParts<'_> {
        ChainParts {
            at: self.at,
            actor: self.actor.as_bytes(),
            action: self.action.as_bytes(),
            target: self.target.as_deref().map(str::as_bytes),
            outcome: self.outcome.as_bytes(),
            source_ip: self.source_ip.as_deref().map(str::as_bytes),
            details: self.details.as_bytes(),
        }
    }
}

/// Appends the canonical encoding of `e` to `out`.
pub fn write_canonical(out: &mut Vec<u8>, e: &ChainParts<'_>) {
    out.push(VERSION);
    out.extend_from_slice(&e.at.to_be_bytes());
    put_text(out, e.actor);
    put_text(out, e.action);
    put_opt(out, e.target);
    put_text(out, e.outcome);
    put_opt(out, e.source_ip);
    put_text(out, e.details);
}

pub fn canonical(e: &ChainEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + e.actor.len() + e.action.len() + e.details.len());
    write_canonical(&mut out, &e.parts());
    out
}

/// The hash of canonical bytes following `prev`.
pub fn link_bytes(prev: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical);
    h.finalize().into()
}

/// The hash of `e` following `prev`.
pub fn link(prev: &[u8; 32], e: &ChainEvent) -> [u8; 32] {
    link_bytes(prev, &canonical(e))
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
    pub event: ChainEvent,
}

/// A signed statement of where the chain stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tampering {
    /// Events are missing from the sequence.
    Deleted {
        first_missing: i64,
        last_missing: i64,
    },
    /// The event's content no longer matches its own hash.
    Edited { seq: i64 },
    /// The event belongs after the next one: they were swapped.
    Reordered { seq: i64 },
    /// The event before this one is not part of the original chain.
    Inserted { seq: i64 },
    /// The link to the previous event is broken and the cause cannot be
    /// told apart (deleted and renumbered, or inserted).
    BrokenLink { seq: i64 },
    /// The chain is internally consistent but disagrees with a signed
    /// checkpoint: it was rewritten (edited, then re-hashed) at or before
    /// `checkpoint_seq`, after `since_seq`.
    Rewritten { since_seq: i64, checkpoint_seq: i64 },
    /// Events after `last_seq` were removed; a checkpoint had been signed
    /// at `checkpoint_seq`.
    Truncated { last_seq: i64, checkpoint_seq: i64 },
    /// Events up to `seq` were pruned by retention, but the record of where
    /// the chain resumes matches no signed checkpoint: events were removed
    /// or rewritten under cover of retention.
    UnsignedPrune { seq: i64 },
}

impl Tampering {
    /// The first sequence number known to be bad.
    pub fn first_bad_seq(&self) -> i64 {
        match *self {
            Tampering::Deleted { first_missing, .. } => first_missing,
            Tampering::Edited { seq }
            | Tampering::Reordered { seq }
            | Tampering::Inserted { seq }
            | Tampering::BrokenLink { seq } => seq,
            Tampering::Rewritten { since_seq, .. } => since_seq + 1,
            Tampering::Truncated { last_seq, .. } => last_seq + 1,
            Tampering::UnsignedPrune { seq } => seq,
        }
    }

    pub fn describe(&self) -> String {
        match *self {
            Tampering::Deleted {
                first_missing,
                last_missing,
            } if first_missing == last_missing => {
                format!("event {first_missing} was deleted")
            }
            Tampering::Deleted {
                first_missing,
                last_missing,
            } => {
                format!("events {first_missing} to {last_missing} were deleted")
            }
            Tampering::Edited { seq } => {
                format!("event {seq} was edited (its content does not match its hash)")
            }
            Tampering::Reordered { seq } => format!(
                "event {seq} was reordered (it belongs after event {})",
                seq + 1
            ),
            Tampering::Inserted { seq } => format!("an event was inserted before event {seq}"),
            Tampering::BrokenLink { seq } => {
                format!(
                    "the chain is broken before event {seq} (events deleted and renumbered, or inserted)"
                )
            }
            Tampering::Rewritten {
                since_seq,
                checkpoint_seq,
            } => format!(
                "the log was rewritten: events {} to {checkpoint_seq} differ from the signed checkpoint at {checkpoint_seq}",
                since_seq + 1
            ),
            Tampering::Truncated {
                last_seq,
                checkpoint_seq,
            } => format!(
                "events after {last_seq} were removed (a checkpoint was signed at event {checkpoint_seq})"
            ),
            Tampering::UnsignedPrune { seq } => format!(
                "events up to {seq} are recorded as removed by retention, but no signed checkpoint at event {seq} carries the hash the chain resumes from"
            ),
        }
    }
}

/// What the walk needs of a stored event: its place, its stored links,
/// and the hash recomputed from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub seq: i64,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
    /// `link(prev_hash, event)`, recomputed.
    pub computed: [u8; 32],
}

/// Walks stored events in sequence order with one event of look-ahead.
/// Feed every event with [`Walker::push`] (or, with the hash already
/// recomputed, [`Walker::push_link`]), then call [`Walker::finish`].
pub struct Walker {
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    last_good_checkpoint: i64,
    pending: Option<Link>,
    running: [u8; 32],
    before_running: [u8; 32],
    last_seq: i64,
    count: u64,
    problem: Option<Tampering>,
}

impl Walker {
    /// `checkpoints` need not be sorted.
    pub fn new(mut checkpoints: Vec<Checkpoint>) -> Walker {
        checkpoints.sort_by_key(|c| c.seq);
        Walker {
            checkpoints,
            next_checkpoint: 0,
            last_good_checkpoint: 0,
            pending: None,
            running: GENESIS,
            before_running: GENESIS,
            last_seq: 0,
            count: 0,
            problem: None,
        }
    }

    /// Walks a chain whose events up to `pruned.seq` were removed by
    /// retention: it resumes from `pruned.hash`. When `require_signed`,
    /// one of `checkpoints` (signed) must be at that event with that hash;
    /// otherwise (a restore, whose signed manifest vouches for the rows)
    /// the record is taken as it is. Checkpoints before it are history.
    pub fn after_pruned(
        pruned: Checkpoint,
        checkpoints: Vec<Checkpoint>,
        require_signed: bool,
    ) -> Walker {
        let signed = checkpoints.contains(&pruned);
        let mut w = Walker::new(
            checkpoints
                .into_iter()
                .filter(|c| c.seq > pruned.seq)
                .collect(),
        );
        w.running = pruned.hash;
        w.before_running = pruned.hash;
        w.last_seq = pruned.seq;
        w.last_good_checkpoint = pruned.seq;
        if require_signed && !signed {
            w.problem = Some(Tampering::UnsignedPrune { seq: pruned.seq });
        }
        w
    }

    pub fn problem(&self) -> Option<&Tampering> {
        self.problem.as_ref()
    }

    pub fn push(&mut self, e: StoredEvent) {
        let computed = link(&e.prev_hash, &e.event);
        self.push_link(Link {
            seq: e.seq,
            prev_hash: e.prev_hash,
            hash: e.hash,
            computed,
        });
    }

    pub fn push_link(&mut self, e: Link) {
        if self.problem.is_some() {
            return;
        }
        if let Some(prev) = self.pending.take() {
            self.check(prev, Some(&e));
        }
        self.pending = Some(e);
    }

    fn check(&mut self, e: Link, next: Option<&Link>) {
        if self.problem.is_some() {
            return;
        }
        self.count += 1;
        if e.seq != self.last_seq + 1 {
            self.problem = Some(if e.seq > self.last_seq + 1 {
                Tampering::Deleted {
                    first_missing: self.last_seq + 1,
                    last_missing: e.seq - 1,
                }
            } else {
                Tampering::Reordered { seq: e.seq }
            });
            return;
        }
        if e.computed != e.hash {
            self.problem = Some(Tampering::Edited { seq: e.seq });
            return;
        }
        if e.prev_hash != self.running {
            self.problem = Some(if next.is_some_and(|n| n.hash == e.prev_hash) {
                Tampering::Reordered { seq: e.seq }
            } else if e.prev_hash == self.before_running && self.last_seq > 0 {
                Tampering::Inserted { seq: e.seq }
            } else {
                Tampering::BrokenLink { seq: e.seq }
            });
            return;
        }
        self.before_running = self.running;
        self.running = e.hash;
        self.last_seq = e.seq;
        while let Some(cp) = self.checkpoints.get(self.next_checkpoint) {
            if cp.seq > e.seq {
                break;
            }
            if cp.seq == e.seq && cp.hash != self.running {
                self.problem = Some(Tampering::Rewritten {
                    since_seq: self.last_good_checkpoint,
                    checkpoint_seq: cp.seq,
                });
                return;
            }
            if cp.seq == e.seq {
                self.last_good_checkpoint = cp.seq;
            }
            self.next_checkpoint += 1;
        }
    }

    /// The result: events checked and the last sequence number, or the
    /// first problem.
    pub fn finish(mut self) -> Result<(u64, i64, [u8; 32]), Tampering> {
        if let Some(last) = self.pending.take() {
            self.check(last, None);
        }
        if let Some(p) = self.problem {
            return Err(p);
        }
        if let Some(cp) = self
            .checkpoints
            .iter()
            .rev()
            .find(|c| c.seq > self.last_seq)
        {
            return Err(Tampering::Truncated {
                last_seq: self.last_seq,
                checkpoint_seq: cp.seq,
            });
        }
        Ok((self.count, self.last_seq, self.running))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: i64) -> ChainEvent {
        ChainEvent {
            at: 1_000 + i,
            actor: "system:test".into(),
            action: format!("thing.{i}"),
            target: (i % 2 == 0).then(|| format!("payment:{i}")),
            outcome: "success".into(),
            source_ip: None,
            details: "{}".into(),
        }
    }

    fn chain(n: i64) -> Vec<StoredEvent> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|i| {
                let e = ev(i);
                let hash = link(&prev, &e);
                let s = StoredEvent {
                    seq: i,
                    prev_hash: prev,
                    hash,
                    event: e,
                };
                prev = hash;
                s
            })
            .collect()
    }

    fn walk(
        events: Vec<StoredEvent>,
        cps: Vec<Checkpoint>,
    ) -> Result<(u64, i64, [u8; 32]), Tampering> {
        let mut w = Walker::new(cps);
        for e in events {
            w.push(e);
        }
        w.finish()
    }

    fn cp(events: &[StoredEvent], seq: i64) -> Checkpoint {
        Checkpoint {
            seq,
            hash: events[(seq - 1) as usize].hash,
        }
    }

    fn walk_pruned(
        events: &[StoredEvent],
        pruned: Checkpoint,
        cps: Vec<Checkpoint>,
        require_signed: bool,
    ) -> Result<(u64, i64, [u8; 32]), Tampering> {
        let mut w = Walker::after_pruned(pruned.clone(), cps, require_signed);
        for e in events.iter().filter(|e| e.seq > pruned.seq) {
            w.push(e.clone());
        }
        w.finish()
    }

    #[test]
    fn a_chain_pruned_up_to_a_signed_checkpoint_verifies_and_still_catches_tampering() {
        let c = chain(12);
        let cps = vec![cp(&c, 4), cp(&c, 8), cp(&c, 12)];
        // Events 1-8 pruned at the checkpoint at 8.
        let (n, last, _) = walk_pruned(&c, cp(&c, 8), cps.clone(), true).unwrap();
        assert_eq!((n, last), (4, 12));
        // Nothing left after the prune but the head.
        let (n, _, _) = walk_pruned(&c[..8], cp(&c, 8), vec![cp(&c, 8)], true).unwrap();
        assert_eq!(n, 0);

        // The record names an event no checkpoint was signed at.
        assert_eq!(
            walk_pruned(&c, cp(&c, 6), cps.clone(), true),
            Err(Tampering::UnsignedPrune { seq: 6 })
        );
        // Or a hash the signed checkpoint does not carry.
        let forged = Checkpoint {
            seq: 8,
            hash: [7; 32],
        };
        assert_eq!(
            walk_pruned(&c, forged.clone(), cps.clone(), true),
            Err(Tampering::UnsignedPrune { seq: 8 })
        );
        // Without signed checkpoints to hold it to, the chain itself
        // catches a record that does not lead to the next event.
        assert_eq!(
            walk_pruned(&c, forged, Vec::new(), false),
            Err(Tampering::BrokenLink { seq: 9 })
        );

        // After the prune, deleting or editing is caught as before.
        let mut deleted = c.clone();
        deleted.remove(9);
        assert_eq!(
            walk_pruned(&deleted, cp(&c, 8), cps.clone(), true),
            Err(Tampering::Deleted {
                first_missing: 10,
                last_missing: 10
            })
        );
        let mut edited = c.clone();
        edited[10].event.details = "{\"amount\":1}".into();
        assert_eq!(
            walk_pruned(&edited, cp(&c, 8), cps, true),
            Err(Tampering::Edited { seq: 11 })
        );
    }

    #[test]
    fn a_clean_chain_verifies() {
        let c = chain(10);
        let cps = vec![cp(&c, 5), cp(&c, 10)];
        let (n, last, _) = walk(c, cps).unwrap();
        assert_eq!((n, last), (10, 10));
        assert!(walk(Vec::new(), Vec::new()).is_ok());
    }

    #[test]
    fn canonical_encoding_separates_fields() {
        let mut a = ev(1);
        let mut b = ev(1);
        a.actor = "ab".into();
        a.action = "c".into();
        b.actor = "a".into();
        b.action = "bc".into();
        assert_ne!(canonical(&a), canonical(&b));
        let mut c = ev(1);
        c.target = Some(String::new());
        let mut d = ev(1);
        d.target = None;
        assert_ne!(canonical(&c), canonical(&d));
        assert_eq!(canonical(&ev(3))[0], VERSION);
    }

    #[test]
    fn each_tampering_is_named() {
        let mut c = chain(10);
        c[3].event.details = "{\"amount\":1}".into();
        assert_eq!(walk(c, vec![]), Err(Tampering::Edited { seq: 4 }));

        let mut c = chain(10);
        c.remove(4);
        assert_eq!(
            walk(c, vec![]),
            Err(Tampering::Deleted {
                first_missing: 5,
                last_missing: 5
            })
        );

        // Swap rows 5 and 6 (their sequence numbers exchanged).
        let mut c = chain(10);
        let (a, b) = (c[4].clone(), c[5].clone());
        c[4] = StoredEvent { seq: 5, ..b };
        c[5] = StoredEvent { seq: 6, ..a };
        assert_eq!(walk(c, vec![]), Err(Tampering::Reordered { seq: 5 }));

        // A forged event inserted after 4, later events renumbered.
        let mut c = chain(10);
        let forged = ChainEvent {
            action: "forged".into(),
            ..ev(99)
        };
        let hash = link(&c[3].hash, &forged);
        c.insert(
            4,
            StoredEvent {
                seq: 5,
                prev_hash: c[3].hash,
                hash,
                event: forged,
            },
        );
        for (i, e) in c.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(walk(c, vec![]), Err(Tampering::Inserted { seq: 6 }));

        // Deleted and renumbered.
        let mut c = chain(10);
        c.remove(4);
        for (i, e) in c.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(walk(c, vec![]), Err(Tampering::BrokenLink { seq: 5 }));
    }

    #[test]
    fn checkpoints_catch_rewrites_and_truncation() {
        let c = chain(10);
        let cps = vec![cp(&c, 4), cp(&c, 8)];
        // Rewrite: edit event 6, then re-hash everything from there on.
        let mut r = c.clone();
        r[5].event.details = "{\"rewritten\":true}".into();
        let mut prev = r[4].hash;
        for e in r.iter_mut().skip(5) {
            e.prev_hash = prev;
            e.hash = link(&prev, &e.event);
            prev = e.hash;
        }
        assert_eq!(
            walk(r, cps.clone()),
            Err(Tampering::Rewritten {
                since_seq: 4,
                checkpoint_seq: 8
            })
        );
        // Truncate after 6: the checkpoint at 8 says there was more.
        let t: Vec<StoredEvent> = c.into_iter().take(6).collect();
        let err = walk(t, cps).unwrap_err();
        assert_eq!(
            err,
            Tampering::Truncated {
                last_seq: 6,
                checkpoint_seq: 8
            }
        );
        assert_eq!(err.first_bad_seq(), 7);
        assert!(err.describe().contains("events after 6 were removed"));
    }
}
