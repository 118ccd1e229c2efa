//! The receive clock crossing: frames from `MacRx`, which runs on the PHY's
//! receive clock, into the core clock domain, through a 64-word
//! asynchronous FIFO with gray-coded pointers and two-flop synchronisers.
//!
//! Write side (`write_clock`, the PHY's RXC): `frames_in.ready` is always
//! high (a MAC cannot pause). Each beat is stored as data, `last` and
//! `error`. A frame starts only if there is room for its first beat and one
//! more word; every later beat but the last needs that same spare word, so
//! the last word of a frame always fits. When a beat finds no room for it
//! plus the spare, it goes into the spare word marked `last` and `error`:
//! the frame is cut there, visibly bad, and the rest of it is discarded.
//! A frame that finds no room for its first beat is dropped whole. Each cut
//! or dropped frame is counted once in `overflows`. Frames are never merged
//! or truncated silently.
//!
//! Read side (`clock`, the core clock): frames leave whole, one beat per
//! cycle from their first beat to their `last`, with no gap while `ready`
//! is high. To keep that promise across two clocks the reader starts a
//! frame only when the frame is already complete in the FIFO or at least
//! `START_BEATS` of it are visible; after that the writer refills at its
//! own rate and the lead can only shrink by the clock difference. If it
//! ever runs out (a frame far longer than any Ethernet frame while the
//! core clock is the faster, or a writer that pauses inside a frame), the
//! beat due goes out as a filler with `last` and `error` (data 0), the rest
//! of that frame is discarded, and `underruns` counts it.
//! `frames_out.valid` does not depend on `ready`; a beat on offer stays on
//! offer until taken. The core is expected to hold `ready` high; a reader
//! that stalls fills the FIFO, and the writer then cuts as above.
//!
//! Sizing: the two clocks are 125 MHz +-100 ppm each, so one runs at most
//! 200 ppm (e = 2e-4) faster than the other. The reader starts a frame once
//! 8 of its words are visible, and sees the write pointer at most 4 of its
//! cycles late (the pointer's register, the two-flop synchroniser and a
//! register of compares after it); the writer sees the read pointer at
//! most 4 of its cycles late likewise. So when a frame starts the writer
//! counts about 8 + 4 + 4 words used. While the
//! frame streams, each side moves one word per cycle of its own clock, so
//! the backlog drifts by at most e * L words for an L-byte frame: 0.3 for
//! 1522 bytes, 1.8 for a 9000-byte jumbo. Between frames the reader drains
//! what is left at its full rate while the writer is idle, so a backlog
//! carries into the next frame only by what e * L exceeds the gap; MacRx
//! leaves at least 7 idle cycles between frames (the 4 FCS bytes it strips,
//! a cycle of RX_DV low, a preamble byte and the SFD; 24 with the standard
//! interframe gap and preamble), far above 0.3. The test measures at most
//! 14 words used with the clocks 250 ppm apart either way and a single
//! idle cycle between frames of 14..1522 bytes. A 64-word FIFO, of which
//! the writer fills 62 before it cuts, therefore cannot fill unless the
//! reader stops, or one frame is longer than about (62 - 14) / e =
//! 240,000 bytes with the core clock the slower; it cannot run dry inside
//! a frame shorter than about (8 - 2) / e = 30,000 bytes with the core
//! clock the faster.
//!
//! Frame ends reach the reader through a second gray-coded count, launched
//! three write cycles after the word that ends the frame, so the reader
//! can never see a frame as complete before it sees the frame's last word.
//! `overflows` and `underruns` are in the core clock domain; a gray-coded
//! 4-bit event count carries the overflows across.

use crate::params::DATA_BITS;
use crate::ports::{FrameSink, FrameSource};
use rust_hdl::prelude::*;

/// Words the FIFO holds.
pub const DEPTH: usize = 64;
/// Visible words of an incomplete frame before the reader starts it.
pub const START_BEATS: u64 = 8;

/// A stored word: data above `last` above `error`.
const WORD_BITS: usize = DATA_BITS + 2;
const _: () = assert!(DATA_BITS == 8 && DEPTH == 64, "the literals in update() assume these");

