//! Drives a block in rust-hdl's own simulator by hand (unit tests, and the
//! benchmark that compares it with Verilator), one clock edge at a
//! time. This is 30 to 60 times faster than `Simulation::add_testbench`, and
//! lets a test read outputs between edges like a synchronous testbench.

use rust_hdl::prelude::*;

pub struct Harness<T: Block> {
    pub uut: T,
    clock: fn(&mut T) -> &mut Signal<In, Clock>,
    pub cycles: u64,
}

impl<T: Block> Harness<T> {
    /// Checks the design (undriven signals, write-only locals, loops) the
    /// way the Verilog generator would, then settles it with the clock low.
    pub fn new(mut uut: T, clock: fn(&mut T) -> &mut Signal<In, Clock>) -> Self {
        uut.connect_all();
        if let Err(e) = check_all(&uut) {
            panic!("design check failed: {e:?}");
        }
        let mut h = Self { uut, clock, cycles: 0 };
        (h.clock)(&mut h.uut).next = Clock::from(false);
        h.settle();
        h
    }

    /// Propagates combinational changes after inputs were set.
    pub fn settle(&mut self) {
        assert!(simulate(&mut self.uut, 1000), "logic did not settle");
    }

    /// One full clock period: inputs set since the last edge settle first,
    /// so the rising edge samples them like a register would.
    pub fn cycle(&mut self) {
        self.settle();
        (self.clock)(&mut self.uut).next = Clock::from(true);
        self.settle();
        (self.clock)(&mut self.uut).next = Clock::from(false);
        self.settle();
        self.cycles += 1;
    }
}

/// Drives a block with several independent clocks in rust-hdl's
/// simulator, by hand like [`Harness`]: each clock toggles every half
/// period (in femtoseconds) after its phase, starting low, and the block
/// settles after every edge. Clocks whose edges fall at the same instant
/// toggle together, so a flop clocked by one samples what the other
/// domain held just before that instant. Inputs set after an edge are
/// sampled by the next edge of the clock they belong to.
pub struct MultiClock<T: Block> {
    pub uut: T,
    clocks: Vec<ClockDrive<T>>,
    /// Simulated time of the last edge, in femtoseconds.
    pub now_fs: u64,
}

struct ClockDrive<T> {
    clock: fn(&mut T) -> &mut Signal<In, Clock>,
    half_fs: u64,
    next_fs: u64,
    high: bool,
    rising_edges: u64,
}

/// How to reach one clock of a [`MultiClock`] design, its period and phase.
pub type ClockSpec<T> = (fn(&mut T) -> &mut Signal<In, Clock>, u64, u64);

impl<T: Block> MultiClock<T> {
    /// `clocks`: for each clock, how to reach it, its period and a delay:
    /// it first rises at `phase_fs` plus half a period. Runs `check_all`
    /// like [`Harness::new`].
    pub fn new(mut uut: T, clocks: &[ClockSpec<T>]) -> Self {
        uut.connect_all();
        if let Err(e) = check_all(&uut) {
            panic!("design check failed: {e:?}");
        }
        let clocks: Vec<_> = clocks
            .iter()
            .map(|&(clock, period_fs, phase_fs)| {
                assert!(period_fs >= 2 && period_fs % 2 == 0, "a clock period must be an even number of femtoseconds");
                ClockDrive { clock, half_fs: period_fs / 2, next_fs: phase_fs + period_fs / 2, high: false, rising_edges: 0 }
            })
            .collect();
        let mut m = Self { uut, clocks, now_fs: 0 };
        for c in &m.clocks {
            (c.clock)(&mut m.uut).next = Clock::from(false);
        }
        m.settle();
        m
    }

    pub fn settle(&mut self) {
        assert!(simulate(&mut self.uut, 1000), "logic did not settle");
    }

