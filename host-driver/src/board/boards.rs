//! The boards the flow knows, and what each hands to it. The gateware's
//! board description (`arsenic_hdl::board`) supplies a board's top; this
//! side adds the FPGA it goes on.

use super::{BuildInputs, ClockSpec};
use anyhow::{bail, Result};
use std::path::PathBuf;

/// A board the flow can build for.
pub struct Board {
    pub name: &'static str,
    /// What it is, for people.
    pub what: &'static str,
    pub inputs: fn() -> Result<BuildInputs>,
}

pub const BOARDS: &[Board] = &[Board {
    name: "versa-ecp5",
    what: "Lattice ECP5 Versa-5G, LFE5UM5G-45F-8BG381C",
    inputs: || Ok(versa_ecp5(versa_ecp5_top()?)),
}];

/// What the gateware gives for a board: its top's Verilog, the top module's
/// name, its pins (LPF) and the clocks it must meet.
#[derive(Clone, Debug, PartialEq)]
pub struct BoardTop {
    pub verilog: String,
    pub top_module: String,
    pub lpf: String,
    pub clocks: Vec<ClockSpec>,
}

/// The board of that name; an unknown name fails, listing the known boards.
pub fn check_board(name: &str) -> Result<&'static Board> {
    if let Some(b) = BOARDS.iter().find(|b| b.name == name) {
        return Ok(b);
    }
    let known: Vec<String> = BOARDS.iter().map(|b| format!("{} ({})", b.name, b.what)).collect();
    bail!("unknown board '{name}'; known boards: {}", known.join(", "))
}

/// A board's inputs to the flow, by name.
pub fn board_inputs(name: &str) -> Result<BuildInputs> {
    (check_board(name)?.inputs)()
}

/// The Versa-5G's top, from the gateware. This is the one place the
/// board's Verilog, pins and clocks come from `arsenic_hdl::board`; it is
/// wired when that module lands (issue 6, the board shell).
pub fn versa_ecp5_top() -> Result<BoardTop> {
    bail!("the Versa-5G board top is not in this build: it comes from arsenic_hdl::board (the board shell, issue 6)")
}

/// The Versa-5G's FPGA: LFE5UM5G-45F, CABGA381 package, speed grade 8.
pub fn versa_ecp5(top: BoardTop) -> BuildInputs {
    BuildInputs {
        name: "versa-ecp5".into(),
        verilog: top.verilog,
        top_module: top.top_module,
        lpf: top.lpf,
        device_args: ["--um5g-45k", "--package", "CABGA381", "--speed", "8"].map(String::from).to_vec(),
        clocks: top.clocks,
    }
}

/// Where `arsenic build --board <name>` writes, unless told otherwise.
pub fn default_out_dir(name: &str) -> PathBuf {
    PathBuf::from("out/board").join(name)
}

/// The bitstream `arsenic build --board <name>` makes.
pub fn default_bitstream(name: &str) -> PathBuf {
    default_out_dir(name).join(format!("{name}.bit"))
}
