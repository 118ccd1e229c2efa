//! The flow demultiplexer: parses each checked frame as it streams past,
//! then looks its flow up in the filter tables, most specific kind first,
//! and reports one decision per frame: the queue, why, and which filter.
//!
//! The lookups run while the next frame arrives. Every stage is pipelined
//! for 125 MHz (the parser's report and the tables' results are registered,
//! each key is formed a cycle before its lookup starts, a hit's queue takes
//! two more cycles), so a lookup costs 7 cycles per kind that applies and
//! 1 per kind that does not: a miss through all seven kinds is decided 54
//! cycles after the frame's last byte, inside the 84 byte-times of a
//! minimum frame at 1 Gb/s. A frame shorter than that (a runt, or a short frame as
//! a capture holds it) can end while the previous lookup still runs; it
//! waits in a one-frame slot. Only if the slot is taken too does a frame go
//! to the default queue counted as an overrun, after the decisions of the
//! frames before it, which a 1 Gb/s wire cannot make happen.

use super::{FilterTable, HeaderParser};
use crate::filter::KEY_BITS;
use crate::ports::{FilterWriteSink, ParsedFrame};
use crate::params::{NicParams, DATA_BITS, EXACT_BUCKET_BITS, QUEUE_BITS, WILDCARD_BUCKET_BITS};
use rust_hdl::prelude::*;

/// The decision port: one pulse of `valid` per frame that left the frame
/// check, in frame order.
#[derive(LogicInterface, Default)]
#[join = "DecisionIn"]
pub struct DecisionOut {
    pub valid: Signal<Out, Bit>,
    /// A `filter::Reason` code.
    pub reason: Signal<Out, Bits<4>>,
    pub queue: Signal<Out, Bits<QUEUE_BITS>>,
    /// The matching filter's kind (`filter::FilterKind`), 0 if none.
    pub kind: Signal<Out, Bits<3>>,
    pub filter_id: Signal<Out, Bits<16>>,
    pub rss: Signal<Out, Bits<32>>,
}

/// The receiving end of [`DecisionOut`] (the receive engine's).
#[derive(LogicInterface, Default)]
#[join = "DecisionOut"]
pub struct DecisionIn {
    pub valid: Signal<In, Bit>,
    pub reason: Signal<In, Bits<4>>,
    pub queue: Signal<In, Bits<QUEUE_BITS>>,
    pub kind: Signal<In, Bits<3>>,
    pub filter_id: Signal<In, Bits<16>>,
    pub rss: Signal<In, Bits<32>>,
}

// Reason codes and key positions are literals in the kernel (rust-hdl can
// not name a Rust constant in Verilog); these pin them to filter.rs.
const _: () = {
    use crate::filter::*;
    assert!(Reason::Hit as u8 == 0 && Reason::Miss as u8 == 1 && Reason::Overrun as u8 == 9);
    assert!(Reason::FrameError as u8 == 8);
    assert!(DPORT_LSB == 0 && SPORT_LSB == 16 && DST_LSB == 32 && SRC_LSB == 160);
    assert!(PROTO_LSB == 288 && V6_BIT == 296 && KIND_LSB == 297 && VALUE_LSB == 320);
    assert!(FilterKind::Exact5 as u8 == 1 && FilterKind::Mac as u8 == 7);
};

/// Counter pulses, one bit each, in `regmap::Counter` order from DemuxExactHit.
pub const DEMUX_COUNTERS: usize = 10;

#[derive(LogicBlock)]
pub struct FlowDemux {
    pub clock: Signal<In, Clock>,
    /// The checked receive stream (observed, never stalled).
    pub data: Signal<In, Bits<DATA_BITS>>,
    pub valid: Signal<In, Bit>,
    pub last: Signal<In, Bit>,
    pub error: Signal<In, Bit>,
    pub default_queue: Signal<In, Bits<QUEUE_BITS>>,
    pub rss_key: Signal<In, Bits<320>>,
    /// Filter table writes, from the control page.
    pub filter: FilterWriteSink,
    pub decision: DecisionOut,
    /// Bit i pulses to count `regmap::Counter::DemuxExactHit` + i.
    pub counts: Signal<Out, Bits<DEMUX_COUNTERS>>,