/// Gray code to binary for up to 8 bits: each output bit is the XOR of the
/// gray bits at and above it, built in three doubling steps.
#[derive(LogicBlock)]
pub struct GrayDecode<const N: usize> {
    pub gray: Signal<In, Bits<N>>,
    pub binary: Signal<Out, Bits<N>>,
    pairs: Signal<Local, Bits<N>>,
    quads: Signal<Local, Bits<N>>,
}

impl<const N: usize> Default for GrayDecode<N> {
    fn default() -> Self {
        assert!(N <= 8, "three doubling steps cover 8 bits");
        Self { gray: Default::default(), binary: Default::default(), pairs: Default::default(), quads: Default::default() }
    }
}

impl<const N: usize> Logic for GrayDecode<N> {
    #[hdl_gen]
    fn update(&mut self) {
        self.pairs.next = self.gray.val() ^ (self.gray.val() >> 1);
        self.quads.next = self.pairs.val() ^ (self.pairs.val() >> 2);
        self.binary.next = self.quads.val() ^ (self.quads.val() >> 4);
    }
}

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum ReadState {
    /// Between frames: waiting for a complete frame or START_BEATS of one.
    Idle,
    InFrame,
    /// Ran dry inside a frame: offering the filler beat until taken.
    Cut,
    /// Discarding the rest of a frame that was cut on the read side.
    Skip,
}

#[derive(LogicBlock)]
pub struct RxCrossing {
    /// The PHY's receive clock, which `frames_in` and `MacRx` run on.
    pub write_clock: Signal<In, Clock>,
    pub frames_in: FrameSink,
    /// The core clock, which `frames_out` and the counters run on.
    pub clock: Signal<In, Clock>,
    pub frames_out: FrameSource,
    /// Frames cut short or dropped because the FIFO was full (wrapping).
    pub overflows: Signal<Out, Bits<32>>,
    /// Frames cut short because the FIFO ran dry inside them (wrapping).
    pub underruns: Signal<Out, Bits<32>>,
    /// Two copies of the store: `ram` is read at the read pointer, `ram_next`
    /// one word past it, so the reader's RAM addresses come from a register
    /// and this cycle's pop only selects between the two words next cycle.
    ram: RAM<Bits<WORD_BITS>, 6>,
    ram_next: RAM<Bits<WORD_BITS>, 6>,
    start_beats: Constant<Bits<7>>,
    start_beats_p1: Constant<Bits<7>>,
    // Write domain.
    wptr: DFF<Bits<7>>,
    wptr_gray: DFF<Bits<7>>,
    rptr_sync1: DFF<Bits<7>>,
    rptr_sync2: DFF<Bits<7>>,
    rptr_seen: GrayDecode<7>,
    /// Words of the current frame are in the FIFO and its last is not.
    in_frame: DFF<Bit>,
    /// Dropping the rest of a cut or dropped frame.
    discard: DFF<Bit>,
    /// A frame's last word was written 1 (bit 0) or 2 (bit 1) cycles ago.
    ended: DFF<Bits<2>>,
    ends: DFF<Bits<7>>,
    ends_gray: DFF<Bits<7>>,
    ovf: DFF<Bits<4>>,
    ovf_gray: DFF<Bits<4>>,
    /// Words used as counted last cycle (write pointer minus the read
    /// pointer seen), and whether the write pointer has moved since: the
    /// room checks use registered compares of the first, corrected by the
    /// second, so no subtraction sits in front of the write decision.
    used_prev: DFF<Bits<7>>,
    wrote: DFF<Bit>,
    /// `used_prev >= 62, 63, 64`: at reset (all 0) the FIFO is empty.
    prev_ge62: DFF<Bit>,
    prev_ge63: DFF<Bit>,
    prev_ge64: DFF<Bit>,
    /// Words used as the writer counts them (only tests read it).
    used: Signal<Local, Bits<7>>,
    used_now: Signal<Local, Bits<7>>,
    lt63: Signal<Local, Bit>,
    lt64: Signal<Local, Bit>,
    wptr_next: Signal<Local, Bits<7>>,
    // Read domain.
    wptr_sync1: DFF<Bits<7>>,
    wptr_sync2: DFF<Bits<7>>,
    wptr_seen: GrayDecode<7>,
    ends_sync1: DFF<Bits<7>>,
    ends_sync2: DFF<Bits<7>>,
    ends_seen: GrayDecode<7>,
    ovf_sync1: DFF<Bits<4>>,
    ovf_sync2: DFF<Bits<4>>,
    ovf_seen: GrayDecode<4>,
    rptr: DFF<Bits<7>>,
    rptr_gray: DFF<Bits<7>>,
    /// Last words popped, to compare with `ends`.
    popped: DFF<Bits<7>>,
    /// The overflow count already added to `n_overflows`.
    ovf_counted: DFF<Bits<4>>,
    state: DFF<ReadState>,
    n_overflows: DFF<Bits<32>>,
    n_underruns: DFF<Bits<32>>,
    /// Last cycle's pop, and whether it popped a frame's last word.
    popped_now: DFF<Bit>,
    popped_last: DFF<Bit>,
    /// Compares made last cycle of the write pointer seen then against the
    /// read pointer and frame count of then, before that cycle's pop; this
    /// cycle's `avail` and "a whole frame is in" follow from them and the
    /// pop, without an adder in front of the pop.
    d_ge1: DFF<Bit>,
    d_ge2: DFF<Bit>,
    d_ge_start: DFF<Bit>,
    d_ge_start1: DFF<Bit>,
    ends_ne: DFF<Bit>,
    ends_ne1: DFF<Bit>,
    diff: Signal<Local, Bits<7>>,
    avail_nz: Signal<Local, Bit>,
    avail_ge_start: Signal<Local, Bit>,
    frame_in: Signal<Local, Bit>,
    word: Signal<Local, Bits<WORD_BITS>>,
    pop: Signal<Local, Bit>,
    rptr_p1: Signal<Local, Bits<7>>,
    rptr_next: Signal<Local, Bits<7>>,
}

