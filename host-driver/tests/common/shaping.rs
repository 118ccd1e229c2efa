//! Transmit shaping scenarios run on every backend: queues kept backlogged
//! for a while, as a greedy application would, and the wire measured
//! against the shaping contract. Each returns the figures it measured and
//! asserts on them inside. Window lengths are parameters: the model runs
//! 10 ms windows cheaply, the Verilated gateware manages about a
//! millisecond of traffic per couple of seconds.

#![allow(dead_code)]

use super::queues::{app_template, from_app};
use arsenic::control::Nic;
use arsenic::device::{Device, Wire};
use arsenic::queue::{QueuePair, QueueSpec};
use arsenic::shaping::{Rate, Shaping};
use arsenic_hdl::shaping::{rate_from_bps, wire_bytes, MAX_BURST_BYTES, MIN_BURST_BYTES, RATE_FRAC_BITS};
use std::collections::{BTreeMap, VecDeque};

/// 10 ms at 125 MHz.
pub const WINDOW_10MS: u64 = 1_250_000;
/// 1 ms at 125 MHz.
pub const WINDOW_1MS: u64 = 125_000;
/// Longest frame the app template sends: a full 1514-byte Ethernet frame.
pub const BIG_FRAME: usize = 1514;

const TX_RING_LOG2: u8 = 5;

/// Transmit-only queues: a small receive ring, room for a full transmit
/// ring and the frames being built for it.
fn tx_spec(q: u32) -> QueueSpec {
    QueueSpec { rx_ring_log2: 3, tx_ring_log2: TX_RING_LOG2, buffers: 72, template: app_template(q), ..Default::default() }
}

/// A frame on the wire, attributed to the queue that sent it (u32::MAX
/// for a frame from no application port, which no scenario counts).
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
    /// Wire bytes `queue` sent in each of `windows` windows of `window`
    /// cycles from the start. A frame's bytes cross the wire one per cycle
    /// from its first, so each window is credited the bytes that crossed
    /// in it, not whole frames.
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
}

/// Creates `queues` with their shaping, lets them idle `idle` cycles (so
/// their buckets fill), keeps every transmit ring full of `frame_len`-byte
/// frames from UDP port 7000 + q for `cycles` cycles, and returns what
/// left on the wire in that time.
pub fn run_backlogged<D: Device + Wire>(dev: &mut D, queues: &[(u32, Shaping)], frame_len: usize, idle: u64, cycles: u64) -> Run {
    let mut nic = Nic::open(&*dev).unwrap();
    let clock_hz = nic.info.clock_hz;
    let mut pairs: Vec<QueuePair> = vec![];
    for (q, s) in queues {
        pairs.push(nic.create_queue(&*dev, *q, &tx_spec(*q)).unwrap());
        nic.set_shaping(&*dev, *q, s).unwrap();
    }
    dev.take_transmitted();
    let waiter = dev.waiter();
    waiter.advance(idle).unwrap();
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
                    let f = from_app(p.queue(), frame_len, seq);
                    let mut pkt = p.alloc(f.len())?;
                    pkt.copy_from_slice(&f);
                    Some(pkt)
                })
                .collect();
            p.tx_burst(&mut burst).unwrap();
        }
        waiter.advance(step.min(start + cycles - waiter.now())).unwrap();
    }
    let end = start + cycles;
    let frames = dev
        .take_transmitted()
        .into_iter()
        .filter(|f| (start..end).contains(&f.cycle) && f.data.len() >= 36)
        .map(|f| {
            let port = u16::from_be_bytes([f.data[34], f.data[35]]);
            let queue = port.checked_sub(7000).map_or(u32::MAX, u32::from);
            Sent { cycle: f.cycle, queue, wire_bytes: wire_bytes(f.data.len() as u32) }
        })
        .collect();
    Run { nic, clock_hz, start, cycles, frames }
}

fn ceiling(bits_per_s: u64, burst_bytes: u32) -> Shaping {
    Shaping { ceiling: Some(Rate { bits_per_s, burst_bytes }), ..Default::default() }
}

