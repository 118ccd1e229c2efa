//! RTL against model for the demultiplexer: the whole corpus with filters
//! drawn from each capture's own flows, every frame length from 0 to 1600
//! with random bytes after each kind of header, and randomised filter sets
//! and traffic (proptest). Not one decision may differ.

mod common;

use arsenic::capture;
use arsenic::demux::filters::{Filter, Target};
use arsenic::differential::{filters_for, rtl_vs_model};
use arsenic::traffic::{Rng, TestFrame};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn frames_of(data: Vec<Vec<u8>>) -> Vec<TestFrame> {
    data.into_iter().map(|data| TestFrame { data, fcs_error: false }).collect()
}

#[test]
fn every_corpus_capture_gets_the_same_decisions() {
    let files: Vec<_> = common::corpus_files().into_iter().filter(|f| capture::read_ethernet(f).is_ok()).collect();
    let halves: Vec<Vec<_>> = vec![
        files.iter().step_by(2).cloned().collect(),
        files.iter().skip(1).step_by(2).cloned().collect(),
    ];
    let results: Vec<(u64, u64, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = halves
            .iter()
            .map(|part| {
                s.spawn(move || {
                    let mut frames_total = 0;
                    let mut hits = 0;
                    let mut failures = vec![];
                    for path in part {
                        let frames = frames_of(capture::read_ethernet(path).unwrap().frames);
                        let filters = filters_for(&frames);
                        match rtl_vs_model(&filters, &frames) {
                            Ok(a) => {
                                frames_total += a.frames;
                                hits += a.hits;
                                if let Some(first) = a.first {
                                    failures.push(format!("{}: {} disagreements; {first}", path.display(), a.disagreements));
                                }
                            }
                            Err(e) => failures.push(format!("{}: {e:#}", path.display())),
                        }
                    }
                    (frames_total, hits, failures)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let frames: u64 = results.iter().map(|r| r.0).sum();
    let hits: u64 = results.iter().map(|r| r.1).sum();
    let failures: Vec<&String> = results.iter().flat_map(|r| &r.2).collect();
    println!("demux corpus: {} captures, {frames} frames, {hits} claimed by a filter", files.len());
    assert!(frames > 8000);
    assert!(hits > frames / 4, "the filters drawn from the traffic should claim much of it");
    assert!(failures.is_empty(), "{} captures disagree:\n{}", failures.len(), failures.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"));
}

/// Header prefixes a parser can trip over: everything after them is random.
fn prefixes() -> Vec<Vec<u8>> {
    let eth = |t: &[u8]| -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 0x42, 0x02, 0, 0, 0, 0, 1];
        f.extend_from_slice(t);
        f
    };
    // Short IP lengths, so that most longer frames hold a whole packet
    // (and Ethernet padding after it) and reach the lookups.
    let v4 = [0x08, 0x00, 0x45, 0, 0x00, 0x28, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
    let mut v4opt = vec![0x08, 0x00, 0x47, 0, 0x00, 0x24, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
    v4opt.extend_from_slice(&[1; 8]);
    let mut v6 = vec![0x86, 0xDD, 0x60, 0, 0, 0, 0x00, 0x20, 0, 64];
    v6.extend_from_slice(&[0x20; 32]);
    v6[8] = 0; // hop-by-hop first
    let mut v6ext = v6.clone();
    v6ext.extend_from_slice(&[60, 0, 1, 2, 3, 4, 5, 6, 17, 1]);
    vec![
        eth(&[]),
        eth(&[0x81, 0x00]),
        eth(&[0x88, 0xA8, 0, 5, 0x81, 0x00, 0, 6]),
        eth(&v4),
        eth(&v4opt),
        eth(&v6),
        eth(&v6ext),
    ]
}

#[test]
fn every_length_from_0_to_1600_after_every_header() {
    let mut rng = Rng::new(77);
    let mut frames = vec![];
    for prefix in prefixes() {
        for len in 0..=1600usize {
            let mut f = prefix.clone();
            f.truncate(len);
            while f.len() < len {
                f.push(rng.next_u64() as u8);
            }
            frames.push(f);
        }
    }
    let frames = frames_of(frames);
    // The prefixes' own addresses and MAC, so intact headers hit filters
    // after walking every kind above them.
    let mut filters = filters_for(&frames);
    for extra in [
        Filter::Listen { proto: 6, dst: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))), dport: None },
        Filter::Mac { mac: [0x02, 0, 0, 0, 0, 0x42], vlan: Some(5) },
        Filter::Mac { mac: [0x02, 0, 0, 0, 0, 0x42], vlan: None },
    ] {
        if !filters.iter().any(|(f, _)| *f == extra) {
            filters.push((extra, Target::queue(9)));
        }
    }
    let a = rtl_vs_model(&filters, &frames).unwrap();
    println!("{} adversarial frames, {} claimed by a filter", a.frames, a.hits);
    assert!(a.hits > 1000, "the filters should claim the intact frames");
    assert_eq!(a.disagreements, 0, "{:?}", a.first);
    assert!(a.first.is_none(), "{:?}", a.first);
}

/// A small universe of endpoints, so random traffic and random filters meet.
fn endpoint(i: u8, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16 % 4 + 1))
    } else {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, i % 4 + 1))
    }
}

