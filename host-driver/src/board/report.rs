//! What a build achieved: each clock's Fmax against what the board needs,
//! and the resources used, from nextpnr's `--report` JSON and the synthesised
//! netlist; and the timing gate over it.
//!
//! nextpnr's report has `fmax`, keyed by clock net after global promotion
//! (`$glbnet$clk$TRELLIS_IO_IN` for a clock pin `clk`, `$glbnet$clk125` for
//! a PLL output), each `{achieved, constraint}` in MHz; and `utilization`,
//! keyed by bel type, each `{used, available}`. A clock without a
//! constraint is timed at nextpnr's default of 12 MHz, which is why the flow
//! constrains every clock the board names (see `lpf::with_clocks`).

use super::ClockSpec;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug, Deserialize)]
pub struct NextpnrReport {
    pub fmax: BTreeMap<String, Fmax>,
    pub utilization: BTreeMap<String, Usage>,
    /// After routing, the worst path of each pair of clock edges.
    #[serde(default)]
    pub critical_paths: Vec<NextpnrPath>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct NextpnrPath {
    /// `posedge <clock net>`, or `<async>`.
    pub from: String,
    pub to: String,
    pub path: Vec<PathStep>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PathStep {
    /// `clk-to-q`, `logic`, `routing` or `setup`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Nanoseconds.
    pub delay: f64,
    pub from: PathPin,
    pub to: PathPin,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PathPin {
    pub cell: String,
}

#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Fmax {
    pub achieved: f64,
    pub constraint: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub used: u64,
    pub available: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClockReport {
    pub net: String,
    pub fmax_mhz: f64,
    /// What the board needs (its `ClockSpec`); for a clock the board does
    /// not name, such as a PLL output nextpnr derived, nextpnr's constraint.
    pub constraint_mhz: f64,
    /// Where this clock's slowest register-to-register path runs, when
    /// nextpnr routed the design: what to pipeline next.
    #[serde(default)]
    pub critical_path: Option<CriticalPath>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CriticalPath {
    /// The cells it starts and ends at, as the netlist names them (the
    /// gateware signal comes first).
    pub from: String,
    pub to: String,
    pub ns: f64,
    /// How much of it is wire: most of it means fan-out or distance, not depth.
    pub routing_ns: f64,
}

/// The clock net of a path end nextpnr names `posedge <net>`; none for `<async>`.
fn edge_clock(end: &str) -> Option<&str> {
    end.strip_prefix("posedge ").or_else(|| end.strip_prefix("negedge ")).map(clock_net)
}

/// The worst path within `clock` (a net as the board names it), if nextpnr
/// reported one.
pub fn critical_path(pnr: &NextpnrReport, clock: &str) -> Option<CriticalPath> {
    let p = pnr.critical_paths.iter().find(|p| edge_clock(&p.from) == Some(clock) && edge_clock(&p.to) == Some(clock))?;
    let (first, last) = (p.path.first()?, p.path.last()?);
    Some(CriticalPath {
        from: first.from.cell.clone(),
        to: last.to.cell.clone(),
        ns: p.path.iter().map(|s| s.delay).sum(),
        routing_ns: p.path.iter().filter(|s| s.kind == "routing").map(|s| s.delay).sum(),
    })
}

impl ClockReport {
    /// Fmax over the requirement: above 1 meets it.
    pub fn margin(&self) -> f64 {
        self.fmax_mhz / self.constraint_mhz
    }

    pub fn met(&self) -> bool {
        self.fmax_mhz >= self.constraint_mhz
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepTime {
    pub step: String,
    pub seconds: f64,
}

/// What `report.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoardReport {
    pub board: String,
    pub seed: u64,
    pub clocks: Vec<ClockReport>,
    /// Clocks the board names that nextpnr constrained but found no register
    /// paths on (a clock pin that only feeds a PLL): nothing to time.
    pub untimed_clocks: Vec<String>,
    /// LUT4s (nextpnr's TRELLIS_COMB; a carry cell is two).
    pub luts: u64,
    pub luts_available: u64,
    /// Flip-flops (TRELLIS_FF).
    pub registers: u64,
    pub registers_available: u64,
    /// 18 Kib block RAMs (DP16KD).
    pub brams: u64,
    pub brams_available: u64,
    /// 18x18 multipliers (MULT18X18D).
    pub multipliers: u64,
    pub multipliers_available: u64,
    /// PLLs (EHXPLLL).
    pub plls: u64,
    pub plls_available: u64,
    /// I/O pins (TRELLIS_IO).
    pub io: u64,
    pub io_available: u64,
    /// I/O logic cells, where DDR registers (IDDRX1F, ODDRX1F, ...) are
    /// placed: IOLOGIC and SIOLOGIC together.
    pub ddr_io: u64,
    pub ddr_io_available: u64,
    /// The DDR primitives in the netlist, by type.
    pub ddr_cells: BTreeMap<String, u64>,
    /// Every bel type nextpnr reported, as it reported it.
    pub utilization: BTreeMap<String, Usage>,
    pub timing_met: bool,
    /// How long each step took.
    pub steps: Vec<StepTime>,
    /// The bitstream, when timing was met and it was written.
    pub bitstream: Option<PathBuf>,
}

pub fn parse_nextpnr(text: &str) -> Result<NextpnrReport> {
    serde_json::from_str(text).context("nextpnr's report is not the JSON expected (fmax and utilization)")
}

/// The clock net a board names, from nextpnr's name for it: global
/// promotion adds `$glbnet$`, a clock pin's buffer `$TRELLIS_IO_IN`.
pub fn clock_net(key: &str) -> &str {
    let net = key.strip_prefix("$glbnet$").unwrap_or(key);
    net.strip_suffix("$TRELLIS_IO_IN").unwrap_or(net)
}

/// The clocks: every one nextpnr timed, against the board's requirement
/// where it names the clock; and the board's clocks nextpnr constrained but
/// found no register paths on (an oscillator pin that feeds only a PLL).
/// A board clock nextpnr did not constrain at all (it says so in its log,
/// `pnr_log`) is an error: its requirement would go unchecked.
pub fn clocks(pnr: &NextpnrReport, wanted: &[ClockSpec], pnr_log: &str) -> Result<(Vec<ClockReport>, Vec<String>)> {
    let mut timed: Vec<ClockReport> = pnr
        .fmax
        .iter()
        .map(|(key, f)| {
            let net = clock_net(key);
            let need = wanted.iter().find(|c| c.net == net).map_or(f.constraint, |c| c.mhz);
            let critical_path = critical_path(pnr, net);
            ClockReport { net: net.to_string(), fmax_mhz: f.achieved, constraint_mhz: need, critical_path }
        })
        .collect();
    let mut untimed = vec![];
    for c in wanted.iter().filter(|c| !timed.iter().any(|r| r.net == c.net)) {
        if !pnr_log.contains(&format!("constraining clock net '{}' to", c.net)) {
            bail!(
                "clock {} was not constrained by nextpnr (no such net in the design?): check the net name the board gives",
                c.net
            );
        }
        untimed.push(c.net.clone());
    }
    // The board's clocks first, in its order, then any nextpnr derived.
    timed.sort_by_key(|r| wanted.iter().position(|c| c.net == r.net).unwrap_or(usize::MAX));
    Ok((timed, untimed))
}

/// The DDR primitives in yosys's JSON netlist, by cell type. Only cell
/// types are read, so a large netlist costs little memory.
pub fn ddr_cells(synth_json: &str) -> Result<BTreeMap<String, u64>> {
    #[derive(Deserialize)]
    struct Netlist {
        modules: BTreeMap<String, Module>,
    }
    #[derive(Deserialize)]
    struct Module {
        #[serde(default)]
        cells: BTreeMap<String, Cell>,
    }
    #[derive(Deserialize)]
    struct Cell {
        #[serde(rename = "type")]
        kind: String,
    }
    let netlist: Netlist = serde_json::from_str(synth_json).context("yosys's synth.json is not a JSON netlist")?;
    let mut counts = BTreeMap::new();
    for cell in netlist.modules.values().flat_map(|m| m.cells.values()) {
        if cell.kind.starts_with("IDDR") || cell.kind.starts_with("ODDR") {
            *counts.entry(cell.kind.clone()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// Puts the report together from nextpnr's report and log and the DDR
/// cells of the netlist (steps and bitstream are the flow's to fill).
pub fn assemble(
    board: &str,
    seed: u64,
    pnr: &NextpnrReport,
    wanted: &[ClockSpec],
    ddr_cells: BTreeMap<String, u64>,
    pnr_log: &str,
) -> Result<BoardReport> {
    let (clocks, untimed_clocks) = clocks(pnr, wanted, pnr_log)?;
    let u = |bel: &str| pnr.utilization.get(bel).copied().unwrap_or_default();
    let (comb, ff, ram, mult, pll, io) =
        (u("TRELLIS_COMB"), u("TRELLIS_FF"), u("DP16KD"), u("MULT18X18D"), u("EHXPLLL"), u("TRELLIS_IO"));
    let (iol, siol) = (u("IOLOGIC"), u("SIOLOGIC"));
    if comb.available == 0 {
        bail!("nextpnr's report lists no TRELLIS_COMB (LUT) bels: is this an ECP5 report?");
    }
    Ok(BoardReport {
        board: board.to_string(),
        seed,
        timing_met: clocks.iter().all(ClockReport::met),
        clocks,
        untimed_clocks,
        luts: comb.used,
        luts_available: comb.available,
        registers: ff.used,
        registers_available: ff.available,
        brams: ram.used,
        brams_available: ram.available,
        multipliers: mult.used,
        multipliers_available: mult.available,
        plls: pll.used,
        plls_available: pll.available,
        io: io.used,
        io_available: io.available,
        ddr_io: iol.used + siol.used,
        ddr_io_available: iol.available + siol.available,
        ddr_cells,
        utilization: pnr.utilization.clone(),
        steps: vec![],
        bitstream: None,
    })
}

/// The CI timing gate: every clock at or above what it needs.
pub fn timing_gate(report: &BoardReport) -> Result<()> {
    let failed: Vec<String> = report
        .clocks
        .iter()
        .filter(|c| !c.met())
        .map(|c| format!("clock {} reaches {:.1} MHz, needs {:.1} MHz", c.net, c.fmax_mhz, c.constraint_mhz))
        .collect();
    if !failed.is_empty() {
        bail!("timing failed: {}", failed.join("; "));
    }
    Ok(())
}
