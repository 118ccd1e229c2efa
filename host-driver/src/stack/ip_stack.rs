//! One smoltcp interface over one queue: the stack an application links,
//! or the kernel's on the default queue. Time is the device's: simulated
//! cycles on `model` and `rtl`, so timers run at the NIC's pace however
//! fast the simulation goes.

use super::queue_phy::{Framing, QueuePhy};
use anyhow::{anyhow, Result};
use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::{tcp, AnySocket};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint};
use std::net::Ipv4Addr;

/// A core cycle is 8 ns (125 MHz); smoltcp counts microseconds.
pub const CYCLES_PER_MICRO: u64 = 125;

pub fn instant(cycles: u64) -> Instant {
    Instant::from_micros((cycles / CYCLES_PER_MICRO) as i64)
}

pub fn cycles(d: Duration) -> u64 {
    d.total_micros() * CYCLES_PER_MICRO
}

pub struct IpStack {
    phy: QueuePhy,
    iface: Interface,
    sockets: SocketSet<'static>,
}

impl IpStack {
    pub fn new(mut phy: QueuePhy, mac: [u8; 6], ip: Ipv4Addr, prefix_len: u8, seed: u64, now: Instant) -> IpStack {
        let hw = match phy.framing() {
            Framing::Ethernet => HardwareAddress::Ethernet(EthernetAddress(mac)),
            Framing::Ip { .. } => HardwareAddress::Ip,
        };
        let mut config = Config::new(hw);
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut phy, now);
        iface.update_ip_addrs(|addrs| {
            // Fails only past the interface's fixed address count; one fits.
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(ip), prefix_len));
        });
        IpStack { phy, iface, sockets: SocketSet::new(vec![]) }
    }

    pub fn add<T: AnySocket<'static>>(&mut self, socket: T) -> SocketHandle {
        self.sockets.add(socket)
    }

    pub fn socket<T: AnySocket<'static>>(&mut self, h: SocketHandle) -> &mut T {
        self.sockets.get_mut(h)
    }

    pub fn connect(&mut self, h: SocketHandle, remote: IpEndpoint, local_port: u16) -> Result<()> {
        let cx = self.iface.context();
        self.sockets
            .get_mut::<tcp::Socket>(h)
            .connect(cx, remote, local_port)
            .map_err(|e| anyhow!("connecting to {remote} from port {local_port}: {e}"))
    }

    pub fn phy(&self) -> &QueuePhy {
        &self.phy
    }

    pub fn phy_mut(&mut self) -> &mut QueuePhy {
        &mut self.phy
    }

    /// Lets smoltcp take what arrived and send what it has, then posts the
    /// frames it built. Returns whether any socket may have changed.
    pub fn poll(&mut self, now: Instant) -> Result<bool> {
        let changed = self.iface.poll(now, &mut self.phy, &mut self.sockets) == PollResult::SocketStateChanged;
        self.phy.flush()?;
        Ok(changed)
    }

    /// How long smoltcp can wait before it must be polled again, if no
    /// frame comes in.
    pub fn poll_delay(&mut self, now: Instant) -> Option<Duration> {
        self.iface.poll_delay(now, &self.sockets)
    }
}
