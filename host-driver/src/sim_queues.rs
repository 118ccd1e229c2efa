//! The queues of the `arsenic sim` job: one queue pair for the default
//! queue and for every queue a filter can steer to or a `--txq` capture
//! transmits from, driven by the same driver code an application uses.
//! Traffic is played in chunks no larger than a receive ring, and every
//! queue is reaped and refilled between chunks, so the run measures the
//! NIC rather than an application that stops reading.

use crate::control::Nic;
use crate::device::Device;
use crate::queue::{QueuePair, QueueSpec, RingErrors};
use anyhow::{Context, Result};
use arsenic_hdl::queue::WriteBack;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Frames the wire carries between two reaps: half a receive ring, so a
/// chunk steered entirely to one queue still finds buffers posted.
pub const CHUNK_FRAMES: usize = 256;

/// Every queue's spec in the sim job: 512 descriptors each way, a pool of
/// 1024 buffers of 2 KiB (a maximum frame fits), no template.
fn spec(unrestricted: bool) -> QueueSpec {
    QueueSpec { rx_ring_log2: 9, tx_ring_log2: 9, buffers: 1024, buffer_bytes: 2048, unrestricted, ..Default::default() }
}

/// What a reflector sends back for a received frame: the same bytes with
/// the Ethernet source and destination swapped.
pub fn echo_of(frame: &[u8]) -> Vec<u8> {
    let mut out = frame.to_vec();
    if out.len() >= 12 {
        let (dst, src) = out.split_at_mut(6);
        dst.swap_with_slice(&mut src[..6]);
    }
    out
}

/// A frame as the driver received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub data: Vec<u8>,
    pub meta: WriteBack,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueReport {
    /// Frames the driver took from the receive ring.
    pub received: u64,
    /// Frames the driver posted for transmission.
    pub posted: u64,
    /// The queue's user-page counters at the end of the run.
    pub rx_delivered: u32,
    pub rx_dropped: u32,
    pub tx_sent: u32,
    pub tx_rejected: u32,
    /// Descriptors finished with an error, as their write-backs said.
    pub errors: RingErrors,
}

pub struct SimQueues {
    pairs: BTreeMap<u32, QueuePair>,
    /// Application queues send back what they receive (`--echo`).
    echo: bool,
    default_queue: u32,
    to_send: BTreeMap<u32, VecDeque<Vec<u8>>>,
    posted: BTreeMap<u32, u64>,
    /// Which queue posted each frame still unmatched on the wire, oldest
    /// first per content, so sent frames can be told apart by queue.
    posted_frames: HashMap<Vec<u8>, VecDeque<u32>>,
    pub delivered: BTreeMap<u32, Vec<Delivered>>,
}

impl SimQueues {
    /// Creates the queues: `default_queue` (the kernel's, unrestricted),
    /// every queue in `rx`, and every queue with frames to send.
    pub fn create(
        nic: &mut Nic,
        dev: &dyn Device,
        default_queue: u32,
        rx: &BTreeSet<u32>,
        txq: &[(u32, Vec<Vec<u8>>)],
        echo: bool,
    ) -> Result<Self> {
        let mut wanted: BTreeSet<u32> = rx.clone();
        wanted.insert(default_queue);
        wanted.extend(txq.iter().map(|(q, _)| *q));
        let mut pairs = BTreeMap::new();
        for q in wanted {
            let pair = nic
                .create_queue(dev, q, &spec(q == default_queue))
                .with_context(|| format!("creating queue {q}"))?;
            pairs.insert(q, pair);
        }
        let mut to_send: BTreeMap<u32, VecDeque<Vec<u8>>> = BTreeMap::new();
        for (q, frames) in txq {
            to_send.entry(*q).or_default().extend(frames.iter().cloned());
        }
        Ok(Self { pairs, echo, default_queue, to_send, posted: BTreeMap::new(), posted_frames: HashMap::new(), delivered: BTreeMap::new() })
    }

    pub fn queues(&self) -> impl Iterator<Item = u32> + '_ {
        self.pairs.keys().copied()
    }

    /// Frames still waiting to be posted for transmission.
    pub fn tx_waiting(&self) -> usize {
        self.to_send.values().map(|v| v.len()).sum()
    }

    /// Posts up to `CHUNK_FRAMES` waiting frames of each transmitting
    /// queue, as far as its ring and pool allow.
    pub fn post_tx(&mut self) -> Result<()> {
        for (q, frames) in &mut self.to_send {
            let pair = self.pairs.get_mut(q).expect("a queue was created for every --txq");
            let mut burst = VecDeque::new();
            while burst.len() < CHUNK_FRAMES {
                let Some(frame) = frames.front() else { break };
                // Longer than a buffer: post what fits; the NIC judges the length.
                let Some(mut p) = pair.alloc(frame.len().min(pair.pool().buf_bytes())) else { break };
                let n = p.len();
                p.copy_from_slice(&frame[..n]);
                burst.push_back(p);
                frames.pop_front();
            }
            let contents: Vec<Vec<u8>> = burst.iter().map(|p| p.to_vec()).collect();
            let taken = pair.tx_burst(&mut burst)?;
            for c in contents.into_iter().take(taken) {
                self.posted_frames.entry(c).or_default().push_back(*q);
            }
            // What the ring had no room for goes back to the front, in order.
            for p in burst.into_iter().rev() {
                frames.push_front(p.to_vec());
            }
            *self.posted.entry(*q).or_default() += taken as u64;
        }
        Ok(())
    }

    /// The queue that sent each of `frames` (None: not a queue's, e.g.
    /// looped back), matching content against what each queue posted.
    pub fn attribute(&mut self, frames: &[Vec<u8>]) -> Vec<Option<u32>> {
        frames
            .iter()
            .map(|f| {
                let owners = self.posted_frames.get_mut(f)?;
                let q = owners.pop_front();
                if owners.is_empty() {
                    self.posted_frames.remove(f);
                }
                q
            })
            .collect()
    }

    /// Takes every received frame off every queue and refills the rings;
    /// reaps finished transmissions.
    pub fn reap(&mut self) -> Result<()> {
        for (q, pair) in &mut self.pairs {
            loop {
                let burst = pair.rx_burst(64)?;
                if burst.is_empty() {
                    break;
                }
                let out = self.delivered.entry(*q).or_default();
                out.extend(burst.iter().map(|p| Delivered { data: p.to_vec(), meta: *p.meta().expect("received") }));
                if self.echo && *q != self.default_queue {
                    self.to_send.entry(*q).or_default().extend(burst.iter().map(|p| echo_of(p)));
                }
            }
            pair.tx_outstanding();
        }
        Ok(())
    }

    /// Transmit descriptors posted and not yet finished, over all queues.
    pub fn tx_outstanding(&mut self) -> u64 {
        self.pairs.values_mut().map(|p| p.tx_outstanding() as u64).sum()
    }

    pub fn report(&self) -> Result<BTreeMap<u32, QueueReport>> {
        let mut out = BTreeMap::new();
        for (q, pair) in &self.pairs {
            let c = pair.counters()?;
            out.insert(
                *q,
                QueueReport {
                    received: self.delivered.get(q).map_or(0, |d| d.len() as u64),
                    posted: self.posted.get(q).copied().unwrap_or(0),
                    rx_delivered: c.rx_delivered,
                    rx_dropped: c.rx_dropped,
                    tx_sent: c.tx_sent,
                    tx_rejected: c.tx_rejected,
                    errors: pair.errors(),
                },
            );
        }
        Ok(out)
    }
}
