//! The network a demo or test runs: a simulated host on one end of a wire,
//! a far end on the other (the Linux stack behind a TAP device, or a
//! second simulated host), a lane each way. `step` runs everything for a
//! slice of simulated time and moves the frames.
//!
//! Time: both ends run on simulated cycles. When nothing is in flight
//! anywhere and a stack only waits for a timer, the stacks' clocks skip
//! ahead instead of simulating an idle NIC for a retransmission timeout
//! that would take minutes of wall time. A Linux peer runs on wall time,
//! so before skipping, the wire waits a little for it (its delayed ACK).

use super::link::{Impairment, Lane, LaneStats};
use super::sim_host::SimHost;
use crate::device::{Device, Wire};
use anyhow::Result;
use std::time::Duration;

/// Cycles a step runs the NIC: 2 us, short against a minimum frame's RTT
/// through the NIC, so the stacks answer promptly.
pub const STEP_CYCLES: u64 = 256;
/// Steps with no frame moving before the network counts as idle: longer
/// than any gap inside the NIC (`rtl::QUIET_CYCLES`).
const IDLE_STEPS: u32 = 8;

/// The other end of the wire.
pub trait FarEnd {
    /// Takes a frame off the wire.
    fn deliver(&mut self, frame: Vec<u8>) -> Result<()>;
    /// Frames the far end put on the wire since the last call.
    fn collect(&mut self) -> Result<Vec<Vec<u8>>>;
    /// Lets the far end run for `cycles` of simulated time; returns whether
    /// anything happened in it.
    fn run(&mut self, cycles: u64) -> Result<bool>;
    /// The far end has nothing in flight.
    fn idle(&mut self) -> bool;
    /// Cycles until the far end needs time to pass (a timer), if ever.
    fn poll_delay_cycles(&mut self) -> Option<u64>;
    fn skip(&mut self, cycles: u64);
    /// For a far end on wall time: waits up to `d` for it to send; returns
    /// whether it did. A simulated far end never waits.
    fn wait_wall(&mut self, d: Duration) -> Result<bool>;
}

/// A simulated host as the far end: it polls its stacks and runs its NIC.
impl<D: Device + Wire> FarEnd for SimHost<D> {
    fn deliver(&mut self, frame: Vec<u8>) -> Result<()> {
        self.dev.send(&frame, false);
        Ok(())
    }

    fn collect(&mut self) -> Result<Vec<Vec<u8>>> {
        Ok(self.dev.take_transmitted().into_iter().map(|f| f.data).collect())
    }

    fn run(&mut self, cycles: u64) -> Result<bool> {
        let before = self.progress();
        let changed = self.poll()?;
        self.advance(cycles)?;
        Ok(changed || self.progress() != before)
    }

    fn idle(&mut self) -> bool {
        self.tx_backlog() == 0
    }

    fn poll_delay_cycles(&mut self) -> Option<u64> {
        SimHost::poll_delay_cycles(self)
    }

    fn skip(&mut self, cycles: u64) {
        SimHost::skip(self, cycles)
    }

    fn wait_wall(&mut self, _d: Duration) -> Result<bool> {
        Ok(false)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NetStats {
    /// Host to far end.
    pub out: LaneStats,
    /// Far end to host.
    pub back: LaneStats,
    pub steps: u64,
    /// Cycles the stacks' clocks skipped while all was idle.
    pub skipped_cycles: u64,
}

pub struct Net<D: Device + Wire, F: FarEnd> {
    pub host: SimHost<D>,
    pub far: F,
    out: Lane,
    back: Lane,
    quiet_steps: u32,
    stats: NetStats,
    /// How long to wait for a far end on wall time before skipping.
    wall_wait: Duration,
}

impl<D: Device + Wire, F: FarEnd> Net<D, F> {
    pub fn new(host: SimHost<D>, far: F, impair: Impairment) -> Net<D, F> {
        let back = Impairment { seed: impair.seed.wrapping_add(1), ..impair };
        Net {
            host,
            far,
            out: Lane::new(impair),
            back: Lane::new(back),
            quiet_steps: 0,
            stats: NetStats::default(),
            // Linux delays an ACK by up to 200 ms of its own (wall) time;
            // skipping sooner would fire the stacks' retransmission timers
            // at data that was only waiting for that ACK.
            wall_wait: Duration::from_millis(250),
        }
    }

    pub fn stats(&self) -> NetStats {
        NetStats { out: self.out.stats(), back: self.back.stats(), ..self.stats }
    }

    /// The host's clock, in cycles.
    pub fn clock(&self) -> u64 {
        self.host.clock()
    }

    /// One slice of time: the stacks on both ends answer what came in, the
    /// NICs run `STEP_CYCLES`, and frames cross the wire.
    pub fn step(&mut self) -> Result<()> {
        self.stats.steps += 1;
        let before = self.host.progress();
        let mut moved = self.host.poll()?;
        self.host.advance(STEP_CYCLES)?;
        moved |= self.far.run(STEP_CYCLES)?;
        moved |= self.cross()?;
        moved |= self.host.progress() != before;
        if moved {
            self.quiet_steps = 0;
            return Ok(());
        }
        self.quiet_steps += 1;
        if self.quiet_steps >= IDLE_STEPS && self.host.tx_backlog() == 0 && self.far.idle() && !self.out.holding() && !self.back.holding() {
            self.quiet_steps = 0;
            if self.far.wait_wall(self.wall_wait)? {
                return Ok(());
            }
            let delay = [self.host.poll_delay_cycles(), self.far.poll_delay_cycles()].into_iter().flatten().min();
            if let Some(d) = delay.filter(|&d| d > STEP_CYCLES) {
                let d = d - STEP_CYCLES;
                self.host.skip(d);
                self.far.skip(d);
                self.stats.skipped_cycles += d;
            }
        }
        Ok(())
    }

    /// Moves frames both ways; returns whether any moved.
    fn cross(&mut self) -> Result<bool> {
        let mut moved = false;
        let out: Vec<Vec<u8>> = self.host.dev.take_transmitted().into_iter().map(|f| f.data).collect();
        for f in out {
            moved = true;
            for g in self.out.pass(f) {
                self.far.deliver(g)?;
            }
        }
        if let Some(f) = self.out.tick() {
            self.far.deliver(f)?;
        }
        for f in self.far.collect()? {
            moved = true;
            for g in self.back.pass(f) {
                self.host.dev.send(&g, false);
            }
        }
        if let Some(f) = self.back.tick() {
            self.host.dev.send(&f, false);
        }
        Ok(moved)
    }
}
