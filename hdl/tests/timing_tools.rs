//! `make timing`: one block synthesised alone for the ECP5 and its
//! register-to-register paths estimated. The board's place and route is
//! the sign-off; this is what the pipelining work steers by, so it must
//! keep working.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.current_dir(root()).output().expect("running the timing tools");
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{text}{}", String::from_utf8_lossy(&o.stderr));
    text
}

/// The "estimated endpoints over B ns: N bits, R registers" line's R.
fn registers_over(report: &str, budget: &str) -> u64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(&format!("estimated endpoints over {budget} ns:")))
        .unwrap_or_else(|| panic!("no summary for {budget} ns in:\n{report}"));
    line.rsplit(", ").next().and_then(|r| r.strip_suffix(" registers")).and_then(|n| n.parse().ok()).unwrap()
}

#[test]
fn a_block_is_synthesised_alone_and_its_paths_are_ranked_and_traced() {
    let report = run(Command::new("scripts/block-timing.sh")
        .args(["uart_bridge", "--budget", "7.0", "--top", "5", "--paths", "1"])
        .env("ARSENIC_BLOCK_BIN", env!("CARGO_BIN_EXE_arsenic-block")));
    // The UART bridge was pipelined to about 5.7 ns estimated.
    assert_eq!(registers_over(&report, "7.0"), 0, "{report}");
    let worst: f64 = report
        .lines()
        .find_map(|l| l.trim().strip_suffix(".DI").and(l.split_whitespace().next()).and_then(|n| n.parse().ok()))
        .expect("a ranked endpoint");
    assert!((3.0..7.0).contains(&worst), "{report}");
    assert!(report.contains(" ns into "), "the worst path is traced cell by cell:\n{report}");
    // A budget no real path meets: the same netlist now has registers over.
    let tight = run(Command::new("python3").args(["scripts/timing-paths.py", "out/timing/uart_bridge/synth.json", "--budget", "2.0", "--top", "3"]));
    assert!(registers_over(&tight, "2.0") > 10, "{tight}");
}

#[test]
fn the_area_census_sums_every_cell_into_its_block() {
    run(Command::new("scripts/block-timing.sh")
        .args(["reg_arbiter", "--top", "1"])
        .env("ARSENIC_BLOCK_BIN", env!("CARGO_BIN_EXE_arsenic-block")));
    let report = run(Command::new("python3").args(["scripts/area.py", "out/timing/reg_arbiter/synth.json", "--depth", "1", "--top", "1000"]));
    // Columns: lut_eq LUT4 CCU2C DPR16X4 FF DP16KD.
    let numbers = |l: &str| -> Vec<u64> { l.split_whitespace().rev().take(6).map(|n| n.parse().unwrap()).collect::<Vec<_>>().into_iter().rev().collect() };
    let (rows, total): (Vec<&str>, Vec<&str>) = report.lines().skip(1).partition(|l| !l.starts_with("(whole netlist)"));
    let total = numbers(total[0]);
    assert!(total[1] > 50 && total[4] > 50, "a real block has LUTs and flip-flops:\n{report}");
    assert_eq!(total[0], total[1] + 2 * total[2] + 2 * total[3], "lut_eq is LUT4 + 2 CCU2C + 2 DPR16X4");
    let sums: Vec<u64> = (0..6).map(|c| rows.iter().map(|l| numbers(l)[c]).sum()).collect();
    assert_eq!(sums, total, "every cell lands in one row:\n{report}");
    assert!(rows.len() >= 3, "the arbiter's registers and logic split into blocks:\n{report}");
}

#[test]
fn an_unknown_block_is_refused_with_the_list() {
    let o = Command::new(env!("CARGO_BIN_EXE_arsenic-block")).args(["no_such_block", "/dev/null"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("uart_bridge") && err.contains("tx_engine"), "{err}");
}
