//! `arsenic sim --config` as a user runs it: filters installed through the
//! control plane steer a capture's frames into per-queue captures, and every
//! bad config is one clear line naming the file and the filter.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use common::cli::{arsenic, stderr};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arsenic-steer-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const CONFIG: &str = r#"
default_queue = 2

[[filter]]
kind = "exact"
proto = "tcp"
src = "10.0.0.1:5000"
dst = "10.0.0.2:80"
queue = 3

[[filter]]
kind = "listen"
proto = "udp"
port = 53
queue = 4

[[filter]]
kind = "mac"
mac = "02:00:00:00:00:01"
queue = 5
"#;

/// An IPv4 frame to 02:00:00:00:00:<mac_last> with a TCP or UDP header.
fn ipv4(mac_last: u8, proto: u8, src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: u8) -> Vec<u8> {
    let l4_len: u16 = if proto == 6 { 20 } else { 8 };
    let mut f = vec![0x02, 0, 0, 0, 0, mac_last, 0x02, 0, 0, 0, 0, 0xEE, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&(20 + l4_len).to_be_bytes());
    f.extend_from_slice(&[0, 0, flags, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    let mut rest = vec![0u8; l4_len as usize - 4];
    if proto == 6 {
        rest[8] = 0x50;
    } else {
        rest[..2].copy_from_slice(&l4_len.to_be_bytes());
    }
    f.extend_from_slice(&rest);
    f.resize(f.len().max(60), 0);
    f
}

/// Frames, each with the queue the config above sends it to (None: no
/// queue). The runt comes first: a runt right behind a frame still being
/// looked up is a case of its own for the gateware.
fn frames() -> Vec<(Vec<u8>, Option<u32>)> {
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let arp = {
        let mut f = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0xEE, 0x08, 0x06];
        f.resize(60, 0);
        f
    };
    vec![
        (vec![0x02; 10], None),                                   // runt: frame check
        (ipv4(9, 6, a, 5000, b, 80, 0), Some(3)),                 // exact
        (ipv4(9, 17, a, 4444, b, 53, 0), Some(4)),                // listen udp *:53
        (ipv4(9, 17, a, 4444, b, 54, 0), Some(2)),                // miss
        (arp, Some(5)),                                           // mac
        (ipv4(1, 6, a, 5001, b, 80, 0), Some(5)),                 // only the mac filter matches
        (ipv4(9, 6, a, 5000, b, 80, 0x20), Some(2)),              // fragment
        (ipv4(9, 17, a, 4445, b, 53, 0)[..40].to_vec(), Some(2)), // truncated
        (ipv4(9, 6, a, 5000, b, 80, 0), Some(3)),                 // exact again
    ]
}

/// Writes the frames as a capture and the config; returns their paths.
fn inputs(dir: &Path, config: &str) -> (PathBuf, PathBuf) {
    let pcap = dir.join("in.pcap");
    let fs = frames();
    let records: Vec<(Duration, &[u8])> = fs.iter().map(|(f, _)| (Duration::ZERO, f.as_slice())).collect();
    arsenic::capture::write_pcap(&pcap, &records).unwrap();
    let cfg = dir.join("steer.toml");
    std::fs::write(&cfg, config).unwrap();
    (pcap, cfg)
}

fn queue_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("rxq"))
        .collect();
    names.sort();
    names
}

