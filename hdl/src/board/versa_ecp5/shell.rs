//! The Versa-5G shell: the NIC core between the board's two Ethernet ports,
//! with its control page on the UART and its DMA port on on-chip memory.
//!
//! Clocks: the PLL makes the 125 MHz core clock from the 100 MHz
//! oscillator; each port's receive side (RGMII in, MAC receive) runs on its
//! PHY's receive clock and crosses into the core clock whole frames at a
//! time; everything else runs on the core clock, which also times both
//! transmit sides, so transmit needs no crossing.
//!
//! Frames: both ports' receive streams take turns, whole frames at a time,
//! as the core's receive stream (filters, queues, the loopback path). The
//! core's transmit stream (its queues and the loopback path) leaves by the
//! port opposite to where the frame's source MAC was last received
//! (`EgressSteer`), by port 1 if it never was: the board sits in a wire
//! and the core demultiplexes, queues and shapes both directions. The core
//! moves a byte a cycle, so the two directions share 1 Gb/s. Each port's
//! frames wait their turn whole in a 2 KiB FIFO; a port whose frames come
//! faster than the core takes them drops whole frames there, counted
//! (`RxWaitOverflows`).
//!
//! The UART bridge's register space is split by the top address bits (see
//! `regions`): the core's control and user pages, the on-chip memory the
//! core's DMA reaches, the shell's own per-port statistics and the
//! forwarder's slots. The hardware forwarder (`forwarder.rs`) is the
//! space's second initiator: a 2:1 arbiter puts its accesses and the
//! bridge's, one at a time, through the register slice in front of the
//! decode.
//!
//! LEDs (lit low): 0/2 link of port 0/1, 1/3 activity of port 0/1,
//! 4 PLL not locked, 5 UART traffic, 6 a receive error on either port,
//! 7 a heartbeat (one blink per ~1 s) that shows the core clock runs.

use super::forwarder::Forwarder;
use super::regions::{
    stat_offset, PortStat, FORWARDER_WINDOW, PORT_STATS, STATS_PORT_STRIDE, STATS_WINDOW, UNLEARNED_FRAMES,
};
use crate::blocks::dma_memory::{DmaMemory8K, DMA_MEMORY_BASE};
use crate::blocks::rgmii::{RgmiiRx, RgmiiTx};
use crate::blocks::{
    CountCrossing, DmaSlice, Ecp5Pll, EgressSteer, FrameFifo, FrameMux, FrameSlice, MacRx, MacTx, RegArbiter, RegSlice, RxCrossing,
    UartBridge,
};
use crate::params::NicParams;
use crate::ports::{DmaMaster, FrameSink, FrameSource, RegInitiator};
use crate::top::NicTop;
use rust_hdl::prelude::*;

/// The bridge's line rate; `arsenic --backend uart` uses the same default.
pub const UART_BAUD: u64 = 115_200;
/// PHY reset: the 88E1512 wants at least 10 ms; 2^21 cycles is 16.8 ms.
const PHY_RESET_BITS: usize = 22;
/// Each port's frames wait for the core in 2 KiB of block RAM (one
/// DP16KD): a maximum frame fits while the other port's passes.
const PORT_FIFO_LOG2: usize = 11;
/// LED pulse stretch: 2^22 cycles is 34 ms, long enough to see one frame.
const STRETCH_BITS: usize = 22;
const _: () = assert!(PHY_RESET_BITS == 22 && STRETCH_BITS == 22, "update() spells these as literals");

