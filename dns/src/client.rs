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

/// SERVFAIL answers of a recursive resolver asked again before one is taken: its
/// SERVFAIL is often transient (its own upstream was rate-limited or slow; seen with
/// unbound in front of NSD's rate limiting), and a record would carry it for
/// `failure_ttl`.
const SERVFAIL_RETRIES: usize = 4;
/// The pause before the first such retry, doubled for each next: retries 1, 3, 7 and
/// 15 s after the first answer. A resolver keeps a SERVFAIL it gave for a while and
/// answers it again from its cache (unbound 1.17: 5 s, its `NORR_TTL`; RFC 2308 §7.1
/// allows up to 5 minutes; BIND's `servfail-ttl` is 1 s), so retries sooner than that
/// only fetch the same SERVFAIL: with pauses of 0.2, 0.4, 0.8 s, 118 of 10,000 lookups
/// through unbound in front of rate-limiting NSD still failed; with these, none
/// (`realdns::a_burst_through_unbound_in_front_of_nsd_has_no_failed_lookup`). Halving
/// the window on a resolver's SERVFAIL was tried too and only made the burst slower
/// (25-29 s against 18-19 s, as many SERVFAILs): they come from the resolver's own
/// upstream bursts, not from how many queries it is given.
const SERVFAIL_PAUSE: Duration = Duration::from_millis(1000);
/// The pauses of all SERVFAIL retries together (1 + 2 + 4 + 8 s).
pub(super) const SERVFAIL_WINDOW: Duration =
    Duration::from_millis(SERVFAIL_PAUSE.as_millis() as u64 * ((1 << SERVFAIL_RETRIES) - 1));
/// Refusals of a server that never answered, asked again before it is marked down.
const START_REFUSALS: usize = 3;
/// The pause before the first such retry, doubled for each next (50 + 100 + 200 ms).
const START_PAUSE: Duration = Duration::from_millis(50);

/// Runs `attempt` and, while `again` says so of its result, up to `retries` more
/// times, after a pause of `first`, doubled for each next.
async fn with_pauses<T, F: std::future::Future<Output = T>>(
    retries: usize,
    first: Duration,
    mut again: impl FnMut(&T) -> bool,
    mut attempt: impl FnMut() -> F,
) -> T {
    let mut pause = first;
    let mut result = attempt().await;
    for _ in 0..retries {
        if !again(&result) {
            break;
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
        result = attempt().await;
    }
    result
}

/// A SERVFAIL from a recursive resolver (recursion available, not authoritative): worth
/// asking again. An authoritative server's SERVFAIL is its answer.
fn is_transient_servfail(answer: &Message) -> bool {
    answer.metadata.response_code == hickory_proto::op::ResponseCode::ServFail
        && answer.metadata.recursion_available
        && !answer.metadata.authoritative
}

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
    /// SERVFAIL answers of a recursive resolver asked again.
    pub(super) servfail_retries: AtomicU64,
}

/// The nameservers and how to ask them.
pub(super) struct Client {
    servers: Vec<Arc<Server>>,
    /// Queries in flight at once (the `concurrency` setting); a query waiting out the
    /// pause before a SERVFAIL retry holds none, so the others go on meanwhile.
    permits: tokio::sync::Semaphore,
    timeout: Duration,
    attempts: usize,
    pub(super) counters: Arc<Counters>,
}

impl Client {
    pub(super) fn new(
        addrs: &[std::net::SocketAddr],
        timeout: Duration,
        attempts: usize,
        concurrency: usize,
    ) -> Self {
        Client {
            servers: addrs.iter().map(|&a| Arc::new(Server::new(a))).collect(),
            permits: tokio::sync::Semaphore::new(concurrency),
            timeout,
            attempts: attempts.max(1),
            counters: Arc::default(),
        }
    }

    /// The smallest window of the servers and the halvings of all.
    pub(super) fn windows(&self) -> (u64, u64) {
        let sizes = self.servers.iter().map(|s| s.window.size());
        sizes.fold((u64::MAX, 0), |(min, cuts), (size, c)| {
            (min.min(size as u64), cuts + c)
        })
    }

