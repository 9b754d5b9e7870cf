//! What the provider knows about one nameserver: its round-trip time (for the retransmit
//! timer), whether it is reachable (a circuit breaker), and which zones to ask it over TCP
//! for a while.
//!
//! TCP first: a server that answers a UDP query truncated (a large answer, or its rate
//! limiting's "slip") is asked the queries of that zone over TCP for 10 s.
//!
//! The breaker: a server that refuses (ICMP port unreachable on the connected UDP socket)
//! is *down* at once, and so is one that lets [`SILENT_TIMEOUTS`] queries time out without
//! a response of any kind since they were sent. After a single such timeout it is only
//! *suspect*: a background probe with a neutral question
//! (the root's SOA; any response, even REFUSED, proves the server alive) decides, so a
//! server that only drops some names is not taken for dead; if the probe times out too,
//! the server is down. While down, lookups fail at once, as a value, instead of each
//! waiting out its timeout; a probe (a rejected lookup's question, in the background)
//! asks again after a back-off (1 s, doubling up to 30 s), and any answer brings the
//! server back *up*.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use tokio::sync::Notify;

use crate::tcp::TcpPool;
use crate::window::Window;

/// The lowest retransmit interval: a loopback server answers in well under a millisecond
/// when idle, but a burst of hundreds of queries queues for a few.
pub(super) const RTO_FLOOR: Duration = Duration::from_millis(10);
/// The lowest retransmit interval for a recursive resolver (a server whose answers say
/// recursion is available and are not authoritative). It answers a name it has cached in
/// a millisecond and one it must resolve in tens of milliseconds to seconds (round trips
/// to authoritative servers, their timeouts): the interval learned from the first resends
/// the second every few milliseconds while the resolver is still at work. README's quick
/// start against a VPC resolver: with the 10 ms floor, 392 retransmits for 116 queries in
/// 2.01 s; with 250 ms, 146–237 in 1.71–2.01 s; with 1 s, 70–78 but 3.01 s, because more
/// answers then came after the 2 s try and needed a second try (RFC 1035 §4.2.1 asks for
/// 2–5 s between retransmissions, with longer tries than ours).
pub(super) const RECURSIVE_RTO_FLOOR: Duration = Duration::from_millis(250);
/// The retransmit interval before any round trip was measured.
const RTO_INITIAL: Duration = Duration::from_millis(200);
/// First delay before a down server is probed again; doubled per failed probe.
const PROBE_FIRST: Duration = Duration::from_secs(1);
/// Longest delay between probes of a down server.
const PROBE_MAX: Duration = Duration::from_secs(30);
/// Queries timed out in silence (nothing at all from the server since they were sent)
/// that make a server down without waiting for a probe.
pub(super) const SILENT_TIMEOUTS: u32 = 3;
/// How long a server that answered UDP truncated is asked over TCP first.
const PREFER_TCP_FOR: Duration = Duration::from_secs(10);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Smoothed round-trip time and its variation (RFC 6298 §2).
#[derive(Debug, Clone, Copy, Default)]
struct Rtt {
    /// `(srtt, rttvar)` once measured.
    estimate: Option<(Duration, Duration)>,
}

impl Rtt {
    fn sample(&mut self, r: Duration) {
        self.estimate = Some(match self.estimate {
            None => (r, r / 2),
            Some((srtt, rttvar)) => {
                let diff = srtt.abs_diff(r);
                (srtt * 7 / 8 + r / 8, rttvar * 3 / 4 + diff / 4)
            }
        });
    }

    /// `srtt + 4 × rttvar` and at least `2 × srtt`, at least `floor`, at most `cap`.
    /// The `2 × srtt`: against a server whose answers all take 50 ms, the variation is
    /// tiny and a scheduling hiccup of a few ms fired the timer (93 of 3,000 queries
    /// resent, each halving the window, in `tests/dns.rs`' slow-server test); an answer
    /// twice as late as usual is late.
    fn rto(&self, floor: Duration, cap: Duration) -> Duration {
        let rto = match self.estimate {
            None => RTO_INITIAL,
            Some((srtt, rttvar)) => (srtt + 4 * rttvar).max(2 * srtt),
        };
        rto.clamp(floor, cap.max(floor))
    }
}

/// The breaker's state.
#[derive(Debug, Clone, Copy)]
enum Health {
    Up,
    /// Silent for a timeout; a probe is deciding.
    Suspect,
    Down {
        /// When the next probe may be sent.
        next_probe: Instant,
        /// The delay after the next failed probe.
        backoff: Duration,
        /// Whether a probe is in flight.
        probing: bool,
    },
}

