//! The sysfs-shaped files of the simulated device: its configuration
//! header, identity and BAR list, as a board's folder has them.

use crate::device::sim_dir::SimDir;
use anyhow::{Context, Result};
use arsenic_hdl::pci::{self, config};

/// Where the simulated BAR0 claims to sit in the physical address space.
/// Only its size matters to a driver; the address is what a firmware
/// might have assigned.
pub const BAR0_ADDRESS: u64 = 0xfe00_0000;
/// Standard configuration space a sysfs `config` file shows to root.
const CONFIG_BYTES: usize = 256;

/// The type 0 header: identity, class, BAR0 as 32-bit memory, and memory
/// decoding on (firmware's job). Bus mastering is off until a driver
/// turns it on.
pub fn config_header() -> Vec<u8> {
    let mut c = vec![0u8; CONFIG_BYTES];
    c[config::VENDOR_ID..][..2].copy_from_slice(&pci::VENDOR_ID.to_le_bytes());
    c[config::DEVICE_ID..][..2].copy_from_slice(&pci::DEVICE_ID.to_le_bytes());
    c[config::COMMAND..][..2].copy_from_slice(&config::COMMAND_MEMORY.to_le_bytes());
    c[config::REVISION] = pci::REVISION;
    c[config::CLASS..][..3].copy_from_slice(&pci::CLASS_CODE.to_le_bytes()[..3]);
    c[config::BAR0..][..4].copy_from_slice(&(BAR0_ADDRESS as u32).to_le_bytes());
    c
}

/// The `resource` file: one line per BAR and one for the expansion ROM,
/// start, end and flags in hex, unused ones all zero.
pub fn resource_lines(bar_bytes: u64) -> String {
    let mem = 0x0004_0200u64;
    let mut s = format!("0x{:016x} 0x{:016x} 0x{mem:016x}\n", BAR0_ADDRESS, BAR0_ADDRESS + bar_bytes - 1);
    for _ in 0..6 {
        s.push_str(&format!("0x{0:016x} 0x{0:016x} 0x{0:016x}\n", 0));
    }
    s
}

pub fn write_identity(dir: &SimDir, bar_bytes: u64) -> Result<()> {
    let files = [
        ("config", config_header()),
        ("vendor", format!("0x{:04x}\n", pci::VENDOR_ID).into_bytes()),
        ("device", format!("0x{:04x}\n", pci::DEVICE_ID).into_bytes()),
        ("class", format!("0x{:06x}\n", pci::CLASS_CODE).into_bytes()),
        ("resource", resource_lines(bar_bytes).into_bytes()),
    ];
    for (name, bytes) in files {
        let bytes: Vec<u8> = bytes;
        std::fs::write(dir.root().join(name), bytes).with_context(|| format!("writing {}", dir.root().join(name).display()))?;
    }
    Ok(())
}
