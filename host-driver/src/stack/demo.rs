//! The job behind `arsenic demo tcp`: a simulated NIC whose application
//! runs smoltcp on its own queue and sends a file to its peer and gets one
//! back over one TCP connection, both checked byte for byte. The peer is
//! a second simulated NIC here (`two_nics`); `linux_peer` puts the Linux
//! stack there instead.

use super::ip_stack::CYCLES_PER_MICRO;
use super::kernel_path::KernelSeen;
use super::link::Impairment;
use super::net::{FarEnd, Net, NetStats};
use super::queue_phy::PhyStats;
use super::linux_end::{serve, LinuxEnd};
use super::sim_host::{HostAddr, SimHost, MTU};
use super::transfer::{Role, Transfer};
use crate::device::{Device, Wire};
use crate::netpeer::linux_peer::{LinuxPeer, PeerConfig};
use crate::queue::QueueCounters;
use crate::shaping::Shaping;
use crate::traffic::Rng;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

/// The simulated host whose application the demo is about.
pub const HOST: HostAddr = HostAddr { mac: [0x02, 0, 0, 0, 0xa0, 0x01], ip: Ipv4Addr::new(10, 77, 0, 2), prefix_len: 24 };
/// The peer: the Linux namespace, or the second simulated host.
pub const PEER: HostAddr = HostAddr { mac: [0x02, 0, 0, 0, 0xb0, 0x01], ip: Ipv4Addr::new(10, 77, 0, 1), prefix_len: 24 };
pub const APP_QUEUE: u32 = 3;
pub const APP_PORT: u16 = 7003;
pub const PEER_QUEUE: u32 = 4;
pub const PEER_PORT: u16 = 5001;

#[derive(Clone, Copy, Debug)]
pub struct DemoConfig {
    /// Bytes of each file (one each way).
    pub bytes: usize,
    pub impair: Impairment,
    /// Shaping for the application's queue (its rate limiter).
    pub shaping: Option<Shaping>,
    pub seed: u64,
    /// Give up after this many simulated cycles.
    pub max_cycles: u64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig { bytes: 1 << 20, impair: Impairment::default(), shaping: None, seed: 1, max_cycles: 2_000_000_000 }
    }
}

/// One direction's figures.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Direction {
    pub bytes: u64,
    pub cycles: u64,
    /// Payload bits per simulated second over the 1 Gb/s line rate.
    pub goodput_fraction: f64,
}

