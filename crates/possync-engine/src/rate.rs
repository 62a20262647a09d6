//! A token bucket per connection, decided from the time it is given.

use possync_core::Timestamp;

#[derive(Debug, Clone)]
pub struct RateLimiter {
    capacity_milli: i64,
    refill_per_s: i64,
    tokens_milli: i64,
    last: Option<Timestamp>,
}

impl RateLimiter {
    /// Allows bursts of `burst` messages and `per_s` messages a second after that.
    pub fn new(burst: u32, per_s: u32) -> Self {
        RateLimiter {
            capacity_milli: i64::from(burst) * 1000,
            refill_per_s: i64::from(per_s),
            tokens_milli: i64::from(burst) * 1000,
            last: None,
        }
    }

    /// Takes one token if there is one.
    pub fn allow(&mut self, now: Timestamp) -> bool {
        if let Some(last) = self.last {
            let elapsed_ms = (now.unix_millis() - last.unix_millis()).max(0);
            self.tokens_milli = (self.tokens_milli + elapsed_ms.saturating_mul(self.refill_per_s))
                .min(self.capacity_milli);
        }
        self.last = Some(now);
        if self.tokens_milli >= 1000 {
            self.tokens_milli -= 1000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills() {
        let mut limiter = RateLimiter::new(3, 10);
        let at = |ms: i64| Timestamp::from_unix_millis(1_000_000 + ms);
        assert!(limiter.allow(at(0)));
        assert!(limiter.allow(at(0)));
        assert!(limiter.allow(at(0)));
        assert!(!limiter.allow(at(0)));
        assert!(!limiter.allow(at(50)));
        assert!(limiter.allow(at(100)));
        assert!(!limiter.allow(at(100)));
    }
}
