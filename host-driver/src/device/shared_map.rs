//! A page-aligned window of a file mapped shared: how the driver reaches a
//! BAR through sysfs (`resourceN`) and how the simulated device and its
//! drivers share register pages, DMA memory and the device clock. Only
//! this file and `dma.rs` turn a mapping into pointers.

use anyhow::{bail, Context, Result};
use memmap2::{MmapOptions, MmapRaw};
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64};

pub struct SharedMap {
    map: MmapRaw,
}

impl SharedMap {
    /// Maps `len` bytes of `file` from `offset` (a multiple of 4 KiB),
    /// refusing a window that runs past the file's end, where a load
    /// would fault rather than fail.
    pub fn new(file: &File, offset: u64, len: usize, what: &str) -> Result<SharedMap> {
        let size = file.metadata().with_context(|| format!("reading the size of {what}"))?.len();
        if !offset.is_multiple_of(4096) || len == 0 || offset.checked_add(len as u64).is_none_or(|end| end > size) {
            bail!("{what} has {size} bytes; it cannot be mapped at 0x{offset:x} for {len} bytes");
        }
        let map = MmapOptions::new()
            .offset(offset)
            .len(len)
            .map_raw(file)
            .with_context(|| format!("mapping {what} at 0x{offset:x}"))?;
        Ok(SharedMap { map })
    }

    /// Maps `len` bytes of `file` from 0 for reading only: a store through
    /// it faults, which is what a process given only a view must get.
    pub fn read_only(file: &File, len: usize, what: &str) -> Result<SharedMap> {
        let size = file.metadata().with_context(|| format!("reading the size of {what}"))?.len();
        if len == 0 || len as u64 > size {
            bail!("{what} has {size} bytes; it cannot be mapped for {len} bytes");
        }
        let map = MmapOptions::new().len(len).map_raw_read_only(file).with_context(|| format!("mapping {what}"))?;
        Ok(SharedMap { map })
    }

    /// Creates (or truncates) `path` as a file of `len` zero bytes and maps
    /// all of it. On tmpfs the pages exist only once touched.
    pub fn create(path: &Path, len: usize) -> Result<SharedMap> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.set_len(len as u64).with_context(|| format!("sizing {}", path.display()))?;
        SharedMap::new(&file, 0, len, &path.display().to_string())
    }

    /// Opens `path` read-write and maps `len` bytes from `offset`.
    pub fn open(path: &Path, offset: u64, len: usize) -> Result<SharedMap> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        SharedMap::new(&file, offset, len, &path.display().to_string())
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    pub fn ptr(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    /// The 32-bit word at byte `offset`.
    pub fn word(&self, offset: usize) -> &AtomicU32 {
        assert!(offset.is_multiple_of(4) && offset + 4 <= self.len(), "word 0x{offset:x} outside a {}-byte map", self.len());
        // SAFETY: in bounds and 4-aligned (the map is page aligned); any
        // bit pattern is a valid AtomicU32, and the mapping lives as long
        // as `self`. Other processes change the word behind our back,
        // which is what atomics are for: every access goes through them.
        unsafe { &*(self.ptr().add(offset) as *const AtomicU32) }
    }

    /// The 64-bit word at byte `offset`.
    pub fn word64(&self, offset: usize) -> &AtomicU64 {
        assert!(offset.is_multiple_of(8) && offset + 8 <= self.len(), "word 0x{offset:x} outside a {}-byte map", self.len());
        // SAFETY: as in `word`, 8-aligned.
        unsafe { &*(self.ptr().add(offset) as *const AtomicU64) }
    }
}
