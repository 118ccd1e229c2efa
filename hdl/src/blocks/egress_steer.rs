//! Sends each transmitted frame out of the port opposite to where its
//! source lives, so a two-port board in the wire forwards both ways
//! through one NIC core: a frame received on port 0 and sent back out by
//! a queue leaves by port 1, and one received on port 1 leaves by port 0.
//!
//! The block learns like a bridge: every good received frame (on the
//! merged receive stream, with the port each beat came from) records its
//! source MAC and port in a 256-entry table indexed by an XOR fold of the
//! MAC, the most recent frame winning an index. A transmitted frame's
//! source MAC (bytes 6..12) is looked up; on a hit with the full MAC equal
//! the frame leaves by the other port; otherwise (never received, evicted
//! by another MAC with the same index, a group address, or a frame of 12
//! bytes or fewer) it leaves by port 1 and `unlearned` pulses.
//!
//! To know the port before the first byte goes out, the first 12 bytes
//! are held in a shift register while the lookup runs, then replayed; the
//! rest of the frame passes straight through. A frame costs 15 cycles more
//! than its length, so 64-byte frames still leave faster than one port's
//! wire takes them (84 byte times with preamble and gap).

use crate::params::DATA_BITS;
use crate::ports::{FrameSink, FrameSource};
use rust_hdl::prelude::*;

/// Bytes held before the decision: up to the end of the source MAC.
pub const HELD_BYTES: u64 = 12;
/// Cycles from the 12th byte's arrival to the first replayed byte.
pub const LOOKUP_CYCLES: u64 = 3;
/// Table entry: bit 49 valid, bit 48 the port, bits 47..0 the MAC.
const ENTRY_BITS: usize = 50;


#[derive(LogicBlock, Default)]
pub struct EgressSteer {
    pub clock: Signal<In, Clock>,
    /// The received stream, watched (never stalled): `rx_beat` when a beat
    /// moves on it, `rx_port` the port it came from.
    pub rx_beat: Signal<In, Bit>,
    pub rx_data: Signal<In, Bits<DATA_BITS>>,
    pub rx_last: Signal<In, Bit>,
    pub rx_error: Signal<In, Bit>,
    pub rx_port: Signal<In, Bit>,
    /// Frames to send, and the two ports' transmit streams.
    pub frames_in: FrameSink,
    pub port0: FrameSource,
    pub port1: FrameSource,
    /// One cycle per frame sent by port 1 for want of a learned source,
    /// the cycle after its last beat left.
    pub unlearned: Signal<Out, Bit>,
    sources: RAM<Bits<ENTRY_BITS>, 8>,
    // Learning.
    l_pos: DFF<Bits<4>>,
    l_mac: DFF<Bits<48>>,
    w_en: DFF<Bit>,
    w_entry: DFF<Bits<ENTRY_BITS>>,
    w_index: DFF<Bits<8>>,
    // Sending. States (spelled as numbers in `update`, which rust-hdl
    // turns into Verilog): 0 fill `held`, 1 align a frame that ended in
    // it, 2 look its source up, 3 take the table's entry, 4 decide the
    // port, 5 replay `held`, 6 pass the rest of the frame.
    state: DFF<Bits<3>>,
    held: DFF<Bits<96>>,
    /// Bytes taken into `held` (states 0 and 1).
    count: DFF<Bits<4>>,
    /// Replayed bytes still to come after the one on offer (state 5),
    /// counted down so the last one is a zero test, not a compare.
    left: DFF<Bits<4>>,
    short: DFF<Bit>,
    unlearned_r: DFF<Bit>,
    /// The frame's length when it ended inside `held`, else 0.
    short_len: DFF<Bits<4>>,
    err: DFF<Bit>,
    entry: DFF<Bits<ENTRY_BITS>>,
    to1: DFF<Bit>,
    miss: DFF<Bit>,
    out_valid: Signal<Local, Bit>,
    out_ready: Signal<Local, Bit>,
    beat_out: Signal<Local, Bit>,
    src: Signal<Local, Bits<48>>,
    lookup_miss: Signal<Local, Bit>,
}

