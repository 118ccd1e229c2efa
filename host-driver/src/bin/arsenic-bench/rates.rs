//! Figures of the transmit shaper on the Verilated gateware: how close a
//! capped queue comes to its ceiling, what a guarantee keeps beside 63
//! greedy queues, how evenly equal queues share, how full the link stays,
//! and how long the scheduler takes to decide.

use anyhow::Result;
use arsenic::device::rtl::RtlDevice;
use arsenic::shaping::measure::{self, BIG_FRAME, WINDOW_10MS, WINDOW_1MS};
use arsenic_testbench::host_memory::DEFAULT_READ_LATENCY_CYCLES;

fn dev() -> RtlDevice {
    let d = RtlDevice::new();
    d.set_dma_read_latency(DEFAULT_READ_LATENCY_CYCLES);
    d
}

/// The largest error of a capped queue's mean rate against its ceiling,
/// in percent, over 10 ms windows at 10, 100 and 1000 Mb/s.
pub fn max_error_pct() -> Result<f64> {
    let mut worst = 0f64;
    for (mbps, len, windows) in [(10u64, 60usize, 4u64), (100, 60, 2), (1000, BIG_FRAME, 2)] {
        let c = measure::conformance(&mut dev(), mbps * 1_000_000, len, windows, WINDOW_10MS)?;
        println!("  ceiling {mbps} Mb/s: mean error {:+.4}%, worst stretch {} bytes within the bucket", c.mean_error_pct, -c.burst_excess);
        worst = worst.max(c.mean_error_pct.abs());
    }
    Ok(worst)
}

/// Queue 0's share of its 100 Mb/s guarantee beside 63 greedy queues.
pub fn isolation_fraction() -> Result<f64> {
    Ok(measure::isolation(&mut dev(), 63, BIG_FRAME, 4, WINDOW_1MS)?.0)
}

/// (Jain's index, link utilisation) of 64 equal backlogged queues over
/// 20 ms after the first 10, some 25 full frames each.
pub fn fairness() -> Result<(f64, f64)> {
    let (jain, utilisation, _) = measure::fairness(&mut dev(), 64, BIG_FRAME, 3, WINDOW_10MS)?;
    Ok((jain, utilisation))
}

pub fn decision_cycles() -> f64 {
    arsenic_hdl::blocks::tx_engine::decision_cycles()
}
