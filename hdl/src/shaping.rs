//! The transmit shaper's contract: units, register words and the exact
//! arithmetic the gateware's shaper and the model's both follow.
//!
//! Each transmit queue has two token buckets in the style of Linux HTB: a
//! guaranteed rate and a ceiling rate, each with a burst (the bucket's
//! depth), and a weight for sharing spare bandwidth.
//!
//! - Units. Rates count wire bytes, [`wire_bytes`] of a frame (padding,
//!   FCS, preamble and inter-frame gap included), so a ceiling of line rate
//!   is exactly the link. A rate is wire bytes per core cycle in units of
//!   2^-[`RATE_FRAC_BITS`]: [`LINE_RATE`] is one byte per cycle (1 Gb/s at
//!   125 MHz) and one unit is about 60 b/s, 0.006% of 1 Mb/s.
//! - Tokens are kept in the same units. Every update first refills a bucket
//!   by `rate * elapsed cycles` and caps it at `burst << RATE_FRAC_BITS`.
//! - Admission. A bucket is "ok" when it holds at least [`ADMIT_BYTES`], the
//!   wire bytes of the longest frame. A turn is taken before the frame's
//!   length is known (it is in the descriptor, read after the turn), so the
//!   turn charges [`ADMIT_BYTES`] at once and the descriptor stage refunds
//!   `ADMIT_BYTES - wire_bytes(len)` (all of it for a descriptor that is
//!   rejected unread). A bucket therefore never goes below zero by what has
//!   actually been sent, and a queue never sends more than `burst + rate * t`
//!   wire bytes in any interval `t`.
//! - Classes. A queue is green when both buckets are ok, yellow when only
//!   the ceiling is. Green queues are served first, round robin; they are
//!   charged on both buckets. When no green queue has work, yellow ones
//!   share the link by deficit round robin: each visit adds the queue's
//!   [`quantum`] to its deficit, the queue is served while its deficit is
//!   not negative, and only its ceiling and deficit are charged (as in HTB,
//!   borrowed bandwidth does not use up the guarantee). The deficit is
//!   charged and refunded like the buckets, and refunds are not capped, so
//!   the credit a queue leaves with carries to its next visit and shares
//!   are exact in bytes; a visit caps the deficit at
//!   [`DEFICIT_CAP_QUANTA`] quanta and an admission, which bounds what a
//!   queue that went quiet can save up.
//! - A zero guaranteed rate means no guarantee (the bucket stays empty); a
//!   zero ceiling rate means no ceiling (always ok). A zero weight counts
//!   as 1. All-zero settings, the reset state, are an unshaped queue.

/// Fraction bits of rates and tokens.
pub const RATE_FRAC_BITS: u32 = 24;
/// One wire byte per cycle.
pub const LINE_RATE: u32 = 1 << RATE_FRAC_BITS;
/// Width of a rate in the gateware: up to 16 bytes per cycle, room for a
/// 10 Gb/s port's 8-byte datapath.
pub const RATE_BITS: u32 = 28;
/// Width of a burst in bytes (up to 4 MiB - 1).
pub const BURST_BITS: u32 = 22;
pub const MAX_BURST_BYTES: u32 = (1 << BURST_BITS) - 1;
/// Wire bytes of the longest frame: 1522 bytes plus FCS, preamble and gap.
pub const ADMIT_BYTES: u32 = 1522 + WIRE_OVERHEAD_BYTES;
/// A bucket must hold a frame's admission with room to spare, or tokens
/// arriving while a queue waits its turn would spill over the cap.
pub const MIN_BURST_BYTES: u32 = 2 * ADMIT_BYTES;
/// Deficit added per visit for each unit of weight; more than
/// [`ADMIT_BYTES`], so one visit always lets a queue send.
pub const QUANTUM_BYTES: u32 = 2048;
pub const WEIGHT_MAX: u32 = 255;
/// A visit caps the deficit at this many quanta (plus an admission). A
/// queue of minimum frames takes a turn for each admission it holds, so it
/// must be able to carry about `ADMIT_BYTES / wire_bytes(60)` quanta of
/// credit for its turns to add up to its share in bytes.
pub const DEFICIT_CAP_QUANTA: u32 = 20;
/// FCS, preamble with start delimiter, and the minimum inter-frame gap.
pub const WIRE_OVERHEAD_BYTES: u32 = 4 + 8 + 12;
/// Frames shorter than this (without FCS) are padded on the wire.
pub const MIN_WIRE_PAYLOAD: u32 = 60;

/// Staging words of `regmap::SHAPE`.
pub const SHAPE_WORDS: usize = 5;

/// Wire bytes a frame of `len` bytes (without FCS) takes: 84 for a
/// minimum frame.
pub const fn wire_bytes(len: u32) -> u32 {
    let l = if len < MIN_WIRE_PAYLOAD { MIN_WIRE_PAYLOAD } else { len };
    l + WIRE_OVERHEAD_BYTES
}

/// Deficit round robin's quantum for a weight.
pub const fn quantum(weight: u8) -> u32 {
    let w = if weight == 0 { 1 } else { weight as u32 };
    w * QUANTUM_BYTES
}

