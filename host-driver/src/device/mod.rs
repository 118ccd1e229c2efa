//! The device trait the whole driver is written against, and its backends.
//!
//! A device exposes register pages: page 0 is the privileged control page,
//! page `1 + q` belongs to queue `q`. A page handle reaches its own 4 KiB and
//! nothing else, which is the unit of protection the NIC offers: mapping one
//! queue's page gives an application that queue and no other.
//!
//! Simulated devices also have a wire (`Wire`): the MAC side, where a test
//! or the `arsenic sim` command puts frames in and takes frames out.

pub mod decisions;
pub mod hugepages;
pub mod model;
pub mod model_engine;
mod model_shaper;
mod model_transmit;
pub mod mmio;
pub mod pci;
pub mod rtl;
pub mod shared_map;
pub mod sim_client;
pub mod sim_clock;
pub mod sim_dir;
pub mod sim_memory;
pub mod sim_wire;
pub mod sysfs;
pub mod uart;
pub mod vfio;

use crate::dma::DmaBlock;
use anyhow::{bail, Result};
use arsenic_hdl::filter::{FilterKind, Reason};
use arsenic_hdl::params::REG_ADDR_BITS;
use arsenic_hdl::regmap::PAGE_BYTES;

/// Which register page to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Control,
    Queue(u32),
}

impl Page {
    /// Byte offset of the page in the device's register space (64-bit, so
    /// no queue number can wrap it around onto another page).
    pub fn base(self) -> u64 {
        match self {
            Page::Control => 0,
            Page::Queue(q) => (1 + q as u64) * PAGE_BYTES as u64,
        }
    }
}

/// A mapped 4 KiB register page. Offsets are bytes from the page's start.
pub trait RegisterPage {
    fn read32(&self, offset: u32) -> Result<u32>;
    fn write32(&self, offset: u32, value: u32) -> Result<()>;
    /// Writes a command register (`regmap::Access::Command`) and returns
    /// once the NIC has taken the command, i.e. the register reads 0, so
    /// the staging words the command used may be written again. On a real
    /// bus the first read finds 0, a read being ordered after the write;
    /// a BAR in shared memory reads 0 once the simulator has scanned it.
    fn command(&self, offset: u32, value: u32) -> Result<()> {
        self.write32(offset, value)?;
        for _ in 0..COMMAND_READS {
            if self.read32(offset)? == 0 {
                return Ok(());
            }
        }
        bail!("the NIC did not take the command 0x{value:08x} at register 0x{offset:03x} within {COMMAND_READS} reads")
    }
}

/// Reads a command may take to be taken where every read lets device
/// time pass (the `model` and `rtl` backends, and a board).
const COMMAND_READS: u32 = 64;

pub trait Device {
    /// Short name of the backend, for reports.
    fn backend(&self) -> &'static str;
    fn map_page(&self, page: Page) -> Result<Box<dyn RegisterPage>>;
    /// Zeroed memory the NIC can reach by DMA, at least `len` bytes.
    fn dma_alloc(&self, len: usize) -> Result<DmaBlock>;
    /// A handle that lets time pass on the device, for waiting.
    fn waiter(&self) -> Box<dyn Waiter>;
}

/// Time on a device: simulated cycles for `model` and `rtl`.
pub trait Waiter {
    /// Core cycles so far.
    fn now(&self) -> u64;
    /// Lets `cycles` core cycles pass.
    fn advance(&self, cycles: u64) -> Result<()>;
}

/// Time on a board: its own clock, which the host cannot stop. `advance`
/// sleeps the wall-clock time the cycles take at the nominal core clock,
/// and `now` counts wall-clock time since `since` in those cycles.
pub(crate) struct WallClock {
    clock_hz: u32,
    since: std::time::Instant,
}

impl WallClock {
    pub(crate) fn new(clock_hz: u32, since: std::time::Instant) -> Self {
        Self { clock_hz: clock_hz.max(1), since }
    }
}

