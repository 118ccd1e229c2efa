//! The `uart` backend: a board's control page over a serial line, for a
//! board with no open PCIe endpoint (the ECP5 Versa, whose NIC runs inline
//! between its two Ethernet ports). Every `read32`/`write32` is one round
//! trip of the `uart::protocol`; filters, shaping and counters work as on
//! any backend. There is no host DMA on such a link, so no queue pairs.
//!
//! Time on the board is its own clock, which the host cannot stop:
//! `Waiter::advance` sleeps the wall-clock time the cycles take at the
//! nominal core clock, and `now` counts wall-clock time since the device
//! was opened in those cycles.

use super::{check_page_offset, Device, Page, RegisterPage, Waiter, WallClock};
use crate::dma::DmaBlock;
use crate::uart::link::{Link, LinkStats};
use crate::uart::tty::Tty;
use anyhow::{bail, Result};
use arsenic_hdl::NicParams;
use std::cell::RefCell;
use std::io::{Read, Write};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long a register access waits for its reply by default: a round
/// trip is 2 ms at 115200 baud, so this only runs out on a silent board.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(200);

/// The baud rate the board's UART bridge runs at unless told otherwise.
pub const DEFAULT_BAUD: u32 = 115_200;

/// Any byte stream, boxed so one `UartDevice` type serves a serial port,
/// a pseudo-terminal and a test's fault-injecting wrapper.
pub trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

pub struct UartDevice {
    link: Rc<RefCell<Link<Box<dyn Stream>>>>,
    clock_hz: u32,
    opened: Instant,
}

impl UartDevice {
    /// Opens the serial port at `path` (e.g. /dev/ttyUSB1, the FT2232's
    /// second channel) at `baud`.
    pub fn open(path: &Path, baud: u32, timeout: Duration) -> Result<UartDevice> {
        let tty = Tty::open(path, baud)?;
        let name = tty.name().to_string();
        Ok(UartDevice::new(tty, &name, timeout))
    }

    /// A device over `stream`, whose reads must return within a bounded
    /// time when nothing arrives (see `uart::link::Link`). `port` names it
    /// in errors; `timeout` bounds each register access.
    pub fn new(stream: impl Stream + 'static, port: &str, timeout: Duration) -> UartDevice {
        let stream: Box<dyn Stream> = Box::new(stream);
        UartDevice {
            link: Rc::new(RefCell::new(Link::new(stream, port, timeout))),
            clock_hz: NicParams::default().clock_hz,
            opened: Instant::now(),
        }
    }

    pub fn link_stats(&self) -> LinkStats {
        self.link.borrow().stats()
    }

    /// One 32-bit read at `addr` in the bridge's whole register space, for
    /// what a board's shell maps beside the core's pages, which no `Page`
    /// names (the Versa's on-chip memory and port statistics, at the
    /// offsets in `arsenic_hdl::board::versa_ecp5::regions`).
    pub fn read32_at(&self, addr: u32) -> Result<u32> {
        self.link.borrow_mut().read32(addr)
    }

    /// One 32-bit write at `addr`, as `read32_at`.
    pub fn write32_at(&self, addr: u32, value: u32) -> Result<()> {
        self.link.borrow_mut().write32(addr, value)
    }
}

impl Device for UartDevice {
    fn backend(&self) -> &'static str {
        "uart"
    }

    fn map_page(&self, page: Page) -> Result<Box<dyn RegisterPage>> {
        check_page_offset(page, 0)?;
        Ok(Box::new(UartPage { link: Rc::clone(&self.link), page }))
    }

    fn dma_alloc(&self, _len: usize) -> Result<DmaBlock> {
        bail!(
            "the UART backend reaches the control plane only; a board on this link ({}) has no host DMA",
            self.link.borrow().port()
        )
    }

    fn waiter(&self) -> Box<dyn Waiter> {
        Box::new(WallClock::new(self.clock_hz, self.opened))
    }
}

struct UartPage {
    link: Rc<RefCell<Link<Box<dyn Stream>>>>,
    page: Page,
}

impl RegisterPage for UartPage {
    fn read32(&self, offset: u32) -> Result<u32> {
        let addr = check_page_offset(self.page, offset)?;
        self.link.borrow_mut().read32(addr)
    }

    fn write32(&self, offset: u32, value: u32) -> Result<()> {
        let addr = check_page_offset(self.page, offset)?;
        self.link.borrow_mut().write32(addr, value)
    }
}