impl Default for RxCrossing {
    fn default() -> Self {
        Self::with_start_beats(START_BEATS)
    }
}

impl RxCrossing {
    /// Only tests start frames at another threshold, to show it matters.
    fn with_start_beats(start_beats: u64) -> Self {
        assert!((1..DEPTH as u64).contains(&start_beats));
        Self {
            write_clock: Default::default(),
            frames_in: Default::default(),
            clock: Default::default(),
            frames_out: Default::default(),
            overflows: Default::default(),
            underruns: Default::default(),
            ram: Default::default(),
            ram_next: Default::default(),
            start_beats: Constant::new(start_beats.into()),
            start_beats_p1: Constant::new((start_beats + 1).into()),
            wptr: Default::default(),
            wptr_gray: Default::default(),
            rptr_sync1: Default::default(),
            rptr_sync2: Default::default(),
            rptr_seen: Default::default(),
            in_frame: Default::default(),
            discard: Default::default(),
            ended: Default::default(),
            ends: Default::default(),
            ends_gray: Default::default(),
            ovf: Default::default(),
            ovf_gray: Default::default(),
            used_prev: Default::default(),
            wrote: Default::default(),
            prev_ge62: Default::default(),
            prev_ge63: Default::default(),
            prev_ge64: Default::default(),
            used: Default::default(),
            used_now: Default::default(),
            lt63: Default::default(),
            lt64: Default::default(),
            wptr_next: Default::default(),
            wptr_sync1: Default::default(),
            wptr_sync2: Default::default(),
            wptr_seen: Default::default(),
            ends_sync1: Default::default(),
            ends_sync2: Default::default(),
            ends_seen: Default::default(),
            ovf_sync1: Default::default(),
            ovf_sync2: Default::default(),
            ovf_seen: Default::default(),
            rptr: Default::default(),
            rptr_gray: Default::default(),
            popped: Default::default(),
            ovf_counted: Default::default(),
            state: Default::default(),
            n_overflows: Default::default(),
            n_underruns: Default::default(),
            popped_now: Default::default(),
            popped_last: Default::default(),
            d_ge1: Default::default(),
            d_ge2: Default::default(),
            d_ge_start: Default::default(),
            d_ge_start1: Default::default(),
            ends_ne: Default::default(),
            ends_ne1: Default::default(),
            diff: Default::default(),
            avail_nz: Default::default(),
            avail_ge_start: Default::default(),
            frame_in: Default::default(),
            word: Default::default(),
            pop: Default::default(),
            rptr_p1: Default::default(),
            rptr_next: Default::default(),
        }
    }
}