/// What the breaker lets a lookup do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admit {
    /// Send the query.
    Go,
    /// Fail at once; `probe` says this caller should start the background probe.
    Reject {
        /// Whether to start a probe now.
        probe: bool,
    },
}

/// The zone of a query's name, as far as rate limiting goes: the name without its leading
/// address labels (IPv4 octets, IPv6 nibbles), so `4.3.2.1.in-addr.arpa` → `in-addr.arpa`
/// and `4.3.2.1.bl.test` → `bl.test`. NSD's rate limiting counts NXDOMAIN answers per
/// zone, and positive answers per name: a truncated DNSBL answer says nothing about PTR
/// queries, which may stay on UDP.
fn zone_of(query: &Message) -> String {
    let Some(q) = query.queries.first() else {
        return String::new();
    };
    let labels: Vec<&[u8]> = q.name.iter().collect();
    let skip = labels
        .iter()
        .take_while(|l| l.len() <= 3 && l.iter().all(u8::is_ascii_hexdigit))
        .count();
    let rest: Vec<String> = labels[skip..]
        .iter()
        .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase())
        .collect();
    rest.join(".")
}

/// The breaker's state right after a server is judged down.
fn down(now: Instant) -> Health {
    Health::Down {
        next_probe: now + PROBE_FIRST,
        backoff: PROBE_FIRST,
        probing: false,
    }
}

/// One nameserver and what is known about it.
pub(super) struct Server {
    /// Where it listens (UDP and TCP).
    pub(super) addr: SocketAddr,
    /// Its TCP connections.
    pub(super) tcp: TcpPool,
    /// How many UDP queries it is given at once.
    pub(super) window: Window,
    rtt: Mutex<Rtt>,
    health: Mutex<Health>,
    /// Whether it was ever judged down.
    was_down: AtomicBool,
    /// Whether it answered as a recursive resolver (see [`RECURSIVE_RTO_FLOOR`]).
    recursive: AtomicBool,
    /// Nanoseconds from `epoch` to the last response of any kind.
    last_response: AtomicU64,
    /// Timeouts in silence since the last response.
    silent_timeouts: AtomicU32,
    /// Zones (see [`zone_of`]) asked over TCP first, and until when.
    prefer_tcp: Mutex<Vec<(String, Instant)>>,
    /// Wakes the UDP queries waiting for an answer when TCP becomes preferred.
    tcp_switch: Notify,
    epoch: Instant,
}

impl Server {
    pub(super) fn new(addr: SocketAddr) -> Server {
        Server {
            addr,
            tcp: TcpPool::new(addr),
            window: Window::default(),
            rtt: Mutex::default(),
            health: Mutex::new(Health::Up),
            was_down: AtomicBool::new(false),
            recursive: AtomicBool::new(false),
            last_response: AtomicU64::new(0),
            silent_timeouts: AtomicU32::new(0),
            prefer_tcp: Mutex::default(),
            tcp_switch: Notify::new(),
            epoch: Instant::now(),
        }
    }

    fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// The retransmit interval now, at most `cap`.
    pub(super) fn rto(&self, cap: Duration) -> Duration {
        let floor = if self.recursive.load(Ordering::Relaxed) {
            RECURSIVE_RTO_FLOOR
        } else {
            RTO_FLOOR
        };
        lock(&self.rtt).rto(floor, cap)
    }

    /// Notes what kind of server answered: recursion available in an answer that is not
    /// authoritative means a recursive resolver.
    pub(super) fn answered_as(&self, answer: &Message) {
        if answer.metadata.recursion_available && !answer.metadata.authoritative {
            self.recursive.store(true, Ordering::Relaxed);
        }
    }

    /// A response arrived; `rtt` is its round trip when the query was sent once (Karn).
    pub(super) fn answered(&self, rtt: Option<Duration>) {
        let now = Instant::now();
        self.last_response
            .fetch_max(self.nanos(now), Ordering::Relaxed);
        self.silent_timeouts.store(0, Ordering::Relaxed);
        if let Some(rtt) = rtt {
            lock(&self.rtt).sample(rtt);
        }
        *lock(&self.health) = Health::Up;
    }

