//! The flow demultiplexer's contract, shared by the gateware, the host
//! control plane and the behavioural model: what the parser extracts, how
//! filter keys are laid out, the two table hash functions, the RSS hash, and
//! how a frame's queue is decided. Everything here is plain Rust so that the
//! model and the control plane compute exactly what the hardware does.
//!
//! # Parsing (what `blocks::header_parser` does, byte by byte)
//!
//! Offsets are bytes from the frame's first byte (no preamble, no FCS).
//! - Ethernet: destination MAC at 0..6, source at 6..12, type at 12..14.
//! - Up to two VLAN tags: a type of 0x8100 or 0x88A8 is followed by a 2-byte
//!   TCI (the VLAN ID is its low 12 bits) and the next type. The first tag's
//!   VLAN ID is the frame's VLAN. A third tag is malformed (`BadTags`).
//! - Type 0x0800, IPv4 at `l3`: version must be 4 and IHL at least 5, else
//!   `BadIpv4`. Total length at l3+2, flags and fragment offset at l3+6 (a
//!   fragment has MF set or a non-zero offset), protocol at l3+9, source at
//!   l3+12, destination at l3+16; options up to IHL*4 are skipped.
//! - Type 0x86DD, IPv6 at `l3`: version must be 6, else `BadIpv6`. Payload
//!   length at l3+4, next header at l3+6, source at l3+8, destination at
//!   l3+24; extension headers start at l3+40. Hop-by-hop (0), routing (43)
//!   and destination options (60) are walked: next header at +0, length
//!   (8 * (byte at +1) + 8) bytes. A fragment header (44) makes the frame a
//!   fragment; parsing stops there.
//! - Any other type: a non-IP frame. Nothing more is parsed; only MAC
//!   filters apply to it.
//! - Layer 4 at `l4` (after IPv4 options or the IPv6 chain), for protocol 6
//!   (TCP) and 17 (UDP) only: source port at l4, destination port at l4+2.
//!   TCP's data offset (high nibble of l4+12) must be at least 5, else
//!   `BadL4`; its header is data offset * 4 bytes. UDP's header is 8 bytes.
//!   Other protocols have no ports and nothing to parse.
//! - A frame that ends before the header being parsed is complete is
//!   `Truncated`. So is an IP packet whose stated length runs past the end
//!   of the frame (IPv4: l3 + total length; IPv6: l3 + 40 + payload length),
//!   or whose headers, as parsed, run past that stated end. An IPv4 total
//!   length smaller than IHL*4 is `BadIpv4`. Bytes after the stated end
//!   (Ethernet padding) are allowed.
//! - When more than one thing is wrong, the first found in byte order wins;
//!   at the frame's end, the length checks are made in the order above.
//!
//! # Deciding a queue
//!
//! Frames the frame check rejected (runt, giant, bad FCS) get reason
//! `FrameError` and no queue. Fragments and malformed frames go to the
//! default queue with their reason. Otherwise the lookups below are tried in
//! order and the first hit decides; no hit is `Miss`, to the default queue.
//!
//! | kind | table | applies to | key fields |
//! | --- | --- | --- | --- |
//! | Exact5 | exact | TCP/UDP over IP | v6, proto, src, dst, sport, dport |
//! | ListenAddrPort | wildcard | TCP/UDP over IP | v6, proto, dst, dport |
//! | ListenPort | wildcard | TCP/UDP over IP | v6, proto, dport |
//! | ListenAddr | wildcard | any IP | v6, proto, dst |
//! | Proto | wildcard | any IP | v6, proto |
//! | MacVlan | wildcard | any frame with a VLAN tag | dst MAC, VLAN ID |
//! | Mac | wildcard | any frame | dst MAC |
//!
//! A hit's value names a base queue and a spread: the queue is
//! `base + (rss & (2^spread - 1))`, wrapped past the last queue (see
//! `Action::queue_for`), so a filter can spread its flows over a group of
//! queues by the RSS hash.

