//! The control page: identification, control bits and the statistics
//! counters, reached through the register port.
//!
//! Reads are answered one cycle after the strobe. Unmapped offsets read as
//! zero and ignore writes, so probing an older or smaller device is harmless.

use super::StatCounter;
use crate::filter::{ENTRY_BITS, KEY_WORDS};
use crate::params::{NicParams, QUEUE_BITS, REG_ADDR_BITS};
use crate::ports::{FilterWriteSource, RegTarget};
use crate::regmap::{self, Counter};
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Word-addressed identification area: offsets 0..regmap::ID_END.
const ID_WORD_BITS: usize = 4;
const _: () = assert!(regmap::ID_END == 4 << ID_WORD_BITS);
// The staging shifts and the RSS key's word count below are literal: keep
// them in step with filter.rs and regmap.rs.
const _: () = assert!(KEY_WORDS == 10 && crate::filter::VALUE_LSB == 320 && regmap::RSS_KEY_WORDS == 10);
pub const COUNTER_COUNT: usize = Counter::ALL.len();

#[derive(LogicBlock)]
pub struct ControlPage {
    pub clock: Signal<In, Clock>,
    pub regs: RegTarget,
    /// Bit `i` increments counter `Counter::ALL[i]` this cycle.
    pub inc: Signal<In, Bits<32>>,
    pub loopback: Signal<Out, Bit>,
    pub default_queue: Signal<Out, Bits<QUEUE_BITS>>,
    /// Filter table writes, from the staging registers.
    pub filter: FilterWriteSource,
    /// The RSS secret key, its first byte in the top bits.
    pub rss_key: Signal<Out, Bits<320>>,
    counters: [StatCounter; COUNTER_COUNT],
    id_rom: ROM<Bits<32>, ID_WORD_BITS>,
    ack: DFF<Bit>,
    rdata: DFF<Bits<32>>,
    scratch: DFF<Bits<32>>,
    control: DFF<Bits<32>>,
    /// High half of the counter whose low half was read last.
    high_latch: DFF<Bits<32>>,
    default_q: DFF<Bits<QUEUE_BITS>>,
    key_words: [DFF<Bits<32>>; KEY_WORDS],
    value_word: DFF<Bits<32>>,
    cmd_write: DFF<Bit>,
    cmd_word: DFF<Bits<32>>,
    rss_words: [DFFWithInit<Bits<32>>; 10],
    rss_base: Constant<Bits<REG_ADDR_BITS>>,
    rss_end: Constant<Bits<REG_ADDR_BITS>>,
    rss_offset: Signal<Local, Bits<REG_ADDR_BITS>>,
    rss_select: Signal<Local, Bits<16>>,
    in_rss: Signal<Local, Bit>,
    rss_word: Signal<Local, Bits<32>>,
    rss_all: Signal<Local, Bits<320>>,
    default_queue_addr: Constant<Bits<REG_ADDR_BITS>>,
    key_base: Constant<Bits<REG_ADDR_BITS>>,
    key_end: Constant<Bits<REG_ADDR_BITS>>,
    value_addr: Constant<Bits<REG_ADDR_BITS>>,
    cmd_addr: Constant<Bits<REG_ADDR_BITS>>,
    key_offset: Signal<Local, Bits<REG_ADDR_BITS>>,
    key_select: Signal<Local, Bits<16>>,
    in_key: Signal<Local, Bit>,
    entry: Signal<Local, Bits<ENTRY_BITS>>,
    word: Signal<Local, Bits<32>>,
    id_end: Constant<Bits<REG_ADDR_BITS>>,
    scratch_addr: Constant<Bits<REG_ADDR_BITS>>,
    control_addr: Constant<Bits<REG_ADDR_BITS>>,
    counters_base: Constant<Bits<REG_ADDR_BITS>>,
    counters_end: Constant<Bits<REG_ADDR_BITS>>,
    counter_offset: Signal<Local, Bits<REG_ADDR_BITS>>,
    counter_select: Signal<Local, Bits<32>>,
    counter_value: Signal<Local, Bits<64>>,
    in_counters: Signal<Local, Bit>,
}

