//! The event engine: tells the host, by an 8-byte DMA write to a queue's
//! event address, that the queue has finished descriptors, moderated by
//! count and by time, and only when the host has armed the queue.
//!
//! Per queue it keeps (in block RAM, except `armed`, a flip-flop per queue):
//! - `armed`: set by a doorbell of kind `DOORBELL_ARM`, cleared when an
//!   event fires and by a commit;
//! - `pending`: completions (receive and transmit) since the last event,
//!   saturating at 255, with the tick at which it went from 0 to 1;
//! - `rx_done`, `tx_done`: the `done` of the latest notice of each ring
//!   (the ring is the notice's `is_tx`, whichever port it came in on);
//! - `seq`: events fired so far (16 bits, wrapping).
//!
//! An event fires when `evt_addr != 0`, the queue is armed, `pending >= 1`
//! and either `pending >= max(evt_count, 1)` or `evt_ticks != 0` and at
//! least `evt_ticks` ticks (`queue::EVENT_TICK_CYCLES` cycles each) have
//! passed since the first pending completion. Ticks are counted by a
//! free-running 24-bit counter and elapsed time by wrapping subtraction; a
//! queue found due stays due (a sticky bit) until its event fires, so an
//! unarmed queue that waited longer than the counter's wrap still fires at
//! once when armed. Since the first completion's tick is recorded, not its
//! cycle, a time-moderated event fires between `(evt_ticks - 1) * 128` and
//! `evt_ticks * 128` cycles after it, plus the scan delay below. Firing
//! writes `queue::EventWord { rx_done, tx_done, queue, seq }.encode()` with
//! `seq` already incremented (the first event of a queue has seq 1), then
//! clears `armed` and `pending`; `rx_done`/`tx_done` are kept.
//!
//! Processing is serial, one operation per cycle through four stages (so
//! that block-RAM data and the wide compares each get a cycle at 125 MHz):
//! stage 0 picks an operation and addresses the config and state RAMs at
//! its queue; stage 1 registers both (the state stage 3 wrote last cycle is
//! forwarded, as the RAM still returns the old one); stage 2 computes the
//! new state and whether it fires if armed; stage 3 looks at `armed`,
//! writes the state back and fires. An operation that reads a queue's
//! state is not picked while another one on that queue is in stage 1 or
//! 2 (the cycle goes unused), so no result is ever missed.
//! Operations, highest priority first:
//! 1. the state reset of a commit, the cycle after the commit;
//! 2. an arm: the queue named by the latest arm doorbell not yet evaluated,
//!    so arming a queue that has enough pending fires within a few cycles;
//! 3. a completion notice from the receive or transmit FIFO (alternating
//!    between them, each FIFO's head held in a register), alternating
//!    with 4 while notices wait;
//! 4. a scan step: the next queue in turn is evaluated as is, which is what
//!    fires time-moderated events. Idle, the scan visits every queue in
//!    `QUEUE_COUNT` cycles; under a flood of notices in `2 * QUEUE_COUNT`.
//!
//! Operations 2 to 4 wait while an event is in the DMA output (as seen a
//! cycle late; an 8-entry event FIFO behind the output slot covers the
//! operations in stages 1 to 3 and the two picked meanwhile), so a
//! host that stalls the write stalls the engine, but never loses anything:
//! notices wait in 16-entry FIFOs whose `ready` drops only when full, and
//! `armed` is set by the doorbell itself (never stalled); a doorbell that
//! arrives while an earlier arm is still unevaluated replaces it as the
//! one to evaluate, and the scan evaluates the other within a round.
//! An arm doorbell in the cycle an event for its queue fires leaves the
//! queue armed (a spare event is harmless; a lost arm would not be).
//!
//! A commit (`settings.write`) writes the queue's event address, count
//! and ticks at once and clears `armed`; the next cycle's reset zeroes
//! `pending`, `rx_done`, `tx_done` and `seq` (`cfg_busy` is high in the four
//! cycles after the commit). An operation already in stages 1 to 3 in the
//! commit cycle may
//! still fire with the old settings (it came before the commit); none after
//! can fire until the queue is armed again. Notices accepted before the
//! commit but still in a FIFO are applied after the reset (they are at
//! most 16 per ring, and a queue is normally committed disabled and idle).
//!
//! Queue numbers at or above `QUEUE_COUNT` are ignored in doorbells,
//! notices (taken from the port and dropped) and commits.
//!
//! DMA: writes only, one at a time: the request (`len` 8) and, a cycle
//! after it moves at the earliest, its single data beat with `last` set.
//! Reads are never requested and `rd_rsp_ready` is held high. `counts`
//! pulses once, the cycle after each event's data beat moved
//! (`regmap::Counter::EventsSent`).

use crate::params::{NicParams, DMA_ADDR_BITS, DMA_DATA_BITS, QUEUE_BITS, QUEUE_COUNT, QUEUE_COUNT_LOG2};
use crate::ports::{CompletionSink, DmaMaster, DoorbellSink, QueueConfigSink};
use rust_hdl::prelude::*;

// Literals in the kernel below.
const _: () = {
    assert!(crate::queue::EVENT_TICK_CYCLES == 128);
    assert!(crate::ports::queue::DOORBELL_ARM == 2);
};

/// What the engine keeps of a queue's configuration.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct EventConfig {
    pub addr: Bits<64>,
    pub count: Bits<8>,
    pub ticks: Bits<16>,
    /// Derived at the commit, so that no wide compare follows the RAM:
    /// `addr != 0`, `ticks != 0`, and `max(count, 1) - 1`.
    pub live: bool,
    pub timed: bool,
    pub count_m1: Bits<8>,
}

/// A queue's event state.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct EventState {
    pub pending: Bits<8>,
    /// Time moderation found the queue due; cleared when it fires.
    pub due: bool,
    /// The tick at which `pending` went from 0 to 1.
    pub first: Bits<24>,
    pub rx_done: Bits<16>,
    pub tx_done: Bits<16>,
    pub seq: Bits<16>,
}

/// An event fired while the DMA port was busy.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct PendingEvent {
    pub addr: Bits<DMA_ADDR_BITS>,
    pub word: Bits<DMA_DATA_BITS>,
}

