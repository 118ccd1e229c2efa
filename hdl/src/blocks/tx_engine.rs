//! The transmit descriptor engine: takes frames that applications posted on
//! their queues' transmit rings, checks them, and hands them to the MAC.
//!
//! One in-order pipeline serves every queue, a frame per turn:
//!
//! 1. The scheduler picks queues round robin among those that are enabled
//!    and were rung (a bit per queue, set by a tail doorbell and cleared
//!    when a look finds the queue empty), reads the queue's head and tail,
//!    and if they differ asks for the descriptor at `head mod 2^tx_log2`
//!    (16 bytes at `tx_ring + slot * 16`) and advances the head.
//! 2. The descriptor stage checks the length (`min..=max` frame bytes) and,
//!    unless the queue is unrestricted, that `[addr, addr + len)` lies in
//!    the queue's window (a 65-bit sum: no wrap-around). Rejected buffers
//!    are never read. A good one is read into a 4 KiB word buffer, whose
//!    room is reserved before the read goes out.
//! 3. The serializer turns the words into bytes, one per cycle, through the
//!    template check into a store-and-forward frame FIFO; a frame that fails
//!    the check is rolled back there and never reaches the MAC. A frame
//!    starts only when the FIFO has room for all of it.
//! 4. The write-back stage writes the descriptor's second word back (8 bytes
//!    at `tx_ring + slot * 16 + 8`, `queue::WriteBack` with `done` set), then
//!    reports a completion and counts the descriptor for its queue.
//!
//! Timing (125 MHz): the pick is a registered tree over the queue bitmaps
//! and the shaper's (registered as they come in; per group of 8 queues,
//! then per class, then the class order), so it reflects the state of four
//! cycles ago; the scheduler picks only once `settle` says nothing it or
//! the shaper changed is still on its way through. The queue's RAM words,
//! the window check's operands and the descriptor address are registered
//! before they are compared or added, and everything going to the shaper,
//! the DMA port's write side and the notices comes from registers (what
//! goes to the shaper a cycle after it is decided). Unhindered, a decision
//! takes 15 cycles (a minimum frame is 84 on the wire); a descriptor's
//! checks take 5. The serializer's bytes pass three registers (the word,
//! the byte, the byte with its template verdict) before the FIFO.
//!
//! Every stage takes turns in the order the scheduler made them, so each
//! queue's write-backs land in ring order. A frame is written back as soon
//! as its last byte is in the FIFO, before it has left on the wire.
//!
//! DMA reads share one response channel that answers in request order, so
//! every read has a place reserved for its answer before it is issued and
//! `rd_rsp_ready` is always high. Tags: 0 for descriptors, 1 for frame data.
//!
//! Commits and tail doorbells are registered as they come in and take
//! effect a cycle later, both alike (`cfg_busy` still rises the cycle
//! after the commit). A commit then resets the queue's tail and marks the
//! queue for a restart (its configuration goes into the engine's RAMs as
//! it comes: no stage acts on what it reads there before it sees the
//! commit). Until the restart is done (`cfg_busy`)
//! the queue gets no new turn, and its turns already in flight are stale:
//! no frame data is read for them, a frame that has not fully reached the
//! FIFO is dropped (its words flushed at one per cycle), and none is
//! written back, completed or counted (except a write-back request or
//! notice already showing when the commit takes effect: what is shown is
//! held until taken). Other queues carry on. Once every
//! turn made before the commit has left the pipeline (in order, so a count
//! of turns made and retired tells), the head is set to 0 and `cfg_busy`
//! falls (a cycle later): from then on nothing touches the queue's old ring, and the queue
//! starts again at index 0.
//!
//! The host's tail is trusted only as far as it must be: whatever it says,
//! each descriptor between head and tail is read and checked like any other
//! (a tail more than a ring ahead just makes the engine go round the ring).
//! Commits and doorbells for queue numbers past the last queue are ignored;
//! a doorbell in the same cycle as a commit would lose to it (the control
//! page never does that).

use super::{FrameFifo, TxTemplateCheck};
use crate::params::{NicParams, QUEUE_BITS, QUEUE_COUNT, QUEUE_COUNT_LOG2};
use crate::ports::{
    CompletionSource, DmaMaster, DoorbellSink, FrameSource, QueueConfig, QueueConfigSink, QueueCountSource,
    ShaperSource,
};
use rust_hdl::prelude::*;

/// log2 of the frame data buffer in 8-byte words (4 KiB).
const WORDS_LOG2: usize = 9;
/// log2 of the outgoing frame FIFO in bytes.
const FIFO_LOG2: usize = 12;

// Literals in the kernel below stand for these (rust-hdl cannot name a Rust
// constant in Verilog).
const _: () = {
    use crate::ports::queue::*;
    use crate::queue::*;
    assert!(QUEUE_COUNT == 64 && QUEUE_COUNT_LOG2 == 6);
    assert!(WORDS_LOG2 == 9 && FIFO_LOG2 == 12 && QUEUE_BITS == 12);
    assert!(DESC_BYTES == 16 && DESC_WRITEBACK_OFFSET == 8);
    assert!(DOORBELL_TX_TAIL == 1 && QCOUNT_TX_SENT == 2 && QCOUNT_TX_REJECTED == 3);
    assert!(Status::Ok as u8 == 0 && Status::Window as u8 == 1);
    assert!(Status::BadLength as u8 == 3 && Status::Template as u8 == 4);
    let wb = WriteBack { len: 1, queue: 1, status: 1, filter_id: 0, reason: 0, kind: 0 };
    assert!(wb.encode() == 1 | 1 << 16 | 1 << 28 | 1 << 63);
    use crate::ports::shaper::*;
    use crate::shaping::*;
    assert!(SHAPER_OP_TURN == 1 && SHAPER_OP_REFUND == 2 && SHAPER_OP_VISIT == 3);
    // `settle` after a turn: 1 + the shaper's latency + 4 - 1.
    assert!(super::tx_shaper::BITS_LATENCY == 6);
    // A refund is ADMIT_BYTES less the wire bytes: 1522 - max(len, 60).
    assert!(ADMIT_BYTES == 1546 && wire_bytes(0) == 84 && ADMIT_BYTES - wire_bytes(1522) == 0);
};

/// A descriptor asked for: whose it is and where it is written back.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct TxTurn {
    pub queue: Bits<QUEUE_COUNT_LOG2>,
    /// Taken as a green turn (see `shaping`): the refund goes to the
    /// guarantee, else to the deficit.
    pub green: bool,
    /// The descriptor's free-running ring index.
    pub idx: Bits<16>,
    pub wb_addr: Bits<64>,
}

/// A descriptor as read: buffer address and frame length.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct TxDesc {
    pub addr: Bits<64>,
    pub len: Bits<16>,
}

/// A checked descriptor on its way to the wire and the write-back.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct TxJob {
    pub queue: Bits<QUEUE_COUNT_LOG2>,
    pub idx: Bits<16>,
    pub wb_addr: Bits<64>,
    pub len: Bits<16>,
    /// Its frame was read into the word buffer and is to be serialized.
    pub has_data: bool,
    /// A `queue::Status` code.
    pub status: Bits<4>,
}

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum Step {
    /// Free; for the scheduler, picking a queue.
    Idle,
    /// RAMs are being read.
    Read,
    /// RAM data is here: registered.
    Load,
    /// Sums and compares on the registered data.
    Check,
    /// Decide, or wait for room.
    Decide,
}

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum WbStep {
    Idle,
    /// The job is in `w_job`; its staleness is being registered.
    Prep,
    Request,
    Data,
    Notify,
}

#[derive(LogicBlock)]
pub struct TxEngine {
    pub clock: Signal<In, Clock>,
    pub settings: QueueConfigSink,
    /// A committed queue's restart is pending (see the module notes).
    pub cfg_busy: Signal<Out, Bit>,
    pub doorbell: DoorbellSink,
    pub dma: DmaMaster,
    pub frames_out: FrameSource,
    pub completion: CompletionSource,
    pub qcount: QueueCountSource,
    /// One-cycle pulses: bit 0 TxDropWindow, bit 1 TxDropTemplate, bit 2
    /// TxDropBadLength (`regmap::Counter` order).
    pub counts: Signal<Out, Bits<3>>,
    /// Which queues the shaper lets take a turn; each turn and refund is
    /// told to it.
    pub shaper: ShaperSource,

    min_len: Constant<Bits<16>>,
    ones: Constant<Bits<QUEUE_COUNT>>,
    max_len: Constant<Bits<16>>,

    // Queue state: three copies of the configuration, one per reader.
    cfg_sched: RAM<QueueConfig, QUEUE_COUNT_LOG2>,
    cfg_desc: RAM<QueueConfig, QUEUE_COUNT_LOG2>,
    cfg_tpl: RAM<QueueConfig, QUEUE_COUNT_LOG2>,
    heads: RAM<Bits<16>, QUEUE_COUNT_LOG2>,
    tails: RAM<Bits<16>, QUEUE_COUNT_LOG2>,
    enabled: DFF<Bits<QUEUE_COUNT>>,
    pending: DFF<Bits<QUEUE_COUNT>>,
    /// Committed queues whose restart is pending.
    restarts: DFF<Bits<QUEUE_COUNT>>,
    busy: DFF<Bit>,
    // The control inputs, registered: a commit or doorbell takes effect
    // inside the engine a cycle after it comes (`cfg_busy` still rises in
    // the cycle after the commit), both alike, so their order is kept.
    in_w: DFF<Bit>,
    in_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    /// The committed configuration's `enable` (the configuration itself
    /// goes into its RAMs as it comes: no stage acts on what it reads
    /// there before it sees the commit).
    in_en: DFF<Bit>,
    in_ring: DFF<Bit>,
    in_rq: DFF<Bits<QUEUE_COUNT_LOG2>>,
    in_val: DFF<Bits<16>>,
    /// A commit for an existing queue is coming in (it takes effect next cycle).
    commit_in: Signal<Local, Bit>,
    /// Whether the commit taking effect this cycle is for the queue of the
    /// scheduler, the descriptor stage, the serializer, the write-back
    /// stage: compared a cycle early, against the queue the stage holds by
    /// the time it looks (a stage's queue is still for a cycle before it
    /// looks; the serializer and write-back stage compare with the job they
    /// are about to take when free).
    hit_sc: DFF<Bit>,
    hit_d: DFF<Bit>,
    hit_s: DFF<Bit>,
    hit_w: DFF<Bit>,
    s_next_q: Signal<Local, Bits<QUEUE_COUNT_LOG2>>,
    w_next_q: Signal<Local, Bits<QUEUE_COUNT_LOG2>>,
    /// The scheduler's queue was committed (registered like `dd_stale`).
    ss_r: DFF<Bit>,
    /// A doorbell for the scheduler's queue takes effect this cycle
    /// (compared a cycle early, like the `hit_*`).
    rhit_sc: DFF<Bit>,
    ring_in: Signal<Local, Bit>,
    /// One-hot: the scheduler's queue, and the restart the pick offers.
    sched_1h: DFF<Bits<QUEUE_COUNT>>,
    p_rq1h: DFF<Bits<QUEUE_COUNT>>,
    /// The serializer emits or flushes: active, ready and not drained.
    s_run: DFF<Bit>,
    /// `(rp + 1) ^ 1` (0 at reset, like `rp`): no adder before the read.
    rp1x: DFF<Bits<10>>,
    /// The head job's queue is being restarted, as of a cycle ago, and
    /// the head is still the one it was then.
    s_hs_r: DFF<Bit>,
    s_hv_r: DFF<Bit>,
    /// Stage b's byte ends a frame whose template is checked.
    b_chk: DFF<Bit>,
    /// Turns made and turns retired (free-running; fewer than 128 are ever
    /// in flight), and the count of turns made when the last commit came.
    made: DFF<Bits<8>>,
    retired: DFF<Bits<8>>,
    marker: DFF<Bits<8>>,
    since_marker: Signal<Local, Bits<8>>,
    commit: Signal<Local, Bit>,
    commit_q: Signal<Local, Bits<QUEUE_COUNT_LOG2>>,
    commit_mask: Signal<Local, Bits<QUEUE_COUNT>>,
    ring: Signal<Local, Bit>,
    ring_q: Signal<Local, Bits<QUEUE_COUNT_LOG2>>,
    ring_mask: Signal<Local, Bits<QUEUE_COUNT>>,

    // Scheduler.
    sched: DFF<Step>,
    sched_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    /// Where the round-robin search starts: the queue after the last one looked at.
    rr_start: DFF<Bits<QUEUE_COUNT_LOG2>>,
    /// A doorbell for `sched_q` came during its look.
    db_hit: DFF<Bit>,
    /// Deficit round robin's current queue.
    drr_cur: DFF<Bits<QUEUE_COUNT_LOG2>>,
    /// The turn being looked at is green.
    sched_green: DFF<Bit>,
    /// Cycles until the pick below reflects every change the scheduler
    /// made (and the shaper's answer to its last turn): it may pick at 0.
    settle: DFF<Bits<4>>,
    // The pick, a registered tree. Stage 1, bitmaps: queues at or after
    // `rr_start`, after `drr_cur`, and `drr_cur` itself; the shaping
    // classes (see `shaping`): queues with work the ceiling allows
    // (`v_e`), those of them below their guarantee (`v_g`, `v_gf` from
    // `rr_start` on), after `drr_cur` (`v_yf`), and `drr_cur` while its
    // deficit lasts (`v_s`).
    rr_mask: DFF<Bits<QUEUE_COUNT>>,
    drr_above: DFF<Bits<QUEUE_COUNT>>,
    drr_one: DFF<Bits<QUEUE_COUNT>>,
    cand: Signal<Local, Bits<QUEUE_COUNT>>,
    v_e: DFF<Bits<QUEUE_COUNT>>,
    v_g: DFF<Bits<QUEUE_COUNT>>,
    v_gf: DFF<Bits<QUEUE_COUNT>>,
    v_yf: DFF<Bits<QUEUE_COUNT>>,
    v_s: DFF<Bits<QUEUE_COUNT>>,
    // Stage 2: per group of 8 queues, whether a class has one there and
    // the lowest (3 bits per group); R is the restarts.
    a_r: DFF<Bits<8>>,
    i_r: DFF<Bits<32>>,
    a_gf: DFF<Bits<8>>,
    i_gf: DFF<Bits<32>>,
    a_g: DFF<Bits<8>>,
    i_g: DFF<Bits<32>>,
    a_yf: DFF<Bits<8>>,
    i_yf: DFF<Bits<32>>,
    a_e: DFF<Bits<8>>,
    i_e: DFF<Bits<32>>,
    a_s: DFF<Bits<8>>,
    // Stage 3: per class, whether it has a queue and the lowest.
    k_r: DFF<Bit>,
    q_r: DFF<Bits<QUEUE_COUNT_LOG2>>,
    k_gf: DFF<Bit>,
    q_gf: DFF<Bits<QUEUE_COUNT_LOG2>>,
    k_g: DFF<Bit>,
    q_g: DFF<Bits<QUEUE_COUNT_LOG2>>,
    k_yf: DFF<Bit>,
    q_yf: DFF<Bits<QUEUE_COUNT_LOG2>>,
    k_e: DFF<Bit>,
    q_e: DFF<Bits<QUEUE_COUNT_LOG2>>,
    k_s: DFF<Bit>,
    // Stage 4: the pick: a restart that is due; else a green queue, round
    // robin from `rr_start`; else deficit round robin over the queues the
    // ceiling allows: the current queue while its deficit lasts, or the
    // next one after it (which gets a visit).
    p_rany: DFF<Bit>,
    p_rq: DFF<Bits<QUEUE_COUNT_LOG2>>,
    p_any: DFF<Bit>,
    p_green: DFF<Bit>,
    p_stay: DFF<Bit>,
    p_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    // Encoder temporaries.
    t_b: Signal<Local, Bits<8>>,
    t_n4: Signal<Local, Bits<4>>,
    t_n2: Signal<Local, Bits<2>>,
    t_z2: Signal<Local, Bit>,
    t_z1: Signal<Local, Bit>,
    t_z0: Signal<Local, Bit>,
    t_idx: Signal<Local, Bits<3>>,
    t_a_r: Signal<Local, Bits<8>>,
    t_i_r: Signal<Local, Bits<32>>,
    t_a_gf: Signal<Local, Bits<8>>,
    t_i_gf: Signal<Local, Bits<32>>,
    t_a_g: Signal<Local, Bits<8>>,
    t_i_g: Signal<Local, Bits<32>>,
    t_a_yf: Signal<Local, Bits<8>>,
    t_i_yf: Signal<Local, Bits<32>>,
    t_a_e: Signal<Local, Bits<8>>,
    t_i_e: Signal<Local, Bits<32>>,
    t_a_s: Signal<Local, Bits<8>>,
    t_g3: Signal<Local, Bits<5>>,
    t_sh: Signal<Local, Bits<32>>,
    rs_d: Signal<Local, Bits<QUEUE_COUNT>>,
    rs_s: Signal<Local, Bits<QUEUE_COUNT>>,
    rs_h: Signal<Local, Bits<QUEUE_COUNT>>,
    rs_j: Signal<Local, Bits<QUEUE_COUNT>>,
    rs_w: Signal<Local, Bits<QUEUE_COUNT>>,
    d_words: Signal<Local, Bits<17>>,
    e_shift: Signal<Local, Bits<64>>,
    s_lm1: Signal<Local, Bits<16>>,
    s_lw: Signal<Local, Bits<16>>,
    /// A deficit round robin visit goes to the shaper.
    visit: Signal<Local, Bit>,
    d_short: Signal<Local, Bits<12>>,
    /// A fetched frame's refund is this less its padded length.
    refund_base: Constant<Bits<12>>,
    // The looked-at queue's RAM words, then what follows from them.
    sc_enable: DFF<Bit>,
    sc_head: DFF<Bits<16>>,
    sc_tail: DFF<Bits<16>>,
    sc_ring: DFF<Bits<64>>,
    sc_log2: DFF<Bits<4>>,
    sc_work: DFF<Bit>,
    sc_desc: DFF<Bits<64>>,
    sc_wb: DFF<Bits<64>>,
    sc_next: DFF<Bits<16>>,
    slot: Signal<Local, Bits<16>>,
    sched_go: Signal<Local, Bit>,
    sched_clear: Signal<Local, Bit>,
    sched_mask: Signal<Local, Bits<QUEUE_COUNT>>,
    sched_stale: Signal<Local, Bit>,
    restart_now: Signal<Local, Bit>,
    restart_mask: Signal<Local, Bits<QUEUE_COUNT>>,
    // What goes to the shaper, registered.
    sh_op: DFF<Bits<2>>,
    sh_queue: DFF<Bits<QUEUE_COUNT_LOG2>>,
    sh_green: DFF<Bit>,
    sh_bytes: DFF<Bits<12>>,

