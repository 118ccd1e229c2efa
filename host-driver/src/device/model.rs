//! The `model` backend: a behavioural NIC in plain Rust. It answers the same
//! register map as the gateware and makes the same decision for every frame,
//! but has no clock of its own: it does its work at the instants things
//! happen, a received frame as it is sent in, a transmitted one when the
//! shaper's turn comes (`model_transmit`). It is the oracle the RTL is
//! compared against and the fast backend for driver tests.
//!
//! Model time (`Waiter::now`) moves when a frame is received (to the end
//! of the frame) and when the driver waits; transmission runs up to the
//! present whenever it moves and on every transmit doorbell, so with an
//! idle wire a doorbell's first frame starts at once and the rest follow
//! back to back, or as the shaper allows. `Wire::drain` and `settle` let
//! time pass until every posted frame is out.
//!
//! Where it deliberately differs: it never runs out of buffer (at line rate
//! in and out the RTL does not either; overflow needs a stalled transmitter,
//! which only the RTL models), its timestamps are the arrival times, and its
//! demultiplexer decides each frame at once, so it never reports `Overrun`.
//! Its descriptor engine (`model_engine`) works at once too: a transmit
//! turn's descriptor and frame are read, and its write-back written, at the
//! cycle the frame starts, where the RTL reads ahead with some latency; so
//! the RTL's frames start a pipeline's depth later, and its shaper charges
//! a turn's admission before the length is known and refunds it after,
//! where the model charges the wire bytes at once (the same balance as
//! soon as the refund lands). Looped-back frames go out as they arrive and
//! do not take turns with the queues' frames.

use super::model_engine::{Effects, QueueEngine};
use super::model_transmit::Transmitter;
use super::{check_page_offset, Demux, Device, Page, Received, RegisterPage, Waiter, Wire, WireFrame};
use crate::demux::decide::{self, DemuxRegisters, SlotTables};
use crate::dma::DmaBlock;
use anyhow::Result;
use arsenic_hdl::filter::{Key, Reason, Table, KEY_WORDS};
use arsenic_hdl::params::{QUEUE_BITS, QUEUE_COUNT};
use arsenic_hdl::queue::WriteBack;
use arsenic_hdl::regmap::{self, Counter};
use arsenic_testbench::host_memory::DmaAccess;
use arsenic_hdl::NicParams;
use arsenic_testbench::wire::wire_cycles;
use std::cell::RefCell;
use std::rc::Rc;

pub struct ModelDevice {
    nic: Rc<RefCell<ModelNic>>,
}

struct ModelNic {
    params: NicParams,
    scratch: u32,
    control: u32,
    counters: [u64; Counter::ALL.len()],
    high_latch: u32,
    wire_free_at: u64,
    transmitted: Vec<WireFrame>,
    demux: DemuxRegisters,
    /// The entry FILTER_KEY and FILTER_VALUE stage for the next FILTER_CMD.
    staged_key: Key,
    staged_value: u32,
    tables: SlotTables,
    received: Vec<Received>,
    engine: QueueEngine,
    /// Model time in core cycles: the receive wire's clock, or later if
    /// the driver waited.
    now: u64,
    tx: Transmitter,
    /// Wall-clock time spent serving transmit doorbells, so a benchmark
    /// can tell the model's share of a driver loop from the driver's.
    tx_doorbell_nanos: u64,
}

impl ModelDevice {
    pub fn new(params: NicParams) -> Self {
        Self {
            nic: Rc::new(RefCell::new(ModelNic {
                scratch: 0,
                control: 0,
                counters: [0; Counter::ALL.len()],
                high_latch: 0,
                wire_free_at: 0,
                transmitted: Vec::new(),
                demux: DemuxRegisters::default(),
                staged_key: Key::default(),
                staged_value: 0,
                tables: SlotTables::new(&params),
                received: Vec::new(),
                engine: QueueEngine::new(params.min_frame_bytes as usize, params.max_frame_bytes as usize),
                now: 0,
                tx: Transmitter::default(),
                tx_doorbell_nanos: 0,
                params,
            })),
        }
    }
}

impl Default for ModelDevice {
    fn default() -> Self {
        Self::new(NicParams::default())
    }
}

