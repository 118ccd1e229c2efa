//! A 2:1 arbiter on the register port: two initiators (the board's UART
//! bridge and its hardware forwarder) share one target.
//!
//! Each initiator has at most one access outstanding, as the port says;
//! the arbiter latches it at its strobe, so neither has to hold anything.
//! One access is in flight to the target at a time: it goes out from
//! registers the cycle after it was latched (or after the access in
//! flight is answered), and its answer goes back, from registers, to the
//! initiator that made it the cycle after the target's ack. When both wait,
//! the one not served last goes first, so under load they alternate and
//! neither starves.
//!
//! A target that does not ack within `ACK_TIMEOUT_CYCLES` (the UART
//! bridge's limit, after which the bridge has answered its host anyway)
//! loses the access: the arbiter answers nobody and serves the next, so an
//! unmapped address cannot wedge the other initiator. An ack that comes
//! later still would be taken for the next access's; the shell's targets
//! all ack within a few cycles.

use crate::blocks::uart_bridge::ACK_TIMEOUT_CYCLES;
use crate::params::REG_ADDR_BITS;
use crate::ports::{RegInitiator, RegTarget};
use rust_hdl::prelude::*;

const _: () = assert!(ACK_TIMEOUT_CYCLES == 1024, "update() spells the limit as a literal");

#[derive(LogicBlock, Default)]
pub struct RegArbiter {
    pub clock: Signal<In, Clock>,
    pub a: RegTarget,
    pub b: RegTarget,
    pub to: RegInitiator,
    a_pend: DFF<Bit>,
    a_write: DFF<Bit>,
    a_addr: DFF<Bits<REG_ADDR_BITS>>,
    a_wdata: DFF<Bits<32>>,
    b_pend: DFF<Bit>,
    b_write: DFF<Bit>,
    b_addr: DFF<Bits<REG_ADDR_BITS>>,
    b_wdata: DFF<Bits<32>>,
    busy: DFF<Bit>,
    /// Whose access is in flight (or was last): 1 for `b`.
    owner: DFF<Bit>,
    waited: DFF<Bits<10>>,
    strobe: DFF<Bit>,
    write: DFF<Bit>,
    addr: DFF<Bits<REG_ADDR_BITS>>,
    wdata: DFF<Bits<32>>,
    a_ack: DFF<Bit>,
    b_ack: DFF<Bit>,
    rdata: DFF<Bits<32>>,
    pick_b: Signal<Local, Bit>,
}