    parser: HeaderParser,
    /// Both filter tables, in one set of RAMs (the upper half wildcard).
    filters: FilterTable<{ EXACT_BUCKET_BITS + 1 }>,
    queues: Constant<Bits<13>>,
    busy: DFF<Bit>,
    /// While busy: 0 issuing `kind`'s lookup (or skipping it), 1 waiting for
    /// its result, 2 adding a hit's spread, 3 wrapping it and deciding.
    step: DFF<Bits<2>>,
    /// The kind being looked up; 0 (which never applies) for the cycle
    /// after a frame starts, while its first key is formed.
    kind: DFF<Bits<3>>,
    /// The key of kind + 1 and whether that kind applies, formed a cycle
    /// ahead so a lookup starts from registers.
    key_r: DFF<Bits<KEY_BITS>>,
    applies_r: DFF<Bit>,
    /// A hit's value, then its base queue plus the masked RSS hash.
    value_r: DFF<Bits<32>>,
    sum_r: DFF<Bits<13>>,
    overruns: DFF<Bits<8>>,
    /// overruns != 0 and overruns == 255, kept alongside it so the intake
    /// does not compare the count first.
    ovr_owed: DFF<Bit>,
    ovr_full: DFF<Bit>,
    ovr_inc: Signal<Local, Bit>,
    ovr_dec: Signal<Local, Bit>,
    /// The frame being looked up.
    frame: DFF<ParsedFrame>,
    /// A frame that ended while a lookup ran, waiting its turn.
    w_valid: DFF<Bit>,
    waiting_frame: DFF<ParsedFrame>,
    /// The waiting frame parsed cleanly (its reason is 0).
    w_ok: DFF<Bit>,
    next_ok: Signal<Local, Bit>,
    /// The frame to start this cycle: the waiting one, else the one ending.
    next_frame: Signal<Local, ParsedFrame>,
    take_waiting: Signal<Local, Bit>,
    take_new: Signal<Local, Bit>,
    // The decision register.
    d_valid: DFF<Bit>,
    d_reason: DFF<Bits<4>>,
    d_queue: DFF<Bits<QUEUE_BITS>>,
    d_kind: DFF<Bits<3>>,
    d_id: DFF<Bits<16>>,
    d_rss: DFF<Bits<32>>,
    d_counts: DFF<Bits<DEMUX_COUNTERS>>,
    key_kind: Signal<Local, Bits<3>>,
    applies: Signal<Local, Bit>,
    key: Signal<Local, Bits<KEY_BITS>>,
    done: Signal<Local, Bit>,
    hit: Signal<Local, Bit>,
    spread_mask: Signal<Local, Bits<13>>,
    wrapped: Signal<Local, Bits<14>>,
    next_kind: Signal<Local, Bit>,
    emit: Signal<Local, Bit>,
    ovr: Signal<Local, Bits<8>>,
}

impl FlowDemux {
    pub fn new(params: &NicParams) -> Self {
        Self {
            clock: Default::default(),
            data: Default::default(),
            valid: Default::default(),
            last: Default::default(),
            error: Default::default(),
            default_queue: Default::default(),
            rss_key: Default::default(),
            filter: Default::default(),
            decision: Default::default(),
            counts: Default::default(),
            parser: Default::default(),
            filters: FilterTable::new(WILDCARD_BUCKET_BITS),
            queues: Constant::new((params.queues as u64).into()),
            busy: Default::default(),
            step: Default::default(),
            kind: Default::default(),
            key_r: Default::default(),
            applies_r: Default::default(),
            value_r: Default::default(),
            sum_r: Default::default(),
            overruns: Default::default(),
            ovr_owed: Default::default(),
            ovr_full: Default::default(),
            ovr_inc: Default::default(),
            ovr_dec: Default::default(),
            w_valid: Default::default(),
            waiting_frame: Default::default(),
            w_ok: Default::default(),
            next_ok: Default::default(),
            next_frame: Default::default(),
            frame: Default::default(),
            take_waiting: Default::default(),
            take_new: Default::default(),
            d_valid: Default::default(),
            d_reason: Default::default(),
            d_queue: Default::default(),
            d_kind: Default::default(),
            d_id: Default::default(),
            d_rss: Default::default(),
            d_counts: Default::default(),
            key_kind: Default::default(),
            applies: Default::default(),
            key: Default::default(),
            done: Default::default(),
            hit: Default::default(),
            spread_mask: Default::default(),
            wrapped: Default::default(),
            next_kind: Default::default(),
            emit: Default::default(),
            ovr: Default::default(),
        }
    }
}

