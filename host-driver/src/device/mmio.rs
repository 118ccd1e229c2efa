//! A register page reached by loads and stores: a board's BAR mapped
//! through sysfs, or the simulated device's shared-memory page. Accesses
//! are volatile so none is merged, dropped or reordered by the compiler,
//! and fenced so descriptors written to DMA memory before a doorbell are
//! visible before it.

use super::shared_map::SharedMap;
use super::{check_page_offset, Page, RegisterPage, Waiter};
use anyhow::{bail, Result};
use std::sync::atomic::{fence, Ordering};

/// Device cycles a command may take to be taken: a simulator scans every
/// few dozen cycles, a board takes one at once.
const COMMAND_BUDGET_CYCLES: u64 = 200_000;

pub struct MmioPage {
    map: SharedMap,
    page: Page,
    waiter: Box<dyn Waiter>,
}

impl MmioPage {
    /// `map` must be exactly the page's 4 KiB.
    pub fn new(map: SharedMap, page: Page, waiter: Box<dyn Waiter>) -> Result<MmioPage> {
        if map.len() != arsenic_hdl::regmap::PAGE_BYTES as usize {
            bail!("a register page mapping must be 4 KiB, this one is {} bytes", map.len());
        }
        Ok(MmioPage { map, page, waiter })
    }

    fn ptr(&self, offset: u32) -> Result<*mut u32> {
        check_page_offset(self.page, offset)?;
        // SAFETY: `check_page_offset` keeps the offset inside the 4 KiB
        // the map holds and 4-aligned; the map is page aligned.
        Ok(unsafe { self.map.ptr().add(offset as usize) as *mut u32 })
    }
}

impl RegisterPage for MmioPage {
    fn read32(&self, offset: u32) -> Result<u32> {
        let p = self.ptr(offset)?;
        // SAFETY: in the mapped page and aligned (`ptr`); the device owns
        // the value, so it is read fresh every time.
        let v = unsafe { p.read_volatile() };
        fence(Ordering::Acquire);
        Ok(u32::from_le(v))
    }

    fn write32(&self, offset: u32, value: u32) -> Result<()> {
        let p = self.ptr(offset)?;
        fence(Ordering::Release);
        // SAFETY: as in `read32`; a store the device must see, once.
        unsafe { p.write_volatile(value.to_le()) };
        Ok(())
    }

    fn command(&self, offset: u32, value: u32) -> Result<()> {
        self.write32(offset, value)?;
        let start = self.waiter.now();
        while self.read32(offset)? != 0 {
            if self.waiter.now() - start > COMMAND_BUDGET_CYCLES {
                bail!(
                    "the NIC did not take the command 0x{value:08x} at register 0x{offset:03x} of the {:?} page within {COMMAND_BUDGET_CYCLES} cycles",
                    self.page
                );
            }
            self.waiter.advance(16)?;
        }
        Ok(())
    }
}
