//! The host's end of the UART protocol: one register access is one
//! request and one reply, with a deadline, a retry for a frame the line
//! corrupted, and errors that name the port.

use super::framer::Framer;
use super::protocol::{self, Command, ProtocolError, Reply, Request, Status, REPLY_LEN, SYNC_REPLY};
use anyhow::{bail, Result};
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

/// What crossed the link, for reports and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub accesses: u64,
    pub retries: u64,
    /// Bytes skipped while looking for replies: garbage, corrupted frames.
    pub skipped: u64,
    /// Replies to earlier requests that came late and were passed over.
    pub stale: u64,
}

/// A byte stream whose reads return within a bounded time: `Ok(0)`,
/// `TimedOut` or `WouldBlock` when nothing has arrived (as a `Tty` does).
/// A stream whose reads block forever would hang the link.
pub struct Link<S: Read + Write> {
    stream: S,
    port: String,
    timeout: Duration,
    seq: u8,
    framer: Framer,
    stats: LinkStats,
}

/// How one attempt failed.
enum Failure {
    /// The line corrupted the request or the reply: worth one retry.
    Checksum(String),
    Fatal(anyhow::Error),
}

impl<S: Read + Write> Link<S> {
    /// `port` names the link in errors; `timeout` bounds each attempt.
    pub fn new(stream: S, port: &str, timeout: Duration) -> Self {
        Link {
            stream,
            port: port.to_string(),
            timeout,
            seq: 0,
            framer: Framer::new(SYNC_REPLY, REPLY_LEN),
            stats: LinkStats::default(),
        }
    }

    pub fn stats(&self) -> LinkStats {
        LinkStats { skipped: self.framer.skipped(), ..self.stats }
    }

    pub fn port(&self) -> &str {
        &self.port
    }

    pub fn read32(&mut self, addr: u32) -> Result<u32> {
        self.access(Command::Read32, addr, 0)
    }

    pub fn write32(&mut self, addr: u32, value: u32) -> Result<()> {
        self.access(Command::Write32, addr, value).map(drop)
    }

    /// One access, retried once if the line corrupted it. A retried write
    /// may have been carried out already (its reply was the casualty);
    /// that is safe because every write in the register map is idempotent:
    /// values, ring tails, and commands that re-apply the staged words.
    fn access(&mut self, command: Command, addr: u32, value: u32) -> Result<u32> {
        self.stats.accesses += 1;
        let what = format!("{} at 0x{addr:06x} on {}", command.name(), self.port);
        let first = match self.attempt(command, addr, value) {
            Ok(v) => return Ok(v),
            Err(Failure::Fatal(e)) => return Err(e.context(what)),
            Err(Failure::Checksum(why)) => why,
        };
        self.stats.retries += 1;
        match self.attempt(command, addr, value) {
            Ok(v) => Ok(v),
            Err(Failure::Fatal(e)) => Err(e.context(what)),
            Err(Failure::Checksum(again)) => bail!(
                "{what}: corrupted twice ({first}; then {again}); the line is noisy or the baud rate is wrong"
            ),
        }
    }

    fn attempt(&mut self, command: Command, addr: u32, value: u32) -> Result<u32, Failure> {
        self.seq = self.seq.wrapping_add(1);
        let req = Request { seq: self.seq, command, addr, value };
        let frame = protocol::encode_request(&req).map_err(|e| Failure::Fatal(e.into()))?;
        let io = |e: std::io::Error| Failure::Fatal(anyhow::Error::new(e).context("writing the request"));
        self.stream.write_all(&frame).map_err(io)?;
        self.stream.flush().map_err(io)?;
        let reply = self.receive(&req)?;
        match protocol::check_reply(&req, &reply) {
            Ok(v) => Ok(v),
            Err(ProtocolError::Refused { status: Status::BadChecksum, .. }) => {
                Err(Failure::Checksum("the board received a corrupted request".into()))
            }
            Err(e) => Err(Failure::Fatal(e.into())),
        }
    }

    /// Waits for the reply to `req`: the first frame with a good CRC that
    /// is not a late reply to an earlier request.
    fn receive(&mut self, req: &Request) -> Result<Reply, Failure> {
        let deadline = Instant::now() + self.timeout;
        let skipped_before = self.framer.skipped();
        let mut corrupted = None;
        let mut buf = [0u8; 64];
        loop {
            while let Some(frame) = self.framer.candidate() {
                match protocol::decode_reply(frame) {
                    Ok(reply) => {
                        self.framer.take();
                        // A board that could not read the request cannot
                        // vouch for its sequence number; any other reply
                        // with another number answers an earlier request.
                        if reply.status != Status::BadChecksum && reply.seq != req.seq {
                            self.stats.stale += 1;
                            continue;
                        }
                        return Ok(reply);
                    }
                    Err(e) => {
                        // A reply whose CRC fails, or a false start in
                        // garbage: look again from the next byte.
                        self.framer.reject();
                        corrupted = Some(e);
                    }
                }
            }
            // A corrupted reply and nothing that could be the real one
            // behind it: the reply itself was hit.
            if let (Some(e), 0) = (corrupted, self.framer.pending()) {
                return Err(Failure::Checksum(format!("the reply was corrupted ({e})")));
            }
            if Instant::now() >= deadline {
                let ms = self.timeout.as_millis();
                let mut msg = format!("no reply from {} within {ms} ms", self.port);
                if let Some(e) = corrupted {
                    msg += &format!(" (only a corrupted frame: {e})");
                }
                if self.framer.pending() > 0 {
                    msg += &format!(" (a partial reply of {} bytes)", self.framer.pending());
                }
                // Garbage but no reply: the line most likely hit the
                // reply's sync byte, which is worth the retry.
                let garbage = self.framer.skipped() - skipped_before;
                if garbage > 0 {
                    return Err(Failure::Checksum(format!("{msg}, only {garbage} bytes of garbage")));
                }
                return Err(Failure::Fatal(anyhow::anyhow!(msg)));
            }
            match self.stream.read(&mut buf) {
                Ok(n) => self.framer.push(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(e) => {
                    return Err(Failure::Fatal(anyhow::Error::new(e).context(format!("reading from {}", self.port))))
                }
            }
        }
    }
}