fn addr(offset: u32) -> Constant<Bits<REG_ADDR_BITS>> {
    Constant::new((offset as u64).into())
}

impl ControlPage {
    pub fn new(params: &NicParams) -> Self {
        let rom: BTreeMap<Bits<ID_WORD_BITS>, Bits<32>> = regmap::id_registers(params)
            .iter()
            .map(|&(offset, value)| (((offset / 4) as u64).into(), (value as u64).into()))
            .collect();
        assert!(COUNTER_COUNT <= 32, "counter select is 32 bits wide");
        Self {
            clock: Default::default(),
            regs: Default::default(),
            inc: Default::default(),
            loopback: Default::default(),
            default_queue: Default::default(),
            filter: Default::default(),
            rss_key: Default::default(),
            counters: Default::default(),
            id_rom: ROM::new(rom),
            ack: Default::default(),
            rdata: Default::default(),
            scratch: Default::default(),
            control: Default::default(),
            high_latch: Default::default(),
            default_q: Default::default(),
            key_words: Default::default(),
            value_word: Default::default(),
            cmd_write: Default::default(),
            cmd_word: Default::default(),
            rss_words: regmap::rss_key_words(&crate::filter::RSS_KEY).map(|w| DFFWithInit::new((w as u64).into())),
            rss_base: addr(regmap::RSS_KEY),
            rss_end: addr(regmap::RSS_KEY + 4 * regmap::RSS_KEY_WORDS),
            rss_offset: Default::default(),
            rss_select: Default::default(),
            in_rss: Default::default(),
            rss_word: Default::default(),
            rss_all: Default::default(),
            default_queue_addr: addr(regmap::DEFAULT_QUEUE),
            key_base: addr(regmap::FILTER_KEY),
            key_end: addr(regmap::FILTER_KEY + 4 * KEY_WORDS as u32),
            value_addr: addr(regmap::FILTER_VALUE),
            cmd_addr: addr(regmap::FILTER_CMD),
            key_offset: Default::default(),
            key_select: Default::default(),
            in_key: Default::default(),
            entry: Default::default(),
            word: Default::default(),
            id_end: addr(regmap::ID_END),
            scratch_addr: addr(regmap::SCRATCH),
            control_addr: addr(regmap::CONTROL),
            counters_base: addr(regmap::COUNTERS),
            counters_end: addr(regmap::COUNTERS + 8 * COUNTER_COUNT as u32),
            counter_offset: Default::default(),
            counter_select: Default::default(),
            counter_value: Default::default(),
            in_counters: Default::default(),
        }
    }
}

