//! The control plane's filter API as an application's kernel would use it,
//! on the RTL and on the model alike: install, list, remove, reinstall,
//! refuse duplicates and a full table without disturbing what is there.

mod common;

use common::tcp;

use arsenic::control::Nic;
use arsenic::demux::filters::{Filter, Target};
use arsenic::device::model::ModelDevice;
use arsenic::device::rtl::RtlDevice;
use arsenic::device::{Demux, Device, Wire};
use arsenic_hdl::filter::{self, FilterKind, Reason};
use std::net::{IpAddr, Ipv4Addr};

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

/// The (reason, queue, kind) each frame gets.
fn decide<D: Device + Wire + Demux>(dev: &mut D, frames: &[Vec<u8>]) -> Vec<(Reason, u32, Option<FilterKind>)> {
    for f in frames {
        dev.send(f, false);
    }
    dev.drain().unwrap();
    dev.take_received().iter().map(|r| (r.decision.reason, r.decision.queue, r.decision.kind)).collect()
}

fn exercise<D: Device + Wire + Demux>(dev: &mut D) {
    let mut nic = Nic::open(dev).unwrap();
    nic.set_default_queue(63).unwrap();
    let exact = Filter::Exact5 { proto: 6, src: A, sport: 1000, dst: B, dport: 80 };
    let listen = Filter::Listen { proto: 6, dst: Some(B), dport: Some(80) };
    let mac = Filter::Mac { mac: [0x02, 0, 0, 0, 0, 0x42], vlan: None };
    let e = nic.install_filter(&exact, Target::queue(3)).unwrap();
    let l = nic.install_filter(&listen, Target::queue(4)).unwrap();
    let m = nic.install_filter(&mac, Target::queue(5)).unwrap();
    let listed: Vec<_> = nic.list_filters().iter().map(|f| (f.id, f.filter, f.target.queue)).collect();
    assert_eq!(listed, vec![(e, exact, 3), (l, listen, 4), (m, mac, 5)]);

    let frames = [tcp(1000, 80), tcp(1001, 80), tcp(1001, 22)];
    let hit = |q, k| (Reason::Hit, q, Some(k));
    assert_eq!(
        decide(dev, &frames),
        vec![hit(3, FilterKind::Exact5), hit(4, FilterKind::ListenAddrPort), hit(5, FilterKind::Mac)]
    );

    // Removing the exact filter hands its flow to the listener; removing
    // the MAC filter sends the rest to the default queue.
    nic.remove_filter(e).unwrap();
    nic.remove_filter(m).unwrap();
    assert_eq!(nic.list_filters().len(), 1);
    assert!(nic.remove_filter(e).is_err(), "removing twice must fail");
    assert_eq!(
        decide(dev, &frames),
        vec![hit(4, FilterKind::ListenAddrPort), hit(4, FilterKind::ListenAddrPort), (Reason::Miss, 63, None)]
    );

    // A duplicate is refused by name; reinstalling after removal works.
    let err = nic.install_filter(&listen, Target::queue(9)).unwrap_err();
    assert!(format!("{err:#}").contains("already installed"), "{err:#}");
    nic.install_filter(&exact, Target::queue(6)).unwrap();
    assert_eq!(decide(dev, &frames[..1]), vec![hit(6, FilterKind::Exact5)]);

    // Fill the wildcard table: the insert that does not fit fails with a
    // clear error and every filter already there keeps working.
    let mut installed = 0;
    let err = loop {
        let f = Filter::Listen { proto: 17, dst: None, dport: Some(2000 + installed) };
        match nic.install_filter(&f, Target::queue(7)) {
            Ok(_) => installed += 1,
            Err(e) => break e,
        }
        assert!(installed < 100, "the 64-entry wildcard table never filled");
    };
    assert!(format!("{err:#}").contains("wildcard"), "{err:#}");
    assert_eq!(decide(dev, &frames[1..2]), vec![hit(4, FilterKind::ListenAddrPort)]);

    // The RSS key: reset to the standard one, replaced by the host, and
    // used for every frame that starts after.
    assert_eq!(nic.rss_key().unwrap(), filter::RSS_KEY);
    let key: [u8; 40] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5A);
    nic.set_rss_key(&key).unwrap();
    assert_eq!(nic.rss_key().unwrap(), key);
    dev.send(&frames[1], false);
    dev.drain().unwrap();
    let got = dev.take_received();
    let flow = arsenic::demux::parse::parse(&frames[1]).unwrap();
    assert_eq!(got[0].decision.rss, filter::rss_hash_with(&key, &flow));
    assert_ne!(got[0].decision.rss, filter::rss_hash(&flow));
}

#[test]
fn filters_install_list_remove_on_the_rtl() {
    exercise(&mut RtlDevice::new());
}

#[test]
fn filters_install_list_remove_on_the_model() {
    exercise(&mut ModelDevice::default());
}
