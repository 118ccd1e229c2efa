//! Ports between the control page, the user pages and the descriptor
//! engine's blocks (receive engine, transmit engine, event engine, per-queue
//! counters).
//!
//! The configuration of a queue is written in one cycle to every block that
//! keeps a copy of it (each block keeps its own in block RAM, so each has
//! its own read port). Doorbells carry only what a user page may say: a new
//! producer index for its own queue's rings, or "arm my event".

use crate::params::QUEUE_BITS;
use rust_hdl::prelude::*;

/// One queue's privileged settings, as `queue::QueueSettings` describes
/// them and `regmap::QCFG` stages them.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct QueueConfig {
    pub enable: bool,
    pub unrestricted: bool,
    pub rx_ring: Bits<64>,
    pub rx_log2: Bits<4>,
    pub tx_ring: Bits<64>,
    pub tx_log2: Bits<4>,
    pub win_base: Bits<64>,
    /// Exclusive end of the window.
    pub win_limit: Bits<64>,
    pub evt_addr: Bits<64>,
    pub evt_count: Bits<8>,
    pub evt_ticks: Bits<16>,
    pub check_mac: bool,
    pub check_vlan: bool,
    pub check_ip: bool,
    pub ip_v6: bool,
    pub check_port: bool,
    /// Source MAC as a big-endian number (first byte in bits 47..40).
    pub tpl_mac: Bits<48>,
    pub tpl_vlan: Bits<12>,
    /// Source address as a big-endian number; IPv4 in the low 32 bits.
    pub tpl_ip: Bits<128>,
    pub tpl_port: Bits<16>,
}

/// A committed configuration: for one cycle, `settings` is queue `queue`'s
/// new configuration, and the queue's ring indices, event state and
/// counters restart from zero.
#[derive(LogicInterface, Default)]
#[join = "QueueConfigSink"]
pub struct QueueConfigSource {
    pub write: Signal<Out, Bit>,
    pub queue: Signal<Out, Bits<QUEUE_BITS>>,
    pub settings: Signal<Out, QueueConfig>,
}

#[derive(LogicInterface, Default)]
#[join = "QueueConfigSource"]
pub struct QueueConfigSink {
    pub write: Signal<In, Bit>,
    pub queue: Signal<In, Bits<QUEUE_BITS>>,
    pub settings: Signal<In, QueueConfig>,
}

/// Doorbell kinds (`kind`).
pub const DOORBELL_RX_TAIL: u64 = 0;
pub const DOORBELL_TX_TAIL: u64 = 1;
pub const DOORBELL_ARM: u64 = 2;

/// A user-page write, decoded: one-cycle pulse, never stalled.
#[derive(LogicInterface, Default)]
#[join = "DoorbellSink"]
pub struct DoorbellSource {
    pub valid: Signal<Out, Bit>,
    pub queue: Signal<Out, Bits<QUEUE_BITS>>,
    pub kind: Signal<Out, Bits<2>>,
    /// The new producer index (tails); unused for arm.
    pub value: Signal<Out, Bits<16>>,
}

#[derive(LogicInterface, Default)]
#[join = "DoorbellSource"]
pub struct DoorbellSink {
    pub valid: Signal<In, Bit>,
    pub queue: Signal<In, Bits<QUEUE_BITS>>,
    pub kind: Signal<In, Bits<2>>,
    pub value: Signal<In, Bits<16>>,
}

/// A descriptor was written back: `done` is the ring's new count of
/// finished descriptors (free-running, 16 bits). Moves on `valid && ready`.
#[derive(LogicInterface, Default)]
#[join = "CompletionSink"]
pub struct CompletionSource {
    pub valid: Signal<Out, Bit>,
    pub queue: Signal<Out, Bits<QUEUE_BITS>>,
    pub is_tx: Signal<Out, Bit>,
    pub done: Signal<Out, Bits<16>>,
    pub ready: Signal<In, Bit>,
}

#[derive(LogicInterface, Default)]
#[join = "CompletionSource"]
pub struct CompletionSink {
    pub valid: Signal<In, Bit>,
    pub queue: Signal<In, Bits<QUEUE_BITS>>,
    pub is_tx: Signal<In, Bit>,
    pub done: Signal<In, Bits<16>>,
    pub ready: Signal<Out, Bit>,
}

/// Per-queue counters (`counter`), as the user page shows them.
pub const QCOUNT_RX_DELIVERED: u64 = 0;
pub const QCOUNT_RX_DROPPED: u64 = 1;
pub const QCOUNT_TX_SENT: u64 = 2;
pub const QCOUNT_TX_REJECTED: u64 = 3;

/// Add one to a per-queue counter. Moves on `valid && ready`.
#[derive(LogicInterface, Default)]
#[join = "QueueCountSink"]
pub struct QueueCountSource {
    pub valid: Signal<Out, Bit>,
    pub queue: Signal<Out, Bits<QUEUE_BITS>>,
    pub counter: Signal<Out, Bits<2>>,
    pub ready: Signal<In, Bit>,
}

#[derive(LogicInterface, Default)]
#[join = "QueueCountSource"]
pub struct QueueCountSink {
    pub valid: Signal<In, Bit>,
    pub queue: Signal<In, Bits<QUEUE_BITS>>,
    pub counter: Signal<In, Bits<2>>,
    pub ready: Signal<Out, Bit>,
}