    /// Advances to the next edge of any clock, toggles every clock that
    /// edges then and settles. Returns a mask: bit `i` set if clock `i`
    /// (in the order given to `new`) rose.
    pub fn step(&mut self) -> u32 {
        self.settle();
        let t = self.clocks.iter().map(|c| c.next_fs).min().expect("no clocks");
        self.now_fs = t;
        let mut rose = 0;
        for (i, c) in self.clocks.iter_mut().enumerate() {
            if c.next_fs == t {
                c.high = !c.high;
                c.next_fs += c.half_fs;
                if c.high {
                    c.rising_edges += 1;
                    rose |= 1 << i;
                }
                (c.clock)(&mut self.uut).next = Clock::from(c.high);
            }
        }
        self.settle();
        rose
    }

    /// Rising edges clock `i` has had so far.
    pub fn rising_edges(&self, i: usize) -> u64 {
        self.clocks[i].rising_edges
    }

    /// Whether clock `i` is high now.
    pub fn is_high(&self, i: usize) -> bool {
        self.clocks[i].high
    }
}

/// The whole NIC top in rust-hdl's simulator, with register access and a
/// receive stream fed back to back: for the top's own unit test and for
/// comparing this simulator's speed with Verilator's.
pub struct TopHarness {
    pub h: Harness<crate::NicTop>,
}

impl TopHarness {
    pub fn new(params: &crate::NicParams) -> Self {
        let mut h = Harness::new(crate::NicTop::new(params), |t| &mut t.clock);
        h.uut.mac_tx.ready.next = true;
        Self { h }
    }

    fn access(&mut self, offset: u32, write: Option<u32>) -> u32 {
        let u = &mut self.h.uut;
        u.regs.strobe.next = true;
        u.regs.write.next = write.is_some();
        u.regs.addr.next = (offset as u64).into();
        u.regs.wdata.next = (write.unwrap_or(0) as u64).into();
        self.h.cycle();
        self.h.uut.regs.strobe.next = false;
        // The slowest answer is a global counter's low half, which waits
        // for the counter bank's sweep.
        for _ in 0..crate::blocks::counter_bank::BANK_READ_LATENCY_MAX + 8 {
            self.h.settle();
            if self.h.uut.regs.ack.val() {
                let data = self.h.uut.regs.rdata.val().index() as u32;
                self.h.cycle();
                return data;
            }
            self.h.cycle();
        }
        panic!("no acknowledgement for register 0x{offset:x}");
    }

    pub fn reg_read(&mut self, offset: u32) -> u32 {
        self.access(offset, None)
    }

    pub fn reg_write(&mut self, offset: u32, value: u32) {
        self.access(offset, Some(value));
    }

    /// Streams `frames` into the receive port with `gap` idle cycles after
    /// each, then runs `tail` more cycles; returns the transmitted frames.
    pub fn stream(&mut self, frames: &[Vec<u8>], gap: usize, tail: usize) -> Vec<Vec<u8>> {
        let mut out = vec![];
        let mut current = vec![];
        let beats = frames.iter().flat_map(|f| {
            let n = f.len();
            f.iter().enumerate().map(move |(i, &b)| Some((b, i + 1 == n))).chain(std::iter::repeat_n(None, gap))
        });
        for beat in beats.chain(std::iter::repeat_n(None, tail)) {
            let u = &mut self.h.uut;
            u.mac_rx.valid.next = beat.is_some();
            let (b, last) = beat.unwrap_or((0, false));
            u.mac_rx.data.next = (b as u64).into();
            u.mac_rx.last.next = last;
            u.mac_rx.error.next = false;
            self.h.settle();
            let u = &self.h.uut;
            if u.mac_tx.valid.val() && u.mac_tx.ready.val() {
                current.push(u.mac_tx.data.val().index() as u8);
                if u.mac_tx.last.val() {
                    out.push(std::mem::take(&mut current));
                }
            }
            self.h.cycle();
        }
        out
    }
}

/// xorshift64*: a deterministic random stream for block tests, so a
/// failing schedule replays exactly.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
