//! The `sysfs` backend: a PCIe board with no IOMMU, in the manner of
//! ixy.rs. BAR0's pages are mapped from the device's `resource0`, one page
//! at a time, and driven with volatile loads and stores (`mmio`).
//!
//! The same code drives the simulated device (`arsenic sim-device`), whose
//! folder has the same files. Two things a real machine provides another
//! way come from the folder's `sim/` part instead: host memory the NIC can
//! reach (`sim_memory`, where a board takes pinned huge pages and asks
//! `/proc/self/pagemap` for their physical addresses) and time (the
//! simulator's cycle counter, `sim_clock`, where a board has wall time).

use super::mmio::MmioPage;
use super::shared_map::SharedMap;
use super::sim_clock::SimClock;
use super::sim_dir::SimDir;
use super::{Device, Page, RegisterPage, Waiter, WallClock};
use crate::dma::DmaBlock;
use anyhow::{bail, Context, Result};
use super::pci;
use arsenic_hdl::pci::config;
use arsenic_hdl::regmap::PAGE_BYTES;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct SysfsDevice {
    dir: PathBuf,
    resource0: File,
    bar_bytes: u64,
    /// Set for the simulated device.
    sim: Option<(SimDir, SimClock)>,
    opened: Instant,
}

impl SysfsDevice {
    /// Opens the device whose sysfs folder (or simulated device folder) is
    /// `dir`: checks it is an Arsenic NIC and turns bus mastering on.
    pub fn open(dir: &Path) -> Result<SysfsDevice> {
        if !dir.is_dir() {
            bail!("{} is not a device folder: give a PCI device's sysfs folder or an `arsenic sim-device` folder", dir.display());
        }
        let sim = if SimDir::is_simulated(dir) {
            let clock = SimClock::open(dir)?;
            clock.check_running()?;
            Some((SimDir::new(dir), clock))
        } else {
            None
        };
        let config_path = dir.join("config");
        let cfg = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&config_path)
            .with_context(|| format!("opening {} (root is needed for a board's configuration space)", config_path.display()))?;
        let mut header = vec![0u8; config::HEADER_BYTES];
        let n = cfg.read_at(&mut header, 0).with_context(|| format!("reading {}", config_path.display()))?;
        pci::check_identity(&header[..n])?;
        enable_bus_master(&cfg).with_context(|| format!("turning bus mastering on in {}", config_path.display()))?;
        let resources = std::fs::read_to_string(dir.join("resource")).context("reading the device's resource list")?;
        let bar = pci::parse_resource(&resources, arsenic_hdl::pci::REGISTER_BAR as usize)?;
        // At least one queue page; how many queues there are, the control
        // page says once mapped.
        pci::check_register_bar(&bar, 1)?;
        let bar_bytes = bar.len();
        let resource0 = OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.join("resource0"))
            .with_context(|| format!("opening {}/resource0", dir.display()))?;
        Ok(SysfsDevice { dir: dir.to_path_buf(), resource0, bar_bytes, sim, opened: Instant::now() })
    }

    /// `open` for a PCI address such as `0000:01:00.0`.
    pub fn open_pci(address: &str) -> Result<SysfsDevice> {
        SysfsDevice::open(&Path::new("/sys/bus/pci/devices").join(address))
    }

    pub fn is_simulated(&self) -> bool {
        self.sim.is_some()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The simulated device's folder, for handing its pages and memory to
    /// other processes (`ctl`).
    pub fn sim_dir(&self) -> Option<&SimDir> {
        self.sim.as_ref().map(|(d, _)| d)
    }
}

impl Device for SysfsDevice {
    fn backend(&self) -> &'static str {
        "sysfs"
    }

    fn map_page(&self, page: Page) -> Result<Box<dyn RegisterPage>> {
        super::check_page_offset(page, 0)?;
        if page.base() + PAGE_BYTES as u64 > self.bar_bytes {
            bail!("{page:?} lies outside BAR0's {} bytes", self.bar_bytes);
        }
        let map = SharedMap::new(&self.resource0, page.base(), PAGE_BYTES as usize, "resource0")?;
        Ok(Box::new(MmioPage::new(map, page, self.waiter())?))
    }

    fn dma_alloc(&self, len: usize) -> Result<DmaBlock> {
        match &self.sim {
            Some((dir, _)) => super::sim_memory::alloc(dir, len),
            None => super::hugepages::PinnedMemory::alloc(len),
        }
    }

    fn waiter(&self) -> Box<dyn Waiter> {
        match &self.sim {
            Some((_, clock)) => Box::new(clock.clone()),
            None => Box::new(WallClock::new(arsenic_hdl::NicParams::default().clock_hz, self.opened)),
        }
    }
}

fn enable_bus_master(cfg: &File) -> Result<()> {
    let mut cmd = [0u8; 2];
    cfg.read_exact_at(&mut cmd, config::COMMAND as u64)?;
    let value = pci::with_bus_master(u16::from_le_bytes(cmd));
    cfg.write_all_at(&value.to_le_bytes(), config::COMMAND as u64)?;
    Ok(())
}
