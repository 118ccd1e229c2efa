//! Where DMA memory sits in the NIC's view through the IOMMU (its I/O
//! virtual addresses). Each region gets whole IOMMU pages and an unmapped
//! guard page after it, so a descriptor that runs past its buffer faults in
//! the IOMMU instead of landing in the next region; IOVA 0 is never handed
//! out, so a zeroed descriptor faults too.

use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::ops::Range;

pub struct IovaAllocator {
    /// The ranges the IOMMU accepts, sorted, page 0 cut off.
    ranges: Vec<Range<u64>>,
    page: u64,
    max_mappings: u32,
    /// Start of each region to the end of its guard page.
    used: BTreeMap<u64, u64>,
}

fn align_up(x: u64, align: u64) -> Option<u64> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}

impl IovaAllocator {
    /// `valid`: the IOVA ranges the IOMMU accepts; `page`: its mapping
    /// granule (a power of two); `max_mappings`: how many mappings it holds.
    pub fn new(valid: &[Range<u64>], page: u64, max_mappings: u32) -> Result<IovaAllocator> {
        if !page.is_power_of_two() || page < 4096 {
            bail!("the IOMMU's page of {page} bytes is not a power of two of 4 KiB or more");
        }
        let mut ranges: Vec<Range<u64>> = valid
            .iter()
            .filter_map(|r| Some(align_up(r.start.max(page), page)?..r.end & !(page - 1)))
            .filter(|r| r.start < r.end)
            .collect();
        ranges.sort_by_key(|r| r.start);
        if ranges.is_empty() {
            bail!("the IOMMU offers no usable I/O virtual addresses (valid ranges {valid:x?})");
        }
        Ok(IovaAllocator { ranges, page, max_mappings, used: BTreeMap::new() })
    }

    /// A region of at least `len` bytes aligned to `align` (rounded up to a
    /// page); returns its IOVA.
    pub fn alloc(&mut self, len: u64, align: u64) -> Result<u64> {
        if !align.is_power_of_two() {
            bail!("IOVA alignment {align} is not a power of two");
        }
        if self.used.len() as u64 >= self.max_mappings as u64 {
            bail!(
                "the IOMMU holds at most {} DMA mappings and all are in use: free DMA memory first, or use huge pages for fewer, larger regions",
                self.max_mappings
            );
        }
        let align = align.max(self.page);
        let size = align_up(len.max(1), self.page);
        let span = size.and_then(|s| s.checked_add(self.page));
        if let Some(span) = span {
            for range in &self.ranges {
                if let Some(start) = self.fit(range, span, align) {
                    self.used.insert(start, start + span);
                    return Ok(start);
                }
            }
        }
        bail!(
            "no room for {len} bytes of DMA memory in the IOMMU's address space ({} regions mapped): free DMA memory first",
            self.used.len()
        )
    }

    /// The lowest start in `range` for `span` bytes clear of every region.
    fn fit(&self, range: &Range<u64>, span: u64, align: u64) -> Option<u64> {
        let mut start = align_up(range.start, align)?;
        for (&s, &e) in self.used.range(..range.end) {
            if e <= start {
                continue;
            }
            if start.checked_add(span)? <= s {
                break;
            }
            start = align_up(e, align)?;
        }
        (start.checked_add(span)? <= range.end).then_some(start)
    }

    /// Gives back the region starting at `iova`.
    pub fn free(&mut self, iova: u64) -> Result<()> {
        if self.used.remove(&iova).is_none() {
            bail!("IOVA {iova:#x} is not the start of an allocated region");
        }
        Ok(())
    }

    /// Regions allocated.
    pub fn regions(&self) -> usize {
        self.used.len()
    }
}

