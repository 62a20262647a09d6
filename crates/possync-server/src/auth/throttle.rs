//! The login throttle: failed logins are limited per (login, client address)
//! and per client address, so a password cannot be guessed at the speed of the
//! network, and a stranger's bad tries never lock a cashier or the manager out
//! of their own till.
//!
//! Each key has a bucket of tries that refills evenly over a minute. An attempt
//! takes one try from its address's bucket and one from its (login, address)
//! bucket **in one step, under one lock**, before the password is checked: of
//! five hundred attempts sent at once, exactly as many pass as there are tries
//! left, and the rest are refused without costing an argon2 run. A successful
//! login (or an attempt whose password was never checked) gives its tries back,
//! so only wrong passwords count.
//!
//! Addresses are the TCP peer's: IPv4 as is, IPv6 by its /64 prefix (one
//! machine usually owns a whole /64). The count is kept in memory: a restart
//! forgets it, which is fine for a limit measured in minutes. The number of
//! keys is bounded; when the table is full, keys whose buckets are full again
//! (which hold no information) are dropped first, then the fullest ones.

use possync_core::Timestamp;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The limits of a [`LoginThrottle`], per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Failed logins per (login, client address) per minute.
    pub failures_per_login_and_address_max: u32,
    /// Failed logins per client address per minute, whatever the login.
    pub failures_per_address_max: u32,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            failures_per_login_and_address_max: 10,
            failures_per_address_max: 30,
        }
    }
}

/// A refused attempt: when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Whole seconds until one more try is allowed (at least 1): the `Retry-After` value.
    pub retry_after_s: u64,
}

/// An attempt that was let through and counted; hand it back with
/// [`LoginThrottle::forgive`] when the login succeeds or the password was never checked.
#[derive(Debug)]
#[must_use = "a counted attempt is forgiven on success, or dropped to let it count"]
pub struct LoginAttempt {
    address_key: ThrottleKey,
    login_key: ThrottleKey,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum ThrottleKey {
    Address(IpAddr),
    LoginAtAddress(String, IpAddr),
}

/// Tries left in one key's bucket, in thousandths of a try so refills are exact integers.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli_tries: u64,
    updated_at_ms: i64,
}

const MILLI: u64 = 1_000;

/// Failed-login counts per address and per (login, address). Share it behind an `Arc`.
#[derive(Debug)]
pub struct LoginThrottle {
    limits: ThrottleLimits,
    keys_max: usize,
    buckets: Mutex<BTreeMap<ThrottleKey, Bucket>>,
}

impl LoginThrottle {
    /// The buckets refill over this long.
    pub const WINDOW_MS: i64 = 60_000;
    /// Keys remembered at most (each a few dozen bytes).
    pub const KEYS_MAX_DEFAULT: usize = 100_000;
    /// Characters of a login kept in a key: longer names are not logins anyway.
    const LOGIN_CHARS_MAX: usize = 64;

    pub fn new(limits: ThrottleLimits) -> LoginThrottle {
        LoginThrottle::with_keys_max(limits, Self::KEYS_MAX_DEFAULT)
    }

    pub fn with_keys_max(limits: ThrottleLimits, keys_max: usize) -> LoginThrottle {
        LoginThrottle {
            limits,
            keys_max: keys_max.max(2),
            buckets: Mutex::new(BTreeMap::new()),
        }
    }

