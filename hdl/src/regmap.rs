//! The register map, shared by the gateware and the host driver so the two
//! can never disagree about an offset.
//!
//! Page 0 is the privileged control page; page `1 + q` is queue `q`'s user
//! page. Offsets are bytes; every register is 32 bits wide.

pub const PAGE_BYTES: u32 = 4096;

/// Byte offset of queue `q`'s user page.
pub const fn queue_page(q: u32) -> u32 {
    (1 + q) * PAGE_BYTES
}

/// "ARSN" in ASCII: what a driver checks before trusting anything else.
pub const MAGIC_VALUE: u32 = 0x4152_534E;
/// Major version in the upper 16 bits, minor in the lower.
pub const VERSION_VALUE: u32 = 0x0000_0001;

// Identification: read-only, fixed by the generator.
pub const MAGIC: u32 = 0x000;
pub const VERSION: u32 = 0x004;
pub const QUEUES: u32 = 0x008;
pub const EXACT_FILTERS: u32 = 0x00C;
pub const WILDCARD_FILTERS: u32 = 0x010;
pub const DATAPATH_BYTES: u32 = 0x014;
pub const MAX_FRAME: u32 = 0x018;
pub const CLOCK_HZ: u32 = 0x01C;
pub const MIN_FRAME: u32 = 0x020;

/// The identification registers and their values for a NIC built with
/// `params`, in offset order: what the gateware's ID ROM holds and what the
/// behavioural model answers.
pub fn id_registers(params: &crate::NicParams) -> [(u32, u32); 9] {
    [
        (MAGIC, MAGIC_VALUE),
        (VERSION, VERSION_VALUE),
        (QUEUES, params.queues),
        (EXACT_FILTERS, params.exact_filters),
        (WILDCARD_FILTERS, params.wildcard_filters),
        (DATAPATH_BYTES, params.datapath_bytes()),
        (MAX_FRAME, params.max_frame_bytes),
        (CLOCK_HZ, params.clock_hz),
        (MIN_FRAME, params.min_frame_bytes),
    ]
}

/// End of the identification area.
pub const ID_END: u32 = 0x040;

/// Read/write with no effect: lets a driver prove that writes land.
pub const SCRATCH: u32 = 0x040;
/// Control bits, see `CONTROL_*`.
pub const CONTROL: u32 = 0x044;
/// Send every received frame back out unchanged.
pub const CONTROL_LOOPBACK: u32 = 1 << 0;
/// The queue that gets misses, fragments and malformed frames (the
/// kernel's). Reset value 0.
pub const DEFAULT_QUEUE: u32 = 0x048;

/// Filter table writes: stage a key (ten words, `filter::Key` order) and a
/// value (`filter::Action::encode`), then write a command. The command
/// writes the staged entry into one slot, or clears the slot, in a single
/// cycle, so a lookup never sees half an entry.
pub const FILTER_KEY: u32 = 0x200;
pub const FILTER_VALUE: u32 = 0x228;
pub const FILTER_CMD: u32 = 0x22C;
/// Command bits: the slot is `bucket * WAYS + way`.
pub const FILTER_CMD_SLOT_MASK: u32 = 0xFFFF;
/// Set for the wildcard table, clear for the exact table.
pub const FILTER_CMD_WILDCARD: u32 = 1 << 16;
/// Set to clear the slot instead of writing the staged entry.
pub const FILTER_CMD_CLEAR: u32 = 1 << 17;
/// Set to write the staged entry. A command with neither this nor
/// `FILTER_CMD_CLEAR` does nothing, so no command word is 0: a BAR held in
/// shared memory (the simulated device) sees a command only as a change
/// of the word, and reads it back as 0 once taken.
pub const FILTER_CMD_WRITE: u32 = 1 << 18;

/// The RSS secret key, 40 bytes in ten read/write words: word i holds key
/// bytes 4i..4i+4, the first of them in bits 31..24. Reset value:
/// `filter::RSS_KEY`. A new key applies from the next frame that starts.
pub const RSS_KEY: u32 = 0x240;
pub const RSS_KEY_WORDS: u32 = 10;

