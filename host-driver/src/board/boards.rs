//! The boards the flow knows: the gateware's board list
//! (`arsenic_hdl::board`), each turned into what the flow takes.

use super::{BuildInputs, ClockSpec};
use anyhow::{anyhow, Result};
use arsenic_hdl::board::{self as hw, ClockKind};
use arsenic_hdl::NicParams;
use std::path::PathBuf;

pub use arsenic_hdl::board::{Board, BOARDS};

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
    hw::find(name).ok_or_else(|| {
        let known: Vec<String> = BOARDS.iter().map(|b| format!("{} ({})", b.name, b.what)).collect();
        anyhow!("unknown board '{name}'; known boards: {}", known.join(", "))
    })
}

/// A board's inputs to the flow, by name: its shell around the default NIC.
pub fn board_inputs(name: &str) -> Result<BuildInputs> {
    let b = check_board(name)?;
    let verilog = (b.verilog)(&NicParams::default()).map_err(|e| anyhow!("{name}: {e}"))?;
    Ok(inputs_for(b, BoardTop { verilog, top_module: b.top_module.into(), lpf: b.lpf(), clocks: board_clocks(b) }))
}

/// Every clock the board's LPF constrains. Ports keep their names in the
/// netlist, which is what the flow looks clocks up by.
fn board_clocks(b: &Board) -> Vec<ClockSpec> {
    b.clocks
        .iter()
        .filter(|c| c.kind == ClockKind::Port)
        .map(|c| ClockSpec { net: c.name.into(), mhz: c.mhz })
        .collect()
}

/// Any top built for the Versa-5G's FPGA (tests build small ones).
pub fn versa_ecp5(top: BoardTop) -> BuildInputs {
    inputs_for(&hw::versa_ecp5::BOARD, top)
}

fn inputs_for(b: &Board, top: BoardTop) -> BuildInputs {
    BuildInputs {
        name: b.name.into(),
        verilog: top.verilog,
        top_module: top.top_module,
        lpf: top.lpf,
        device_args: b.nextpnr_device.iter().map(|s| s.to_string()).collect(),
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
