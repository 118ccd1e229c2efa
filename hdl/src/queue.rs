//! The descriptor engine's contract with the host: ring and descriptor
//! formats, completion and event words, status codes, and the per-queue
//! configuration the privileged side writes. The gateware and the host
//! driver both take every layout from here.
//!
//! A queue pair has a transmit ring and a receive ring in host memory, each
//! `2^log2` descriptors of 16 bytes. The host owns the producer index (its
//! "tail", a free-running 16-bit count of descriptors posted, written to the
//! queue's user page); the NIC owns the consumer index. When the NIC is done
//! with a descriptor it writes the descriptor's second word back with `done`
//! set, in ring order per queue, so the host polls one word per descriptor,
//! the way ixgbe's write-back descriptors work.

/// Bytes per descriptor in a ring.
pub const DESC_BYTES: u64 = 16;
/// Offset of the word the NIC writes back.
pub const DESC_WRITEBACK_OFFSET: u64 = 8;
/// Ring sizes the generator allows, as log2 of the descriptor count.
pub const RING_LOG2_MIN: u32 = 3;
pub const RING_LOG2_MAX: u32 = 12;

/// Status of a finished descriptor (write-back bits 28..31).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Ok = 0,
    /// The buffer was not wholly inside the queue's DMA window; no DMA was
    /// issued for it (receive: the frame was dropped).
    Window = 1,
    /// Receive: the frame was longer than the buffer; dropped.
    TooLong = 2,
    /// Transmit: length below the minimum or above the maximum frame.
    BadLength = 3,
    /// Transmit: a header did not match the queue's template; not sent.
    Template = 4,
}

impl Status {
    pub fn from_code(code: u8) -> Option<Status> {
        [Status::Ok, Status::Window, Status::TooLong, Status::BadLength, Status::Template]
            .into_iter()
            .find(|s| *s as u8 == code)
    }
}

/// The second descriptor word as the host posts it: the buffer length
/// (receive) or the frame length (transmit), `done` clear.
pub const fn post_word(len: u16) -> u64 {
    len as u64
}

pub const WB_DONE: u64 = 1 << 63;

/// The second descriptor word as the NIC writes it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct WriteBack {
    /// Bytes delivered (receive) or the frame's length (transmit).
    pub len: u16,
    pub queue: u16,
    pub status: u8,
    /// Receive only: the matching filter's id, its kind and the demux reason.
    pub filter_id: u16,
    pub reason: u8,
    pub kind: u8,
}

impl WriteBack {
    pub const fn encode(&self) -> u64 {
        (self.len as u64)
            | ((self.queue as u64 & 0xFFF) << 16)
            | ((self.status as u64 & 0xF) << 28)
            | ((self.filter_id as u64) << 32)
            | ((self.reason as u64 & 0xF) << 48)
            | ((self.kind as u64 & 0x7) << 52)
            | WB_DONE
    }

    /// `None` while the NIC has not finished the descriptor.
    pub const fn decode(word: u64) -> Option<WriteBack> {
        if word & WB_DONE == 0 {
            return None;
        }
        Some(WriteBack {
            len: word as u16,
            queue: ((word >> 16) & 0xFFF) as u16,
            status: ((word >> 28) & 0xF) as u8,
            filter_id: (word >> 32) as u16,
            reason: ((word >> 48) & 0xF) as u8,
            kind: ((word >> 52) & 0x7) as u8,
        })
    }
}

/// The 8-byte word the NIC writes to a queue's event address when an event
/// fires: how many receive and transmit descriptors it has finished (each a
/// free-running 16-bit count), the queue, and the event's sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct EventWord {
    pub rx_done: u16,
    pub tx_done: u16,
    pub queue: u16,
    pub seq: u16,
}

impl EventWord {
    pub const fn encode(&self) -> u64 {
        (self.rx_done as u64)
            | ((self.tx_done as u64) << 16)
            | ((self.queue as u64 & 0xFFF) << 32)
            | ((self.seq as u64) << 48)
    }

    pub const fn decode(word: u64) -> EventWord {
        EventWord {
            rx_done: word as u16,
            tx_done: (word >> 16) as u16,
            queue: ((word >> 32) & 0xFFF) as u16,
            seq: (word >> 48) as u16,
        }
    }
}

/// Event moderation time is counted in ticks of this many core cycles
/// (1.024 us at 125 MHz).
pub const EVENT_TICK_CYCLES: u64 = 128;

