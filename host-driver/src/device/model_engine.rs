//! The descriptor engine of the `model` backend: the same rules as the
//! gateware's receive, transmit and event engines, applied the moment
//! something happens instead of over cycles. Each rule is written once,
//! here, in the order the gateware applies it. Which transmit queue takes
//! the next turn, and when, is `model_transmit`'s business; this engine
//! carries the turn out.
//!
//! Where it differs from the RTL by design: a turn reads its descriptor
//! and frame and writes its write-back all at the cycle the frame starts
//! on the wire (the RTL reads ahead while the previous frame is still
//! going out), and events fire at the first moment their rule holds
//! rather than at the next scan.

use arsenic_hdl::params::QUEUE_COUNT;
use arsenic_hdl::queue::{
    EventWord, QueueSettings, Status, WriteBack, DESC_BYTES, DESC_WRITEBACK_OFFSET, EVENT_TICK_CYCLES, QCFG_WORDS,
};
use arsenic_hdl::regmap::Counter;
use arsenic_testbench::host_memory::{DmaAccess, DmaKind, HostMemory};

#[derive(Clone, Copy, Default)]
struct EventState {
    armed: bool,
    pending: u8,
    first_tick: u64,
    rx_done: u16,
    tx_done: u16,
    seq: u16,
}

#[derive(Clone, Copy, Default)]
struct QueueState {
    settings: QueueSettings,
    rx_head: u16,
    rx_tail: u16,
    tx_head: u16,
    tx_tail: u16,
    event: EventState,
    /// `regmap::UQ_RX_DELIVERED` onwards.
    counters: [u32; 4],
}

/// What the engine did that the rest of the model must account for.
#[derive(Default)]
pub struct Effects {
    pub counts: Vec<Counter>,
}

pub struct QueueEngine {
    pub memory: HostMemory,
    queues: Vec<QueueState>,
    staged: [u32; QCFG_WORDS],
    log: Vec<DmaAccess>,
    max_frame: usize,
    min_frame: usize,
}

impl QueueEngine {
    pub fn new(min_frame: usize, max_frame: usize) -> Self {
        Self {
            memory: HostMemory::default(),
            queues: vec![QueueState::default(); QUEUE_COUNT],
            staged: [0; QCFG_WORDS],
            log: Vec::new(),
            max_frame,
            min_frame,
        }
    }

    pub fn take_log(&mut self) -> Vec<DmaAccess> {
        std::mem::take(&mut self.log)
    }

    pub fn staged(&self, word: usize) -> u32 {
        self.staged[word]
    }

    pub fn stage(&mut self, word: usize, value: u32) {
        self.staged[word] = value;
    }

    pub fn commit(&mut self, queue: usize) {
        if let Some(q) = self.queues.get_mut(queue) {
            *q = QueueState { settings: QueueSettings::from_words(&self.staged), ..Default::default() };
        }
    }

    pub fn counter(&self, queue: usize, index: usize) -> u32 {
        self.queues.get(queue).map_or(0, |q| q.counters[index])
    }

    fn read(&mut self, cycle: u64, addr: u64, len: usize) -> Vec<u8> {
        self.log.push(DmaAccess { cycle, kind: DmaKind::Read, addr, len: len as u32, tag: 0 });
        let mut buf = vec![0; len];
        self.memory.read(addr, &mut buf);
        buf
    }

    fn write(&mut self, cycle: u64, addr: u64, data: &[u8]) {
        self.log.push(DmaAccess { cycle, kind: DmaKind::Write, addr, len: data.len() as u32, tag: 0 });
        self.memory.write(addr, data);
    }

    /// Reads the descriptor at `index`: (buffer address, length field).
    fn descriptor(&mut self, cycle: u64, ring: u64, log2: u8, index: u16) -> (u64, u64, usize) {
        let slot = (index as u64) & ((1u64 << log2) - 1);
        let at = ring.wrapping_add(slot * DESC_BYTES);
        let d = self.read(cycle, at, DESC_BYTES as usize);
        let addr = u64::from_le_bytes(d[0..8].try_into().unwrap());
        let len = u16::from_le_bytes([d[8], d[9]]) as usize;
        (at.wrapping_add(DESC_WRITEBACK_OFFSET), addr, len)
    }

