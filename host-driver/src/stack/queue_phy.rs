//! smoltcp's `phy::Device` over one queue pair, zero-copy both ways: a
//! received frame is handed to smoltcp in the buffer the NIC wrote it to,
//! and smoltcp builds a frame to send directly in the pool buffer that the
//! transmit descriptor then names.

use crate::queue::{Mempool, Packet, QueuePair};
use anyhow::Result;
use serde::Serialize;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use std::collections::VecDeque;
use std::rc::Rc;

pub const ETH_HEADER: usize = 14;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Frames taken from the receive ring at a time.
const RX_BURST: usize = 32;

/// What smoltcp sees of the queue's frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Whole Ethernet frames: smoltcp does ARP itself. For the kernel's
    /// queue, which is unrestricted and receives everything nobody claimed.
    Ethernet,
    /// IPv4 packets. The device adds the Ethernet header from the queue's
    /// own MAC and the next hop's, which the privileged side resolved, as
    /// Onload takes the kernel's ARP table: an application's queue receives
    /// only its filtered flows, so ARP never reaches it, and its template
    /// lets it send nothing but its own IP traffic.
    Ip { src_mac: [u8; 6], next_hop: [u8; 6] },
}

/// What the device did, as an application would watch it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PhyStats {
    pub rx_frames: u64,
    pub rx_bytes: u64,
    pub tx_frames: u64,
    pub tx_bytes: u64,
    /// Frames that reached an IP-framed queue without an IPv4 header (or
    /// shorter than one): dropped here, smoltcp never sees them.
    pub rx_not_ip: u64,
    /// Frames smoltcp built when the pool had no buffer left: dropped, and
    /// TCP resends them.
    pub tx_no_buffer: u64,
}

/// A look at each received frame (`QueuePhy::set_watch`).
type Watch = Box<dyn FnMut(&[u8])>;

pub struct QueuePhy {
    queue: QueuePair,
    framing: Framing,
    mtu: usize,
    rx: VecDeque<Packet>,
    tx: VecDeque<Packet>,
    stats: PhyStats,
    /// Sees every received frame before smoltcp does.
    watch: Option<Watch>,
    /// The first error from the queue (a register access that failed);
    /// smoltcp's token API has no way to return one, so the poll loop
    /// collects it with `take_fault`.
    fault: Option<anyhow::Error>,
}

impl QueuePhy {
    /// `mtu` is the IP MTU; frames are that plus the Ethernet header.
    pub fn new(queue: QueuePair, framing: Framing, mtu: usize) -> QueuePhy {
        QueuePhy { queue, framing, mtu, rx: VecDeque::new(), tx: VecDeque::new(), stats: PhyStats::default(), watch: None, fault: None }
    }

    pub fn queue(&self) -> &QueuePair {
        &self.queue
    }

    pub fn queue_mut(&mut self) -> &mut QueuePair {
        &mut self.queue
    }

    pub fn framing(&self) -> Framing {
        self.framing
    }

    pub fn set_next_hop(&mut self, mac: [u8; 6]) {
        if let Framing::Ip { next_hop, .. } = &mut self.framing {
            *next_hop = mac;
        }
    }

    /// Calls `f` with every frame received from now on, before smoltcp
    /// takes it: how the kernel path learns its neighbours and counts what
    /// nobody claimed.
    pub fn set_watch(&mut self, f: impl FnMut(&[u8]) + 'static) {
        self.watch = Some(Box::new(f));
    }

    pub fn stats(&self) -> PhyStats {
        self.stats
    }

    /// Posts what smoltcp built with one doorbell; what the ring has no room
    /// for waits for the next flush. Returns how many were posted.
    pub fn flush(&mut self) -> Result<usize> {
        if let Some(e) = self.fault.take() {
            return Err(e);
        }
        if self.tx.is_empty() {
            return Ok(0);
        }
        self.queue.tx_burst(&mut self.tx)
    }

    /// Frames built and not yet posted to the ring, plus those posted and
    /// not yet written back.
    pub fn tx_backlog(&mut self) -> usize {
        self.tx.len() + self.queue.tx_outstanding() as usize
    }

    pub fn take_fault(&mut self) -> Option<anyhow::Error> {
        self.fault.take()
    }

