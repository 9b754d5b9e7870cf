//! One question to the configured nameservers: UDP with RTT-based retransmits, TCP when
//! the answer is truncated or the server lately answers UDP truncated, the next server when
//! one fails, `attempts` rounds of `timeout` each, and each server's circuit breaker
//! ([`crate::server`]) so that an unreachable server fails lookups at once.
//!
//! Built on hickory-proto's messages rather than hickory-resolver's exchange: hickory's
//! UDP sockets are not connected (an ICMP port-unreachable never reaches them, so a
//! refused port waits out the timeout), its retransmit interval has a 333 ms floor, and
//! its TCP path fails a query outright when its 32-slot send channel is full (see
//! [`super`]'s note).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};

use crate::server::{Admit, Server};
use crate::udp;
use crate::wire::{self, Exchange};

/// How often a query is asked again on a fresh TCP connection after the last one closed
/// under it, within one try.
const RECONNECTS: usize = 3;

/// Why a question got no answer from any server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// No answer within the timeout and attempts.
    Timeout,
    /// Every server is judged unreachable (refused, or silent for a whole timeout).
    Unreachable(String),
    /// Something else, described.
    Other(String),
}

/// Packet counters, shared with the provider's statistics.
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Queries sent (each first send over UDP, and each over TCP; probes included).
    pub(super) queries: AtomicU64,
    /// UDP queries sent again after the retransmit interval.
    pub(super) retransmits: AtomicU64,
    /// Queries asked over TCP.
    pub(super) tcp_queries: AtomicU64,
}

/// The nameservers and how to ask them.
pub(super) struct Client {
    servers: Vec<Arc<Server>>,
    timeout: Duration,
    attempts: usize,
    pub(super) counters: Arc<Counters>,
}

impl Client {
    pub(super) fn new(addrs: &[std::net::SocketAddr], timeout: Duration, attempts: usize) -> Self {
        Client {
            servers: addrs.iter().map(|&a| Arc::new(Server::new(a))).collect(),
            timeout,
            attempts: attempts.max(1),
            counters: Arc::default(),
        }
    }

    /// Whether some server was judged unreachable at some point.
    pub(super) fn was_unreachable(&self) -> bool {
        self.servers.iter().any(|s| s.was_down())
    }

    /// Asks `name`/`rtype`. Any response (NXDOMAIN, SERVFAIL, ...) is returned as it is;
    /// a failure means no server answered.
    pub(super) async fn query(&self, name: Name, rtype: RecordType) -> Result<Message, Failure> {
        let (query, bytes) = wire::query(name, rtype).map_err(Failure::Other)?;
        let mut last = Failure::Timeout;
        for _ in 0..self.attempts {
            let mut asked = false;
            for server in &self.servers {
                match server.admit() {
                    Admit::Go => {}
                    Admit::Reject { probe } => {
                        if probe {
                            // A down server is probed with real traffic: this question.
                            self.probe(server, Some((query.clone(), bytes.clone())));
                        }
                        last = unreachable(server);
                        continue;
                    }
                }
                asked = true;
                match self.ask(server, &query, &bytes).await {
                    Ok(answer) => return Ok(answer),
                    Err(Exchange::Timeout { sent }) => {
                        if server.timed_out(sent) {
                            self.probe(server, None);
                        }
                        last = Failure::Timeout;
                    }
                    Err(Exchange::Refused) => {
                        server.refused();
                        last = unreachable(server);
                    }
                    Err(Exchange::Io(e)) => last = Failure::Other(e),
                    Err(Exchange::Closed | Exchange::UseTcp) => {
                        last = Failure::Other("the TCP connection kept closing".into());
                    }
                }
            }
            if !asked {
                break; // every server is down: fail now, not after more rounds
            }
        }
        Err(last)
    }

    /// One try at `server`: UDP (unless it prefers TCP now), TCP for a truncated answer.
    async fn ask(
        &self,
        server: &Server,
        query: &Message,
        bytes: &[u8],
    ) -> Result<Message, Exchange> {
        ask(server, query, bytes, self.timeout, &self.counters).await
    }

    /// Starts a background probe of a suspect or down server; any answer (even REFUSED)
    /// brings it back up. A suspect server (one query timed out in silence) is asked a
    /// neutral question, the root's SOA, so a server that drops only some names is not
    /// taken for dead; a down server is asked `question`, a lookup's own (a server that
    /// cannot answer the root, e.g. a recursive resolver offline, still answers those).
    fn probe(&self, server: &Arc<Server>, question: Option<(Message, Vec<u8>)>) {
        let server = Arc::clone(server);
        let (timeout, counters) = (self.timeout, Arc::clone(&self.counters));
        tokio::spawn(async move {
            let question = match question {
                Some(q) => Ok(q),
                None => wire::query(Name::root(), RecordType::SOA),
            };
            let probed = match question {
                Ok((query, bytes)) => ask(&server, &query, &bytes, timeout, &counters).await,
                Err(e) => Err(Exchange::Io(e)),
            };
            if probed.is_err() {
                server.probe_failed(); // an answer already closed the breaker
            }
        });
    }
}

fn unreachable(server: &Server) -> Failure {
    Failure::Unreachable(format!(
        "nameserver {} unreachable (refused, or silent for a whole timeout)",
        server.addr
    ))
}

async fn ask(
    server: &Server,
    query: &Message,
    bytes: &[u8],
    timeout: Duration,
    counters: &Counters,
) -> Result<Message, Exchange> {
    let deadline = Instant::now() + timeout;
    if !server.prefers_tcp(query) {
        counters.queries.fetch_add(1, Ordering::Relaxed);
        match udp::exchange(server, query, bytes, deadline, &counters.retransmits).await {
            Ok(answer) if !answer.metadata.truncation => return Ok(answer),
            Ok(_) => server.truncated(query),
            Err(Exchange::UseTcp) => {}
            Err(e) => return Err(e),
        }
    }
    let mut closed = 0;
    loop {
        counters.queries.fetch_add(1, Ordering::Relaxed);
        counters.tcp_queries.fetch_add(1, Ordering::Relaxed);
        match server.tcp.exchange(query, bytes, deadline).await {
            Ok(answer) => {
                server.answered(None);
                return Ok(answer);
            }
            Err(Exchange::Closed) if closed < RECONNECTS && Instant::now() < deadline => {
                closed += 1;
            }
            // It answers UDP (that is how we got here): a refused TCP port is no outage.
            Err(Exchange::Refused) => return Err(Exchange::Io("TCP connection refused".into())),
            Err(e) => return Err(e),
        }
    }
}
