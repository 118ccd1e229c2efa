//! The control process: serves queue requests, one grant per
//! application connection, and takes the queue back when the application
//! hangs up (or dies), before its memory can be claimed by anyone else.

use super::{app_spec, fdpass, Grant, Reply, Request, HOST_IP};
use crate::control::Nic;
use crate::demux::filters::{Filter, Target, PROTO_UDP};
use crate::demux::steering::FilterId;
use crate::device::sim_memory::{self, Chunk};
use crate::device::sysfs::SysfsDevice;
use crate::queue::QueueMemory;
use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A live grant: the connection whose end takes the queue back, the
/// filter that steers to it, and the chunks (held so they stay claimed
/// until the queue is disabled).
struct Live {
    conn: UnixStream,
    queue: u32,
    filter: FilterId,
    _chunks: [Rc<Chunk>; 2],
}

pub struct Ctl<'a> {
    dev: &'a SysfsDevice,
    nic: Nic,
    live: Vec<Live>,
    /// Grants made and requests refused, for the report.
    pub granted: u64,
    pub refused: u64,
}

impl<'a> Ctl<'a> {
    pub fn new(dev: &'a SysfsDevice) -> Result<Ctl<'a>> {
        if dev.sim_dir().is_none() {
            bail!(
                "handing one queue's page to another process needs a per-queue mapping: a kernel driver's or an SR-IOV function's on a board; only `arsenic sim-device` provides one here"
            );
        }
        Ok(Ctl { dev, nic: Nic::open(dev)?, live: Vec::new(), granted: 0, refused: 0 })
    }

    /// Serves `listener` until `stop` is set, telling `on_grant` of each
    /// queue handed out.
    pub fn serve(&mut self, listener: &UnixListener, stop: &AtomicBool, on_grant: &mut dyn FnMut(&Grant)) -> Result<()> {
        listener.set_nonblocking(true)?;
        while !stop.load(Ordering::Relaxed) {
            let mut fds = vec![PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
            fds.extend(self.live.iter().map(|l| PollFd::new(l.conn.as_fd(), PollFlags::POLLIN)));
            poll(&mut fds, PollTimeout::from(100u16)).context("waiting for applications")?;
            let ended: Vec<usize> = fds[1..]
                .iter()
                .enumerate()
                .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
                .map(|(i, _)| i)
                .collect();
            for i in ended.into_iter().rev() {
                self.take_back(i)?;
            }
            match listener.accept() {
                Ok((conn, _)) => {
                    if let Some(g) = self.answer(conn)? {
                        on_grant(&g);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e).context("accepting an application"),
            }
        }
        Ok(())
    }

    /// An application hung up: disable its queue, remove its filter, and
    /// only then let its memory go.
    fn take_back(&mut self, i: usize) -> Result<()> {
        let l = self.live.remove(i);
        self.nic.remove_filter(l.filter)?;
        self.nic.commit_queue(l.queue, &arsenic_hdl::queue::QueueSettings::default())
    }

    fn answer(&mut self, conn: UnixStream) -> Result<Option<Grant>> {
        conn.set_nonblocking(false)?;
        let (msg, _) = fdpass::recv(&conn)?;
        let request: Result<Request> = serde_json::from_slice(&msg).context("the request is not a queue request");
        match request.and_then(|r| self.grant(r, &conn)) {
            Ok((live, grant)) => {
                self.granted += 1;
                self.live.push(live);
                Ok(Some(grant))
            }
            Err(e) => {
                self.refused += 1;
                let reply = serde_json::to_vec(&Reply::Refused(format!("{e:#}")))?;
                let _ = fdpass::send(&conn, &reply, &[]);
                Ok(None)
            }
        }
    }

    fn grant(&mut self, r: Request, conn: &UnixStream) -> Result<(Live, Grant)> {
        if self.live.iter().any(|l| l.queue == r.queue) {
            bail!("queue {} is another application's", r.queue);
        }
        if r.queue == self.nic.default_queue()? {
            bail!("queue {} is the default queue, the kernel's", r.queue);
        }
        let spec = app_spec(r.port);
        self.nic.check_new_queue(r.queue, &spec)?;
        let dir = self.dev.sim_dir().expect("checked in new");
        let ring = Rc::new(sim_memory::claim(dir)?);
        let pool = Rc::new(sim_memory::claim(dir)?);
        let memory = QueueMemory::new(
            &spec,
            sim_memory::block(Rc::clone(&ring), spec.ctrl_bytes())?,
            sim_memory::block(Rc::clone(&pool), spec.buffers as usize * spec.buffer_bytes as usize)?,
        );
        self.nic.commit_queue(r.queue, &memory.settings(&spec))?;
        let filter = Filter::Listen { proto: PROTO_UDP, dst: Some(IpAddr::V4(HOST_IP)), dport: Some(r.port) };
        let filter = self.nic.install_filter(&filter, Target::queue(r.queue))?;
        let page = std::fs::File::options().read(true).write(true).open(dir.queue_page(r.queue))?;
        let clock = std::fs::File::open(dir.clock())?;
        let grant = Grant { queue: r.queue, port: r.port, ring_bus: ring.bus(), pool_bus: pool.bus() };
        let reply = serde_json::to_vec(&Reply::Granted(grant.clone()))?;
        let fds = [page.as_raw_fd(), clock.as_raw_fd(), ring.file().as_raw_fd(), pool.file().as_raw_fd()];
        fdpass::send(conn, &reply, &fds)?;
        let conn = conn.try_clone()?;
        Ok((Live { conn, queue: r.queue, filter, _chunks: [ring, pool] }, grant))
    }
}