/// The key as the ten register words.
pub fn rss_key_words(key: &[u8; 40]) -> [u32; 10] {
    std::array::from_fn(|i| u32::from_be_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]]))
}

/// Encodes a filter command word.
pub const fn filter_cmd(wildcard: bool, slot: u32, clear: bool) -> u32 {
    (slot & FILTER_CMD_SLOT_MASK)
        | if wildcard { FILTER_CMD_WILDCARD } else { 0 }
        | if clear { FILTER_CMD_CLEAR } else { FILTER_CMD_WRITE }
}

/// Queue configuration (privileged): stage `queue::QCFG_WORDS` words in
/// `queue::QueueSettings::words` order, then write `QCFG_CMD` with the
/// queue number and `QCFG_CMD_COMMIT`. The commit hands the whole
/// configuration to every engine in one cycle and restarts the queue's
/// ring indices, event state and counters; a queue is destroyed by
/// committing it disabled. Poll `QCFG_STATUS` until `QCFG_STATUS_BUSY`
/// clears before the next commit: a commit made while busy is ignored.
pub const QCFG: u32 = 0x300;
pub const QCFG_CMD: u32 = QCFG + 4 * crate::queue::QCFG_WORDS as u32;
pub const QCFG_CMD_QUEUE_MASK: u32 = 0xFFF;
pub const QCFG_CMD_COMMIT: u32 = 1 << 16;
pub const QCFG_STATUS: u32 = QCFG_CMD + 4;
pub const QCFG_STATUS_BUSY: u32 = 1 << 0;

/// Transmit shaping (privileged, `shaping` holds the rules): stage
/// `shaping::SHAPE_WORDS` words in `shaping::ShapeSettings::words` order and
/// write `SHAPE_CMD` with the queue number and `SHAPE_CMD_WRITE`; the queue's
/// shaping changes at once, without a restart. `SHAPE_CMD_READ` loads the
/// staging words with the queue's shaping instead (readable the cycle
/// after). Queue numbers past the last queue are ignored.
pub const SHAPE: u32 = 0x380;
pub const SHAPE_CMD: u32 = SHAPE + 4 * crate::shaping::SHAPE_WORDS as u32;
pub const SHAPE_CMD_QUEUE_MASK: u32 = 0xFFF;
pub const SHAPE_CMD_WRITE: u32 = 1 << 16;
pub const SHAPE_CMD_READ: u32 = 1 << 17;

/// A queue's user page: all an application that maps it can touch.
/// Tails are the host's producer indices (free-running, 16 bits); any write
/// to `UQ_EVENT_ARM` arms the queue's event. The counters are read-only,
/// 32-bit, wrapping, and restart when the queue is committed.
pub const UQ_RX_TAIL: u32 = 0x00;
pub const UQ_TX_TAIL: u32 = 0x04;
pub const UQ_EVENT_ARM: u32 = 0x08;
pub const UQ_RX_DELIVERED: u32 = 0x10;
pub const UQ_RX_DROPPED: u32 = 0x14;
pub const UQ_TX_SENT: u32 = 0x18;
pub const UQ_TX_REJECTED: u32 = 0x1C;

/// Statistics: 64-bit counters at `COUNTERS + 8 * index`. Reading the low
/// word latches the high word, so low-then-high reads one consistent value
/// while the counter keeps running.
pub const COUNTERS: u32 = 0x100;

