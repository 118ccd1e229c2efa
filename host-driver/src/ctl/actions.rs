//! What `arsenic app` does with a granted queue: send UDP datagrams from
//! its port, take those addressed to it, and try what an application must
//! not be able to do, reporting each attempt's outcome.

use super::app::GrantedQueue;
use super::{HOST_IP, HOST_MAC};
use crate::traffic::{udp4, Udp4};
use anyhow::{bail, Result};
use arsenic_hdl::queue::{post_word, DESC_WRITEBACK_OFFSET};
use arsenic_hdl::regmap;
use serde::Serialize;
use std::collections::VecDeque;
use std::path::Path;

/// Device cycles an application waits for its traffic: 8 ms of device
/// time, ample for a few dozen frames at 1 Gb/s.
const WAIT_CYCLES: u64 = 1_000_000;

/// The datagram an application sends: from its port to `to_port` on the
/// same host; the wire's far end sends it back in.
pub fn datagram(from_port: u16, to_port: u16, seq: u32) -> Vec<u8> {
    let a = Udp4 { src_mac: HOST_MAC, dst_mac: HOST_MAC, src: HOST_IP.octets(), dst: HOST_IP.octets(), sport: from_port, dport: to_port };
    udp4(&a, 128, seq * 100)
}

/// Sends `count` datagrams and waits for their write-backs; returns how
/// many the NIC sent (its write-backs said done without error). The page
/// counters are not used: a simulated device copies them in only now and
/// then.
pub fn send(q: &mut GrantedQueue, to_port: u16, count: u32) -> Result<u32> {
    let mut packets = VecDeque::new();
    for seq in 0..count {
        let f = datagram(q.grant.port, to_port, seq);
        let Some(mut p) = q.pair.alloc(f.len()) else { bail!("the queue's pool ran out of buffers") };
        p.copy_from_slice(&f);
        packets.push_back(p);
    }
    let failed = |e: crate::queue::RingErrors| e.tx_window + e.tx_bad_length + e.tx_template + e.unknown;
    let before = failed(q.pair.errors());
    while !packets.is_empty() {
        q.pair.tx_burst(&mut packets)?;
        q.pair.advance(256)?;
    }
    let mut waited = 0;
    while q.pair.tx_outstanding() > 0 {
        if waited > WAIT_CYCLES {
            bail!("{} datagrams were not sent within {WAIT_CYCLES} cycles", q.pair.tx_outstanding());
        }
        q.pair.advance(1024)?;
        waited += 1024;
    }
    Ok(count - (failed(q.pair.errors()) - before) as u32)
}

/// The datagrams that arrived, as their sequence numbers, until `count`
/// came or the wait ran out.
pub fn receive(q: &mut GrantedQueue, count: usize) -> Result<Vec<u32>> {
    let mut seqs = Vec::new();
    let mut waited = 0;
    while seqs.len() < count && waited < 20 * WAIT_CYCLES {
        for p in q.pair.rx_burst(64)? {
            if p.len() >= 46 {
                seqs.push(u32::from_be_bytes([p[42], p[43], p[44], p[45]]) / 100);
            }
        }
        q.pair.refill()?;
        q.pair.advance(1024)?;
        waited += 1024;
    }
    Ok(seqs)
}

/// A transmit descriptor naming memory outside the queue's window (some
/// other application's), posted behind the driver's back as a hostile
/// application could: the NIC must refuse it and count it.
pub fn post_outside(q: &mut GrantedQueue, bus: u64) -> Result<u32> {
    let before = q.pair.counters()?.tx_rejected;
    let (ctrl, _, tx_ring) = q.pair.ring_memory();
    // Slot 0 of a fresh transmit ring: nothing was posted on it yet.
    let off = (tx_ring - ctrl.bus(0)) as usize;
    ctrl.write_u64(off, bus);
    ctrl.write_u64(off + DESC_WRITEBACK_OFFSET as usize, post_word(256));
    q.pair.page().write32(regmap::UQ_TX_TAIL, 1)?;
    let mut waited = 0;
    while q.pair.counters()?.tx_rejected == before && waited < WAIT_CYCLES {
        q.pair.advance(1024)?;
        waited += 1024;
    }
    Ok(q.pair.counters()?.tx_rejected - before)
}

/// One thing the application tried that it must not be able to do.
#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
    pub what: String,
    /// None if it succeeded, which is a breach.
    pub refused: Option<String>,
}

/// Tries to reach the device's folder (the control page, another queue's
/// page) by path, and past the granted page through its own descriptor.
pub fn probe(device_dir: &Path, other_queue: u32, page_file: &std::fs::File) -> Vec<Attempt> {
    let dir = crate::device::sim_dir::SimDir::new(device_dir);
    let open = |p: std::path::PathBuf| {
        std::fs::OpenOptions::new().read(true).write(true).open(&p).map(|_| ()).map_err(|e| format!("{}: {e}", p.display()))
    };
    let past = crate::device::shared_map::SharedMap::new(page_file, regmap::PAGE_BYTES as u64, regmap::PAGE_BYTES as usize, "the granted page")
        .map(|_| ())
        .map_err(|e| format!("{e:#}"));
    vec![
        Attempt { what: "open resource0 (the control page and every queue page)".into(), refused: open(dir.resource0()).err() },
        Attempt { what: format!("open queue {other_queue}'s page"), refused: open(dir.queue_page(other_queue)).err() },
        Attempt { what: "open a memory chunk".into(), refused: open(dir.chunk(0)).err() },
        Attempt { what: "map the page after the granted one".into(), refused: past.err() },
    ]
}
