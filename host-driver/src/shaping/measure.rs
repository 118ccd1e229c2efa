//! Shaping measured on the wire: queues kept backlogged, as greedy
//! applications keep them, on any backend, and what each queue got. Every
//! function returns figures; the tests (`tests/common/shaping.rs`) hold
//! them to bounds and the benchmark reports them.

use super::{Rate, Shaping};
use crate::control::Nic;
use crate::device::{Device, Wire};
use crate::queue::{QueuePair, QueueSpec};
use crate::traffic::{udp4, Udp4};
use anyhow::Result;
use arsenic_hdl::queue::Template;
use arsenic_hdl::shaping::{rate_from_bps, wire_bytes, RATE_FRAC_BITS};
use std::collections::{BTreeMap, VecDeque};

/// 10 ms at 125 MHz.
pub const WINDOW_10MS: u64 = 1_250_000;
/// 1 ms at 125 MHz.
pub const WINDOW_1MS: u64 = 125_000;
/// A full 1514-byte Ethernet frame.
pub const BIG_FRAME: usize = 1514;
/// The bucket depth the conformance runs use.
pub const CONFORMANCE_BURST: u32 = 8192;

const TX_RING_LOG2: u8 = 5;
const APP_MAC: [u8; 6] = [0x02, 0, 0, 0, 0xA0, 0x01];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0xB0, 0x01];
const FIRST_PORT: u16 = 7000;

/// Queue q sends UDP from 10.0.0.2, port 7000 + q, and may send nothing else.
fn template(q: u32) -> Template {
    Template {
        src_mac: Some(APP_MAC),
        vlan: None,
        src_ip: Some([10, 0, 0, 2].into()),
        src_port: Some(FIRST_PORT + q as u16),
    }
}

fn frame(q: u32, len: usize, seq: u32) -> Vec<u8> {
    let a = Udp4 { src_mac: APP_MAC, dst_mac: PEER_MAC, src: [10, 0, 0, 2], dst: [10, 0, 0, 1], sport: FIRST_PORT + q as u16, dport: 5000 };
    udp4(&a, len, seq)
}

/// Transmit-only queues: a small receive ring, room for a full transmit
/// ring and the frames being built for it.
fn tx_spec(q: u32) -> QueueSpec {
    QueueSpec { rx_ring_log2: 3, tx_ring_log2: TX_RING_LOG2, buffers: 72, template: template(q), ..Default::default() }
}

/// A frame on the wire, attributed to the queue that sent it (u32::MAX
/// for a frame from no application port, which nothing counts).
#[derive(Clone, Copy, Debug)]
pub struct Sent {
    pub cycle: u64,
    pub queue: u32,
    pub wire_bytes: u32,
}

/// What a backlogged run put on the wire.
pub struct Run {
    pub nic: Nic,
    pub clock_hz: u32,
    /// The cycle the traffic started, and how long it ran.
    pub start: u64,
    pub cycles: u64,
    pub frames: Vec<Sent>,
}

impl Run {
    /// Wire bytes `queue` sent in each window of `window` cycles from the
    /// start. A frame's bytes cross the wire one per cycle from its first,
    /// so each window is credited the bytes that crossed in it, not whole
    /// frames.
    pub fn window_bytes(&self, queue: u32, window: u64) -> Vec<u64> {
        let windows = (self.cycles / window) as usize;
        let mut bins = vec![0u64; windows];
        for f in self.frames.iter().filter(|f| f.queue == queue) {
            let (mut at, end) = (f.cycle - self.start, f.cycle - self.start + f.wire_bytes as u64);
            while at < end {
                let w = at / window;
                let upto = ((w + 1) * window).min(end);
                if let Some(b) = bins.get_mut(w as usize) {
                    *b += upto - at;
                }
                at = upto;
            }
        }
        bins
    }

    /// Wire bytes `queue` sent after the first window: the first holds the
    /// start-up (empty buckets, rings filling), the rest the steady state.
    pub fn steady_bytes(&self, queue: u32, window: u64) -> u64 {
        self.window_bytes(queue, window).iter().skip(1).sum()
    }

    /// Cycles the steady state covers.
    pub fn steady_cycles(&self, window: u64) -> u64 {
        (self.cycles / window - 1) * window
    }

    /// `queue`'s steady-state rate in wire bits per second.
    pub fn steady_bps(&self, queue: u32, window: u64) -> f64 {
        self.steady_bytes(queue, window) as f64 * 8.0 * self.clock_hz as f64 / self.steady_cycles(window) as f64
    }

