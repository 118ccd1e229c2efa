//! What an application holds: one queue pair, reached through its own user
//! page and its own DMA memory and nothing else. Receive and transmit work
//! in bursts, in the style of ixy.rs and DPDK: no system call, one doorbell
//! write per burst.

use super::pool::{Mempool, Packet};
use super::ring::Ring;
use crate::device::{RegisterPage, Waiter};
use crate::dma::DmaBlock;
use anyhow::Result;
use arsenic_hdl::queue::{EventWord, Status};
use arsenic_hdl::regmap;
use serde::Serialize;
use std::collections::VecDeque;
use std::rc::Rc;

/// The queue's counters as its user page shows them (32-bit, wrapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounters {
    pub rx_delivered: u32,
    pub rx_dropped: u32,
    pub tx_sent: u32,
    pub tx_rejected: u32,
}

/// Descriptors the NIC finished with an error status, as the driver saw
/// their write-backs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RingErrors {
    pub rx_window: u64,
    pub rx_too_long: u64,
    pub tx_window: u64,
    pub tx_bad_length: u64,
    pub tx_template: u64,
    /// Write-backs with a status this driver does not know.
    pub unknown: u64,
}

pub struct QueuePair {
    queue: u32,
    page: Box<dyn RegisterPage>,
    waiter: Box<dyn Waiter>,
    /// Rings and the event word; the NIC writes them at any time.
    ctrl: Rc<DmaBlock>,
    event_offset: usize,
    pool: Rc<Mempool>,
    rx: Ring,
    tx: Ring,
    /// Buffer index posted in each receive slot.
    rx_posted: Vec<Option<u32>>,
    /// Packet posted in each transmit slot, until its write-back.
    tx_posted: Vec<Option<Packet>>,
    errors: RingErrors,
    last_event: u64,
}

