//! The simulated device's BAR: register pages that are shared memory, kept
//! in step with the Verilated NIC's registers. A driver's store into a
//! page is found by scanning the words that can be written (the register
//! map says which, `regmap::Access`) and replayed on the NIC's register
//! port; what the NIC answers for read-only words is copied into the pages.
//!
//! Where this differs from a board, and why it is safe for the driver:
//! - A store is seen at the next scan, not at once. Stores are seen in the
//!   order they were made (x86 keeps stores in order, and a command word
//!   is read before the staging words it uses), so a command always finds
//!   its staging words written.
//! - Two stores of the same value to one word look like one. Writable
//!   words are settings and producer indices, where that is the meaning
//!   anyway; commands are never 0 and read back 0 once taken, and the
//!   driver waits for the 0 before the next (`RegisterPage::command`).
//! - Read-only words (counters, status) are copied in every
//!   `REFRESH_CYCLES`, and at once after a command that changes them, so
//!   a counter read may be that many cycles old.
//! - A store to an unmapped offset stays readable in the page; on a board
//!   it reads 0.

use crate::device::shared_map::SharedMap;
use crate::device::Page;
use anyhow::{anyhow, Result};
use arsenic_hdl::regmap::{self, Access, Counter};
use arsenic_testbench::Sim;
use std::sync::atomic::Ordering;

/// Cycles between copies of every active page's read-only words.
pub const REFRESH_CYCLES: u64 = 4096;
/// Cycles a queue commit may keep `QCFG_STATUS` busy before the scan
/// gives up waiting and lets the driver see busy.
const COMMIT_WAIT_CYCLES: u64 = 20_000;

/// One register page and every mapping of it.
struct MirroredPage {
    page: Page,
    regs: Vec<(u32, Access)>,
    /// Views of the same registers: `resource0`'s page, and for a queue
    /// its page on its own (`sim/pages/queue-NNN`).
    views: Vec<SharedMap>,
    /// What each view held after the last scan or copy, per register.
    last: Vec<Vec<u32>>,
    /// Written to since the device started: its read-only words are kept
    /// fresh. Pages nobody uses cost nothing per refresh.
    active: bool,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct BarStats {
    pub writes: u64,
    pub commands: u64,
}

pub struct Bar {
    pages: Vec<MirroredPage>,
    pub stats: BarStats,
}

impl Bar {
    /// Mirrors the control page and `queues` queue pages; `views(page)`
    /// gives the mappings of each. Fills every word from the NIC.
    pub fn new(sim: &mut Sim, queues: u32, mut views: impl FnMut(Page) -> Result<Vec<SharedMap>>) -> Result<Bar> {
        let mut pages = Vec::new();
        let all = std::iter::once(Page::Control).chain((0..queues).map(Page::Queue));
        for page in all {
            let regs = match page {
                Page::Control => regmap::control_registers(),
                Page::Queue(_) => regmap::QUEUE_REGISTERS.to_vec(),
            };
            let views = views(page)?;
            let last = vec![vec![0; regs.len()]; views.len()];
            pages.push(MirroredPage { page, regs, views, last, active: page == Page::Control });
        }
        let mut bar = Bar { pages, stats: BarStats::default() };
        for i in 0..bar.pages.len() {
            bar.copy_in(sim, i, |a| a != Access::Command)?;
        }
        Ok(bar)
    }

    /// Replays every store made since the last scan; returns whether there
    /// was any.
    pub fn scan(&mut self, sim: &mut Sim) -> Result<bool> {
        let mut any = false;
        for i in 0..self.pages.len() {
            any |= self.scan_page(sim, i)?;
        }
        Ok(any)
    }

    /// Copies every active page's read-only words from the NIC.
    pub fn refresh(&mut self, sim: &mut Sim) -> Result<()> {
        for i in 0..self.pages.len() {
            if self.pages[i].active {
                self.copy_in(sim, i, |a| a == Access::ReadOnly)?;
            }
        }
        Ok(())
    }