/// One Ethernet port's receive side, in its PHY's clock until the crossing.
#[derive(LogicBlock)]
pub struct PortRx {
    pub rxc: Signal<In, Clock>,
    pub rxd: Signal<In, Bits<4>>,
    pub rx_ctl: Signal<In, Bit>,
    /// The core clock.
    pub clock: Signal<In, Clock>,
    rgmii: RgmiiRx,
    mac: MacRx,
    crossing: RxCrossing,
    /// The port's frames in the core clock.
    pub frames_out: FrameSource,
    fcs: CountCrossing,
    runts: CountCrossing,
    giants: CountCrossing,
    no_sfd: CountCrossing,
    symbols: CountCrossing,
    link: DFF<Bit>,
    link_sync: DFF<Bit>,
    /// Counters in the core clock, `PortStat` order from `RxFrames`.
    pub stats: Signal<Out, Bits<{ 32 * 9 }>>,
    pub link_up: Signal<Out, Bit>,
    /// A good frame or an error ended on this port, for the LEDs.
    pub frame_end: Signal<Out, Bit>,
    pub error: Signal<Out, Bit>,
    good_frames: DFF<Bits<32>>,
    good_bytes: DFF<Bits<32>>,
    frame_len: DFF<Bits<16>>,
}

impl PortRx {
    pub fn new(params: &NicParams) -> Self {
        Self {
            rxc: Default::default(),
            rxd: Default::default(),
            rx_ctl: Default::default(),
            clock: Default::default(),
            rgmii: Default::default(),
            mac: MacRx::new(params),
            crossing: Default::default(),
            frames_out: Default::default(),
            fcs: Default::default(),
            runts: Default::default(),
            giants: Default::default(),
            no_sfd: Default::default(),
            symbols: Default::default(),
            link: Default::default(),
            link_sync: Default::default(),
            stats: Default::default(),
            link_up: Default::default(),
            frame_end: Default::default(),
            error: Default::default(),
            good_frames: Default::default(),
            good_bytes: Default::default(),
            frame_len: Default::default(),
        }
    }
}

impl Logic for PortRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, link, link_sync, good_frames, good_bytes, frame_len);
        self.rgmii.rxc.next = self.rxc.val();
        self.rgmii.rxd.next = self.rxd.val();
        self.rgmii.rx_ctl.next = self.rx_ctl.val();
        self.mac.clock.next = self.rxc.val();
        self.mac.gmii_rxd.next = self.rgmii.gmii_rxd.val();
        self.mac.gmii_rx_dv.next = self.rgmii.gmii_rx_dv.val();
        self.mac.gmii_rx_er.next = self.rgmii.gmii_rx_er.val();
        self.crossing.write_clock.next = self.rxc.val();
        self.crossing.clock.next = self.clock.val();
        self.crossing.frames_in.data.next = self.mac.frames_out.data.val();
        self.crossing.frames_in.valid.next = self.mac.frames_out.valid.val();
        self.crossing.frames_in.last.next = self.mac.frames_out.last.val();
        self.crossing.frames_in.error.next = self.mac.frames_out.error.val();
        self.mac.frames_out.ready.next = self.crossing.frames_in.ready.val();
        FrameSource::link(&mut self.frames_out, &mut self.crossing.frames_out);

        // Error reasons are known only on the PHY side: their counters
        // crossing by their toggling low bit.
        self.fcs.clock.next = self.clock.val();
        self.runts.clock.next = self.clock.val();
        self.giants.clock.next = self.clock.val();
        self.no_sfd.clock.next = self.clock.val();
        self.symbols.clock.next = self.clock.val();
        self.fcs.toggle.next = self.mac.fcs_errors.val().get_bit(0);
        self.runts.toggle.next = self.mac.runts.val().get_bit(0);
        self.giants.toggle.next = self.mac.giants.val().get_bit(0);
        self.no_sfd.toggle.next = self.mac.no_sfd.val().get_bit(0);
        self.symbols.toggle.next = self.mac.symbol_errors.val().get_bit(0);
        self.link.d.next = self.rgmii.link_up.val();
        self.link_sync.d.next = self.link.q.val();
        self.link_up.next = self.link_sync.q.val();

        // Good frames and bytes are counted as they leave the crossing, in
        // the core clock: a byte count does not crossing by one bit.
        self.frame_end.next = false;
        self.error.next = false;
        if self.frames_out.valid.val() & self.frames_out.ready.val() {
            self.frame_len.d.next = self.frame_len.q.val() + 1;
            if self.frames_out.last.val() {
                self.frame_len.d.next = 0.into();
                self.frame_end.next = true;
                self.error.next = self.frames_out.error.val();
                if !self.frames_out.error.val() {
                    self.good_frames.d.next = self.good_frames.q.val() + 1;
                    self.good_bytes.d.next =
                        self.good_bytes.q.val() + bit_cast::<32, 16>(self.frame_len.q.val()) + 1;
                }
            }
        }
        self.stats.next = bit_cast::<{ 32 * 9 }, 32>(self.good_frames.q.val())
            | (bit_cast::<{ 32 * 9 }, 32>(self.good_bytes.q.val()) << 32)
            | (bit_cast::<{ 32 * 9 }, 32>(self.fcs.count.val()) << 64)
            | (bit_cast::<{ 32 * 9 }, 32>(self.runts.count.val()) << 96)
            | (bit_cast::<{ 32 * 9 }, 32>(self.giants.count.val()) << 128)
            | (bit_cast::<{ 32 * 9 }, 32>(self.no_sfd.count.val()) << 160)
            | (bit_cast::<{ 32 * 9 }, 32>(self.symbols.count.val()) << 192)
            | (bit_cast::<{ 32 * 9 }, 32>(self.crossing.overflows.val()) << 224)
            | (bit_cast::<{ 32 * 9 }, 32>(self.crossing.underruns.val()) << 256);
    }
}

