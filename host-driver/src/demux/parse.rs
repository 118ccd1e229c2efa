//! The header parser in software: the verdict `blocks::header_parser` gives
//! a frame, computed from the whole frame at once. The model uses it to
//! decide every frame, and the gateware is built to match it, so the rules
//! below are the parser's exact specification (refining the "Parsing"
//! section of `arsenic_hdl::filter`).
//!
//! # How the rules are applied
//!
//! The gateware reads a frame one byte per cycle from offset 0; `len` is the
//! frame's length without FCS. Every check on a field is made when the
//! field's last byte arrives, even if that byte is the frame's last. A
//! header that needs bytes at or past `len` makes the frame `Truncated`
//! when it ends. So the verdict is the first failing check in byte order,
//! and a frame that ends inside a header is `Truncated` unless a check on
//! one of the bytes it did hold failed first. The length checks of rule 7
//! are made only after the frame has ended with every header complete.
//! Once a verdict is given, nothing after it is looked at.
//!
//! "The frame holds `n` bytes" means `n <= len`.
//!
//! # The rules, in order
//!
//! 1. Ethernet. The frame must hold 14 bytes, else `Truncated`. The
//!    destination MAC is bytes 0..6. The type is at `t = 12`.
//! 2. Tags. While the type (bytes `t`, `t+1`) is 0x8100 or 0x88A8:
//!    - (a) if two tags have been seen already, `BadTags` (found at byte `t+1`);
//!    - (b) the frame must hold `t + 6` bytes (TCI at `t+2..t+4`, the next type
//!      at `t+4..t+6`), else `Truncated`;
//!    - (c) the first tag's VLAN ID (TCI & 0xFFF) is the frame's VLAN; `t += 4`.
//!
//!    The two TPIDs may come in either order. `l3 = t + 2`.
//! 3. A type other than 0x0800 and 0x86DD: a non-IP frame, `Ok` with no IP
//!    flow. Nothing after the type is read.
//! 4. IPv4 (type 0x0800).
//!    - (a) The frame must hold `l3 + 1` bytes, else `Truncated`. Byte `l3`:
//!      version (high nibble) must be 4 and IHL (low nibble) at least 5,
//!      else `BadIpv4`.
//!    - (b) The frame must hold the whole header with its options,
//!      `l3 + IHL*4` bytes, else `Truncated`.
//!    - (c) Fragment: MF (bit 0x20 of byte `l3+6`) set or a non-zero 13-bit
//!      fragment offset (`l3+6..l3+8`) makes the frame a `Fragment`. This
//!      verdict is given at the header's last byte, `l3 + IHL*4 - 1`, so
//!      only to a frame that holds the whole header (4b comes first); it
//!      ends parsing, so rules 6 and 7 do not apply to fragments.
//!    - (d) Total length TL at `l3+2..l3+4`, protocol at `l3+9`, source at
//!      `l3+12..l3+16`, destination at `l3+16..l3+20` (in the low 32 bits
//!      of the flow's addresses). Options are skipped. `l4 = l3 + IHL*4`;
//!      the IP end is `l3 + TL`.
//! 5. IPv6 (type 0x86DD).
//!    - (a) The frame must hold `l3 + 1` bytes, else `Truncated`. Byte `l3`:
//!      version (high nibble) must be 6, else `BadIpv6`.
//!    - (b) The frame must hold the 40-byte fixed header, `l3 + 40` bytes, else
//!      `Truncated`. Payload length PL at `l3+4..l3+6`, next header at
//!      `l3+6`, source at `l3+8..l3+24`, destination at `l3+24..l3+40`. The
//!      IP end is `l3 + 40 + PL` (a PL of 0 is not special: no jumbograms).
//!      The extension chain starts at `h = l3 + 40`.
//!    - (c) While the next header is hop-by-hop (0), routing (43) or
//!      destination options (60), in any number and order: the frame must
//!      hold `h + 2` bytes, then `h + 8 * (byte h+1) + 8` bytes, else
//!      `Truncated`; the next header is byte `h`; `h` moves past the
//!      extension header.
//!    - (d) Next header 44 (fragment): if the frame holds byte `h` (`h < len`),
//!      `Fragment`, given at that byte and ending parsing (rules 6 and 7 do
//!      not apply); else `Truncated`.
//!    - (e) Any other next header is the protocol; `l4 = h`.
//! 6. Layer 4, for both IP versions.
//!    - (a) TCP (6): the frame must hold `l4 + 13` bytes (ports at `l4..l4+4`,
//!      data offset in the high nibble of `l4+12`), else `Truncated`; a
//!      data offset below 5 is `BadL4`; the frame must hold the whole
//!      header, `l4 + 4 * data offset` bytes, else `Truncated`. The headers
//!      end there.
//!    - (b) UDP (17): the frame must hold `l4 + 8` bytes, else `Truncated`.
//!      Ports at `l4..l4+4`. The headers end at `l4 + 8`.
//!    - (c) Any other protocol has no ports; the headers end at `l4`.
//! 7. At the frame's end, in this order:
//!    - (a) IPv4 only: TL less than IHL*4 is `BadIpv4`;
//!    - (b) an IP end past the frame's end (`> len`) is `Truncated`;
//!    - (c) headers (as rule 6 ends them) past the IP end are `Truncated`.
//!
//!    Bytes between the IP end and the frame's end (Ethernet padding) are
//!    allowed. Then the frame is `Ok` with its flow.
//!
//! The frame check upstream only lets frames of 14..=1522 bytes reach the
//! parser, but this function takes any slice and never panics.

