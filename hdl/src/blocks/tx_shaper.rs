//! The transmit shaper: each queue's guaranteed and ceiling token buckets
//! and its deficit, kept by the rules of `shaping`, shown to the transmit
//! engine as three bitmaps (`ports::shaper`).
//!
//! State lives in two block RAMs, one word per queue: the configuration
//! (`ShapeConfig`, 108 bits) and the buckets (`ShaperState`, 136 bits:
//! both token counts, the deficit and the time of the last update). A
//! 16-bit cycle counter `now` runs freely.
//!
//! A six-stage read-modify-write pipeline takes one operation a cycle, so
//! that no register-to-register path holds more than one carry chain of
//! the update after the block RAM (the board's 125 MHz):
//! - Cycle t: the operation is the engine's when `sched.op` is not
//!   `SHAPER_OP_NONE` (every such op is taken: there is no ready),
//!   otherwise a sweep visit of queue `sweep_ptr`, which then advances. Both
//!   RAMs are addressed with its queue. A TURN clears the queue's three
//!   bits at the edge, so they read 0 in cycle t+1.
//! - Cycle t+1: the queue's words arrive and are registered: a
//!   configuration written in cycle t is forwarded (the RAM still returns
//!   the old word); the state words are registered as they come, beside
//!   what in-flight updates of the queue forward (the last one's time of
//!   update from the stage it is in, counts from the result registers once
//!   they hold them), so the RAM's late data meets no logic. The update's
//!   time is `now` of this cycle.
//! - Cycle t+2: the newest words chosen; `elapsed = min((now - last) mod
//!   2^16, 1023)`; the buckets' partial products, caps and operation terms
//!   (`TokenBucket`), the deficit's quantum and cap. The counts of an
//!   update three cycles ahead, now in the result registers, are taken.
//! - Cycle t+3: the refill products are summed; the counts the update
//!   starts from are settled: two cycles ahead's from the result registers,
//!   and an update of the same queue one cycle ahead passes its result
//!   straight on (the buckets' `chain`). Which stages hold the same queue
//!   is compared a cycle ahead of its use.
//! - Cycle t+4: the new counts, the deficit and the three ok bits, into
//!   registers: the carry chains that decide them end there, not in the
//!   64-bit bitmaps.
//! - Cycle t+5: the queue's bits are written at the edge and show in cycle
//!   t+6, unless a TURN on the same queue came in cycles t+1..t+5: its
//!   clear stands until its own result shows, since these bits do not
//!   count its charge. The new state is written to the RAM (and kept one
//!   more cycle for a read that missed it).
//!
//! So an op's effect on the bitmaps shows six cycles after it is
//! presented, four more than before the pipeline was deepened, and the
//! turn's clear still shows the next cycle. While a queue's bits are clear
//! after a turn the engine sees it as not eligible; bits that show late
//! only ever withhold a turn (a turn's clear is immediate), so no queue
//! sends more than its buckets allow.
//!
//! A zero guaranteed rate empties the guarantee before the operation, a
//! zero ceiling rate fills the ceiling to its burst, so neither can drift.
//!
//! Every cycle the engine does not use sweeps one queue, so a queue is
//! updated at least once every `QUEUE_COUNT` free cycles. Refills are
//! clamped at 1023 cycles: a queue left alone longer (the engine using more
//! than 960 of 1023 cycles) loses the excess refill, never gains; `last`
//! is 16 bits, so a queue must not go 65536 cycles without an update.
//! Tokens only go below zero by turns taken while their bits were set,
//! about one ADMIT each, and the deficit by the wire bytes of turns in
//! flight when it ran out (the engine holds at most a turn FIFO's worth);
//! the 48-bit counts and the 24-bit deficit would wrap only after
//! thousands of such turns.

use super::token_bucket::{TokenBucket, ELAPSED_BITS, TOKEN_BITS};
use crate::params::{QUEUE_BITS, QUEUE_COUNT, QUEUE_COUNT_LOG2};
use crate::ports::{ShapeConfig, ShapeConfigSink, ShaperSink};
use crate::shaping::{ADMIT_BYTES, BURST_BITS, DEFICIT_CAP_QUANTA, QUANTUM_BYTES, RATE_BITS, RATE_FRAC_BITS, WEIGHT_MAX};
use rust_hdl::prelude::*;

/// Deficit: signed bytes; a quantum is below 2^19.
const DEFICIT_BITS: usize = 28;
/// Cycles from an op's cycle to the cycle its bits show in.
pub const BITS_LATENCY: u64 = 6;

// Literals in the kernels below stand for these.
const _: () = {
    use crate::ports::shaper::*;
    assert!(RATE_FRAC_BITS == 24 && RATE_BITS == 28 && BURST_BITS == 22);
    assert!(TOKEN_BITS == 48 && ELAPSED_BITS == 10 && DEFICIT_BITS == 28);
    // A refund's 12 bits of bytes stay below the cap's 46 bits.
    assert!(12 + (RATE_FRAC_BITS as usize) < (BURST_BITS + RATE_FRAC_BITS) as usize);
    assert!(QUANTUM_BYTES == 1 << 11 && WEIGHT_MAX == 255);
    assert!(DEFICIT_CAP_QUANTA == 20);
    // A sweep round is QUEUE_COUNT cycles plus the engine's ops (fewer than
    // one a cycle); the refill clamp must not bite on it, or queues lose
    // tokens: more queues need more elapsed bits.
    assert!(2 * crate::params::QUEUE_COUNT <= 1 << ELAPSED_BITS);
    // The deficit's cap less an op's change, and that less a deficit,
    // compare in 30 bits.
    assert!(DEFICIT_CAP_QUANTA * WEIGHT_MAX * QUANTUM_BYTES + 2 * ADMIT_BYTES < 1 << (DEFICIT_BITS - 2));
    assert!(SHAPER_OP_NONE == 0 && SHAPER_OP_TURN == 1 && SHAPER_OP_REFUND == 2 && SHAPER_OP_VISIT == 3);
};

/// One queue's buckets, as the state RAM holds them.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct ShaperState {
    pub g_tok: Bits<TOKEN_BITS>,
    pub c_tok: Bits<TOKEN_BITS>,
    pub deficit: Bits<DEFICIT_BITS>,
    /// `now` at the last update.
    pub last: Bits<16>,
}

