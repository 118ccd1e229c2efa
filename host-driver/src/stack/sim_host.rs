//! A simulated host: one NIC, the kernel's path on its default queue, and
//! applications each running their own stack on their own queue. The
//! privileged side (`add_app`) binds an application's address and port to
//! its queue with filters, and its source headers with the queue's
//! transmit template, so the NIC itself keeps applications apart.

use super::ip_stack::{instant, IpStack};
use super::kernel_path::KernelPath;
use super::queue_phy::{Framing, QueuePhy};
use crate::control::Nic;
use crate::demux::filters::{Filter, Target, PROTO_TCP, PROTO_UDP};
use crate::device::{Device, Waiter, Wire};
use crate::queue::QueueSpec;
use anyhow::{Context, Result};
use arsenic_hdl::queue::Template;
use smoltcp::time::Instant;
use std::net::{IpAddr, Ipv4Addr};

pub const KERNEL_QUEUE: u32 = 0;
pub const MTU: usize = 1500;

/// A host's link-layer and IP address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostAddr {
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
}

/// An application's stack and what binds it to its queue.
pub struct App {
    pub stack: IpStack,
    pub queue: u32,
    pub port: u16,
}

pub struct SimHost<D: Device + Wire> {
    pub dev: D,
    pub nic: Nic,
    pub kernel: KernelPath,
    pub apps: Vec<App>,
    addr: HostAddr,
    waiter: Box<dyn Waiter>,
    /// Cycles skipped while everything was idle (`skip`): the stacks' clock
    /// is the NIC's cycles plus these.
    skipped: u64,
}

impl<D: Device + Wire> SimHost<D> {
    pub fn new(dev: D, addr: HostAddr) -> Result<SimHost<D>> {
        let mut nic = Nic::open(&dev)?;
        let spec = QueueSpec { unrestricted: true, rx_ring_log2: 6, tx_ring_log2: 6, buffers: 256, event_count: 1, ..Default::default() };
        let queue = nic.create_queue(&dev, KERNEL_QUEUE, &spec).context("creating the kernel's queue")?;
        nic.set_default_queue(KERNEL_QUEUE)?;
        let now = instant(dev.cycles());
        let waiter = dev.waiter();
        let kernel = KernelPath::new(queue, addr.mac, addr.ip, addr.prefix_len, now);
        Ok(SimHost { dev, nic, kernel, apps: vec![], addr, waiter, skipped: 0 })
    }

    pub fn addr(&self) -> HostAddr {
        self.addr
    }

    /// The host's time in cycles: what the NIC ran plus what was skipped.
    pub fn clock(&self) -> u64 {
        self.dev.cycles() + self.skipped
    }

    pub fn now(&self) -> Instant {
        instant(self.clock())
    }

    /// Runs the NIC for `cycles`.
    pub fn advance(&mut self, cycles: u64) -> Result<()> {
        self.waiter.advance(cycles)
    }

    /// Moves the stacks' clock on by `cycles` without running the NIC: only
    /// for when the NIC has nothing in flight, so running it would change
    /// nothing but its cycle count, and a stack waits for a timer (a
    /// retransmission) that would take minutes to simulate.
    pub fn skip(&mut self, cycles: u64) {
        self.skipped += cycles;
    }

    /// Frames the host's stacks built and the NIC has not finished.
    pub fn tx_backlog(&mut self) -> usize {
        let mut n = self.kernel.stack().phy_mut().tx_backlog();
        for app in &mut self.apps {
            n += app.stack.phy_mut().tx_backlog();
        }
        n
    }

    /// Frames the stacks have received and sent so far: when it stops
    /// moving and nothing is backlogged, the host is idle.
    pub fn progress(&mut self) -> u64 {
        let mut n = 0;
        let mut add = |s: super::queue_phy::PhyStats| n += s.rx_frames + s.tx_frames;
        add(self.kernel.stack().phy().stats());
        for app in &self.apps {
            add(app.stack.phy().stats());
        }
        n
    }

    /// Creates `queue` for an application that owns `port` on the host's
    /// address, TCP and UDP: its template allows only that MAC, address and
    /// source port, and two filters steer that port's traffic to it. The
    /// application's frames go to `next_hop` (resolve it with the kernel
    /// path first). Returns the application's index in `apps`.
    pub fn add_app(&mut self, queue: u32, port: u16, next_hop: [u8; 6]) -> Result<usize> {
        let template = Template { src_mac: Some(self.addr.mac), vlan: None, src_ip: Some(IpAddr::V4(self.addr.ip)), src_port: Some(port) };
        // Rings of 64 cover a 64 KiB window of full frames with room to
        // spare; buffers for both rings and what smoltcp has in flight.
        let spec = QueueSpec { rx_ring_log2: 6, tx_ring_log2: 6, buffers: 256, template, event_count: 1, ..Default::default() };
        let pair = self.nic.create_queue(&self.dev, queue, &spec).with_context(|| format!("creating the application's queue {queue}"))?;
        for proto in [PROTO_TCP, PROTO_UDP] {
            self.nic.install_filter(&Filter::Listen { proto, dst: Some(IpAddr::V4(self.addr.ip)), dport: Some(port) }, Target::queue(queue))?;
        }
        let phy = QueuePhy::new(pair, Framing::Ip { src_mac: self.addr.mac, next_hop }, MTU);
        let now = self.now();
        let stack = IpStack::new(phy, self.addr.mac, self.addr.ip, self.addr.prefix_len, 0x6170_7000 + queue as u64, now);
        self.apps.push(App { stack, queue, port });
        Ok(self.apps.len() - 1)
    }

    /// Polls the kernel path and every application once.
    pub fn poll(&mut self) -> Result<bool> {
        let now = self.now();
        let mut changed = self.kernel.poll(now)?;
        for app in &mut self.apps {
            changed |= app.stack.poll(now)?;
        }
        Ok(changed)
    }

    /// The soonest any stack on this host needs polling, in cycles.
    pub fn poll_delay_cycles(&mut self) -> Option<u64> {
        let now = self.now();
        let mut d = self.kernel.stack().poll_delay(now);
        for app in &mut self.apps {
            d = match (d, app.stack.poll_delay(now)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        d.map(super::ip_stack::cycles)
    }
}