    /// A good frame the demultiplexer steered to `queue`.
    pub fn receive(&mut self, cycle: u64, frame: &[u8], queue: u32, meta: WriteBack, fx: &mut Effects) {
        let qi = queue as usize;
        let Some(q) = self.queues.get(qi).copied().filter(|q| q.settings.enable) else {
            fx.counts.push(Counter::RxDropDisabled);
            return;
        };
        if q.rx_head == q.rx_tail {
            fx.counts.push(Counter::RxDropNoBuffer);
            self.queues[qi].counters[1] += 1;
            return;
        }
        let s = q.settings;
        let (wb_at, addr, buf_len) = self.descriptor(cycle, s.rx_ring, s.rx_log2, q.rx_head);
        self.queues[qi].rx_head = q.rx_head.wrapping_add(1);
        let status = if !s.in_window(addr, buf_len as u64) {
            fx.counts.push(Counter::RxDropWindow);
            Status::Window
        } else if frame.len() > buf_len {
            fx.counts.push(Counter::RxDropTooLong);
            Status::TooLong
        } else {
            self.write(cycle, addr, frame);
            fx.counts.push(Counter::RxDelivered);
            Status::Ok
        };
        self.queues[qi].counters[if status == Status::Ok { 0 } else { 1 }] += 1;
        let wb = WriteBack { len: frame.len() as u16, queue: queue as u16, status: status as u8, ..meta };
        self.write(cycle, wb_at, &wb.encode().to_le_bytes());
        let done = self.queues[qi].rx_head;
        self.queues[qi].event.rx_done = done;
        self.completed(cycle, qi, fx);
    }

    pub fn rx_tail(&mut self, queue: usize, tail: u16) {
        if let Some(q) = self.queues.get_mut(queue) {
            q.rx_tail = tail;
        }
    }

    pub fn tx_tail(&mut self, queue: usize, tail: u16) {
        if let Some(q) = self.queues.get_mut(queue) {
            q.tx_tail = tail;
        }
    }

    /// Whether `queue` is enabled and has transmit descriptors posted.
    pub fn tx_pending(&self, queue: usize) -> bool {
        self.queues.get(queue).is_some_and(|q| q.settings.enable && q.tx_head != q.tx_tail)
    }

    /// Carries out `qi`'s next transmit descriptor at `cycle`; returns the
    /// frame if it may go on the wire.
    pub fn transmit_one(&mut self, cycle: u64, qi: usize, fx: &mut Effects) -> Option<Vec<u8>> {
        let q = self.queues[qi];
        let s = q.settings;
        let (wb_at, addr, len) = self.descriptor(cycle, s.tx_ring, s.tx_log2, q.tx_head);
        self.queues[qi].tx_head = q.tx_head.wrapping_add(1);
        let mut sent = None;
        let status = if len < self.min_frame || len > self.max_frame {
            fx.counts.push(Counter::TxDropBadLength);
            Status::BadLength
        } else if !s.in_window(addr, len as u64) {
            fx.counts.push(Counter::TxDropWindow);
            Status::Window
        } else {
            let frame = self.read(cycle, addr, len);
            if s.unrestricted || s.template.allows(&frame) {
                sent = Some(frame);
                Status::Ok
            } else {
                fx.counts.push(Counter::TxDropTemplate);
                Status::Template
            }
        };
        self.queues[qi].counters[if status == Status::Ok { 2 } else { 3 }] += 1;
        let wb = WriteBack { len: len as u16, queue: qi as u16, status: status as u8, ..Default::default() };
        self.write(cycle, wb_at, &wb.encode().to_le_bytes());
        self.queues[qi].event.tx_done = self.queues[qi].tx_head;
        self.completed(cycle, qi, fx);
        sent
    }

    fn completed(&mut self, cycle: u64, qi: usize, fx: &mut Effects) {
        let e = &mut self.queues[qi].event;
        if e.pending == 0 {
            e.first_tick = cycle / EVENT_TICK_CYCLES;
        }
        e.pending = e.pending.saturating_add(1);
        self.maybe_fire(cycle, qi, fx);
    }

    pub fn arm(&mut self, cycle: u64, queue: usize, fx: &mut Effects) {
        if let Some(q) = self.queues.get_mut(queue) {
            q.event.armed = true;
            self.maybe_fire(cycle, queue, fx);
        }
    }

    /// Fires the time-moderated events that became due by `cycle`.
    pub fn tick(&mut self, cycle: u64, fx: &mut Effects) {
        for qi in 0..QUEUE_COUNT {
            self.maybe_fire(cycle, qi, fx);
        }
    }

    fn maybe_fire(&mut self, cycle: u64, qi: usize, fx: &mut Effects) {
        let q = self.queues[qi];
        let (s, e) = (q.settings, q.event);
        let due = e.pending >= s.event_count.max(1)
            || (s.event_ticks != 0 && cycle / EVENT_TICK_CYCLES - e.first_tick >= s.event_ticks as u64);
        if s.event_addr == 0 || !e.armed || e.pending == 0 || !due {
            return;
        }
        let seq = e.seq.wrapping_add(1);
        let word = EventWord { rx_done: e.rx_done, tx_done: e.tx_done, queue: qi as u16, seq };
        self.write(cycle, s.event_addr, &word.encode().to_le_bytes());
        let e = &mut self.queues[qi].event;
        e.seq = seq;
        e.armed = false;
        e.pending = 0;
        fx.counts.push(Counter::EventsSent);
    }
}