    /// Whether some server was judged unreachable at some point.
    pub(super) fn was_unreachable(&self) -> bool {
        self.servers.iter().any(|s| s.was_down())
    }

    /// Asks `name`/`rtype`. Any response (NXDOMAIN, ...) is returned as it is, but a
    /// SERVFAIL from a recursive resolver is asked again after a pause first
    /// ([`SERVFAIL_RETRIES`]); a failure means no server answered.
    pub(super) async fn query(&self, name: Name, rtype: RecordType) -> Result<Message, Failure> {
        let (query, bytes) = wire::query(name, rtype).map_err(Failure::Other)?;
        let again = |answer: &Result<Message, Failure>| {
            let transient = answer.as_ref().is_ok_and(is_transient_servfail);
            if transient {
                self.counters
                    .servfail_retries
                    .fetch_add(1, Ordering::Relaxed);
            }
            transient
        };
        with_pauses(SERVFAIL_RETRIES, SERVFAIL_PAUSE, again, || async {
            let Ok(_permit) = self.permits.acquire().await else {
                return Err(Failure::Other("the DNS client was shut down".into()));
            };
            self.query_once(&query, &bytes).await
        })
        .await
    }

    /// One round of [`Client::query`]: every server, `attempts` times.
    async fn query_once(&self, query: &Message, bytes: &[u8]) -> Result<Message, Failure> {
        let mut last = Failure::Timeout;
        for _ in 0..self.attempts {
            let mut asked = false;
            for server in &self.servers {
                match server.admit() {
                    Admit::Go => {}
                    Admit::Reject { probe } => {
                        if probe {
                            // A down server is probed with real traffic: this question.
                            self.probe(server, Some((query.clone(), bytes.to_vec())));
                        }
                        last = unreachable(server);
                        continue;
                    }
                }
                asked = true;
                match self.ask_refused_at_start(server, query, bytes).await {
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
                    Err(Exchange::Down) => last = unreachable(server),
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

    /// [`Client::ask`], asked again after a pause when a server that never answered
    /// refuses ([`START_REFUSALS`]): a server started just before the run may not have
    /// bound its port yet, and a refusal otherwise marks it down at once.
    async fn ask_refused_at_start(
        &self,
        server: &Server,
        query: &Message,
        bytes: &[u8],
    ) -> Result<Message, Exchange> {
        let again = |answer: &Result<Message, Exchange>| {
            matches!(answer, Err(Exchange::Refused)) && !server.ever_answered()
        };
        with_pauses(START_REFUSALS, START_PAUSE, again, || {
            self.ask(server, query, bytes)
        })
        .await
    }

    /// One try at `server`: UDP (unless it prefers TCP now), TCP for a truncated answer.
    async fn ask(
        &self,
        server: &Server,
        query: &Message,
        bytes: &[u8],
    ) -> Result<Message, Exchange> {
        ask(server, query, bytes, self.timeout, &self.counters, false).await
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
                Ok((query, bytes)) => ask(&server, &query, &bytes, timeout, &counters, true).await,
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

/// One try at `server` (see [`Client::ask`]); a `probe` is sent even to a server judged down.
async fn ask(
    server: &Server,
    query: &Message,
    bytes: &[u8],
    timeout: Duration,
    counters: &Counters,
    probe: bool,
) -> Result<Message, Exchange> {
    if !server.prefers_tcp(query) {
        let slot = server.window.acquire().await;
        if server.is_down() && !probe {
            // Judged down while this query waited (the window was full of queries that
            // timed out in silence): do not send it a whole timeout's worth more.
            return Err(Exchange::Down);
        }
        let deadline = Instant::now() + timeout;
        counters.queries.fetch_add(1, Ordering::Relaxed);
        let udp = udp::exchange(server, query, bytes, deadline, &counters.retransmits).await;
        drop(slot);
        match udp {
            Ok(answer) if !answer.metadata.truncation => return Ok(answer),
            Ok(_) => server.truncated(query),
            Err(Exchange::UseTcp) => {}
            Err(e) => return Err(e),
        }
    }
    let deadline = Instant::now() + timeout;
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
