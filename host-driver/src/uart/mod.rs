//! The UART control plane: how the host reaches a board's control page
//! over a serial line when there is no PCIe (the ECP5 Versa's FT2232).
//!
//! `protocol` is the wire contract the gateware bridge implements;
//! `framer` finds frames in a byte stream; `link` is the host's end (one
//! register access a round trip); `server` the board's end in Rust, the
//! bridge's reference; `tty` opens serial ports with read timeouts. The
//! `Device` built on them is `device::uart::UartDevice`.

pub mod framer;
pub mod link;
pub mod protocol;
pub mod server;
pub mod tty;

#[cfg(test)]
mod tests;
