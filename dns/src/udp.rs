//! One DNS query over UDP, with retransmits on the server's RTT-based timer, within the
//! server's window of queries in flight ([`crate::window`]).
//!
//! Each query gets its own socket, bound to an ephemeral port the kernel picks at random
//! and *connected* to the server: the kernel then drops datagrams from anyone else, and an
//! ICMP port-unreachable comes back as `ECONNREFUSED` on the next receive, so a refused
//! port fails at once instead of after the timeout (an unconnected socket, as hickory's,
//! never sees it). The query is sent again after the server's retransmit interval
//! ([`crate::server::Server::rto`], read anew at each resend and doubled per resend of
//! this query), until an answer comes or the try's deadline passes. Each send has its own
//! random ID and an answer to any of them is taken: the ID tells which send it answers,
//! so its round trip is measured even after resends (a late answer to the first send
//! teaches the estimator that the server got slower, where Karn's rule would drop the
//! sample and keep resending too early). A query waiting for its answer moves to TCP as
//! soon as the server's answers to others come back truncated (rate limiting). A send the kernel cannot take now
//! (`ENOBUFS`, a full socket buffer) is local back-pressure: it is retried shortly and
//! never counts as a failure.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use tokio::net::UdpSocket;

use crate::server::Server;
use crate::wire::{self, Exchange};

/// Largest UDP answer read (the EDNS payload size we advertise is smaller).
const RECV_BUFFER: usize = 4096;
/// How often a query sent before the server's round trip was known looks at the estimate.
const RECHECK: Duration = Duration::from_millis(20);
/// The longest wait before a resend: a try (2 s by default) still resends at least once.
const RESEND_CEILING: Duration = Duration::from_secs(1);
/// Pause before a send the kernel refused for lack of buffers is tried again.
const BACKPRESSURE_PAUSE: Duration = Duration::from_millis(1);

/// Whether `e` is local back-pressure rather than a network failure.
fn is_backpressure(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted | io::ErrorKind::OutOfMemory
    ) || e.raw_os_error() == Some(rustix::io::Errno::NOBUFS.raw_os_error())
}

/// Sends `bytes` on `socket`, waiting out local back-pressure until `deadline`.
async fn send(socket: &UdpSocket, bytes: &[u8], deadline: Instant) -> Result<(), Exchange> {
    loop {
        match socket.send(bytes).await {
            Ok(_) => return Ok(()),
            Err(e) if is_backpressure(&e) && Instant::now() < deadline => {
                tokio::time::sleep(BACKPRESSURE_PAUSE).await;
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                return Err(Exchange::Refused);
            }
            Err(e) => return Err(Exchange::Io(e.to_string())),
        }
    }
}

/// Asks `server` the question of `query` (serialized in `bytes`) over UDP until
/// `deadline`; counts resends in `retransmits`. Returns the matching answer (possibly
/// truncated: the caller decides on TCP), or why none came.
pub(super) async fn exchange(
    server: &Server,
    query: &Message,
    bytes: &[u8],
    deadline: Instant,
    retransmits: &AtomicU64,
) -> Result<Message, Exchange> {
    let local: SocketAddr = if server.addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let io = |e: io::Error| Exchange::Io(e.to_string());
    let socket = UdpSocket::bind(local).await.map_err(io)?;
    socket.connect(server.addr).await.map_err(io)?;
    let first_sent = Instant::now();
    send(&socket, bytes, deadline).await?;
    // Each send's ID and time; the first is the query's own.
    let mut sends: Vec<(u16, Instant)> = vec![(query.metadata.id, first_sent)];
    let cap = deadline.saturating_duration_since(first_sent);
    let mut resend_at = first_sent + server.rto(cap);
    // Sent before any round trip was measured: the interval is a guess (200 ms), so look
    // again soon, when the first answers of the burst may have measured the server.
    let mut provisional = !server.has_rtt();
    let mut buf = vec![0u8; RECV_BUFFER];
    let switch = server.switched_to_tcp();
    tokio::pin!(switch);
    loop {
        let mut wake = resend_at.min(deadline);
        if provisional {
            wake = wake.min(Instant::now() + RECHECK);
        }
        tokio::select! {
            received = socket.recv(&mut buf) => match received {
                Ok(n) => {
                    let ids = sends.iter().map(|s| s.0);
                    if let Some((mut answer, i)) = wire::answer_to_any(query, ids, &buf[..n]) {
                        let rtt = sends[i].1.elapsed();
                        server.answered(Some(rtt));
                        server.answered_as(&answer);
                        server.window_answered(rtt);
                        answer.metadata.id = query.metadata.id;
                        return Ok(answer);
                    }
                    // Not ours (a late answer to nothing, garbage): keep waiting.
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    return Err(Exchange::Refused);
                }
                Err(e) if is_backpressure(&e) => {}
                Err(e) => return Err(Exchange::Io(e.to_string())),
            },
            // Another answer came back truncated: if from this zone, go over TCP now.
            () = &mut switch => {
                if server.prefers_tcp(query) {
                    return Err(Exchange::UseTcp);
                }
                switch.set(server.switched_to_tcp());
            }
            () = tokio::time::sleep_until(wake.into()) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(Exchange::Timeout { sent: first_sent });
                }
                if server.prefers_tcp(query) {
                    return Err(Exchange::UseTcp);
                }
                if provisional && server.has_rtt() {
                    provisional = false;
                    resend_at = resend_at.min(first_sent + server.rto(cap));
                }
                if now < resend_at {
                    continue;
                }
                let id = rand::random::<u16>();
                send(&socket, &wire::with_id(bytes, id), deadline).await?;
                retransmits.fetch_add(1, Ordering::Relaxed);
                server.late(now);
                // The server's current interval (measured meanwhile by other queries),
                // doubled per resend of this query, at most RESEND_CEILING (RFC 6298
                // §5.5's back-off, with a ceiling below a try's timeout).
                let rto = server.rto(deadline.saturating_duration_since(first_sent));
                let doublings = u32::try_from(sends.len().min(16)).unwrap_or(16);
                let backoff = rto.saturating_mul(1 << doublings).min(RESEND_CEILING);
                resend_at = now + backoff.max(rto);
                sends.push((id, now));
            }
        }
    }
}
