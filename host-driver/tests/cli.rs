//! The `arsenic` command as a user runs it: the default job, and every kind
//! of bad input giving one clear line and a non-zero exit, never a panic.

mod common;

use std::path::{Path, PathBuf};
use common::cli::{arsenic, assert_refused, stderr};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arsenic-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn default_job_loops_builtin_traffic_and_writes_pcap_and_stats() {
    let out = tmp("default");
    let o = arsenic(&["sim", "--loopback", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("agree on every frame and counter"), "{text}");
    let stats = json(&out.join("stats.json"));
    let c = &stats["counters"];
    let n = |k: &str| c[k].as_u64().unwrap();
    assert_eq!(n("rx_frames"), 600);
    assert_eq!(
        n("rx_frames"),
        n("tx_frames") + n("rx_drop_runt") + n("rx_drop_giant") + n("rx_drop_mac_error")
    );
    assert!(n("rx_drop_runt") > 0 && n("rx_drop_giant") > 0 && n("rx_drop_mac_error") > 0);
    // tx.pcap holds exactly what the counters say left, stamped in 8 ns
    // cycles and in order.
    let cap = arsenic::capture::read_ethernet(&out.join("tx.pcap")).unwrap();
    assert_eq!(cap.frames.len() as u64, n("tx_frames"));
    assert_eq!(cap.frames.iter().map(|f| f.len() as u64).sum::<u64>(), n("tx_bytes"));
    assert_eq!(stats["device"]["queues"], 64);
}

#[test]
fn timestamps_come_from_the_cycle_count() {
    let out = tmp("ts");
    let o = arsenic(&["sim", "--loopback", "--frames", "40", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = std::fs::File::open(out.join("tx.pcap")).unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(file).unwrap();
    let mut last = 0u128;
    let mut count = 0;
    while let Some(p) = r.next_packet() {
        let ns = p.unwrap().timestamp().as_nanos();
        assert_eq!(ns % 8, 0, "not on a 125 MHz cycle");
        // Back-to-back 1 Gb/s frames are at least 84 byte-times apart.
        assert!(count == 0 || ns >= last + 84 * 8, "{ns} after {last}");
        last = ns;
        count += 1;
    }
    assert!(count > 30);
}

#[test]
fn missing_file_is_one_clear_line() {
    assert_refused(&arsenic(&["sim", "--loopback", "--pcap", "/nonexistent/x.pcap"]), "cannot open");
}

#[test]
fn non_ethernet_capture_is_refused_with_its_link_type() {
    let f = common::corpus_dir().join("LINKTYPE_IPV4.pcap");
    assert_refused(&arsenic(&["sim", "--loopback", "--pcap", f.to_str().unwrap()]), "is not Ethernet");
}

#[test]
fn garbage_and_empty_files_are_refused() {
    let dir = tmp("garbage");
    let garbage = dir.join("garbage.pcap");
    std::fs::write(&garbage, b"this is not a capture at all").unwrap();
    assert_refused(&arsenic(&["sim", "--pcap", garbage.to_str().unwrap()]), "not a pcap");
    let empty = dir.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    assert_refused(&arsenic(&["sim", "--pcap", empty.to_str().unwrap()]), "too short");
    let header_only = dir.join("short.pcap");
    std::fs::write(&header_only, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).unwrap();
    assert_refused(&arsenic(&["sim", "--pcap", header_only.to_str().unwrap()]), "bad pcap header");
}

#[test]
fn truncated_capture_plays_what_is_whole_and_warns() {
    let src = common::corpus_dir().join("afs.pcap");
    let bytes = std::fs::read(&src).unwrap();
    let whole = arsenic::capture::read_ethernet(&src).unwrap().frames;
    let dir = tmp("truncated");
    let cut = dir.join("cut.pcap");
    // Cut in the middle of a record.
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).unwrap();
    let out = dir.join("out");
    let o = arsenic(&["sim", "--loopback", "--pcap", cut.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.starts_with("warning:") && err.lines().count() == 1, "{err}");
    let stats = json(&out.join("stats.json"));
    let played = stats["input"]["records"].as_u64().unwrap() as usize;
    assert!(played > 0 && played < whole.len());
    assert!(stats["input"]["damage"].as_str().is_some());
    let back = arsenic::capture::read_ethernet(&out.join("tx.pcap")).unwrap().frames;
    assert_eq!(back, common::looped(&whole[..played]));
}

#[test]
fn corrupt_record_length_stops_reading_without_a_huge_allocation() {
    let dir = tmp("corrupt");
    let mut bytes = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
    // One good 60-byte record, then one claiming 4 GiB.
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 60, 0, 0, 0]);
    bytes.extend_from_slice(&[0x11; 60]);
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    let f = dir.join("corrupt.pcap");
    std::fs::write(&f, bytes).unwrap();
    let out = dir.join("out");
    let o = arsenic(&["sim", "--loopback", "--pcap", f.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("record 2"), "{}", stderr(&o));
    assert_eq!(json(&out.join("stats.json"))["counters"]["tx_frames"], 1);
}

#[test]
fn bad_arguments_are_refused_by_the_parser() {
    let o = arsenic(&["sim", "--backend", "fpga"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("invalid value"));
    let o = arsenic(&["sim", "--backend", "model", "--trace", "/tmp/x.vcd"]);
    assert_refused(&o, "needs --backend rtl");
}

#[test]
fn unwritable_output_directory_is_one_clear_line() {
    let o = arsenic(&["sim", "--loopback", "--frames", "5", "--out", "/proc/arsenic-cannot-exist"]);
    assert_refused(&o, "cannot create");
}

#[test]
fn gen_writes_the_committed_verilog() {
    let dir = tmp("gen");
    let o = arsenic(&["gen", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["arsenic_top.v", "mac_loop.v"] {
        let fresh = std::fs::read(dir.join(name)).unwrap();
        let committed =
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../verilog-out").join(name)).unwrap();
        assert!(fresh == committed, "arsenic gen and verilog-out/{name} differ");
    }
}

#[test]
fn info_discovers_the_device_on_both_backends() {
    for backend in ["rtl", "model"] {
        let o = arsenic(&["info", "--backend", backend]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["backend"], backend);
        assert_eq!(v["exact_filters"], 1024);
        assert_eq!(v["max_frame_bytes"], 1522);
    }
}

#[test]
fn trace_writes_a_waveform() {
    let dir = tmp("trace");
    let vcd = dir.join("nic.vcd");
    let o = arsenic(&[
        "sim", "--loopback", "--frames", "3", "--out", dir.to_str().unwrap(), "--trace", vcd.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&vcd).unwrap();
    assert!(text.contains("$enddefinitions") && text.contains("mac_tx"));
}

#[test]
fn device_backends_refuse_what_they_cannot_use_in_one_line() {
    assert_refused(&arsenic(&["sim", "--device", "/dev/shm/x"]), "needs --backend sim-device");
    assert_refused(&arsenic(&["info", "--backend", "sysfs"]), "needs --device");
    assert_refused(&arsenic(&["info", "--backend", "vfio"]), "needs --device");
    assert_refused(&arsenic(&["info", "--backend", "rtl", "--device", "/tmp"]), "needs --backend sysfs or vfio");
    assert_refused(&arsenic(&["info", "--backend", "sysfs", "--device", "0000:77:00.0"]), "0000:77:00.0");
    assert_refused(&arsenic(&["info", "--backend", "vfio", "--device", "0000:77:00.0"]), "no PCI device at 0000:77:00.0");
    assert_refused(&arsenic(&["info", "--backend", "vfio", "--device", "not-an-address"]), "not-an-address");
    // A folder that is neither a board's nor a simulated device's.
    assert_refused(&arsenic(&["info", "--backend", "sysfs", "--device", "/tmp"]), "config");
    assert_refused(&arsenic(&["sim-device", "--dir", "/dev/shm/arsenic-cli-test", "--chunks", "0"]), "--chunks must be");
    assert_refused(&arsenic(&["ctl", "--device", "/tmp", "--socket", "/tmp/arsenic-cli-test.sock"]), "config");
}
