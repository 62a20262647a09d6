//! The floors a result is compared with, measured in the same run on the
//! same machine: how long the disk takes to make a write durable (the store's
//! pattern: write a frame into the WAL, then `fdatasync`), and how long a bare
//! WebSocket relay on loopback takes to pass a frame from one client to
//! others (tokio-tungstenite with default settings, no JSON, no state).

use super::stats::Latencies;
use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};
use tokio_tungstenite::tungstenite::Message;

/// The WAL page plus frame header SQLite appends for a one-page commit.
const WAL_FRAME_BYTES: usize = 4096 + 24;

/// Frames in the WAL region the floor writes over, like a WAL file that is
/// reset after each checkpoint and rewritten from its start.
const WAL_FRAMES: usize = 256;

/// `samples` writes of one WAL frame into an already allocated file in `dir`,
/// each followed by `fdatasync`: SQLite's steady state in WAL mode with
/// `synchronous=FULL`, where the WAL is rewritten in place and does not grow
/// (a growing file would also flush its size, and measure slower than the store).
pub fn fsync_floor(dir: &Path, samples: usize) -> Result<Latencies> {
    use std::io::{Seek, SeekFrom};
    let path = dir.join("fsync-floor.bin");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("could not create {}", path.display()))?;
    let frame = vec![0x5au8; WAL_FRAME_BYTES];
    for _ in 0..WAL_FRAMES {
        file.write_all(&frame).context("fsync floor: allocate")?;
    }
    file.sync_all().context("fsync floor: fsync")?;
    let mut latencies = Latencies::new();
    for sample in 0..samples {
        let offset = ((sample % WAL_FRAMES) * WAL_FRAME_BYTES) as u64;
        let started = Instant::now();
        file.seek(SeekFrom::Start(offset))
            .context("fsync floor: seek")?;
        file.write_all(&frame).context("fsync floor: write")?;
        file.sync_data().context("fsync floor: fdatasync")?;
        latencies.record(started.elapsed());
    }
    drop(file);
    let _ = std::fs::remove_file(&path);
    Ok(latencies)
}

/// The relay's connected clients, by connection number.
type RelayClients = Vec<(usize, mpsc::UnboundedSender<Message>)>;

/// A relay: every text frame a client sends goes to every other client.
async fn relay_server(listener: TcpListener) {
    let clients: Arc<Mutex<RelayClients>> = Arc::default();
    let mut next_id = 0usize;
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let id = next_id;
        next_id += 1;
        let clients = clients.clone();
        tokio::spawn(async move {
            let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            let (mut sink, mut stream) = socket.split();
            let (sender, mut receiver) = mpsc::unbounded_channel::<Message>();
            clients.lock().await.push((id, sender.clone()));
            // Told only once it is in the list, so a client that read this receives every frame after.
            let _ = sender.send(Message::text("registered"));
            let writer = tokio::spawn(async move {
                while let Some(message) = receiver.recv().await {
                    if sink.send(message).await.is_err() {
                        break;
                    }
                }
            });
            while let Some(Ok(message)) = stream.next().await {
                if let Message::Text(_) = message {
                    for (other, sender) in clients.lock().await.iter() {
                        if *other != id {
                            let _ = sender.send(message.clone());
                        }
                    }
                }
            }
            clients.lock().await.retain(|(other, _)| *other != id);
            writer.abort();
        });
    }
}

type RelaySocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to the relay and waits until it is registered.
async fn relay_client(url: &str) -> Result<RelaySocket> {
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .context("relay floor: connect")?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(_))) => return Ok(socket),
            Some(Ok(_)) => continue,
            _ => anyhow::bail!("relay floor: the relay closed the connection"),
        }
    }
}

/// Sends `samples` frames (each about the size of a `change`) from one
/// client through the relay to `readers` clients, one at a time, and
/// records when the last reader had it. The relay runs on its own thread
/// and runtime, like a server process would.
pub async fn relay_floor(readers: usize, samples: usize) -> Result<Latencies> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").context("relay floor: bind")?;
    std_listener.set_nonblocking(true)?;
    let address = std_listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay_thread = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            let Ok(listener) = TcpListener::from_std(std_listener) else {
                return;
            };
            tokio::select! {
                () = relay_server(listener) => {}
                _ = stopped => {}
            }
        });
    });
    let url = format!("ws://{address}/");
    let mut writer = relay_client(&url).await?;
    let mut reader_sockets = Vec::new();
    for _ in 0..readers {
        reader_sockets.push(relay_client(&url).await?);
    }
    let payload = format!(
        r#"{{"type":"change","order_id":"0190a0e0-0000-7000-8000-000000000002","version":1,"op_id":"0190a0e0-0000-7000-8000-000000000001","patch":{{"header":{{"totals":{{"subtotal":1000,"tax":100,"total":1100}}}},"upsert_lines":[],"remove_lines":[]}},"pad":"{}"}}"#,
        "x".repeat(120)
    );
    let mut latencies = Latencies::new();
    for _ in 0..samples {
        let started = Instant::now();
        writer.send(Message::text(payload.clone())).await?;
        for socket in &mut reader_sockets {
            loop {
                match socket.next().await {
                    Some(Ok(Message::Text(_))) => break,
                    Some(Ok(_)) => continue,
                    _ => anyhow::bail!("relay floor: a reader lost its connection"),
                }
            }
        }
        latencies.record(started.elapsed());
    }
    let _ = stop.send(());
    drop(writer);
    drop(reader_sockets);
    let _ = tokio::task::spawn_blocking(move || relay_thread.join()).await;
    Ok(latencies)
}