use arsenic_hdl::filter::{Flow, IpFlow, Reason};

const TYPE_IPV4: u16 = 0x0800;
const TYPE_IPV6: u16 = 0x86DD;
const TPID_CTAG: u16 = 0x8100;
const TPID_STAG: u16 = 0x88A8;
const MAX_TAGS: usize = 2;

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const NEXT_HOP_BY_HOP: u8 = 0;
const NEXT_ROUTING: u8 = 43;
const NEXT_FRAGMENT: u8 = 44;
const NEXT_DEST_OPTS: u8 = 60;

/// The frame, with the "must hold n bytes" check every rule uses.
struct Frame<'a>(&'a [u8]);

impl Frame<'_> {
    fn need(&self, n: usize) -> Result<(), Reason> {
        if n <= self.0.len() {
            Ok(())
        } else {
            Err(Reason::Truncated)
        }
    }

    /// Callers check `need` first: after it, indexing cannot panic.
    fn u8(&self, at: usize) -> u8 {
        self.0[at]
    }

    fn u16(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.0[at], self.0[at + 1]])
    }

    fn addr(&self, at: usize, bytes: usize) -> u128 {
        self.0[at..at + bytes].iter().fold(0, |acc, &b| acc << 8 | b as u128)
    }
}

/// An IP header as rules 4 and 5 leave it: the flow without ports, where
/// layer 4 starts and where the packet says it ends.
struct Ip {
    flow: IpFlow,
    l4: usize,
    ip_end: usize,
    /// IPv4's total length below its header length (rule 7a), kept for the
    /// frame's end because it is a length check.
    short_total: bool,
}