/// A completion notice as it waits in a FIFO.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct Notice {
    pub queue: Bits<QUEUE_BITS>,
    pub is_tx: bool,
    pub done: Bits<16>,
}

#[derive(LogicBlock)]
pub struct EventEngine {
    pub clock: Signal<In, Clock>,
    pub settings: QueueConfigSink,
    pub doorbell: DoorbellSink,
    pub rx_done: CompletionSink,
    pub tx_done: CompletionSink,
    pub dma: DmaMaster,
    /// One pulse per event written.
    pub counts: Signal<Out, Bit>,
    /// A commit's state reset is still under way.
    pub cfg_busy: Signal<Out, Bit>,
    cfg_ram: RAM<EventConfig, QUEUE_COUNT_LOG2>,
    state_ram: RAM<EventState, QUEUE_COUNT_LOG2>,
    rx_fifo: SynchronousFIFO<Notice, 4, 5, 1>,
    tx_fifo: SynchronousFIFO<Notice, 4, 5, 1>,
    queue_count: Constant<Bits<QUEUE_BITS>>,
    one: Constant<Bits<QUEUE_COUNT>>,
    prescale: DFF<Bits<7>>,
    tick: DFF<Bits<24>>,
    armed: DFF<Bits<QUEUE_COUNT>>,
    hint_valid: DFF<Bit>,
    hint_queue: DFF<Bits<QUEUE_COUNT_LOG2>>,
    reset_pending: DFF<Bit>,
    reset_queue: DFF<Bits<QUEUE_COUNT_LOG2>>,
    scan_ptr: DFF<Bits<QUEUE_COUNT_LOG2>>,
    /// The last operation was a notice: a waiting scan step goes next.
    scan_turn: DFF<Bit>,
    prefer_tx: DFF<Bit>,
    /// Stage 1: 0 none, 1 reset, 2 evaluate (arm or scan), 3 notice.
    s1_op: DFF<Bits<2>>,
    s1_queue: DFF<Bits<QUEUE_COUNT_LOG2>>,
    s1_is_tx: DFF<Bit>,
    s1_done: DFF<Bits<16>>,
    /// Stage 2: the queue's state and settings as read.
    s2_op: DFF<Bits<2>>,
    s2_queue: DFF<Bits<QUEUE_COUNT_LOG2>>,
    s2_is_tx: DFF<Bit>,
    s2_done: DFF<Bits<16>>,
    s2_cur: DFF<EventState>,
    s2_cfg: DFF<EventConfig>,
    /// Stage 3: the new state, and the event it fires if the queue is armed.
    s3_op: DFF<Bits<2>>,
    s3_queue: DFF<Bits<QUEUE_COUNT_LOG2>>,
    s3_nxt: DFF<EventState>,
    s3_pre_fire: DFF<Bit>,
    s2_armed: DFF<Bits<8>>,
    s3_armed: DFF<Bit>,
    /// Each FIFO's next notice.
    rxh_valid: DFF<Bit>,
    rxh: DFF<Notice>,
    rxh_in_range: DFF<Bit>,
    txh_valid: DFF<Bit>,
    txh: DFF<Notice>,
    txh_in_range: DFF<Bit>,
    s3_seq1: DFF<Bits<16>>,
    s3_addr: DFF<Bits<DMA_ADDR_BITS>>,
    s3_word: DFF<Bits<DMA_DATA_BITS>>,
    /// Stage 3's state write of the previous cycle, for forwarding.
    w_valid: DFF<Bit>,
    w_queue: DFF<Bits<QUEUE_COUNT_LOG2>>,
    w_state: DFF<EventState>,
    /// Event slot 0 is on the DMA port; events behind it wait in `evq`.
    e0_valid: DFF<Bit>,
    e0_addr: DFF<Bits<DMA_ADDR_BITS>>,
    e0_word: DFF<Bits<DMA_DATA_BITS>>,
    /// Picks wait while an event waits (as seen a cycle late), so at most
    /// the operations in stages 1 and 2 and the two picked next fire behind
    /// the one that took slot 0: 4 of the 8 entries.
    evq: SynchronousFIFO<PendingEvent, 3, 4, 1>,
    ev_idle: DFF<Bit>,
    /// Slot 0's request has moved; its data beat is next.
    e0_data: DFF<Bit>,
    sent: DFF<Bit>,
    commit_ok: Signal<Local, Bit>,
    commit_queue: Signal<Local, Bits<QUEUE_COUNT_LOG2>>,
    arm_ok: Signal<Local, Bit>,
    s0_op: Signal<Local, Bits<2>>,
    s0_queue: Signal<Local, Bits<QUEUE_COUNT_LOG2>>,
    take_tx: Signal<Local, Bit>,
    notice: Signal<Local, Notice>,
    rx_notice: Signal<Local, Notice>,
    tx_notice: Signal<Local, Notice>,
    new_cfg: Signal<Local, EventConfig>,
    cur: Signal<Local, EventState>,
    fin: Signal<Local, EventState>,
    pend_zero: Signal<Local, Bit>,
    seq1: Signal<Local, Bits<16>>,
    s1_busy: Signal<Local, Bit>,
    s2_busy: Signal<Local, Bit>,
    hz_hint: Signal<Local, Bit>,
    hz_scan: Signal<Local, Bit>,
    hz_notice: Signal<Local, Bit>,
    grp_all: Signal<Local, Bits<QUEUE_COUNT>>,
    grp_armed: Signal<Local, Bits<8>>,
    grp_clear: Signal<Local, Bits<8>>,
    grp_set: Signal<Local, Bits<8>>,
    nh_valid: Signal<Local, Bit>,
    nh_in_range: Signal<Local, Bit>,
    rx_q: Signal<Local, Bits<QUEUE_COUNT_LOG2>>,
    tx_q: Signal<Local, Bits<QUEUE_COUNT_LOG2>>,
    hz_rx: Signal<Local, Bit>,
    hz_tx: Signal<Local, Bit>,
    is_notice: Signal<Local, Bit>,
    time_due: Signal<Local, Bit>,
    count_ok: Signal<Local, Bit>,
    new_event: Signal<Local, PendingEvent>,
    nxt: Signal<Local, EventState>,
    elapsed: Signal<Local, Bits<24>>,
    fire: Signal<Local, Bit>,
    armed_next: Signal<Local, Bits<QUEUE_COUNT>>,
    req_moved: Signal<Local, Bit>,
    data_moved: Signal<Local, Bit>,
}