    // The read request register, shared by the scheduler and the
    // descriptor stage.
    rq_valid: DFF<Bit>,
    rq_addr: DFF<Bits<64>>,
    rq_len: DFF<Bits<16>>,
    rq_tag: DFF<Bits<8>>,
    rq_free: Signal<Local, Bit>,

    // Read responses.
    first_word: DFF<Bits<64>>,
    turns: SynchronousFIFO<TxTurn, 3, 4, 1>,
    descs: SynchronousFIFO<TxDesc, 3, 4, 1>,
    words: RAM<Bits<64>, WORDS_LOG2>,
    /// Word buffer pointers (one wrap bit above the address): next word
    /// written, the same a cycle ago, next word read, end of the reserved room.
    wp: DFF<Bits<10>>,
    wp_late: DFF<Bits<10>>,
    rp: DFF<Bits<10>>,
    reserved: DFF<Bits<10>>,

    // Descriptor stage.
    dstep: DFF<Step>,
    d_turn: DFF<TxTurn>,
    d_desc: DFF<TxDesc>,
    dd_unres: DFF<Bit>,
    dd_base: DFF<Bits<64>>,
    dd_limit: DFF<Bits<65>>,
    dd_end: DFF<Bits<65>>,
    dd_bad_len: DFF<Bit>,
    dd_words: DFF<Bits<10>>,
    dd_outside: DFF<Bit>,
    dd_lt: Signal<Local, Bits<65>>,
    dd_gt: Signal<Local, Bits<66>>,
    dd_room: DFF<Bit>,
    dd_stale: DFF<Bit>,
    dd_refund: DFF<Bits<12>>,
    d_stale: Signal<Local, Bit>,
    d_used: Signal<Local, Bits<10>>,
    d_job: Signal<Local, TxJob>,
    d_reject: Signal<Local, Bit>,
    d_may: Signal<Local, Bit>,
    s_room: DFF<Bits<16>>,
    since_ok: DFF<Bit>,
    d_fetch: Signal<Local, Bit>,
    jobs: SynchronousFIFO<TxJob, 3, 4, 1>,

    // Serializer: emits a byte a cycle from the word buffer; the byte is
    // taken from the registered word (stage b), checked against the
    // template (stages v and c) and written to the FIFO with the verdict.
    s_active: DFF<Bit>,
    /// The template settings for the frame have arrived from their RAM.
    s_ready: DFF<Bit>,
    /// All of the frame was emitted (or flushed): it is on its way through
    /// the stages.
    s_drain: DFF<Bit>,
    s_job: DFF<TxJob>,
    s_cfg: DFF<QueueConfig>,
    s_pos: DFF<Bits<16>>,
    /// The last byte's position less one, and `s_pos` is the last byte's.
    s_last_pm1: DFF<Bits<16>>,
    s_last_r: DFF<Bit>,
    /// The read pointer moved last cycle; whether a word is there next
    /// cycle if it did not and if it did.
    s_adv: DFF<Bit>,
    s_has_a: DFF<Bit>,
    s_has_b: DFF<Bit>,
    /// Room in the job and turn FIFOs, and a turn with its descriptor
    /// waiting, as of a cycle ago.
    jobs_ok: DFF<Bit>,
    turns_ok: DFF<Bit>,
    d_ne: DFF<Bit>,
    s_last_word: DFF<Bits<13>>,
    fifo_used: DFF<Bits<13>>,
    s_add: DFF<Bits<13>>,
    s_sub: DFF<Bits<13>>,
    s_pop: DFF<Bit>,
    s_net: DFF<Bits<13>>,
    /// The head job may start (registered; not in the cycle after a read).
    s_start_ok: DFF<Bit>,
    s_stale_r: DFF<Bit>,
    /// Some of the current frame's bytes went into the FIFO.
    s_emitted: DFF<Bit>,
    s_head_stale: Signal<Local, Bit>,
    s_cut: Signal<Local, Bit>,
    s_skip: Signal<Local, Bit>,
    s_flush_end: Signal<Local, Bit>,
    s_start: Signal<Local, Bit>,
    s_has: Signal<Local, Bit>,
    s_emit: Signal<Local, Bit>,
    s_is_last: Signal<Local, Bit>,
    s_word_end: Signal<Local, Bit>,
    s_rp_next: Signal<Local, Bits<10>>,
    s_stale: Signal<Local, Bit>,
    s_fin: Signal<Local, Bit>,
    s_done: Signal<Local, TxJob>,
    // Stage registers: the word and byte position, the byte, the byte
    // with its verdict. `end`: the frame's last byte; `flush`: a stale
    // frame's words are all skipped; `cut`: a beat ending a stale frame
    // in the FIFO with `error`.
    e_word: DFF<Bits<64>>,
    e_sel: DFF<Bits<3>>,
    e_valid: DFF<Bit>,
    e_last: DFF<Bit>,
    e_cut: DFF<Bit>,
    e_end: DFF<Bit>,
    e_flush: DFF<Bit>,
    b_byte: DFF<Bits<8>>,
    b_valid: DFF<Bit>,
    b_last: DFF<Bit>,
    b_cut: DFF<Bit>,
    b_end: DFF<Bit>,
    b_flush: DFF<Bit>,
    /// Stage v: a cycle for the template check's second step.
    v_byte: DFF<Bits<8>>,
    v_valid: DFF<Bit>,
    v_last: DFF<Bit>,
    v_cut: DFF<Bit>,
    v_end: DFF<Bit>,
    v_flush: DFF<Bit>,
    v_chk: DFF<Bit>,
    c_byte: DFF<Bits<8>>,
    c_valid: DFF<Bit>,
    c_last: DFF<Bit>,
    c_cut: DFF<Bit>,
    c_end: DFF<Bit>,
    c_flush: DFF<Bit>,
    /// Stage c's byte ends a frame whose template is checked; the check's
    /// registered verdict on it shows in the same cycle.
    c_chk: DFF<Bit>,
    c_fail: Signal<Local, Bit>,
    tpl_check: TxTemplateCheck,
    out_fifo: FrameFifo<FIFO_LOG2>,
    finished: SynchronousFIFO<TxJob, 3, 4, 1>,

    // Write-back stage.
    wstep: DFF<WbStep>,
    w_job: DFF<TxJob>,
    w_done: DFF<Bits<16>>,
    w_stale_r: DFF<Bit>,
    w_req: DFF<Bit>,
    /// What `w_req` or the notices show is showing for the first cycle.
    w_fresh: DFF<Bit>,
    w_hit: Signal<Local, Bit>,
    w_data: DFF<Bit>,
    cpl_v: DFF<Bit>,
    qc_v: DFF<Bit>,
    /// The turn is done: retire it next cycle.
    w_retire: DFF<Bit>,
    w_kill: Signal<Local, Bit>,
    count_pulse: DFF<Bits<3>>,
    w_cpl_left: Signal<Local, Bit>,
    w_qc_left: Signal<Local, Bit>,
    retire: Signal<Local, Bit>,
}

impl TxEngine {
    pub fn new(params: &NicParams) -> Self {
        assert!(params.min_frame_bytes >= 14 && params.min_frame_bytes <= params.max_frame_bytes);
        // A frame must fit the word buffer and the FIFO (which keeps one
        // byte free).
        assert!(params.max_frame_bytes < (1 << FIFO_LOG2));
        assert!(params.max_frame_bytes <= 8 << WORDS_LOG2);
        // A turn's admission covers the longest frame.
        assert!(params.max_frame_bytes + crate::shaping::WIRE_OVERHEAD_BYTES <= crate::shaping::ADMIT_BYTES);
        Self {
            clock: Default::default(),
            settings: Default::default(),
            cfg_busy: Default::default(),
            doorbell: Default::default(),
            dma: Default::default(),
            frames_out: Default::default(),
            completion: Default::default(),
            qcount: Default::default(),
            counts: Default::default(),
            shaper: Default::default(),
            min_len: Constant::new((params.min_frame_bytes as u64).into()),
            ones: Constant::new(u64::MAX.into()),
            max_len: Constant::new((params.max_frame_bytes as u64).into()),
            cfg_sched: Default::default(),
            cfg_desc: Default::default(),
            cfg_tpl: Default::default(),
            heads: Default::default(),
            tails: Default::default(),
            enabled: Default::default(),
            pending: Default::default(),
            restarts: Default::default(),
            busy: Default::default(),
            in_w: Default::default(),
            in_q: Default::default(),
            in_en: Default::default(),
            in_ring: Default::default(),
            in_rq: Default::default(),
            in_val: Default::default(),
            commit_in: Default::default(),
            hit_sc: Default::default(),
            hit_d: Default::default(),
            hit_s: Default::default(),
            hit_w: Default::default(),
            s_next_q: Default::default(),
            w_next_q: Default::default(),
            ss_r: Default::default(),
            rhit_sc: Default::default(),
            ring_in: Default::default(),
            sched_1h: Default::default(),
            p_rq1h: Default::default(),
            s_run: Default::default(),
            rp1x: Default::default(),
            s_hs_r: Default::default(),
            s_hv_r: Default::default(),
            b_chk: Default::default(),
            made: Default::default(),
            retired: Default::default(),
            marker: Default::default(),
            since_marker: Default::default(),
            commit: Default::default(),
            commit_q: Default::default(),
            commit_mask: Default::default(),
            ring: Default::default(),
            ring_q: Default::default(),
            ring_mask: Default::default(),
            sched: Default::default(),
            sched_q: Default::default(),
            rr_start: Default::default(),
            db_hit: Default::default(),
            drr_cur: Default::default(),
            sched_green: Default::default(),
            settle: Default::default(),
            rr_mask: Default::default(),
            drr_above: Default::default(),
            drr_one: Default::default(),
            cand: Default::default(),
            v_e: Default::default(),
            v_g: Default::default(),
            v_gf: Default::default(),
            v_yf: Default::default(),
            v_s: Default::default(),
            a_r: Default::default(),
            i_r: Default::default(),
            a_gf: Default::default(),
            i_gf: Default::default(),
            a_g: Default::default(),
            i_g: Default::default(),
            a_yf: Default::default(),
            i_yf: Default::default(),
            a_e: Default::default(),
            i_e: Default::default(),
            a_s: Default::default(),
            k_r: Default::default(),
            q_r: Default::default(),
            k_gf: Default::default(),
            q_gf: Default::default(),
            k_g: Default::default(),
            q_g: Default::default(),
            k_yf: Default::default(),
            q_yf: Default::default(),
            k_e: Default::default(),
            q_e: Default::default(),
            k_s: Default::default(),
            p_rany: Default::default(),
            p_rq: Default::default(),
            p_any: Default::default(),
            p_green: Default::default(),
            p_stay: Default::default(),
            p_q: Default::default(),
            t_b: Default::default(),
            t_n4: Default::default(),
            t_n2: Default::default(),
            t_z2: Default::default(),
            t_z1: Default::default(),
            t_z0: Default::default(),
            t_idx: Default::default(),
            t_a_r: Default::default(),
            t_i_r: Default::default(),
            t_a_gf: Default::default(),
            t_i_gf: Default::default(),
            t_a_g: Default::default(),
            t_i_g: Default::default(),
            t_a_yf: Default::default(),
            t_i_yf: Default::default(),
            t_a_e: Default::default(),
            t_i_e: Default::default(),
            t_a_s: Default::default(),
            t_g3: Default::default(),
            t_sh: Default::default(),
            rs_d: Default::default(),
            rs_s: Default::default(),
            rs_h: Default::default(),
            rs_j: Default::default(),
            rs_w: Default::default(),
            d_words: Default::default(),
            e_shift: Default::default(),
            s_lm1: Default::default(),
            s_lw: Default::default(),
            visit: Default::default(),
            d_short: Default::default(),
            refund_base: Constant::new(
                ((crate::shaping::ADMIT_BYTES - crate::shaping::WIRE_OVERHEAD_BYTES) as u64).into(),
            ),
            sc_enable: Default::default(),
            sc_head: Default::default(),
            sc_tail: Default::default(),
            sc_ring: Default::default(),
            sc_log2: Default::default(),
            sc_work: Default::default(),
            sc_desc: Default::default(),
            sc_wb: Default::default(),
            sc_next: Default::default(),
            slot: Default::default(),
            sched_go: Default::default(),
            sched_clear: Default::default(),
            sched_mask: Default::default(),
            sched_stale: Default::default(),
            restart_now: Default::default(),
            restart_mask: Default::default(),
            sh_op: Default::default(),
            sh_queue: Default::default(),
            sh_green: Default::default(),
            sh_bytes: Default::default(),
            rq_valid: Default::default(),
            rq_addr: Default::default(),
            rq_len: Default::default(),
            rq_tag: Default::default(),
            rq_free: Default::default(),
            first_word: Default::default(),
            turns: Default::default(),
            descs: Default::default(),
            words: Default::default(),
            wp: Default::default(),
            wp_late: Default::default(),
            rp: Default::default(),
            reserved: Default::default(),
            dstep: Default::default(),
            d_turn: Default::default(),
            d_desc: Default::default(),
            dd_unres: Default::default(),
            dd_base: Default::default(),
            dd_limit: Default::default(),
            dd_end: Default::default(),
            dd_bad_len: Default::default(),
            dd_words: Default::default(),
            dd_outside: Default::default(),
            dd_lt: Default::default(),
            dd_gt: Default::default(),
            dd_room: Default::default(),
            dd_stale: Default::default(),
            dd_refund: Default::default(),
            d_stale: Default::default(),
            d_used: Default::default(),
            d_job: Default::default(),
            d_reject: Default::default(),
            d_may: Default::default(),
            s_room: Default::default(),
            since_ok: Default::default(),
            d_fetch: Default::default(),
            jobs: Default::default(),
            s_active: Default::default(),
            s_ready: Default::default(),
            s_drain: Default::default(),
            s_job: Default::default(),
            s_cfg: Default::default(),
            s_pos: Default::default(),
            s_last_pm1: Default::default(),
            s_last_r: Default::default(),
            s_adv: Default::default(),
            s_has_a: Default::default(),
            s_has_b: Default::default(),
            jobs_ok: Default::default(),
            turns_ok: Default::default(),
            d_ne: Default::default(),
            s_last_word: Default::default(),
            fifo_used: Default::default(),
            s_add: Default::default(),
            s_sub: Default::default(),
            s_pop: Default::default(),
            s_net: Default::default(),
            s_start_ok: Default::default(),
            s_stale_r: Default::default(),
            s_emitted: Default::default(),
            s_head_stale: Default::default(),
            s_cut: Default::default(),
            s_skip: Default::default(),
            s_flush_end: Default::default(),
            s_start: Default::default(),
            s_has: Default::default(),
            s_emit: Default::default(),
            s_is_last: Default::default(),
            s_word_end: Default::default(),
            s_rp_next: Default::default(),
            s_stale: Default::default(),
            s_fin: Default::default(),
            s_done: Default::default(),
            e_word: Default::default(),
            e_sel: Default::default(),
            e_valid: Default::default(),
            e_last: Default::default(),
            e_cut: Default::default(),
            e_end: Default::default(),
            e_flush: Default::default(),
            b_byte: Default::default(),
            b_valid: Default::default(),
            b_last: Default::default(),
            b_cut: Default::default(),
            b_end: Default::default(),
            b_flush: Default::default(),
            v_byte: Default::default(),
            v_valid: Default::default(),
            v_last: Default::default(),
            v_cut: Default::default(),
            v_end: Default::default(),
            v_flush: Default::default(),
            v_chk: Default::default(),
            c_byte: Default::default(),
            c_valid: Default::default(),
            c_last: Default::default(),
            c_cut: Default::default(),
            c_end: Default::default(),
            c_flush: Default::default(),
            c_chk: Default::default(),
            c_fail: Default::default(),
            tpl_check: Default::default(),
            out_fifo: Default::default(),
            finished: Default::default(),
            wstep: Default::default(),
            w_job: Default::default(),
            w_done: Default::default(),
            w_stale_r: Default::default(),
            w_req: Default::default(),
            w_fresh: Default::default(),
            w_hit: Default::default(),
            w_data: Default::default(),
            cpl_v: Default::default(),
            qc_v: Default::default(),
            w_retire: Default::default(),
            w_kill: Default::default(),
            count_pulse: Default::default(),
            w_cpl_left: Default::default(),
            w_qc_left: Default::default(),
            retire: Default::default(),
        }
    }
}