impl QueuePair {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        queue: u32,
        page: Box<dyn RegisterPage>,
        waiter: Box<dyn Waiter>,
        ctrl: Rc<DmaBlock>,
        event_offset: usize,
        pool: Rc<Mempool>,
        rx: Ring,
        tx: Ring,
    ) -> Self {
        let rx_posted = vec![None; rx.size() as usize];
        let tx_posted = (0..tx.size()).map(|_| None).collect();
        Self { queue, page, waiter, ctrl, event_offset, pool, rx, tx, rx_posted, tx_posted, errors: RingErrors::default(), last_event: 0 }
    }

    /// Descriptors the transmit ring holds.
    pub fn tx_ring_size(&self) -> u16 {
        self.tx.size()
    }

    pub fn queue(&self) -> u32 {
        self.queue
    }

    pub fn pool(&self) -> &Rc<Mempool> {
        &self.pool
    }

    /// A buffer to build a frame in.
    pub fn alloc(&self, len: usize) -> Option<Packet> {
        self.pool.alloc(len)
    }

    /// Posts free buffers to the receive ring until it or the pool is full.
    pub fn refill(&mut self) -> Result<()> {
        let before = self.rx.tail;
        while self.rx.has_room() {
            let Some(index) = self.pool.take_raw() else { break };
            let len = self.pool.buf_bytes().min(u16::MAX as usize) as u16;
            let slot = self.rx.post(self.pool.bus(index), len);
            self.rx_posted[slot] = Some(index);
        }
        if self.rx.tail != before {
            self.page.write32(regmap::UQ_RX_TAIL, self.rx.tail as u32)?;
        }
        Ok(())
    }

    /// Up to `max` received frames, oldest first, then refills the ring.
    /// The packets own their buffers; dropping one gives it back.
    pub fn rx_burst(&mut self, max: usize) -> Result<Vec<Packet>> {
        let mut out = Vec::with_capacity(max.min(self.rx.size() as usize));
        while out.len() < max {
            let Some((slot, wb)) = self.rx.next_done() else { break };
            self.rx.retire();
            let Some(index) = self.rx_posted[slot].take() else { continue };
            match Status::from_code(wb.status) {
                Some(Status::Ok) => out.push(self.pool.reclaim(index, wb.len as usize, Some(wb))),
                other => {
                    match other {
                        Some(Status::Window) => self.errors.rx_window += 1,
                        Some(Status::TooLong) => self.errors.rx_too_long += 1,
                        _ => self.errors.unknown += 1,
                    }
                    self.pool.release(index);
                }
            }
        }
        self.refill()?;
        Ok(out)
    }

    /// Reaps finished transmit descriptors, returning their buffers.
    fn reap_tx(&mut self) {
        while let Some((slot, wb)) = self.tx.next_done() {
            self.tx.retire();
            drop(self.tx_posted[slot].take());
            match Status::from_code(wb.status) {
                Some(Status::Ok) => {}
                Some(Status::Window) => self.errors.tx_window += 1,
                Some(Status::BadLength) => self.errors.tx_bad_length += 1,
                Some(Status::Template) => self.errors.tx_template += 1,
                _ => self.errors.unknown += 1,
            }
        }
    }

    /// Posts as many of `packets` as the ring has room for, from the front,
    /// and rings the doorbell once; returns how many were taken.
    pub fn tx_burst(&mut self, packets: &mut VecDeque<Packet>) -> Result<usize> {
        self.reap_tx();
        let mut sent = 0;
        while self.tx.has_room() {
            let Some(p) = packets.pop_front() else { break };
            let len = p.len().min(u16::MAX as usize) as u16;
            let bus = p.bus();
            let slot = self.tx.post(bus, len);
            self.tx_posted[slot] = Some(p);
            sent += 1;
        }
        if sent > 0 {
            self.page.write32(regmap::UQ_TX_TAIL, self.tx.tail as u32)?;
        }
        Ok(sent)
    }

    /// Transmit descriptors posted and not yet written back.
    pub fn tx_outstanding(&mut self) -> u16 {
        self.reap_tx();
        self.tx.outstanding()
    }

    /// Whether a receive write-back is waiting to be taken.
    pub fn rx_ready(&self) -> bool {
        self.rx.next_done().is_some()
    }

    /// Arms the queue's event and lets the device run until it fires or
    /// `timeout_cycles` pass. Returns the event word, or None on timeout.
    pub fn wait(&mut self, timeout_cycles: u64) -> Result<Option<EventWord>> {
        self.page.write32(regmap::UQ_EVENT_ARM, 1)?;
        let start = self.waiter.now();
        loop {
            let word = self.ctrl.read_u64(self.event_offset);
            if word != self.last_event {
                self.last_event = word;
                return Ok(Some(EventWord::decode(word)));
            }
            let waited = self.waiter.now() - start;
            if waited >= timeout_cycles {
                return Ok(None);
            }
            self.waiter.advance((timeout_cycles - waited).min(64))?;
        }
    }

    /// Lets the device run (simulated time; real time on hardware).
    pub fn advance(&self, cycles: u64) -> Result<()> {
        self.waiter.advance(cycles)
    }

    pub fn counters(&self) -> Result<QueueCounters> {
        Ok(QueueCounters {
            rx_delivered: self.page.read32(regmap::UQ_RX_DELIVERED)?,
            rx_dropped: self.page.read32(regmap::UQ_RX_DROPPED)?,
            tx_sent: self.page.read32(regmap::UQ_TX_SENT)?,
            tx_rejected: self.page.read32(regmap::UQ_TX_REJECTED)?,
        })
    }

    pub fn errors(&self) -> RingErrors {
        self.errors
    }

    /// Raw access for tests that play a hostile application: writes any
    /// value to any offset of this queue's own user page.
    pub fn page(&self) -> &dyn RegisterPage {
        self.page.as_ref()
    }

    /// Raw access for hostile tests: the rings, as the application could
    /// scribble on them (they are in its memory).
    pub fn ring_memory(&self) -> (&DmaBlock, u64, u64) {
        (&self.ctrl, self.rx.bus(), self.tx.bus())
    }
}
