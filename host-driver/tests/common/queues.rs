//! Queue scenarios run on every backend: the same driver code, the same
//! traffic, the same expectations, whether the NIC is the model or the
//! Verilated gateware.

#![allow(dead_code)]

use arsenic::control::Nic;
use arsenic::demux::filters::{Filter, Target, PROTO_UDP};
use arsenic::device::{Device, Wire};
use arsenic::queue::{Packet, QueuePair, QueueSpec};
use arsenic::traffic::{udp4, Udp4};
use arsenic_hdl::queue::Template;
use std::collections::VecDeque;

pub const APP_MAC: [u8; 6] = [0x02, 0, 0, 0, 0xA0, 0x01];
pub const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0xB0, 0x01];

/// Traffic for an application's UDP port `dport` on 10.0.0.2.
pub fn to_app(dport: u16, len: usize, seq: u32) -> Vec<u8> {
    let a = Udp4 { src_mac: PEER_MAC, dst_mac: APP_MAC, src: [10, 0, 0, 1], dst: [10, 0, 0, 2], sport: 5000, dport };
    udp4(&a, len, seq)
}

/// What queue `q`'s application may send: from APP_MAC, 10.0.0.2, port 7000 + q.
pub fn app_template(q: u32) -> Template {
    Template {
        src_mac: Some(APP_MAC),
        vlan: None,
        src_ip: Some("10.0.0.2".parse().unwrap()),
        src_port: Some(7000 + q as u16),
    }
}

pub fn from_app(q: u32, len: usize, seq: u32) -> Vec<u8> {
    let a = Udp4 { src_mac: APP_MAC, dst_mac: PEER_MAC, src: [10, 0, 0, 2], dst: [10, 0, 0, 1], sport: 7000 + q as u16, dport: 5000 };
    udp4(&a, len, seq)
}

pub fn kernel_spec() -> QueueSpec {
    QueueSpec { unrestricted: true, rx_ring_log2: 6, tx_ring_log2: 4, buffers: 128, ..Default::default() }
}

pub fn app_spec(q: u32) -> QueueSpec {
    QueueSpec { rx_ring_log2: 5, tx_ring_log2: 5, buffers: 96, template: app_template(q), ..Default::default() }
}

/// A NIC with the kernel's queue 0 and application queues listening on
/// UDP 7000 + q.
pub fn setup<D: Device>(dev: &D, apps: &[u32]) -> (Nic, QueuePair, Vec<QueuePair>) {
    let mut nic = Nic::open(dev).unwrap();
    let kernel = nic.create_queue(dev, 0, &kernel_spec()).unwrap();
    let mut pairs = vec![];
    for &q in apps {
        pairs.push(nic.create_queue(dev, q, &app_spec(q)).unwrap());
        let f = Filter::Listen { proto: PROTO_UDP, dst: Some("10.0.0.2".parse().unwrap()), dport: Some(7000 + q as u16) };
        nic.install_filter(&f, Target::queue(q)).unwrap();
    }
    (nic, kernel, pairs)
}

pub fn bytes(p: &[Packet]) -> Vec<Vec<u8>> {
    p.iter().map(|p| p.to_vec()).collect()
}

/// Frames steered to two applications and the kernel arrive, byte for
/// byte and in order, in the right queue with the filter that matched.
pub fn steered_frames_reach_their_queues<D: Device + Wire>(dev: &mut D) {
    let (nic, mut kernel, mut apps) = setup(dev, &[5, 9]);
    let mut want: [Vec<Vec<u8>>; 3] = Default::default();
    for i in 0..60u32 {
        let (port, slot) = [(7005, 0), (7009, 1), (53, 2)][i as usize % 3];
        let f = to_app(port, 60 + (i as usize * 37) % 1400, i);
        dev.send(&f, false);
        want[slot].push(f);
    }
    dev.drain().unwrap();
    let got5 = apps[0].rx_burst(64).unwrap();
    let got9 = apps[1].rx_burst(64).unwrap();
    let got0 = kernel.rx_burst(64).unwrap();
    assert_eq!(bytes(&got5), want[0]);
    assert_eq!(bytes(&got9), want[1]);
    assert_eq!(bytes(&got0), want[2]);
    let ids: Vec<u16> = nic.list_filters().iter().map(|f| f.id).collect();
    assert!(got5.iter().all(|p| p.meta().unwrap().queue == 5 && p.meta().unwrap().filter_id == ids[0]));
    assert!(got0.iter().all(|p| p.meta().unwrap().queue == 0 && p.meta().unwrap().reason == 1));
    let c = apps[0].counters().unwrap();
    assert_eq!((c.rx_delivered, c.rx_dropped), (20, 0));
    assert_eq!(nic.counter(arsenic_hdl::regmap::Counter::RxDelivered).unwrap(), 60);
}

