//! An application's smoltcp on its own queue of the RTL NIC, talking to
//! Linux's own TCP/IP stack in a namespace: transfers, the rate limiter,
//! the kernel's path beside it, spoofing, and a lossy wire.

use arsenic::device::rtl::RtlDevice;
use arsenic::netpeer::linux_peer::LinuxPeer;
use arsenic::stack::demo::{self, cap, DemoConfig};
use arsenic::stack::link::Impairment;

fn linux_allowed() {
    // CI runs as root; a machine that forbids namespaces fails here with
    // the reason rather than skipping.
    LinuxPeer::probe().expect("namespaces and TAP devices");
}

#[test]
fn a_mebibyte_crosses_each_way_under_the_queues_rate_cap() {
    linux_allowed();
    let cfg = DemoConfig { bytes: 1 << 20, shaping: Some(cap(300).unwrap()), ..Default::default() };
    let r = demo::linux(RtlDevice::new(), &cfg, &mut |_, _| {}).unwrap();
    println!("{r:#?}");
    assert_eq!((r.to_peer.bytes, r.from_peer.bytes), (1 << 20, 1 << 20));
    // The cap is on the wire's bits; goodput leaves out 78 bytes of
    // framing and headers in each 1538, so it sits a little under.
    let capped = r.to_peer.goodput_fraction;
    assert!(capped <= 0.300 && capped > 0.8 * 0.300 * 1460.0 / 1538.0, "goodput to Linux {capped} against a 0.300 cap");
    // Receiving is not shaped.
    assert!(r.from_peer.goodput_fraction > 0.5, "{:?}", r.from_peer);
    assert_eq!(r.app_queue.tx_rejected, 0);
    assert_eq!(r.app_phy.rx_not_ip, 0);
}

#[test]
fn loss_and_reordering_on_the_wire_do_not_corrupt_the_files() {
    linux_allowed();
    let impair = Impairment { loss_per_mille: 20, reorder_per_mille: 20, seed: 3 };
    let cfg = DemoConfig { bytes: 256 * 1024, impair, ..Default::default() };
    let r = demo::linux(RtlDevice::new(), &cfg, &mut |_, _| {}).unwrap();
    println!("{r:#?}");
    assert_eq!((r.to_peer.bytes, r.from_peer.bytes), (256 * 1024, 256 * 1024));
    assert!(r.net.out.dropped + r.net.back.dropped > 0 && r.net.out.reordered + r.net.back.reordered > 0);
    // A lost pure ACK needs no resend; lost data does, and the files came
    // through whole, so TCP resent it.
    assert!(r.net.out.tcp_retransmits + r.net.back.tcp_retransmits > 0, "nothing was resent: {:?}", r.net);
}

/// `udp4` leaves the IPv4 header checksum 0; Linux drops such frames.
fn checksummed(mut f: Vec<u8>) -> Vec<u8> {
    let sum: u32 = f[14..34].chunks(2).map(|w| u16::from_be_bytes([w[0], w[1]]) as u32).sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    f[24..26].copy_from_slice(&(!((folded & 0xffff) + (folded >> 16)) as u16).to_be_bytes());
    f
}

/// Runs `serve` on a UDP socket bound to Linux's `port` inside the peer's
/// namespace (read timeout 120 s), returning once it is bound, so nothing
/// sent after this can find the port closed.
fn udp_on_linux<T: Send + 'static>(
    net: &arsenic::stack::net::Net<RtlDevice, arsenic::stack::linux_end::LinuxEnd>,
    port: u16,
    serve: impl FnOnce(std::net::UdpSocket) -> anyhow::Result<T> + Send + 'static,
) -> std::thread::JoinHandle<anyhow::Result<T>> {
    let (bound_tx, bound_rx) = std::sync::mpsc::channel();
    let job = net.far.peer.namespace().spawn(move || {
        let s = std::net::UdpSocket::bind((demo::PEER.ip, port))?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(120)))?;
        let _ = bound_tx.send(());
        serve(s)
    });
    bound_rx.recv_timeout(std::time::Duration::from_secs(10)).expect("Linux's socket bound");
    job
}

/// Runs the network until `job` (on the Linux side) finishes.
fn run_while<F: arsenic::stack::net::FarEnd, T>(
    net: &mut arsenic::stack::net::Net<RtlDevice, F>,
    job: &std::thread::JoinHandle<anyhow::Result<T>>,
) {
    let start = std::time::Instant::now();
    while !job.is_finished() {
        net.step().unwrap();
        assert!(start.elapsed().as_secs() < 300, "the Linux side never finished");
    }
}