#[derive(LogicBlock)]
pub struct TxShaper {
    pub clock: Signal<In, Clock>,
    pub shape: ShapeConfigSink,
    pub sched: ShaperSink,
    cfg_ram: RAM<ShapeConfig, QUEUE_COUNT_LOG2>,
    state_ram: RAM<ShaperState, QUEUE_COUNT_LOG2>,
    queue_count: Constant<Bits<QUEUE_BITS>>,
    /// ADMIT_BYTES off a deficit, in two's complement.
    neg_admit_d: Constant<Bits<DEFICIT_BITS>>,
    /// ADMIT_BYTES << 24 off a bucket, in two's complement.
    neg_admit_tok: Constant<Bits<TOKEN_BITS>>,
    admit_d: Constant<Bits<DEFICIT_BITS>>,
    /// The two bits a negative deficit gains in 30 bits.
    ext_d: Constant<Bits<30>>,
    now: DFF<Bits<16>>,
    sweep_ptr: DFF<Bits<QUEUE_COUNT_LOG2>>,
    // Stage 1: the op whose RAM words arrive this cycle.
    a1_v: DFF<Bit>,
    a1_kind: DFF<Bits<2>>,
    a1_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    a1_green: DFF<Bit>,
    a1_bytes: DFF<Bits<12>>,
    /// The configuration written last cycle.
    cf_valid: DFF<Bit>,
    cf_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    cf_data: DFF<ShapeConfig>,
    // Stage 2: the op with its words, its time of update and the time of
    // the update before.
    a2_v: DFF<Bit>,
    a2_kind: DFF<Bits<2>>,
    a2_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    a2_green: DFF<Bit>,
    a2_bytes: DFF<Bits<12>>,
    a2_ts: DFF<Bits<16>>,
    /// The time of the queue's last update: the RAM's, unless `a2_fwd`
    /// (an update in flight, at `a2_flast`). Muxed a cycle after the RAM's
    /// late data has been registered.
    a2_last: DFF<Bits<16>>,
    a2_fwd: DFF<Bit>,
    a2_flast: DFF<Bits<16>>,
    /// The op one cycle ahead is of this queue (its result will be in the
    /// result registers when this op is in stage 2).
    a2_m4: DFF<Bit>,
    a2_cfg: DFF<ShapeConfig>,
    /// The counts: the RAM's, unless `a2_ftok` (the result registers').
    a2_g: DFF<Bits<TOKEN_BITS>>,
    a2_c: DFF<Bits<TOKEN_BITS>>,
    a2_d: DFF<Bits<DEFICIT_BITS>>,
    a2_ftok: DFF<Bit>,
    a2_fst: DFF<ShaperState>,
    // Stage 3.
    a3_v: DFF<Bit>,
    a3_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    a3_ts: DFF<Bits<16>>,
    /// A younger turn on the queue: this op's bits are stale.
    a3_sup: DFF<Bit>,
    a3_g: DFF<Bits<TOKEN_BITS>>,
    a3_c: DFF<Bits<TOKEN_BITS>>,
    a3_d: DFF<Bits<DEFICIT_BITS>>,
    a3_dcap: DFF<Bits<DEFICIT_BITS>>,
    a3_dadd: DFF<Bits<DEFICIT_BITS>>,
    a3_capped: DFF<Bit>,
    /// The ops one and two cycles ahead are of this queue.
    a3_hit: DFF<Bit>,
    a3_mr: DFF<Bit>,
    // Stage 4.
    a4_v: DFF<Bit>,
    a4_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    a4_ts: DFF<Bits<16>>,
    a4_sup: DFF<Bit>,
    a4_dtok: DFF<Bits<DEFICIT_BITS>>,
    a4_dcap: DFF<Bits<DEFICIT_BITS>>,
    a4_dadd: DFF<Bits<DEFICIT_BITS>>,
    /// The deficit's cap less the op's change, in 30 bits.
    a4_dl: DFF<Bits<30>>,
    a4_capped: DFF<Bit>,
    // Stage 5: the result, written to the state RAM; and the one written
    // last cycle, for a read that got the old word.
    r_v: DFF<Bit>,
    r_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    r_state: DFF<ShaperState>,
    w_v: DFF<Bit>,
    w_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    w_state: DFF<ShaperState>,
    // Stage 5: the op's ok bits, registered so that neither the buckets'
    // nor the deficit's carry chains drive the 64-bit bitmap updates.
    b5_v: DFF<Bit>,
    b5_q: DFF<Bits<QUEUE_COUNT_LOG2>>,
    b5_mask: DFF<Bits<QUEUE_COUNT>>,
    b5_sup: DFF<Bit>,
    b5_g: DFF<Bit>,
    b5_c: DFF<Bit>,
    b5_d: DFF<Bit>,
    green_bits: DFF<Bits<QUEUE_COUNT>>,
    ceiling_bits: DFF<Bits<QUEUE_COUNT>>,
    deficit_bits: DFF<Bits<QUEUE_COUNT>>,
    /// The guarantee's and the ceiling's update.
    g_bucket: TokenBucket,
    c_bucket: TokenBucket,
    op_q: Signal<Local, Bits<QUEUE_COUNT_LOG2>>,
    cfg_write: Signal<Local, Bit>,
    turn_mask: Signal<Local, Bits<QUEUE_COUNT>>,
    a1_turn: Signal<Local, Bit>,
    // Stage 1.
    m2: Signal<Local, Bit>,
    m3: Signal<Local, Bit>,
    m4: Signal<Local, Bit>,
    mr: Signal<Local, Bit>,
    mw: Signal<Local, Bit>,
    f_last: Signal<Local, Bits<16>>,
    f_st: Signal<Local, ShaperState>,
    // Stage 2.
    diff: Signal<Local, Bits<16>>,
    is_turn: Signal<Local, Bit>,
    is_refund: Signal<Local, Bit>,
    is_visit: Signal<Local, Bit>,
    refund_tok: Signal<Local, Bits<TOKEN_BITS>>,
    g_add: Signal<Local, Bits<TOKEN_BITS>>,
    g_charge: Signal<Local, Bit>,
    c_add: Signal<Local, Bits<TOKEN_BITS>>,
    c_charge: Signal<Local, Bit>,
    weight: Signal<Local, Bits<8>>,
    quantum: Signal<Local, Bits<DEFICIT_BITS>>,
    d_add: Signal<Local, Bits<DEFICIT_BITS>>,
    last: Signal<Local, Bits<16>>,
    dadd_hi: Signal<Local, Bits<30>>,
    // Stage 4.
    d_sum: Signal<Local, Bits<DEFICIT_BITS>>,
    dtok_hi: Signal<Local, Bits<30>>,
    d_gap: Signal<Local, Bits<30>>,
    d_over: Signal<Local, Bit>,
    d_new: Signal<Local, Bits<DEFICIT_BITS>>,
    d_ok: Signal<Local, Bit>,
    c_ok: Signal<Local, Bit>,
    g_ok: Signal<Local, Bit>,
    sup_now: Signal<Local, Bit>,
    s5_mask: Signal<Local, Bits<QUEUE_COUNT>>,
    set_mask: Signal<Local, Bits<QUEUE_COUNT>>,
    green_keep: Signal<Local, Bits<QUEUE_COUNT>>,
    ceiling_keep: Signal<Local, Bits<QUEUE_COUNT>>,
    deficit_keep: Signal<Local, Bits<QUEUE_COUNT>>,
    green_set: Signal<Local, Bits<QUEUE_COUNT>>,
    ceiling_set: Signal<Local, Bits<QUEUE_COUNT>>,
    deficit_set: Signal<Local, Bits<QUEUE_COUNT>>,
}

