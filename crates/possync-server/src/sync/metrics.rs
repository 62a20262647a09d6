//! Prometheus metrics of the sync path (served at `/metrics` by `crate::api::metrics`).

use possync_engine::{HealthIssue, NodeStats};
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric of the sync path. Counters follow the node's own counters
/// ([`NodeStats`]): the actor publishes the difference after each round.
#[derive(Debug, Clone)]
pub struct SyncMetrics {
    registry: Registry,
    pub connections: IntGauge,
    pub connections_opened: IntCounter,
    pub open_drafts: IntGauge,
    pub ops_accepted: IntCounter,
    pub ops_duplicate: IntCounter,
    pub ops_rejected: IntCounterVec,
    pub messages_rate_limited: IntCounter,
    pub commit_batch_ops: Histogram,
    pub commit_seconds: Histogram,
    pub slow_connections_closed: IntCounter,
    pub silent_connections_closed: IntCounter,
    pub terminal_ids_refused: IntCounter,
    pub failed_commits: IntCounter,
    pub commit_conflicts: IntCounter,
    pub recoveries: IntCounter,
    pub store_reads: IntCounter,
    pub reloads_failed: IntCounter,
    /// Tokio tasks alive in the server (set when `/metrics` is read): a
    /// count that keeps growing under a steady load is a leak (the soak bench watches it).
    pub runtime_tasks: IntGauge,
    /// 1 for each kind of trouble that makes `/healthz` answer `degraded`
    /// (`commits_failing`: a full disk, a database gone), else 0.
    pub degraded: IntGaugeVec,
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .unwrap_or_else(|error| unreachable!("constant histogram options are valid: {error}"))
}

fn counter(name: &str, help: &str) -> IntCounter {
    IntCounter::new(name, help).unwrap_or_else(|error| unreachable!("{error}"))
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).unwrap_or_else(|error| unreachable!("{error}"))
}

impl SyncMetrics {
    pub fn new() -> Self {
        let latency_buckets = vec![
            0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
            1.0, 2.5,
        ];
        let metrics = SyncMetrics {
            registry: Registry::new(),
            connections: gauge("possync_connections", "Open sync WebSocket connections."),
            connections_opened: counter(
                "possync_connections_opened_total",
                "Sync WebSocket connections accepted.",
            ),
            open_drafts: gauge("possync_open_drafts", "Open drafts held by the sync node."),
            ops_accepted: counter("possync_ops_accepted_total", "Ops accepted (new versions)."),
            ops_duplicate: counter(
                "possync_ops_duplicate_total",
                "Resent ops answered with their first answer.",
            ),
            ops_rejected: IntCounterVec::new(
                Opts::new(
                    "possync_ops_rejected_total",
                    "Ops rejected, by reject code.",
                ),
                &["code"],
            )
            .unwrap_or_else(|error| unreachable!("{error}")),
            messages_rate_limited: counter(
                "possync_messages_rate_limited_total",
                "Messages and HTTP ops refused over a rate limit.",
            ),
            commit_batch_ops: histogram(
                "possync_commit_batch_ops",
                "Entries per group commit.",
                vec![
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
                ],
            ),
            commit_seconds: histogram(
                "possync_commit_seconds",
                "Time to make one batch durable.",
                latency_buckets,
            ),
            slow_connections_closed: counter(
                "possync_slow_connections_closed_total",
                "Connections closed (4008) because their queue was full or they kept flooding.",
            ),
            silent_connections_closed: counter(
                "possync_silent_connections_closed_total",
                "Connections closed (4000) after missed heartbeats.",
            ),
            terminal_ids_refused: counter(
                "possync_terminal_ids_refused_total",
                "Hellos and ops naming a terminal id bound to another token.",
            ),
            failed_commits: counter(
                "possync_failed_commits_total",
                "Batches that could not be committed (answered `unavailable`).",
            ),
            commit_conflicts: counter(
                "possync_commit_conflicts_total",
                "Batches refused because another node moved one of their orders first (its ops answered `unavailable`, the rest committed again).",
            ),
            recoveries: counter(
                "possync_recoveries_total",
                "Times the node read back orders after a failed commit.",
            ),
            store_reads: counter(
                "possync_store_reads_total",
                "Reads the node asked of the store (forgotten op ids and orders).",
            ),
            reloads_failed: counter(
                "possync_reloads_failed_total",
                "Configuration reloads (links, configs, catalog) that failed and are retried.",
            ),
            runtime_tasks: gauge(
                "possync_runtime_tasks",
                "Tokio tasks alive in the server process.",
            ),
            degraded: IntGaugeVec::new(
                Opts::new(
                    "possync_degraded",
                    "1 while this trouble makes /healthz answer degraded (the reasons are in /healthz and the log).",
                ),
                &["reason"],
            )
            .unwrap_or_else(|error| unreachable!("{error}")),
        };
        for kind in HealthIssue::KINDS {
            metrics.degraded.with_label_values(&[kind]).set(0);
        }
        let collectors: [Box<dyn prometheus::core::Collector>; 19] = [
            Box::new(metrics.connections.clone()),
            Box::new(metrics.connections_opened.clone()),
            Box::new(metrics.open_drafts.clone()),
            Box::new(metrics.ops_accepted.clone()),
            Box::new(metrics.ops_duplicate.clone()),
            Box::new(metrics.ops_rejected.clone()),
            Box::new(metrics.messages_rate_limited.clone()),
            Box::new(metrics.commit_batch_ops.clone()),
            Box::new(metrics.commit_seconds.clone()),
            Box::new(metrics.slow_connections_closed.clone()),
            Box::new(metrics.silent_connections_closed.clone()),
            Box::new(metrics.terminal_ids_refused.clone()),
            Box::new(metrics.failed_commits.clone()),
            Box::new(metrics.commit_conflicts.clone()),
            Box::new(metrics.recoveries.clone()),
            Box::new(metrics.store_reads.clone()),
            Box::new(metrics.reloads_failed.clone()),
            Box::new(metrics.runtime_tasks.clone()),
            Box::new(metrics.degraded.clone()),
        ];
        for collector in collectors {
            // Names are distinct constants: registering cannot fail.
            let _ = metrics.registry.register(collector);
        }
        metrics
    }

