//! The Linux kernel's TCP/IP stack as the far end of a simulated NIC's
//! wire: a TAP link inside a namespace of its own, addressed and up, whose
//! frames the caller carries to and from the NIC's MAC.

use super::netns::{self, Namespace, COUNTER};
use super::tap::Tap;
use anyhow::{anyhow, bail, Result};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::atomic::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// The Linux side's address on the link.
    pub peer_ip: Ipv4Addr,
    /// The link's prefix: every other address in it is reached directly
    /// (ARP), which is where the NIC's address must be.
    pub prefix_len: u8,
    /// The Linux side's MAC, the source of every frame it sends.
    pub peer_mac: [u8; 6],
    pub mtu: u16,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            peer_ip: Ipv4Addr::new(10, 77, 0, 1),
            prefix_len: 24,
            // Locally administered (0x02) so it can clash with no vendor's.
            peer_mac: [0x02, 0x00, 0x00, 0x00, 0xb0, 0x01],
            mtu: 1500,
        }
    }
}

/// Field order is drop order: the TAP is closed (and its link deleted)
/// before its namespace goes.
pub struct LinuxPeer {
    tap: Tap,
    ns: Namespace,
    cfg: PeerConfig,
}

impl LinuxPeer {
    /// Makes the namespace and the TAP link in it, configured and up. On
    /// error nothing is left behind.
    pub fn start(cfg: &PeerConfig) -> Result<LinuxPeer> {
        check_config(cfg)?;
        let ns = Namespace::create()?;
        // A link moved into a namespace takes its IPv6 settings from the
        // namespace's defaults when it arrives, so with these set first it
        // never sends a router or neighbour solicitation, not even once.
        // Without IPv6 in the kernel at all there is nothing to switch off.
        let ipv6 = Path::new("/proc/sys/net/ipv6").exists();
        if ipv6 {
            ns.sysctl("net.ipv6.conf.default.disable_ipv6", "1")?;
            ns.sysctl("net.ipv6.conf.all.disable_ipv6", "1")?;
        }
        // hex keeps the name inside IFNAMSIZ for any pid and many peers.
        let tap = Tap::open(&format!("ars{:x}-{:x}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)))?;
        let dev = tap.name().to_string();
        // The open fd stays attached across the move: frames keep flowing
        // through it, now to and from the namespace's stack.
        netns::ip(&["link", "set", "dev", &dev, "netns", ns.name()])?;
        if ipv6 {
            ns.sysctl(&format!("net/ipv6/conf/{dev}/disable_ipv6"), "1")?;
        }
        let mac = format_mac(&cfg.peer_mac);
        let mtu = cfg.mtu.to_string();
        ns.ip(&["link", "set", "dev", &dev, "address", &mac, "mtu", &mtu])?;
        let addr = format!("{}/{}", cfg.peer_ip, cfg.prefix_len);
        ns.ip(&["addr", "add", &addr, "dev", &dev])?;
        // Loopback up so that sockets in the namespace can reach the
        // namespace's own addresses (a server and client both in it).
        ns.ip(&["link", "set", "dev", "lo", "up"])?;
        ns.ip(&["link", "set", "dev", &dev, "up"])?;
        Ok(LinuxPeer { tap, ns, cfg: cfg.clone() })
    }

    /// Whether this machine lets us make namespaces and TAP devices; if
    /// not, a one-line reason with the fix. It tries for real (a peer is
    /// started and dropped), so a "yes" is a yes; nothing it makes
    /// outlives the call.
    pub fn probe() -> Result<(), String> {
        let caps = effective_caps().map_err(|e| format!("cannot read this process's capabilities ({e}): run as root on Linux"))?;
        const CAP_NET_ADMIN: u32 = 12;
        const CAP_SYS_ADMIN: u32 = 21;
        if caps & (1 << CAP_NET_ADMIN) == 0 || caps & (1 << CAP_SYS_ADMIN) == 0 {
            return Err("not root: namespaces and TAP devices need CAP_NET_ADMIN and CAP_SYS_ADMIN, run as root".into());
        }
        netns::ip_binary().map_err(|e| e.to_string())?;
        if !Path::new("/dev/net/tun").exists() {
            return Err("no /dev/net/tun: load the tun module (`modprobe tun`)".into());
        }
        match LinuxPeer::start(&PeerConfig::default()) {
            Ok(_peer) => Ok(()),
            Err(e) => Err(format!("{e:#}").replace('\n', " ")),
        }
    }

    pub fn tap(&self) -> &Tap {
        &self.tap
    }

    pub fn namespace(&self) -> &Namespace {
        &self.ns
    }

    pub fn config(&self) -> &PeerConfig {
        &self.cfg
    }
}

fn check_config(cfg: &PeerConfig) -> Result<()> {
    let ip = cfg.peer_ip;
    if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || ip.is_broadcast() {
        bail!("peer_ip {ip} cannot be a host's address: use a unicast one such as 10.77.0.1");
    }
    // /32 would leave no other address on the link, so the NIC's could be
    // reached only through a route nobody set up.
    if !(1..=31).contains(&cfg.prefix_len) {
        bail!("prefix_len {} leaves no room for the NIC on the link: use 1 to 31 (e.g. 24)", cfg.prefix_len);
    }
    if cfg.peer_mac[0] & 1 != 0 || cfg.peer_mac == [0; 6] {
        bail!("peer_mac {} is not a unicast MAC: clear the low bit of its first byte (e.g. 02:00:00:00:b0:01)", format_mac(&cfg.peer_mac));
    }
    // 68 is the least IPv4 allows (RFC 791) and what tun accepts.
    if cfg.mtu < 68 {
        bail!("mtu {} is below IPv4's minimum: use 68 to 65535 (e.g. 1500)", cfg.mtu);
    }
    Ok(())
}

pub(crate) fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// The effective capability set, from /proc: being uid 0 is not enough
/// in a container that drops capabilities, and not needed with them.
fn effective_caps() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .ok_or_else(|| anyhow!("/proc/self/status has no CapEff line"))?;
    Ok(u64::from_str_radix(hex.trim(), 16)?)
}