impl Waiter for WallClock {
    fn now(&self) -> u64 {
        (self.since.elapsed().as_nanos() * self.clock_hz as u128 / 1_000_000_000) as u64
    }

    fn advance(&self, cycles: u64) -> Result<()> {
        let nanos = cycles as u128 * 1_000_000_000 / self.clock_hz as u128;
        std::thread::sleep(std::time::Duration::from_nanos(nanos.min(u64::MAX as u128) as u64));
        Ok(())
    }
}

/// A simulated device whose DMA accesses can be inspected, so protection
/// can be checked from the host memory's side.
pub trait DmaLog {
    /// Every DMA access since the last call, in order.
    fn take_dma_log(&self) -> Vec<arsenic_testbench::host_memory::DmaAccess>;
}

/// A frame as it crossed the wire, stamped with the core cycle (8 ns at
/// 125 MHz) at which its first byte moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireFrame {
    pub cycle: u64,
    pub data: Vec<u8>,
}

/// The MAC side of a simulated NIC.
pub trait Wire {
    /// Queues a frame to arrive on the receive port, back to back with the
    /// previous one at 1 Gb/s. `fcs_error` marks it as a MAC would a frame
    /// whose FCS did not match.
    fn send(&mut self, frame: &[u8], fcs_error: bool);
    /// Runs until every queued frame has arrived and transmission has gone
    /// quiet; fails rather than hang if the device never settles.
    fn drain(&mut self) -> Result<()> {
        self.drain_reporting(&mut |_| {})
    }
    /// `drain`, telling `report` now and then how many of the frames sent
    /// so far have been taken in, for a progress display.
    fn drain_reporting(&mut self, report: &mut dyn FnMut(u64)) -> Result<()>;
    /// Runs until the device goes quiet or `max_cycles` pass; returns
    /// whether it went quiet. For callers that expect a device kept busy
    /// on purpose (a queue flooded with bogus descriptors) and must not
    /// take that for a hang.
    fn settle(&mut self, max_cycles: u64) -> Result<bool>;
    /// Frames transmitted since the last call.
    fn take_transmitted(&mut self) -> Vec<WireFrame>;
    /// Core cycles elapsed.
    fn cycles(&self) -> u64;
}

/// What the demultiplexer decided for one received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub reason: Reason,
    /// The queue, unless the reason is `FrameError` (then 0 and meaningless).
    pub queue: u32,
    /// The kind of filter that matched, for `Reason::Hit`.
    pub kind: Option<FilterKind>,
    /// The matching filter's id, for `Reason::Hit`; 0 otherwise.
    pub filter_id: u16,
    /// The frame's RSS hash (`filter::rss_hash`), 0 when it has no IP flow.
    pub rss: u32,
}

/// A received frame with the decision the demultiplexer made for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Core cycle at which the frame started to arrive.
    pub cycle: u64,
    pub data: Vec<u8>,
    pub decision: Decision,
}

/// A simulated NIC whose demultiplexer's decisions can be collected: one
/// `Received` for every non-empty frame sent into the wire, in order.
/// Until the descriptor engine delivers frames into queues, this is where
/// they are taken from.
pub trait Demux {
    fn take_received(&mut self) -> Vec<Received>;
}

/// Checks an offset against a page (in bounds, 32-bit aligned) and the page
/// against the register space; returns the device-wide offset.
pub(crate) fn check_page_offset(page: Page, offset: u32) -> Result<u32> {
    let space = 1u64 << REG_ADDR_BITS;
    if page.base() + PAGE_BYTES as u64 > space {
        bail!("{page:?} lies outside the device's {} MiB register space", space >> 20);
    }
    if offset >= PAGE_BYTES || !offset.is_multiple_of(4) {
        bail!(
            "register offset 0x{offset:x} is outside the 4 KiB {page:?} page or not 32-bit aligned"
        );
    }
    Ok((page.base() + offset as u64) as u32)
}
