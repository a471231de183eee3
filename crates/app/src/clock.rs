//! Time is injected so tests can move through due dates and expiry windows.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The real wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock tests set and advance by hand.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn starting_at(t: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicI64::new(t.as_microsecond())))
    }

    pub fn advance(&self, by: jiff::SignedDuration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_microsecond(self.0.load(Ordering::SeqCst)).unwrap_or(Timestamp::MAX)
    }
}

/// Timestamps are stored as microseconds since the Unix epoch (UTC) in a
/// BIGINT column: the same on SQLite and PostgreSQL, and cheap to compare.
pub fn to_micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub fn from_micros(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}
