//! Receive-side frame policing: measures each frame as it streams past and
//! marks the final beat of any frame that is a runt, a giant or flagged by
//! the MAC, so everything downstream discards it. One reason is reported per
//! bad frame (MAC error, then runt, then giant) so drop counters add up to
//! the frames dropped.

use crate::params::NicParams;
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
    length_now: Signal<Local, Bits<16>>,
    too_short: Signal<Local, Bit>,
    too_long: Signal<Local, Bit>,
    min_len: Constant<Bits<16>>,
    max_len: Constant<Bits<16>>,
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
            length_now: Default::default(),
            too_short: Default::default(),
            too_long: Default::default(),
            min_len: Constant::new((params.min_frame_bytes as u64).into()),
            max_len: Constant::new((params.max_frame_bytes as u64).into()),
        }
    }
}

impl Logic for FrameCheck {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, length);
        self.length_now.next = self.length.q.val();
        if self.length.q.val() != 0xFFFF {
            self.length_now.next = self.length.q.val() + 1;
        }
        self.too_short.next = self.length_now.val() < self.min_len.val();
        self.too_long.next = self.length_now.val() > self.max_len.val();
        self.frames_out.data.next = self.frames_in.data.val();
        self.frames_out.valid.next = self.frames_in.valid.val();
        self.frames_out.last.next = self.frames_in.last.val();
        self.frames_out.error.next = false;
        self.frames_in.ready.next = self.frames_out.ready.val();
        self.runt.next = false;
        self.giant.next = false;
        self.mac_error.next = false;
        if self.frames_in.valid.val() & self.frames_out.ready.val() {
            self.length.d.next = self.length_now.val();
            if self.frames_in.last.val() {
                self.length.d.next = 0.into();
                self.frames_out.error.next =
                    self.frames_in.error.val() | self.too_short.val() | self.too_long.val();
                if self.frames_in.error.val() {
                    self.mac_error.next = true;
                } else if self.too_short.val() {
                    self.runt.next = true;
                } else if self.too_long.val() {
                    self.giant.next = true;
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
            h.settle();
            assert_eq!(h.uut.frames_out.data.val(), (i & 0xFF) as u64);
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
            h.cycle();
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
}
