//! `arsenic sim-device`: the Verilated NIC as a process of its own, served
//! from a folder shaped like the device's sysfs folder (`device::sim_dir`),
//! so the `sysfs` backend drives the RTL exactly as it would a board:
//! register pages mapped from `resource0` with volatile loads and stores,
//! DMA into memory the driver mapped. The simulator scans the pages for
//! stores (`bar`), lends the shared memory chunks to the NIC's DMA port,
//! and carries frames over a socket (`wire`).

mod bar;
mod files;
pub mod spawn;
mod wire;

use crate::device::shared_map::SharedMap;
use crate::device::sim_dir::{self, SimDir, CHUNK_BYTES};
use crate::device::Page;
use anyhow::{bail, Context, Result};
use arsenic_hdl::params::{QUEUE_COUNT, REG_ADDR_BITS};
use arsenic_hdl::regmap::PAGE_BYTES;
use arsenic_testbench::Sim;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub use bar::{BarStats, REFRESH_CYCLES};
pub use wire::WireStats;

/// Cycles simulated between two scans of the pages and the wire: 0.5 µs
/// of device time, about 0.2 ms of wall time.
const STEP_CYCLES: u64 = 64;
/// After this many cycles with no store, no frame and no DMA, the device
/// sleeps between steps so an idle simulator leaves the machine to others.
const IDLE_AFTER_CYCLES: u64 = 1 << 17;
const IDLE_SLEEP: std::time::Duration = std::time::Duration::from_micros(500);
/// Idle cycles that count as quiet for a drain: longer than any gap inside
/// the NIC (the `rtl` backend's figure, `device::rtl::QUIET_CYCLES`).
const QUIET_CYCLES: u64 = crate::device::rtl::QUIET_CYCLES;

#[derive(Clone, Debug)]
pub struct Options {
    pub dir: std::path::PathBuf,
    /// 2 MiB chunks of host memory to share with drivers.
    pub chunks: usize,
    /// Stop after this many cycles (for tests and benchmarks).
    pub max_cycles: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    pub cycles: u64,
    pub wall_seconds: f64,
    pub bar: BarStats,
    pub wire: WireStats,
    pub dma_protocol_errors: u64,
}

/// Runs the device until `stop` is set or `max_cycles` pass. `ready` is
/// called once the folder is complete and the clock runs.
pub fn run(opts: &Options, stop: &AtomicBool, ready: impl FnOnce(&SimDir)) -> Result<Summary> {
    if opts.chunks == 0 || opts.chunks > 4096 {
        bail!("--chunks must be 1..=4096 (2 MiB each), got {}", opts.chunks);
    }
    let dir = SimDir::new(&opts.dir);
    for d in [dir.root().to_path_buf(), dir.sim(), dir.memory(), dir.pages()] {
        std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    }
    // Only the owner (root, on a real machine) reaches the device's files:
    // other processes get a queue through `ctl`, as descriptors.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.root(), std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting {}", dir.root().display()))?;
    let bar_bytes = 1u64 << REG_ADDR_BITS;
    files::write_identity(&dir, bar_bytes)?;
    let clock = SharedMap::create(&dir.clock(), sim_dir::CLOCK_BYTES)?;
    clock.word(sim_dir::CLOCK_PID).store(std::process::id(), Ordering::Release);
    clock.word(sim_dir::CLOCK_STATE).store(sim_dir::STATE_STARTING, Ordering::Release);

    // Declared before the simulator so they are unmapped only after it
    // (and its arena, which points into them) is gone.
    let chunks = create_chunks(&dir, opts.chunks)?;
    let mut sim = Sim::new();
    lend_memory(&chunks, &mut sim);
    let resource0 = SharedMap::create(&dir.resource0(), bar_bytes as usize)?;
    let resource0_file = std::fs::OpenOptions::new().read(true).write(true).open(dir.resource0())?;
    let queues = QUEUE_COUNT as u32;
    let mut bar = bar::Bar::new(&mut sim, queues, |page| {
        let mut views = vec![SharedMap::new(&resource0_file, page.base(), PAGE_BYTES as usize, "resource0")?];
        if let Page::Queue(q) = page {
            views.push(SharedMap::create(&dir.queue_page(q), PAGE_BYTES as usize)?);
        }
        Ok(views)
    })?;
    drop(resource0);
    let mut port = wire::WirePort::bind(&dir.wire())?;

    clock.word(sim_dir::CLOCK_STATE).store(sim_dir::STATE_RUNNING, Ordering::Release);
    ready(&dir);
    let started = Instant::now();
    let mut next_refresh = sim.cycle() + REFRESH_CYCLES;
    let mut last_busy = sim.cycle();
    let mut drain: Option<wire::DrainRequest> = None;
    let mut quiet_for = 0u64;
    let result = (|| -> Result<()> {
        while !stop.load(Ordering::Relaxed) && opts.max_cycles.is_none_or(|m| sim.cycle() < m) {
            let dma_before = sim.dma().accepted();
            let mut busy = bar.scan(&mut sim)?;
            if drain.is_none() {
                let (arrived, request) = port.receive(&mut sim)?;
                busy |= arrived;
                drain = request;
            }
            sim.run(STEP_CYCLES);
            let sent = sim.take_tx();
            let decided = sim.take_decisions();
            busy |= !sent.is_empty() || !decided.is_empty();
            port.decisions(decided);
            port.transmit(sent);
            busy |= sim.rx_pending() > 0 || sim.tx_in_progress() || sim.dma().busy() || sim.dma().accepted() != dma_before;
            quiet_for = if busy { 0 } else { quiet_for + STEP_CYCLES };
            if sim.cycle() >= next_refresh {
                bar.refresh(&mut sim)?;
                next_refresh = sim.cycle() + REFRESH_CYCLES;
            }
            if let Some(d) = drain {
                let quiet = quiet_for >= QUIET_CYCLES;
                if quiet || sim.cycle() >= d.deadline {
                    // Counters as of now, for the driver that reads them next.
                    bar.refresh(&mut sim)?;
                    port.drained(quiet, &sim);
                    drain = None;
                }
            }
            port.flush();
            clock.word64(sim_dir::CLOCK_CYCLE).store(sim.cycle(), Ordering::Release);
            if busy || drain.is_some() {
                last_busy = sim.cycle();
            } else if sim.cycle() - last_busy > IDLE_AFTER_CYCLES {
                std::thread::sleep(IDLE_SLEEP);
            }
        }
        Ok(())
    })();
    clock.word(sim_dir::CLOCK_STATE).store(sim_dir::STATE_STOPPED, Ordering::Release);
    result?;
    Ok(Summary {
        cycles: sim.cycle(),
        wall_seconds: started.elapsed().as_secs_f64(),
        bar: bar.stats,
        wire: port.stats,
        dma_protocol_errors: sim.dma().protocol_errors(),
    })
}