    /// How far `queue` went over a token bucket of `rate` units and
    /// `burst` bytes, in bytes, over its worst stretch between two frame
    /// starts (0 or less: never). `sent(i..=j) <= burst + rate * (start_j -
    /// start_i)`; the running minimum of `(bytes before i) - rate * start_i`
    /// gives the worst i for each j in one pass.
    pub fn burst_excess(&self, queue: u32, rate: u64, burst: u32) -> i64 {
        let rate = rate as i128;
        let mut sent_before = 0i128;
        let mut worst_base = i128::MAX;
        let mut worst = i128::MIN;
        for f in self.frames.iter().filter(|f| f.queue == queue) {
            let at = rate * f.cycle as i128;
            worst_base = worst_base.min((sent_before << RATE_FRAC_BITS) - at);
            sent_before += f.wire_bytes as i128;
            worst = worst.max((sent_before << RATE_FRAC_BITS) - at - worst_base - ((burst as i128) << RATE_FRAC_BITS));
        }
        (worst >> RATE_FRAC_BITS).max(i64::MIN as i128) as i64
    }
}

/// Creates `queues` with their shaping, lets them idle `idle` cycles (so
/// their buckets fill), keeps every transmit ring full of `frame_len`-byte
/// frames from UDP port 7000 + q for `cycles` cycles, and returns what
/// left on the wire in that time.
pub fn run_backlogged<D: Device + Wire>(
    dev: &mut D,
    queues: &[(u32, Shaping)],
    frame_len: usize,
    idle: u64,
    cycles: u64,
) -> Result<Run> {
    let mut nic = Nic::open(&*dev)?;
    let clock_hz = nic.info.clock_hz;
    let mut pairs: Vec<QueuePair> = vec![];
    for (q, s) in queues {
        pairs.push(nic.create_queue(&*dev, *q, &tx_spec(*q))?);
        nic.set_shaping(&*dev, *q, s)?;
    }
    dev.take_transmitted();
    let waiter = dev.waiter();
    waiter.advance(idle)?;
    let start = waiter.now();
    // Between refills a lone queue at line rate empties at most half its
    // ring, so no queue ever runs dry for want of frames.
    let step = (1u64 << (TX_RING_LOG2 - 1)) * wire_bytes(frame_len as u32) as u64;
    let mut seq = 0u32;
    while waiter.now() < start + cycles {
        for p in &mut pairs {
            let room = (1usize << TX_RING_LOG2) - p.tx_outstanding() as usize;
            let mut burst: VecDeque<_> = (0..room)
                .map_while(|_| {
                    seq += 1;
                    let f = frame(p.queue(), frame_len, seq);
                    let mut pkt = p.alloc(f.len())?;
                    pkt.copy_from_slice(&f);
                    Some(pkt)
                })
                .collect();
            p.tx_burst(&mut burst)?;
        }
        waiter.advance(step.min(start + cycles - waiter.now()))?;
    }
    let end = start + cycles;
    let frames = dev
        .take_transmitted()
        .into_iter()
        .filter(|f| (start..end).contains(&f.cycle) && f.data.len() >= 36)
        .map(|f| {
            let port = u16::from_be_bytes([f.data[34], f.data[35]]);
            let queue = port.checked_sub(FIRST_PORT).map_or(u32::MAX, u32::from);
            Sent { cycle: f.cycle, queue, wire_bytes: wire_bytes(f.data.len() as u32) }
        })
        .collect();
    Ok(Run { nic, clock_hz, start, cycles, frames })
}

/// A single queue held to a ceiling, measured.
pub struct Conformance {
    /// Wire bytes the ceiling allows a window.
    pub per_window: f64,
    /// Wire bytes each window after the first carried.
    pub windows: Vec<u64>,
    /// The steady-state mean against the ceiling, in percent.
    pub mean_error_pct: f64,
    /// Bytes the worst stretch went over the bucket (0 or less: never).
    pub burst_excess: i64,
}

/// One queue capped at `rate_bps` with a `CONFORMANCE_BURST` bucket, idle
/// until its bucket is full (so it starts with a burst), then backlogged
/// for `windows` windows of `window` cycles.
pub fn conformance<D: Device + Wire>(dev: &mut D, rate_bps: u64, frame_len: usize, windows: u64, window: u64) -> Result<Conformance> {
    const Q: u32 = 1;
    let clock_hz = Nic::open(&*dev)?.info.clock_hz;
    let rate = rate_from_bps(rate_bps, clock_hz);
    let fill = (((CONFORMANCE_BURST as u128) << RATE_FRAC_BITS) / rate as u128) as u64 + 1;
    let shaping = Shaping { ceiling: Some(Rate { bits_per_s: rate_bps, burst_bytes: CONFORMANCE_BURST }), ..Default::default() };
    let run = run_backlogged(dev, &[(Q, shaping)], frame_len, fill, windows * window)?;
    let per_window = (rate as u128 * window as u128) as f64 / (1u128 << RATE_FRAC_BITS) as f64;
    let bins: Vec<u64> = run.window_bytes(Q, window).into_iter().skip(1).collect();
    let mean = bins.iter().sum::<u64>() as f64 / bins.len().max(1) as f64;
    Ok(Conformance {
        per_window,
        mean_error_pct: (mean - per_window) / per_window * 100.0,
        burst_excess: run.burst_excess(Q, rate, CONFORMANCE_BURST),
        windows: bins,
    })
}