/// Bits of a filter key. Stored as ten 32-bit words, word 0 least
/// significant; the top 16 bits of word 9 are always zero.
pub const KEY_BITS: usize = 304;
pub const KEY_WORDS: usize = 10;
/// A table entry: the key's ten words, then the 32-bit value above them
/// (at bit `VALUE_LSB`).
pub const VALUE_LSB: usize = KEY_WORDS * 32;
pub const ENTRY_BITS: usize = VALUE_LSB + 32;
/// Slots per bucket; each key may live in any slot of either of its two
/// buckets (4-way, 2-choice cuckoo hashing).
pub const WAYS: usize = 4;
/// Output bits of each table hash; a table with 2^b buckets uses the low b.
pub const HASH_BITS: usize = 16;

/// Key field positions (bit offsets from the least significant bit).
pub const DPORT_LSB: usize = 0;
pub const SPORT_LSB: usize = 16;
pub const DST_LSB: usize = 32;
pub const SRC_LSB: usize = 160;
pub const PROTO_LSB: usize = 288;
pub const V6_BIT: usize = 296;
pub const KIND_LSB: usize = 297;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum FilterKind {
    Exact5 = 1,
    ListenAddrPort = 2,
    ListenPort = 3,
    ListenAddr = 4,
    Proto = 5,
    MacVlan = 6,
    Mac = 7,
}

impl FilterKind {
    /// Lookup order: most specific first.
    pub const ORDER: [FilterKind; 7] = [
        FilterKind::Exact5,
        FilterKind::ListenAddrPort,
        FilterKind::ListenPort,
        FilterKind::ListenAddr,
        FilterKind::Proto,
        FilterKind::MacVlan,
        FilterKind::Mac,
    ];

    pub fn table(self) -> Table {
        if self == FilterKind::Exact5 {
            Table::Exact
        } else {
            Table::Wildcard
        }
    }

    pub fn from_u8(v: u8) -> Option<FilterKind> {
        FilterKind::ORDER.iter().copied().find(|k| *k as u8 == v)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    Exact = 0,
    Wildcard = 1,
}

/// Why a frame went where it did. The numbers are what the gateware
/// reports with each decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Reason {
    /// A filter matched.
    Hit = 0,
    /// Parsed fine, no filter matched: default queue.
    Miss = 1,
    Fragment = 2,
    Truncated = 3,
    BadIpv4 = 4,
    BadIpv6 = 5,
    BadL4 = 6,
    BadTags = 7,
    /// The frame check rejected it (runt, giant, bad FCS): no queue.
    FrameError = 8,
    /// A new frame ended while the previous lookup was still running, which
    /// a MAC's inter-frame gap makes impossible at line rate: default queue.
    Overrun = 9,
}

impl Reason {
    pub const ALL: [Reason; 10] = [
        Reason::Hit,
        Reason::Miss,
        Reason::Fragment,
        Reason::Truncated,
        Reason::BadIpv4,
        Reason::BadIpv6,
        Reason::BadL4,
        Reason::BadTags,
        Reason::FrameError,
        Reason::Overrun,
    ];

    pub fn from_u8(v: u8) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| *r as u8 == v)
    }

    pub fn name(self) -> &'static str {
        match self {
            Reason::Hit => "hit",
            Reason::Miss => "miss",
            Reason::Fragment => "fragment",
            Reason::Truncated => "truncated",
            Reason::BadIpv4 => "bad_ipv4",
            Reason::BadIpv6 => "bad_ipv6",
            Reason::BadL4 => "bad_l4",
            Reason::BadTags => "bad_tags",
            Reason::FrameError => "frame_error",
            Reason::Overrun => "overrun",
        }
    }
}

/// A filter key: ten 32-bit words, least significant first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub [u32; KEY_WORDS]);

impl Key {
    pub fn bit(&self, i: usize) -> bool {
        self.0[i / 32] >> (i % 32) & 1 != 0
    }

    /// ORs `value`'s low `width` bits in at bit `lsb`.
    pub fn set(&mut self, lsb: usize, width: usize, value: u128) {
        for i in 0..width {
            if value >> i & 1 != 0 {
                self.0[(lsb + i) / 32] |= 1 << ((lsb + i) % 32);
            }
        }
    }

