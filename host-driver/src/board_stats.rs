//! The Versa shell's per-port MAC statistics, read over the UART from the
//! shell's statistics window (`arsenic_hdl::board::versa_ecp5::regions`).

use crate::device::uart::UartDevice;
use anyhow::{Context, Result};
use arsenic_hdl::board::versa_ecp5::regions::{stat_offset, PortStat, PORTS, STATS_WINDOW, UNLEARNED_FRAMES};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct BoardStats {
    /// Port 0 first; each counter by its name.
    pub ports: Vec<BTreeMap<&'static str, u32>>,
    /// Frames the core sent by port 1 because their source MAC was never
    /// received on either port (the board sends a learned source's frames
    /// out of the other port).
    pub unlearned_frames: u32,
}

pub fn read(dev: &UartDevice) -> Result<BoardStats> {
    let mut ports = vec![];
    for port in 0..PORTS {
        let mut values = BTreeMap::new();
        for stat in PortStat::ALL {
            let addr = STATS_WINDOW + stat_offset(port, stat);
            let v = dev.read32_at(addr).with_context(|| format!("reading port {port} {}", stat.name()))?;
            values.insert(stat.name(), v);
        }
        ports.push(values);
    }
    let unlearned_frames = dev.read32_at(STATS_WINDOW + UNLEARNED_FRAMES).context("reading the count of unlearned frames")?;
    Ok(BoardStats { ports, unlearned_frames })
}
