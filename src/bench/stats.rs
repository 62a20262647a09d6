//! Latency distributions (HDR histograms in microseconds) and the server
//! process's CPU time and memory, read from /proc.

use hdrhistogram::Histogram;
use std::time::Duration;

/// The longest latency recorded exactly; longer ones are clamped to it.
const LATENCY_MAX_US: u64 = 120_000_000;

/// A latency distribution with three significant figures.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

impl Latencies {
    pub fn new() -> Self {
        // 1 µs to 120 s at 3 significant figures is a valid range, fixed at compile time.
        let histogram = Histogram::new_with_bounds(1, LATENCY_MAX_US, 3)
            .unwrap_or_else(|_| unreachable!("fixed, valid histogram bounds"));
        Latencies { histogram }
    }

    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(LATENCY_MAX_US);
        self.histogram
            .saturating_record(micros.clamp(1, LATENCY_MAX_US));
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The latency at `quantile` (0 to 1) in milliseconds; `None` without samples.
    pub fn quantile_ms(&self, quantile: f64) -> Option<f64> {
        (self.count() > 0).then(|| self.histogram.value_at_quantile(quantile) as f64 / 1000.0)
    }

    pub fn p50_ms(&self) -> Option<f64> {
        self.quantile_ms(0.50)
    }

    pub fn p99_ms(&self) -> Option<f64> {
        self.quantile_ms(0.99)
    }

    pub fn max_ms(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.histogram.max() as f64 / 1000.0)
    }
}

/// What /proc says about a process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessUsage {
    /// User plus system CPU time, in seconds.
    pub cpu_s: f64,
    /// Resident memory now, in KiB.
    pub rss_kib: u64,
    /// Peak resident memory, in KiB.
    pub rss_peak_kib: u64,
}

/// Linux's clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on every mainstream build).
const CLOCK_TICKS_PER_S: f64 = 100.0;

/// Reads /proc/<pid>/stat and /proc/<pid>/status; `None` when the process is gone.
pub fn process_usage(pid: u32) -> Option<ProcessUsage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after its closing parenthesis are fixed.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| -> Option<u64> {
        status
            .lines()
            .find(|line| line.starts_with(key))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some(ProcessUsage {
        cpu_s: (utime + stime) / CLOCK_TICKS_PER_S,
        rss_kib: kib("VmRSS:")?,
        rss_peak_kib: kib("VmHWM:").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_samples() {
        let mut latencies = Latencies::new();
        assert_eq!(latencies.p50_ms(), None);
        for millis in 1..=100 {
            latencies.record(Duration::from_millis(millis));
        }
        let p50 = latencies.p50_ms().unwrap();
        let p99 = latencies.p99_ms().unwrap();
        assert!((49.9..=50.1).contains(&p50), "{p50}");
        assert!((98.9..=99.1).contains(&p99), "{p99}");
        latencies.record(Duration::from_secs(1));
        assert_eq!(latencies.count(), 101);
        assert!(latencies.max_ms().unwrap() >= 999.0);
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let usage = process_usage(std::process::id()).unwrap();
        assert!(usage.rss_kib > 0);
        assert!(usage.rss_peak_kib >= usage.rss_kib);
        assert_eq!(process_usage(u32::MAX), None);
    }
}
