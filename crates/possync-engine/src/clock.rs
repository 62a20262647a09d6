//! Time as an input. The server passes the system clock; tests and the
//! simulation pass a manual one, so leases and rate limits are replayable.

use possync_core::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// A clock that moves only when told to.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    unix_millis: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn starting_at(at: Timestamp) -> Self {
        ManualClock {
            unix_millis: Arc::new(AtomicI64::new(at.unix_millis())),
        }
    }

    pub fn advance_millis(&self, millis: i64) {
        self.unix_millis.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.unix_millis.load(Ordering::SeqCst))
    }
}
