//! A register slice on a frame stream: the stream's beats and its `ready`
//! leave from registers, so a long path on one side of a block boundary
//! (a receive crossing's valid fanning out into a parser, a MAC's ready
//! reaching back into a FIFO) cannot join one on the other side. Beats,
//! `last` and `error` pass unchanged, one a cycle, two cycles late.

use super::skid::Skid;
use crate::params::DATA_BITS;
use crate::ports::{FrameSink, FrameSource};
use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct FrameSlice {
    pub clock: Signal<In, Clock>,
    pub frames_in: FrameSink,
    pub frames_out: FrameSource,
    skid: Skid,
}

impl Logic for FrameSlice {
    #[hdl_gen]
    fn update(&mut self) {
        self.skid.clock.next = self.clock.val();
        self.skid.in_valid.next = self.frames_in.valid.val();
        self.skid.in_x.next = bit_cast::<64, DATA_BITS>(self.frames_in.data.val());
        self.skid.in_y.next = 0.into();
        self.skid.in_z.next = bit_cast::<8, 1>(self.frames_in.error.val().into());
        self.skid.in_f.next = self.frames_in.last.val();
        self.frames_in.ready.next = self.skid.in_ready.val();
        self.frames_out.valid.next = self.skid.out_valid.val();
        self.frames_out.data.next = self.skid.out_x.val().get_bits::<DATA_BITS>(0);
        self.frames_out.error.next = self.skid.out_z.val().get_bit(0);
        self.frames_out.last.next = self.skid.out_f.val();
        self.skid.out_ready.next = self.frames_out.ready.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};
    use std::collections::VecDeque;

    #[test]
    fn frames_pass_unchanged_under_random_stalls() {
        let mut h = Harness::new(FrameSlice::default(), |s| &mut s.clock);
        let mut rng = Rng(11);
        let mut expect = VecDeque::new();
        let mut next = (0u8, false, false);
        let (mut sent, mut got) = (0u32, 0u32);
        for _ in 0..5000 {
            let offer = rng.chance(70);
            h.uut.frames_in.valid.next = offer;
            h.uut.frames_in.data.next = (next.0 as u64).into();
            h.uut.frames_in.last.next = next.1;
            h.uut.frames_in.error.next = next.2;
            h.uut.frames_out.ready.next = rng.chance(60);
            h.settle();
            if h.uut.frames_out.valid.val() && h.uut.frames_out.ready.val() {
                let (d, l, e) = expect.pop_front().expect("a beat nobody sent");
                assert_eq!(u64::from(h.uut.frames_out.data.val()), d as u64);
                assert_eq!((h.uut.frames_out.last.val(), h.uut.frames_out.error.val()), (l, e));
                got += 1;
            }
            if offer && h.uut.frames_in.ready.val() {
                expect.push_back(next);
                sent += 1;
                let r = rng.next_u64();
                let last = r.is_multiple_of(9);
                next = (r as u8 >> 1, last, last && r.is_multiple_of(4));
            }
            h.cycle();
        }
        assert!(got > 2000 && sent - got <= 2, "sent {sent}, got {got}");
    }
}
