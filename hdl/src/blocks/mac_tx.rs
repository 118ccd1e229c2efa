//! The transmit half of the 1 Gb/s MAC at GMII level (one byte per cycle at
//! 125 MHz): turns each frame of the stream (no preamble, no FCS) into
//! 7 x 0x55, the start delimiter 0xD5, the frame, zero padding up to 60
//! bytes, the FCS (least significant byte first), then 12 idle cycles.
//!
//! A frame on the wire cannot pause, so `frames_in.ready` is high only in
//! the cycles where a data byte goes out, and the source must then offer a
//! beat every cycle until `last` (a store-and-forward FIFO in front does).
//! A source that falls short (an underrun) or a frame whose last beat
//! carries `error` is cut short: the cycle that would carry the bad or
//! missing byte goes out with `gmii_tx_er` (the PHY sends an invalid symbol,
//! so no receiver can take the frame as good), no FCS follows, and the
//! frame is counted as aborted; after an underrun the rest of the frame is
//! accepted and discarded so the stream stays in step.
//!
//! Timing with frames offered back to back: a frame of `len` bytes holds
//! the wire for `max(len, 60) + 24` cycles from the start of its preamble
//! to the start of the next (`testbench::wire::wire_cycles`). All GMII
//! outputs come straight from registers.

use super::crc32::{Crc32Byte, CRC32_INIT};
use crate::ports::FrameSink;
use rust_hdl::prelude::*;

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum TxState {
    /// The gap is over; the next frame may start.
    Idle,
    Preamble,
    Data,
    Pad,
    Fcs,
    Gap,
    /// After an underrun: swallow the rest of the frame.
    Drain,
}

#[derive(LogicBlock)]
pub struct MacTx {
    pub clock: Signal<In, Clock>,
    pub frames_in: FrameSink,
    pub gmii_txd: Signal<Out, Bits<8>>,
    pub gmii_tx_en: Signal<Out, Bit>,
    pub gmii_tx_er: Signal<Out, Bit>,
    /// Frames sent whole with their FCS (wrapping).
    pub frames_sent: Signal<Out, Bits<32>>,
    /// Bytes of those frames as the stream gave them: no preamble, padding
    /// or FCS (wrapping).
    pub bytes_sent: Signal<Out, Bits<32>>,
    /// Frames cut short with `gmii_tx_er`: `error` on their last beat, or
    /// an underrun (wrapping).
    pub frames_aborted: Signal<Out, Bits<32>>,
    state: DFF<TxState>,
    /// Position in the preamble, the FCS or the gap.
    step: DFF<Bits<4>>,
    /// Bytes after the start delimiter so far (data and padding), counting
    /// the one going out this cycle, saturating. Kept one ahead so the
    /// padding decision and the byte count start from a flop, not an adder.
    length_next: DFF<Bits<16>>,
    /// `length_next` below 60 and equal to 60, set with it: the frame's
    /// end then picks padding from a flop rather than a 16-bit compare.
    short: DFF<Bit>,
    pad_end: DFF<Bit>,
    crc: DFF<Bits<32>>,
    txd: DFF<Bits<8>>,
    tx_en: DFF<Bit>,
    tx_er: DFF<Bit>,
    sent: DFF<Bits<32>>,
    bytes: DFF<Bits<32>>,
    aborted: DFF<Bits<32>>,
    crc_step: Crc32Byte,
    crc_init: Constant<Bits<32>>,
}

impl Default for MacTx {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            frames_in: Default::default(),
            gmii_txd: Default::default(),
            gmii_tx_en: Default::default(),
            gmii_tx_er: Default::default(),
            frames_sent: Default::default(),
            bytes_sent: Default::default(),
            frames_aborted: Default::default(),
            state: Default::default(),
            step: Default::default(),
            length_next: Default::default(),
            short: Default::default(),
            pad_end: Default::default(),
            crc: Default::default(),
            txd: Default::default(),
            tx_en: Default::default(),
            tx_er: Default::default(),
            sent: Default::default(),
            bytes: Default::default(),
            aborted: Default::default(),
            crc_step: Default::default(),
            crc_init: Constant::new((CRC32_INIT as u64).into()),
        }
    }
}

