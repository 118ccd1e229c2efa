//! The GMII MAC's own figures, on its Verilated test top
//! (`verilog-out/mac_loop.v`): MacTx, the wire, MacRx.

use anyhow::{bail, Result};
use arsenic_testbench::mac_loop::{Loopback, MacCounters};
use arsenic_testbench::wire::wire_cycles;
use std::time::Instant;

/// Minimum frames: 60 bytes, 64 with the FCS.
const MIN_LEN: usize = 60;

/// `count` minimum frames offered back to back to MacTx (one byte a cycle
/// while it is ready, as its store-and-forward FIFO would), through the
/// wire into MacRx. Returns (frames delivered good per cycle in steady
/// state, between the first and the last delivery, as a share of the 1 Gb/s
/// maximum of one per 84 cycles; Verilator cycles per second of wall time
/// through the Rust harness). Every frame must come back byte for byte.
pub fn line_rate_64b(count: usize) -> Result<(f64, f64)> {
    let frame = |i: usize| -> Vec<u8> {
        let mut f = vec![0u8; MIN_LEN];
        f[..8].copy_from_slice(&(i as u64).to_be_bytes());
        for (j, b) in f.iter_mut().enumerate().skip(8) {
            *b = (i as u8).wrapping_mul(31).wrapping_add(j as u8);
        }
        f
    };
    let mut lb = Loopback::new();
    for i in 0..count {
        lb.feeder.push(frame(i), false);
    }
    let budget = count as u64 * wire_cycles(MIN_LEN) + 1000;
    let started = Instant::now();
    if !lb.run_until_quiet(32, budget, &mut |_, g| g) {
        bail!("the MAC loop did not finish {count} frames in {budget} cycles");
    }
    let wall = started.elapsed().as_secs_f64();
    let got = &lb.rx.frames;
    if got.len() != count {
        bail!("{} of {count} frames came back", got.len());
    }
    if let Some(i) = (0..count).find(|&i| got[i].error || got[i].data != frame(i)) {
        bail!("frame {i} came back different or marked bad");
    }
    let want = MacCounters {
        tx_frames_sent: count as u32,
        tx_bytes_sent: (count * MIN_LEN) as u32,
        rx_good_frames: count as u32,
        rx_good_bytes: (count * MIN_LEN) as u32,
        ..Default::default()
    };
    if lb.sim.counters() != want {
        bail!("MAC counters {:?}, expected {want:?}", lb.sim.counters());
    }
    let span = got[count - 1].last_cycle - got[0].last_cycle;
    let per_cycle = (count - 1) as f64 / span as f64;
    Ok((per_cycle * wire_cycles(MIN_LEN) as f64, lb.sim.cycle() as f64 / wall))
}
