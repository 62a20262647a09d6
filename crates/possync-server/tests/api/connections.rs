//! Connections that misbehave at the HTTP layer: headers that trickle in,
//! sockets that say nothing, and more connections than the bounds allow.
//! Each test starts the real server with small bounds and drives it over raw TCP.

use possync_server::connections::{ConnectionCounter, ConnectionSettings};
use possync_server::{AppState, RunningServer, ServerConfig};
use possync_store::sqlite::SqliteStore;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Longest any test waits for the server to act: far above every deadline set here.
const PATIENCE: Duration = Duration::from_secs(10);

struct Server {
    address: SocketAddr,
    connections: Arc<ConnectionCounter>,
    _server: RunningServer,
    _data_dir: TempDir,
}

async fn serve(connections: ConnectionSettings) -> Server {
    let data_dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&data_dir.path().join("possync.db"))
        .await
        .unwrap();
    let config = ServerConfig {
        connections,
        ..ServerConfig::default()
    };
    let state = AppState::start_with_system_clock(Arc::new(store), config)
        .await
        .unwrap();
    let counter = state.connections.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = RunningServer::start(listener, state).unwrap();
    Server {
        address: server.local_addr(),
        connections: counter,
        _server: server,
        _data_dir: data_dir,
    }
}

impl Server {
    /// Waits until the server holds exactly `n` connections.
    async fn wait_for_open_connections(&self, n: usize) {
        let mut open = self.connections.watch_open_connections();
        tokio::time::timeout(PATIENCE, open.wait_for(|open| *open == n))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the server holds {} connections, not {n}",
                    self.connections.open_connections()
                )
            })
            .unwrap();
    }

    /// Connects from `local_ip` (any address of the loopback range).
    async fn connect_from(&self, local_ip: &str) -> TcpStream {
        let socket = TcpSocket::new_v4().unwrap();
        socket
            .bind(format!("{local_ip}:0").parse().unwrap())
            .unwrap();
        socket.connect(self.address).await.unwrap()
    }

    /// `GET /healthz` on a new connection; answers the status line.
    async fn health_status_line(&self, local_ip: &str) -> String {
        let mut stream = self.connect_from(local_ip).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: possync\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut stream).await;
        answer.lines().next().unwrap_or_default().to_owned()
    }
}

/// Reads until the server closes the connection; panics if it does not within `PATIENCE`.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let outcome = tokio::time::timeout(PATIENCE, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the server kept the connection open for {PATIENCE:?}; it sent {:?}",
        String::from_utf8_lossy(&received)
    );
    String::from_utf8_lossy(&received).into_owned()
}

fn with_header_timeout(header_read_timeout_ms: u64) -> ConnectionSettings {
    ConnectionSettings {
        header_read_timeout_ms,
        ..ConnectionSettings::default()
    }
}

#[tokio::test]
async fn a_connection_that_never_sends_anything_is_closed() {
    let server = serve(with_header_timeout(300)).await;
    let mut stream = server.connect_from("127.0.0.1").await;
    server.wait_for_open_connections(1).await;
    read_until_closed(&mut stream).await;
    server.wait_for_open_connections(0).await;
}

#[tokio::test]
async fn a_kept_alive_connection_that_goes_quiet_is_closed() {
    let server = serve(with_header_timeout(300)).await;
    let mut stream = server.connect_from("127.0.0.1").await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: possync\r\n\r\n")
        .await
        .unwrap();
    // The answer comes, and the connection stays open for the next request...
    let mut buffer = [0u8; 4096];
    let n = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buffer[..n])
    );
    // ...until it has been silent for the deadline.
    read_until_closed(&mut stream).await;
    server.wait_for_open_connections(0).await;
}

/// A "slowloris" keeps a connection busy by sending its headers a line at a
/// time, each well within any idle timeout. The deadline covers the whole
/// header, so it ends all the same.
#[tokio::test]
async fn headers_that_trickle_in_are_cut_off_at_the_deadline() {
    let header_read_timeout = Duration::from_millis(500);
    let server = serve(with_header_timeout(header_read_timeout.as_millis() as u64)).await;
    let mut stream = server.connect_from("127.0.0.1").await;
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: possync\r\n")
        .await
        .unwrap();
    // One header line every 100 ms: the pace of the attack, not a wait for the server.
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            tokio::select! {
                _ = pace.tick() => {
                    if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                        break;
                    }
                }
                read = stream.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => break,
                    // Whatever the server says as it closes (a 408) is fine.
                    Ok(_) => {}
                },
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "a trickling header kept the connection for {PATIENCE:?}"
    );
    assert!(
        started.elapsed() >= header_read_timeout,
        "closed after {:?}, before the deadline",
        started.elapsed()
    );
    server.wait_for_open_connections(0).await;
}

#[tokio::test]
async fn connections_over_the_bound_are_refused_until_one_closes() {
    let server = serve(ConnectionSettings {
        connections_max: 3,
        ..ConnectionSettings::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(server.connect_from("127.0.0.1").await);
    }
    server.wait_for_open_connections(3).await;

    let mut refused = server.connect_from("127.0.0.1").await;
    let answer = read_until_closed(&mut refused).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 5"), "{answer}");
    assert!(answer.contains(r#""code":"unavailable""#), "{answer}");
    assert_eq!(server.connections.open_connections(), 3);

    held.pop();
    server.wait_for_open_connections(2).await;
    assert_eq!(
        server.health_status_line("127.0.0.1").await,
        "HTTP/1.1 200 OK"
    );
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let server = serve(ConnectionSettings {
        connections_max: 10,
        connections_per_address_max: 2,
        ..ConnectionSettings::default()
    })
    .await;
    let _held = [
        server.connect_from("127.0.0.1").await,
        server.connect_from("127.0.0.1").await,
    ];
    server.wait_for_open_connections(2).await;
    assert!(
        server
            .health_status_line("127.0.0.1")
            .await
            .starts_with("HTTP/1.1 503")
    );
    // Another client address is still served.
    assert_eq!(
        server.health_status_line("127.0.0.2").await,
        "HTTP/1.1 200 OK"
    );
}
