//! The gateware's demultiplexer against the model's, which follows the
//! software parser's documented rules (`arsenic::demux::parse`): frames built
//! to reach every rule (tags, IPv4 options, IPv6 extension chains,
//! fragments, TCP data offsets, wrong lengths, cut-off headers, other
//! protocols) and then damaged at random, with filters of every kind
//! installed through the control plane, must get the same decision, frame
//! by frame, and the same counters.

use arsenic::demux::filters::{Filter, Target};
use arsenic::differential::{rtl_vs_model_with, Setup};
use arsenic::traffic::{Rng, TestFrame};
use arsenic_hdl::filter::{FilterKind, Reason};
use std::collections::BTreeSet;
use std::net::IpAddr;

const MACS: [[u8; 6]; 3] = [[2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], [0xFF; 6]];
const PORTS: [u16; 4] = [53, 80, 443, 5000];
const PROTOS: [u8; 6] = [6, 6, 17, 17, 1, 47];

fn pick<T: Copy>(rng: &mut Rng, from: &[T]) -> T {
    from[rng.range(0, from.len() - 1)]
}

fn v4(i: usize) -> [u8; 4] {
    [10, 0, 0, i as u8]
}

fn v6(i: usize) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[15] = i as u8;
    a
}

fn l4(rng: &mut Rng, proto: u8, payload: usize) -> Vec<u8> {
    let mut h = match proto {
        6 => {
            let doff = if rng.range(0, 9) == 0 { rng.range(0, 15) } else { rng.range(5, 8) };
            let mut h = vec![0u8; 4 * doff.max(5)];
            h[12] = (doff as u8) << 4;
            h
        }
        17 => vec![0u8; 8],
        _ => vec![],
    };
    if h.len() >= 4 {
        h[..2].copy_from_slice(&pick(rng, &PORTS).to_be_bytes());
        h[2..4].copy_from_slice(&pick(rng, &PORTS).to_be_bytes());
    }
    h.resize(h.len() + payload, 0xA5);
    h
}

/// A frame that follows the rules closely enough to reach deep into them.
fn frame(rng: &mut Rng) -> Vec<u8> {
    let mut f = pick(rng, &MACS).to_vec();
    f.extend_from_slice(&[2, 0, 0, 0, 0, 0xEE]);
    let tags = match rng.range(0, 19) {
        0 => 3,
        n => n % 3,
    };
    for _ in 0..tags {
        f.extend_from_slice(&[0x81, 0x00, 0x00, rng.range(1, 3) as u8]);
    }
    let proto = pick(rng, &PROTOS);
    let payload = rng.range(0, 30);
    match rng.range(0, 9) {
        0 => {
            f.extend_from_slice(&[0x08, 0x06]);
            f.resize(60, 0);
        }
        1..=5 => {
            let ihl = if rng.range(0, 4) == 0 { rng.range(5, 8) } else { 5 };
            let body = l4(rng, proto, payload);
            let total = (4 * ihl + body.len()) as u16;
            f.extend_from_slice(&[0x08, 0x00, 0x40 | ihl as u8, 0]);
            f.extend_from_slice(&total.to_be_bytes());
            let frag: [u8; 2] = match rng.range(0, 11) {
                0 => [0x20, 0],
                1 => [0x00, 0x10],
                _ => [0x40, 0],
            };
            f.extend_from_slice(&[0, 1, frag[0], frag[1], 64, proto, 0, 0]);
            f.extend_from_slice(&v4(rng.range(1, 3)));
            f.extend_from_slice(&v4(rng.range(1, 3)));
            f.resize(f.len() + 4 * (ihl - 5), 1);
            f.extend_from_slice(&body);
        }
        _ => {
            let mut chain = vec![];
            for _ in 0..rng.range(0, 2) {
                chain.push(pick(rng, &[0u8, 43, 60]));
            }
            if rng.range(0, 7) == 0 {
                chain.push(44);
            }
            let mut ext = vec![];
            for (i, &h) in chain.iter().enumerate() {
                let next = chain.get(i + 1).copied().unwrap_or(proto);
                let units = if h == 44 { 0 } else { rng.range(0, 2) };
                let mut e = vec![0u8; 8 * units + 8];
                e[0] = next;
                e[1] = units as u8;
                ext.extend_from_slice(&e);
            }
            let body = l4(rng, proto, payload);
            let plen = (ext.len() + body.len()) as u16;
            f.extend_from_slice(&[0x86, 0xDD, 0x60, 0, 0, 0]);
            f.extend_from_slice(&plen.to_be_bytes());
            f.extend_from_slice(&[chain.first().copied().unwrap_or(proto), 64]);
            f.extend_from_slice(&v6(rng.range(1, 3)));
            f.extend_from_slice(&v6(rng.range(1, 3)));
            f.extend_from_slice(&ext);
            f.extend_from_slice(&body);
        }
    }
    if f.len() < 60 {
        f.resize(60, 0);
    }
    damage(rng, &mut f);
    f
}

/// Where the IP header would start: after the type that follows the tags.
fn l3_offset(f: &[u8]) -> usize {
    (12..f.len().saturating_sub(1))
        .step_by(4)
        .find(|&t| !matches!([f[t], f[t + 1]], [0x81, 0x00] | [0x88, 0xA8]))
        .map_or(0, |t| t + 2)
}

