//! These make real namespaces and TAP links, so they need root; they fail
//! (never skip) without it, with `probe`'s reason.

use super::frames::{answer_arp, Arp, ARP_FRAME_LEN, ARP_REPLY, ARP_REQUEST, BROADCAST_MAC, ETHERTYPE_IPV4};
use super::linux_peer::format_mac;
use super::netns::{ip_binary, NETNS_DIR};
use super::{LinuxPeer, Namespace, PeerConfig, Tap};
use anyhow::{anyhow, bail, ensure, Context, Result};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The NIC's side of the link in these tests.
const NIC_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0xa0, 0x01];
const NIC_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const WAIT: Duration = Duration::from_secs(5);

fn require_root_network() -> Result<()> {
    LinuxPeer::probe().map_err(|reason| anyhow!("this test needs namespaces and TAP devices: {reason}"))
}

fn next_frame(tap: &Tap, timeout: Duration) -> Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(f) = tap.recv()? {
            return Ok(f);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !tap.wait_readable(left)? {
            bail!("no frame from the Linux peer within {timeout:?}");
        }
    }
}

/// `ip ARGS` run in our own namespace, its stdout, or the error.
fn ip_out(args: &[&str]) -> Result<String> {
    let out = Command::new(ip_binary()?).args(args).output()?;
    ensure!(out.status.success(), "`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8(out.stdout)?)
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// The Internet checksum's ones'-complement sum, not yet inverted.
fn sum16(mut acc: u32, data: &[u8]) -> u32 {
    for pair in data.chunks(2) {
        acc += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The TCP/UDP checksum over the IPv4 pseudo-header and `segment`; zero
/// when `segment` already holds a right one.
fn l4_checksum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, segment: &[u8]) -> u16 {
    let mut acc = sum16(0, &src.octets());
    acc = sum16(acc, &dst.octets());
    acc += u32::from(proto) + segment.len() as u32;
    fold(sum16(acc, segment))
}

/// An Ethernet + IPv4 frame around `segment` (a UDP or TCP header and its
/// payload, checksum field already filled).
fn ipv4_frame(src_mac: [u8; 6], dst_mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr, proto: u8, segment: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + segment.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, proto, 0, 0]); // id, DF, TTL
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = fold(sum16(0, &ip));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(segment);
    f
}

fn udp_frame(src_mac: [u8; 6], dst_mac: [u8; 6], src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&src.port().to_be_bytes());
    u.extend_from_slice(&dst.port().to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let c = l4_checksum(*src.ip(), *dst.ip(), 17, &u);
    u[6..8].copy_from_slice(&c.to_be_bytes());
    ipv4_frame(src_mac, dst_mac, *src.ip(), *dst.ip(), 17, &u)
}

/// An IPv4 packet read off the wire, its header checked.
struct Ipv4<'a> {
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    segment: &'a [u8],
}

fn parse_ipv4(frame: &[u8]) -> Result<Ipv4<'_>> {
    ensure!(frame.len() >= 34 && be16(&frame[12..]) == ETHERTYPE_IPV4, "not an IPv4 frame: {frame:02x?}");
    let ip = &frame[14..];
    ensure!(ip[0] == 0x45, "IPv4 header byte 0 is {:#04x}, expected 0x45 (no options)", ip[0]);
    let total = be16(&ip[2..]) as usize;
    ensure!(total <= ip.len() && total >= 20, "IPv4 total length {total} in a {}-byte packet", ip.len());
    ensure!(fold(sum16(0, &ip[..20])) == 0, "IPv4 header checksum wrong");
    Ok(Ipv4 {
        eth_dst: frame[0..6].try_into()?,
        eth_src: frame[6..12].try_into()?,
        src: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
        dst: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
        proto: ip[9],
        segment: &ip[20..total],
    })
}

