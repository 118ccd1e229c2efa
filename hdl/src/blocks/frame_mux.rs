//! Two frame streams onto one (the MAC's transmit port): whole frames at a
//! time, alternating between the inputs when both have frames waiting, so
//! neither the loopback path nor the transmit engine can starve the other.

use crate::ports::{FrameSink, FrameSource};
use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct FrameMux {
    pub clock: Signal<In, Clock>,
    pub a: FrameSink,
    pub b: FrameSink,
    pub frames_out: FrameSource,
    /// The input `frames_out` shows now: true for `b`.
    pub from_b_now: Signal<Out, Bit>,
    /// A frame is passing; `from_b` says whose.
    busy: DFF<Bit>,
    from_b: DFF<Bit>,
    /// Who had the last frame, so the other goes first next time.
    last_b: DFF<Bit>,
    pick_b: Signal<Local, Bit>,
    sel_b: Signal<Local, Bit>,
}

impl Logic for FrameMux {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, busy, from_b, last_b);
        // Between frames: b if only b waits, or both wait and a went last.
        self.pick_b.next = self.b.valid.val() & (!self.a.valid.val() | !self.last_b.q.val());
        self.sel_b.next = self.pick_b.val();
        if self.busy.q.val() {
            self.sel_b.next = self.from_b.q.val();
        }
        self.from_b_now.next = self.sel_b.val();
        self.frames_out.data.next = self.a.data.val();
        self.frames_out.valid.next = self.a.valid.val();
        self.frames_out.last.next = self.a.last.val();
        self.frames_out.error.next = self.a.error.val();
        self.a.ready.next = self.frames_out.ready.val() & !self.sel_b.val();
        self.b.ready.next = self.frames_out.ready.val() & self.sel_b.val();
        if self.sel_b.val() {
            self.frames_out.data.next = self.b.data.val();
            self.frames_out.valid.next = self.b.valid.val();
            self.frames_out.last.next = self.b.last.val();
            self.frames_out.error.next = self.b.error.val();
        }
        if self.frames_out.valid.val() & self.frames_out.ready.val() {
            self.busy.d.next = !self.frames_out.last.val();
            self.from_b.d.next = self.sel_b.val();
            self.last_b.d.next = self.sel_b.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;

    /// Feeds two lists of frames with a ready pattern; returns what came
    /// out as (input, frame) in order.
    fn run(a: &[Vec<u8>], b: &[Vec<u8>], ready: fn(u64) -> bool) -> Vec<(char, Vec<u8>)> {
        let mut h = Harness::new(FrameMux::default(), |m| &mut m.clock);
        let beats = |fs: &[Vec<u8>]| -> Vec<(u8, bool)> {
            fs.iter().flat_map(|f| f.iter().enumerate().map(move |(i, &x)| (x, i + 1 == f.len()))).collect()
        };
        let (ba, bb) = (beats(a), beats(b));
        let (mut ia, mut ib) = (0, 0);
        let mut out = vec![];
        let mut cur: Vec<u8> = vec![];
        let mut who = ' ';
        for c in 0..10_000u64 {
            let u = &mut h.uut;
            u.a.valid.next = ia < ba.len();
            u.b.valid.next = ib < bb.len();
            if ia < ba.len() {
                u.a.data.next = (ba[ia].0 as u64).into();
                u.a.last.next = ba[ia].1;
            }
            if ib < bb.len() {
                u.b.data.next = (bb[ib].0 as u64).into();
                u.b.last.next = bb[ib].1;
            }
            u.frames_out.ready.next = ready(c);
            h.settle();
            let u = &mut h.uut;
            if u.frames_out.valid.val() && u.frames_out.ready.val() {
                let took_a = u.a.ready.val() && u.a.valid.val();
                let took_b = u.b.ready.val() && u.b.valid.val();
                assert!(took_a != took_b, "exactly one input moves with the output");
                if cur.is_empty() {
                    who = if took_a { 'a' } else { 'b' };
                }
                assert_eq!(u.from_b_now.val(), took_b);
                assert_eq!(who, if took_a { 'a' } else { 'b' }, "a frame was cut by the other input");
                cur.push(u.frames_out.data.val().index() as u8);
                if took_a {
                    ia += 1;
                } else {
                    ib += 1;
                }
                if u.frames_out.last.val() {
                    out.push((who, std::mem::take(&mut cur)));
                }
            }
            h.cycle();
            if ia == ba.len() && ib == bb.len() {
                break;
            }
        }
        out
    }

    #[test]
    fn frames_alternate_whole_and_none_is_lost() {
        let a: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 5 + i as usize]).collect();
        let b: Vec<Vec<u8>> = (0..6u8).map(|i| vec![100 + i; 3 + i as usize]).collect();
        for ready in [(|_| true) as fn(u64) -> bool, |c| c % 3 != 1] {
            let out = run(&a, &b, ready);
            let order: String = out.iter().map(|(w, _)| *w).collect();
            // After reset `a` counts as having gone last.
            assert_eq!(order, "bababababb");
            let from = |w: char| out.iter().filter(|(x, _)| *x == w).map(|(_, f)| f.clone()).collect::<Vec<_>>();
            assert_eq!(from('a'), a);
            assert_eq!(from('b'), b);
        }
        assert_eq!(run(&[], &b, |_| true).len(), 6);
    }

    #[test]
    fn generates_verilog() {
        let mut m = FrameMux::default();
        m.connect_all();
        assert!(generate_verilog(&m).contains("module top"));
    }
}