// rust-hdl's simulator lets every read see a signal's final value for the
// cycle, while the Verilog reads it where it stands; so below, no signal is
// written after it has been read (the encoder temporaries are written and
// read in turn, in one order in both).
impl Logic for TxEngine {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, turns, descs, jobs, finished, tpl_check, out_fifo);
        dff_setup!(
            self,
            clock,
            enabled,
            pending,
            restarts,
            busy,
            in_w,
            in_q,
            in_en,
            in_ring,
            in_rq,
            in_val,
            hit_sc,
            hit_d,
            hit_s,
            hit_w,
            ss_r,
            rhit_sc,
            sched_1h,
            p_rq1h,
            s_run,
            rp1x,
            s_hs_r,
            s_hv_r,
            b_chk,
            made,
            retired,
            marker,
            sched,
            sched_q,
            rr_start,
            db_hit,
            drr_cur,
            sched_green,
            settle,
            rr_mask,
            drr_above,
            drr_one,
            v_e,
            v_g,
            v_gf,
            v_yf,
            v_s,
            a_r,
            i_r,
            a_gf,
            i_gf,
            a_g,
            i_g,
            a_yf,
            i_yf,
            a_e,
            i_e,
            a_s,
            k_r,
            q_r,
            k_gf,
            q_gf,
            k_g,
            q_g,
            k_yf,
            q_yf,
            k_e,
            q_e,
            k_s,
            p_rany,
            p_rq,
            p_any,
            p_green,
            p_stay,
            p_q,
            sc_enable,
            sc_head,
            sc_tail,
            sc_ring,
            sc_log2,
            sc_work,
            sc_desc,
            sc_wb,
            sc_next,
            sh_op,
            sh_queue,
            sh_green,
            sh_bytes,
            rq_valid,
            rq_addr,
            rq_len,
            rq_tag,
            first_word,
            wp,
            wp_late,
            rp,
            reserved,
            dstep,
            d_turn,
            d_desc,
            dd_unres,
            dd_base,
            dd_limit,
            dd_end,
            dd_bad_len,
            dd_words,
            dd_outside,
            dd_room,
            dd_stale,
            dd_refund,
            s_active,
            s_ready,
            s_drain,
            s_job,
            s_cfg,
            s_pos,
            s_last_pm1,
            s_last_r,
            s_adv,
            s_has_a,
            s_has_b,
            jobs_ok,
            turns_ok,
            d_ne,
            s_last_word,
            fifo_used,
            s_add,
            s_sub,
            s_pop,
            s_net,
            s_start_ok,
            s_stale_r,
            s_emitted,
            e_word,
            e_sel,
            e_valid,
            e_last,
            e_cut,
            e_end,
            e_flush,
            b_byte,
            b_valid,
            b_last,
            b_cut,
            b_end,
            b_flush,
            v_byte,
            v_valid,
            v_last,
            v_cut,
            v_end,
            v_flush,
            v_chk,
            c_byte,
            c_valid,
            c_last,
            c_cut,
            c_end,
            c_flush,
            c_chk,
            wstep,
            w_job,
            w_done,
            w_stale_r,
            w_req,
            w_fresh,
            w_data,
            cpl_v,
            qc_v,
            w_retire,
            s_room,
            since_ok,
            count_pulse
        );
        self.cfg_sched.read_clock.next = self.clock.val();
        self.cfg_sched.write_clock.next = self.clock.val();
        self.cfg_desc.read_clock.next = self.clock.val();
        self.cfg_desc.write_clock.next = self.clock.val();
        self.cfg_tpl.read_clock.next = self.clock.val();
        self.cfg_tpl.write_clock.next = self.clock.val();
        self.heads.read_clock.next = self.clock.val();
        self.heads.write_clock.next = self.clock.val();
        self.tails.read_clock.next = self.clock.val();
        self.tails.write_clock.next = self.clock.val();
        self.words.read_clock.next = self.clock.val();
        self.words.write_clock.next = self.clock.val();

        // Commits and tail doorbells for queues that exist.
        self.commit_in.next = self.settings.write.val() & (self.settings.queue.val().get_bits::<6>(6) == 0);
        self.in_w.d.next = self.commit_in.val();
        self.in_q.d.next = self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.in_en.d.next = self.settings.settings.val().enable;
        self.ring_in.next = self.doorbell.valid.val()
            & (self.doorbell.kind.val() == 1)
            & (self.doorbell.queue.val().get_bits::<6>(6) == 0);
        self.in_ring.d.next = self.ring_in.val();
        self.in_rq.d.next = self.doorbell.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.in_val.d.next = self.doorbell.value.val();
        self.commit.next = self.in_w.q.val();
        self.commit_q.next = self.in_q.q.val();
        self.commit_mask.next = 0.into();
        if self.commit.val() {
            self.commit_mask.next = bit_cast::<QUEUE_COUNT, 1>(true.into()) << self.commit_q.val();
        }
        self.ring.next = self.in_ring.q.val();
        self.ring_q.next = self.in_rq.q.val();
        self.ring_mask.next = 0.into();
        if self.ring.val() {
            self.ring_mask.next = bit_cast::<QUEUE_COUNT, 1>(true.into()) << self.ring_q.val();
        }
        self.cfg_sched.write_address.next = self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.cfg_sched.write_data.next = self.settings.settings.val();
        self.cfg_sched.write_enable.next = self.commit_in.val();
        self.cfg_desc.write_address.next = self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.cfg_desc.write_data.next = self.settings.settings.val();
        self.cfg_desc.write_enable.next = self.commit_in.val();
        self.cfg_tpl.write_address.next = self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.cfg_tpl.write_data.next = self.settings.settings.val();
        self.cfg_tpl.write_enable.next = self.commit_in.val();
        // A commit restarts the tail at once (no doorbell comes in the same
        // cycle); the head waits for the restart.
        self.tails.write_address.next = self.ring_q.val();
        self.tails.write_data.next = self.in_val.q.val();
        self.tails.write_enable.next = self.ring.val();
        if self.commit.val() {
            self.tails.write_address.next = self.commit_q.val();
            self.tails.write_data.next = 0.into();
            self.tails.write_enable.next = true;
        }
        self.enabled.d.next = self.enabled.q.val() & !self.commit_mask.val();
        if self.commit.val() & self.in_en.q.val() {
            self.enabled.d.next = self.enabled.q.val() | self.commit_mask.val();
        }
        // High from the cycle after a commit until the cycle after the
        // restart is done.
        self.busy.d.next = (self.restarts.q.val() != 0) | self.commit.val() | self.commit_in.val();
        self.cfg_busy.next = self.busy.q.val();

        // The pick, four registered stages from the state and the shaper's
        // bitmaps to `p_*`. The scheduler uses it only once `settle` shows
        // it was made from the state as the last decision left it.
        self.rr_mask.d.next = self.ones.val() << self.rr_start.q.val();
        self.drr_above.d.next = (self.ones.val() << self.drr_cur.q.val()) << 1;
        self.drr_one.d.next = bit_cast::<QUEUE_COUNT, 1>(true.into()) << self.drr_cur.q.val();
        self.cand.next = self.pending.q.val() & self.enabled.q.val() & !self.restarts.q.val();
        self.v_e.d.next = self.cand.val() & self.shaper.ceiling_ok.val();
        self.v_g.d.next = self.cand.val() & self.shaper.ceiling_ok.val() & self.shaper.green_ok.val();
        self.v_gf.d.next =
            self.cand.val() & self.shaper.ceiling_ok.val() & self.shaper.green_ok.val() & self.rr_mask.q.val();
        self.v_yf.d.next = self.cand.val() & self.shaper.ceiling_ok.val() & self.drr_above.q.val();
        self.v_s.d.next =
            self.cand.val() & self.shaper.ceiling_ok.val() & self.shaper.deficit_ok.val() & self.drr_one.q.val();
        // Per group of 8: any, and the lowest, found by halving. Groups are
        // shifted in from the top, so group 0 ends up lowest.
        self.t_a_r.next = 0.into();
        self.t_i_r.next = 0.into();
        self.t_a_gf.next = 0.into();
        self.t_i_gf.next = 0.into();
        self.t_a_g.next = 0.into();
        self.t_i_g.next = 0.into();
        self.t_a_yf.next = 0.into();
        self.t_i_yf.next = 0.into();
        self.t_a_e.next = 0.into();
        self.t_i_e.next = 0.into();
        self.t_a_s.next = 0.into();
        for g in 0..8 {
            self.t_b.next = self.restarts.q.val().get_bits::<8>(g * 8);
            self.t_z2.next = self.t_b.val().get_bits::<4>(0) == 0;
            self.t_n4.next = self.t_b.val().get_bits::<4>(0);
            if self.t_z2.val() {
                self.t_n4.next = self.t_b.val().get_bits::<4>(4);
            }
            self.t_z1.next = self.t_n4.val().get_bits::<2>(0) == 0;
            self.t_n2.next = self.t_n4.val().get_bits::<2>(0);
            if self.t_z1.val() {
                self.t_n2.next = self.t_n4.val().get_bits::<2>(2);
            }
            self.t_z0.next = !self.t_n2.val().get_bit(0);
            self.t_idx.next = (bit_cast::<3, 1>(self.t_z2.val().into()) << 2)
                | (bit_cast::<3, 1>(self.t_z1.val().into()) << 1)
                | bit_cast::<3, 1>(self.t_z0.val().into());
            self.t_a_r.next = (self.t_a_r.val() >> 1) | (bit_cast::<8, 1>((self.t_b.val() != 0).into()) << 7);
            self.t_i_r.next = (self.t_i_r.val() >> 4) | (bit_cast::<32, 3>(self.t_idx.val()) << 28);

            self.t_b.next = self.v_gf.q.val().get_bits::<8>(g * 8);
            self.t_z2.next = self.t_b.val().get_bits::<4>(0) == 0;
            self.t_n4.next = self.t_b.val().get_bits::<4>(0);
            if self.t_z2.val() {
                self.t_n4.next = self.t_b.val().get_bits::<4>(4);
            }
            self.t_z1.next = self.t_n4.val().get_bits::<2>(0) == 0;
            self.t_n2.next = self.t_n4.val().get_bits::<2>(0);
            if self.t_z1.val() {
                self.t_n2.next = self.t_n4.val().get_bits::<2>(2);
            }
            self.t_z0.next = !self.t_n2.val().get_bit(0);
            self.t_idx.next = (bit_cast::<3, 1>(self.t_z2.val().into()) << 2)
                | (bit_cast::<3, 1>(self.t_z1.val().into()) << 1)
                | bit_cast::<3, 1>(self.t_z0.val().into());
            self.t_a_gf.next = (self.t_a_gf.val() >> 1) | (bit_cast::<8, 1>((self.t_b.val() != 0).into()) << 7);
            self.t_i_gf.next = (self.t_i_gf.val() >> 4) | (bit_cast::<32, 3>(self.t_idx.val()) << 28);

            self.t_b.next = self.v_g.q.val().get_bits::<8>(g * 8);
            self.t_z2.next = self.t_b.val().get_bits::<4>(0) == 0;
            self.t_n4.next = self.t_b.val().get_bits::<4>(0);
            if self.t_z2.val() {
                self.t_n4.next = self.t_b.val().get_bits::<4>(4);
            }
            self.t_z1.next = self.t_n4.val().get_bits::<2>(0) == 0;
            self.t_n2.next = self.t_n4.val().get_bits::<2>(0);
            if self.t_z1.val() {
                self.t_n2.next = self.t_n4.val().get_bits::<2>(2);
            }
            self.t_z0.next = !self.t_n2.val().get_bit(0);
            self.t_idx.next = (bit_cast::<3, 1>(self.t_z2.val().into()) << 2)
                | (bit_cast::<3, 1>(self.t_z1.val().into()) << 1)
                | bit_cast::<3, 1>(self.t_z0.val().into());
            self.t_a_g.next = (self.t_a_g.val() >> 1) | (bit_cast::<8, 1>((self.t_b.val() != 0).into()) << 7);
            self.t_i_g.next = (self.t_i_g.val() >> 4) | (bit_cast::<32, 3>(self.t_idx.val()) << 28);

            self.t_b.next = self.v_yf.q.val().get_bits::<8>(g * 8);
            self.t_z2.next = self.t_b.val().get_bits::<4>(0) == 0;
            self.t_n4.next = self.t_b.val().get_bits::<4>(0);
            if self.t_z2.val() {
                self.t_n4.next = self.t_b.val().get_bits::<4>(4);
            }
            self.t_z1.next = self.t_n4.val().get_bits::<2>(0) == 0;
            self.t_n2.next = self.t_n4.val().get_bits::<2>(0);
            if self.t_z1.val() {
                self.t_n2.next = self.t_n4.val().get_bits::<2>(2);
            }
            self.t_z0.next = !self.t_n2.val().get_bit(0);
            self.t_idx.next = (bit_cast::<3, 1>(self.t_z2.val().into()) << 2)
                | (bit_cast::<3, 1>(self.t_z1.val().into()) << 1)
                | bit_cast::<3, 1>(self.t_z0.val().into());
            self.t_a_yf.next = (self.t_a_yf.val() >> 1) | (bit_cast::<8, 1>((self.t_b.val() != 0).into()) << 7);
            self.t_i_yf.next = (self.t_i_yf.val() >> 4) | (bit_cast::<32, 3>(self.t_idx.val()) << 28);

            self.t_b.next = self.v_e.q.val().get_bits::<8>(g * 8);
            self.t_z2.next = self.t_b.val().get_bits::<4>(0) == 0;
            self.t_n4.next = self.t_b.val().get_bits::<4>(0);
            if self.t_z2.val() {
                self.t_n4.next = self.t_b.val().get_bits::<4>(4);
            }
            self.t_z1.next = self.t_n4.val().get_bits::<2>(0) == 0;
            self.t_n2.next = self.t_n4.val().get_bits::<2>(0);
            if self.t_z1.val() {
                self.t_n2.next = self.t_n4.val().get_bits::<2>(2);
            }
            self.t_z0.next = !self.t_n2.val().get_bit(0);
            self.t_idx.next = (bit_cast::<3, 1>(self.t_z2.val().into()) << 2)
                | (bit_cast::<3, 1>(self.t_z1.val().into()) << 1)
                | bit_cast::<3, 1>(self.t_z0.val().into());
            self.t_a_e.next = (self.t_a_e.val() >> 1) | (bit_cast::<8, 1>((self.t_b.val() != 0).into()) << 7);
            self.t_i_e.next = (self.t_i_e.val() >> 4) | (bit_cast::<32, 3>(self.t_idx.val()) << 28);

            self.t_b.next = self.v_s.q.val().get_bits::<8>(g * 8);
            self.t_a_s.next = (self.t_a_s.val() >> 1) | (bit_cast::<8, 1>((self.t_b.val() != 0).into()) << 7);
        }
        self.a_r.d.next = self.t_a_r.val();
        self.i_r.d.next = self.t_i_r.val();
        self.a_gf.d.next = self.t_a_gf.val();
        self.i_gf.d.next = self.t_i_gf.val();
        self.a_g.d.next = self.t_a_g.val();
        self.i_g.d.next = self.t_i_g.val();
        self.a_yf.d.next = self.t_a_yf.val();
        self.i_yf.d.next = self.t_i_yf.val();
        self.a_e.d.next = self.t_a_e.val();
        self.i_e.d.next = self.t_i_e.val();
        self.a_s.d.next = self.t_a_s.val();
        // Per class: the lowest group with one, and its lowest.
        self.k_s.d.next = self.a_s.q.val() != 0;

        self.t_b.next = self.a_r.q.val();
        self.t_z2.next = self.t_b.val().get_bits::<4>(0) == 0;
        self.t_n4.next = self.t_b.val().get_bits::<4>(0);
        if self.t_z2.val() {
            self.t_n4.next = self.t_b.val().get_bits::<4>(4);
        }
        self.t_z1.next = self.t_n4.val().get_bits::<2>(0) == 0;
        self.t_n2.next = self.t_n4.val().get_bits::<2>(0);
        if self.t_z1.val() {
            self.t_n2.next = self.t_n4.val().get_bits::<2>(2);
        }
        self.t_z0.next = !self.t_n2.val().get_bit(0);
        self.t_idx.next = (bit_cast::<3, 1>(self.t_z2.val().into()) << 2)
            | (bit_cast::<3, 1>(self.t_z1.val().into()) << 1)
            | bit_cast::<3, 1>(self.t_z0.val().into());
        self.t_g3.next = bit_cast::<5, 3>(self.t_idx.val()) << 2;
        self.k_r.d.next = self.t_b.val() != 0;
        self.t_sh.next = self.i_r.q.val() >> self.t_g3.val();
        self.q_r.d.next = (bit_cast::<QUEUE_COUNT_LOG2, 3>(self.t_idx.val()) << 3)
            | bit_cast::<QUEUE_COUNT_LOG2, 3>(self.t_sh.val().get_bits::<3>(0));

        self.t_b.next = self.a_gf.q.val();
        self.t_z2.next = self.t_b.val().get_bits::<4>(0) == 0;
        self.t_n4.next = self.t_b.val().get_bits::<4>(0);
        if self.t_z2.val() {
            self.t_n4.next = self.t_b.val().get_bits::<4>(4);
        }
        self.t_z1.next = self.t_n4.val().get_bits::<2>(0) == 0;
        self.t_n2.next = self.t_n4.val().get_bits::<2>(0);
        if self.t_z1.val() {
            self.t_n2.next = self.t_n4.val().get_bits::<2>(2);
        }
        self.t_z0.next = !self.t_n2.val().get_bit(0);
        self.t_idx.next = (bit_cast::<3, 1>(self.t_z2.val().into()) << 2)
            | (bit_cast::<3, 1>(self.t_z1.val().into()) << 1)
            | bit_cast::<3, 1>(self.t_z0.val().into());
        self.t_g3.next = bit_cast::<5, 3>(self.t_idx.val()) << 2;
        self.k_gf.d.next = self.t_b.val() != 0;
        self.t_sh.next = self.i_gf.q.val() >> self.t_g3.val();
        self.q_gf.d.next = (bit_cast::<QUEUE_COUNT_LOG2, 3>(self.t_idx.val()) << 3)
            | bit_cast::<QUEUE_COUNT_LOG2, 3>(self.t_sh.val().get_bits::<3>(0));

        self.t_b.next = self.a_g.q.val();
        self.t_z2.next = self.t_b.val().get_bits::<4>(0) == 0;
        self.t_n4.next = self.t_b.val().get_bits::<4>(0);
        if self.t_z2.val() {
            self.t_n4.next = self.t_b.val().get_bits::<4>(4);
        }
        self.t_z1.next = self.t_n4.val().get_bits::<2>(0) == 0;
        self.t_n2.next = self.t_n4.val().get_bits::<2>(0);
        if self.t_z1.val() {
            self.t_n2.next = self.t_n4.val().get_bits::<2>(2);
        }
        self.t_z0.next = !self.t_n2.val().get_bit(0);
        self.t_idx.next = (bit_cast::<3, 1>(self.t_z2.val().into()) << 2)
            | (bit_cast::<3, 1>(self.t_z1.val().into()) << 1)
            | bit_cast::<3, 1>(self.t_z0.val().into());
        self.t_g3.next = bit_cast::<5, 3>(self.t_idx.val()) << 2;
        self.k_g.d.next = self.t_b.val() != 0;
        self.t_sh.next = self.i_g.q.val() >> self.t_g3.val();
        self.q_g.d.next = (bit_cast::<QUEUE_COUNT_LOG2, 3>(self.t_idx.val()) << 3)
            | bit_cast::<QUEUE_COUNT_LOG2, 3>(self.t_sh.val().get_bits::<3>(0));

        self.t_b.next = self.a_yf.q.val();
        self.t_z2.next = self.t_b.val().get_bits::<4>(0) == 0;
        self.t_n4.next = self.t_b.val().get_bits::<4>(0);
        if self.t_z2.val() {
            self.t_n4.next = self.t_b.val().get_bits::<4>(4);
        }
        self.t_z1.next = self.t_n4.val().get_bits::<2>(0) == 0;
        self.t_n2.next = self.t_n4.val().get_bits::<2>(0);
        if self.t_z1.val() {
            self.t_n2.next = self.t_n4.val().get_bits::<2>(2);
        }
        self.t_z0.next = !self.t_n2.val().get_bit(0);
        self.t_idx.next = (bit_cast::<3, 1>(self.t_z2.val().into()) << 2)
            | (bit_cast::<3, 1>(self.t_z1.val().into()) << 1)
            | bit_cast::<3, 1>(self.t_z0.val().into());
        self.t_g3.next = bit_cast::<5, 3>(self.t_idx.val()) << 2;
        self.k_yf.d.next = self.t_b.val() != 0;
        self.t_sh.next = self.i_yf.q.val() >> self.t_g3.val();
        self.q_yf.d.next = (bit_cast::<QUEUE_COUNT_LOG2, 3>(self.t_idx.val()) << 3)
            | bit_cast::<QUEUE_COUNT_LOG2, 3>(self.t_sh.val().get_bits::<3>(0));

        self.t_b.next = self.a_e.q.val();
        self.t_z2.next = self.t_b.val().get_bits::<4>(0) == 0;
        self.t_n4.next = self.t_b.val().get_bits::<4>(0);
        if self.t_z2.val() {
            self.t_n4.next = self.t_b.val().get_bits::<4>(4);
        }
        self.t_z1.next = self.t_n4.val().get_bits::<2>(0) == 0;
        self.t_n2.next = self.t_n4.val().get_bits::<2>(0);
        if self.t_z1.val() {
            self.t_n2.next = self.t_n4.val().get_bits::<2>(2);
        }
        self.t_z0.next = !self.t_n2.val().get_bit(0);
        self.t_idx.next = (bit_cast::<3, 1>(self.t_z2.val().into()) << 2)
            | (bit_cast::<3, 1>(self.t_z1.val().into()) << 1)
            | bit_cast::<3, 1>(self.t_z0.val().into());
        self.t_g3.next = bit_cast::<5, 3>(self.t_idx.val()) << 2;
        self.k_e.d.next = self.t_b.val() != 0;
        self.t_sh.next = self.i_e.q.val() >> self.t_g3.val();
        self.q_e.d.next = (bit_cast::<QUEUE_COUNT_LOG2, 3>(self.t_idx.val()) << 3)
            | bit_cast::<QUEUE_COUNT_LOG2, 3>(self.t_sh.val().get_bits::<3>(0));
        // The classes in order.
        self.p_rany.d.next = self.k_r.q.val();
        self.p_rq.d.next = self.q_r.q.val();
        self.p_rq1h.d.next = bit_cast::<QUEUE_COUNT, 1>(true.into()) << self.q_r.q.val();
        self.p_any.d.next = self.k_e.q.val();
        self.p_green.d.next = self.k_g.q.val();
        self.p_stay.d.next = self.k_s.q.val();
        self.p_q.d.next = self.q_e.q.val();
        if self.k_yf.q.val() {
            self.p_q.d.next = self.q_yf.q.val();
        }
        if self.k_s.q.val() {
            self.p_q.d.next = self.drr_cur.q.val();
        }
        if self.k_g.q.val() {
            self.p_q.d.next = self.q_g.q.val();
        }
        if self.k_gf.q.val() {
            self.p_q.d.next = self.q_gf.q.val();
        }
        if self.settle.q.val() != 0 {
            self.settle.d.next = self.settle.q.val() - 1;
        }

        // A restart is done once the turns made before the last commit have
        // all retired, while the scheduler rests (it shares the head RAM's
        // write port).
        self.since_marker.next = self.retired.q.val() - self.marker.q.val();
        // (Registered: a commit moves the marker, and holds `settle` for
        // longer than that takes to show.)
        self.since_ok.d.next = !self.since_marker.val().get_bit(7);
        self.restart_now.next = self.p_rany.q.val()
            & (self.settle.q.val() == 0)
            & self.since_ok.q.val()
            & (self.sched.q.val() == Step::Idle);

        // The read request register: the descriptor stage goes first.
        self.rq_free.next = !self.rq_valid.q.val() | self.dma.rd_req_ready.val();
        self.dma.rd_req_valid.next = self.rq_valid.q.val();
        self.dma.rd_req_addr.next = self.rq_addr.q.val();
        self.dma.rd_req_len.next = self.rq_len.q.val();
        self.dma.rd_req_tag.next = self.rq_tag.q.val();
        if self.dma.rd_req_ready.val() {
            self.rq_valid.d.next = false;
        }

        // Descriptor stage (before the scheduler, which yields the request
        // register to it): the window's words are registered, then compared,
        // then decided on.
        self.cfg_desc.read_address.next = self.d_turn.q.val().queue;
        self.rs_d.next = self.restarts.q.val() >> self.d_turn.q.val().queue;
        // (The turn is loaded three cycles before its decision: a commit
        // in the cycle after the load is in `restarts` by the next.)
        self.hit_d.d.next =
            self.commit_in.val() & (self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0) == self.d_turn.q.val().queue);
        self.dd_stale.d.next = self.rs_d.val().get_bit(0) | self.hit_d.q.val();
        self.d_stale.next = self.dd_stale.q.val() | self.hit_d.q.val();
        self.dd_unres.d.next = self.cfg_desc.read_data.val().unrestricted;
        self.dd_base.d.next = self.cfg_desc.read_data.val().win_base;
        self.dd_limit.d.next = bit_cast::<65, 64>(self.cfg_desc.read_data.val().win_limit);
        self.dd_end.d.next = bit_cast::<65, 64>(self.d_desc.q.val().addr) + bit_cast::<65, 16>(self.d_desc.q.val().len);
        self.dd_bad_len.d.next =
            (self.d_desc.q.val().len < self.min_len.val()) | (self.d_desc.q.val().len > self.max_len.val());
        self.d_words.next = (bit_cast::<17, 16>(self.d_desc.q.val().len) + 7) >> 3;
        self.dd_words.d.next = self.d_words.val().get_bits::<10>(0);
        // The compares as subtractions' borrows, which go on carry chains.
        self.dd_lt.next = bit_cast::<65, 64>(self.d_desc.q.val().addr) - bit_cast::<65, 64>(self.dd_base.q.val());
        self.dd_gt.next = bit_cast::<66, 65>(self.dd_limit.q.val()) - bit_cast::<66, 65>(self.dd_end.q.val());
        self.dd_outside.d.next = !self.dd_unres.q.val() & (self.dd_lt.val().get_bit(64) | self.dd_gt.val().get_bit(65));
        self.d_used.next = self.reserved.q.val() - self.rp.q.val();
        self.dd_room.d.next =
            (bit_cast::<11, 10>(self.d_used.val()) + bit_cast::<11, 10>(self.dd_words.q.val())) <= 512;
        // A turn was charged a longest frame's wire bytes; give back what
        // this one does not use (all of it if nothing is sent).
        self.d_short.next = self.d_desc.q.val().len.get_bits::<12>(0);
        if self.d_desc.q.val().len < 60 {
            self.d_short.next = 60.into();
        }
        self.dd_refund.d.next = self.refund_base.val() - self.d_short.val();
        self.d_job.next.queue = self.d_turn.q.val().queue;
        self.d_job.next.idx = self.d_turn.q.val().idx;
        self.d_job.next.wb_addr = self.d_turn.q.val().wb_addr;
        self.d_job.next.len = self.d_desc.q.val().len;
        self.d_job.next.has_data = false;
        self.d_job.next.status = 1.into();
        if self.dd_bad_len.q.val() {
            self.d_job.next.status = 3.into();
        }
        self.d_reject.next = false;
        self.d_fetch.next = false;
        // When the descriptor stage may talk to the shaper or take the
        // request register: the scheduler stays out of its way.
        // (The FIFOs' room as of a cycle ago, with a place to spare: each
        // has one writer, that writes at most once a cycle.)
        self.jobs_ok.d.next = !self.jobs.almost_full.val();
        self.turns_ok.d.next = !self.turns.almost_full.val();
        self.d_may.next = (self.dstep.q.val() == Step::Decide) & self.jobs_ok.q.val();
        // (Registered: the FIFOs are read only on leaving Idle, never in
        // the cycle before it.)
        self.d_ne.d.next = !self.turns.empty.val() & !self.descs.empty.val();
        self.turns.read.next = false;
        self.descs.read.next = false;
        self.jobs.write.next = false;
        match self.dstep.q.val() {
            Step::Idle => {
                if self.d_ne.q.val() {
                    self.d_turn.d.next = self.turns.data_out.val();
                    self.d_desc.d.next = self.descs.data_out.val();
                    self.turns.read.next = true;
                    self.descs.read.next = true;
                    self.dstep.d.next = Step::Read;
                }
            }
            Step::Read => {
                self.dstep.d.next = Step::Load;
            }
            Step::Load => {
                self.dstep.d.next = Step::Check;
            }
            Step::Check => {
                self.dstep.d.next = Step::Decide;
            }
            Step::Decide => {
                if self.jobs_ok.q.val() {
                    if self.d_stale.val() | self.dd_bad_len.q.val() | self.dd_outside.q.val() {
                        self.d_reject.next = true;
                    } else if self.dd_room.q.val() & self.rq_free.val() {
                        self.d_fetch.next = true;
                    }
                }
            }
        }
        if self.d_fetch.val() {
            self.d_job.next.has_data = true;
            self.d_job.next.status = 0.into();
            self.rq_valid.d.next = true;
            self.rq_addr.d.next = self.d_desc.q.val().addr;
            self.rq_len.d.next = self.d_desc.q.val().len;
            self.rq_tag.d.next = 1.into();
            self.reserved.d.next = self.reserved.q.val() + self.dd_words.q.val();
        }
        self.jobs.data_in.next = self.d_job.val();
        if self.d_reject.val() | self.d_fetch.val() {
            self.jobs.write.next = true;
            self.dstep.d.next = Step::Idle;
        }

        // Scheduler: pick, read the queue's RAMs, register their words,
        // work out the descriptor's address, decide.
        self.cfg_sched.read_address.next = self.sched_q.q.val();
        self.heads.read_address.next = self.sched_q.q.val();
        self.tails.read_address.next = self.sched_q.q.val();
        self.sc_enable.d.next = self.cfg_sched.read_data.val().enable;
        self.sc_ring.d.next = self.cfg_sched.read_data.val().tx_ring;
        self.sc_log2.d.next = self.cfg_sched.read_data.val().tx_log2;
        self.sc_head.d.next = self.heads.read_data.val();
        self.sc_tail.d.next = self.tails.read_data.val();
        self.sc_work.d.next = self.sc_enable.q.val() & (self.sc_head.q.val() != self.sc_tail.q.val());
        // (The mask from a constant shifted: a LUT per bit, no carry chain.)
        self.slot.next = self.sc_head.q.val() & !(bit_cast::<16, 64>(self.ones.val()) << self.sc_log2.q.val());
        self.sc_desc.d.next = self.sc_ring.q.val() + (bit_cast::<64, 16>(self.slot.val()) << 4);
        self.sc_wb.d.next = self.sc_ring.q.val() + ((bit_cast::<64, 16>(self.slot.val()) << 4) | 8);
        self.sc_next.d.next = self.sc_head.q.val() + 1;
        self.turns.data_in.next.queue = self.sched_q.q.val();
        self.turns.data_in.next.green = self.sched_green.q.val();
        self.turns.data_in.next.idx = self.sc_head.q.val();
        self.turns.data_in.next.wb_addr = self.sc_wb.q.val();
        self.heads.write_address.next = self.sched_q.q.val();
        self.heads.write_data.next = self.sc_next.q.val();
        self.heads.write_enable.next = false;
        self.turns.write.next = false;
        self.sched_go.next = false;
        self.sched_clear.next = false;
        self.visit.next = false;
        self.rs_s.next = self.restarts.q.val() >> self.sched_q.q.val();
        self.hit_sc.d.next =
            self.commit_in.val() & (self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0) == self.sched_q.q.val());
        self.ss_r.d.next = self.rs_s.val().get_bit(0) | self.hit_sc.q.val();
        // (Both for use in Decide, three cycles after `sched_q` was set.)
        self.sched_1h.d.next = bit_cast::<QUEUE_COUNT, 1>(true.into()) << self.sched_q.q.val();
        self.rhit_sc.d.next =
            self.ring_in.val() & (self.doorbell.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0) == self.sched_q.q.val());
        self.sched_stale.next = self.ss_r.q.val() | self.hit_sc.q.val();
        if (self.sched.q.val() != Step::Idle) & self.ring.val() & (self.ring_q.val() == self.sched_q.q.val()) {
            self.db_hit.d.next = true;
        }
        match self.sched.q.val() {
            Step::Idle => {
                // Not while the descriptor stage talks to the shaper (one op
                // a cycle).
                if !self.restart_now.val()
                    & !self.commit.val()
                    & (self.settle.q.val() == 0)
                    & self.p_any.q.val()
                    & self.turns_ok.q.val()
                    & !self.d_may.val()
                {
                    self.sched_q.d.next = self.p_q.q.val();
                    self.db_hit.d.next = false;
                    self.sched.d.next = Step::Read;
                    self.sched_green.d.next = self.p_green.q.val();
                    if !self.p_green.q.val() {
                        self.drr_cur.d.next = self.p_q.q.val();
                        self.visit.next = !self.p_stay.q.val();
                    }
                }
            }
            Step::Read => {
                self.sched.d.next = Step::Load;
            }
            Step::Load => {
                self.sched.d.next = Step::Check;
            }
            Step::Check => {
                self.sched.d.next = Step::Decide;
            }
            Step::Decide => {
                if self.sched_stale.val() {
                    self.sched.d.next = Step::Idle;
                } else if self.sc_work.q.val() {
                    if self.rq_free.val() & !self.d_may.val() & self.turns_ok.q.val() {
                        self.sched_go.next = true;
                    }
                } else {
                    // Empty: forget the doorbell unless one came during the look.
                    self.sched_clear.next = !self.db_hit.q.val() & !self.rhit_sc.q.val();
                    self.rr_start.d.next = self.sched_q.q.val() + 1;
                    self.sched.d.next = Step::Idle;
                }
            }
        }
        // The shaper hears of every turn, visit and refund (never two in
        // one cycle: the scheduler yields to the descriptor stage), a cycle
        // later, from registers.
        self.sh_op.d.next = 0.into();
        self.sh_queue.d.next = self.p_q.q.val();
        self.sh_green.d.next = false;
        self.sh_bytes.d.next = 1546.into();
        if self.visit.val() {
            self.sh_op.d.next = 3.into();
        }
        if self.sched_go.val() {
            self.sh_op.d.next = 1.into();
            self.sh_queue.d.next = self.sched_q.q.val();
            self.sh_green.d.next = self.sched_green.q.val();
        }
        if self.d_reject.val() | self.d_fetch.val() {
            self.sh_op.d.next = 2.into();
            self.sh_queue.d.next = self.d_turn.q.val().queue;
            self.sh_green.d.next = self.d_turn.q.val().green;
        }
        if self.d_fetch.val() {
            self.sh_bytes.d.next = self.dd_refund.q.val();
        }
        self.shaper.op.next = self.sh_op.q.val();
        self.shaper.queue.next = self.sh_queue.q.val();
        self.shaper.green.next = self.sh_green.q.val();
        self.shaper.bytes.next = self.sh_bytes.q.val();
        if self.sched_go.val() {
            self.rq_valid.d.next = true;
            self.rq_addr.d.next = self.sc_desc.q.val();
            self.rq_len.d.next = 16.into();
            self.rq_tag.d.next = 0.into();
            self.turns.write.next = true;
            self.heads.write_enable.next = true;
            self.rr_start.d.next = self.sched_q.q.val() + 1;
            self.sched.d.next = Step::Idle;
        }
        // A turn leaves the shaper's answer to show in its bitmaps seven
        // cycles on (the op register, then the shaper's
        // `BITS_LATENCY`: `tx_shaper.rs`), then the pick's four stages;
        // any other change, the four stages and the masks.
        // (Spelled out from registers rather than through `sched_go`.)
        if (self.sched.q.val() == Step::Decide)
            & (self.sched_stale.val()
                | !self.sc_work.q.val()
                | (self.rq_free.val() & !self.d_may.val() & self.turns_ok.q.val()))
        {
            self.settle.d.next = 10.into();
        }
        self.sched_mask.next = 0.into();
        if self.sched_clear.val() {
            self.sched_mask.next = self.sched_1h.q.val();
        }
        self.pending.d.next =
            (self.pending.q.val() & !self.sched_mask.val() & !self.commit_mask.val()) | self.ring_mask.val();

        // Restarts.
        if self.commit.val() {
            self.settle.d.next = 6.into();
            self.marker.d.next = self.made.q.val();
            if self.sched_go.val() {
                self.marker.d.next = self.made.q.val() + 1;
            }
        }
        self.restart_mask.next = 0.into();
        if self.restart_now.val() {
            self.settle.d.next = 6.into();
            self.restart_mask.next = self.p_rq1h.q.val();
            self.heads.write_address.next = self.p_rq.q.val();
            self.heads.write_data.next = 0.into();
            self.heads.write_enable.next = true;
        }
        self.restarts.d.next = (self.restarts.q.val() & !self.restart_mask.val()) | self.commit_mask.val();

        // Read responses: always taken. Descriptors go to their FIFO (room
        // is there: it is as deep as the turn FIFO), frame data to the word
        // buffer (room was reserved).
        self.dma.rd_rsp_ready.next = true;
        self.words.write_address.next = self.wp.q.val().get_bits::<WORDS_LOG2>(0);
        self.words.write_data.next = self.dma.rd_rsp_data.val();
        self.words.write_enable.next = false;
        self.descs.data_in.next.addr = self.first_word.q.val();
        self.descs.data_in.next.len = self.dma.rd_rsp_data.val().get_bits::<16>(0);
        self.descs.write.next = false;
        if self.dma.rd_rsp_valid.val() {
            if self.dma.rd_rsp_tag.val().get_bit(0) {
                self.words.write_enable.next = true;
                self.wp.d.next = self.wp.q.val() + 1;
            } else if self.dma.rd_rsp_last.val() {
                self.descs.write.next = true;
            } else {
                self.first_word.d.next = self.dma.rd_rsp_data.val();
            }
        }
        self.wp_late.d.next = self.wp.q.val();

        // Serializer. A frame starts only if the FIFO is sure to hold it
        // (counting bytes until they leave, so the FIFO never overflows),
        // or if it is stale, as it will not go into the FIFO. Whether the
        // head job may start is registered, and not trusted in the cycle
        // after a job was taken.
        self.rs_h.next = self.restarts.q.val() >> self.jobs.data_out.val().queue;
        // (The FIFO's room as of a few cycles ago: it only grows meanwhile,
        // but for a start, and the next start comes only after that frame
        // has been emitted or flushed, which takes longer than its bytes
        // take to be counted: start, `s_add`, `s_net`, `fifo_used`.)
        // (A cycle late, which only holds a start back: a restart does not
        // end while a job of its queue waits.)
        self.s_hs_r.d.next = self.rs_h.val().get_bit(0);
        self.s_head_stale.next = self.s_hs_r.q.val() & self.s_hv_r.q.val();
        self.s_room.d.next = 4095 - bit_cast::<16, 13>(self.fifo_used.q.val());
        self.s_lm1.next = self.jobs.data_out.val().len - 1;
        self.s_lw.next = self.s_lm1.val() >> 3;
        // (The job FIFO's head and the finished FIFO's room as of a cycle
        // ago: the head is taken only here, and the finished FIFO, written
        // only by the serializer, keeps a place to spare.)
        self.s_start.next = !self.s_active.q.val() & self.s_start_ok.q.val();
        self.s_start_ok.d.next = (!self.jobs.data_out.val().has_data
            | (self.jobs.data_out.val().len <= self.s_room.q.val())
            | self.s_head_stale.val())
            & !self.jobs.empty.val()
            & !self.finished.almost_full.val()
            & !self.s_start.val();
        self.jobs.read.next = self.s_start.val();
        self.s_hv_r.d.next = !self.jobs.empty.val() & !self.s_start.val();
        self.s_next_q.next = self.s_job.q.val().queue;
        if !self.s_active.q.val() {
            self.s_next_q.next = self.jobs.data_out.val().queue;
        }
        // (While free, the head job's: what a start loads next cycle.)
        self.cfg_tpl.read_address.next = self.s_next_q.val();
        self.rs_j.next = self.restarts.q.val() >> self.s_job.q.val().queue;
        self.hit_s.d.next =
            self.commit_in.val() & (self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0) == self.s_next_q.val());
        self.s_stale_r.d.next = self.rs_j.val().get_bit(0) | self.hit_s.q.val();
        self.s_stale.next = self.s_stale_r.q.val() | self.hit_s.q.val();
        // A word may be used once it was written two cycles ago: one for
        // the write, one for the RAM's read.
        // (An equality, not a subtraction: no carry chain on this path.)
        // Precomputed for either way the read pointer goes: the pointers
        // as they will be next cycle (`wp_late` will be `wp`).
        self.s_has_a.d.next = self.wp.q.val() != self.rp.q.val();
        self.s_has_b.d.next = self.wp.q.val() != (self.rp1x.q.val() ^ 1);
        self.s_has.next = self.s_has_a.q.val();
        if self.s_adv.q.val() {
            self.s_has.next = self.s_has_b.q.val();
        }
        self.s_emit.next = self.s_run.q.val()
            & self.s_has.val()
            & !self.s_stale.val();
        // Whether `s_pos` is the last byte's, kept as the bytes go (a
        // stale frame's skips leave it wrong, but no byte of it is emitted
        // after that).
        self.s_is_last.next = self.s_last_r.q.val();
        self.s_word_end.next = (self.s_pos.q.val().get_bits::<3>(0) == 7) | self.s_is_last.val();
        // A stale frame is flushed a word per cycle as its words arrive;
        // if it had begun to enter the FIFO, one more beat ends it there
        // with `error`, which rolls it back.
        self.s_cut.next = self.s_run.q.val()
            & self.s_stale.val()
            & self.s_emitted.q.val();
        self.s_skip.next = self.s_run.q.val()
            & self.s_stale.val()
            & self.s_has.val();
        self.s_flush_end.next = self.s_skip.val() & (self.s_pos.q.val().get_bits::<13>(3) == self.s_last_word.q.val());
        self.s_rp_next.next = self.rp.q.val();
        self.s_adv.d.next = (self.s_emit.val() & self.s_word_end.val()) | self.s_skip.val();
        if (self.s_emit.val() & self.s_word_end.val()) | self.s_skip.val() {
            self.s_rp_next.next = self.rp1x.q.val() ^ 1;
            self.rp1x.d.next = ((self.rp1x.q.val() ^ 1) + 1) ^ 1;
        }
        self.words.read_address.next = self.s_rp_next.val().get_bits::<WORDS_LOG2>(0);
        self.rp.d.next = self.s_rp_next.val();
        // Stage e: the word and which byte of it.
        self.e_word.d.next = self.words.read_data.val();
        self.e_sel.d.next = self.s_pos.q.val().get_bits::<3>(0);
        self.e_valid.d.next = self.s_emit.val() | self.s_cut.val();
        self.e_last.d.next = (self.s_emit.val() & self.s_is_last.val()) | self.s_cut.val();
        self.e_cut.d.next = self.s_cut.val();
        self.e_end.d.next = self.s_emit.val() & self.s_is_last.val();
        self.e_flush.d.next = self.s_flush_end.val();
        // Stage b: the byte, into the template check.
        self.e_shift.next = self.e_word.q.val() >> (bit_cast::<64, 3>(self.e_sel.q.val()) << 3);
        self.b_byte.d.next = self.e_shift.val().get_bits::<8>(0);
        self.b_valid.d.next = self.e_valid.q.val();
        self.b_last.d.next = self.e_last.q.val();
        self.b_cut.d.next = self.e_cut.q.val();
        self.b_end.d.next = self.e_end.q.val();
        self.b_flush.d.next = self.e_flush.q.val();
        self.tpl_check.data.next = self.b_byte.q.val();
        self.tpl_check.valid.next = self.b_valid.q.val();
        self.tpl_check.last.next = self.b_last.q.val();
        self.tpl_check.settings.next = self.s_cfg.q.val();
        // Stage v: waits for the check's second step.
        self.v_byte.d.next = self.b_byte.q.val();
        self.v_valid.d.next = self.b_valid.q.val();
        self.v_last.d.next = self.b_last.q.val();
        self.v_cut.d.next = self.b_cut.q.val();
        self.v_end.d.next = self.b_end.q.val();
        self.v_flush.d.next = self.b_flush.q.val();
        self.b_chk.d.next = self.e_end.q.val() & !self.s_cfg.q.val().unrestricted;
        self.v_chk.d.next = self.b_chk.q.val();
        // Stage c: the byte and the verdict, into the FIFO.
        self.c_byte.d.next = self.v_byte.q.val();
        self.c_valid.d.next = self.v_valid.q.val();
        self.c_last.d.next = self.v_last.q.val();
        self.c_cut.d.next = self.v_cut.q.val();
        self.c_end.d.next = self.v_end.q.val();
        self.c_flush.d.next = self.v_flush.q.val();
        self.c_chk.d.next = self.v_chk.q.val();
        self.c_fail.next = self.c_chk.q.val() & !self.tpl_check.ok.val();
        self.out_fifo.frames_in.data.next = self.c_byte.q.val();
        self.out_fifo.frames_in.valid.next = self.c_valid.q.val();
        self.out_fifo.frames_in.last.next = self.c_last.q.val();
        self.out_fifo.frames_in.error.next = self.c_fail.val() | self.c_cut.q.val();
        FrameSource::link(&mut self.frames_out, &mut self.out_fifo.frames_out);
        if self.s_active.q.val() & !self.s_ready.q.val() {
            self.s_ready.d.next = true;
            self.s_run.d.next = true;
            self.s_cfg.d.next = self.cfg_tpl.read_data.val();
        }
        if self.s_emit.val() {
            self.s_pos.d.next = self.s_pos.q.val() + 1;
            self.s_last_r.d.next = self.s_pos.q.val() == self.s_last_pm1.q.val();
            self.s_emitted.d.next = !self.s_is_last.val();
        }
        if self.s_skip.val() {
            self.s_pos.d.next = (self.s_pos.q.val() | 7) + 1;
        }
        if self.s_cut.val() {
            self.s_emitted.d.next = false;
        }
        if (self.s_emit.val() & self.s_is_last.val()) | self.s_flush_end.val() {
            self.s_drain.d.next = true;
            self.s_run.d.next = false;
        }
        // The frame is done when its last byte or its flush leaves stage c.
        self.s_fin.next = self.c_end.q.val() | self.c_flush.q.val();
        self.s_done.next = self.s_job.q.val();
        self.s_done.next.status = 0.into();
        if self.c_fail.val() {
            self.s_done.next.status = 4.into();
        }
        if !self.s_active.q.val() {
            self.s_done.next = self.jobs.data_out.val();
        }
        self.finished.data_in.next = self.s_done.val();
        self.finished.write.next = self.s_fin.val();
        if self.s_start.val() {
            if self.jobs.data_out.val().has_data {
                self.s_active.d.next = true;
                self.s_ready.d.next = false;
                self.s_drain.d.next = false;
                self.s_run.d.next = false;
                self.s_emitted.d.next = false;
                self.s_job.d.next = self.jobs.data_out.val();
                self.s_pos.d.next = 0.into();
                // (No frame is one byte long.)
                self.s_last_r.d.next = false;
                self.s_last_pm1.d.next = self.s_lm1.val() - 1;
                self.s_last_word.d.next = self.s_lw.val().get_bits::<13>(0);
            } else {
                self.finished.write.next = true;
            }
        }
        if self.s_fin.val() {
            self.s_active.d.next = false;
        }
        self.s_add.d.next = 0.into();
        if self.s_start.val() & self.jobs.data_out.val().has_data {
            self.s_add.d.next = self.jobs.data_out.val().len.get_bits::<13>(0);
        }
        self.s_sub.d.next = 0.into();
        if self.c_flush.q.val() | (self.c_end.q.val() & self.c_fail.val()) {
            self.s_sub.d.next = self.s_job.q.val().len.get_bits::<13>(0);
        }
        // Summed in two steps: the change, then the count (a cycle later,
        // which the start's check allows for: see above).
        self.s_pop.d.next = self.frames_out.valid.val() & self.frames_out.ready.val();
        self.s_net.d.next = self.s_add.q.val() - self.s_sub.q.val() - bit_cast::<13, 1>(self.s_pop.q.val().into());
        self.fifo_used.d.next = self.fifo_used.q.val() + self.s_net.q.val();

        // Write-back stage, its outputs from registers. A request or the
        // notices show from the cycle after they are set up; in that first
        // cycle (`w_fresh`) they are held back if the turn is stale by then
        // (`w_kill`), and dropped; once shown they stay until taken. The
        // stage retires a turn in the cycle after `w_retire` is set.
        self.w_next_q.next = self.w_job.q.val().queue;
        if self.wstep.q.val() == WbStep::Idle {
            self.w_next_q.next = self.finished.data_out.val().queue;
        }
        self.hit_w.d.next =
            self.commit_in.val() & (self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0) == self.w_next_q.val());
        self.w_hit.next = self.hit_w.q.val();
        self.rs_w.next = self.restarts.q.val() >> self.w_job.q.val().queue;
        self.w_stale_r.d.next = self.rs_w.val().get_bit(0) | self.w_hit.val();
        self.w_kill.next = self.w_fresh.q.val() & (self.w_stale_r.q.val() | self.w_hit.val());
        self.w_fresh.d.next = false;
        self.w_retire.d.next = self.w_kill.val();
        self.dma.wr_req_valid.next = self.w_req.q.val() & !self.w_kill.val();
        self.dma.wr_req_addr.next = self.w_job.q.val().wb_addr;
        self.dma.wr_req_len.next = 8.into();
        self.dma.wr_data_valid.next = self.w_data.q.val();
        self.dma.wr_data.next = bit_cast::<64, 16>(self.w_job.q.val().len)
            | (bit_cast::<64, QUEUE_COUNT_LOG2>(self.w_job.q.val().queue) << 16)
            | (bit_cast::<64, 4>(self.w_job.q.val().status) << 28)
            | (bit_cast::<64, 1>(true.into()) << 63);
        self.dma.wr_data_last.next = true;
        self.completion.valid.next = self.cpl_v.q.val() & !self.w_kill.val();
        self.completion.queue.next = bit_cast::<QUEUE_BITS, QUEUE_COUNT_LOG2>(self.w_job.q.val().queue);
        self.completion.is_tx.next = true;
        self.completion.done.next = self.w_done.q.val();
        self.qcount.valid.next = self.qc_v.q.val() & !self.w_kill.val();
        self.qcount.queue.next = bit_cast::<QUEUE_BITS, QUEUE_COUNT_LOG2>(self.w_job.q.val().queue);
        self.qcount.counter.next = 3.into();
        if self.w_job.q.val().status == 0 {
            self.qcount.counter.next = 2.into();
        }
        self.count_pulse.d.next = 0.into();
        self.counts.next = self.count_pulse.q.val();
        if self.w_kill.val() {
            self.counts.next = 0.into();
        }
        self.finished.read.next = false;
        self.retire.next = false;
        self.w_cpl_left.next = self.cpl_v.q.val() & !self.completion.ready.val();
        self.w_qc_left.next = self.qc_v.q.val() & !self.qcount.ready.val();
        match self.wstep.q.val() {
            WbStep::Idle => {
                if !self.finished.empty.val() {
                    self.w_job.d.next = self.finished.data_out.val();
                    self.w_done.d.next = self.finished.data_out.val().idx + 1;
                    self.finished.read.next = true;
                    self.wstep.d.next = WbStep::Prep;
                }
            }
            WbStep::Prep => {
                self.w_req.d.next = true;
                self.w_fresh.d.next = true;
                self.wstep.d.next = WbStep::Request;
            }
            WbStep::Request => {
                if self.w_retire.q.val() {
                    self.retire.next = true;
                } else if self.w_kill.val() {
                    self.w_req.d.next = false;
                } else if self.dma.wr_req_ready.val() {
                    // The request went out: its data must follow.
                    self.w_req.d.next = false;
                    self.w_data.d.next = true;
                    self.wstep.d.next = WbStep::Data;
                }
            }
            WbStep::Data => {
                if self.dma.wr_data_ready.val() {
                    self.w_data.d.next = false;
                    self.w_fresh.d.next = true;
                    self.cpl_v.d.next = true;
                    self.qc_v.d.next = true;
                    if self.w_job.q.val().status == 1 {
                        self.count_pulse.d.next = 1.into();
                    }
                    if self.w_job.q.val().status == 4 {
                        self.count_pulse.d.next = 2.into();
                    }
                    if self.w_job.q.val().status == 3 {
                        self.count_pulse.d.next = 4.into();
                    }
                    self.wstep.d.next = WbStep::Notify;
                }
            }
            WbStep::Notify => {
                if self.w_retire.q.val() {
                    self.retire.next = true;
                } else if self.w_kill.val() {
                    self.cpl_v.d.next = false;
                    self.qc_v.d.next = false;
                } else {
                    self.cpl_v.d.next = self.w_cpl_left.val();
                    self.qc_v.d.next = self.w_qc_left.val();
                    if !self.w_cpl_left.val() & !self.w_qc_left.val() {
                        self.w_retire.d.next = true;
                    }
                }
            }
        }
        if self.retire.val() {
            self.wstep.d.next = WbStep::Idle;
        }
        if self.sched_go.val() {
            self.made.d.next = self.made.q.val() + 1;
        }
        if self.retire.val() {
            self.retired.d.next = self.retired.q.val() + 1;
        }
    }
}

