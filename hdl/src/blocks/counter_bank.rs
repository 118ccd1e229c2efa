//! Thirty-two 64-bit event counters kept in a RAM instead of flip-flops:
//! each counter has a 6-bit pending count in flip-flops, and a sweep adds
//! one counter's pending count into its RAM word every cycle, so each word
//! is brought up to date every 32 cycles. Thirty-two 64-bit counters in
//! flip-flops cost 2048 registers, 1024 carry cells and a 64-bit-wide
//! 32-to-1 read select; this costs 192 pending registers, one 64-bit adder
//! and the RAM, which matters on a board whose LUTs are mostly used.
//!
//! The sweep: in cycle c counter `c mod 32` hands its pending count over
//! (its events of cycle c start the next one) and its word is read; in c+1
//! the word arrives and is registered; in c+2 the sum is written back. A
//! counter gets at most one event a cycle, so at most 32 wait between two
//! visits: 6 bits hold them.
//!
//! A read (`rd_strobe`, `rd_index`) is answered by the first visit of the
//! counter that starts after the strobe: `rd_ack` for one cycle with
//! `rd_value`, every event up to the strobe's cycle included, 4 to 35
//! cycles later. One read at a time; a strobe while one waits replaces it.

use rust_hdl::prelude::*;

pub const BANK_COUNTERS: usize = 32;
/// Cycles from a read's strobe to its answer, at most.
pub const BANK_READ_LATENCY_MAX: u64 = BANK_COUNTERS as u64 + 3;

#[derive(LogicBlock)]
pub struct CounterBank {
    pub clock: Signal<In, Clock>,
    /// Bit `i` counts one event of counter `i` this cycle.
    pub inc: Signal<In, Bits<BANK_COUNTERS>>,
    pub rd_strobe: Signal<In, Bit>,
    pub rd_index: Signal<In, Bits<5>>,
    pub rd_ack: Signal<Out, Bit>,
    pub rd_value: Signal<Out, Bits<64>>,
    words: RAM<Bits<64>, 5>,
    pending: [DFF<Bits<6>>; BANK_COUNTERS],
    /// The counter being visited, as an index and one-hot.
    ptr: DFF<Bits<5>>,
    ptr_hot: DFFWithInit<Bits<BANK_COUNTERS>>,
    /// A read waits for a visit of `rd_want`; `rd_armed` once it started.
    rd_wait: DFF<Bit>,
    rd_want: DFF<Bits<5>>,
    take: Signal<Local, Bits<6>>,
    hit: Signal<Local, Bit>,
    one_event: Signal<Local, Bits<6>>,
    s1_take: DFF<Bits<6>>,
    s1_idx: DFF<Bits<5>>,
    s1_rd: DFF<Bit>,
    s2_old: DFF<Bits<64>>,
    s2_take: DFF<Bits<6>>,
    s2_idx: DFF<Bits<5>>,
    s2_rd: DFF<Bit>,
    sum: Signal<Local, Bits<64>>,
    ack: DFF<Bit>,
    value: DFF<Bits<64>>,
}

impl Default for CounterBank {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            inc: Default::default(),
            rd_strobe: Default::default(),
            rd_index: Default::default(),
            rd_ack: Default::default(),
            rd_value: Default::default(),
            words: (0..BANK_COUNTERS).map(|_| Bits::<64>::default()).into(),
            pending: Default::default(),
            ptr: Default::default(),
            ptr_hot: DFFWithInit::new(1.into()),
            rd_wait: Default::default(),
            rd_want: Default::default(),
            take: Default::default(),
            hit: Default::default(),
            one_event: Default::default(),
            s1_take: Default::default(),
            s1_idx: Default::default(),
            s1_rd: Default::default(),
            s2_old: Default::default(),
            s2_take: Default::default(),
            s2_idx: Default::default(),
            s2_rd: Default::default(),
            sum: Default::default(),
            ack: Default::default(),
            value: Default::default(),
        }
    }
}