    /// Adds another subsystem's metric to this registry, so `/metrics` serves it
    /// too. A name registered twice is logged and skipped.
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) {
        if let Err(error) = self.registry.register(collector) {
            tracing::warn!(%error, "a metric could not be registered");
        }
    }

    /// Adds what the node counted since `before`.
    pub fn publish(&self, before: &NodeStats, after: &NodeStats) {
        let delta = |a: u64, b: u64| b.saturating_sub(a);
        self.ops_accepted
            .inc_by(delta(before.ops_accepted, after.ops_accepted));
        self.ops_duplicate
            .inc_by(delta(before.ops_duplicate, after.ops_duplicate));
        for (code, count) in &after.ops_rejected {
            let previous = before.ops_rejected.get(code).copied().unwrap_or(0);
            if *count > previous {
                self.ops_rejected
                    .with_label_values(&[code])
                    .inc_by(count - previous);
            }
        }
        self.messages_rate_limited.inc_by(delta(
            before.messages_rate_limited,
            after.messages_rate_limited,
        ));
        self.slow_connections_closed.inc_by(delta(
            before.connections_closed_too_slow,
            after.connections_closed_too_slow,
        ));
        self.silent_connections_closed.inc_by(delta(
            before.connections_closed_silent,
            after.connections_closed_silent,
        ));
        self.terminal_ids_refused.inc_by(delta(
            before.terminal_ids_refused,
            after.terminal_ids_refused,
        ));
        self.failed_commits
            .inc_by(delta(before.commits_failed, after.commits_failed));
        self.commit_conflicts
            .inc_by(delta(before.commit_conflicts, after.commit_conflicts));
        self.recoveries
            .inc_by(delta(before.recoveries, after.recoveries));
        self.store_reads
            .inc_by(delta(before.store_reads, after.store_reads));
        self.reloads_failed
            .inc_by(delta(before.reloads_failed, after.reloads_failed));
    }

    /// Says which kinds of trouble the node reports now.
    pub fn publish_health(&self, issues: &[HealthIssue]) {
        for kind in HealthIssue::KINDS {
            let now = issues.iter().any(|issue| issue.kind() == kind);
            self.degraded.with_label_values(&[kind]).set(i64::from(now));
        }
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding our own well-formed metrics into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for SyncMetrics {
    fn default() -> Self {
        SyncMetrics::new()
    }
}
