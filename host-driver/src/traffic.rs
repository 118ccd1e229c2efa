//! Built-in traffic for `arsenic sim` when no capture is given: a
//! deterministic mix of what a NIC meets (IPv4 and IPv6, TCP and UDP, ARP,
//! VLAN and QinQ tags, every size from minimum to maximum) and of what it
//! must refuse (runts, giants, frames with a bad FCS). The good frames'
//! headers are well formed (lengths that match the frame, a TCP data offset
//! of 5), so the demultiplexer looks them up rather than calling them
//! malformed, and their destination ports are well-known ones a listening
//! filter can match.

/// A frame to put on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestFrame {
    pub data: Vec<u8>,
    pub fcs_error: bool,
}

/// A small, seedable generator (xorshift64*), so runs repeat exactly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86DD;
const ETH_ARP: u16 = 0x0806;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88A8;

fn mac(rng: &mut Rng) -> [u8; 6] {
    let mut m = [0u8; 6];
    rng.fill(&mut m);
    m[0] &= 0xFE; // unicast
    m[0] |= 0x02; // locally administered
    m
}

/// An Ethernet frame: addresses, optional tags, the ethertype, a payload
/// that begins with an L3 header, padded to `len` (or longer, if the
/// headers need more).
fn ethernet(rng: &mut Rng, tags: &[u16], ethertype: u16, l3: &[u8], len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len.max(64));
    f.extend_from_slice(&mac(rng));
    f.extend_from_slice(&mac(rng));
    for &tpid in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(rng.range(1, 4094) as u16).to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(l3);
    let mut pad = vec![0u8; len.saturating_sub(f.len())];
    rng.fill(&mut pad);
    f.extend_from_slice(&pad);
    f
}

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

fn l4_header_len(proto: u8) -> usize {
    if proto == PROTO_TCP {
        20
    } else {
        8
    }
}

/// An IPv4 packet's headers (IP and TCP or UDP) for a packet of `total`
/// bytes, at least the headers' length.
fn ipv4(rng: &mut Rng, proto: u8, total: usize) -> Vec<u8> {
    let total = total.clamp(20 + l4_header_len(proto), 0xFFFF);
    let mut h = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
    h[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    let mut addrs = [0u8; 8];
    rng.fill(&mut addrs);
    h.extend_from_slice(&addrs);
    h.extend_from_slice(&l4_header(rng, proto, total - 20));
    h
}

/// An IPv6 packet's headers for a payload of `payload` bytes, at least the
/// TCP or UDP header's length.
fn ipv6(rng: &mut Rng, next: u8, payload: usize) -> Vec<u8> {
    let payload = payload.clamp(l4_header_len(next), 0xFFFF);
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    let mut addrs = [0u8; 32];
    rng.fill(&mut addrs);
    h.extend_from_slice(&addrs);
    h.extend_from_slice(&l4_header(rng, next, payload));
    h
}

/// A TCP (data offset 5, no options) or UDP header for a segment of `len`
/// bytes.
fn l4_header(rng: &mut Rng, proto: u8, len: usize) -> Vec<u8> {
    let mut h = vec![0u8; l4_header_len(proto)];
    rng.fill(&mut h);
    h[..4].copy_from_slice(&ports(rng));
    if proto == PROTO_TCP {
        h[12] = 0x50;
    } else {
        h[4..6].copy_from_slice(&(len as u16).to_be_bytes());
    }
    h
}

/// Destination ports servers listen on, so listening filters have traffic.
const SERVICE_PORTS: [u16; 8] = [22, 53, 80, 123, 443, 853, 3306, 8080];

fn ports(rng: &mut Rng) -> [u8; 4] {
    let mut p = [0u8; 4];
    p[..2].copy_from_slice(&(rng.range(1024, 65535) as u16).to_be_bytes());
    p[2..].copy_from_slice(&SERVICE_PORTS[rng.range(0, SERVICE_PORTS.len() - 1)].to_be_bytes());
    p
}

/// `count` frames from `seed`. One in twelve is bad: too short, too long
/// for `max_frame`, or with a bad FCS.
pub fn mixed(count: usize, seed: u64, max_frame: usize) -> Vec<TestFrame> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|i| {
            let len = match rng.range(0, 9) {
                0 => 60,
                1 => max_frame,
                _ => rng.range(60, 1514),
            };
            // The bad ones sit at fixed places in every 36 frames, so any run
            // of that length has each kind.
            let (data, fcs_error) = match i % 36 {
                5 => {
                    let mut runt = vec![0u8; rng.range(1, 13)];
                    rng.fill(&mut runt);
                    (runt, false)
                }
                17 => {
                    let giant = max_frame + rng.range(1, 500);
                    let l3 = ipv4(&mut rng, PROTO_UDP, giant - 14);
                    (ethernet(&mut rng, &[], ETH_IPV4, &l3, giant), false)
                }
                29 => {
                    let l3 = ipv4(&mut rng, PROTO_UDP, len - 14);
                    (ethernet(&mut rng, &[], ETH_IPV4, &l3, len), true)
                }
                _ => (good_frame(&mut rng, len), false),
            };
            TestFrame { data, fcs_error }
        })
        .collect()
}

