//! The Verilated Arsenic NIC, driven cycle by cycle from Rust.
//!
//! [`Sim`] keeps one timeline: frames injected on the MAC receive stream
//! start at the cycle asked for (or as soon as the previous one ends),
//! transmitted frames are collected with the cycles they left, and register
//! accesses advance the same clock while traffic keeps flowing.
//!
//! [`mac_loop::MacLoopSim`] is a second, small model: the GMII MAC's test
//! top, with the wire between its transmitter and receiver left open.
//!
//! [`versa::VersaSim`] is the Versa board shell with the NIC inside, driven
//! at its pins on three independent clocks: RGMII on both ports, the UART,
//! the LEDs and the PHY resets.

mod ffi;
pub mod host_memory;
pub mod mac_loop;
mod pins;
mod sim;
pub mod versa;
pub mod wire;

pub use pins::Pins;
pub use sim::{RawDecision, RegError, Sim, TxFrame, TxPacing};
