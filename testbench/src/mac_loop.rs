//! The GMII MAC test top (`arsenic_hdl::mac_loop::MacLoop`, generated as
//! `verilog-out/mac_loop.v`) in Verilator: `MacTx` and `MacRx` with the
//! wire between them open, so a test passes bytes through, corrupts them,
//! or drives its own GMII.
//!
//! [`MacLoopSim`] is the pins: set the transmit stream, the receive GMII
//! and `rx_frames.ready`, run a cycle, and see what the edge saw. The
//! pieces after it are what most tests want on top: [`TxFeeder`] offers
//! frames the way a store-and-forward FIFO does, [`BurstCollector`] splits
//! GMII into transmissions, [`RxCollector`] reassembles received frames,
//! and [`Loopback`] wires MacTx's GMII back into MacRx's through a
//! function that may tamper with it.

use crate::ffi::MacLoopModel;
use crate::pins::MacLoopPins;
use std::collections::VecDeque;
use std::path::Path;

/// One cycle of GMII in one direction: `en` is `tx_en` or `rx_dv`, `er`
/// is `tx_er` or `rx_er`, `data` is `txd` or `rxd`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gmii {
    pub en: bool,
    pub er: bool,
    pub data: u8,
}

impl Gmii {
    pub const IDLE: Gmii = Gmii { en: false, er: false, data: 0 };

    /// A data byte of a burst.
    pub fn byte(data: u8) -> Self {
        Gmii { en: true, er: false, data }
    }
}

/// One beat of a frame stream (one byte; `error` only means something
/// with `last`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Beat {
    pub data: u8,
    pub last: bool,
    pub error: bool,
}

/// Every counter of MacTx and MacRx (see their docs), wrapping at 2^32 as
/// in the gateware.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MacCounters {
    pub tx_frames_sent: u32,
    pub tx_bytes_sent: u32,
    pub tx_frames_aborted: u32,
    pub rx_symbol_errors: u32,
    pub rx_fcs_errors: u32,
    pub rx_runts: u32,
    pub rx_giants: u32,
    pub rx_no_sfd: u32,
    pub rx_good_frames: u32,
    pub rx_good_bytes: u32,
}

/// What one rising edge saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The cycle's number, counted from 0.
    pub cycle: u64,
    /// The offered transmit beat moved (`valid && ready`).
    pub tx_taken: bool,
    /// MacTx's GMII outputs in this cycle.
    pub gmii_tx: Gmii,
    /// A beat on MacRx's frame stream in this cycle.
    pub rx: Option<Beat>,
}

/// The Verilated MAC test top, one clock cycle at a time. Inputs hold
/// their value until set again; `rx_frames.ready` starts high.
pub struct MacLoopSim {
    model: MacLoopModel,
    pins: MacLoopPins,
    cycle: u64,
}

impl Default for MacLoopSim {
    fn default() -> Self {
        Self::new()
    }
}

impl MacLoopSim {
    pub fn new() -> Self {
        Self { model: MacLoopModel::new(), pins: MacLoopPins { rx_ready: 1, ..Default::default() }, cycle: 0 }
    }

    /// Writes a VCD waveform of every signal from now on.
    pub fn trace(&mut self, path: &Path) -> Result<(), String> {
        self.model.trace(path)
    }

    /// Cycles run so far.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// Offers a beat to MacTx's frame stream (`valid` high), or nothing.
    pub fn offer_tx(&mut self, beat: Option<Beat>) {
        let p = &mut self.pins;
        p.tx_valid = u8::from(beat.is_some());
        if let Some(b) = beat {
            p.tx_data = b.data;
            p.tx_last = u8::from(b.last);
            p.tx_error = u8::from(b.error);
        } else {
            p.tx_last = 0;
            p.tx_error = 0;
        }
    }

    /// Drives MacRx's GMII inputs.
    pub fn drive_gmii_rx(&mut self, g: Gmii) {
        self.pins.gmii_rx_dv = u8::from(g.en);
        self.pins.gmii_rx_er = u8::from(g.er);
        self.pins.gmii_rxd = g.data;
    }

    /// `rx_frames.ready`; MacRx ignores it, as a receive MAC must.
    pub fn set_rx_ready(&mut self, ready: bool) {
        self.pins.rx_ready = u8::from(ready);
    }