impl Direction {
    fn of(bytes: usize, cycles: Option<u64>) -> Direction {
        let cycles = cycles.unwrap_or(0).max(1);
        let seconds = cycles as f64 / (CYCLES_PER_MICRO as f64 * 1e6);
        Direction { bytes: bytes as u64, cycles, goodput_fraction: bytes as f64 * 8.0 / seconds / 1e9 }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct DemoReport {
    /// "linux" or "two simulated NICs".
    pub peer: String,
    pub to_peer: Direction,
    pub from_peer: Direction,
    pub sim_seconds: f64,
    pub wall_seconds: f64,
    pub net: NetStats,
    pub app_queue: QueueCounters,
    pub app_phy: PhyStats,
    pub kernel: KernelSeen,
}

impl DemoReport {
    pub fn sim_seconds_per_wall_second(&self) -> f64 {
        self.sim_seconds / self.wall_seconds.max(1e-9)
    }
}

/// What the two ends send: different files, so a mix-up shows.
pub fn files(cfg: &DemoConfig) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Rng::new(cfg.seed);
    let mut a = vec![0; cfg.bytes];
    let mut b = vec![0; cfg.bytes];
    rng.fill(&mut a);
    rng.fill(&mut b);
    (a, b)
}

/// Progress as the demo goes: bytes sent to the peer and received back.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Runs `net` until `done` says so, the budget runs out, or `fail` does.
fn run_until<D: Device + Wire, F: FarEnd>(
    net: &mut Net<D, F>,
    max_cycles: u64,
    mut each: impl FnMut(&mut Net<D, F>) -> Result<bool>,
) -> Result<()> {
    let start = net.clock();
    loop {
        net.step()?;
        if each(net)? {
            return Ok(());
        }
        if net.clock() - start > max_cycles {
            bail!("gave up after {max_cycles} simulated cycles");
        }
    }
}

/// Resolves the peer's MAC through the kernel path (a ping, which ARPs
/// first), as an application's library asks the kernel for its next hop.
pub fn resolve<D: Device + Wire, F: FarEnd>(net: &mut Net<D, F>, ip: Ipv4Addr) -> Result<[u8; 6]> {
    let mut tries = 0;
    run_until(net, 50_000_000, |net| {
        if net.host.kernel.neighbor(ip).is_some() {
            return Ok(true);
        }
        if net.host.kernel.seen().ping_replies == 0 && net.clock() / 2_000_000 >= tries {
            tries += 1;
            net.host.kernel.ping(ip)?;
        }
        Ok(false)
    })
    .with_context(|| format!("resolving {ip} through the kernel path"))?;
    Ok(net.host.kernel.neighbor(ip).expect("just resolved"))
}

/// Binds the application's queue and applies the demo's shaping to it.
pub fn bind_app<D: Device + Wire>(host: &mut SimHost<D>, next_hop: [u8; 6], cfg: &DemoConfig) -> Result<usize> {
    let app = host.add_app(APP_QUEUE, APP_PORT, next_hop)?;
    if let Some(s) = &cfg.shaping {
        host.nic.set_shaping(&host.dev, APP_QUEUE, s)?;
    }
    Ok(app)
}

fn report<D: Device + Wire, F: FarEnd>(net: &Net<D, F>, t: &Transfer, peer: &str, wall: Instant, start_clock: u64) -> Result<DemoReport> {
    let app = &net.host.apps[0];
    Ok(DemoReport {
        peer: peer.into(),
        to_peer: Direction::of(t.sent(), t.send_span.cycles()),
        // The peer starts sending when the application's FIN reaches it, so
        // its file's time runs from that FIN to the last byte in: the first
        // byte's own trip counts, as it does for the application's file.
        from_peer: Direction::of(t.received(), t.recv_span.end.zip(t.send_span.end).map(|(e, s)| e.saturating_sub(s))),
        sim_seconds: (net.clock() - start_clock) as f64 / (CYCLES_PER_MICRO as f64 * 1e6),
        wall_seconds: wall.elapsed().as_secs_f64(),
        net: net.stats(),
        app_queue: app.stack.phy().queue().counters()?,
        app_phy: app.stack.phy().stats(),
        kernel: net.host.kernel.seen(),
    })
}

/// The demo with a second simulated NIC as the peer, whose own
/// application (smoltcp on its queue `PEER_QUEUE`) serves the transfer.
pub fn two_nics<D: Device + Wire>(a: D, b: D, cfg: &DemoConfig, progress: Progress) -> Result<DemoReport> {
    let wall = Instant::now();
    let host = SimHost::new(a, HOST)?;
    let far = SimHost::new(b, PEER)?;
    let mut net = Net::new(host, far, cfg.impair);
    let start_clock = net.clock();
    let peer_mac = resolve(&mut net, PEER.ip)?;
    let host_mac = net.far.kernel.neighbor(HOST.ip).context("the peer's kernel path did not learn the host's MAC from its ARP request")?;
    bind_app(&mut net.host, peer_mac, cfg)?;
    net.far.add_app(PEER_QUEUE, PEER_PORT, host_mac)?;
    let (to_peer, from_peer) = files(cfg);
    let mut client = Transfer::open(
        &mut net.host.apps[0].stack,
        Role::Client { remote: PEER.ip, remote_port: PEER_PORT },
        APP_PORT,
        to_peer.clone(),
        from_peer.clone(),
    )?;
    let mut server = Transfer::open(&mut net.far.apps[0].stack, Role::Server, PEER_PORT, from_peer, to_peer)?;
    run_until(&mut net, cfg.max_cycles, |net| {
        let clock = net.clock();
        client.step(&mut net.host.apps[0].stack, clock).context("the application")?;
        server.step(&mut net.far.apps[0].stack, clock).context("the peer")?;
        progress(server.received() as u64, client.received() as u64);
        Ok(client.done(&mut net.host.apps[0].stack) && server.done(&mut net.far.apps[0].stack))
    })
    .context("the TCP transfer between two simulated NICs")?;
    report(&net, &client, "two simulated NICs", wall, start_clock)
}

/// A simulated host wired to Linux's own TCP/IP stack, in a namespace of
/// its own behind a TAP device, with the application's queue bound and its
/// next hop resolved through the kernel path.
pub fn linux_net<D: Device + Wire>(a: D, cfg: &DemoConfig) -> Result<Net<D, LinuxEnd>> {
    let peer_cfg = PeerConfig { peer_ip: PEER.ip, prefix_len: PEER.prefix_len, peer_mac: PEER.mac, mtu: MTU as u16 };
    let peer = LinuxPeer::start(&peer_cfg).context("starting the Linux peer")?;
    let host = SimHost::new(a, HOST)?;
    let mut net = Net::new(host, LinuxEnd { peer }, cfg.impair);
    let peer_mac = resolve(&mut net, PEER.ip)?;
    bind_app(&mut net.host, peer_mac, cfg)?;
    Ok(net)
}

/// The demo with Linux's own TCP/IP stack as the peer: the peer nobody
/// here wrote.
pub fn linux<D: Device + Wire>(a: D, cfg: &DemoConfig, progress: Progress) -> Result<DemoReport> {
    let wall = Instant::now();
    let mut net = linux_net(a, cfg)?;
    let start_clock = net.clock();
    let (to_peer, from_peer) = files(cfg);
    let server = serve(&net.far.peer, SocketAddrV4::new(PEER.ip, PEER_PORT), to_peer.clone(), from_peer.clone(), LINUX_TIMEOUT)?;
    let mut client =
        Transfer::open(&mut net.host.apps[0].stack, Role::Client { remote: PEER.ip, remote_port: PEER_PORT }, APP_PORT, to_peer, from_peer)?;
    let mut server = Some(server);
    let mut linux_side = None;
    run_until(&mut net, cfg.max_cycles, |net| {
        let clock = net.clock();
        client.step(&mut net.host.apps[0].stack, clock).context("the application")?;
        progress(client.sent() as u64, client.received() as u64);
        if client.done(&mut net.host.apps[0].stack) {
            return Ok(true);
        }
        // Linux finishes as soon as its file is in its socket buffer; only
        // an error of its own ends the run early.
        if server.as_ref().is_some_and(|s| s.is_finished()) {
            let side = server.take().expect("checked").join().map_err(|_| anyhow::anyhow!("the Linux side panicked"))??;
            linux_side = Some(side);
        }
        Ok(false)
    })
    .context("the TCP transfer with the Linux peer")?;
    if let Some(s) = server {
        linux_side = Some(s.join().map_err(|_| anyhow::anyhow!("the Linux side panicked"))??);
    }
    if let Some(side) = linux_side {
        if side.received != client.sent() {
            bail!("Linux received {} bytes, the application sent {}", side.received, client.sent());
        }
    }
    report(&net, &client, "linux", wall, start_clock)
}

/// How long the Linux side waits, in wall time, for the simulation.
const LINUX_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(900);

/// Shaping that caps a queue at `mbps` Mb/s, with a burst of four
/// maximum frames: TCP's window then sees the cap, not a burst allowance.
pub fn cap(mbps: u64) -> Result<Shaping> {
    let rate = crate::shaping::Rate { bits_per_s: mbps * 1_000_000, burst_bytes: 4 * 1538 };
    let s = Shaping { ceiling: Some(rate), ..Default::default() };
    s.validate(125_000_000)?;
    Ok(s)
}