/// Creates the shared chunks and the map of their bus addresses.
fn create_chunks(dir: &SimDir, chunks: usize) -> Result<Vec<SharedMap>> {
    let maps = (0..chunks).map(|n| SharedMap::create(&dir.chunk(n), CHUNK_BYTES)).collect::<Result<Vec<_>>>()?;
    std::fs::write(dir.memory_map(), sim_dir::format_memory_map(chunks))
        .with_context(|| format!("writing {}", dir.memory_map().display()))?;
    Ok(maps)
}

/// Lends each chunk to the NIC's DMA port at its bus address.
fn lend_memory(chunks: &[SharedMap], sim: &mut Sim) {
    let arena = sim.dma().memory.arena();
    for (n, map) in chunks.iter().enumerate() {
        let ptr = NonNull::new(map.ptr()).expect("a mapping is never at address 0");
        // SAFETY: `run` keeps the maps alive until after the simulator,
        // and with it the arena and every DMA access, is gone; the chunks'
        // bus ranges are disjoint (`sim_dir::CHUNK_STRIDE`).
        unsafe { arena.lend(sim_dir::chunk_bus(n), ptr, CHUNK_BYTES) };
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// A flag SIGINT and SIGTERM set, so the device stops cleanly and marks
/// its clock stopped for the drivers waiting on it.
pub fn stop_on_signals() -> Result<&'static AtomicBool> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(SigHandler::Handler(request_stop), SaFlags::empty(), SigSet::empty());
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        unsafe { sigaction(sig, &action) }.context("installing the stop signal handlers")?;
    }
    Ok(&STOP)
}

pub fn print_summary(s: &Summary) {
    println!(
        "ran {} cycles in {:.1} s ({:.0} cycles/s): {} register writes and {} commands from drivers, \
         {} frames in and {} out on the wire ({} out dropped with no reader, {} aborted, {} malformed in), \
         {} DMA protocol errors",
        s.cycles,
        s.wall_seconds,
        s.cycles as f64 / s.wall_seconds.max(1e-9),
        s.bar.writes,
        s.bar.commands,
        s.wire.rx_frames,
        s.wire.tx_frames,
        s.wire.tx_dropped,
        s.wire.tx_aborted,
        s.wire.rx_malformed,
        s.dma_protocol_errors
    );
}
