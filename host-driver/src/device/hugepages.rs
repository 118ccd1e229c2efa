//! Pinned DMA memory, in the manner of ixy: anonymous memory locked in RAM
//! and found at its physical address through /proc/self/pagemap, for a
//! board on a host with no IOMMU, where the NIC sees physical addresses.
//! The vfio backend maps the same kind of memory through the IOMMU instead.
//!
//! Without an IOMMU nothing makes pages that are adjacent in our address
//! space adjacent in physical memory, so a block is physically contiguous
//! only within one page: 4 KiB, or 2 MiB where the host has huge pages.
//! `PinnedMemory::alloc` refuses anything larger rather than hand the NIC
//! an address range that runs into someone else's memory.
//!
//! Physical addresses are what the NIC sees only where no IOMMU translates
//! for it: on a host whose IOMMU is on, use the vfio backend (or boot with
//! iommu=pt, which lets devices use physical addresses).

use crate::dma::DmaBlock;
use anyhow::{bail, Context, Result};
use memmap2::{MmapMut, MmapOptions};
use std::os::unix::fs::FileExt;
use std::ptr::NonNull;
use std::rc::Rc;

/// The base page this driver assumes, and the huge page it asks for.
pub const BASE_PAGE: usize = 4096;
pub const HUGE_PAGE: usize = 2 << 20;
/// log2 of `HUGE_PAGE`: mmap's MAP_HUGE_2MB.
const HUGE_PAGE_BITS: u8 = 21;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSize {
    Base4K,
    Huge2M,
}

impl PageSize {
    pub fn bytes(self) -> usize {
        match self {
            PageSize::Base4K => BASE_PAGE,
            PageSize::Huge2M => HUGE_PAGE,
        }
    }

    /// `len` rounded up to whole pages (one page at least).
    pub fn round_up(self, len: usize) -> usize {
        len.max(1).div_ceil(self.bytes()) * self.bytes()
    }
}

/// The huge-page lines of /proc/meminfo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HugePageInfo {
    /// `HugePages_Free`: pages of the default huge size nobody holds.
    pub free: u64,
    /// `Hugepagesize` in bytes: the default huge size (0 when the kernel
    /// has no hugetlbfs, which prints neither line).
    pub page_bytes: u64,
}

impl HugePageInfo {
    pub fn parse(meminfo: &str) -> Result<HugePageInfo> {
        let mut info = HugePageInfo::default();
        for line in meminfo.lines() {
            let Some((key, value)) = line.split_once(':') else { continue };
            let mut words = value.split_whitespace();
            let number = || -> Result<u64> {
                value
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .with_context(|| format!("/proc/meminfo line '{line}' has no number"))
            };
            match key.trim() {
                "HugePages_Free" => info.free = number()?,
                "Hugepagesize" => {
                    let n = number()?;
                    info.page_bytes = match words.nth(1) {
                        Some("kB") => n * 1024,
                        None => n,
                        Some(unit) => bail!("/proc/meminfo gives Hugepagesize in '{unit}', expected kB"),
                    };
                }
                _ => {}
            }
        }
        Ok(info)
    }

    pub fn read() -> Result<HugePageInfo> {
        let text = std::fs::read_to_string("/proc/meminfo").context("reading /proc/meminfo for the free huge pages")?;
        HugePageInfo::parse(&text)
    }

    /// Whether `pages` free huge pages of 2 MiB are there to be had.
    fn has_2m(&self, pages: u64) -> bool {
        self.page_bytes == HUGE_PAGE as u64 && self.free >= pages
    }
}

/// Which page to back `len` bytes of pinned memory with when the NIC sees
/// physical addresses: one 4 KiB page if it fits, else one 2 MiB huge page
/// if the host has one free; anything else is refused, saying why.
pub fn pinned_page(len: usize, info: &HugePageInfo) -> Result<PageSize> {
    if len <= BASE_PAGE {
        return Ok(PageSize::Base4K);
    }
    if len > HUGE_PAGE {
        bail!(
            "{len} bytes of DMA memory without an IOMMU: the NIC sees physical addresses, which are contiguous only within one page (at most a 2 MiB huge page): allocate 2 MiB or less, or use the vfio backend"
        );
    }
    if !info.has_2m(1) {
        bail!(
            "{len} bytes of DMA memory without an IOMMU need one 2 MiB huge page (a 4 KiB page holds 4096 and physical addresses are contiguous only within a page), and the host has none free ({}): sysctl vm.nr_hugepages=64, or use the vfio backend",
            describe(info)
        );
    }
    Ok(PageSize::Huge2M)
}