/// A ring of 8 receive slots takes 8 frames; the rest of a burst is
/// dropped and counted for that queue alone while another queue keeps
/// receiving; after the application reaps and refills, it receives again,
/// round after round past the ring's wrap.
pub fn a_full_ring_drops_only_its_own_frames<D: Device + Wire>(dev: &mut D) {
    let mut nic = Nic::open(dev).unwrap();
    let mut kernel = nic.create_queue(dev, 0, &kernel_spec()).unwrap();
    let small = QueueSpec { rx_ring_log2: 3, buffers: 16, ..app_spec(3) };
    let mut q3 = nic.create_queue(dev, 3, &small).unwrap();
    let f = Filter::Listen { proto: PROTO_UDP, dst: None, dport: Some(7003) };
    nic.install_filter(&f, Target::queue(3)).unwrap();
    for i in 0..12 {
        dev.send(&to_app(7003, 64, i), false);
        dev.send(&to_app(53, 64, i), false);
    }
    dev.drain().unwrap();
    assert_eq!(q3.rx_burst(64).unwrap().len(), 8);
    assert_eq!(kernel.rx_burst(64).unwrap().len(), 12, "the kernel's queue lost frames to another's full ring");
    let c = q3.counters().unwrap();
    assert_eq!((c.rx_delivered, c.rx_dropped), (8, 4));
    for round in 0..6u32 {
        let sent: Vec<Vec<u8>> = (0..7).map(|i| to_app(7003, 64 + i * 9, round * 100 + i as u32)).collect();
        for f in &sent {
            dev.send(f, false);
        }
        dev.drain().unwrap();
        assert_eq!(bytes(&q3.rx_burst(64).unwrap()), sent, "round {round}");
    }
    assert_eq!(q3.counters().unwrap().rx_dropped, 4);
    nic.destroy_queue(q3).unwrap();
    dev.send(&to_app(7003, 64, 0), false);
    dev.drain().unwrap();
    assert_eq!(nic.counter(arsenic_hdl::regmap::Counter::RxDropDisabled).unwrap(), 1);
}

/// Two applications transmit; every frame leaves on the wire once, each
/// queue's in its order; frames that break the template never leave.
pub fn transmit_interleaves_and_enforces_templates<D: Device + Wire>(dev: &mut D) {
    let (nic, _kernel, mut apps) = setup(dev, &[2, 4]);
    let mut sent: Vec<Vec<Vec<u8>>> = vec![vec![], vec![]];
    for (k, pair) in apps.iter_mut().enumerate() {
        let q = pair.queue();
        let mut burst = VecDeque::new();
        for i in 0..20u32 {
            let mut frame = from_app(q, 60 + (i as usize * 53) % 1000, i);
            if i % 7 == 3 {
                frame[6] ^= 0xFF; // a spoofed source MAC
            } else {
                sent[k].push(frame.clone());
            }
            let mut p = pair.alloc(frame.len()).unwrap();
            p.copy_from_slice(&frame);
            burst.push_back(p);
        }
        assert_eq!(pair.tx_burst(&mut burst).unwrap(), 20);
    }
    dev.drain().unwrap();
    let wire = dev.take_transmitted();
    assert_eq!(wire.len(), sent[0].len() + sent[1].len());
    for (k, pair) in apps.iter_mut().enumerate() {
        let mine: Vec<Vec<u8>> = wire.iter().filter(|f| f.data[6..12] == APP_MAC && f.data[34..36] == (7000 + pair.queue() as u16).to_be_bytes()).map(|f| f.data.clone()).collect();
        assert_eq!(mine, sent[k]);
        assert_eq!(pair.tx_outstanding(), 0);
        assert_eq!(pair.errors().tx_template, 3);
        let c = pair.counters().unwrap();
        assert_eq!((c.tx_sent, c.tx_rejected), (17, 3));
        assert_eq!(pair.pool().free_count(), pair.pool().capacity() as usize - 32, "transmit buffers came back");
    }
    assert_eq!(nic.counter(arsenic_hdl::regmap::Counter::TxDropTemplate).unwrap(), 6);
}

