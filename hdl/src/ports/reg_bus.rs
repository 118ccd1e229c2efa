//! The register port: 32-bit reads and writes at a byte offset.
//!
//! The initiator raises `strobe` for one cycle with `write`, `addr` and
//! `wdata`; the target answers with `ack` for one cycle (and `rdata` for a
//! read) some cycles later. One access is outstanding at a time, which is
//! what PCIe posted writes and non-posted reads, and a UART bridge, all
//! reduce to at the core's edge.

use crate::params::REG_ADDR_BITS;
use rust_hdl::prelude::*;

#[derive(LogicInterface, Default)]
#[join = "RegInitiator"]
pub struct RegTarget {
    pub strobe: Signal<In, Bit>,
    pub write: Signal<In, Bit>,
    pub addr: Signal<In, Bits<REG_ADDR_BITS>>,
    pub wdata: Signal<In, Bits<32>>,
    pub ack: Signal<Out, Bit>,
    pub rdata: Signal<Out, Bits<32>>,
}

#[derive(LogicInterface, Default)]
#[join = "RegTarget"]
pub struct RegInitiator {
    pub strobe: Signal<Out, Bit>,
    pub write: Signal<Out, Bit>,
    pub addr: Signal<Out, Bits<REG_ADDR_BITS>>,
    pub wdata: Signal<Out, Bits<32>>,
    pub ack: Signal<In, Bit>,
    pub rdata: Signal<In, Bits<32>>,
}
