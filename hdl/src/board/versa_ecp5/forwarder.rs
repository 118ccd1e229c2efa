//! The hardware forwarder: a small host in the shell that turns received
//! buffers into transmissions, so frames steered into queues leave by the
//! other port (see `EgressSteer`) with no host behind the UART.
//!
//! It is a second initiator of the shell's register space (`regs`, the
//! port the UART bridge drives), reaching the rings in on-chip memory
//! through `regions::MEMORY_WINDOW` and ringing doorbells on the queues'
//! user pages, exactly as the host does over the UART. Its own registers
//! (`settings`, decoded by the shell at `regions::FORWARDER_WINDOW`, offsets
//! in `regions::fwd`) configure `FORWARDER_SLOTS` slots. A slot is one queue
//! whose receive and transmit rings lie in on-chip memory with the same
//! size, one buffer per receive descriptor, and no more buffers than
//! descriptors in a ring.
//!
//! Round robin over the running slots, one turn each. A turn starts with
//! two cycles in which the slot's state reaches the registers its
//! decisions and addresses are made from (so no slot mux or ring
//! arithmetic sits in front of the state machine); then:
//! - if the receive descriptor at `rx_head` is written back (done): with
//!   status Ok and room in the transmit ring, its buffer address and the
//!   received length are posted as a transmit descriptor at `tx_tail` and
//!   the transmit doorbell rung; with any other status the buffer is
//!   reposted to receive at `rx_tail` (length `BUFFER_BYTES`) and the
//!   receive doorbell rung, and `RX_ERRORS` counts it;
//! - then, if the transmit descriptor at `tx_head` is written back, its
//!   buffer is reposted to receive, the receive doorbell rung, and
//!   `FORWARDED` (status Ok) or `TX_ERRORS` (any other) counts it.
//!
//! A write-back is read high word first (the done bit), then the low word
//! (length, status), then the descriptor's address; a descriptor is posted
//! address low, address high, length, then a zero high word (clearing a
//! stale done bit) before its doorbell. Indices and counters advance when
//! the doorbell is acknowledged, so at any moment they say what the NIC
//! has been told. A forwarded frame takes 18 accesses.
//!
//! One access is outstanding at a time, held until `ack`. An access not
//! acknowledged within `ACK_TIMEOUT_CYCLES` (the UART bridge's limit) stops
//! its slot with `STATUS_NO_ACK`; the forwarder goes on with the others.
//!
//! Starting a slot checks its configuration: a ring log2 outside
//! `RING_LOG2_MIN..=RING_LOG2_MAX`, a ring not 16-byte aligned or not wholly
//! inside the 8 KiB, a queue past the core's last, or a buffer length of 0
//! or above 65535 refuses it (it stays stopped, `CONTROL` says why). The
//! indices it starts from are the ones the host wrote. Stopping a slot
//! takes effect between two accesses: the one outstanding finishes, and an
//! acknowledged doorbell still advances the indices. Configuration and
//! index writes to a running slot are ignored; counters restart when a
//! slot starts. The rings of one slot are not checked against each other.
//! The checks are registered: a start sees configuration written at least
//! two cycles before it (any two accesses over the shell's register slice
//! are further apart).

use super::regions::{fwd, FORWARDER_SLOTS, FORWARDER_SLOT_STRIDE, MEMORY_WINDOW};
use crate::blocks::dma_memory::DmaMemory8K;
use crate::blocks::uart_bridge::ACK_TIMEOUT_CYCLES;
use crate::params::QUEUE_COUNT;
use crate::ports::{RegInitiator, RegTarget};
use crate::queue::{RING_LOG2_MAX, RING_LOG2_MIN};
use crate::regmap::{PAGE_BYTES, UQ_RX_TAIL, UQ_TX_TAIL};
use rust_hdl::prelude::*;

/// Slots in the gateware: `FORWARDER_SLOTS`, spelled as a literal in loops.
const SLOTS: usize = 4;

// The kernel spells these as literals.
const _: () = {
    assert!(SLOTS as u32 == FORWARDER_SLOTS && FORWARDER_SLOT_STRIDE == 0x40);
    assert!(MEMORY_WINDOW == 0x80_0000 && DmaMemory8K::SIZE_BYTES == 8192);
    assert!(ACK_TIMEOUT_CYCLES == 1024 && QUEUE_COUNT == 64);
    assert!(RING_LOG2_MIN == 3 && RING_LOG2_MAX == 12);
    assert!(PAGE_BYTES == 4096 && UQ_RX_TAIL == 0 && UQ_TX_TAIL == 4);
    assert!(fwd::CONTROL == 0 && fwd::QUEUE == 4 && fwd::RX_RING == 8 && fwd::TX_RING == 0xC);
    assert!(fwd::RING_LOG2 == 0x10 && fwd::BUFFER_BYTES == 0x14 && fwd::RX_INDEX == 0x18 && fwd::TX_INDEX == 0x1C);
    assert!(fwd::FORWARDED == 0x20 && fwd::RX_ERRORS == 0x24 && fwd::TX_ERRORS == 0x28);
    assert!(fwd::STATUS_BAD_LOG2 == 1 << 8 && fwd::STATUS_NO_ACK == 1 << 13);
};

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum FwdState {
    /// Deciding what the current slot's turn starts with.
    Pick,
    /// A new slot's state on its way through the registers in front of
    /// the decisions and addresses (two cycles).
    Load1,
    Load2,
    /// Deciding whether the turn looks at the transmit ring.
    TxCheck,
    /// The turn is over: on to the next slot. A state of its own, so the
    /// many ways a turn ends do not also drive the slot number.
    Next,
    // Every state from here on makes one access (`want`); they come last
    // so that test is one LUT on the state's top bits.
    RxWbHi,
    RxWbLo,
    RxAddrLo,
    RxAddrHi,
    TxWbHi,
    TxWbLo,
    TxAddrLo,
    TxAddrHi,
    PostAddrLo,
    PostAddrHi,
    PostLen,
    PostClear,
    Doorbell,
}

