//! The bitstream flow with the real tools (YoWASP Yosys, nextpnr-ecp5,
//! ecppack) on small designs for the Versa-5G's real pins: a counter builds
//! to a bitstream with a sane report, a PLL and DDR I/O design is counted
//! right, a design that cannot meet its clock fails the timing gate by name;
//! the report parsing on a captured nextpnr report; and `arsenic program`
//! and `arsenic build` as a user runs them, with no board attached.

mod common;

use arsenic::board::{self, BoardReport, BoardTop, BuildOptions, ClockSpec};
use common::board::{counter_inputs, slow_inputs, tmp, VERSA_CLOCK_AND_LEDS};
use common::cli::{arsenic, assert_refused};
use std::path::Path;

fn read_report(dir: &Path) -> BoardReport {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn counter_builds_to_a_bitstream_with_a_sane_report() {
    let out = tmp("counter");
    let started = std::time::Instant::now();
    let r = board::build(&counter_inputs(), &out, &BuildOptions::default()).expect("the counter builds");
    eprintln!("counter build: {:.1} s", started.elapsed().as_secs_f64());

    let bit = out.join("versa-ecp5.bit");
    assert_eq!(r.bitstream.as_deref(), Some(bit.as_path()));
    let bytes = std::fs::read(&bit).unwrap();
    // The bitstream checks the device's IDCODE, LFE5UM5G-45F's 0x81112043,
    // before configuring: the wrong device would refuse it.
    assert!(bytes.windows(4).any(|w| w == [0x81, 0x11, 0x20, 0x43]), "no LFE5UM5G-45F IDCODE in {}", bit.display());
    assert!(std::fs::metadata(out.join("versa-ecp5.svf")).unwrap().len() > 0);
    for log in ["yosys.log", "nextpnr.log", "ecppack.log"] {
        assert!(out.join(log).is_file(), "{log} missing");
    }

    assert_eq!(r.clocks.len(), 1, "{:?}", r.clocks);
    let clk = &r.clocks[0];
    assert_eq!(clk.net, "clk");
    assert_eq!(clk.constraint_mhz, 100.0);
    assert!(clk.fmax_mhz > 150.0 && clk.fmax_mhz < 1000.0, "a 32-bit counter's Fmax: {}", clk.fmax_mhz);
    assert!(r.timing_met && r.untimed_clocks.is_empty());
    // 32 carry LUTs and a few for the LED inversion; one flip-flop a bit.
    assert!((32..200).contains(&r.luts), "LUTs: {}", r.luts);
    assert_eq!(r.registers, 32);
    assert_eq!(r.luts_available, 43848, "the 45k part's LUT4s");
    assert_eq!((r.brams, r.brams_available), (0, 108));
    assert_eq!(r.io, 9, "a clock and eight LEDs");
    assert_eq!(r.ddr_io, 0);
    assert_eq!(r.steps.iter().map(|s| s.step.as_str()).collect::<Vec<_>>(), ["synthesis", "place and route", "bitstream"]);
    // Compared as text: serde_json's float parsing may differ in the last bit.
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert_eq!(text, serde_json::to_string_pretty(&r).unwrap() + "\n", "report.json holds what build returned");
    assert_eq!(read_report(&out).clocks[0].net, "clk");
}

#[test]
fn the_same_seed_gives_the_same_placement() {
    let (a, b) = (tmp("seed-a"), tmp("seed-b"));
    board::build(&counter_inputs(), &a, &BuildOptions { seed: 7, ..Default::default() }).unwrap();
    board::build(&counter_inputs(), &b, &BuildOptions { seed: 7, ..Default::default() }).unwrap();
    let config = |d: &Path| std::fs::read(d.join("pnr.config")).unwrap();
    assert!(config(&a) == config(&b), "two builds with seed 7 placed differently");
    assert_eq!(std::fs::read(a.join("versa-ecp5.bit")).unwrap(), std::fs::read(b.join("versa-ecp5.bit")).unwrap());
}

#[test]
fn the_classic_abc_mapping_builds_without_abc9() {
    let out = tmp("abc");
    let r = board::build(&counter_inputs(), &out, &BuildOptions { abc9: false, ..Default::default() }).unwrap();
    let log = std::fs::read_to_string(out.join("yosys.log")).unwrap();
    assert!(log.contains("Executing ABC pass") && !log.contains("Executing ABC9 pass"), "ABC9 ran: see {}", out.join("yosys.log").display());
    assert!(r.timing_met && out.join("versa-ecp5.bit").is_file());
    assert_eq!(r.registers, 32);
}

#[test]
fn either_router_routes_and_the_log_says_which() {
    // Each router's own first words in nextpnr's log.
    let routers = [(board::Router::Router1, "router1", "Setting up routing queue"), (board::Router::Router2, "router2", "Running router2")];
    for (router, name, marker) in routers {
        let out = tmp(name);
        let r = board::build(&counter_inputs(), &out, &BuildOptions { router, ..Default::default() }).unwrap();
        let log = std::fs::read_to_string(out.join("nextpnr.log")).unwrap();
        assert!(log.contains(&format!("--router {name}")) && log.contains(marker), "see {}", out.join("nextpnr.log").display());
        assert!(r.timing_met && out.join("versa-ecp5.bit").is_file());
    }
}

/// RGMII-shaped I/O on the Versa's PHY pins: the receive side through
/// IDDRX1F on its own clock, the transmit side through ODDRX1F from a PLL
/// making 125 MHz out of the 100 MHz oscillator.
const DDR: &str = r#"
module rgmii_demo(input clk, input rx_clk, input [3:0] rxd, input rx_ctl,
                  output [3:0] txd, output tx_ctl, output tx_clk, output [7:0] led);
  wire clk125, locked;
  (* FREQUENCY_PIN_CLKI="100" *) (* FREQUENCY_PIN_CLKOP="125" *)
  EHXPLLL #(.CLKI_DIV(4), .CLKFB_DIV(5), .CLKOP_DIV(5), .CLKOP_CPHASE(2), .CLKOP_ENABLE("ENABLED"), .FEEDBK_PATH("CLKOP"))
    pll (.CLKI(clk), .CLKFB(clk125), .CLKOP(clk125), .LOCK(locked), .RST(1'b0), .STDBY(1'b0),
         .PHASESEL0(1'b0), .PHASESEL1(1'b0), .PHASEDIR(1'b0), .PHASESTEP(1'b0), .PHASELOADREG(1'b0),
         .PLLWAKESYNC(1'b0), .ENCLKOP(1'b0));
  wire [4:0] rise, fall;
  IDDRX1F in_d[4:0] (.D({rx_ctl, rxd}), .SCLK(rx_clk), .RST(1'b0), .Q0(rise), .Q1(fall));
  reg [9:0] rx_q;
  always @(posedge rx_clk) rx_q <= {rise, fall};
  reg [9:0] tx_q;
  always @(posedge clk125) tx_q <= rx_q;
  ODDRX1F out_d[4:0] (.D0(tx_q[9:5]), .D1(tx_q[4:0]), .SCLK(clk125), .RST(1'b0), .Q({tx_ctl, txd}));
  ODDRX1F out_c (.D0(1'b1), .D1(1'b0), .SCLK(clk125), .RST(1'b0), .Q(tx_clk));
  reg [26:0] count = 0;
  always @(posedge clk125) count <= count + 1;
  assign led = ~{locked, count[26:20]};
endmodule
"#;

const VERSA_RGMII: &str = r#"
LOCATE COMP "rx_clk" SITE "L20";
LOCATE COMP "rx_ctl" SITE "U19";
LOCATE COMP "rxd[0]" SITE "T20";
LOCATE COMP "rxd[1]" SITE "U20";
LOCATE COMP "rxd[2]" SITE "T19";
LOCATE COMP "rxd[3]" SITE "R18";
LOCATE COMP "tx_clk" SITE "P19";
LOCATE COMP "tx_ctl" SITE "R20";
LOCATE COMP "txd[0]" SITE "N19";
LOCATE COMP "txd[1]" SITE "N20";
LOCATE COMP "txd[2]" SITE "P18";
LOCATE COMP "txd[3]" SITE "P20";
IOBUF PORT "rx_clk" IO_TYPE=LVCMOS25;
IOBUF PORT "rx_ctl" IO_TYPE=LVCMOS25;
IOBUF PORT "rxd[0]" IO_TYPE=LVCMOS25;
IOBUF PORT "rxd[1]" IO_TYPE=LVCMOS25;
IOBUF PORT "rxd[2]" IO_TYPE=LVCMOS25;
IOBUF PORT "rxd[3]" IO_TYPE=LVCMOS25;
IOBUF PORT "tx_clk" IO_TYPE=LVCMOS25;
IOBUF PORT "tx_ctl" IO_TYPE=LVCMOS25;
IOBUF PORT "txd[0]" IO_TYPE=LVCMOS25;
IOBUF PORT "txd[1]" IO_TYPE=LVCMOS25;
IOBUF PORT "txd[2]" IO_TYPE=LVCMOS25;
IOBUF PORT "txd[3]" IO_TYPE=LVCMOS25;
"#;

#[test]
fn pll_and_ddr_io_are_timed_and_counted() {
    let out = tmp("ddr");
    let inputs = board::versa_ecp5(BoardTop {
        verilog: DDR.into(),
        top_module: "rgmii_demo".into(),
        lpf: format!("{VERSA_CLOCK_AND_LEDS}{VERSA_RGMII}"),
        clocks: vec![
            ClockSpec { net: "clk".into(), mhz: 100.0 },
            ClockSpec { net: "clk125".into(), mhz: 125.0 },
            ClockSpec { net: "rx_clk".into(), mhz: 125.0 },
        ],
    });
    let r = board::build(&inputs, &out, &BuildOptions::default()).expect("the DDR design builds");
    let nets: Vec<&str> = r.clocks.iter().map(|c| c.net.as_str()).collect();
    assert_eq!(nets, ["clk125", "rx_clk"], "a PLL output and a clock pin, named as the board names them");
    assert!(r.clocks.iter().all(|c| c.constraint_mhz == 125.0 && c.fmax_mhz > 125.0), "{:?}", r.clocks);
    // The oscillator only feeds the PLL: constrained, nothing to time.
    assert_eq!(r.untimed_clocks, ["clk"]);
    assert_eq!(r.plls, 1);
    assert_eq!(r.ddr_cells.get("IDDRX1F"), Some(&5));
    assert_eq!(r.ddr_cells.get("ODDRX1F"), Some(&6));
    assert_eq!(r.ddr_io, 11, "each DDR register takes an I/O logic cell");
    assert_eq!(r.io, 21);
}


#[test]
fn a_clock_below_its_requirement_fails_the_build_by_name() {
    let out = tmp("slow");
    let err = board::build(&slow_inputs(450.0), &out, &BuildOptions::default()).expect_err("450 MHz is out of reach").to_string();
    let r = read_report(&out);
    let fmax = r.clocks[0].fmax_mhz;
    assert!(fmax < 450.0);
    assert_eq!(err, format!("timing failed: clock clk reaches {fmax:.1} MHz, needs 450.0 MHz"));
    assert!(!r.timing_met && r.bitstream.is_none());
    assert!(!out.join("versa-ecp5.bit").exists(), "no bitstream from a build that failed timing");
    assert!(r.multipliers > 0, "the multiplies went to the DSP blocks");
}

#[test]
fn a_clock_the_design_lacks_is_an_error() {
    let out = tmp("typo");
    let mut inputs = counter_inputs();
    inputs.clocks.push(ClockSpec { net: "clk_typo".into(), mhz: 50.0 });
    let err = board::build(&inputs, &out, &BuildOptions::default()).unwrap_err().to_string();
    assert!(err.starts_with("clock clk_typo was not constrained by nextpnr"), "{err}");
}

#[test]
fn a_tool_failure_names_its_log() {
    let out = tmp("broken");
    let mut inputs = counter_inputs();
    inputs.verilog = "module blink(input clk, output [7:0] led); assign led = ; endmodule".into();
    let err = board::build(&inputs, &out, &BuildOptions::default()).unwrap_err().to_string();
    assert!(err.starts_with("synthesis (yosys) failed"), "{err}");
    assert!(err.ends_with(&out.join("yosys.log").display().to_string()), "{err}");
}

// --- report parsing, on a captured report of the DDR design above ---

/// nextpnr 0.11.1's `--report` for `rgmii_demo`, its critical paths left
/// out, and three DP16KD and two of the eleven I/O logic cells moved to
/// SIOLOGIC, so that every figure read is a non-zero one.
const CAPTURED: &str = r#"{"critical_paths": [],
 "fmax": {"$glbnet$clk125": {"achieved": 471.4757080078125, "constraint": 125},
          "$glbnet$rx_clk$TRELLIS_IO_IN": {"achieved": 702.2471923828125, "constraint": 125}},
 "utilization": {"ALU54B": {"available": 36, "used": 0}, "DCCA": {"available": 56, "used": 2},
   "DP16KD": {"available": 108, "used": 3}, "EHXPLLL": {"available": 4, "used": 1},
   "IOLOGIC": {"available": 160, "used": 9}, "MULT18X18D": {"available": 72, "used": 0},
   "SIOLOGIC": {"available": 85, "used": 2}, "TRELLIS_COMB": {"available": 43848, "used": 43},
   "TRELLIS_FF": {"available": 43848, "used": 47}, "TRELLIS_IO": {"available": 245, "used": 21}}}"#;

const CAPTURED_LOG: &str = "Info: constraining clock net 'clk' to 100.00 MHz\n\
                            Info: constraining clock net 'rx_clk' to 125.00 MHz\n";

fn spec(net: &str, mhz: f64) -> ClockSpec {
    ClockSpec { net: net.into(), mhz }
}

fn captured(wanted: &[ClockSpec]) -> anyhow::Result<BoardReport> {
    let pnr = board::parse_nextpnr(CAPTURED).unwrap();
    board::assemble("versa-ecp5", 1, &pnr, wanted, [("IDDRX1F".to_string(), 5)].into(), CAPTURED_LOG)
}

#[test]
fn report_parses_clocks_and_resources() {
    let r = captured(&[spec("clk", 100.0), spec("rx_clk", 125.0)]).unwrap();
    let clocks: Vec<(&str, f64, f64)> = r.clocks.iter().map(|c| (c.net.as_str(), c.fmax_mhz, c.constraint_mhz)).collect();
    // The board's clock first; the PLL output nextpnr derived, at its constraint.
    assert_eq!(clocks, [("rx_clk", 702.2471923828125, 125.0), ("clk125", 471.4757080078125, 125.0)]);
    assert_eq!(r.untimed_clocks, ["clk"]);
    assert_eq!((r.luts, r.luts_available, r.registers, r.registers_available), (43, 43848, 47, 43848));
    assert_eq!((r.brams, r.brams_available, r.plls, r.multipliers), (3, 108, 1, 0));
    assert_eq!((r.io, r.io_available, r.ddr_io, r.ddr_io_available), (21, 245, 11, 245));
    assert_eq!(r.utilization["DCCA"], board::Usage { used: 2, available: 56 });
    assert!(r.timing_met);
    board::timing_gate(&r).unwrap();
    let table = board::table(&r);
    assert!(table.contains("rx_clk") && table.contains("+461.8%"), "{table}");
    assert!(table.contains("DDR cells: IDDRX1F 5"), "{table}");
}

#[test]
fn report_gate_names_every_clock_short_of_its_requirement() {
    let r = captured(&[spec("rx_clk", 800.0)]).unwrap();
    assert!(!r.timing_met);
    let err = board::timing_gate(&r).unwrap_err().to_string();
    assert_eq!(err, "timing failed: clock rx_clk reaches 702.2 MHz, needs 800.0 MHz");
    assert!(board::table(&r).contains("FAILED"));
}

/// A routed report names each clock's worst path; a failing clock's is
/// summed up (total, routing share, ends) in the report and the table.
#[test]
fn report_sums_up_a_failing_clocks_worst_path() {
    let step = |kind: &str, delay: f64, cell: &str| {
        format!(r#"{{"type": "{kind}", "delay": {delay}, "from": {{"cell": "{cell}", "loc": [1, 1], "port": "Q"}}, "to": {{"cell": "{cell}", "loc": [1, 1], "port": "D"}}}}"#)
    };
    let path = [
        step("clk-to-q", 0.5, "core.a.q_TRELLIS_FF_Q"),
        step("routing", 3.0, "core.b_LUT4_Z"),
        step("logic", 0.25, "core.b_LUT4_Z"),
        step("routing", 4.25, "core.c.q_TRELLIS_FF_Q_3"),
        step("setup", 0.0, "core.c.q_TRELLIS_FF_Q_3"),
    ]
    .join(", ");
    let text = format!(
        r#"{{"fmax": {{"$glbnet$clk125": {{"achieved": 125.0, "constraint": 125}}, "$glbnet$rx$TRELLIS_IO_IN": {{"achieved": 300.0, "constraint": 125}}}},
            "utilization": {{"TRELLIS_COMB": {{"used": 10, "available": 43848}}}},
            "critical_paths": [
              {{"from": "<async>", "to": "posedge $glbnet$clk125", "path": [{}]}},
              {{"from": "posedge $glbnet$clk125", "to": "posedge $glbnet$clk125", "path": [{path}]}}]}}"#,
        step("routing", 9.0, "elsewhere")
    );
    let pnr = board::parse_nextpnr(&text).unwrap();
    let r = board::assemble("versa-ecp5", 1, &pnr, &[spec("clk125", 133.0), spec("rx", 125.0)], Default::default(), "").unwrap();
    let clk = &r.clocks[0];
    let p = clk.critical_path.as_ref().expect("clk125's path");
    assert_eq!((p.from.as_str(), p.to.as_str(), p.ns, p.routing_ns), ("core.a.q_TRELLIS_FF_Q", "core.c.q_TRELLIS_FF_Q_3", 8.0, 7.25));
    assert!(r.clocks[1].critical_path.is_none(), "rx has no path in the report");
    let table = board::table(&r);
    assert!(table.contains("worst path 8.00 ns (7.25 ns routing): core.a.q_TRELLIS_FF_Q -> core.c.q_TRELLIS_FF_Q_3"), "{table}");
    // A clock that meets its requirement gets no such line.
    let met = board::assemble("versa-ecp5", 1, &pnr, &[spec("clk125", 125.0)], Default::default(), "").unwrap();
    assert!(!board::table(&met).contains("worst path"));
}

#[test]
fn report_refuses_a_board_clock_nextpnr_never_constrained() {
    let err = captured(&[spec("sys_clk", 125.0)]).unwrap_err().to_string();
    assert!(err.starts_with("clock sys_clk was not constrained by nextpnr"), "{err}");
}

#[test]
fn report_names_clocks_as_the_board_does() {
    assert_eq!(board::clock_net("$glbnet$clk$TRELLIS_IO_IN"), "clk");
    assert_eq!(board::clock_net("$glbnet$clk125"), "clk125");
    assert_eq!(board::clock_net("core_clk"), "core_clk");
}

#[test]
fn report_refuses_what_is_not_a_nextpnr_report() {
    let err = board::parse_nextpnr(r#"{"fmax": {}}"#).unwrap_err().to_string();
    assert!(err.contains("nextpnr's report"), "{err}");
    assert!(board::ddr_cells("not json").is_err());
}

#[test]
fn ddr_cells_are_counted_from_the_netlist() {
    let netlist = r#"{"creator": "Yosys", "modules": {"top": {"attributes": {}, "ports": {}, "cells": {
        "a": {"type": "IDDRX1F", "connections": {}}, "b": {"type": "ODDRX1F"}, "c": {"type": "ODDRX1F"},
        "d": {"type": "TRELLIS_FF"}}, "netnames": {}}}}"#;
    let cells = board::ddr_cells(netlist).unwrap();
    assert_eq!(cells, [("IDDRX1F".to_string(), 1), ("ODDRX1F".to_string(), 2)].into());
}

// --- the commands ---

#[test]
fn program_dry_run_prints_the_exact_command() {
    let bit = tmp("dry").join("top.bit");
    std::fs::write(&bit, b"bitstream").unwrap();
    let bit = bit.to_str().unwrap();
    let o = arsenic(&["program", "--board", "versa-ecp5", "--bitstream", bit, "--dry-run"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), format!("openFPGALoader -c ft2232 {bit}\n"));
    let o = arsenic(&["program", "--board", "versa-ecp5", "--bitstream", bit, "--flash", "--dry-run"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), format!("openFPGALoader -c ft2232 --write-flash {bit}\n"));
}

#[test]
fn program_without_a_board_says_so() {
    if board::ftdi_attached(Path::new("/sys/bus/usb/devices")) {
        eprintln!("an FT2232H is attached: not loading a test file into it");
        return;
    }
    let bit = tmp("noboard").join("top.bit");
    std::fs::write(&bit, b"bitstream").unwrap();
    let o = arsenic(&["program", "--board", "versa-ecp5", "--bitstream", bit.to_str().unwrap()]);
    if board::loader_on_path() {
        assert_refused(&o, "no Versa board attached: no FTDI FT2232H (USB 0403:6010) found");
    } else {
        assert_refused(&o, "openFPGALoader is not installed");
    }
}

#[test]
fn program_without_a_bitstream_says_how_to_make_one() {
    let missing = tmp("nobit").join("versa-ecp5.bit");
    let o = arsenic(&["program", "--board", "versa-ecp5", "--bitstream", missing.to_str().unwrap(), "--dry-run"]);
    assert_refused(&o, &format!("no bitstream at {}", missing.display()));
    assert_refused(&o, "`arsenic build --board versa-ecp5` makes it");
}

#[test]
fn unknown_board_lists_the_known_ones() {
    for cmd in ["build", "signoff", "program"] {
        let o = arsenic(&[cmd, "--board", "versa-ecp3"]);
        assert_refused(&o, "unknown board 'versa-ecp3'; known boards: versa-ecp5 (Lattice ECP5 Versa-5G");
    }
}

#[test]
fn ftdi_is_found_by_its_usb_ids() {
    let root = tmp("sysfs");
    assert!(!board::ftdi_attached(&root.join("absent")));
    let dev = |name: &str, vendor: &str, product: &str| {
        let d = root.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("idVendor"), format!("{vendor}\n")).unwrap();
        std::fs::write(d.join("idProduct"), format!("{product}\n")).unwrap();
    };
    dev("1-1", "046d", "c52b");
    std::fs::create_dir_all(root.join("usb1")).unwrap();
    assert!(!board::ftdi_attached(&root));
    dev("1-2", "0403", "6001");
    assert!(!board::ftdi_attached(&root), "an FT232R is not the Versa's FT2232H");
    dev("1-3", "0403", "6010");
    assert!(board::ftdi_attached(&root));
}