/// The counters, in register order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Every frame seen on the MAC receive stream, good or bad.
    RxFrames,
    RxBytes,
    /// Frames and bytes that left on the MAC transmit stream.
    TxFrames,
    TxBytes,
    /// Received frames shorter than `MIN_FRAME`.
    RxDropRunt,
    /// Received frames longer than `MAX_FRAME`.
    RxDropGiant,
    /// Received frames the MAC flagged (bad FCS, PHY error).
    RxDropMacError,
    /// Good received frames with nowhere to go because a buffer in the
    /// NIC was full (the loopback buffer, or the receive engine's).
    RxDropOverflow,
    /// Demultiplexer decisions, one per frame that passed the frame check:
    /// an exact filter hit, a wildcard hit, or the default queue for one of
    /// the reasons after them.
    DemuxExactHit,
    DemuxWildcardHit,
    DemuxMiss,
    DemuxFragment,
    DemuxTruncated,
    DemuxBadIpv4,
    DemuxBadIpv6,
    DemuxBadL4,
    DemuxBadTags,
    DemuxOverrun,
    /// Frames written into an application's buffer.
    RxDelivered,
    /// Frames steered to a queue that is not enabled.
    RxDropDisabled,
    /// Frames whose queue had no posted buffer.
    RxDropNoBuffer,
    /// Receive descriptors whose buffer left the queue's window.
    RxDropWindow,
    /// Frames longer than the buffer posted for them.
    RxDropTooLong,
    /// Transmit descriptors whose buffer left the queue's window.
    TxDropWindow,
    /// Transmitted frames whose headers broke the queue's template.
    TxDropTemplate,
    /// Transmit descriptors with a length no frame can have.
    TxDropBadLength,
    /// Event words written to host memory.
    EventsSent,
}

impl Counter {
    pub const ALL: [Counter; 27] = [
        Counter::RxFrames,
        Counter::RxBytes,
        Counter::TxFrames,
        Counter::TxBytes,
        Counter::RxDropRunt,
        Counter::RxDropGiant,
        Counter::RxDropMacError,
        Counter::RxDropOverflow,
        Counter::DemuxExactHit,
        Counter::DemuxWildcardHit,
        Counter::DemuxMiss,
        Counter::DemuxFragment,
        Counter::DemuxTruncated,
        Counter::DemuxBadIpv4,
        Counter::DemuxBadIpv6,
        Counter::DemuxBadL4,
        Counter::DemuxBadTags,
        Counter::DemuxOverrun,
        Counter::RxDelivered,
        Counter::RxDropDisabled,
        Counter::RxDropNoBuffer,
        Counter::RxDropWindow,
        Counter::RxDropTooLong,
        Counter::TxDropWindow,
        Counter::TxDropTemplate,
        Counter::TxDropBadLength,
        Counter::EventsSent,
    ];

    pub const fn offset(self) -> u32 {
        COUNTERS + 8 * self as u32
    }

    /// The name used in `stats.json` and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::RxFrames => "rx_frames",
            Counter::RxBytes => "rx_bytes",
            Counter::TxFrames => "tx_frames",
            Counter::TxBytes => "tx_bytes",
            Counter::RxDropRunt => "rx_drop_runt",
            Counter::RxDropGiant => "rx_drop_giant",
            Counter::RxDropMacError => "rx_drop_mac_error",
            Counter::RxDropOverflow => "rx_drop_overflow",
            Counter::DemuxExactHit => "demux_exact_hit",
            Counter::DemuxWildcardHit => "demux_wildcard_hit",
            Counter::DemuxMiss => "demux_miss",
            Counter::DemuxFragment => "demux_fragment",
            Counter::DemuxTruncated => "demux_truncated",
            Counter::DemuxBadIpv4 => "demux_bad_ipv4",
            Counter::DemuxBadIpv6 => "demux_bad_ipv6",
            Counter::DemuxBadL4 => "demux_bad_l4",
            Counter::DemuxBadTags => "demux_bad_tags",
            Counter::DemuxOverrun => "demux_overrun",
            Counter::RxDelivered => "rx_delivered",
            Counter::RxDropDisabled => "rx_drop_disabled",
            Counter::RxDropNoBuffer => "rx_drop_no_buffer",
            Counter::RxDropWindow => "rx_drop_window",
            Counter::RxDropTooLong => "rx_drop_too_long",
            Counter::TxDropWindow => "tx_drop_window",
            Counter::TxDropTemplate => "tx_drop_template",
            Counter::TxDropBadLength => "tx_drop_bad_length",
            Counter::EventsSent => "events_sent",
        }
    }
}

