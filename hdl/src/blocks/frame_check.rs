//! Receive-side frame policing: measures each frame as it streams past and
//! marks the final beat of any frame that is a runt, a giant or flagged by
//! the MAC, so everything downstream discards it. One reason is reported per
//! bad frame (MAC error, then runt, then giant) so drop counters add up to
//! the frames dropped.
//!
//! Its output is a register stage (one cycle late): the verdict on a
//! frame's last beat is a length comparison, and it fans out to the
//! receive engine's commit logic and the loopback FIFO's, so it must start
//! their paths from a flop rather than end a comparator's. The comparisons
//! are made on the length before the current beat, against bounds moved
//! down by one, so no adder sits in front of them either.

use crate::params::{NicParams, DATA_BITS};
use crate::ports::{FrameSink, FrameSource};
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct FrameCheck {
    pub clock: Signal<In, Clock>,
    pub frames_in: FrameSink,
    pub frames_out: FrameSource,
    /// One-cycle pulses, on the final beat of a frame dropped for that reason.
    pub runt: Signal<Out, Bit>,
    pub giant: Signal<Out, Bit>,
    pub mac_error: Signal<Out, Bit>,
    /// Bytes seen so far in the current frame, saturating at 0xFFFF.
    length: DFF<Bits<16>>,
    too_short: Signal<Local, Bit>,
    too_long: Signal<Local, Bit>,
    /// The shortest frame's length minus one, and the longest's.
    short_below: Constant<Bits<16>>,
    long_from: Constant<Bits<16>>,
    /// The output stage.
    data: DFF<Bits<DATA_BITS>>,
    valid: DFF<Bit>,
    last: DFF<Bit>,
    error: DFF<Bit>,
    runt_q: DFF<Bit>,
    giant_q: DFF<Bit>,
    mac_error_q: DFF<Bit>,
    take: Signal<Local, Bit>,
}

impl FrameCheck {
    pub fn new(params: &NicParams) -> Self {
        Self {
            clock: Default::default(),
            frames_in: Default::default(),
            frames_out: Default::default(),
            runt: Default::default(),
            giant: Default::default(),
            mac_error: Default::default(),
            length: Default::default(),
            too_short: Default::default(),
            too_long: Default::default(),
            short_below: Constant::new((params.min_frame_bytes as u64 - 1).into()),
            long_from: Constant::new((params.max_frame_bytes as u64).into()),
            data: Default::default(),
            valid: Default::default(),
            last: Default::default(),
            error: Default::default(),
            runt_q: Default::default(),
            giant_q: Default::default(),
            mac_error_q: Default::default(),
            take: Default::default(),
        }
    }
}