/// An event fires once enough completions are waiting and the queue is
/// armed, and tells how far the rings got.
pub fn events_report_completions<D: Device + Wire>(dev: &mut D) {
    let mut nic = Nic::open(dev).unwrap();
    let spec = QueueSpec { event_count: 4, event_ticks: 0, ..app_spec(6) };
    let mut q = nic.create_queue(dev, 6, &spec).unwrap();
    nic.install_filter(&Filter::Listen { proto: PROTO_UDP, dst: None, dport: Some(7006) }, Target::queue(6)).unwrap();
    assert_eq!(q.wait(2000).unwrap(), None, "an event with nothing to report");
    for i in 0..3 {
        dev.send(&to_app(7006, 64, i), false);
    }
    dev.drain().unwrap();
    assert_eq!(q.wait(2000).unwrap(), None, "3 completions are below the moderation count of 4");
    dev.send(&to_app(7006, 64, 3), false);
    dev.drain().unwrap();
    let e = q.wait(20_000).unwrap().expect("an event after the fourth completion");
    assert_eq!((e.rx_done, e.tx_done, e.queue, e.seq), (4, 0, 6, 1));
    assert_eq!(q.rx_burst(8).unwrap().len(), 4);
    // With a timer, one completion is enough once the time has passed.
    let timed = QueueSpec { event_count: 100, event_ticks: 3, ..app_spec(7) };
    let mut t = nic.create_queue(dev, 7, &timed).unwrap();
    nic.install_filter(&Filter::Listen { proto: PROTO_UDP, dst: None, dport: Some(7007) }, Target::queue(7)).unwrap();
    dev.send(&to_app(7007, 64, 0), false);
    dev.drain().unwrap();
    let e = t.wait(20_000).unwrap().expect("a timed event");
    assert_eq!((e.rx_done, e.queue, e.seq), (1, 7, 1));
}

/// Every ring size the generator allows, receive and transmit, each
/// carried past the end of its ring and round to its start again, in
/// rounds that fill small rings to the last slot.
pub fn every_ring_size_wraps<D: Device + Wire>(dev: &mut D) {
    use arsenic_hdl::queue::{RING_LOG2_MAX, RING_LOG2_MIN};
    let mut nic = Nic::open(&*dev).unwrap();
    let _kernel = nic.create_queue(&*dev, 0, &kernel_spec()).unwrap();
    for (i, log2) in (RING_LOG2_MIN..=RING_LOG2_MAX).enumerate() {
        let q = 10 + i as u32;
        let size = 1usize << log2;
        let per_round = size.min(256);
        let spec = QueueSpec {
            rx_ring_log2: log2 as u8,
            tx_ring_log2: log2 as u8,
            buffers: (2 * per_round as u32 + size as u32).max(64),
            buffer_bytes: 256,
            ..app_spec(q)
        };
        let mut pair = nic.create_queue(&*dev, q, &spec).unwrap();
        nic.install_filter(&Filter::Listen { proto: PROTO_UDP, dst: None, dport: Some(7000 + q as u16) }, Target::queue(q)).unwrap();
        let total = if size <= 64 { 3 * size + 3 } else { size + 3 };
        let mut done = 0;
        let mut seq = 0u32;
        while done < total {
            let n = per_round.min(total - done);
            let sent: Vec<Vec<u8>> = (0..n).map(|k| to_app(7000 + q as u16, 60 + k % 150, { seq += 1; seq })).collect();
            for f in &sent {
                dev.send(f, false);
            }
            let mut out = VecDeque::new();
            let tx: Vec<Vec<u8>> = (0..n).map(|k| from_app(q, 60 + k % 150, 900 + k as u32)).collect();
            for f in &tx {
                let mut p = pair.alloc(f.len()).unwrap();
                p.copy_from_slice(f);
                out.push_back(p);
            }
            assert_eq!(pair.tx_burst(&mut out).unwrap(), n, "ring of {size}: transmit ring full");
            dev.drain().unwrap();
            assert_eq!(bytes(&pair.rx_burst(usize::MAX).unwrap()), sent, "ring of {size}, after {done}");
            let wire: Vec<Vec<u8>> = dev.take_transmitted().into_iter().map(|f| f.data).collect();
            assert_eq!(wire, tx, "ring of {size}, after {done}");
            assert_eq!(pair.tx_outstanding(), 0);
            done += n;
        }
        let c = pair.counters().unwrap();
        assert_eq!((c.rx_delivered as usize, c.rx_dropped, c.tx_sent as usize), (total, 0, total), "ring of {size}");
    }
}