/// One queue's shaping as the registers hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ShapeSettings {
    /// Guaranteed rate (0: none), in 2^-24 wire bytes per cycle.
    pub g_rate: u32,
    /// Guaranteed bucket depth in bytes.
    pub g_burst: u32,
    /// Ceiling rate (0: none).
    pub c_rate: u32,
    pub c_burst: u32,
    pub weight: u8,
}

impl ShapeSettings {
    /// The staging words, in `regmap::SHAPE` order.
    pub fn words(&self) -> [u32; SHAPE_WORDS] {
        [self.g_rate, self.g_burst, self.c_rate, self.c_burst, self.weight as u32]
    }

    /// What the gateware keeps of the staging words.
    pub fn from_words(w: &[u32; SHAPE_WORDS]) -> ShapeSettings {
        let rate = |v: u32| v & ((1 << RATE_BITS) - 1);
        ShapeSettings {
            g_rate: rate(w[0]),
            g_burst: w[1] & MAX_BURST_BYTES,
            c_rate: rate(w[2]),
            c_burst: w[3] & MAX_BURST_BYTES,
            weight: w[4] as u8,
        }
    }
}

/// Rate units for `bits_per_s` at `clock_hz`, rounded to nearest.
pub fn rate_from_bps(bits_per_s: u64, clock_hz: u32) -> u64 {
    let den = 8 * clock_hz as u128;
    (((bits_per_s as u128) << RATE_FRAC_BITS) + den / 2).div_euclid(den) as u64
}

/// Bits per second of `rate` units at `clock_hz`.
pub fn bps_from_rate(rate: u32, clock_hz: u32) -> f64 {
    rate as f64 * 8.0 * clock_hz as f64 / LINE_RATE as f64
}

/// One bucket's arithmetic, exactly as the gateware does it: tokens in
/// 2^-24 bytes, refilled by `rate * elapsed` and capped at the burst.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    pub tokens: i64,
}

impl Bucket {
    pub fn refill(&mut self, rate: u32, burst: u32, elapsed: u64) {
        let cap = (burst as i64) << RATE_FRAC_BITS;
        let add = (rate as i64).saturating_mul(elapsed.min(1 << 24) as i64);
        self.tokens = self.tokens.saturating_add(add).min(cap);
    }

    pub fn charge(&mut self, bytes: u32) {
        self.tokens -= (bytes as i64) << RATE_FRAC_BITS;
    }

    pub fn refund(&mut self, bytes: u32, burst: u32) {
        self.tokens = (self.tokens + ((bytes as i64) << RATE_FRAC_BITS)).min((burst as i64) << RATE_FRAC_BITS);
    }

    pub fn ok(&self) -> bool {
        self.tokens >= (ADMIT_BYTES as i64) << RATE_FRAC_BITS
    }

    /// Cycles until the bucket is ok at `rate` (None if it never will be).
    pub fn cycles_until_ok(&self, rate: u32) -> Option<u64> {
        let need = ((ADMIT_BYTES as i64) << RATE_FRAC_BITS) - self.tokens;
        if need <= 0 {
            Some(0)
        } else if rate == 0 {
            None
        } else {
            Some((need as u64).div_ceil(rate as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(wire_bytes(14), 84);
        assert_eq!(wire_bytes(1514), 1538);
        assert_eq!(rate_from_bps(1_000_000_000, 125_000_000), LINE_RATE as u64);
        // 1 Mb/s is 16777 units: a step is 0.006% of it.
        assert_eq!(rate_from_bps(1_000_000, 125_000_000), 16777);
        let back = bps_from_rate(16777, 125_000_000);
        assert!((back - 1e6).abs() / 1e6 < 1e-4, "{back}");
        assert_eq!(quantum(0), QUANTUM_BYTES);
        const { assert!(QUANTUM_BYTES > ADMIT_BYTES) };
        assert!(DEFICIT_CAP_QUANTA > ADMIT_BYTES / wire_bytes(60));
    }

    #[test]
    fn words_round_trip() {
        let s = ShapeSettings { g_rate: 123_456, g_burst: 5000, c_rate: LINE_RATE, c_burst: 9000, weight: 7 };
        assert_eq!(ShapeSettings::from_words(&s.words()), s);
        let cut = ShapeSettings::from_words(&[u32::MAX; SHAPE_WORDS]);
        assert_eq!(cut.g_rate, (1 << RATE_BITS) - 1);
        assert_eq!(cut.c_burst, MAX_BURST_BYTES);
    }

    #[test]
    fn bucket_caps_and_admits() {
        let mut b = Bucket::default();
        b.refill(LINE_RATE, 4000, 10_000);
        assert_eq!(b.tokens, 4000 << RATE_FRAC_BITS);
        assert!(b.ok());
        b.charge(ADMIT_BYTES);
        b.refund(ADMIT_BYTES - 84, 4000);
        assert_eq!(b.tokens, (4000 - 84) << RATE_FRAC_BITS);
        b.charge(4000);
        assert_eq!(b.cycles_until_ok(LINE_RATE), Some(84 + ADMIT_BYTES as u64));
        assert_eq!(b.cycles_until_ok(0), None);
    }
}