impl Logic for FlowDemux {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, parser, filters);
        dff_setup!(
            self, clock, busy, step, kind, key_r, applies_r, value_r, sum_r, overruns, d_valid,
            d_reason, d_queue, d_kind, d_id, d_rss, d_counts, w_valid, waiting_frame, frame, ovr_owed,
            ovr_full, w_ok
        );
        self.parser.data.next = self.data.val();
        self.parser.valid.next = self.valid.val();
        self.parser.last.next = self.last.val();
        self.parser.error.next = self.error.val();
        self.parser.rss_key.next = self.rss_key.val();
        FilterWriteSink::link(&mut self.filter, &mut self.filters.writes);

        self.decision.valid.next = self.d_valid.q.val();
        self.decision.reason.next = self.d_reason.q.val();
        self.decision.queue.next = self.d_queue.q.val();
        self.decision.kind.next = self.d_kind.q.val();
        self.decision.filter_id.next = self.d_id.q.val();
        self.decision.rss.next = self.d_rss.q.val();
        self.counts.next = self.d_counts.q.val();
        self.d_valid.d.next = false;
        self.d_counts.d.next = 0.into();
        self.emit.next = false;
        self.next_kind.next = false;

        // Whether the kind after the current one applies to the frame, and
        // its key, registered for the cycle that kind is issued in.
        self.key_kind.next = self.kind.q.val() + 1;
        self.applies.next = true;
        if self.key_kind.val() < 4 {
            self.applies.next = self.frame.q.val().is_ip & self.frame.q.val().has_ports;
        } else if self.key_kind.val() < 6 {
            self.applies.next = self.frame.q.val().is_ip;
        } else if self.key_kind.val() == 6 {
            self.applies.next = self.frame.q.val().vlan_valid;
        }
        self.key.next = bit_cast::<KEY_BITS, 3>(self.key_kind.val()) << 297;
        if self.key_kind.val() < 6 {
            self.key.next = self.key.val()
                | (bit_cast::<KEY_BITS, 1>(self.frame.q.val().is_v6.into()) << 296)
                | (bit_cast::<KEY_BITS, 8>(self.frame.q.val().proto) << 288);
            if ((self.key_kind.val() < 4) & (self.key_kind.val() != 3)) | (self.key_kind.val() == 4) {
                self.key.next = self.key.val() | (bit_cast::<KEY_BITS, 128>(self.frame.q.val().dst) << 32);
            }
            if self.key_kind.val() < 4 {
                self.key.next = self.key.val() | bit_cast::<KEY_BITS, 16>(self.frame.q.val().dport);
            }
            if self.key_kind.val() == 1 {
                self.key.next = self.key.val()
                    | (bit_cast::<KEY_BITS, 128>(self.frame.q.val().src) << 160)
                    | (bit_cast::<KEY_BITS, 16>(self.frame.q.val().sport) << 16);
            }
        } else {
            self.key.next = self.key.val() | (bit_cast::<KEY_BITS, 48>(self.frame.q.val().dst_mac) << 32);
            if self.key_kind.val() == 6 {
                self.key.next = self.key.val() | bit_cast::<KEY_BITS, 12>(self.frame.q.val().vlan);
            }
        }
        // Formed every cycle: `kind` only moves on when the registered key
        // has just been used (or skipped), and a table takes its key only
        // in the cycle it starts.
        self.key_r.d.next = self.key.val();
        self.applies_r.d.next = self.applies.val();
        self.filters.key.next = self.key_r.q.val();
        self.filters.wild.next = self.kind.q.val() != 1;
        self.filters.start.next = false;
        // The tables' results are registered.
        self.done.next = self.filters.done.val();
        self.hit.next = self.filters.done.val() & self.filters.hit.val();
        self.spread_mask.next = (bit_cast::<13, 1>(true.into()) << self.value_r.q.val().get_bits::<3>(12)) - 1;
        self.wrapped.next = bit_cast::<14, 13>(self.sum_r.q.val()) - bit_cast::<14, 13>(self.queues.val());

        // The lookup sequence.
        if self.busy.q.val() {
            if self.step.q.val() == 0 {
                if self.applies_r.q.val() {
                    self.step.d.next = 1.into();
                    self.filters.start.next = true;
                } else if self.kind.q.val() == 7 {
                    self.emit.next = true;
                } else {
                    self.next_kind.next = true;
                }
            } else if self.step.q.val() == 1 {
                if self.done.val() {
                    if self.hit.val() {
                        self.step.d.next = 2.into();
                        self.value_r.d.next = self.filters.value.val();
                    } else if self.kind.q.val() == 7 {
                        self.emit.next = true;
                    } else {
                        self.step.d.next = 0.into();
                        self.next_kind.next = true;
                    }
                }
            } else if self.step.q.val() == 2 {
                self.step.d.next = 3.into();
                self.sum_r.d.next = bit_cast::<13, 12>(self.value_r.q.val().get_bits::<12>(0))
                    + (bit_cast::<13, 32>(self.frame.q.val().rss) & self.spread_mask.val());
            } else {
                // The group wraps past the last queue once (`Action::queue_for`).
                self.busy.d.next = false;
                self.d_valid.d.next = true;
                self.d_reason.d.next = 0.into();
                self.d_queue.d.next = self.sum_r.q.val().get_bits::<QUEUE_BITS>(0);
                if !self.wrapped.val().get_bit(13) {
                    self.d_queue.d.next = self.wrapped.val().get_bits::<QUEUE_BITS>(0);
                }
                self.d_kind.d.next = self.kind.q.val();
                self.d_id.d.next = self.value_r.q.val().get_bits::<16>(16);
                self.d_rss.d.next = self.frame.q.val().rss;
                if self.kind.q.val() == 1 {
                    self.d_counts.d.next = 1.into();
                } else {
                    self.d_counts.d.next = 2.into();
                }
            }
        }
        if self.next_kind.val() {
            self.kind.d.next = self.kind.q.val() + 1;
        }
        // No filter matched: the default queue.
        if self.emit.val() {
            self.busy.d.next = false;
            self.d_valid.d.next = true;
            self.d_reason.d.next = 1.into();
            self.d_queue.d.next = self.default_queue.val();
            self.d_kind.d.next = 0.into();
            self.d_id.d.next = 0.into();
            self.d_rss.d.next = self.frame.q.val().rss;
            self.d_counts.d.next = 4.into();
        }

        // Overruns wait until the lookup before them has decided, then
        // leave one per cycle, in order. (The paths that set the decision
        // register are exclusive: lookups only while busy, overruns and
        // rejects only while idle, rejects only with no overrun waiting.)
        self.ovr_dec.next = !self.busy.q.val() & !self.w_valid.q.val() & self.ovr_owed.q.val();
        self.ovr_inc.next = false;
        if self.ovr_dec.val() {
            self.d_valid.d.next = true;
            self.d_reason.d.next = 9.into();
            self.d_queue.d.next = self.default_queue.val();
            self.d_kind.d.next = 0.into();
            self.d_id.d.next = 0.into();
            self.d_rss.d.next = 0.into();
            self.d_counts.d.next = 512.into();
        }

        // Choose the frame to start: the waiting one first (it is older),
        // else one ending now if nothing older is still owed a decision.
        self.take_waiting.next = !self.busy.q.val() & self.w_valid.q.val();
        self.take_new.next = !self.busy.q.val()
            & !self.w_valid.q.val()
            & !self.ovr_owed.q.val()
            & self.parser.result_valid.val();
        self.next_frame.next = self.parser.result.val();
        self.next_ok.next = self.parser.result.val().reason == 0;
        if self.take_waiting.val() {
            self.next_frame.next = self.waiting_frame.q.val();
            self.next_ok.next = self.w_ok.q.val();
        }
        // A frame ending now that cannot start waits in the slot, if it is
        // free (or being freed) and no overrun is owed; else it overruns.
        if self.take_waiting.val() {
            self.w_valid.d.next = false;
        }
        if self.parser.result_valid.val() & !self.take_new.val() {
            if (!self.w_valid.q.val() | self.take_waiting.val()) & !self.ovr_owed.q.val() {
                self.w_valid.d.next = true;
                self.waiting_frame.d.next = self.parser.result.val();
                self.w_ok.d.next = self.parser.result.val().reason == 0;
            } else if !self.ovr_full.q.val() {
                self.ovr_inc.next = true;
            }
        }
        if self.take_waiting.val() | self.take_new.val() {
            if self.next_ok.val() {
                self.busy.d.next = true;
                self.step.d.next = 0.into();
                self.kind.d.next = 0.into();
                self.applies_r.d.next = false;
                self.frame.d.next = self.next_frame.val();
            } else {
                // Rejected or malformed: no lookup. Counter bits follow
                // the reason codes from Fragment (2) on.
                self.d_valid.d.next = true;
                self.d_reason.d.next = self.next_frame.val().reason;
                self.d_queue.d.next = self.default_queue.val();
                if self.next_frame.val().reason == 8 {
                    self.d_queue.d.next = 0.into();
                    self.d_counts.d.next = 0.into();
                } else {
                    self.d_counts.d.next = bit_cast::<DEMUX_COUNTERS, 1>(true.into())
                        << (bit_cast::<DEMUX_COUNTERS, 4>(self.next_frame.val().reason) + 1);
                }
                self.d_kind.d.next = 0.into();
                self.d_id.d.next = 0.into();
                self.d_rss.d.next = 0.into();
            }
        }
        self.ovr.next = self.overruns.q.val();
        if self.ovr_inc.val() & !self.ovr_dec.val() {
            self.ovr.next = self.overruns.q.val() + 1;
            self.ovr_owed.d.next = true;
            self.ovr_full.d.next = self.overruns.q.val() == 254;
        }
        if self.ovr_dec.val() & !self.ovr_inc.val() {
            self.ovr.next = self.overruns.q.val() - 1;
            self.ovr_owed.d.next = self.overruns.q.val() != 1;
            self.ovr_full.d.next = false;
        }
        self.overruns.d.next = self.ovr.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{self, Action, FilterKind, Flow, IpFlow, Reason, WAYS};
    use crate::harness::Harness;

    fn entry(key: &filter::Key, action: Action) -> Bits<{ filter::ENTRY_BITS }> {
        const E: usize = filter::ENTRY_BITS;
        let mut e: Bits<E> = bit_cast::<E, 32>((action.encode() as u64).into());
        for w in key.0.iter().rev() {
            e = (e << 32) | bit_cast::<E, 32>((*w as u64).into());
        }
        e
    }

    fn tcp4(dport: u16) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 0x42, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&1234u16.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0, 0, 0, 0, 0, 0]);
        f
    }

    /// Streams frames `gap` cycles apart; returns (reason, queue, kind, id) per decision.
    fn run_gap(h: &mut Harness<FlowDemux>, frames: &[Vec<u8>], gap: usize) -> Vec<(u64, u64, u64, u64)> {
        let mut out = vec![];
        let mut beats: Vec<Option<(u8, bool)>> = vec![];
        for f in frames {
            beats.extend(f.iter().enumerate().map(|(i, &b)| Some((b, i + 1 == f.len()))));
            beats.extend(std::iter::repeat_n(None, gap));
        }
        beats.extend(std::iter::repeat_n(None, 60));
        for beat in beats {
            h.uut.valid.next = beat.is_some();
            let (b, last) = beat.unwrap_or((0, false));
            h.uut.data.next = (b as u64).into();
            h.uut.last.next = last;
            h.uut.error.next = false;
            h.settle();
            let d = &h.uut.decision;
            if d.valid.val() {
                out.push((
                    d.reason.val().index() as u64,
                    d.queue.val().index() as u64,
                    d.kind.val().index() as u64,
                    d.filter_id.val().index() as u64,
                ));
            }
            h.cycle();
        }
        out
    }

    fn run(h: &mut Harness<FlowDemux>, frames: &[Vec<u8>]) -> Vec<(u64, u64, u64, u64)> {
        run_gap(h, frames, 24)
    }

    /// The longest lookup (a VLAN-tagged TCP frame that misses all seven
    /// kinds) for minimum frames at line rate: 60 bytes plus FCS, preamble
    /// and gap is 84 cycles per frame, and every frame is decided, in
    /// order, with none left to wait, let alone overrun.
    #[test]
    fn keeps_up_with_minimum_frames_that_miss_everything() {
        const LONGEST_LOOKUP: usize = 54;
        let mut h = Harness::new(FlowDemux::new(&NicParams::default()), |d| &mut d.clock);
        h.uut.default_queue.next = 3.into();
        let mut f = tcp4(22);
        f.splice(12..12, [0x81, 0x00, 0x00, 0x05]);
        f.resize(60, 0);
        let miss = (Reason::Miss as u64, 3, 0, 0);
        assert_eq!(run_gap(&mut h, &vec![f.clone(); 8], 24), vec![miss; 8]);
        // The decision's latency from the last byte, which the slot must
        // cover for a shorter frame behind it.
        let mut latency = None;
        for (i, &b) in f.iter().chain([0u8; 80].iter()).enumerate() {
            h.uut.valid.next = i < f.len();
            h.uut.data.next = (b as u64).into();
            h.uut.last.next = i + 1 == f.len();
            h.uut.error.next = false;
            h.settle();
            assert!(!h.uut.w_valid.q.val(), "a frame waited");
            if h.uut.decision.valid.val() {
                latency = Some(i + 1 - f.len());
            }
            h.cycle();
        }
        assert_eq!(latency, Some(LONGEST_LOOKUP));
    }

    #[test]
    fn short_frames_during_a_lookup_wait_their_turn_then_overrun_in_order() {
        let mut h = Harness::new(FlowDemux::new(&NicParams::default()), |d| &mut d.clock);
        h.uut.default_queue.next = 7.into();
        let arp = |n: u8| vec![0x02, 0, 0, 0, 0, n, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06];
        let miss = (Reason::Miss as u64, 7, 0, 0);
        // A full-length lookup, then one short frame: it waits, no overrun.
        assert_eq!(run_gap(&mut h, &[tcp4(22), arp(1)], 2), vec![miss, miss]);
        // Then one-byte frames back to back: the first waits, the rest find
        // the slot taken and overrun, all decided in order.
        let got = run_gap(&mut h, &[tcp4(22), vec![1], vec![2], vec![3]], 0);
        let truncated = (Reason::Truncated as u64, 7, 0, 0);
        let overrun = (Reason::Overrun as u64, 7, 0, 0);
        assert_eq!(got, vec![miss, truncated, overrun, overrun]);
    }

    #[test]
    fn looks_up_most_specific_first() {
        let mut h = Harness::new(FlowDemux::new(&NicParams::default()), |d| &mut d.clock);
        h.uut.default_queue.next = 5.into();
        let flow = Flow {
            dst_mac: [0x02, 0, 0, 0, 0, 0x42],
            vlan: None,
            ip: Some(IpFlow { v6: false, proto: 6, src: 0x0A00_0001, dst: 0x0A00_0002, ports: Some((1234, 80)) }),
        };
        // A listener on port 80 and a port-only listener on 443, both in the
        // wildcard table's first bucket for their keys.
        for (kind, dport, q, id) in [(FilterKind::ListenAddrPort, 80, 9, 1), (FilterKind::ListenPort, 443, 10, 2)] {
            let mut fl = flow;
            fl.ip.as_mut().unwrap().ports = Some((1234, dport));
            let key = filter::lookup_key(kind, &fl).unwrap();
            let bucket = filter::table_hash(0, &key) & ((1 << WILDCARD_BUCKET_BITS) - 1);
            h.uut.filter.write.next = true;
            h.uut.filter.wildcard.next = true;
            h.uut.filter.clear.next = false;
            h.uut.filter.slot.next = ((bucket * WAYS as u32) as u64).into();
            h.uut.filter.entry.next = entry(&key, Action { queue: q, spread: 0, filter_id: id });
            h.cycle();
        }
        h.uut.filter.write.next = false;
        let got = run(&mut h, &[tcp4(80), tcp4(443), tcp4(22), tcp4(80)[..30].to_vec()]);
        assert_eq!(
            got,
            vec![
                (Reason::Hit as u64, 9, FilterKind::ListenAddrPort as u64, 1),
                (Reason::Hit as u64, 10, FilterKind::ListenPort as u64, 2),
                (Reason::Miss as u64, 5, 0, 0),
                (Reason::Truncated as u64, 5, 0, 0),
            ]
        );
    }
}