#[test]
fn udp_both_ways_through_the_tap() -> Result<()> {
    require_root_network()?;
    let cfg = PeerConfig::default();
    let peer = LinuxPeer::start(&cfg)?;
    let tap = peer.tap();
    let linux_end = SocketAddrV4::new(cfg.peer_ip, 4000);
    let nic_end = SocketAddrV4::new(NIC_IP, 5000);

    let socket_side = peer.namespace().spawn(move || -> Result<(Vec<u8>, SocketAddr)> {
        let sock = UdpSocket::bind(linux_end).context("binding the peer address inside the namespace")?;
        sock.set_read_timeout(Some(WAIT))?;
        sock.send_to(b"hello from linux", nic_end)?;
        let mut buf = [0u8; 2048];
        let (n, from) = sock.recv_from(&mut buf).context("waiting for the datagram written into the TAP")?;
        Ok((buf[..n].to_vec(), from))
    });

    // Linux knows no MAC for 10.77.0.2 yet, so the datagram waits behind
    // an ARP request; with IPv6 off nothing comes before that.
    let frame = next_frame(tap, WAIT)?;
    let arp = Arp::parse(&frame).ok_or_else(|| anyhow!("first frame is not ARP: {frame:02x?}"))?;
    assert_eq!(frame.len(), ARP_FRAME_LEN);
    assert_eq!(arp.eth_dst, BROADCAST_MAC);
    assert_eq!(arp.eth_src, cfg.peer_mac);
    assert_eq!(arp.op, ARP_REQUEST);
    assert_eq!(arp.sender_mac, cfg.peer_mac);
    assert_eq!(arp.sender_ip, cfg.peer_ip);
    assert_eq!(arp.target_mac, [0; 6]);
    assert_eq!(arp.target_ip, NIC_IP);
    let reply = answer_arp(&frame, NIC_IP, NIC_MAC).ok_or_else(|| anyhow!("answer_arp did not answer {arp:?}"))?;
    tap.send(&reply)?;

    let frame = next_frame(tap, WAIT)?;
    let p = parse_ipv4(&frame)?;
    assert_eq!((p.eth_dst, p.eth_src), (NIC_MAC, cfg.peer_mac), "the frame goes to the MAC the ARP reply gave");
    assert_eq!((p.src, p.dst, p.proto), (cfg.peer_ip, NIC_IP, 17));
    let u = p.segment;
    assert_eq!((be16(u), be16(&u[2..])), (4000, 5000));
    assert_eq!(be16(&u[4..]) as usize, u.len());
    assert_eq!(&u[8..], b"hello from linux");
    // No checksum offload on the TAP: the kernel filled it in, so a NIC
    // sees (and must send) complete checksums.
    assert_ne!(be16(&u[6..]), 0, "UDP checksum left empty");
    assert_eq!(l4_checksum(p.src, p.dst, 17, u), 0, "UDP checksum wrong");

    tap.send(&udp_frame(NIC_MAC, cfg.peer_mac, nic_end, linux_end, b"hello from the nic"))?;
    let (payload, from) = socket_side.join().map_err(|_| anyhow!("socket thread panicked"))??;
    assert_eq!(payload, b"hello from the nic");
    assert_eq!(from, SocketAddr::V4(nic_end));
    Ok(())
}

#[test]
fn tcp_syn_reaches_the_tap_and_a_reset_refuses_it() -> Result<()> {
    require_root_network()?;
    let cfg = PeerConfig { mtu: 1400, ..PeerConfig::default() };
    let peer = LinuxPeer::start(&cfg)?;
    let tap = peer.tap();
    let target = SocketAddrV4::new(NIC_IP, 7);
    let client = peer.namespace().spawn(move || Ok(TcpStream::connect_timeout(&target.into(), WAIT).map(drop)));

    let frame = next_frame(tap, WAIT)?;
    tap.send(&answer_arp(&frame, NIC_IP, NIC_MAC).ok_or_else(|| anyhow!("expected an ARP request, got {frame:02x?}"))?)?;
    let frame = next_frame(tap, WAIT)?;
    let p = parse_ipv4(&frame)?;
    assert_eq!((p.src, p.dst, p.proto), (cfg.peer_ip, NIC_IP, 6));
    let t = p.segment;
    assert_eq!(be16(&t[2..]), 7);
    assert_eq!(t[13], 0x02, "flags of a bare SYN");
    assert_eq!(l4_checksum(p.src, p.dst, 6, t), 0, "TCP checksum wrong");
    // The first option Linux puts in a SYN is the MSS, from the link's MTU.
    let header_len = usize::from(t[12] >> 4) * 4;
    assert!(header_len > 20 && t[20] == 2 && t[21] == 4, "SYN without MSS first: {:02x?}", &t[20..header_len]);
    assert_eq!(be16(&t[22..]), cfg.mtu - 40);

    let seq = u32::from_be_bytes(t[4..8].try_into()?);
    let mut rst = Vec::new();
    rst.extend_from_slice(&t[2..4]);
    rst.extend_from_slice(&t[0..2]);
    rst.extend_from_slice(&[0; 4]);
    rst.extend_from_slice(&seq.wrapping_add(1).to_be_bytes());
    rst.extend_from_slice(&[0x50, 0x14, 0, 0, 0, 0, 0, 0]); // RST|ACK, no window
    let c = l4_checksum(NIC_IP, cfg.peer_ip, 6, &rst);
    rst[16..18].copy_from_slice(&c.to_be_bytes());
    tap.send(&ipv4_frame(NIC_MAC, cfg.peer_mac, NIC_IP, cfg.peer_ip, 6, &rst))?;

    let outcome = client.join().map_err(|_| anyhow!("client thread panicked"))??;
    match outcome {
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(()),
        other => bail!("connect should be refused by the reset, got {other:?}"),
    }
}