/// Parses a frame (no FCS) by the rules in the module documentation.
pub fn parse(frame: &[u8]) -> Result<Flow, Reason> {
    let f = Frame(frame);
    // Rule 1.
    f.need(14)?;
    let mut dst_mac = [0u8; 6];
    dst_mac.copy_from_slice(&frame[..6]);
    // Rule 2.
    let mut t = 12;
    let mut tags = 0;
    let mut vlan = None;
    while matches!(f.u16(t), TPID_CTAG | TPID_STAG) {
        if tags == MAX_TAGS {
            return Err(Reason::BadTags);
        }
        f.need(t + 6)?;
        vlan = vlan.or(Some(f.u16(t + 2) & 0xFFF));
        tags += 1;
        t += 4;
    }
    let l3 = t + 2;
    // Rule 3.
    let ip = match f.u16(t) {
        TYPE_IPV4 => ipv4(&f, l3)?,
        TYPE_IPV6 => ipv6(&f, l3)?,
        _ => return Ok(Flow { dst_mac, vlan, ip: None }),
    };
    // Rule 6.
    let (ports, headers_end) = layer4(&f, ip.flow.proto, ip.l4)?;
    // Rule 7.
    if ip.short_total {
        return Err(Reason::BadIpv4);
    }
    if ip.ip_end > frame.len() || headers_end > ip.ip_end {
        return Err(Reason::Truncated);
    }
    Ok(Flow { dst_mac, vlan, ip: Some(IpFlow { ports, ..ip.flow }) })
}

/// Rule 4.
fn ipv4(f: &Frame, l3: usize) -> Result<Ip, Reason> {
    f.need(l3 + 1)?;
    let (version, ihl) = (f.u8(l3) >> 4, (f.u8(l3) & 0xF) as usize);
    if version != 4 || ihl < 5 {
        return Err(Reason::BadIpv4);
    }
    let header = ihl * 4;
    f.need(l3 + header)?;
    let more_fragments = f.u8(l3 + 6) & 0x20 != 0;
    let offset = f.u16(l3 + 6) & 0x1FFF;
    if more_fragments || offset != 0 {
        return Err(Reason::Fragment);
    }
    let total = f.u16(l3 + 2) as usize;
    Ok(Ip {
        flow: IpFlow { v6: false, proto: f.u8(l3 + 9), src: f.addr(l3 + 12, 4), dst: f.addr(l3 + 16, 4), ports: None },
        l4: l3 + header,
        ip_end: l3 + total,
        short_total: total < header,
    })
}

/// Rule 5.
fn ipv6(f: &Frame, l3: usize) -> Result<Ip, Reason> {
    f.need(l3 + 1)?;
    if f.u8(l3) >> 4 != 6 {
        return Err(Reason::BadIpv6);
    }
    f.need(l3 + 40)?;
    let ip_end = l3 + 40 + f.u16(l3 + 4) as usize;
    let mut next = f.u8(l3 + 6);
    let mut h = l3 + 40;
    // Each extension header is at least 8 bytes and must lie in the frame,
    // so the walk ends within len / 8 steps.
    while matches!(next, NEXT_HOP_BY_HOP | NEXT_ROUTING | NEXT_DEST_OPTS) {
        f.need(h + 2)?;
        let size = 8 * f.u8(h + 1) as usize + 8;
        f.need(h + size)?;
        next = f.u8(h);
        h += size;
    }
    if next == NEXT_FRAGMENT {
        f.need(h + 1)?;
        return Err(Reason::Fragment);
    }
    Ok(Ip {
        flow: IpFlow { v6: true, proto: next, src: f.addr(l3 + 8, 16), dst: f.addr(l3 + 24, 16), ports: None },
        l4: h,
        ip_end,
        short_total: false,
    })
}

