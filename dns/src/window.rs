//! How many UDP queries one nameserver is given at a time: a window that adapts to how it
//! answers, in the manner of TCP congestion control (RFC 5681) and of unbound's
//! per-server limits.
//!
//! The window starts at [`INITIAL`] queries, grows by one per answer while below its
//! threshold (slow start: it doubles per round trip), then by [`GROWTH`] per window of
//! answers (additive increase); it does not grow while answers come clearly later than
//! the least round trip seen (the server queues them), and that ends slow start. A retransmit (the timer fired: the answer is late or lost) halves
//! it, at most once per round trip, and never below [`MIN`] (multiplicative decrease). A
//! server whose queue is full thus gets fewer queries, not more copies of the same ones;
//! a fast one grows past the provider's own concurrency limit within a few round trips.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Queries in flight before anything is known of the server.
pub(super) const INITIAL: f64 = 32.0;
/// The least the window shrinks to: a slow server still gets some concurrency.
pub(super) const MIN: f64 = 4.0;
/// The most it grows to (the provider's concurrency limit is usually lower).
pub(super) const MAX: f64 = 4096.0;

/// Queries added per round trip once out of slow start.
const GROWTH: f64 = 4.0;

/// Whether an answer after `rtt` says the server queues: more than 1.5 times the least
/// round trip (below the retransmit timer's `2 × srtt`, so the window stops growing
/// before answers come late enough to be resent) and 5 ms over it (on loopback the
/// least is ~0.1 ms and scheduling noise alone is a few ms).
fn queueing(rtt: Duration, least: Duration) -> bool {
    rtt > least * 3 / 2 && rtt > least + Duration::from_millis(5)
}

#[derive(Debug)]
struct State {
    /// The window, in queries.
    cwnd: f64,
    /// Below it the window grows by one per answer, above by one per window.
    ssthresh: f64,
    in_flight: usize,
    /// When the window was last halved.
    last_cut: Option<Instant>,
    /// Halvings so far (statistics).
    cuts: u64,
    /// The least round trip seen: the server's time without a queue.
    min_rtt: Option<Duration>,
}

/// One server's window.
#[derive(Debug)]
pub(super) struct Window {
    state: Mutex<State>,
    freed: Notify,
}

/// A query's place in the window, given back when dropped.
pub(super) struct Slot<'a>(&'a Window);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
        self.0.freed.notify_one();
    }
}

impl Default for Window {
    fn default() -> Self {
        Window {
            state: Mutex::new(State {
                cwnd: INITIAL,
                ssthresh: MAX,
                in_flight: 0,
                last_cut: None,
                cuts: 0,
                min_rtt: None,
            }),
            freed: Notify::new(),
        }
    }
}

impl Window {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for room in the window.
    pub(super) async fn acquire(&self) -> Slot<'_> {
        loop {
            // Registered before the check: a slot freed in between is not missed.
            let freed = self.freed.notified();
            {
                let mut s = self.lock();
                if (s.in_flight as f64) < s.cwnd.floor() {
                    s.in_flight += 1;
                    return Slot(self);
                }
            }
            freed.await;
        }
    }

    /// An answer came after `rtt` (`None`: not measured): grow, unless answers take
    /// clearly longer than the least round trip seen (a queue builds at the server; see
    /// [`queueing`]); that also ends slow start, so the window stops doubling before
    /// the server's queue overflows (as TCP's HyStart does).
    pub(super) fn answered(&self, rtt: Option<Duration>) {
        let mut s = self.lock();
        if let Some(rtt) = rtt {
            let least = s.min_rtt.map_or(rtt, |m| m.min(rtt));
            s.min_rtt = Some(least);
            if queueing(rtt, least) {
                if s.cwnd < s.ssthresh {
                    s.ssthresh = s.cwnd;
                }
                return;
            }
        }
        let step = if s.cwnd < s.ssthresh {
            1.0
        } else {
            GROWTH / s.cwnd
        };
        s.cwnd = (s.cwnd + step).min(MAX);
        drop(s);
        // The window may have room for one more.
        self.freed.notify_one();
    }

    /// A retransmit timer fired: halve, unless that was done within the last round
    /// trip `rtt` (the other late answers of the same burst are the same signal).
    pub(super) fn late(&self, rtt: Duration, now: Instant) {
        let mut s = self.lock();
        if s.last_cut
            .is_some_and(|t| now.saturating_duration_since(t) < rtt)
        {
            return;
        }
        s.ssthresh = (s.cwnd / 2.0).max(MIN);
        s.cwnd = s.ssthresh;
        s.last_cut = Some(now);
        s.cuts += 1;
    }

    /// The window now, in queries, and how often it was halved.
    pub(super) fn size(&self) -> (usize, u64) {
        let s = self.lock();
        (s.cwnd as usize, s.cuts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_then_halving_once_per_round_trip_and_additive_growth() {
        let w = Window::default();
        for _ in 0..32 {
            w.answered(Some(Duration::from_millis(50)));
        }
        assert_eq!(w.size(), (64, 0));
        let t0 = Instant::now();
        w.late(Duration::from_millis(50), t0);
        w.late(Duration::from_millis(50), t0 + Duration::from_millis(10));
        assert_eq!(w.size(), (32, 1), "one cut per round trip");
        w.late(Duration::from_millis(50), t0 + Duration::from_millis(60));
        assert_eq!(w.size(), (16, 2));
        // Above the threshold: GROWTH queries more per window of answers.
        for _ in 0..5 {
            w.answered(None);
        }
        assert_eq!(w.size(), (17, 2));
        // Answers slower than 1.5 times the least round trip: a queue, no growth.
        for _ in 0..100 {
            w.answered(Some(Duration::from_millis(120)));
        }
        assert_eq!(w.size(), (17, 2));
        for i in 0..20 {
            w.late(Duration::ZERO, t0 + Duration::from_secs(1 + i));
        }
        assert_eq!(w.size().0, MIN as usize);
    }

    #[tokio::test]
    async fn acquire_waits_for_a_slot_and_a_dropped_slot_wakes_it() {
        let w = std::sync::Arc::new(Window::default());
        let mut held = Vec::new();
        for _ in 0..INITIAL as usize {
            held.push(w.acquire().await);
        }
        let blocked = tokio::time::timeout(Duration::from_millis(50), w.acquire()).await;
        assert!(blocked.is_err(), "a slot past the window was given");
        drop(blocked);
        held.pop();
        let got = tokio::time::timeout(Duration::from_secs(5), w.acquire()).await;
        assert!(got.is_ok(), "a freed slot was not given");
    }
}