#[test]
fn tcp_data_comes_cut_to_the_mss_with_checksums_filled_in() -> Result<()> {
    require_root_network()?;
    let cfg = PeerConfig::default();
    let peer = LinuxPeer::start(&cfg)?;
    let tap = peer.tap();
    let target = SocketAddrV4::new(NIC_IP, 80);
    const SENT: usize = 8000;
    let client = peer.namespace().spawn(move || {
        let mut s = TcpStream::connect_timeout(&target.into(), WAIT)?;
        s.set_write_timeout(Some(WAIT))?;
        std::io::Write::write_all(&mut s, &[0x5a; SENT])?;
        Ok(())
    });

    let frame = next_frame(tap, WAIT)?;
    tap.send(&answer_arp(&frame, NIC_IP, NIC_MAC).ok_or_else(|| anyhow!("expected an ARP request, got {frame:02x?}"))?)?;
    let syn = next_frame(tap, WAIT)?;
    let t = parse_ipv4(&syn)?.segment.to_vec();
    let their_seq = u32::from_be_bytes(t[4..8].try_into()?);
    let mut synack = Vec::new();
    synack.extend_from_slice(&t[2..4]);
    synack.extend_from_slice(&t[0..2]);
    synack.extend_from_slice(&1000u32.to_be_bytes());
    synack.extend_from_slice(&their_seq.wrapping_add(1).to_be_bytes());
    synack.extend_from_slice(&[0x60, 0x12, 0xff, 0xff, 0, 0, 0, 0]); // SYN|ACK, 64 KiB window
    synack.extend_from_slice(&[2, 4, 0x05, 0xb4]); // MSS 1460
    let c = l4_checksum(NIC_IP, cfg.peer_ip, 6, &synack);
    synack[16..18].copy_from_slice(&c.to_be_bytes());
    tap.send(&ipv4_frame(NIC_MAC, cfg.peer_mac, NIC_IP, cfg.peer_ip, 6, &synack))?;

    // Linux sends it all in its first window, never ACKed here, so some
    // segments may come twice (retransmitted): count each start once.
    let mut seen = std::collections::BTreeMap::new();
    while seen.values().sum::<usize>() < SENT {
        let frame = next_frame(tap, WAIT)?;
        let p = parse_ipv4(&frame)?;
        ensure!(p.proto == 6, "not TCP: {frame:02x?}");
        assert!(frame.len() <= usize::from(cfg.mtu) + 14, "a {}-byte frame: segmentation was offloaded", frame.len());
        assert_eq!(l4_checksum(p.src, p.dst, 6, p.segment), 0, "TCP checksum not filled in");
        let data = &p.segment[usize::from(p.segment[12] >> 4) * 4..];
        if !data.is_empty() {
            assert!(data.iter().all(|&b| b == 0x5a));
            seen.insert(u32::from_be_bytes(p.segment[4..8].try_into()?), data.len());
        }
    }
    assert_eq!(seen.values().max(), Some(&1460), "segments cut to the MSS: {seen:?}");
    client.join().map_err(|_| anyhow!("client thread panicked"))??;
    Ok(())
}

