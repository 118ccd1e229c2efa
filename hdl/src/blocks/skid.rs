//! A two-entry skid buffer: the register slice every port type is cut with.
//! Both directions of the handshake leave it from registers (`in_ready` is
//! "second entry empty", `out_*` the first entry), so a valid never reaches
//! a ready, nor a ready a valid, in the same cycle, and one word a cycle
//! still moves when the consumer keeps up. The second entry catches the
//! word that was accepted on the cycle the consumer stalled.
//!
//! One shape serves the DMA port's four handshakes and the frame stream:
//! a 64-bit word, a length, a tag and a flag. Fields a user leaves at 0
//! cost nothing: synthesis removes constant registers.

use crate::params::{DMA_ADDR_BITS, DMA_LEN_BITS, DMA_TAG_BITS};
use rust_hdl::prelude::*;

/// A two-entry skid buffer for one handshake carrying up to a 64-bit word,
/// a length, a tag and a flag. `in_ready` and every `out_*` are registers.
#[derive(LogicBlock, Default)]
pub struct Skid {
    pub clock: Signal<In, Clock>,
    pub in_valid: Signal<In, Bit>,
    pub in_ready: Signal<Out, Bit>,
    pub in_x: Signal<In, Bits<64>>,
    pub in_y: Signal<In, Bits<DMA_LEN_BITS>>,
    pub in_z: Signal<In, Bits<DMA_TAG_BITS>>,
    pub in_f: Signal<In, Bit>,
    pub out_valid: Signal<Out, Bit>,
    pub out_ready: Signal<In, Bit>,
    pub out_x: Signal<Out, Bits<64>>,
    pub out_y: Signal<Out, Bits<DMA_LEN_BITS>>,
    pub out_z: Signal<Out, Bits<DMA_TAG_BITS>>,
    pub out_f: Signal<Out, Bit>,
    full: DFF<Bit>,
    x: DFF<Bits<64>>,
    y: DFF<Bits<DMA_LEN_BITS>>,
    z: DFF<Bits<DMA_TAG_BITS>>,
    f: DFF<Bit>,
    /// The second entry, filled only while the first one is stuck.
    sfull: DFF<Bit>,
    sx: DFF<Bits<64>>,
    sy: DFF<Bits<DMA_LEN_BITS>>,
    sz: DFF<Bits<DMA_TAG_BITS>>,
    sf: DFF<Bit>,
}

const _: () = assert!(DMA_ADDR_BITS == 64);

impl Logic for Skid {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, full, x, y, z, f, sfull, sx, sy, sz, sf);
        self.in_ready.next = !self.sfull.q.val();
        self.out_valid.next = self.full.q.val();
        self.out_x.next = self.x.q.val();
        self.out_y.next = self.y.q.val();
        self.out_z.next = self.z.q.val();
        self.out_f.next = self.f.q.val();
        if self.out_ready.val() & self.full.q.val() {
            if self.sfull.q.val() {
                self.x.d.next = self.sx.q.val();
                self.y.d.next = self.sy.q.val();
                self.z.d.next = self.sz.q.val();
                self.f.d.next = self.sf.q.val();
                self.sfull.d.next = false;
            } else {
                self.full.d.next = false;
            }
        }
        if self.in_valid.val() & !self.sfull.q.val() {
            if self.full.q.val() & !self.out_ready.val() {
                self.sx.d.next = self.in_x.val();
                self.sy.d.next = self.in_y.val();
                self.sz.d.next = self.in_z.val();
                self.sf.d.next = self.in_f.val();
                self.sfull.d.next = true;
            } else {
                self.x.d.next = self.in_x.val();
                self.y.d.next = self.in_y.val();
                self.z.d.next = self.in_z.val();
                self.f.d.next = self.in_f.val();
                self.full.d.next = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};
    use std::collections::VecDeque;

    /// Random stalls on both sides: every word comes out once, in order,
    /// and neither ready nor valid ever depends on the other side's input
    /// in the same cycle.
    #[test]
    fn passes_every_word_in_order_under_random_stalls() {
        let mut h = Harness::new(Skid::default(), |s| &mut s.clock);
        let mut rng = Rng(7);
        let mut sent = 0u64;
        let mut expect = VecDeque::new();
        let mut got = 0u64;
        let mut full_rate_cycles = 0;
        for cycle in 0..6000u64 {
            // Phases where the consumer is always ready prove one word a cycle.
            let steady = (cycle / 500) % 3 == 0;
            let offer = steady || rng.below(4) != 0;
            let take = steady || rng.below(3) != 0;
            h.uut.in_valid.next = offer;
            h.uut.in_x.next = (sent.wrapping_mul(0x9E37_79B9_7F4A_7C15)).into();
            h.uut.in_y.next = (sent & 0xFFFF).into();
            h.uut.in_z.next = (sent & 0xFF).into();
            h.uut.in_f.next = sent.is_multiple_of(5);
            h.uut.out_ready.next = false;
            h.settle();
            let (in_ready, out_valid) = (h.uut.in_ready.val(), h.uut.out_valid.val());
            h.uut.out_ready.next = take;
            h.settle();
            assert_eq!(h.uut.in_ready.val(), in_ready, "in_ready follows out_ready at {cycle}");
            assert_eq!(h.uut.out_valid.val(), out_valid, "out_valid follows in_valid at {cycle}");
            if out_valid && take {
                let n: u64 = expect.pop_front().expect("a word nobody sent");
                assert_eq!(u64::from(h.uut.out_x.val()), n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                assert_eq!(u64::from(h.uut.out_y.val()), n & 0xFFFF);
                assert_eq!(u64::from(h.uut.out_z.val()), n & 0xFF);
                assert_eq!(h.uut.out_f.val(), n.is_multiple_of(5));
                got += 1;
                if steady && cycle % 500 > 4 {
                    full_rate_cycles += 1;
                }
            } else if steady && cycle % 500 > 4 {
                panic!("a steady stream stalled at {cycle}");
            }
            if offer && in_ready {
                expect.push_back(sent);
                sent += 1;
            }
            h.cycle();
        }
        assert!(got > 3000 && sent - got <= 2, "sent {sent}, got {got}");
        assert!(full_rate_cycles > 1900);
    }
}