impl EventEngine {
    pub fn new(params: &NicParams) -> Self {
        assert_eq!(params.queues as usize, QUEUE_COUNT, "queue state is sized by QUEUE_COUNT_LOG2");
        Self {
            clock: Default::default(),
            settings: Default::default(),
            doorbell: Default::default(),
            rx_done: Default::default(),
            tx_done: Default::default(),
            dma: Default::default(),
            counts: Default::default(),
            cfg_busy: Default::default(),
            // Zeroed, so a queue never committed has no event address.
            cfg_ram: (0..QUEUE_COUNT).map(|_| EventConfig::default()).into(),
            state_ram: (0..QUEUE_COUNT).map(|_| EventState::default()).into(),
            rx_fifo: Default::default(),
            tx_fifo: Default::default(),
            queue_count: Constant::new((QUEUE_COUNT as u64).into()),
            one: Constant::new(1u64.into()),
            prescale: Default::default(),
            tick: Default::default(),
            armed: Default::default(),
            hint_valid: Default::default(),
            hint_queue: Default::default(),
            reset_pending: Default::default(),
            reset_queue: Default::default(),
            scan_ptr: Default::default(),
            scan_turn: Default::default(),
            prefer_tx: Default::default(),
            s1_op: Default::default(),
            s1_queue: Default::default(),
            s1_is_tx: Default::default(),
            s1_done: Default::default(),
            s2_op: Default::default(),
            s2_queue: Default::default(),
            s2_is_tx: Default::default(),
            s2_done: Default::default(),
            s2_cur: Default::default(),
            s2_cfg: Default::default(),
            s3_op: Default::default(),
            s3_queue: Default::default(),
            s3_nxt: Default::default(),
            s3_pre_fire: Default::default(),
            s2_armed: Default::default(),
            s3_armed: Default::default(),
            rxh_valid: Default::default(),
            rxh: Default::default(),
            rxh_in_range: Default::default(),
            txh_valid: Default::default(),
            txh: Default::default(),
            txh_in_range: Default::default(),
            ev_idle: Default::default(),
            grp_all: Default::default(),
            grp_armed: Default::default(),
            grp_clear: Default::default(),
            grp_set: Default::default(),
            nh_valid: Default::default(),
            nh_in_range: Default::default(),
            rx_q: Default::default(),
            tx_q: Default::default(),
            hz_rx: Default::default(),
            hz_tx: Default::default(),
            s3_seq1: Default::default(),
            s3_addr: Default::default(),
            s3_word: Default::default(),
            w_valid: Default::default(),
            w_queue: Default::default(),
            w_state: Default::default(),
            e0_valid: Default::default(),
            e0_addr: Default::default(),
            e0_word: Default::default(),
            evq: Default::default(),
            e0_data: Default::default(),
            sent: Default::default(),
            commit_ok: Default::default(),
            commit_queue: Default::default(),
            arm_ok: Default::default(),
            s0_op: Default::default(),
            s0_queue: Default::default(),
            take_tx: Default::default(),
            notice: Default::default(),
            rx_notice: Default::default(),
            tx_notice: Default::default(),
            new_cfg: Default::default(),
            cur: Default::default(),
            fin: Default::default(),
            pend_zero: Default::default(),
            seq1: Default::default(),
            s1_busy: Default::default(),
            s2_busy: Default::default(),
            hz_hint: Default::default(),
            hz_scan: Default::default(),
            hz_notice: Default::default(),

            is_notice: Default::default(),
            time_due: Default::default(),
            count_ok: Default::default(),
            new_event: Default::default(),
            nxt: Default::default(),
            elapsed: Default::default(),
            fire: Default::default(),
            armed_next: Default::default(),
            req_moved: Default::default(),
            data_moved: Default::default(),
        }
    }
}

