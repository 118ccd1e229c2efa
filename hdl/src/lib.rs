//! Arsenic NIC gateware, described in rust-hdl.
//!
//! `ports` holds the interface types blocks talk through, `blocks` the
//! blocks, `top` wires them into the NIC, `board` describes the boards it
//! is built for, `mac_loop` is the GMII MAC's test top for Verilator, and
//! `generate` emits Verilog.

pub mod blocks;
pub mod board;
pub mod filter;
pub mod generate;
pub mod harness;
pub mod mac_loop;
pub mod params;
pub mod pci;
pub mod ports;
pub mod queue;
pub mod regmap;
pub mod shaping;
pub mod top;


pub use params::NicParams;
pub use top::NicTop;
