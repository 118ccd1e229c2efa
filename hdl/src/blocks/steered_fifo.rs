//! A first-word-fall-through FIFO with the same cycle behaviour as
//! rust-hdl's `SynchronousFIFO<D, N, N + 1, 1>` (a word written is at
//! `data_out`, and `empty` falls, two cycles later; `full` counts words
//! not yet visible), for a reader that raises `read` only when `empty` is
//! 0. That promise lets `read` steer the RAM's read address straight
//! between two registers (the head and the head plus one), where
//! rust-hdl's FIFO first compares the pointers and adds one: with `read`
//! from a register, the RAM read fits in a cycle at 125 MHz with room to
//! spare.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct SteeredFifo<D: Synth, const N: usize, const NP1: usize> {
    pub clock: Signal<In, Clock>,
    /// Pops the head; only while `empty` is 0.
    pub read: Signal<In, Bit>,
    pub data_out: Signal<Out, D>,
    pub empty: Signal<Out, Bit>,
    /// Ignored while `full`.
    pub write: Signal<In, Bit>,
    pub data_in: Signal<In, D>,
    pub full: Signal<Out, Bit>,
    ram: RAM<D, N>,
    rd: DFF<Bits<NP1>>,
    rd_p1: DFFWithInit<Bits<NP1>>,
    wr: DFF<Bits<NP1>>,
    /// `wr` a cycle late: a word is read out of the RAM the cycle after
    /// it was written, so it is shown only then.
    wr_seen: DFF<Bits<NP1>>,
    take: Signal<Local, Bit>,
}

impl<D: Synth, const N: usize, const NP1: usize> Default for SteeredFifo<D, N, NP1> {
    fn default() -> Self {
        assert_eq!(N + 1, NP1);
        Self {
            clock: Default::default(),
            read: Default::default(),
            data_out: Default::default(),
            empty: Default::default(),
            write: Default::default(),
            data_in: Default::default(),
            full: Default::default(),
            ram: Default::default(),
            rd: Default::default(),
            rd_p1: DFFWithInit::new(1.into()),
            wr: Default::default(),
            wr_seen: Default::default(),
            take: Default::default(),
        }
    }
}

impl<D: Synth, const N: usize, const NP1: usize> Logic for SteeredFifo<D, N, NP1> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rd, wr, wr_seen);
        self.rd_p1.clock.next = self.clock.val();
        self.rd_p1.d.next = self.rd_p1.q.val();
        self.ram.read_clock.next = self.clock.val();
        self.ram.write_clock.next = self.clock.val();
        self.wr_seen.d.next = self.wr.q.val();
        self.empty.next = self.rd.q.val() == self.wr_seen.q.val();
        // Same slot, different lap.
        self.full.next = (self.rd.q.val().get_bits::<N>(0) == self.wr.q.val().get_bits::<N>(0))
            & (self.rd.q.val() != self.wr.q.val());
        self.take.next = self.write.val() & !self.full.val();
        self.ram.write_address.next = self.wr.q.val().get_bits::<N>(0);
        self.ram.write_data.next = self.data_in.val();
        self.ram.write_enable.next = self.take.val();
        if self.take.val() {
            self.wr.d.next = self.wr.q.val() + 1;
        }
        self.ram.read_address.next = self.rd.q.val().get_bits::<N>(0);
        if self.read.val() {
            self.rd.d.next = self.rd_p1.q.val();
            self.rd_p1.d.next = self.rd_p1.q.val() + 1;
            self.ram.read_address.next = self.rd_p1.q.val().get_bits::<N>(0);
        }
        self.data_out.next = self.ram.read_data.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against rust-hdl's FIFO, cycle by cycle, with random traffic that
    /// keeps the read promise.
    #[derive(LogicBlock, Default)]
    struct Pair {
        clock: Signal<In, Clock>,
        read: Signal<In, Bit>,
        write: Signal<In, Bit>,
        data_in: Signal<In, Bits<8>>,
        a: SteeredFifo<Bits<8>, 3, 4>,
        b: SynchronousFIFO<Bits<8>, 3, 4, 1>,
    }

    impl Logic for Pair {
        #[hdl_gen]
        fn update(&mut self) {
            clock!(self, clock, a, b);
            self.a.read.next = self.read.val();
            self.b.read.next = self.read.val();
            self.a.write.next = self.write.val();
            self.b.write.next = self.write.val();
            self.a.data_in.next = self.data_in.val();
            self.b.data_in.next = self.data_in.val();
        }
    }

    #[test]
    fn matches_the_rust_hdl_fifo_cycle_for_cycle() {
        let mut uut = Pair::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        assert!(generate_verilog(&uut).contains("module top"));
        let mut h = crate::harness::Harness::new(uut, |p| &mut p.clock);
        let mut seed = 0x1234_5678u64;
        let mut popped = 0;
        for cycle in 0..4000u64 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let r = seed >> 33;
            // Phases of mostly writing and mostly reading, so it fills and drains.
            let write_bias = if (cycle / 200) % 2 == 0 { 3 } else { 1 };
            let empty = h.uut.a.empty.val();
            assert_eq!(empty, h.uut.b.empty.val(), "empty at {cycle}");
            assert_eq!(h.uut.a.full.val(), h.uut.b.full.val(), "full at {cycle}");
            if !empty {
                assert_eq!(h.uut.a.data_out.val(), h.uut.b.data_out.val(), "data at {cycle}");
            }
            let read = !empty && (r & 3) < 4 - write_bias;
            popped += read as u32;
            h.uut.read.next = read;
            h.uut.write.next = (r >> 2) & 3 < write_bias;
            h.uut.data_in.next = ((r >> 8) & 0xff).into();
            h.cycle();
        }
        assert!(popped > 1000);
    }
}