/// Most frames stay whole; the rest get a changed header bit, IP version or
/// length field, or are cut short (never below an Ethernet header: runts
/// are the frame check's, tested elsewhere).
fn damage(rng: &mut Rng, f: &mut Vec<u8>) {
    let l3 = l3_offset(f);
    match rng.range(0, 11) {
        0 => {
            let i = rng.range(12, f.len().min(90) - 1);
            f[i] ^= 1 << rng.range(0, 7);
        }
        1 => {
            let n = rng.range(14, f.len());
            f.truncate(n);
        }
        2 => {
            let at = if f.get(l3).is_some_and(|b| b >> 4 == 6) { l3 + 4 } else { l3 + 2 };
            if at + 1 < f.len() {
                f[at + 1] = f[at + 1].wrapping_add(rng.range(1, 40) as u8);
            }
        }
        3 if l3 < f.len() => f[l3] ^= 0x10 << rng.range(0, 3),
        _ => {}
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Filters of every kind, some matching the generated traffic.
fn filters() -> Vec<(Filter, Target)> {
    let mut out = vec![];
    let mut queue = 0;
    let mut next = |spread| {
        queue = (queue + 3) % 56;
        Target { queue, spread }
    };
    for s in 1..=3 {
        for d in 1..=3 {
            for (sp, dp) in [(53, 80), (5000, 443), (80, 53)] {
                let (src, dst) = (IpAddr::from(v4(s)), IpAddr::from(v4(d)));
                out.push((Filter::Exact5 { proto: 6, src, sport: sp, dst, dport: dp }, next(0)));
                let (src, dst) = (IpAddr::from(v6(s)), IpAddr::from(v6(d)));
                out.push((Filter::Exact5 { proto: 17, src, sport: sp, dst, dport: dp }, next(1)));
            }
        }
    }
    let wildcard = [
        Filter::Listen { proto: 6, dst: Some(ip("10.0.0.2")), dport: Some(443) },
        Filter::Listen { proto: 17, dst: Some(ip("2001:db8::1")), dport: Some(53) },
        Filter::Listen { proto: 17, dst: None, dport: Some(5000) },
        Filter::Listen { proto: 6, dst: Some(ip("10.0.0.3")), dport: None },
        Filter::Listen { proto: 1, dst: Some(ip("2001:db8::2")), dport: None },
        Filter::Listen { proto: 47, dst: None, dport: None },
        Filter::Mac { mac: MACS[1], vlan: Some(2) },
        Filter::Mac { mac: MACS[2], vlan: None },
    ];
    for f in wildcard {
        out.push((f, next(2)));
    }
    out
}

/// The filters, a default queue other than 0, and an RSS key other than
/// the reset one, so every register the decision depends on is exercised.
fn setup() -> Setup {
    let mut rng = Rng::new(99);
    let mut rss_key = [0u8; 40];
    rng.fill(&mut rss_key);
    Setup { default_queue: 60, rss_key, filters: filters() }
}

#[test]
fn rtl_and_model_decide_every_damaged_frame_alike() {
    let mut reasons = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for seed in 1..=3 {
        let mut rng = Rng::new(seed);
        let frames: Vec<TestFrame> =
            (0..1500).map(|_| TestFrame { data: frame(&mut rng), fcs_error: rng.range(0, 49) == 0 }).collect();
        let a = rtl_vs_model_with(&setup(), &frames).unwrap();
        assert!(a.first.is_none(), "seed {seed}: {:?}", a.first);
        for d in &a.decisions {
            reasons.insert(d.reason as u8);
            kinds.extend(d.kind);
        }
    }
    // The traffic reached every verdict but Overrun, and every kind of filter.
    let every: BTreeSet<u8> = Reason::ALL.iter().filter(|&&r| r != Reason::Overrun).map(|&r| r as u8).collect();
    assert_eq!(reasons, every);
    assert_eq!(kinds, FilterKind::ORDER.into_iter().collect());
}

/// A runt that ends while the frame before it is still being looked up is
/// still the frame check's to judge: `FrameError`, and no demultiplexer
/// counter (filter.rs, "Deciding a queue"). A QinQ-tagged TCP frame misses
/// all seven kinds, the longest lookup.
#[test]
fn a_runt_right_behind_a_lookup_is_a_frame_error() {
    let mut tcp = vec![2, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 0xEE, 0x88, 0xA8, 0, 5, 0x81, 0x00, 0, 6, 0x08, 0x00];
    tcp.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 7, 10, 0, 0, 8]);
    tcp.extend_from_slice(&[0x30, 0x39, 0x1F, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0, 0, 0, 0, 0, 0]);
    assert_eq!(tcp.len(), 62);
    let frames: Vec<TestFrame> =
        [tcp.clone(), vec![2u8; 2], tcp].into_iter().map(|data| TestFrame { data, fcs_error: false }).collect();
    let a = rtl_vs_model_with(&setup(), &frames).unwrap();
    assert!(a.first.is_none(), "{:?}", a.first);
    assert_eq!(a.decisions[1].reason, Reason::FrameError);
}