impl ModelNic {
    fn count(&mut self, c: Counter, n: u64) {
        self.counters[c as usize] += n;
    }

    fn apply(&mut self, fx: Effects) {
        for c in fx.counts {
            self.count(c, 1);
        }
    }

    /// Sends what the queues and the shaper allow up to the present.
    fn run_transmit(&mut self) {
        let mut fx = Effects::default();
        let mut sent = Vec::new();
        self.tx.run(self.now, &mut self.engine, &mut fx, &mut sent);
        self.apply(fx);
        for frame in sent {
            self.count(Counter::TxFrames, 1);
            self.count(Counter::TxBytes, frame.data.len() as u64);
            self.transmitted.push(frame);
        }
    }

    /// Lets time pass to cycle `t`: transmission runs up to it, then the
    /// time-moderated events that fell due fire.
    fn advance_to(&mut self, t: u64) {
        self.now = self.now.max(t);
        self.run_transmit();
        let mut fx = Effects::default();
        let now = self.now;
        self.engine.tick(now, &mut fx);
        self.apply(fx);
    }

    /// Lets time pass until every posted frame has left and the wire is
    /// free again, or `max_cycles` have passed; returns whether it got there.
    fn settle(&mut self, max_cycles: u64) -> bool {
        let deadline = self.now.saturating_add(max_cycles);
        while let Some(start) = self.tx.next_start(&self.engine) {
            if start > deadline {
                self.advance_to(deadline);
                return false;
            }
            self.advance_to(start);
        }
        if self.tx.free_at() > deadline {
            self.advance_to(deadline);
            return false;
        }
        self.advance_to(self.tx.free_at());
        true
    }

    fn user_read(&mut self, queue: usize, offset: u32) -> u32 {
        match offset {
            regmap::UQ_RX_DELIVERED..=regmap::UQ_TX_REJECTED => {
                self.engine.counter(queue, ((offset - regmap::UQ_RX_DELIVERED) / 4) as usize)
            }
            _ => 0,
        }
    }

    fn user_write(&mut self, queue: usize, offset: u32, value: u32) {
        let mut fx = Effects::default();
        match offset {
            regmap::UQ_RX_TAIL => self.engine.rx_tail(queue, value as u16),
            regmap::UQ_TX_TAIL => {
                let started = std::time::Instant::now();
                self.engine.tx_tail(queue, value as u16);
                self.run_transmit();
                self.tx_doorbell_nanos += started.elapsed().as_nanos() as u64;
            }
            regmap::UQ_EVENT_ARM => self.engine.arm(self.now, queue, &mut fx),
            _ => {}
        }
        self.apply(fx);
    }

    fn read(&mut self, addr: u32) -> u32 {
        let page = (addr / regmap::PAGE_BYTES) as usize;
        if (1..=QUEUE_COUNT).contains(&page) {
            return self.user_read(page - 1, addr % regmap::PAGE_BYTES);
        }
        if (regmap::QCFG..regmap::QCFG_CMD).contains(&addr) {
            return self.engine.staged(((addr - regmap::QCFG) / 4) as usize);
        }
        if (regmap::SHAPE..regmap::SHAPE_CMD).contains(&addr) {
            return self.tx.shaper.staged(((addr - regmap::SHAPE) / 4) as usize);
        }
        if addr < regmap::ID_END {
            return regmap::id_registers(&self.params)
                .iter()
                .find(|(offset, _)| *offset == addr)
                .map_or(0, |&(_, value)| value);
        }
        match addr {
            regmap::SCRATCH => self.scratch,
            regmap::CONTROL => self.control,
            regmap::DEFAULT_QUEUE => self.demux.default_queue,
            a if (regmap::RSS_KEY..regmap::RSS_KEY + 4 * regmap::RSS_KEY_WORDS).contains(&a) => {
                regmap::rss_key_words(&self.demux.rss_key)[((a - regmap::RSS_KEY) / 4) as usize]
            }
            _ => match Counter::ALL.iter().find(|c| addr & !4 == c.offset()) {
                Some(&c) if addr & 4 == 0 => {
                    let value = self.counters[c as usize];
                    self.high_latch = (value >> 32) as u32;
                    value as u32
                }
                Some(_) => self.high_latch,
                None => 0,
            },
        }
    }