/// One queue capped at `rate_bps` with an 8 KiB burst, idle until its
/// bucket is full, then backlogged for `windows` windows of `window`
/// cycles, so it starts with a burst. After the first window the mean
/// rate is within 0.5% of the configured (quantised) rate and every window
/// within one frame of it; over any stretch between two frame starts the
/// queue sent no more than the burst plus the rate times the stretch.
/// Returns the mean's error in percent.
pub fn conformance<D: Device + Wire>(dev: &mut D, rate_bps: u64, frame_len: usize, windows: u64, window: u64) -> f64 {
    const Q: u32 = 1;
    const BURST: u32 = 8192;
    let clock_hz = Nic::open(&*dev).unwrap().info.clock_hz;
    let rate = rate_from_bps(rate_bps, clock_hz) as u128;
    let fill = (((BURST as u128) << RATE_FRAC_BITS) / rate) as u64 + 1;
    let run = run_backlogged(dev, &[(Q, ceiling(rate_bps, BURST))], frame_len, fill, windows * window);
    let frame = wire_bytes(frame_len as u32) as f64;
    let per_window = (rate * window as u128) as f64 / (1u128 << RATE_FRAC_BITS) as f64;
    let bins = run.window_bytes(Q, window);
    for (w, &b) in bins.iter().enumerate().skip(1) {
        assert!(
            (b as f64 - per_window).abs() <= frame,
            "{rate_bps} b/s: window {w} carried {b} wire bytes, {per_window:.0} expected within a frame"
        );
    }
    let mean = bins.iter().skip(1).sum::<u64>() as f64 / (bins.len() - 1) as f64;
    let error = (mean - per_window) / per_window * 100.0;
    assert!(error.abs() < 0.5, "{rate_bps} b/s: mean {mean:.1} bytes a window, {per_window:.1} expected ({error:.3}%)");
    // sent(i..=j) <= burst + rate * (start_j - start_i), in rate units:
    // the running minimum of (bytes before i) - rate * start_i gives the
    // worst i for each j in one pass.
    let mut sent_before = 0i128;
    let mut worst_base = i128::MAX;
    for f in run.frames.iter().filter(|f| f.queue == Q) {
        let at = rate as i128 * f.cycle as i128;
        worst_base = worst_base.min((sent_before << RATE_FRAC_BITS) - at);
        sent_before += f.wire_bytes as i128;
        let over = (sent_before << RATE_FRAC_BITS) - at - worst_base - ((BURST as i128) << RATE_FRAC_BITS);
        assert!(over <= 0, "{rate_bps} b/s: the frame at cycle {} ends a stretch {} bytes over the bucket", f.cycle, over >> RATE_FRAC_BITS);
    }
    error
}

/// Queue 0 guaranteed 100 Mb/s without a ceiling, beside `greedy` unshaped
/// queues, all backlogged with `frame_len` frames: queue 0 keeps at least
/// 99% of its guarantee. Returns its rate as a fraction of the guarantee.
pub fn isolation<D: Device + Wire>(dev: &mut D, greedy: u32, frame_len: usize, windows: u64, window: u64) -> f64 {
    const GUARANTEE: u64 = 100_000_000;
    // With fewer the fair share alone would exceed the guarantee and the
    // scenario could not tell a shaper from round robin.
    assert!(greedy >= 10, "isolation needs at least 10 greedy queues to mean anything, got {greedy}");
    let a = Shaping { guarantee: Some(Rate { bits_per_s: GUARANTEE, burst_bytes: 16384 }), ..Default::default() };
    let mut queues = vec![(0, a)];
    queues.extend((1..=greedy).map(|q| (q, Shaping::default())));
    let run = run_backlogged(dev, &queues, frame_len, 0, windows * window);
    let bps = run.steady_bytes(0, window) as f64 * 8.0 * run.clock_hz as f64 / run.steady_cycles(window) as f64;
    let fraction = bps / GUARANTEE as f64;
    assert!(fraction >= 0.99, "the guaranteed queue got {bps:.0} b/s beside {greedy} greedy ones");
    // The others share the rest, so the link stays full.
    let all: u64 = (0..=greedy).map(|q| run.steady_bytes(q, window)).sum();
    assert!(all as f64 >= 0.95 * run.steady_cycles(window) as f64, "the link idled: {all} wire bytes");
    fraction
}

