//! Which part of BAR0 each register page occupies: what the vfio backend
//! maps, one page at a time, so a handle to one queue's page reaches that
//! queue's registers and nothing else.

use crate::device::Page;
use anyhow::{bail, Result};
use arsenic_hdl::regmap::PAGE_BYTES;
use std::ops::Range;

/// The byte range of BAR0 that holds `page`, checked against the BAR's
/// length and the host's page size: a mapping covers whole host pages, so
/// only on 4 KiB hosts does one mapping hold exactly one register page.
pub fn page_layout(page: Page, bar_len: u64, host_page: u64) -> Result<Range<u64>> {
    if host_page != PAGE_BYTES as u64 {
        bail!(
            "this host maps memory in {host_page}-byte pages, so a mapping of one 4 KiB register page would expose its neighbours: the vfio backend needs a 4 KiB-page kernel"
        );
    }
    let start = page.base();
    let end = start + PAGE_BYTES as u64;
    if end > bar_len {
        bail!(
            "{page:?} lies at BAR0 {start:#x}..{end:#x}, past the end of the board's {bar_len}-byte BAR0, which holds the control page and {} queue pages",
            queue_pages(bar_len)
        );
    }
    Ok(start..end)
}

/// How many queue pages a BAR0 of `bar_len` bytes holds after the control page.
pub fn queue_pages(bar_len: u64) -> u32 {
    (bar_len / PAGE_BYTES as u64).saturating_sub(1).min(u32::MAX as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: u64 = 1024;

    #[test]
    fn each_page_is_its_own_4k_range() {
        assert_eq!(page_layout(Page::Control, 64 * KIB, 4096).unwrap(), 0..0x1000);
        assert_eq!(page_layout(Page::Queue(0), 64 * KIB, 4096).unwrap(), 0x1000..0x2000);
        assert_eq!(page_layout(Page::Queue(14), 64 * KIB, 4096).unwrap(), 0xf000..0x10000);
    }

    #[test]
    fn a_page_past_bar0_is_refused_with_the_bar_size() {
        let e = page_layout(Page::Queue(15), 64 * KIB, 4096).unwrap_err().to_string();
        assert_eq!(
            e,
            "Queue(15) lies at BAR0 0x10000..0x11000, past the end of the board's 65536-byte BAR0, which holds the control page and 15 queue pages"
        );
        assert!(page_layout(Page::Queue(u32::MAX), 64 * KIB, 4096).is_err(), "no wrap-around");
        assert!(page_layout(Page::Control, 0, 4096).is_err());
    }

    #[test]
    fn a_host_with_bigger_pages_is_refused() {
        let e = page_layout(Page::Queue(0), 1 << 20, 64 * KIB).unwrap_err().to_string();
        assert!(e.contains("65536-byte pages") && e.contains("expose its neighbours"), "{e}");
    }

    #[test]
    fn queue_pages_follow_the_control_page() {
        assert_eq!(queue_pages(64 * KIB), 15);
        assert_eq!(queue_pages(4 * KIB), 0);
        assert_eq!(queue_pages(0), 0);
    }
}