#[test]
fn link_is_configured_and_silent_until_asked() -> Result<()> {
    require_root_network()?;
    let cfg = PeerConfig {
        peer_ip: Ipv4Addr::new(192, 168, 201, 1),
        prefix_len: 30,
        peer_mac: [0x02, 0x12, 0x34, 0x56, 0x78, 0x9a],
        mtu: 1280,
    };
    let peer = LinuxPeer::start(&cfg)?;
    let (ns, dev) = (peer.namespace().name(), peer.tap().name());
    assert_eq!(peer.config(), &cfg);
    let link = ip_out(&["-n", ns, "-o", "link", "show", "dev", dev])?;
    assert!(link.contains("mtu 1280") && link.contains("UP"), "{link}");
    assert!(link.contains(&format!("link/ether {}", format_mac(&cfg.peer_mac))), "{link}");
    let addrs = ip_out(&["-n", ns, "-o", "addr", "show", "dev", dev])?;
    assert!(addrs.contains("inet 192.168.201.1/30"), "{addrs}");
    assert!(!addrs.contains("inet6"), "IPv6 is still on: {addrs}");
    let lo = ip_out(&["-n", ns, "-o", "link", "show", "dev", "lo"])?;
    assert!(lo.contains("UP"), "{lo}");

    // The caller's namespace has no such address: binding it here fails,
    // binding it in the namespace works.
    let here = UdpSocket::bind((cfg.peer_ip, 0));
    assert!(here.is_err(), "the peer address is usable outside the namespace");
    peer.namespace().spawn(move || UdpSocket::bind((cfg.peer_ip, 0)).map(drop).map_err(Into::into)).join().map_err(|_| anyhow!("panicked"))??;
    assert!(ip_out(&["link", "show", "dev", dev]).is_err(), "the TAP link is still in the caller's namespace");

    // After bring-up, with IPv6 off and no traffic, Linux sends nothing:
    // an integrator's NIC sees only what its own traffic provokes.
    let quiet = Duration::from_millis(2500);
    if tap_has_frame(peer.tap(), quiet)? {
        bail!("Linux sent unasked: {:02x?}", peer.tap().recv()?);
    }
    Ok(())
}

fn tap_has_frame(tap: &Tap, within: Duration) -> Result<bool> {
    Ok(tap.recv()?.is_some() || tap.wait_readable(within)?)
}

#[test]
fn namespace_and_link_are_gone_after_drop() -> Result<()> {
    require_root_network()?;
    let peer = LinuxPeer::start(&PeerConfig::default())?;
    let ns = peer.namespace().name().to_string();
    let dev = peer.tap().name().to_string();
    assert!(Path::new(NETNS_DIR).join(&ns).exists());
    ip_out(&["-n", &ns, "link", "show", "dev", &dev])?;
    drop(peer);
    assert!(!Path::new(NETNS_DIR).join(&ns).exists(), "{ns} still mounted");
    let list = ip_out(&["netns", "list"])?;
    assert!(!list.lines().any(|l| l.split_whitespace().next() == Some(ns.as_str())), "{ns} still listed: {list}");
    // Closing the TAP deleted the link; it was not handed back to us.
    assert!(ip_out(&["link", "show", "dev", &dev]).is_err(), "{dev} came back to the caller's namespace");

    let bare = Namespace::create()?;
    let name = bare.name().to_string();
    assert!(name.starts_with(&format!("arsenic-{}-", std::process::id())), "{name}");
    drop(bare);
    assert!(!Path::new(NETNS_DIR).join(&name).exists(), "{name} still mounted");
    Ok(())
}

#[test]
fn sysctl_and_threads_act_inside_the_namespace_only() -> Result<()> {
    require_root_network()?;
    let key = "/proc/sys/net/ipv4/tcp_timestamps";
    let ours = std::fs::read_to_string(key)?;
    let ns = Namespace::create()?;
    let want = if ours.trim() == "0" { "1" } else { "0" };
    ns.sysctl("net.ipv4.tcp_timestamps", want)?;
    let theirs = ns.spawn(move || Ok(std::fs::read_to_string(key)?)).join().map_err(|_| anyhow!("panicked"))??;
    assert_eq!(theirs.trim(), want);
    assert_eq!(std::fs::read_to_string(key)?, ours, "the caller's sysctl changed");

    let err = ns.sysctl("net.ipv4.no_such_knob", "1").unwrap_err().to_string();
    assert!(err.contains("does not exist") && !err.contains('\n'), "{err}");
    let err = ns.sysctl("../etc/passwd", "1").unwrap_err().to_string();
    assert!(err.contains("not a sysctl name"), "{err}");
    let err = ns.ip(&["link", "show", "dev", "nonexistent0"]).unwrap_err().to_string();
    assert!(err.contains(&format!("ip -n {} link show dev nonexistent0", ns.name())) && err.contains("nonexistent0\" does not exist"), "{err}");
    Ok(())
}

