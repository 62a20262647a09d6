//! HTTP connections: how many the server holds, from which address, and how
//! long one may stay silent.
//!
//! A shop's server sits on a network anyone can plug into. Without these
//! bounds a few hundred sockets that connect and say nothing (or send their
//! headers one byte at a time) hold a task and a file descriptor each,
//! forever, until the tills cannot connect. So:
//!
//! - **every connection must send complete request headers within
//!   `header_read_timeout_ms`**: when it opens, and again after each response
//!   while it is kept alive. That one deadline covers slow headers
//!   ("slowloris"), sockets that never send anything and idle keep-alive
//!   connections (hyper's `header_read_timeout`, which axum's own `serve`
//!   does not switch on);
//! - **at most `connections_max` connections in all and
//!   `connections_per_address_max` from one client address** are held,
//!   WebSockets included (an upgraded socket keeps its slot until it closes).
//!   A connection over either bound is answered `503` with `Retry-After` and
//!   closed at once, before any request is read.
//!
//! The defaults stay above what PROTOCOL.md guarantee 9 promises an honest
//! shop: 20,000 connections in all and 12,000 from one address.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use futures_util::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use prometheus::{IntCounterVec, IntGauge, Opts};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// The connection bounds and deadlines, with their units last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Connections held at once, from everywhere.
    pub connections_max: usize,
    /// Connections held at once from one client IP address.
    pub connections_per_address_max: usize,
    /// Time a connection has to send complete request headers, from when it
    /// opens or from its previous response.
    pub header_read_timeout_ms: u64,
}

impl ConnectionSettings {
    /// Above guarantee 9's 20,000 connections in all.
    pub const CONNECTIONS_MAX_DEFAULT: usize = 25_000;
    /// Above guarantee 9's 12,000 connections from one address (a loopback benchmark).
    pub const CONNECTIONS_PER_ADDRESS_MAX_DEFAULT: usize = 15_000;
    /// 30 s, as hyper and most servers: far beyond any honest client's headers.
    pub const HEADER_READ_TIMEOUT_MS_DEFAULT: u64 = 30_000;
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            connections_max: Self::CONNECTIONS_MAX_DEFAULT,
            connections_per_address_max: Self::CONNECTIONS_PER_ADDRESS_MAX_DEFAULT,
            header_read_timeout_ms: Self::HEADER_READ_TIMEOUT_MS_DEFAULT,
        }
    }
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `connections_max` connections are open.
    Total,
    /// `connections_per_address_max` connections are open from this address.
    PerAddress,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::Total => "total",
            Refusal::PerAddress => "per_address",
        }
    }
}

/// The connection metrics, registered with the server's other metrics.
#[derive(Debug, Clone)]
pub struct ConnectionMetrics {
    pub open: IntGauge,
    pub refused: IntCounterVec,
}

impl ConnectionMetrics {
    pub fn new() -> Self {
        ConnectionMetrics {
            open: IntGauge::new(
                "possync_http_connections",
                "Open HTTP connections, upgraded WebSockets included.",
            )
            .unwrap_or_else(|error| unreachable!("constant metric options are valid: {error}")),
            refused: IntCounterVec::new(
                Opts::new(
                    "possync_http_connections_refused_total",
                    "Connections answered 503 and closed because a connection bound was reached.",
                ),
                &["bound"],
            )
            .unwrap_or_else(|error| unreachable!("constant metric options are valid: {error}")),
        }
    }

    /// The collectors, for the server's registry.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![Box::new(self.open.clone()), Box::new(self.refused.clone())]
    }
}

impl Default for ConnectionMetrics {
    fn default() -> Self {
        ConnectionMetrics::new()
    }
}