impl Logic for ControlPage {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, ack, rdata, scratch, control, high_latch, default_q, value_word, cmd_write, cmd_word);
        for i in 0..KEY_WORDS {
            self.key_words[i].clock.next = self.clock.val();
            self.key_words[i].d.next = self.key_words[i].q.val();
        }
        // The RSS key: word 0 (the key's first bytes) ends up on top.
        self.rss_all.next = 0.into();
        for i in 0..10 {
            self.rss_words[i].clock.next = self.clock.val();
            self.rss_words[i].d.next = self.rss_words[i].q.val();
            self.rss_word.next = self.rss_words[i].q.val();
            self.rss_all.next = (self.rss_all.val() << 32) | bit_cast::<320, 32>(self.rss_word.val());
        }
        self.rss_key.next = self.rss_all.val();
        self.in_rss.next = (self.regs.addr.val() >= self.rss_base.val()) & (self.regs.addr.val() < self.rss_end.val());
        self.rss_offset.next = self.regs.addr.val() - self.rss_base.val();
        self.rss_select.next = bit_cast::<16, 1>(true.into()) << self.rss_offset.val().get_bits::<4>(2);
        for i in 0..COUNTER_COUNT {
            self.counters[i].clock.next = self.clock.val();
            self.counters[i].inc.next = self.inc.val().get_bit(i);
        }
        self.loopback.next = self.control.q.val().get_bit(0);
        self.default_queue.next = self.default_q.q.val();

        // Filter staging: the entry is the key words, least significant
        // first, with the value above them. Each word enters at the top
        // and is shifted down by the words after it.
        self.entry.next = 0.into();
        for i in 0..KEY_WORDS {
            self.word.next = self.key_words[i].q.val();
            self.entry.next =
                (self.entry.val() >> 32) | (bit_cast::<ENTRY_BITS, 32>(self.word.val()) << 288);
        }
        self.filter.entry.next =
            self.entry.val() | (bit_cast::<ENTRY_BITS, 32>(self.value_word.q.val()) << 320);
        self.filter.write.next = self.cmd_write.q.val();
        self.filter.slot.next = self.cmd_word.q.val().get_bits::<16>(0);
        self.filter.wildcard.next = self.cmd_word.q.val().get_bit(16);
        self.filter.clear.next = self.cmd_word.q.val().get_bit(17);
        self.cmd_write.d.next = false;
        self.in_key.next = (self.regs.addr.val() >= self.key_base.val())
            & (self.regs.addr.val() < self.key_end.val());
        self.key_offset.next = self.regs.addr.val() - self.key_base.val();
        self.key_select.next =
            bit_cast::<16, 1>(true.into()) << self.key_offset.val().get_bits::<4>(2);
        self.regs.ack.next = self.ack.q.val();
        self.regs.rdata.next = self.rdata.q.val();

        self.id_rom.address.next = self.regs.addr.val().get_bits::<ID_WORD_BITS>(2);
        self.in_counters.next = (self.regs.addr.val() >= self.counters_base.val())
            & (self.regs.addr.val() < self.counters_end.val());
        self.counter_offset.next = self.regs.addr.val() - self.counters_base.val();
        self.counter_select.next =
            bit_cast::<32, 1>(true.into()) << self.counter_offset.val().get_bits::<5>(3);
        self.counter_value.next = 0.into();
        for i in 0..COUNTER_COUNT {
            if self.counter_select.val().get_bit(i) {
                self.counter_value.next = self.counters[i].value.val();
            }
        }

        self.ack.d.next = self.regs.strobe.val();
        if self.regs.strobe.val() {
            if self.regs.write.val() {
                if self.regs.addr.val() == self.scratch_addr.val() {
                    self.scratch.d.next = self.regs.wdata.val();
                }
                if self.regs.addr.val() == self.control_addr.val() {
                    self.control.d.next = self.regs.wdata.val();
                }
                if self.regs.addr.val() == self.default_queue_addr.val() {
                    self.default_q.d.next = self.regs.wdata.val().get_bits::<QUEUE_BITS>(0);
                }
                if self.in_key.val() {
                    for i in 0..KEY_WORDS {
                        if self.key_select.val().get_bit(i) {
                            self.key_words[i].d.next = self.regs.wdata.val();
                        }
                    }
                }
                if self.regs.addr.val() == self.value_addr.val() {
                    self.value_word.d.next = self.regs.wdata.val();
                }
                if self.in_rss.val() {
                    for i in 0..10 {
                        if self.rss_select.val().get_bit(i) {
                            self.rss_words[i].d.next = self.regs.wdata.val();
                        }
                    }
                }
                if self.regs.addr.val() == self.cmd_addr.val() {
                    self.cmd_word.d.next = self.regs.wdata.val();
                    self.cmd_write.d.next = true;
                }
                self.rdata.d.next = 0.into();
            } else {
                self.rdata.d.next = 0.into();
                if self.regs.addr.val() < self.id_end.val() {
                    self.rdata.d.next = self.id_rom.data.val();
                } else if self.regs.addr.val() == self.scratch_addr.val() {
                    self.rdata.d.next = self.scratch.q.val();
                } else if self.regs.addr.val() == self.control_addr.val() {
                    self.rdata.d.next = self.control.q.val();
                } else if self.regs.addr.val() == self.default_queue_addr.val() {
                    self.rdata.d.next = bit_cast::<32, QUEUE_BITS>(self.default_q.q.val());
                } else if self.in_rss.val() {
                    for i in 0..10 {
                        if self.rss_select.val().get_bit(i) {
                            self.rdata.d.next = self.rss_words[i].q.val();
                        }
                    }
                } else if self.in_counters.val() {
                    if self.regs.addr.val().get_bit(2) {
                        self.rdata.d.next = self.high_latch.q.val();
                    } else {
                        self.rdata.d.next = self.counter_value.val().get_bits::<32>(0);
                        self.high_latch.d.next = self.counter_value.val().get_bits::<32>(32);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;

    fn access(h: &mut Harness<ControlPage>, write: bool, offset: u32, value: u32) -> u32 {
        h.uut.regs.strobe.next = true;
        h.uut.regs.write.next = write;
        h.uut.regs.addr.next = (offset as u64).into();
        h.uut.regs.wdata.next = (value as u64).into();
        h.cycle();
        h.uut.regs.strobe.next = false;
        h.settle();
        assert!(h.uut.regs.ack.val(), "no ack one cycle after the strobe");
        let data = h.uut.regs.rdata.val().index() as u32;
        h.cycle();
        assert!(!h.uut.regs.ack.val(), "ack lasted more than one cycle");
        data
    }

    fn read(h: &mut Harness<ControlPage>, offset: u32) -> u32 {
        access(h, false, offset, 0)
    }

    #[test]
    fn identification_reports_the_generator_parameters() {
        let params = NicParams { queues: 17, exact_filters: 2048, ..Default::default() };
        let mut h = Harness::new(ControlPage::new(&params), |c| &mut c.clock);
        assert_eq!(read(&mut h, regmap::MAGIC), regmap::MAGIC_VALUE);
        assert_eq!(read(&mut h, regmap::VERSION), regmap::VERSION_VALUE);
        assert_eq!(read(&mut h, regmap::QUEUES), 17);
        assert_eq!(read(&mut h, regmap::EXACT_FILTERS), 2048);
        assert_eq!(read(&mut h, regmap::MAX_FRAME), params.max_frame_bytes);
        assert_eq!(read(&mut h, regmap::CLOCK_HZ), 125_000_000);
        // Unmapped offsets read zero, on the control page and beyond it.
        assert_eq!(read(&mut h, 0x03C), 0);
        assert_eq!(read(&mut h, 0x800), 0);
        assert_eq!(read(&mut h, regmap::queue_page(3)), 0);
    }

    #[test]
    fn scratch_and_control_hold_what_was_written() {
        let mut h = Harness::new(ControlPage::new(&NicParams::default()), |c| &mut c.clock);
        access(&mut h, true, regmap::SCRATCH, 0xDEAD_BEEF);
        assert_eq!(read(&mut h, regmap::SCRATCH), 0xDEAD_BEEF);
        assert!(!h.uut.loopback.val());
        access(&mut h, true, regmap::CONTROL, regmap::CONTROL_LOOPBACK);
        assert!(h.uut.loopback.val());
        assert_eq!(read(&mut h, regmap::CONTROL), regmap::CONTROL_LOOPBACK);
        // Writes to read-only and unmapped offsets change nothing.
        access(&mut h, true, regmap::MAGIC, 0);
        access(&mut h, true, regmap::SCRATCH + 4, 0x1234);
        assert_eq!(read(&mut h, regmap::MAGIC), regmap::MAGIC_VALUE);
        assert_eq!(read(&mut h, regmap::SCRATCH), 0xDEAD_BEEF);
    }

    #[test]
    fn filter_commands_carry_the_staged_entry_for_one_cycle() {
        let mut h = Harness::new(ControlPage::new(&NicParams::default()), |c| &mut c.clock);
        for i in 0..KEY_WORDS as u32 {
            access(&mut h, true, regmap::FILTER_KEY + 4 * i, 0x1000_0000 + i);
        }
        access(&mut h, true, regmap::FILTER_VALUE, 0xCAFE_0005);
        // The command's pulse lands in the cycle after the write's edge,
        // which `access` spends waiting for the ack.
        h.uut.regs.strobe.next = true;
        h.uut.regs.write.next = true;
        h.uut.regs.addr.next = (regmap::FILTER_CMD as u64).into();
        h.uut.regs.wdata.next = (regmap::filter_cmd(true, 37, false) as u64).into();
        h.cycle();
        h.uut.regs.strobe.next = false;
        h.settle();
        assert!(h.uut.filter.write.val());
        assert!(h.uut.filter.wildcard.val() && !h.uut.filter.clear.val());
        assert_eq!(h.uut.filter.slot.val(), 37u64);
        let entry = h.uut.filter.entry.val();
        for i in 0..KEY_WORDS {
            assert_eq!(entry.get_bits::<32>(32 * i), 0x1000_0000 + i as u64);
        }
        assert_eq!(entry.get_bits::<32>(crate::filter::VALUE_LSB), 0xCAFE_0005u64);
        h.cycle();
        assert!(!h.uut.filter.write.val(), "the write pulse lasted more than a cycle");
        access(&mut h, true, regmap::DEFAULT_QUEUE, 0xFFFF_F00D);
        assert_eq!(read(&mut h, regmap::DEFAULT_QUEUE), 0x00D);
        assert_eq!(h.uut.default_queue.val(), 0x00Du64);
    }

    #[test]
    fn the_rss_key_resets_to_the_standard_key_and_takes_writes() {
        let mut h = Harness::new(ControlPage::new(&NicParams::default()), |c| &mut c.clock);
        let words = regmap::rss_key_words(&crate::filter::RSS_KEY);
        for (i, w) in words.iter().enumerate() {
            assert_eq!(read(&mut h, regmap::RSS_KEY + 4 * i as u32), *w);
        }
        assert_eq!(h.uut.rss_key.val().get_bits::<32>(288), words[0] as u64);
        assert_eq!(h.uut.rss_key.val().get_bits::<32>(0), words[9] as u64);
        access(&mut h, true, regmap::RSS_KEY + 4 * 3, 0x0102_0304);
        assert_eq!(read(&mut h, regmap::RSS_KEY + 12), 0x0102_0304);
        assert_eq!(h.uut.rss_key.val().get_bits::<32>(320 - 32 * 4), 0x0102_0304u64);
        assert_eq!(read(&mut h, regmap::RSS_KEY + 8), words[2], "a neighbour changed");
    }

    #[test]
    fn counters_read_as_consistent_64_bit_values() {
        let mut h = Harness::new(ControlPage::new(&NicParams::default()), |c| &mut c.clock);
        // Count each counter i by i + 1 events.
        for round in 0..COUNTER_COUNT {
            let mask: u64 = (0..COUNTER_COUNT).filter(|&i| i >= round).fold(0, |m, i| m | 1 << i);
            h.uut.inc.next = mask.into();
            h.cycle();
        }
        h.uut.inc.next = 0.into();
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(read(&mut h, c.offset()), i as u32 + 1, "{}", c.name());
            assert_eq!(read(&mut h, c.offset() + 4), 0, "{}", c.name());
        }
        // The high word comes from the latch taken at the low read, even if
        // the counter moves in between.
        h.uut.inc.next = 1.into();
        let lo = read(&mut h, Counter::RxFrames.offset());
        let lo_later = read(&mut h, Counter::RxFrames.offset());
        assert!(lo_later > lo);
    }
}