/// One Ethernet port's transmit side, all in the core clock.
#[derive(LogicBlock, Default)]
pub struct PortTx {
    pub clock: Signal<In, Clock>,
    pub clock_tx90: Signal<In, Clock>,
    pub frames_in: FrameSink,
    pub txc: Signal<Out, Bit>,
    pub txd: Signal<Out, Bits<4>>,
    pub tx_ctl: Signal<Out, Bit>,
    mac: MacTx,
    rgmii: RgmiiTx,
    /// `PortStat` order from `TxFrames`.
    pub stats: Signal<Out, Bits<{ 32 * 3 }>>,
    pub frame_end: Signal<Out, Bit>,
}

impl Logic for PortTx {
    #[hdl_gen]
    fn update(&mut self) {
        self.mac.clock.next = self.clock.val();
        self.rgmii.clock.next = self.clock.val();
        self.rgmii.clock_tx90.next = self.clock_tx90.val();
        FrameSink::link(&mut self.frames_in, &mut self.mac.frames_in);
        self.rgmii.gmii_txd.next = self.mac.gmii_txd.val();
        self.rgmii.gmii_tx_en.next = self.mac.gmii_tx_en.val();
        self.rgmii.gmii_tx_er.next = self.mac.gmii_tx_er.val();
        self.txc.next = self.rgmii.txc.val();
        self.txd.next = self.rgmii.txd.val();
        self.tx_ctl.next = self.rgmii.tx_ctl.val();
        self.frame_end.next = self.frames_in.valid.val() & self.frames_in.ready.val() & self.frames_in.last.val();
        self.stats.next = bit_cast::<{ 32 * 3 }, 32>(self.mac.frames_sent.val())
            | (bit_cast::<{ 32 * 3 }, 32>(self.mac.bytes_sent.val()) << 32)
            | (bit_cast::<{ 32 * 3 }, 32>(self.mac.frames_aborted.val()) << 64);
    }
}

const _: () = assert!(PORT_STATS == 14 && STATS_PORT_STRIDE == 0x40 && UNLEARNED_FRAMES == 0x80);
const _: () = assert!(STATS_WINDOW == 0xC0_0000 && FORWARDER_WINDOW == 0xC0_1000, "update() decodes these by their bits");
const _: () = assert!(
    stat_offset(0, PortStat::TxFrames) == 9 * 4
        && stat_offset(1, PortStat::Link) == 0x40 + 12 * 4
        && stat_offset(0, PortStat::RxWaitOverflows) == 13 * 4
);

