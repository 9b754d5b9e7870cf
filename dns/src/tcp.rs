//! DNS over TCP to one server: a few long-lived connections, each with many queries in
//! flight at once (RFC 7766 §6.2.1 pipelining), answers matched by ID.
//!
//! Each connection has a writer task (queries from a bounded channel, written in batches)
//! and a reader task (length-prefixed answers, handed to their waiters, each read
//! acknowledged at once: see [`quick_ack`]). Writing never
//! waits for reading, so a server that answers in order keeps both directions moving.
//! Back-pressure is waiting, never an error: a query waits for one of the connection's
//! [`IN_FLIGHT_PER_CONNECTION`] slots and for room in its write channel. A connection the
//! server closes (idle timeout, query limit) fails its waiting queries with
//! [`Exchange::Closed`], and the caller asks again on a new connection.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use hickory_proto::op::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::wire::{self, Exchange};

/// Connections kept per server.
const CONNECTIONS: usize = 2;
/// Queries in flight per connection.
const IN_FLIGHT_PER_CONNECTION: usize = 256;

/// Bytes read from a connection at a time.
const READ_CHUNK: usize = 16 << 10;

/// Acknowledges what was just read at once instead of after the delayed-ACK timer. A server
/// that writes its answers with Nagle's algorithm on (NSD does) holds each answer until the
/// previous one is acknowledged; with our ACKs delayed, 20 pipelined queries took 44 ms on
/// loopback instead of 0.2 ms. Linux leaves quick-ACK mode on its own, so this is renewed
/// after every read; elsewhere it is a no-op.
fn quick_ack(read: &tokio::net::tcp::OwnedReadHalf) {
    #[cfg(target_os = "linux")]
    {
        let _ = socket2::SockRef::from(read.as_ref()).set_tcp_quickack(true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = read;
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

type Waiters = Arc<Mutex<HashMap<u16, oneshot::Sender<Vec<u8>>>>>;

/// One TCP connection: its write channel, its waiters by query ID, its free slots.
struct Connection {
    writer: mpsc::Sender<Vec<u8>>,
    waiters: Waiters,
    slots: Arc<Semaphore>,
    closed: Arc<AtomicBool>,
    next_id: AtomicU16,
    reader: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The writer task ends with its channel; the reader would wait for the server.
        self.reader.abort();
    }
}

impl Connection {
    async fn open(addr: SocketAddr) -> Result<Connection, Exchange> {
        let stream = TcpStream::connect(addr).await.map_err(|e| match e.kind() {
            io::ErrorKind::ConnectionRefused => Exchange::Refused,
            _ => Exchange::Io(e.to_string()),
        })?;
        let _ = stream.set_nodelay(true);
        let (mut read, write) = stream.into_split();
        let (writer, mut queue) = mpsc::channel::<Vec<u8>>(IN_FLIGHT_PER_CONNECTION);
        let waiters: Waiters = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        let writer_closed = Arc::clone(&closed);
        tokio::spawn(async move {
            let mut out = BufWriter::new(write);
            while let Some(frame) = queue.recv().await {
                let mut ok = out.write_all(&frame).await.is_ok();
                while ok && let Ok(frame) = queue.try_recv() {
                    ok = out.write_all(&frame).await.is_ok();
                }
                if !(ok && out.flush().await.is_ok()) {
                    break;
                }
            }
            writer_closed.store(true, Ordering::Relaxed);
        });
        let reader_waiters = Arc::clone(&waiters);
        let reader_closed = Arc::clone(&closed);
        let reader = tokio::spawn(async move {
            let mut chunk = vec![0u8; READ_CHUNK];
            let mut pending: Vec<u8> = Vec::with_capacity(READ_CHUNK);
            loop {
                let n = match read.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                quick_ack(&read);
                pending.extend_from_slice(&chunk[..n]);
                let mut start = 0;
                while let Some(head) = pending[start..].first_chunk::<2>() {
                    let len = usize::from(u16::from_be_bytes(*head));
                    let Some(body) = pending.get(start + 2..start + 2 + len) else {
                        break;
                    };
                    if let Some(id) = body.first_chunk::<2>().map(|h| u16::from_be_bytes(*h))
                        && let Some(waiter) = lock(&reader_waiters).remove(&id)
                    {
                        let _ = waiter.send(body.to_vec());
                    }
                    start += 2 + len;
                }
                pending.drain(..start);
            }
            reader_closed.store(true, Ordering::Relaxed);
            // Dropping the senders tells every waiter the connection is gone.
            lock(&reader_waiters).clear();
        });
        Ok(Connection {
            writer,
            waiters,
            slots: Arc::new(Semaphore::new(IN_FLIGHT_PER_CONNECTION)),
            closed,
            next_id: AtomicU16::new(0),
            reader,
        })
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Registers a waiter under a free ID (IDs only tell a connection's queries apart:
    /// nobody can inject answers into a TCP stream as into UDP, so they need not be random).
    fn register(&self) -> (u16, oneshot::Receiver<Vec<u8>>) {
        let (tx, rx) = oneshot::channel();
        let mut waiters = lock(&self.waiters);
        let mut id = self.next_id.fetch_add(1, Ordering::Relaxed);
        while waiters.contains_key(&id) {
            id = self.next_id.fetch_add(1, Ordering::Relaxed);
        }
        waiters.insert(id, tx);
        (id, rx)
    }
}

/// The TCP connections to one server.
pub(super) struct TcpPool {
    addr: SocketAddr,
    connections: tokio::sync::Mutex<Vec<Arc<Connection>>>,
}

impl TcpPool {
    pub(super) fn new(addr: SocketAddr) -> TcpPool {
        TcpPool {
            addr,
            connections: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// A live connection: the one with most free slots, or a new one while there are fewer
    /// than [`CONNECTIONS`] and all are busy.
    async fn connection(&self) -> Result<Arc<Connection>, Exchange> {
        let mut connections = self.connections.lock().await;
        connections.retain(|c| !c.is_closed());
        let best = connections
            .iter()
            .max_by_key(|c| c.slots.available_permits())
            .cloned();
        match best {
            Some(c) if c.slots.available_permits() > 0 || connections.len() >= CONNECTIONS => Ok(c),
            _ => {
                let c = Arc::new(Connection::open(self.addr).await?);
                connections.push(Arc::clone(&c));
                Ok(c)
            }
        }
    }

    /// Asks the question of `query` (serialized in `bytes`) over TCP until `deadline`.
    /// Waiting for a free slot is not counted against the deadline.
    pub(super) async fn exchange(
        &self,
        query: &Message,
        bytes: &[u8],
        deadline: Instant,
    ) -> Result<Message, Exchange> {
        let connection = self.connection().await?;
        let slot = Arc::clone(&connection.slots)
            .acquire_owned()
            .await
            .map_err(|_| Exchange::Closed)?;
        let (id, answer) = connection.register();
        let body = wire::with_id(bytes, id);
        let len = u16::try_from(body.len()).map_err(|_| Exchange::Io("query too long".into()))?;
        let mut frame = Vec::with_capacity(body.len() + 2);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&body);
        let sent = Instant::now();
        if connection.writer.send(frame).await.is_err() {
            lock(&connection.waiters).remove(&id);
            return Err(Exchange::Closed);
        }
        let result = tokio::time::timeout_at(deadline.into(), answer).await;
        drop(slot);
        let body = match result {
            Ok(Ok(body)) => body,
            Ok(Err(_)) => return Err(Exchange::Closed),
            Err(_) => {
                lock(&connection.waiters).remove(&id);
                return Err(Exchange::Timeout { sent });
            }
        };
        // The answer carries our connection-level ID.
        wire::answer_to_any(query, std::iter::once(id), &body)
            .map(|(mut answer, _)| {
                answer.metadata.id = query.metadata.id;
                answer
            })
            .ok_or_else(|| Exchange::Io("a TCP answer does not match its query".into()))
    }
}