    pub fn kind(&self) -> Option<FilterKind> {
        FilterKind::from_u8((self.0[KIND_LSB / 32] >> (KIND_LSB % 32) & 7) as u8)
    }
}

/// What the parser extracts from a frame that is fine to look up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flow {
    pub dst_mac: [u8; 6],
    /// The first VLAN tag's ID, if the frame has one.
    pub vlan: Option<u16>,
    /// Layer 3, if IP.
    pub ip: Option<IpFlow>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpFlow {
    pub v6: bool,
    pub proto: u8,
    /// Addresses in network byte order as big-endian numbers; IPv4 in the
    /// low 32 bits.
    pub src: u128,
    pub dst: u128,
    /// Ports, for TCP and UDP.
    pub ports: Option<(u16, u16)>,
}

/// The key a lookup of `kind` uses for `flow`, or None if that kind does
/// not apply to the flow.
pub fn lookup_key(kind: FilterKind, flow: &Flow) -> Option<Key> {
    let mut k = Key::default();
    k.set(KIND_LSB, 3, kind as u128);
    let ip_fields = |k: &mut Key, ip: &IpFlow| {
        k.set(V6_BIT, 1, ip.v6 as u128);
        k.set(PROTO_LSB, 8, ip.proto as u128);
    };
    match kind {
        FilterKind::Exact5 | FilterKind::ListenAddrPort | FilterKind::ListenPort => {
            let ip = flow.ip.as_ref()?;
            let (sport, dport) = ip.ports?;
            ip_fields(&mut k, ip);
            k.set(DPORT_LSB, 16, dport as u128);
            if kind != FilterKind::ListenPort {
                k.set(DST_LSB, 128, ip.dst);
            }
            if kind == FilterKind::Exact5 {
                k.set(SRC_LSB, 128, ip.src);
                k.set(SPORT_LSB, 16, sport as u128);
            }
        }
        FilterKind::ListenAddr | FilterKind::Proto => {
            let ip = flow.ip.as_ref()?;
            ip_fields(&mut k, ip);
            if kind == FilterKind::ListenAddr {
                k.set(DST_LSB, 128, ip.dst);
            }
        }
        FilterKind::MacVlan | FilterKind::Mac => {
            k.set(DST_LSB, 48, mac_u48(&flow.dst_mac) as u128);
            if kind == FilterKind::MacVlan {
                k.set(DPORT_LSB, 16, flow.vlan? as u128);
            }
        }
    }
    Some(k)
}

pub fn mac_u48(mac: &[u8; 6]) -> u64 {
    mac.iter().fold(0, |acc, &b| acc << 8 | b as u64)
}

/// The 32-bit value stored with a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Action {
    /// First queue of the group.
    pub queue: u16,
    /// The group is 2^spread queues; 0 means just `queue`.
    pub spread: u8,
    /// Reported with each decision, so software knows which filter matched.
    pub filter_id: u16,
}

impl Action {
    pub fn encode(self) -> u32 {
        (self.queue as u32 & 0xFFF) | (self.spread as u32 & 7) << 12 | (self.filter_id as u32) << 16
    }

    pub fn decode(v: u32) -> Action {
        Action { queue: (v & 0xFFF) as u16, spread: (v >> 12 & 7) as u8, filter_id: (v >> 16) as u16 }
    }

    /// The queue for a frame with this RSS hash, among `queues` queues:
    /// the group wraps around past the last queue once, as the gateware
    /// does with one subtraction (the control plane keeps `queue` below
    /// `queues` and the group no larger than `queues`, so once is enough).
    pub fn queue_for(self, rss: u32, queues: u32) -> u32 {
        let mask = (1u32 << self.spread) - 1;
        let q = self.queue as u32 + (rss & mask);
        if q >= queues {
            q - queues
        } else {
            q
        }
    }
}