#[cfg(test)]
// `&[0..n]` is a list of valid IOVA ranges that holds one, not a mistake.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PAGE: u64 = 4096;

    fn allocator() -> IovaAllocator {
        IovaAllocator::new(&[0..1 << 32], PAGE, 1000).unwrap()
    }

    #[test]
    fn regions_are_page_aligned_never_at_zero_and_a_guard_page_apart() {
        let mut a = allocator();
        let first = a.alloc(100, 1).unwrap();
        assert_eq!(first, PAGE, "page 0 is never handed out");
        let second = a.alloc(PAGE + 1, 1).unwrap();
        assert_eq!(second, first + PAGE + PAGE, "one page for 100 bytes, then a guard page");
        let third = a.alloc(1, 1).unwrap();
        assert_eq!(third, second + 2 * PAGE + PAGE);
        assert!([first, second, third].iter().all(|x| x % PAGE == 0));
    }

    #[test]
    fn alignment_is_honoured_for_huge_page_regions() {
        let mut a = allocator();
        a.alloc(1, 1).unwrap();
        let huge = a.alloc(2 << 20, 2 << 20).unwrap();
        assert_eq!(huge, 2 << 20);
        assert!(a.alloc(1, 3).unwrap_err().to_string().contains("not a power of two"));
    }

    #[test]
    fn freed_space_is_reused_and_unknown_frees_are_refused() {
        let mut a = allocator();
        let x = a.alloc(PAGE, 1).unwrap();
        let y = a.alloc(PAGE, 1).unwrap();
        a.free(x).unwrap();
        assert_eq!(a.regions(), 1);
        assert_eq!(a.alloc(PAGE, 1).unwrap(), x);
        let e = a.free(y + PAGE).unwrap_err().to_string();
        assert!(e.contains("is not the start of an allocated region"), "{e}");
        a.free(y).unwrap();
        assert!(a.free(y).is_err(), "a double free is refused");
    }

    #[test]
    fn exhaustion_is_refused_with_the_fix() {
        // Room for exactly two one-page regions with their guards.
        let mut a = IovaAllocator::new(&[PAGE..5 * PAGE], PAGE, 10).unwrap();
        a.alloc(1, 1).unwrap();
        a.alloc(PAGE, 1).unwrap();
        let e = a.alloc(1, 1).unwrap_err().to_string();
        assert_eq!(e, "no room for 1 bytes of DMA memory in the IOMMU's address space (2 regions mapped): free DMA memory first");
        assert!(a.alloc(u64::MAX, 1).is_err(), "no overflow on a huge request");
    }

    #[test]
    fn the_mapping_limit_is_refused_with_the_fix() {
        let mut a = IovaAllocator::new(&[0..1 << 40], PAGE, 2).unwrap();
        a.alloc(1, 1).unwrap();
        a.alloc(1, 1).unwrap();
        let e = a.alloc(1, 1).unwrap_err().to_string();
        assert!(e.contains("at most 2 DMA mappings") && e.contains("free DMA memory first"), "{e}");
    }

    #[test]
    fn holes_between_valid_ranges_are_skipped() {
        // As on x86, where the MSI window 0xfee00000.. is not mappable.
        let mut a = IovaAllocator::new(&[0xfef0_0000..1 << 40, 0..0xfee0_0000], PAGE, 10).unwrap();
        let big = a.alloc(0xfee0_0000, 1).unwrap();
        assert_eq!(big, 0xfef0_0000, "too big for the low range, so placed in the high one");
        assert_eq!(a.alloc(1, 1).unwrap(), PAGE);
        let e = IovaAllocator::new(&[0..PAGE], PAGE, 1).err().unwrap().to_string();
        assert!(e.contains("no usable I/O virtual addresses"), "{e}");
        assert!(IovaAllocator::new(&[0..1 << 20], 1000, 1).is_err());
    }

    proptest! {
        #[test]
        fn regions_never_overlap_or_touch(ops in proptest::collection::vec((0u64..5 * PAGE, 0usize..4, any::<bool>()), 1..60)) {
            let mut a = IovaAllocator::new(&[0..64 * PAGE, 100 * PAGE..160 * PAGE], PAGE, 40).unwrap();
            let mut live: Vec<(u64, u64)> = Vec::new();
            for (len, which, free) in ops {
                if free && !live.is_empty() {
                    let (start, _) = live.remove(which % live.len());
                    a.free(start).unwrap();
                    continue;
                }
                if let Ok(start) = a.alloc(len, 1) {
                    let end = start + align_up(len.max(1), PAGE).unwrap();
                    prop_assert!(start % PAGE == 0 && start != 0);
                    prop_assert!((start < 64 * PAGE && end < 64 * PAGE) || (start >= 100 * PAGE && end < 160 * PAGE));
                    for &(s, e) in &live {
                        // At least a guard page between any two regions.
                        prop_assert!(end + PAGE <= s || e + PAGE <= start, "{start:#x}..{end:#x} against {s:#x}..{e:#x}");
                    }
                    live.push((start, end));
                }
            }
        }
    }
}
