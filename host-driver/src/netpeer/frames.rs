//! ARP over Ethernet for IPv4, read and written by hand: what the TAP side
//! of a link needs to answer the Linux peer's "who has" without a stack
//! of its own (tests, or a NIC that is not yet up).

use std::net::Ipv4Addr;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];
pub const ARP_REQUEST: u16 = 1;
pub const ARP_REPLY: u16 = 2;

/// Ethernet header plus the 28-byte ARP body. Linux sends ARP unpadded on
/// a TAP (padding to 60 bytes is a NIC's job), and takes it unpadded.
pub const ARP_FRAME_LEN: usize = 14 + 28;

/// One ARP packet for IPv4 over Ethernet, with the Ethernet addresses it
/// travelled between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub op: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

impl Arp {
    /// The ARP packet in an Ethernet frame; `None` if the frame is not
    /// ARP, or is ARP for other than IPv4 over Ethernet, or is cut short.
    /// Bytes after the packet (padding, an FCS) are ignored.
    pub fn parse(frame: &[u8]) -> Option<Arp> {
        if frame.len() < ARP_FRAME_LEN || be16(&frame[12..]) != ETHERTYPE_ARP {
            return None;
        }
        let a = &frame[14..];
        // hardware type 1 (Ethernet), protocol IPv4, 6-byte and 4-byte addresses
        if be16(a) != 1 || be16(&a[2..]) != ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4 {
            return None;
        }
        Some(Arp {
            eth_dst: mac(&frame[0..]),
            eth_src: mac(&frame[6..]),
            op: be16(&a[6..]),
            sender_mac: mac(&a[8..]),
            sender_ip: ip(&a[14..]),
            target_mac: mac(&a[18..]),
            target_ip: ip(&a[24..]),
        })
    }

    /// The reply a host owning `target_ip` at `our_mac` gives to this
    /// request, sent straight back to the asker. Answers unicast probes
    /// (Linux re-checks a stale neighbour that way) as well as broadcasts.
    pub fn reply(&self, our_mac: [u8; 6]) -> Arp {
        Arp {
            eth_dst: self.sender_mac,
            eth_src: our_mac,
            op: ARP_REPLY,
            sender_mac: our_mac,
            sender_ip: self.target_ip,
            target_mac: self.sender_mac,
            target_ip: self.sender_ip,
        }
    }

    /// The whole Ethernet frame, `ARP_FRAME_LEN` bytes, no FCS.
    pub fn to_frame(&self) -> Vec<u8> {
        let mut f = Vec::with_capacity(ARP_FRAME_LEN);
        f.extend_from_slice(&self.eth_dst);
        f.extend_from_slice(&self.eth_src);
        f.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
        f.extend_from_slice(&1u16.to_be_bytes());
        f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        f.extend_from_slice(&[6, 4]);
        f.extend_from_slice(&self.op.to_be_bytes());
        f.extend_from_slice(&self.sender_mac);
        f.extend_from_slice(&self.sender_ip.octets());
        f.extend_from_slice(&self.target_mac);
        f.extend_from_slice(&self.target_ip.octets());
        f
    }
}

/// If `frame` asks who has `our_ip`, the reply frame saying `our_mac` does.
pub fn answer_arp(frame: &[u8], our_ip: Ipv4Addr, our_mac: [u8; 6]) -> Option<Vec<u8>> {
    let arp = Arp::parse(frame)?;
    (arp.op == ARP_REQUEST && arp.target_ip == our_ip).then(|| arp.reply(our_mac).to_frame())
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn mac(b: &[u8]) -> [u8; 6] {
    [b[0], b[1], b[2], b[3], b[4], b[5]]
}

fn ip(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}