#[test]
fn config_steers_frames_into_per_queue_captures_on_the_model() {
    let dir = tmp("model");
    let (pcap, cfg) = inputs(&dir, CONFIG);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    // A queue capture from an earlier run must not survive into this one.
    std::fs::write(out.join("rxq7.pcap"), b"stale").unwrap();
    let o = arsenic(&[
        "sim",
        "--backend",
        "model",
        "--pcap",
        pcap.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("steering") && text.contains("rxq3.pcap"), "{text}");

    assert_eq!(queue_files(&out), ["rxq2.pcap", "rxq3.pcap", "rxq4.pcap", "rxq5.pcap"]);
    for q in [2, 3, 4, 5] {
        let want: Vec<Vec<u8>> = frames().into_iter().filter(|(_, to)| *to == Some(q)).map(|(f, _)| f).collect();
        let got = arsenic::capture::read_ethernet(&out.join(format!("rxq{q}.pcap"))).unwrap().frames;
        assert_eq!(got, want, "queue {q}");
    }

    let stats = json(&out.join("stats.json"));
    let st = &stats["steering"];
    assert_eq!(st["default_queue"], 2);
    assert_eq!(st["filters"].as_array().unwrap().len(), 3);
    assert_eq!(st["filters"][1]["filter"], "listen udp *:53");
    assert_eq!(st["queue_frames"], serde_json::json!({"2": 3, "3": 2, "4": 1, "5": 2}));
    assert_eq!(
        st["reasons"],
        serde_json::json!({"hit": 5, "miss": 1, "fragment": 1, "truncated": 1, "frame_error": 1})
    );
    assert_eq!(st["filter_hits"], serde_json::json!({"1": 2, "2": 1, "3": 2}));
    let c = &stats["counters"];
    assert_eq!((c["demux_exact_hit"].as_u64(), c["demux_wildcard_hit"].as_u64()), (Some(2), Some(3)));
    assert_eq!((c["demux_miss"].as_u64(), c["demux_fragment"].as_u64()), (Some(1), Some(1)));
    assert_eq!((c["demux_truncated"].as_u64(), c["rx_drop_runt"].as_u64()), (Some(1), Some(1)));
    // Without --loopback nothing goes back out.
    assert_eq!(c["tx_frames"], 0);
}

#[test]
fn config_on_builtin_traffic_puts_every_good_frame_in_one_queue() {
    let dir = tmp("builtin");
    let cfg = dir.join("steer.toml");
    std::fs::write(&cfg, "default_queue = 1\n[[filter]]\nkind = \"listen\"\nproto = \"tcp\"\nqueue = 8\nspread = 2\n")
        .unwrap();
    let out = dir.join("out");
    let o = arsenic(&[
        "sim",
        "--backend",
        "model",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stats = json(&out.join("stats.json"));
    let c = |k: &str| stats["counters"][k].as_u64().unwrap();
    let queued: u64 =
        stats["steering"]["queue_frames"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(queued, c("rx_frames") - c("rx_drop_runt") - c("rx_drop_giant") - c("rx_drop_mac_error"));
    // Every decided frame reached its queue's application.
    assert_eq!(c("rx_delivered"), queued);
    let received: u64 = stats["queues"].as_object().unwrap().values().map(|q| q["received"].as_u64().unwrap()).sum();
    assert_eq!(received, queued);
    // TCP spreads over queues 8..=11 by RSS; everything else is queue 1.
    let files = queue_files(&out);
    assert_eq!(files, ["rxq1.pcap", "rxq10.pcap", "rxq11.pcap", "rxq8.pcap", "rxq9.pcap"]);
    assert_eq!(c("tx_frames"), 0);

    // With --loopback the frames go back out instead, decided all the same.
    let o = arsenic(&["sim", "--backend", "model", "--loopback", "--config", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stats = json(&out.join("stats.json"));
    assert_eq!(stats["counters"]["tx_frames"].as_u64().unwrap(), queued);
    assert!(queue_files(&out).is_empty(), "looped frames reached a queue");
}

#[test]
fn config_on_the_rtl_agrees_with_the_model() {
    let dir = tmp("rtl");
    let (pcap, cfg) = inputs(&dir, CONFIG);
    let out = dir.join("out");
    let o = arsenic(&[
        "sim",
        "--pcap",
        pcap.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("agree on every frame and counter"));
    assert_eq!(queue_files(&out), ["rxq2.pcap", "rxq3.pcap", "rxq4.pcap", "rxq5.pcap"]);
}

/// Exit status 1 and exactly one line on stderr, containing every needle.
fn assert_refused(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "more than one line: {err}");
    for needle in needles {
        assert!(err.contains(needle), "expected {needle:?} in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_configs_are_one_line_naming_the_file_and_filter() {
    let dir = tmp("bad");
    let filter = |body: &str| {
        format!("[[filter]]\nkind = \"mac\"\nmac = \"02:00:00:00:00:01\"\nqueue = 1\n\n[[filter]]\n{body}\n")
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            filter("kind = \"listen\"\nproto = \"tcp\"\nprot = 80\nqueue = 1"),
            vec!["filter 2 (listen)", "unknown key `prot`"],
        ),
        (
            filter("kind = \"listen\"\nproto = \"tcp\"\ndst = \"10.0.0.300\"\nqueue = 1"),
            vec!["filter 2 (listen)", "\"10.0.0.300\" is not an IPv4 or IPv6 address"],
        ),
        (
            filter("kind = \"exact\"\nproto = \"icmp\"\nsrc = \"10.0.0.1:1\"\ndst = \"10.0.0.2:2\"\nqueue = 1"),
            vec!["filter 2 (exact)", "proto \"icmp\" is not tcp, udp"],
        ),
        (
            filter("kind = \"mac\"\nmac = \"02:00:00:00:00:02\"\nqueue = 64"),
            vec!["filter 2 (mac 02:00:00:00:00:02)", "queue 64 does not exist"],
        ),
        (
            filter("kind = \"mac\"\nmac = \"02:00:00:00:00:01\"\nqueue = 2"),
            vec!["filter 2 (mac 02:00:00:00:00:01)", "already installed, as filter 1"],
        ),
        ("default_queue = 1\n[[filter]\n".to_string(), vec!["steer.toml:2:"]),
        ("default_queue = 64\n".to_string(), vec!["steer.toml: default_queue", "does not exist"]),
        (
            (0..40)
                .map(|p| format!("[[filter]]\nkind = \"listen\"\nproto = \"udp\"\nport = {p}\nqueue = 0\n"))
                .collect(),
            vec!["the wildcard filter table is full", "% load"],
        ),
        // Shaping: the form is checked as the file is read, the rates
        // against the device as they are applied.
        ("[[shape]]\nqueue = 1\nceiling = \"fast\"\n".to_string(), vec!["shape 1: ceiling: \"fast\" is not a rate"]),
        ("[[shape]]\nqueue = 1\nweight = 300\n".to_string(), vec!["shape 1: weight must be 1..=255"]),
        (
            filter("kind = \"mac\"\nmac = \"02:00:00:00:00:02\"\nqueue = 2") + "[[shape]]\nqueue = 2\nceiling = \"2G\"\n",
            vec!["shape 1 (queue 2)", "ceiling rate must be 1000000..=1000000000"],
        ),
        (
            "[[shape]]\nqueue = 1\nguarantee = \"50M\"\nceiling = \"10M\"\n".to_string(),
            vec!["shape 1 (queue 1)", "is below the guarantee"],
        ),
        (
            "[[shape]]\nqueue = 1\nguarantee = \"600M\"\n[[shape]]\nqueue = 2\nguarantee = \"600M\"\n".to_string(),
            vec!["shape 2 (queue 2)", "over line rate"],
        ),
        ("[[shape]]\nqueue = 70\nceiling = \"10M\"\n".to_string(), vec!["shape 1 (queue 70)", "does not exist"]),
    ];
    for (i, (config, needles)) in cases.iter().enumerate() {
        let cfg = dir.join(format!("case{i}")).join("steer.toml");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(&cfg, config).unwrap();
        let out = dir.join(format!("out{i}"));
        let o = arsenic(&[
            "sim",
            "--backend",
            "model",
            "--frames",
            "5",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let mut all = needles.clone();
        let file = cfg.display().to_string();
        all.push(&file);
        assert_refused(&o, &all);
    }
    let missing = arsenic(&["sim", "--backend", "model", "--config", "/nonexistent/steer.toml"]);
    assert_refused(&missing, &["cannot read /nonexistent/steer.toml"]);
}

/// The README's main job: the shipped demo config on the built-in traffic,
/// on the RTL, checked against the model; each of its services gets frames.
#[test]
fn the_demo_config_steers_builtin_traffic_on_the_rtl() {
    let dir = tmp("demo");
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/demo.toml");
    // What `make sim` runs: every application queue reflects what it gets.
    let o = arsenic(&["sim", "--config", cfg.to_str().unwrap(), "--echo", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("agree on every frame and counter"));
    let files = queue_files(&dir);
    let mut echoed = vec![];
    for q in 0..=10 {
        if q == 3 {
            continue;
        }
        let name = format!("rxq{q}.pcap");
        assert!(files.contains(&name), "{name} missing from {files:?}");
        if q != 0 {
            echoed.extend(arsenic::capture::read_ethernet(&dir.join(&name)).unwrap().frames.into_iter().map(|f| arsenic::sim_queues::echo_of(&f)));
        }
    }
    // The reflected frames left on the wire, each once; the kernel's queue
    // sent nothing.
    let mut sent = arsenic::capture::read_ethernet(&dir.join("tx.pcap")).unwrap().frames;
    sent.sort();
    echoed.sort();
    assert_eq!(sent.len(), 150);
    assert_eq!(sent, echoed);
    // Each reflecting queue's throughput over time.
    let csv = std::fs::read_to_string(dir.join("rates.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(header.split(',').count(), 1 + 9, "{header}");
    assert!(header.starts_with("time_us,queue1_mbps,queue2_mbps,queue4_mbps"), "{header}");
    for row in csv.lines().skip(1) {
        let total: f64 = row.split(',').skip(1).map(|v| v.parse::<f64>().unwrap()).sum();
        assert!(total <= 1000.0 + 1e-6, "more than line rate in one window: {row}");
    }
    assert!(std::fs::read_to_string(dir.join("rates.svg")).unwrap().contains("queue 10"));
    // The demo's shaping, as the NIC reads it back.
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("shaping queue 2   no guarantee, ceiling 20.000 Mb/s (burst 4096 bytes), weight 1"), "{stdout}");
    let stats = json(&dir.join("stats.json"));
    assert!(stats["steering"]["shaping"]["1"].as_str().unwrap().starts_with("guarantee 200.000 Mb/s"), "{stats}");
    // Queue 2 never sent more than its 4096-byte burst plus 20 Mb/s over
    // any run of windows (frame bytes, fewer than the wire bytes it is
    // charged), and its replies trickled out for milliseconds.
    let rows: Vec<Vec<f64>> =
        csv.lines().skip(1).map(|r| r.split(',').map(|v| v.parse::<f64>().unwrap()).collect()).collect();
    let window_us = rows[1][0] - rows[0][0];
    let bytes: Vec<f64> = rows.iter().map(|r| r[2] * window_us / 8.0).collect();
    for i in 0..bytes.len() {
        let mut sum = 0.0;
        for (j, b) in bytes.iter().enumerate().skip(i) {
            sum += b;
            let allowed = 4096.0 + 20e6 / 8.0 * (j - i + 1) as f64 * window_us / 1e6;
            assert!(sum <= allowed + 1e-6, "queue 2 sent {sum:.0} bytes in windows {i}..={j}, over {allowed:.0}");
        }
    }
    let last = rows.iter().rposition(|r| r[2] > 0.0).unwrap();
    assert!(rows[last][0] > 2000.0, "queue 2 finished at {} us: not held to its ceiling", rows[last][0]);
}
