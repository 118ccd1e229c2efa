//! Host memory of the simulated device: the 2 MiB chunks `arsenic
//! sim-device` shares, the way a board's driver takes huge pages. A chunk
//! is claimed with an exclusive `flock` on an open file, which lasts while
//! any process holds that open file (a handed-over descriptor shares it),
//! so two drivers never get the same chunk and a crashed process's chunks
//! come free again.

use super::shared_map::SharedMap;
use super::sim_dir::{self, SimDir, CHUNK_BYTES};
use crate::dma::DmaBlock;
use anyhow::{bail, Context, Result};
use std::os::fd::AsRawFd;
use std::fs::{File, OpenOptions};
use std::ptr::NonNull;
use std::rc::Rc;

/// A claimed chunk: its mapping and the open file whose lock makes it ours.
pub struct Chunk {
    map: SharedMap,
    bus: u64,
    file: File,
}

impl Chunk {
    pub fn bus(&self) -> u64 {
        self.bus
    }

    /// The open chunk file, for handing to another process.
    pub fn file(&self) -> &File {
        &self.file
    }
}

/// Claims a free chunk, zeroes it (a previous owner's data must not leak
/// to the next), and returns it.
pub fn claim(dir: &SimDir) -> Result<Chunk> {
    let text = std::fs::read_to_string(dir.memory_map())
        .with_context(|| format!("reading the simulated device's memory map {}", dir.memory_map().display()))?;
    for (name, bus, len) in sim_dir::parse_memory_map(&text)? {
        if len != CHUNK_BYTES {
            bail!("chunk {name} has {len} bytes, this driver expects {CHUNK_BYTES}");
        }
        let path = dir.memory().join(&name);
        let file = OpenOptions::new().read(true).write(true).open(&path).with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock on a descriptor this function owns; no memory is
        // involved. Never unlocked by hand: closing the last descriptor of
        // this open file releases it.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::WouldBlock {
                continue;
            }
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
        let map = SharedMap::new(&file, 0, CHUNK_BYTES, &path.display().to_string())?;
        // SAFETY: the chunk is ours (locked) and mapped for CHUNK_BYTES;
        // no descriptor names it yet, so the NIC does not touch it.
        unsafe { std::ptr::write_bytes(map.ptr(), 0, CHUNK_BYTES) };
        return Ok(Chunk { map, bus, file });
    }
    bail!(
        "all chunks of the simulated device's memory are taken; start `arsenic sim-device` with more (--chunks)"
    )
}

/// A block of DMA memory in a fresh chunk: one chunk per block, so a
/// block can be handed to another process without anything else.
pub fn alloc(dir: &SimDir, len: usize) -> Result<DmaBlock> {
    if len > CHUNK_BYTES {
        bail!(
            "a DMA block of {len} bytes is more than one 2 MiB chunk; without an IOMMU host memory is contiguous only within a huge page"
        );
    }
    block(Rc::new(claim(dir)?), len)
}

/// A `DmaBlock` over the first `len` bytes of `chunk`.
pub fn block(chunk: Rc<Chunk>, len: usize) -> Result<DmaBlock> {
    if len > chunk.map.len() {
        bail!("a DMA block of {len} bytes does not fit the {}-byte chunk", chunk.map.len());
    }
    let ptr = NonNull::new(chunk.map.ptr()).expect("a mapping is never at address 0");
    let bus = chunk.bus;
    // SAFETY: the chunk stays mapped while the Rc owner lives; the NIC
    // reaches it at `bus` (the simulator lends the same file there), and
    // the lock keeps every other driver out of it.
    Ok(unsafe { DmaBlock::new(ptr, len, bus, chunk) })
}

/// A chunk another process handed over: the descriptor shares the open
/// file, and so the claim, of the process that locked it.
pub fn adopt(file: File, bus: u64) -> Result<Rc<Chunk>> {
    let map = SharedMap::new(&file, 0, CHUNK_BYTES, "a handed-over DMA chunk")?;
    Ok(Rc::new(Chunk { map, bus, file }))
}
