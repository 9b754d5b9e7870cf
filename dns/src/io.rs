//! The provider's own I/O thread: a single-threaded tokio runtime that runs every lookup
//! (its sockets, retransmit timers, TCP connections and probes).
//!
//! In the CLI the component's batches keep the main runtime's worker threads busy for
//! milliseconds at a time; an answer that arrives meanwhile waited for a free worker,
//! which inflated every measured round trip and made the retransmit timer fire early. On
//! its own thread, mostly asleep, a lookup is woken by the kernel's scheduler as soon as
//! its answer arrives.

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// The running I/O thread; it stops (and drops its lookups) when this is dropped.
pub(super) struct IoThread {
    handle: Handle,
    _stop: oneshot::Sender<()>,
}

impl IoThread {
    /// Starts the thread and its runtime.
    pub(super) fn start() -> std::io::Result<IoThread> {
        let runtime = Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("logenrich-dns".to_owned())
            .spawn(move || {
                // Ends when the sender is dropped; the runtime is dropped here, outside
                // any async context.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(IoThread {
            handle,
            _stop: stop,
        })
    }

    /// Where lookups are spawned.
    pub(super) fn handle(&self) -> &Handle {
        &self.handle
    }
}
