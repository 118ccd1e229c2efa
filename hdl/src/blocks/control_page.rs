//! The register port's decoder: the privileged control page
//! (identification, control bits, statistics, filter and queue
//! configuration staging) and the queues' user pages.
//!
//! A user page write becomes a doorbell for that page's queue and nothing
//! else: the queue number comes from the address, never from the data, so
//! an application holding one page can only ring its own queue.
//!
//! Every access takes two stages: in the strobe's cycle the incoming address
//! and data are only decoded (range and equality flags, one-hot word
//! selects, the queue checks of commands) into registers; in the next cycle
//! those registers drive the writes, commands and doorbells, and the read
//! data is an AND-OR of the selected registers. Deciding and acting in one
//! cycle was a path of eight LUT levels from the port's address to the read
//! data. So writes and commands take effect, and reads are answered, two
//! cycles after the strobe, except counter reads, which wait for a counter
//! RAM: the low half of a global counter for the `CounterBank` (4 to 35
//! cycles; the high half is then latched, so reading it is immediate), a
//! user-page counter for `QueueCounters`. Unmapped offsets read as zero and
//! ignore writes, so probing an older or smaller device is harmless.

use super::CounterBank;
use crate::filter::{ENTRY_BITS, KEY_WORDS};
use crate::params::{NicParams, QUEUE_BITS, QUEUE_COUNT, QUEUE_COUNT_LOG2, REG_ADDR_BITS};
use crate::ports::{DoorbellSource, FilterWriteSource, QueueConfigSource, RegTarget, ShapeConfig, ShapeConfigSource};
use crate::queue::QCFG_WORDS;
use crate::shaping::SHAPE_WORDS;
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
// The queue staging layout below is literal: keep it in step with
// `queue::QueueSettings::words` and `regmap`.
const _: () = assert!(QCFG_WORDS == 21 && regmap::QCFG == 0x300 && regmap::QCFG_CMD == 0x354);
const _: () = assert!(SHAPE_WORDS == 5 && regmap::SHAPE == 0x380 && regmap::SHAPE_CMD == 0x394);
const _: () = assert!(regmap::FILTER_CMD_CLEAR == 1 << 17 && regmap::FILTER_CMD_WRITE == 1 << 18);
const _: () = assert!(regmap::SHAPE_CMD_WRITE == 1 << 16 && regmap::SHAPE_CMD_READ == 1 << 17);
const _: () = assert!(crate::shaping::RATE_BITS == 28 && crate::shaping::BURST_BITS == 22);
const _: () = assert!(regmap::UQ_RX_TAIL == 0 && regmap::UQ_TX_TAIL == 4 && regmap::UQ_EVENT_ARM == 8);
const _: () = assert!(regmap::UQ_RX_DELIVERED == 0x10 && regmap::UQ_TX_REJECTED == 0x1C);
// The read data ORs the registers of all read regions together, each
// masked by its own select, which is exact only while the regions are
// disjoint: ID, scratch, control, default queue, counters, RSS key, queue
// staging and status, shaping staging, then the user pages.
const _: () = assert!(
    regmap::ID_END <= regmap::SCRATCH
        && regmap::SCRATCH < regmap::CONTROL
        && regmap::CONTROL < regmap::DEFAULT_QUEUE
        && regmap::DEFAULT_QUEUE < regmap::COUNTERS
        && regmap::COUNTERS + 8 * COUNTER_COUNT as u32 <= regmap::RSS_KEY
        && regmap::RSS_KEY + 4 * regmap::RSS_KEY_WORDS <= regmap::QCFG
        && regmap::QCFG + 4 * QCFG_WORDS as u32 <= regmap::QCFG_STATUS
        && regmap::QCFG_STATUS < regmap::SHAPE
        && regmap::SHAPE + 4 * SHAPE_WORDS as u32 <= regmap::PAGE_BYTES
);
const _: () = {
    use crate::queue::*;
    assert!(FLAG_ENABLE == 1 && FLAG_UNRESTRICTED == 2 && FLAG_CHECK_MAC == 16 && FLAG_CHECK_PORT == 256);
};

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
    /// Queue commits, from the staging registers.
    pub settings: QueueConfigSource,
    /// An engine has not yet taken the last commit.
    pub cfg_busy: Signal<In, Bit>,
    /// Shaping writes, from the staging registers.
    pub shape: ShapeConfigSource,
    pub doorbell: DoorbellSource,
    /// Reads of the per-queue counters (`blocks::QueueCounters`).
    pub qc_rd_strobe: Signal<Out, Bit>,
    pub qc_rd_queue: Signal<Out, Bits<QUEUE_BITS>>,
    pub qc_rd_counter: Signal<Out, Bits<2>>,
    pub qc_rd_ack: Signal<In, Bit>,
    pub qc_rd_data: Signal<In, Bits<32>>,
    qcfg_words: [DFF<Bits<32>>; QCFG_WORDS],
    shape_words: [DFF<Bits<32>>; SHAPE_WORDS],
    shape_write: DFF<Bit>,
    shape_read: DFF<Bit>,
    shape_queue: DFF<Bits<QUEUE_BITS>>,
    /// Every queue's shaping as last written, read back by `SHAPE_CMD_READ`.
    shape_copy: RAM<ShapeConfig, QUEUE_COUNT_LOG2>,
    shape_base: Constant<Bits<REG_ADDR_BITS>>,
    shape_end: Constant<Bits<REG_ADDR_BITS>>,
    shape_cmd_addr: Constant<Bits<REG_ADDR_BITS>>,
    shape_offset: Signal<Local, Bits<REG_ADDR_BITS>>,
    shape_select: Signal<Local, Bits<8>>,
    in_shape: Signal<Local, Bit>,
    shape_cmd_ok: Signal<Local, Bit>,
    sw: [Signal<Local, Bits<32>>; SHAPE_WORDS],
    qcfg_write: DFF<Bit>,
    qcfg_queue: DFF<Bits<QUEUE_BITS>>,
    qcfg_base: Constant<Bits<REG_ADDR_BITS>>,
    qcfg_end: Constant<Bits<REG_ADDR_BITS>>,
    qcfg_cmd_addr: Constant<Bits<REG_ADDR_BITS>>,
    qcfg_status_addr: Constant<Bits<REG_ADDR_BITS>>,
    qcfg_offset: Signal<Local, Bits<REG_ADDR_BITS>>,
    qcfg_select: Signal<Local, Bits<32>>,
    in_qcfg: Signal<Local, Bit>,
    qw: [Signal<Local, Bits<32>>; QCFG_WORDS],
    queue_count: Constant<Bits<REG_ADDR_BITS>>,
    /// The user page's queue, and whether the access is on one.
    page: Signal<Local, Bits<REG_ADDR_BITS>>,
    on_page: Signal<Local, Bit>,
    uq_offset: Signal<Local, Bits<12>>,
    db_valid: DFF<Bit>,
    db_queue: DFF<Bits<QUEUE_BITS>>,
    db_kind: DFF<Bits<2>>,
    db_value: DFF<Bits<16>>,
    /// A user-page counter read is waiting for the counter RAM.
    qc_wait: DFF<Bit>,
    qc_strobe: DFF<Bit>,
    qc_queue: DFF<Bits<QUEUE_BITS>>,
    qc_counter: DFF<Bits<2>>,
    /// The global counters; a low-half read waits for the bank's answer.
    counters: CounterBank,
    ctr_wait: DFF<Bit>,
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
    in_counters: Signal<Local, Bit>,
    // The decode stage: the request and everything decided from its address
    // and data, each flag already qualified by the strobe and the direction.
    req_strobe: DFF<Bit>,
    req_wdata: DFF<Bits<32>>,
    /// User page accesses: the page's queue (page - 1) and the register
    /// (offset bits 3..2: the doorbell kind or the counter).
    req_queue: DFF<Bits<QUEUE_BITS>>,
    req_kind: DFF<Bits<2>>,
    rom_addr: DFF<Bits<ID_WORD_BITS>>,
    we_scratch: DFF<Bit>,
    we_control: DFF<Bit>,
    we_default_q: DFF<Bit>,
    we_value: DFF<Bit>,
    we_key: DFF<Bits<16>>,
    we_rss: DFF<Bits<16>>,
    we_qcfg: DFF<Bits<32>>,
    we_shape: DFF<Bits<8>>,
    go_filter: DFF<Bit>,
    go_shape_cmd: DFF<Bit>,
    /// A commit of an existing queue; `cfg_busy` is sampled when it acts.
    go_commit: DFF<Bit>,
    go_doorbell: DFF<Bit>,
    go_qc: DFF<Bit>,
    rd_id: DFF<Bit>,
    rd_scratch: DFF<Bit>,
    rd_control: DFF<Bit>,
    rd_default_q: DFF<Bit>,
    rd_status: DFF<Bit>,
    rd_rss: DFF<Bits<16>>,
    rd_qcfg: DFF<Bits<32>>,
    rd_shape: DFF<Bits<8>>,
    /// Low half of a global counter: which, and whether any.
    rd_counter: DFF<Bits<5>>,
    rd_counter_lo: DFF<Bit>,
    rd_counter_hi: DFF<Bit>,
    is_wr: Signal<Local, Bit>,
    is_rd: Signal<Local, Bit>,
    read_value: Signal<Local, Bits<32>>,
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
        const { assert!(COUNTER_COUNT <= super::counter_bank::BANK_COUNTERS, "more counters than the bank holds") };
        Self {
            clock: Default::default(),
            regs: Default::default(),
            inc: Default::default(),
            loopback: Default::default(),
            default_queue: Default::default(),
            filter: Default::default(),
            rss_key: Default::default(),
            settings: Default::default(),
            cfg_busy: Default::default(),
            shape: Default::default(),
            doorbell: Default::default(),
            qc_rd_strobe: Default::default(),
            qc_rd_queue: Default::default(),
            qc_rd_counter: Default::default(),
            qc_rd_ack: Default::default(),
            qc_rd_data: Default::default(),
            qcfg_words: Default::default(),
            shape_words: Default::default(),
            shape_write: Default::default(),
            shape_read: Default::default(),
            shape_queue: Default::default(),
            shape_copy: Default::default(),
            shape_base: addr(regmap::SHAPE),
            shape_end: addr(regmap::SHAPE + 4 * SHAPE_WORDS as u32),
            shape_cmd_addr: addr(regmap::SHAPE_CMD),
            shape_offset: Default::default(),
            shape_select: Default::default(),
            in_shape: Default::default(),
            shape_cmd_ok: Default::default(),
            sw: Default::default(),
            qcfg_write: Default::default(),
            qcfg_queue: Default::default(),
            qcfg_base: addr(regmap::QCFG),
            qcfg_end: addr(regmap::QCFG + 4 * QCFG_WORDS as u32),
            qcfg_cmd_addr: addr(regmap::QCFG_CMD),
            qcfg_status_addr: addr(regmap::QCFG_STATUS),
            qcfg_offset: Default::default(),
            qcfg_select: Default::default(),
            in_qcfg: Default::default(),
            qw: Default::default(),
            queue_count: addr(QUEUE_COUNT as u32),
            page: Default::default(),
            on_page: Default::default(),
            uq_offset: Default::default(),
            db_valid: Default::default(),
            db_queue: Default::default(),
            db_kind: Default::default(),
            db_value: Default::default(),
            qc_wait: Default::default(),
            qc_strobe: Default::default(),
            qc_queue: Default::default(),
            qc_counter: Default::default(),
            counters: Default::default(),
            ctr_wait: Default::default(),
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
            in_counters: Default::default(),
            req_strobe: Default::default(),
            req_wdata: Default::default(),
            req_queue: Default::default(),
            req_kind: Default::default(),
            rom_addr: Default::default(),
            we_scratch: Default::default(),
            we_control: Default::default(),
            we_default_q: Default::default(),
            we_value: Default::default(),
            we_key: Default::default(),
            we_rss: Default::default(),
            we_qcfg: Default::default(),
            we_shape: Default::default(),
            go_filter: Default::default(),
            go_shape_cmd: Default::default(),
            go_commit: Default::default(),
            go_doorbell: Default::default(),
            go_qc: Default::default(),
            rd_id: Default::default(),
            rd_scratch: Default::default(),
            rd_control: Default::default(),
            rd_default_q: Default::default(),
            rd_status: Default::default(),
            rd_rss: Default::default(),
            rd_qcfg: Default::default(),
            rd_shape: Default::default(),
            rd_counter: Default::default(),
            rd_counter_lo: Default::default(),
            rd_counter_hi: Default::default(),
            is_wr: Default::default(),
            is_rd: Default::default(),
            read_value: Default::default(),
        }
    }
}

