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
/// Frames from port 1 dropped because the forward FIFO to port 0 was full.
pub const FORWARD_DROPS: u32 = 0x80;
pub const PORTS: u32 = 2;

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
}

pub const PORT_STATS: u32 = 13;

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
        }
    }
}

/// The offset of port `port`'s `stat` inside the statistics window.
pub const fn stat_offset(port: u32, stat: PortStat) -> u32 {
    port * STATS_PORT_STRIDE + stat as u32 * 4
}
