//! The transmit wire of the `model` backend, driven by time: one frame at a
//! time, each holding the wire for `wire_cycles(len)`. Whenever the wire is
//! free and a queue has frames posted, the shaper (`model_shaper`) picks
//! the turn; if no queue may send yet, the next pick is when the first one
//! may. Picks are made only up to the model's present cycle, so frames
//! leave as the driver lets time pass, as they would on hardware.

use super::model_engine::{Effects, QueueEngine};
use super::model_shaper::{Pick, Shaper};
use super::WireFrame;
use arsenic_hdl::shaping::wire_bytes;
use arsenic_testbench::wire::wire_cycles;

#[derive(Default)]
pub struct Transmitter {
    pub shaper: Shaper,
    /// First cycle the wire is free.
    free_at: u64,
    /// Every pick before this cycle has been made: the model's present
    /// when transmission last ran.
    clock: u64,
}

impl Transmitter {
    /// Sends, frame by frame, what the queues and the shaper allow before
    /// or at cycle `until`, appending the frames to `out`.
    pub fn run(&mut self, until: u64, engine: &mut QueueEngine, fx: &mut Effects, out: &mut Vec<WireFrame>) {
        let mut t = self.free_at.max(self.clock);
        while t <= until {
            match self.shaper.pick(t, |q| engine.tx_pending(q)) {
                Pick::Idle => break,
                Pick::At(at) => t = at,
                Pick::Serve { queue, green } => {
                    // A rejected descriptor takes no wire time and costs
                    // nothing; the next turn is picked at the same cycle.
                    if let Some(frame) = engine.transmit_one(t, queue, fx) {
                        self.shaper.charge(queue, green, wire_bytes(frame.len() as u32));
                        self.free_at = t + wire_cycles(frame.len());
                        t = self.free_at;
                        out.push(WireFrame { cycle: t - wire_cycles(frame.len()), data: frame });
                    }
                }
            }
        }
        self.clock = self.clock.max(until);
    }

    /// The cycle from which the wire is next free.
    pub fn free_at(&self) -> u64 {
        self.free_at
    }

    /// The next cycle, after transmission has run to the present, at which
    /// a frame could start if nothing changes; None when nothing is posted.
    pub fn next_start(&mut self, engine: &QueueEngine) -> Option<u64> {
        let t = self.free_at.max(self.clock);
        // Refilling is the same whichever steps it is taken in, so looking
        // ahead leaves the buckets as the real pick will find them; the
        // round robin pointers only move on a turn, which this does not take.
        match self.shaper.peek(t, |q| engine.tx_pending(q)) {
            Pick::Idle => None,
            Pick::At(at) => Some(at),
            Pick::Serve { .. } => Some(t),
        }
    }
}
