//! Reconnect delays: exponential, capped, with jitter so that a shop's
//! terminals do not all come back at the same instant after a server restart.

use rand::Rng;
use std::time::Duration;

/// The delay before each reconnect attempt.
#[derive(Debug, Clone)]
pub struct Backoff {
    delay_min: Duration,
    delay_max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(delay_min: Duration, delay_max: Duration) -> Self {
        Backoff {
            delay_min,
            delay_max: delay_max.max(delay_min),
            failures: 0,
        }
    }

    /// The next delay: the ceiling doubles with each failure up to the
    /// maximum, and the delay is drawn uniformly from the upper half of it
    /// ("equal jitter"), so it never collapses to zero.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let factor = 1u32 << self.failures.min(20);
        let ceiling = self.delay_min.saturating_mul(factor).min(self.delay_max);
        self.failures = self.failures.saturating_add(1);
        let half = ceiling / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rng.gen_range(0..=jitter_ms))
    }

    /// A connection got through: the next failure starts from the minimum again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn delays_grow_to_the_cap_with_jitter_and_reset() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay(&mut rng)).collect();
        for (failures, delay) in delays.iter().enumerate() {
            let ceiling =
                (Duration::from_millis(100) * (1 << failures)).min(Duration::from_secs(5));
            assert!(
                *delay >= ceiling / 2 && *delay <= ceiling,
                "{failures}: {delay:?}"
            );
        }
        assert!(delays[11] >= Duration::from_millis(2500));
        // Jitter: two terminals with different seeds do not wait the same.
        let mut other = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let mut other_rng = StdRng::seed_from_u64(8);
        let other_delays: Vec<Duration> =
            (0..12).map(|_| other.next_delay(&mut other_rng)).collect();
        assert_ne!(delays, other_delays);
        backoff.reset();
        assert!(backoff.next_delay(&mut rng) <= Duration::from_millis(100));
    }
}
