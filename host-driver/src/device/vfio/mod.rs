//! The `vfio` backend: a board on PCIe, driven from user space through the
//! kernel's vfio-pci driver and the IOMMU (via the `pci-driver` crate).
//!
//! Register pages are mapped one at a time, each just its 4 KiB of BAR0,
//! so a page handle given to an application reaches that queue and nothing
//! else. DMA memory is mapped through the IOMMU at addresses from our own
//! `IovaAllocator`, so the NIC reaches only what was handed to it. Events
//! are MSI-X vectors delivered to one eventfd per queue.
//!
//! What needs a real board (opening, config space, BAR mapping, IOMMU
//! mapping, MSI-X) cannot run here; the decisions around it live in
//! `device::pci`, `layout`, `iova` and `events`, which are tested alone.

pub mod events;
pub mod iova;
pub mod layout;

use super::hugepages::{host_page, iommu_page, HugePageInfo, PageSize, PinnedMemory, BASE_PAGE};
use super::pci::{check_bar_len, check_identity, diagnose_vfio, with_bus_master, HostRoots, PciAddress};
use super::{check_page_offset, Device, Page, RegisterPage, Waiter, WallClock};
use crate::dma::DmaBlock;
use anyhow::{bail, Context, Result};
use arsenic_hdl::pci::{config, REGISTER_BAR};
use arsenic_hdl::regmap;
use events::Events;
use iova::IovaAllocator;
use layout::page_layout;
use pci_driver::backends::vfio::VfioPciDevice;
use pci_driver::device::PciDevice;
use pci_driver::regions::{MappedOwningPciRegion, OwningPciRegion, PciRegion, Permissions};
use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Opens the board at `addr` ("0000:01:00.0" or "01:00.0") through vfio.
pub fn open(addr: &str) -> Result<VfioDevice> {
    VfioDevice::open(addr)
}

pub struct VfioDevice {
    addr: PciAddress,
    pci: Arc<VfioPciDevice>,
    bar0: OwningPciRegion,
    queues: u32,
    iova: Rc<RefCell<IovaAllocator>>,
    events: Events,
    clock_hz: u32,
    opened: Instant,
    /// The page size last reported to the user, so the note is printed
    /// once, and again only if the choice changes.
    page_note: Cell<Option<PageSize>>,
}

impl VfioDevice {
    pub fn open(addr: &str) -> Result<VfioDevice> {
        VfioDevice::open_at(addr, &HostRoots::default())
    }

    /// `open` with sysfs and /dev looked up under `roots` for the checks
    /// that come first (the kernel's own vfio calls always use the real
    /// /dev/vfio).
    pub fn open_at(addr: &str, roots: &HostRoots) -> Result<VfioDevice> {
        let addr: PciAddress = addr.parse()?;
        // The one-line fix beats the errno vfio would give.
        diagnose_vfio(&addr, roots)?;
        let pci = VfioPciDevice::open(roots.device_dir(&addr))
            .with_context(|| format!("opening {addr} through vfio (is another process holding the board?)"))?;
        let pci = Arc::new(pci);
        let config_space = pci.config();
        let mut header = [0u8; config::HEADER_BYTES];
        config_space.read_bytes(0, &mut header).with_context(|| format!("reading {addr}'s configuration header"))?;
        check_identity(&header).map_err(|e| anyhow::anyhow!("{addr}: {e}"))?;
        let command = config_space.read_le_u16(config::COMMAND as u64)?;
        config_space.write_le_u16(config::COMMAND as u64, with_bus_master(command))?;
        let command = config_space.read_le_u16(config::COMMAND as u64)?;
        if command & config::COMMAND_BUS_MASTER == 0 {
            bail!("{addr}: bus mastering did not stick (command register {command:#06x}): the board cannot do DMA");
        }

        let bar0 = pci.bar(REGISTER_BAR as usize).with_context(|| format!("{addr} has no BAR0: the board's shell exposes no register pages"))?;
        if !bar0.is_mappable() {
            bail!("{addr}'s BAR0 cannot be mapped: it must be a memory BAR, not I/O ports");
        }
        check_bar_len(bar0.len(), 0)?;
        let control = map_range(&bar0, Page::Control)?;
        let magic = control.read_le_u32(regmap::MAGIC as u64)?;
        if magic != regmap::MAGIC_VALUE {
            bail!(
                "{addr}'s control page reads magic 0x{magic:08x}, expected 0x{:08x}: the board's bitstream is not an Arsenic NIC",
                regmap::MAGIC_VALUE
            );
        }
        let queues = control.read_le_u32(regmap::QUEUES as u64)?;
        check_bar_len(bar0.len(), queues)?;
        let clock_hz = control.read_le_u32(regmap::CLOCK_HZ as u64)?;

        let iommu = pci.iommu();
        let iova = IovaAllocator::new(iommu.valid_iova_ranges(), iommu.alignment() as u64, iommu.max_num_mappings())?;

        let interrupts = pci.interrupts();
        let msix = interrupts.msi_x();
        let vectors = queues.min(msix.max().min(u32::MAX as usize) as u32);
        let events = Events::new(vectors)?;
        if vectors > 0 {
            msix.enable(&events.raw_fds()).with_context(|| format!("enabling {vectors} MSI-X vectors on {addr}"))?;
        }
        Ok(VfioDevice {
            addr,
            pci,
            bar0,
            queues,
            iova: Rc::new(RefCell::new(iova)),
            events,
            clock_hz,
            opened: Instant::now(),
            page_note: Cell::new(None),
        })
    }