    /// The UDP answer to `query` came back truncated: prefer TCP for the queries of its
    /// zone for a while.
    pub(super) fn truncated(&self, query: &Message) {
        let zone = zone_of(query);
        let until = Instant::now() + PREFER_TCP_FOR;
        let mut prefer = lock(&self.prefer_tcp);
        let switched = match prefer.iter_mut().find(|(z, _)| *z == zone) {
            Some((_, old)) => {
                let switched = *old <= Instant::now();
                *old = until;
                switched
            }
            None => {
                prefer.push((zone, until));
                true
            }
        };
        drop(prefer);
        if switched {
            self.tcp_switch.notify_waiters();
        }
    }

    /// A UDP query's retransmit timer fired at `now`: the server's queue is full or it
    /// drops queries, so its window shrinks (at most once per smoothed round trip).
    pub(super) fn late(&self, now: Instant) {
        if self.recursive.load(Ordering::Relaxed) {
            // A resolver's round trips measure its upstreams' work (a cached name in a
            // millisecond, others in hundreds), not a queue of its own: halving on its
            // late answers took 5,000 PTR + DNSBL lookups through unbound from 4 s to
            // 163 s. It has its own limits.
            return;
        }
        let srtt = lock(&self.rtt)
            .estimate
            .map_or(RTO_INITIAL, |(srtt, _)| srtt);
        self.window.late(srtt, now);
    }

    /// A UDP answer came after `rtt`: the window grows (see [`Server::late`] for why a
    /// resolver's round trips are not a queueing signal).
    pub(super) fn window_answered(&self, rtt: Duration) {
        let recursive = self.recursive.load(Ordering::Relaxed);
        self.window.answered((!recursive).then_some(rtt));
    }

    /// Whether the breaker says down now.
    pub(super) fn is_down(&self) -> bool {
        matches!(*lock(&self.health), Health::Down { .. })
    }

    /// Whether it ever answered anything.
    pub(super) fn ever_answered(&self) -> bool {
        self.last_response.load(Ordering::Relaxed) > 0
    }

    /// Whether a round trip was measured yet.
    pub(super) fn has_rtt(&self) -> bool {
        lock(&self.rtt).estimate.is_some()
    }

