//! The Versa shell's register space as the UART bridge sees it: the one
//! map both the shell and the host's `uart` backend take their offsets
//! from.

/// Below this, the core's control and user pages, unchanged.
pub const CORE_END: u32 = 0x80_0000;
/// The on-chip memory the core's DMA reaches, 32 bits at a time.
pub const MEMORY_WINDOW: u32 = 0x80_0000;
/// The shell's per-port statistics.
pub const STATS_WINDOW: u32 = 0xC0_0000;
/// Port `p`'s statistics start at `STATS_WINDOW + p * STATS_PORT_STRIDE`.
pub const STATS_PORT_STRIDE: u32 = 0x40;
/// Frames the core sent that left by port 1 because their source MAC was
/// not learned from a received frame (see `EgressSteer`).
pub const UNLEARNED_FRAMES: u32 = 0x80;
pub const PORTS: u32 = 2;

/// The hardware forwarder's slots (`forwarder.rs`), inside the statistics
/// window: slot `s`'s registers start at
/// `FORWARDER_WINDOW + s * FORWARDER_SLOT_STRIDE`, at the offsets in `fwd`.
pub const FORWARDER_WINDOW: u32 = STATS_WINDOW + 0x1000;
pub const FORWARDER_SLOTS: u32 = 4;
pub const FORWARDER_SLOT_STRIDE: u32 = 0x40;

/// One forwarder slot's registers, byte offsets from the slot's start.
/// The configuration words (`QUEUE` to `BUFFER_BYTES`) and the indices
/// take writes only while the slot is stopped; the configuration words
/// read 0.
pub mod fwd {
    /// Write: bit 0 starts (1) or stops (0) the slot. Read: bit 0 running,
    /// bits 8.. the `STATUS_*` reasons the last start was refused or the
    /// slot stopped by itself.
    pub const CONTROL: u32 = 0x00;
    /// The queue whose user page takes the doorbells.
    pub const QUEUE: u32 = 0x04;
    /// Byte offsets of the receive and transmit rings in on-chip memory
    /// (16-byte aligned; both rings have `2^RING_LOG2` descriptors).
    pub const RX_RING: u32 = 0x08;
    pub const TX_RING: u32 = 0x0C;
    pub const RING_LOG2: u32 = 0x10;
    /// The length a receive descriptor is reposted with.
    pub const BUFFER_BYTES: u32 = 0x14;
    /// Bits 15..0 the next receive descriptor to look at (head), bits
    /// 31..16 the receive tail (descriptors posted so far).
    pub const RX_INDEX: u32 = 0x18;
    /// Bits 15..0 the next transmit descriptor to look at, 31..16 the
    /// transmit tail.
    pub const TX_INDEX: u32 = 0x1C;
    /// Transmit descriptors finished with status Ok: frames sent.
    pub const FORWARDED: u32 = 0x20;
    /// Receive descriptors finished with an error, reposted at once.
    pub const RX_ERRORS: u32 = 0x24;
    /// Transmit descriptors the NIC refused; their buffers are reposted.
    pub const TX_ERRORS: u32 = 0x28;

    pub const CONTROL_RUN: u32 = 1 << 0;
    /// Ring log2 outside `queue::RING_LOG2_MIN..=RING_LOG2_MAX`.
    pub const STATUS_BAD_LOG2: u32 = 1 << 8;
    /// A ring not 16-byte aligned or not wholly inside on-chip memory.
    pub const STATUS_BAD_RX_RING: u32 = 1 << 9;
    pub const STATUS_BAD_TX_RING: u32 = 1 << 10;
    /// A queue number the core does not have.
    pub const STATUS_BAD_QUEUE: u32 = 1 << 11;
    /// A buffer length of 0 or above 65535.
    pub const STATUS_BAD_BUFFER: u32 = 1 << 12;
    /// An access went unacknowledged for `ACK_TIMEOUT_CYCLES`: the slot
    /// stopped.
    pub const STATUS_NO_ACK: u32 = 1 << 13;
}

/// The address of forwarder slot `slot`'s register `reg` (a `fwd` offset).
pub const fn fwd_register(slot: u32, reg: u32) -> u32 {
    FORWARDER_WINDOW + slot * FORWARDER_SLOT_STRIDE + reg
}

/// Each port's 32-bit statistics, in register order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum PortStat {
    /// Good frames received, and their bytes (FCS excluded).
    RxFrames = 0,
    RxBytes,
    RxFcsErrors,
    RxRunts,
    RxGiants,
    /// Bursts with no start delimiter.
    RxNoSfd,
    /// Frames the PHY marked with a receive error.
    RxSymbolErrors,
    /// Frames cut because the receive clock crossing was full.
    RxCrossingOverflows,
    /// Frames cut because the crossing ran dry mid-frame.
    RxCrossingUnderruns,
    TxFrames,
    TxBytes,
    /// Frames cut short on the wire (the source fell behind or marked an error).
    TxAborted,
    /// Bit 0: the PHY reports link (RGMII in-band status).
    Link,
    /// Good frames dropped whole because the port's 2 KiB wait for the
    /// core (which the two ports take turns into) was full.
    RxWaitOverflows,
}

pub const PORT_STATS: u32 = 14;

impl PortStat {
    pub const ALL: [PortStat; PORT_STATS as usize] = [
        PortStat::RxFrames,
        PortStat::RxBytes,
        PortStat::RxFcsErrors,
        PortStat::RxRunts,
        PortStat::RxGiants,
        PortStat::RxNoSfd,
        PortStat::RxSymbolErrors,
        PortStat::RxCrossingOverflows,
        PortStat::RxCrossingUnderruns,
        PortStat::TxFrames,
        PortStat::TxBytes,
        PortStat::TxAborted,
        PortStat::Link,
        PortStat::RxWaitOverflows,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PortStat::RxFrames => "rx_frames",
            PortStat::RxBytes => "rx_bytes",
            PortStat::RxFcsErrors => "rx_fcs_errors",
            PortStat::RxRunts => "rx_runts",
            PortStat::RxGiants => "rx_giants",
            PortStat::RxNoSfd => "rx_no_sfd",
            PortStat::RxSymbolErrors => "rx_symbol_errors",
            PortStat::RxCrossingOverflows => "rx_crossing_overflows",
            PortStat::RxCrossingUnderruns => "rx_crossing_underruns",
            PortStat::TxFrames => "tx_frames",
            PortStat::TxBytes => "tx_bytes",
            PortStat::TxAborted => "tx_aborted",
            PortStat::Link => "link",
            PortStat::RxWaitOverflows => "rx_wait_overflows",
        }
    }
}

/// The offset of port `port`'s `stat` inside the statistics window.
pub const fn stat_offset(port: u32, stat: PortStat) -> u32 {
    port * STATS_PORT_STRIDE + stat as u32 * 4
}
