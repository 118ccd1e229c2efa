//! The receive descriptor engine: keeps every good frame the frame check
//! lets through, pairs it with the flow demultiplexer's decision, takes the
//! next receive descriptor of the decided queue and writes the frame into
//! that buffer, then writes the descriptor back and reports the completion.
//!
//! The path, one stage per paragraph of `update`:
//! - Intake packs the byte stream into 8-byte words in a block-RAM frame
//!   buffer, so frame data later leaves at one DMA beat per cycle. A frame
//!   is committed at its last beat (error frames and frames that find no
//!   room are rolled back) and its (sequence number, length) is queued.
//!   Every frame that ends, stored or not, takes a sequence number.
//! - Pairing (one step per two cycles: compare, then pop): decisions
//!   arrive in frame order, numbered the same way, so a
//!   decision whose number matches the oldest stored frame belongs to it;
//!   one with a later number was for a frame that was not stored and is
//!   discarded. A stored frame older than the decision in hand never got
//!   its own (it came before the frame's last beat, or found the decision
//!   FIFO full; the demultiplexer does neither) and is dropped as overflow.
//! - Descriptor issue reads the queue's configuration and ring indices
//!   (registered a cycle after the RAMs answer, as are the prefetcher's),
//!   decides whether the frame can be placed, and if so advances the ring
//!   head and takes the descriptor from the prefetch cache, or, when the
//!   cache does not hold the head's descriptor, issues the 16-byte read.
//!   Reads are pipelined: up to `INFLIGHT` frames are past this stage at
//!   once, each with room reserved for its descriptor in the response
//!   buffer, so `rd_rsp_ready` is always 1.
//! - Prefetch: in cycles when issue leaves the queue RAMs alone, a scanner
//!   visits queues (the one whose head or tail last moved, alternating with
//!   a round robin) and, for an enabled queue with a posted slot (head !=
//!   tail) whose descriptor is not cached, reads the head's descriptor into
//!   a one-entry per-queue cache tagged with the ring index. One prefetch
//!   read is out at a time; it is never for an index at or past the tail,
//!   and an entry counts only while the head still equals its index.
//! - Write-out takes frames in order. A frame with a descriptor (as read,
//!   cached or not) is checked against the queue's window and the buffer
//!   length as they were when the frame was issued, its data written, then
//!   its write-back; then the
//!   completion and per-queue count are posted and its words freed. Frames
//!   dropped earlier pass through here too, so the buffer is freed in order.
//!
//! A queue commit writes the configuration and zeroes the ring's tail at
//! once (doorbells rung after it count from 0 and are kept), and zeroes the
//! head and the done count once every frame already past descriptor issue
//! has finished and the prefetch read in flight (if any) has landed, and
//! then empties the queue's prefetch entry; meanwhile `cfg_busy` is 1 and
//! no new frame or prefetch is issued, so no frame mixes old and new state. The host waits for `cfg_busy` to fall
//! before its next commit (a second commit while one is pending replaces
//! the pending queue's reset).
//!
//! Latency with nothing queued, the decision coming D cycles after a
//! frame's last byte and reads answering after L. With the descriptor
//! prefetched (the usual case once buffers are posted and the queue's
//! previous frame left ~L cycles ago): the write-back request comes
//! D + 16 + `ceil(len / 8)` cycles after the last byte (D = 40, 64-byte
//! frames: 64 cycles). Without it: the descriptor read is requested D + 10
//! cycles after the last byte, its two beats come L and L + 1 later, the
//! frame's write request 5 cycles after that, and the write-back request
//! `ceil(len / 8) + 1` after the frame's (L = 63: 128 cycles). A frame
//! whose queue's prefetch is still out reads its descriptor again rather
//! than wait (the prefetched copy is then never used). Descriptor reads
//! are 16 bytes, tag 0 for a frame's own read, tag 1 for a prefetch; a
//! commit waits up to one read latency more for a prefetch to land.
//! Writes are the frame (one request of the frame's length) and the 8-byte
//! write-back; they are exactly as without prefetch.

use super::flow_demux::DecisionIn;
use super::steered_fifo::SteeredFifo;
use crate::params::{NicParams, QUEUE_BITS, QUEUE_COUNT_LOG2, RX_BUFFER_LOG2};
use crate::ports::{
    CompletionSource, DmaMaster, DoorbellSink, FrameSink, QueueConfig, QueueConfigSink, QueueCountSource,
};
use rust_hdl::prelude::*;

/// The frame buffer holds 8-byte words; each frame starts on a word.
const WORD_LOG2: usize = RX_BUFFER_LOG2 - 3;

/// Stored frames not yet finished. The record and paired FIFOs hold 32,
/// so they can never overflow (the intake checks `== 31` as a literal).
pub const MAX_STORED: usize = 31;
const STORE_FIFO_LOG2: usize = 5;
const _: () = assert!(MAX_STORED < (1 << STORE_FIFO_LOG2));

/// Frames past descriptor issue (and descriptor responses buffered).
pub const INFLIGHT: usize = 16;
const INFLIGHT_LOG2: usize = 4;
const _: () = assert!(INFLIGHT == 1 << INFLIGHT_LOG2);

/// Decisions waiting to be paired; they pair one per cycle and arrive at
/// most one per cycle, so this only fills if stale frames are being purged.
const DECISION_FIFO_LOG2: usize = 3;

// Codes used as literals below.
const _: () = {
    use crate::ports::queue::*;
    use crate::queue::*;
    assert!(Status::Ok as u8 == 0 && Status::Window as u8 == 1 && Status::TooLong as u8 == 2);
    assert!(QCOUNT_RX_DELIVERED == 0 && QCOUNT_RX_DROPPED == 1 && DOORBELL_RX_TAIL == 0);
    assert!(DESC_BYTES == 16 && DESC_WRITEBACK_OFFSET == 8 && WB_DONE == 1 << 63);
    use crate::regmap::Counter;
    assert!(Counter::RxDropTooLong as usize - Counter::RxDelivered as usize == COUNT_DROP_TOO_LONG);
};

/// Bits of `counts`: `regmap::Counter::RxDelivered` and the four after it,
/// then `RxDropOverflow`.
pub const COUNT_DELIVERED: usize = 0;
pub const COUNT_DROP_DISABLED: usize = 1;
pub const COUNT_DROP_NO_BUFFER: usize = 2;
pub const COUNT_DROP_WINDOW: usize = 3;
pub const COUNT_DROP_TOO_LONG: usize = 4;
pub const COUNT_DROP_OVERFLOW: usize = 5;

/// A frame kept in the buffer, waiting for its decision.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct StoredFrame {
    pub seq: Bits<16>,
    pub len: Bits<16>,
}

/// A decision as it arrived, with the number of the frame it is for.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct NumberedDecision {
    pub seq: Bits<16>,
    pub queue: Bits<QUEUE_BITS>,
    pub reason: Bits<4>,
    pub kind: Bits<3>,
    pub filter_id: Bits<16>,
}

/// A stored frame with its decision (or `lost` if it never got one).
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct PairedFrame {
    pub lost: bool,
    pub len: Bits<16>,
    pub queue: Bits<QUEUE_BITS>,
    pub reason: Bits<4>,
    pub kind: Bits<3>,
    pub filter_id: Bits<16>,
}

/// A frame past descriptor issue. `action`: 0 a descriptor was read for
/// it; 1 queue disabled or out of range; 2 no posted buffer; 3 lost its
/// decision. The window and ring address are the ones read at issue.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct InFlight {
    pub action: Bits<2>,
    pub len: Bits<16>,
    pub queue: Bits<QUEUE_BITS>,
    pub reason: Bits<4>,
    pub kind: Bits<3>,
    pub filter_id: Bits<16>,
    pub desc_addr: Bits<64>,
    pub unrestricted: bool,
    pub win_base: Bits<64>,
    pub win_limit: Bits<64>,
    /// The descriptor came from the prefetch cache (`pre_*`); no read.
    pub cached: bool,
    pub pre_addr: Bits<64>,
    pub pre_buflen: Bits<16>,
}

/// A queue's prefetched descriptor: the one for ring index `idx`, valid
/// while the head is still `idx`.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct Prefetched {
    pub valid: bool,
    pub idx: Bits<16>,
    pub addr: Bits<64>,
    pub buflen: Bits<16>,
}

/// A descriptor as read: buffer address and length.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct Descriptor {
    pub addr: Bits<64>,
    pub buflen: Bits<16>,
}

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum Issue {
    Idle,
    /// The queue RAMs' (registered) read address is the frame's queue.
    Addr,
    /// The queue's RAMs are being read for the oldest paired frame.
    Lookup,
    /// Their data is in the `r_*` registers: the entry is latched, the
    /// compares go into `c_*`.
    Decide,
    /// The outcome is decided from `c_*`.
    Classify,
    /// The outcome is latched; a descriptor read waits for `rd_req_ready`.
    Send,
}

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum Prefetch {
    /// Waits for a cycle in which issue leaves the queue RAMs' read ports.
    Scan,
    /// The RAMs' (registered) read address is `pf_q`.
    Addr,
    /// The RAMs show queue `pf_q`; their data goes into `r_*`.
    Check,
    /// From `r_*`: the descriptor's address; the compares go into `c_*`.
    Decide,
    /// From those: read queue `pf_q`'s next descriptor or move on.
    Act,
    /// The prefetch read waits for `rd_req_ready`.
    Send,
    /// The read is out; its response fills the cache.
    Wait,
}

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum WriteOut {
    Idle,
    Check1,
    Check2,
    DataReq,
    Data,
    WbReq,
    WbData,
    Finish,
    /// The frame's FIFO entries are popped (from registers, a cycle after
    /// Finish decided, so no handshake input reaches the FIFOs' RAMs).
    Pop,
}

#[derive(LogicBlock)]
pub struct RxEngine {
    pub clock: Signal<In, Clock>,
    pub frames_in: FrameSink,
    /// 0 for a frame the loopback path took: not stored, still numbered.
    pub keep: Signal<In, Bit>,
    pub decision: DecisionIn,
    pub settings: QueueConfigSink,
    pub doorbell: DoorbellSink,
    pub dma: DmaMaster,
    pub completion: CompletionSource,
    pub qcount: QueueCountSource,
    /// One-cycle pulses; bit numbers are the `COUNT_*` constants.
    pub counts: Signal<Out, Bits<6>>,
    /// A commit's ring reset has not happened yet.
    pub cfg_busy: Signal<Out, Bit>,

    queue_count: Constant<Bits<QUEUE_BITS>>,

    // Intake.
    frame_ram: RAM<Bits<64>, WORD_LOG2>,
    fr_we: DFF<Bit>,
    fr_wa: DFF<Bits<WORD_LOG2>>,
    fr_wd: DFF<Bits<64>>,
    /// Bytes of the current word gathered so far, and how many.
    acc: DFF<Bits<64>>,
    byte_idx: DFF<Bits<3>>,
    wr_ptr: DFF<Bits<WORD_LOG2>>,
    /// End of the last stored frame: where a rolled-back frame rewinds to.
    commit_ptr: DFF<Bits<WORD_LOG2>>,
    /// Start of the oldest unfinished frame: the writer stops before it.
    rd_ptr: DFF<Bits<WORD_LOG2>>,
    in_len: DFF<Bits<16>>,
    /// The current frame ran out of buffer; it is dropped at its end.
    in_ovf: DFF<Bit>,
    /// Number of the next frame to end on `frames_in`.
    in_seq: DFF<Bits<16>>,
    /// Stored frames not yet finished by the write-out stage.
    stored: DFF<Bits<6>>,
    commit_q: DFF<Bit>,
    ovf_q: DFF<Bit>,
    read_q: DFF<Bit>,
    /// 31 frames stored, counting the pulses `stored` has not taken yet;
    /// registered from the next cycle's count.
    stored_full: DFF<Bit>,
    /// `rd_ptr - 1`, so the full compare for an advancing writer has no
    /// adder in front.
    rd_m1: DFFWithInit<Bits<WORD_LOG2>>,
    wr_p1: DFFWithInit<Bits<WORD_LOG2>>,
    commit_p1: DFFWithInit<Bits<WORD_LOG2>>,
    wr_p2: Signal<Local, Bits<WORD_LOG2>>,
    records: SteeredFifo<StoredFrame, STORE_FIFO_LOG2, { STORE_FIFO_LOG2 + 1 }>,
    word: Signal<Local, Bits<64>>,
    shift: Signal<Local, Bits<6>>,
    kept_beat: Signal<Local, Bit>,
    word_done: Signal<Local, Bit>,
    /// The next word would fill the buffer: registered, against the
    /// read pointer as it was a cycle before (so space freed by write-out
    /// is seen a cycle late, never early).
    buf_full: DFF<Bit>,
    full_p1: Signal<Local, Bit>,
    full_p2: Signal<Local, Bit>,
    full_c1: Signal<Local, Bit>,
    /// A word is written this cycle.
    wr_adv: Signal<Local, Bit>,
    frame_end: Signal<Local, Bit>,
    commit: Signal<Local, Bit>,
    overflow_drop: Signal<Local, Bit>,
    stored_next: Signal<Local, Bits<6>>,
    st_up: Signal<Local, Bit>,
    st_down: Signal<Local, Bit>,
    st_ge31: Signal<Local, Bit>,
    st_ge30: Signal<Local, Bit>,