/// Queue 0 guaranteed 100 Mb/s without a ceiling, beside `greedy` unshaped
/// queues, all backlogged. Returns (queue 0's rate as a fraction of its
/// guarantee, the link's utilisation in wire bytes per cycle).
pub fn isolation<D: Device + Wire>(dev: &mut D, greedy: u32, frame_len: usize, windows: u64, window: u64) -> Result<(f64, f64)> {
    const GUARANTEE: u64 = 100_000_000;
    let a = Shaping { guarantee: Some(Rate { bits_per_s: GUARANTEE, burst_bytes: 16384 }), ..Default::default() };
    let mut queues = vec![(0, a)];
    queues.extend((1..=greedy).map(|q| (q, Shaping::default())));
    let run = run_backlogged(dev, &queues, frame_len, 0, windows * window)?;
    let all: u64 = (0..=greedy).map(|q| run.steady_bytes(q, window)).sum();
    Ok((run.steady_bps(0, window) / GUARANTEE as f64, all as f64 / run.steady_cycles(window) as f64))
}

/// Jain's fairness index: 1 when all are equal, 1/n when one has all.
pub fn jain(x: &[f64]) -> f64 {
    let sum: f64 = x.iter().sum();
    sum * sum / (x.len() as f64 * x.iter().map(|b| b * b).sum::<f64>()).max(f64::MIN_POSITIVE)
}

/// `queues` unshaped queues of equal weight, backlogged. Returns (Jain's
/// index of their wire bytes, link utilisation in wire bytes per cycle,
/// each queue's wire bytes).
pub fn fairness<D: Device + Wire>(dev: &mut D, queues: u32, frame_len: usize, windows: u64, window: u64) -> Result<(f64, f64, Vec<f64>)> {
    let list: Vec<(u32, Shaping)> = (0..queues).map(|q| (q, Shaping::default())).collect();
    let run = run_backlogged(dev, &list, frame_len, 0, windows * window)?;
    let bytes: Vec<f64> = (0..queues).map(|q| run.steady_bytes(q, window) as f64).collect();
    let utilisation = bytes.iter().sum::<f64>() / run.steady_cycles(window) as f64;
    Ok((jain(&bytes), utilisation, bytes))
}

/// Each of `queues`' share of the steady state's wire bytes.
pub fn shares(run: &Run, queues: &[u32], window: u64) -> BTreeMap<u32, f64> {
    let bytes: Vec<u64> = queues.iter().map(|&q| run.steady_bytes(q, window)).collect();
    let total = bytes.iter().sum::<u64>().max(1) as f64;
    queues.iter().zip(bytes).map(|(&q, b)| (q, b as f64 / total)).collect()
}

/// The mix the model and the gateware are compared on: two queues held to
/// their ceilings, one with a guarantee that also borrows, and two that
/// share what is left 1:2, every queue backlogged.
pub fn mixed_shaping() -> Vec<(u32, Shaping)> {
    let rate = |mbps: u64| Some(Rate { bits_per_s: mbps * 1_000_000, burst_bytes: 16384 });
    vec![
        (1, Shaping { ceiling: rate(50), ..Default::default() }),
        (2, Shaping { ceiling: rate(100), ..Default::default() }),
        (3, Shaping { guarantee: rate(150), ceiling: rate(400), weight: 1 }),
        (4, Shaping { weight: 1, ..Default::default() }),
        (5, Shaping { weight: 2, ..Default::default() }),
    ]
}

/// Each queue's steady-state wire bytes per millisecond in a backlogged
/// run of `mixed_shaping`.
pub fn mixed_rates<D: Device + Wire>(dev: &mut D, frame_len: usize, windows: u64, window: u64) -> Result<BTreeMap<u32, f64>> {
    let queues = mixed_shaping();
    let run = run_backlogged(dev, &queues, frame_len, 0, windows * window)?;
    let ms = run.steady_cycles(window) as f64 / (run.clock_hz as f64 / 1000.0);
    Ok(queues.iter().map(|(q, _)| (*q, run.steady_bytes(*q, window) as f64 / ms)).collect())
}