/// Which page to back `len` bytes with when an IOMMU maps them: any pages
/// will do, huge ones mean fewer IOMMU entries and TLB misses. Never fails;
/// the text says which and why, for the user to read once.
pub fn iommu_page(len: usize, info: &HugePageInfo) -> (PageSize, String) {
    if len <= BASE_PAGE {
        return (PageSize::Base4K, format!("DMA memory of {len} bytes in a 4 KiB page: it fits one"));
    }
    let needed = PageSize::Huge2M.round_up(len) / HUGE_PAGE;
    if info.has_2m(needed as u64) {
        (PageSize::Huge2M, format!("DMA memory in 2 MiB huge pages ({needed} of {} free)", info.free))
    } else {
        (
            PageSize::Base4K,
            format!(
                "DMA memory in 4 KiB pages: {needed} free 2 MiB huge pages needed, {} (sysctl vm.nr_hugepages=64 gives the IOMMU fewer, larger mappings)",
                describe(info)
            ),
        )
    }
}

fn describe(info: &HugePageInfo) -> String {
    if info.page_bytes == 0 {
        "the kernel has no huge pages".to_string()
    } else if info.page_bytes != HUGE_PAGE as u64 {
        format!("the default huge page is {} kB, not 2048 kB", info.page_bytes / 1024)
    } else {
        format!("HugePages_Free {}", info.free)
    }
}

/// The physical frame number in a /proc/self/pagemap entry: bit 63 says the
/// page is in RAM, bits 0..54 hold the frame, which the kernel shows as 0
/// to a process without CAP_SYS_ADMIN.
pub fn pagemap_frame(entry: u64) -> Result<u64> {
    if entry >> 63 == 0 {
        bail!("a locked DMA page is not present in RAM (pagemap entry {entry:#018x}): the kernel did not keep it resident");
    }
    let frame = entry & ((1 << 55) - 1);
    if frame == 0 {
        bail!("reading physical addresses needs CAP_SYS_ADMIN: run as root");
    }
    Ok(frame)
}

/// The physical address of the byte at `addr` in this process.
pub fn physical_address(addr: usize) -> Result<u64> {
    let pagemap = std::fs::File::open("/proc/self/pagemap").context("opening /proc/self/pagemap to find physical addresses")?;
    let mut entry = [0u8; 8];
    pagemap
        .read_exact_at(&mut entry, (addr / BASE_PAGE) as u64 * 8)
        .context("reading /proc/self/pagemap: run as root")?;
    Ok(pagemap_frame(u64::from_le_bytes(entry))? * BASE_PAGE as u64 + (addr % BASE_PAGE) as u64)
}

/// Anonymous memory locked in RAM and touched, so every page has its frame
/// for as long as this lives; unmapped on drop.
pub struct PinnedMemory {
    map: MmapMut,
    page: PageSize,
}

impl PinnedMemory {
    /// `len` bytes, rounded up to whole pages of `page`, zeroed, touched
    /// and, if `lock`, locked in RAM. Only memory the IOMMU will pin goes
    /// unlocked: VFIO_IOMMU_MAP_DMA pins it itself and charges it to the
    /// same locked-memory limit, which mlock would charge a second time.
    pub fn map(len: usize, page: PageSize, lock: bool) -> Result<PinnedMemory> {
        if host_page() != BASE_PAGE {
            bail!("this host's base page is {} bytes; the driver needs 4 KiB pages to isolate queue pages and find frames", host_page());
        }
        let bytes = page.round_up(len);
        let mut options = MmapOptions::new();
        options.len(bytes).populate();
        if page == PageSize::Huge2M {
            options.huge(Some(HUGE_PAGE_BITS));
        }
        let mut map = options.map_anon().with_context(|| match page {
            PageSize::Huge2M => format!("mapping {bytes} bytes of 2 MiB huge pages: free huge pages ran out (see HugePages_Free in /proc/meminfo)"),
            PageSize::Base4K => format!("mapping {bytes} bytes of DMA memory"),
        })?;
        if lock {
            map.lock().with_context(|| {
                format!("locking {bytes} bytes of DMA memory in RAM: raise the locked-memory limit (ulimit -l) or run as root")
            })?;
        }
        // A page mapped but never written may still be the shared zero
        // page; writing makes it ours before anyone asks for its frame.
        for at in (0..bytes).step_by(BASE_PAGE) {
            map[at] = 0;
        }
        Ok(PinnedMemory { map, page })
    }