/// The conversations some of the traffic belongs to, so that exact and MAC
/// filters (as in `configs/demo.toml`) have frames to claim.
pub mod conversations {
    /// TCP 10.0.0.1:40000 -> 10.0.0.2:8080.
    pub const TCP_V4: ([u8; 4], u16, [u8; 4], u16) = ([10, 0, 0, 1], 40000, [10, 0, 0, 2], 8080);
    /// UDP [2001:db8::1]:5353 -> [2001:db8::2]:5353.
    pub const UDP_V6: (u128, u16, u128, u16) =
        (0x2001_0db8_0000_0000_0000_0000_0000_0001, 5353, 0x2001_0db8_0000_0000_0000_0000_0000_0002, 5353);
    /// Frames to this MAC on VLAN 10.
    pub const MAC_VLAN: ([u8; 6], u16) = ([0x02, 0, 0, 0, 0, 0x10], 10);
}

/// A good frame of one of the conversations: a random frame of the right
/// shape with its addresses and ports set.
fn conversation_frame(rng: &mut Rng, len: usize) -> Vec<u8> {
    use conversations::*;
    match rng.range(0, 2) {
        0 => {
            let l3 = ipv4(rng, PROTO_TCP, len - 14);
            let mut f = ethernet(rng, &[], ETH_IPV4, &l3, len);
            let (src, sport, dst, dport) = TCP_V4;
            f[26..30].copy_from_slice(&src);
            f[30..34].copy_from_slice(&dst);
            f[34..36].copy_from_slice(&sport.to_be_bytes());
            f[36..38].copy_from_slice(&dport.to_be_bytes());
            f
        }
        1 => {
            let l3 = ipv6(rng, PROTO_UDP, len - 54);
            let mut f = ethernet(rng, &[], ETH_IPV6, &l3, len);
            let (src, sport, dst, dport) = UDP_V6;
            f[22..38].copy_from_slice(&src.to_be_bytes());
            f[38..54].copy_from_slice(&dst.to_be_bytes());
            f[54..56].copy_from_slice(&sport.to_be_bytes());
            f[56..58].copy_from_slice(&dport.to_be_bytes());
            f
        }
        _ => {
            let l3 = ipv4(rng, PROTO_UDP, len - 18);
            let mut f = ethernet(rng, &[ETH_VLAN], ETH_IPV4, &l3, len);
            let (mac, vlan) = MAC_VLAN;
            f[..6].copy_from_slice(&mac);
            f[14..16].copy_from_slice(&vlan.to_be_bytes());
            f
        }
    }
}

