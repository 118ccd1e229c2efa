//! The per-queue counters a user page shows (`QCOUNT_*` in
//! `ports::queue`): four 32-bit wrapping counters per queue in one block
//! RAM, addressed `queue * 4 + counter`.
//!
//! Every access is one operation through a three-stage pipeline, one
//! operation per cycle: stage 0 picks it and addresses the RAM, stage 1
//! registers the RAM's data, stage 2 computes the new value and writes it.
//! The RAM does not yet hold the values of the two operations ahead of the
//! one in stage 1, so theirs are forwarded from registers when they are on
//! the same counter, and back-to-back increments of one counter all count.
//! The RAM's read data goes straight into a register (block RAM data
//! arrives late in the cycle), which keeps the block at 125 MHz.
//!
//! Operations, highest priority first:
//! - a commit (`settings.write` for a queue below `QUEUE_COUNT`) clears the
//!   queue's counter 0 in the commit cycle and counters 1, 2, 3 in the three
//!   cycles after, with `cfg_busy` high during those three. Commits must be
//!   at least 4 cycles apart (the control page waits for `cfg_busy`); one
//!   made while `cfg_busy` is high abandons the clear in progress. Since
//!   nothing else runs while the clear does, an increment accepted before
//!   the commit cycle is cleared and one accepted after it counts.
//! - a read: `rd_strobe` latches `rd_queue`/`rd_counter`; `rd_ack` pulses
//!   with `rd_data` 4 cycles after the strobe (later only if a clear is
//!   running). The value includes every increment accepted before the
//!   read entered stage 0. A queue at or above `QUEUE_COUNT` reads 0. One
//!   read at a time: a new strobe only after the previous ack.
//! - increments from `rx` and `tx`, one per cycle between them, alternating
//!   when both are valid; `ready` drops only for the source that lost, or
//!   for both while a clear or read runs. An increment for a queue at or
//!   above `QUEUE_COUNT` is accepted and dropped.

use crate::params::{QUEUE_BITS, QUEUE_COUNT, QUEUE_COUNT_LOG2};
use crate::ports::{QueueConfigSink, QueueCountSink};
use rust_hdl::prelude::*;

/// RAM address: queue number above the 2-bit counter number.
const ADDR_BITS: usize = QUEUE_COUNT_LOG2 + 2;

#[derive(LogicBlock)]
pub struct QueueCounters {
    pub clock: Signal<In, Clock>,
    pub rx: QueueCountSink,
    pub tx: QueueCountSink,
    pub settings: QueueConfigSink,
    /// High while a commit's clear is still running.
    pub cfg_busy: Signal<Out, Bit>,
    pub rd_strobe: Signal<In, Bit>,
    pub rd_queue: Signal<In, Bits<QUEUE_BITS>>,
    pub rd_counter: Signal<In, Bits<2>>,
    pub rd_ack: Signal<Out, Bit>,
    pub rd_data: Signal<Out, Bits<32>>,
    ram: RAM<Bits<32>, ADDR_BITS>,
    queue_count: Constant<Bits<QUEUE_BITS>>,
    clr_active: DFF<Bit>,
    clr_queue: DFF<Bits<QUEUE_COUNT_LOG2>>,
    clr_index: DFF<Bits<2>>,
    rd_pending: DFF<Bit>,
    rd_addr: DFF<Bits<ADDR_BITS>>,
    rd_outside: DFF<Bit>,
    /// Alternates the increment sources when both are valid.
    prefer_tx: DFF<Bit>,
    /// Stage 1: 0 none, 1 increment, 2 read, 3 clear.
    s1_op: DFF<Bits<2>>,
    s1_addr: DFF<Bits<ADDR_BITS>>,
    s1_outside: DFF<Bit>,
    /// Stage 2: the operation with its counter's old value.
    s2_op: DFF<Bits<2>>,
    s2_addr: DFF<Bits<ADDR_BITS>>,
    s2_outside: DFF<Bit>,
    /// The RAM's data and whether the counter is the one written this
    /// cycle (`w_data`) or the cycle before (`w2_data`) instead.
    s2_raw: DFF<Bits<32>>,
    s2_fwd1: DFF<Bit>,
    s2_fwd2: DFF<Bit>,
    w2_data: DFF<Bits<32>>,
    /// Stage 2's write of the previous cycle, for forwarding.
    w_valid: DFF<Bit>,
    w_addr: DFF<Bits<ADDR_BITS>>,
    w_data: DFF<Bits<32>>,
    ack: DFF<Bit>,
    data: DFF<Bits<32>>,
    s0_op: Signal<Local, Bits<2>>,
    s0_addr: Signal<Local, Bits<ADDR_BITS>>,
    take_tx: Signal<Local, Bit>,
    current: Signal<Local, Bits<32>>,
    s1_writes2: Signal<Local, Bit>,
    s2_new: Signal<Local, Bits<32>>,
}

