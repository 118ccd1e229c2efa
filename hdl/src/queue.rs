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

impl Template {
    /// Whether a queue with this template may send `frame`: the exact rules
    /// the transmit engine's template check applies, byte offset by byte
    /// offset. Up to two VLAN tags (0x8100, 0x88A8) are skipped, the first
    /// one's ID is the frame's VLAN; IPv4 options are skipped by IHL; IPv6
    /// extension headers are not walked, so a port check fails on them. A
    /// field that lies past the frame's end fails its check.
    pub fn allows(&self, frame: &[u8]) -> bool {
        let b = |i: usize| frame.get(i).copied();
        let be16 = |i: usize| Some(u16::from_be_bytes([b(i)?, b(i + 1)?]));
        if let Some(mac) = self.src_mac {
            if frame.get(6..12) != Some(&mac[..]) {
                return false;
            }
        }
        let mut tags = 0;
        let mut first_vid = None;
        let mut ty = be16(12);
        while tags < 2 && matches!(ty, Some(0x8100) | Some(0x88A8)) {
            if tags == 0 {
                first_vid = be16(14).map(|t| t & 0xFFF);
            }
            tags += 1;
            ty = be16(12 + 4 * tags);
        }
        if let Some(vlan) = self.vlan {
            if first_vid != Some(vlan) {
                return false;
            }
        }
        let l3 = 14 + 4 * tags;
        let v4 = ty == Some(0x0800) && b(l3).map(|v| v >> 4) == Some(4);
        let v6 = ty == Some(0x86DD) && b(l3).map(|v| v >> 4) == Some(6);
        if let Some(ip) = self.src_ip {
            let ok = match ip {
                std::net::IpAddr::V4(a) => v4 && frame.get(l3 + 12..l3 + 16) == Some(&a.octets()[..]),
                std::net::IpAddr::V6(a) => v6 && frame.get(l3 + 8..l3 + 24) == Some(&a.octets()[..]),
            };
            if !ok {
                return false;
            }
        }
        if let Some(port) = self.src_port {
            let l4 = if v4 {
                let ihl = (b(l3).unwrap_or(0) & 0xF) as usize;
                let later_fragment = be16(l3 + 6).is_none_or(|f| f & 0x1FFF != 0);
                matches!(b(l3 + 9), Some(6) | Some(17)).then_some(()).filter(|_| !later_fragment).map(|_| l3 + 4 * ihl)
            } else if v6 {
                matches!(b(l3 + 6), Some(6) | Some(17)).then_some(l3 + 40)
            } else {
                None
            };
            if l4.and_then(be16) != Some(port) {
                return false;
            }
        }
        true
    }
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

    /// The settings the staging words describe: what the gateware takes
    /// from them at a commit (bits it does not keep are dropped).
    pub fn from_words(w: &[u32; QCFG_WORDS]) -> QueueSettings {
        let q = |lo: u32, hi: u32| (hi as u64) << 32 | lo as u64;
        let flags = w[12];
        let on = |f: u32| flags & f != 0;
        let mac = q(w[13], w[14] & 0xFFFF);
        let ip = (w[19] as u128) << 96 | (w[18] as u128) << 64 | (w[17] as u128) << 32 | w[16] as u128;
        QueueSettings {
            enable: on(FLAG_ENABLE),
            unrestricted: on(FLAG_UNRESTRICTED),
            rx_ring: q(w[0], w[1]),
            rx_log2: (w[4] & 0xF) as u8,
            tx_ring: q(w[2], w[3]),
            tx_log2: ((w[4] >> 8) & 0xF) as u8,
            window_base: q(w[5], w[6]),
            window_limit: q(w[7], w[8]),
            event_addr: q(w[9], w[10]),
            event_count: w[11] as u8,
            event_ticks: (w[11] >> 16) as u16,
            template: Template {
                src_mac: on(FLAG_CHECK_MAC).then(|| std::array::from_fn(|i| (mac >> (40 - 8 * i)) as u8)),
                vlan: on(FLAG_CHECK_VLAN).then_some((w[15] & 0xFFF) as u16),
                src_ip: on(FLAG_CHECK_IP).then(|| {
                    if on(FLAG_IP_V6) {
                        std::net::IpAddr::V6(ip.into())
                    } else {
                        std::net::IpAddr::V4((ip as u32).into())
                    }
                }),
                src_port: on(FLAG_CHECK_PORT).then_some(w[20] as u16),
            },
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_the_staging_words() {
        let s = QueueSettings {
            enable: true,
            unrestricted: false,
            rx_ring: 0x10_0000_1000,
            rx_log2: 12,
            tx_ring: 0xFFFF_FFFF_0000_0000,
            tx_log2: 3,
            window_base: 1,
            window_limit: u64::MAX,
            event_addr: 0x8,
            event_count: 255,
            event_ticks: 65535,
            template: Template {
                src_mac: Some([0xFE, 1, 2, 3, 4, 0x99]),
                vlan: Some(4095),
                src_ip: Some("10.1.2.3".parse().unwrap()),
                src_port: Some(1),
            },
        };
        assert_eq!(QueueSettings::from_words(&s.words()), s);
        let v6 = QueueSettings { template: Template { src_ip: Some("fe80::1".parse().unwrap()), ..Default::default() }, ..s };
        assert_eq!(QueueSettings::from_words(&v6.words()), v6);
        assert_eq!(QueueSettings::from_words(&QueueSettings::default().words()), QueueSettings::default());
    }

    #[test]
    fn write_backs_and_event_words_round_trip() {
        let wb = WriteBack { len: 1514, queue: 4095, status: Status::Template as u8, filter_id: 0xBEEF, reason: 7, kind: 5 };
        assert_eq!(WriteBack::decode(wb.encode()), Some(wb));
        assert_eq!(WriteBack::decode(post_word(2048)), None, "a posted descriptor is not done");
        let e = EventWord { rx_done: 65535, tx_done: 1, queue: 63, seq: 9 };
        assert_eq!(EventWord::decode(e.encode()), e);
        assert_eq!(Status::from_code(4), Some(Status::Template));
        assert_eq!(Status::from_code(5), None);
    }

    #[test]
    fn the_window_check_does_not_wrap() {
        let s = QueueSettings { window_base: 0x1000, window_limit: 0x3000, ..Default::default() };
        assert!(s.in_window(0x1000, 0x2000));
        assert!(!s.in_window(0x1000, 0x2001));
        assert!(!s.in_window(0xFFF, 2));
        assert!(!s.in_window(u64::MAX - 4, 16), "an address range wrapping past 2^64 is outside");
        assert!(QueueSettings { unrestricted: true, ..s }.in_window(0, u64::MAX));
    }
}