/// What the privileged side sets for one queue; written through the
/// control page (`regmap::QCFG_*`) and committed whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct QueueSettings {
    pub enable: bool,
    /// No window or template checks: for the kernel's default queue.
    pub unrestricted: bool,
    pub rx_ring: u64,
    pub rx_log2: u8,
    pub tx_ring: u64,
    pub tx_log2: u8,
    /// Buffers must lie wholly inside `[window_base, window_limit)`.
    pub window_base: u64,
    pub window_limit: u64,
    /// 0: no events.
    pub event_addr: u64,
    /// Fire after this many finished descriptors (0 counts as 1)...
    pub event_count: u8,
    /// ...or this many ticks after the first unreported one (0: no timer).
    pub event_ticks: u16,
    pub template: Template,
}

/// The headers a queue may send with; each check is off unless set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Template {
    pub src_mac: Option<[u8; 6]>,
    /// The first VLAN tag's ID must be this (untagged frames fail).
    pub vlan: Option<u16>,
    /// The source address must be this; the frame must be IP of its family.
    pub src_ip: Option<std::net::IpAddr>,
    /// The frame must be unfragmented TCP or UDP from this source port.
    pub src_port: Option<u16>,
}

/// Flag bits of `regmap::QCFG_FLAGS`.
pub const FLAG_ENABLE: u32 = 1 << 0;
pub const FLAG_UNRESTRICTED: u32 = 1 << 1;
pub const FLAG_CHECK_MAC: u32 = 1 << 4;
pub const FLAG_CHECK_VLAN: u32 = 1 << 5;
pub const FLAG_CHECK_IP: u32 = 1 << 6;
pub const FLAG_IP_V6: u32 = 1 << 7;
pub const FLAG_CHECK_PORT: u32 = 1 << 8;

/// Number of 32-bit staging words, from `regmap::QCFG`.
pub const QCFG_WORDS: usize = 21;

impl QueueSettings {
    /// The staging words, in `regmap::QCFG` order.
    pub fn words(&self) -> [u32; QCFG_WORDS] {
        let t = &self.template;
        let mut flags = 0;
        if self.enable {
            flags |= FLAG_ENABLE;
        }
        if self.unrestricted {
            flags |= FLAG_UNRESTRICTED;
        }
        let mac = t.src_mac.map_or(0u64, |m| m.iter().fold(0u64, |a, &b| a << 8 | b as u64));
        if t.src_mac.is_some() {
            flags |= FLAG_CHECK_MAC;
        }
        if t.vlan.is_some() {
            flags |= FLAG_CHECK_VLAN;
        }
        let ip: u128 = match t.src_ip {
            None => 0,
            Some(std::net::IpAddr::V4(a)) => u32::from(a) as u128,
            Some(std::net::IpAddr::V6(a)) => u128::from(a),
        };
        if let Some(a) = t.src_ip {
            flags |= FLAG_CHECK_IP;
            if a.is_ipv6() {
                flags |= FLAG_IP_V6;
            }
        }
        if t.src_port.is_some() {
            flags |= FLAG_CHECK_PORT;
        }
        let lo = |v: u64| v as u32;
        let hi = |v: u64| (v >> 32) as u32;
        [
            lo(self.rx_ring),
            hi(self.rx_ring),
            lo(self.tx_ring),
            hi(self.tx_ring),
            (self.rx_log2 as u32 & 0xF) | ((self.tx_log2 as u32 & 0xF) << 8),
            lo(self.window_base),
            hi(self.window_base),
            lo(self.window_limit),
            hi(self.window_limit),
            lo(self.event_addr),
            hi(self.event_addr),
            (self.event_count as u32) | ((self.event_ticks as u32) << 16),
            flags,
            mac as u32,
            (mac >> 32) as u32,
            t.vlan.unwrap_or(0) as u32 & 0xFFF,
            ip as u32,
            (ip >> 32) as u32,
            (ip >> 64) as u32,
            (ip >> 96) as u32,
            t.src_port.unwrap_or(0) as u32,
        ]
    }

    /// Whether `[addr, addr + len)` lies wholly inside the window; what
    /// the gateware checks for every buffer unless the queue is
    /// unrestricted.
    pub fn in_window(&self, addr: u64, len: u64) -> bool {
        self.unrestricted
            || (addr >= self.window_base
                && (addr as u128 + len as u128) <= self.window_limit as u128)
    }
}
