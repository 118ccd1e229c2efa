//! The receive half of the 1 Gb/s MAC at GMII level: finds the preamble and
//! start delimiter, strips the FCS, checks it, and streams each frame out
//! one byte per beat with `last` on its final data byte and `error` there
//! if the frame must not be trusted. Bad frames are not dropped here: they
//! come out marked, so `FrameCheck` and the FIFOs behind it discard them,
//! and the reason is counted here.
//!
//! A receive MAC cannot pause the wire, so `frames_out.ready` is ignored:
//! the consumer must hold it high (see `ports::frame_stream`).
//!
//! Framing: a burst of `rx_dv` must begin with at least one 0x55 followed by
//! 0xD5; any other first non-0x55 byte, or a burst that ends inside the
//! preamble, is dropped and counted in `no_sfd`. The FCS is only known to be
//! the FCS when `rx_dv` falls, so bytes are held back five deep (four for
//! the FCS, one to learn whether a byte is the last): every data byte
//! leaves `frames_out` exactly [`LATENCY`] cycles after the clock edge that
//! sampled it from GMII, the last one as `rx_dv` has been low for one edge.
//! Frames back to back need `rx_dv` low for only one cycle between them.
//!
//! Each frame that reaches its start delimiter is counted once, by the
//! first reason that applies: `symbol_errors` (`rx_er` with `rx_dv`
//! anywhere in the burst), `fcs_errors`, `runts` (under 64 bytes with FCS),
//! `giants` (over `max_frame_bytes` + 4 with FCS), else `good_frames` and
//! `good_bytes` (data bytes, FCS excluded). Padding is data to a MAC, so a
//! padded frame comes out with its padding. A frame of 1 to 4 bytes after
//! the delimiter has no data byte to carry `last`: nothing comes out for it
//! and it is counted (symbol error or runt, as above). Giants are streamed
//! whole; the length count saturates, so a jabbering PHY still ends up
//! counted as a giant when `rx_dv` finally falls.

use super::crc32::{Crc32Byte, CRC32_INIT, CRC32_RESIDUE};
use crate::params::NicParams;
use crate::ports::FrameSource;
use rust_hdl::prelude::*;

/// Clock edges from the one that samples a data byte off GMII to the one
/// after which it is on `frames_out`.
pub const LATENCY: u64 = 6;

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum RxState {
    /// Between bursts.
    Idle,
    Preamble,
    Data,
    /// The burst had no start delimiter: wait for rx_dv to fall.
    Discard,
}

#[derive(LogicBlock)]
pub struct MacRx {
    pub clock: Signal<In, Clock>,
    pub gmii_rxd: Signal<In, Bits<8>>,
    pub gmii_rx_dv: Signal<In, Bit>,
    pub gmii_rx_er: Signal<In, Bit>,
    pub frames_out: FrameSource,
    /// Counters, wrapping: one reason per bad frame, in this priority.
    pub symbol_errors: Signal<Out, Bits<32>>,
    pub fcs_errors: Signal<Out, Bits<32>>,
    pub runts: Signal<Out, Bits<32>>,
    pub giants: Signal<Out, Bits<32>>,
    pub no_sfd: Signal<Out, Bits<32>>,
    pub good_frames: Signal<Out, Bits<32>>,
    pub good_bytes: Signal<Out, Bits<32>>,
    // GMII input registers.
    rxd: DFF<Bits<8>>,
    rx_dv: DFF<Bit>,
    rx_er: DFF<Bit>,
    state: DFF<RxState>,
    /// The last four bytes received, newest in the low byte: the FCS once
    /// rx_dv falls.
    held: DFF<Bits<32>>,
    /// The byte before those four, out as soon as the next byte shows it
    /// was not the last.
    pending: DFF<Bits<8>>,
    pending_valid: DFF<Bit>,
    /// Bytes after the start delimiter, FCS included, saturating.
    length: DFF<Bits<16>>,
    crc: DFF<Bits<32>>,
    symbol: DFF<Bit>,
    out_data: DFF<Bits<8>>,
    out_valid: DFF<Bit>,
    out_last: DFF<Bit>,
    out_error: DFF<Bit>,
    n_symbol: DFF<Bits<32>>,
    n_fcs: DFF<Bits<32>>,
    n_runt: DFF<Bits<32>>,
    n_giant: DFF<Bits<32>>,
    n_no_sfd: DFF<Bits<32>>,
    n_good: DFF<Bits<32>>,
    n_bytes: DFF<Bits<32>>,
    crc_step: Crc32Byte,
    crc_init: Constant<Bits<32>>,
    residue: Constant<Bits<32>>,
    /// max_frame_bytes + 4: the longest frame with FCS.
    max_len: Constant<Bits<16>>,
    length_next: Signal<Local, Bits<16>>,
    bad_fcs: Signal<Local, Bit>,
    runt: Signal<Local, Bit>,
    giant: Signal<Local, Bit>,
}