    pub fn address(&self) -> PciAddress {
        self.addr
    }

    /// Queues the board has (its QUEUES register).
    pub fn queues(&self) -> u32 {
        self.queues
    }

    /// Waits up to `timeout` for the NIC to raise queue `queue`'s MSI-X
    /// vector; true if it did.
    pub fn wait_event(&self, queue: u32, timeout: Duration) -> Result<bool> {
        if queue >= self.queues {
            bail!("queue {queue} out of range: {} has {} queues", self.addr, self.queues);
        }
        self.events.wait(queue, timeout)
    }
}

impl Drop for VfioDevice {
    fn drop(&mut self) {
        if !self.events.is_empty() {
            // Best effort: the kernel disables the vectors anyway when the
            // device's file closes.
            let _ = self.pci.interrupts().msi_x().disable();
        }
    }
}

/// Maps just `page`'s 4 KiB of BAR0.
fn map_range(bar0: &OwningPciRegion, page: Page) -> Result<MappedOwningPciRegion> {
    let range = page_layout(page, bar0.len(), host_page() as u64)?;
    bar0.map(range, Permissions::ReadWrite).with_context(|| format!("mapping {page:?} of BAR0"))
}

impl Device for VfioDevice {
    fn backend(&self) -> &'static str {
        "vfio"
    }

    fn map_page(&self, page: Page) -> Result<Box<dyn RegisterPage>> {
        check_page_offset(page, 0)?;
        Ok(Box::new(VfioPage { map: map_range(&self.bar0, page)?, page }))
    }

    fn dma_alloc(&self, len: usize) -> Result<DmaBlock> {
        let (page, why) = iommu_page(len, &HugePageInfo::read()?);
        if len > BASE_PAGE && self.page_note.get() != Some(page) {
            eprintln!("arsenic: vfio {}: {why}", self.addr);
            self.page_note.set(Some(page));
        }
        let mut memory = PinnedMemory::map(len, page, false)?;
        let ptr = memory.ptr();
        let bytes = memory.len();
        let iova = self.iova.borrow_mut().alloc(bytes as u64, page.bytes() as u64)?;
        // SAFETY: `ptr..ptr+bytes` is our anonymous mapping, which the
        // IommuMapping built below keeps alive until it has unmapped the
        // range from the IOMMU again; the IOVA range is ours alone.
        let mapped = unsafe { self.pci.iommu().map(iova, bytes, ptr.as_ptr(), Permissions::ReadWrite) };
        if let Err(e) = mapped {
            self.iova.borrow_mut().free(iova)?;
            bail!("mapping {bytes} bytes of DMA memory through the IOMMU at {iova:#x}: {e} (raise the locked-memory limit, ulimit -l, or run as root)");
        }
        let owner = IommuMapping {
            memory: ManuallyDrop::new(memory),
            iova,
            bytes,
            pci: Arc::clone(&self.pci),
            allocator: Rc::clone(&self.iova),
        };
        // SAFETY: the mapping is `bytes` long and writable, pinned by the
        // IOMMU at `iova` for as long as `owner` lives, and no one else has
        // a pointer into it.
        Ok(unsafe { DmaBlock::new(ptr, bytes, iova, Rc::new(owner)) })
    }

    fn waiter(&self) -> Box<dyn Waiter> {
        Box::new(WallClock::new(self.clock_hz, self.opened))
    }
}

