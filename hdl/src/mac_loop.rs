//! A test top for the GMII MAC in Verilator: one `MacTx` and one `MacRx`
//! with the wire between them left open, so the test bench sits on it and
//! can pass bytes through, corrupt them, or drive its own GMII (runts,
//! giants, missing start delimiters, `rx_er`, frames at the minimum gap).
//!
//! `tx_frames` feeds `MacTx` directly, with no FIFO in front: the bench must
//! offer a byte on every cycle `ready` is high until `last`, as the
//! store-and-forward FIFO on a board would, and by falling short on
//! purpose it reaches `MacTx`'s underrun path. `rx_frames.ready` is passed
//! to `MacRx`, which ignores it (a receive MAC cannot pause the wire).
//! Every counter of both blocks is a port. Generated as
//! `verilog-out/mac_loop.v` (`generate::MAC_LOOP_FILE`).

use crate::blocks::{MacRx, MacTx};
use crate::params::NicParams;
use crate::ports::{FrameSink, FrameSource};
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct MacLoop {
    pub clock: Signal<In, Clock>,
    /// Frames for `MacTx` (no preamble, no FCS).
    pub tx_frames: FrameSink,
    pub gmii_txd: Signal<Out, Bits<8>>,
    pub gmii_tx_en: Signal<Out, Bit>,
    pub gmii_tx_er: Signal<Out, Bit>,
    pub gmii_rxd: Signal<In, Bits<8>>,
    pub gmii_rx_dv: Signal<In, Bit>,
    pub gmii_rx_er: Signal<In, Bit>,
    /// Frames out of `MacRx`, FCS stripped, bad ones marked `error`.
    pub rx_frames: FrameSource,
    pub tx_frames_sent: Signal<Out, Bits<32>>,
    pub tx_bytes_sent: Signal<Out, Bits<32>>,
    pub tx_frames_aborted: Signal<Out, Bits<32>>,
    pub rx_symbol_errors: Signal<Out, Bits<32>>,
    pub rx_fcs_errors: Signal<Out, Bits<32>>,
    pub rx_runts: Signal<Out, Bits<32>>,
    pub rx_giants: Signal<Out, Bits<32>>,
    pub rx_no_sfd: Signal<Out, Bits<32>>,
    pub rx_good_frames: Signal<Out, Bits<32>>,
    pub rx_good_bytes: Signal<Out, Bits<32>>,
    tx: MacTx,
    rx: MacRx,
}

impl MacLoop {
    pub fn new(params: &NicParams) -> Self {
        Self {
            clock: Default::default(),
            tx_frames: Default::default(),
            gmii_txd: Default::default(),
            gmii_tx_en: Default::default(),
            gmii_tx_er: Default::default(),
            gmii_rxd: Default::default(),
            gmii_rx_dv: Default::default(),
            gmii_rx_er: Default::default(),
            rx_frames: Default::default(),
            tx_frames_sent: Default::default(),
            tx_bytes_sent: Default::default(),
            tx_frames_aborted: Default::default(),
            rx_symbol_errors: Default::default(),
            rx_fcs_errors: Default::default(),
            rx_runts: Default::default(),
            rx_giants: Default::default(),
            rx_no_sfd: Default::default(),
            rx_good_frames: Default::default(),
            rx_good_bytes: Default::default(),
            tx: MacTx::default(),
            rx: MacRx::new(params),
        }
    }
}

impl Logic for MacLoop {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, tx, rx);
        FrameSink::link(&mut self.tx_frames, &mut self.tx.frames_in);
        FrameSource::link(&mut self.rx_frames, &mut self.rx.frames_out);
        self.gmii_txd.next = self.tx.gmii_txd.val();
        self.gmii_tx_en.next = self.tx.gmii_tx_en.val();
        self.gmii_tx_er.next = self.tx.gmii_tx_er.val();
        self.rx.gmii_rxd.next = self.gmii_rxd.val();
        self.rx.gmii_rx_dv.next = self.gmii_rx_dv.val();
        self.rx.gmii_rx_er.next = self.gmii_rx_er.val();
        self.tx_frames_sent.next = self.tx.frames_sent.val();
        self.tx_bytes_sent.next = self.tx.bytes_sent.val();
        self.tx_frames_aborted.next = self.tx.frames_aborted.val();
        self.rx_symbol_errors.next = self.rx.symbol_errors.val();
        self.rx_fcs_errors.next = self.rx.fcs_errors.val();
        self.rx_runts.next = self.rx.runts.val();
        self.rx_giants.next = self.rx.giants.val();
        self.rx_no_sfd.next = self.rx.no_sfd.val();
        self.rx_good_frames.next = self.rx.good_frames.val();
        self.rx_good_bytes.next = self.rx.good_bytes.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::crc32::wire_bytes;
    use crate::harness::Harness;

    /// The wiring in rust-hdl's simulator: a frame offered on `tx_frames`
    /// leaves on the GMII outputs, and the same bytes fed back into the
    /// GMII inputs come out of `rx_frames`, with every counter on its port.
    /// (The Verilated top's own tests are in host-driver/tests/mac_gmii.rs.)
    #[test]
    fn wires_each_port_to_its_block() {
        let mut h = Harness::new(MacLoop::new(&NicParams::default()), |m| &mut m.clock);
        let frame: Vec<u8> = (0..70u8).map(|i| i.wrapping_mul(37) ^ 0x5A).collect();
        let mut pos = 0;
        let mut wire = vec![];
        let mut back = vec![];
        let mut last_error = None;
        for _ in 0..200 {
            let u = &mut h.uut;
            u.rx_frames.ready.next = true;
            u.tx_frames.valid.next = pos < frame.len();
            u.tx_frames.data.next = (frame[pos.min(frame.len() - 1)] as u64).into();
            u.tx_frames.last.next = pos + 1 == frame.len();
            u.tx_frames.error.next = false;
            h.settle();
            let took = h.uut.tx_frames.ready.val() && h.uut.tx_frames.valid.val();
            let tx = (h.uut.gmii_tx_en.val(), h.uut.gmii_tx_er.val(), h.uut.gmii_txd.val());
            h.uut.gmii_rx_dv.next = tx.0;
            h.uut.gmii_rx_er.next = tx.1;
            h.uut.gmii_rxd.next = tx.2;
            if tx.0 {
                wire.push(tx.2.index() as u8);
            }
            h.cycle();
            if took {
                pos += 1;
            }
            let o = &h.uut.rx_frames;
            if o.valid.val() {
                back.push(o.data.val().index() as u8);
                if o.last.val() {
                    last_error = Some(o.error.val());
                }
            }
        }
        assert_eq!(wire, wire_bytes(&frame, 7));
        assert_eq!(back, frame);
        assert_eq!(last_error, Some(false));
        let u = &h.uut;
        let counters = [
            u.tx_frames_sent.val(),
            u.tx_bytes_sent.val(),
            u.tx_frames_aborted.val(),
            u.rx_symbol_errors.val(),
            u.rx_fcs_errors.val(),
            u.rx_runts.val(),
            u.rx_giants.val(),
            u.rx_no_sfd.val(),
            u.rx_good_frames.val(),
            u.rx_good_bytes.val(),
        ]
        .map(u64::from);
        assert_eq!(counters, [1, 70, 0, 0, 0, 0, 0, 0, 1, 70]);
    }

    #[test]
    fn generates_verilog() {
        let mut uut = MacLoop::new(&NicParams::default());
        uut.connect_all();
        check_all(&uut).unwrap();
        assert!(generate_verilog(&uut).contains("module top"));
    }
}