/// Counts the open connections, in all and per address.
#[derive(Debug)]
pub struct ConnectionCounter {
    settings: ConnectionSettings,
    metrics: ConnectionMetrics,
    open: Mutex<OpenConnections>,
    /// When the next refusal may be logged, in milliseconds since `started`:
    /// a flood of refusals must not become a flood of log lines.
    next_refusal_log_ms: AtomicU64,
    started: Instant,
    /// The number of open connections, for whoever waits for it to change.
    open_watch: watch::Sender<usize>,
}

#[derive(Debug, Default)]
struct OpenConnections {
    total: usize,
    /// Only addresses with open connections have an entry.
    per_address: HashMap<IpAddr, usize>,
}

/// How often a refusal is logged at most.
const REFUSAL_LOG_INTERVAL_MS: u64 = 10_000;

impl ConnectionCounter {
    pub fn new(settings: ConnectionSettings, metrics: ConnectionMetrics) -> Arc<Self> {
        Arc::new(ConnectionCounter {
            settings,
            metrics,
            open: Mutex::new(OpenConnections::default()),
            next_refusal_log_ms: AtomicU64::new(0),
            started: Instant::now(),
            open_watch: watch::Sender::new(0),
        })
    }

    /// Takes a slot for a connection from `address`, or says which bound is reached.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Result<ConnectionSlot, Refusal> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if open.total >= self.settings.connections_max {
            return Err(self.refused(Refusal::Total, address));
        }
        let from_address = open.per_address.get(&address).copied().unwrap_or(0);
        if from_address >= self.settings.connections_per_address_max {
            return Err(self.refused(Refusal::PerAddress, address));
        }
        open.total += 1;
        open.per_address.insert(address, from_address + 1);
        self.metrics.open.inc();
        self.open_watch.send_replace(open.total);
        Ok(ConnectionSlot {
            counter: self.clone(),
            address,
        })
    }

    fn refused(&self, refusal: Refusal, address: IpAddr) -> Refusal {
        self.metrics
            .refused
            .with_label_values(&[refusal.label()])
            .inc();
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next_ms = self.next_refusal_log_ms.load(Ordering::Relaxed);
        if now_ms >= next_ms
            && self
                .next_refusal_log_ms
                .compare_exchange(
                    next_ms,
                    now_ms + REFUSAL_LOG_INTERVAL_MS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            let (bound, limit) = match refusal {
                Refusal::Total => ("connections_max", self.settings.connections_max),
                Refusal::PerAddress => (
                    "connections_per_address_max",
                    self.settings.connections_per_address_max,
                ),
            };
            tracing::warn!(
                %address,
                bound,
                limit,
                "connection refused: too many open connections (counted in possync_http_connections_refused_total; logged at most every 10 s)"
            );
        }
        refusal
    }

    fn release(&self, address: IpAddr) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_address.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                open.per_address.remove(&address);
            }
        }
        self.metrics.open.dec();
        self.open_watch.send_replace(open.total);
    }

    /// Open connections, in all.
    pub fn open_connections(&self) -> usize {
        *self.open_watch.borrow()
    }

    /// The number of open connections, updated as they open and close.
    pub fn watch_open_connections(&self) -> watch::Receiver<usize> {
        self.open_watch.subscribe()
    }
}

/// One open connection's place in the count, given back when it is dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    counter: Arc<ConnectionCounter>,
    address: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.counter.release(self.address);
    }
}