impl Default for QueueCounters {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            settings: Default::default(),
            cfg_busy: Default::default(),
            rd_strobe: Default::default(),
            rd_queue: Default::default(),
            rd_counter: Default::default(),
            rd_ack: Default::default(),
            rd_data: Default::default(),
            // Zeroed so counters read 0 before a queue's first commit too.
            ram: (0..1u64 << ADDR_BITS).map(|_| Bits::<32>::default()).into(),
            queue_count: Constant::new((QUEUE_COUNT as u64).into()),
            clr_active: Default::default(),
            clr_queue: Default::default(),
            clr_index: Default::default(),
            rd_pending: Default::default(),
            rd_addr: Default::default(),
            rd_outside: Default::default(),
            prefer_tx: Default::default(),
            s1_op: Default::default(),
            s1_addr: Default::default(),
            s1_outside: Default::default(),
            s2_op: Default::default(),
            s2_addr: Default::default(),
            s2_outside: Default::default(),
            s2_raw: Default::default(),
            s2_fwd1: Default::default(),
            s2_fwd2: Default::default(),
            w2_data: Default::default(),
            w_valid: Default::default(),
            w_addr: Default::default(),
            w_data: Default::default(),
            ack: Default::default(),
            data: Default::default(),
            s0_op: Default::default(),
            s0_addr: Default::default(),
            take_tx: Default::default(),
            current: Default::default(),
            s1_writes2: Default::default(),
            s2_new: Default::default(),
        }
    }
}