#[derive(LogicBlock)]
pub struct VersaEcp5 {
    pub clk100: Signal<In, Clock>,
    pub rst_n: Signal<In, Bit>,
    pub led: Signal<Out, Bits<8>>,
    pub uart_rx: Signal<In, Bit>,
    pub uart_tx: Signal<Out, Bit>,
    pub eth0_rst_n: Signal<Out, Bit>,
    pub eth0_mdc: Signal<Out, Bit>,
    pub eth0_rxc: Signal<In, Clock>,
    pub eth0_rx_ctl: Signal<In, Bit>,
    pub eth0_rxd: Signal<In, Bits<4>>,
    pub eth0_txc: Signal<Out, Bit>,
    pub eth0_tx_ctl: Signal<Out, Bit>,
    pub eth0_txd: Signal<Out, Bits<4>>,
    pub eth1_rst_n: Signal<Out, Bit>,
    pub eth1_mdc: Signal<Out, Bit>,
    pub eth1_rxc: Signal<In, Clock>,
    pub eth1_rx_ctl: Signal<In, Bit>,
    pub eth1_rxd: Signal<In, Bits<4>>,
    pub eth1_txc: Signal<Out, Bit>,
    pub eth1_tx_ctl: Signal<Out, Bit>,
    pub eth1_txd: Signal<Out, Bits<4>>,
    pll: Ecp5Pll,
    /// The core clock, from the PLL.
    clock: Signal<Local, Clock>,
    core: NicTop,
    mem: DmaMemory8K,
    bridge: UartBridge,
    /// The register space's second initiator, beside the bridge.
    forwarder: Forwarder,
    reg_arbiter: RegArbiter,
    rx0: PortRx,
    rx1: PortRx,
    tx0: PortTx,
    tx1: PortTx,
    /// Both ports' frames into the core, and the core's out to the ports.
    rx0_wait: FrameFifo<PORT_FIFO_LOG2>,
    rx1_wait: FrameFifo<PORT_FIFO_LOG2>,
    rx_mux: FrameMux,
    steer: EgressSteer,
    /// Register slices wherever a stream or port crosses from one block
    /// to another across the chip: a path may span one block, never two.
    rx0_slice: FrameSlice,
    rx1_slice: FrameSlice,
    rx_slice: FrameSlice,
    tx_slice: FrameSlice,
    tx0_slice: FrameSlice,
    tx1_slice: FrameSlice,
    dma_slice: DmaSlice,
    reg_slice: RegSlice,
    unlearned: DFF<Bits<32>>,
    /// Good frames each port dropped because its wait FIFO was full.
    wait_drops0: DFF<Bits<32>>,
    wait_drops1: DFF<Bits<32>>,
    /// Which region the access in flight went to: 0 core, 1 memory, 2
    /// stats, 3 the forwarder's slots.
    region: Signal<Local, Bits<2>>,
    stats_ack: DFF<Bit>,
    stats_rdata: DFF<Bits<32>>,
    rst_meta: DFF<Bit>,
    rst_sync: DFF<Bit>,
    phy_reset: DFF<Bits<PHY_RESET_BITS>>,
    act0: DFF<Bits<STRETCH_BITS>>,
    act1: DFF<Bits<STRETCH_BITS>>,
    err: DFF<Bits<STRETCH_BITS>>,
    uart_act: DFF<Bits<STRETCH_BITS>>,
    beat: DFF<Bits<27>>,
    all_stats: Signal<Local, Bits<1024>>,
    scan: Signal<Local, Bits<1024>>,
    stat_select: Signal<Local, Bits<32>>,
}

