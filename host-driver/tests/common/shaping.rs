//! Transmit shaping scenarios run on every backend: queues kept backlogged
//! for a while, as a greedy application would, and the wire measured
//! (`arsenic::shaping::measure`) against the bounds. Window lengths
//! are parameters: the model runs 10 ms windows cheaply, the Verilated
//! gateware manages about a millisecond of traffic per couple of seconds.

#![allow(dead_code)]

use arsenic::control::Nic;
use arsenic::device::{Device, Wire};
use arsenic::shaping::measure::{self, run_backlogged, shares, CONFORMANCE_BURST};
use arsenic::shaping::{Rate, Shaping};
use arsenic_hdl::shaping::{wire_bytes, MAX_BURST_BYTES, MIN_BURST_BYTES};


/// One queue capped at `rate_bps`, starting with a full bucket: after the
/// first window the mean rate is within 0.5% of the configured (quantised)
/// rate and every window within one frame of it; over any stretch between
/// two frame starts the queue sent no more than the burst plus the rate
/// times the stretch. Returns the mean's error in percent.
pub fn conformance<D: Device + Wire>(dev: &mut D, rate_bps: u64, frame_len: usize, windows: u64, window: u64) -> f64 {
    let c = measure::conformance(dev, rate_bps, frame_len, windows, window).unwrap();
    let frame = wire_bytes(frame_len as u32) as f64;
    for (w, &b) in c.windows.iter().enumerate() {
        assert!(
            (b as f64 - c.per_window).abs() <= frame,
            "{rate_bps} b/s: window {} carried {b} wire bytes, {:.0} expected within a frame",
            w + 1,
            c.per_window
        );
    }
    assert!(c.mean_error_pct.abs() < 0.5, "{rate_bps} b/s: mean off by {:.3}%", c.mean_error_pct);
    assert!(
        c.burst_excess <= 0,
        "{rate_bps} b/s: a stretch went {} bytes over the {CONFORMANCE_BURST}-byte bucket",
        c.burst_excess
    );
    c.mean_error_pct
}

/// Queue 0 guaranteed 100 Mb/s beside `greedy` unshaped queues keeps at
/// least 99% of it, and the others fill the link. Returns the fraction.
pub fn isolation<D: Device + Wire>(dev: &mut D, greedy: u32, frame_len: usize, windows: u64, window: u64) -> f64 {
    // With fewer the fair share alone would exceed the guarantee and the
    // scenario could not tell a shaper from round robin.
    assert!(greedy >= 10, "isolation needs at least 10 greedy queues to mean anything, got {greedy}");
    let (fraction, utilisation) = measure::isolation(dev, greedy, frame_len, windows, window).unwrap();
    assert!(fraction >= 0.99, "the guaranteed queue got {:.2}% of 100 Mb/s beside {greedy} greedy ones", fraction * 100.0);
    assert!(utilisation >= 0.95, "the link idled: {utilisation:.4} wire bytes a cycle");
    fraction
}

/// Equal-weight unshaped backlogged queues: Jain's index at least 0.99 and
/// the link busy. Returns (Jain's index, utilisation).
pub fn fairness<D: Device + Wire>(dev: &mut D, queues: u32, frame_len: usize, windows: u64, window: u64) -> (f64, f64) {
    let (jain, utilisation, bytes) = measure::fairness(dev, queues, frame_len, windows, window).unwrap();
    assert!(jain >= 0.99, "Jain's index {jain:.4} over {queues} queues: {bytes:?}");
    assert!(utilisation >= 0.95, "the link idled: {utilisation:.4} wire bytes a cycle");
    (jain, utilisation)
}

/// Unshaped backlogged queues with weights 1, 2 and 4 share the link
/// 1:2:4, each within 3% of its share. Returns the shares.
pub fn weighted<D: Device + Wire>(dev: &mut D, frame_len: usize, windows: u64, window: u64) -> Vec<f64> {
    let weights = [(1u32, 1u8), (2, 2), (3, 4)];
    let list: Vec<(u32, Shaping)> = weights.iter().map(|&(q, weight)| (q, Shaping { weight, ..Default::default() })).collect();
    let run = run_backlogged(dev, &list, frame_len, 0, windows * window).unwrap();
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