    /// Runs one clock cycle and reports what its rising edge saw.
    pub fn step(&mut self) -> Edge {
        self.model.cycle(&mut self.pins);
        let p = &self.pins;
        let edge = Edge {
            cycle: self.cycle,
            tx_taken: p.tx_valid != 0 && p.tx_ready != 0,
            gmii_tx: Gmii { en: p.gmii_tx_en != 0, er: p.gmii_tx_er != 0, data: p.gmii_txd },
            rx: (p.rx_valid != 0).then_some(Beat { data: p.rx_data, last: p.rx_last != 0, error: p.rx_error != 0 }),
        };
        self.cycle += 1;
        edge
    }

    /// The counters after the last edge run (including what it counted).
    pub fn counters(&self) -> MacCounters {
        let p = &self.pins;
        MacCounters {
            tx_frames_sent: p.tx_frames_sent,
            tx_bytes_sent: p.tx_bytes_sent,
            tx_frames_aborted: p.tx_frames_aborted,
            rx_symbol_errors: p.rx_symbol_errors,
            rx_fcs_errors: p.rx_fcs_errors,
            rx_runts: p.rx_runts,
            rx_giants: p.rx_giants,
            rx_no_sfd: p.rx_no_sfd,
            rx_good_frames: p.rx_good_frames,
            rx_good_bytes: p.rx_good_bytes,
        }
    }
}

/// Frames for MacTx offered as a store-and-forward FIFO offers them: the
/// next byte on every cycle, frames back to back, so each beat moves as
/// soon as MacTx is ready for it.
#[derive(Default)]
pub struct TxFeeder {
    frames: VecDeque<(Vec<u8>, bool)>,
    pos: usize,
    done: u64,
}

impl TxFeeder {
    /// Queues a frame (no preamble, no FCS); `error` marks its last beat.
    /// A stream cannot carry an empty frame.
    pub fn push(&mut self, data: Vec<u8>, error: bool) {
        assert!(!data.is_empty(), "an empty frame cannot go on a frame stream");
        self.frames.push_back((data, error));
    }

    /// The beat to offer now.
    pub fn offer(&self) -> Option<Beat> {
        self.frames.front().map(|(data, error)| {
            let last = self.pos + 1 == data.len();
            Beat { data: data[self.pos], last, error: last && *error }
        })
    }

    /// The offered beat moved.
    pub fn taken(&mut self) {
        let len = self.frames.front().expect("nothing was offered").0.len();
        self.pos += 1;
        if self.pos == len {
            self.frames.pop_front();
            self.pos = 0;
            self.done += 1;
        }
    }

    /// (frames wholly taken so far, bytes taken of the next one).
    pub fn position(&self) -> (u64, usize) {
        (self.done, self.pos)
    }

    /// Frames not yet wholly taken.
    pub fn pending(&self) -> usize {
        self.frames.len()
    }
}

/// A frame that came out of MacRx.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxFrame {
    pub data: Vec<u8>,
    /// `error` on its last beat: MacRx marked it bad.
    pub error: bool,
    /// The cycle of its last beat.
    pub last_cycle: u64,
}

/// Reassembles MacRx's stream into frames.
#[derive(Default)]
pub struct RxCollector {
    current: Vec<u8>,
    pub frames: Vec<RxFrame>,
    /// Beats with `error` but not `last`, which the stream forbids.
    pub stray_errors: u64,
}

impl RxCollector {
    pub fn push(&mut self, cycle: u64, beat: Beat) {
        self.current.push(beat.data);
        if beat.last {
            let data = std::mem::take(&mut self.current);
            self.frames.push(RxFrame { data, error: beat.error, last_cycle: cycle });
        } else if beat.error {
            self.stray_errors += 1;
        }
    }

    /// A frame has begun and not ended.
    pub fn in_frame(&self) -> bool {
        !self.current.is_empty()
    }
}

/// One transmission on GMII: the cycle `en` rose, every byte while it was
/// high (preamble and FCS included), and the offsets at which `er` was high.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Burst {
    pub start: u64,
    pub bytes: Vec<u8>,
    pub er_at: Vec<usize>,
}

/// Splits GMII cycles into bursts.
#[derive(Default)]
pub struct BurstCollector {
    pub bursts: Vec<Burst>,
    open: bool,
    /// Cycles with `er` and not `en` (carrier extension, or a fault).
    pub er_outside: u64,
}