/// splitmix64: a fixed, well-mixed sequence for the hash matrices, so the
/// gateware and the software derive identical ones.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The H3 matrices of the two table hashes: output bit j of hash f is the
/// parity of `key & masks(f)[j]`. H3 is a universal family and costs one
/// XOR tree per output bit in hardware.
pub fn hash_masks(f: usize) -> [Key; HASH_BITS] {
    let mut state = 0xA25E_u64 + f as u64 * 0x1_0000_0001;
    let mut masks = [Key::default(); HASH_BITS];
    for m in masks.iter_mut() {
        for w in 0..KEY_WORDS {
            m.0[w] = splitmix(&mut state) as u32;
        }
        m.0[KEY_WORDS - 1] &= 0xFFFF;
    }
    masks
}

/// Table hash `f` (0 or 1) of a key, HASH_BITS wide.
pub fn table_hash(f: usize, key: &Key) -> u32 {
    // The masks are fixed; drawing them anew per lookup made them most of
    // the model's time per frame.
    static MASKS: std::sync::OnceLock<[[Key; HASH_BITS]; 2]> = std::sync::OnceLock::new();
    let masks = MASKS.get_or_init(|| [hash_masks(0), hash_masks(1)]);
    masks[f].iter().enumerate().fold(0, |h, (j, m)| {
        let parity = key.0.iter().zip(m.0.iter()).fold(0, |p, (a, b)| p ^ (a & b).count_ones()) & 1;
        h | parity << j
    })
}

/// The RSS secret key after reset: the one Microsoft's RSS verification
/// suite uses, so hashes can be checked against the published vectors. The
/// host may write its own (`regmap::RSS_KEY`).
pub const RSS_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// The Toeplitz hash of `input` under `RSS_KEY`.
pub fn toeplitz(input: &[u8]) -> u32 {
    toeplitz_with(&RSS_KEY, input)
}

/// The Toeplitz hash of `input` under `key`.
pub fn toeplitz_with(key: &[u8; 40], input: &[u8]) -> u32 {
    let mut hash = 0u32;
    for (i, &byte) in input.iter().enumerate() {
        for b in 0..8 {
            if byte & (0x80 >> b) != 0 {
                let bit = i * 8 + b;
                // The 32 key bits starting at bit `bit`, most significant first.
                let mut window = 0u32;
                for k in 0..32 {
                    let kb = bit + k;
                    let set = kb < key.len() * 8 && key[kb / 8] & (0x80 >> (kb % 8)) != 0;
                    window = window << 1 | set as u32;
                }
                hash ^= window;
            }
        }
    }
    hash
}

/// The RSS hash of a flow under `RSS_KEY`.
pub fn rss_hash(flow: &Flow) -> u32 {
    rss_hash_with(&RSS_KEY, flow)
}

