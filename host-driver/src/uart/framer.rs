//! Finding fixed-size frames in a byte stream: skip to the next sync byte,
//! wait for the frame's length, and count what was skipped so a noisy
//! line shows up in reports instead of as silent retries.

/// Collects bytes and cuts them into candidate frames of `len` bytes that
/// start with `sync`. A candidate is only a candidate: the caller checks
/// its CRC and either `take`s it or `reject`s its start.
pub struct Framer {
    sync: u8,
    len: usize,
    buf: Vec<u8>,
    skipped: u64,
}

impl Framer {
    pub fn new(sync: u8, len: usize) -> Self {
        Framer { sync, len, buf: Vec::with_capacity(2 * len), skipped: 0 }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete candidate frame, after dropping (and counting)
    /// the bytes before its sync byte; `None` while none is complete.
    pub fn candidate(&mut self) -> Option<&[u8]> {
        let start = self.buf.iter().position(|&b| b == self.sync).unwrap_or(self.buf.len());
        self.skipped += start as u64;
        self.buf.drain(..start);
        (self.buf.len() >= self.len).then(|| &self.buf[..self.len])
    }

    /// Consumes the current candidate whole (what the board's bridge does
    /// with every frame, good or bad).
    pub fn take(&mut self) {
        let n = self.len.min(self.buf.len());
        self.buf.drain(..n);
    }

    /// Drops only the candidate's sync byte, counting it as skipped, so a
    /// real frame that began inside a false one is still found (what the
    /// host does: its buffer costs nothing).
    pub fn reject(&mut self) {
        if !self.buf.is_empty() {
            self.buf.remove(0);
            self.skipped += 1;
        }
    }

    /// Drops a partial frame, counting its bytes as skipped (after the
    /// line went idle in the middle of one).
    pub fn reset(&mut self) {
        self.skipped += self.buf.len() as u64;
        self.buf.clear();
    }

    /// Bytes held that are not yet part of a complete frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Bytes skipped so far: garbage, rejected starts and dropped partials.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}