impl Default for TxShaper {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            shape: Default::default(),
            sched: Default::default(),
            // Zeroed: every queue starts unshaped with empty buckets.
            cfg_ram: (0..QUEUE_COUNT).map(|_| ShapeConfig::default()).into(),
            state_ram: (0..QUEUE_COUNT).map(|_| ShaperState::default()).into(),
            queue_count: Constant::new((QUEUE_COUNT as u64).into()),
            neg_admit_d: Constant::new(((1u64 << DEFICIT_BITS) - ADMIT_BYTES as u64).into()),
            neg_admit_tok: Constant::new(((1u64 << TOKEN_BITS) - ((ADMIT_BYTES as u64) << RATE_FRAC_BITS)).into()),
            admit_d: Constant::new((ADMIT_BYTES as u64).into()),
            ext_d: Constant::new((3u64 << DEFICIT_BITS).into()),
            now: Default::default(),
            sweep_ptr: Default::default(),
            a1_v: Default::default(),
            a1_kind: Default::default(),
            a1_q: Default::default(),
            a1_green: Default::default(),
            a1_bytes: Default::default(),
            cf_valid: Default::default(),
            cf_q: Default::default(),
            cf_data: Default::default(),
            a2_v: Default::default(),
            a2_kind: Default::default(),
            a2_q: Default::default(),
            a2_green: Default::default(),
            a2_bytes: Default::default(),
            a2_ts: Default::default(),
            a2_last: Default::default(),
            a2_fwd: Default::default(),
            a2_flast: Default::default(),
            a2_m4: Default::default(),
            a2_cfg: Default::default(),
            a2_g: Default::default(),
            a2_c: Default::default(),
            a2_d: Default::default(),
            a2_ftok: Default::default(),
            a2_fst: Default::default(),
            a3_v: Default::default(),
            a3_q: Default::default(),
            a3_ts: Default::default(),
            a3_sup: Default::default(),
            a3_g: Default::default(),
            a3_c: Default::default(),
            a3_d: Default::default(),
            a3_dcap: Default::default(),
            a3_dadd: Default::default(),
            a3_capped: Default::default(),
            a3_hit: Default::default(),
            a3_mr: Default::default(),
            a4_v: Default::default(),
            a4_q: Default::default(),
            a4_ts: Default::default(),
            a4_sup: Default::default(),
            a4_dtok: Default::default(),
            a4_dcap: Default::default(),
            a4_dadd: Default::default(),
            a4_dl: Default::default(),
            a4_capped: Default::default(),
            r_v: Default::default(),
            r_q: Default::default(),
            r_state: Default::default(),
            w_v: Default::default(),
            w_q: Default::default(),
            w_state: Default::default(),
            b5_v: Default::default(),
            b5_q: Default::default(),
            b5_mask: Default::default(),
            b5_sup: Default::default(),
            b5_g: Default::default(),
            b5_c: Default::default(),
            b5_d: Default::default(),
            green_bits: Default::default(),
            ceiling_bits: Default::default(),
            deficit_bits: Default::default(),
            g_bucket: Default::default(),
            c_bucket: Default::default(),
            op_q: Default::default(),
            cfg_write: Default::default(),
            turn_mask: Default::default(),
            a1_turn: Default::default(),
            m2: Default::default(),
            m3: Default::default(),
            m4: Default::default(),
            mr: Default::default(),
            mw: Default::default(),
            f_last: Default::default(),
            f_st: Default::default(),
            diff: Default::default(),
            is_turn: Default::default(),
            is_refund: Default::default(),
            is_visit: Default::default(),
            refund_tok: Default::default(),
            g_add: Default::default(),
            g_charge: Default::default(),
            c_add: Default::default(),
            c_charge: Default::default(),
            weight: Default::default(),
            quantum: Default::default(),
            d_add: Default::default(),
            last: Default::default(),
            dadd_hi: Default::default(),
            d_sum: Default::default(),
            dtok_hi: Default::default(),
            d_gap: Default::default(),
            d_over: Default::default(),
            d_new: Default::default(),
            d_ok: Default::default(),
            c_ok: Default::default(),
            g_ok: Default::default(),
            sup_now: Default::default(),
            s5_mask: Default::default(),
            set_mask: Default::default(),
            green_keep: Default::default(),
            ceiling_keep: Default::default(),
            deficit_keep: Default::default(),
            green_set: Default::default(),
            ceiling_set: Default::default(),
            deficit_set: Default::default(),
        }
    }
}