impl BurstCollector {
    /// Records one cycle; while `en` is high, returns this byte's place:
    /// (index of its burst, offset in the burst).
    pub fn push(&mut self, cycle: u64, g: Gmii) -> Option<(usize, usize)> {
        if !g.en {
            self.open = false;
            self.er_outside += u64::from(g.er);
            return None;
        }
        if !self.open {
            self.bursts.push(Burst { start: cycle, bytes: vec![], er_at: vec![] });
            self.open = true;
        }
        let index = self.bursts.len() - 1;
        let b = &mut self.bursts[index];
        if g.er {
            b.er_at.push(b.bytes.len());
        }
        b.bytes.push(g.data);
        Some((index, b.bytes.len() - 1))
    }

    /// A burst is in progress.
    pub fn is_open(&self) -> bool {
        self.open
    }
}

/// Tampers with the wire: sees each cycle MacTx sent, with its place in the
/// bursts while `en` is high, and returns what MacRx gets.
pub type Tamper<'a> = &'a mut dyn FnMut(Option<(usize, usize)>, Gmii) -> Gmii;

/// MacTx fed by a [`TxFeeder`], its GMII recorded and passed to MacRx one
/// cycle later (a wire with a register in it), MacRx's frames collected.
#[derive(Default)]
pub struct Loopback {
    pub sim: MacLoopSim,
    pub feeder: TxFeeder,
    pub wire: BurstCollector,
    pub rx: RxCollector,
    in_flight: Gmii,
}

impl Loopback {
    pub fn new() -> Self {
        Self::default()
    }

    /// One cycle with the wire passed through untouched.
    pub fn step(&mut self) -> Edge {
        self.step_tampered(&mut |_, g| g)
    }

    /// One cycle, MacRx getting what `tamper` makes of MacTx's GMII.
    pub fn step_tampered(&mut self, tamper: Tamper) -> Edge {
        self.step_inner(false, tamper)
    }

    /// One cycle with the transmit stream's `valid` held low whatever the
    /// feeder holds: an underrun if MacTx is in the middle of a frame.
    pub fn step_withholding_tx(&mut self) -> Edge {
        self.step_inner(true, &mut |_, g| g)
    }

    fn step_inner(&mut self, withhold: bool, tamper: Tamper) -> Edge {
        self.sim.drive_gmii_rx(self.in_flight);
        self.sim.offer_tx(if withhold { None } else { self.feeder.offer() });
        let edge = self.sim.step();
        if edge.tx_taken {
            self.feeder.taken();
        }
        let place = self.wire.push(edge.cycle, edge.gmii_tx);
        self.in_flight = tamper(place, edge.gmii_tx);
        if let Some(b) = edge.rx {
            self.rx.push(edge.cycle, b);
        }
        edge
    }

    /// Runs until every queued frame has been sent and received and the
    /// wire and the receive stream have been idle for `quiet` cycles, or
    /// `limit` cycles pass; returns whether it went quiet.
    pub fn run_until_quiet(&mut self, quiet: u64, limit: u64, tamper: Tamper) -> bool {
        let mut idle = 0;
        for _ in 0..limit {
            let edge = self.step_tampered(tamper);
            let busy = self.feeder.pending() > 0
                || edge.gmii_tx.en
                || self.in_flight.en
                || edge.rx.is_some()
                || self.rx.in_frame();
            idle = if busy { 0 } else { idle + 1 };
            if idle >= quiet {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shim's pin order matches the ports: a byte offered on the
    /// stream leaves on GMII after the preamble, and GMII driven into the
    /// receiver moves its counters.
    #[test]
    fn pins_reach_their_ports() {
        let mut lb = Loopback::new();
        lb.feeder.push(vec![0xA5; 60], false);
        assert!(lb.run_until_quiet(20, 1000, &mut |_, g| g));
        assert_eq!(lb.wire.bursts.len(), 1);
        assert_eq!(lb.wire.bursts[0].bytes[..9], [0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xD5, 0xA5]);
        assert_eq!(lb.rx.frames.len(), 1);
        assert_eq!(lb.rx.frames[0].data, vec![0xA5; 60]);
        let c = lb.sim.counters();
        assert_eq!((c.tx_frames_sent, c.tx_bytes_sent, c.rx_good_frames, c.rx_good_bytes), (1, 60, 1, 60));

        // A burst of a lone 0x00: no preamble, so no start delimiter.
        let mut sim = MacLoopSim::new();
        sim.drive_gmii_rx(Gmii::byte(0));
        sim.step();
        sim.drive_gmii_rx(Gmii::IDLE);
        for _ in 0..4 {
            sim.step();
        }
        assert_eq!(sim.counters(), MacCounters { rx_no_sfd: 1, ..Default::default() });
    }
}
