//! The folder `arsenic sim-device` serves the simulated NIC from, shaped
//! like the device's folder in sysfs (`config`, `vendor`, `device`,
//! `class`, `resource`, `resource0`) so the `sysfs` backend opens it as it
//! would a board, plus a `sim/` folder for what a real machine provides
//! in other ways:
//!
//! | path | what | on a board instead |
//! | --- | --- | --- |
//! | `sim/clock` | the device's cycle counter and state | wall-clock time |
//! | `sim/memory/chunk-NNN` | 2 MiB of host memory the NIC reaches at `chunk_bus(N)` | a huge page, its address from `/proc/self/pagemap` |
//! | `sim/memory/map` | the chunks' bus addresses, one line each | the kernel's page tables |
//! | `sim/pages/queue-NNN` | queue N's register page on its own, for handing to one process | a kernel driver's per-queue mapping, or an SR-IOV function |
//! | `sim/wire` | the Ethernet port, a `SOCK_SEQPACKET` socket (`sim_wire`) | the cable |

use std::path::{Path, PathBuf};

/// One chunk of simulated host memory: a 2 MiB huge page's worth.
pub const CHUNK_BYTES: usize = 2 << 20;
/// Bus address of chunk 0; above 4 GiB so every DMA address uses the
/// upper half of its 64 bits, as the in-process arena's do.
pub const CHUNK_BUS_BASE: u64 = 0x20_0000_0000;
/// Chunks sit twice their size apart: an access running off the end of
/// one lands in no other, as physical pages of different owners would
/// not be neighbours on purpose either.
pub const CHUNK_STRIDE: u64 = 2 * CHUNK_BYTES as u64;

pub fn chunk_bus(n: usize) -> u64 {
    CHUNK_BUS_BASE + n as u64 * CHUNK_STRIDE
}

/// Layout of `sim/clock`: the core cycle (u64), the simulator's process
/// id (u32) and its state (u32, `STATE_*`).
pub const CLOCK_BYTES: usize = 4096;
pub const CLOCK_CYCLE: usize = 0;
pub const CLOCK_PID: usize = 8;
pub const CLOCK_STATE: usize = 12;
pub const STATE_STARTING: u32 = 0;
pub const STATE_RUNNING: u32 = 1;
pub const STATE_STOPPED: u32 = 2;

#[derive(Clone, Debug)]
pub struct SimDir {
    root: PathBuf,
}

impl SimDir {
    pub fn new(root: &Path) -> SimDir {
        SimDir { root: root.to_path_buf() }
    }

    /// Whether `root` is a simulated device rather than a board's folder.
    pub fn is_simulated(root: &Path) -> bool {
        SimDir::new(root).clock().exists()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> PathBuf {
        self.root.join("config")
    }

    pub fn resource(&self) -> PathBuf {
        self.root.join("resource")
    }

    pub fn resource0(&self) -> PathBuf {
        self.root.join("resource0")
    }

    pub fn sim(&self) -> PathBuf {
        self.root.join("sim")
    }

    pub fn clock(&self) -> PathBuf {
        self.sim().join("clock")
    }

    pub fn memory(&self) -> PathBuf {
        self.sim().join("memory")
    }

    pub fn memory_map(&self) -> PathBuf {
        self.memory().join("map")
    }

    pub fn chunk(&self, n: usize) -> PathBuf {
        self.memory().join(format!("chunk-{n:03}"))
    }

    pub fn pages(&self) -> PathBuf {
        self.sim().join("pages")
    }

    pub fn queue_page(&self, queue: u32) -> PathBuf {
        self.pages().join(format!("queue-{queue:03}"))
    }

    pub fn wire(&self) -> PathBuf {
        self.sim().join("wire")
    }
}

/// Parses `sim/memory/map`: lines of `chunk-NNN 0xBUS BYTES`.
pub fn parse_memory_map(text: &str) -> anyhow::Result<Vec<(String, u64, usize)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let parsed = (f.len() == 3)
            .then(|| Some((f[0].to_string(), u64::from_str_radix(f[1].strip_prefix("0x")?, 16).ok()?, f[2].parse().ok()?)))
            .flatten();
        match parsed {
            Some(entry) => out.push(entry),
            None => anyhow::bail!("line {} of the memory map is not `chunk-NNN 0xBUS BYTES`: {line:?}", i + 1),
        }
    }
    Ok(out)
}

pub fn format_memory_map(chunks: usize) -> String {
    (0..chunks).map(|n| format!("chunk-{n:03} 0x{:x} {CHUNK_BYTES}\n", chunk_bus(n))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_map_round_trips_and_rejects_garbage() {
        let map = parse_memory_map(&format_memory_map(3)).unwrap();
        assert_eq!(map.len(), 3);
        assert_eq!(map[2], ("chunk-002".to_string(), chunk_bus(2), CHUNK_BYTES));
        assert!(chunk_bus(1) - chunk_bus(0) > CHUNK_BYTES as u64, "chunks must not touch");
        for bad in ["chunk-000 12 2097152", "chunk-000 0x10", "chunk-000 0xzz 4096"] {
            let e = parse_memory_map(bad).unwrap_err().to_string();
            assert!(e.contains("line 1"), "{e}");
        }
    }
}
