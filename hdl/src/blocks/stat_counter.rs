//! A 64-bit event counter: at one event per cycle and 125 MHz it wraps after
//! four thousand years, so software never has to handle wrap-around.

use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct StatCounter {
    pub clock: Signal<In, Clock>,
    pub inc: Signal<In, Bit>,
    pub value: Signal<Out, Bits<64>>,
    count: DFF<Bits<64>>,
}

impl Logic for StatCounter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, count);
        if self.inc.val() {
            self.count.d.next = self.count.q.val() + 1;
        }
        self.value.next = self.count.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;

    #[test]
    fn counts_only_cycles_with_inc() {
        let mut h = Harness::new(StatCounter::default(), |c| &mut c.clock);
        let pattern = [true, false, true, true, false, false, true];
        for &inc in &pattern {
            h.uut.inc.next = inc;
            h.cycle();
        }
        h.uut.inc.next = false;
        h.cycle();
        assert_eq!(h.uut.value.val(), 4u64.to_bits::<64>());
    }
}