    /// Completes when the server next turns to preferring TCP for some zone.
    pub(super) fn switched_to_tcp(&self) -> impl std::future::Future<Output = ()> + '_ {
        self.tcp_switch.notified()
    }

    /// Whether `query` goes over TCP first now: its zone lately got truncated answers.
    pub(super) fn prefers_tcp(&self, query: &Message) -> bool {
        let prefer = lock(&self.prefer_tcp);
        if prefer.is_empty() {
            return false;
        }
        let zone = zone_of(query);
        let now = Instant::now();
        prefer.iter().any(|(z, until)| *z == zone && *until > now)
    }

    /// The server refused (ICMP port unreachable): down at once.
    pub(super) fn refused(&self) {
        let mut health = lock(&self.health);
        if !matches!(*health, Health::Down { .. }) {
            *health = down(Instant::now());
            self.was_down.store(true, Ordering::Relaxed);
        }
    }

    /// A query sent at `sent` got no response within its timeout. If nothing at all came
    /// back from the server since then, it is down after [`SILENT_TIMEOUTS`] such
    /// timeouts; after the first it is suspect and the caller must start a probe (returns
    /// true).
    pub(super) fn timed_out(&self, sent: Instant) -> bool {
        if self.last_response.load(Ordering::Relaxed) >= self.nanos(sent) {
            return false;
        }
        let silent = self.silent_timeouts.fetch_add(1, Ordering::Relaxed) + 1;
        let mut health = lock(&self.health);
        match *health {
            Health::Down { .. } => false,
            _ if silent >= SILENT_TIMEOUTS => {
                *health = down(Instant::now());
                self.was_down.store(true, Ordering::Relaxed);
                false
            }
            Health::Up => {
                *health = Health::Suspect;
                true
            }
            Health::Suspect => false,
        }
    }

    /// Whether a lookup may use the server now.
    pub(super) fn admit(&self) -> Admit {
        let mut health = lock(&self.health);
        match &mut *health {
            Health::Up | Health::Suspect => Admit::Go,
            Health::Down {
                next_probe,
                probing,
                ..
            } => {
                let probe = !*probing && Instant::now() >= *next_probe;
                if probe {
                    *probing = true;
                }
                Admit::Reject { probe }
            }
        }
    }

    /// A probe got no answer: a suspect server is down; a down one waits longer for the
    /// next probe.
    pub(super) fn probe_failed(&self) {
        let mut health = lock(&self.health);
        match &mut *health {
            Health::Up => {}
            Health::Suspect => {
                *health = down(Instant::now());
                self.was_down.store(true, Ordering::Relaxed);
            }
            Health::Down {
                next_probe,
                backoff,
                probing,
            } => {
                *next_probe = Instant::now() + *backoff;
                *backoff = (*backoff * 2).min(PROBE_MAX);
                *probing = false;
            }
        }
    }

    /// Whether the server was judged unreachable at some point.
    pub(super) fn was_down(&self) -> bool {
        self.was_down.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn rto_follows_the_measured_rtt_within_floor_and_cap() {
        let mut rtt = Rtt::default();
        assert_eq!(rtt.rto(RTO_FLOOR, ms(2000)), RTO_INITIAL);
        assert_eq!(rtt.rto(RTO_FLOOR, ms(50)), ms(50), "capped by the timeout");
        for _ in 0..50 {
            rtt.sample(Duration::from_micros(100));
        }
        assert_eq!(rtt.rto(RTO_FLOOR, ms(2000)), RTO_FLOOR);
        for _ in 0..50 {
            rtt.sample(ms(40));
        }
        let rto = rtt.rto(RTO_FLOOR, ms(2000));
        assert!(rto >= ms(40) && rto < ms(100), "{rto:?}");
    }

    #[test]
    fn a_recursive_resolver_gets_the_higher_floor() {
        let server = Server::new("192.0.2.53:53".parse().unwrap());
        for _ in 0..50 {
            server.answered(Some(Duration::from_micros(100)));
        }
        assert_eq!(server.rto(ms(2000)), RTO_FLOOR);
        let mut answer = Message::query();
        answer.metadata.recursion_available = true;
        answer.metadata.authoritative = true;
        server.answered_as(&answer);
        assert_eq!(server.rto(ms(2000)), RTO_FLOOR, "an authoritative answer");
        answer.metadata.authoritative = false;
        server.answered_as(&answer);
        assert_eq!(server.rto(ms(2000)), RECURSIVE_RTO_FLOOR);
        assert_eq!(
            server.rto(ms(100)),
            RECURSIVE_RTO_FLOOR,
            "the floor wins over the cap"
        );
    }

    #[test]
    fn zones_leave_out_the_address_labels() {
        let zone = |name: &str| {
            let name = hickory_proto::rr::Name::from_ascii(name).expect("name");
            let mut m = Message::query();
            m.add_query(hickory_proto::op::Query::query(
                name,
                hickory_proto::rr::RecordType::A,
            ));
            zone_of(&m)
        };
        assert_eq!(zone("4.3.2.1.in-addr.arpa."), "in-addr.arpa");
        assert_eq!(zone("99.2.0.192.BL.test."), "bl.test");
        let v6 = "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.";
        assert_eq!(zone(v6), "ip6.arpa");
        assert_eq!(zone("."), "");
    }

    #[test]
    fn breaker_opens_on_refusal_and_silence_and_closes_on_an_answer() {
        let server = Server::new("127.0.0.1:9".parse().expect("addr"));
        assert_eq!(server.admit(), Admit::Go);
        server.refused();
        assert!(server.is_down() && server.was_down());
        assert_eq!(server.admit(), Admit::Reject { probe: false });
        server.answered(None);
        assert_eq!(server.admit(), Admit::Go);

        // Silence: a timeout with a response since the query was sent is not silence.
        let server = Server::new("127.0.0.1:9".parse().expect("addr"));
        let sent = Instant::now();
        server.answered(None);
        assert!(!server.timed_out(sent));
        std::thread::sleep(ms(2));
        assert!(server.timed_out(Instant::now()), "suspect: probe");
        assert!(!server.timed_out(Instant::now()), "one probe at a time");
        assert_eq!(server.admit(), Admit::Go, "a suspect server is still asked");
        server.probe_failed();
        assert!(server.is_down() && server.was_down());
        server.answered(None);
        assert!(!server.is_down());

        // Many queries timed out in silence: down without a probe's verdict.
        std::thread::sleep(ms(2));
        let sent = Instant::now();
        assert!(server.timed_out(sent));
        assert!(!server.timed_out(sent));
        assert!(!server.is_down());
        assert!(!server.timed_out(sent));
        assert!(server.is_down());
        assert_eq!(server.admit(), Admit::Reject { probe: false });
        server.probe_failed(); // a failed probe of a down server: longer back-off
        assert!(server.is_down());
    }
}