impl MacRx {
    pub fn new(params: &NicParams) -> Self {
        assert!(params.max_frame_bytes + 4 < 0xFFFF, "the length count is 16 bits");
        Self {
            clock: Default::default(),
            gmii_rxd: Default::default(),
            gmii_rx_dv: Default::default(),
            gmii_rx_er: Default::default(),
            frames_out: Default::default(),
            symbol_errors: Default::default(),
            fcs_errors: Default::default(),
            runts: Default::default(),
            giants: Default::default(),
            no_sfd: Default::default(),
            good_frames: Default::default(),
            good_bytes: Default::default(),
            rxd: Default::default(),
            rx_dv: Default::default(),
            rx_er: Default::default(),
            state: Default::default(),
            held: Default::default(),
            pending: Default::default(),
            pending_valid: Default::default(),
            length: Default::default(),
            crc: Default::default(),
            symbol: Default::default(),
            out_data: Default::default(),
            out_valid: Default::default(),
            out_last: Default::default(),
            out_error: Default::default(),
            n_symbol: Default::default(),
            n_fcs: Default::default(),
            n_runt: Default::default(),
            n_giant: Default::default(),
            n_no_sfd: Default::default(),
            n_good: Default::default(),
            n_bytes: Default::default(),
            crc_step: Default::default(),
            crc_init: Constant::new((CRC32_INIT as u64).into()),
            residue: Constant::new((CRC32_RESIDUE as u64).into()),
            max_len: Constant::new(((params.max_frame_bytes + 4) as u64).into()),
            length_next: Default::default(),
            bad_fcs: Default::default(),
            runt: Default::default(),
            giant: Default::default(),
        }
    }
}