/// Cycles from one scheduling decision to the next when nothing else holds
/// the scheduler back: eight queues have work, the shaper lets every queue
/// through and the DMA port takes each request at once. Measured over the
/// turns the turn FIFO holds (no descriptor ever answers), for the
/// benchmark's `rate.decision_cycles`.
pub fn decision_cycles() -> f64 {
    use crate::harness::Harness;
    let mut h = Harness::new(TxEngine::new(&NicParams::default()), |e| &mut e.clock);
    h.uut.shaper.ceiling_ok.next = u64::MAX.into();
    h.uut.shaper.deficit_ok.next = u64::MAX.into();
    h.uut.dma.rd_req_ready.next = true;
    h.uut.frames_out.ready.next = true;
    for q in 0..8u64 {
        h.uut.settings.write.next = true;
        h.uut.settings.queue.next = q.into();
        h.uut.settings.settings.next = QueueConfig {
            enable: true,
            tx_ring: (0x1000_0000 + (q << 16)).into(),
            tx_log2: 4.into(),
            ..Default::default()
        };
        h.cycle();
    }
    h.uut.settings.write.next = false;
    while h.uut.cfg_busy.val() {
        h.cycle();
    }
    for q in 0..8u64 {
        h.uut.doorbell.valid.next = true;
        h.uut.doorbell.queue.next = q.into();
        h.uut.doorbell.kind.next = 1.into();
        h.uut.doorbell.value.next = 10.into();
        h.cycle();
    }
    h.uut.doorbell.valid.next = false;
    let mut turns = vec![];
    for _ in 0..200 {
        h.settle();
        if h.uut.dma.rd_req_valid.val() && h.uut.dma.rd_req_ready.val() {
            turns.push(h.cycles);
        }
        h.cycle();
    }
    assert!(turns.len() >= 2, "the scheduler took {} turns", turns.len());
    (turns[turns.len() - 1] - turns[0]) as f64 / (turns.len() - 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::tx_template::model_ok;
    use crate::blocks::tx_template::tests::{config_of, eth, l4, udp4, IP4, MAC};
    use crate::harness::Harness;
    use crate::ports::queue::{QCOUNT_TX_REJECTED, QCOUNT_TX_SENT};
    use crate::queue::{post_word, QueueSettings, Status, Template, WriteBack};
    use std::collections::{HashMap, VecDeque};
    use std::net::IpAddr;

    /// Queue q's ring lives at `ring_of(q)`; buffers are placed by each test.
    fn ring_of(q: usize) -> u64 {
        0x4000_0000 + q as u64 * 0x10_0000
    }

    struct PendingRead {
        at: u64,
        addr: u64,
        len: u64,
        tag: u64,
        sent: u64,
    }

    #[derive(Clone, Copy, Debug)]
    struct Access {
        cycle: u64,
        write: bool,
        addr: u64,
        len: u64,
        tag: u64,
    }

    /// What the host posted on one descriptor, and what must come of it.
    #[derive(Clone, Debug)]
    struct Posted {
        idx: u16,
        len: u16,
        status: Status,
    }

    /// The engine with host memory behind its DMA port (reads answered in
    /// request order after a latency, at most 32 outstanding), a MAC that
    /// idles `gap` cycles after each frame, and a host that posts and rings.
    struct Bench {
        h: Harness<TxEngine>,
        mem: HashMap<u64, u8>,
        latency: u64,
        reads: VecDeque<PendingRead>,
        write: Option<(u64, u64, u64)>,
        log: Vec<Access>,
        gap: u64,
        gap_left: u64,
        cur: Vec<u8>,
        frames: Vec<Vec<u8>>,
        frame_ends: Vec<u64>,
        /// (address, word) of every 8-byte write.
        wbs: Vec<(u64, u64)>,
        completions: Vec<(usize, u16)>,
        qcounts: Vec<(usize, u64)>,
        counts: [u64; 3],
        notify_ready: fn(u64) -> bool,
        /// Whether the host takes DMA requests and write data this cycle.
        dma_ready: fn(u64) -> bool,
        /// Handshakes left waiting last cycle, with what they carried: they
        /// must still be there, unchanged.
        waiting: Vec<(&'static str, Vec<u64>)>,
        /// Wire accounting while `measure`: cycles the MAC was ready, and
        /// cycles it took a byte.
        measure: bool,
        ready_cycles: u64,
        busy_cycles: u64,
        settings: Vec<QueueSettings>,
        tails: Vec<u16>,
        posted: Vec<Vec<Posted>>,
        /// Which (queue, index) each frame came from.
        ids: HashMap<Vec<u8>, (usize, u16)>,
        /// The shaper's side: its bitmaps as the bench drives them, and the
        /// ops the engine sent, as (cycle, op, queue, green, bytes).
        green_ok: u64,
        ceiling_ok: u64,
        deficit_ok: u64,
        ops: Vec<(u64, u64, usize, bool, u64)>,
        /// Byte deficits as the shaper keeps them (`shaping`), or, when
        /// `None`, a visit allows one turn: plain round robin.
        deficits: Option<Vec<i64>>,
    }

    impl Bench {
        fn new(latency: u64, gap: u64) -> Self {
            let mut h = Harness::new(TxEngine::new(&NicParams::default()), |e| &mut e.clock);
            h.uut.frames_out.ready.next = true;
            Self {
                h,
                mem: HashMap::new(),
                latency,
                reads: VecDeque::new(),
                write: None,
                log: vec![],
                gap,
                gap_left: 0,
                cur: vec![],
                frames: vec![],
                frame_ends: vec![],
                wbs: vec![],
                completions: vec![],
                qcounts: vec![],
                counts: [0; 3],
                notify_ready: |_| true,
                dma_ready: |_| true,
                waiting: vec![],
                measure: false,
                ready_cycles: 0,
                busy_cycles: 0,
                settings: vec![QueueSettings::default(); QUEUE_COUNT],
                tails: vec![0; QUEUE_COUNT],
                posted: vec![vec![]; QUEUE_COUNT],
                ids: HashMap::new(),
                green_ok: 0,
                ceiling_ok: u64::MAX,
                deficit_ok: 0,
                ops: vec![],
                deficits: None,
            }
        }

        /// What the shaper would make of an op, for the deficit bits.
        fn shaper_op(&mut self, c: u64, op: u64, q: usize, green: bool, bytes: u64) {
            use crate::shaping::{quantum, ADMIT_BYTES, DEFICIT_CAP_QUANTA};
            self.ops.push((c, op, q, green, bytes));
            let bit = 1u64 << q;
            match (&mut self.deficits, op) {
                (None, 3) => self.deficit_ok |= bit,
                (None, 1) if !green => self.deficit_ok &= !bit,
                (Some(d), 3) => {
                    d[q] = (d[q] + quantum(1) as i64)
                        .min(DEFICIT_CAP_QUANTA as i64 * quantum(1) as i64 + ADMIT_BYTES as i64)
                }
                (Some(d), 1) if !green => d[q] -= ADMIT_BYTES as i64,
                (Some(d), 2) if !green => d[q] += bytes as i64,
                _ => {}
            }
            if let Some(d) = &self.deficits {
                self.deficit_ok = (0..QUEUE_COUNT).filter(|&i| d[i] >= 0).fold(0, |m, i| m | 1 << i);
            }
        }

        fn poke(&mut self, addr: u64, bytes: &[u8]) {
            for (i, &b) in bytes.iter().enumerate() {
                self.mem.insert(addr.wrapping_add(i as u64), b);
            }
        }

        /// One clock cycle with the host side's inputs driven.
        fn step(&mut self) {
            let c = self.h.cycles;
            let u = &mut self.h.uut;
            u.dma.rd_req_ready.next = self.reads.len() < 32 && (self.dma_ready)(c);
            u.dma.wr_req_ready.next = self.write.is_none() && (self.dma_ready)(c + 1);
            u.dma.wr_data_ready.next = self.write.is_some() && (self.dma_ready)(c + 2);
            u.dma.rd_rsp_valid.next = false;
            u.dma.rd_rsp_last.next = false;
            if let Some(r) = self.reads.front().filter(|r| r.at <= c) {
                let n = (r.len - r.sent).min(8);
                let mut beat = [0u8; 8];
                for i in 0..n {
                    beat[i as usize] = *self.mem.get(&r.addr.wrapping_add(r.sent + i)).unwrap_or(&0);
                }
                u.dma.rd_rsp_valid.next = true;
                u.dma.rd_rsp_data.next = u64::from_le_bytes(beat).into();
                u.dma.rd_rsp_tag.next = r.tag.into();
                u.dma.rd_rsp_last.next = r.sent + n == r.len;
            }
            u.frames_out.ready.next = self.gap_left == 0;
            u.shaper.green_ok.next = self.green_ok.into();
            u.shaper.ceiling_ok.next = self.ceiling_ok.into();
            u.shaper.deficit_ok.next = self.deficit_ok.into();
            u.completion.ready.next = (self.notify_ready)(c);
            u.qcount.ready.next = (self.notify_ready)(c.wrapping_add(3));
            self.h.settle();

            let u = &self.h.uut;
            assert!(u.dma.rd_rsp_ready.val(), "read responses must never be held");
            let d = &u.dma;
            let shown: [(&'static str, bool, bool, Vec<u64>); 5] = [
                (
                    "read request",
                    d.rd_req_valid.val(),
                    d.rd_req_ready.val(),
                    vec![u64::from(d.rd_req_addr.val()), u64::from(d.rd_req_len.val()), u64::from(d.rd_req_tag.val())],
                ),
                (
                    "write request",
                    d.wr_req_valid.val(),
                    d.wr_req_ready.val(),
                    vec![u64::from(d.wr_req_addr.val()), u64::from(d.wr_req_len.val())],
                ),
                (
                    "write data",
                    d.wr_data_valid.val(),
                    d.wr_data_ready.val(),
                    vec![u64::from(d.wr_data.val()), d.wr_data_last.val() as u64],
                ),
                (
                    "completion",
                    u.completion.valid.val(),
                    u.completion.ready.val(),
                    vec![u64::from(u.completion.queue.val()), u64::from(u.completion.done.val())],
                ),
                (
                    "queue count",
                    u.qcount.valid.val(),
                    u.qcount.ready.val(),
                    vec![u64::from(u.qcount.queue.val()), u64::from(u.qcount.counter.val())],
                ),
            ];
            for (name, payload) in std::mem::take(&mut self.waiting) {
                let now = shown.iter().find(|s| s.0 == name).unwrap();
                assert!(now.1 && now.3 == payload, "{name} withdrawn or changed while waiting, cycle {c}");
            }
            self.waiting = shown.into_iter().filter(|s| s.1 && !s.2).map(|s| (s.0, s.3)).collect();
            assert!(!u.frames_out.error.val());
            if u.dma.rd_rsp_valid.val() {
                let r = self.reads.front_mut().unwrap();
                r.sent = (r.sent + 8).min(r.len);
                if r.sent == r.len {
                    self.reads.pop_front();
                }
            }
            if u.dma.rd_req_valid.val() && u.dma.rd_req_ready.val() {
                let (addr, len, tag) = (
                    u64::from(u.dma.rd_req_addr.val()),
                    u64::from(u.dma.rd_req_len.val()),
                    u64::from(u.dma.rd_req_tag.val()),
                );
                assert!(len > 0 && tag < 64);
                self.log.push(Access { cycle: c, write: false, addr, len, tag });
                self.reads.push_back(PendingRead { at: c + self.latency, addr, len, tag, sent: 0 });
            }
            if u.dma.wr_data_valid.val() && u.dma.wr_data_ready.val() {
                let (addr, len, written) = self.write.take().unwrap();
                let word = u64::from(u.dma.wr_data.val());
                let n = (len - written).min(8);
                assert_eq!(u.dma.wr_data_last.val(), written + n == len);
                for (i, &x) in word.to_le_bytes()[..n as usize].iter().enumerate() {
                    self.mem.insert(addr + written + i as u64, x);
                }
                if len == 8 {
                    self.wbs.push((addr, word));
                }
                if written + n < len {
                    self.write = Some((addr, len, written + n));
                }
            }
            if u.dma.wr_req_valid.val() && u.dma.wr_req_ready.val() {
                let (addr, len) = (u64::from(u.dma.wr_req_addr.val()), u64::from(u.dma.wr_req_len.val()));
                self.log.push(Access { cycle: c, write: true, addr, len, tag: 0 });
                self.write = Some((addr, len, 0));
            }
            let beat = u.frames_out.valid.val() && u.frames_out.ready.val();
            if self.measure && u.frames_out.ready.val() {
                self.ready_cycles += 1;
                self.busy_cycles += beat as u64;
            }
            if beat {
                self.cur.push(u64::from(u.frames_out.data.val()) as u8);
            }
            if beat && u.frames_out.last.val() {
                self.frames.push(std::mem::take(&mut self.cur));
                self.frame_ends.push(c);
                self.gap_left = self.gap;
            } else if self.gap_left > 0 {
                self.gap_left -= 1;
            }
            if u.completion.valid.val() && u.completion.ready.val() {
                assert!(u.completion.is_tx.val());
                self.completions
                    .push((u64::from(u.completion.queue.val()) as usize, u64::from(u.completion.done.val()) as u16));
            }
            if u.qcount.valid.val() && u.qcount.ready.val() {
                self.qcounts.push((u64::from(u.qcount.queue.val()) as usize, u64::from(u.qcount.counter.val())));
            }
            let counts = u64::from(u.counts.val());
            for (i, n) in self.counts.iter_mut().enumerate() {
                *n += (counts >> i) & 1;
            }
            let op = u64::from(u.shaper.op.val());
            if op != 0 {
                let (q, green, bytes) =
                    (u64::from(u.shaper.queue.val()) as usize, u.shaper.green.val(), u64::from(u.shaper.bytes.val()));
                self.shaper_op(c, op, q, green, bytes);
            }
            self.h.cycle();
            self.h.uut.settings.write.next = false;
            self.h.uut.doorbell.valid.next = false;
        }

        /// Runs until every posted descriptor on `queues` is finished and
        /// every good frame has left, then a little longer.
        fn finish(&mut self, queues: &[usize], limit: u64) {
            let all: Vec<&Posted> = queues.iter().flat_map(|&q| &self.posted[q]).collect();
            let (total, ok) = (all.len(), all.iter().filter(|p| p.status == Status::Ok).count());
            self.run_until(limit, |b| b.completions.len() >= total && b.frames.len() >= ok);
            self.run(200);
            self.check_finished(queues);
        }

        fn run(&mut self, cycles: u64) {
            for _ in 0..cycles {
                self.step();
            }
        }

        /// Runs until `done`, failing after `limit` cycles.
        fn run_until(&mut self, limit: u64, done: impl Fn(&Bench) -> bool) {
            for _ in 0..limit {
                if done(self) {
                    return;
                }
                self.step();
            }
            panic!("timed out at cycle {}", self.h.cycles);
        }

        fn commit(&mut self, q: usize, s: QueueSettings) {
            self.settings[q] = s;
            self.tails[q] = 0;
            let u = &mut self.h.uut;
            u.settings.write.next = true;
            u.settings.queue.next = (q as u64).into();
            u.settings.settings.next = config_of(&s);
            self.step();
            self.run(4);
        }

        fn wait_idle_config(&mut self) {
            self.run_until(20_000, |b| !b.h.uut.cfg_busy.val());
        }

        /// Writes `frame` at `addr` and posts it on q's ring with length
        /// `len` (normally the frame's), expecting `status`.
        fn post(&mut self, q: usize, addr: u64, frame: &[u8], len: u16, status: Status) {
            let s = self.settings[q];
            let idx = self.tails[q];
            let slot = idx as u64 & ((1 << s.tx_log2) - 1);
            self.poke(addr, frame);
            let d = s.tx_ring + slot * 16;
            self.poke(d, &addr.to_le_bytes());
            self.poke(d + 8, &post_word(len).to_le_bytes());
            self.tails[q] = idx.wrapping_add(1);
            if status == Status::Ok {
                assert!(self.ids.insert(frame[..len as usize].to_vec(), (q, idx)).is_none(), "test frames must differ");
            }
            self.posted[q].push(Posted { idx, len, status });
        }

        fn ring(&mut self, q: usize) {
            let u = &mut self.h.uut;
            u.doorbell.valid.next = true;
            u.doorbell.queue.next = (q as u64).into();
            u.doorbell.kind.next = 1.into();
            u.doorbell.value.next = (self.tails[q] as u64).into();
            self.step();
        }

        /// Write-backs seen for queue q's ring, as (slot, decoded word).
        fn writebacks(&self, q: usize) -> Vec<(u64, WriteBack)> {
            let s = self.settings[q];
            let end = s.tx_ring + (16 << s.tx_log2);
            self.wbs
                .iter()
                .filter(|(a, _)| *a >= s.tx_ring && *a < end)
                .map(|&(a, w)| {
                    assert_eq!((a - s.tx_ring) % 16, 8, "write-back at a descriptor's first word");
                    ((a - s.tx_ring) / 16, WriteBack::decode(w).expect("done bit set"))
                })
                .collect()
        }

        /// Everything posted so far has been finished: each queue's frames
        /// left in ring order, byte for byte, and its write-backs,
        /// completions and counts say what became of each descriptor.
        fn check_finished(&self, queues: &[usize]) {
            let mut sent: HashMap<usize, Vec<u16>> = HashMap::new();
            for f in &self.frames {
                let (q, idx) = self.ids.get(f).unwrap_or_else(|| {
                    panic!("a frame nobody sent, {} bytes: {:02x?}...", f.len(), &f[..f.len().min(64)])
                });
                sent.entry(*q).or_default().push(*idx);
            }
            let mut total = 0;
            for &q in queues {
                let posted = &self.posted[q];
                let want: Vec<u16> = posted.iter().filter(|p| p.status == Status::Ok).map(|p| p.idx).collect();
                total += want.len();
                assert_eq!(sent.remove(&q).unwrap_or_default(), want, "queue {q}'s frames");
                let s = self.settings[q];
                let wbs = self.writebacks(q);
                assert_eq!(wbs.len(), posted.len(), "queue {q}'s write-backs");
                for (p, (slot, wb)) in posted.iter().zip(&wbs) {
                    assert_eq!(*slot, p.idx as u64 & ((1 << s.tx_log2) - 1), "queue {q} written back out of order");
                    assert_eq!(
                        *wb,
                        WriteBack { len: p.len, queue: q as u16, status: p.status as u8, ..Default::default() },
                        "queue {q} descriptor {}",
                        p.idx
                    );
                }
                let done: Vec<u16> = self.completions.iter().filter(|c| c.0 == q).map(|c| c.1).collect();
                let want_done: Vec<u16> = posted.iter().map(|p| p.idx.wrapping_add(1)).collect();
                assert_eq!(done, want_done, "queue {q}'s completions");
                let counted = |k: u64| self.qcounts.iter().filter(|c| c.0 == q && c.1 == k).count();
                let ok = posted.iter().filter(|p| p.status == Status::Ok).count();
                assert_eq!(counted(QCOUNT_TX_SENT), ok, "queue {q} sent");
                assert_eq!(counted(QCOUNT_TX_REJECTED), posted.len() - ok, "queue {q} rejected");
            }
            assert!(sent.is_empty(), "frames from other queues");
            assert_eq!(self.frames.len(), total);
            self.check_shaper_ops(queues);
            let status =
                |s: Status| queues.iter().flat_map(|&q| &self.posted[q]).filter(|p| p.status == s).count() as u64;
            assert_eq!(self.counts, [status(Status::Window), status(Status::Template), status(Status::BadLength)]);
            assert!(self.cur.is_empty());
        }

        /// Each turn was told to the shaper once and refunded once, in
        /// ring order, with what the frame did not use of its admission.
        fn check_shaper_ops(&self, queues: &[usize]) {
            let mut cycles: Vec<u64> = self.ops.iter().map(|o| o.0).collect();
            cycles.dedup();
            assert_eq!(cycles.len(), self.ops.len(), "two shaper ops in one cycle");
            for &q in queues {
                let turns: Vec<bool> = self.ops.iter().filter(|o| o.1 == 1 && o.2 == q).map(|o| o.3).collect();
                let refunds: Vec<(bool, u64)> =
                    self.ops.iter().filter(|o| o.1 == 2 && o.2 == q).map(|o| (o.3, o.4)).collect();
                let want: Vec<u64> = self.posted[q]
                    .iter()
                    .map(|p| match p.status {
                        Status::Ok | Status::Template => {
                            (crate::shaping::ADMIT_BYTES - crate::shaping::wire_bytes(p.len as u32)) as u64
                        }
                        _ => crate::shaping::ADMIT_BYTES as u64,
                    })
                    .collect();
                // Turns taken before a restart were refunded too: whole
                // admissions for those dropped unread.
                let got: Vec<u64> = refunds.iter().map(|r| r.1).collect();
                assert!(got.ends_with(&want), "queue {q}'s refunds: {got:?}, want {want:?} at the end");
                assert_eq!(refunds.iter().map(|r| r.0).collect::<Vec<_>>(), turns, "queue {q}'s turn classes");
            }
        }

        /// From the `skip`th frame on, each frame is from the next queue
        /// after the previous frame's that still had frames to send.
        fn check_round_robin(&self, skip: usize) {
            let order: Vec<usize> = self.frames.iter().map(|f| self.ids[f].0).collect();
            let mut left: HashMap<usize, usize> = HashMap::new();
            for q in &order {
                *left.entry(*q).or_default() += 1;
            }
            for (i, w) in order.windows(2).enumerate() {
                *left.get_mut(&w[0]).unwrap() -= 1;
                if i + 1 < skip {
                    continue;
                }
                let next =
                    (1..=QUEUE_COUNT).map(|k| (w[0] + k) % QUEUE_COUNT).find(|q| left.get(q).copied().unwrap_or(0) > 0);
                assert_eq!(Some(w[1]), next, "frame {} broke round robin: order {:?}", i + 1, order);
            }
        }
    }

    fn settings(q: usize, log2: u8) -> QueueSettings {
        QueueSettings { enable: true, unrestricted: true, tx_ring: ring_of(q), tx_log2: log2, ..Default::default() }
    }

    /// A distinct frame of `len` bytes (at least 14) for queue q, number n.
    fn frame(q: usize, n: usize, len: usize) -> Vec<u8> {
        let mut f = vec![0x02, q as u8, (n >> 8) as u8, n as u8, 0xAA, 0x55];
        f.extend_from_slice(&MAC);
        f.extend_from_slice(&[0x88, 0xB5]);
        f.extend((14..len).map(|i| (i as u8).wrapping_mul(7) ^ (q as u8).wrapping_add(n as u8)));
        f.truncate(len);
        f
    }

    #[test]
    fn sends_frames_byte_exact_in_round_robin_order() {
        let mut b = Bench::new(63, 20);
        // Completions and counts are taken only some of the time.
        b.notify_ready = |c| c % 3 != 0;
        let queues = [0usize, 5, 17, 63];
        let counts = [6usize, 3, 8, 5];
        for &q in &queues {
            b.commit(q, settings(q, 4));
        }
        b.wait_idle_config();
        let mut addr = 0x100_0000u64;
        for (k, &q) in queues.iter().enumerate() {
            for n in 0..counts[k] {
                let len = [60, 14, 1522, 64, 15, 333, 1000, 17][(n + k) % 8];
                b.post(q, addr + 3 * k as u64, &frame(q, n, len), len as u16, Status::Ok);
                addr += 0x1000;
            }
        }
        for &q in &queues {
            b.ring(q);
        }
        let total: usize = counts.iter().sum();
        b.finish(&queues, 200_000);
        assert_eq!(b.completions.len(), total);
        b.check_round_robin(queues.len());
        // Descriptor reads are 16 bytes at the ring slots, tag 0; frame
        // reads are the posted buffers, tag 1.
        for a in b.log.iter().filter(|a| !a.write) {
            if a.tag == 0 {
                assert_eq!(a.len, 16);
            } else {
                assert_eq!(a.tag, 1);
                assert!(a.addr >= 0x100_0000 && a.addr < 0x200_0000);
            }
        }
    }

    #[test]
    fn keeps_the_wire_busy_at_line_rate_over_16_queues() {
        let mut b = Bench::new(63, 20);
        let per_queue = 13;
        for q in 0..16 {
            b.commit(q, settings(q, 4));
        }
        b.wait_idle_config();
        for q in 0..16 {
            for n in 0..per_queue {
                let addr = 0x100_0000 + ((q * per_queue + n) as u64) * 0x100;
                b.post(q, addr, &frame(q, n, 64), 64, Status::Ok);
            }
        }
        for q in 0..16 {
            b.ring(q);
        }
        let total = 16 * per_queue;
        b.run_until(5_000, |b| !b.frames.is_empty());
        let start = b.h.cycles;
        b.measure = true;
        b.run_until(total as u64 * 84 + 2_000, |b| b.frames.len() == total);
        b.measure = false;
        let took = b.h.cycles - start;
        let busy = b.busy_cycles as f64 / b.ready_cycles as f64;
        println!(
            "{total} frames; after the first, {} cycles for {} frames ({:.2} per frame), wire busy {:.2}% of ready cycles",
            took,
            total - 1,
            took as f64 / (total - 1) as f64,
            100.0 * busy
        );
        assert!(busy >= 0.99, "wire busy only {:.2}% of the paced slots", 100.0 * busy);
        b.finish(&(0..16).collect::<Vec<_>>(), 2_000);
        b.check_round_robin(16);
        // It got there by overlapping: several reads were out at once.
        let mut most = 0;
        let reads: Vec<u64> = b.log.iter().filter(|a| !a.write).map(|a| a.cycle).collect();
        for (i, &c) in reads.iter().enumerate() {
            most = most.max(reads[i..].iter().take_while(|&&d| d < c + 63).count());
        }
        assert!(most >= 3, "at most {most} reads outstanding");
    }

    /// A cheap hash of the cycle number, for irregular stalls.
    fn coin(c: u64, percent: u64) -> bool {
        (c.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % 100 < percent
    }

    #[test]
    fn holds_what_it_shows_while_the_host_and_the_notices_stall() {
        let mut b = Bench::new(40, 7);
        b.dma_ready = |c| coin(c, 40);
        b.notify_ready = |c| coin(c ^ 0x55, 30);
        let (base, limit) = (0x200_0000u64, 0x210_0000u64);
        b.commit(
            1,
            QueueSettings {
                unrestricted: false,
                window_base: base,
                window_limit: limit,
                template: tpl(),
                ..settings(1, 3)
            },
        );
        b.commit(2, settings(2, 5));
        b.commit(40, settings(40, 4));
        b.wait_idle_config();
        for n in 0..24 {
            let addr = base + n as u64 * 0x900 + n as u64 % 8;
            let (f, len, st) = match n % 4 {
                0 => (good(n, 60 + n * 50), 60 + n * 50, Status::Ok),
                1 => (good(n, 64), 10, Status::BadLength),
                2 => {
                    let mut f = good(n, 90);
                    f[28] ^= 0xFF;
                    (f, 90, Status::Template)
                }
                _ => (good(n, 64), 64, if n % 8 == 3 { Status::Ok } else { Status::Window }),
            };
            let addr = if st == Status::Window { limit - 8 } else { addr };
            if n % 8 == 0 && n > 0 {
                b.ring(1);
                let want = b.posted[1].len();
                b.run_until(50_000, |b| b.completions.iter().filter(|c| c.0 == 1).count() == want);
            }
            b.post(1, addr, &f, len as u16, st);
        }
        b.ring(1);
        for n in 0..30 {
            b.post(2, 0x400_0000 + n as u64 * 0x800, &frame(2, n, 14 + n * 47), 14 + n as u16 * 47, Status::Ok);
            let (len, st) = if n < 16 { (64, Status::Ok) } else { (1523 + n as u16, Status::BadLength) };
            b.post(40, 0x500_0000 + n as u64 * 0x800, &frame(40, n, 64), len, st);
            if n == 15 {
                b.ring(40);
                b.run_until(50_000, |b| b.completions.iter().filter(|c| c.0 == 40).count() == 16);
            }
        }
        b.ring(2);
        b.ring(40);
        b.finish(&[1, 2, 40], 400_000);
    }

    /// A frame that passes the template `tpl()` unless altered.
    fn good(n: usize, len: usize) -> Vec<u8> {
        let mut f = udp4(MAC, IP4, 5000);
        f.extend((f.len()..len).map(|i| (i + n) as u8));
        f[3] = n as u8;
        f
    }

    fn tpl() -> Template {
        Template { src_mac: Some(MAC), vlan: None, src_ip: Some(IpAddr::from(IP4)), src_port: Some(5000) }
    }

    #[test]
    fn rejects_bad_length_window_and_template_while_others_send() {
        let mut b = Bench::new(63, 20);
        let (base, limit) = (0x200_0000u64, 0x201_0000u64);
        b.commit(
            3,
            QueueSettings {
                unrestricted: false,
                window_base: base,
                window_limit: limit,
                template: tpl(),
                ..settings(3, 4)
            },
        );
        // A window at the very top of the address space: a buffer running
        // past 2^64 must not wrap into it.
        let top = u64::MAX - 0xFFFF;
        b.commit(4, QueueSettings { unrestricted: false, window_base: top, window_limit: u64::MAX, ..settings(4, 3) });
        b.commit(7, settings(7, 4));
        b.wait_idle_config();
        let mut good_bufs = vec![];
        let mut post = |b: &mut Bench, q: usize, addr: u64, f: Vec<u8>, len: u16, st: Status| {
            let passes = model_ok(&config_of(&b.settings[q]), &f[..f.len().min(len as usize)]);
            match st {
                Status::Ok => assert!(passes),
                Status::Template => assert!(!passes),
                _ => {}
            }
            // Frames are read to be checked against the template.
            if st == Status::Ok || st == Status::Template {
                good_bufs.push((addr, len as u64));
            }
            b.post(q, addr, &f, len, st);
        };
        let mut wrong_mac = good(6, 80);
        wrong_mac[11] ^= 1;
        let mut wrong_port = good(7, 80);
        wrong_port[35] ^= 1;
        let v6 = [eth(MAC, &[], 0x86DD), vec![0x60; 40], l4(5000)].concat();
        // Cut inside the source port.
        let cut = good(11, 80)[..35].to_vec();
        post(&mut b, 3, base + 0x100, good(0, 64), 64, Status::Ok);
        post(&mut b, 3, base + 0x200, good(1, 64), 13, Status::BadLength);
        post(&mut b, 3, base + 0x300, good(2, 1600), 1523, Status::BadLength);
        post(&mut b, 3, base - 0x10, good(3, 64), 64, Status::Window);
        post(&mut b, 3, limit - 0x10, good(4, 64), 64, Status::Window);
        post(&mut b, 3, base + 0x400, good(5, 1522), 1522, Status::Ok);
        post(&mut b, 3, base + 0x1000, wrong_mac, 80, Status::Template);
        post(&mut b, 3, base + 0x1100, wrong_port, 80, Status::Template);
        post(&mut b, 3, limit - 100, good(8, 100), 100, Status::Ok);
        post(&mut b, 3, base + 0x1200, good(9, 64), 0, Status::BadLength);
        post(&mut b, 3, base + 0x1300, v6, 70, Status::Template);
        post(&mut b, 3, base + 0x1400, cut, 35, Status::Template);
        post(&mut b, 3, base + 0x1500, good(12, 60), 60, Status::Ok);
        post(&mut b, 4, u64::MAX - 0x1F, frame(4, 0, 64), 64, Status::Window);
        post(&mut b, 4, top - 1, frame(4, 1, 64), 64, Status::Window);
        post(&mut b, 4, u64::MAX - 64, frame(4, 2, 64), 64, Status::Ok);
        post(&mut b, 4, top + 0x100, frame(4, 3, 14), 14, Status::Ok);
        for n in 0..10 {
            let (addr, len) = (0x300_0000 + n as u64 * 0x800, 64 + 50 * n);
            good_bufs.push((addr, len as u64));
            b.post(7, addr, &frame(7, n, len), len as u16, Status::Ok);
        }
        b.ring(3);
        b.ring(4);
        b.ring(7);
        b.finish(&[3, 4, 7], 100_000);
        // Frame data was read from buffers that passed the length and
        // window checks only, once each.
        let mut reads: Vec<(u64, u64)> =
            b.log.iter().filter(|a| !a.write && a.tag == 1).map(|a| (a.addr, a.len)).collect();
        reads.sort();
        good_bufs.sort();
        assert_eq!(reads, good_bufs);
        // Rejections did not hold queue 7 up: its frames went out between
        // queue 3's.
        let order: Vec<usize> = b.frames.iter().map(|f| b.ids[f].0).collect();
        let first7 = order.iter().position(|&q| q == 7).unwrap();
        let last3 = order.iter().rposition(|&q| q == 3).unwrap();
        assert!(first7 < last3, "order {order:?}");
    }

    #[test]
    fn ring_wraps_and_the_host_reposts() {
        let mut b = Bench::new(63, 20);
        b.notify_ready = |c| c % 5 < 3;
        let queues = [2usize, 9];
        let wanted = [30usize, 21];
        for &q in &queues {
            b.commit(q, settings(q, 3));
        }
        b.wait_idle_config();
        let mut made = [0usize; 2];
        let mut cycles = 0;
        while made != wanted {
            for (k, &q) in queues.iter().enumerate() {
                let done = b.completions.iter().filter(|c| c.0 == q).count();
                // Post while the ring has a free slot, ringing every other one.
                if made[k] < wanted[k] && made[k] - done < 8 {
                    let len = 14 + (made[k] * 37 + k * 11) % 200;
                    let addr = 0x500_0000 + (q * 0x10_0000 + made[k] * 0x400) as u64 + made[k] as u64 % 8;
                    b.post(q, addr, &frame(q, made[k], len), len as u16, Status::Ok);
                    made[k] += 1;
                    if made[k] % 2 == 0 || made[k] == wanted[k] || made[k] - done == 8 {
                        b.ring(q);
                    }
                }
            }
            b.step();
            cycles += 1;
            assert!(cycles < 100_000, "stuck");
        }
        b.finish(&queues, 50_000);
        // The indices went round the 8-slot rings several times.
        assert!(b.writebacks(2).iter().filter(|w| w.0 == 0).count() >= 3);
    }

    #[test]
    fn doorbells_during_a_look_at_an_empty_queue_are_kept() {
        let mut b = Bench::new(20, 0);
        b.commit(1, settings(1, 4));
        b.commit(2, settings(2, 6));
        b.wait_idle_config();
        // Queue 2 keeps the scheduler busy in the background.
        for n in 0..60 {
            b.post(2, 0x600_0000 + n as u64 * 0x100, &frame(2, n, 40), 40, Status::Ok);
        }
        b.ring(2);
        // Queue 1 gets a frame, then another one `k` cycles later, for k in
        // a range that puts the second doorbell in every phase of the
        // scheduler's look at the queue emptied by the first. Each must go.
        let mut n = 0;
        for k in 0..48 {
            for _ in 0..2 {
                b.post(1, 0x700_0000 + n as u64 * 0x100, &frame(1, n, 20), 20, Status::Ok);
                n += 1;
                b.ring(1);
                b.run(k);
            }
            let want = b.posted[1].len();
            b.run_until(3_000, |b| b.completions.iter().filter(|c| c.0 == 1).count() == want);
        }
        b.finish(&[1, 2], 20_000);
    }

    /// What to wait for before recreating queue 3: the `.1`th DMA access
    /// of a kind to its old ring or buffers.
    #[derive(Clone, Copy, Debug)]
    enum Moment {
        DescRead(usize),
        DataRead(usize),
        WriteBack(usize),
        Completion,
    }

    /// Recreates queue 3 on a new ring `offset` cycles after `moment`,
    /// while its eight 1500-byte frames and queue 8's frames are being
    /// sent; checks what became of the old ring's turns and that the new
    /// ring starts at index 0. Returns how many old frames were sent, how
    /// long `cfg_busy` was high, and queue 8's descriptor reads meanwhile.
    fn commit_during_traffic(moment: Moment, offset: u64) -> (usize, u64, usize) {
        let mut b = Bench::new(63, 20);
        b.commit(3, settings(3, 4));
        b.commit(8, settings(8, 6));
        b.wait_idle_config();
        let old_ring = ring_of(3);
        for n in 0..8 {
            b.post(3, 0x800_0000 + n as u64 * 0x1000, &frame(3, n, 1500), 1500, Status::Ok);
        }
        for n in 0..60 {
            b.post(8, 0x900_0000 + n as u64 * 0x1000, &frame(8, n, 100), 100, Status::Ok);
        }
        b.ring(3);
        b.ring(8);
        let old = |a: &Access, write: bool, base: u64| a.write == write && a.addr >= base && a.addr < base + 0x10_0000;
        b.run_until(10_000, |b| match moment {
            Moment::DescRead(n) => b.log.iter().filter(|a| old(a, false, old_ring)).count() >= n,
            Moment::DataRead(n) => b.log.iter().filter(|a| old(a, false, 0x800_0000)).count() >= n,
            Moment::WriteBack(n) => b.log.iter().filter(|a| old(a, true, old_ring)).count() >= n,
            Moment::Completion => b.completions.iter().any(|c| c.0 == 3),
        });
        b.run(offset);
        let new = QueueSettings { tx_ring: 0xA00_0000, ..settings(3, 3) };
        let commit_cycle = b.h.cycles;
        b.settings[3] = new;
        b.tails[3] = 0;
        b.h.uut.settings.write.next = true;
        b.h.uut.settings.queue.next = 3.into();
        b.h.uut.settings.settings.next = config_of(&new);
        b.step();
        // The commit takes effect inside the engine the cycle after it
        // comes: a notice already showing in its own cycle is held until
        // taken, like one showing when it takes effect.
        let before = b.completions.len();
        b.run(4);
        b.wait_idle_config();
        let settled = b.h.cycles;
        let ring8 =
            b.log.iter().filter(|a| a.cycle > commit_cycle && a.cycle < settled && a.addr >> 20 == ring_of(8) >> 20);
        let ring8 = ring8.count();
        // The old incarnation finished in order up to some point, reported
        // nothing from the commit on, and neither its ring nor its buffers
        // were touched after the restart.
        let old_done: Vec<u16> = b.completions[..before].iter().filter(|c| c.0 == 3).map(|c| c.1).collect();
        assert_eq!(old_done, (1..=old_done.len() as u16).collect::<Vec<_>>());
        assert!(b.completions[before..].iter().all(|c| c.0 != 3));
        assert!(b.qcounts[before..].iter().all(|c| c.0 != 3));
        b.run(3_000);
        let late = |a: &&Access| a.cycle >= settled;
        assert!(b.log.iter().filter(late).all(|a| a.addr < 0x800_0000 || a.addr >= 0x900_0000));
        assert!(b.log.iter().filter(late).all(|a| a.addr < old_ring || a.addr >= old_ring + 0x100));
        let old_wbs = b.wbs.iter().filter(|w| w.0 >= old_ring && w.0 < old_ring + 0x100).count();
        // The old frames that left are a prefix of the old ring, each whole
        // (the bench checks every frame against what was posted).
        let old_sent: Vec<u16> = b.frames.iter().filter(|f| b.ids[*f].0 == 3).map(|f| b.ids[f].1).collect();
        assert_eq!(old_sent, (0..old_sent.len() as u16).collect::<Vec<_>>());
        assert!(old_sent.len() >= old_wbs && old_wbs >= old_done.len());
        assert!(old_wbs < 8, "the commit came too late to test anything");

        // The new ring starts at index 0.
        b.posted[3].clear();
        b.frames.retain(|f| b.ids[f].0 != 3);
        b.completions.retain(|c| c.0 != 3);
        b.qcounts.retain(|c| c.0 != 3);
        for n in 0..7 {
            b.post(3, 0xB00_0000 + n as u64 * 0x1000, &frame(3, 100 + n, 90), 90, Status::Ok);
        }
        b.ring(3);
        b.finish(&[3, 8], 50_000);
        assert_eq!(b.writebacks(3)[0].0, 0);
        (old_sent.len(), settled - commit_cycle, ring8)
    }

    #[test]
    fn commit_restarts_the_queue_and_drops_its_old_turns() {
        let (sent, busy, ring8) = commit_during_traffic(Moment::Completion, 0);
        println!("old frames sent {sent}, busy {busy} cycles, queue 8 descriptor reads meanwhile {ring8}");
        // Other queues were not held up by the restart.
        assert!(ring8 >= 2, "queue 8 waited for queue 3's restart");
    }

    #[test]
    fn commit_at_any_point_of_a_frame_s_way() {
        // From before the descriptor read to the write-back of the second
        // frame: the commit lands in every stage.
        use Moment::*;
        let mut sent = vec![];
        for (moment, offset) in [
            (DescRead(1), 0),
            (DescRead(1), 1),
            (DescRead(1), 2),
            (DescRead(1), 66),
            (DataRead(1), 0),
            (DataRead(1), 1),
            (DataRead(1), 64),
            (DataRead(1), 66),
            (DataRead(1), 68),
            (DataRead(1), 300),
            (DataRead(1), 1400),
            (WriteBack(1), 0),
            (WriteBack(1), 1),
            (WriteBack(1), 2),
            (WriteBack(1), 3),
            (DataRead(2), 0),
            (DataRead(2), 200),
            (WriteBack(2), 0),
            (WriteBack(2), 1),
        ] {
            sent.push(commit_during_traffic(moment, offset).0);
        }
        println!("old frames sent: {sent:?}");
        assert!(sent.contains(&0) && sent.iter().any(|&n| n >= 2));
    }

    /// Posts `n` frames of `len` bytes on each of `queues` and rings them.
    fn backlog(b: &mut Bench, queues: &[usize], n: usize, len: usize) {
        for &q in queues {
            b.commit(q, settings(q, 7));
        }
        b.wait_idle_config();
        for &q in queues {
            for k in 0..n {
                b.post(q, 0x100_0000 + (q * 4096 + k) as u64 * 0x800, &frame(q, k, len), len as u16, Status::Ok);
            }
            b.ring(q);
        }
    }

    #[test]
    fn green_queues_go_first_and_the_ceiling_holds_queues_back() {
        let mut b = Bench::new(63, 0);
        let queues = [2usize, 9, 30, 40];
        b.green_ok = 1 << 40;
        // Nobody goes until all are rung.
        b.ceiling_ok = 0;
        backlog(&mut b, &queues, 12, 64);
        // (A doorbell takes effect the cycle after it comes.)
        b.run(1);
        b.ceiling_ok = !(1 << 30);
        b.run_until(40_000, |b| b.frames.len() == 36);
        let order: Vec<usize> = b.frames.iter().map(|f| b.ids[f].0).collect();
        assert!(order[..12].iter().all(|&q| q == 40), "green queue 40 first: {order:?}");
        assert!(!order.contains(&30), "queue 30 sent past its ceiling: {order:?}");
        b.run(2_000);
        assert_eq!(b.frames.len(), 36, "queue 30 sent past its ceiling");
        b.ceiling_ok = u64::MAX;
        b.finish(&queues, 40_000);
        // Queue 40's turns were green; the others' were visited in turn.
        for &(_, op, q, green, _) in &b.ops {
            if op == 1 {
                assert_eq!(green, q == 40, "turn class of queue {q}");
            }
            if op == 3 {
                assert_ne!(q, 40, "a green queue was visited");
            }
        }
        // A decision reads the queue's words over four cycles, and the next
        // waits for the shaper's answer to the turn to come through the
        // registered pick: 15 cycles a decision at best (9 and the shaper's
        // latency), well inside a minimum frame's 84 at 1 byte a cycle.
        let best = 9 + crate::blocks::tx_shaper::BITS_LATENCY;
        let turns: Vec<u64> = b.ops.iter().filter(|o| o.1 == 1).map(|o| o.0).collect();
        let gap = turns.windows(2).map(|w| w[1] - w[0]).min().unwrap();
        println!("shortest time between turns: {gap} cycles");
        assert_eq!(gap, best);
        assert_eq!(decision_cycles(), best as f64, "unhindered, every decision takes the shortest time");
    }

    #[test]
    fn deficit_round_robin_shares_bytes_not_frames() {
        let mut b = Bench::new(63, 0);
        b.deficits = Some(vec![0; QUEUE_COUNT]);
        // Queue 3 sends 1500-byte frames, queue 7 minimum frames.
        for (q, len, n) in [(3usize, 1500usize, 90usize), (7, 60, 1800)] {
            b.commit(q, settings(q, 11));
            b.wait_idle_config();
            for k in 0..n {
                b.post(q, 0x100_0000 + (q * 4096 + k) as u64 * 0x800, &frame(q, k, len), len as u16, Status::Ok);
            }
        }
        b.ring(3);
        b.ring(7);
        let wire = |b: &Bench, q: usize| -> u64 {
            b.frames
                .iter()
                .filter(|f| b.ids[*f].0 == q)
                .map(|f| crate::shaping::wire_bytes(f.len() as u32) as u64)
                .sum()
        };
        let sent3 = |b: &Bench| b.frames.iter().filter(|f| b.ids[*f].0 == 3).count();
        // A turn holds a whole admission until its refund, so the queue of
        // small frames first builds up credit to take enough turns a
        // visit; from then on each gets half of the wire bytes.
        b.run_until(400_000, |b| sent3(b) >= 30);
        let (a0, c0) = (wire(&b, 3), wire(&b, 7));
        b.run_until(400_000, |b| sent3(b) >= 80);
        let (a, c) = ((wire(&b, 3) - a0) as f64, (wire(&b, 7) - c0) as f64);
        println!("wire bytes while both were backlogged: {a} and {c}");
        assert!((a / c - 1.0).abs() < 0.05, "shares {a} and {c}");
    }

    #[test]
    fn generates_verilog() {
        let mut uut = TxEngine::new(&NicParams::default());
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
        if let Ok(p) = std::env::var("DUMP_VERILOG") {
            std::fs::write(p, v).unwrap();
        }
    }
}