impl Logic for MacTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, step, length_next, short, pad_end, crc, txd, tx_en, tx_er, sent, bytes, aborted);
        self.gmii_txd.next = self.txd.q.val();
        self.gmii_tx_en.next = self.tx_en.q.val();
        self.gmii_tx_er.next = self.tx_er.q.val();
        self.frames_sent.next = self.sent.q.val();
        self.bytes_sent.next = self.bytes.q.val();
        self.frames_aborted.next = self.aborted.q.val();

        self.frames_in.ready.next = false;
        self.txd.d.next = 0.into();
        self.tx_en.d.next = false;
        self.tx_er.d.next = false;
        self.crc_step.crc_in.next = self.crc.q.val();
        self.crc_step.data.next = self.frames_in.data.val();

        match self.state.q.val() {
            TxState::Idle => {
                if self.frames_in.valid.val() {
                    self.state.d.next = TxState::Preamble;
                    self.step.d.next = 0.into();
                }
            }
            TxState::Preamble => {
                self.tx_en.d.next = true;
                self.txd.d.next = 0x55.into();
                self.step.d.next = self.step.q.val() + 1;
                if self.step.q.val() == 7 {
                    self.txd.d.next = 0xD5.into();
                    self.state.d.next = TxState::Data;
                    self.length_next.d.next = 1.into();
                    self.short.d.next = true;
                    self.pad_end.d.next = false;
                    self.crc.d.next = self.crc_init.val();
                }
            }
            TxState::Data => {
                self.frames_in.ready.next = true;
                self.tx_en.d.next = true;
                if self.frames_in.valid.val() {
                    self.txd.d.next = self.frames_in.data.val();
                    self.crc.d.next = self.crc_step.crc_out.val();
                    if self.length_next.q.val() != 0xFFFF {
                        self.length_next.d.next = self.length_next.q.val() + 1;
                        self.short.d.next = self.length_next.q.val() < 59;
                        self.pad_end.d.next = self.length_next.q.val() == 59;
                    }
                    if self.frames_in.last.val() {
                        self.step.d.next = 0.into();
                        if self.frames_in.error.val() {
                            self.tx_er.d.next = true;
                            self.aborted.d.next = self.aborted.q.val() + 1;
                            self.state.d.next = TxState::Gap;
                        } else {
                            self.sent.d.next = self.sent.q.val() + 1;
                            self.bytes.d.next = self.bytes.q.val()
                                + bit_cast::<32, 16>(self.length_next.q.val());
                            if self.short.q.val() {
                                self.state.d.next = TxState::Pad;
                            } else {
                                self.state.d.next = TxState::Fcs;
                            }
                        }
                    }
                } else {
                    self.tx_er.d.next = true;
                    self.aborted.d.next = self.aborted.q.val() + 1;
                    self.state.d.next = TxState::Drain;
                }
            }
            TxState::Pad => {
                self.tx_en.d.next = true;
                self.crc_step.data.next = 0.into();
                self.crc.d.next = self.crc_step.crc_out.val();
                self.length_next.d.next = self.length_next.q.val() + 1;
                self.short.d.next = self.length_next.q.val() < 59;
                self.pad_end.d.next = self.length_next.q.val() == 59;
                if self.pad_end.q.val() {
                    self.state.d.next = TxState::Fcs;
                }
            }
            TxState::Fcs => {
                self.tx_en.d.next = true;
                self.txd.d.next = !self.crc.q.val().get_bits::<8>(0);
                self.crc.d.next = self.crc.q.val() >> 8;
                self.step.d.next = self.step.q.val() + 1;
                if self.step.q.val() == 3 {
                    self.step.d.next = 0.into();
                    self.state.d.next = TxState::Gap;
                }
            }
            TxState::Gap => {
                // 11 cycles here and at least one in Idle make the 12-byte gap.
                self.step.d.next = self.step.q.val() + 1;
                if self.step.q.val() == 10 {
                    self.state.d.next = TxState::Idle;
                }
            }
            TxState::Drain => {
                self.frames_in.ready.next = true;
                if self.frames_in.valid.val() & self.frames_in.last.val() {
                    self.step.d.next = 0.into();
                    self.state.d.next = TxState::Gap;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::crc32::wire_bytes;
    use crate::harness::Harness;
    use std::collections::VecDeque;

    /// One cycle on GMII: (tx_en, tx_er, txd).
    type GmiiBeat = (bool, bool, u8);

    /// A transmission seen on the wire: the cycle tx_en rose, its bytes,
    /// and the offsets at which tx_er was high.
    #[derive(Debug)]
    struct Burst {
        start: u64,
        bytes: Vec<u8>,
        er_at: Vec<usize>,
    }

    fn bursts(wire: &[GmiiBeat]) -> Vec<Burst> {
        let mut out: Vec<Burst> = vec![];
        let mut prev = false;
        for (c, &(en, er, d)) in wire.iter().enumerate() {
            if en {
                if !prev {
                    out.push(Burst { start: c as u64, bytes: vec![], er_at: vec![] });
                }
                let b = out.last_mut().unwrap();
                if er {
                    b.er_at.push(b.bytes.len());
                }
                b.bytes.push(d);
            } else {
                assert!(!er, "tx_er without tx_en at cycle {c}");
            }
            prev = en;
        }
        out
    }

    /// Offers `frames` (bytes, error on the last beat) back to back; in a
    /// frame, beat `stall` (if any) is withheld for one cycle. Returns the
    /// GMII beats, one per cycle, and the harness for its counters.
    fn run(
        frames: &[(Vec<u8>, bool)],
        stall: Option<(usize, usize)>,
    ) -> (Vec<GmiiBeat>, Harness<MacTx>) {
        let mut h = Harness::new(MacTx::default(), |m| &mut m.clock);
        let mut queue: VecDeque<(usize, &(Vec<u8>, bool))> = frames.iter().enumerate().collect();
        let mut pos = 0;
        let mut stalled = false;
        let mut wire = vec![];
        let mut idle = 0;
        while idle < 40 {
            let beat = queue.front().map(|&(n, (bytes, error))| (n, bytes, *error));
            let withhold = match (beat, stall) {
                (Some((n, _, _)), Some((sn, sp))) => n == sn && pos == sp && !stalled,
                _ => false,
            };
            h.uut.frames_in.valid.next = beat.is_some() && !withhold;
            if let Some((_, bytes, error)) = beat {
                let last = pos + 1 == bytes.len();
                h.uut.frames_in.data.next = (bytes[pos] as u64).into();
                h.uut.frames_in.last.next = last;
                h.uut.frames_in.error.next = last && error;
            }
            h.settle();
            if h.uut.frames_in.ready.val() && withhold {
                stalled = true;
            }
            if h.uut.frames_in.ready.val() && h.uut.frames_in.valid.val() {
                pos += 1;
                if pos == beat.unwrap().1.len() {
                    queue.pop_front();
                    pos = 0;
                }
            }
            h.cycle();
            let u = &h.uut;
            wire.push((u.gmii_tx_en.val(), u.gmii_tx_er.val(), u.gmii_txd.val().index() as u8));
            if queue.is_empty() && !u.gmii_tx_en.val() {
                idle += 1;
            }
            assert!(h.cycles < 100_000, "transmitter hung");
        }
        (wire, h)
    }

    fn frame(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(73).wrapping_add(seed) | 1).collect()
    }

    #[test]
    fn sends_preamble_data_padding_and_fcs_at_wire_rate() {
        let lens = [14usize, 59, 60, 64, 1514, 1522, 14, 61];
        let frames: Vec<(Vec<u8>, bool)> =
            lens.iter().enumerate().map(|(i, &l)| (frame(l, i as u8), false)).collect();
        let (wire, h) = run(&frames, None);
        let seen = bursts(&wire);
        assert_eq!(seen.len(), frames.len());
        for (i, ((f, _), b)) in frames.iter().zip(&seen).enumerate() {
            assert!(b.er_at.is_empty(), "frame {i}: tx_er at {:?}", b.er_at);
            assert_eq!(b.bytes, wire_bytes(f, 7), "frame {i} of {} bytes", f.len());
        }
        // Offered back to back, each frame holds the wire exactly
        // wire_cycles(len): preamble, data or padding, FCS and a 12-cycle gap.
        for i in 1..seen.len() {
            let len = frames[i - 1].0.len() as u64;
            assert_eq!(seen[i].start - seen[i - 1].start, len.max(60) + 8 + 4 + 12, "frame {}", i - 1);
            let idle = seen[i].start - seen[i - 1].start - seen[i - 1].bytes.len() as u64;
            assert_eq!(idle, 12);
        }
        assert_eq!(u64::from(h.uut.frames_sent.val()), lens.len() as u64);
        assert_eq!(u64::from(h.uut.bytes_sent.val()), lens.iter().sum::<usize>() as u64);
        assert_eq!(u64::from(h.uut.frames_aborted.val()), 0);
    }

    #[test]
    fn error_frames_and_underruns_end_with_tx_er_and_no_fcs() {
        let frames = vec![
            (frame(100, 1), false),
            (frame(80, 2), true),
            (frame(70, 3), false),
            (frame(90, 4), false),
            (frame(20, 5), true),
            (frame(64, 6), false),
        ];
        // Frame 3 loses its source for a cycle at byte 30.
        let (wire, h) = run(&frames, Some((3, 30)));
        let seen = bursts(&wire);
        assert_eq!(seen.len(), 6);
        for i in [0, 2, 5] {
            assert_eq!(seen[i].bytes, wire_bytes(&frames[i].0, 7));
            assert!(seen[i].er_at.is_empty());
        }
        // An error frame: its last byte goes out as an error symbol, then nothing.
        for i in [1, 4] {
            let n = frames[i].0.len();
            assert_eq!(seen[i].bytes.len(), 8 + n);
            assert_eq!(seen[i].bytes[..8 + n - 1], wire_bytes(&frames[i].0, 7)[..8 + n - 1]);
            assert_eq!(seen[i].er_at, vec![8 + n - 1]);
        }
        // The underrun: error symbol where byte 30 was due; the rest of the
        // frame is swallowed, the next frame is whole.
        assert_eq!(seen[3].bytes.len(), 8 + 31);
        assert_eq!(seen[3].bytes[..38], wire_bytes(&frames[3].0, 7)[..38]);
        assert_eq!(seen[3].er_at, vec![38]);
        for i in 1..seen.len() {
            let idle = seen[i].start - seen[i - 1].start - seen[i - 1].bytes.len() as u64;
            assert!(idle >= 12, "gap of {idle} before frame {i}");
        }
        assert_eq!(u64::from(h.uut.frames_sent.val()), 3);
        assert_eq!(u64::from(h.uut.bytes_sent.val()), 100 + 70 + 64);
        assert_eq!(u64::from(h.uut.frames_aborted.val()), 3);
    }

    #[test]
    fn generates_verilog() {
        let mut uut = MacTx::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
        if let Ok(p) = std::env::var("DUMP_VERILOG") {
            std::fs::write(p, v).unwrap();
        }
    }
}
