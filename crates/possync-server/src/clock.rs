//! The wall clock the server reads, implementing the engine's `Clock` trait.
//!
//! The core and the engine never read a clock: the server reads this one and
//! passes the time in. Tests swap in `ManualClock` through `AppState::with_clock`.

use possync_core::Timestamp;
pub use possync_engine::{Clock, ManualClock};
use std::time::{SystemTime, UNIX_EPOCH};

/// The machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        // A clock set before 1970 is a broken machine; the epoch is the least surprising answer.
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_unix_millis(millis)
    }
}