impl Logic for RxCrossing {
    #[hdl_gen]
    fn update(&mut self) {
        // ---- Write domain ----
        dff_setup!(
            self,
            write_clock,
            wptr,
            wptr_gray,
            rptr_sync1,
            rptr_sync2,
            in_frame,
            discard,
            ended,
            ends,
            ends_gray,
            ovf,
            ovf_gray,
            used_prev,
            wrote,
            prev_ge62,
            prev_ge63,
            prev_ge64
        );
        self.ram.write_clock.next = self.write_clock.val();
        self.ram_next.write_clock.next = self.write_clock.val();
        self.frames_in.ready.next = true;
        self.rptr_sync1.d.next = self.rptr_gray.q.val();
        self.rptr_sync2.d.next = self.rptr_sync1.q.val();
        self.rptr_seen.gray.next = self.rptr_sync2.q.val();
        // The read pointer seen a cycle ago against this cycle's write
        // pointer: at most 64, as the read pointer seen is never ahead of
        // the true one (and a cycle older is older still).
        self.used_now.next = self.wptr.q.val() - self.rptr_seen.binary.val();
        self.used_prev.d.next = self.used_now.val();
        // As bit tests (the count is at most 64), not a second carry chain.
        self.prev_ge62.d.next = self.used_now.val().get_bit(6) | (self.used_now.val().get_bits::<5>(1) == 31);
        self.prev_ge63.d.next = self.used_now.val().get_bit(6) | (self.used_now.val().get_bits::<6>(0) == 63);
        self.prev_ge64.d.next = self.used_now.val().get_bit(6);
        self.used.next = self.used_prev.q.val() + bit_cast::<7, 1>(self.wrote.q.val().into());
        // used < 63 and used < 64, with used = used_prev + wrote.
        self.lt63.next = !self.prev_ge62.q.val() | (!self.prev_ge63.q.val() & !self.wrote.q.val());
        self.lt64.next = !self.prev_ge63.q.val() | (!self.prev_ge64.q.val() & !self.wrote.q.val());

        self.ram.write_address.next = self.wptr.q.val().get_bits::<6>(0);
        self.ram.write_data.next = (bit_cast::<WORD_BITS, DATA_BITS>(self.frames_in.data.val()) << 2)
            | (bit_cast::<WORD_BITS, 1>(self.frames_in.last.val().into()) << 1)
            | bit_cast::<WORD_BITS, 1>((self.frames_in.last.val() & self.frames_in.error.val()).into());
        self.ram.write_enable.next = false;
        self.wptr_next.next = self.wptr.q.val();
        self.ended.d.next = self.ended.q.val() << 1;
        if self.frames_in.valid.val() {
            if self.discard.q.val() {
                if self.frames_in.last.val() {
                    self.discard.d.next = false;
                }
            } else if !self.in_frame.q.val() {
                // A frame's first beat: it needs the spare word too, unless
                // it is also the frame's last.
                if self.lt63.val() | (self.frames_in.last.val() & self.lt64.val()) {
                    self.ram.write_enable.next = true;
                    self.wptr_next.next = self.wptr.q.val() + 1;
                    if self.frames_in.last.val() {
                        self.ended.d.next = (self.ended.q.val() << 1) | 1;
                    } else {
                        self.in_frame.d.next = true;
                    }
                } else {
                    self.ovf.d.next = self.ovf.q.val() + 1;
                    self.discard.d.next = !self.frames_in.last.val();
                }
            } else {
                self.ram.write_enable.next = true;
                self.wptr_next.next = self.wptr.q.val() + 1;
                if self.frames_in.last.val() {
                    self.in_frame.d.next = false;
                    self.ended.d.next = (self.ended.q.val() << 1) | 1;
                } else if !self.lt63.val() {
                    // Only the spare word is left: end the frame in it.
                    self.ram.write_data.next =
                        (bit_cast::<WORD_BITS, DATA_BITS>(self.frames_in.data.val()) << 2) | 3;
                    self.in_frame.d.next = false;
                    self.discard.d.next = true;
                    self.ended.d.next = (self.ended.q.val() << 1) | 1;
                    self.ovf.d.next = self.ovf.q.val() + 1;
                }
            }
        }
        self.wptr.d.next = self.wptr_next.val();
        self.wrote.d.next = self.ram.write_enable.val();
        self.ram_next.write_address.next = self.ram.write_address.val();
        self.ram_next.write_data.next = self.ram.write_data.val();
        self.ram_next.write_enable.next = self.ram.write_enable.val();
        self.wptr_gray.d.next = self.wptr_next.val() ^ (self.wptr_next.val() >> 1);
        if self.ended.q.val().get_bit(1) {
            self.ends.d.next = self.ends.q.val() + 1;
        }
        self.ends_gray.d.next = self.ends.q.val() ^ (self.ends.q.val() >> 1);
        self.ovf_gray.d.next = self.ovf.q.val() ^ (self.ovf.q.val() >> 1);

        // ---- Read domain ----
        dff_setup!(
            self,
            clock,
            wptr_sync1,
            wptr_sync2,
            ends_sync1,
            ends_sync2,
            ovf_sync1,
            ovf_sync2,
            rptr,
            rptr_gray,
            popped,
            ovf_counted,
            state,
            n_overflows,
            n_underruns,
            popped_now,
            popped_last,
            d_ge1,
            d_ge2,
            d_ge_start,
            d_ge_start1,
            ends_ne,
            ends_ne1
        );
        self.ram.read_clock.next = self.clock.val();
        self.ram_next.read_clock.next = self.clock.val();
        self.wptr_sync1.d.next = self.wptr_gray.q.val();
        self.wptr_sync2.d.next = self.wptr_sync1.q.val();
        self.wptr_seen.gray.next = self.wptr_sync2.q.val();
        self.ends_sync1.d.next = self.ends_gray.q.val();
        self.ends_sync2.d.next = self.ends_sync1.q.val();
        self.ends_seen.gray.next = self.ends_sync2.q.val();
        self.ovf_sync1.d.next = self.ovf_gray.q.val();
        self.ovf_sync2.d.next = self.ovf_sync1.q.val();
        self.ovf_seen.gray.next = self.ovf_sync2.q.val();

        self.overflows.next = self.n_overflows.q.val();
        self.underruns.next = self.n_underruns.q.val();
        self.ovf_counted.d.next = self.ovf_seen.binary.val();
        self.n_overflows.d.next = self.n_overflows.q.val()
            + bit_cast::<32, 4>(self.ovf_seen.binary.val() - self.ovf_counted.q.val());

        // The word at the read pointer: last cycle read both the word at
        // the pointer then and the one after; which one it is now depends
        // on whether that cycle popped.
        self.ram.read_address.next = self.rptr.q.val().get_bits::<6>(0);
        self.rptr_p1.next = self.rptr.q.val() + 1;
        self.ram_next.read_address.next = self.rptr_p1.val().get_bits::<6>(0);
        self.word.next = self.ram.read_data.val();
        if self.popped_now.q.val() {
            self.word.next = self.ram_next.read_data.val();
        }
        // Words visible: the write pointer seen last cycle minus the read
        // pointer now (one cycle more behind than the pointer seen now,
        // which only delays, never advances, what the reader may take).
        self.diff.next = self.wptr_seen.binary.val() - self.rptr.q.val();
        self.d_ge1.d.next = self.diff.val() != 0;
        self.d_ge2.d.next = self.diff.val() >= 2;
        self.d_ge_start.d.next = self.diff.val() >= self.start_beats.val();
        self.d_ge_start1.d.next = self.diff.val() >= self.start_beats_p1.val();
        self.ends_ne.d.next = self.ends_seen.binary.val() != self.popped.q.val();
        self.ends_ne1.d.next = self.ends_seen.binary.val() != (self.popped.q.val() + 1);
        self.avail_nz.next = self.d_ge2.q.val() | (self.d_ge1.q.val() & !self.popped_now.q.val());
        self.avail_ge_start.next =
            self.d_ge_start1.q.val() | (self.d_ge_start.q.val() & !self.popped_now.q.val());
        self.frame_in.next = self.ends_ne.q.val();
        if self.popped_last.q.val() {
            self.frame_in.next = self.ends_ne1.q.val();
        }
        self.frames_out.data.next = self.word.val().get_bits::<DATA_BITS>(2);
        self.frames_out.last.next = self.word.val().get_bit(1);
        self.frames_out.error.next = self.word.val().get_bit(0);
        self.frames_out.valid.next = false;
        self.pop.next = false;
        match self.state.q.val() {
            ReadState::Idle => {
                if self.avail_nz.val() & (self.frame_in.val() | self.avail_ge_start.val()) {
                    self.frames_out.valid.next = true;
                    self.pop.next = self.frames_out.ready.val();
                    if self.frames_out.ready.val() & !self.word.val().get_bit(1) {
                        self.state.d.next = ReadState::InFrame;
                    }
                }
            }
            ReadState::InFrame => {
                self.frames_out.valid.next = true;
                if self.avail_nz.val() {
                    self.pop.next = self.frames_out.ready.val();
                    if self.frames_out.ready.val() & self.word.val().get_bit(1) {
                        self.state.d.next = ReadState::Idle;
                    }
                } else {
                    self.frames_out.data.next = 0.into();
                    self.frames_out.last.next = true;
                    self.frames_out.error.next = true;
                    if self.frames_out.ready.val() {
                        self.state.d.next = ReadState::Skip;
                        self.n_underruns.d.next = self.n_underruns.q.val() + 1;
                    } else {
                        self.state.d.next = ReadState::Cut;
                    }
                }
            }
            ReadState::Cut => {
                self.frames_out.valid.next = true;
                self.frames_out.data.next = 0.into();
                self.frames_out.last.next = true;
                self.frames_out.error.next = true;
                if self.frames_out.ready.val() {
                    self.state.d.next = ReadState::Skip;
                    self.n_underruns.d.next = self.n_underruns.q.val() + 1;
                }
            }
            ReadState::Skip => {
                self.pop.next = self.avail_nz.val();
                if (self.avail_nz.val()) & self.word.val().get_bit(1) {
                    self.state.d.next = ReadState::Idle;
                }
            }
        }
        self.rptr_next.next = self.rptr.q.val();
        if self.pop.val() {
            self.rptr_next.next = self.rptr.q.val() + 1;
            if self.word.val().get_bit(1) {
                self.popped.d.next = self.popped.q.val() + 1;
            }
        }
        self.popped_now.d.next = self.pop.val();
        self.popped_last.d.next = self.pop.val() & self.word.val().get_bit(1);
        self.rptr.d.next = self.rptr_next.val();
        self.rptr_gray.d.next = self.rptr_next.val() ^ (self.rptr_next.val() >> 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{MultiClock, Rng};
    use std::collections::VecDeque;

    const WR: usize = 0;
    const RD: usize = 1;
    const NS: u64 = 1_000_000;

    #[derive(Default)]
    struct Outcome {
        frames: Vec<(Vec<u8>, bool)>,
        overflows: u64,
        underruns: u64,
        /// Most words the writer ever counted as used.
        max_used: u64,
    }

    /// Writes `script` (one entry per write cycle: a beat or an idle
    /// cycle) and reads with `ready(read cycle)`, until everything written
    /// has had time to come out. Fails on any gap inside an output frame
    /// while `ready` is high, and on a beat offered and then withdrawn.
    fn run(write_fs: u64, read_fs: u64, script: Vec<Option<(u8, bool, bool)>>, ready: impl Fn(u64) -> bool) -> Outcome {
        run_on(RxCrossing::default(), write_fs, read_fs, script, ready)
    }

    fn run_on(
        uut: RxCrossing,
        write_fs: u64,
        read_fs: u64,
        script: Vec<Option<(u8, bool, bool)>>,
        ready: impl Fn(u64) -> bool,
    ) -> Outcome {
        let mut m = MultiClock::new(
            uut,
            &[(|u| &mut u.write_clock, write_fs, 0), (|u| &mut u.clock, read_fs, 3 * NS / 10)],
        );
        let mut script: VecDeque<_> = script.into();
        let mut out = Outcome::default();
        let mut current = vec![];
        let mut offered: Option<(u64, bool, bool)> = None;
        let mut quiet = 0;
        let present = |m: &mut MultiClock<RxCrossing>, beat: Option<(u8, bool, bool)>| {
            let f = &mut m.uut.frames_in;
            f.valid.next = beat.is_some();
            let (d, last, error) = beat.unwrap_or((0, false, false));
            f.data.next = (d as u64).into();
            f.last.next = last;
            f.error.next = error;
        };
        let first = script.pop_front().flatten();
        present(&mut m, first);
        while quiet < 400 {
            let rose = m.step();
            if rose & (1 << WR) != 0 {
                assert!(m.uut.frames_in.ready.val());
                out.max_used = out.max_used.max(u64::from(m.uut.used.val()));
                let beat = script.pop_front().flatten();
                present(&mut m, beat);
            }
            if rose & (1 << RD) != 0 {
                let r = ready(m.rising_edges(RD));
                m.uut.frames_out.ready.next = r;
                m.settle();
                let o = &m.uut.frames_out;
                let beat = (u64::from(o.data.val()), o.last.val(), o.error.val());
                if let Some(prev) = offered {
                    assert!(o.valid.val() && beat == prev, "a beat offered was withdrawn or changed");
                }
                offered = None;
                if o.valid.val() && r {
                    current.push(beat.0 as u8);
                    if beat.1 {
                        out.frames.push((std::mem::take(&mut current), beat.2));
                    } else {
                        assert!(!beat.2, "error before the last beat");
                    }
                } else if o.valid.val() {
                    offered = Some(beat);
                } else {
                    assert!(!r || current.is_empty(), "a gap inside a frame at read cycle {}", m.rising_edges(RD));
                }
                quiet = if script.is_empty() && !o.valid.val() { quiet + 1 } else { 0 };
            }
        }
        assert!(current.is_empty(), "a frame without its last beat");
        out.overflows = u64::from(m.uut.overflows.val());
        out.underruns = u64::from(m.uut.underruns.val());
        out
    }

    fn script_of(frames: &[(Vec<u8>, bool)], gap: usize) -> Vec<Option<(u8, bool, bool)>> {
        let mut s = vec![];
        for (bytes, error) in frames {
            for (i, &b) in bytes.iter().enumerate() {
                let last = i + 1 == bytes.len();
                s.push(Some((b, last, last && *error)));
            }
            s.extend(std::iter::repeat_n(None, gap));
        }
        s
    }

    fn random_frames(rng: &mut Rng, n: usize) -> Vec<(Vec<u8>, bool)> {
        (0..n)
            .map(|_| {
                let len = 14 + rng.below(1522 - 14 + 1) as usize;
                ((0..len).map(|_| rng.next_u64() as u8).collect(), rng.chance(5))
            })
            .collect()
    }

    fn frame(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed)).collect()
    }

