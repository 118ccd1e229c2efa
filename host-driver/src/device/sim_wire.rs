//! Messages on the simulated device's wire socket (`sim/wire`). The port
//! carries frames both ways, as a cable does, and, because this is a
//! simulation, two things a cable does not: the demultiplexer's decision
//! for every received frame (what the `rtl` backend reads off the NIC's
//! pins, so the model can be checked against the out-of-process RTL too),
//! and a request to run until the NIC is quiet, so a driver can wait for
//! traffic to have been taken in without guessing how long that is.
//!
//! Every message starts with its kind; integers are little-endian.

use arsenic_testbench::RawDecision;

/// Client to device: `[FRAME][flags][frame…]`, flags `FCS_ERROR`.
/// Device to client: `[FRAME][flags][cycle u64][frame…]`.
pub const FRAME: u8 = 0;
/// Device to client: `[DECISION][cycle u64][reason][kind][queue u16][filter u16][rss u32]`.
pub const DECISION: u8 = 1;
/// Client to device: `[DRAIN][limit u64]`: run until quiet or `limit`
/// cycles pass. Device to client: `[DRAIN][quiet][cycle u64][taken u64]`,
/// sent after every frame and decision before it.
pub const DRAIN: u8 = 2;

pub const FCS_ERROR: u8 = 1 << 0;
/// On a transmitted frame: the NIC flagged it bad (a MAC aborts it).
pub const ABORTED: u8 = 1 << 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToDevice {
    Frame { data: Vec<u8>, fcs_error: bool },
    Drain { limit: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FromDevice {
    Frame { cycle: u64, data: Vec<u8>, aborted: bool },
    Decision(RawDecision),
    Drained { quiet: bool, cycle: u64, taken: u64 },
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl ToDevice {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ToDevice::Frame { data, fcs_error } => {
                let mut m = vec![FRAME, if *fcs_error { FCS_ERROR } else { 0 }];
                m.extend_from_slice(data);
                m
            }
            ToDevice::Drain { limit } => {
                let mut m = vec![DRAIN];
                m.extend_from_slice(&limit.to_le_bytes());
                m
            }
        }
    }

    /// None for a message that is not one: the device counts and drops it.
    pub fn decode(m: &[u8]) -> Option<ToDevice> {
        match *m.first()? {
            FRAME if m.len() > 2 => Some(ToDevice::Frame { data: m[2..].to_vec(), fcs_error: m[1] & FCS_ERROR != 0 }),
            DRAIN if m.len() == 9 => Some(ToDevice::Drain { limit: u64_at(m, 1)? }),
            _ => None,
        }
    }
}

impl FromDevice {
    pub fn encode(&self) -> Vec<u8> {
        let mut m = Vec::new();
        match self {
            FromDevice::Frame { cycle, data, aborted } => {
                m.extend_from_slice(&[FRAME, if *aborted { ABORTED } else { 0 }]);
                m.extend_from_slice(&cycle.to_le_bytes());
                m.extend_from_slice(data);
            }
            FromDevice::Decision(d) => {
                m.push(DECISION);
                m.extend_from_slice(&d.cycle.to_le_bytes());
                m.extend_from_slice(&[d.reason, d.kind]);
                m.extend_from_slice(&d.queue.to_le_bytes());
                m.extend_from_slice(&d.filter_id.to_le_bytes());
                m.extend_from_slice(&d.rss.to_le_bytes());
            }
            FromDevice::Drained { quiet, cycle, taken } => {
                m.extend_from_slice(&[DRAIN, u8::from(*quiet)]);
                m.extend_from_slice(&cycle.to_le_bytes());
                m.extend_from_slice(&taken.to_le_bytes());
            }
        }
        m
    }

    pub fn decode(m: &[u8]) -> Option<FromDevice> {
        match *m.first()? {
            FRAME if m.len() > 10 => {
                Some(FromDevice::Frame { cycle: u64_at(m, 2)?, data: m[10..].to_vec(), aborted: m[1] & ABORTED != 0 })
            }
            DECISION if m.len() == 19 => Some(FromDevice::Decision(RawDecision {
                cycle: u64_at(m, 1)?,
                reason: m[9],
                kind: m[10],
                queue: u16::from_le_bytes([m[11], m[12]]),
                filter_id: u16::from_le_bytes([m[13], m[14]]),
                rss: u32::from_le_bytes(m[15..19].try_into().ok()?),
            })),
            DRAIN if m.len() == 18 => Some(FromDevice::Drained { quiet: m[1] != 0, cycle: u64_at(m, 2)?, taken: u64_at(m, 10)? }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let to = [ToDevice::Frame { data: vec![1, 2, 3], fcs_error: true }, ToDevice::Drain { limit: 1 << 40 }];
        for m in to {
            assert_eq!(ToDevice::decode(&m.encode()), Some(m));
        }
        let d = RawDecision { cycle: 77, reason: 3, queue: 513, kind: 2, filter_id: 9, rss: 0xDEAD_BEEF };
        let from = [
            FromDevice::Frame { cycle: 5, data: vec![9; 60], aborted: true },
            FromDevice::Decision(d),
            FromDevice::Drained { quiet: true, cycle: 1 << 33, taken: 12 },
        ];
        for m in from {
            assert_eq!(FromDevice::decode(&m.encode()), Some(m));
        }
    }

    #[test]
    fn malformed_messages_decode_to_nothing() {
        for bad in [&[][..], &[FRAME], &[FRAME, 0], &[DRAIN, 1, 2], &[9, 9, 9]] {
            assert_eq!(ToDevice::decode(bad), None, "{bad:?}");
        }
        for bad in [&[][..], &[FRAME, 0, 1], &[DECISION, 0, 0], &[DRAIN; 17], &[7; 30]] {
            assert_eq!(FromDevice::decode(bad), None, "{bad:?}");
        }
    }
}