impl VersaEcp5 {
    pub fn new(params: &NicParams) -> Self {
        Self {
            clk100: Default::default(),
            rst_n: Default::default(),
            led: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            eth0_rst_n: Default::default(),
            eth0_mdc: Default::default(),
            eth0_rxc: Default::default(),
            eth0_rx_ctl: Default::default(),
            eth0_rxd: Default::default(),
            eth0_txc: Default::default(),
            eth0_tx_ctl: Default::default(),
            eth0_txd: Default::default(),
            eth1_rst_n: Default::default(),
            eth1_mdc: Default::default(),
            eth1_rxc: Default::default(),
            eth1_rx_ctl: Default::default(),
            eth1_rxd: Default::default(),
            eth1_txc: Default::default(),
            eth1_tx_ctl: Default::default(),
            eth1_txd: Default::default(),
            pll: Default::default(),
            clock: Default::default(),
            core: NicTop::new(params),
            mem: DmaMemory8K::new(DMA_MEMORY_BASE),
            bridge: UartBridge::for_clock(params.clock_hz as u64, UART_BAUD),
            forwarder: Default::default(),
            reg_arbiter: Default::default(),
            rx0: PortRx::new(params),
            rx1: PortRx::new(params),
            tx0: Default::default(),
            tx1: Default::default(),
            rx0_wait: Default::default(),
            rx1_wait: Default::default(),
            rx_mux: Default::default(),
            steer: Default::default(),
            rx0_slice: Default::default(),
            rx1_slice: Default::default(),
            rx_slice: Default::default(),
            tx_slice: Default::default(),
            tx0_slice: Default::default(),
            tx1_slice: Default::default(),
            dma_slice: Default::default(),
            reg_slice: Default::default(),
            unlearned: Default::default(),
            wait_drops0: Default::default(),
            wait_drops1: Default::default(),
            region: Default::default(),
            stats_ack: Default::default(),
            stats_rdata: Default::default(),
            rst_meta: Default::default(),
            rst_sync: Default::default(),
            phy_reset: Default::default(),
            act0: Default::default(),
            act1: Default::default(),
            err: Default::default(),
            uart_act: Default::default(),
            beat: Default::default(),
            all_stats: Default::default(),
            scan: Default::default(),
            stat_select: Default::default(),
        }
    }
}