    /// Sends a frame smoltcp did not build (a test playing a misbehaving
    /// application): it goes through the same ring and the same checks.
    pub fn send_raw(&mut self, frame: &[u8]) -> Result<()> {
        let Some(mut p) = self.queue.alloc(frame.len()) else { anyhow::bail!("the queue's pool has no free buffer") };
        p.copy_from_slice(frame);
        self.tx.push_back(p);
        self.flush().map(|_| ())
    }

    fn refill_rx(&mut self) {
        if !self.rx.is_empty() || self.fault.is_some() {
            return;
        }
        match self.queue.rx_burst(RX_BURST) {
            Ok(burst) => self.rx.extend(burst),
            Err(e) => self.fault = Some(e),
        }
    }

    /// The next received frame smoltcp should see, and where its payload
    /// for smoltcp starts.
    fn next_rx(&mut self) -> Option<(Packet, usize)> {
        self.refill_rx();
        while let Some(p) = self.rx.pop_front() {
            self.stats.rx_frames += 1;
            self.stats.rx_bytes += p.len() as u64;
            if let Some(w) = self.watch.as_mut() {
                w(&p);
            }
            match self.framing {
                Framing::Ethernet => return Some((p, 0)),
                Framing::Ip { .. } => {
                    if p.len() >= ETH_HEADER + 20 && u16::from_be_bytes([p[12], p[13]]) == ETHERTYPE_IPV4 {
                        return Some((p, ETH_HEADER));
                    }
                    self.stats.rx_not_ip += 1;
                }
            }
        }
        None
    }

    /// Room for one more frame: a free buffer, and a backlog no longer than
    /// the ring, so smoltcp keeps the rest in its socket buffers.
    fn can_transmit(&mut self) -> bool {
        self.queue.pool().free_count() > 0 && self.tx.len() < self.queue.tx_ring_size() as usize
    }

    fn tx_token(&mut self) -> QueueTxToken<'_> {
        QueueTxToken { pool: Rc::clone(self.queue.pool()), framing: self.framing, out: &mut self.tx, stats: &mut self.stats }
    }
}

pub struct QueueRxToken {
    packet: Packet,
    offset: usize,
}

impl phy::RxToken for QueueRxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        // The packet goes back to the pool when this token is dropped, after
        // smoltcp has copied what it keeps into its socket buffers.
        f(&self.packet[self.offset..])
    }
}

pub struct QueueTxToken<'a> {
    pool: Rc<Mempool>,
    framing: Framing,
    out: &'a mut VecDeque<Packet>,
    stats: &'a mut PhyStats,
}

impl phy::TxToken for QueueTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let header = match self.framing {
            Framing::Ethernet => 0,
            Framing::Ip { .. } => ETH_HEADER,
        };
        let Some(mut p) = self.pool.alloc(header + len) else {
            // The pool was checked when the token was made, but a received
            // frame's reply can outrun it; smoltcp still needs a buffer.
            self.stats.tx_no_buffer += 1;
            return f(&mut vec![0; len]);
        };
        if let Framing::Ip { src_mac, next_hop } = self.framing {
            p[0..6].copy_from_slice(&next_hop);
            p[6..12].copy_from_slice(&src_mac);
            p[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        }
        let r = f(&mut p[header..]);
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += p.len() as u64;
        self.out.push_back(p);
        r
    }
}

impl phy::Device for QueuePhy {
    type RxToken<'a> = QueueRxToken;
    type TxToken<'a> = QueueTxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(QueueRxToken, QueueTxToken<'_>)> {
        let (packet, offset) = self.next_rx()?;
        Some((QueueRxToken { packet, offset }, self.tx_token()))
    }

    fn transmit(&mut self, _now: Instant) -> Option<QueueTxToken<'_>> {
        if !self.can_transmit() {
            return None;
        }
        Some(self.tx_token())
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        match self.framing {
            Framing::Ethernet => {
                caps.medium = Medium::Ethernet;
                caps.max_transmission_unit = self.mtu + ETH_HEADER;
            }
            Framing::Ip { .. } => {
                caps.medium = Medium::Ip;
                caps.max_transmission_unit = self.mtu;
            }
        }
        caps.max_burst_size = Some(RX_BURST);
        caps
    }
}