#[derive(LogicBlock)]
pub struct Forwarder {
    pub clock: Signal<In, Clock>,
    /// Accesses to the shell's register space.
    pub regs: RegInitiator,
    /// The forwarder's own registers, at offsets inside its window.
    pub settings: RegTarget,
    window: Constant<Bits<24>>,
    ring_unit: Constant<Bits<14>>,
    running: [DFF<Bit>; SLOTS],
    /// `STATUS_*` bits 13..8.
    status: [DFF<Bits<6>>; SLOTS],
    /// Configuration as written, each clipped to one past its limit so a
    /// value too large stays too large.
    queue: [DFF<Bits<7>>; SLOTS],
    rx_base: [DFF<Bits<14>>; SLOTS],
    tx_base: [DFF<Bits<14>>; SLOTS],
    log2: [DFF<Bits<5>>; SLOTS],
    buf_len: [DFF<Bits<17>>; SLOTS],
    rx_head: [DFF<Bits<16>>; SLOTS],
    rx_tail: [DFF<Bits<16>>; SLOTS],
    tx_head: [DFF<Bits<16>>; SLOTS],
    tx_tail: [DFF<Bits<16>>; SLOTS],
    forwarded: [DFF<Bits<32>>; SLOTS],
    rx_errors: [DFF<Bits<32>>; SLOTS],
    tx_errors: [DFF<Bits<32>>; SLOTS],
    /// Each slot's configuration checked, a cycle after it was written:
    /// the `STATUS_BAD_*` reasons a start would be refused for.
    bad_log2: [DFF<Bit>; SLOTS],
    bad_rx: [DFF<Bit>; SLOTS],
    bad_tx: [DFF<Bit>; SLOTS],
    bad_queue: [DFF<Bit>; SLOTS],
    bad_buf: [DFF<Bit>; SLOTS],
    state: DFF<FwdState>,
    cur: DFF<Bits<2>>,
    busy: DFF<Bit>,
    waited: DFF<Bits<10>>,
    /// The host wrote the current slot's control word: end its turn.
    abort: DFF<Bit>,
    strobe: DFF<Bit>,
    write: DFF<Bit>,
    addr: DFF<Bits<24>>,
    wdata: DFF<Bits<32>>,
    /// From the write-back being handled.
    len: DFF<Bits<16>>,
    ok: DFF<Bit>,
    buf_lo: DFF<Bits<32>>,
    buf_hi: DFF<Bits<32>>,
    /// What the post in progress is: 0 receive to transmit, 1 a receive
    /// error reposted, 2 a sent buffer reposted, 3 a refused one reposted.
    kind: DFF<Bits<2>>,
    s_ack: DFF<Bit>,
    s_rdata: DFF<Bits<32>>,
    // The current slot's state.
    cur_hot: Signal<Local, Bits<4>>,
    m_running: Signal<Local, Bit>,
    sel_running: DFF<Bit>,
    m_queue: Signal<Local, Bits<7>>,
    sel_queue: DFF<Bits<7>>,
    m_rx_base: Signal<Local, Bits<14>>,
    sel_rx_base: DFF<Bits<14>>,
    m_tx_base: Signal<Local, Bits<14>>,
    sel_tx_base: DFF<Bits<14>>,
    m_log2: Signal<Local, Bits<5>>,
    sel_log2: DFF<Bits<5>>,
    m_buf: Signal<Local, Bits<17>>,
    sel_buf: DFF<Bits<17>>,
    m_rx_head: Signal<Local, Bits<16>>,
    sel_rx_head: DFF<Bits<16>>,
    m_rx_tail: Signal<Local, Bits<16>>,
    sel_rx_tail: DFF<Bits<16>>,
    m_tx_head: Signal<Local, Bits<16>>,
    sel_tx_head: DFF<Bits<16>>,
    m_tx_tail: Signal<Local, Bits<16>>,
    sel_tx_tail: DFF<Bits<16>>,
    m_forwarded: Signal<Local, Bits<32>>,
    sel_forwarded: DFF<Bits<32>>,
    m_rx_errors: Signal<Local, Bits<32>>,
    sel_rx_errors: DFF<Bits<32>>,
    m_tx_errors: Signal<Local, Bits<32>>,
    sel_tx_errors: DFF<Bits<32>>,
    mask: DFF<Bits<16>>,
    rx_head_at: Signal<Local, Bits<24>>,
    rx_tail_at: Signal<Local, Bits<24>>,
    tx_head_at: Signal<Local, Bits<24>>,
    tx_tail_at: Signal<Local, Bits<24>>,
    post_at: Signal<Local, Bits<24>>,
    rx_room: DFF<Bit>,
    tx_room: DFF<Bit>,
    rx_pending: DFF<Bit>,
    tx_pending: DFF<Bit>,
    want: Signal<Local, Bit>,
    acc_write: Signal<Local, Bit>,
    acc_addr: Signal<Local, Bits<24>>,
    acc_wdata: Signal<Local, Bits<32>>,
    done: Signal<Local, Bit>,
    /// The timeout fired last cycle: the turn is already in `Next`, whose
    /// slot is still `cur`, so clearing `running` a cycle late stops the
    /// same slot, and keeps the 10-bit compare off the flag's other writers.
    stop: DFF<Bit>,
    inc_rx_head: Signal<Local, Bit>,
    inc_rx_tail: Signal<Local, Bit>,
    inc_tx_head: Signal<Local, Bit>,
    inc_tx_tail: Signal<Local, Bit>,
    inc_forwarded: Signal<Local, Bit>,
    inc_rx_errors: Signal<Local, Bit>,
    inc_tx_errors: Signal<Local, Bit>,
    // The settings port.
    hs: Signal<Local, Bits<2>>,
    hw: Signal<Local, Bits<4>>,
    hs_hot: Signal<Local, Bits<4>>,
    hwr: Signal<Local, Bit>,
    h_running: Signal<Local, Bit>,
    h_bad_log2: Signal<Local, Bit>,
    h_bad_rx: Signal<Local, Bit>,
    h_bad_tx: Signal<Local, Bit>,
    h_bad_queue: Signal<Local, Bit>,
    h_bad_buf: Signal<Local, Bit>,
    h_status: Signal<Local, Bits<6>>,
    h_rx_head: Signal<Local, Bits<16>>,
    h_rx_tail: Signal<Local, Bits<16>>,
    h_tx_head: Signal<Local, Bits<16>>,
    h_tx_tail: Signal<Local, Bits<16>>,
    h_forwarded: Signal<Local, Bits<32>>,
    h_rx_errors: Signal<Local, Bits<32>>,
    h_tx_errors: Signal<Local, Bits<32>>,
    reasons: Signal<Local, Bits<6>>,
    c_queue: Signal<Local, Bits<7>>,
    c_base: Signal<Local, Bits<14>>,
    c_log2: Signal<Local, Bits<5>>,
    c_buf: Signal<Local, Bits<17>>,
}

impl Default for Forwarder {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            regs: Default::default(),
            settings: Default::default(),
            window: Constant::new((MEMORY_WINDOW as u64).into()),
            ring_unit: Constant::new(16u64.into()),
            running: Default::default(),
            status: Default::default(),
            queue: Default::default(),
            rx_base: Default::default(),
            tx_base: Default::default(),
            log2: Default::default(),
            buf_len: Default::default(),
            rx_head: Default::default(),
            rx_tail: Default::default(),
            tx_head: Default::default(),
            tx_tail: Default::default(),
            forwarded: Default::default(),
            rx_errors: Default::default(),
            tx_errors: Default::default(),
            bad_log2: Default::default(),
            bad_rx: Default::default(),
            bad_tx: Default::default(),
            bad_queue: Default::default(),
            bad_buf: Default::default(),
            state: Default::default(),
            cur: Default::default(),
            busy: Default::default(),
            waited: Default::default(),
            abort: Default::default(),
            strobe: Default::default(),
            write: Default::default(),
            addr: Default::default(),
            wdata: Default::default(),
            len: Default::default(),
            ok: Default::default(),
            buf_lo: Default::default(),
            buf_hi: Default::default(),
            kind: Default::default(),
            s_ack: Default::default(),
            s_rdata: Default::default(),
            cur_hot: Default::default(),
            m_running: Default::default(),
            sel_running: Default::default(),
            m_queue: Default::default(),
            sel_queue: Default::default(),
            m_rx_base: Default::default(),
            sel_rx_base: Default::default(),
            m_tx_base: Default::default(),
            sel_tx_base: Default::default(),
            m_log2: Default::default(),
            sel_log2: Default::default(),
            m_buf: Default::default(),
            sel_buf: Default::default(),
            m_rx_head: Default::default(),
            sel_rx_head: Default::default(),
            m_rx_tail: Default::default(),
            sel_rx_tail: Default::default(),
            m_tx_head: Default::default(),
            sel_tx_head: Default::default(),
            m_tx_tail: Default::default(),
            sel_tx_tail: Default::default(),
            m_forwarded: Default::default(),
            sel_forwarded: Default::default(),
            m_rx_errors: Default::default(),
            sel_rx_errors: Default::default(),
            m_tx_errors: Default::default(),
            sel_tx_errors: Default::default(),
            mask: Default::default(),
            rx_head_at: Default::default(),
            rx_tail_at: Default::default(),
            tx_head_at: Default::default(),
            tx_tail_at: Default::default(),
            post_at: Default::default(),
            rx_room: Default::default(),
            rx_pending: Default::default(),
            tx_pending: Default::default(),
            tx_room: Default::default(),
            want: Default::default(),
            acc_write: Default::default(),
            acc_addr: Default::default(),
            acc_wdata: Default::default(),
            done: Default::default(),
            stop: Default::default(),
            inc_rx_head: Default::default(),
            inc_rx_tail: Default::default(),
            inc_tx_head: Default::default(),
            inc_tx_tail: Default::default(),
            inc_forwarded: Default::default(),
            inc_rx_errors: Default::default(),
            inc_tx_errors: Default::default(),
            hs: Default::default(),
            hw: Default::default(),
            hs_hot: Default::default(),
            hwr: Default::default(),
            h_running: Default::default(),
            h_bad_log2: Default::default(),
            h_bad_rx: Default::default(),
            h_bad_tx: Default::default(),
            h_bad_queue: Default::default(),
            h_bad_buf: Default::default(),
            h_status: Default::default(),
            h_rx_head: Default::default(),
            h_rx_tail: Default::default(),
            h_tx_head: Default::default(),
            h_tx_tail: Default::default(),
            h_forwarded: Default::default(),
            h_rx_errors: Default::default(),
            h_tx_errors: Default::default(),
            reasons: Default::default(),
            c_queue: Default::default(),
            c_base: Default::default(),
            c_log2: Default::default(),
            c_buf: Default::default(),
        }
    }
}