    /// 8.000 ns against 8.002 ns is 250 ppm, more than two +-100 ppm
    /// oscillators can differ; one idle cycle between frames is less than
    /// any MAC leaves.
    #[test]
    fn random_frames_cross_byte_exact_with_either_clock_faster() {
        for (seed, write_fs, read_fs) in [(1u64, 8_000 * NS / 1000, 8_002 * NS / 1000), (2, 8_002 * NS / 1000, 8_000 * NS / 1000)] {
            let mut rng = Rng(0xC0FFEE + seed);
            let mut frames = random_frames(&mut rng, 120);
            // The extremes of the length range, back to back.
            frames.insert(0, (frame(1522, 1), false));
            frames.insert(1, (frame(14, 2), false));
            frames.insert(2, (frame(1522, 3), true));
            frames.insert(3, (frame(14, 4), true));
            let out = run(write_fs, read_fs, script_of(&frames, 1), |_| true);
            assert_eq!(out.frames.len(), frames.len(), "write {write_fs} fs, read {read_fs} fs");
            for (i, (g, w)) in out.frames.iter().zip(&frames).enumerate() {
                assert!(g == w, "frame {i}: {} bytes error {} for {} bytes error {}", g.0.len(), g.1, w.0.len(), w.1);
            }
            assert_eq!((out.overflows, out.underruns), (0, 0));
            // The sizing argument in the module comment: at most 16 of 64.
            eprintln!("write {write_fs} fs, read {read_fs} fs: at most {} words used", out.max_used);
            assert!(out.max_used <= 16, "{} words used", out.max_used);
        }
    }