    fn scan_page(&mut self, sim: &mut Sim, i: usize) -> Result<bool> {
        let p = &mut self.pages[i];
        // Commands first: whatever a command needs was stored before it,
        // so reading it first means its staging words are seen below.
        let mut commands = Vec::new();
        for (v, view) in p.views.iter().enumerate() {
            for &(offset, _) in p.regs.iter().filter(|r| r.1 == Access::Command) {
                let value = view.word(offset as usize).load(Ordering::Acquire);
                if value != 0 {
                    commands.push((v, offset, value));
                }
            }
        }
        let mut wrote = false;
        for v in 0..p.views.len() {
            for (r, &(offset, access)) in p.regs.iter().enumerate() {
                if access != Access::ReadWrite {
                    continue;
                }
                let value = p.views[v].word(offset as usize).load(Ordering::Acquire);
                if value == p.last[v][r] {
                    continue;
                }
                write(sim, p.page, offset, value)?;
                self.stats.writes += 1;
                wrote = true;
                p.last[v][r] = value;
                // The other views show the register's new value too.
                for w in (0..p.views.len()).filter(|&w| w != v) {
                    let _ = p.views[w].word(offset as usize).compare_exchange(
                        p.last[w][r],
                        value,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                    p.last[w][r] = p.views[w].word(offset as usize).load(Ordering::Acquire);
                }
            }
        }
        let page = p.page;
        p.active |= wrote || !commands.is_empty();
        for &(v, offset, value) in &commands {
            write(sim, page, offset, value)?;
            self.stats.commands += 1;
            self.after_command(sim, i, offset, value)?;
            // Taken: the word reads 0, unless the driver has already stored
            // a different command, which the next scan finds.
            let _ = self.pages[i].views[v].word(offset as usize).compare_exchange(
                value,
                0,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
        Ok(wrote || !commands.is_empty())
    }

    /// Brings the pages a command changed up to date before the driver
    /// sees it taken.
    fn after_command(&mut self, sim: &mut Sim, i: usize, offset: u32, value: u32) -> Result<()> {
        if self.pages[i].page != Page::Control {
            return Ok(());
        }
        match offset {
            regmap::QCFG_CMD => {
                // The driver next polls the status: let the NIC finish the
                // commit first, so the status it finds is the NIC's own.
                let start = sim.cycle();
                while read(sim, Page::Control, regmap::QCFG_STATUS)? & regmap::QCFG_STATUS_BUSY != 0
                    && sim.cycle() - start < COMMIT_WAIT_CYCLES
                {}
                self.copy_in(sim, i, |a| a == Access::ReadOnly)?;
                let queue = value & regmap::QCFG_CMD_QUEUE_MASK;
                if let Some(q) = self.pages.iter().position(|p| p.page == Page::Queue(queue)) {
                    self.pages[q].active = true;
                    self.copy_in(sim, q, |a| a == Access::ReadOnly)?;
                }
            }
            regmap::SHAPE_CMD if value & regmap::SHAPE_CMD_READ != 0 => {
                let shape = |o: u32| (regmap::SHAPE..regmap::SHAPE_CMD).contains(&o);
                self.copy_in_where(sim, i, |o, _| shape(o))?;
            }
            _ => {}
        }
        Ok(())
    }

    fn copy_in(&mut self, sim: &mut Sim, i: usize, which: impl Fn(Access) -> bool) -> Result<()> {
        self.copy_in_where(sim, i, |_, a| which(a))
    }

    /// Reads the chosen registers from the NIC into every view. A 64-bit
    /// counter is read low word first (which latches the high word) and
    /// stored in one 8-byte store, so a driver reading low then high gets
    /// one value unless the copy lands between its two loads.
    fn copy_in_where(&mut self, sim: &mut Sim, i: usize, which: impl Fn(u32, Access) -> bool) -> Result<()> {
        let p = &mut self.pages[i];
        let is_counter_low = |o: u32| p.page == Page::Control && Counter::ALL.iter().any(|c| c.offset() == o);
        let mut r = 0;
        while r < p.regs.len() {
            let (offset, access) = p.regs[r];
            if !which(offset, access) {
                r += 1;
                continue;
            }
            if is_counter_low(offset) {
                let lo = read(sim, p.page, offset)?;
                let hi = read(sim, p.page, offset + 4)?;
                for (v, view) in p.views.iter().enumerate() {
                    view.word64(offset as usize).store(u64::from(lo) | u64::from(hi) << 32, Ordering::Release);
                    p.last[v][r] = lo;
                    p.last[v][r + 1] = hi;
                }
                r += 2;
                continue;
            }
            let value = read(sim, p.page, offset)?;
            for (v, view) in p.views.iter().enumerate() {
                view.word(offset as usize).store(value, Ordering::Release);
                p.last[v][r] = value;
            }
            r += 1;
        }
        Ok(())
    }
}

fn write(sim: &mut Sim, page: Page, offset: u32, value: u32) -> Result<()> {
    sim.reg_write((page.base() + offset as u64) as u32, value).map_err(|e| anyhow!(e))
}

fn read(sim: &mut Sim, page: Page, offset: u32) -> Result<u32> {
    sim.reg_read((page.base() + offset as u64) as u32).map_err(|e| anyhow!(e))
}