    /// `len` bytes the NIC reaches at their physical address, in one page
    /// (`pinned_page` says which, or why none will do).
    pub fn alloc(len: usize) -> Result<DmaBlock> {
        let page = pinned_page(len, &HugePageInfo::read()?)?;
        let mut memory = PinnedMemory::map(len, page, true)?;
        let ptr = memory.ptr();
        let bus = physical_address(ptr.as_ptr() as usize)?;
        let bytes = memory.len();
        // SAFETY: the mapping is `bytes` long, writable, locked in RAM (so
        // its frame, and thus `bus`, never changes) and lives as long as
        // the Rc the block holds; it lies in one page, so physically
        // contiguous from `bus`; nothing else has a pointer into it.
        Ok(unsafe { DmaBlock::new(ptr, bytes, bus, Rc::new(memory)) })
    }

    pub fn ptr(&mut self) -> NonNull<u8> {
        NonNull::new(self.map.as_mut_ptr()).expect("mmap never returns null")
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn page(&self) -> PageSize {
        self.page
    }
}

/// The host's base page size in bytes.
pub fn host_page() -> usize {
    // SAFETY: sysconf reads a constant and touches no memory of ours.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:       16318480 kB\n\
                           HugePages_Total:      64\n\
                           HugePages_Free:       60\n\
                           HugePages_Rsvd:        0\n\
                           Hugepagesize:       2048 kB\n\
                           Hugetlb:          131072 kB\n";

    fn info(free: u64, page_kb: u64) -> HugePageInfo {
        HugePageInfo { free, page_bytes: page_kb * 1024 }
    }

    #[test]
    fn meminfo_gives_free_huge_pages_and_their_size() {
        assert_eq!(HugePageInfo::parse(MEMINFO).unwrap(), info(60, 2048));
        assert_eq!(HugePageInfo::parse("MemTotal: 1 kB\n").unwrap(), HugePageInfo::default());
        let e = HugePageInfo::parse("HugePages_Free: lots\n").unwrap_err().to_string();
        assert!(e.contains("has no number"), "{e}");
        let e = HugePageInfo::parse("Hugepagesize: 2 MB\n").unwrap_err().to_string();
        assert!(e.contains("expected kB"), "{e}");
    }

    #[test]
    fn pagemap_entries_give_the_frame_or_say_what_is_missing() {
        assert_eq!(pagemap_frame((1 << 63) | 0x12345).unwrap(), 0x12345);
        // Bits 55..62 are flags (soft-dirty, exclusive, file, swapped).
        assert_eq!(pagemap_frame((1 << 63) | (1 << 55) | (1 << 61) | 7).unwrap(), 7);
        assert_eq!(pagemap_frame((1 << 63) | ((1 << 55) - 1)).unwrap(), (1 << 55) - 1);
        assert_eq!(
            pagemap_frame(1 << 63).unwrap_err().to_string(),
            "reading physical addresses needs CAP_SYS_ADMIN: run as root"
        );
        assert!(pagemap_frame(0x12345).unwrap_err().to_string().contains("not present in RAM"));
    }

    #[test]
    fn pinned_memory_takes_the_smallest_page_that_holds_it() {
        assert_eq!(pinned_page(0, &info(0, 0)).unwrap(), PageSize::Base4K);
        assert_eq!(pinned_page(4096, &info(0, 2048)).unwrap(), PageSize::Base4K);
        assert_eq!(pinned_page(4097, &info(1, 2048)).unwrap(), PageSize::Huge2M);
        assert_eq!(pinned_page(HUGE_PAGE, &info(1, 2048)).unwrap(), PageSize::Huge2M);
    }

    #[test]
    fn pinned_memory_refuses_what_one_page_cannot_hold_and_says_why() {
        let e = pinned_page(HUGE_PAGE + 1, &info(60, 2048)).unwrap_err().to_string();
        assert!(e.starts_with("2097153 bytes of DMA memory without an IOMMU"), "{e}");
        assert!(e.contains("contiguous only within one page (at most a 2 MiB huge page)") && e.contains("vfio"), "{e}");
        let e = pinned_page(8192, &info(0, 2048)).unwrap_err().to_string();
        assert!(e.contains("need one 2 MiB huge page") && e.contains("HugePages_Free 0"), "{e}");
        assert!(e.contains("sysctl vm.nr_hugepages=64"), "{e}");
        let e = pinned_page(8192, &info(4, 1 << 20)).unwrap_err().to_string();
        assert!(e.contains("default huge page is 1048576 kB, not 2048 kB"), "{e}");
        let e = pinned_page(8192, &info(0, 0)).unwrap_err().to_string();
        assert!(e.contains("the kernel has no huge pages"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn iommu_memory_uses_huge_pages_when_enough_are_free_and_says_which() {
        let (page, why) = iommu_page(4 << 20, &info(60, 2048));
        assert_eq!(page, PageSize::Huge2M);
        assert_eq!(why, "DMA memory in 2 MiB huge pages (2 of 60 free)");
        let (page, why) = iommu_page((4 << 20) + 1, &info(2, 2048));
        assert_eq!(page, PageSize::Base4K);
        assert!(why.starts_with("DMA memory in 4 KiB pages: 3 free 2 MiB huge pages needed, HugePages_Free 2"), "{why}");
        assert!(why.contains("vm.nr_hugepages"), "{why}");
        assert_eq!(iommu_page(64, &info(60, 2048)).0, PageSize::Base4K);
    }

    #[test]
    fn page_sizes_round_up_to_whole_pages() {
        assert_eq!(PageSize::Base4K.round_up(0), 4096);
        assert_eq!(PageSize::Base4K.round_up(4097), 8192);
        assert_eq!(PageSize::Huge2M.round_up(1), HUGE_PAGE);
        assert_eq!(PageSize::Huge2M.round_up(HUGE_PAGE + 1), 2 * HUGE_PAGE);
    }

    /// The known one-line refusals of the real allocation path.
    fn known_refusal(e: &anyhow::Error) -> bool {
        let text = format!("{e:#}");
        !text.contains('\n')
            && ["needs CAP_SYS_ADMIN: run as root", "ulimit -l", "reading /proc/self/pagemap: run as root"]
                .iter()
                .any(|fix| text.contains(fix))
    }

    #[test]
    fn a_real_4k_block_has_a_physical_address_or_the_one_line_reason() {
        match PinnedMemory::alloc(1500) {
            Ok(block) => {
                assert_eq!(block.len(), 4096);
                assert_ne!(block.bus(0), 0);
                assert_eq!(block.bus(0) % 4096, 0, "a page starts on a frame boundary");
                assert_eq!(block.read_u64(0), 0);
                block.write_u64(4088, 0x1234);
                assert_eq!(block.read_u64(4088), 0x1234);
            }
            Err(e) => {
                eprintln!("this host refuses pinned memory: {e:#}");
                assert!(known_refusal(&e), "unexpected refusal: {e:#}")
            }
        }
    }

    #[test]
    fn a_real_block_past_4k_takes_a_huge_page_or_is_refused_saying_why() {
        let host = HugePageInfo::read().unwrap();
        match PinnedMemory::alloc(64 * 1024) {
            Ok(block) => {
                assert!(host.free > 0, "a huge page was had with none free");
                assert_eq!(block.len(), HUGE_PAGE);
                assert_eq!(block.bus(0) % HUGE_PAGE as u64, 0, "a huge page starts on a 2 MiB frame boundary");
            }
            Err(e) if host.page_bytes != HUGE_PAGE as u64 || host.free == 0 => {
                eprintln!("this host has no free huge page: {e:#}");
                assert!(format!("{e}").contains("need one 2 MiB huge page"), "{e:#}")
            }
            Err(e) => assert!(known_refusal(&e), "unexpected refusal: {e:#}"),
        }
    }
}
