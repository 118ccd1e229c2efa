//! Events from the NIC: one eventfd per queue, which the kernel signals when
//! the board raises that queue's MSI-X vector (vector q for queue q). A
//! waiter polls the eventfd, so it sleeps until the NIC has news or the
//! timeout passes.

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Duration;

pub struct Events {
    fds: Vec<EventFd>,
}

impl Events {
    /// One eventfd for each of `queues` queues.
    pub fn new(queues: u32) -> Result<Events> {
        let fds = (0..queues)
            .map(|_| EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK))
            .collect::<Result<_, _>>()
            .context("creating the eventfds for MSI-X events")?;
        Ok(Events { fds })
    }

    /// The raw descriptors, in vector order, for the kernel to signal.
    pub fn raw_fds(&self) -> Vec<RawFd> {
        self.fds.iter().map(|fd| fd.as_raw_fd()).collect()
    }

    pub fn len(&self) -> usize {
        self.fds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// Waits up to `timeout` for an event on `queue`; true if one came (and
    /// is consumed, however many interrupts it counts). False also when a
    /// signal cut the wait short, so callers wait in a loop.
    pub fn wait(&self, queue: u32, timeout: Duration) -> Result<bool> {
        let Some(fd) = self.fds.get(queue as usize) else {
            bail!("queue {queue} has no MSI-X vector: the board offers {} (vector q serves queue q)", self.fds.len());
        };
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        let mut poll_fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut poll_fds, timeout) {
            Ok(0) | Err(Errno::EINTR) => return Ok(false),
            Ok(_) => {}
            Err(e) => bail!("waiting for queue {queue}'s event: {e}"),
        }
        match fd.read() {
            Ok(_) => Ok(true),
            // Another reader took it between the poll and the read.
            Err(Errno::EAGAIN) => Ok(false),
            Err(e) => bail!("reading queue {queue}'s eventfd: {e}"),
        }
    }

    /// Signals `queue` as the kernel does on an interrupt: for tests, and to
    /// wake a waiter from another thread.
    pub fn signal(&self, queue: u32) -> Result<()> {
        let fd = self.fds.get(queue as usize).with_context(|| format!("no eventfd for queue {queue}"))?;
        fd.write(1).with_context(|| format!("signalling queue {queue}'s eventfd"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn an_event_wakes_its_own_queue_only_and_is_consumed() {
        let events = Events::new(3).unwrap();
        assert_eq!(events.raw_fds().len(), 3);
        events.signal(1).unwrap();
        events.signal(1).unwrap();
        assert!(!events.wait(0, Duration::ZERO).unwrap());
        assert!(events.wait(1, Duration::from_millis(100)).unwrap());
        assert!(!events.wait(1, Duration::ZERO).unwrap(), "two interrupts, one wake-up");
    }

    #[test]
    fn a_wait_with_no_event_returns_false_after_the_timeout() {
        let events = Events::new(1).unwrap();
        let start = Instant::now();
        assert!(!events.wait(0, Duration::from_millis(30)).unwrap());
        assert!(start.elapsed() >= Duration::from_millis(25));
    }

    #[test]
    fn a_queue_without_a_vector_is_refused() {
        let events = Events::new(2).unwrap();
        let e = events.wait(2, Duration::ZERO).unwrap_err().to_string();
        assert_eq!(e, "queue 2 has no MSI-X vector: the board offers 2 (vector q serves queue q)");
    }
}
