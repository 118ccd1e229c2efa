//! The `rtl` backend: the generated Verilog, Verilated, stepped in-process.
//! Register accesses advance the simulated clock, so traffic keeps flowing
//! while the driver talks to the device, as it would on a board.

use super::decisions::DecisionLog;
use super::{check_page_offset, Demux, Device, Page, RegisterPage, Received, Waiter, Wire, WireFrame};
use crate::dma::DmaBlock;
use anyhow::{anyhow, bail, Result};
use arsenic_testbench::{wire::wire_cycles, Sim, TxPacing};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

/// Cycles the transmit side may stay busy after the last frame arrived
/// before `drain` gives up: enough for the loopback buffer to empty twice.
pub const DRAIN_SLACK_CYCLES: u64 = 200_000;
/// Idle cycles that count as quiet: longer than any gap inside the NIC.
/// The longest is the transmit engine checking a maximum frame against its
/// queue's template, one byte a cycle, and then dropping it: 1522 cycles
/// with nothing on the wire and no DMA.
pub const QUIET_CYCLES: u64 = 2048;

pub struct RtlDevice {
    sim: Rc<RefCell<Sim>>,
    /// First cycle at which the receive wire is free for the next frame.
    wire_free_at: u64,
    /// Frames the NIC flagged bad on transmit; a MAC aborts those.
    aborted: u64,
    /// Frames sent and not yet paired with their decision, with the cycle
    /// each was queued to start.
    decisions: DecisionLog,
    /// Non-empty frames queued on the wire so far.
    frames_sent: u64,
}

impl Default for RtlDevice {
    fn default() -> Self {
        Self::new()
    }
}

impl RtlDevice {
    pub fn new() -> Self {
        Self {
            sim: Rc::new(RefCell::new(Sim::new())),
            wire_free_at: 0,
            aborted: 0,
            decisions: DecisionLog::default(),
            frames_sent: 0,
        }
    }

    /// Records every signal to a VCD file from now on.
    pub fn trace(&mut self, path: &Path) -> Result<()> {
        self.sim.borrow_mut().trace(path).map_err(|e| anyhow!(e))
    }

    pub fn set_tx_pacing(&mut self, pacing: TxPacing) {
        self.sim.borrow_mut().set_tx_pacing(pacing);
    }

    /// Cycles the NIC held off the receive stream; must stay 0 (see Sim).
    pub fn rx_stall_cycles(&self) -> u64 {
        self.sim.borrow().rx_stall_cycles()
    }

    pub fn aborted_frames(&self) -> u64 {
        self.aborted
    }

    /// Decisions with a reason or kind code the driver does not know;
    /// reported as `FrameError`. Must stay 0.
    pub fn undecodable_decisions(&self) -> u64 {
        self.decisions.undecodable()
    }
}

impl Demux for RtlDevice {
    fn take_received(&mut self) -> Vec<Received> {
        let raw = self.sim.borrow_mut().take_decisions();
        self.decisions.pair(raw)
    }
}

struct RtlPage {
    sim: Rc<RefCell<Sim>>,
    page: Page,
}

impl RegisterPage for RtlPage {
    fn read32(&self, offset: u32) -> Result<u32> {
        let addr = check_page_offset(self.page, offset)?;
        Ok(self.sim.borrow_mut().reg_read(addr)?)
    }

    fn write32(&self, offset: u32, value: u32) -> Result<()> {
        let addr = check_page_offset(self.page, offset)?;
        Ok(self.sim.borrow_mut().reg_write(addr, value)?)
    }
}

impl Device for RtlDevice {
    fn backend(&self) -> &'static str {
        "rtl"
    }

    fn map_page(&self, page: Page) -> Result<Box<dyn RegisterPage>> {
        check_page_offset(page, 0)?;
        Ok(Box::new(RtlPage { sim: Rc::clone(&self.sim), page }))
    }

    fn dma_alloc(&self, len: usize) -> Result<DmaBlock> {
        let arena = self.sim.borrow_mut().dma().memory.arena();
        let (bus, ptr) = arena.alloc(len);
        // SAFETY: the arena keeps the region allocated, unmoved and at
        // `bus` while the Rc handed over as owner lives; only the
        // simulated NIC's DMA port (by bus address) and this block reach it.
        Ok(unsafe { DmaBlock::new(ptr, len, bus, arena) })
    }

    fn waiter(&self) -> Box<dyn Waiter> {
        Box::new(RtlWaiter { sim: Rc::clone(&self.sim) })
    }
}

impl super::DmaLog for RtlDevice {
    fn take_dma_log(&self) -> Vec<arsenic_testbench::host_memory::DmaAccess> {
        self.sim.borrow_mut().dma().take_log()
    }
}

struct RtlWaiter {
    sim: Rc<RefCell<Sim>>,
}

impl Waiter for RtlWaiter {
    fn now(&self) -> u64 {
        self.sim.borrow().cycle()
    }

    fn advance(&self, cycles: u64) -> Result<()> {
        self.sim.borrow_mut().run(cycles);
        Ok(())
    }
}

impl RtlDevice {
    /// DMA requests that broke the port's protocol; must stay 0.
    pub fn dma_protocol_errors(&self) -> u64 {
        self.sim.borrow_mut().dma().protocol_errors()
    }

    pub fn set_dma_read_latency(&self, cycles: u64) {
        self.sim.borrow_mut().dma().set_read_latency(cycles);
    }
}

impl Wire for RtlDevice {
    fn send(&mut self, frame: &[u8], fcs_error: bool) {
        if frame.is_empty() {
            return;
        }
        let mut sim = self.sim.borrow_mut();
        let at = self.wire_free_at.max(sim.cycle());
        sim.inject(frame.to_vec(), at, fcs_error);
        self.frames_sent += 1;
        self.decisions.sent(at, frame);
        self.wire_free_at = at + wire_cycles(frame.len());
    }

    fn drain_reporting(&mut self, report: &mut dyn FnMut(u64)) -> Result<()> {
        let mut sim = self.sim.borrow_mut();
        let limit = self.wire_free_at.saturating_sub(sim.cycle()) + DRAIN_SLACK_CYCLES;
        let sent = self.frames_sent;
        if !sim.run_until_quiet_reporting(QUIET_CYCLES, limit, &mut |s| report(sent - s.rx_pending() as u64)) {
            bail!(
                "the simulated NIC was still busy {limit} cycles after the last frame was queued \
                 ({} frames not yet received)",
                sim.rx_pending()
            );
        }
        Ok(())
    }

    fn settle(&mut self, max_cycles: u64) -> Result<bool> {
        Ok(self.sim.borrow_mut().run_until_quiet(QUIET_CYCLES, max_cycles))
    }

    fn take_transmitted(&mut self) -> Vec<WireFrame> {
        let frames = self.sim.borrow_mut().take_tx();
        let mut out = Vec::with_capacity(frames.len());
        for f in frames {
            if f.error {
                self.aborted += 1;
            } else {
                out.push(WireFrame { cycle: f.start_cycle, data: f.data });
            }
        }
        out
    }

    fn cycles(&self) -> u64 {
        self.sim.borrow().cycle()
    }
}