impl Logic for FrameCheck {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, length, data, valid, last, error, runt_q, giant_q, mac_error_q);
        // With this beat the frame is `length + 1` bytes long (saturated:
        // 0xFFFF stays too long).
        self.too_short.next = self.length.q.val() < self.short_below.val();
        self.too_long.next = self.length.q.val() >= self.long_from.val();
        self.frames_out.data.next = self.data.q.val();
        self.frames_out.valid.next = self.valid.q.val();
        self.frames_out.last.next = self.last.q.val();
        self.frames_out.error.next = self.error.q.val();
        self.runt.next = self.runt_q.q.val();
        self.giant.next = self.giant_q.q.val();
        self.mac_error.next = self.mac_error_q.q.val();
        // The stage takes a beat when it is empty or its beat leaves.
        self.frames_in.ready.next = self.frames_out.ready.val() | !self.valid.q.val();
        self.take.next = self.frames_in.valid.val() & (self.frames_out.ready.val() | !self.valid.q.val());
        // The reasons are one-cycle pulses as the last beat enters the stage.
        self.runt_q.d.next = false;
        self.giant_q.d.next = false;
        self.mac_error_q.d.next = false;
        if self.frames_out.ready.val() {
            self.valid.d.next = false;
        }
        if self.take.val() {
            self.data.d.next = self.frames_in.data.val();
            self.valid.d.next = true;
            self.last.d.next = self.frames_in.last.val();
            self.error.d.next = false;
            if self.length.q.val() != 0xFFFF {
                self.length.d.next = self.length.q.val() + 1;
            }
            if self.frames_in.last.val() {
                self.length.d.next = 0.into();
                self.error.d.next = self.frames_in.error.val() | self.too_short.val() | self.too_long.val();
                if self.frames_in.error.val() {
                    self.mac_error_q.d.next = true;
                } else if self.too_short.val() {
                    self.runt_q.d.next = true;
                } else if self.too_long.val() {
                    self.giant_q.d.next = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;

    /// Streams one frame and returns (error on last beat, runt, giant, mac_error).
    fn run_frame(h: &mut Harness<FrameCheck>, len: usize, mac_error: bool) -> [bool; 4] {
        let mut seen = [false; 4];
        for i in 0..len {
            let last = i + 1 == len;
            h.uut.frames_in.data.next = ((i & 0xFF) as u64).into();
            h.uut.frames_in.valid.next = true;
            h.uut.frames_in.last.next = last;
            h.uut.frames_in.error.next = last && mac_error;
            h.cycle();
            h.uut.frames_in.valid.next = false;
            h.settle();
            // One cycle late, from the output register.
            assert!(h.uut.frames_out.valid.val());
            assert_eq!(h.uut.frames_out.data.val(), (i & 0xFF) as u64);
            assert_eq!(h.uut.frames_out.last.val(), last);
            if last {
                seen = [
                    h.uut.frames_out.error.val(),
                    h.uut.runt.val(),
                    h.uut.giant.val(),
                    h.uut.mac_error.val(),
                ];
            } else {
                assert!(!h.uut.frames_out.error.val(), "error raised mid-frame");
            }
            assert!(!(h.uut.runt.val() || h.uut.giant.val() || h.uut.mac_error.val()) || last);
        }
        h.uut.frames_in.valid.next = false;
        h.cycle();
        seen
    }

    #[test]
    fn classifies_frames_by_length_and_mac_flag() {
        let params = NicParams::default();
        let mut h = Harness::new(FrameCheck::new(&params), |c| &mut c.clock);
        h.uut.frames_out.ready.next = true;
        let min = params.min_frame_bytes as usize;
        let max = params.max_frame_bytes as usize;
        assert_eq!(run_frame(&mut h, 1, false), [true, true, false, false]);
        assert_eq!(run_frame(&mut h, min - 1, false), [true, true, false, false]);
        assert_eq!(run_frame(&mut h, min, false), [false; 4]);
        assert_eq!(run_frame(&mut h, max, false), [false; 4]);
        assert_eq!(run_frame(&mut h, max + 1, false), [true, false, true, false]);
        // The MAC's verdict wins over length, so each frame has one reason.
        assert_eq!(run_frame(&mut h, 3, true), [true, false, false, true]);
        assert_eq!(run_frame(&mut h, 64, true), [true, false, false, true]);
        // Longer than the length counter: saturates rather than wrapping to "short".
        assert_eq!(run_frame(&mut h, 70_000, false), [true, false, true, false]);
        assert_eq!(run_frame(&mut h, 60, false), [false; 4]);
    }

    /// Back-to-back beats with a consumer that stalls at random: the
    /// stream comes out whole and in order, and each bad frame is
    /// reported once.
    #[test]
    fn passes_stalled_streams_whole_and_reports_each_frame_once() {
        let params = NicParams::default();
        let mut h = Harness::new(FrameCheck::new(&params), |c| &mut c.clock);
        let mut rng = crate::harness::Rng(9);
        let lens = [60usize, 3, 1600, 14, 13, 1522, 1523, 64];
        let beats: Vec<(u8, bool)> = lens
            .iter()
            .flat_map(|&n| (0..n).map(move |i| (i as u8 ^ n as u8, i + 1 == n)))
            .collect();
        let (mut sent, mut got, mut runts, mut giants, mut bad) = (0, 0, 0, 0, 0);
        for _ in 0..20_000 {
            if got == beats.len() {
                break;
            }
            let offer = sent < beats.len() && rng.chance(80);
            if offer {
                h.uut.frames_in.data.next = (beats[sent].0 as u64).into();
                h.uut.frames_in.last.next = beats[sent].1;
            }
            h.uut.frames_in.valid.next = offer;
            h.uut.frames_in.error.next = false;
            h.uut.frames_out.ready.next = rng.chance(70);
            h.settle();
            runts += h.uut.runt.val() as u32;
            giants += h.uut.giant.val() as u32;
            if h.uut.frames_out.valid.val() && h.uut.frames_out.ready.val() {
                assert_eq!(u64::from(h.uut.frames_out.data.val()), beats[got].0 as u64, "beat {got}");
                assert_eq!(h.uut.frames_out.last.val(), beats[got].1, "beat {got}");
                bad += (h.uut.frames_out.last.val() && h.uut.frames_out.error.val()) as u32;
                got += 1;
            }
            if offer && h.uut.frames_in.ready.val() {
                sent += 1;
            }
            h.cycle();
        }
        assert_eq!(got, beats.len());
        assert_eq!((runts, giants, bad), (2, 2, 4));
    }
}