impl Logic for EventEngine {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, rx_fifo, tx_fifo, evq);
        dff_setup!(
            self, clock, prescale, tick, armed, hint_valid, hint_queue, reset_pending, reset_queue,
            scan_ptr, scan_turn, prefer_tx, s1_op, s1_queue, s1_is_tx, s1_done, s2_op, s2_queue, s2_is_tx,
            s2_done, s2_cur, s2_cfg, s3_op, s3_queue, s3_nxt, s3_pre_fire, s2_armed, s3_armed, rxh_valid, rxh, rxh_in_range, txh_valid, txh,
            txh_in_range, ev_idle, s3_seq1, s3_addr, s3_word, w_valid,
            w_queue, w_state, e0_valid, e0_addr, e0_word, e0_data, sent
        );
        self.cfg_ram.read_clock.next = self.clock.val();
        self.cfg_ram.write_clock.next = self.clock.val();
        self.state_ram.read_clock.next = self.clock.val();
        self.state_ram.write_clock.next = self.clock.val();

        // Time.
        self.prescale.d.next = self.prescale.q.val() + 1;
        if self.prescale.q.val() == 127 {
            self.tick.d.next = self.tick.q.val() + 1;
        }

        // Notices wait in FIFOs; ready drops only when one is full.
        self.rx_notice.next.queue = self.rx_done.queue.val();
        self.rx_notice.next.is_tx = self.rx_done.is_tx.val();
        self.rx_notice.next.done = self.rx_done.done.val();
        self.rx_fifo.data_in.next = self.rx_notice.val();
        self.rx_fifo.write.next = self.rx_done.valid.val() & !self.rx_fifo.full.val();
        self.rx_done.ready.next = !self.rx_fifo.full.val();
        self.tx_notice.next.queue = self.tx_done.queue.val();
        self.tx_notice.next.is_tx = self.tx_done.is_tx.val();
        self.tx_notice.next.done = self.tx_done.done.val();
        self.tx_fifo.data_in.next = self.tx_notice.val();
        self.tx_fifo.write.next = self.tx_done.valid.val() & !self.tx_fifo.full.val();
        self.tx_done.ready.next = !self.tx_fifo.full.val();

        // Commits: the settings now, the state reset next cycle.
        self.commit_ok.next = self.settings.write.val() & (self.settings.queue.val() < self.queue_count.val());
        self.commit_queue.next = self.settings.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        self.new_cfg.next.addr = self.settings.settings.val().evt_addr;
        self.new_cfg.next.count = self.settings.settings.val().evt_count;
        self.new_cfg.next.ticks = self.settings.settings.val().evt_ticks;
        self.new_cfg.next.live = self.settings.settings.val().evt_addr.any();
        self.new_cfg.next.timed = self.settings.settings.val().evt_ticks.any();
        self.new_cfg.next.count_m1 = 0.into();
        if self.settings.settings.val().evt_count.any() {
            self.new_cfg.next.count_m1 = self.settings.settings.val().evt_count - 1;
        }
        self.cfg_ram.write_address.next = self.commit_queue.val();
        self.cfg_ram.write_data.next = self.new_cfg.val();
        self.cfg_ram.write_enable.next = self.commit_ok.val();
        self.arm_ok.next = self.doorbell.valid.val()
            & (self.doorbell.kind.val() == 2)
            & (self.doorbell.queue.val() < self.queue_count.val());

        // Each FIFO's next notice waits in a register (so no FIFO read
        // hangs on the pick below), refilled whenever it is empty.
        self.rx_fifo.read.next = !self.rxh_valid.q.val() & !self.rx_fifo.empty.val();
        if self.rx_fifo.read.val() {
            self.rxh_valid.d.next = true;
            self.rxh.d.next = self.rx_fifo.data_out.val();
            self.rxh_in_range.d.next = self.rx_fifo.data_out.val().queue.get_bits::<6>(6) == 0;
        }
        self.tx_fifo.read.next = !self.txh_valid.q.val() & !self.tx_fifo.empty.val();
        if self.tx_fifo.read.val() {
            self.txh_valid.d.next = true;
            self.txh.d.next = self.tx_fifo.data_out.val();
            self.txh_in_range.d.next = self.tx_fifo.data_out.val().queue.get_bits::<6>(6) == 0;
        }
        self.take_tx.next = self.txh_valid.q.val() & (!self.rxh_valid.q.val() | self.prefer_tx.q.val());
        self.notice.next = self.rxh.q.val();
        self.nh_in_range.next = self.rxh_in_range.q.val();
        if self.take_tx.val() {
            self.notice.next = self.txh.q.val();
            self.nh_in_range.next = self.txh_in_range.q.val();
        }
        self.nh_valid.next = self.rxh_valid.q.val() | self.txh_valid.q.val();

        // Stage 0: pick an operation. One that evaluates a queue waits
        // (a bubble) while an operation on the same queue is in stage 1 or
        // 2: the state RAM would return the queue's state from before their
        // writes. The queue is chosen from registers alone, the hazard
        // compares only decide whether the operation goes.
        self.s1_busy.next = self.s1_op.q.val() != 0;
        self.s2_busy.next = self.s2_op.q.val() != 0;
        self.rx_q.next = self.rxh.q.val().queue.get_bits::<QUEUE_COUNT_LOG2>(0);
        self.tx_q.next = self.txh.q.val().queue.get_bits::<QUEUE_COUNT_LOG2>(0);
        self.hz_hint.next = (self.s1_busy.val() & (self.s1_queue.q.val() == self.hint_queue.q.val()))
            | (self.s2_busy.val() & (self.s2_queue.q.val() == self.hint_queue.q.val()));
        self.hz_scan.next = (self.s1_busy.val() & (self.s1_queue.q.val() == self.scan_ptr.q.val()))
            | (self.s2_busy.val() & (self.s2_queue.q.val() == self.scan_ptr.q.val()));
        self.hz_rx.next = (self.s1_busy.val() & (self.s1_queue.q.val() == self.rx_q.val()))
            | (self.s2_busy.val() & (self.s2_queue.q.val() == self.rx_q.val()));
        self.hz_tx.next = (self.s1_busy.val() & (self.s1_queue.q.val() == self.tx_q.val()))
            | (self.s2_busy.val() & (self.s2_queue.q.val() == self.tx_q.val()));
        self.hz_notice.next = self.hz_rx.val();
        if self.take_tx.val() {
            self.hz_notice.next = self.hz_tx.val();
        }
        self.s0_op.next = 0.into();
        self.s0_queue.next = self.scan_ptr.q.val();
        if self.reset_pending.q.val() {
            // A reset reads nothing, so it never waits.
            self.s0_op.next = 1.into();
            self.s0_queue.next = self.reset_queue.q.val();
            self.reset_pending.d.next = false;
        } else if self.hint_valid.q.val() {
            self.s0_queue.next = self.hint_queue.q.val();
            if self.ev_idle.q.val() & !self.hz_hint.val() {
                self.s0_op.next = 2.into();
                self.hint_valid.d.next = false;
            }
        } else if self.nh_valid.val() & !self.scan_turn.q.val() {
            self.s0_queue.next = self.notice.val().queue.get_bits::<QUEUE_COUNT_LOG2>(0);
            if self.ev_idle.q.val() & (!self.nh_in_range.val() | !self.hz_notice.val()) {
                if self.nh_in_range.val() {
                    self.s0_op.next = 3.into();
                }
                self.scan_turn.d.next = true;
                self.prefer_tx.d.next = !self.take_tx.val();
                if self.take_tx.val() {
                    self.txh_valid.d.next = false;
                } else {
                    self.rxh_valid.d.next = false;
                }
            }
        } else if self.ev_idle.q.val() & !self.hz_scan.val() {
            self.s0_op.next = 2.into();
            self.scan_ptr.d.next = self.scan_ptr.q.val() + 1;
            self.scan_turn.d.next = false;
        }
        if self.commit_ok.val() {
            self.reset_pending.d.next = true;
            self.reset_queue.d.next = self.commit_queue.val();
        }
        if self.arm_ok.val() {
            self.hint_valid.d.next = true;
            self.hint_queue.d.next = self.doorbell.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0);
        }
        self.cfg_ram.read_address.next = self.s0_queue.val();
        self.state_ram.read_address.next = self.s0_queue.val();
        self.s1_op.d.next = self.s0_op.val();
        self.s1_queue.d.next = self.s0_queue.val();
        self.s1_is_tx.d.next = self.notice.val().is_tx;
        self.s1_done.d.next = self.notice.val().done;
        self.cfg_busy.next = self.reset_pending.q.val()
            | (self.s1_op.q.val() == 1)
            | (self.s2_op.q.val() == 1)
            | (self.s3_op.q.val() == 1);
        // Whether the queue is armed, followed through stages 1 and 2 (no
        // operation ahead that could fire for the same queue is still in
        // the pipeline, see stage 0); a doorbell wins over a commit. Stage
        // 1 keeps the queue's group of 8 armed bits, stage 2 the bit: a
        // 64-way choice in one cycle is too slow.
        self.grp_all.next = self.armed.q.val() >> (bit_cast::<6, 3>(self.s1_queue.q.val().get_bits::<3>(3)) << 3);
        self.grp_armed.next = self.grp_all.val().get_bits::<8>(0);
        self.grp_clear.next = 0.into();
        if self.commit_ok.val() & (self.commit_queue.val().get_bits::<3>(3) == self.s1_queue.q.val().get_bits::<3>(3)) {
            self.grp_clear.next = bit_cast::<8, 1>(true.into()) << self.commit_queue.val().get_bits::<3>(0);
        }
        self.grp_set.next = 0.into();
        if self.arm_ok.val()
            & (self.doorbell.queue.val().get_bits::<3>(3) == self.s1_queue.q.val().get_bits::<3>(3))
        {
            self.grp_set.next = bit_cast::<8, 1>(true.into()) << self.doorbell.queue.val().get_bits::<3>(0);
        }
        self.s2_armed.d.next = (self.grp_armed.val() & !self.grp_clear.val()) | self.grp_set.val();
        self.s3_armed.d.next = (self.s2_armed.q.val().get_bit(self.s2_queue.q.val().get_bits::<3>(0).index())
            & !(self.commit_ok.val() & (self.commit_queue.val() == self.s2_queue.q.val())))
            | (self.arm_ok.val() & (self.doorbell.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0) == self.s2_queue.q.val()));

        // Stage 1: the RAMs' data, registered; the state stage 3 wrote last
        // cycle is forwarded, as the RAM still returned the old one (stage
        // 0 keeps any closer operation on the same queue out).
        self.cur.next = self.state_ram.read_data.val();
        if self.w_valid.q.val() & (self.w_queue.q.val() == self.s1_queue.q.val()) {
            self.cur.next = self.w_state.q.val();
        }
        self.s2_cur.d.next = self.cur.val();
        self.s2_cfg.d.next = self.cfg_ram.read_data.val();
        self.s2_op.d.next = self.s1_op.q.val();
        self.s2_queue.d.next = self.s1_queue.q.val();
        self.s2_is_tx.d.next = self.s1_is_tx.q.val();
        self.s2_done.d.next = self.s1_done.q.val();

        // Stage 2: the new state and whether it may fire, but for `armed`.
        // The compares run on the old state in parallel, then are chosen.
        self.pend_zero.next = self.s2_cur.q.val().pending == 0;
        self.is_notice.next = self.s2_op.q.val() == 3;
        self.nxt.next = self.s2_cur.q.val();
        if self.is_notice.val() {
            if self.pend_zero.val() {
                self.nxt.next.first = self.tick.q.val();
                self.nxt.next.due = false;
            }
            if self.s2_cur.q.val().pending != 255 {
                self.nxt.next.pending = self.s2_cur.q.val().pending + 1;
            }
            if self.s2_is_tx.q.val() {
                self.nxt.next.tx_done = self.s2_done.q.val();
            } else {
                self.nxt.next.rx_done = self.s2_done.q.val();
            }
        }
        // A first completion just now has elapsed 0, never due; otherwise
        // pending stays non-zero, so the time compare alone decides.
        self.elapsed.next = self.tick.q.val() - self.s2_cur.q.val().first;
        self.time_due.next = !self.pend_zero.val()
            & self.s2_cfg.q.val().timed
            & (self.elapsed.val() >= bit_cast::<24, 16>(self.s2_cfg.q.val().ticks));
        if self.time_due.val() {
            self.nxt.next.due = true;
        }
        // pending + 1 (saturating at 255) >= count is pending >= count - 1
        // (0 for a count of 0, which counts as 1).
        self.count_ok.next = self.s2_cur.q.val().pending >= self.s2_cfg.q.val().count;
        if self.is_notice.val() {
            self.count_ok.next = self.s2_cur.q.val().pending >= self.s2_cfg.q.val().count_m1;
        }
        self.s3_pre_fire.d.next = self.s2_op.q.val().get_bit(1)
            & self.s2_cfg.q.val().live
            & (self.is_notice.val() | !self.pend_zero.val())
            & (self.count_ok.val() | self.nxt.val().due);
        self.seq1.next = self.s2_cur.q.val().seq + 1;
        self.s3_seq1.d.next = self.seq1.val();
        self.s3_word.d.next = bit_cast::<DMA_DATA_BITS, 16>(self.nxt.val().rx_done)
            | (bit_cast::<DMA_DATA_BITS, 16>(self.nxt.val().tx_done) << 16)
            | (bit_cast::<DMA_DATA_BITS, QUEUE_COUNT_LOG2>(self.s2_queue.q.val()) << 32)
            | (bit_cast::<DMA_DATA_BITS, 16>(self.seq1.val()) << 48);
        if self.s2_op.q.val() == 1 {
            self.nxt.next.pending = 0.into();
            self.nxt.next.due = false;
            self.nxt.next.first = 0.into();
            self.nxt.next.rx_done = 0.into();
            self.nxt.next.tx_done = 0.into();
            self.nxt.next.seq = 0.into();
        }
        self.s3_nxt.d.next = self.nxt.val();
        self.s3_op.d.next = self.s2_op.q.val();
        self.s3_queue.d.next = self.s2_queue.q.val();
        self.s3_addr.d.next = self.s2_cfg.q.val().addr;

        // Stage 3: fire if armed, write the state back.
        self.fire.next = self.s3_pre_fire.q.val() & self.s3_armed.q.val();
        self.fin.next = self.s3_nxt.q.val();
        if self.fire.val() {
            self.fin.next.pending = 0.into();
            self.fin.next.due = false;
            self.fin.next.seq = self.s3_seq1.q.val();
        }
        self.state_ram.write_address.next = self.s3_queue.q.val();
        self.state_ram.write_data.next = self.fin.val();
        self.state_ram.write_enable.next = self.s3_op.q.val() != 0;
        self.w_valid.d.next = self.s3_op.q.val() != 0;
        self.w_queue.d.next = self.s3_queue.q.val();
        self.w_state.d.next = self.fin.val();

        // Armed: a doorbell wins over a clear in the same cycle.
        self.armed_next.next = self.armed.q.val();
        if self.fire.val() {
            self.armed_next.next = self.armed_next.val() & !(self.one.val() << self.s3_queue.q.val());
        }
        if self.commit_ok.val() {
            self.armed_next.next = self.armed_next.val() & !(self.one.val() << self.commit_queue.val());
        }
        if self.arm_ok.val() {
            self.armed_next.next = self.armed_next.val()
                | (self.one.val() << self.doorbell.queue.val().get_bits::<QUEUE_COUNT_LOG2>(0));
        }
        self.armed.d.next = self.armed_next.val();

        // The DMA port: slot 0's request, then its data beat. Events fired
        // while slot 0 is taken wait in `evq`; an empty slot 0 takes the
        // oldest of them the next cycle, or a new event at once if none.
        self.dma.rd_req_valid.next = false;
        self.dma.rd_req_addr.next = 0.into();
        self.dma.rd_req_len.next = 0.into();
        self.dma.rd_req_tag.next = 0.into();
        self.dma.rd_rsp_ready.next = true;
        self.dma.wr_req_valid.next = self.e0_valid.q.val() & !self.e0_data.q.val();
        self.dma.wr_req_addr.next = self.e0_addr.q.val();
        self.dma.wr_req_len.next = 8.into();
        self.dma.wr_data_valid.next = self.e0_valid.q.val() & self.e0_data.q.val();
        self.dma.wr_data.next = self.e0_word.q.val();
        self.dma.wr_data_last.next = true;
        self.req_moved.next = self.e0_valid.q.val() & !self.e0_data.q.val() & self.dma.wr_req_ready.val();
        self.data_moved.next = self.e0_valid.q.val() & self.e0_data.q.val() & self.dma.wr_data_ready.val();
        if self.req_moved.val() {
            self.e0_data.d.next = true;
        }
        self.sent.d.next = self.data_moved.val();
        self.counts.next = self.sent.q.val();
        if self.data_moved.val() {
            self.e0_data.d.next = false;
            self.e0_valid.d.next = false;
        }
        // Picks see last cycle's view (a register, not the FIFO's flags):
        // one more operation may then be picked after an event appears.
        self.ev_idle.d.next = !self.e0_valid.q.val() & self.evq.empty.val();
        self.new_event.next.addr = self.s3_addr.q.val();
        self.new_event.next.word = self.s3_word.q.val();
        self.evq.data_in.next = self.new_event.val();
        self.evq.write.next = false;
        self.evq.read.next = false;
        if !self.e0_valid.q.val() & !self.evq.empty.val() {
            self.evq.read.next = true;
            self.e0_valid.d.next = true;
            self.e0_addr.d.next = self.evq.data_out.val().addr;
            self.e0_word.d.next = self.evq.data_out.val().word;
        }
        if self.fire.val() {
            if !self.e0_valid.q.val() & self.evq.empty.val() {
                self.e0_valid.d.next = true;
                self.e0_addr.d.next = self.s3_addr.q.val();
                self.e0_word.d.next = self.s3_word.q.val();
            } else {
                self.evq.write.next = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};
    use crate::ports::queue::{QueueConfig, DOORBELL_ARM};
    use crate::queue::{EventWord, EVENT_TICK_CYCLES};
    use std::collections::{HashMap, VecDeque};


    /// An event the DMA model received: the cycle its request moved, the
    /// address, and the decoded word.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Written {
        cycle: u64,
        addr: u64,
        word: EventWord,
    }

    /// The engine with a host memory model on its DMA port that takes
    /// requests and beats when `dma_ready` percent of a random draw allows.
    struct Bench {
        h: Harness<EventEngine>,
        rng: Rng,
        dma_ready: u64,
        /// Notices to offer on each port: (queue, is_tx, done).
        offer: [VecDeque<(u64, bool, u16)>; 2],
        /// Accepted notices: cycle, port.
        accepted: Vec<(u64, usize)>,
        write: Option<(u64, u64)>,
        events: Vec<Written>,
        /// Host memory as the DMA writes left it.
        mem: HashMap<u64, u8>,
        pulses: u64,
        commit: Option<(u64, EventConfig)>,
        arm: Option<u64>,
    }

    impl Bench {
        fn new(dma_ready: u64) -> Self {
            Self {
                h: Harness::new(EventEngine::new(&NicParams::default()), |e| &mut e.clock),
                rng: Rng(0x0DDB_A11C_AFE5_7EED),
                dma_ready,
                offer: [VecDeque::new(), VecDeque::new()],
                accepted: vec![],
                write: None,
                events: vec![],
                mem: HashMap::new(),
                pulses: 0,
                commit: None,
                arm: None,
            }
        }

        fn step(&mut self) {
            let u = &mut self.h.uut;
            for (port, offer) in [(&mut u.rx_done, &self.offer[0]), (&mut u.tx_done, &self.offer[1])] {
                port.valid.next = !offer.is_empty();
                let (q, is_tx, done) = offer.front().copied().unwrap_or((0, false, 0));
                port.queue.next = q.into();
                port.is_tx.next = is_tx;
                port.done.next = (done as u64).into();
            }
            u.settings.write.next = self.commit.is_some();
            if let Some((q, c)) = self.commit.take() {
                u.settings.queue.next = q.into();
                u.settings.settings.next = QueueConfig {
                    evt_addr: c.addr,
                    evt_count: c.count,
                    evt_ticks: c.ticks,
                    rx_ring: 0xDEAD_0000.into(),
                    ..Default::default()
                };
            }
            u.doorbell.valid.next = self.arm.is_some();
            u.doorbell.kind.next = DOORBELL_ARM.into();
            u.doorbell.queue.next = self.arm.take().unwrap_or(0).into();
            u.doorbell.value.next = 0x5A5A.into();
            u.dma.wr_req_ready.next = self.write.is_none() && self.rng.chance(self.dma_ready);
            u.dma.wr_data_ready.next = self.write.is_some() && self.rng.chance(self.dma_ready);
            u.dma.rd_req_ready.next = true;
            u.dma.rd_rsp_valid.next = false;
            self.h.settle();
            let u = &self.h.uut;
            let cycle = self.h.cycles;
            assert!(!u.dma.rd_req_valid.val() && u.dma.rd_rsp_ready.val());
            if u.counts.val() {
                self.pulses += 1;
            }
            for (i, port) in [&u.rx_done, &u.tx_done].into_iter().enumerate() {
                if port.valid.val() && port.ready.val() {
                    self.offer[i].pop_front();
                    self.accepted.push((cycle, i));
                }
            }
            if u.dma.wr_data_valid.val() && u.dma.wr_data_ready.val() {
                let (cycle, addr) = self.write.take().unwrap();
                assert!(u.dma.wr_data_last.val(), "an event is one beat");
                let beat = u64::from(u.dma.wr_data.val());
                for (k, byte) in beat.to_le_bytes().into_iter().enumerate() {
                    self.mem.insert(addr + k as u64, byte);
                }
                let word = EventWord::decode(beat);
                self.events.push(Written { cycle, addr, word });
            }
            if u.dma.wr_req_valid.val() && u.dma.wr_req_ready.val() {
                assert_eq!(u64::from(u.dma.wr_req_len.val()), 8);
                self.write = Some((cycle, u64::from(u.dma.wr_req_addr.val())));
            }
            self.h.cycle();
        }

        fn run(&mut self, cycles: u64) {
            for _ in 0..cycles {
                self.step();
            }
        }

        /// Commits the queue's event settings, then waits out the commit.
        fn commit(&mut self, q: u64, addr: u64, count: u64, ticks: u64) {
            self.commit = Some((q, EventConfig { addr: addr.into(), count: count.into(), ticks: ticks.into(), ..Default::default() }));
            self.run(4);
        }

        fn arm(&mut self, q: u64) {
            self.arm = Some(q);
            self.step();
        }

        fn notice(&mut self, q: u64, is_tx: bool, done: u16) {
            self.offer[is_tx as usize].push_back((q, is_tx, done));
        }

        /// Runs until the notices offered are taken, then `extra` cycles.
        fn drain(&mut self, extra: u64) {
            while !self.offer.iter().all(|o| o.is_empty()) {
                self.step();
            }
            self.run(extra);
        }

        fn take_addressed(&mut self) -> Vec<(u64, EventWord)> {
            self.take_events().iter().map(|e| (e.addr, e.word)).collect()
        }

        fn take_events(&mut self) -> Vec<Written> {
            assert_eq!(self.pulses, self.events.len() as u64, "one count pulse per event");
            self.pulses = 0;
            std::mem::take(&mut self.events)
        }
    }

    fn ev(q: u16, rx_done: u16, tx_done: u16, seq: u16) -> EventWord {
        EventWord { rx_done, tx_done, queue: q, seq }
    }

    #[test]
    fn count_moderation_and_arming() {
        let mut b = Bench::new(100);
        b.commit(3, 0x1000, 4, 0);
        b.arm(3);
        for done in 1..=3 {
            b.notice(3, false, done);
        }
        b.drain(50);
        assert!(b.take_events().is_empty(), "fired below the count");
        b.notice(3, true, 7);
        b.drain(20);
        let e = b.take_events();
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].addr, e[0].word), (0x1000, ev(3, 3, 7, 1)));
        // Not armed now: the count is reached again but nothing fires...
        for done in 4..=8 {
            b.notice(3, false, done);
        }
        b.drain(300);
        assert!(b.take_events().is_empty(), "fired while not armed");
        // ...until the arm, which fires at once with the latest counts.
        let armed_at = b.h.cycles;
        b.arm(3);
        b.run(20);
        let e = b.take_events();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].word, ev(3, 8, 7, 2));
        assert!(e[0].cycle - armed_at <= 5, "arm took {} cycles to fire", e[0].cycle - armed_at);
        // Armed with nothing pending: nothing until the count is reached.
        b.arm(3);
        b.notice(3, true, 8);
        b.drain(200);
        assert!(b.take_events().is_empty());
        for done in 9..=11 {
            b.notice(3, true, done);
        }
        b.drain(20);
        assert_eq!(b.take_events().iter().map(|e| e.word).collect::<Vec<_>>(), vec![ev(3, 8, 11, 3)]);
    }

    #[test]
    fn count_zero_counts_as_one_and_seq_increments() {
        let mut b = Bench::new(50);
        b.commit(63, 0xFFFF_FFFF_FFFF_FFF8, 0, 0);
        for i in 1..=40u16 {
            b.arm(63);
            b.notice(63, i % 3 == 0, i);
            b.drain(30);
            let e = b.take_events();
            assert_eq!(e.len(), 1, "event {i}");
            assert_eq!(e[0].addr, 0xFFFF_FFFF_FFFF_FFF8);
            assert_eq!(e[0].word.seq, i);
            assert_eq!(e[0].word.queue, 63);
            assert_eq!(if i % 3 == 0 { e[0].word.tx_done } else { e[0].word.rx_done }, i);
        }
    }

    #[test]
    fn time_moderation_counts_ticks() {
        let mut b = Bench::new(100);
        let tick = EVENT_TICK_CYCLES;
        b.commit(9, 0x2000, 200, 3);
        b.arm(9);
        // Offer the first notice in the middle of a tick, so the tick it is
        // stamped with is certain.
        while b.h.cycles % tick != 40 {
            b.step();
        }
        b.notice(9, false, 1);
        b.step();
        let first = b.accepted.last().unwrap().0;
        // A second completion a tick later must not restart the clock.
        b.run(tick);
        b.notice(9, true, 5);
        b.drain(0);
        let due = (first / tick + 3) * tick;
        while b.events.is_empty() && b.h.cycles < due + 1000 {
            b.step();
        }
        b.step();
        let e = b.take_events();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].word, ev(9, 1, 5, 1));
        assert!(e[0].cycle >= due - 2, "fired {} cycles early", due - e[0].cycle);
        assert!(
            e[0].cycle <= due + QUEUE_COUNT as u64 + 8,
            "fired {} cycles after it was due",
            e[0].cycle - due
        );

        // Due while not armed: fires as soon as it is armed, even much later.
        b.notice(9, false, 2);
        b.drain(10 * tick);
        assert!(b.take_events().is_empty());
        let armed_at = b.h.cycles;
        b.arm(9);
        b.run(10);
        let e = b.take_events();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].word, ev(9, 2, 5, 2));
        assert!(e[0].cycle - armed_at <= 5);

        // The count still applies under a timer.
        b.commit(9, 0x2000, 2, 1000);
        b.arm(9);
        b.notice(9, false, 1);
        b.notice(9, true, 1);
        b.drain(20);
        assert_eq!(b.take_events().iter().map(|e| e.word).collect::<Vec<_>>(), vec![ev(9, 1, 1, 1)]);
    }

    #[test]
    fn no_event_address_means_no_events() {
        let mut b = Bench::new(100);
        b.commit(1, 0, 1, 1);
        b.arm(1);
        for done in 1..20 {
            b.notice(1, done % 2 == 0, done);
        }
        b.drain(1000);
        b.arm(1);
        b.run(300);
        assert!(b.take_events().is_empty());
    }

    #[test]
    fn queue_numbers_past_the_last_queue_are_ignored() {
        // Each would alias a real queue (by its low bits) if not ignored.
        let n = QUEUE_COUNT as u64;
        let mut b = Bench::new(100);
        b.commit(0, 0x3000, 1, 0);
        b.commit(1, 0x3100, 1, 0);
        b.arm(0);
        b.commit(n, 0x7000, 1, 0);
        b.arm(n + 1);
        b.notice(n, false, 77);
        b.notice(0xFFF, true, 78);
        b.notice(n + 1, true, 79);
        b.drain(300);
        assert!(b.take_events().is_empty());
        b.notice(1, false, 3);
        b.notice(0, true, 4);
        b.drain(20);
        assert_eq!(b.take_addressed(), vec![(0x3000, ev(0, 0, 4, 1))]);
    }

    #[test]
    fn a_commit_clears_the_event_state() {
        let mut b = Bench::new(100);
        b.commit(5, 0x4000, 5, 0);
        b.arm(5);
        for done in 1..=4 {
            b.notice(5, true, done);
        }
        b.drain(20);
        // Recommitted with pending 4, armed: the state starts over.
        b.commit(5, 0x5000, 5, 0);
        b.arm(5);
        b.notice(5, false, 1);
        b.drain(200);
        assert!(b.take_events().is_empty(), "pending survived the commit");
        for done in 2..=5 {
            b.notice(5, false, done);
        }
        b.drain(20);
        let e = b.take_events();
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].addr, e[0].word), (0x5000, ev(5, 5, 0, 1)));
        // A commit disarms.
        b.arm(5);
        b.commit(5, 0x6000, 1, 0);
        b.notice(5, true, 1);
        b.drain(200);
        assert!(b.take_events().is_empty(), "armed survived the commit");
        b.arm(5);
        b.run(10);
        assert_eq!(b.take_addressed(), vec![(0x6000, ev(5, 0, 1, 1))]);
    }

    #[test]
    fn floods_of_notices_from_both_engines_lose_nothing() {
        // Each queue fires exactly when its last notice of a round is
        // counted (evt_count is the round's notice count), so a lost notice
        // means no event and a doubled one an early event with stale counts.
        let mut b = Bench::new(40);
        let queues: Vec<u64> = vec![0, 1, 2, 13, 31, 32, 62, 63];
        for (i, &q) in queues.iter().enumerate() {
            b.commit(q, 0x10_0000 + 0x100 * q, 20 + 7 * i as u64, 0);
        }
        let mut rng = Rng(0xF100_D5F1_00D5);
        let mut done = vec![[0u16; 2]; QUEUE_COUNT];
        let mut max_fill = 0;
        for round in 1..=6u16 {
            for &q in &queues {
                b.arm(q);
            }
            let mut left: Vec<u64> = queues.iter().enumerate().map(|(i, _)| 20 + 7 * i as u64).collect();
            while left.iter().any(|&n| n > 0) {
                let i = (rng.next_u64() % queues.len() as u64) as usize;
                if left[i] == 0 {
                    continue;
                }
                left[i] -= 1;
                let q = queues[i];
                let is_tx = rng.chance(50);
                done[q as usize][is_tx as usize] = done[q as usize][is_tx as usize].wrapping_add(1);
                b.notice(q, is_tx, done[q as usize][is_tx as usize]);
            }
            max_fill = max_fill.max(b.offer[0].len() + b.offer[1].len());
            let start = b.accepted.len();
            b.drain(200);
            // Both ports were offered a notice every cycle until empty.
            let taken = b.accepted.len() - start;
            let cycles = b.accepted.last().unwrap().0 - b.accepted[start].0 + 1;
            assert!(taken as u64 * 3 >= cycles, "notices taken too slowly: {taken} in {cycles} cycles");
            let mut e = b.take_events();
            e.sort_by_key(|e| e.word.queue);
            let want: Vec<(u64, EventWord)> = queues
                .iter()
                .map(|&q| {
                    let d = done[q as usize];
                    (0x10_0000 + 0x100 * q, ev(q as u16, d[0], d[1], round))
                })
                .collect();
            assert_eq!(e.iter().map(|e| (e.addr, e.word)).collect::<Vec<_>>(), want, "round {round}");
            // Byte-exact in host memory: the encoded word, little-endian.
            for (addr, word) in want {
                let bytes: Vec<u8> = (0..8).map(|k| b.mem[&(addr + k)]).collect();
                assert_eq!(bytes, word.encode().to_le_bytes());
            }
            assert_eq!(b.mem.len(), 8 * queues.len());
        }
        assert!(max_fill > 100);
    }

    #[test]
    fn generates_verilog() {
        let mut uut = EventEngine::new(&NicParams::default());
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