/// Each queue's share of the steady state's wire bytes, by queue.
fn shares(run: &Run, queues: &[u32], window: u64) -> BTreeMap<u32, f64> {
    let bytes: Vec<u64> = queues.iter().map(|&q| run.steady_bytes(q, window)).collect();
    let total = bytes.iter().sum::<u64>().max(1) as f64;
    queues.iter().zip(bytes).map(|(&q, b)| (q, b as f64 / total)).collect()
}

/// `queues` unshaped queues of equal weight, backlogged: Jain's fairness
/// index of their wire bytes is at least 0.99 and the link stays busy.
/// Returns (Jain's index, link utilisation in wire bytes per cycle).
pub fn fairness<D: Device + Wire>(dev: &mut D, queues: u32, frame_len: usize, windows: u64, window: u64) -> (f64, f64) {
    let list: Vec<(u32, Shaping)> = (0..queues).map(|q| (q, Shaping::default())).collect();
    let run = run_backlogged(dev, &list, frame_len, 0, windows * window);
    let bytes: Vec<f64> = (0..queues).map(|q| run.steady_bytes(q, window) as f64).collect();
    let sum: f64 = bytes.iter().sum();
    let jain = sum * sum / (queues as f64 * bytes.iter().map(|b| b * b).sum::<f64>()).max(1.0);
    let utilisation = sum / run.steady_cycles(window) as f64;
    assert!(jain >= 0.99, "Jain's index {jain:.4} over {queues} queues: {bytes:?}");
    assert!(utilisation >= 0.95, "the link idled: {utilisation:.4} wire bytes a cycle");
    (jain, utilisation)
}

/// Unshaped backlogged queues with weights 1, 2 and 4 share the link
/// 1:2:4, each within 3% of its share. Returns the shares.
pub fn weighted<D: Device + Wire>(dev: &mut D, frame_len: usize, windows: u64, window: u64) -> Vec<f64> {
    let weights = [(1u32, 1u8), (2, 2), (3, 4)];
    let list: Vec<(u32, Shaping)> = weights.iter().map(|&(q, weight)| (q, Shaping { weight, ..Default::default() })).collect();
    let run = run_backlogged(dev, &list, frame_len, 0, windows * window);
    let got = shares(&run, &[1, 2, 3], window);
    let total_weight: u32 = weights.iter().map(|w| w.1 as u32).sum();
    for &(q, weight) in &weights {
        let want = weight as f64 / total_weight as f64;
        assert!((got[&q] / want - 1.0).abs() <= 0.03, "weight {weight}: share {:.4}, {want:.4} expected ({got:?})", got[&q]);
    }
    got.values().copied().collect()
}

/// Settings written are read back from the NIC, quantised, by this driver
/// and by another opened later; untouched queues read back unshaped.
pub fn settings_round_trip<D: Device>(dev: &D) {
    let mut nic = Nic::open(dev).unwrap();
    let clock = nic.info.clock_hz;
    let line = 8 * clock as u64;
    let cases = [
        (1, Shaping { guarantee: Some(Rate { bits_per_s: 1_000_000, burst_bytes: MIN_BURST_BYTES }), ceiling: None, weight: 1 }),
        (2, Shaping { guarantee: None, ceiling: Some(Rate { bits_per_s: line, burst_bytes: MAX_BURST_BYTES }), weight: 255 }),
        (
            63,
            Shaping {
                guarantee: Some(Rate { bits_per_s: 123_456_789, burst_bytes: 10_000 }),
                ceiling: Some(Rate { bits_per_s: 123_456_789, burst_bytes: 20_000 }),
                weight: 7,
            },
        ),
    ];
    for (q, s) in &cases {
        nic.set_shaping(dev, *q, s).unwrap();
    }
    let other = Nic::open(dev).unwrap();
    for (q, s) in &cases {
        let quantised = Shaping::from_settings(&s.to_settings(clock).unwrap(), clock);
        assert_eq!(nic.shaping(dev, *q).unwrap(), quantised, "queue {q}");
        assert_eq!(other.shaping(dev, *q).unwrap(), quantised, "queue {q} through another driver");
        for (mine, want) in [(quantised.guarantee, s.guarantee), (quantised.ceiling, s.ceiling)] {
            if let (Some(m), Some(w)) = (mine, want) {
                // One rate unit is about 60 b/s.
                assert!(m.bits_per_s.abs_diff(w.bits_per_s) <= 60, "queue {q}: {} read back as {}", w.bits_per_s, m.bits_per_s);
            }
        }
    }
    assert_eq!(nic.shaping(dev, 5).unwrap(), Shaping::default());
    nic.set_shaping(dev, 2, &Shaping::default()).unwrap();
    assert_eq!(nic.shaping(dev, 2).unwrap(), Shaping::default(), "shaping is undone by writing the default");
}

