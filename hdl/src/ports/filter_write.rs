//! Filter table writes from the control page to the tables: for one cycle,
//! write the whole staged entry into (or clear) one slot of the exact or
//! the wildcard table. One cycle per entry is what keeps a lookup from ever
//! seeing half of one.

use crate::filter::ENTRY_BITS;
use rust_hdl::prelude::*;

#[derive(LogicInterface, Default)]
#[join = "FilterWriteSink"]
pub struct FilterWriteSource {
    pub write: Signal<Out, Bit>,
    /// Set for the wildcard table, clear for the exact table.
    pub wildcard: Signal<Out, Bit>,
    /// Empty the slot instead of writing `entry`.
    pub clear: Signal<Out, Bit>,
    /// `bucket * WAYS + way`.
    pub slot: Signal<Out, Bits<16>>,
    pub entry: Signal<Out, Bits<ENTRY_BITS>>,
}

#[derive(LogicInterface, Default)]
#[join = "FilterWriteSource"]
pub struct FilterWriteSink {
    pub write: Signal<In, Bit>,
    pub wildcard: Signal<In, Bit>,
    pub clear: Signal<In, Bit>,
    pub slot: Signal<In, Bits<16>>,
    pub entry: Signal<In, Bits<ENTRY_BITS>>,
}
