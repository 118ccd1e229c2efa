//! Queue pairs: what the privileged side creates (`QueueSpec`,
//! `Nic::create_queue`) and what an application then holds (`QueuePair`),
//! with its rings (`ring`) and buffers (`pool`).
//!
//! Memory layout of a queue: one DMA block holds its receive ring, its
//! transmit ring and its event word; another holds its buffers, and that
//! block is exactly the queue's DMA window, so every buffer the NIC will
//! move data to or from for this queue must lie in it.

pub mod pair;
pub mod pool;
pub mod ring;

pub use pair::{QueueCounters, QueuePair, RingErrors};
pub use pool::{Mempool, Packet};

use crate::control::Nic;
use crate::device::{Device, Page};
use anyhow::{bail, Context, Result};
use arsenic_hdl::queue::{QueueSettings, Template, DESC_BYTES, RING_LOG2_MAX, RING_LOG2_MIN};
use arsenic_hdl::regmap;
use std::rc::Rc;

/// What a queue is created with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSpec {
    pub rx_ring_log2: u8,
    pub tx_ring_log2: u8,
    /// Buffers in the queue's pool, shared by receive and transmit.
    pub buffers: u32,
    pub buffer_bytes: u32,
    /// Headers the queue may transmit with.
    pub template: Template,
    /// No window or template checks: only for the kernel's own queue.
    pub unrestricted: bool,
    /// Event moderation: fire after this many finished descriptors...
    pub event_count: u8,
    /// ...or this many ticks (`queue::EVENT_TICK_CYCLES`) after the first.
    pub event_ticks: u16,
}

impl Default for QueueSpec {
    fn default() -> Self {
        Self {
            rx_ring_log2: 9,
            tx_ring_log2: 9,
            buffers: 2048,
            buffer_bytes: 2048,
            template: Template::default(),
            unrestricted: false,
            event_count: 32,
            event_ticks: 20,
        }
    }
}

impl QueueSpec {
    /// Checks the sizes. A buffer shorter than the longest frame is
    /// allowed: a longer frame is then dropped and reported `TooLong`.
    pub fn validate(&self) -> Result<()> {
        for (name, log2) in [("rx_ring_log2", self.rx_ring_log2), ("tx_ring_log2", self.tx_ring_log2)] {
            if !(RING_LOG2_MIN..=RING_LOG2_MAX).contains(&(log2 as u32)) {
                bail!("{name} must be {RING_LOG2_MIN}..={RING_LOG2_MAX} (8 to 4096 descriptors), got {log2}");
            }
        }
        if self.buffers == 0 || self.buffers > 1 << 20 {
            bail!("buffers must be 1..={}, got {}", 1 << 20, self.buffers);
        }
        if self.buffer_bytes < 64 || self.buffer_bytes > u16::MAX as u32 || !self.buffer_bytes.is_multiple_of(64) {
            bail!("buffer_bytes must be a multiple of 64 in 64..=65472, got {}", self.buffer_bytes);
        }
        Ok(())
    }
}

/// Cycles a queue commit may take: every engine finishes the descriptor it
/// is on, at most a maximum frame at one byte a cycle, several times over.
const COMMIT_BUDGET_CYCLES: u64 = 100_000;

impl QueueSpec {
    fn ring_bytes(&self) -> (usize, usize) {
        ((DESC_BYTES as usize) << self.rx_ring_log2, (DESC_BYTES as usize) << self.tx_ring_log2)
    }

    /// Bytes of the block holding the receive ring, the transmit ring and
    /// the event word, in that order.
    pub fn ctrl_bytes(&self) -> usize {
        let (rx, tx) = self.ring_bytes();
        rx + tx + 8
    }
}

/// A queue's memory: the rings and event word in one block, the buffers
/// (exactly the queue's DMA window) in another. The privileged side plans
/// it and commits the settings; whoever holds it attaches a `QueuePair`.
pub struct QueueMemory {
    pub ctrl: Rc<crate::dma::DmaBlock>,
    pub pool: Rc<Mempool>,
}

impl QueueMemory {
    pub fn new(spec: &QueueSpec, ctrl: crate::dma::DmaBlock, pool: crate::dma::DmaBlock) -> QueueMemory {
        QueueMemory { ctrl: Rc::new(ctrl), pool: Mempool::new(pool, spec.buffer_bytes as usize, spec.buffers) }
    }

