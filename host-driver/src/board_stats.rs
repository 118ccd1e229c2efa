//! The Versa shell's per-port MAC statistics, read over the UART from the
//! shell's statistics window (`arsenic_hdl::board::versa_ecp5::regions`).

use crate::device::uart::UartDevice;
use anyhow::{Context, Result};
use arsenic_hdl::board::versa_ecp5::regions::{stat_offset, PortStat, FORWARD_DROPS, PORTS, STATS_WINDOW};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct BoardStats {
    /// Port 0 first; each counter by its name.
    pub ports: Vec<BTreeMap<&'static str, u32>>,
    /// Frames from port 1 dropped because the FIFO to port 0 was full.
    pub forward_drops: u32,
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
    let forward_drops = dev.read32_at(STATS_WINDOW + FORWARD_DROPS).context("reading the forward drops")?;
    Ok(BoardStats { ports, forward_drops })
}
