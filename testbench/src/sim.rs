use crate::ffi::Model;
use crate::host_memory::DmaServer;
use crate::pins::Pins;
use crate::wire::wire_cycles;
use std::collections::VecDeque;
use std::fmt;
use std::path::Path;

/// A frame that left on the MAC transmit stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxFrame {
    /// Cycle of the first and the last beat.
    pub start_cycle: u64,
    pub end_cycle: u64,
    pub data: Vec<u8>,
    /// The NIC flagged the frame bad on its last beat (a MAC would abort it).
    pub error: bool,
}

/// What the demultiplexer decided for one frame, as it left the decision
/// port (raw codes; `arsenic_hdl::filter` gives them meaning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawDecision {
    pub cycle: u64,
    pub reason: u8,
    pub queue: u16,
    pub kind: u8,
    pub filter_id: u16,
    pub rss: u32,
}

/// How the simulated MAC takes transmit beats.
pub enum TxPacing {
    /// Like a 1 Gb/s MAC: one byte per cycle, then no new frame until the
    /// padding, FCS, gap and next preamble have passed.
    LineRate,
    /// Ready on every cycle.
    Unlimited,
    /// Ready on the cycles the function says, for back-pressure tests.
    Custom(Box<dyn FnMut(u64) -> bool + Send>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegError {
    /// The NIC did not acknowledge within the allowed cycles.
    Timeout { offset: u32, write: bool, cycles: u64 },
    /// The offset does not fit the register port.
    BadOffset(u32),
}

impl fmt::Display for RegError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegError::Timeout { offset, write, cycles } => write!(
                f,
                "register {} at 0x{offset:06x} got no acknowledgement in {cycles} cycles",
                if *write { "write" } else { "read" }
            ),
            RegError::BadOffset(o) => write!(f, "register offset 0x{o:x} is outside the 16 MiB register space"),
        }
    }
}

impl std::error::Error for RegError {}

const REG_SPACE: u32 = 1 << 24;
const REG_TIMEOUT_CYCLES: u64 = 10_000;

struct RxFrame {
    at: u64,
    data: Vec<u8>,
    error: bool,
}

pub struct Sim {
    model: Model,
    pins: Pins,
    cycle: u64,
    rx_queue: VecDeque<RxFrame>,
    /// The frame being driven and the index of its next byte.
    rx_active: Option<(RxFrame, usize)>,
    tx_pacing: TxPacing,
    /// LineRate pacing: the MAC is busy until this cycle.
    tx_busy_until: u64,
    tx_partial: Vec<u8>,
    tx_start: u64,
    tx_done: Vec<TxFrame>,
    rx_stalls: u64,
    decisions: Vec<RawDecision>,
    dma: DmaServer,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    pub fn new() -> Self {
        Self {
            model: Model::new(),
            pins: Pins::default(),
            cycle: 0,
            rx_queue: VecDeque::new(),
            rx_active: None,
            tx_pacing: TxPacing::LineRate,
            tx_busy_until: 0,
            tx_partial: Vec::new(),
            tx_start: 0,
            tx_done: Vec::new(),
            rx_stalls: 0,
            decisions: Vec::new(),
            dma: DmaServer::default(),
        }
    }

    /// Writes a VCD waveform of every signal from now on.
    pub fn trace(&mut self, path: &Path) -> Result<(), String> {
        self.model.trace(path)
    }

    pub fn set_tx_pacing(&mut self, pacing: TxPacing) {
        self.tx_pacing = pacing;
    }

    /// Cycles run so far.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// Queues a frame on the MAC receive stream to start at cycle `at`, or
    /// as soon as the frames queued before it have been driven. An empty
    /// frame cannot exist on a stream and is ignored; `error` flags the last
    /// beat as a MAC would for a bad FCS.
    pub fn inject(&mut self, data: Vec<u8>, at: u64, error: bool) {
        if !data.is_empty() {
            self.rx_queue.push_back(RxFrame { at, data, error });
        }
    }

    /// Queues frames back to back at 1 Gb/s line rate, starting at `at`.
    /// Returns the cycle at which the wire is free after the last one.
    pub fn inject_line_rate<I: IntoIterator<Item = Vec<u8>>>(&mut self, frames: I, at: u64) -> u64 {
        let mut t = at;
        for f in frames {
            let len = f.len();
            self.inject(f, t, false);
            t += wire_cycles(len);
        }
        t
    }

    /// Frames still waiting to be driven, or being driven.
    pub fn rx_pending(&self) -> usize {
        self.rx_queue.len() + usize::from(self.rx_active.is_some())
    }

    /// Cycles on which the NIC held off the receive stream. A MAC cannot
    /// pause, so each one would be a corrupted frame on a board; the beat
    /// is still delivered here so the count is all that changes.
    pub fn rx_stall_cycles(&self) -> u64 {
        self.rx_stalls
    }

    /// Host memory and the DMA port's server (500 ns reads by default).
    pub fn dma(&mut self) -> &mut DmaServer {
        &mut self.dma
    }

    /// Demultiplexer decisions since the last call, one per received frame,
    /// in frame order.
    pub fn take_decisions(&mut self) -> Vec<RawDecision> {
        std::mem::take(&mut self.decisions)
    }

    /// Frames transmitted since the last call.
    pub fn take_tx(&mut self) -> Vec<TxFrame> {
        std::mem::take(&mut self.tx_done)
    }

    /// A frame is partly out on the transmit stream.
    pub fn tx_in_progress(&self) -> bool {
        !self.tx_partial.is_empty()
    }

    /// Runs `n` clock cycles.
    pub fn run(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }

    /// Runs until every queued frame has been driven and the transmit
    /// stream and the DMA port have been quiet for `quiet` cycles, or `limit` cycles pass.
    /// Returns whether it went quiet.
    pub fn run_until_quiet(&mut self, quiet: u64, limit: u64) -> bool {
        self.run_until_quiet_reporting(quiet, limit, &mut |_| {})
    }

    /// `run_until_quiet`, calling `report` every 65536 cycles so a long run
    /// can show its progress.
    pub fn run_until_quiet_reporting(&mut self, quiet: u64, limit: u64, report: &mut dyn FnMut(&Sim)) -> bool {
        let end = self.cycle + limit;
        let mut idle = 0;
        while self.cycle < end {
            if self.cycle.is_multiple_of(65536) {
                report(self);
            }
            let before = self.tx_partial.len() + self.tx_done.len() + self.decisions.len();
            let dma_before = self.dma.accepted();
            self.step();
            let moved = self.tx_partial.len() + self.tx_done.len() + self.decisions.len() != before
                || self.dma.accepted() != dma_before;
            if self.rx_pending() > 0 || moved || self.tx_in_progress() || self.dma.busy() {
                idle = 0;
            } else {
                idle += 1;
                if idle >= quiet {
                    return true;
                }
            }
        }
        false
    }

    pub fn reg_read(&mut self, offset: u32) -> Result<u32, RegError> {
        self.reg_access(offset, None)
    }

    pub fn reg_write(&mut self, offset: u32, value: u32) -> Result<(), RegError> {
        self.reg_access(offset, Some(value)).map(|_| ())
    }

    fn reg_access(&mut self, offset: u32, write: Option<u32>) -> Result<u32, RegError> {
        if offset >= REG_SPACE || !offset.is_multiple_of(4) {
            return Err(RegError::BadOffset(offset));
        }
        self.pins.reg_addr = offset;
        self.pins.reg_wdata = write.unwrap_or(0);
        self.pins.reg_write = u8::from(write.is_some());
        self.pins.reg_strobe = 1;
        self.step();
        self.pins.reg_strobe = 0;
        for _ in 0..REG_TIMEOUT_CYCLES {
            self.step();
            if self.pins.reg_ack != 0 {
                return Ok(self.pins.reg_rdata);
            }
        }
        Err(RegError::Timeout { offset, write: write.is_some(), cycles: REG_TIMEOUT_CYCLES })
    }

    /// One clock cycle: drive the receive stream, decide transmit
    /// readiness, clock the model, and collect what it transmitted.
    fn step(&mut self) {
        self.drive_rx();
        let ready = match &mut self.tx_pacing {
            TxPacing::LineRate => self.cycle >= self.tx_busy_until,
            TxPacing::Unlimited => true,
            TxPacing::Custom(f) => f(self.cycle),
        };
        self.pins.tx_ready = u8::from(ready);
        self.dma.drive(self.cycle, &mut self.pins);
        self.model.cycle(&mut self.pins);
        self.dma.observe(self.cycle, &self.pins);
        if self.pins.rx_valid != 0 && self.pins.rx_ready == 0 {
            self.rx_stalls += 1;
        }
        if self.pins.decision_valid != 0 {
            self.decisions.push(RawDecision {
                cycle: self.cycle,
                reason: self.pins.decision_reason,
                queue: self.pins.decision_queue,
                kind: self.pins.decision_kind,
                filter_id: self.pins.decision_filter_id,
                rss: self.pins.decision_rss,
            });
        }
        if self.pins.tx_valid != 0 && ready {
            if self.tx_partial.is_empty() {
                self.tx_start = self.cycle;
            }
            self.tx_partial.push(self.pins.tx_data);
            if self.pins.tx_last != 0 {
                let data = std::mem::take(&mut self.tx_partial);
                // The MAC is busy for the whole wire time from the first byte.
                self.tx_busy_until = self.tx_start + wire_cycles(data.len());
                self.tx_done.push(TxFrame {
                    start_cycle: self.tx_start,
                    end_cycle: self.cycle,
                    data,
                    error: self.pins.tx_error != 0,
                });
            }
        }
        self.cycle += 1;
    }

    fn drive_rx(&mut self) {
        if self.rx_active.is_none() {
            if let Some(f) = self.rx_queue.front() {
                if f.at <= self.cycle {
                    self.rx_active = self.rx_queue.pop_front().map(|f| (f, 0));
                }
            }
        }
        let p = &mut self.pins;
        match &mut self.rx_active {
            Some((frame, index)) => {
                let last = *index + 1 == frame.data.len();
                p.rx_data = frame.data[*index];
                p.rx_valid = 1;
                p.rx_last = u8::from(last);
                p.rx_error = u8::from(last && frame.error);
                *index += 1;
                if last {
                    self.rx_active = None;
                }
            }
            None => {
                p.rx_valid = 0;
                p.rx_last = 0;
                p.rx_error = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Until the descriptor engine lands the DMA port is tied off: traffic
    /// and register accesses leave host memory untouched.
    #[test]
    fn the_idle_dma_port_never_touches_host_memory() {
        let mut sim = Sim::new();
        // CONTROL (regmap.rs), loopback on: this crate sits below the hdl crate.
        sim.reg_write(0x044, 1).unwrap();
        let frames: Vec<Vec<u8>> = (0..20).map(|i| vec![i as u8; 64 + i * 10]).collect();
        sim.inject_line_rate(frames, 0);
        assert!(sim.run_until_quiet(256, 100_000));
        assert_eq!(sim.take_tx().len(), 20);
        assert!(sim.dma().take_log().is_empty());
        assert_eq!(sim.dma().protocol_errors(), 0);
    }
}
