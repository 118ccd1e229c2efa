//! The simulated device in its own process (issue 8): what a doorbell
//! costs the application through a mapped page, and how fast frames move
//! through `arsenic sim-device` against the in-process RTL.

use anyhow::{bail, Result};
use arsenic::config::SteeringConfig;
use arsenic::device::sysfs::SysfsDevice;
use arsenic::device::{Device, Page};
use arsenic::sim_device::spawn::SpawnedDevice;
use arsenic::sim_run::{self, Backend, Input, SimOptions};
use arsenic_hdl::regmap;
use std::path::Path;
use std::time::Instant;

/// A doorbell store into a queue page mapped from the device's
/// `resource0`, through the driver's `RegisterPage` as a `QueuePair`
/// rings it, in ns. The value stays the same, so the NIC has nothing to
/// fetch: this is the cost on the application's side alone.
pub fn doorbell_ns() -> Result<f64> {
    let dev = SpawnedDevice::start(4)?;
    let sysfs = SysfsDevice::open(dev.dir())?;
    let page = sysfs.map_page(Page::Queue(1))?;
    let tail = page.read32(regmap::UQ_TX_TAIL)?;
    const STORES: u32 = 5_000_000;
    let started = Instant::now();
    for _ in 0..STORES {
        page.write32(regmap::UQ_TX_TAIL, tail)?;
    }
    Ok(started.elapsed().as_nanos() as f64 / STORES as f64)
}

fn run(backend: Backend, device: Option<&Path>, frames: usize) -> Result<f64> {
    // The demo's filters without its shaping: a queue held to 20 Mb/s
    // would measure the token bucket, not the simulator.
    let mut config = SteeringConfig::load(Path::new("configs/demo.toml"))?;
    config.shapes.clear();
    let opts = SimOptions {
        backend,
        loopback: false,
        input: Input::Builtin { frames, seed: 3 },
        trace: None,
        check_model: false,
        steering: Some(config),
        txq: vec![],
        echo: true,
        device: device.map(Path::to_path_buf),
    };
    let report = sim_run::run(&opts)?;
    if report.counters.get("rx_frames") != Some(frames as u64) {
        bail!("the {backend:?} run saw {:?} of {frames} frames", report.counters.get("rx_frames"));
    }
    Ok(frames as f64 / report.sim.wall_seconds)
}

/// Frames per wall-clock second through the demo steering with every
/// queue echoing, out of process (`arsenic sim-device`, started before the
/// clock runs) and in process (`rtl`).
pub fn frames_per_wall_second() -> Result<(f64, f64)> {
    const FRAMES: usize = 4000;
    let dev = SpawnedDevice::start(140)?;
    let out_of_process = run(Backend::SimDevice, Some(dev.dir()), FRAMES)?;
    drop(dev);
    let in_process = run(Backend::Rtl, None, FRAMES)?;
    Ok((out_of_process, in_process))
}
