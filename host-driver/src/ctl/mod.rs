//! Per-process protection: a privileged control process (`arsenic ctl`)
//! owns the device; an application process asks it for a queue over a
//! Unix socket and gets back, as descriptors, that queue's register page,
//! its memory and the device clock (read-only), and nothing else. The
//! folder the descriptors came from stays closed to the application, so
//! another queue's page, the control page and other applications' memory
//! are out of its reach; the NIC itself refuses DMA outside the queue's
//! window and frames whose headers are not the queue's.
//!
//! On a board, the page handle comes from a kernel driver's per-queue
//! mapping or an SR-IOV function; `arsenic sim-device` provides it as a
//! file per queue page (`sim/pages/queue-NNN`).

pub mod actions;
pub mod app;
mod fdpass;
pub mod server;

use crate::queue::QueueSpec;
use arsenic_hdl::queue::Template;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// The host the applications run on: their queues may send only from its
/// MAC and address, each from its own port.
pub const HOST_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0xA5, 0x00, 0x01];
pub const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);

/// Every application queue: 64 descriptors each way and 512 buffers of
/// 2 KiB, which fit one 2 MiB chunk beside nothing else.
pub fn app_spec(port: u16) -> QueueSpec {
    let template = Template { src_mac: Some(HOST_MAC), vlan: None, src_ip: Some(IpAddr::V4(HOST_IP)), src_port: Some(port) };
    QueueSpec { rx_ring_log2: 6, tx_ring_log2: 6, buffers: 512, buffer_bytes: 2048, template, event_count: 1, ..Default::default() }
}

/// What an application asks for: a queue, steered the UDP datagrams to
/// the host's `port` and allowed to send from it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Request {
    pub queue: u32,
    pub port: u16,
}

/// The answer, with descriptors in this order: the queue page, the
/// device clock, the ring chunk, the buffer chunk.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grant {
    pub queue: u32,
    pub port: u16,
    pub ring_bus: u64,
    pub pool_bus: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Reply {
    Granted(Grant),
    Refused(String),
}