    /// Starting a frame on its first visible word leaves no lead: when the
    /// core clock is the faster, it catches up with the writer inside
    /// frames, and those frames are cut.
    #[test]
    fn without_the_start_threshold_a_faster_reader_runs_dry() {
        let mut frames = random_frames(&mut Rng(0xC0FFEE + 1), 40);
        frames.iter_mut().for_each(|f| f.1 = false);
        let out = run_on(RxCrossing::with_start_beats(1), 8 * NS, 7_998 * NS / 1000, script_of(&frames, 1), |_| true);
        assert!(out.underruns > 0);
        assert_eq!(out.overflows, 0);
        // Each cut frame still comes out once, ending in error.
        assert_eq!(out.frames.len(), frames.len());
        assert_eq!(out.frames.iter().filter(|f| f.1).count() as u64, out.underruns);
    }

    /// The reader holds `ready` low until everything has been written.
    fn stalled(frames: &[(Vec<u8>, bool)], late: &[(Vec<u8>, bool)]) -> Outcome {
        let mut script = script_of(frames, 1);
        script.extend(std::iter::repeat_n(None, 600));
        script.extend(script_of(late, 1));
        let resume = (frames.iter().map(|f| f.0.len() + 1).sum::<usize>() + 100) as u64;
        run(8 * NS, 8_002 * NS / 1000, script, move |c| c > resume)
    }

