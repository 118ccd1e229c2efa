//! One direction of the wire between a simulated NIC and its peer: it can
//! lose and reorder frames on purpose (seeded, so a failing case replays),
//! and it watches TCP go by to count retransmissions, which neither
//! smoltcp nor the Linux peer reports to us.

use crate::traffic::Rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the wire does to frames, in frames per thousand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Impairment {
    pub loss_per_mille: u32,
    pub reorder_per_mille: u32,
    pub seed: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LaneStats {
    pub frames: u64,
    pub bytes: u64,
    pub dropped: u64,
    pub reordered: u64,
    /// TCP segments carrying sequence space already sent on this lane.
    pub tcp_retransmits: u64,
}

/// A frame held back to be reordered goes out after the next frame, or
/// after this many `tick`s if none comes.
const HOLD_TICKS: u32 = 4;

pub struct Lane {
    impair: Impairment,
    rng: Rng,
    held: Option<(Vec<u8>, u32)>,
    stats: LaneStats,
    /// Per TCP flow (addresses and ports), the end of the highest sequence
    /// number seen.
    seq_end: BTreeMap<[u8; 12], u32>,
}

impl Lane {
    pub fn new(impair: Impairment) -> Lane {
        Lane { impair, rng: Rng::new(impair.seed ^ 0x6c61_6e65), held: None, stats: LaneStats::default(), seq_end: BTreeMap::new() }
    }

    pub fn stats(&self) -> LaneStats {
        self.stats
    }

    /// Takes a frame onto the wire; returns what comes off it now, in order.
    pub fn pass(&mut self, frame: Vec<u8>) -> Vec<Vec<u8>> {
        self.stats.frames += 1;
        self.stats.bytes += frame.len() as u64;
        self.watch(&frame);
        if self.chance(self.impair.loss_per_mille) {
            self.stats.dropped += 1;
            return vec![];
        }
        if self.held.is_none() && self.chance(self.impair.reorder_per_mille) {
            self.stats.reordered += 1;
            self.held = Some((frame, 0));
            return vec![];
        }
        let mut out = vec![frame];
        out.extend(self.held.take().map(|(f, _)| f));
        out
    }

    /// Time passes with no frame: a held frame goes out in the end.
    pub fn tick(&mut self) -> Option<Vec<u8>> {
        let (_, age) = self.held.as_mut()?;
        *age += 1;
        if *age >= HOLD_TICKS {
            return self.held.take().map(|(f, _)| f);
        }
        None
    }

    pub fn holding(&self) -> bool {
        self.held.is_some()
    }

    fn chance(&mut self, per_mille: u32) -> bool {
        per_mille > 0 && (self.rng.range(0, 1000) as u32) < per_mille
    }

    fn watch(&mut self, f: &[u8]) {
        let Some(seg) = TcpSegment::parse(f) else { return };
        if seg.len == 0 {
            return;
        }
        let end = seg.seq.wrapping_add(seg.len);
        match self.seq_end.get_mut(&seg.flow) {
            Some(high) => {
                // Sequence numbers wrap: compare by signed distance.
                if (seg.seq.wrapping_sub(*high) as i32) < 0 {
                    self.stats.tcp_retransmits += 1;
                }
                if (end.wrapping_sub(*high) as i32) > 0 {
                    *high = end;
                }
            }
            None => {
                self.seq_end.insert(seg.flow, end);
            }
        }
    }
}

/// The fields of an IPv4 TCP segment the watch needs.
struct TcpSegment {
    flow: [u8; 12],
    seq: u32,
    /// Sequence space it takes: payload, plus one for SYN and for FIN.
    len: u32,
}

impl TcpSegment {
    fn parse(f: &[u8]) -> Option<TcpSegment> {
        if f.get(12..14)? != [0x08, 0x00] || *f.get(23)? != 6 {
            return None;
        }
        let ihl = (f[14] & 0x0f) as usize * 4;
        let total = u16::from_be_bytes([f[16], f[17]]) as usize;
        let tcp = 14 + ihl;
        let data_off = (*f.get(tcp + 12)? >> 4) as usize * 4;
        let flags = *f.get(tcp + 13)?;
        let payload = total.checked_sub(ihl + data_off)?;
        let mut flow = [0; 12];
        flow[..8].copy_from_slice(f.get(26..34)?);
        flow[8..].copy_from_slice(f.get(tcp..tcp + 4)?);
        let seq = u32::from_be_bytes(f.get(tcp + 4..tcp + 8)?.try_into().ok()?);
        let len = payload as u32 + (flags & 0x02 != 0) as u32 + (flags & 0x01 != 0) as u32;
        Some(TcpSegment { flow, seq, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(seq: u32, payload: usize, flags: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20 + payload];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&((40 + payload) as u16).to_be_bytes());
        f[23] = 6;
        f[26..34].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f[34..38].copy_from_slice(&[0x13, 0x89, 0x1b, 0x59]);
        f[38..42].copy_from_slice(&seq.to_be_bytes());
        f[46] = 0x50;
        f[47] = flags;
        f
    }

    #[test]
    fn a_segment_sent_again_is_counted_once_and_a_pure_ack_never() {
        let mut lane = Lane::new(Impairment::default());
        lane.pass(segment(u32::MAX - 99, 0, 0x02));
        lane.pass(segment(u32::MAX - 98, 100, 0x10));
        lane.pass(segment(1, 100, 0x10)); // across the wrap
        lane.pass(segment(1, 0, 0x10)); // a pure ACK takes no sequence space
        lane.pass(segment(u32::MAX - 98, 100, 0x10));
        assert_eq!(lane.stats().tcp_retransmits, 1);
        assert_eq!(lane.stats().frames, 5);
    }

    #[test]
    fn loss_and_reordering_follow_the_rates_and_lose_nothing_else() {
        let mut lane = Lane::new(Impairment { loss_per_mille: 100, reorder_per_mille: 100, seed: 7 });
        let mut out = vec![];
        for i in 0..10_000u32 {
            out.extend(lane.pass(i.to_be_bytes().to_vec()));
        }
        while lane.holding() {
            out.extend(lane.tick());
        }
        let s = lane.stats();
        assert!((800..1200).contains(&s.dropped), "{s:?}");
        assert!((700..1100).contains(&s.reordered), "{s:?}");
        assert_eq!(out.len() as u64, 10_000 - s.dropped);
        let ids: Vec<u32> = out.iter().map(|f| u32::from_be_bytes(f[..4].try_into().unwrap())).collect();
        // Each held frame comes out after the next one, except one held at
        // the very end, which `tick` lets out last.
        let swapped = ids.windows(2).filter(|w| w[0] > w[1]).count() as u64;
        assert!(swapped == s.reordered || swapped + 1 == s.reordered, "{swapped} swaps for {s:?}");
    }
}
