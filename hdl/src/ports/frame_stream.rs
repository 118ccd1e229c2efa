//! Frames as a stream of beats: one byte per beat (see `params::DATA_BITS`),
//! `last` on a frame's final beat, `error` on the final beat of a frame that
//! must not be trusted (bad FCS, or a check upstream that failed it).
//!
//! A beat moves when `valid && ready`. A MAC receive port cannot be paused,
//! so a consumer attached to one holds `ready` high and drops, with a count,
//! whatever it cannot keep.

use crate::params::DATA_BITS;
use rust_hdl::prelude::*;

/// The producing end of a frame stream.
#[derive(LogicInterface, Default)]
#[join = "FrameSink"]
pub struct FrameSource {
    pub data: Signal<Out, Bits<DATA_BITS>>,
    pub valid: Signal<Out, Bit>,
    pub last: Signal<Out, Bit>,
    pub error: Signal<Out, Bit>,
    pub ready: Signal<In, Bit>,
}

/// The consuming end of a frame stream.
#[derive(LogicInterface, Default)]
#[join = "FrameSource"]
pub struct FrameSink {
    pub data: Signal<In, Bits<DATA_BITS>>,
    pub valid: Signal<In, Bit>,
    pub last: Signal<In, Bit>,
    pub error: Signal<In, Bit>,
    pub ready: Signal<Out, Bit>,
}
