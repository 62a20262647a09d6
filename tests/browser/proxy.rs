//! A TCP proxy between one browser and the server, to take the network away the
//! way a shop's network goes: `blackhole` keeps every connection open but lets no
//! byte through (a pulled cable, a Wi-Fi that died: no FIN, no RST, only silence;
//! what was sent waits, as TCP keeps retransmitting it), `cut` closes every
//! connection at once and refuses new ones (a closed tab, a crashed till), and
//! `restore` lets traffic through again, the held bytes first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const OPEN: u8 = 0;
const BLACKHOLE: u8 = 1;
const CUT: u8 = 2;

#[derive(Debug)]
pub struct Proxy {
    /// `http://127.0.0.1:PORT`, for the browser.
    pub base_url: String,
    mode: Arc<AtomicU8>,
    changed: watch::Sender<u8>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream` (`127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(AtomicU8::new(OPEN));
        let (changed, _) = watch::channel(OPEN);
        let upstream = upstream.to_owned();
        let task = {
            let mode = mode.clone();
            let changed = changed.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    if mode.load(Ordering::SeqCst) == CUT {
                        drop(client);
                        continue;
                    }
                    let upstream = upstream.clone();
                    let mode = mode.clone();
                    let watch = changed.subscribe();
                    tokio::spawn(async move {
                        if let Ok(server) = TcpStream::connect(&upstream).await {
                            let _ = client.set_nodelay(true);
                            let _ = server.set_nodelay(true);
                            forward_both_ways(client, server, mode, watch).await;
                        }
                    });
                }
            })
        };
        Proxy {
            base_url,
            mode,
            changed,
            task,
        }
    }

    /// Silence: connections stay open, bytes wait, new connections hang.
    pub fn blackhole(&self) {
        self.set(BLACKHOLE);
    }

    /// Every connection closed at once; new ones refused.
    pub fn cut(&self) {
        self.set(CUT);
    }

    /// Traffic flows again (connections that were cut stay closed).
    pub fn restore(&self) {
        self.set(OPEN);
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
        let _ = self.changed.send(mode);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward_both_ways(
    client: TcpStream,
    server: TcpStream,
    mode: Arc<AtomicU8>,
    watch: watch::Receiver<u8>,
) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = forward(client_read, server_write, mode.clone(), watch.clone());
    let down = forward(server_read, client_write, mode, watch);
    // When one direction ends, the whole connection ends (both halves dropped).
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

/// Copies bytes while the mode is open, holds them while it is a blackhole, and
/// returns (closing) when the connection ends or is cut.
async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mode: Arc<AtomicU8>,
    mut watch: watch::Receiver<u8>,
) {
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        if !wait_while_blackholed(&mode, &mut watch).await {
            return;
        }
        tokio::select! {
            read = from.read(&mut buffer) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                // Read just as the silence began: it waits for the network too.
                if !wait_while_blackholed(&mode, &mut watch).await
                    || to.write_all(&buffer[..n]).await.is_err()
                {
                    return;
                }
            }
            changed = watch.changed() => {
                if changed.is_err() || *watch.borrow() == CUT {
                    return;
                }
            }
        }
    }
}

/// Waits until the mode is open again: true, or false when the connection is cut.
async fn wait_while_blackholed(mode: &AtomicU8, watch: &mut watch::Receiver<u8>) -> bool {
    loop {
        match mode.load(Ordering::SeqCst) {
            OPEN => return true,
            CUT => return false,
            _ => {
                if watch.changed().await.is_err() {
                    return false;
                }
            }
        }
    }
}