    // Pairing.
    dec_seq: DFF<Bits<16>>,
    decisions: SteeredFifo<NumberedDecision, DECISION_FIFO_LOG2, { DECISION_FIFO_LOG2 + 1 }>,
    paired: SteeredFifo<PairedFrame, STORE_FIFO_LOG2, { STORE_FIFO_LOG2 + 1 }>,
    seq_gap: Signal<Local, Bits<16>>,
    seq_eq: Signal<Local, Bit>,
    /// Pairing takes two cycles a step: phase 0 compares the FIFO heads
    /// and registers what to pop, phase 1 pops.
    pair_ph: DFF<Bit>,
    /// Phase 0's view: a step may be taken (a decision, room in
    /// `paired`), a record is there, same number, record older.
    p_ok: DFF<Bit>,
    p_rec: DFF<Bit>,
    p_eq: DFF<Bit>,
    p_old: DFF<Bit>,
    p_dec_rd: Signal<Local, Bit>,
    p_rec_rd: Signal<Local, Bit>,

    // Descriptor issue.
    cfg_ram: RAM<QueueConfig, QUEUE_COUNT_LOG2>,
    head_ram: RAM<Bits<16>, QUEUE_COUNT_LOG2>,
    tail_ram: RAM<Bits<16>, QUEUE_COUNT_LOG2>,
    issue: DFF<Issue>,
    b_entry: DFF<InFlight>,
    b_head: DFF<Bits<16>>,
    /// Frames past issue and not yet finished.
    pipe_count: DFF<Bits<5>>,
    inflight: SteeredFifo<InFlight, INFLIGHT_LOG2, { INFLIGHT_LOG2 + 1 }>,
    b_index: Signal<Local, Bits<QUEUE_COUNT_LOG2>>,
    b_mask: Signal<Local, Bits<16>>,
    b_slot: Signal<Local, Bits<16>>,
    b_push: Signal<Local, Bit>,
    pipe_next: Signal<Local, Bits<5>>,
    issue_start: Signal<Local, Bit>,
    ram_addr: Signal<Local, Bits<QUEUE_COUNT_LOG2>>,
    /// The queue RAMs' read address, registered.
    ram_addr_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    issue_rd: Signal<Local, Bit>,
    /// Pops the paired FIFO in Decide.
    b_pop: DFF<Bit>,
    /// Which kind of Send this is, set in Decide, cleared at the push:
    /// descriptor cached, descriptor to read (neither: no descriptor).
    s_cached: DFF<Bit>,
    s_rd: DFF<Bit>,
    s_drop: DFF<Bit>,
    /// The prefetcher is in Send (one-hot copy of `pf == Send`).
    pf_send: DFF<Bit>,

    /// The queue RAMs' data, registered every cycle: block-RAM data comes
    /// late in the cycle, so issue and prefetch decide on it a cycle later.
    r_cfg: DFF<QueueConfig>,
    r_head: DFF<Bits<16>>,
    r_tail: DFF<Bits<16>>,
    r_pf: DFF<Prefetched>,

    // Prefetch.
    pf_ram: RAM<Prefetched, QUEUE_COUNT_LOG2>,
    pf: DFF<Prefetch>,
    pf_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    pf_rr: DFF<Bits<QUEUE_COUNT_LOG2>>,
    /// A queue whose head or tail just moved: checked next, alternating
    /// with the round robin so that every queue is still visited.
    pf_hint: DFF<Bits<QUEUE_COUNT_LOG2>>,
    pf_hint_valid: DFF<Bit>,
    pf_from_hint: DFF<Bit>,
    pf_addr: DFF<Bits<64>>,
    pf_idx: DFF<Bits<16>>,
    /// The prefetch request was raised and not taken: it keeps the port.
    pf_req_up: DFF<Bit>,
    pf_word0: DFF<Bits<64>>,
    pf_have0: DFF<Bit>,
    pf_want: Signal<Local, Bit>,
    /// Compares on `r_*`, registered a cycle after it: head == tail,
    /// the prefetched entry is the head's, enabled, entry valid; and, from
    /// issue's Decide, the frame lost its decision / its queue is out of
    /// range.
    c_heq: DFF<Bit>,
    c_hit: DFF<Bit>,
    c_en: DFF<Bit>,
    c_pfv: DFF<Bit>,
    c_lost: DFF<Bit>,
    c_range: DFF<Bit>,
    pf_port: Signal<Local, Bit>,
    pf_advance: Signal<Local, Bit>,
    pf_hit: Signal<Local, Bit>,

    // Descriptor responses.
    rsp_word0: DFF<Bits<64>>,
    rsp_have0: DFF<Bit>,
    responses: SteeredFifo<Descriptor, INFLIGHT_LOG2, { INFLIGHT_LOG2 + 1 }>,

    // Write-out.
    done_ram: RAM<Bits<16>, QUEUE_COUNT_LOG2>,
    wout: DFF<WriteOut>,
    c_status: DFF<Bits<4>>,
    // The buffer checks, two register stages behind the FIFO heads
    // (which hold still from Idle until Finish): sum and base compare,
    // then the limit compare.
    ck_end: DFF<Bits<65>>,
    ck_limit: DFF<Bits<65>>,
    ck_base_ok: DFF<Bit>,
    ck_unres: DFF<Bit>,
    ck_long1: DFF<Bit>,
    ck_window_ok: DFF<Bit>,
    ck_long2: DFF<Bit>,
    /// The next word to send; the frame RAM is always addressed with it.
    beat_ptr: DFF<Bits<WORD_LOG2>>,
    beats_left: DFF<Bits<WORD_LOG2>>,
    /// `beats_left == 1`, registered.
    last_beat: DFF<Bit>,
    cmp_valid: DFF<Bit>,
    cmp_queue: DFF<Bits<QUEUE_BITS>>,
    cmp_done: DFF<Bits<16>>,
    qc_valid: DFF<Bit>,
    qc_queue: DFF<Bits<QUEUE_BITS>>,
    qc_counter: DFF<Bits<2>>,
    counts_q: DFF<Bits<6>>,
    buf_end: Signal<Local, Bits<65>>,
    wo_addr: Signal<Local, Bits<64>>,
    wo_buflen: Signal<Local, Bits<16>>,
    wo_have: Signal<Local, Bit>,
    in_window: Signal<Local, Bit>,
    /// `limit - end`: its borrow says the buffer runs past the window (a
    /// carry chain, where Yosys builds a 65-bit `<=` from LUTs).
    ck_diff: Signal<Local, Bits<66>>,
    /// Data is being sent: a taken beat moves the RAM address on.
    in_data: DFF<Bit>,
    beat_p1: DFFWithInit<Bits<WORD_LOG2>>,
    /// The completed frame's done count is written back in Pop.
    pop_done: DFF<Bit>,
    len_round: Signal<Local, Bits<16>>,
    words: Signal<Local, Bits<WORD_LOG2>>,
    rd_addr: Signal<Local, Bits<WORD_LOG2>>,
    wb_word: Signal<Local, Bits<64>>,
    can_finish: Signal<Local, Bit>,
    pop_q: DFF<Bit>,
    pop_rsp: DFF<Bit>,
    count_bits: Signal<Local, Bits<6>>,

    // Commits and doorbells.
    reset_pending: DFF<Bit>,
    reset_index: DFF<Bits<QUEUE_COUNT_LOG2>>,
    cfg_in_range: Signal<Local, Bit>,
    db_write: Signal<Local, Bit>,
    reset_go: Signal<Local, Bit>,
}

impl RxEngine {
    pub fn new(params: &NicParams) -> Self {
        Self {
            clock: Default::default(),
            frames_in: Default::default(),
            keep: Default::default(),
            decision: Default::default(),
            settings: Default::default(),
            doorbell: Default::default(),
            dma: Default::default(),
            completion: Default::default(),
            qcount: Default::default(),
            counts: Default::default(),
            cfg_busy: Default::default(),
            queue_count: Constant::new((params.queues as u64).into()),
            frame_ram: Default::default(),
            fr_we: Default::default(),
            fr_wa: Default::default(),
            fr_wd: Default::default(),
            acc: Default::default(),
            byte_idx: Default::default(),
            wr_ptr: Default::default(),
            commit_ptr: Default::default(),
            rd_ptr: Default::default(),
            in_len: Default::default(),
            in_ovf: Default::default(),
            in_seq: Default::default(),
            stored: Default::default(),
            commit_q: Default::default(),
            ovf_q: Default::default(),
            read_q: Default::default(),
            stored_full: Default::default(),
            rd_m1: DFFWithInit::new(((1u64 << WORD_LOG2) - 1).into()),
            wr_p1: DFFWithInit::new(1.into()),
            commit_p1: DFFWithInit::new(1.into()),
            wr_p2: Default::default(),
            records: Default::default(),
            word: Default::default(),
            shift: Default::default(),
            kept_beat: Default::default(),
            word_done: Default::default(),
            buf_full: Default::default(),
            full_p1: Default::default(),
            full_p2: Default::default(),
            full_c1: Default::default(),
            wr_adv: Default::default(),
            frame_end: Default::default(),
            commit: Default::default(),
            overflow_drop: Default::default(),
            stored_next: Default::default(),
            st_up: Default::default(),
            st_down: Default::default(),
            st_ge31: Default::default(),
            st_ge30: Default::default(),
            dec_seq: Default::default(),
            decisions: Default::default(),
            paired: Default::default(),
            seq_gap: Default::default(),
            seq_eq: Default::default(),
            pair_ph: Default::default(),
            p_ok: Default::default(),
            p_rec: Default::default(),
            p_eq: Default::default(),
            p_old: Default::default(),
            p_dec_rd: Default::default(),
            p_rec_rd: Default::default(),
            cfg_ram: Default::default(),
            head_ram: Default::default(),
            tail_ram: Default::default(),
            issue: Default::default(),
            b_entry: Default::default(),
            b_head: Default::default(),
            pipe_count: Default::default(),
            inflight: Default::default(),
            b_index: Default::default(),
            b_mask: Default::default(),
            b_slot: Default::default(),
            b_push: Default::default(),
            pipe_next: Default::default(),
            issue_start: Default::default(),
            ram_addr: Default::default(),
            issue_rd: Default::default(),
            ram_addr_q: Default::default(),
            b_pop: Default::default(),
            s_cached: Default::default(),
            s_rd: Default::default(),
            s_drop: Default::default(),
            pf_send: Default::default(),
            r_cfg: Default::default(),
            r_head: Default::default(),
            r_tail: Default::default(),
            r_pf: Default::default(),
            pf_ram: Default::default(),
            pf: Default::default(),
            pf_q: Default::default(),
            pf_rr: Default::default(),
            pf_hint: Default::default(),
            pf_hint_valid: Default::default(),
            pf_from_hint: Default::default(),
            pf_addr: Default::default(),
            pf_idx: Default::default(),
            pf_req_up: Default::default(),
            pf_word0: Default::default(),
            pf_have0: Default::default(),
            pf_want: Default::default(),
            c_heq: Default::default(),
            c_hit: Default::default(),
            c_en: Default::default(),
            c_pfv: Default::default(),
            c_lost: Default::default(),
            c_range: Default::default(),
            pf_port: Default::default(),
            pf_advance: Default::default(),
            pf_hit: Default::default(),
            rsp_word0: Default::default(),
            rsp_have0: Default::default(),
            responses: Default::default(),
            done_ram: Default::default(),
            wout: Default::default(),
            c_status: Default::default(),
            ck_end: Default::default(),
            ck_limit: Default::default(),
            ck_base_ok: Default::default(),
            ck_unres: Default::default(),
            ck_long1: Default::default(),
            ck_window_ok: Default::default(),
            ck_long2: Default::default(),
            beat_ptr: Default::default(),
            beats_left: Default::default(),
            last_beat: Default::default(),
            cmp_valid: Default::default(),
            cmp_queue: Default::default(),
            cmp_done: Default::default(),
            qc_valid: Default::default(),
            qc_queue: Default::default(),
            qc_counter: Default::default(),
            counts_q: Default::default(),
            buf_end: Default::default(),
            wo_addr: Default::default(),
            wo_buflen: Default::default(),
            wo_have: Default::default(),
            in_window: Default::default(),
            ck_diff: Default::default(),
            in_data: Default::default(),
            beat_p1: DFFWithInit::new(1.into()),
            pop_done: Default::default(),
            len_round: Default::default(),
            words: Default::default(),
            rd_addr: Default::default(),
            wb_word: Default::default(),
            can_finish: Default::default(),
            pop_q: Default::default(),
            pop_rsp: Default::default(),
            count_bits: Default::default(),
            reset_pending: Default::default(),
            reset_index: Default::default(),
            cfg_in_range: Default::default(),
            db_write: Default::default(),
            reset_go: Default::default(),
        }
    }
}

