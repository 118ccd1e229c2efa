//! `arsenic sim --txq N=FILE` as a user runs it: each capture is sent from
//! its queue through the driver, frames of impossible length are refused
//! by the NIC and counted, and mistakes in the argument are one line.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;
use common::cli::{arsenic};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arsenic-txq-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn frames(tag: u8, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| {
        let mut f = vec![tag; 60 + (i * 89) % 1400];
        f[12] = 0x08;
        f[13] = 0x06;
        f[20] = i as u8;
        f
    }).collect()
}

fn write(path: &Path, frames: &[Vec<u8>]) {
    let stamped: Vec<(Duration, &[u8])> = frames.iter().map(|f| (Duration::ZERO, f.as_slice())).collect();
    arsenic::capture::write_pcap(path, &stamped).unwrap();
}

fn sends_each_capture_from_its_queue(backend: &str) {
    let dir = tmp(backend);
    let a = frames(0xA1, 30);
    let mut b = frames(0xB2, 20);
    // A runt and a giant: the NIC must refuse both, not send them.
    b.insert(5, vec![0xB2; 10]);
    b.insert(9, vec![0xB2; 1600]);
    write(&dir.join("a.pcap"), &a);
    write(&dir.join("b.pcap"), &b);
    let out = dir.join("out");
    let qa = format!("3={}", dir.join("a.pcap").display());
    let qb = format!("7={}", dir.join("b.pcap").display());
    let o = arsenic(&["sim", "--backend", backend, "--frames", "40", "--txq", &qa, "--txq", &qb, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sent = arsenic::capture::read_ethernet(&out.join("tx.pcap")).unwrap().frames;
    let from = |tag: u8| sent.iter().filter(|f| f[0] == tag).cloned().collect::<Vec<_>>();
    assert_eq!(from(0xA1), a);
    let b_ok: Vec<Vec<u8>> = b.iter().filter(|f| (14..=1522).contains(&f.len())).cloned().collect();
    assert_eq!(from(0xB2), b_ok);
    let stats: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("stats.json")).unwrap()).unwrap();
    assert_eq!(stats["queues"]["3"]["tx_sent"], 30);
    assert_eq!(stats["queues"]["7"]["posted"], 22);
    assert_eq!(stats["queues"]["7"]["tx_rejected"], 2);
    assert_eq!(stats["queues"]["7"]["errors"]["tx_bad_length"], 2);
    assert_eq!(stats["counters"]["tx_drop_bad_length"], 2);
    if backend == "rtl" {
        assert!(String::from_utf8_lossy(&o.stdout).contains("agree"), "no model check");
    }
}

#[test]
fn txq_sends_each_capture_from_its_queue_on_the_model() {
    sends_each_capture_from_its_queue("model");
}

#[test]
fn txq_sends_each_capture_from_its_queue_on_the_rtl() {
    sends_each_capture_from_its_queue("rtl");
}

#[test]
fn txq_mistakes_are_one_line() {
    let dir = tmp("bad");
    write(&dir.join("a.pcap"), &frames(1, 2));
    let a = dir.join("a.pcap");
    let cases: [(&str, &str); 4] = [
        ("64=A", "queues 0..=63"),
        ("x=A", "not a queue number"),
        ("5", "expected N=FILE"),
        ("5=/nonexistent/none.pcap", "none.pcap"),
    ];
    for (arg, needle) in cases {
        let arg = arg.replace('A', a.to_str().unwrap());
        let o = arsenic(&["sim", "--backend", "model", "--txq", &arg, "--out", dir.join("o").to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{arg} was accepted");
        assert!(err.contains(needle), "{arg}: {err}");
        assert!(!err.contains("panicked"), "{arg}: {err}");
    }
}
