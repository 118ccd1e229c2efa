//! Timing of a 1 Gb/s Ethernet wire in core cycles (one byte per cycle at
//! 125 MHz). The streams carry frames without preamble or FCS, so the time a
//! frame occupies the wire is longer than its beats.

/// Preamble and start delimiter.
pub const PREAMBLE_BYTES: u64 = 8;
pub const FCS_BYTES: u64 = 4;
/// Minimum inter-frame gap.
pub const IFG_BYTES: u64 = 12;
/// Frames shorter than this (without FCS) are padded on the wire.
pub const MIN_PAYLOAD_BYTES: u64 = 60;
/// Nanoseconds per core cycle at 125 MHz.
pub const NS_PER_CYCLE: u64 = 8;

/// Byte-times a frame of `len` bytes (without FCS) holds the wire, from the
/// start of its preamble to the end of the gap after it: 84 for any frame of
/// 60 bytes or less.
pub fn wire_cycles(len: usize) -> u64 {
    (len as u64).max(MIN_PAYLOAD_BYTES) + FCS_BYTES + PREAMBLE_BYTES + IFG_BYTES
}