#[test]
fn tap_alone_reads_nothing_and_refuses_bad_input() -> Result<()> {
    require_root_network()?;
    let err = Tap::open("a-name-far-too-long").err().ok_or_else(|| anyhow!("long name accepted"))?;
    assert!(err.to_string().contains("pick a shorter name"), "{err}");
    let tap = Tap::open(&format!("arst{:x}", std::process::id()))?;
    assert!(tap.recv()?.is_none());
    assert!(!tap.wait_readable(Duration::from_millis(50))?);
    let err = tap.send(&[0u8; 10]).unwrap_err().to_string();
    assert!(err.contains("14-byte header"), "{err}");
    // Never brought up: the kernel refuses frames, and the message says why.
    let err = tap.send(&[0u8; 60]).unwrap_err().to_string();
    assert!(err.contains("is down"), "{err}");
    let err = Tap::open(tap.name()).err().ok_or_else(|| anyhow!("second TAP with the same name"))?;
    assert!(err.to_string().contains("is taken"), "{err}");
    Ok(())
}

#[test]
fn a_tap_whose_namespace_is_deleted_reports_it_instead_of_waiting() -> Result<()> {
    require_root_network()?;
    let tap = Tap::open(&format!("arsd{:x}", std::process::id()))?;
    let ns = Namespace::create()?;
    super::netns::ip(&["link", "set", "dev", tap.name(), "netns", ns.name()])?;
    drop(ns);
    // The kernel deletes the link when it frees the namespace, a moment
    // after `ip netns del` returns; the wait must end then with an error.
    let started = Instant::now();
    let err = tap.wait_readable(WAIT).err().ok_or_else(|| anyhow!("wait_readable outlived the link"))?;
    assert!(started.elapsed() < WAIT);
    for err in [Some(err), tap.recv().err(), tap.send(&[0u8; 60]).err()] {
        let err = err.ok_or_else(|| anyhow!("a detached TAP still works"))?.to_string();
        assert!(err.contains("is gone"), "{err}");
    }
    Ok(())
}

#[test]
fn bad_configs_are_refused_before_anything_is_made() {
    let base = PeerConfig::default();
    let cases = [
        (PeerConfig { prefix_len: 32, ..base.clone() }, "prefix_len 32"),
        (PeerConfig { prefix_len: 0, ..base.clone() }, "prefix_len 0"),
        (PeerConfig { peer_mac: [0x01, 0, 0x5e, 0, 0, 1], ..base.clone() }, "not a unicast MAC"),
        (PeerConfig { mtu: 40, ..base.clone() }, "mtu 40"),
        (PeerConfig { peer_ip: Ipv4Addr::new(224, 0, 0, 1), ..base.clone() }, "peer_ip 224.0.0.1"),
    ];
    for (cfg, want) in cases {
        let err = LinuxPeer::start(&cfg).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(want), "{cfg:?}: {err:?}");
    }
}

#[test]
fn arp_reply_answers_the_request_it_is_built_from() {
    let asker = [0x02, 0, 0, 0, 0xb0, 0x01];
    let request = Arp {
        eth_dst: BROADCAST_MAC,
        eth_src: asker,
        op: ARP_REQUEST,
        sender_mac: asker,
        sender_ip: Ipv4Addr::new(10, 77, 0, 1),
        target_mac: [0; 6],
        target_ip: NIC_IP,
    };
    let mut frame = request.to_frame();
    assert_eq!(frame.len(), ARP_FRAME_LEN);
    assert_eq!(Arp::parse(&frame), Some(request));
    let reply = Arp::parse(&answer_arp(&frame, NIC_IP, NIC_MAC).expect("a reply")).expect("parses");
    assert_eq!(
        reply,
        Arp {
            eth_dst: asker,
            eth_src: NIC_MAC,
            op: ARP_REPLY,
            sender_mac: NIC_MAC,
            sender_ip: NIC_IP,
            target_mac: asker,
            target_ip: Ipv4Addr::new(10, 77, 0, 1),
        }
    );
    assert_eq!(answer_arp(&frame, Ipv4Addr::new(10, 77, 0, 3), NIC_MAC), None, "someone else's address");
    assert_eq!(answer_arp(&reply.to_frame(), NIC_IP, NIC_MAC), None, "a reply is not answered");
    frame.extend_from_slice(&[0; 18]); // padded to 60 by a NIC: still parses
    assert_eq!(Arp::parse(&frame), Some(request));
    assert_eq!(Arp::parse(&frame[..41]), None);
    frame[12] = 0x08;
    frame[13] = 0x00;
    assert_eq!(Arp::parse(&frame), None, "IPv4 is not ARP");
}

// The integrator moves the peer into the thread that runs the simulation.
const _: fn() = || {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<LinuxPeer>();
};