impl Logic for Forwarder {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, cur, busy, waited, abort, mask, rx_room, tx_room, rx_pending, tx_pending, sel_running, sel_queue, sel_rx_base, sel_tx_base, sel_log2, sel_buf, sel_rx_head, sel_rx_tail, sel_tx_head, sel_tx_tail, sel_forwarded, sel_rx_errors, sel_tx_errors, strobe, write, addr, wdata, len, ok, buf_lo, buf_hi, kind,
            s_ack, s_rdata, stop
        );
        for i in 0..4 {
            self.running[i].clock.next = self.clock.val();
            self.status[i].clock.next = self.clock.val();
            self.queue[i].clock.next = self.clock.val();
            self.rx_base[i].clock.next = self.clock.val();
            self.tx_base[i].clock.next = self.clock.val();
            self.log2[i].clock.next = self.clock.val();
            self.buf_len[i].clock.next = self.clock.val();
            self.rx_head[i].clock.next = self.clock.val();
            self.rx_tail[i].clock.next = self.clock.val();
            self.tx_head[i].clock.next = self.clock.val();
            self.tx_tail[i].clock.next = self.clock.val();
            self.forwarded[i].clock.next = self.clock.val();
            self.rx_errors[i].clock.next = self.clock.val();
            self.tx_errors[i].clock.next = self.clock.val();
            self.running[i].d.next = self.running[i].q.val();
            self.status[i].d.next = self.status[i].q.val();
            self.queue[i].d.next = self.queue[i].q.val();
            self.rx_base[i].d.next = self.rx_base[i].q.val();
            self.tx_base[i].d.next = self.tx_base[i].q.val();
            self.log2[i].d.next = self.log2[i].q.val();
            self.buf_len[i].d.next = self.buf_len[i].q.val();
            self.rx_head[i].d.next = self.rx_head[i].q.val();
            self.rx_tail[i].d.next = self.rx_tail[i].q.val();
            self.tx_head[i].d.next = self.tx_head[i].q.val();
            self.tx_tail[i].d.next = self.tx_tail[i].q.val();
            self.forwarded[i].d.next = self.forwarded[i].q.val();
            self.rx_errors[i].d.next = self.rx_errors[i].q.val();
            self.tx_errors[i].d.next = self.tx_errors[i].q.val();
            self.bad_log2[i].clock.next = self.clock.val();
            self.bad_rx[i].clock.next = self.clock.val();
            self.bad_tx[i].clock.next = self.clock.val();
            self.bad_queue[i].clock.next = self.clock.val();
            self.bad_buf[i].clock.next = self.clock.val();
            // Registered per slot, so a start decodes no arithmetic. A ring
            // log2 past 9 cannot fit 8 KiB; below that, base and ring size
            // add up in 14 bits (a base of 8192 or more is already bad).
            self.bad_log2[i].d.next = (self.log2[i].q.val() < 3) | (self.log2[i].q.val() > 12);
            self.bad_rx[i].d.next = self.rx_base[i].q.val().get_bit(13)
                | self.rx_base[i].q.val().get_bits::<4>(0).any()
                | (self.log2[i].q.val() > 9)
                | ((self.rx_base[i].q.val() + (self.ring_unit.val() << self.log2[i].q.val())) > 8192);
            self.bad_tx[i].d.next = self.tx_base[i].q.val().get_bit(13)
                | self.tx_base[i].q.val().get_bits::<4>(0).any()
                | (self.log2[i].q.val() > 9)
                | ((self.tx_base[i].q.val() + (self.ring_unit.val() << self.log2[i].q.val())) > 8192);
            self.bad_queue[i].d.next = self.queue[i].q.val().get_bit(6);
            self.bad_buf[i].d.next = self.buf_len[i].q.val().get_bit(16) | !self.buf_len[i].q.val().any();
        }

        // The current slot.
        self.cur_hot.next = bit_cast::<4, 1>(true.into()) << self.cur.q.val();
        self.m_running.next = false;
        self.m_queue.next = 0.into();
        self.m_rx_base.next = 0.into();
        self.m_tx_base.next = 0.into();
        self.m_log2.next = 0.into();
        self.m_buf.next = 0.into();
        self.m_rx_head.next = 0.into();
        self.m_rx_tail.next = 0.into();
        self.m_tx_head.next = 0.into();
        self.m_tx_tail.next = 0.into();
        self.m_forwarded.next = 0.into();
        self.m_rx_errors.next = 0.into();
        self.m_tx_errors.next = 0.into();
        for i in 0..4 {
            if self.cur_hot.val().get_bit(i) {
                self.m_running.next = self.running[i].q.val();
                self.m_queue.next = self.queue[i].q.val();
                self.m_rx_base.next = self.rx_base[i].q.val();
                self.m_tx_base.next = self.tx_base[i].q.val();
                self.m_log2.next = self.log2[i].q.val();
                self.m_buf.next = self.buf_len[i].q.val();
                self.m_rx_head.next = self.rx_head[i].q.val();
                self.m_rx_tail.next = self.rx_tail[i].q.val();
                self.m_tx_head.next = self.tx_head[i].q.val();
                self.m_tx_tail.next = self.tx_tail[i].q.val();
                self.m_forwarded.next = self.forwarded[i].q.val();
                self.m_rx_errors.next = self.rx_errors[i].q.val();
                self.m_tx_errors.next = self.tx_errors[i].q.val();
            }
        }
        self.sel_running.d.next = self.m_running.val();
        self.sel_queue.d.next = self.m_queue.val();
        self.sel_rx_base.d.next = self.m_rx_base.val();
        self.sel_tx_base.d.next = self.m_tx_base.val();
        self.sel_log2.d.next = self.m_log2.val();
        self.sel_buf.d.next = self.m_buf.val();
        self.sel_rx_head.d.next = self.m_rx_head.val();
        self.sel_rx_tail.d.next = self.m_rx_tail.val();
        self.sel_tx_head.d.next = self.m_tx_head.val();
        self.sel_tx_tail.d.next = self.m_tx_tail.val();
        self.sel_forwarded.d.next = self.m_forwarded.val();
        self.sel_rx_errors.d.next = self.m_rx_errors.val();
        self.sel_tx_errors.d.next = self.m_tx_errors.val();
        // A running slot's rings fit the memory, so slot offsets and bases
        // add up below 8 KiB, inside the window.
        self.mask.d.next = (bit_cast::<16, 1>(true.into()) << self.m_log2.val()) - 1;
        self.rx_head_at.next = bit_cast::<24, 14>(
            self.sel_rx_base.q.val() + bit_cast::<14, 16>((self.sel_rx_head.q.val() & self.mask.q.val()) << 4),
        ) | self.window.val();
        self.rx_tail_at.next = bit_cast::<24, 14>(
            self.sel_rx_base.q.val() + bit_cast::<14, 16>((self.sel_rx_tail.q.val() & self.mask.q.val()) << 4),
        ) | self.window.val();
        self.tx_head_at.next = bit_cast::<24, 14>(
            self.sel_tx_base.q.val() + bit_cast::<14, 16>((self.sel_tx_head.q.val() & self.mask.q.val()) << 4),
        ) | self.window.val();
        self.tx_tail_at.next = bit_cast::<24, 14>(
            self.sel_tx_base.q.val() + bit_cast::<14, 16>((self.sel_tx_tail.q.val() & self.mask.q.val()) << 4),
        ) | self.window.val();
        self.rx_room.d.next = (self.sel_rx_tail.q.val() - self.sel_rx_head.q.val()) <= self.mask.q.val();
        self.tx_room.d.next = (self.sel_tx_tail.q.val() - self.sel_tx_head.q.val()) <= self.mask.q.val();
        self.rx_pending.d.next = self.sel_rx_head.q.val() != self.sel_rx_tail.q.val();
        self.tx_pending.d.next = self.sel_tx_head.q.val() != self.sel_tx_tail.q.val();
        self.post_at.next = self.rx_tail_at.val();
        if self.kind.q.val() == 0 {
            self.post_at.next = self.tx_tail_at.val();
        }

        self.regs.strobe.next = self.strobe.q.val();
        self.regs.write.next = self.write.q.val();
        self.regs.addr.next = self.addr.q.val();
        self.regs.wdata.next = self.wdata.q.val();
        self.strobe.d.next = false;
        // Decoded from the state alone, not set case by case: the access
        // request then sits one LUT after the state register rather than
        // at the end of the case mux (the board's worst estimated path).
        self.want.next = !((self.state.q.val() == FwdState::Pick)
            | (self.state.q.val() == FwdState::Load1)
            | (self.state.q.val() == FwdState::Load2)
            | (self.state.q.val() == FwdState::TxCheck)
            | (self.state.q.val() == FwdState::Next));
        self.acc_write.next = false;
        self.acc_addr.next = 0.into();
        self.acc_wdata.next = 0.into();
        self.done.next = self.busy.q.val() & self.regs.ack.val();
        self.stop.d.next = false;
        self.inc_rx_head.next = false;
        self.inc_rx_tail.next = false;
        self.inc_tx_head.next = false;
        self.inc_tx_tail.next = false;
        self.inc_forwarded.next = false;
        self.inc_rx_errors.next = false;
        self.inc_tx_errors.next = false;

        match self.state.q.val() {
            FwdState::Pick => {
                if self.sel_running.q.val() & !self.abort.q.val() {
                    self.state.d.next = FwdState::TxCheck;
                    if self.rx_pending.q.val() {
                        self.state.d.next = FwdState::RxWbHi;
                    }
                } else {
                    self.state.d.next = FwdState::Next;
                }
            }
            FwdState::Next => {
                self.state.d.next = FwdState::Load1;
                self.cur.d.next = self.cur.q.val() + 1;
                self.abort.d.next = false;
            }
            FwdState::Load1 => {
                self.state.d.next = FwdState::Load2;
            }
            FwdState::Load2 => {
                self.state.d.next = FwdState::Pick;
            }
            FwdState::RxWbHi => {
                self.acc_addr.next = self.rx_head_at.val() | 12;
                if self.done.val() {
                    self.state.d.next = FwdState::TxCheck;
                    if self.regs.rdata.val().get_bit(31) {
                        self.state.d.next = FwdState::RxWbLo;
                    }
                }
            }
            FwdState::RxWbLo => {
                self.acc_addr.next = self.rx_head_at.val() | 8;
                if self.done.val() {
                    self.len.d.next = self.regs.rdata.val().get_bits::<16>(0);
                    self.ok.d.next = !self.regs.rdata.val().get_bits::<4>(28).any();
                    self.state.d.next = FwdState::RxAddrLo;
                    // A good frame waits in its ring until the transmit
                    // ring has room; a bad one goes straight back.
                    if !self.regs.rdata.val().get_bits::<4>(28).any() & !self.tx_room.q.val() {
                        self.state.d.next = FwdState::TxCheck;
                    }
                }
            }
            FwdState::RxAddrLo => {
                self.acc_addr.next = self.rx_head_at.val();
                if self.done.val() {
                    self.buf_lo.d.next = self.regs.rdata.val();
                    self.state.d.next = FwdState::RxAddrHi;
                }
            }
            FwdState::RxAddrHi => {
                self.acc_addr.next = self.rx_head_at.val() | 4;
                if self.done.val() {
                    self.buf_hi.d.next = self.regs.rdata.val();
                    self.kind.d.next = 1.into();
                    if self.ok.q.val() {
                        self.kind.d.next = 0.into();
                    }
                    self.state.d.next = FwdState::PostAddrLo;
                }
            }
            FwdState::TxCheck => {
                if self.sel_running.q.val()
                    & !self.abort.q.val()
                    & self.tx_pending.q.val()
                {
                    self.state.d.next = FwdState::TxWbHi;
                } else {
                    self.state.d.next = FwdState::Next;
                }
            }
            FwdState::TxWbHi => {
                self.acc_addr.next = self.tx_head_at.val() | 12;
                if self.done.val() {
                    if self.regs.rdata.val().get_bit(31) {
                        self.state.d.next = FwdState::TxWbLo;
                    } else {
                        self.state.d.next = FwdState::Next;
                    }
                }
            }
            FwdState::TxWbLo => {
                self.acc_addr.next = self.tx_head_at.val() | 8;
                if self.done.val() {
                    self.ok.d.next = !self.regs.rdata.val().get_bits::<4>(28).any();
                    if self.rx_room.q.val() {
                        self.state.d.next = FwdState::TxAddrLo;
                    } else {
                        self.state.d.next = FwdState::Next;
                    }
                }
            }
            FwdState::TxAddrLo => {
                self.acc_addr.next = self.tx_head_at.val();
                if self.done.val() {
                    self.buf_lo.d.next = self.regs.rdata.val();
                    self.state.d.next = FwdState::TxAddrHi;
                }
            }
            FwdState::TxAddrHi => {
                self.acc_addr.next = self.tx_head_at.val() | 4;
                if self.done.val() {
                    self.buf_hi.d.next = self.regs.rdata.val();
                    self.kind.d.next = 3.into();
                    if self.ok.q.val() {
                        self.kind.d.next = 2.into();
                    }
                    self.state.d.next = FwdState::PostAddrLo;
                }
            }
            FwdState::PostAddrLo => {
                self.acc_write.next = true;
                self.acc_addr.next = self.post_at.val();
                self.acc_wdata.next = self.buf_lo.q.val();
                if self.done.val() {
                    self.state.d.next = FwdState::PostAddrHi;
                }
            }
            FwdState::PostAddrHi => {
                self.acc_write.next = true;
                self.acc_addr.next = self.post_at.val() | 4;
                self.acc_wdata.next = self.buf_hi.q.val();
                if self.done.val() {
                    self.state.d.next = FwdState::PostLen;
                }
            }
            FwdState::PostLen => {
                self.acc_write.next = true;
                self.acc_addr.next = self.post_at.val() | 8;
                self.acc_wdata.next = bit_cast::<32, 17>(self.sel_buf.q.val());
                if self.kind.q.val() == 0 {
                    self.acc_wdata.next = bit_cast::<32, 16>(self.len.q.val());
                }
                if self.done.val() {
                    self.state.d.next = FwdState::PostClear;
                }
            }
            FwdState::PostClear => {
                self.acc_write.next = true;
                self.acc_addr.next = self.post_at.val() | 12;
                if self.done.val() {
                    self.state.d.next = FwdState::Doorbell;
                }
            }
            FwdState::Doorbell => {
                self.acc_write.next = true;
                self.acc_addr.next = bit_cast::<24, 7>(self.sel_queue.q.val() + 1) << 12;
                self.acc_wdata.next = bit_cast::<32, 16>(self.sel_rx_tail.q.val() + 1);
                if self.kind.q.val() == 0 {
                    self.acc_addr.next = (bit_cast::<24, 7>(self.sel_queue.q.val() + 1) << 12) | 4;
                    self.acc_wdata.next = bit_cast::<32, 16>(self.sel_tx_tail.q.val() + 1);
                }
                if self.done.val() {
                    if self.kind.q.val() == 0 {
                        self.inc_tx_tail.next = true;
                        self.inc_rx_head.next = true;
                        self.state.d.next = FwdState::TxCheck;
                    }
                    if self.kind.q.val() == 1 {
                        self.inc_rx_tail.next = true;
                        self.inc_rx_head.next = true;
                        self.inc_rx_errors.next = true;
                        self.state.d.next = FwdState::TxCheck;
                    }
                    if self.kind.q.val() == 2 {
                        self.inc_rx_tail.next = true;
                        self.inc_tx_head.next = true;
                        self.inc_forwarded.next = true;
                        self.state.d.next = FwdState::Next;
                    }
                    if self.kind.q.val() == 3 {
                        self.inc_rx_tail.next = true;
                        self.inc_tx_head.next = true;
                        self.inc_tx_errors.next = true;
                        self.state.d.next = FwdState::Next;
                    }
                }
            }
        }

        // One access at a time; a stopped slot's turn ends before its next.
        if self.want.val() & !self.busy.q.val() {
            if self.sel_running.q.val() & !self.abort.q.val() {
                self.strobe.d.next = true;
                self.write.d.next = self.acc_write.val();
                self.addr.d.next = self.acc_addr.val();
                self.wdata.d.next = self.acc_wdata.val();
                self.busy.d.next = true;
                self.waited.d.next = 0.into();
            } else {
                self.state.d.next = FwdState::Next;
            }
        }
        if self.busy.q.val() {
            self.waited.d.next = self.waited.q.val() + 1;
            if self.regs.ack.val() {
                self.busy.d.next = false;
            } else if self.waited.q.val() == 0x3FF {
                self.busy.d.next = false;
                self.stop.d.next = true;
                self.state.d.next = FwdState::Next;
            }
        }
        for i in 0..4 {
            if self.cur_hot.val().get_bit(i) {
                if self.inc_rx_head.val() {
                    self.rx_head[i].d.next = self.sel_rx_head.q.val() + 1;
                }
                if self.inc_rx_tail.val() {
                    self.rx_tail[i].d.next = self.sel_rx_tail.q.val() + 1;
                }
                if self.inc_tx_head.val() {
                    self.tx_head[i].d.next = self.sel_tx_head.q.val() + 1;
                }
                if self.inc_tx_tail.val() {
                    self.tx_tail[i].d.next = self.sel_tx_tail.q.val() + 1;
                }
                if self.inc_forwarded.val() {
                    self.forwarded[i].d.next = self.sel_forwarded.q.val() + 1;
                }
                if self.inc_rx_errors.val() {
                    self.rx_errors[i].d.next = self.sel_rx_errors.q.val() + 1;
                }
                if self.inc_tx_errors.val() {
                    self.tx_errors[i].d.next = self.sel_tx_errors.q.val() + 1;
                }
                if self.stop.q.val() {
                    self.running[i].d.next = false;
                    self.status[i].d.next = self.status[i].q.val() | 0x20;
                }
            }
        }

        // The settings port: slot in offset bits 7..6, word in 5..2;
        // nothing above 0xFF is mapped.
        self.hs.next = self.settings.addr.val().get_bits::<2>(6);
        self.hw.next = self.settings.addr.val().get_bits::<4>(2);
        self.hs_hot.next = bit_cast::<4, 1>(true.into()) << self.hs.val();
        self.hwr.next = self.settings.strobe.val()
            & self.settings.write.val()
            & !self.settings.addr.val().get_bits::<16>(8).any();
        self.h_running.next = false;
        self.h_bad_log2.next = false;
        self.h_bad_rx.next = false;
        self.h_bad_tx.next = false;
        self.h_bad_queue.next = false;
        self.h_bad_buf.next = false;
        self.h_status.next = 0.into();
        self.h_rx_head.next = 0.into();
        self.h_rx_tail.next = 0.into();
        self.h_tx_head.next = 0.into();
        self.h_tx_tail.next = 0.into();
        self.h_forwarded.next = 0.into();
        self.h_rx_errors.next = 0.into();
        self.h_tx_errors.next = 0.into();
        for i in 0..4 {
            if self.hs_hot.val().get_bit(i) {
                self.h_running.next = self.running[i].q.val();
                self.h_bad_log2.next = self.bad_log2[i].q.val();
                self.h_bad_rx.next = self.bad_rx[i].q.val();
                self.h_bad_tx.next = self.bad_tx[i].q.val();
                self.h_bad_queue.next = self.bad_queue[i].q.val();
                self.h_bad_buf.next = self.bad_buf[i].q.val();
                self.h_status.next = self.status[i].q.val();
                self.h_rx_head.next = self.rx_head[i].q.val();
                self.h_rx_tail.next = self.rx_tail[i].q.val();
                self.h_tx_head.next = self.tx_head[i].q.val();
                self.h_tx_tail.next = self.tx_tail[i].q.val();
                self.h_forwarded.next = self.forwarded[i].q.val();
                self.h_rx_errors.next = self.rx_errors[i].q.val();
                self.h_tx_errors.next = self.tx_errors[i].q.val();
            }
        }
        self.reasons.next = bit_cast::<6, 1>(self.h_bad_log2.val().into())
            | (bit_cast::<6, 1>(self.h_bad_rx.val().into()) << 1)
            | (bit_cast::<6, 1>(self.h_bad_tx.val().into()) << 2)
            | (bit_cast::<6, 1>(self.h_bad_queue.val().into()) << 3)
            | (bit_cast::<6, 1>(self.h_bad_buf.val().into()) << 4);
        // Values clipped to one past their limits.
        self.c_queue.next = bit_cast::<7, 32>(self.settings.wdata.val());
        if self.settings.wdata.val() >= 64 {
            self.c_queue.next = 64.into();
        }
        self.c_base.next = bit_cast::<14, 32>(self.settings.wdata.val());
        if self.settings.wdata.val() >= 8192 {
            self.c_base.next = 8192.into();
        }
        self.c_log2.next = bit_cast::<5, 32>(self.settings.wdata.val());
        if self.settings.wdata.val() >= 16 {
            self.c_log2.next = 16.into();
        }
        self.c_buf.next = bit_cast::<17, 32>(self.settings.wdata.val());
        if self.settings.wdata.val() >= 65536 {
            self.c_buf.next = 65536.into();
        }
        if self.hwr.val() & (self.hw.val() == 0) & (self.hs.val() == self.cur.q.val()) {
            self.abort.d.next = true;
        }
        for i in 0..4 {
            if self.hwr.val() & self.hs_hot.val().get_bit(i) {
                if self.hw.val() == 0 {
                    self.status[i].d.next = 0.into();
                    if !self.settings.wdata.val().get_bit(0) {
                        self.running[i].d.next = false;
                    } else if !self.running[i].q.val() {
                        self.status[i].d.next = self.reasons.val();
                        if !self.reasons.val().any() {
                            self.running[i].d.next = true;
                            self.forwarded[i].d.next = 0.into();
                            self.rx_errors[i].d.next = 0.into();
                            self.tx_errors[i].d.next = 0.into();
                        }
                    }
                }
                if !self.running[i].q.val() {
                    if self.hw.val() == 1 {
                        self.queue[i].d.next = self.c_queue.val();
                    }
                    if self.hw.val() == 2 {
                        self.rx_base[i].d.next = self.c_base.val();
                    }
                    if self.hw.val() == 3 {
                        self.tx_base[i].d.next = self.c_base.val();
                    }
                    if self.hw.val() == 4 {
                        self.log2[i].d.next = self.c_log2.val();
                    }
                    if self.hw.val() == 5 {
                        self.buf_len[i].d.next = self.c_buf.val();
                    }
                    if self.hw.val() == 6 {
                        self.rx_head[i].d.next = self.settings.wdata.val().get_bits::<16>(0);
                        self.rx_tail[i].d.next = self.settings.wdata.val().get_bits::<16>(16);
                    }
                    if self.hw.val() == 7 {
                        self.tx_head[i].d.next = self.settings.wdata.val().get_bits::<16>(0);
                        self.tx_tail[i].d.next = self.settings.wdata.val().get_bits::<16>(16);
                    }
                }
            }
        }
        self.s_ack.d.next = self.settings.strobe.val();
        if self.settings.strobe.val() {
            self.s_rdata.d.next = 0.into();
            if !self.settings.addr.val().get_bits::<16>(8).any() {
                if self.hw.val() == 0 {
                    self.s_rdata.d.next = bit_cast::<32, 1>(self.h_running.val().into())
                        | (bit_cast::<32, 6>(self.h_status.val()) << 8);
                }
                if self.hw.val() == 6 {
                    self.s_rdata.d.next =
                        bit_cast::<32, 16>(self.h_rx_head.val()) | (bit_cast::<32, 16>(self.h_rx_tail.val()) << 16);
                }
                if self.hw.val() == 7 {
                    self.s_rdata.d.next =
                        bit_cast::<32, 16>(self.h_tx_head.val()) | (bit_cast::<32, 16>(self.h_tx_tail.val()) << 16);
                }
                if self.hw.val() == 8 {
                    self.s_rdata.d.next = self.h_forwarded.val();
                }
                if self.hw.val() == 9 {
                    self.s_rdata.d.next = self.h_rx_errors.val();
                }
                if self.hw.val() == 10 {
                    self.s_rdata.d.next = self.h_tx_errors.val();
                }
            }
        }
        self.settings.ack.next = self.s_ack.q.val();
        self.settings.rdata.next = self.s_rdata.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::dma_memory::DMA_MEMORY_BASE;
    use crate::harness::{Harness, Rng};
    use crate::queue::{Status, WriteBack};
    use crate::board::versa_ecp5::regions::fwd_register;
    use std::collections::HashMap;

    const MEM: usize = 8192;

    /// One queue as the fake NIC sees it: the tails the doorbells said, its
    /// own consumer indices, and what it sent.
    #[derive(Default)]
    struct FakeQueue {
        rx_ring: usize,
        tx_ring: usize,
        log2: u8,
        rx_tail: u16,
        rx_head: u16,
        tx_tail: u16,
        tx_head: u16,
        sent: Vec<Vec<u8>>,
        refused: usize,
    }

    /// The forwarder against a behavioural register space: 8 KiB of memory
    /// in the window, the core's user pages as doorbells feeding a fake
    /// NIC that fills receive descriptors with the frames a test hands it
    /// and sends what is posted to transmit.
    struct Bench {
        h: Harness<Forwarder>,
        rng: Rng,
        mem: Vec<u8>,
        queues: HashMap<u32, FakeQueue>,
        /// (queue, transmit, value) of every doorbell.
        doorbells: Vec<(u32, bool, u32)>,
        /// Every access: (write, addr, wdata).
        accesses: Vec<(bool, u32, u32)>,
        pending: Option<(u64, u32)>,
        /// Addresses from which no ack ever comes.
        deaf: Option<u32>,
        /// Percent chance the fake NIC finishes a transmit descriptor in a cycle.
        tx_speed: u64,
    }

    impl Bench {
        fn new(seed: u64) -> Self {
            Bench {
                h: Harness::new(Forwarder::default(), |f| &mut f.clock),
                rng: Rng(seed),
                mem: vec![0; MEM],
                queues: HashMap::new(),
                doorbells: vec![],
                accesses: vec![],
                pending: None,
                deaf: None,
                tx_speed: 20,
            }
        }

        fn rd32(&self, off: usize) -> u32 {
            u32::from_le_bytes(self.mem[off..off + 4].try_into().unwrap())
        }

        fn wr32(&mut self, off: usize, v: u32) {
            self.mem[off..off + 4].copy_from_slice(&v.to_le_bytes());
        }

        fn rd64(&self, off: usize) -> u64 {
            self.rd32(off) as u64 | (self.rd32(off + 4) as u64) << 32
        }

        fn wr64(&mut self, off: usize, v: u64) {
            self.wr32(off, v as u32);
            self.wr32(off + 4, (v >> 32) as u32);
        }

        fn access(&mut self, write: bool, addr: u32, wdata: u32) -> u32 {
            self.accesses.push((write, addr, wdata));
            if (MEMORY_WINDOW..MEMORY_WINDOW + MEM as u32).contains(&addr) {
                let off = (addr - MEMORY_WINDOW) as usize;
                assert_eq!(off % 4, 0);
                if write {
                    self.wr32(off, wdata);
                    return 0;
                }
                return self.rd32(off);
            }
            assert!(write && (PAGE_BYTES..MEMORY_WINDOW).contains(&addr), "unexpected access {write} {addr:#x}");
            let (q, reg) = (addr / PAGE_BYTES - 1, addr % PAGE_BYTES);
            assert!(reg == UQ_RX_TAIL || reg == UQ_TX_TAIL, "doorbell at {addr:#x}");
            let fq = self.queues.get_mut(&q).unwrap_or_else(|| panic!("doorbell for unknown queue {q}"));
            self.doorbells.push((q, reg == UQ_TX_TAIL, wdata));
            if reg == UQ_TX_TAIL {
                fq.tx_tail = wdata as u16;
            } else {
                fq.rx_tail = wdata as u16;
            }
            0
        }

        fn step(&mut self) {
            let u = &mut self.h.uut;
            u.regs.ack.next = false;
            if let Some((n, d)) = self.pending {
                if n == 0 {
                    u.regs.ack.next = true;
                    u.regs.rdata.next = (d as u64).into();
                    self.pending = None;
                } else {
                    self.pending = Some((n - 1, d));
                }
            }
            self.h.settle();
            let r = &self.h.uut.regs;
            if r.strobe.val() {
                let (write, addr, wdata) = (r.write.val(), u64::from(r.addr.val()) as u32, u64::from(r.wdata.val()) as u32);
                assert!(self.pending.is_none(), "a second access while one is outstanding");
                if self.deaf == Some(addr) {
                    self.accesses.push((write, addr, wdata));
                } else {
                    let d = self.access(write, addr, wdata);
                    self.pending = Some((self.rng.below(4), d));
                }
            }
            self.h.cycle();
            self.nic_transmit();
        }

        /// The fake NIC finishes the oldest posted transmit descriptor of
        /// each queue now and then: frames starting 0xEE break its template.
        fn nic_transmit(&mut self) {
            let qs: Vec<u32> = self.queues.keys().copied().collect();
            for q in qs {
                if !self.rng.chance(self.tx_speed) {
                    continue;
                }
                let fq = &self.queues[&q];
                if fq.tx_head == fq.tx_tail {
                    continue;
                }
                let at = fq.tx_ring + ((fq.tx_head as usize) & ((1 << fq.log2) - 1)) * 16;
                let addr = self.rd64(at);
                let word = self.rd64(at + 8);
                assert_eq!(word >> 16, 0, "a transmit descriptor posted with more than a length: {word:#x}");
                let off = (addr - DMA_MEMORY_BASE) as usize;
                let frame = self.mem[off..off + word as usize].to_vec();
                let status = if frame[0] == 0xEE { Status::Template } else { Status::Ok };
                let wb = WriteBack { len: word as u16, queue: q as u16, status: status as u8, ..Default::default() };
                self.wr64(at + 8, wb.encode());
                let fq = self.queues.get_mut(&q).unwrap();
                fq.tx_head = fq.tx_head.wrapping_add(1);
                if status == Status::Ok {
                    fq.sent.push(frame);
                } else {
                    fq.refused += 1;
                }
            }
        }

        /// The fake NIC receives `frame` on queue `q` into the next posted
        /// buffer (too long for it: written back `TooLong`); false if none.
        fn receive(&mut self, q: u32, frame: &[u8]) -> bool {
            let fq = &self.queues[&q];
            if fq.rx_head == fq.rx_tail {
                return false;
            }
            let at = fq.rx_ring + ((fq.rx_head as usize) & ((1 << fq.log2) - 1)) * 16;
            let addr = self.rd64(at);
            let word = self.rd64(at + 8);
            assert_eq!(word >> 16, 0, "a receive descriptor posted with more than a length: {word:#x}");
            let mut wb = WriteBack { queue: q as u16, ..Default::default() };
            if frame.len() as u64 > word {
                wb.status = Status::TooLong as u8;
            } else {
                let off = (addr - DMA_MEMORY_BASE) as usize;
                self.mem[off..off + frame.len()].copy_from_slice(frame);
                wb.len = frame.len() as u16;
            }
            self.wr64(at + 8, wb.encode());
            let fq = self.queues.get_mut(&q).unwrap();
            fq.rx_head = fq.rx_head.wrapping_add(1);
            true
        }

        fn settings(&mut self, write: bool, addr: u32, wdata: u32) -> u32 {
            let off = addr - crate::board::versa_ecp5::regions::FORWARDER_WINDOW;
            let s = &mut self.h.uut.settings;
            s.strobe.next = true;
            s.write.next = write;
            s.addr.next = (off as u64).into();
            s.wdata.next = (wdata as u64).into();
            self.step();
            self.h.uut.settings.strobe.next = false;
            assert!(self.h.uut.settings.ack.val(), "the settings port acks the cycle after the strobe");
            let r = u64::from(self.h.uut.settings.rdata.val()) as u32;
            self.step();
            assert!(!self.h.uut.settings.ack.val());
            r
        }

        fn set(&mut self, slot: u32, reg: u32, v: u32) {
            self.settings(true, fwd_register(slot, reg), v);
        }

        fn get(&mut self, slot: u32, reg: u32) -> u32 {
            self.settings(false, fwd_register(slot, reg), 0)
        }

        /// Lays out queue `q` for slot `slot` as the host would: rings at
        /// `rx_ring`/`tx_ring`, `2^log2` buffers of `buf` bytes at `bufs`,
        /// every receive descriptor posted; then starts the slot.
        fn setup(&mut self, slot: u32, q: u32, (rx_ring, tx_ring): (usize, usize), log2: u8, bufs: usize, buf: u32) {
            let n = 1usize << log2;
            for i in 0..n {
                self.wr64(rx_ring + 16 * i, DMA_MEMORY_BASE + (bufs + i * buf as usize) as u64);
                self.wr64(rx_ring + 16 * i + 8, buf as u64);
                // Stale write-backs in the transmit ring must not count.
                self.wr64(tx_ring + 16 * i + 8, WriteBack::default().encode());
            }
            self.queues.insert(q, FakeQueue { rx_ring, tx_ring, log2, rx_tail: n as u16, ..Default::default() });
            for (reg, v) in [
                (fwd::QUEUE, q),
                (fwd::RX_RING, rx_ring as u32),
                (fwd::TX_RING, tx_ring as u32),
                (fwd::RING_LOG2, log2 as u32),
                (fwd::BUFFER_BYTES, buf),
                (fwd::RX_INDEX, (n as u32) << 16),
                (fwd::TX_INDEX, 0),
                (fwd::CONTROL, fwd::CONTROL_RUN),
            ] {
                self.set(slot, reg, v);
            }
            assert_eq!(self.get(slot, fwd::CONTROL), fwd::CONTROL_RUN, "slot {slot} runs");
        }

        fn run_until(&mut self, limit: u64, mut f: impl FnMut(&Self) -> bool) -> bool {
            for _ in 0..limit {
                if f(self) {
                    return true;
                }
                self.step();
            }
            f(self)
        }
    }

    fn frame(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(13) ^ seed).map(|b| if b == 0xEE { 0xEF } else { b }).collect()
    }

    /// Feeds `frames` to queue `q` as buffers allow, stepping meanwhile.
    fn feed(b: &mut Bench, q: u32, frames: &[Vec<u8>]) {
        for f in frames {
            assert!(b.run_until(20_000, |b| { let fq = &b.queues[&q]; fq.rx_head != fq.rx_tail }), "no buffer posted");
            assert!(b.receive(q, f));
            for _ in 0..b.rng.below(40) {
                b.step();
            }
        }
    }

    /// Good and errored frames through one slot of 8 descriptors, 40
    /// frames so the rings wrap five times: the good ones leave in order
    /// and intact, the errored buffers come back, every doorbell is the
    /// next tail, and the counters and indices agree with the fake NIC.
    #[test]
    fn forwarder_forwards_good_frames_and_reposts_errors_across_ring_wraps() {
        let mut b = Bench::new(1);
        b.setup(0, 5, (0x0000, 0x0080), 3, 0x0400, 256);
        let frames: Vec<Vec<u8>> = (0..40).map(|i| frame(if i % 7 == 3 { 300 } else { 60 + 5 * i }, i as u8)).collect();
        let mut frames = frames;
        frames[11][0] = 0xEE;
        let good: Vec<Vec<u8>> = frames.iter().filter(|f| f.len() <= 256 && f[0] != 0xEE).cloned().collect();
        let too_long = frames.iter().filter(|f| f.len() > 256).count();
        let start = b.h.cycles;
        feed(&mut b, 5, &frames);
        assert!(b.run_until(50_000, |b| b.queues[&5].sent.len() == good.len() && b.queues[&5].refused == 1));
        // Everything reposted: all eight buffers are back in the receive ring.
        assert!(b.run_until(20_000, |b| { let q = &b.queues[&5]; q.rx_tail.wrapping_sub(q.rx_head) == 8 }));
        let cycles = b.h.cycles - start;
        assert_eq!(b.queues[&5].sent, good);
        // The fake NIC sees a doorbell at its strobe; counters move at its ack.
        for _ in 0..8 {
            b.step();
        }
        assert_eq!(b.get(0, fwd::FORWARDED), good.len() as u32);
        assert_eq!(b.get(0, fwd::RX_ERRORS), too_long as u32);
        assert_eq!(b.get(0, fwd::TX_ERRORS), 1);
        let q = &b.queues[&5];
        let (rx_tail, tx_tail) = (q.rx_tail, q.tx_tail);
        assert_eq!(b.get(0, fwd::RX_INDEX), 40 | (rx_tail as u32) << 16);
        assert_eq!(rx_tail, 8 + 40);
        assert_eq!(b.get(0, fwd::TX_INDEX), (40 - too_long as u32) | (tx_tail as u32) << 16);
        // Each doorbell moves its tail by one.
        let rx: Vec<u32> = b.doorbells.iter().filter(|d| !d.1).map(|d| d.2).collect();
        let tx: Vec<u32> = b.doorbells.iter().filter(|d| d.1).map(|d| d.2).collect();
        assert_eq!(rx, (9..=48).collect::<Vec<u32>>());
        assert_eq!(tx, (1..=(40 - too_long as u32)).collect::<Vec<u32>>());
        assert!(b.doorbells.iter().all(|d| d.0 == 5));
        // Accesses stay in the rings and the queue's page.
        for &(write, addr, _) in &b.accesses {
            let off = addr.wrapping_sub(MEMORY_WINDOW);
            let page = addr == queue_page(5) || addr == queue_page(5) + 4;
            assert!(off < 0x100 || page, "access {write} {addr:#x}");
        }
        eprintln!("forwarder: {} frames arriving with gaps in {cycles} cycles, {} accesses", frames.len(), b.accesses.len());
        // Throughput: eight frames waiting at once, the fake NIC sending
        // each as soon as it is posted, the register space acking in 0 to
        // 3 cycles.
        b.tx_speed = 100;
        let burst: Vec<Vec<u8>> = (0..8).map(|i| frame(100, 0x60 + i)).collect();
        for f in &burst {
            assert!(b.receive(5, f));
        }
        let (t0, a0) = (b.h.cycles, b.accesses.len());
        assert!(b.run_until(20_000, |b| b.queues[&5].rx_tail == 48 + 8));
        let per_frame = (b.h.cycles - t0) / 8;
        let accesses = (b.accesses.len() - a0) as f64 / 8.0;
        eprintln!("forwarder: {per_frame} cycles and {accesses:.1} accesses per forwarded frame");
        assert_eq!(b.queues[&5].sent[good.len()..], burst[..]);
        assert!(per_frame < 150, "{per_frame} cycles per frame");
    }

    fn queue_page(q: u32) -> u32 {
        crate::regmap::queue_page(q)
    }

    /// Two slots on two queues, frames arriving interleaved: each queue
    /// sends its own frames in order, and neither waits for the other.
    #[test]
    fn forwarder_serves_two_slots_interleaved() {
        let mut b = Bench::new(2);
        b.setup(1, 3, (0x0000, 0x0100), 4, 0x0800, 128);
        b.setup(3, 63, (0x0200, 0x0300), 4, 0x1000, 128);
        let a: Vec<Vec<u8>> = (0..30).map(|i| frame(60 + i, 0x30 + i as u8)).collect();
        let c: Vec<Vec<u8>> = (0..30).map(|i| frame(100 - i, 0x90 + i as u8)).collect();
        for i in 0..30 {
            feed(&mut b, 3, &a[i..i + 1]);
            feed(&mut b, 63, &c[i..i + 1]);
        }
        assert!(b.run_until(50_000, |b| b.queues[&3].sent.len() == 30 && b.queues[&63].sent.len() == 30));
        assert_eq!(b.queues[&3].sent, a);
        assert_eq!(b.queues[&63].sent, c);
        assert!(b.run_until(20_000, |b| b.queues[&63].rx_tail == 16 + 30 && b.queues[&3].rx_tail == 16 + 30));
        for _ in 0..8 {
            b.step();
        }
        assert_eq!(b.get(1, fwd::FORWARDED), 30);
        assert_eq!(b.get(3, fwd::FORWARDED), 30);
        assert_eq!(b.get(0, fwd::FORWARDED), 0);
        assert_eq!(b.get(0, fwd::CONTROL), 0);
    }

    /// Stopping a slot while frames flow: no access after the stop's ack
    /// but the one outstanding; the indices read back match the fake NIC's
    /// view; started again from them, the slot finishes the job.
    #[test]
    fn forwarder_stops_between_accesses_and_restarts_from_its_indices() {
        let mut b = Bench::new(3);
        b.tx_speed = 5;
        b.setup(2, 9, (0x1800, 0x1900), 4, 0x0000, 256);
        let frames: Vec<Vec<u8>> = (0..12).map(|i| frame(64 + 8 * i, i as u8)).collect();
        for f in &frames {
            assert!(b.receive(9, f));
        }
        assert!(b.run_until(50_000, |b| b.queues[&9].sent.len() >= 4));
        b.set(2, fwd::CONTROL, 0);
        let seen = b.accesses.len();
        for _ in 0..2000 {
            b.step();
        }
        assert!(b.accesses.len() <= seen + 1, "{} accesses after the stop", b.accesses.len() - seen);
        assert_eq!(b.get(2, fwd::CONTROL), 0);
        let rx = b.get(2, fwd::RX_INDEX);
        let tx = b.get(2, fwd::TX_INDEX);
        let q = &b.queues[&9];
        assert_eq!((rx >> 16, tx >> 16), (q.rx_tail as u32, q.tx_tail as u32), "the tails the doorbells said");
        let forwarded_before = b.get(2, fwd::FORWARDED) as usize;
        assert!(forwarded_before > 0);
        // Index writes count only while stopped; the stop kept them.
        b.set(2, fwd::RX_INDEX, rx);
        b.set(2, fwd::TX_INDEX, tx);
        b.set(2, fwd::CONTROL, fwd::CONTROL_RUN);
        b.set(2, fwd::RX_INDEX, 0xDEAD_BEEF);
        assert_eq!(b.get(2, fwd::RX_INDEX), rx);
        assert!(b.run_until(50_000, |b| b.queues[&9].sent.len() == 12));
        assert_eq!(b.queues[&9].sent, frames);
        assert!(b.run_until(20_000, |b| b.queues[&9].rx_tail == 16 + 12));
        for _ in 0..8 {
            b.step();
        }
        // Counters restarted with the slot.
        assert_eq!(b.get(2, fwd::FORWARDED) as usize, 12 - forwarded_before);
    }

    /// Each bad setting refuses the start with its own reason, and a
    /// refused slot makes no access.
    #[test]
    fn forwarder_refuses_bad_settings_without_an_access() {
        let mut b = Bench::new(4);
        b.queues.insert(1, FakeQueue::default());
        let good = [(fwd::QUEUE, 1), (fwd::RX_RING, 0), (fwd::TX_RING, 0x1000), (fwd::RING_LOG2, 8), (fwd::BUFFER_BYTES, 2048)];
        let cases = [
            (fwd::RING_LOG2, 2, fwd::STATUS_BAD_LOG2),
            (fwd::RING_LOG2, 13, fwd::STATUS_BAD_LOG2 | fwd::STATUS_BAD_RX_RING | fwd::STATUS_BAD_TX_RING),
            (fwd::RING_LOG2, 0x1_0000_0003u64 as u32 | 0x100, fwd::STATUS_BAD_LOG2 | fwd::STATUS_BAD_RX_RING | fwd::STATUS_BAD_TX_RING),
            (fwd::RING_LOG2, 9, fwd::STATUS_BAD_TX_RING),
            (fwd::RX_RING, 0x1008, fwd::STATUS_BAD_RX_RING),
            (fwd::RX_RING, 0x1010, fwd::STATUS_BAD_RX_RING),
            (fwd::TX_RING, 0x2000, fwd::STATUS_BAD_TX_RING),
            (fwd::TX_RING, 0x8000_1000, fwd::STATUS_BAD_TX_RING),
            (fwd::QUEUE, 64, fwd::STATUS_BAD_QUEUE),
            (fwd::QUEUE, 0x1_0001, fwd::STATUS_BAD_QUEUE),
            (fwd::BUFFER_BYTES, 0, fwd::STATUS_BAD_BUFFER),
            (fwd::BUFFER_BYTES, 0x1_0000, fwd::STATUS_BAD_BUFFER),
        ];
        for (reg, value, reason) in cases {
            for (r, v) in good {
                b.set(0, r, v);
            }
            b.set(0, reg, value);
            b.set(0, fwd::CONTROL, fwd::CONTROL_RUN);
            assert_eq!(b.get(0, fwd::CONTROL), reason, "register {reg:#x} = {value:#x}");
            for _ in 0..50 {
                b.step();
            }
        }
        assert!(b.accesses.is_empty(), "{:?}", b.accesses);
        // The good settings start it; the largest ring that fits does too.
        for (r, v) in good {
            b.set(0, r, v);
        }
        b.set(0, fwd::CONTROL, fwd::CONTROL_RUN);
        assert_eq!(b.get(0, fwd::CONTROL), fwd::CONTROL_RUN);
        b.set(0, fwd::CONTROL, 0);
        b.set(0, fwd::TX_RING, 0);
        b.set(0, fwd::RING_LOG2, 9);
        b.set(0, fwd::CONTROL, fwd::CONTROL_RUN);
        assert_eq!(b.get(0, fwd::CONTROL), fwd::CONTROL_RUN);
        // Nothing is mapped past the slots.
        assert_eq!(b.settings(false, crate::board::versa_ecp5::regions::FORWARDER_WINDOW + 0x100, 0), 0);
    }

    /// A doorbell never acknowledged: the slot stops after the timeout with
    /// `STATUS_NO_ACK` and makes no further access; another slot goes on.
    #[test]
    fn forwarder_stops_a_slot_whose_access_is_never_acknowledged() {
        let mut b = Bench::new(5);
        b.setup(0, 4, (0x0000, 0x0080), 3, 0x0400, 128);
        b.setup(1, 6, (0x0100, 0x0180), 3, 0x0800, 128);
        b.deaf = Some(queue_page(4) + UQ_TX_TAIL);
        assert!(b.receive(4, &frame(70, 1)));
        assert!(b.run_until(5_000, |b| b.accesses.iter().any(|a| a.1 == queue_page(4) + UQ_TX_TAIL)));
        let at = b.h.cycles;
        assert!(b.run_until(2_000, |b| !b.h.uut.running[0].q.val()));
        let waited = b.h.cycles - at;
        assert!((1020..1030).contains(&waited), "stopped {waited} cycles after the access");
        assert_eq!(b.get(0, fwd::CONTROL), fwd::STATUS_NO_ACK);
        let seen = b.accesses.iter().filter(|a| (a.1 >= MEMORY_WINDOW && a.1 < MEMORY_WINDOW + 0x100) || a.1 == queue_page(4)).count();
        feed(&mut b, 6, &[frame(90, 2), frame(91, 3)]);
        assert!(b.run_until(20_000, |b| b.queues[&6].sent.len() == 2));
        let after = b.accesses.iter().filter(|a| (a.1 >= MEMORY_WINDOW && a.1 < MEMORY_WINDOW + 0x100) || a.1 == queue_page(4)).count();
        assert_eq!(seen, after, "the stopped slot made accesses");
        assert_eq!(b.get(1, fwd::CONTROL), fwd::CONTROL_RUN);
    }

    #[test]
    fn forwarder_generates_verilog() {
        let mut uut = Forwarder::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