/// A TCP stream that holds its connection slot for as long as it lives:
/// through HTTP requests, and after a WebSocket upgrade inside the WebSocket.
#[derive(Debug)]
pub struct CountedStream {
    /// Declared first, so dropped first: the slot is free before the peer sees
    /// the connection close, and a client that reconnects at once gets it.
    _slot: ConnectionSlot,
    stream: TcpStream,
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// What a connection over a bound is told before it is closed. It is written
/// without reading the request: the server spends nothing more on it.
const REFUSAL_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: application/json\r\n\
Retry-After: 5\r\n\
Connection: close\r\n\
Content-Length: 89\r\n\
\r\n\
{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections; try again in a moment\"}}";

/// Serves `application` on `listener` within the connection bounds until
/// `shutdown` completes, then lets the open connections finish their requests.
pub async fn serve_bounded(
    listener: TcpListener,
    application: Router,
    counter: Arc<ConnectionCounter>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let header_read_timeout = Duration::from_millis(counter.settings.header_read_timeout_ms);
    // Connection tasks hold a receiver each; once they all ended, serving is over.
    let (shutdown_sender, shutdown_receiver) = watch::channel(false);
    let mut shutdown = pin!(shutdown.fuse());
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(&error).await;
                    continue;
                }
            },
        };
        // Sync frames are small and latency matters: without TCP_NODELAY, Nagle's
        // algorithm and delayed ACKs add about 40 ms to an ack or a change.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY on a connection");
        }
        let slot = match counter.admit(remote.ip()) {
            Ok(slot) => slot,
            Err(_) => {
                // A fresh socket's send buffer is empty: this write does not block.
                let _ = stream.try_write(REFUSAL_RESPONSE);
                continue;
            }
        };
        let io = TokioIo::new(CountedStream {
            _slot: slot,
            stream,
        });
        let service =
            application
                .clone()
                .map_request(move |request: axum::http::Request<Incoming>| {
                    let mut request = request.map(Body::new);
                    request.extensions_mut().insert(ConnectInfo(remote));
                    request
                });
        let mut shutdown_receiver = shutdown_receiver.clone();
        tokio::spawn(async move {
            let mut shutting_down = false;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let connection = builder
                .serve_connection(io, TowerToHyperService::new(service))
                .with_upgrades();
            let mut connection = pin!(connection);
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(%error, %remote, "connection ended with an error");
                        }
                        break;
                    }
                    _ = shutdown_receiver.changed(), if !shutting_down => {
                        // Finish the request in flight, then close.
                        shutting_down = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = shutdown_sender.send(true);
    drop(shutdown_receiver);
    // Every connection task holds a receiver until it ends.
    shutdown_sender.closed().await;
    Ok(())
}

/// Accept fails when the process runs out of file descriptors (or the kernel
/// of memory). Spinning on it would burn the CPU the open connections need;
/// waiting a little lets some close.
async fn wait_after_accept_error(error: &io::Error) {
    tracing::warn!(%error, "could not accept a connection; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PROTOCOL.md guarantee 9: the defaults never refuse an honest shop or a
    /// loopback benchmark.
    #[test]
    fn the_defaults_hold_what_the_contract_promises() {
        let settings = ConnectionSettings::default();
        assert!(settings.connections_max >= 20_000);
        assert!(settings.connections_per_address_max >= 12_000);
        assert!(settings.connections_per_address_max <= settings.connections_max);
    }

    #[test]
    fn slots_are_counted_per_address_and_given_back() {
        let counter = ConnectionCounter::new(
            ConnectionSettings {
                connections_max: 3,
                connections_per_address_max: 2,
                ..ConnectionSettings::default()
            },
            ConnectionMetrics::new(),
        );
        let first: IpAddr = "127.0.0.1".parse().unwrap();
        let second: IpAddr = "127.0.0.2".parse().unwrap();
        let a = counter.admit(first).unwrap();
        let _b = counter.admit(first).unwrap();
        assert_eq!(counter.admit(first).unwrap_err(), Refusal::PerAddress);
        let _c = counter.admit(second).unwrap();
        assert_eq!(counter.admit(second).unwrap_err(), Refusal::Total);
        assert_eq!(counter.open_connections(), 3);
        drop(a);
        assert_eq!(counter.open_connections(), 2);
        let _d = counter.admit(first).unwrap();
        assert_eq!(
            counter.metrics.refused.with_label_values(&["total"]).get(),
            1
        );
        assert_eq!(
            counter
                .metrics
                .refused
                .with_label_values(&["per_address"])
                .get(),
            1
        );
        assert_eq!(counter.metrics.open.get(), 3);
    }
}