impl Logic for VersaEcp5 {
    #[hdl_gen]
    fn update(&mut self) {
        self.pll.clkin.next = self.clk100.val();
        self.clock.next = self.pll.clkout.val();
        self.core.clock.next = self.pll.clkout.val();
        self.mem.clock.next = self.pll.clkout.val();
        self.bridge.clock.next = self.pll.clkout.val();
        self.forwarder.clock.next = self.pll.clkout.val();
        self.reg_arbiter.clock.next = self.pll.clkout.val();
        self.rx_mux.clock.next = self.pll.clkout.val();
        self.rx0_wait.clock.next = self.pll.clkout.val();
        self.rx1_wait.clock.next = self.pll.clkout.val();
        self.steer.clock.next = self.pll.clkout.val();
        self.rx_slice.clock.next = self.pll.clkout.val();
        self.tx_slice.clock.next = self.pll.clkout.val();
        self.rx0_slice.clock.next = self.pll.clkout.val();
        self.tx1_slice.clock.next = self.pll.clkout.val();
        self.rx1_slice.clock.next = self.pll.clkout.val();
        self.tx0_slice.clock.next = self.pll.clkout.val();
        self.dma_slice.clock.next = self.pll.clkout.val();
        self.reg_slice.clock.next = self.pll.clkout.val();
        self.rx0.clock.next = self.pll.clkout.val();
        self.rx1.clock.next = self.pll.clkout.val();
        self.tx0.clock.next = self.pll.clkout.val();
        self.tx1.clock.next = self.pll.clkout.val();
        self.tx0.clock_tx90.next = self.pll.clkout90.val();
        self.tx1.clock_tx90.next = self.pll.clkout90.val();
        dff_setup!(
            self, clock, unlearned, wait_drops0, wait_drops1, stats_ack, stats_rdata, rst_meta, rst_sync, phy_reset, act0, act1, err,
            uart_act, beat
        );

        // Ports 0 and 1 -> core -> the other port.
        self.rx0.rxc.next = self.eth0_rxc.val();
        self.rx0.rxd.next = self.eth0_rxd.val();
        self.rx0.rx_ctl.next = self.eth0_rx_ctl.val();
        self.rx1.rxc.next = self.eth1_rxc.val();
        self.rx1.rxd.next = self.eth1_rxd.val();
        self.rx1.rx_ctl.next = self.eth1_rx_ctl.val();
        FrameSource::join(&mut self.rx0.frames_out, &mut self.rx0_slice.frames_in);
        FrameSource::join(&mut self.rx1.frames_out, &mut self.rx1_slice.frames_in);
        FrameSource::join(&mut self.rx0_slice.frames_out, &mut self.rx0_wait.frames_in);
        FrameSource::join(&mut self.rx1_slice.frames_out, &mut self.rx1_wait.frames_in);
        FrameSource::join(&mut self.rx0_wait.frames_out, &mut self.rx_mux.a);
        FrameSource::join(&mut self.rx1_wait.frames_out, &mut self.rx_mux.b);
        if self.rx0_wait.overflow.val() {
            self.wait_drops0.d.next = self.wait_drops0.q.val() + 1;
        }
        if self.rx1_wait.overflow.val() {
            self.wait_drops1.d.next = self.wait_drops1.q.val() + 1;
        }
        FrameSource::join(&mut self.rx_mux.frames_out, &mut self.rx_slice.frames_in);
        FrameSource::join(&mut self.rx_slice.frames_out, &mut self.core.mac_rx);
        // The steering block learns sources from what the core receives.
        self.steer.rx_beat.next = self.rx_mux.frames_out.valid.val() & self.rx_slice.frames_in.ready.val();
        self.steer.rx_data.next = self.rx_mux.frames_out.data.val();
        self.steer.rx_last.next = self.rx_mux.frames_out.last.val();
        self.steer.rx_error.next = self.rx_mux.frames_out.error.val();
        self.steer.rx_port.next = self.rx_mux.from_b_now.val();
        FrameSource::join(&mut self.core.mac_tx, &mut self.tx_slice.frames_in);
        FrameSource::join(&mut self.tx_slice.frames_out, &mut self.steer.frames_in);
        FrameSource::join(&mut self.steer.port0, &mut self.tx0_slice.frames_in);
        FrameSource::join(&mut self.steer.port1, &mut self.tx1_slice.frames_in);
        FrameSource::join(&mut self.tx0_slice.frames_out, &mut self.tx0.frames_in);
        FrameSource::join(&mut self.tx1_slice.frames_out, &mut self.tx1.frames_in);
        if self.steer.unlearned.val() {
            self.unlearned.d.next = self.unlearned.q.val() + 1;
        }
        self.eth0_txc.next = self.tx0.txc.val();
        self.eth0_txd.next = self.tx0.txd.val();
        self.eth0_tx_ctl.next = self.tx0.tx_ctl.val();
        self.eth1_txc.next = self.tx1.txc.val();
        self.eth1_txd.next = self.tx1.txd.val();
        self.eth1_tx_ctl.next = self.tx1.tx_ctl.val();
        DmaMaster::join(&mut self.core.dma, &mut self.dma_slice.core);
        DmaMaster::join(&mut self.dma_slice.host, &mut self.mem.dma);

        // The register space, shared by the UART bridge and the forwarder:
        // bit 23 clear is the core's; 0x80_0000 the memory; 0xC0_0000 the
        // shell's statistics, and the forwarder's slots at 0xC0_1000 (see
        // `regions`).
        self.bridge.rx.next = self.uart_rx.val();
        self.uart_tx.next = self.bridge.tx.val();
        RegInitiator::join(&mut self.bridge.regs, &mut self.reg_arbiter.a);
        RegInitiator::join(&mut self.forwarder.regs, &mut self.reg_arbiter.b);
        RegInitiator::join(&mut self.reg_arbiter.to, &mut self.reg_slice.from);
        self.region.next = 0.into();
        if self.reg_slice.to.addr.val().get_bit(23) {
            self.region.next = 1.into();
            if self.reg_slice.to.addr.val().get_bit(22) {
                self.region.next = 2.into();
                if self.reg_slice.to.addr.val().get_bit(12) & !self.reg_slice.to.addr.val().get_bits::<9>(13).any() {
                    self.region.next = 3.into();
                }
            }
        }
        self.forwarder.settings.strobe.next = self.reg_slice.to.strobe.val() & (self.region.val() == 3);
        self.forwarder.settings.write.next = self.reg_slice.to.write.val();
        self.forwarder.settings.addr.next = bit_cast::<24, 12>(self.reg_slice.to.addr.val().get_bits::<12>(0));
        self.forwarder.settings.wdata.next = self.reg_slice.to.wdata.val();
        self.core.regs.strobe.next = self.reg_slice.to.strobe.val() & (self.region.val() == 0);
        self.core.regs.write.next = self.reg_slice.to.write.val();
        self.core.regs.addr.next = self.reg_slice.to.addr.val();
        self.core.regs.wdata.next = self.reg_slice.to.wdata.val();
        self.mem.regs.strobe.next = self.reg_slice.to.strobe.val() & (self.region.val() == 1);
        self.mem.regs.write.next = self.reg_slice.to.write.val();
        self.mem.regs.addr.next = bit_cast::<24, 22>(self.reg_slice.to.addr.val().get_bits::<22>(0));
        self.mem.regs.wdata.next = self.reg_slice.to.wdata.val();
        // Port p's counter i at p * 0x40 + i * 4 (word 16 * p + i of
        // `all_stats`); frames sent by port 1 for want of a learned source
        // at 0x80; anything else 0.
        self.all_stats.next = bit_cast::<1024, { 32 * 9 }>(self.rx0.stats.val())
            | (bit_cast::<1024, { 32 * 3 }>(self.tx0.stats.val()) << 288)
            | (bit_cast::<1024, 1>(self.rx0.link_up.val().into()) << 384)
            | (bit_cast::<1024, 32>(self.wait_drops0.q.val()) << 416)
            | (bit_cast::<1024, { 32 * 9 }>(self.rx1.stats.val()) << 512)
            | (bit_cast::<1024, { 32 * 3 }>(self.tx1.stats.val()) << 800)
            | (bit_cast::<1024, 1>(self.rx1.link_up.val().into()) << 896)
            | (bit_cast::<1024, 32>(self.wait_drops1.q.val()) << 928);
        self.stats_ack.d.next = self.reg_slice.to.strobe.val() & (self.region.val() == 2);
        self.stat_select.next = bit_cast::<32, 1>(true.into()) << self.reg_slice.to.addr.val().get_bits::<5>(2);
        self.scan.next = self.all_stats.val();
        self.stats_rdata.d.next = 0.into();
        for i in 0..32 {
            if self.stat_select.val().get_bit(i) {
                self.stats_rdata.d.next = self.scan.val().get_bits::<32>(0);
            }
            self.scan.next = self.scan.val() >> 32;
        }
        if self.reg_slice.to.addr.val().get_bit(7) {
            self.stats_rdata.d.next = 0.into();
            if self.reg_slice.to.addr.val().get_bits::<7>(0) == 0 {
                self.stats_rdata.d.next = self.unlearned.q.val();
            }
        }
        // The window is 4 MiB and the counters take its first 256 bytes:
        // above them it must read 0, not repeat them every 256 bytes.
        if self.reg_slice.to.addr.val().get_bits::<14>(8).any() {
            self.stats_rdata.d.next = 0.into();
        }
        self.reg_slice.to.ack.next =
            self.core.regs.ack.val() | self.mem.regs.ack.val() | self.stats_ack.q.val() | self.forwarder.settings.ack.val();
        self.reg_slice.to.rdata.next = self.stats_rdata.q.val();
        if self.core.regs.ack.val() {
            self.reg_slice.to.rdata.next = self.core.regs.rdata.val();
        }
        if self.mem.regs.ack.val() {
            self.reg_slice.to.rdata.next = self.mem.regs.rdata.val();
        }
        if self.forwarder.settings.ack.val() {
            self.reg_slice.to.rdata.next = self.forwarder.settings.rdata.val();
        }

        // PHY reset after configuration and while the button is held.
        self.rst_meta.d.next = self.rst_n.val();
        self.rst_sync.d.next = self.rst_meta.q.val();
        if !self.phy_reset.q.val().get_bit(21) {
            self.phy_reset.d.next = self.phy_reset.q.val() + 1;
        }
        if !self.rst_sync.q.val() {
            self.phy_reset.d.next = 0.into();
        }
        self.eth0_rst_n.next = self.phy_reset.q.val().get_bit(21);
        self.eth1_rst_n.next = self.phy_reset.q.val().get_bit(21);
        // MDIO is left to the PHYs' strapped defaults; MDC idles low.
        self.eth0_mdc.next = false;
        self.eth1_mdc.next = false;

        // LEDs: a pulse loads a stretch counter; the LED is lit (low)
        // while it runs down.
        if self.act0.q.val().any() {
            self.act0.d.next = self.act0.q.val() - 1;
        }
        if self.rx0.frame_end.val() | self.tx0.frame_end.val() {
            self.act0.d.next = 0x3F_FFFF.into();
        }
        if self.act1.q.val().any() {
            self.act1.d.next = self.act1.q.val() - 1;
        }
        if self.rx1.frame_end.val() | self.tx1.frame_end.val() {
            self.act1.d.next = 0x3F_FFFF.into();
        }
        if self.err.q.val().any() {
            self.err.d.next = self.err.q.val() - 1;
        }
        if self.rx0.error.val() | self.rx1.error.val() {
            self.err.d.next = 0x3F_FFFF.into();
        }
        if self.uart_act.q.val().any() {
            self.uart_act.d.next = self.uart_act.q.val() - 1;
        }
        if self.bridge.regs.strobe.val() {
            self.uart_act.d.next = 0x3F_FFFF.into();
        }
        self.beat.d.next = self.beat.q.val() + 1;
        self.led.next = !(bit_cast::<8, 1>(self.rx0.link_up.val().into())
            | (bit_cast::<8, 1>(self.act0.q.val().any().into()) << 1)
            | (bit_cast::<8, 1>(self.rx1.link_up.val().into()) << 2)
            | (bit_cast::<8, 1>(self.act1.q.val().any().into()) << 3)
            | (bit_cast::<8, 1>((!self.pll.locked.val()).into()) << 4)
            | (bit_cast::<8, 1>(self.uart_act.q.val().any().into()) << 5)
            | (bit_cast::<8, 1>(self.err.q.val().any().into()) << 6)
            | (bit_cast::<8, 1>(self.beat.q.val().get_bit(26).into()) << 7));
    }
}

/// The shell's Verilog. The ECP5 primitives (PLL, DDR I/O registers) are
/// instantiated by name and left for Yosys's ECP5 library to supply.
pub fn verilog(params: &NicParams) -> Result<String, String> {
    params.validate()?;
    let mut uut = VersaEcp5::new(params);
    uut.connect_all();
    check_all(&uut).map_err(|e| format!("versa-ecp5 shell check failed: {e:?}"))?;
    let note = "// The ECP5 Versa-5G shell around the NIC (hdl/src/board/versa_ecp5/shell.rs),\n\
                // for the bitstream build; its ECP5 cells come from Yosys's library.\n";
    Ok(crate::generate::with_header(params, note, &generate_verilog(&uut)))
}