impl Logic for ControlPage {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, ack, rdata, scratch, control, high_latch, default_q, value_word, cmd_write, cmd_word,
            qcfg_write, qcfg_queue, shape_write, shape_read, shape_queue, db_valid, db_queue, db_kind, db_value, qc_wait, qc_strobe, qc_queue, qc_counter, ctr_wait,
            req_strobe, req_wdata, req_queue, req_kind, rom_addr, we_scratch, we_control, we_default_q, we_value, we_key, we_rss, we_qcfg, we_shape,
            go_filter, go_shape_cmd, go_commit, go_doorbell, go_qc, rd_id, rd_scratch, rd_control, rd_default_q, rd_status, rd_rss, rd_qcfg, rd_shape,
            rd_counter, rd_counter_lo, rd_counter_hi
        );
        for i in 0..QCFG_WORDS {
            self.qcfg_words[i].clock.next = self.clock.val();
            self.qcfg_words[i].d.next = self.qcfg_words[i].q.val();
            self.qw[i].next = self.qcfg_words[i].q.val();
        }
        self.in_qcfg.next =
            (self.regs.addr.val() >= self.qcfg_base.val()) & (self.regs.addr.val() < self.qcfg_end.val());
        self.qcfg_offset.next = self.regs.addr.val() - self.qcfg_base.val();
        self.qcfg_select.next = bit_cast::<32, 1>(true.into()) << self.qcfg_offset.val().get_bits::<5>(2);

        // The staged words as a configuration, in `QueueSettings::words` order.
        self.settings.write.next = self.qcfg_write.q.val();
        self.settings.queue.next = self.qcfg_queue.q.val();
        self.settings.settings.next.rx_ring =
            (bit_cast::<64, 32>(self.qw[1].val()) << 32) | bit_cast::<64, 32>(self.qw[0].val());
        self.settings.settings.next.tx_ring =
            (bit_cast::<64, 32>(self.qw[3].val()) << 32) | bit_cast::<64, 32>(self.qw[2].val());
        self.settings.settings.next.rx_log2 = self.qw[4].val().get_bits::<4>(0);
        self.settings.settings.next.tx_log2 = self.qw[4].val().get_bits::<4>(8);
        self.settings.settings.next.win_base =
            (bit_cast::<64, 32>(self.qw[6].val()) << 32) | bit_cast::<64, 32>(self.qw[5].val());
        self.settings.settings.next.win_limit =
            (bit_cast::<64, 32>(self.qw[8].val()) << 32) | bit_cast::<64, 32>(self.qw[7].val());
        self.settings.settings.next.evt_addr =
            (bit_cast::<64, 32>(self.qw[10].val()) << 32) | bit_cast::<64, 32>(self.qw[9].val());
        self.settings.settings.next.evt_count = self.qw[11].val().get_bits::<8>(0);
        self.settings.settings.next.evt_ticks = self.qw[11].val().get_bits::<16>(16);
        self.settings.settings.next.enable = self.qw[12].val().get_bit(0);
        self.settings.settings.next.unrestricted = self.qw[12].val().get_bit(1);
        self.settings.settings.next.check_mac = self.qw[12].val().get_bit(4);
        self.settings.settings.next.check_vlan = self.qw[12].val().get_bit(5);
        self.settings.settings.next.check_ip = self.qw[12].val().get_bit(6);
        self.settings.settings.next.ip_v6 = self.qw[12].val().get_bit(7);
        self.settings.settings.next.check_port = self.qw[12].val().get_bit(8);
        self.settings.settings.next.tpl_mac = (bit_cast::<48, 16>(self.qw[14].val().get_bits::<16>(0)) << 32)
            | bit_cast::<48, 32>(self.qw[13].val());
        self.settings.settings.next.tpl_vlan = self.qw[15].val().get_bits::<12>(0);
        self.settings.settings.next.tpl_ip = (bit_cast::<128, 32>(self.qw[19].val()) << 96)
            | (bit_cast::<128, 32>(self.qw[18].val()) << 64)
            | (bit_cast::<128, 32>(self.qw[17].val()) << 32)
            | bit_cast::<128, 32>(self.qw[16].val());
        self.settings.settings.next.tpl_port = self.qw[20].val().get_bits::<16>(0);
        self.qcfg_write.d.next = false;

        // Shaping staging: a write goes to the shaper and to the copy kept
        // for reading back; a read loads the words from the copy.
        for i in 0..SHAPE_WORDS {
            self.shape_words[i].clock.next = self.clock.val();
            self.shape_words[i].d.next = self.shape_words[i].q.val();
            self.sw[i].next = self.shape_words[i].q.val();
        }
        self.in_shape.next =
            (self.regs.addr.val() >= self.shape_base.val()) & (self.regs.addr.val() < self.shape_end.val());
        self.shape_offset.next = self.regs.addr.val() - self.shape_base.val();
        self.shape_select.next = bit_cast::<8, 1>(true.into()) << self.shape_offset.val().get_bits::<3>(2);
        self.shape.write.next = self.shape_write.q.val();
        self.shape.queue.next = self.shape_queue.q.val();
        self.shape.shape.next.g_rate = self.sw[0].val().get_bits::<28>(0);
        self.shape.shape.next.g_burst = self.sw[1].val().get_bits::<22>(0);
        self.shape.shape.next.c_rate = self.sw[2].val().get_bits::<28>(0);
        self.shape.shape.next.c_burst = self.sw[3].val().get_bits::<22>(0);
        self.shape.shape.next.weight = self.sw[4].val().get_bits::<8>(0);
        self.shape_copy.read_clock.next = self.clock.val();
        self.shape_copy.write_clock.next = self.clock.val();
        self.shape_copy.write_address.next = self.shape_queue.q.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.shape_copy.write_data.next = self.shape.shape.val();
        self.shape_copy.write_enable.next = self.shape_write.q.val();
        // Read in the action cycle, so the words load in the one after it.
        self.shape_copy.read_address.next = self.req_wdata.q.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        if self.shape_read.q.val() {
            self.shape_words[0].d.next = bit_cast::<32, 28>(self.shape_copy.read_data.val().g_rate);
            self.shape_words[1].d.next = bit_cast::<32, 22>(self.shape_copy.read_data.val().g_burst);
            self.shape_words[2].d.next = bit_cast::<32, 28>(self.shape_copy.read_data.val().c_rate);
            self.shape_words[3].d.next = bit_cast::<32, 22>(self.shape_copy.read_data.val().c_burst);
            self.shape_words[4].d.next = bit_cast::<32, 8>(self.shape_copy.read_data.val().weight);
        }
        self.shape_write.d.next = false;
        self.shape_read.d.next = false;
        self.shape_cmd_ok.next = (self.regs.addr.val() == self.shape_cmd_addr.val())
            & (bit_cast::<REG_ADDR_BITS, 12>(self.regs.wdata.val().get_bits::<12>(0)) < self.queue_count.val());

        // User pages: page 1 + q belongs to queue q.
        self.page.next = self.regs.addr.val() >> 12;
        self.on_page.next = (self.page.val() >= 1) & (self.page.val() <= self.queue_count.val());
        self.uq_offset.next = self.regs.addr.val().get_bits::<12>(0);
        self.doorbell.valid.next = self.db_valid.q.val();
        self.doorbell.queue.next = self.db_queue.q.val();
        self.doorbell.kind.next = self.db_kind.q.val();
        self.doorbell.value.next = self.db_value.q.val();
        self.db_valid.d.next = false;
        self.qc_rd_strobe.next = self.qc_strobe.q.val();
        self.qc_rd_queue.next = self.qc_queue.q.val();
        self.qc_rd_counter.next = self.qc_counter.q.val();
        self.qc_strobe.d.next = false;
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
        self.counters.clock.next = self.clock.val();
        self.counters.inc.next = self.inc.val();
        self.counters.rd_strobe.next = false;
        self.counters.rd_index.next = self.rd_counter.q.val();
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
        // Decode stage: flags from the incoming request only.
        self.is_wr.next = self.regs.strobe.val() & self.regs.write.val();
        self.is_rd.next = self.regs.strobe.val() & !self.regs.write.val();
        self.in_counters.next = (self.regs.addr.val() >= self.counters_base.val())
            & (self.regs.addr.val() < self.counters_end.val());
        self.counter_offset.next = self.regs.addr.val() - self.counters_base.val();
        self.req_strobe.d.next = self.regs.strobe.val();
        self.req_wdata.d.next = self.regs.wdata.val();
        self.req_queue.d.next = bit_cast::<QUEUE_BITS, REG_ADDR_BITS>(self.page.val() - 1);
        self.req_kind.d.next = self.uq_offset.val().get_bits::<2>(2);
        self.rom_addr.d.next = self.regs.addr.val().get_bits::<ID_WORD_BITS>(2);

        self.we_scratch.d.next = self.is_wr.val() & (self.regs.addr.val() == self.scratch_addr.val());
        self.we_control.d.next = self.is_wr.val() & (self.regs.addr.val() == self.control_addr.val());
        self.we_default_q.d.next = self.is_wr.val() & (self.regs.addr.val() == self.default_queue_addr.val());
        self.we_value.d.next = self.is_wr.val() & (self.regs.addr.val() == self.value_addr.val());
        self.we_key.d.next = 0.into();
        if self.is_wr.val() & self.in_key.val() {
            self.we_key.d.next = self.key_select.val();
        }
        self.we_rss.d.next = 0.into();
        if self.is_wr.val() & self.in_rss.val() {
            self.we_rss.d.next = self.rss_select.val();
        }
        self.we_qcfg.d.next = 0.into();
        if self.is_wr.val() & self.in_qcfg.val() {
            self.we_qcfg.d.next = self.qcfg_select.val();
        }
        self.we_shape.d.next = 0.into();
        if self.is_wr.val() & self.in_shape.val() {
            self.we_shape.d.next = self.shape_select.val();
        }
        self.go_filter.d.next = self.is_wr.val()
            & (self.regs.addr.val() == self.cmd_addr.val())
            & (self.regs.wdata.val().get_bit(17) | self.regs.wdata.val().get_bit(18));
        self.go_shape_cmd.d.next = self.is_wr.val() & self.shape_cmd_ok.val();
        self.go_commit.d.next = self.is_wr.val()
            & (self.regs.addr.val() == self.qcfg_cmd_addr.val())
            & self.regs.wdata.val().get_bit(16)
            & (bit_cast::<REG_ADDR_BITS, 12>(self.regs.wdata.val().get_bits::<12>(0)) < self.queue_count.val());
        self.go_doorbell.d.next = self.is_wr.val() & self.on_page.val() & (self.uq_offset.val() < 12);
        self.go_qc.d.next =
            self.is_rd.val() & self.on_page.val() & (self.uq_offset.val() >= 0x10) & (self.uq_offset.val() < 0x20);

        self.rd_id.d.next = self.is_rd.val() & (self.regs.addr.val() < self.id_end.val());
        self.rd_scratch.d.next = self.is_rd.val() & (self.regs.addr.val() == self.scratch_addr.val());
        self.rd_control.d.next = self.is_rd.val() & (self.regs.addr.val() == self.control_addr.val());
        self.rd_default_q.d.next = self.is_rd.val() & (self.regs.addr.val() == self.default_queue_addr.val());
        self.rd_status.d.next = self.is_rd.val() & (self.regs.addr.val() == self.qcfg_status_addr.val());
        self.rd_rss.d.next = 0.into();
        if self.is_rd.val() & self.in_rss.val() {
            self.rd_rss.d.next = self.rss_select.val();
        }
        self.rd_qcfg.d.next = 0.into();
        if self.is_rd.val() & self.in_qcfg.val() {
            self.rd_qcfg.d.next = self.qcfg_select.val();
        }
        self.rd_shape.d.next = 0.into();
        if self.is_rd.val() & self.in_shape.val() {
            self.rd_shape.d.next = self.shape_select.val();
        }
        self.rd_counter.d.next = self.counter_offset.val().get_bits::<5>(3);
        self.rd_counter_lo.d.next = self.is_rd.val() & self.in_counters.val() & !self.regs.addr.val().get_bit(2);
        self.rd_counter_hi.d.next = self.is_rd.val() & self.in_counters.val() & self.regs.addr.val().get_bit(2);

        // Action stage: the registered request and flags only, plus the
        // live state that must be sampled now (cfg_busy, a commit in flight).
        self.regs.ack.next = self.ack.q.val();
        self.regs.rdata.next = self.rdata.q.val();
        if self.qc_wait.q.val() & self.qc_rd_ack.val() {
            self.regs.ack.next = true;
            self.regs.rdata.next = self.qc_rd_data.val();
            self.qc_wait.d.next = false;
        }
        if self.ctr_wait.q.val() & self.counters.rd_ack.val() {
            self.regs.ack.next = true;
            self.regs.rdata.next = self.counters.rd_value.val().get_bits::<32>(0);
            self.high_latch.d.next = self.counters.rd_value.val().get_bits::<32>(32);
            self.ctr_wait.d.next = false;
        }
        // The counter RAMs answer later; those reads hold their ack until then.
        self.ack.d.next = self.req_strobe.q.val() & !self.go_qc.q.val() & !self.rd_counter_lo.q.val();
        if self.rd_counter_lo.q.val() {
            self.counters.rd_strobe.next = true;
            self.ctr_wait.d.next = true;
        }

        if self.we_scratch.q.val() {
            self.scratch.d.next = self.req_wdata.q.val();
        }
        if self.we_control.q.val() {
            self.control.d.next = self.req_wdata.q.val();
        }
        if self.we_default_q.q.val() {
            self.default_q.d.next = self.req_wdata.q.val().get_bits::<QUEUE_BITS>(0);
        }
        if self.we_value.q.val() {
            self.value_word.d.next = self.req_wdata.q.val();
        }
        for i in 0..KEY_WORDS {
            if self.we_key.q.val().get_bit(i) {
                self.key_words[i].d.next = self.req_wdata.q.val();
            }
        }
        for i in 0..10 {
            if self.we_rss.q.val().get_bit(i) {
                self.rss_words[i].d.next = self.req_wdata.q.val();
            }
        }
        for i in 0..QCFG_WORDS {
            if self.we_qcfg.q.val().get_bit(i) {
                self.qcfg_words[i].d.next = self.req_wdata.q.val();
            }
        }
        for i in 0..SHAPE_WORDS {
            if self.we_shape.q.val().get_bit(i) {
                self.shape_words[i].d.next = self.req_wdata.q.val();
            }
        }
        if self.go_filter.q.val() {
            self.cmd_word.d.next = self.req_wdata.q.val();
            self.cmd_write.d.next = true;
        }
        if self.go_shape_cmd.q.val() {
            self.shape_queue.d.next = self.req_wdata.q.val().get_bits::<QUEUE_BITS>(0);
            if self.req_wdata.q.val().get_bit(16) {
                self.shape_write.d.next = true;
            } else if self.req_wdata.q.val().get_bit(17) {
                self.shape_read.d.next = true;
            }
        }
        // A commit lands only when every engine took the last one and the
        // queue exists; the driver polls QCFG_STATUS.
        if self.go_commit.q.val() & !self.cfg_busy.val() & !self.qcfg_write.q.val() {
            self.qcfg_write.d.next = true;
            self.qcfg_queue.d.next = self.req_wdata.q.val().get_bits::<QUEUE_BITS>(0);
        }
        if self.go_doorbell.q.val() {
            self.db_valid.d.next = true;
            self.db_queue.d.next = self.req_queue.q.val();
            self.db_kind.d.next = self.req_kind.q.val();
            self.db_value.d.next = self.req_wdata.q.val().get_bits::<16>(0);
        }
        if self.go_qc.q.val() {
            self.qc_wait.d.next = true;
            self.qc_strobe.d.next = true;
            self.qc_queue.d.next = self.req_queue.q.val();
            self.qc_counter.d.next = self.req_kind.q.val();
        }

        // The read data: the regions are disjoint (asserted above), so an OR
        // of each register masked by its select rather than a priority chain.
        self.id_rom.address.next = self.rom_addr.q.val();
        self.read_value.next = 0.into();
        if self.rd_id.q.val() {
            self.read_value.next = self.read_value.val() | self.id_rom.data.val();
        }
        if self.rd_scratch.q.val() {
            self.read_value.next = self.read_value.val() | self.scratch.q.val();
        }
        if self.rd_control.q.val() {
            self.read_value.next = self.read_value.val() | self.control.q.val();
        }
        if self.rd_default_q.q.val() {
            self.read_value.next = self.read_value.val() | bit_cast::<32, QUEUE_BITS>(self.default_q.q.val());
        }
        if self.rd_status.q.val() {
            self.read_value.next =
                self.read_value.val() | bit_cast::<32, 1>((self.cfg_busy.val() | self.qcfg_write.q.val()).into());
        }
        if self.rd_counter_hi.q.val() {
            self.read_value.next = self.read_value.val() | self.high_latch.q.val();
        }
        for i in 0..10 {
            if self.rd_rss.q.val().get_bit(i) {
                self.read_value.next = self.read_value.val() | self.rss_words[i].q.val();
            }
        }
        for i in 0..QCFG_WORDS {
            if self.rd_qcfg.q.val().get_bit(i) {
                self.read_value.next = self.read_value.val() | self.qcfg_words[i].q.val();
            }
        }
        for i in 0..SHAPE_WORDS {
            if self.rd_shape.q.val().get_bit(i) {
                self.read_value.next = self.read_value.val() | self.shape_words[i].q.val();
            }
        }
        self.rdata.d.next = self.read_value.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;

    /// Raises the strobe for one edge, then leaves the other request
    /// signals on values that would be a different access (the initiator
    /// need not hold them): the action stage must use what it registered.
    fn strobe(h: &mut Harness<ControlPage>, write: bool, offset: u32, value: u32) {
        h.uut.regs.strobe.next = true;
        h.uut.regs.write.next = write;
        h.uut.regs.addr.next = (offset as u64).into();
        h.uut.regs.wdata.next = (value as u64).into();
        h.cycle();
        h.uut.regs.strobe.next = false;
        h.uut.regs.write.next = !write;
        h.uut.regs.addr.next = ((offset ^ 0x4) as u64).into();
        h.uut.regs.wdata.next = (!value as u64).into();
        h.settle();
    }

    fn access(h: &mut Harness<ControlPage>, write: bool, offset: u32, value: u32) -> u32 {
        strobe(h, write, offset, value);
        assert!(!h.uut.regs.ack.val(), "ack one cycle after the strobe, before the access acted");
        h.cycle();
        assert!(h.uut.regs.ack.val(), "no ack two cycles after the strobe");
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
        // The command's pulse lands two cycles after the strobe's edge, with
        // the ack, which `access` spends waiting for.
        strobe(&mut h, true, regmap::FILTER_CMD, regmap::filter_cmd(true, 37, false));
        assert!(!h.uut.filter.write.val(), "the write pulse came before the access acted");
        h.cycle();
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
        // A word with neither WRITE nor CLEAR is no command at all.
        for cmd in [37, regmap::FILTER_CMD_WILDCARD | 37] {
            strobe(&mut h, true, regmap::FILTER_CMD, cmd);
            for _ in 0..3 {
                assert!(!h.uut.filter.write.val(), "0x{cmd:x} wrote a slot");
                h.cycle();
            }
        }
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
            assert_eq!(read_counter(&mut h, c.offset()), i as u32 + 1, "{}", c.name());
            assert_eq!(read(&mut h, c.offset() + 4), 0, "{}", c.name());
        }
        // Events up to the strobe are in the answer, while they keep coming.
        h.uut.inc.next = 1.into();
        let lo = read_counter(&mut h, Counter::RxFrames.offset());
        let before = h.cycles;
        let lo_later = read_counter(&mut h, Counter::RxFrames.offset());
        assert!(lo_later >= lo + 2 && lo_later as u64 <= lo as u64 + h.cycles - before, "{lo} then {lo_later}");
    }

    /// A low-half counter read: the ack waits for the counter bank.
    fn read_counter(h: &mut Harness<ControlPage>, offset: u32) -> u32 {
        use crate::blocks::counter_bank::BANK_READ_LATENCY_MAX;
        strobe(h, false, offset, 0);
        let mut waited = 1;
        while !h.uut.regs.ack.val() {
            h.cycle();
            waited += 1;
            assert!(waited <= BANK_READ_LATENCY_MAX + 2, "no ack {waited} cycles after the strobe");
        }
        let data = h.uut.regs.rdata.val().index() as u32;
        h.cycle();
        assert!(!h.uut.regs.ack.val(), "ack lasted more than one cycle");
        data
    }

    #[test]
    fn a_queue_commit_carries_the_staged_settings_for_one_cycle() {
        use crate::queue::{QueueSettings, Template};
        let mut h = Harness::new(ControlPage::new(&NicParams::default()), |c| &mut c.clock);
        let s = QueueSettings {
            enable: true,
            rx_ring: 0x1_2345_6000,
            rx_log2: 5,
            tx_ring: 0xFFFF_0000_0000_1000,
            tx_log2: 12,
            window_base: 0x10_0000,
            window_limit: 0x20_0000,
            event_addr: 0xABCD_0008,
            event_count: 17,
            event_ticks: 999,
            template: Template {
                src_mac: Some([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]),
                vlan: Some(42),
                src_ip: Some("2001:db8::7".parse().unwrap()),
                src_port: Some(8080),
            },
            ..Default::default()
        };
        for (i, w) in s.words().iter().enumerate() {
            access(&mut h, true, regmap::QCFG + 4 * i as u32, *w);
        }
        assert_eq!(read(&mut h, regmap::QCFG + 4 * 9), 0xABCD_0008);
        strobe(&mut h, true, regmap::QCFG_CMD, regmap::QCFG_CMD_COMMIT | 9);
        assert!(!h.uut.settings.write.val(), "the commit came before the access acted");
        h.cycle();
        assert!(h.uut.settings.write.val());
        assert_eq!(h.uut.settings.queue.val(), 9u64);
        let c = h.uut.settings.settings.val();
        assert!(c.enable && !c.unrestricted);
        assert_eq!(c.rx_ring, 0x1_2345_6000u64);
        assert_eq!(c.tx_ring, 0xFFFF_0000_0000_1000u64);
        assert_eq!((c.rx_log2, c.tx_log2), (5u64.into(), 12u64.into()));
        assert_eq!((c.win_base, c.win_limit), (0x10_0000u64.into(), 0x20_0000u64.into()));
        assert_eq!((c.evt_addr, c.evt_count, c.evt_ticks), (0xABCD_0008u64.into(), 17u64.into(), 999u64.into()));
        assert!(c.check_mac && c.check_vlan && c.check_ip && c.ip_v6 && c.check_port);
        assert_eq!(c.tpl_mac, 0x0211_2233_4455u64);
        assert_eq!(c.tpl_vlan, 42u64);
        assert_eq!(c.tpl_ip.get_bits::<64>(64), 0x2001_0db8_0000_0000u64);
        assert_eq!(c.tpl_ip.get_bits::<64>(0), 7u64);
        assert_eq!(c.tpl_port, 8080u64);
        h.cycle();
        assert!(!h.uut.settings.write.val());
        // While an engine is busy, commits are refused and the status says so.
        let commits = |h: &mut Harness<ControlPage>, value: u32| {
            strobe(h, true, regmap::QCFG_CMD, value);
            (0..3).any(|_| {
                let w = h.uut.settings.write.val();
                h.cycle();
                w
            })
        };
        h.uut.cfg_busy.next = true;
        assert_eq!(read(&mut h, regmap::QCFG_STATUS), regmap::QCFG_STATUS_BUSY);
        assert!(!commits(&mut h, regmap::QCFG_CMD_COMMIT | 3), "committed while busy");
        h.uut.cfg_busy.next = false;
        // A queue that does not exist is never committed.
        assert!(!commits(&mut h, regmap::QCFG_CMD_COMMIT | 64), "committed a queue that does not exist");
        assert_eq!(read(&mut h, regmap::QCFG_STATUS), 0);
        assert!(commits(&mut h, regmap::QCFG_CMD_COMMIT | 63), "refused the last queue");
    }

    #[test]
    fn shaping_is_written_at_once_and_read_back_per_queue() {
        use crate::shaping::ShapeSettings;
        let mut h = Harness::new(ControlPage::new(&NicParams::default()), |c| &mut c.clock);
        let write = |h: &mut Harness<ControlPage>, q: u32, s: &ShapeSettings| {
            for (i, w) in s.words().iter().enumerate() {
                access(h, true, regmap::SHAPE + 4 * i as u32, *w);
            }
            strobe(h, true, regmap::SHAPE_CMD, regmap::SHAPE_CMD_WRITE | q);
            assert!(!h.uut.shape.write.val(), "a write came before the access acted");
            h.cycle();
            let shown = h.uut.shape.write.val();
            let shape = h.uut.shape.shape.val();
            let queue = h.uut.shape.queue.val();
            h.cycle();
            assert!(!h.uut.shape.write.val(), "a write lasted more than one cycle");
            (shown, queue, shape)
        };
        let a = ShapeSettings { g_rate: 0x0ABC_DEF1, g_burst: 0x3F_FFFF, c_rate: 1 << 24, c_burst: 9000, weight: 200 };
        let b = ShapeSettings { g_rate: 5, g_burst: 6, c_rate: 7, c_burst: 8, weight: 9 };
        let (shown, queue, shape) = write(&mut h, 63, &a);
        assert!(shown);
        assert_eq!(queue, 63u64);
        assert_eq!(shape.g_rate, 0x0ABC_DEF1u64);
        assert_eq!(shape.c_burst, 9000u64);
        assert_eq!(shape.weight, 200u64);
        write(&mut h, 2, &b);
        // Bits the gateware does not keep are dropped, as `from_words` says.
        let (shown, _, _) = write(&mut h, 64, &ShapeSettings { g_rate: u32::MAX, ..a });
        assert!(!shown, "a queue that does not exist was shaped");
        let readback = |h: &mut Harness<ControlPage>, q: u32| {
            access(h, true, regmap::SHAPE_CMD, regmap::SHAPE_CMD_READ | q);
            let w: Vec<u32> = (0..5).map(|i| read(h, regmap::SHAPE + 4 * i)).collect();
            ShapeSettings::from_words(&w.try_into().unwrap())
        };
        assert_eq!(readback(&mut h, 63), a);
        assert_eq!(readback(&mut h, 2), b);
        assert_eq!(readback(&mut h, 7), ShapeSettings::default());
        assert!(!h.uut.shape.write.val(), "a read wrote");
    }

    #[test]
    fn user_pages_ring_only_their_own_queue() {
        let mut h = Harness::new(ControlPage::new(&NicParams::default()), |c| &mut c.clock);
        let mut rung = vec![];
        for (q, off, value) in [(0u32, 0u32, 7u32), (5, 4, 0x1_FFFF), (63, 8, 1), (64, 0, 1), (2, 0x800, 1), (9, 0xC, 3)] {
            strobe(&mut h, true, regmap::queue_page(q) + off, value);
            assert!(!h.uut.doorbell.valid.val(), "a doorbell came before the access acted");
            h.cycle();
            if h.uut.doorbell.valid.val() {
                rung.push((
                    h.uut.doorbell.queue.val().index(),
                    h.uut.doorbell.kind.val().index(),
                    h.uut.doorbell.value.val().index(),
                ));
            }
            h.cycle();
            assert!(!h.uut.doorbell.valid.val());
        }
        // Queue 64 has no page; offsets past the doorbells ring nothing.
        assert_eq!(rung, vec![(0, 0, 7), (5, 1, 0xFFFF), (63, 2, 1)]);
        assert!(!h.uut.settings.write.val(), "a user page reached privileged state");
    }

    #[test]
    fn user_page_counter_reads_wait_for_the_counter_ram() {
        let mut h = Harness::new(ControlPage::new(&NicParams::default()), |c| &mut c.clock);
        strobe(&mut h, false, regmap::queue_page(12) + regmap::UQ_TX_SENT, 0);
        assert!(!h.uut.regs.ack.val() && !h.uut.qc_rd_strobe.val());
        h.cycle();
        assert!(!h.uut.regs.ack.val());
        assert!(h.uut.qc_rd_strobe.val());
        assert_eq!(h.uut.qc_rd_queue.val(), 12u64);
        assert_eq!(h.uut.qc_rd_counter.val(), 2u64);
        h.cycle();
        h.cycle();
        assert!(!h.uut.regs.ack.val() && !h.uut.qc_rd_strobe.val());
        h.uut.qc_rd_ack.next = true;
        h.uut.qc_rd_data.next = 0x1234_5678u64.into();
        h.settle();
        assert!(h.uut.regs.ack.val());
        assert_eq!(h.uut.regs.rdata.val(), 0x1234_5678u64);
        h.cycle();
        h.uut.qc_rd_ack.next = false;
        h.settle();
        assert!(!h.uut.regs.ack.val());
    }
}