    fn write(&mut self, addr: u32, value: u32) {
        let page = (addr / regmap::PAGE_BYTES) as usize;
        if (1..=QUEUE_COUNT).contains(&page) {
            return self.user_write(page - 1, addr % regmap::PAGE_BYTES, value);
        }
        match addr {
            a if (regmap::QCFG..regmap::QCFG_CMD).contains(&a) => {
                self.engine.stage(((a - regmap::QCFG) / 4) as usize, value)
            }
            regmap::QCFG_CMD => {
                let queue = (value & regmap::QCFG_CMD_QUEUE_MASK) as usize;
                if value & regmap::QCFG_CMD_COMMIT != 0 && queue < QUEUE_COUNT {
                    self.engine.commit(queue);
                }
            }
            a if (regmap::SHAPE..regmap::SHAPE_CMD).contains(&a) => {
                self.tx.shaper.stage(((a - regmap::SHAPE) / 4) as usize, value)
            }
            // Transmission has run up to the present, so the change applies
            // from this cycle on.
            regmap::SHAPE_CMD => self.tx.shaper.command(self.now, value),
            regmap::SCRATCH => self.scratch = value,
            regmap::CONTROL => self.control = value,
            regmap::DEFAULT_QUEUE => self.demux.default_queue = value & ((1 << QUEUE_BITS) - 1),
            a if (regmap::RSS_KEY..regmap::RSS_KEY + 4 * regmap::RSS_KEY_WORDS).contains(&a) => {
                let i = ((a - regmap::RSS_KEY) / 4) as usize;
                self.demux.rss_key[4 * i..4 * i + 4].copy_from_slice(&value.to_be_bytes());
            }
            a if (regmap::FILTER_KEY..regmap::FILTER_VALUE).contains(&a) => {
                let word = ((a - regmap::FILTER_KEY) / 4) as usize;
                // The hardware keeps KEY_BITS of the key; the top half of
                // the last word does not exist.
                let keep = if word == KEY_WORDS - 1 { 0xFFFF } else { u32::MAX };
                self.staged_key.0[word] = value & keep;
            }
            regmap::FILTER_VALUE => self.staged_value = value,
            regmap::FILTER_CMD if value & (regmap::FILTER_CMD_WRITE | regmap::FILTER_CMD_CLEAR) != 0 => {
                let table = if value & regmap::FILTER_CMD_WILDCARD != 0 { Table::Wildcard } else { Table::Exact };
                let entry = (value & regmap::FILTER_CMD_CLEAR == 0).then_some((self.staged_key, self.staged_value));
                self.tables.write(table, value & regmap::FILTER_CMD_SLOT_MASK, entry);
            }
            _ => {}
        }
    }

    fn receive(&mut self, frame: &[u8], fcs_error: bool) {
        let len = frame.len() as u64;
        self.count(Counter::RxFrames, 1);
        self.count(Counter::RxBytes, len);
        let at = self.wire_free_at.max(self.now);
        self.wire_free_at = at + wire_cycles(frame.len());
        // Transmission goes on while the frame arrives.
        self.now = self.wire_free_at;
        self.run_transmit();
        let decision = decide::decide(frame, fcs_error, &self.params, &self.tables, &self.demux);
        if let Some(c) = decide::counter(&decision) {
            self.count(c, 1);
        }
        self.received.push(Received { cycle: at, data: frame.to_vec(), decision });
        let verdict = if fcs_error {
            Some(Counter::RxDropMacError)
        } else if len < self.params.min_frame_bytes as u64 {
            Some(Counter::RxDropRunt)
        } else if len > self.params.max_frame_bytes as u64 {
            Some(Counter::RxDropGiant)
        } else {
            None
        };
        match verdict {
            Some(drop) => self.count(drop, 1),
            None if self.control & regmap::CONTROL_LOOPBACK == 0 => {
                let meta = WriteBack {
                    filter_id: decision.filter_id,
                    reason: decision.reason as u8,
                    kind: decision.kind.map_or(0, |k| k as u8),
                    ..Default::default()
                };
                debug_assert!(decision.reason != Reason::FrameError);
                let mut fx = Effects::default();
                self.engine.receive(self.now, frame, decision.queue, meta, &mut fx);
                self.apply(fx);
            }
            None => {
                self.count(Counter::TxFrames, 1);
                self.count(Counter::TxBytes, len);
                self.transmitted.push(WireFrame { cycle: at, data: frame.to_vec() });
            }
        }
    }
}