/// Every bad setting is refused with a message naming the problem, and
/// leaves the queue's shaping as it was.
pub fn invalid_settings_are_refused<D: Device>(dev: &D) {
    let mut nic = Nic::open(dev).unwrap();
    let queues = nic.info.queues;
    let line = 8 * nic.info.clock_hz as u64;
    let rate = |bits_per_s: u64| Some(Rate { bits_per_s, burst_bytes: 8192 });
    let kept = Shaping { guarantee: rate(500_000_000), ceiling: None, weight: 2 };
    nic.set_shaping(dev, 1, &kept).unwrap();
    let bad: [(u32, Shaping, &str); 8] = [
        (2, Shaping { ceiling: rate(999_999), ..Default::default() }, "ceiling rate must be 1000000..="),
        (2, Shaping { guarantee: rate(line + 1), ..Default::default() }, "guaranteed rate must be"),
        (2, Shaping { ceiling: Some(Rate { bits_per_s: 5_000_000, burst_bytes: MIN_BURST_BYTES - 1 }), ..Default::default() }, "burst must be"),
        (2, Shaping { guarantee: Some(Rate { bits_per_s: 5_000_000, burst_bytes: MAX_BURST_BYTES + 1 }), ..Default::default() }, "burst must be"),
        (2, Shaping { weight: 0, ..Default::default() }, "weight must be 1..=255"),
        (2, Shaping { guarantee: rate(50_000_000), ceiling: rate(40_000_000), weight: 1 }, "ceiling (40000000 b/s) is below the guarantee"),
        (2, Shaping { guarantee: rate(600_000_000), ..Default::default() }, "over line rate"),
        (queues, Shaping::default(), "does not exist"),
    ];
    for (q, s, want) in &bad {
        let err = nic.set_shaping(dev, *q, s).unwrap_err().to_string();
        assert!(err.contains(want), "{s:?} on queue {q}: {err:?} lacks {want:?}");
    }
    assert!(nic.shaping(dev, queues).unwrap_err().to_string().contains("does not exist"));
    assert_eq!(nic.shaping(dev, 2).unwrap(), Shaping::default(), "a refused setting changed the queue");
    assert_eq!(nic.shaping(dev, 1).unwrap(), kept);
    // A queue's own guarantee is replaced, not added to the sum.
    // 750 and 250 Mb/s are exact in rate units: together exactly line rate.
    let more = Shaping { guarantee: rate(750_000_000), ..kept };
    nic.set_shaping(dev, 1, &more).unwrap();
    nic.set_shaping(dev, 2, &Shaping { guarantee: rate(250_000_000), ..Default::default() }).unwrap();
    assert_eq!(nic.shaping(dev, 1).unwrap(), more);
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
pub fn mixed_rates<D: Device + Wire>(dev: &mut D, frame_len: usize, windows: u64, window: u64) -> BTreeMap<u32, f64> {
    let queues = mixed_shaping();
    let run = run_backlogged(dev, &queues, frame_len, 0, windows * window);
    let ms = run.steady_cycles(window) as f64 / (run.clock_hz as f64 / 1000.0);
    queues.iter().map(|(q, _)| (*q, run.steady_bytes(*q, window) as f64 / ms)).collect()
}