impl Logic for RegArbiter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, a_pend, a_write, a_addr, a_wdata, b_pend, b_write, b_addr, b_wdata, busy, owner, waited,
            strobe, write, addr, wdata, a_ack, b_ack, rdata
        );
        if self.a.strobe.val() {
            self.a_pend.d.next = true;
            self.a_write.d.next = self.a.write.val();
            self.a_addr.d.next = self.a.addr.val();
            self.a_wdata.d.next = self.a.wdata.val();
        }
        if self.b.strobe.val() {
            self.b_pend.d.next = true;
            self.b_write.d.next = self.b.write.val();
            self.b_addr.d.next = self.b.addr.val();
            self.b_wdata.d.next = self.b.wdata.val();
        }
        self.strobe.d.next = false;
        self.a_ack.d.next = false;
        self.b_ack.d.next = false;
        self.pick_b.next = self.b_pend.q.val() & (!self.a_pend.q.val() | !self.owner.q.val());
        if !self.busy.q.val() & (self.a_pend.q.val() | self.b_pend.q.val()) {
            self.busy.d.next = true;
            self.waited.d.next = 0.into();
            self.strobe.d.next = true;
            self.owner.d.next = self.pick_b.val();
            if self.pick_b.val() {
                self.b_pend.d.next = false;
                self.write.d.next = self.b_write.q.val();
                self.addr.d.next = self.b_addr.q.val();
                self.wdata.d.next = self.b_wdata.q.val();
            } else {
                self.a_pend.d.next = false;
                self.write.d.next = self.a_write.q.val();
                self.addr.d.next = self.a_addr.q.val();
                self.wdata.d.next = self.a_wdata.q.val();
            }
        }
        if self.busy.q.val() {
            self.waited.d.next = self.waited.q.val() + 1;
            if self.to.ack.val() {
                self.busy.d.next = false;
                self.a_ack.d.next = !self.owner.q.val();
                self.b_ack.d.next = self.owner.q.val();
                self.rdata.d.next = self.to.rdata.val();
            } else if self.waited.q.val() == 0x3FF {
                self.busy.d.next = false;
            }
        }
        self.to.strobe.next = self.strobe.q.val();
        self.to.write.next = self.write.q.val();
        self.to.addr.next = self.addr.q.val();
        self.to.wdata.next = self.wdata.q.val();
        self.a.ack.next = self.a_ack.q.val();
        self.a.rdata.next = self.rdata.q.val();
        self.b.ack.next = self.b_ack.q.val();
        self.b.rdata.next = self.rdata.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};
    use std::collections::VecDeque;

    /// One initiator: the accesses it will make, the one outstanding, and
    /// the answers it got.
    #[derive(Default)]
    struct Initiator {
        todo: VecDeque<(bool, u32, u32)>,
        outstanding: Option<(bool, u32, u32)>,
        gap: u64,
        answers: Vec<(u32, u32)>,
    }

    /// Addresses from here up are never acknowledged.
    const DEAF: u32 = 0xF0_0000;

    struct Bench {
        h: Harness<RegArbiter>,
        rng: Rng,
        init: [Initiator; 2],
        /// (initiator, write, addr, wdata) as the target saw them.
        seen: Vec<(usize, bool, u32, u32)>,
        pending: Option<(u64, u32)>,
        /// Percent chance an idle initiator starts its next access in a cycle.
        eager: u64,
        /// Idle cycles after an answer: below this.
        max_gap: u64,
    }

    impl Bench {
        fn new(seed: u64) -> Self {
            Bench {
                h: Harness::new(RegArbiter::default(), |a| &mut a.clock),
                rng: Rng(seed),
                init: Default::default(),
                seen: vec![],
                pending: None,
                eager: 30,
                max_gap: 3,
            }
        }

        /// A target's answer: reads return a function of the address.
        fn answer(write: bool, addr: u32, wdata: u32) -> u32 {
            if write {
                !wdata
            } else {
                addr ^ 0x5A5A_0000
            }
        }

        fn step(&mut self) {
            let u = &mut self.h.uut;
            for (i, port) in [&mut u.a, &mut u.b].into_iter().enumerate() {
                port.strobe.next = false;
                let me = &mut self.init[i];
                if me.outstanding.is_none() && !me.todo.is_empty() {
                    if me.gap > 0 {
                        me.gap -= 1;
                    } else if self.rng.chance(self.eager) {
                        let (w, addr, wdata) = me.todo.pop_front().unwrap();
                        port.strobe.next = true;
                        port.write.next = w;
                        port.addr.next = (addr as u64).into();
                        port.wdata.next = (wdata as u64).into();
                        me.outstanding = Some((w, addr, wdata));
                    }
                }
            }
            u.to.ack.next = false;
            if let Some((n, d)) = self.pending {
                if n == 0 {
                    u.to.ack.next = true;
                    u.to.rdata.next = (d as u64).into();
                    self.pending = None;
                } else {
                    self.pending = Some((n - 1, d));
                }
            }
            self.h.settle();
            let t = &self.h.uut.to;
            if t.strobe.val() {
                assert!(self.pending.is_none(), "a second access in flight");
                let (w, addr, wdata) = (t.write.val(), u64::from(t.addr.val()) as u32, u64::from(t.wdata.val()) as u32);
                // Initiators use disjoint address halves, so an access says whose it is.
                let who = (addr >> 22 & 1) as usize;
                self.seen.push((who, w, addr, wdata));
                if addr < DEAF {
                    self.pending = Some((self.rng.below(5), Self::answer(w, addr, wdata)));
                }
            }
            self.h.cycle();
            for i in 0..2 {
                let port = if i == 0 { &self.h.uut.a } else { &self.h.uut.b };
                if port.ack.val() {
                    let (w, addr, wdata) = self.init[i].outstanding.take().expect("an answer nobody waited for");
                    self.init[i].answers.push((addr, u64::from(port.rdata.val()) as u32));
                    assert_eq!(u64::from(port.rdata.val()) as u32, Self::answer(w, addr, wdata));
                    self.init[i].gap = self.rng.below(self.max_gap);
                }
            }
        }
    }

    fn accesses(rng: &mut Rng, who: u32, n: usize) -> VecDeque<(bool, u32, u32)> {
        (0..n)
            .map(|_| (rng.chance(50), (who << 22) | (rng.next_u64() as u32 & 0x3F_FFFC), rng.next_u64() as u32))
            .collect()
    }

    /// Random accesses from both sides: each reaches the target exactly
    /// once with its fields, in each initiator's order, one in flight at a
    /// time, and each answer goes back to its initiator.
    #[test]
    fn each_access_reaches_the_target_once_and_its_answer_goes_home() {
        let mut b = Bench::new(7);
        let mut rng = Rng(9);
        let want = [accesses(&mut rng, 0, 300), accesses(&mut rng, 1, 300)];
        b.init[0].todo = want[0].clone();
        b.init[1].todo = want[1].clone();
        for _ in 0..40_000 {
            b.step();
            if b.init.iter().all(|i| i.todo.is_empty() && i.outstanding.is_none()) {
                break;
            }
        }
        for (who, want) in want.iter().enumerate() {
            let got: Vec<(bool, u32, u32)> = b.seen.iter().filter(|s| s.0 == who).map(|s| (s.1, s.2, s.3)).collect();
            assert_eq!(got, Vec::from(want.clone()), "initiator {who}");
            assert_eq!(b.init[who].answers.len(), 300);
        }
    }

    /// Both initiators always waiting: the target sees their accesses
    /// alternate exactly.
    #[test]
    fn two_busy_initiators_alternate() {
        let mut b = Bench::new(8);
        b.eager = 100;
        b.max_gap = 1;
        let mut rng = Rng(10);
        b.init[0].todo = accesses(&mut rng, 0, 100);
        b.init[1].todo = accesses(&mut rng, 1, 100);
        for _ in 0..20_000 {
            b.step();
        }
        assert_eq!(b.seen.len(), 200);
        let order: Vec<usize> = b.seen.iter().map(|s| s.0).collect();
        // The first waits for nobody; from then on they alternate.
        assert!(order.windows(2).all(|w| w[0] != w[1]), "{order:?}");
    }

    /// An access nobody acks holds the target for the timeout, then the
    /// other initiator's waiting access goes out; nobody gets an answer
    /// for the lost one.
    #[test]
    fn an_access_never_acked_frees_the_target_after_the_timeout() {
        let mut b = Bench::new(11);
        b.eager = 100;
        b.init[1].todo = VecDeque::from(vec![(false, DEAF | 1 << 22, 0)]);
        for _ in 0..5 {
            b.step();
        }
        b.init[0].todo = VecDeque::from(vec![(true, 0x40, 1), (false, 0x44, 0)]);
        let start = b.h.cycles;
        while b.init[0].answers.is_empty() {
            b.step();
            assert!(b.h.cycles - start < 2000, "the first initiator was never served");
        }
        let waited = b.h.cycles - start;
        assert!((1015..1035).contains(&waited), "served after {waited} cycles");
        for _ in 0..100 {
            b.step();
        }
        assert_eq!(b.init[0].answers.len(), 2);
        assert!(b.init[1].answers.is_empty());
        b.init[1].outstanding = None;
        b.init[1].todo = VecDeque::from(vec![(true, 1 << 22 | 0x10, 5)]);
        for _ in 0..100 {
            b.step();
        }
        assert_eq!(b.init[1].answers, vec![(1 << 22 | 0x10, !5)]);
    }

    #[test]
    fn reg_arbiter_generates_verilog() {
        let mut uut = RegArbiter::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        assert!(generate_verilog(&uut).contains("module top"));
    }
}
