//! Ports of the transmit shaper (`shaping` holds the rules).
//!
//! The control page writes a queue's shaping in one cycle; the transmit
//! engine tells the shaper about each turn it takes and each refund its
//! descriptor stage makes, and reads back three bitmaps, a bit per queue,
//! which it combines with its own "has work" bits to pick the next turn.

use crate::params::{QUEUE_BITS, QUEUE_COUNT, QUEUE_COUNT_LOG2};
use rust_hdl::prelude::*;

/// One queue's shaping, as `shaping::ShapeSettings` describes it.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct ShapeConfig {
    pub g_rate: Bits<28>,
    pub g_burst: Bits<22>,
    pub c_rate: Bits<28>,
    pub c_burst: Bits<22>,
    pub weight: Bits<8>,
}

/// For one cycle, `shape` is queue `queue`'s new shaping. The buckets keep
/// their tokens (capped at the new bursts at their next update).
#[derive(LogicInterface, Default)]
#[join = "ShapeConfigSink"]
pub struct ShapeConfigSource {
    pub write: Signal<Out, Bit>,
    pub queue: Signal<Out, Bits<QUEUE_BITS>>,
    pub shape: Signal<Out, ShapeConfig>,
}

#[derive(LogicInterface, Default)]
#[join = "ShapeConfigSource"]
pub struct ShapeConfigSink {
    pub write: Signal<In, Bit>,
    pub queue: Signal<In, Bits<QUEUE_BITS>>,
    pub shape: Signal<In, ShapeConfig>,
}

/// `op` kinds. At most one op a cycle; the shaper takes every one.
pub const SHAPER_OP_NONE: u64 = 0;
/// A turn was taken: charge `shaping::ADMIT_BYTES` to the ceiling, and to
/// the guarantee if `green`, else to the deficit.
pub const SHAPER_OP_TURN: u64 = 1;
/// Give back `bytes` (a turn's admission less its wire bytes) the same way.
pub const SHAPER_OP_REFUND: u64 = 2;
/// A deficit round robin visit: add the queue's quantum to its deficit.
pub const SHAPER_OP_VISIT: u64 = 3;

/// The transmit engine's side.
#[derive(LogicInterface, Default)]
#[join = "ShaperSink"]
pub struct ShaperSource {
    pub op: Signal<Out, Bits<2>>,
    pub queue: Signal<Out, Bits<QUEUE_COUNT_LOG2>>,
    pub green: Signal<Out, Bit>,
    pub bytes: Signal<Out, Bits<12>>,
    /// Both buckets ok: the queue may take a green turn.
    pub green_ok: Signal<In, Bits<QUEUE_COUNT>>,
    /// The ceiling bucket is ok (or there is no ceiling).
    pub ceiling_ok: Signal<In, Bits<QUEUE_COUNT>>,
    /// The deficit is not negative.
    pub deficit_ok: Signal<In, Bits<QUEUE_COUNT>>,
}

#[derive(LogicInterface, Default)]
#[join = "ShaperSource"]
pub struct ShaperSink {
    pub op: Signal<In, Bits<2>>,
    pub queue: Signal<In, Bits<QUEUE_COUNT_LOG2>>,
    pub green: Signal<In, Bit>,
    pub bytes: Signal<In, Bits<12>>,
    pub green_ok: Signal<Out, Bits<QUEUE_COUNT>>,
    pub ceiling_ok: Signal<Out, Bits<QUEUE_COUNT>>,
    pub deficit_ok: Signal<Out, Bits<QUEUE_COUNT>>,
}