    #[test]
    fn a_stalled_reader_gets_the_frame_in_progress_cut_with_error_and_counted() {
        let (a, b, c, d, e) = (frame(20, 1), frame(100, 2), frame(30, 3), frame(40, 4), frame(50, 5));
        let out = stalled(
            &[(a.clone(), false), (b.clone(), false), (c, false), (d, false)],
            &[(e.clone(), false)],
        );
        // A takes 20 words; B fills 43 more while a spare word is left, its
        // 44th beat goes into the spare word marked last and error. C and D
        // find the FIFO full and are dropped whole. E, after the reader
        // resumes, is whole.
        assert_eq!(out.frames, vec![(a, false), (b[..44].to_vec(), true), (e, false)]);
        assert_eq!((out.overflows, out.underruns), (3, 0));

        // A frame whose last beat lands in the spare word is whole and good.
        let (a, b, c, e) = (frame(20, 6), frame(44, 7), frame(10, 8), frame(60, 9));
        let out = stalled(&[(a.clone(), false), (b.clone(), true), (c, false)], &[(e.clone(), false)]);
        assert_eq!(out.frames, vec![(a, false), (b, true), (e, false)]);
        assert_eq!((out.overflows, out.underruns), (1, 0));
    }

    #[test]
    fn a_writer_pausing_inside_a_frame_gets_it_cut_with_error_and_counted() {
        let (a, b) = (frame(100, 1), frame(70, 2));
        let mut script = script_of(&[(a[..50].to_vec(), false)], 0);
        // Drop the `last` of that half: the frame goes on after a pause.
        script.last_mut().unwrap().as_mut().unwrap().1 = false;
        script.extend(std::iter::repeat_n(None, 40));
        script.extend(script_of(&[(a[50..].to_vec(), false), (b.clone(), false)], 1));
        let out = run(8 * NS, 8 * NS, script, |_| true);
        let mut cut = a[..50].to_vec();
        cut.push(0);
        assert_eq!(out.frames, vec![(cut, true), (b, false)]);
        assert_eq!((out.overflows, out.underruns), (0, 1));
    }

    #[test]
    fn gray_decode_inverts_gray_encode() {
        let mut g = GrayDecode::<7>::default();
        g.connect_all();
        for b in 0u64..128 {
            g.gray.next = (b ^ (b >> 1)).into();
            assert!(simulate(&mut g, 100));
            assert_eq!(u64::from(g.binary.val()), b);
        }
    }

    #[test]
    fn generates_verilog() {
        let mut uut = RxCrossing::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
