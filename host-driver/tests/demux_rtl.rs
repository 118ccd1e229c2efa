//! The demultiplexer in the Verilated NIC, driven with raw register writes
//! (independent of the control plane's table manager): filters placed in
//! either of a key's buckets are found, the most specific kind wins, groups
//! spread by the RSS hash, and everything else goes to the default queue
//! with its reason.

use arsenic::device::rtl::RtlDevice;
use arsenic::device::{Demux, Device, Page, RegisterPage, Wire};
use arsenic_hdl::filter::{self, Action, FilterKind, Flow, IpFlow, Reason, Table, WAYS};
use arsenic_hdl::params::{EXACT_BUCKET_BITS, WILDCARD_BUCKET_BITS};
use arsenic_hdl::regmap;

fn install(page: &dyn RegisterPage, kind: FilterKind, flow: &Flow, action: Action, second_bucket: bool, way: u32) {
    let key = filter::lookup_key(kind, flow).expect("kind applies");
    let bits = match kind.table() {
        Table::Exact => EXACT_BUCKET_BITS,
        Table::Wildcard => WILDCARD_BUCKET_BITS,
    };
    let bucket = filter::table_hash(second_bucket as usize, &key) & ((1 << bits) - 1);
    for (i, w) in key.0.iter().enumerate() {
        page.write32(regmap::FILTER_KEY + 4 * i as u32, *w).unwrap();
    }
    page.write32(regmap::FILTER_VALUE, action.encode()).unwrap();
    let slot = bucket * WAYS as u32 + way;
    page.write32(regmap::FILTER_CMD, regmap::filter_cmd(kind.table() == Table::Wildcard, slot, false)).unwrap();
}

fn udp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x42, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&[0, 8, 0, 0]);
    f.resize(60, 0);
    f
}

fn flow(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Flow {
    Flow {
        dst_mac: [0x02, 0, 0, 0, 0, 0x42],
        vlan: None,
        ip: Some(IpFlow {
            v6: false,
            proto: 17,
            src: u32::from_be_bytes(src) as u128,
            dst: u32::from_be_bytes(dst) as u128,
            ports: Some((sport, dport)),
        }),
    }
}

#[test]
fn filters_steer_frames_and_the_rest_go_to_the_default_queue() {
    let mut dev = RtlDevice::new();
    let page = dev.map_page(Page::Control).unwrap();
    page.write32(regmap::DEFAULT_QUEUE, 63).unwrap();
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    // A connected socket in its second bucket, a listener in its first, and
    // a MAC filter that only frames matching nothing more specific reach.
    install(page.as_ref(), FilterKind::Exact5, &flow(a, 5000, b, 80), Action { queue: 3, spread: 0, filter_id: 11 }, true, 2);
    install(page.as_ref(), FilterKind::ListenAddrPort, &flow(a, 0, b, 80), Action { queue: 8, spread: 2, filter_id: 12 }, false, 0);
    install(page.as_ref(), FilterKind::Mac, &flow(a, 0, b, 0), Action { queue: 20, spread: 0, filter_id: 13 }, false, 3);

    let frames = vec![
        udp4(a, 5000, b, 80),            // exact
        udp4(a, 5001, b, 80),            // listener, spread by RSS
        udp4(a, 5002, b, 81),            // MAC
        udp4(a, 5000, b, 80)[..40].to_vec(), // truncated: default, no lookup
        vec![0u8; 10],                   // runt: no queue
    ];
    for f in &frames {
        dev.send(f, false);
    }
    dev.drain().unwrap();
    let got = dev.take_received();
    assert_eq!(got.len(), frames.len());
    assert_eq!(dev.undecodable_decisions(), 0);
    let d: Vec<_> = got.iter().map(|r| r.decision).collect();
    assert_eq!((d[0].reason, d[0].queue, d[0].kind, d[0].filter_id), (Reason::Hit, 3, Some(FilterKind::Exact5), 11));
    let rss = filter::rss_hash(&flow(a, 5001, b, 80));
    assert_eq!(d[1].rss, rss);
    assert_eq!((d[1].reason, d[1].queue, d[1].filter_id), (Reason::Hit, 8 + (rss & 3), 12));
    assert_eq!((d[2].reason, d[2].queue, d[2].kind), (Reason::Hit, 20, Some(FilterKind::Mac)));
    assert_eq!((d[3].reason, d[3].queue), (Reason::Truncated, 63));
    assert_eq!(d[4].reason, Reason::FrameError);
    assert_eq!(got[0].data, frames[0]);

    // Clearing the exact filter's slot sends its flow to the listener.
    let key = filter::lookup_key(FilterKind::Exact5, &flow(a, 5000, b, 80)).unwrap();
    let bucket = filter::table_hash(1, &key) & ((1 << EXACT_BUCKET_BITS) - 1);
    page.write32(regmap::FILTER_CMD, regmap::filter_cmd(false, bucket * 4 + 2, true)).unwrap();
    dev.send(&frames[0], false);
    dev.drain().unwrap();
    let again = dev.take_received();
    assert_eq!((again[0].decision.reason, again[0].decision.filter_id), (Reason::Hit, 12));

    // Each decision was counted once, by kind or reason.
    let c = |x: regmap::Counter| {
        let lo = page.read32(x.offset()).unwrap() as u64;
        lo | (page.read32(x.offset() + 4).unwrap() as u64) << 32
    };
    assert_eq!(c(regmap::Counter::DemuxExactHit), 1);
    assert_eq!(c(regmap::Counter::DemuxWildcardHit), 3);
    assert_eq!(c(regmap::Counter::DemuxTruncated), 1);
    assert_eq!(c(regmap::Counter::DemuxMiss), 0);
    assert_eq!(c(regmap::Counter::RxDropRunt), 1);
}

#[test]
fn decisions_keep_up_with_minimum_frames_at_line_rate() {
    // Every frame misses every kind (the longest lookup), back to back at
    // line rate: no overrun, one decision per frame.
    let mut dev = RtlDevice::new();
    for i in 0..300u16 {
        dev.send(&udp4([10, 0, 0, 1], i, [10, 0, 0, 2], 80), false);
    }
    dev.drain().unwrap();
    let got = dev.take_received();
    assert_eq!(got.len(), 300);
    assert!(got.iter().all(|r| r.decision.reason == Reason::Miss && r.decision.queue == 0));
}
