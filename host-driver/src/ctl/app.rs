//! An application's side: ask the control process for a queue and build
//! the `QueuePair` from the descriptors it hands over. Nothing here opens
//! a path of the device's: the process needs no right to its folder.

use super::{app_spec, fdpass, Grant, Reply, Request};
use crate::device::mmio::MmioPage;
use crate::device::shared_map::SharedMap;
use crate::device::sim_clock::SimClock;
use crate::device::sim_memory;
use crate::device::Page;
use crate::queue::{QueueMemory, QueuePair};
use anyhow::{bail, Context, Result};
use arsenic_hdl::regmap::PAGE_BYTES;
use std::fs::File;
use std::os::unix::net::UnixStream;
use std::path::Path;

pub struct GrantedQueue {
    pub pair: QueuePair,
    pub grant: Grant,
    /// The page's descriptor, all this process holds of the device's BAR.
    pub page_file: File,
    /// The connection whose end gives the queue back.
    _conn: UnixStream,
}

/// Asks the control process at `socket` for `request`.
pub fn connect(socket: &Path, request: &Request) -> Result<GrantedQueue> {
    let conn = UnixStream::connect(socket).with_context(|| format!("reaching the control process at {}", socket.display()))?;
    fdpass::send(&conn, &serde_json::to_vec(request)?, &[])?;
    let (msg, fds) = fdpass::recv(&conn)?;
    if msg.is_empty() {
        bail!("the control process hung up without an answer");
    }
    let grant = match serde_json::from_slice(&msg).context("the control process's answer is not a grant")? {
        Reply::Granted(g) => g,
        Reply::Refused(why) => bail!("the control process refused queue {}: {why}", request.queue),
    };
    let [page, clock, ring, pool]: [std::os::fd::OwnedFd; 4] =
        fds.try_into().map_err(|v: Vec<_>| anyhow::anyhow!("a grant carries 4 descriptors, this one {}", v.len()))?;
    let (page, clock, ring, pool) = (File::from(page), File::from(clock), File::from(ring), File::from(pool));
    let clock = SimClock::from_file(&clock, socket)?;
    clock.check_running()?;
    let map = SharedMap::new(&page, 0, PAGE_BYTES as usize, "the granted queue page")?;
    let page_file = page;
    let page = MmioPage::new(map, Page::Queue(grant.queue), Box::new(clock.clone()))?;
    let spec = app_spec(grant.port);
    let ring = sim_memory::adopt(ring, grant.ring_bus)?;
    let pool = sim_memory::adopt(pool, grant.pool_bus)?;
    let memory = QueueMemory::new(
        &spec,
        sim_memory::block(ring, spec.ctrl_bytes())?,
        sim_memory::block(pool, spec.buffers as usize * spec.buffer_bytes as usize)?,
    );
    let pair = QueuePair::attach(grant.queue, &spec, Box::new(page), Box::new(clock), memory)?;
    Ok(GrantedQueue { pair, grant, page_file, _conn: conn })
}