/// Rule 6: the ports, if the protocol has them, and where the headers end.
fn layer4(f: &Frame, proto: u8, l4: usize) -> Result<(Option<(u16, u16)>, usize), Reason> {
    let end = match proto {
        PROTO_TCP => {
            f.need(l4 + 13)?;
            let data_offset = (f.u8(l4 + 12) >> 4) as usize;
            if data_offset < 5 {
                return Err(Reason::BadL4);
            }
            l4 + 4 * data_offset
        }
        PROTO_UDP => l4 + 8,
        _ => return Ok((None, l4)),
    };
    f.need(end)?;
    Ok((Some((f.u16(l4), f.u16(l4 + 2))), end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

    /// Ethernet header with the given tags (TPID, VLAN ID) and type.
    fn eth(tags: &[(u16, u16)], ethertype: u16) -> Vec<u8> {
        let mut f = DST.to_vec();
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
        for &(tpid, vid) in tags {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&(0xE000 | vid).to_be_bytes());
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f
    }

    fn tcp(sport: u16, dport: u16, data_offset: u8) -> Vec<u8> {
        let mut h = vec![0u8; 4 * data_offset.max(5) as usize];
        h[..2].copy_from_slice(&sport.to_be_bytes());
        h[2..4].copy_from_slice(&dport.to_be_bytes());
        h[12] = data_offset << 4;
        h
    }

    fn udp(sport: u16, dport: u16) -> Vec<u8> {
        let mut h = vec![0u8; 8];
        h[..2].copy_from_slice(&sport.to_be_bytes());
        h[2..4].copy_from_slice(&dport.to_be_bytes());
        h
    }

    /// An IPv4 header (with `options` bytes of options) and `l4`, total
    /// length covering both plus `payload` bytes.
    fn ipv4(proto: u8, options: usize, l4: &[u8], payload: usize) -> Vec<u8> {
        let ihl = 5 + options / 4;
        let total = ihl * 4 + l4.len() + payload;
        let mut h = vec![0x40 | ihl as u8, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        h[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        h.resize(ihl * 4, 1);
        h.extend_from_slice(l4);
        h.resize(total, 0xAB);
        h
    }

    /// An IPv6 header, the extension headers (next header, 8-byte units
    /// beyond the first), then `l4`.
    fn ipv6(proto: u8, ext: &[(u8, u8)], l4: &[u8], payload: usize) -> Vec<u8> {
        let chain: usize = ext.iter().map(|&(_, units)| 8 * units as usize + 8).sum();
        let plen = chain + l4.len() + payload;
        let first = ext.first().map_or(proto, |e| e.0);
        let mut h = vec![0x60, 0, 0, 0, 0, 0, first, 64];
        h[4..6].copy_from_slice(&(plen as u16).to_be_bytes());
        h.extend((0..16).map(|i| 0x20 + i));
        h.extend((0..16).map(|i| 0x30 + i));
        for (i, &(_, units)) in ext.iter().enumerate() {
            let next = ext.get(i + 1).map_or(proto, |e| e.0);
            let mut e = vec![0u8; 8 * units as usize + 8];
            e[0] = next;
            e[1] = units;
            h.extend_from_slice(&e);
        }
        h.extend_from_slice(l4);
        h.resize(40 + plen, 0xCD);
        h
    }

    fn frame(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn ip_of(f: &[u8]) -> IpFlow {
        parse(f).unwrap().ip.unwrap()
    }

    #[test]
    fn ipv4_tcp_gives_addresses_and_ports() {
        let f = frame(&[&eth(&[], 0x0800), &ipv4(6, 0, &tcp(1234, 80, 5), 10)]);
        let flow = parse(&f).unwrap();
        assert_eq!(flow.dst_mac, DST);
        assert_eq!(flow.vlan, None);
        assert_eq!(
            flow.ip,
            Some(IpFlow { v6: false, proto: 6, src: 0x0A00_0001, dst: 0x0A00_0002, ports: Some((1234, 80)) })
        );
    }

    #[test]
    fn ipv4_options_are_skipped_and_padding_allowed() {
        let mut f = frame(&[&eth(&[], 0x0800), &ipv4(17, 12, &udp(53, 5353), 0)]);
        f.resize(60, 0);
        assert_eq!(ip_of(&f).ports, Some((53, 5353)));
    }

    #[test]
    fn other_protocols_have_no_ports() {
        let f = frame(&[&eth(&[], 0x0800), &ipv4(1, 0, &[8, 0, 0, 0], 0)]);
        assert_eq!(ip_of(&f).proto, 1);
        assert_eq!(ip_of(&f).ports, None);
        // No layer 4 bytes at all is fine for a protocol without ports.
        let f = frame(&[&eth(&[], 0x0800), &ipv4(47, 0, &[], 0)]);
        assert_eq!(ip_of(&f).proto, 47);
    }

    #[test]
    fn tags_give_the_first_vlan_and_a_third_is_bad() {
        let one = frame(&[&eth(&[(0x8100, 10)], 0x0800), &ipv4(17, 0, &udp(1, 2), 0)]);
        assert_eq!(parse(&one).unwrap().vlan, Some(10));
        let two = frame(&[&eth(&[(0x88A8, 100), (0x8100, 7)], 0x86DD), &ipv6(6, &[], &tcp(1, 2, 5), 0)]);
        assert_eq!(parse(&two).unwrap().vlan, Some(100));
        assert_eq!(parse(&two).unwrap().ip.unwrap().ports, Some((1, 2)));
        let reversed = frame(&[&eth(&[(0x8100, 5), (0x88A8, 6)], 0x0806), &[0; 28]]);
        assert_eq!(parse(&reversed).unwrap().vlan, Some(5));
        let three = eth(&[(0x8100, 1), (0x8100, 2), (0x8100, 3)], 0x0800);
        assert_eq!(parse(&three), Err(Reason::BadTags));
        // The third TPID's last byte is enough to know.
        assert_eq!(parse(&three[..22]), Err(Reason::BadTags));
        assert_eq!(parse(&three[..21]), Err(Reason::Truncated));
    }

    #[test]
    fn non_ip_frames_parse_with_no_flow() {
        let arp = frame(&[&eth(&[], 0x0806), &[0; 28]]);
        assert_eq!(parse(&arp), Ok(Flow { dst_mac: DST, vlan: None, ip: None }));
        // Just the Ethernet header, and a tagged one.
        assert!(parse(&eth(&[], 0x88CC)).is_ok());
        assert_eq!(parse(&eth(&[(0x8100, 4095)], 0x0806)).unwrap().vlan, Some(4095));
        // A tag cut short.
        assert_eq!(parse(&eth(&[(0x8100, 1)], 0x0806)[..17]), Err(Reason::Truncated));
    }

    #[test]
    fn short_frames_are_truncated() {
        for len in 0..14 {
            assert_eq!(parse(&vec![0u8; len]), Err(Reason::Truncated), "{len}");
        }
    }

    #[test]
    fn ipv4_version_and_ihl_come_first() {
        let good = frame(&[&eth(&[], 0x0800), &ipv4(6, 0, &tcp(1, 2, 5), 0)]);
        for byte0 in [0x65, 0x44, 0x40, 0x05] {
            let mut f = good.clone();
            f[14] = byte0;
            assert_eq!(parse(&f), Err(Reason::BadIpv4), "{byte0:#x}");
            // Found at byte l3, so even a frame that ends there says so.
            assert_eq!(parse(&f[..15]), Err(Reason::BadIpv4));
        }
        assert_eq!(parse(&good[..14]), Err(Reason::Truncated));
        assert_eq!(parse(&good[..33]), Err(Reason::Truncated));
    }

    #[test]
    fn ipv4_fragments_need_the_whole_header() {
        for (flags, offset) in [(0x20u8, 0u16), (0, 1), (0x40, 0x1FFF), (0x20, 185)] {
            let mut f = frame(&[&eth(&[], 0x0800), &ipv4(6, 8, &tcp(1, 2, 5), 0)]);
            f[20] = flags | (offset >> 8) as u8;
            f[21] = offset as u8;
            assert_eq!(parse(&f), Err(Reason::Fragment));
            // The header with its 8 option bytes ends at 14 + 28.
            assert_eq!(parse(&f[..42]), Err(Reason::Fragment));
            assert_eq!(parse(&f[..41]), Err(Reason::Truncated));
            // A fragment wins over a bad total length and a bad TCP header.
            f[16..18].copy_from_slice(&[0, 4]);
            f[42 + 12] = 0x10;
            assert_eq!(parse(&f), Err(Reason::Fragment));
        }
        // DF alone is not a fragment.
        let f = frame(&[&eth(&[], 0x0800), &ipv4(6, 0, &tcp(1, 2, 5), 0)]);
        assert_eq!(f[20], 0x40);
        assert!(parse(&f).is_ok());
    }

    #[test]
    fn ipv4_length_checks_at_the_end_in_order() {
        let good = frame(&[&eth(&[], 0x0800), &ipv4(6, 0, &tcp(1, 2, 5), 6)]);
        let with_total = |total: u16| {
            let mut f = good.clone();
            f[16..18].copy_from_slice(&total.to_be_bytes());
            f
        };
        assert!(parse(&with_total(46)).is_ok());
        // Total length below the header length.
        assert_eq!(parse(&with_total(19)), Err(Reason::BadIpv4));
        assert_eq!(parse(&with_total(0)), Err(Reason::BadIpv4));
        // ...is found before a stated end past the frame.
        assert_eq!(parse(&with_total(47)), Err(Reason::Truncated));
        // A stated end inside the TCP header.
        assert_eq!(parse(&with_total(39)), Err(Reason::Truncated));
        assert!(parse(&with_total(40)).is_ok());
        // A header cut short is Truncated before any length check: even
        // the bad total length below is not reached.
        let mut cut = with_total(10);
        cut.truncate(14 + 20 + 19);
        assert_eq!(parse(&cut), Err(Reason::Truncated));
        // The packet cut short but its headers complete.
        assert_eq!(parse(&good[..good.len() - 1]), Err(Reason::Truncated));
    }

    #[test]
    fn ipv4_without_layer4_ends_at_its_header() {
        let f = frame(&[&eth(&[], 0x0800), &ipv4(1, 0, &[], 0)]);
        assert!(parse(&f).is_ok());
        let mut bad = f.clone();
        bad[16..18].copy_from_slice(&21u16.to_be_bytes());
        assert_eq!(parse(&bad), Err(Reason::Truncated));
    }

    #[test]
    fn tcp_data_offset() {
        let good = frame(&[&eth(&[], 0x0800), &ipv4(6, 0, &tcp(1, 2, 8), 0)]);
        assert_eq!(ip_of(&good).ports, Some((1, 2)));
        let l4 = 34;
        for doff in 0..5u8 {
            let mut f = good.clone();
            f[l4 + 12] = doff << 4 | 0xF;
            assert_eq!(parse(&f), Err(Reason::BadL4));
            // Found at byte l4+12, even when it is the last one.
            assert_eq!(parse(&f[..l4 + 13]), Err(Reason::BadL4));
            assert_eq!(parse(&f[..l4 + 12]), Err(Reason::Truncated));
        }
        // Options past the frame's end.
        assert_eq!(parse(&good[..l4 + 31]), Err(Reason::Truncated));
        // Options past the IP end, the frame padded beyond it.
        let mut f = good.clone();
        f[16..18].copy_from_slice(&50u16.to_be_bytes());
        assert_eq!(parse(&f), Err(Reason::Truncated));
    }

    #[test]
    fn udp_header_is_eight_bytes() {
        let f = frame(&[&eth(&[], 0x0800), &ipv4(17, 0, &udp(7, 9), 0)]);
        assert!(parse(&f).is_ok());
        assert_eq!(parse(&f[..f.len() - 1]), Err(Reason::Truncated));
    }

    #[test]
    fn ipv6_udp_and_tcp() {
        let f = frame(&[&eth(&[], 0x86DD), &ipv6(17, &[], &udp(5000, 53), 3)]);
        let ip = ip_of(&f);
        assert!(ip.v6);
        assert_eq!(ip.proto, 17);
        assert_eq!(ip.src, u128::from_be_bytes(std::array::from_fn(|i| 0x20 + i as u8)));
        assert_eq!(ip.dst, u128::from_be_bytes(std::array::from_fn(|i| 0x30 + i as u8)));
        assert_eq!(ip.ports, Some((5000, 53)));
    }

    #[test]
    fn ipv6_version() {
        let mut f = frame(&[&eth(&[], 0x86DD), &ipv6(17, &[], &udp(1, 2), 0)]);
        f[14] = 0x40;
        assert_eq!(parse(&f), Err(Reason::BadIpv6));
        assert_eq!(parse(&f[..15]), Err(Reason::BadIpv6));
        assert_eq!(parse(&f[..14]), Err(Reason::Truncated));
        f[14] = 0x60;
        assert_eq!(parse(&f[..53]), Err(Reason::Truncated));
    }

    #[test]
    fn ipv6_extension_chain_is_walked() {
        let ext = [(0, 0), (43, 2), (60, 1)];
        let f = frame(&[&eth(&[], 0x86DD), &ipv6(6, &ext, &tcp(9, 10, 5), 0)]);
        assert_eq!(ip_of(&f).proto, 6);
        assert_eq!(ip_of(&f).ports, Some((9, 10)));
        // Cut inside the second extension header.
        assert_eq!(parse(&f[..14 + 40 + 8 + 20]), Err(Reason::Truncated));
        // Cut between an extension header's type and length bytes.
        assert_eq!(parse(&f[..14 + 40 + 1]), Err(Reason::Truncated));
        // Other next headers (AH, ICMPv6, no next header) end the chain.
        for proto in [51, 58, 59] {
            let f = frame(&[&eth(&[], 0x86DD), &ipv6(proto, &[(0, 0)], &[], 0)]);
            assert_eq!(ip_of(&f).proto, proto);
            assert_eq!(ip_of(&f).ports, None);
        }
    }

    #[test]
    fn ipv6_fragment_header_at_its_first_byte() {
        let f = frame(&[&eth(&[], 0x86DD), &ipv6(44, &[(0, 0)], &[17, 0, 0, 1, 0, 0, 0, 0], 0)]);
        let at = 14 + 40 + 8;
        assert_eq!(parse(&f), Err(Reason::Fragment));
        assert_eq!(parse(&f[..at + 1]), Err(Reason::Fragment));
        assert_eq!(parse(&f[..at]), Err(Reason::Truncated));
        // Straight after the fixed header, with a payload length that would
        // otherwise be Truncated.
        let mut f = frame(&[&eth(&[], 0x86DD), &ipv6(44, &[], &[6, 0, 0, 0], 0)]);
        f[18..20].copy_from_slice(&1000u16.to_be_bytes());
        assert_eq!(parse(&f), Err(Reason::Fragment));
    }

    #[test]
    fn ipv6_length_checks() {
        let good = frame(&[&eth(&[], 0x86DD), &ipv6(17, &[], &udp(1, 2), 4)]);
        let with_plen = |plen: u16| {
            let mut f = good.clone();
            f[18..20].copy_from_slice(&plen.to_be_bytes());
            f
        };
        assert!(parse(&with_plen(12)).is_ok());
        assert!(parse(&with_plen(8)).is_ok());
        assert_eq!(parse(&with_plen(13)), Err(Reason::Truncated));
        assert_eq!(parse(&with_plen(7)), Err(Reason::Truncated));
        // A payload length of 0 is not a jumbogram: the UDP header is past it.
        assert_eq!(parse(&with_plen(0)), Err(Reason::Truncated));
        let none = frame(&[&eth(&[], 0x86DD), &ipv6(59, &[], &[], 0)]);
        assert!(parse(&none).is_ok());
    }

    /// A well-formed frame from generated parts, and the flow it carries.
    fn well_formed() -> impl Strategy<Value = (Vec<u8>, Flow)> {
        let tags = proptest::collection::vec((prop_oneof![Just(0x8100u16), Just(0x88A8)], 0u16..4096), 0..=2);
        let l4 = prop_oneof![
            (any::<u16>(), any::<u16>(), 5u8..16).prop_map(|(s, d, o)| (6u8, tcp(s, d, o), Some((s, d)))),
            (any::<u16>(), any::<u16>()).prop_map(|(s, d)| (17u8, udp(s, d), Some((s, d)))),
            (prop_oneof![Just(1u8), Just(47), Just(58), Just(132)], proptest::collection::vec(any::<u8>(), 0..12))
                .prop_map(|(p, b)| (p, b, None)),
        ];
        let ext = proptest::collection::vec((prop_oneof![Just(0u8), Just(43), Just(60)], 0u8..4), 0..3);
        (tags, any::<bool>(), l4, ext, 0usize..5, 0usize..30, 0usize..30).prop_map(
            |(tags, v6, (proto, l4, ports), ext, options, payload, padding)| {
                let (ethertype, ip) = if v6 {
                    (0x86DD, ipv6(proto, &ext, &l4, payload))
                } else {
                    (0x0800, ipv4(proto, options * 4, &l4, payload))
                };
                let mut f = frame(&[&eth(&tags, ethertype), &ip]);
                f.resize(f.len() + padding, 0x55);
                let (src, dst) = if v6 {
                    (
                        u128::from_be_bytes(std::array::from_fn(|i| 0x20 + i as u8)),
                        u128::from_be_bytes(std::array::from_fn(|i| 0x30 + i as u8)),
                    )
                } else {
                    (0x0A00_0001, 0x0A00_0002)
                };
                let flow = Flow {
                    dst_mac: DST,
                    vlan: tags.first().map(|t| t.1),
                    ip: Some(IpFlow { v6, proto, src, dst, ports }),
                };
                (f, flow)
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn never_panics_on_any_bytes(len in 0usize..1600, seed in any::<u64>()) {
            let mut rng = crate::traffic::Rng::new(seed);
            let mut f = vec![0u8; len];
            rng.fill(&mut f);
            let _ = parse(&f);
        }

        /// Random bytes behind a plausible header reach the deeper rules,
        /// which random bytes alone rarely do.
        #[test]
        fn never_panics_behind_plausible_headers(
            ethertype in prop_oneof![Just(0x0800u16), Just(0x86DD)],
            tags in 0usize..3,
            first in prop_oneof![Just(0x45u8), Just(0x4F), Just(0x60), any::<u8>()],
            next in prop_oneof![Just(0u8), Just(6), Just(17), Just(43), Just(44), Just(60), any::<u8>()],
            rest in proptest::collection::vec(any::<u8>(), 0..1600),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut f = eth(&vec![(0x8100, 1); tags], ethertype);
            f.push(first);
            f.extend_from_slice(&rest);
            if f.len() > 14 + 4 * tags + 9 {
                f[14 + 4 * tags + 6] = next;
                f[14 + 4 * tags + 9] = next;
            }
            let len = cut.index(f.len() + 1);
            let _ = parse(&f[..len]);
        }

        #[test]
        fn well_formed_frames_parse_exactly((f, flow) in well_formed()) {
            prop_assert_eq!(parse(&f), Ok(flow));
        }

        /// Cutting a well-formed frame anywhere short of its IP end can
        /// only make it Truncated.
        #[test]
        fn cut_frames_are_truncated((f, flow) in well_formed(), cut in any::<prop::sample::Index>()) {
            let tags = flow.vlan.map_or(0, |_| (f[12] == 0x81 || f[12] == 0x88) as usize
                + (f[16] == 0x81 || f[16] == 0x88) as usize);
            let l3 = 14 + 4 * tags;
            let ip_end = if flow.ip.unwrap().v6 {
                l3 + 40 + u16::from_be_bytes([f[l3 + 4], f[l3 + 5]]) as usize
            } else {
                l3 + u16::from_be_bytes([f[l3 + 2], f[l3 + 3]]) as usize
            };
            let len = cut.index(ip_end);
            prop_assert_eq!(parse(&f[..len]), Err(Reason::Truncated));
        }
    }
}