struct ModelPage {
    nic: Rc<RefCell<ModelNic>>,
    page: Page,
}

impl RegisterPage for ModelPage {
    fn read32(&self, offset: u32) -> Result<u32> {
        let addr = check_page_offset(self.page, offset)?;
        Ok(self.nic.borrow_mut().read(addr))
    }

    fn write32(&self, offset: u32, value: u32) -> Result<()> {
        let addr = check_page_offset(self.page, offset)?;
        self.nic.borrow_mut().write(addr, value);
        Ok(())
    }
}

impl ModelDevice {
    /// Wall-clock nanoseconds the model spent serving transmit doorbells
    /// (the frames a doorbell lets start at once).
    pub fn tx_doorbell_nanos(&self) -> u64 {
        self.nic.borrow().tx_doorbell_nanos
    }
}

impl super::DmaLog for ModelDevice {
    fn take_dma_log(&self) -> Vec<DmaAccess> {
        self.nic.borrow_mut().engine.take_log()
    }
}

impl Device for ModelDevice {
    fn backend(&self) -> &'static str {
        "model"
    }

    fn map_page(&self, page: Page) -> Result<Box<dyn RegisterPage>> {
        check_page_offset(page, 0)?;
        Ok(Box::new(ModelPage { nic: Rc::clone(&self.nic), page }))
    }

    fn dma_alloc(&self, len: usize) -> Result<DmaBlock> {
        let arena = self.nic.borrow().engine.memory.arena();
        let (bus, ptr) = arena.alloc(len);
        // SAFETY: the arena keeps the region allocated, unmoved and at
        // `bus` for as long as the Rc handed over as owner lives; only the
        // model engine (by bus address) and this block reach it.
        Ok(unsafe { DmaBlock::new(ptr, len, bus, arena) })
    }

    fn waiter(&self) -> Box<dyn Waiter> {
        Box::new(ModelWaiter { nic: Rc::clone(&self.nic) })
    }
}

struct ModelWaiter {
    nic: Rc<RefCell<ModelNic>>,
}

impl Waiter for ModelWaiter {
    fn now(&self) -> u64 {
        self.nic.borrow().now
    }

    fn advance(&self, cycles: u64) -> Result<()> {
        let mut nic = self.nic.borrow_mut();
        let t = nic.now.saturating_add(cycles);
        nic.advance_to(t);
        Ok(())
    }
}

/// How long `drain` lets transmission run: far beyond any ring's worth
/// of frames at the slowest rate a driver can set (4096 maximum frames at
/// 1 Mb/s take 50 s, 6.3e9 cycles), short of hiding a model that never
/// finishes.
const DRAIN_MAX_CYCLES: u64 = 1 << 40;

impl Wire for ModelDevice {
    fn send(&mut self, frame: &[u8], fcs_error: bool) {
        if !frame.is_empty() {
            self.nic.borrow_mut().receive(frame, fcs_error);
        }
    }

    fn drain_reporting(&mut self, _report: &mut dyn FnMut(u64)) -> Result<()> {
        // Every received frame was handled the moment it was sent; what is
        // left is transmission.
        if !self.nic.borrow_mut().settle(DRAIN_MAX_CYCLES) {
            anyhow::bail!("the model's transmit queues did not empty within {DRAIN_MAX_CYCLES} cycles");
        }
        Ok(())
    }

    fn settle(&mut self, max_cycles: u64) -> Result<bool> {
        Ok(self.nic.borrow_mut().settle(max_cycles))
    }

    fn take_transmitted(&mut self) -> Vec<WireFrame> {
        std::mem::take(&mut self.nic.borrow_mut().transmitted)
    }

    fn cycles(&self) -> u64 {
        self.nic.borrow().now
    }
}

impl Demux for ModelDevice {
    fn take_received(&mut self) -> Vec<Received> {
        std::mem::take(&mut self.nic.borrow_mut().received)
    }
}