#[test]
fn the_kernel_path_answers_what_no_filter_claims_and_the_nic_drops_spoofed_headers() {
    use arsenic::traffic::{udp4, Udp4};
    use std::net::{SocketAddr, TcpStream, UdpSocket};
    use std::time::Duration;
    linux_allowed();
    let mut net = demo::linux_net(RtlDevice::new(), &DemoConfig::default()).unwrap();

    // The kernel path, from Linux's side: a TCP port nobody claimed is
    // refused (the default queue's stack resets it), and a UDP one answers
    // port unreachable.
    let probe = net.far.peer.namespace().spawn(|| {
        let host: SocketAddr = (demo::HOST.ip, 9999).into();
        let tcp = TcpStream::connect_timeout(&host, Duration::from_secs(60)).map(|_| ()).map_err(|e| e.kind());
        let udp = UdpSocket::bind((demo::PEER.ip, 0))?;
        udp.connect((demo::HOST.ip, 9998))?;
        udp.set_read_timeout(Some(Duration::from_secs(60)))?;
        udp.send(b"anyone?")?;
        let answer = udp.recv(&mut [0u8; 64]).map(|_| ()).map_err(|e| e.kind());
        Ok((tcp, answer))
    });
    run_while(&mut net, &probe);
    let (tcp, udp) = probe.join().unwrap().unwrap();
    assert_eq!(tcp, Err(std::io::ErrorKind::ConnectionRefused));
    assert_eq!(udp, Err(std::io::ErrorKind::ConnectionRefused));
    let seen = net.host.kernel.seen();
    assert!(seen.arp >= 1 && seen.icmp >= 1 && seen.tcp >= 1 && seen.udp >= 1, "{seen:?}");
    assert_eq!(net.host.apps[0].stack.phy().stats().rx_frames, 0, "the application's queue got none of it");

    // Spoofing: the application writes frames itself, two posing as another
    // application (its port, another address) and one honest; Linux gets
    // only the honest one, and the NIC counts the other two.
    let listener = udp_on_linux(&net, 6000, |s| {
        let mut from = vec![];
        loop {
            let (_, addr) = s.recv_from(&mut [0u8; 2048])?;
            from.push(addr);
            if addr.port() == demo::APP_PORT {
                // Anything spoofed was sent before this and would be here.
                std::thread::sleep(Duration::from_millis(300));
                s.set_nonblocking(true)?;
                while let Ok((_, a)) = s.recv_from(&mut [0u8; 2048]) {
                    from.push(a);
                }
                return Ok(from);
            }
        }
    });
    let honest = Udp4 { src_mac: demo::HOST.mac, dst_mac: demo::PEER.mac, src: demo::HOST.ip.octets(), dst: demo::PEER.ip.octets(), sport: demo::APP_PORT, dport: 6000 };
    let other_port = Udp4 { sport: demo::APP_PORT + 1, ..honest };
    let other_ip = Udp4 { src: [10, 77, 0, 9], ..honest };
    let phy = net.host.apps[0].stack.phy_mut();
    phy.send_raw(&checksummed(udp4(&other_port, 100, 1))).unwrap();
    phy.send_raw(&checksummed(udp4(&other_ip, 100, 2))).unwrap();
    phy.send_raw(&checksummed(udp4(&honest, 100, 3))).unwrap();
    run_while(&mut net, &listener);
    let from = listener.join().unwrap();
    let c = net.host.apps[0].stack.phy().queue().counters().unwrap();
    let from = from.unwrap_or_else(|e| panic!("{e}: {:?} {c:?} {:?}", net.stats(), net.host.apps[0].stack.phy().queue().errors()));
    assert_eq!(from, vec![SocketAddr::from((demo::HOST.ip, demo::APP_PORT))]);
    let c = net.host.apps[0].stack.phy().queue().counters().unwrap();
    assert_eq!((c.tx_sent, c.tx_rejected), (1, 2));
    assert_eq!(net.host.apps[0].stack.phy_mut().queue_mut().tx_outstanding(), 0);
    assert_eq!(net.host.apps[0].stack.phy().queue().errors().tx_template, 2);
}

#[test]
fn the_application_talks_udp_through_smoltcp_on_its_queue() {
    use smoltcp::socket::udp;
    use smoltcp::wire::{IpAddress, IpEndpoint};
    linux_allowed();
    let mut net = demo::linux_net(RtlDevice::new(), &DemoConfig::default()).unwrap();
    let echo = udp_on_linux(&net, 6001, |s| {
        let mut buf = [0u8; 2048];
        let (n, from) = s.recv_from(&mut buf)?;
        s.send_to(&buf[..n].iter().rev().copied().collect::<Vec<u8>>(), from)?;
        Ok(from)
    });
    let buf = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4096]);
    let stack = &mut net.host.apps[0].stack;
    let h = stack.add(udp::Socket::new(buf(), buf()));
    stack.socket::<udp::Socket>(h).bind(demo::APP_PORT).unwrap();
    let peer = IpEndpoint::new(IpAddress::Ipv4(demo::PEER.ip), 6001);
    stack.socket::<udp::Socket>(h).send_slice(b"over my own queue", peer).unwrap();
    let mut reply = None;
    for _ in 0..20_000 {
        net.step().unwrap();
        if let Ok((data, meta)) = net.host.apps[0].stack.socket::<udp::Socket>(h).recv() {
            reply = Some((data.to_vec(), meta.endpoint));
            break;
        }
    }
    let from = echo.join().unwrap().unwrap();
    assert_eq!(from, std::net::SocketAddr::from((demo::HOST.ip, demo::APP_PORT)));
    assert_eq!(reply, Some((b"eueuq nwo ym revo".to_vec(), peer)));
    assert_eq!(net.host.kernel.seen().udp, 0, "the reply went to the application's queue, not the default one");
}