impl Logic for EgressSteer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, l_pos, l_mac, w_en, w_entry, w_index, state, held, count, left, short, unlearned_r, short_len,
            err, entry, to1, miss
        );
        self.sources.read_clock.next = self.clock.val();
        self.sources.write_clock.next = self.clock.val();

        // Learning, from registers one cycle behind the frame's last beat.
        if self.rx_beat.val() {
            if self.l_pos.q.val() != 15 {
                self.l_pos.d.next = self.l_pos.q.val() + 1;
            }
            if (self.l_pos.q.val() >= 6) & (self.l_pos.q.val() < 12) {
                self.l_mac.d.next = (self.l_mac.q.val() << 8) | bit_cast::<48, 8>(self.rx_data.val());
            }
            if self.rx_last.val() {
                self.l_pos.d.next = 0.into();
            }
        }
        // A group address (bit 0 of its first byte) is no one's source.
        self.w_en.d.next = self.rx_beat.val()
            & self.rx_last.val()
            & !self.rx_error.val()
            & (self.l_pos.q.val() >= 12)
            & !self.l_mac.q.val().get_bit(40);
        self.w_entry.d.next = bit_cast::<ENTRY_BITS, 48>(self.l_mac.q.val())
            | (bit_cast::<ENTRY_BITS, 1>(self.rx_port.val().into()) << 48)
            | (bit_cast::<ENTRY_BITS, 1>(true.into()) << 49);
        self.w_index.d.next = self.l_mac.q.val().get_bits::<8>(0)
            ^ self.l_mac.q.val().get_bits::<8>(8)
            ^ self.l_mac.q.val().get_bits::<8>(16)
            ^ self.l_mac.q.val().get_bits::<8>(24)
            ^ self.l_mac.q.val().get_bits::<8>(32)
            ^ self.l_mac.q.val().get_bits::<8>(40);
        self.sources.write_enable.next = self.w_en.q.val();
        self.sources.write_address.next = self.w_index.q.val();
        self.sources.write_data.next = self.w_entry.q.val();

        // Sending. Bytes 6..12 are the low 48 bits of `held` once full.
        self.src.next = self.held.q.val().get_bits::<48>(0);
        self.lookup_miss.next = !self.entry.q.val().get_bit(49)
            | (self.entry.q.val().get_bits::<48>(0) != self.src.val())
            | (self.short_len.q.val() != 0);
        self.sources.read_address.next = self.src.val().get_bits::<8>(0)
            ^ self.src.val().get_bits::<8>(8)
            ^ self.src.val().get_bits::<8>(16)
            ^ self.src.val().get_bits::<8>(24)
            ^ self.src.val().get_bits::<8>(32)
            ^ self.src.val().get_bits::<8>(40);
        self.out_ready.next = self.port0.ready.val();
        if self.to1.q.val() {
            self.out_ready.next = self.port1.ready.val();
        }
        self.unlearned.next = self.unlearned_r.q.val();
        self.unlearned_r.d.next = false;
        self.frames_in.ready.next = false;
        self.out_valid.next = false;
        self.port0.data.next = self.held.q.val().get_bits::<8>(88);
        self.port0.last.next = self.short.q.val() & !self.left.q.val().any();
        self.port0.error.next = self.err.q.val();
        if self.state.q.val() == 0 {
            self.frames_in.ready.next = true;
            if self.frames_in.valid.val() {
                self.held.d.next = (self.held.q.val() << 8) | bit_cast::<96, 8>(self.frames_in.data.val());
                self.count.d.next = self.count.q.val() + 1;
                self.err.d.next = self.err.q.val() | self.frames_in.error.val();
                if self.frames_in.last.val() {
                    self.short_len.d.next = self.count.q.val() + 1;
                    self.state.d.next = 1.into();
                }
                if self.count.q.val() == 11 {
                    self.state.d.next = 2.into();
                }
            }
        }
        // A frame that ended early moves up to where replay starts.
        if self.state.q.val() == 1 {
            self.held.d.next = self.held.q.val() << 8;
            self.count.d.next = self.count.q.val() + 1;
            if self.count.q.val() >= 11 {
                self.state.d.next = 2.into();
            }
        }
        if self.state.q.val() == 2 {
            self.state.d.next = 3.into();
        }
        if self.state.q.val() == 3 {
            self.entry.d.next = self.sources.read_data.val();
            self.state.d.next = 4.into();
        }
        if self.state.q.val() == 4 {
            self.miss.d.next = self.lookup_miss.val();
            self.to1.d.next = self.lookup_miss.val() | !self.entry.q.val().get_bit(48);
            self.short.d.next = self.short_len.q.val() != 0;
            self.left.d.next = 11.into();
            if self.short_len.q.val() != 0 {
                self.left.d.next = self.short_len.q.val() - 1;
            }
            self.state.d.next = 5.into();
        }
        if self.state.q.val() == 5 {
            self.out_valid.next = true;
            if self.out_ready.val() {
                self.held.d.next = self.held.q.val() << 8;
                self.left.d.next = self.left.q.val() - 1;
                if self.port0.last.val() {
                    self.state.d.next = 0.into();
                }
                if !self.short.q.val() & !self.left.q.val().any() {
                    self.state.d.next = 6.into();
                }
            }
        }
        if self.state.q.val() == 6 {
            self.port0.data.next = self.frames_in.data.val();
            self.port0.last.next = self.frames_in.last.val();
            self.port0.error.next = self.err.q.val() | self.frames_in.error.val();
            self.out_valid.next = self.frames_in.valid.val();
            self.frames_in.ready.next = self.out_ready.val();
            if self.frames_in.valid.val() & self.out_ready.val() & self.frames_in.last.val() {
                self.state.d.next = 0.into();
            }
        }
        self.beat_out.next = self.out_valid.val() & self.out_ready.val();
        if self.beat_out.val() & self.port0.last.val() {
            self.count.d.next = 0.into();
            self.short_len.d.next = 0.into();
            self.short.d.next = false;
            self.err.d.next = false;
            self.unlearned_r.d.next = self.miss.q.val();
        }
        self.port0.valid.next = self.out_valid.val() & !self.to1.q.val();
        self.port1.valid.next = self.out_valid.val() & self.to1.q.val();
        self.port1.data.next = self.port0.data.val();
        self.port1.last.next = self.port0.last.val();
        self.port1.error.next = self.port0.error.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;

    type H = Harness<EgressSteer>;

    fn new() -> H {
        Harness::new(EgressSteer::default(), |s| &mut s.clock)
    }

    fn frame(src: [u8; 6], len: usize, seed: u8) -> Vec<u8> {
        let mut f = vec![0x02, 0xAA, 0, 0, 0, seed];
        f.extend(src);
        f.extend((12..len).map(|i| (i as u8).wrapping_mul(7) ^ seed));
        f.truncate(len);
        f
    }

    /// Runs a frame past the learning side, a beat a cycle.
    fn learn(h: &mut H, f: &[u8], port: bool, error: bool) {
        for (i, &b) in f.iter().enumerate() {
            h.uut.rx_beat.next = true;
            h.uut.rx_data.next = (b as u64).into();
            h.uut.rx_last.next = i + 1 == f.len();
            h.uut.rx_error.next = error && i + 1 == f.len();
            h.uut.rx_port.next = port;
            h.cycle();
        }
        h.uut.rx_beat.next = false;
        // The table takes the entry two cycles after the last beat.
        h.cycle();
        h.cycle();
    }

    /// A frame as it left: the port, its bytes, its error flag.
    type Out = (u8, Vec<u8>, bool);

    /// Sends the frames back to back, the ports ready by `ready(port,
    /// cycle)`; returns what each port sent, the `unlearned` pulses and
    /// the cycles taken.
    fn send(h: &mut H, frames: &[(Vec<u8>, bool)], ready: fn(u8, u64) -> bool) -> (Vec<Out>, u32, u64) {
        let beats: Vec<(u8, bool, bool)> = frames
            .iter()
            .flat_map(|(f, e)| f.iter().enumerate().map(move |(i, &b)| (b, i + 1 == f.len(), *e && i + 1 == f.len())))
            .collect();
        let (mut i, mut out, mut unlearned) = (0, vec![], 0);
        let mut cur: [Vec<u8>; 2] = [vec![], vec![]];
        let start = h.cycles;
        while out.len() < frames.len() {
            assert!(h.cycles - start < 100_000, "stuck after {} frames", out.len());
            let u = &mut h.uut;
            u.frames_in.valid.next = i < beats.len();
            if i < beats.len() {
                u.frames_in.data.next = (beats[i].0 as u64).into();
                u.frames_in.last.next = beats[i].1;
                u.frames_in.error.next = beats[i].2;
            }
            u.port0.ready.next = ready(0, h.cycles);
            u.port1.ready.next = ready(1, h.cycles);
            h.settle();
            let u = &mut h.uut;
            if u.frames_in.valid.val() && u.frames_in.ready.val() {
                i += 1;
            }
            assert!(!(u.port0.valid.val() && u.port1.valid.val()), "both ports offered a beat");
            for (p, port) in [(0u8, &u.port0), (1, &u.port1)] {
                if port.valid.val() && port.ready.val() {
                    cur[p as usize].push(port.data.val().index() as u8);
                    if port.last.val() {
                        out.push((p, std::mem::take(&mut cur[p as usize]), port.error.val()));
                    }
                }
            }
            unlearned += u.unlearned.val() as u32;
            h.cycle();
        }
        let cycles = h.cycles - start;
        // The last frame's pulse comes a cycle after it.
        h.settle();
        unlearned += h.uut.unlearned.val() as u32;
        (out, unlearned, cycles)
    }

    const A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0A];
    const B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0B];
    const C: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0C];

    fn always(_: u8, _: u64) -> bool {
        true
    }

    fn stalls(p: u8, c: u64) -> bool {
        !(c + p as u64 * 3).is_multiple_of(5) && c % 7 != 2
    }

    #[test]
    fn a_learned_source_leaves_by_the_other_port_and_the_rest_by_port1() {
        for ready in [always as fn(u8, u64) -> bool, stalls] {
            let mut h = new();
            learn(&mut h, &frame(A, 60, 1), false, false);
            learn(&mut h, &frame(B, 60, 2), true, false);
            let group = [0x03, 0, 0, 0, 0, 0x0D];
            // A group source is never learned, even from a good frame.
            learn(&mut h, &frame(group, 60, 3), false, false);
            let sent = vec![
                (frame(A, 64, 4), false),
                (frame(B, 1514, 5), false),
                (frame(C, 100, 6), false),
                (frame(group, 13, 7), false),
                (frame(B, 14, 8), true),
                (frame(A, 61, 9), false),
            ];
            let (out, unlearned, _) = send(&mut h, &sent, ready);
            let ports: Vec<u8> = out.iter().map(|o| o.0).collect();
            assert_eq!(ports, [1, 0, 1, 1, 0, 1]);
            let frames: Vec<(Vec<u8>, bool)> = out.into_iter().map(|o| (o.1, o.2)).collect();
            assert_eq!(frames, sent, "frames and their error flags pass unchanged");
            assert_eq!(unlearned, 2, "C and the group source");
        }
    }

    #[test]
    fn the_latest_good_frame_decides_and_bad_or_tiny_frames_teach_nothing() {
        let mut h = new();
        learn(&mut h, &frame(A, 60, 1), false, false);
        learn(&mut h, &frame(A, 60, 2), true, false);
        // A bad frame from A on port 0 must not move it back; neither may
        // B's frame cut short before its source ended.
        learn(&mut h, &frame(A, 60, 3), false, true);
        learn(&mut h, &frame(B, 10, 4), true, false);
        let sent = vec![(frame(A, 64, 5), false), (frame(B, 64, 6), false)];
        let (out, unlearned, _) = send(&mut h, &sent, always);
        assert_eq!(out.iter().map(|o| o.0).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(unlearned, 1);
    }

    #[test]
    fn frames_shorter_than_the_held_bytes_go_out_whole_by_port1() {
        let mut h = new();
        learn(&mut h, &frame(A, 60, 1), false, false);
        let sent: Vec<(Vec<u8>, bool)> = (1..=12).map(|n| (frame(A, n, n as u8), n == 5)).collect();
        let (out, unlearned, _) = send(&mut h, &sent, stalls);
        assert!(out.iter().all(|o| o.0 == 1));
        assert_eq!(out.into_iter().map(|o| (o.1, o.2)).collect::<Vec<_>>(), sent);
        assert_eq!(unlearned, 12);
    }

    #[test]
    fn a_source_with_the_same_index_evicts_the_older_one() {
        // The index is the XOR of the MAC's bytes: these two fold alike.
        let x = [0x02, 0, 0, 0, 0x01, 0x10];
        let y = [0x02, 0, 0, 0, 0x10, 0x01];
        let mut h = new();
        learn(&mut h, &frame(x, 60, 1), false, false);
        learn(&mut h, &frame(y, 60, 2), true, false);
        let sent = vec![(frame(x, 64, 3), false), (frame(y, 64, 4), false)];
        let (out, unlearned, _) = send(&mut h, &sent, always);
        assert_eq!(out.iter().map(|o| o.0).collect::<Vec<_>>(), [1, 0]);
        assert_eq!(unlearned, 1, "x missed: its entry holds y now");
    }

    #[test]
    fn back_to_back_frames_cost_their_length_plus_the_lookup() {
        let mut h = new();
        learn(&mut h, &frame(A, 60, 1), true, false);
        let n = 20;
        let sent: Vec<(Vec<u8>, bool)> = (0..n).map(|i| (frame(A, 64, i as u8), false)).collect();
        let (out, _, cycles) = send(&mut h, &sent, always);
        assert!(out.iter().all(|o| o.0 == 0));
        let per_frame = 64 + HELD_BYTES + LOOKUP_CYCLES;
        assert!(cycles <= n as u64 * per_frame + 2, "{cycles} cycles for {n} frames");
        // Faster than a port's wire: 64 bytes, 8 of preamble, 12 of gap.
        assert!(per_frame < 84);
    }

    #[test]
    fn generates_verilog() {
        let mut s = EgressSteer::default();
        s.connect_all();
        let v = generate_verilog(&s);
        assert!(v.contains("module top") && !v.contains("FILL"));
    }
}