fn good_frame(rng: &mut Rng, len: usize) -> Vec<u8> {
    if rng.range(0, 5) == 0 {
        return conversation_frame(rng, len);
    }
    // The IP packet fills the frame after the Ethernet header and tags.
    let ip4 = |rng: &mut Rng, tags: usize, proto| ipv4(rng, proto, len - 14 - 4 * tags);
    let (tags, ethertype, l3): (&[u16], u16, Vec<u8>) = match rng.range(0, 9) {
        0 => return ethernet(rng, &[], ETH_ARP, &[0, 1, 8, 0, 6, 4, 0, 1], 60),
        1 => (&[], ETH_IPV6, ipv6(rng, PROTO_UDP, len - 54)),
        2 => (&[], ETH_IPV6, ipv6(rng, PROTO_TCP, len - 54)),
        3 => (&[ETH_VLAN], ETH_IPV4, ip4(rng, 1, PROTO_UDP)),
        4 => (&[ETH_QINQ, ETH_VLAN], ETH_IPV4, ip4(rng, 2, PROTO_TCP)),
        5 | 6 => (&[], ETH_IPV4, ip4(rng, 0, PROTO_TCP)),
        _ => (&[], ETH_IPV4, ip4(rng, 0, PROTO_UDP)),
    };
    ethernet(rng, tags, ethertype, &l3, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_varied() {
        let a = mixed(500, 7, 1522);
        assert_eq!(a, mixed(500, 7, 1522));
        assert_ne!(a, mixed(500, 8, 1522));
        assert!(a.iter().any(|f| f.data.len() < 14));
        assert!(a.iter().any(|f| f.data.len() > 1522));
        assert!(a.iter().any(|f| f.fcs_error));
        assert!(a.iter().any(|f| f.data.len() == 1522));
        let good = a.iter().filter(|f| !f.fcs_error && (14..=1522).contains(&f.data.len()));
        assert!(good.count() > 400);
    }

    #[test]
    fn good_frames_parse_cleanly() {
        let frames = mixed(2000, 3, 1522);
        let mut ip = 0;
        for f in frames.iter().filter(|f| !f.fcs_error && (14..=1522).contains(&f.data.len())) {
            let flow = crate::demux::parse::parse(&f.data);
            assert!(flow.is_ok(), "{flow:?}: {:02x?}", f.data);
            ip += flow.is_ok_and(|fl| fl.ip.is_some_and(|i| i.ports.is_some())) as usize;
        }
        assert!(ip > 1500, "{ip} TCP/UDP frames");
    }

    #[test]
    fn some_frames_belong_to_each_conversation() {
        use conversations::*;
        let frames = mixed(600, 1, 1522);
        let flows: Vec<_> = frames.iter().filter_map(|f| crate::demux::parse::parse(&f.data).ok()).collect();
        let (src, sport, dst, dport) = TCP_V4;
        let tcp = flows.iter().filter(|fl| {
            fl.ip.is_some_and(|ip| {
                ip.src == u32::from_be_bytes(src) as u128
                    && ip.dst == u32::from_be_bytes(dst) as u128
                    && ip.ports == Some((sport, dport))
            })
        });
        let v6 = flows.iter().filter(|fl| fl.ip.is_some_and(|ip| ip.v6 && ip.src == UDP_V6.0 && ip.ports == Some((5353, 5353))));
        let mac = flows.iter().filter(|fl| fl.dst_mac == MAC_VLAN.0 && fl.vlan == Some(MAC_VLAN.1));
        assert!(tcp.count() > 10 && v6.count() > 10 && mac.count() > 10);
    }
}

/// The addresses of a UDP/IPv4 frame built by `udp4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp4 {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub sport: u16,
    pub dport: u16,
}

/// An untagged UDP/IPv4 frame of `len` bytes (at least 42), its payload
/// bytes numbered from `seq` so frames of one stream differ.
pub fn udp4(a: &Udp4, len: usize, seq: u32) -> Vec<u8> {
    let len = len.max(42);
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&a.dst_mac);
    f.extend_from_slice(&a.src_mac);
    f.extend_from_slice(&ETH_IPV4.to_be_bytes());
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&((len - 14) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, PROTO_UDP, 0, 0]);
    f.extend_from_slice(&a.src);
    f.extend_from_slice(&a.dst);
    f.extend_from_slice(&a.sport.to_be_bytes());
    f.extend_from_slice(&a.dport.to_be_bytes());
    f.extend_from_slice(&((len - 34) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    let mut i = seq;
    while f.len() < len {
        f.extend_from_slice(&i.to_be_bytes());
        i = i.wrapping_add(1);
    }
    f.truncate(len);
    f
}