/// Keeps DMA memory mapped through the IOMMU; on drop, takes it out of the
/// IOMMU first, and frees the memory only if that worked: memory the NIC
/// can still reach must never go back to the system.
struct IommuMapping {
    memory: ManuallyDrop<PinnedMemory>,
    iova: u64,
    bytes: usize,
    pci: Arc<VfioPciDevice>,
    allocator: Rc<RefCell<IovaAllocator>>,
}

impl Drop for IommuMapping {
    fn drop(&mut self) {
        if self.pci.iommu().unmap(self.iova, self.bytes).is_ok() {
            let _ = self.allocator.borrow_mut().free(self.iova);
            // SAFETY: dropped once, here, and the NIC can no longer reach it.
            unsafe { ManuallyDrop::drop(&mut self.memory) };
        }
    }
}

struct VfioPage {
    map: MappedOwningPciRegion,
    page: Page,
}

impl RegisterPage for VfioPage {
    fn read32(&self, offset: u32) -> Result<u32> {
        check_page_offset(self.page, offset)?;
        Ok(self.map.read_le_u32(offset as u64)?)
    }

    fn write32(&self, offset: u32, value: u32) -> Result<()> {
        check_page_offset(self.page, offset)?;
        Ok(self.map.write_le_u32(offset as u64, value)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_roots() -> (tempfile::TempDir, HostRoots) {
        let dir = tempfile::tempdir().unwrap();
        let roots = HostRoots { sys: dir.path().join("sys"), dev: dir.path().join("dev") };
        std::fs::create_dir_all(roots.sys.join("bus/pci/devices")).unwrap();
        (dir, roots)
    }

    #[test]
    fn open_checks_the_address_first() {
        let (_dir, roots) = fake_roots();
        let e = VfioDevice::open_at("01:00", &roots).err().unwrap().to_string();
        assert!(e.contains("is not a PCI address"), "{e}");
    }

    #[test]
    fn open_gives_the_diagnosis_rather_than_an_errno() {
        let (_dir, roots) = fake_roots();
        let e = VfioDevice::open_at("0000:01:00.0", &roots).err().unwrap().to_string();
        assert!(e.starts_with("no PCI device at 0000:01:00.0"), "{e}");
        let dev = roots.sys.join("bus/pci/devices/0000:01:00.0");
        std::fs::create_dir_all(&dev).unwrap();
        let mut header = vec![0u8; config::HEADER_BYTES];
        header[0..2].copy_from_slice(&arsenic_hdl::pci::VENDOR_ID.to_le_bytes());
        header[2..4].copy_from_slice(&arsenic_hdl::pci::DEVICE_ID.to_le_bytes());
        header[config::CLASS + 2] = arsenic_hdl::pci::CLASS_NETWORK;
        std::fs::write(dev.join("config"), &header).unwrap();
        let e = open_at_err("01:00.0", &roots);
        assert!(e.contains("no IOMMU group") && e.contains("intel_iommu=on"), "{e}");
    }

    fn open_at_err(addr: &str, roots: &HostRoots) -> String {
        VfioDevice::open_at(addr, roots).err().unwrap().to_string()
    }
}