/// How a register behaves, for a BAR that is plain memory rather than
/// logic: the simulated device's shared-memory `resource0`, which the
/// simulator scans for writes and fills with what the NIC would answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The NIC's value; a driver's write changes nothing.
    ReadOnly,
    /// Holds what the driver last wrote (staging words, doorbells,
    /// settings). Only `SHAPE_CMD_READ` changes one from the NIC's side.
    ReadWrite,
    /// A write acts; the register reads 0 once the NIC has taken it, so
    /// a driver that must not overtake a command waits for the 0 (one
    /// read on a real bus).
    Command,
}

/// Every register of the control page with its access, in offset order.
pub fn control_registers() -> Vec<(u32, Access)> {
    let words = |base: u32, n: u32, access: Access| (0..n).map(move |i| (base + 4 * i, access));
    let mut regs: Vec<(u32, Access)> = words(MAGIC, (MIN_FRAME - MAGIC) / 4 + 1, Access::ReadOnly).collect();
    regs.extend([(SCRATCH, Access::ReadWrite), (CONTROL, Access::ReadWrite), (DEFAULT_QUEUE, Access::ReadWrite)]);
    regs.extend(words(COUNTERS, 2 * Counter::ALL.len() as u32, Access::ReadOnly));
    regs.extend(words(FILTER_KEY, (FILTER_VALUE - FILTER_KEY) / 4 + 1, Access::ReadWrite));
    regs.push((FILTER_CMD, Access::Command));
    regs.extend(words(RSS_KEY, RSS_KEY_WORDS, Access::ReadWrite));
    regs.extend(words(QCFG, (QCFG_CMD - QCFG) / 4, Access::ReadWrite));
    regs.extend([(QCFG_CMD, Access::Command), (QCFG_STATUS, Access::ReadOnly)]);
    regs.extend(words(SHAPE, (SHAPE_CMD - SHAPE) / 4, Access::ReadWrite));
    regs.push((SHAPE_CMD, Access::Command));
    regs
}

/// Every register of a queue's user page with its access.
pub const QUEUE_REGISTERS: [(u32, Access); 7] = [
    (UQ_RX_TAIL, Access::ReadWrite),
    (UQ_TX_TAIL, Access::ReadWrite),
    (UQ_EVENT_ARM, Access::Command),
    (UQ_RX_DELIVERED, Access::ReadOnly),
    (UQ_RX_DROPPED, Access::ReadOnly),
    (UQ_TX_SENT, Access::ReadOnly),
    (UQ_TX_REJECTED, Access::ReadOnly),
];

#[cfg(test)]
mod access_tests {
    use super::*;

    #[test]
    fn the_control_page_table_covers_every_register_once_in_order() {
        let regs = control_registers();
        assert!(regs.windows(2).all(|w| w[0].0 < w[1].0), "not in offset order or repeated");
        let at = |o: u32| regs.iter().find(|r| r.0 == o).map(|r| r.1);
        for (offset, _) in id_registers(&crate::NicParams::default()) {
            assert_eq!(at(offset), Some(Access::ReadOnly));
        }
        assert_eq!(at(MIN_FRAME + 4), None, "past the ID words");
        for c in Counter::ALL {
            assert_eq!((at(c.offset()), at(c.offset() + 4)), (Some(Access::ReadOnly), Some(Access::ReadOnly)));
        }
        for o in [FILTER_CMD, QCFG_CMD, SHAPE_CMD] {
            assert_eq!(at(o), Some(Access::Command));
        }
        for o in [SCRATCH, CONTROL, DEFAULT_QUEUE, FILTER_KEY, FILTER_VALUE, RSS_KEY + 36, QCFG, QCFG_CMD - 4, SHAPE, SHAPE_CMD - 4] {
            assert_eq!(at(o), Some(Access::ReadWrite), "0x{o:x}");
        }
        assert_eq!(at(QCFG_STATUS), Some(Access::ReadOnly));
        assert!(regs.iter().all(|r| r.0 < PAGE_BYTES && r.0 % 4 == 0));
    }

    #[test]
    fn a_filter_command_word_is_never_zero() {
        for wildcard in [false, true] {
            for clear in [false, true] {
                assert_ne!(filter_cmd(wildcard, 0, clear), 0);
            }
        }
    }
}