/// The RSS hash of a flow under `key`: source address, destination address,
/// then for TCP and UDP source and destination ports. Non-IP frames hash
/// to 0.
pub fn rss_hash_with(key: &[u8; 40], flow: &Flow) -> u32 {
    let Some(ip) = &flow.ip else { return 0 };
    let mut input = Vec::with_capacity(36);
    let width = if ip.v6 { 16 } else { 4 };
    input.extend_from_slice(&ip.src.to_be_bytes()[16 - width..]);
    input.extend_from_slice(&ip.dst.to_be_bytes()[16 - width..]);
    if let Some((s, d)) = ip.ports {
        input.extend_from_slice(&s.to_be_bytes());
        input.extend_from_slice(&d.to_be_bytes());
    }
    toeplitz_with(key, &input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(src: &str, sport: u16, dst: &str, dport: u16) -> (Flow, Flow) {
        let ip = IpFlow {
            v6: false,
            proto: 6,
            src: u32::from(src.parse::<Ipv4Addr>().unwrap()) as u128,
            dst: u32::from(dst.parse::<Ipv4Addr>().unwrap()) as u128,
            ports: Some((sport, dport)),
        };
        let l3 = IpFlow { ports: None, ..ip };
        (Flow { ip: Some(l3), ..Flow::default() }, Flow { ip: Some(ip), ..Flow::default() })
    }

    fn v6(src: &str, sport: u16, dst: &str, dport: u16) -> (Flow, Flow) {
        let ip = IpFlow {
            v6: true,
            proto: 17,
            src: u128::from(src.parse::<Ipv6Addr>().unwrap()),
            dst: u128::from(dst.parse::<Ipv6Addr>().unwrap()),
            ports: Some((sport, dport)),
        };
        let l3 = IpFlow { ports: None, ..ip };
        (Flow { ip: Some(l3), ..Flow::default() }, Flow { ip: Some(ip), ..Flow::default() })
    }

    /// Microsoft's RSS verification suite (also in Intel's 82599 datasheet).
    #[test]
    fn rss_matches_the_published_verification_suite() {
        let cases4 = [
            ("66.9.149.187", 2794, "161.142.100.80", 1766, 0x323e8fc2, 0x51ccc178),
            ("199.92.111.2", 14230, "65.69.140.83", 4739, 0xd718262a, 0xc626b0ea),
            ("24.19.198.95", 12898, "12.22.207.184", 38024, 0xd2d0a5de, 0x5c2b394a),
            ("38.27.205.30", 48228, "209.142.163.6", 2217, 0x82989176, 0xafc7327f),
            ("153.39.163.191", 44251, "202.188.127.2", 1303, 0x5d1809c5, 0x10e828a2),
        ];
        for (s, sp, d, dp, l3, l4) in cases4 {
            let (a, b) = v4(s, sp, d, dp);
            assert_eq!((rss_hash(&a), rss_hash(&b)), (l3, l4), "{s} -> {d}");
        }
        let cases6 = [
            ("3ffe:2501:200:1fff::7", 2794, "3ffe:2501:200:3::1", 1766, 0x2cc18cd5, 0x40207d3d),
            ("3ffe:501:8::260:97ff:fe40:efab", 14230, "ff02::1", 4739, 0x0f0c461c, 0xdde51bbf),
            ("3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, "fe80::200:f8ff:fe21:67cf", 38024, 0x4b61e985, 0x02d1feef),
        ];
        for (s, sp, d, dp, l3, l4) in cases6 {
            let (a, b) = v6(s, sp, d, dp);
            assert_eq!((rss_hash(&a), rss_hash(&b)), (l3, l4), "{s} -> {d}");
        }
    }

    #[test]
    fn keys_of_different_kinds_never_collide() {
        let (_, f) = v4("10.0.0.1", 1000, "10.0.0.2", 80);
        let keys: Vec<Key> = FilterKind::ORDER.iter().filter_map(|&k| lookup_key(k, &f)).collect();
        assert_eq!(keys.len(), 6, "MacVlan needs a tag");
        for (i, a) in keys.iter().enumerate() {
            assert_eq!(a.0[9] >> 16, 0);
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(keys[0].kind(), Some(FilterKind::Exact5));
    }

    #[test]
    fn table_hashes_differ_and_spread() {
        let mut buckets = [0u32; 256];
        let mut same = 0;
        for port in 0..4096u16 {
            let (_, f) = v4("10.0.0.1", port, "10.0.0.2", 80);
            let k = lookup_key(FilterKind::Exact5, &f).unwrap();
            let (a, b) = (table_hash(0, &k) & 255, table_hash(1, &k) & 255);
            buckets[a as usize] += 1;
            same += (a == b) as u32;
        }
        assert!(same < 64, "{same} keys with both buckets equal");
        assert!(buckets.iter().all(|&n| n == 16), "sequential ports should spread evenly under H3");
    }

    #[test]
    fn action_round_trips_and_spreads() {
        let a = Action { queue: 8, spread: 2, filter_id: 777 };
        assert_eq!(Action::decode(a.encode()), a);
        assert_eq!(a.queue_for(0xFFFF_FFFD, 64), 8 + 1);
        assert_eq!(Action { queue: 63, spread: 1, filter_id: 0 }.queue_for(1, 64), 0);
    }
}
