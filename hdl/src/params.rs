//! Generator parameters: the one place every block takes its sizes from.
//!
//! Widths that shape types (the datapath) are compile-time constants because
//! rust-hdl encodes them in `Bits<N>`; sizes that only shape tables and the
//! register map travel in [`NicParams`], which the generator hands to every
//! block's constructor and which the ID page reports to the driver.

/// Bytes carried per beat of the MAC-side frame streams.
///
/// The streams carry no byte-enable yet, so only 1 (GMII, 1 Gb/s at 125 MHz)
/// is accepted; a wider port adds the byte-enable with its MAC.
pub const DATAPATH_BYTES: usize = 1;
pub const DATA_BITS: usize = 8 * DATAPATH_BYTES;
const _: () = assert!(DATAPATH_BYTES == 1, "wider datapaths need a byte-enable on FrameStream");

/// Width of a register-port byte offset: 16 MiB, room for the control page
/// and one 4 KiB page for each of thousands of queues.
pub const REG_ADDR_BITS: usize = 24;
/// DMA addresses are full 64-bit bus addresses (IOVAs on PCIe).
pub const DMA_ADDR_BITS: usize = 64;
/// DMA data moves 8 bytes per beat, so descriptors and completions move at
/// several times the 1-byte frame rate.
pub const DMA_DATA_BITS: usize = 64;
pub const DMA_LEN_BITS: usize = 16;
pub const DMA_TAG_BITS: usize = 8;

/// log2 of the bucket counts of the two filter tables; each bucket holds
/// `filter::WAYS` entries, so 256 buckets make 1024 exact filters.
pub const EXACT_BUCKET_BITS: usize = 8;
pub const WILDCARD_BUCKET_BITS: usize = 4;
/// Width of a queue number in the gateware.
pub const QUEUE_BITS: usize = 12;
/// log2 of the number of queue pairs. Queue state lives in block RAMs,
/// whose depth rust-hdl fixes at compile time, so the count is set here.
pub const QUEUE_COUNT_LOG2: usize = 6;
pub const QUEUE_COUNT: usize = 1 << QUEUE_COUNT_LOG2;
const _: () = assert!(QUEUE_COUNT_LOG2 <= QUEUE_BITS);
/// log2 of the receive engine's frame buffer in bytes.
pub const RX_BUFFER_LOG2: usize = 13;

/// log2 of the loopback frame buffer in bytes; 4 KiB holds two maximum frames.
pub const LOOPBACK_BUFFER_LOG2: usize = 12;

/// Sizes that reach every block and the ID page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicParams {
    /// Application queue pairs, each with its own 4 KiB user page.
    pub queues: u32,
    /// Entries of the exact 5-tuple filter table.
    pub exact_filters: u32,
    /// Entries of the wildcard filter table.
    pub wildcard_filters: u32,
    /// Longest frame accepted, in bytes, without FCS.
    pub max_frame_bytes: u32,
    /// Shortest frame accepted: an Ethernet header.
    pub min_frame_bytes: u32,
    /// Core clock: 125 MHz moves one byte per cycle at 1 Gb/s.
    pub clock_hz: u32,
}

impl Default for NicParams {
    fn default() -> Self {
        Self {
            queues: QUEUE_COUNT as u32,
            exact_filters: (crate::filter::WAYS << EXACT_BUCKET_BITS) as u32,
            wildcard_filters: (crate::filter::WAYS << WILDCARD_BUCKET_BITS) as u32,
            // 1514 plus two VLAN tags (802.1ad QinQ), so tagged frames of a
            // full 1500-byte MTU fit.
            max_frame_bytes: 1522,
            min_frame_bytes: 14,
            clock_hz: 125_000_000,
        }
    }
}

impl NicParams {
    pub fn datapath_bytes(&self) -> u32 {
        DATAPATH_BYTES as u32
    }

    /// Checks the values a user may choose; the generator refuses bad ones
    /// rather than emitting gateware that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        let buffer = 1u32 << LOOPBACK_BUFFER_LOG2;
        if self.queues != QUEUE_COUNT as u32 {
            return Err(format!(
                "queues must be {QUEUE_COUNT} (queue state RAMs are sized by QUEUE_COUNT_LOG2 in params.rs), got {}",
                self.queues
            ));
        }
        let exact = (crate::filter::WAYS << EXACT_BUCKET_BITS) as u32;
        let wildcard = (crate::filter::WAYS << WILDCARD_BUCKET_BITS) as u32;
        if self.exact_filters != exact || self.wildcard_filters != wildcard {
            return Err(format!(
                "filter tables are sized by EXACT_BUCKET_BITS and WILDCARD_BUCKET_BITS in params.rs \
                 ({exact} exact, {wildcard} wildcard); got {} and {}",
                self.exact_filters, self.wildcard_filters
            ));
        }
        if self.min_frame_bytes < 14 || self.min_frame_bytes > self.max_frame_bytes {
            return Err(format!(
                "min_frame_bytes must be at least 14 and at most max_frame_bytes, got {}",
                self.min_frame_bytes
            ));
        }
        if self.max_frame_bytes < 1514 || self.max_frame_bytes >= buffer {
            return Err(format!(
                "max_frame_bytes must be 1514..{buffer} (the frame buffer), got {}",
                self.max_frame_bytes
            ));
        }
        Ok(())
    }
}