impl Logic for QueueCounters {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, clr_active, clr_queue, clr_index, rd_pending, rd_addr, rd_outside, prefer_tx,
            s1_op, s1_addr, s1_outside, s2_op, s2_addr, s2_outside, s2_raw, s2_fwd1, s2_fwd2, w2_data, w_valid, w_addr, w_data, ack, data
        );
        self.ram.read_clock.next = self.clock.val();
        self.ram.write_clock.next = self.clock.val();
        self.cfg_busy.next = self.clr_active.q.val();
        self.rd_ack.next = self.ack.q.val();
        self.rd_data.next = self.data.q.val();

        // Stage 0: pick this cycle's operation.
        self.s0_op.next = 0.into();
        self.s0_addr.next = self.rd_addr.q.val();
        self.rx.ready.next = false;
        self.tx.ready.next = false;
        self.take_tx.next = false;
        if self.settings.write.val() & (self.settings.queue.val() < self.queue_count.val()) {
            self.s0_op.next = 3.into();
            self.s0_addr.next = bit_cast::<ADDR_BITS, QUEUE_COUNT_LOG2>(
                self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0),
            ) << 2;
            self.clr_active.d.next = true;
            self.clr_queue.d.next = self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
            self.clr_index.d.next = 1.into();
        } else if self.clr_active.q.val() {
            self.s0_op.next = 3.into();
            self.s0_addr.next = (bit_cast::<ADDR_BITS, QUEUE_COUNT_LOG2>(self.clr_queue.q.val()) << 2)
                | bit_cast::<ADDR_BITS, 2>(self.clr_index.q.val());
            self.clr_index.d.next = self.clr_index.q.val() + 1;
            if self.clr_index.q.val() == 3 {
                self.clr_active.d.next = false;
            }
        } else if self.rd_pending.q.val() {
            self.s0_op.next = 2.into();
            self.rd_pending.d.next = false;
        } else {
            // Increments: each source is ready unless the other one is
            // valid and has the turn.
            self.rx.ready.next = !self.tx.valid.val() | !self.prefer_tx.q.val();
            self.tx.ready.next = !self.rx.valid.val() | self.prefer_tx.q.val();
            self.take_tx.next = self.tx.valid.val() & (!self.rx.valid.val() | self.prefer_tx.q.val());
            if self.take_tx.val() {
                self.prefer_tx.d.next = false;
                self.s0_addr.next = (bit_cast::<ADDR_BITS, QUEUE_COUNT_LOG2>(
                    self.tx.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0),
                ) << 2)
                    | bit_cast::<ADDR_BITS, 2>(self.tx.counter.val());
                if self.tx.queue.val() < self.queue_count.val() {
                    self.s0_op.next = 1.into();
                }
            } else if self.rx.valid.val() {
                self.prefer_tx.d.next = true;
                self.s0_addr.next = (bit_cast::<ADDR_BITS, QUEUE_COUNT_LOG2>(
                    self.rx.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0),
                ) << 2)
                    | bit_cast::<ADDR_BITS, 2>(self.rx.counter.val());
                if self.rx.queue.val() < self.queue_count.val() {
                    self.s0_op.next = 1.into();
                }
            }
        }
        if self.rd_strobe.val() {
            self.rd_pending.d.next = true;
            self.rd_addr.d.next = (bit_cast::<ADDR_BITS, QUEUE_COUNT_LOG2>(
                self.rd_queue.val().get_bits::<QUEUE_COUNT_LOG2>(0),
            ) << 2)
                | bit_cast::<ADDR_BITS, 2>(self.rd_counter.val());
            self.rd_outside.d.next = self.rd_queue.val() >= self.queue_count.val();
        }
        self.ram.read_address.next = self.s0_addr.val();
        self.s1_op.d.next = self.s0_op.val();
        self.s1_addr.d.next = self.s0_addr.val();
        self.s1_outside.d.next = self.rd_outside.q.val();

        // Stage 1: the RAM's data, registered as is. The RAM does not yet
        // hold the values of the two operations ahead: the one in stage 2
        // writes this cycle, the one before it wrote at the edge that read
        // this data. Which of them is on the same counter is registered
        // too, and their values are taken from `w_data`/`w2_data` next.
        self.s1_writes2.next = (self.s2_op.q.val() == 1) | (self.s2_op.q.val() == 3);
        self.s2_fwd1.d.next = self.s1_writes2.val() & (self.s2_addr.q.val() == self.s1_addr.q.val());
        self.s2_fwd2.d.next = self.w_valid.q.val() & (self.w_addr.q.val() == self.s1_addr.q.val());
        self.s2_raw.d.next = self.ram.read_data.val();
        self.s2_op.d.next = self.s1_op.q.val();
        self.s2_addr.d.next = self.s1_addr.q.val();
        self.s2_outside.d.next = self.s1_outside.q.val();

        // Stage 2: the current value, the new one, written.
        self.current.next = self.s2_raw.q.val();
        if self.s2_fwd1.q.val() {
            self.current.next = self.w_data.q.val();
        } else if self.s2_fwd2.q.val() {
            self.current.next = self.w2_data.q.val();
        }
        self.s2_new.next = 0.into();
        if self.s2_op.q.val() == 1 {
            self.s2_new.next = self.current.val() + 1;
        }
        self.w2_data.d.next = self.w_data.q.val();
        self.ram.write_address.next = self.s2_addr.q.val();
        self.ram.write_data.next = self.s2_new.val();
        self.ram.write_enable.next = (self.s2_op.q.val() == 1) | (self.s2_op.q.val() == 3);
        self.w_valid.d.next = (self.s2_op.q.val() == 1) | (self.s2_op.q.val() == 3);
        self.w_addr.d.next = self.s2_addr.q.val();
        self.w_data.d.next = self.s2_new.val();
        self.ack.d.next = false;
        if self.s2_op.q.val() == 2 {
            self.ack.d.next = true;
            self.data.d.next = self.current.val();
            if self.s2_outside.q.val() {
                self.data.d.next = 0.into();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};


    struct Bench {
        h: Harness<QueueCounters>,
        model: Vec<[u32; 4]>,
        /// The read in flight: its queue, counter, and every value the
        /// counter had since the strobe (any of them may be returned).
        read: Option<(u64, u64, Vec<u32>)>,
        reads_checked: u64,
        accepted: [u64; 2],
    }

    impl Bench {
        fn new() -> Self {
            Self {
                h: Harness::new(QueueCounters::default(), |c| &mut c.clock),
                model: vec![[0; 4]; QUEUE_COUNT],
                read: None,
                reads_checked: 0,
                accepted: [0; 2],
            }
        }

        fn value(&self, queue: u64, counter: u64) -> u32 {
            self.model.get(queue as usize).map_or(0, |c| c[counter as usize])
        }

        /// One cycle: increments offered by `rx`/`tx` (queue, counter),
        /// optionally a commit and a read strobe; checks any ack.
        fn step(
            &mut self,
            rx: Option<(u64, u64)>,
            tx: Option<(u64, u64)>,
            commit: Option<u64>,
            read: Option<(u64, u64)>,
        ) {
            let u = &mut self.h.uut;
            for (port, offer) in [(&mut u.rx, rx), (&mut u.tx, tx)] {
                port.valid.next = offer.is_some();
                let (q, c) = offer.unwrap_or((0, 0));
                port.queue.next = q.into();
                port.counter.next = c.into();
            }
            u.settings.write.next = commit.is_some();
            u.settings.queue.next = commit.unwrap_or(0).into();
            u.rd_strobe.next = read.is_some();
            if let Some((q, c)) = read {
                assert!(self.read.is_none(), "one read at a time");
                u.rd_queue.next = q.into();
                u.rd_counter.next = c.into();
            }
            self.h.settle();
            let u = &self.h.uut;
            if u.rd_ack.val() {
                let (q, c, seen) = self.read.take().expect("an ack with no read");
                let got = u64::from(u.rd_data.val()) as u32;
                assert!(seen.contains(&got), "queue {q} counter {c}: read {got}, counter was {seen:?}");
                self.reads_checked += 1;
            }
            if let Some(q) = commit {
                assert!(!u.cfg_busy.val(), "commit while busy");
                if let Some(m) = self.model.get_mut(q as usize) {
                    *m = [0; 4];
                }
            }
            let moved = [
                (u.rx.valid.val() && u.rx.ready.val()).then_some(rx).flatten(),
                (u.tx.valid.val() && u.tx.ready.val()).then_some(tx).flatten(),
            ];
            for (i, m) in moved.into_iter().enumerate() {
                if let Some((q, c)) = m {
                    self.accepted[i] += 1;
                    if let Some(counters) = self.model.get_mut(q as usize) {
                        counters[c as usize] = counters[c as usize].wrapping_add(1);
                    }
                }
            }
            if let Some((q, c)) = read {
                self.read = Some((q, c, vec![]));
            }
            if let Some((q, c, mut seen)) = self.read.take() {
                seen.push(self.value(q, c));
                self.read = Some((q, c, seen));
            }
            self.h.cycle();
        }

        /// Reads every counter (and a few outside the queue range) with no
        /// other traffic, comparing exactly.
        fn read_all(&mut self) {
            for _ in 0..4 {
                self.step(None, None, None, None);
            }
            let queues = (0..QUEUE_COUNT as u64).chain([QUEUE_COUNT as u64, 0xFFF]);
            for q in queues {
                for c in 0..4 {
                    self.step(None, None, None, Some((q, c)));
                    let mut waited = 0;
                    while self.read.is_some() {
                        self.step(None, None, None, None);
                        waited += 1;
                        assert!(waited < 8, "no ack");
                    }
                    assert_eq!(waited, 4, "ack latency");
                }
            }
        }
    }

    #[test]
    fn counts_every_increment_from_both_sources() {
        let mut rng = Rng(0xC0FF_EE00_1234_5678);
        let mut b = Bench::new();
        // Both sources valid every cycle: hammering one counter tests the
        // forwarding, a few counters tests near misses, then any queue,
        // including numbers past the last queue.
        for phase in 0..3 {
            for _ in 0..3000 {
                let pick = |rng: &mut Rng| match phase {
                    0 => (5, 1),
                    1 => (rng.below(2), rng.below(2) * 2),
                    _ => {
                        let q = if rng.below(10) == 0 { rng.below(4096) } else { rng.below(QUEUE_COUNT as u64) };
                        (q, rng.below(4))
                    }
                };
                let rx = pick(&mut rng);
                let tx = pick(&mut rng);
                // Interleaved reads of counters being hammered.
                let read = (b.read.is_none() && rng.below(4) == 0).then(|| pick(&mut rng));
                b.step(Some(rx), Some(tx), None, read);
            }
        }
        while b.read.is_some() {
            b.step(None, None, None, None);
        }
        // Reads take their slots, the rest is shared evenly.
        let total = b.accepted[0] + b.accepted[1];
        assert!(total > 9000 - 2 * b.reads_checked - 10, "throughput: {total}");
        assert!(b.accepted[0].abs_diff(b.accepted[1]) <= 1, "fairness: {:?}", b.accepted);
        assert!(b.model[5][1] > 2000);
        b.read_all();
        assert!(b.reads_checked > 1000, "reads: {}", b.reads_checked);
    }

    #[test]
    fn a_commit_clears_the_queue_counters_exactly() {
        let mut rng = Rng(0x5EED_0000_0000_0001);
        let mut b = Bench::new();
        let mut last_commit = 0;
        let mut commits = 0;
        for cycle in 0..6000u64 {
            let rx = (rng.below(4), rng.below(2));
            let tx = (rng.below(4), 2 + rng.below(2));
            // Commits of the busy queues, as close together as allowed.
            let commit = (cycle < 5500 && cycle >= last_commit + 4 && rng.below(6) == 0).then(|| rng.below(5));
            if commit.is_some() {
                commits += 1;
                last_commit = cycle;
            }
            let read = (b.read.is_none() && rng.below(3) == 0).then(|| (rng.below(4), rng.below(4)));
            b.step(Some(rx), Some(tx), commit, read);
        }
        while b.read.is_some() {
            b.step(None, None, None, None);
        }
        b.read_all();
        assert!(commits > 500, "commits: {commits}");
        // The last 500 cycles count without clears.
        assert!(b.model.iter().flatten().sum::<u32>() > 400);
    }

    #[test]
    fn generates_verilog() {
        let mut uut = QueueCounters::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
