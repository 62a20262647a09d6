//! What `/healthz` says: whether the sync node runs, and what is degraded.
//!
//! Subsystems report their own reasons under their own name (the sync node
//! reports failing commits and reloads; others may report a full disk); the
//! server answers `"ok"` when no one reports anything, `"degraded"` with
//! every reason otherwise, and 503 once the sync node has stopped.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub struct Health {
    reasons: Mutex<BTreeMap<&'static str, Vec<String>>>,
    sync_stopped: AtomicBool,
}

/// One reading of the server's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    /// False once the sync node stopped (a bug): nothing syncs any more.
    pub sync_running: bool,
    pub reasons: Vec<String>,
}

impl HealthReport {
    pub fn status(&self) -> &'static str {
        match (self.sync_running, self.reasons.is_empty()) {
            (false, _) => "stopped",
            (true, true) => "ok",
            (true, false) => "degraded",
        }
    }
}

impl Health {
    /// Replaces what `component` reports (an empty list: it is fine).
    pub fn report(&self, component: &'static str, reasons: Vec<String>) {
        let mut all = self
            .reasons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if reasons.is_empty() {
            all.remove(component);
        } else {
            all.insert(component, reasons);
        }
    }

    /// Whether `component` reports anything wrong now.
    pub fn reported_by(&self, component: &'static str) -> bool {
        self.reasons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(component)
    }

    pub fn sync_stopped(&self) {
        self.sync_stopped.store(true, Ordering::SeqCst);
    }

    pub fn read(&self) -> HealthReport {
        let all = self
            .reasons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        HealthReport {
            sync_running: !self.sync_stopped.load(Ordering::SeqCst),
            reasons: all.values().flatten().cloned().collect(),
        }
    }
}