impl Logic for RxEngine {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, records, decisions, paired, inflight, responses);
        dff_setup!(
            self, clock, acc, byte_idx, wr_ptr, commit_ptr, rd_ptr, in_len, in_ovf, in_seq, stored, commit_q, read_q, ovf_q,
            dec_seq, issue, b_entry, b_head, pipe_count, rsp_word0, rsp_have0, wout, c_status, ck_end, ck_limit, ck_base_ok, ck_unres, ck_long1, ck_window_ok, ck_long2, beat_ptr,
            beats_left, cmp_valid, cmp_queue, cmp_done, qc_valid, qc_queue, qc_counter, counts_q,
            reset_pending, reset_index, r_cfg, r_head, r_tail, r_pf, pf, pf_q, pf_rr, pf_hint, pf_hint_valid, pf_from_hint, pf_addr, pf_idx,
            pf_req_up, pf_word0, pf_have0, buf_full, stored_full, pair_ph, p_ok, p_rec, p_eq, p_old, ram_addr_q, b_pop, s_cached, s_rd,
            s_drop, pf_send, in_data, pop_done, last_beat, c_heq, c_hit, c_en, c_pfv, c_lost, c_range, fr_we, fr_wa, fr_wd, pop_q, pop_rsp
        );
        self.beat_p1.clock.next = self.clock.val();
        self.beat_p1.d.next = self.beat_p1.q.val();
        self.rd_m1.clock.next = self.clock.val();
        self.rd_m1.d.next = self.rd_m1.q.val();
        self.wr_p1.clock.next = self.clock.val();
        self.wr_p1.d.next = self.wr_p1.q.val();
        self.commit_p1.clock.next = self.clock.val();
        self.commit_p1.d.next = self.commit_p1.q.val();
        self.pf_ram.read_clock.next = self.clock.val();
        self.pf_ram.write_clock.next = self.clock.val();
        self.frame_ram.read_clock.next = self.clock.val();
        self.frame_ram.write_clock.next = self.clock.val();
        self.cfg_ram.read_clock.next = self.clock.val();
        self.cfg_ram.write_clock.next = self.clock.val();
        self.head_ram.read_clock.next = self.clock.val();
        self.head_ram.write_clock.next = self.clock.val();
        self.tail_ram.read_clock.next = self.clock.val();
        self.tail_ram.write_clock.next = self.clock.val();
        self.done_ram.read_clock.next = self.clock.val();
        self.done_ram.write_clock.next = self.clock.val();
        self.counts.next = self.counts_q.q.val();
        self.cfg_busy.next = self.reset_pending.q.val();

        // Intake: a MAC cannot wait, so what does not fit is dropped at the
        // frame's end. Bytes gather into a word written when it is full or
        // the frame ends; bytes past the frame's end stay zero.
        self.frames_in.ready.next = true;
        self.kept_beat.next = self.frames_in.valid.val() & self.keep.val();
        self.frame_end.next = self.frames_in.valid.val() & self.frames_in.last.val();
        self.shift.next = bit_cast::<6, 3>(self.byte_idx.q.val()) << 3;
        self.word.next = self.acc.q.val() | (bit_cast::<64, 8>(self.frames_in.data.val()) << self.shift.val());
        self.word_done.next = (self.byte_idx.q.val() == 7) | self.frames_in.last.val();
        // `wr_p1`/`commit_p1` shadow the pointers plus one, so that no
        // adder sits in front of the full compare.
        self.wr_p2.next = self.wr_p1.q.val() + 1;
        self.wr_adv.next = false;
        // The word is written a cycle later, from registers: write-out
        // reads a frame's words long after its commit, and the RAM's
        // read-during-write check then compares against registers only.
        self.fr_wa.d.next = self.wr_ptr.q.val();
        self.fr_wd.d.next = self.word.val();
        self.fr_we.d.next = false;
        self.frame_ram.write_address.next = self.fr_wa.q.val();
        self.frame_ram.write_data.next = self.fr_wd.q.val();
        self.frame_ram.write_enable.next = self.fr_we.q.val();
        self.commit.next = false;
        self.overflow_drop.next = false;
        if self.kept_beat.val() {
            self.in_len.d.next = self.in_len.q.val() + 1;
            self.acc.d.next = self.word.val();
            self.byte_idx.d.next = self.byte_idx.q.val() + 1;
            if self.word_done.val() {
                self.acc.d.next = 0.into();
                self.byte_idx.d.next = 0.into();
                if !self.buf_full.q.val() & !self.in_ovf.q.val() {
                    self.wr_adv.next = true;
                    self.fr_we.d.next = true;
                    self.wr_ptr.d.next = self.wr_p1.q.val();
                    self.wr_p1.d.next = self.wr_p2.val();
                } else {
                    self.in_ovf.d.next = true;
                }
            }
        }
        if self.frame_end.val() {
            self.in_seq.d.next = self.in_seq.q.val() + 1;
            self.in_len.d.next = 0.into();
            self.in_ovf.d.next = false;
            self.acc.d.next = 0.into();
            self.byte_idx.d.next = 0.into();
            self.wr_ptr.d.next = self.commit_ptr.q.val();
            self.wr_p1.d.next = self.commit_p1.q.val();
            if self.kept_beat.val() & !self.frames_in.error.val() {
                // The last word goes in this cycle unless the buffer is full.
                if self.buf_full.q.val() | self.in_ovf.q.val() | self.stored_full.q.val() {
                    self.overflow_drop.next = true;
                } else {
                    self.commit.next = true;
                    self.wr_ptr.d.next = self.wr_p1.q.val();
                    self.commit_ptr.d.next = self.wr_p1.q.val();
                    self.wr_p1.d.next = self.wr_p2.val();
                    self.commit_p1.d.next = self.wr_p2.val();
                }
            }
        }
        // Where `wr_p1` goes next, compared in parallel with the read
        // pointer; the decision above only selects.
        self.full_p1.next = self.wr_p1.q.val() == self.rd_ptr.q.val();
        self.full_p2.next = self.wr_p1.q.val() == self.rd_m1.q.val();
        self.full_c1.next = self.commit_p1.q.val() == self.rd_ptr.q.val();
        self.buf_full.d.next = self.full_p1.val();
        if self.frame_end.val() {
            self.buf_full.d.next = self.full_c1.val();
            if self.commit.val() {
                self.buf_full.d.next = self.full_p2.val();
            }
        } else if self.wr_adv.val() {
            self.buf_full.d.next = self.full_p2.val();
        }
        self.records.write.next = self.commit.val();
        self.records.data_in.next.seq = self.in_seq.q.val();
        self.records.data_in.next.len = self.in_len.q.val() + 1;

        // Pairing: one step per cycle, never stalled (the paired FIFO holds
        // every stored frame), so decisions never pile up.
        self.decisions.write.next = self.decision.valid.val();
        self.decisions.data_in.next.seq = self.dec_seq.q.val();
        self.decisions.data_in.next.queue = self.decision.queue.val();
        self.decisions.data_in.next.reason = self.decision.reason.val();
        self.decisions.data_in.next.kind = self.decision.kind.val();
        self.decisions.data_in.next.filter_id = self.decision.filter_id.val();
        if self.decision.valid.val() {
            self.dec_seq.d.next = self.dec_seq.q.val() + 1;
        }
        // The sign of the difference says which is older; equality is
        // compared beside it rather than after it.
        self.seq_gap.next = self.records.data_out.val().seq - self.decisions.data_out.val().seq;
        self.seq_eq.next = self.records.data_out.val().seq == self.decisions.data_out.val().seq;
        self.paired.data_in.next.lost = self.p_old.q.val();
        self.paired.data_in.next.len = self.records.data_out.val().len;
        self.paired.data_in.next.queue = self.decisions.data_out.val().queue;
        self.paired.data_in.next.reason = self.decisions.data_out.val().reason;
        self.paired.data_in.next.kind = self.decisions.data_out.val().kind;
        self.paired.data_in.next.filter_id = self.decisions.data_out.val().filter_id;
        // Phase 0 decides from the heads, phase 1 pops them: only pairing
        // pops these FIFOs (and fills `paired`), so the heads and the room
        // it saw hold still; a record that appears meanwhile is seen at the
        // next step, as a decision a cycle earlier would have seen it.
        self.pair_ph.d.next = !self.pair_ph.q.val();
        self.p_ok.d.next = !self.pair_ph.q.val() & !self.decisions.empty.val() & !self.paired.full.val();
        self.p_rec.d.next = !self.records.empty.val();
        self.p_eq.d.next = self.seq_eq.val();
        self.p_old.d.next = self.seq_gap.val().get_bit(15) & !self.seq_eq.val();
        self.p_dec_rd.next = false;
        self.p_rec_rd.next = false;
        if self.p_ok.q.val() {
            if !self.p_rec.q.val() | (!self.p_old.q.val() & !self.p_eq.q.val()) {
                // The oldest stored frame is newer: this decision's frame
                // was not stored.
                self.p_dec_rd.next = true;
            } else if self.p_eq.q.val() {
                self.p_dec_rd.next = true;
                self.p_rec_rd.next = true;
            } else {
                // The oldest stored frame is older than every decision
                // still to come: drop it (`lost`), keep the decision for
                // the next.
                self.p_rec_rd.next = true;
            }
        }
        self.decisions.read.next = self.p_dec_rd.val();
        self.records.read.next = self.p_rec_rd.val();
        self.paired.write.next = self.p_rec_rd.val();

        // Descriptor issue: Idle registers the queue RAMs' address, Addr
        // reads them, Lookup registers their data, Decide latches the entry
        // (so a doorbell or commit landing meanwhile cannot change a
        // request already raised) and pops the paired frame, Classify
        // decides from the registered compares, Send pushes
        // the frame on and, for a descriptor, holds the read request until
        // it is taken. Nothing starts while a ring reset is pending.
        // The RAMs' read ports serve the prefetcher in every cycle issue
        // does not start a lookup (it reads them only after Idle).
        self.b_index.next = self.paired.data_out.val().queue.get_bits::<QUEUE_COUNT_LOG2>(0);
        self.issue_start.next = (self.issue.q.val() == Issue::Idle)
            & !self.paired.empty.val()
            & !self.reset_pending.q.val()
            & !self.inflight.full.val();
        self.ram_addr.next = self.pf_q.q.val();
        if self.issue_start.val() {
            self.ram_addr.next = self.b_index.val();
        }
        self.ram_addr_q.d.next = self.ram_addr.val();
        self.cfg_ram.read_address.next = self.ram_addr_q.q.val();
        self.head_ram.read_address.next = self.ram_addr_q.q.val();
        self.tail_ram.read_address.next = self.ram_addr_q.q.val();
        self.pf_ram.read_address.next = self.ram_addr_q.q.val();
        self.r_cfg.d.next = self.cfg_ram.read_data.val();
        self.r_head.d.next = self.head_ram.read_data.val();
        self.r_tail.d.next = self.tail_ram.read_data.val();
        self.r_pf.d.next = self.pf_ram.read_data.val();
        self.pf_hit.next = self.r_pf.q.val().valid & (self.r_pf.q.val().idx == self.r_head.q.val());
        self.c_heq.d.next = self.r_head.q.val() == self.r_tail.q.val();
        self.c_hit.d.next = self.pf_hit.val();
        self.c_en.d.next = self.r_cfg.q.val().enable;
        self.c_pfv.d.next = self.r_pf.q.val().valid;
        // `s_rd` is 1 exactly while Send holds a descriptor read.
        self.issue_rd.next = self.s_rd.q.val();
        // A raised prefetch request (`pf_req_up`, only in Send) keeps the
        // port; otherwise a descriptor read goes first.
        self.pf_port.next = self.pf_req_up.q.val() | (self.pf_send.q.val() & !self.issue_rd.val());
        // The ring's index mask, `(1 << rx_log2) - 1`, as the complement of
        // a shifted constant: one LUT a bit, no carry chain.
        self.b_mask.next = !((!bit_cast::<16, 1>(false.into())) << self.r_cfg.q.val().rx_log2);
        self.b_slot.next = self.r_head.q.val() & self.b_mask.val();
        self.b_push.next = false;
        self.inflight.data_in.next = self.b_entry.q.val();
        self.head_ram.write_address.next = self.b_entry.q.val().queue.get_bits::<QUEUE_COUNT_LOG2>(0);
        self.head_ram.write_data.next = self.b_head.q.val() + 1;
        self.head_ram.write_enable.next = false;
        self.dma.rd_req_valid.next = self.issue_rd.val() | self.pf_port.val();
        self.dma.rd_req_addr.next = self.b_entry.q.val().desc_addr;
        self.dma.rd_req_len.next = 16.into();
        self.dma.rd_req_tag.next = 0.into();
        if self.pf_port.val() {
            self.dma.rd_req_addr.next = self.pf_addr.q.val();
            self.dma.rd_req_tag.next = 1.into();
        }
        self.pf_req_up.d.next = self.pf_port.val() & !self.dma.rd_req_ready.val();
        self.b_pop.d.next = self.issue.q.val() == Issue::Lookup;
        self.paired.read.next = self.b_pop.q.val();
        match self.issue.q.val() {
            Issue::Idle => {
                // The inflight FIFO only fills from here, so room now is
                // room at Send.
                if self.issue_start.val() {
                    self.issue.d.next = Issue::Addr;
                }
            }
            Issue::Addr => {
                self.issue.d.next = Issue::Lookup;
            }
            Issue::Lookup => {
                self.issue.d.next = Issue::Decide;
            }
            Issue::Decide => {
                self.b_head.d.next = self.r_head.q.val();
                self.b_entry.d.next.len = self.paired.data_out.val().len;
                self.b_entry.d.next.queue = self.paired.data_out.val().queue;
                self.b_entry.d.next.reason = self.paired.data_out.val().reason;
                self.b_entry.d.next.kind = self.paired.data_out.val().kind;
                self.b_entry.d.next.filter_id = self.paired.data_out.val().filter_id;
                self.b_entry.d.next.desc_addr =
                    self.r_cfg.q.val().rx_ring + (bit_cast::<64, 16>(self.b_slot.val()) << 4);
                self.b_entry.d.next.unrestricted = self.r_cfg.q.val().unrestricted;
                self.b_entry.d.next.win_base = self.r_cfg.q.val().win_base;
                self.b_entry.d.next.win_limit = self.r_cfg.q.val().win_limit;
                self.b_entry.d.next.pre_addr = self.r_pf.q.val().addr;
                self.b_entry.d.next.pre_buflen = self.r_pf.q.val().buflen;
                self.c_lost.d.next = self.paired.data_out.val().lost;
                self.c_range.d.next = self.paired.data_out.val().queue >= self.queue_count.val();
                self.issue.d.next = Issue::Classify;
            }
            Issue::Classify => {
                self.b_entry.d.next.cached = self.c_hit.q.val();
                self.s_drop.d.next = true;
                if self.c_lost.q.val() {
                    self.b_entry.d.next.action = 3.into();
                } else if self.c_range.q.val() | !self.c_en.q.val() {
                    self.b_entry.d.next.action = 1.into();
                } else if self.c_heq.q.val() {
                    self.b_entry.d.next.action = 2.into();
                } else {
                    self.b_entry.d.next.action = 0.into();
                    self.s_drop.d.next = false;
                    if self.c_hit.q.val() {
                        self.s_cached.d.next = true;
                    } else {
                        self.s_rd.d.next = true;
                    }
                }
                self.issue.d.next = Issue::Send;
            }
            Issue::Send => {}
        }
        // Send, from its one-hot flags: while `s_rd` is up the prefetcher
        // has the port only with its request already raised.
        if self.s_cached.q.val() | (self.s_rd.q.val() & self.dma.rd_req_ready.val() & !self.pf_req_up.q.val()) {
            self.b_push.next = true;
            self.head_ram.write_enable.next = true;
        }
        if self.s_drop.q.val() {
            self.b_push.next = true;
        }
        if self.b_push.val() {
            self.issue.d.next = Issue::Idle;
            self.s_cached.d.next = false;
            self.s_rd.d.next = false;
            self.s_drop.d.next = false;
        }
        self.inflight.write.next = self.b_push.val();

        // Prefetch: one read at a time, into a one-entry cache per queue,
        // only for a posted slot (head != tail). The head and tail it sees
        // may be a cycle old, which only makes it read an index already
        // taken (never used: the head has moved past it) or skip one.
        // While a commit's reset is pending it starts nothing, and the
        // reset waits for its read to land, then empties that queue's entry.
        self.pf_want.next = (bit_cast::<QUEUE_BITS, QUEUE_COUNT_LOG2>(self.pf_q.q.val()) < self.queue_count.val())
            & self.c_en.q.val()
            & !self.c_heq.q.val()
            & !self.c_hit.q.val()
            & !self.reset_pending.q.val();
        self.pf_advance.next = false;
        self.pf_ram.write_address.next = self.pf_q.q.val();
        self.pf_ram.write_data.next.valid = false;
        self.pf_ram.write_data.next.idx = self.pf_idx.q.val();
        self.pf_ram.write_data.next.addr = self.pf_word0.q.val();
        self.pf_ram.write_data.next.buflen = self.dma.rd_rsp_data.val().get_bits::<16>(0);
        self.pf_ram.write_enable.next = false;
        match self.pf.q.val() {
            Prefetch::Scan => {
                if !self.issue_start.val() & !self.reset_pending.q.val() {
                    self.pf.d.next = Prefetch::Addr;
                }
            }
            Prefetch::Addr => {
                self.pf.d.next = Prefetch::Check;
            }
            Prefetch::Check => {
                self.pf.d.next = Prefetch::Decide;
            }
            Prefetch::Decide => {
                self.pf_idx.d.next = self.r_head.q.val();
                self.pf_addr.d.next =
                    self.r_cfg.q.val().rx_ring + (bit_cast::<64, 16>(self.b_slot.val()) << 4);
                self.pf.d.next = Prefetch::Act;
            }
            Prefetch::Act => {
                if self.pf_want.val() {
                    self.pf.d.next = Prefetch::Send;
                    self.pf_send.d.next = true;
                } else {
                    // An entry left behind by a head that moved on is
                    // cleared, so it cannot match again once the 16-bit
                    // head comes round.
                    self.pf_ram.write_enable.next = self.c_pfv.q.val() & !self.c_hit.q.val();
                    self.pf_advance.next = true;
                    self.pf.d.next = Prefetch::Scan;
                }
            }
            Prefetch::Send => {
                if self.pf_port.val() & self.dma.rd_req_ready.val() {
                    self.pf.d.next = Prefetch::Wait;
                    self.pf_send.d.next = false;
                }
            }
            Prefetch::Wait => {}
        }

        // Descriptor responses: two beats, address then length. A short
        // response (never seen) yields length 0, so its frame is TooLong.
        // Tag 1 is the prefetch read, tag 0 the reads frames wait for.
        self.dma.rd_rsp_ready.next = true;
        self.responses.write.next = false;
        self.responses.data_in.next.addr = self.rsp_word0.q.val();
        self.responses.data_in.next.buflen = self.dma.rd_rsp_data.val().get_bits::<16>(0);
        if self.dma.rd_rsp_valid.val() & self.dma.rd_rsp_tag.val().get_bit(0) {
            if self.dma.rd_rsp_last.val() {
                self.pf_ram.write_enable.next = true;
                self.pf_ram.write_data.next.valid = true;
                self.pf_have0.d.next = false;
                if !self.pf_have0.q.val() {
                    self.pf_ram.write_data.next.addr = self.dma.rd_rsp_data.val();
                    self.pf_ram.write_data.next.buflen = 0.into();
                }
                self.pf_advance.next = true;
                self.pf.d.next = Prefetch::Scan;
            } else {
                self.pf_word0.d.next = self.dma.rd_rsp_data.val();
                self.pf_have0.d.next = true;
            }
        } else if self.dma.rd_rsp_valid.val() {
            if self.dma.rd_rsp_last.val() {
                self.responses.write.next = true;
                self.rsp_have0.d.next = false;
                if !self.rsp_have0.q.val() {
                    self.responses.data_in.next.addr = self.dma.rd_rsp_data.val();
                    self.responses.data_in.next.buflen = 0.into();
                }
            } else {
                self.rsp_word0.d.next = self.dma.rd_rsp_data.val();
                self.rsp_have0.d.next = true;
            }
        }

        // Write-out, oldest frame first. The window check runs without
        // wrap-around: a buffer running past 2^64 is outside any window.
        self.wo_addr.next = self.responses.data_out.val().addr;
        self.wo_buflen.next = self.responses.data_out.val().buflen;
        self.wo_have.next = !self.responses.empty.val();
        if self.inflight.data_out.val().cached {
            self.wo_addr.next = self.inflight.data_out.val().pre_addr;
            self.wo_buflen.next = self.inflight.data_out.val().pre_buflen;
            self.wo_have.next = true;
        }
        self.buf_end.next = bit_cast::<65, 64>(self.wo_addr.val()) + bit_cast::<65, 16>(self.wo_buflen.val());
        self.ck_end.d.next = self.buf_end.val();
        self.ck_limit.d.next = bit_cast::<65, 64>(self.inflight.data_out.val().win_limit);
        self.ck_base_ok.d.next = self.wo_addr.val() >= self.inflight.data_out.val().win_base;
        self.ck_unres.d.next = self.inflight.data_out.val().unrestricted;
        self.ck_long1.d.next = self.inflight.data_out.val().len > self.wo_buflen.val();
        self.ck_diff.next = bit_cast::<66, 65>(self.ck_limit.q.val()) - bit_cast::<66, 65>(self.ck_end.q.val());
        self.in_window.next = self.ck_unres.q.val() | (self.ck_base_ok.q.val() & !self.ck_diff.val().get_bit(65));
        self.ck_window_ok.d.next = self.in_window.val();
        self.ck_long2.d.next = self.ck_long1.q.val();
        self.len_round.next = self.inflight.data_out.val().len + 7;
        self.words.next = self.len_round.val().get_bits::<WORD_LOG2>(3);
        self.wb_word.next = bit_cast::<64, 16>(self.inflight.data_out.val().len)
            | (bit_cast::<64, QUEUE_BITS>(self.inflight.data_out.val().queue) << 16)
            | (bit_cast::<64, 4>(self.c_status.q.val()) << 28)
            | (bit_cast::<64, 16>(self.inflight.data_out.val().filter_id) << 32)
            | (bit_cast::<64, 4>(self.inflight.data_out.val().reason) << 48)
            | (bit_cast::<64, 3>(self.inflight.data_out.val().kind) << 52)
            | (bit_cast::<64, 1>(true.into()) << 63);
        self.done_ram.read_address.next = self.inflight.data_out.val().queue.get_bits::<QUEUE_COUNT_LOG2>(0);
        self.done_ram.write_address.next = self.cmp_queue.q.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.done_ram.write_data.next = self.cmp_done.q.val();
        self.done_ram.write_enable.next = self.pop_done.q.val();
        self.pop_done.d.next = false;
        // The frame RAM is addressed from `beat_ptr` but in Data, where a
        // taken beat moves on so the next word is there on the next cycle.
        self.rd_addr.next = self.beat_ptr.q.val();
        if self.in_data.q.val() & self.dma.wr_data_ready.val() {
            self.rd_addr.next = self.beat_p1.q.val();
        }
        self.beat_ptr.d.next = self.beat_ptr.q.val();
        self.pop_q.d.next = false;
        self.pop_rsp.d.next = false;
        self.dma.wr_req_valid.next = false;
        self.dma.wr_req_addr.next = self.wo_addr.val();
        self.dma.wr_req_len.next = self.inflight.data_out.val().len;
        self.dma.wr_data_valid.next = false;
        self.dma.wr_data.next = self.frame_ram.read_data.val();
        self.dma.wr_data_last.next = self.last_beat.q.val();
        self.count_bits.next = 0.into();
        // The intake's overflow pulse is counted a cycle late, from a
        // register, so the intake's decision does not reach write-out.
        self.ovf_q.d.next = self.overflow_drop.val();
        if self.ovf_q.q.val() {
            self.count_bits.next = 32.into();
        }
        // The outputs of the previous frame must be gone (or going now);
        // a lost frame waits a cycle if the intake pulses the same bit.
        self.can_finish.next = (!self.cmp_valid.q.val() | self.completion.ready.val())
            & (!self.qc_valid.q.val() | self.qcount.ready.val())
            & !((self.inflight.data_out.val().action == 3) & self.ovf_q.q.val());
        if self.cmp_valid.q.val() & self.completion.ready.val() {
            self.cmp_valid.d.next = false;
        }
        if self.qc_valid.q.val() & self.qcount.ready.val() {
            self.qc_valid.d.next = false;
        }
        match self.wout.q.val() {
            WriteOut::Idle => {
                if !self.inflight.empty.val() {
                    if self.inflight.data_out.val().action != 0 {
                        self.wout.d.next = WriteOut::Finish;
                    } else if self.wo_have.val() {
                        self.wout.d.next = WriteOut::Check1;
                    }
                }
            }
            WriteOut::Check1 => {
                self.wout.d.next = WriteOut::Check2;
            }
            WriteOut::Check2 => {
                if !self.ck_window_ok.q.val() {
                    self.c_status.d.next = 1.into();
                    self.wout.d.next = WriteOut::WbReq;
                } else if self.ck_long2.q.val() {
                    self.c_status.d.next = 2.into();
                    self.wout.d.next = WriteOut::WbReq;
                } else {
                    self.c_status.d.next = 0.into();
                    self.wout.d.next = WriteOut::DataReq;
                }
            }
            WriteOut::DataReq => {
                self.dma.wr_req_valid.next = true;
                self.beats_left.d.next = self.words.val();
                self.last_beat.d.next = self.words.val() == 1;
                if self.dma.wr_req_ready.val() {
                    self.wout.d.next = WriteOut::Data;
                    self.in_data.d.next = true;
                }
            }
            WriteOut::Data => {
                // The RAM shows the word at beat_ptr; moving on addresses
                // the next one so it is there on the next cycle.
                self.dma.wr_data_valid.next = true;
                if self.dma.wr_data_ready.val() {
                    self.beat_ptr.d.next = self.beat_p1.q.val();
                    self.beat_p1.d.next = self.beat_p1.q.val() + 1;
                    self.beats_left.d.next = self.beats_left.q.val() - 1;
                    self.last_beat.d.next = self.beats_left.q.val() == 2;
                    if self.last_beat.q.val() {
                        self.wout.d.next = WriteOut::WbReq;
                        self.in_data.d.next = false;
                    }
                }
            }
            WriteOut::WbReq => {
                self.dma.wr_req_valid.next = true;
                self.dma.wr_req_addr.next = self.inflight.data_out.val().desc_addr + 8;
                self.dma.wr_req_len.next = 8.into();
                if self.dma.wr_req_ready.val() {
                    self.wout.d.next = WriteOut::WbData;
                }
            }
            WriteOut::WbData => {
                self.dma.wr_data_valid.next = true;
                self.dma.wr_data.next = self.wb_word.val();
                self.dma.wr_data_last.next = true;
                if self.dma.wr_data_ready.val() {
                    self.wout.d.next = WriteOut::Finish;
                }
            }
            WriteOut::Finish => {
                if self.can_finish.val() {
                    self.wout.d.next = WriteOut::Pop;
                    self.pop_q.d.next = true;
                    self.rd_ptr.d.next = self.rd_ptr.q.val() + self.words.val();
                    self.rd_m1.d.next = self.rd_m1.q.val() + self.words.val();
                    self.beat_ptr.d.next = self.rd_ptr.q.val() + self.words.val();
                    if self.inflight.data_out.val().action == 0 {
                        self.pop_rsp.d.next = !self.inflight.data_out.val().cached;
                        self.pop_done.d.next = true;
                        self.cmp_valid.d.next = true;
                        self.cmp_queue.d.next = self.inflight.data_out.val().queue;
                        self.cmp_done.d.next = self.done_ram.read_data.val() + 1;
                        self.qc_valid.d.next = true;
                        self.qc_queue.d.next = self.inflight.data_out.val().queue;
                        if self.c_status.q.val() == 0 {
                            self.qc_counter.d.next = 0.into();
                            self.count_bits.next = self.count_bits.val() | 1;
                        } else if self.c_status.q.val() == 1 {
                            self.qc_counter.d.next = 1.into();
                            self.count_bits.next = self.count_bits.val() | 8;
                        } else {
                            self.qc_counter.d.next = 1.into();
                            self.count_bits.next = self.count_bits.val() | 16;
                        }
                    } else if self.inflight.data_out.val().action == 1 {
                        self.count_bits.next = self.count_bits.val() | 2;
                    } else if self.inflight.data_out.val().action == 2 {
                        self.qc_valid.d.next = true;
                        self.qc_queue.d.next = self.inflight.data_out.val().queue;
                        self.qc_counter.d.next = 1.into();
                        self.count_bits.next = self.count_bits.val() | 4;
                    } else {
                        self.count_bits.next = self.count_bits.val() | 32;
                    }
                }
            }
            WriteOut::Pop => {
                // The FIFO heads move on; Idle sees the next frame.
                self.wout.d.next = WriteOut::Idle;
                self.beat_p1.d.next = self.beat_ptr.q.val() + 1;
            }
        }
        self.inflight.read.next = self.pop_q.q.val();
        self.responses.read.next = self.pop_rsp.q.val();
        self.frame_ram.read_address.next = self.rd_addr.val();
        self.counts_q.d.next = self.count_bits.val();
        self.completion.valid.next = self.cmp_valid.q.val();
        self.completion.queue.next = self.cmp_queue.q.val();
        self.completion.is_tx.next = false;
        self.completion.done.next = self.cmp_done.q.val();
        self.qcount.valid.next = self.qc_valid.q.val();
        self.qcount.queue.next = self.qc_queue.q.val();
        self.qcount.counter.next = self.qc_counter.q.val();

        // Occupancy counts: stored frames (bounded for the FIFOs) and
        // frames past issue (zero means no ring index is in use).
        // `stored` follows a cycle late, from registered pulses, so no
        // adder hangs on the intake and write-out decisions.
        self.commit_q.d.next = self.commit.val();
        self.read_q.d.next = self.inflight.read.val();
        self.stored_next.next = self.stored.q.val();
        if self.commit_q.q.val() {
            self.stored_next.next = self.stored_next.val() + 1;
        }
        if self.read_q.q.val() {
            self.stored_next.next = self.stored_next.val() - 1;
        }
        self.stored.d.next = self.stored_next.val();
        // `stored_next` plus this cycle's commit, minus this cycle's pop,
        // is next cycle's count.
        // (Compares on `stored` and the pulses, no adder: `stored_next` is
        // never over 31.)
        self.st_up.next = self.commit_q.q.val() & !self.read_q.q.val();
        self.st_down.next = self.read_q.q.val() & !self.commit_q.q.val();
        self.st_ge31.next = ((self.stored.q.val() == 31) & !self.st_down.val())
            | ((self.stored.q.val() == 30) & self.st_up.val());
        self.st_ge30.next = (self.stored.q.val() == 31)
            | ((self.stored.q.val() == 30) & !self.st_down.val())
            | ((self.stored.q.val() == 29) & self.st_up.val());
        self.stored_full.d.next = self.st_ge31.val() & !self.inflight.read.val();
        if self.commit.val() {
            self.stored_full.d.next = self.st_ge30.val();
            if self.inflight.read.val() {
                self.stored_full.d.next = self.st_ge31.val();
            }
        }
        self.pipe_next.next = self.pipe_count.q.val();
        if self.b_push.val() {
            self.pipe_next.next = self.pipe_next.val() + 1;
        }
        if self.inflight.read.val() {
            self.pipe_next.next = self.pipe_next.val() - 1;
        }
        self.pipe_count.d.next = self.pipe_next.val();

        // Commits and doorbells. A commit zeroes the tail at once (doorbells
        // never come in the same cycle, and the host's next doorbell counts
        // from 0); head and done counts are reset once no frame holds them
        // (issue idle, nothing past it). Until then issue starts nothing.
        self.cfg_in_range.next = self.settings.queue.val() < self.queue_count.val();
        self.db_write.next = self.doorbell.valid.val()
            & (self.doorbell.kind.val() == 0)
            & (self.doorbell.queue.val() < self.queue_count.val());
        self.reset_go.next = self.reset_pending.q.val()
            & (self.issue.q.val() == Issue::Idle)
            & (self.pipe_count.q.val() == 0)
            & (self.pf.q.val() == Prefetch::Scan);
        self.cfg_ram.write_address.next = self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.cfg_ram.write_data.next = self.settings.settings.val();
        self.cfg_ram.write_enable.next = self.settings.write.val() & self.cfg_in_range.val();
        self.tail_ram.write_address.next = self.doorbell.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.tail_ram.write_data.next = self.doorbell.value.val();
        self.tail_ram.write_enable.next = self.db_write.val();
        if self.reset_go.val() {
            self.reset_pending.d.next = false;
            self.head_ram.write_address.next = self.reset_index.q.val();
            self.head_ram.write_data.next = 0.into();
            self.head_ram.write_enable.next = true;
            self.done_ram.write_address.next = self.reset_index.q.val();
            self.done_ram.write_data.next = 0.into();
            self.done_ram.write_enable.next = true;
            self.pf_ram.write_address.next = self.reset_index.q.val();
            self.pf_ram.write_data.next.valid = false;
            self.pf_ram.write_enable.next = true;
        }
        // The next queue the prefetcher checks.
        if self.pf_advance.val() {
            if self.pf_hint_valid.q.val() & !self.pf_from_hint.q.val() {
                self.pf_q.d.next = self.pf_hint.q.val();
                self.pf_hint_valid.d.next = false;
                self.pf_from_hint.d.next = true;
            } else {
                self.pf_q.d.next = self.pf_rr.q.val() + 1;
                self.pf_rr.d.next = self.pf_rr.q.val() + 1;
                self.pf_from_hint.d.next = false;
            }
        }
        if self.b_push.val() & (self.b_entry.q.val().action == 0) {
            self.pf_hint.d.next = self.b_entry.q.val().queue.get_bits::<QUEUE_COUNT_LOG2>(0);
            self.pf_hint_valid.d.next = true;
        }
        if self.db_write.val() {
            self.pf_hint.d.next = self.doorbell.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
            self.pf_hint_valid.d.next = true;
        }
        if self.settings.write.val() & self.cfg_in_range.val() {
            self.tail_ram.write_address.next = self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
            self.tail_ram.write_data.next = 0.into();
            self.tail_ram.write_enable.next = true;
            self.reset_pending.d.next = true;
            self.reset_index.d.next = self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;
    use crate::ports::queue::{QCOUNT_RX_DELIVERED, QCOUNT_RX_DROPPED};
    use crate::queue::{post_word, QueueSettings, Status, WriteBack, DESC_BYTES, DESC_WRITEBACK_OFFSET};
    use std::collections::{HashMap, VecDeque};

    /// Host memory behind the DMA port, served the way the system
    /// testbench does it (`testbench/src/host_memory.rs`): reads answered
    /// in request order after `latency` cycles, one write at a time.
    struct Host {
        mem: HashMap<u64, u8>,
        latency: u64,
        /// (ready at, address, length, bytes sent, tag)
        reads: VecDeque<(u64, u64, u32, u32, u64)>,
        /// (address, length, bytes written)
        write: Option<(u64, u32, u32)>,
        log: Vec<Access>,
        protocol_errors: Vec<String>,
        /// A request seen valid but not taken: it must stay up, unchanged.
        held_rd: Option<(u64, u64)>,
        held_wr: Option<(u64, u64)>,
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Access {
        cycle: u64,
        write: bool,
        addr: u64,
        len: u32,
        tag: u64,
    }

    impl Host {
        fn new(latency: u64) -> Self {
            Host {
                mem: HashMap::new(),
                latency,
                reads: VecDeque::new(),
                write: None,
                log: vec![],
                protocol_errors: vec![],
                held_rd: None,
                held_wr: None,
            }
        }

        fn read(&self, addr: u64, len: usize) -> Vec<u8> {
            (0..len).map(|i| *self.mem.get(&addr.wrapping_add(i as u64)).unwrap_or(&0)).collect()
        }

        fn write_bytes(&mut self, addr: u64, data: &[u8]) {
            for (i, &b) in data.iter().enumerate() {
                self.mem.insert(addr.wrapping_add(i as u64), b);
            }
        }

        fn read_u64(&self, addr: u64) -> u64 {
            u64::from_le_bytes(self.read(addr, 8).try_into().unwrap())
        }

        fn drive(&self, cycle: u64, d: &mut DmaMaster) {
            d.rd_req_ready.next = self.reads.len() < 32;
            d.wr_req_ready.next = self.write.is_none();
            d.wr_data_ready.next = self.write.is_some();
            d.rd_rsp_valid.next = false;
            d.rd_rsp_last.next = false;
            d.rd_rsp_data.next = 0.into();
            d.rd_rsp_tag.next = 0.into();
            if let Some(&(at, addr, len, sent, tag)) = self.reads.front() {
                if at <= cycle {
                    let n = (len - sent).min(8) as usize;
                    let mut beat = [0u8; 8];
                    beat[..n].copy_from_slice(&self.read(addr.wrapping_add(sent as u64), n));
                    d.rd_rsp_valid.next = true;
                    d.rd_rsp_data.next = u64::from_le_bytes(beat).into();
                    d.rd_rsp_last.next = sent + n as u32 == len;
                    d.rd_rsp_tag.next = tag.into();
                }
            }
        }

        fn observe(&mut self, cycle: u64, d: &DmaMaster) {
            if d.rd_rsp_valid.val() {
                if !d.rd_rsp_ready.val() {
                    self.protocol_errors.push(format!("{cycle}: rd_rsp_ready low"));
                }
                let r = self.reads.front_mut().unwrap();
                r.3 = (r.3 + 8).min(r.2);
                if r.3 == r.2 {
                    self.reads.pop_front();
                }
            }
            let rd = (u64::from(d.rd_req_addr.val()), u64::from(d.rd_req_len.val()));
            if self.held_rd.is_some() && self.held_rd != Some(rd).filter(|_| d.rd_req_valid.val()) {
                self.protocol_errors.push(format!("{cycle}: read request changed before it was taken"));
            }
            self.held_rd = None;
            if d.rd_req_valid.val() {
                if d.rd_req_ready.val() {
                    let tag = u64::from(d.rd_req_tag.val());
                    self.log.push(Access { cycle, write: false, addr: rd.0, len: rd.1 as u32, tag });
                    self.reads.push_back((cycle + self.latency, rd.0, rd.1 as u32, 0, tag));
                } else {
                    self.held_rd = Some(rd);
                }
            }
            if d.wr_data_valid.val() && d.wr_data_ready.val() {
                let (addr, len, written) = self.write.unwrap();
                let n = (len - written).min(8) as usize;
                let bytes = u64::from(d.wr_data.val()).to_le_bytes();
                self.write_bytes(addr.wrapping_add(written as u64), &bytes[..n]);
                let done = written + n as u32 == len;
                if done != d.wr_data_last.val() {
                    self.protocol_errors.push(format!("{cycle}: wr_data_last wrong"));
                }
                self.write = if done { None } else { Some((addr, len, written + n as u32)) };
            }
            let wr = (u64::from(d.wr_req_addr.val()), u64::from(d.wr_req_len.val()));
            if self.held_wr.is_some() && self.held_wr != Some(wr).filter(|_| d.wr_req_valid.val()) {
                self.protocol_errors.push(format!("{cycle}: write request changed before it was taken"));
            }
            self.held_wr = None;
            if d.wr_req_valid.val() {
                if d.wr_req_ready.val() {
                    if wr.1 == 0 {
                        self.protocol_errors.push(format!("{cycle}: zero-length write"));
                    }
                    self.log.push(Access { cycle, write: true, addr: wr.0, len: wr.1 as u32, tag: 0 });
                    self.write = Some((wr.0, wr.1 as u32, 0));
                } else {
                    self.held_wr = Some(wr);
                }
            }
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Dec {
        queue: u16,
        reason: u8,
        kind: u8,
        filter_id: u16,
    }

    /// A filter hit on `queue` by filter `id` (kind 1: exact 5-tuple).
    fn hit(queue: u16, id: u16) -> Dec {
        Dec { queue, reason: 0, kind: 1, filter_id: id }
    }

    /// What the host driver model keeps per queue.
    #[derive(Default)]
    struct HostQueue {
        settings: QueueSettings,
        /// Descriptors posted (the producer index) and seen finished.
        tail: u16,
        seen: u16,
        /// Buffers posted and not yet finished, oldest first.
        posted: VecDeque<(u64, u16)>,
        next_buf: u64,
        /// Post a fresh buffer of this length for every finished one.
        repost: Option<u16>,
    }

    /// A finished descriptor as the host driver sees it.
    #[derive(Clone, Debug)]
    struct Delivery {
        queue: u16,
        slot: u64,
        wb: WriteBack,
        addr: u64,
        /// The buffer's first `wb.len` bytes when the status is Ok.
        data: Vec<u8>,
    }

    enum Op {
        Commit(u16, QueueSettings),
        Doorbell(u16, u16),
    }

    fn ring_addr(q: u16) -> u64 {
        0x1_0000_0000 + q as u64 * 0x1_0000
    }

    fn buffer_base(q: u16) -> u64 {
        0x2_0000_0000 + q as u64 * 0x100_0000
    }

    fn settings(q: u16, log2: u8) -> QueueSettings {
        QueueSettings { enable: true, unrestricted: true, rx_ring: ring_addr(q), rx_log2: log2, ..Default::default() }
    }

    fn config(s: &QueueSettings) -> QueueConfig {
        QueueConfig {
            enable: s.enable,
            unrestricted: s.unrestricted,
            rx_ring: s.rx_ring.into(),
            rx_log2: (s.rx_log2 as u64).into(),
            tx_ring: s.tx_ring.into(),
            tx_log2: (s.tx_log2 as u64).into(),
            win_base: s.window_base.into(),
            win_limit: s.window_limit.into(),
            ..Default::default()
        }
    }

    fn payload(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|j| (i as u8).wrapping_mul(37) ^ (j as u8).wrapping_mul(11) ^ (j >> 8) as u8).collect()
    }

    /// (byte, last, error, keep, decision sent when the frame ends)
    type Beat = (u8, bool, bool, bool, Option<Dec>);

    struct Bench {
        h: Harness<RxEngine>,
        host: Host,
        beats: VecDeque<Option<Beat>>,
        decisions: VecDeque<(u64, Dec)>,
        /// Cycles from a frame's last beat to its decision.
        dec_delay: u64,
        last_dec: u64,
        ops: VecDeque<Op>,
        queues: HashMap<u16, HostQueue>,
        completions: Vec<(u16, u16)>,
        deliveries: Vec<Delivery>,
        qcounts: Vec<(u16, u64)>,
        counts: [u64; 6],
        /// Cycle of each frame's last beat, in order.
        frame_ends: Vec<u64>,
        cmp_ready: fn(u64) -> bool,
        busy_cycles: u64,
        /// (cycle, queue, tail) of every doorbell, in order.
        doorbells: Vec<(u64, u16, u16)>,
    }

    impl Bench {
        fn new(latency: u64, dec_delay: u64) -> Self {
            let mut h = Harness::new(RxEngine::new(&NicParams::default()), |e| &mut e.clock);
            h.uut.keep.next = true;
            Bench {
                h,
                host: Host::new(latency),
                beats: VecDeque::new(),
                decisions: VecDeque::new(),
                dec_delay,
                last_dec: 0,
                ops: VecDeque::new(),
                queues: HashMap::new(),
                completions: vec![],
                deliveries: vec![],
                qcounts: vec![],
                counts: [0; 6],
                frame_ends: vec![],
                cmp_ready: |_| true,
                busy_cycles: 0,
                doorbells: vec![],
            }
        }

        /// Commits `s` for queue `q` and waits until its rings are reset.
        fn commit(&mut self, q: u16, s: QueueSettings) {
            self.ops.push_back(Op::Commit(q, s));
            let next_buf = buffer_base(q);
            self.queues.insert(q, HostQueue { settings: s, next_buf, ..Default::default() });
            while !self.ops.is_empty() {
                self.step();
            }
            while self.h.uut.cfg_busy.val() {
                self.run(1);
            }
        }

        /// Posts a buffer of `len` bytes at `addr` on queue `q`.
        fn post_at(&mut self, q: u16, addr: u64, len: u16) {
            let hq = self.queues.get_mut(&q).unwrap();
            let slot = hq.tail as u64 & ((1 << hq.settings.rx_log2) - 1);
            let desc = hq.settings.rx_ring + slot * DESC_BYTES;
            hq.tail = hq.tail.wrapping_add(1);
            hq.posted.push_back((addr, len));
            let tail = hq.tail;
            self.host.write_bytes(desc, &addr.to_le_bytes());
            self.host.write_bytes(desc + DESC_WRITEBACK_OFFSET, &post_word(len).to_le_bytes());
            self.ops.push_back(Op::Doorbell(q, tail));
        }

        /// Posts a buffer from the queue's own area.
        fn post(&mut self, q: u16, len: u16) {
            let hq = self.queues.get_mut(&q).unwrap();
            let addr = hq.next_buf;
            // Odd offsets: the engine must not assume aligned buffers.
            hq.next_buf += 0x800 + 3;
            self.post_at(q, addr, len);
        }

        fn send(&mut self, bytes: &[u8], keep: bool, error: bool, dec: Option<Dec>, gap: usize) {
            for (i, &b) in bytes.iter().enumerate() {
                let last = i + 1 == bytes.len();
                self.beats.push_back(Some((b, last, last && error, keep, if last { dec } else { None })));
            }
            self.beats.extend(std::iter::repeat_n(None, gap));
        }

        fn step(&mut self) {
            let c = self.h.cycles;
            let u = &mut self.h.uut;
            let beat = self.beats.pop_front().flatten();
            u.frames_in.valid.next = beat.is_some();
            if let Some((b, last, error, keep, dec)) = beat {
                u.frames_in.data.next = (b as u64).into();
                u.frames_in.last.next = last;
                u.frames_in.error.next = error;
                u.keep.next = keep;
                if last {
                    self.frame_ends.push(c);
                    if let Some(d) = dec {
                        // The demultiplexer answers in order, one per cycle.
                        let due = (c + self.dec_delay).max(self.last_dec + 1);
                        self.last_dec = due;
                        self.decisions.push_back((due, d));
                    }
                }
            }
            u.decision.valid.next = false;
            if self.decisions.front().is_some_and(|&(due, _)| due <= c) {
                let d = self.decisions.pop_front().unwrap().1;
                u.decision.valid.next = true;
                u.decision.queue.next = (d.queue as u64).into();
                u.decision.reason.next = (d.reason as u64).into();
                u.decision.kind.next = (d.kind as u64).into();
                u.decision.filter_id.next = (d.filter_id as u64).into();
                u.decision.rss.next = 0x1234_5678.into();
            }
            u.settings.write.next = false;
            u.doorbell.valid.next = false;
            match self.ops.pop_front() {
                Some(Op::Commit(q, s)) => {
                    u.settings.write.next = true;
                    u.settings.queue.next = (q as u64).into();
                    u.settings.settings.next = config(&s);
                }
                Some(Op::Doorbell(q, tail)) => {
                    self.doorbells.push((c, q, tail));
                    u.doorbell.valid.next = true;
                    u.doorbell.queue.next = (q as u64).into();
                    u.doorbell.kind.next = 0.into();
                    u.doorbell.value.next = (tail as u64).into();
                }
                None => {}
            }
            self.host.drive(c, &mut u.dma);
            u.completion.ready.next = (self.cmp_ready)(c);
            u.qcount.ready.next = true;
            self.h.settle();
            let u = &self.h.uut;
            assert!(u.frames_in.ready.val(), "frames_in.ready dropped");
            self.host.observe(c, &u.dma);
            if u.cfg_busy.val() {
                self.busy_cycles += 1;
            }
            let counts = u64::from(u.counts.val());
            for (i, n) in self.counts.iter_mut().enumerate() {
                *n += counts >> i & 1;
            }
            if u.qcount.valid.val() && u.qcount.ready.val() {
                self.qcounts.push((u64::from(u.qcount.queue.val()) as u16, u64::from(u.qcount.counter.val())));
            }
            if u.completion.valid.val() && u.completion.ready.val() {
                assert!(!u.completion.is_tx.val());
                let q = u64::from(u.completion.queue.val()) as u16;
                let done = u64::from(u.completion.done.val()) as u16;
                self.completions.push((q, done));
                self.host_completion(q, done);
            }
            self.h.cycle();
        }

        /// The host driver: reads each newly finished descriptor's
        /// write-back, takes the buffer's contents, and re-posts if asked.
        fn host_completion(&mut self, q: u16, done: u16) {
            let Some(hq) = self.queues.get_mut(&q) else { return };
            let mut reposts = 0;
            while hq.seen != done {
                let slot = hq.seen as u64 & ((1 << hq.settings.rx_log2) - 1);
                let word = self.host.read_u64(hq.settings.rx_ring + slot * DESC_BYTES + DESC_WRITEBACK_OFFSET);
                let wb = WriteBack::decode(word).expect("completion before its write-back");
                let (addr, _) = hq.posted.pop_front().expect("completion for a descriptor never posted");
                let data = if wb.status == Status::Ok as u8 { self.host.read(addr, wb.len as usize) } else { vec![] };
                self.deliveries.push(Delivery { queue: q, slot, wb, addr, data });
                hq.seen = hq.seen.wrapping_add(1);
                reposts += 1;
            }
            if let Some(len) = hq.repost {
                for _ in 0..reposts {
                    self.post(q, len);
                }
            }
        }

        fn run(&mut self, cycles: u64) {
            for _ in 0..cycles {
                self.step();
            }
        }

        /// Runs until the stream is sent and nothing has moved for a while.
        fn drain(&mut self) {
            let mut quiet = 0;
            while quiet < 300 {
                let before = (self.host.log.len(), self.completions.len(), self.counts);
                self.step();
                let busy = !self.beats.is_empty() || !self.decisions.is_empty() || !self.ops.is_empty();
                let moved = before != (self.host.log.len(), self.completions.len(), self.counts);
                quiet = if busy || moved { 0 } else { quiet + 1 };
            }
            assert!(self.host.protocol_errors.is_empty(), "{:?}", self.host.protocol_errors);
        }

        fn count(&self, bit: usize) -> u64 {
            self.counts[bit]
        }

        fn qcount(&self, q: u16, counter: u64) -> usize {
            self.qcounts.iter().filter(|&&x| x == (q, counter)).count()
        }

        fn writes_touching(&self, addr: u64, len: u64) -> Vec<Access> {
            let end = addr as u128 + len as u128;
            self.host
                .log
                .iter()
                .filter(|a| a.write && (a.addr as u128) < end && a.addr as u128 + a.len as u128 > addr as u128)
                .copied()
                .collect()
        }
    }

    fn expect_ok(d: &Delivery, q: u16, frame: &[u8], id: u16) {
        assert_eq!(d.queue, q);
        assert_eq!(
            d.wb,
            WriteBack {
                len: frame.len() as u16,
                queue: q,
                status: Status::Ok as u8,
                filter_id: id,
                reason: 0,
                kind: 1
            }
        );
        assert_eq!(d.data, frame, "frame bytes in queue {q}'s buffer at {:#x}", d.addr);
    }

    #[test]
    fn delivers_frames_byte_exact_with_write_backs_and_completions() {
        let mut b = Bench::new(63, 30);
        for q in [1u16, 7, 63] {
            b.commit(q, settings(q, 4));
            for _ in 0..6 {
                b.post(q, 2048);
            }
        }
        let lens = [14usize, 60, 64, 65, 1522, 7, 8, 9, 200, 1, 1000, 15, 16, 17, 99];
        let queues = [1u16, 7, 63];
        let mut sent = vec![];
        for (i, &len) in lens.iter().enumerate() {
            let q = queues[i % 3];
            let f = payload(i, len);
            b.send(&f, true, false, Some(Dec { queue: q, reason: 0, kind: 1, filter_id: 100 + i as u16 }), 12);
            sent.push((q, f, 100 + i as u16));
        }
        b.drain();
        assert_eq!(b.deliveries.len(), lens.len());
        for q in queues {
            let mine: Vec<&(u16, Vec<u8>, u16)> = sent.iter().filter(|s| s.0 == q).collect();
            let got: Vec<&Delivery> = b.deliveries.iter().filter(|d| d.queue == q).collect();
            assert_eq!(got.len(), mine.len());
            for (i, (d, s)) in got.iter().zip(&mine).enumerate() {
                expect_ok(d, q, &s.1, s.2);
                assert_eq!(d.slot, i as u64);
            }
            // Completions count up by one per descriptor, in ring order.
            let dones: Vec<u16> = b.completions.iter().filter(|c| c.0 == q).map(|c| c.1).collect();
            assert_eq!(dones, (1..=mine.len() as u16).collect::<Vec<_>>());
            assert_eq!(b.qcount(q, QCOUNT_RX_DELIVERED), mine.len());
        }
        // Each data write covers exactly the frame, at the buffer's address.
        for d in &b.deliveries {
            let w = b.writes_touching(d.addr, 2048);
            assert_eq!(w.len(), 1);
            assert_eq!((w[0].addr, w[0].len), (d.addr, d.wb.len as u32));
        }
        assert_eq!(b.count(COUNT_DELIVERED), lens.len() as u64);
        assert_eq!(b.counts.iter().sum::<u64>(), lens.len() as u64);
        assert_eq!(b.qcounts.len(), lens.len());
        // Only descriptor reads, 16 bytes each.
        assert!(b.host.log.iter().filter(|a| !a.write).all(|a| a.len == 16 && a.addr >> 32 == 1));
    }

    #[test]
    fn ring_wraps_with_host_reposting() {
        let mut b = Bench::new(63, 30);
        for q in [2u16, 3] {
            b.commit(q, settings(q, 3));
            b.queues.get_mut(&q).unwrap().repost = Some(256);
            for _ in 0..8 {
                b.post(q, 256);
            }
        }
        let n = 45;
        for i in 0..n {
            let q = if i % 4 == 3 { 3 } else { 2 };
            b.send(&payload(i, 40 + i % 30), true, false, Some(hit(q, i as u16)), 40);
        }
        b.drain();
        assert_eq!(b.deliveries.len(), n);
        let mut per_queue: HashMap<u16, u64> = HashMap::new();
        for d in &b.deliveries {
            let k = per_queue.entry(d.queue).or_default();
            assert_eq!(d.slot, *k % 8, "slots go round the 8-entry ring");
            *k += 1;
            let idx = d.wb.filter_id as usize;
            expect_ok(d, if idx % 4 == 3 { 3 } else { 2 }, &payload(idx, 40 + idx % 30), idx as u16);
        }
        assert_eq!(per_queue[&2], 34);
        assert_eq!(per_queue[&3], 11);
        // Frames of one queue arrive in order.
        for q in [2u16, 3] {
            let ids: Vec<u16> = b.deliveries.iter().filter(|d| d.queue == q).map(|d| d.wb.filter_id).collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(b.count(COUNT_DELIVERED), n as u64);
        assert_eq!(b.counts.iter().sum::<u64>(), n as u64);
    }

    #[test]
    fn no_buffer_drops_are_counted_per_queue_while_another_queue_delivers() {
        let mut b = Bench::new(63, 30);
        b.commit(1, settings(1, 3));
        b.commit(2, settings(2, 3));
        for _ in 0..8 {
            b.post(2, 512);
        }
        for i in 0..8 {
            let q = 1 + (i % 2) as u16;
            b.send(&payload(i, 64), true, false, Some(hit(q, i as u16)), 20);
        }
        b.drain();
        assert_eq!(b.count(COUNT_DROP_NO_BUFFER), 4);
        assert_eq!(b.qcount(1, QCOUNT_RX_DROPPED), 4);
        assert_eq!(b.qcount(1, QCOUNT_RX_DELIVERED), 0);
        assert_eq!(b.qcount(2, QCOUNT_RX_DELIVERED), 4);
        assert_eq!(b.count(COUNT_DELIVERED), 4);
        assert!(b.deliveries.iter().all(|d| d.queue == 2));
        assert!(b.completions.iter().all(|c| c.0 == 2), "a dropped frame completes nothing");
        // A buffer posted now takes the next frame, in slot 0: drops did
        // not move the ring.
        b.post(1, 512);
        b.send(&payload(99, 80), true, false, Some(hit(1, 99)), 20);
        b.drain();
        let d = b.deliveries.last().unwrap();
        expect_ok(d, 1, &payload(99, 80), 99);
        assert_eq!(d.slot, 0);
        assert_eq!(b.completions.last(), Some(&(1, 1)));
    }

    #[test]
    fn disabled_and_out_of_range_queues_drop_without_dma() {
        let mut b = Bench::new(63, 30);
        b.commit(3, QueueSettings { enable: false, ..settings(3, 3) });
        for _ in 0..4 {
            b.post(3, 512);
        }
        b.host.log.clear();
        // Queue 3 disabled, 5 never configured, 64 and 4095 beyond the count.
        for (i, q) in [3u16, 5, 64, 4095, 3].into_iter().enumerate() {
            b.send(&payload(i, 64), true, false, Some(hit(q, i as u16)), 20);
        }
        b.drain();
        assert_eq!(b.count(COUNT_DROP_DISABLED), 5);
        assert_eq!(b.counts.iter().sum::<u64>(), 5);
        assert!(b.qcounts.is_empty() && b.completions.is_empty());
        assert!(b.host.log.is_empty(), "no DMA at all: {:?}", b.host.log);
    }

    #[test]
    fn window_violations_issue_no_buffer_write() {
        let mut b = Bench::new(63, 30);
        let (base, limit) = (0x5000_0000u64, 0x5001_0000u64);
        let restricted = |q: u16, base: u64, limit: u64| QueueSettings {
            unrestricted: false,
            window_base: base,
            window_limit: limit,
            ..settings(q, 4)
        };
        b.commit(1, restricted(1, base, limit));
        // A window at the very top of the address space.
        let top = 0xFFFF_FFFF_FFFF_0000u64;
        b.commit(2, restricted(2, top, u64::MAX));
        // Unrestricted, with the same window set: not checked.
        b.commit(4, QueueSettings { window_base: base, window_limit: limit, ..settings(4, 4) });
        // (queue, buffer address, buffer length, expected status)
        let cases = [
            (1u16, base + 0x1000, 2048u16, Status::Ok),
            (1, limit - 0x100, 0x200, Status::Window), // runs past the end
            (1, base - 0x40, 0x100, Status::Window),   // starts below the base
            (1, 0x1000, 0x100, Status::Window),        // wholly outside
            (1, limit - 64, 64, Status::Ok),           // ends exactly at the limit
            (2, top + 0x100, 0x100, Status::Ok),
            (2, u64::MAX - 0x7F, 0x100, Status::Window), // wraps past 2^64
            (2, u64::MAX - 63, 64, Status::Window),      // ends at 2^64 > limit
            (4, 0x9000, 0x100, Status::Ok),
        ];
        for &(q, addr, len, _) in &cases {
            b.post_at(q, addr, len);
        }
        for (i, &(q, ..)) in cases.iter().enumerate() {
            b.send(&payload(i, 64), true, false, Some(hit(q, i as u16)), 20);
        }
        b.drain();
        assert_eq!(b.deliveries.len(), cases.len());
        for (i, &(q, addr, _, status)) in cases.iter().enumerate() {
            let d = b.deliveries.iter().find(|d| d.wb.filter_id == i as u16).unwrap();
            assert_eq!((d.queue, d.addr), (q, addr));
            assert_eq!(d.wb.status, status as u8, "case {i}");
            assert_eq!(d.wb.len, 64, "the write-back reports the frame's length");
            if status == Status::Ok {
                expect_ok(d, q, &payload(i, 64), i as u16);
            } else {
                assert!(b.host.read(addr, 64).iter().all(|&x| x == 0), "case {i}: buffer written");
            }
        }
        // Every write is a delivered buffer, exactly, or a write-back.
        for a in b.host.log.iter().filter(|a| a.write) {
            let ok_buffer = cases.iter().any(|c| c.3 == Status::Ok && (c.1, 64) == (a.addr, a.len));
            let write_back = a.len == 8 && a.addr >> 32 == 1 && a.addr % 16 == 8;
            assert!(ok_buffer || write_back, "DMA write outside the window: {a:?}");
        }
        assert_eq!(b.count(COUNT_DROP_WINDOW), 5);
        assert_eq!(b.count(COUNT_DELIVERED), 4);
        assert_eq!(b.counts.iter().sum::<u64>(), 9);
        assert_eq!(b.qcount(1, QCOUNT_RX_DROPPED), 3);
        assert_eq!(b.qcount(2, QCOUNT_RX_DROPPED), 2);
        assert_eq!(b.qcount(1, QCOUNT_RX_DELIVERED), 2);
        assert_eq!(b.qcount(4, QCOUNT_RX_DELIVERED), 1);
        let writes = b.host.log.iter().filter(|a| a.write).count();
        assert_eq!(writes, 4 + cases.len());
    }

    #[test]
    fn too_long_frames_are_not_written() {
        let mut b = Bench::new(63, 30);
        b.commit(6, settings(6, 3));
        let cases = [
            (64usize, 63u16, Status::TooLong),
            (64, 64, Status::Ok),
            (101, 100, Status::TooLong),
            (14, 0, Status::TooLong),
            (1522, 1522, Status::Ok),
        ];
        for &(_, buflen, _) in &cases {
            b.post(6, buflen);
        }
        for (i, &(len, ..)) in cases.iter().enumerate() {
            b.send(&payload(i, len), true, false, Some(hit(6, i as u16)), 20);
        }
        b.drain();
        for (i, (&(len, buflen, status), d)) in cases.iter().zip(&b.deliveries).enumerate() {
            assert_eq!(d.wb.status, status as u8);
            assert_eq!(d.wb.len as usize, len);
            assert_eq!(d.slot, i as u64);
            let touched = b.writes_touching(d.addr, buflen.max(1) as u64);
            if status == Status::Ok {
                expect_ok(d, 6, &payload(i, len), i as u16);
            } else {
                assert!(touched.is_empty());
            }
        }
        assert_eq!(b.count(COUNT_DROP_TOO_LONG), 3);
        assert_eq!(b.qcount(6, QCOUNT_RX_DROPPED), 3);
        assert_eq!(b.qcount(6, QCOUNT_RX_DELIVERED), 2);
        assert_eq!(b.completions.iter().map(|c| c.1).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    }

    /// Error frames and frames the loopback took get decisions too; the
    /// frames stored must still get their own.
    fn error_and_loopback_frames(dec_delay: u64) {
        let mut b = Bench::new(63, dec_delay);
        b.commit(1, settings(1, 4));
        b.commit(2, settings(2, 4));
        for _ in 0..8 {
            b.post(1, 2048);
            b.post(2, 2048);
        }
        // (length, keep, error, queue)
        let frames = [
            (64, true, false, 1u16),
            (64, true, true, 1),
            (70, false, false, 1),
            (90, true, false, 2),
            (30, false, true, 2),
            (5, true, true, 1),
            (1500, true, true, 2),
            (61, true, false, 1),
            (62, false, false, 2),
            (63, true, false, 2),
            (14, true, false, 1),
        ];
        for (i, &(len, keep, error, q)) in frames.iter().enumerate() {
            b.send(&payload(i, len), keep, error, Some(hit(q, i as u16)), 16);
        }
        b.drain();
        let good: Vec<usize> = (0..frames.len()).filter(|&i| frames[i].1 && !frames[i].2).collect();
        assert_eq!(b.deliveries.len(), good.len());
        for &i in &good {
            let d = b.deliveries.iter().find(|d| d.wb.filter_id == i as u16).expect("good frame delivered");
            expect_ok(d, frames[i].3, &payload(i, frames[i].0), i as u16);
        }
        assert_eq!(b.counts.iter().sum::<u64>(), good.len() as u64, "nothing else is counted here");
    }

    #[test]
    fn error_and_loopback_frames_keep_decisions_paired() {
        // As fast as the demultiplexer can answer, and as slow as a full lookup.
        error_and_loopback_frames(2);
        error_and_loopback_frames(45);
    }

    #[test]
    fn a_decision_before_its_frame_ends_drops_only_that_frame() {
        // The demultiplexer never does this; if it did, the frame finds no
        // decision left for it and is dropped when the next one comes.
        let mut b = Bench::new(63, 30);
        b.commit(1, settings(1, 4));
        for _ in 0..4 {
            b.post(1, 2048);
        }
        b.run(20);
        let now = b.h.cycles;
        b.send(&payload(0, 64), true, false, None, 30);
        b.decisions.push_back((now + 10, hit(1, 0)));
        b.last_dec = now + 10;
        b.send(&payload(1, 64), true, false, Some(hit(1, 1)), 30);
        b.send(&payload(2, 64), true, false, Some(hit(1, 2)), 30);
        b.drain();
        let ids: Vec<u16> = b.deliveries.iter().map(|d| d.wb.filter_id).collect();
        assert_eq!(ids, vec![1, 2]);
        expect_ok(&b.deliveries[0], 1, &payload(1, 64), 1);
        expect_ok(&b.deliveries[1], 1, &payload(2, 64), 2);
        assert_eq!(b.count(COUNT_DROP_OVERFLOW), 1);
        assert_eq!(b.counts.iter().sum::<u64>(), 3);
    }

    #[test]
    fn line_rate_64_byte_frames_over_16_queues_with_63_cycle_reads() {
        let mut b = Bench::new(63, 40);
        for q in 0..16u16 {
            b.commit(q, settings(q, 4));
            b.queues.get_mut(&q).unwrap().repost = Some(2048);
            for _ in 0..16 {
                b.post(q, 2048);
            }
        }
        b.run(100);
        let n = 240;
        let start = b.frame_ends.len();
        for i in 0..n {
            b.send(&payload(i, 64), true, false, Some(hit((i * 7 % 16) as u16, i as u16)), 20);
        }
        b.drain();
        assert_eq!(b.counts[1..].iter().sum::<u64>(), 0, "drops: {:?}", b.counts);
        assert_eq!(b.count(COUNT_DELIVERED), n as u64);
        assert_eq!(b.deliveries.len(), n);
        for d in &b.deliveries {
            let i = d.wb.filter_id as usize;
            expect_ok(d, (i * 7 % 16) as u16, &payload(i, 64), i as u16);
        }
        // Latency from a frame's last byte to its write-back request.
        let wbs: Vec<u64> =
            b.host.log.iter().filter(|a| a.write && a.len == 8 && a.addr >> 32 == 1).map(|a| a.cycle).collect();
        assert_eq!(wbs.len(), n);
        let lat: Vec<u64> = wbs.iter().zip(&b.frame_ends[start..]).map(|(w, e)| w - e).collect();
        let (min, max) = (lat.iter().min().unwrap(), lat.iter().max().unwrap());
        eprintln!("last byte to write-back request: {min}..{max} cycles (decision after 40, reads 63)");
        // 40 + 6 to the read, 63 + 1 to its last beat, 3 to the frame's
        // write, 8 beats + 1 to the write-back: no frame waited for another.
        assert!(*max <= 40 + 6 + 63 + 1 + 3 + 9, "latency {max}");
    }

    #[test]
    fn shortest_frames_at_line_rate_keep_several_reads_in_flight() {
        // 14-byte frames every 34 cycles: a frame finishes ~80 cycles
        // after its decision, so only overlapping frames keep up.
        let mut b = Bench::new(63, 30);
        for q in 0..16u16 {
            b.commit(q, settings(q, 4));
            b.queues.get_mut(&q).unwrap().repost = Some(2048);
            for _ in 0..16 {
                b.post(q, 2048);
            }
        }
        b.run(100);
        let n = 300;
        for i in 0..n {
            b.send(&payload(i, 14), true, false, Some(hit((i % 16) as u16, i as u16)), 20);
        }
        b.drain();
        assert_eq!(b.counts[1..].iter().sum::<u64>(), 0, "drops: {:?}", b.counts);
        assert_eq!(b.deliveries.len(), n);
        for d in &b.deliveries {
            let i = d.wb.filter_id as usize;
            expect_ok(d, (i % 16) as u16, &payload(i, 14), i as u16);
        }
        let reads: Vec<u64> = b.host.log.iter().filter(|a| !a.write).map(|a| a.cycle).collect();
        let most = reads.iter().map(|&c| reads.iter().filter(|&&r| r >= c && r < c + 63).count()).max();
        assert!(most >= Some(2), "reads never overlapped: {most:?}");
    }

    #[test]
    fn stored_frame_and_buffer_limits_drop_whole_frames_and_recover() {
        let mut b = Bench::new(63, 30);
        b.commit(1, settings(1, 6));
        for _ in 0..64 {
            b.post(1, 2048);
        }
        // The host stops taking completions: the first frame finishes,
        // the rest wait, and only 31 more can be held.
        b.cmp_ready = |_| false;
        for i in 0..40 {
            b.send(&payload(i, 20), true, false, Some(hit(1, i as u16)), 20);
        }
        b.run(40 * 40 + 400);
        assert_eq!(b.count(COUNT_DROP_OVERFLOW), 8);
        b.cmp_ready = |_| true;
        b.drain();
        assert_eq!(b.deliveries.len(), 32);
        for (i, d) in b.deliveries.iter().enumerate() {
            expect_ok(d, 1, &payload(i, 20), i as u16);
        }
        // Full-size frames: 8 KiB holds five of them.
        b.cmp_ready = |_| false;
        b.send(&payload(100, 60), true, false, Some(hit(1, 100)), 20);
        b.run(300);
        for i in 101..109 {
            b.send(&payload(i, 1500), true, false, Some(hit(1, i as u16)), 20);
        }
        b.run(9 * 1600);
        b.cmp_ready = |_| true;
        b.drain();
        let ids: Vec<u16> = b.deliveries[32..].iter().map(|d| d.wb.filter_id).collect();
        assert_eq!(ids, vec![100, 101, 102, 103, 104, 105]);
        assert_eq!(b.count(COUNT_DROP_OVERFLOW), 8 + 3);
        for d in &b.deliveries[33..] {
            let i = d.wb.filter_id as usize;
            expect_ok(d, 1, &payload(i, 1500), i as u16);
        }
        // And it recovers.
        b.send(&payload(200, 64), true, false, Some(hit(1, 200)), 20);
        b.drain();
        expect_ok(b.deliveries.last().unwrap(), 1, &payload(200, 64), 200);
    }

    #[test]
    fn a_commit_resets_the_ring_indices_once_frames_in_flight_finish() {
        let mut b = Bench::new(63, 30);
        b.commit(5, settings(5, 3));
        for _ in 0..3 {
            b.post(5, 512);
        }
        for i in 0..3 {
            b.send(&payload(i, 64), true, false, Some(hit(5, i as u16)), 20);
        }
        b.drain();
        assert_eq!(b.completions, vec![(5, 1), (5, 2), (5, 3)]);
        // Post one more and send a frame; commit a new ring while its
        // descriptor read is out.
        b.post(5, 512);
        b.send(&payload(3, 64), true, false, Some(hit(5, 3)), 0);
        while b.h.uut.pipe_count.q.val() == 0 {
            b.step();
        }
        let new_ring = 0x3_0000_0000u64;
        let new_settings = QueueSettings { rx_ring: new_ring, ..settings(5, 3) };
        b.ops.push_back(Op::Commit(5, new_settings));
        // The host posts on the new ring at once, and a frame for the
        // queue arrives while the reset waits: both must see the new ring.
        let buf = buffer_base(5) + 0x10_0000;
        b.host.write_bytes(new_ring, &buf.to_le_bytes());
        b.host.write_bytes(new_ring + DESC_WRITEBACK_OFFSET, &post_word(512).to_le_bytes());
        b.ops.push_back(Op::Doorbell(5, 1));
        b.send(&payload(4, 14), true, false, Some(hit(5, 4)), 20);
        b.busy_cycles = 0;
        b.run(2);
        assert!(b.h.uut.cfg_busy.val());
        while b.h.uut.cfg_busy.val() {
            b.step();
        }
        // Its descriptor was prefetched, so only its writes are left.
        assert!(b.busy_cycles > 8, "the reset waited for the frame in flight ({})", b.busy_cycles);
        // That frame finished on the old ring, in slot 3, before the reset.
        assert_eq!(b.completions.last(), Some(&(5, 4)));
        assert_eq!(b.deliveries.len(), 4);
        expect_ok(&b.deliveries[3], 5, &payload(3, 64), 3);
        assert_eq!(b.deliveries[3].slot, 3);
        // The new ring starts from slot 0 with a fresh count.
        b.queues.insert(
            5,
            HostQueue { settings: new_settings, tail: 1, posted: [(buf, 512)].into(), ..Default::default() },
        );
        b.drain();
        assert_eq!(b.completions.last(), Some(&(5, 1)));
        let d = b.deliveries.last().unwrap();
        assert_eq!((d.slot, d.addr), (0, buf));
        expect_ok(d, 5, &payload(4, 14), 4);
        assert_eq!(b.host.log.iter().rev().find(|a| !a.write).unwrap().addr, new_ring);
        assert_eq!(b.counts.iter().sum::<u64>(), 5);
    }

    /// Cycles from each frame's last byte to its write-back request.
    fn wb_latencies(b: &Bench, start: usize) -> Vec<u64> {
        let wbs: Vec<u64> =
            b.host.log.iter().filter(|a| a.write && a.len == 8 && a.addr >> 32 == 1).map(|a| a.cycle).collect();
        wbs.iter().zip(&b.frame_ends[start..]).map(|(w, e)| w - e).collect()
    }

    #[test]
    fn warm_prefetch_cuts_the_descriptor_read_out_of_the_latency() {
        let mut b = Bench::new(63, 40);
        for q in [4u16, 9] {
            b.commit(q, settings(q, 4));
            b.queues.get_mut(&q).unwrap().repost = Some(2048);
            for _ in 0..8 {
                b.post(q, 2048);
            }
        }
        b.run(400);
        let n = 20;
        for i in 0..n {
            let q = if i % 3 == 0 { 9 } else { 4 };
            b.send(&payload(i, 64), true, false, Some(hit(q, i as u16)), 300);
        }
        b.drain();
        assert_eq!(b.deliveries.len(), n);
        for d in &b.deliveries {
            let i = d.wb.filter_id as usize;
            expect_ok(d, if i.is_multiple_of(3) { 9 } else { 4 }, &payload(i, 64), i as u16);
        }
        assert_eq!(b.count(COUNT_DELIVERED), n as u64);
        let lat = wb_latencies(&b, 0);
        assert_eq!(lat.len(), n);
        let max = *lat.iter().max().unwrap();
        eprintln!("warm prefetch, last byte to write-back request: {:?}", lat);
        // 40 to the decision, ~8 through pairing and issue, 8 beats + 1.
        assert!(max <= 70, "latency {max}");
        let on_demand: Vec<&Access> = b.host.log.iter().filter(|a| !a.write && a.tag == 0).collect();
        assert!(on_demand.is_empty(), "frames waited for descriptor reads: {on_demand:?}");
    }

    #[test]
    fn prefetch_never_reads_past_the_tail() {
        let mut b = Bench::new(63, 30);
        b.commit(2, settings(2, 4));
        b.post(2, 512);
        b.run(300);
        for i in 0..4 {
            b.send(&payload(i, 64), true, false, Some(hit(2, i as u16)), 100);
        }
        b.drain();
        assert_eq!(b.count(COUNT_DELIVERED), 1);
        assert_eq!(b.count(COUNT_DROP_NO_BUFFER), 3);
        // Posts while frames come, one at a time.
        for i in 4..10 {
            b.post(2, 512);
            b.send(&payload(i, 64), true, false, Some(hit(2, i as u16)), 150);
            b.run(50);
        }
        b.drain();
        assert_eq!(b.count(COUNT_DELIVERED), 7);
        assert_eq!(b.deliveries.len(), 7);
        let reads: Vec<&Access> = b.host.log.iter().filter(|a| !a.write).collect();
        assert!(reads.iter().any(|a| a.tag == 1), "no prefetch happened");
        for a in reads {
            let slot = (a.addr - ring_addr(2)) / DESC_BYTES;
            let tail = b.doorbells.iter().rfind(|d| d.0 < a.cycle && d.1 == 2).map_or(0, |d| d.2);
            assert!(slot < tail as u64, "read of slot {slot} with tail {tail}: {a:?}");
        }
    }

    #[test]
    fn a_commit_discards_prefetched_descriptors() {
        let mut b = Bench::new(63, 30);
        b.commit(7, settings(7, 3));
        b.post(7, 512);
        b.post(7, 512);
        b.run(300);
        let old = ring_addr(7);
        assert!(b.host.log.iter().any(|a| !a.write && a.tag == 1 && a.addr == old), "slot 0 was prefetched");
        let new_ring = 0x3_0000_0000u64;
        b.commit(7, QueueSettings { rx_ring: new_ring, ..settings(7, 3) });
        let buf = 0x4_0000_0000u64;
        b.post_at(7, buf, 512);
        b.run(20);
        b.send(&payload(1, 64), true, false, Some(hit(7, 1)), 20);
        b.drain();
        assert_eq!(b.deliveries.len(), 1);
        let d = &b.deliveries[0];
        assert_eq!((d.slot, d.addr), (0, buf));
        expect_ok(d, 7, &payload(1, 64), 1);
        assert_eq!(b.completions, vec![(7, 1)]);
        // Nothing written on the old ring or its buffers.
        assert!(b.host.log.iter().filter(|a| a.write).all(|a| a.addr == buf || a.addr == new_ring + 8));
    }

    #[test]
    fn generates_verilog() {
        let mut uut = RxEngine::new(&NicParams::default());
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
        if let Ok(path) = std::env::var("RX_ENGINE_VERILOG") {
            std::fs::write(path, v).unwrap();
        }
    }
}
