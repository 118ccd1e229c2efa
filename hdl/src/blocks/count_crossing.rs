//! Brings a counter from another clock domain into this one. The source
//! counts up by one at a time, at most once every few of its cycles (a MAC
//! counts at most once per frame), so its lowest bit toggles once per
//! count: that one bit crosses through two flip-flops, and every change
//! seen on this side counts one here. A multi-bit value never crosses, so
//! no count can be torn; the copy lags the source by three cycles.

use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct CountCrossing {
    /// This side's clock.
    pub clock: Signal<In, Clock>,
    /// Bit 0 of the source domain's counter.
    pub toggle: Signal<In, Bit>,
    pub count: Signal<Out, Bits<32>>,
    meta: DFF<Bit>,
    synced: DFF<Bit>,
    seen: DFF<Bit>,
    total: DFF<Bits<32>>,
}

impl Logic for CountCrossing {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, meta, synced, seen, total);
        self.meta.d.next = self.toggle.val();
        self.synced.d.next = self.meta.q.val();
        self.seen.d.next = self.synced.q.val();
        if self.synced.q.val() != self.seen.q.val() {
            self.total.d.next = self.total.q.val() + 1;
        }
        self.count.next = self.total.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source counter in a clock 3% slower than this side's counts
    /// bursts of events at its fastest (every other source cycle); this
    /// side ends with the same count.
    #[test]
    fn counts_arrive_whole_across_clocks() {
        #[derive(LogicBlock, Default)]
        struct Pair {
            src_clock: Signal<In, Clock>,
            dst_clock: Signal<In, Clock>,
            fire: Signal<In, Bit>,
            src: DFF<Bits<32>>,
            x: CountCrossing,
        }
        impl Logic for Pair {
            #[hdl_gen]
            fn update(&mut self) {
                self.src.clock.next = self.src_clock.val();
                self.x.clock.next = self.dst_clock.val();
                self.src.d.next = self.src.q.val();
                if self.fire.val() {
                    self.src.d.next = self.src.q.val() + 1;
                }
                self.x.toggle.next = self.src.q.val().get_bit(0);
            }
        }
        let mut uut = Pair::default();
        uut.src_clock.connect();
        uut.dst_clock.connect();
        uut.fire.connect();
        uut.connect_all();
        let _ = generate_verilog(&uut);
        let mut sim = Simulation::new();
        sim.add_clock(4120, |x: &mut Box<Pair>| x.src_clock.next = !x.src_clock.val());
        sim.add_clock(4000, |x: &mut Box<Pair>| x.dst_clock.next = !x.dst_clock.val());
        sim.add_testbench(move |mut ep: Sim<Pair>| {
            let mut x = ep.init()?;
            let mut fired = 0u64;
            for i in 0..3000u64 {
                // Bursts of counts every other source cycle, then quiet.
                x.fire.next = (i / 200) % 2 == 0 && i % 2 == 0;
                if x.fire.val() {
                    fired += 1;
                }
                wait_clock_true!(ep, src_clock, x);
                wait_clock_false!(ep, src_clock, x);
            }
            x.fire.next = false;
            for _ in 0..10 {
                wait_clock_cycle!(ep, dst_clock, x);
            }
            sim_assert_eq!(ep, x.x.count.val().index() as u64, fired, x);
            sim_assert!(ep, fired > 500, x);
            ep.done(x)
        });
        sim.run(Box::new(uut), 40_000_000).unwrap();
    }
}