#[derive(Clone, Debug)]
struct Packet {
    v6: bool,
    udp: bool,
    s: u8,
    d: u8,
    sport: u16,
    dport: u16,
    vlan: Option<u16>,
    tail: Vec<u8>,
    cut: Option<usize>,
}

/// The packet's frame, before any cut.
fn ip_frame(p: &Packet) -> Vec<u8> {
    let Packet { v6, s, d, sport, dport, vlan, .. } = *p;
    let (proto, tail) = (if p.udp { 17 } else { 6 }, &p.tail);
    let mut f = vec![0x02, 0, 0, 0, 0, d % 3, 0x02, 0, 0, 0, 0, s];
    if let Some(v) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&v.to_be_bytes());
    }
    let mut l4 = sport.to_be_bytes().to_vec();
    l4.extend_from_slice(&dport.to_be_bytes());
    if proto == 6 {
        l4.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0, 0, 0, 0, 0, 0]);
    } else {
        l4.extend_from_slice(&[0, 8, 0, 0]);
    }
    l4.extend_from_slice(tail);
    let (src, dst) = (endpoint(s, v6), endpoint(d, v6));
    match (src, dst) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
            f.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 0, 64, proto, 0, 0]);
            f.extend_from_slice(&a.octets());
            f.extend_from_slice(&b.octets());
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            f.extend_from_slice(&[0x86, 0xDD, 0x60, 0, 0, 0]);
            f.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            f.extend_from_slice(&[proto, 64]);
            f.extend_from_slice(&a.octets());
            f.extend_from_slice(&b.octets());
        }
        _ => unreachable!("both ends share a version"),
    }
    f.extend_from_slice(&l4);
    f
}


fn packet() -> impl Strategy<Value = Packet> {
    (any::<bool>(), any::<bool>(), 0u8..4, 0u8..4, 1000u16..1004, 79u16..82, proptest::option::weighted(0.2, 1u16..4),
        proptest::collection::vec(any::<u8>(), 0..40), proptest::option::weighted(0.15, 0usize..90))
        .prop_map(|(v6, udp, s, d, sport, dport, vlan, tail, cut)| Packet { v6, udp, s, d, sport, dport, vlan, tail, cut })
}

fn filter() -> impl Strategy<Value = (Filter, Target)> {
    let target = (1u32..60, 0u8..3).prop_map(|(queue, spread)| Target { queue, spread });
    let proto = prop_oneof![Just(6u8), Just(17u8)];
    let f = prop_oneof![
        (proto.clone(), any::<bool>(), 0u8..4, 1000u16..1004, 0u8..4, 79u16..82).prop_map(|(proto, v6, s, sport, d, dport)| {
            Filter::Exact5 { proto, src: endpoint(s, v6), sport, dst: endpoint(d, v6), dport }
        }),
        (proto, any::<bool>(), proptest::option::of(0u8..4), proptest::option::of(79u16..82))
            .prop_map(|(proto, v6, d, dport)| Filter::Listen { proto, dst: d.map(|d| endpoint(d, v6)), dport }),
        (0u8..3, proptest::option::of(1u16..4)).prop_map(|(m, vlan)| Filter::Mac { mac: [0x02, 0, 0, 0, 0, m], vlan }),
    ];
    (f, target)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn random_filters_and_traffic_get_the_same_decisions(
        filters in proptest::collection::vec(filter(), 0..12),
        packets in proptest::collection::vec(packet(), 1..40),
    ) {
        // Duplicate filters are the control plane's business (one install
        // replaces the other); keep the first of each.
        let mut seen = std::collections::HashSet::new();
        let filters: Vec<_> = filters.into_iter().filter(|(f, _)| seen.insert(format!("{f:?}"))).collect();
        let frames: Vec<Vec<u8>> = packets
            .iter()
            .map(|p| {
                let mut f = ip_frame(p);
                if let Some(c) = p.cut {
                    f.truncate(f.len().saturating_sub(c).max(1));
                }
                f
            })
            .collect();
        let a = rtl_vs_model(&filters, &frames_of(frames)).unwrap();
        prop_assert!(a.first.is_none(), "{:?}", a.first);
    }
}
