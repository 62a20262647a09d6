//! Prometheus metrics of the sync path (served at `/metrics` by `crate::api::metrics`).

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Every metric the sync path updates.
#[derive(Debug, Clone)]
pub struct SyncMetrics {
    registry: Registry,
    pub connections: IntGauge,
    pub ops_accepted: IntCounter,
    pub ops_rejected: IntCounterVec,
    pub commit_batch_ops: Histogram,
    pub commit_seconds: Histogram,
    pub ack_seconds: Histogram,
    pub fanout_queue_depth: Histogram,
    pub slow_connections_closed: IntCounter,
    pub failed_commits: IntCounter,
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .unwrap_or_else(|error| unreachable!("constant histogram options are valid: {error}"))
}

impl SyncMetrics {
    pub fn new() -> Self {
        let latency_buckets = vec![
            0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
            1.0, 2.5,
        ];
        let metrics = SyncMetrics {
            registry: Registry::new(),
            connections: IntGauge::new("possync_connections", "Open sync WebSocket connections.")
                .unwrap_or_else(|error| unreachable!("{error}")),
            ops_accepted: IntCounter::new(
                "possync_ops_accepted_total",
                "Ops accepted (new versions).",
            )
            .unwrap_or_else(|error| unreachable!("{error}")),
            ops_rejected: IntCounterVec::new(
                Opts::new(
                    "possync_ops_rejected_total",
                    "Ops rejected, by reject code.",
                ),
                &["code"],
            )
            .unwrap_or_else(|error| unreachable!("{error}")),
            commit_batch_ops: histogram(
                "possync_commit_batch_ops",
                "Ops decided per group commit.",
                vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
            ),
            commit_seconds: histogram(
                "possync_commit_seconds",
                "Time to make one batch durable.",
                latency_buckets.clone(),
            ),
            ack_seconds: histogram(
                "possync_ack_seconds",
                "Time from an op reaching the engine to its answer being queued.",
                latency_buckets,
            ),
            fanout_queue_depth: histogram(
                "possync_fanout_queue_depth",
                "Frames waiting in a connection's queue when one more is added.",
                vec![0.0, 1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0],
            ),
            slow_connections_closed: IntCounter::new(
                "possync_slow_connections_closed_total",
                "Connections closed (4008) because their queue was full.",
            )
            .unwrap_or_else(|error| unreachable!("{error}")),
            failed_commits: IntCounter::new(
                "possync_failed_commits_total",
                "Batches that could not be committed (answered `unavailable`).",
            )
            .unwrap_or_else(|error| unreachable!("{error}")),
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 9] = [
            Box::new(metrics.connections.clone()),
            Box::new(metrics.ops_accepted.clone()),
            Box::new(metrics.ops_rejected.clone()),
            Box::new(metrics.commit_batch_ops.clone()),
            Box::new(metrics.commit_seconds.clone()),
            Box::new(metrics.ack_seconds.clone()),
            Box::new(metrics.fanout_queue_depth.clone()),
            Box::new(metrics.slow_connections_closed.clone()),
            Box::new(metrics.failed_commits.clone()),
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