impl Logic for TxShaper {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, now, sweep_ptr, a1_v, a1_kind, a1_q, a1_green, a1_bytes, cf_valid, cf_q, cf_data, a2_v,
            a2_kind, a2_q, a2_green, a2_bytes, a2_ts, a2_last, a2_fwd, a2_flast, a2_m4, a2_cfg, a2_g, a2_c, a2_d, a2_ftok, a2_fst, a3_v, a3_q, a3_ts, a3_sup,
            a3_g, a3_c, a3_d, a3_dcap, a3_dadd, a3_capped, a3_hit, a3_mr, a4_v, a4_q, a4_ts, a4_sup, a4_dtok, a4_dcap,
            a4_dadd, a4_dl, a4_capped, r_v, r_q, r_state, w_v, w_q, w_state, b5_v, b5_q, b5_mask, b5_sup, b5_g, b5_c, b5_d, green_bits, ceiling_bits,
            deficit_bits
        );
        clock!(self, clock, g_bucket, c_bucket);
        self.cfg_ram.read_clock.next = self.clock.val();
        self.cfg_ram.write_clock.next = self.clock.val();
        self.state_ram.read_clock.next = self.clock.val();
        self.state_ram.write_clock.next = self.clock.val();
        self.sched.green_ok.next = self.green_bits.q.val();
        self.sched.ceiling_ok.next = self.ceiling_bits.q.val();
        self.sched.deficit_ok.next = self.deficit_bits.q.val();
        self.now.d.next = self.now.q.val() + 1;

        // Configuration writes go straight to the RAM.
        self.cfg_write.next = self.shape.write.val() & (self.shape.queue.val() < self.queue_count.val());
        self.cfg_ram.write_address.next = self.shape.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.cfg_ram.write_data.next = self.shape.shape.val();
        self.cfg_ram.write_enable.next = self.cfg_write.val();
        self.cf_valid.d.next = self.cfg_write.val();
        self.cf_q.d.next = self.shape.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.cf_data.d.next = self.shape.shape.val();

        // Stage 0: the engine's op, or else a sweep visit.
        self.op_q.next = self.sched.queue.val();
        if self.sched.op.val() == 0 {
            self.op_q.next = self.sweep_ptr.q.val();
            self.sweep_ptr.d.next = self.sweep_ptr.q.val() + 1;
        }
        self.cfg_ram.read_address.next = self.op_q.val();
        self.state_ram.read_address.next = self.op_q.val();
        self.a1_v.d.next = true;
        self.a1_kind.d.next = self.sched.op.val();
        self.a1_q.d.next = self.op_q.val();
        self.a1_green.d.next = self.sched.green.val();
        self.a1_bytes.d.next = self.sched.bytes.val();
        self.turn_mask.next = 0.into();
        if self.sched.op.val() == 1 {
            self.turn_mask.next = bit_cast::<QUEUE_COUNT, 1>(true.into()) << self.sched.queue.val();
        }
        // The turn presented last cycle: older ops of its queue must not
        // write their bits over its clear.
        self.a1_turn.next = self.a1_v.q.val() & (self.a1_kind.q.val() == 1);

        // Stage 1: the queue's words, newest first. The RAM's late data is
        // registered as it is, beside what in-flight updates of the queue
        // forward, and chosen from next cycle.
        self.a2_cfg.d.next = self.cfg_ram.read_data.val();
        if self.cf_valid.q.val() & (self.cf_q.q.val() == self.a1_q.q.val()) {
            self.a2_cfg.d.next = self.cf_data.q.val();
        }
        self.m2.next = self.a2_v.q.val() & (self.a2_q.q.val() == self.a1_q.q.val());
        self.m3.next = self.a3_v.q.val() & (self.a3_q.q.val() == self.a1_q.q.val());
        self.m4.next = self.a4_v.q.val() & (self.a4_q.q.val() == self.a1_q.q.val());
        self.mr.next = self.r_v.q.val() & (self.r_q.q.val() == self.a1_q.q.val());
        self.mw.next = self.w_v.q.val() & (self.w_q.q.val() == self.a1_q.q.val());
        self.f_last.next = self.w_state.q.val().last;
        if self.mr.val() {
            self.f_last.next = self.r_state.q.val().last;
        }
        if self.m4.val() {
            self.f_last.next = self.a4_ts.q.val();
        }
        if self.m3.val() {
            self.f_last.next = self.a3_ts.q.val();
        }
        if self.m2.val() {
            self.f_last.next = self.a2_ts.q.val();
        }
        self.a2_last.d.next = self.state_ram.read_data.val().last;
        self.a2_flast.d.next = self.f_last.val();
        self.a2_fwd.d.next = self.m2.val() | self.m3.val() | self.m4.val() | self.mr.val() | self.mw.val();
        self.a2_m4.d.next = self.m4.val();
        self.f_st.next = self.w_state.q.val();
        if self.mr.val() {
            self.f_st.next = self.r_state.q.val();
        }
        self.a2_g.d.next = self.state_ram.read_data.val().g_tok;
        self.a2_c.d.next = self.state_ram.read_data.val().c_tok;
        self.a2_d.d.next = self.state_ram.read_data.val().deficit;
        self.a2_ftok.d.next = self.mr.val() | self.mw.val();
        self.a2_fst.d.next = self.f_st.val();
        self.a2_v.d.next = self.a1_v.q.val();
        self.a2_kind.d.next = self.a1_kind.q.val();
        self.a2_q.d.next = self.a1_q.q.val();
        self.a2_green.d.next = self.a1_green.q.val();
        self.a2_bytes.d.next = self.a1_bytes.q.val();
        self.a2_ts.d.next = self.now.q.val();

        // Stage 2: the buckets' first stage, the deficit's terms.
        self.last.next = self.a2_last.q.val();
        if self.a2_fwd.q.val() {
            self.last.next = self.a2_flast.q.val();
        }
        self.diff.next = self.a2_ts.q.val() - self.last.val();
        self.is_turn.next = self.a2_kind.q.val() == 1;
        self.is_refund.next = self.a2_kind.q.val() == 2;
        self.is_visit.next = self.a2_kind.q.val() == 3;
        self.refund_tok.next = bit_cast::<48, 12>(self.a2_bytes.q.val()) << 24;

        // Guarantee: charged only by green ops; none at a zero rate.
        self.g_add.next = 0.into();
        self.g_charge.next = false;
        if self.is_turn.val() & self.a2_green.q.val() {
            self.g_add.next = self.neg_admit_tok.val();
            self.g_charge.next = true;
        }
        if self.is_refund.val() & self.a2_green.q.val() {
            self.g_add.next = self.refund_tok.val();
        }
        self.g_bucket.diff.next = self.diff.val();
        self.g_bucket.rate.next = self.a2_cfg.q.val().g_rate;
        self.g_bucket.burst.next = self.a2_cfg.q.val().g_burst;
        self.g_bucket.add.next = self.g_add.val();
        self.g_bucket.charge.next = self.g_charge.val();
        self.g_bucket.empty.next = self.a2_cfg.q.val().g_rate == 0;
        self.g_bucket.full.next = false;

        // Ceiling: charged by every turn; full at a zero rate.
        self.c_add.next = 0.into();
        self.c_charge.next = false;
        if self.is_turn.val() {
            self.c_add.next = self.neg_admit_tok.val();
            self.c_charge.next = true;
        }
        if self.is_refund.val() {
            self.c_add.next = self.refund_tok.val();
        }
        self.c_bucket.diff.next = self.diff.val();
        self.c_bucket.rate.next = self.a2_cfg.q.val().c_rate;
        self.c_bucket.burst.next = self.a2_cfg.q.val().c_burst;
        self.c_bucket.add.next = self.c_add.val();
        self.c_bucket.charge.next = self.c_charge.val();
        self.c_bucket.empty.next = false;
        self.c_bucket.full.next = self.a2_cfg.q.val().c_rate == 0;

        // Deficit: a yellow turn takes ADMIT at once, so the queue stops
        // taking turns as soon as its deficit is spent; the refund gives
        // back what the frame did not use, uncapped, so the credit a queue
        // leaves with carries to its next visit and shares stay exact in
        // bytes. Only a visit is capped (`shaping::DEFICIT_CAP_QUANTA`).
        self.weight.next = self.a2_cfg.q.val().weight;
        if self.a2_cfg.q.val().weight == 0 {
            self.weight.next = 1.into();
        }
        self.quantum.next = bit_cast::<28, 8>(self.weight.val()) << 11;
        self.a3_dcap.d.next = (self.quantum.val() << 4) + (self.quantum.val() << 2) + self.admit_d.val();
        self.d_add.next = 0.into();
        self.a3_capped.d.next = false;
        if self.is_turn.val() & !self.a2_green.q.val() {
            self.d_add.next = self.neg_admit_d.val();
        }
        if self.is_refund.val() & !self.a2_green.q.val() {
            self.d_add.next = bit_cast::<28, 12>(self.a2_bytes.q.val());
        }
        if self.is_visit.val() {
            self.d_add.next = self.quantum.val();
            self.a3_capped.d.next = true;
        }
        self.a3_dadd.d.next = self.d_add.val();
        // The counts of the update three cycles ahead, now in the result.
        self.a3_g.d.next = self.a2_g.q.val();
        self.a3_c.d.next = self.a2_c.q.val();
        self.a3_d.d.next = self.a2_d.q.val();
        if self.a2_ftok.q.val() {
            self.a3_g.d.next = self.a2_fst.q.val().g_tok;
            self.a3_c.d.next = self.a2_fst.q.val().c_tok;
            self.a3_d.d.next = self.a2_fst.q.val().deficit;
        }
        if self.a2_m4.q.val() {
            self.a3_g.d.next = self.r_state.q.val().g_tok;
            self.a3_c.d.next = self.r_state.q.val().c_tok;
            self.a3_d.d.next = self.r_state.q.val().deficit;
        }
        self.a3_v.d.next = self.a2_v.q.val();
        self.a3_q.d.next = self.a2_q.q.val();
        self.a3_ts.d.next = self.a2_ts.q.val();
        self.a3_sup.d.next = self.a1_turn.val() & (self.a1_q.q.val() == self.a2_q.q.val());
        self.a3_hit.d.next = self.a3_v.q.val() & (self.a3_q.q.val() == self.a2_q.q.val());
        self.a3_mr.d.next = self.a4_v.q.val() & (self.a4_q.q.val() == self.a2_q.q.val());

        // Stage 3: the counts to start from: the update one cycle ahead's
        // result if it is this queue's, else two cycles ahead's, else the
        // ones carried from the RAM.
        self.g_bucket.tokens.next = self.a3_g.q.val();
        self.c_bucket.tokens.next = self.a3_c.q.val();
        self.a4_dtok.d.next = self.a3_d.q.val();
        if self.a3_mr.q.val() {
            self.g_bucket.tokens.next = self.r_state.q.val().g_tok;
            self.c_bucket.tokens.next = self.r_state.q.val().c_tok;
            self.a4_dtok.d.next = self.r_state.q.val().deficit;
        }
        self.g_bucket.chain.next = self.a3_hit.q.val();
        self.c_bucket.chain.next = self.a3_hit.q.val();
        self.dadd_hi.next = 0.into();
        if self.a3_dadd.q.val().get_bit(27) {
            self.dadd_hi.next = self.ext_d.val();
        }
        self.a4_dl.d.next =
            bit_cast::<30, 28>(self.a3_dcap.q.val()) - (bit_cast::<30, 28>(self.a3_dadd.q.val()) | self.dadd_hi.val());
        self.a4_sup.d.next = self.a3_sup.q.val() | (self.a1_turn.val() & (self.a1_q.q.val() == self.a3_q.q.val()));
        self.a4_v.d.next = self.a3_v.q.val();
        self.a4_q.d.next = self.a3_q.q.val();
        self.a4_ts.d.next = self.a3_ts.q.val();
        self.a4_dcap.d.next = self.a3_dcap.q.val();
        self.a4_dadd.d.next = self.a3_dadd.q.val();
        self.a4_capped.d.next = self.a3_capped.q.val();

        // Stage 4: the new counts and bits. A visit caps the deficit when
        // `deficit + add > cap`, that is `cap - add - deficit < 0`.
        self.d_sum.next = self.a4_dtok.q.val() + self.a4_dadd.q.val();
        self.dtok_hi.next = 0.into();
        if self.a4_dtok.q.val().get_bit(27) {
            self.dtok_hi.next = self.ext_d.val();
        }
        self.d_gap.next = self.a4_dl.q.val() - (bit_cast::<30, 28>(self.a4_dtok.q.val()) | self.dtok_hi.val());
        self.d_over.next = self.a4_capped.q.val() & self.d_gap.val().get_bit(29);
        self.d_new.next = self.d_sum.val();
        if self.d_over.val() {
            self.d_new.next = self.a4_dcap.q.val();
        }
        self.d_ok.next = self.d_over.val() | !self.d_sum.val().get_bit(27);
        // The update one cycle behind, of the same queue, starts from this.
        if self.a3_hit.q.val() {
            self.a4_dtok.d.next = self.d_new.val();
        }
        self.r_v.d.next = self.a4_v.q.val();
        self.r_q.d.next = self.a4_q.q.val();
        self.r_state.d.next.g_tok = self.g_bucket.result.val();
        self.r_state.d.next.c_tok = self.c_bucket.result.val();
        self.r_state.d.next.deficit = self.d_new.val();
        self.r_state.d.next.last = self.a4_ts.q.val();

        // The queue's bits, unless a younger turn of its queue has cleared
        // them: registered here with the turns seen so far, applied next
        // cycle. The buckets' `admit` covers zero rates and bursts below an
        // admission.
        self.b5_v.d.next = self.a4_v.q.val();
        self.b5_q.d.next = self.a4_q.q.val();
        self.b5_mask.d.next = bit_cast::<QUEUE_COUNT, 1>(true.into()) << self.a4_q.q.val();
        self.b5_sup.d.next = self.a4_sup.q.val() | (self.a1_turn.val() & (self.a1_q.q.val() == self.a4_q.q.val()));
        self.b5_c.d.next = self.c_bucket.admit.val();
        self.b5_g.d.next = self.c_bucket.admit.val() & self.g_bucket.admit.val();
        self.b5_d.d.next = self.d_ok.val();

        // Stage 5: the bits, unless a turn of the queue came since (one this
        // cycle clears its queue's bits first).
        self.c_ok.next = self.b5_c.q.val();
        self.g_ok.next = self.b5_g.q.val();
        self.sup_now.next = self.b5_sup.q.val() | (self.a1_turn.val() & (self.a1_q.q.val() == self.b5_q.q.val()));
        self.s5_mask.next = 0.into();
        if self.b5_v.q.val() & !self.sup_now.val() {
            self.s5_mask.next = self.b5_mask.q.val();
        }
        self.set_mask.next = self.s5_mask.val() & !self.turn_mask.val();
        self.green_keep.next = self.green_bits.q.val() & !self.s5_mask.val() & !self.turn_mask.val();
        self.ceiling_keep.next = self.ceiling_bits.q.val() & !self.s5_mask.val() & !self.turn_mask.val();
        self.deficit_keep.next = self.deficit_bits.q.val() & !self.s5_mask.val() & !self.turn_mask.val();
        self.green_set.next = 0.into();
        if self.g_ok.val() {
            self.green_set.next = self.set_mask.val();
        }
        self.ceiling_set.next = 0.into();
        if self.c_ok.val() {
            self.ceiling_set.next = self.set_mask.val();
        }
        self.deficit_set.next = 0.into();
        if self.b5_d.q.val() {
            self.deficit_set.next = self.set_mask.val();
        }
        self.green_bits.d.next = self.green_keep.val() | self.green_set.val();
        self.ceiling_bits.d.next = self.ceiling_keep.val() | self.ceiling_set.val();
        self.deficit_bits.d.next = self.deficit_keep.val() | self.deficit_set.val();

        // Stage 5: the state RAM takes the result; a read in this cycle
        // still gets the old word, so the result is kept one more cycle.
        self.state_ram.write_address.next = self.r_q.q.val();
        self.state_ram.write_data.next = self.r_state.q.val();
        self.state_ram.write_enable.next = self.r_v.q.val();
        self.w_v.d.next = self.r_v.q.val();
        self.w_q.d.next = self.r_q.q.val();
        self.w_state.d.next = self.r_state.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};
    use crate::ports::shaper::{SHAPER_OP_NONE, SHAPER_OP_REFUND, SHAPER_OP_TURN, SHAPER_OP_VISIT};
    use crate::shaping::{quantum, rate_from_bps, wire_bytes, Bucket, ShapeSettings, LINE_RATE};
    use std::collections::VecDeque;

    const GREEN: usize = 0;
    const CEILING: usize = 1;
    const DEFICIT: usize = 2;
    const A: u32 = ADMIT_BYTES;

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Op {
        kind: u64,
        queue: usize,
        green: bool,
        bytes: u32,
    }

    fn turn(queue: usize, green: bool) -> Op {
        Op { kind: SHAPER_OP_TURN, queue, green, bytes: 0 }
    }

    fn refund(queue: usize, green: bool, bytes: u32) -> Op {
        Op { kind: SHAPER_OP_REFUND, queue, green, bytes }
    }

    fn visit(queue: usize) -> Op {
        Op { kind: SHAPER_OP_VISIT, queue, green: false, bytes: 0 }
    }

    #[derive(Clone, Copy, Debug, Default)]
    struct QState {
        g: Bucket,
        c: Bucket,
        d: i64,
        last: u16,
    }

    const LATENCY: u64 = BITS_LATENCY;

    /// The shaper as the module notes and `shaping` describe it, cycle by
    /// cycle: an op presented in cycle t is applied with `now = t + 1` and
    /// its bits show in cycle t + LATENCY; a turn clears its bits for cycle
    /// t + 1, and the bits of its queue's ops still to show are dropped.
    struct Model {
        cfg: Vec<ShapeSettings>,
        st: Vec<QState>,
        bits: [u64; 3],
        sweep: usize,
        pending: Option<Op>,
        /// (cycle, queue, ok bits) not yet shown.
        shows: VecDeque<(u64, usize, [bool; 3])>,
    }

    impl Model {
        fn new() -> Self {
            Self {
                cfg: vec![ShapeSettings::default(); QUEUE_COUNT],
                st: vec![QState::default(); QUEUE_COUNT],
                bits: [0; 3],
                sweep: 0,
                pending: None,
                shows: VecDeque::new(),
            }
        }

        /// Applies `op` at `now`; its bits show in cycle `show`.
        fn apply(&mut self, op: Op, now: u16, show: u64) {
            let s = self.cfg[op.queue];
            let st = &mut self.st[op.queue];
            let elapsed = now.wrapping_sub(st.last).min(1023) as u64;
            if s.g_rate == 0 {
                st.g.tokens = 0;
            } else {
                st.g.refill(s.g_rate, s.g_burst, elapsed);
            }
            if s.c_rate == 0 {
                st.c.tokens = (s.c_burst as i64) << RATE_FRAC_BITS;
            } else {
                st.c.refill(s.c_rate, s.c_burst, elapsed);
            }
            st.last = now;
            let q = quantum(s.weight) as i64;
            match op.kind {
                SHAPER_OP_TURN => {
                    st.c.charge(A);
                    if op.green {
                        st.g.charge(A);
                    } else {
                        st.d -= A as i64;
                    }
                }
                SHAPER_OP_REFUND => {
                    st.c.refund(op.bytes, s.c_burst);
                    if op.green {
                        st.g.refund(op.bytes, s.g_burst);
                    } else {
                        st.d += op.bytes as i64;
                    }
                }
                SHAPER_OP_VISIT => st.d = (st.d + q).min(DEFICIT_CAP_QUANTA as i64 * q + A as i64),
                _ => {}
            }
            let c_ok = s.c_rate == 0 || st.c.ok();
            let ok = [c_ok && s.g_rate != 0 && st.g.ok(), c_ok, st.d >= 0];
            self.shows.push_back((show, op.queue, ok));
        }

        /// The bits that show in `cycle`.
        fn show(&mut self, cycle: u64) {
            while let Some(&(c, q, ok)) = self.shows.front() {
                if c > cycle {
                    break;
                }
                assert_eq!(c, cycle);
                self.shows.pop_front();
                for (b, ok) in self.bits.iter_mut().zip(ok) {
                    *b = (*b & !(1 << q)) | ((ok as u64) << q);
                }
            }
        }
    }

    fn shape_config(s: &ShapeSettings) -> ShapeConfig {
        ShapeConfig {
            g_rate: (s.g_rate as u64).into(),
            g_burst: (s.g_burst as u64).into(),
            c_rate: (s.c_rate as u64).into(),
            c_burst: (s.c_burst as u64).into(),
            weight: (s.weight as u64).into(),
        }
    }

    struct Bench {
        h: Harness<TxShaper>,
        m: Model,
        /// Ops on the queue of the op just before: engine after engine,
        /// and pairs where one of them is a sweep visit.
        same_queue: [u64; 2],
        /// Bits seen changing, per bitmap.
        flips: [u64; 3],
        seen: [u64; 3],
    }

    impl Bench {
        fn new() -> Self {
            Self {
                h: Harness::new(TxShaper::default(), |s| &mut s.clock),
                m: Model::new(),
                same_queue: [0; 2],
                flips: [0; 3],
                seen: [0; 3],
            }
        }

        /// The bitmaps this cycle: green, ceiling, deficit.
        fn bits(&self) -> [u64; 3] {
            let s = &self.h.uut.sched;
            [u64::from(s.green_ok.val()), u64::from(s.ceiling_ok.val()), u64::from(s.deficit_ok.val())]
        }

        fn bit(&self, which: usize, queue: usize) -> bool {
            self.bits()[which] >> queue & 1 == 1
        }

        /// One cycle with an optional engine op and config write; the
        /// bitmaps must equal the model's, in this cycle and every one.
        fn step(&mut self, op: Option<Op>, cfg: Option<(u64, ShapeSettings)>) {
            let cycle = self.h.cycles;
            self.m.show(cycle);
            let bits = self.bits();
            assert_eq!(bits, self.m.bits, "cycle {cycle}: bitmaps (green, ceiling, deficit) differ");
            for ((flips, now), seen) in self.flips.iter_mut().zip(bits).zip(self.seen) {
                *flips += (now ^ seen).count_ones() as u64;
            }
            self.seen = bits;
            let u = &mut self.h.uut;
            let o = op.unwrap_or(Op { kind: SHAPER_OP_NONE, queue: 0, green: false, bytes: 0 });
            u.sched.op.next = o.kind.into();
            u.sched.queue.next = (o.queue as u64).into();
            u.sched.green.next = o.green;
            u.sched.bytes.next = (o.bytes as u64).into();
            u.shape.write.next = cfg.is_some();
            let (cq, cs) = cfg.unwrap_or_default();
            u.shape.queue.next = cq.into();
            u.shape.shape.next = shape_config(&cs);

            let prev = self.m.pending.take();
            if let Some(p) = prev {
                self.m.apply(p, cycle as u16, cycle - 1 + LATENCY);
            }
            if cfg.is_some() && cq < QUEUE_COUNT as u64 {
                self.m.cfg[cq as usize] = cs;
            }
            let actual = match op {
                Some(o) => {
                    if o.kind == SHAPER_OP_TURN {
                        for b in self.m.bits.iter_mut() {
                            *b &= !(1 << o.queue);
                        }
                        self.m.shows.retain(|s| s.1 != o.queue);
                    }
                    o
                }
                None => {
                    let q = self.m.sweep;
                    self.m.sweep = (q + 1) % QUEUE_COUNT;
                    Op { kind: SHAPER_OP_NONE, queue: q, green: false, bytes: 0 }
                }
            };
            if let Some(p) = prev.filter(|p| p.queue == actual.queue) {
                let sweep = p.kind == SHAPER_OP_NONE || actual.kind == SHAPER_OP_NONE;
                self.same_queue[sweep as usize] += 1;
            }
            self.m.pending = Some(actual);
            self.h.cycle();
        }

        fn run(&mut self, cycles: u64) {
            for _ in 0..cycles {
                self.step(None, None);
            }
        }

        fn configure(&mut self, queue: u64, s: ShapeSettings) {
            self.step(None, Some((queue, s)));
        }

        /// An op, then idle cycles until its bits show, checking the t+1
        /// clear of a turn.
        fn op(&mut self, op: Op) {
            self.step(Some(op), None);
            if op.kind == SHAPER_OP_TURN {
                for which in [GREEN, CEILING, DEFICIT] {
                    assert!(!self.bit(which, op.queue), "bit {which} not cleared the cycle after a turn");
                }
            }
            for _ in 1..LATENCY {
                self.step(None, None);
            }
        }
    }

    /// A driver takes a turn whenever the queue's ceiling bit is set and
    /// refunds 20 cycles later; the wire bytes it sends must follow the rate.
    fn conformance(rate: u32, burst: u32, cycles: u64, seed: u64) {
        const Q: usize = 5;
        const REFUND_DELAY: u64 = 20;
        let mut b = Bench::new();
        let mut rng = Rng(seed);
        b.configure(Q as u64, ShapeSettings { c_rate: rate, c_burst: burst, ..Default::default() });
        let start = b.h.cycles;
        // (cycle, wire bytes, cycle its refund was presented)
        let mut turns: Vec<(u64, u32, u64)> = vec![];
        let mut refunds: VecDeque<(u64, usize, u32)> = VecDeque::new();
        while b.h.cycles < start + cycles {
            let now = b.h.cycles;
            let op = if refunds.front().is_some_and(|r| r.0 <= now) {
                let (_, i, bytes) = refunds.pop_front().unwrap();
                turns[i].2 = now;
                Some(refund(Q, false, bytes))
            } else if b.bit(CEILING, Q) {
                let len = match rng.below(10) {
                    0..=4 => 1514,
                    5..=6 => 14,
                    _ => 14 + rng.below(1501) as u32,
                };
                let wire = wire_bytes(len);
                refunds.push_back((now + REFUND_DELAY, turns.len(), A - wire));
                turns.push((now, wire, u64::MAX));
                Some(turn(Q, false))
            } else if b.bit(DEFICIT, Q) {
                None
            } else {
                Some(visit(Q))
            };
            b.step(op, None);
        }
        assert!(turns.len() >= 4, "rate {rate}: only {} turns", turns.len());
        let r = rate as u128;
        let total: u128 = turns.iter().map(|t| t.1 as u128).sum();
        // Started empty: nothing is sent that was not refilled.
        assert!(total << RATE_FRAC_BITS <= r * (cycles as u128 + 1), "rate {rate}: {total} bytes in {cycles} cycles");
        // Between the first and the last turn, the bytes of the turns in
        // between are the refill, give or take one sweep's worth of
        // waiting at either end.
        let (t0, tn) = (turns[0].0, turns.last().unwrap().0);
        let window: u128 = turns[..turns.len() - 1].iter().map(|t| t.1 as u128).sum::<u128>() << RATE_FRAC_BITS;
        let expect = r * (tn - t0) as u128;
        let err = (window as f64 - expect as f64).abs() / expect as f64;
        assert!(err < 0.005, "rate {rate}: sent {} vs {} bytes", window >> 24, expect >> 24);
        // No interval sends more than the burst plus its refill, plus the
        // refunds of earlier turns that arrive in it.
        for i in 0..turns.len() {
            let slack: u128 = turns[..i].iter().filter(|t| t.2 > turns[i].0).map(|t| (A - t.1) as u128).sum();
            let mut sum = 0u128;
            for t in &turns[i..] {
                sum += t.1 as u128;
                let bound = ((burst as u128 + slack) << RATE_FRAC_BITS) + r * (t.0 - turns[i].0) as u128;
                assert!(sum << RATE_FRAC_BITS <= bound, "rate {rate}: {sum} bytes from turn {i} to cycle {}", t.0);
            }
        }
        println!("rate {rate}: {} turns, {total} bytes, window error {:.4}%", turns.len(), err * 100.0);
    }

    #[test]
    fn ceiling_conforms_to_rate() {
        conformance(LINE_RATE, 8192, 120_000, 1);
        conformance(LINE_RATE / 10, 8192, 120_000, 2);
        conformance(rate_from_bps(10_000_000, 125_000_000) as u32, 8192, 600_000, 3);
        conformance(3 * LINE_RATE / 7, 2 * A, 60_000, 4);
    }

    #[test]
    fn green_yellow_and_deficit() {
        const Q: usize = 3;
        let mut b = Bench::new();
        let s = ShapeSettings { g_rate: LINE_RATE / 4, g_burst: 4 * A, c_rate: LINE_RATE, c_burst: 8 * A, weight: 2 };
        b.configure(Q as u64, s);
        // Both buckets fill up to their bursts.
        b.run(4 * 4 * A as u64 + 200);
        assert!(b.bit(GREEN, Q) && b.bit(CEILING, Q) && b.bit(DEFICIT, Q));
        // Green turns charge the guarantee (and the ceiling) down below
        // ADMIT: the queue turns yellow.
        for _ in 0..3 {
            b.op(turn(Q, true));
            assert!(b.bit(GREEN, Q), "green after {} cycles", b.h.cycles);
        }
        b.op(turn(Q, true));
        assert!(!b.bit(GREEN, Q) && b.bit(CEILING, Q) && b.bit(DEFICIT, Q));
        // A green refund brings it back (the guarantee holds a few bytes
        // of refill since).
        b.op(refund(Q, true, 100));
        assert!(!b.bit(GREEN, Q));
        b.op(refund(Q, true, A - 100));
        assert!(b.bit(GREEN, Q));
        b.op(turn(Q, true));
        assert!(!b.bit(GREEN, Q));
        // A yellow turn takes a whole admission from the deficit at once
        // (it starts at 0, so it goes negative) and leaves the guarantee.
        b.op(turn(Q, false));
        assert!(!b.bit(DEFICIT, Q) && b.bit(CEILING, Q));
        // Its refund gives back what the frame did not use: the deficit is
        // then the frame's wire bytes in debt.
        b.op(refund(Q, false, A - 84));
        assert!(!b.bit(DEFICIT, Q));
        // A visit adds the quantum (4096 at weight 2): 4096 - 84 left.
        // Twenty more visits reach the cap, 20 quanta and an admission.
        b.op(visit(Q));
        assert!(b.bit(DEFICIT, Q));
        for _ in 0..20 {
            b.op(visit(Q));
        }
        // 20 * 4096 + 1546 = 83466 of credit: 53 admissions leave 1528,
        // the 54th 18 in debt, and refunds of 18 bring it back to 0.
        for n in 1..=54 {
            b.op(turn(Q, false));
            assert_eq!(b.bit(DEFICIT, Q), n < 54, "after {n} turns");
        }
        b.op(refund(Q, false, 17));
        assert!(!b.bit(DEFICIT, Q));
        b.op(refund(Q, false, 1));
        assert!(b.bit(DEFICIT, Q), "refunds are not capped");
        // Yellow ops left the guarantee alone: it still refills on time
        // (the model says exactly when).
        while !b.bit(GREEN, Q) {
            b.step(None, None);
        }
        // Charging the ceiling below ADMIT clears green too.
        while b.bit(CEILING, Q) {
            b.op(turn(Q, false));
            b.op(visit(Q));
        }
        assert!(!b.bit(GREEN, Q));
        b.run(100);
    }

    #[test]
    fn zero_rates_reset_and_config_change() {
        let mut b = Bench::new();
        // Reset: unshaped queues, bits right once the first sweep round has
        // been written (queue 63 is swept in cycle 63, shows LATENCY later).
        b.run(62 + LATENCY);
        assert_eq!(b.bits()[CEILING], u64::MAX >> 1);
        b.run(1);
        assert_eq!(b.bits(), [0, u64::MAX, u64::MAX]);

        // No ceiling: always ok, whatever the turns; no guarantee: never
        // green, whatever the burst.
        let free = ShapeSettings { g_rate: 0, g_burst: 100_000, c_rate: 0, c_burst: 0, weight: 0 };
        b.configure(9, free);
        b.run(70);
        for _ in 0..2000 {
            b.op(turn(9, true));
            assert!(b.bit(CEILING, 9) && !b.bit(GREEN, 9));
        }
        // Writes to queues past the last are ignored (not folded onto the
        // low bits).
        let tight = ShapeSettings { g_rate: 0, g_burst: 0, c_rate: 1, c_burst: 0, weight: 0 };
        b.configure(QUEUE_COUNT as u64 + 9, tight);
        b.run(70);
        assert!(b.bit(CEILING, 9));

        // A smaller burst caps the tokens at the next update.
        let big = ShapeSettings { c_rate: LINE_RATE, c_burst: 10_000, ..Default::default() };
        b.configure(11, big);
        b.run(10_100);
        b.op(turn(11, false));
        assert!(b.bit(CEILING, 11));
        b.configure(11, ShapeSettings { c_rate: 1, c_burst: 2000, ..Default::default() });
        b.op(refund(11, false, 1000));
        assert!(b.bit(CEILING, 11));
        b.op(turn(11, false));
        assert!(!b.bit(CEILING, 11), "not capped at the new burst");
        b.run(200);
        assert!(!b.bit(CEILING, 11));
        // Back to no ceiling: ok at once.
        b.configure(11, ShapeSettings::default());
        b.op(visit(11));
        assert!(b.bit(CEILING, 11));
        b.run(100);
    }

    /// Random ops, most cycles, on a few queues near their thresholds, with
    /// config writes: same-queue ops back to back and sweep collisions must
    /// all match the model exactly.
    #[test]
    fn back_to_back_ops_match_model() {
        let mut b = Bench::new();
        let mut rng = Rng(0x5eed);
        let random_settings = |rng: &mut Rng| {
            let rates = [0, 1, LINE_RATE / 16, LINE_RATE / 3, LINE_RATE, 5 * LINE_RATE, (1 << RATE_BITS) - 1];
            let rate = |rng: &mut Rng| rates[rng.below(rates.len() as u64) as usize];
            let burst = |rng: &mut Rng| match rng.below(4) {
                0 => rng.below(2 * A as u64) as u32,
                1 => A + rng.below(A as u64) as u32,
                2 => 2 * A + rng.below(8) as u32,
                _ => rng.below(1 << BURST_BITS) as u32,
            };
            ShapeSettings {
                g_rate: rate(rng),
                g_burst: burst(rng),
                c_rate: rate(rng),
                c_burst: burst(rng),
                weight: rng.below(4) as u8 * 85,
            }
        };
        for q in 0..8 {
            let s = random_settings(&mut rng);
            b.configure(q, s);
        }
        let mut ops = 0;
        for phase in 0..12u64 {
            // Load: how many cycles in a hundred carry an engine op; full
            // load starves the sweep so refills hit the 1023-cycle clamp.
            let load = [85, 100, 50, 95][(phase % 4) as usize];
            for _ in 0..2500 {
                let cfg = rng.chance(1).then(|| {
                    let q = if rng.chance(10) { QUEUE_COUNT as u64 + rng.below(8) } else { rng.below(8) };
                    (q, random_settings(&mut rng))
                });
                let sweep = b.m.sweep as u64;
                let op = rng.chance(load).then(|| {
                    // Mostly queues 0..4; some on the queue the sweep just
                    // visited or visits next; at full load only 0..4, so the
                    // others starve.
                    let queue = match rng.below(if load < 100 { 10 } else { 8 }) {
                        8 => (sweep + QUEUE_COUNT as u64 - 1) % QUEUE_COUNT as u64,
                        9 => sweep,
                        _ => rng.below(4),
                    } as usize;
                    let green = rng.chance(50);
                    match rng.below(10) {
                        0..=3 => turn(queue, green),
                        4..=7 => refund(queue, green, rng.below(4096) as u32),
                        _ => visit(queue),
                    }
                });
                ops += op.is_some() as u64;
                b.step(op, cfg);
            }
        }
        b.run(3);
        assert!(ops > 20_000);
        // The schedule did what it is for: plenty of same-queue pairs of
        // both kinds, and every bitmap's bits going both ways.
        println!("same-queue pairs {:?}, bit changes {:?}", b.same_queue, b.flips);
        assert!(b.same_queue.iter().all(|&n| n > 500), "same-queue pairs: {:?}", b.same_queue);
        assert!(b.flips.iter().all(|&n| n > 1000), "bit changes: {:?}", b.flips);
    }

    /// A queue the sweep cannot reach for longer than 1023 cycles gets
    /// exactly 1023 cycles of refill at its next update.
    #[test]
    fn starved_queue_refill_is_clamped() {
        let mut b = Bench::new();
        let need = (A as u64) << RATE_FRAC_BITS;
        // 1 + 1023 cycles of refill make ADMIT at the first rate, just miss
        // it at the second.
        let rates = [need.div_ceil(1024) as u32, ((need - 1) / 1024) as u32];
        for (i, &rate) in rates.iter().enumerate() {
            b.configure(20 + i as u64, ShapeSettings { c_rate: rate, c_burst: 2 * A, ..Default::default() });
        }
        b.run(2 * 1024 * 4);
        assert!(b.bit(CEILING, 20) && b.bit(CEILING, 21));
        // Two turns back to back leave each bucket at one cycle of refill.
        for q in [20, 21] {
            b.step(Some(turn(q, false)), None);
            b.step(Some(turn(q, false)), None);
        }
        // The engine keeps every cycle busy elsewhere for 3000 cycles.
        for i in 0..3000 {
            b.step(Some(visit(i % 4)), None);
        }
        assert!(!b.bit(CEILING, 20) && !b.bit(CEILING, 21));
        b.run(70);
        assert!(b.bit(CEILING, 20), "clamped refill too small");
        assert!(!b.bit(CEILING, 21), "refill not clamped at 1023 cycles");
    }

    #[test]
    fn generates_verilog() {
        let mut uut = TxShaper::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
