//! A register slice on the register port: the access goes out a cycle
//! late from registers, and its answer comes back a cycle late from
//! registers. With one access outstanding at a time this changes nothing
//! but latency, and it cuts the path from an initiator's address logic
//! (the UART bridge's, a PCIe endpoint's) into a target's decoders, which
//! fan its address out to every register of a page.

use crate::params::REG_ADDR_BITS;
use crate::ports::{RegInitiator, RegTarget};
use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct RegSlice {
    pub clock: Signal<In, Clock>,
    pub from: RegTarget,
    pub to: RegInitiator,
    strobe: DFF<Bit>,
    write: DFF<Bit>,
    addr: DFF<Bits<REG_ADDR_BITS>>,
    wdata: DFF<Bits<32>>,
    ack: DFF<Bit>,
    rdata: DFF<Bits<32>>,
}

impl Logic for RegSlice {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, strobe, write, addr, wdata, ack, rdata);
        self.strobe.d.next = self.from.strobe.val();
        // Address and data hold between accesses, so targets that decode
        // them see no toggling that a strobe did not ask for.
        if self.from.strobe.val() {
            self.write.d.next = self.from.write.val();
            self.addr.d.next = self.from.addr.val();
            self.wdata.d.next = self.from.wdata.val();
        }
        self.to.strobe.next = self.strobe.q.val();
        self.to.write.next = self.write.q.val();
        self.to.addr.next = self.addr.q.val();
        self.to.wdata.next = self.wdata.q.val();
        self.ack.d.next = self.to.ack.val();
        self.rdata.d.next = self.to.rdata.val();
        self.from.ack.next = self.ack.q.val();
        self.from.rdata.next = self.rdata.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};

    /// Accesses with random target latencies: each reaches the target
    /// exactly once with its fields, one cycle late, and its answer comes
    /// back exactly once, one cycle after the target gave it.
    #[test]
    fn each_access_and_answer_arrive_once_a_cycle_late() {
        let mut h = Harness::new(RegSlice::default(), |s| &mut s.clock);
        let mut rng = Rng(3);
        for n in 0..300u64 {
            let (write, addr, wdata) = (n % 2 == 0, (rng.next_u64() & 0xFF_FFFC), rng.next_u64() & 0xFFFF_FFFF);
            h.uut.from.strobe.next = true;
            h.uut.from.write.next = write;
            h.uut.from.addr.next = addr.into();
            h.uut.from.wdata.next = wdata.into();
            h.settle();
            assert!(!h.uut.to.strobe.val(), "no access before the slice's register");
            h.cycle();
            h.uut.from.strobe.next = false;
            h.uut.from.addr.next = 0.into();
            h.settle();
            assert!(h.uut.to.strobe.val());
            assert_eq!(h.uut.to.write.val(), write);
            assert_eq!(u64::from(h.uut.to.addr.val()), addr);
            assert_eq!(u64::from(h.uut.to.wdata.val()), wdata);
            h.cycle();
            h.settle();
            assert!(!h.uut.to.strobe.val(), "one strobe per access");
            assert_eq!(u64::from(h.uut.to.addr.val()), addr, "the address holds");
            for _ in 0..rng.below(4) {
                h.cycle();
            }
            let answer = rng.next_u64() & 0xFFFF_FFFF;
            h.uut.to.ack.next = true;
            h.uut.to.rdata.next = answer.into();
            h.settle();
            assert!(!h.uut.from.ack.val());
            h.cycle();
            h.uut.to.ack.next = false;
            h.settle();
            assert!(h.uut.from.ack.val());
            assert_eq!(u64::from(h.uut.from.rdata.val()), answer);
            h.cycle();
            h.settle();
            assert!(!h.uut.from.ack.val(), "one answer per access");
        }
    }
}