impl Logic for MacRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            rxd,
            rx_dv,
            rx_er,
            state,
            held,
            pending,
            pending_valid,
            length,
            crc,
            symbol,
            out_data,
            out_valid,
            out_last,
            out_error,
            n_symbol,
            n_fcs,
            n_runt,
            n_giant,
            n_no_sfd,
            n_good,
            n_bytes
        );
        self.rxd.d.next = self.gmii_rxd.val();
        self.rx_dv.d.next = self.gmii_rx_dv.val();
        self.rx_er.d.next = self.gmii_rx_er.val();

        self.frames_out.data.next = self.out_data.q.val();
        self.frames_out.valid.next = self.out_valid.q.val();
        self.frames_out.last.next = self.out_last.q.val();
        self.frames_out.error.next = self.out_error.q.val();
        self.symbol_errors.next = self.n_symbol.q.val();
        self.fcs_errors.next = self.n_fcs.q.val();
        self.runts.next = self.n_runt.q.val();
        self.giants.next = self.n_giant.q.val();
        self.no_sfd.next = self.n_no_sfd.q.val();
        self.good_frames.next = self.n_good.q.val();
        self.good_bytes.next = self.n_bytes.q.val();

        self.out_valid.d.next = false;
        self.out_last.d.next = false;
        self.out_error.d.next = false;
        self.out_data.d.next = self.pending.q.val();
        self.crc_step.crc_in.next = self.crc.q.val();
        self.crc_step.data.next = self.rxd.q.val();
        self.length_next.next = self.length.q.val();
        if self.length.q.val() != 0xFFFF {
            self.length_next.next = self.length.q.val() + 1;
        }
        // A frame too short to hold a data byte has no FCS worth checking:
        // it is a runt.
        self.bad_fcs.next = (self.crc.q.val() != self.residue.val()) & self.pending_valid.q.val();
        self.runt.next = self.length.q.val() < 64;
        self.giant.next = self.length.q.val() > self.max_len.val();

        match self.state.q.val() {
            RxState::Idle => {
                self.symbol.d.next = self.rx_er.q.val();
                if self.rx_dv.q.val() {
                    if self.rxd.q.val() == 0x55 {
                        self.state.d.next = RxState::Preamble;
                    } else {
                        self.state.d.next = RxState::Discard;
                        self.n_no_sfd.d.next = self.n_no_sfd.q.val() + 1;
                    }
                }
            }
            RxState::Preamble => {
                if self.rx_dv.q.val() {
                    if self.rx_er.q.val() {
                        self.symbol.d.next = true;
                    }
                    if self.rxd.q.val() == 0xD5 {
                        self.state.d.next = RxState::Data;
                        self.length.d.next = 0.into();
                        self.crc.d.next = self.crc_init.val();
                        self.pending_valid.d.next = false;
                    } else if self.rxd.q.val() != 0x55 {
                        self.state.d.next = RxState::Discard;
                        self.n_no_sfd.d.next = self.n_no_sfd.q.val() + 1;
                    }
                } else {
                    self.state.d.next = RxState::Idle;
                    self.n_no_sfd.d.next = self.n_no_sfd.q.val() + 1;
                }
            }
            RxState::Data => {
                if self.rx_dv.q.val() {
                    if self.rx_er.q.val() {
                        self.symbol.d.next = true;
                    }
                    self.length.d.next = self.length_next.val();
                    self.crc.d.next = self.crc_step.crc_out.val();
                    self.held.d.next = (self.held.q.val() << 8)
                        | bit_cast::<32, 8>(self.rxd.q.val());
                    if self.length.q.val() >= 4 {
                        self.pending.d.next = self.held.q.val().get_bits::<8>(24);
                        self.pending_valid.d.next = true;
                    }
                    self.out_valid.d.next = self.pending_valid.q.val();
                } else {
                    self.state.d.next = RxState::Idle;
                    self.pending_valid.d.next = false;
                    self.out_valid.d.next = self.pending_valid.q.val();
                    self.out_last.d.next = self.pending_valid.q.val();
                    self.out_error.d.next = self.pending_valid.q.val()
                        & (self.symbol.q.val() | self.bad_fcs.val() | self.runt.val() | self.giant.val());
                    if self.symbol.q.val() {
                        self.n_symbol.d.next = self.n_symbol.q.val() + 1;
                    } else if self.bad_fcs.val() {
                        self.n_fcs.d.next = self.n_fcs.q.val() + 1;
                    } else if self.runt.val() {
                        self.n_runt.d.next = self.n_runt.q.val() + 1;
                    } else if self.giant.val() {
                        self.n_giant.d.next = self.n_giant.q.val() + 1;
                    } else {
                        self.n_good.d.next = self.n_good.q.val() + 1;
                        self.n_bytes.d.next =
                            self.n_bytes.q.val() + bit_cast::<32, 16>(self.length.q.val()) - 4;
                    }
                }
            }
            RxState::Discard => {
                if !self.rx_dv.q.val() {
                    self.state.d.next = RxState::Idle;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::crc32::{fcs, wire_bytes};
    use crate::harness::Harness;

    /// One GMII cycle: (rx_dv, rx_er, rxd).
    type Beat = (bool, bool, u8);

    struct Rx {
        h: Harness<MacRx>,
        frames: Vec<(Vec<u8>, bool)>,
        current: Vec<u8>,
        /// Edge after which each output beat of the current run appeared.
        out_edges: Vec<u64>,
    }

    impl Rx {
        fn new() -> Self {
            let mut h = Harness::new(MacRx::new(&NicParams::default()), |m| &mut m.clock);
            h.uut.frames_out.ready.next = true;
            Self { h, frames: vec![], current: vec![], out_edges: vec![] }
        }

        fn step(&mut self, (dv, er, d): Beat) {
            let u = &mut self.h.uut;
            u.gmii_rx_dv.next = dv;
            u.gmii_rx_er.next = er;
            u.gmii_rxd.next = (d as u64).into();
            self.h.cycle();
            let o = &self.h.uut.frames_out;
            if o.valid.val() {
                self.out_edges.push(self.h.cycles);
                self.current.push(o.data.val().index() as u8);
                if o.last.val() {
                    self.frames.push((std::mem::take(&mut self.current), o.error.val()));
                } else {
                    assert!(!o.error.val(), "error before the last beat");
                }
            }
        }

        fn feed(&mut self, beats: &[Beat]) {
            for &b in beats {
                self.step(b);
            }
        }

        fn idle(&mut self, n: usize) {
            for _ in 0..n {
                self.step((false, false, 0));
            }
        }

        /// Lets the pipeline drain and returns the frames seen so far.
        fn finish(&mut self) -> Vec<(Vec<u8>, bool)> {
            self.idle(12);
            assert!(self.current.is_empty(), "a frame without last");
            std::mem::take(&mut self.frames)
        }

        /// symbol, fcs, runt, giant, no_sfd, good frames, good bytes.
        fn counters(&self) -> [u64; 7] {
            let u = &self.h.uut;
            [
                u.symbol_errors.val(),
                u.fcs_errors.val(),
                u.runts.val(),
                u.giants.val(),
                u.no_sfd.val(),
                u.good_frames.val(),
                u.good_bytes.val(),
            ]
            .map(u64::from)
        }
    }

    fn on_wire(bytes: &[u8]) -> Vec<Beat> {
        bytes.iter().map(|&b| (true, false, b)).collect()
    }

    /// Preamble, delimiter, `data` and its FCS, without padding.
    fn unpadded(data: &[u8]) -> Vec<u8> {
        let mut w = vec![0x55; 7];
        w.push(0xD5);
        w.extend_from_slice(data);
        w.extend_from_slice(&fcs(data).to_le_bytes());
        w
    }

    fn frame(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(151).wrapping_add(seed)).collect()
    }

    #[test]
    fn returns_good_frames_byte_for_byte_at_a_fixed_latency() {
        let mut rx = Rx::new();
        let lens = [60usize, 61, 64, 100, 1514, 1518, 1522, 60];
        for (i, &l) in lens.iter().enumerate() {
            rx.feed(&on_wire(&wire_bytes(&frame(l, i as u8), 7)));
            rx.idle(12);
        }
        let got = rx.finish();
        let want: Vec<_> = lens.iter().enumerate().map(|(i, &l)| (frame(l, i as u8), false)).collect();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(g == w, "frame {i}: {} bytes error {} for {} bytes", g.0.len(), g.1, w.0.len());
        }
        assert_eq!(rx.counters(), [0, 0, 0, 0, 0, 8, lens.iter().sum::<usize>() as u64]);

        // Data byte i is sampled by edge start + 8 + i + 1 and comes out LATENCY later.
        let mut rx = Rx::new();
        rx.idle(3);
        let start = rx.h.cycles;
        rx.feed(&on_wire(&wire_bytes(&frame(70, 9), 7)));
        rx.finish();
        assert_eq!(rx.out_edges.len(), 70);
        for (i, &e) in rx.out_edges.iter().enumerate() {
            assert_eq!(e, start + 8 + i as u64 + 1 + LATENCY, "byte {i}");
        }
    }

    #[test]
    fn marks_and_counts_each_bad_frame_once() {
        let mut rx = Rx::new();
        let mut want = vec![];
        let gap = |rx: &mut Rx| rx.idle(12);
        let good = frame(100, 1);

        rx.feed(&on_wire(&wire_bytes(&good, 7)));
        want.push((good.clone(), false));
        gap(&mut rx);
        // Corrupted FCS.
        let mut w = wire_bytes(&good, 7);
        *w.last_mut().unwrap() ^= 0x10;
        rx.feed(&on_wire(&w));
        want.push((good.clone(), true));
        gap(&mut rx);
        // One bit flipped in the data.
        let mut w = wire_bytes(&good, 7);
        w[8 + 50] ^= 0x04;
        rx.feed(&on_wire(&w));
        let mut flipped = good.clone();
        flipped[50] ^= 0x04;
        want.push((flipped, true));
        gap(&mut rx);
        // rx_er mid-frame, FCS good: a symbol error.
        let mut b = on_wire(&wire_bytes(&good, 7));
        b[8 + 30].1 = true;
        rx.feed(&b);
        want.push((good.clone(), true));
        gap(&mut rx);
        // rx_er and a bad FCS: counted once, as a symbol error.
        let mut b = on_wire(&wire_bytes(&good, 7));
        b[8 + 31].1 = true;
        b[8 + 31].2 ^= 0xFF;
        let mut hit = good.clone();
        hit[31] ^= 0xFF;
        rx.feed(&b);
        want.push((hit, true));
        gap(&mut rx);
        // A runt: 40 bytes and a good FCS, not padded.
        rx.feed(&on_wire(&unpadded(&frame(40, 2))));
        want.push((frame(40, 2), true));
        gap(&mut rx);
        // One byte short of the 64-byte minimum is a runt too.
        rx.feed(&on_wire(&unpadded(&frame(59, 2))));
        want.push((frame(59, 2), true));
        gap(&mut rx);
        // A runt with a bad FCS counts as an FCS error.
        let mut w = unpadded(&frame(40, 3));
        w[10] ^= 1;
        rx.feed(&on_wire(&w));
        let mut f = frame(40, 3);
        f[2] ^= 1;
        want.push((f, true));
        gap(&mut rx);
        // Giant: one byte over max_frame_bytes; the longest good frame passes.
        rx.feed(&on_wire(&wire_bytes(&frame(1523, 4), 7)));
        want.push((frame(1523, 4), true));
        gap(&mut rx);
        rx.feed(&on_wire(&wire_bytes(&frame(1522, 5), 7)));
        want.push((frame(1522, 5), false));
        gap(&mut rx);
        // No start delimiter: a wrong byte after the preamble, no preamble
        // at all, and a burst of preamble only. Nothing comes out.
        let mut w = wire_bytes(&good, 7);
        w[7] = 0x5D;
        rx.feed(&on_wire(&w));
        gap(&mut rx);
        rx.feed(&on_wire(&wire_bytes(&good, 0)));
        gap(&mut rx);
        rx.feed(&on_wire(&[0x55; 5]));
        gap(&mut rx);
        // Preambles of 1 and 15 bytes are fine.
        rx.feed(&on_wire(&wire_bytes(&frame(64, 6), 1)));
        want.push((frame(64, 6), false));
        gap(&mut rx);
        rx.feed(&on_wire(&wire_bytes(&frame(64, 7), 15)));
        want.push((frame(64, 7), false));
        gap(&mut rx);
        // Bursts of 0 to 4 bytes after the delimiter carry no data byte:
        // nothing comes out, each is a runt. Five bytes, a byte and its
        // good FCS, make a 1-byte frame that is a runt too.
        for n in [0usize, 2, 4] {
            let mut w = vec![0x55, 0x55, 0xD5];
            w.extend(frame(n, 8));
            rx.feed(&on_wire(&w));
            gap(&mut rx);
        }
        rx.feed(&on_wire(&unpadded(&frame(1, 9))[6..]));
        want.push((frame(1, 9), true));
        gap(&mut rx);
        // rx_er with rx_dv low (carrier extension, false carrier) is not a frame.
        rx.feed(&[(false, true, 0x0E); 3]);
        gap(&mut rx);
        rx.feed(&on_wire(&wire_bytes(&frame(60, 10), 7)));
        want.push((frame(60, 10), false));

        let got = rx.finish();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(g == w, "frame {i}: {} bytes error {}, want {} bytes error {}", g.0.len(), g.1, w.0.len(), w.1);
        }
        let good_bytes = 100 + 1522 + 64 + 64 + 60;
        // symbol, fcs, runt, giant, no_sfd, good frames, good bytes
        assert_eq!(rx.counters(), [2, 3, 6, 1, 3, 5, good_bytes]);
    }

    #[test]
    fn takes_frames_back_to_back_at_the_minimum_gap_and_at_one_cycle() {
        for gap in [12usize, 1] {
            let mut rx = Rx::new();
            let frames: Vec<Vec<u8>> = (0..20).map(|i| frame(60 + (i * 37) % 200, i as u8)).collect();
            for f in &frames {
                rx.feed(&on_wire(&wire_bytes(f, 7)));
                rx.idle(gap);
            }
            let got = rx.finish();
            assert_eq!(got, frames.iter().map(|f| (f.clone(), false)).collect::<Vec<_>>(), "gap {gap}");
            let bytes: usize = frames.iter().map(|f| f.len()).sum();
            assert_eq!(rx.counters(), [0, 0, 0, 0, 0, 20, bytes as u64], "gap {gap}");
        }
    }

    /// Frames shaped like real traffic: ARP, UDP, TCP SYN, a bare header,
    /// and VLAN and QinQ frames of the longest lengths.
    fn real_frames() -> Vec<Vec<u8>> {
        let bcast = [0xFFu8; 6];
        let a = [0x02, 0x00, 0x5E, 0x10, 0x00, 0x01];
        let b = [0x3C, 0xFD, 0xFE, 0xA0, 0x12, 0x34];
        let eth = |dst: &[u8], src: &[u8], ty: &[u8]| -> Vec<u8> { [dst, src, ty].concat() };
        let ipv4 = |proto: u8, len: u16| -> Vec<u8> {
            let mut h = vec![0x45, 0, (len >> 8) as u8, len as u8, 0x1C, 0x46, 0x40, 0, 64, proto, 0, 0];
            h.extend([10, 0, 0, 1, 10, 0, 0, 2]);
            h
        };
        let mut arp = eth(&bcast, &a, &[0x08, 0x06]);
        arp.extend([0, 1, 8, 0, 6, 4, 0, 1]);
        arp.extend(a);
        arp.extend([10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
        assert_eq!(arp.len(), 42);
        let mut udp = eth(&b, &a, &[0x08, 0x00]);
        udp.extend(ipv4(17, 46));
        udp.extend([0x30, 0x39, 0x00, 0x35, 0, 26, 0, 0]);
        udp.extend(b"arsenic-rs payload");
        assert_eq!(udp.len(), 60);
        let mut syn = eth(&a, &b, &[0x08, 0x00]);
        syn.extend(ipv4(6, 60));
        syn.extend([0xC3, 0x50, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0xA0, 0x02, 0xFA, 0xF0, 0, 0, 0, 0]);
        syn.extend([2, 4, 5, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]);
        assert_eq!(syn.len(), 74);
        let mut vlan = eth(&b, &a, &[0x81, 0x00, 0x00, 0x64, 0x08, 0x00]);
        vlan.extend(ipv4(17, 1500));
        vlan.extend(frame(1500 - 20, 11));
        assert_eq!(vlan.len(), 1518);
        let mut qinq = eth(&b, &a, &[0x88, 0xA8, 0x00, 0x0A, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00]);
        qinq.extend(ipv4(17, 1500));
        qinq.extend(frame(1500 - 20, 12));
        assert_eq!(qinq.len(), 1522);
        let bare = eth(&bcast, &a, &[0x88, 0xB5]);
        vec![arp, udp, syn, bare, vlan, qinq]
    }

    #[test]
    fn loopback_through_mac_tx_returns_every_frame() {
        use crate::blocks::MacTx;
        use std::collections::VecDeque;
        let mut tx = Harness::new(MacTx::default(), |m| &mut m.clock);
        let mut rx = Rx::new();
        let mut frames: Vec<(Vec<u8>, bool)> = real_frames().into_iter().map(|f| (f, false)).collect();
        frames.extend((0..10).map(|i| (frame(14 + i * 151, i as u8), false)));
        // One frame the core flags: MacTx cuts it with tx_er, MacRx marks it.
        frames.insert(3, (frame(200, 99), true));
        let mut queue: VecDeque<&(Vec<u8>, bool)> = frames.iter().collect();
        let mut pos = 0;
        let mut quiet = 0;
        while quiet < 40 {
            let u = &mut tx.uut;
            let beat = queue.front().copied();
            u.frames_in.valid.next = beat.is_some();
            if let Some((bytes, error)) = beat {
                let last = pos + 1 == bytes.len();
                u.frames_in.data.next = (bytes[pos] as u64).into();
                u.frames_in.last.next = last;
                u.frames_in.error.next = last && *error;
            }
            tx.settle();
            if let Some((bytes, _)) = beat.filter(|_| tx.uut.frames_in.ready.val()) {
                pos += 1;
                if pos == bytes.len() {
                    queue.pop_front();
                    pos = 0;
                }
            }
            let wire = (tx.uut.gmii_tx_en.val(), tx.uut.gmii_tx_er.val(), tx.uut.gmii_txd.val().index() as u8);
            tx.cycle();
            rx.step(wire);
            quiet = if queue.is_empty() && !wire.0 { quiet + 1 } else { 0 };
        }
        let got = rx.finish();
        assert_eq!(got.len(), frames.len());
        let mut bytes = 0;
        for (i, ((f, bad), (g, err))) in frames.iter().zip(&got).enumerate() {
            assert_eq!(err, bad, "frame {i}");
            if !bad {
                // Padding is data to the receiver.
                let mut padded = f.clone();
                padded.resize(f.len().max(60), 0);
                assert!(*g == padded, "frame {i} of {} bytes", f.len());
                bytes += padded.len() as u64;
            }
        }
        assert_eq!(rx.counters(), [1, 0, 0, 0, 0, frames.len() as u64 - 1, bytes]);
        assert_eq!(u64::from(tx.uut.frames_aborted.val()), 1);
    }

    #[test]
    fn generates_verilog() {
        let mut uut = MacRx::new(&NicParams::default());
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
        if let Ok(p) = std::env::var("DUMP_VERILOG") {
            std::fs::write(p, v).unwrap();
        }
    }
}