    /// The address a throttle counts by: IPv4 (also when mapped into IPv6) as is, IPv6 by /64.
    fn address_of(address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(_) => address,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    IpAddr::V6(Ipv6Addr::from(prefix))
                }
            },
        }
    }

    /// What `Login::parse` would make of a login, bounded, so `Admin ` and `admin` share a bucket.
    fn login_of(login: &str) -> String {
        login
            .trim()
            .chars()
            .take(Self::LOGIN_CHARS_MAX)
            .collect::<String>()
            .to_lowercase()
    }

    fn buckets(&self) -> MutexGuard<'_, BTreeMap<ThrottleKey, Bucket>> {
        // A panic while holding this lock cannot leave a bucket half-written; keep using it.
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn capacity_of(&self, key: &ThrottleKey) -> u64 {
        let tries = match key {
            ThrottleKey::Address(_) => self.limits.failures_per_address_max,
            ThrottleKey::LoginAtAddress(..) => self.limits.failures_per_login_and_address_max,
        };
        u64::from(tries) * MILLI
    }

    /// The bucket's tries at `now_ms`, refilled for the time that passed.
    fn refilled(&self, key: &ThrottleKey, bucket: Option<&Bucket>, now_ms: i64) -> Bucket {
        let capacity = self.capacity_of(key);
        let Some(bucket) = bucket else {
            return Bucket {
                milli_tries: capacity,
                updated_at_ms: now_ms,
            };
        };
        // A clock that steps back refills nothing; it never takes tries away.
        let elapsed_ms = u64::try_from(now_ms.saturating_sub(bucket.updated_at_ms)).unwrap_or(0);
        let window_ms = Self::WINDOW_MS.unsigned_abs();
        let refill = elapsed_ms.saturating_mul(capacity) / window_ms;
        Bucket {
            milli_tries: bucket.milli_tries.saturating_add(refill).min(capacity),
            updated_at_ms: now_ms.max(bucket.updated_at_ms),
        }
    }

    /// Whole seconds until `bucket` holds one try again.
    fn retry_after_s(&self, key: &ThrottleKey, bucket: &Bucket) -> u64 {
        let capacity = self.capacity_of(key);
        if capacity == 0 {
            return Self::WINDOW_MS.unsigned_abs() / 1_000;
        }
        let missing = MILLI.saturating_sub(bucket.milli_tries);
        let wait_ms = (missing * Self::WINDOW_MS.unsigned_abs()).div_ceil(capacity);
        wait_ms.div_ceil(1_000).max(1)
    }

    /// Checks and counts one login attempt in one step: either both buckets give a
    /// try, or neither changes and the attempt is refused with how long to wait.
    pub fn try_begin(
        &self,
        login: &str,
        address: IpAddr,
        now: Timestamp,
    ) -> Result<LoginAttempt, Throttled> {
        let now_ms = now.unix_millis();
        let address = Self::address_of(address);
        let address_key = ThrottleKey::Address(address);
        let login_key = ThrottleKey::LoginAtAddress(Self::login_of(login), address);
        let mut buckets = self.buckets();
        let address_bucket = self.refilled(&address_key, buckets.get(&address_key), now_ms);
        let login_bucket = self.refilled(&login_key, buckets.get(&login_key), now_ms);
        let refusals = [(&address_key, &address_bucket), (&login_key, &login_bucket)]
            .into_iter()
            .filter(|(_, bucket)| bucket.milli_tries < MILLI)
            .map(|(key, bucket)| self.retry_after_s(key, bucket));
        if let Some(retry_after_s) = refusals.max() {
            return Err(Throttled { retry_after_s });
        }
        self.make_room(&mut buckets, now_ms);
        for (key, bucket) in [
            (address_key.clone(), address_bucket),
            (login_key.clone(), login_bucket),
        ] {
            buckets.insert(
                key,
                Bucket {
                    milli_tries: bucket.milli_tries - MILLI,
                    updated_at_ms: bucket.updated_at_ms,
                },
            );
        }
        Ok(LoginAttempt {
            address_key,
            login_key,
        })
    }

    /// Gives an attempt's tries back: the login succeeded, or its password was never checked.
    pub fn forgive(&self, attempt: LoginAttempt, now: Timestamp) {
        let now_ms = now.unix_millis();
        let mut buckets = self.buckets();
        for key in [attempt.address_key, attempt.login_key] {
            if let Some(bucket) = buckets.get(&key).copied() {
                let mut bucket = self.refilled(&key, Some(&bucket), now_ms);
                bucket.milli_tries = (bucket.milli_tries + MILLI).min(self.capacity_of(&key));
                buckets.insert(key, bucket);
            }
        }
    }

    /// Keeps the table under its bound before up to two keys are added: drops keys
    /// whose buckets are full again, then, if that is not enough, the fullest eighth.
    fn make_room(&self, buckets: &mut BTreeMap<ThrottleKey, Bucket>, now_ms: i64) {
        if buckets.len() + 2 <= self.keys_max {
            return;
        }
        buckets.retain(|key, bucket| {
            self.refilled(key, Some(bucket), now_ms).milli_tries < self.capacity_of(key)
        });
        if buckets.len() + 2 <= self.keys_max {
            return;
        }
        let mut by_tries: Vec<(u64, ThrottleKey)> = buckets
            .iter()
            .map(|(key, bucket)| {
                (
                    self.refilled(key, Some(bucket), now_ms).milli_tries,
                    key.clone(),
                )
            })
            .collect();
        let n_dropped = (by_tries.len() / 8).max(2);
        let split = by_tries.len() - n_dropped;
        by_tries.select_nth_unstable_by(split, |a, b| a.0.cmp(&b.0));
        for (_, key) in by_tries.drain(split..) {
            buckets.remove(&key);
        }
    }

    /// Keys remembered now (for tests and diagnostics).
    pub fn n_keys(&self) -> usize {
        self.buckets().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ThrottleLimits = ThrottleLimits {
        failures_per_login_and_address_max: 3,
        failures_per_address_max: 5,
    };

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + ms)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_login_is_limited_at_one_address_and_free_at_another() {
        let throttle = LoginThrottle::new(LIMITS);
        for _ in 0..3 {
            drop(throttle.try_begin("admin", ip("10.0.0.9"), at(0)).unwrap());
        }
        let refused = throttle
            .try_begin(" ADMIN", ip("10.0.0.9"), at(0))
            .unwrap_err();
        assert_eq!(refused.retry_after_s, 20, "one try back every 60/3 s");
        drop(throttle.try_begin("admin", ip("10.0.0.7"), at(0)).unwrap());
        drop(
            throttle
                .try_begin("cashier", ip("10.0.0.9"), at(0))
                .unwrap(),
        );
        // A third of a minute later one try is back, and only one.
        drop(
            throttle
                .try_begin("admin", ip("10.0.0.9"), at(20_000))
                .unwrap(),
        );
        assert!(
            throttle
                .try_begin("admin", ip("10.0.0.9"), at(20_000))
                .is_err()
        );
    }

    #[test]
    fn an_address_is_limited_whatever_the_login() {
        let throttle = LoginThrottle::new(LIMITS);
        for n in 0..5 {
            drop(
                throttle
                    .try_begin(&format!("user{n}"), ip("10.0.0.9"), at(0))
                    .unwrap(),
            );
        }
        let refused = throttle
            .try_begin("someone", ip("10.0.0.9"), at(0))
            .unwrap_err();
        assert_eq!(refused.retry_after_s, 12);
        drop(
            throttle
                .try_begin("someone", ip("10.0.0.8"), at(0))
                .unwrap(),
        );
    }

    #[test]
    fn a_refused_attempt_takes_nothing_and_a_forgiven_one_gives_back() {
        let throttle = LoginThrottle::new(LIMITS);
        // Two wrong tries of the pair; the address bucket now has 3 left.
        drop(throttle.try_begin("admin", ip("10.0.0.9"), at(0)).unwrap());
        drop(throttle.try_begin("admin", ip("10.0.0.9"), at(0)).unwrap());
        // Successes never run anything down.
        for _ in 0..20 {
            let attempt = throttle.try_begin("admin", ip("10.0.0.9"), at(0)).unwrap();
            throttle.forgive(attempt, at(0));
        }
        drop(throttle.try_begin("admin", ip("10.0.0.9"), at(0)).unwrap());
        assert!(throttle.try_begin("admin", ip("10.0.0.9"), at(0)).is_err());
        // The refusals above did not touch the address bucket: 2 tries remain there.
        drop(throttle.try_begin("other", ip("10.0.0.9"), at(0)).unwrap());
        drop(throttle.try_begin("other", ip("10.0.0.9"), at(0)).unwrap());
        assert!(throttle.try_begin("other", ip("10.0.0.9"), at(0)).is_err());
    }

    #[test]
    fn ipv6_counts_by_its_64_prefix_and_mapped_ipv4_as_ipv4() {
        let throttle = LoginThrottle::new(LIMITS);
        for n in 1..=5 {
            drop(
                throttle
                    .try_begin(&format!("u{n}"), ip(&format!("2001:db8::{n}")), at(0))
                    .unwrap(),
            );
        }
        assert!(
            throttle
                .try_begin("x", ip("2001:db8::ffff:1"), at(0))
                .is_err()
        );
        drop(
            throttle
                .try_begin("x", ip("2001:db8:0:1::1"), at(0))
                .unwrap(),
        );
        for _ in 0..3 {
            drop(throttle.try_begin("admin", ip("192.0.2.1"), at(0)).unwrap());
        }
        assert!(
            throttle
                .try_begin("admin", ip("::ffff:192.0.2.1"), at(0))
                .is_err()
        );
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_what_still_counts() {
        let throttle = LoginThrottle::with_keys_max(LIMITS, 100);
        // The attacker's address, run down first.
        for _ in 0..3 {
            drop(throttle.try_begin("admin", ip("10.9.9.9"), at(0)).unwrap());
        }
        for n in 0..1_000u32 {
            let address = IpAddr::from(n.to_be_bytes());
            let attempt = throttle.try_begin("admin", address, at(0)).unwrap();
            throttle.forgive(attempt, at(0));
            assert!(throttle.n_keys() <= 100);
        }
        assert!(
            throttle.try_begin("admin", ip("10.9.9.9"), at(0)).is_err(),
            "a run-down bucket outlives full ones"
        );
    }
}