impl Logic for CounterBank {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, ptr, ptr_hot, rd_wait, rd_want, s1_take, s1_idx, s1_rd, s2_old, s2_take, s2_idx, s2_rd, ack,
            value
        );
        self.words.read_clock.next = self.clock.val();
        self.words.write_clock.next = self.clock.val();
        self.ptr.d.next = self.ptr.q.val() + 1;
        self.ptr_hot.d.next = (self.ptr_hot.q.val() << 1) | (self.ptr_hot.q.val() >> 31);

        // Visit: the pointed-at counter's pending count is taken (an OR of
        // one-hot selected counts) and restarts from this cycle's event.
        self.take.next = 0.into();
        for i in 0..BANK_COUNTERS {
            self.pending[i].clock.next = self.clock.val();
            self.one_event.next = 0.into();
            if self.inc.val().get_bit(i) {
                self.one_event.next = 1.into();
            }
            self.pending[i].d.next = self.pending[i].q.val() + self.one_event.val();
            if self.ptr_hot.q.val().get_bit(i) {
                self.take.next = self.take.val() | self.pending[i].q.val();
                self.pending[i].d.next = self.one_event.val();
            }
        }
        self.words.read_address.next = self.ptr.q.val();
        self.s1_take.d.next = self.take.val();
        self.s1_idx.d.next = self.ptr.q.val();
        // A read waiting since an earlier cycle is answered by this visit.
        self.hit.next = self.rd_wait.q.val() & (self.rd_want.q.val() == self.ptr.q.val());
        self.s1_rd.d.next = self.hit.val();
        if self.hit.val() {
            self.rd_wait.d.next = false;
        }
        if self.rd_strobe.val() {
            self.rd_wait.d.next = true;
            self.rd_want.d.next = self.rd_index.val();
        }

        // The word arrives; registered before the add.
        self.s2_old.d.next = self.words.read_data.val();
        self.s2_take.d.next = self.s1_take.q.val();
        self.s2_idx.d.next = self.s1_idx.q.val();
        self.s2_rd.d.next = self.s1_rd.q.val();

        // The sum is written back, and is the answer of a read.
        self.sum.next = self.s2_old.q.val() + bit_cast::<64, 6>(self.s2_take.q.val());
        self.words.write_address.next = self.s2_idx.q.val();
        self.words.write_data.next = self.sum.val();
        self.words.write_enable.next = true;
        self.ack.d.next = self.s2_rd.q.val();
        if self.s2_rd.q.val() {
            self.value.d.next = self.sum.val();
        }
        self.rd_ack.next = self.ack.q.val();
        self.rd_value.next = self.value.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};

    fn read(h: &mut Harness<CounterBank>, i: usize, inc: u64) -> (u64, u64) {
        h.uut.rd_strobe.next = true;
        h.uut.rd_index.next = (i as u64).into();
        h.uut.inc.next = inc.into();
        h.cycle();
        h.uut.rd_strobe.next = false;
        h.uut.rd_index.next = ((i as u64 + 7) % 32).into();
        let mut waited = 1;
        while !h.uut.rd_ack.val() {
            h.cycle();
            waited += 1;
            assert!(waited <= BANK_READ_LATENCY_MAX, "no answer after {waited} cycles");
        }
        (u64::from(h.uut.rd_value.val()), waited)
    }

    /// Random events on every counter, reads at random moments while the
    /// events go on: each answer holds at least every event up to its
    /// strobe and at most those up to its answer.
    #[test]
    fn reads_see_every_event_before_the_strobe() {
        let mut h = Harness::new(CounterBank::default(), |c| &mut c.clock);
        let mut rng = Rng(7);
        let mut counts = [0u64; BANK_COUNTERS];
        let mut latencies = vec![];
        for _ in 0..300 {
            for _ in 0..rng.below(40) {
                let inc = rng.next_u64() & rng.next_u64() & 0xFFFF_FFFF;
                for (i, c) in counts.iter_mut().enumerate() {
                    *c += inc >> i & 1;
                }
                h.uut.inc.next = inc.into();
                h.cycle();
            }
            let i = rng.below(32) as usize;
            let inc = rng.next_u64() & 0xFFFF_FFFF;
            let strobe_counts = {
                let mut c = counts;
                for (j, v) in c.iter_mut().enumerate() {
                    *v += inc >> j & 1;
                }
                c
            };
            h.uut.inc.next = inc.into();
            // Events keep coming while the read waits.
            let start = h.cycles;
            h.uut.rd_strobe.next = true;
            h.uut.rd_index.next = (i as u64).into();
            h.cycle();
            counts = strobe_counts;
            h.uut.rd_strobe.next = false;
            while !h.uut.rd_ack.val() {
                let inc = rng.next_u64() & 0xFFFF_FFFF;
                for (j, c) in counts.iter_mut().enumerate() {
                    *c += inc >> j & 1;
                }
                h.uut.inc.next = inc.into();
                h.cycle();
                assert!(h.cycles - start <= BANK_READ_LATENCY_MAX, "read of {i} not answered");
            }
            let got = u64::from(h.uut.rd_value.val());
            assert!(got >= strobe_counts[i] && got <= counts[i], "counter {i}: {got} not in {}..={}", strobe_counts[i], counts[i]);
            latencies.push(h.cycles - start);
        }
        assert!(latencies.iter().any(|&l| l <= 5) && latencies.iter().any(|&l| l >= 30), "{latencies:?}");
        // Quiet: every counter reads exactly.
        h.uut.inc.next = 0.into();
        for (i, &count) in counts.iter().enumerate() {
            assert_eq!(read(&mut h, i, 0).0, count, "counter {i}");
        }
    }

    /// An event every cycle on every counter, for longer than the pending
    /// counts could hold without the sweep, loses nothing; and counts
    /// carry past 32 bits.
    #[test]
    fn every_cycle_events_and_carries_past_32_bits() {
        let bank = CounterBank {
            words: (0..BANK_COUNTERS).map(|i| Bits::<64>::from(0xFFFF_FF00u64 + i as u64)).into(),
            ..Default::default()
        };
        let mut h = Harness::new(bank, |c| &mut c.clock);
        h.uut.inc.next = 0xFFFF_FFFFu64.into();
        for _ in 0..1000 {
            h.cycle();
        }
        h.uut.inc.next = 0.into();
        for i in 0..BANK_COUNTERS {
            assert_eq!(read(&mut h, i, 0).0, 0xFFFF_FF00 + i as u64 + 1000, "counter {i}");
        }
        h.uut.inc.next = 0.into();
        let (v, waited) = read(&mut h, 3, 1 << 3);
        assert_eq!(v, 0xFFFF_FF03 + 1001, "the strobe's own event");
        assert!(waited <= BANK_READ_LATENCY_MAX);
    }

    #[test]
    fn generates_verilog() {
        let mut uut = CounterBank::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        generate_verilog(&uut);
    }
}