    /// What the NIC is told about this memory.
    pub fn settings(&self, spec: &QueueSpec) -> QueueSettings {
        let (rx_bytes, tx_bytes) = spec.ring_bytes();
        let (window_base, window_limit) = self.pool.window();
        QueueSettings {
            enable: true,
            unrestricted: spec.unrestricted,
            rx_ring: self.ctrl.bus(0),
            rx_log2: spec.rx_ring_log2,
            tx_ring: self.ctrl.bus(rx_bytes),
            tx_log2: spec.tx_ring_log2,
            window_base,
            window_limit,
            event_addr: self.ctrl.bus(rx_bytes + tx_bytes),
            event_count: spec.event_count,
            event_ticks: spec.event_ticks,
            template: spec.template,
        }
    }
}

impl QueuePair {
    /// The application's side of a committed queue: its rings over
    /// `memory`, its user page, and its receive buffers posted.
    pub fn attach(
        queue: u32,
        spec: &QueueSpec,
        page: Box<dyn crate::device::RegisterPage>,
        waiter: Box<dyn crate::device::Waiter>,
        memory: QueueMemory,
    ) -> Result<QueuePair> {
        let (rx_bytes, tx_bytes) = spec.ring_bytes();
        if memory.ctrl.len() < spec.ctrl_bytes() || memory.pool.capacity() != spec.buffers {
            bail!("the queue's memory does not match its spec");
        }
        let rx = ring::Ring::new(Rc::clone(&memory.ctrl), 0, spec.rx_ring_log2);
        let tx = ring::Ring::new(Rc::clone(&memory.ctrl), rx_bytes, spec.tx_ring_log2);
        let mut pair = QueuePair::new(queue, page, waiter, memory.ctrl, rx_bytes + tx_bytes, memory.pool, rx, tx);
        pair.refill()?;
        Ok(pair)
    }
}

impl Nic {
    /// Creates queue `queue`: allocates its rings, event word and buffers,
    /// commits its settings, maps its user page and posts its receive
    /// buffers. The queue must not exist yet (destroy it first).
    pub fn create_queue(&mut self, device: &dyn Device, queue: u32, spec: &QueueSpec) -> Result<QueuePair> {
        self.check_new_queue(queue, spec)?;
        let ctrl = device.dma_alloc(spec.ctrl_bytes()).context("allocating the rings")?;
        let pool_mem = device
            .dma_alloc(spec.buffers as usize * spec.buffer_bytes as usize)
            .context("allocating the buffer pool")?;
        let memory = QueueMemory::new(spec, ctrl, pool_mem);
        self.commit_queue(queue, &memory.settings(spec))?;
        let page = device.map_page(Page::Queue(queue))?;
        QueuePair::attach(queue, spec, page, device.waiter(), memory)
    }

    /// Refuses a queue number the device lacks, a bad spec, and a queue
    /// that exists.
    pub fn check_new_queue(&self, queue: u32, spec: &QueueSpec) -> Result<()> {
        if queue >= self.info.queues {
            bail!("queue {queue} does not exist: the device has queues 0..={}", self.info.queues - 1);
        }
        spec.validate()?;
        if self.queue_live(queue) {
            bail!("queue {queue} already exists; destroy it first");
        }
        Ok(())
    }

    /// Disables the queue. The NIC finishes what it had started and then
    /// touches none of the queue's memory again.
    pub fn destroy_queue(&mut self, pair: QueuePair) -> Result<()> {
        self.commit_queue(pair.queue(), &QueueSettings::default())?;
        drop(pair);
        Ok(())
    }

    /// Stages and commits `settings` for `queue`, waiting for every engine
    /// to have taken the previous commit.
    pub fn commit_queue(&mut self, queue: u32, settings: &QueueSettings) -> Result<()> {
        self.wait_commit_idle()?;
        for (i, w) in settings.words().iter().enumerate() {
            self.control().write32(regmap::QCFG + 4 * i as u32, *w)?;
        }
        self.control().command(regmap::QCFG_CMD, regmap::QCFG_CMD_COMMIT | queue)?;
        self.wait_commit_idle()?;
        self.set_queue_live(queue, settings.enable);
        Ok(())
    }

    fn wait_commit_idle(&self) -> Result<()> {
        let start = self.waiter().now();
        loop {
            if self.control().read32(regmap::QCFG_STATUS)? & regmap::QCFG_STATUS_BUSY == 0 {
                return Ok(());
            }
            if self.waiter().now() - start > COMMIT_BUDGET_CYCLES {
                bail!("the NIC did not take a queue configuration within {COMMIT_BUDGET_CYCLES} cycles");
            }
            self.waiter().advance(16)?;
        }
    }
}
