//! `arsenic demo tcp` as a user runs it: the summary, the JSON report, the
//! fallback peer, and bad options refused in one line.

mod common;

use common::cli::{arsenic, assert_refused};

#[test]
fn the_tcp_demo_swaps_files_with_a_second_nic_and_reports_them() {
    let json = std::env::temp_dir().join(format!("arsenic-demo-{}.json", std::process::id()));
    let o = arsenic(&["demo", "tcp", "--backend", "model", "--peer", "sim", "--bytes", "100000", "--json", json.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("peer: two simulated NICs"), "{out}");
    assert!(out.contains("both files checked byte for byte"), "{out}");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["to_peer"]["bytes"], 100000);
    assert_eq!(r["from_peer"]["bytes"], 100000);
    assert_eq!(r["app_queue"]["tx_rejected"], 0);
    let g = r["to_peer"]["goodput_fraction"].as_f64().unwrap();
    assert!(g > 0.0 && g < 0.95, "{g}");
    let _ = std::fs::remove_file(json);
}

#[test]
fn the_tcp_demo_talks_to_linux_where_it_may() {
    let o = arsenic(&["demo", "tcp", "--backend", "model", "--peer", "linux", "--bytes", "100000", "--rate-mbps", "200"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("peer: linux"), "{out}");
    assert!(out.contains("the kernel's default queue saw"), "{out}");
}

#[test]
fn bad_demo_options_are_refused_in_one_line() {
    assert_refused(&arsenic(&["demo", "tcp", "--bytes", "0"]), "--bytes must be");
    assert_refused(&arsenic(&["demo", "tcp", "--loss", "1000"]), "per thousand");
    assert_refused(&arsenic(&["demo", "tcp", "--rate-mbps", "0"]), "rate must be");
    assert_refused(&arsenic(&["demo", "tcp", "--rate-mbps", "5000"]), "rate must be");
}
