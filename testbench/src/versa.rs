//! The Versa-5G board shell (`verilog-out/versa_ecp5.v`, the NIC between
//! two RGMII ports, its control page on a UART) in Verilator, driven at its
//! pins: what a real board's PHYs and FT2232 would see and do.
//!
//! Time. The board has three clocks that owe each other nothing: `clk100`
//! (in simulation the ECP5 PLL model passes it straight through, so it *is*
//! the 125 MHz core clock) and each PHY's receive clock `ethN_rxc`.
//! [`VersaSim`] keeps one timeline in picoseconds and steps from one clock
//! edge to the next, whichever clock it belongs to, both edges of each
//! (the DDR cells sample on both). By default the receive clocks run
//! 250 ppm slow (port 0) and 250 ppm fast (port 1) against the core clock,
//! at phases unrelated to it, so each port's receive clock crossing sees its
//! writer drift both ways, as on a board with two crystals.
//!
//! Pins. Each port's receive pins are driven like a PHY with its RX clock
//! delay on: the nibble and control level for an RXC edge are set right
//! after the edge before it and held through it (the low nibble with RX_DV
//! for the rising edge, the high nibble with RX_DV xor RX_ER for the falling
//! edge). They reach the model with the next evaluation, at the latest with
//! the edge's own, and an input set for an evaluation is in place before
//! any clock edge in it (Verilator settles the logic from inputs first), so
//! each edge samples what was set for it even when no other clock's edge
//! falls in between.
//! Between frames they carry RGMII in-band status. Each port's transmit pins
//! are decoded by TXC's level: what TXD/TX_CTL held while TXC was high is
//! bits 3:0 and TX_EN, what they held while it was low after that is bits
//! 7:4 and TX_EN xor TX_ER. That is where a PHY samples them, since the
//! board's TXC is shifted 90 degrees into the data eye; here the PLL model
//! does not shift it, so TXC's edges coincide with the data's and only the
//! level decode is unambiguous. The UART is 8N1 at a bit period counted in
//! core cycles, like the bridge's: `uart_rx` changes at falling edges of the
//! core clock, `uart_tx` is sampled mid-bit after rising edges.

use crate::ffi::VersaModel;
use crate::mac_loop::Gmii;
use crate::pins::VersaPins;
use std::collections::VecDeque;
use std::path::Path;

/// The board's Ethernet ports.
pub const PORTS: usize = 2;

/// A clock, low from time 0 until its first rising edge, then high for
/// `period_ps / 2` and low for the rest of each period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockSpec {
    pub period_ps: u64,
    pub first_rise_ps: u64,
}

/// Link speed as RGMII in-band status encodes it (RXD bits 2:1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speed {
    M10 = 0,
    M100 = 1,
    M1000 = 2,
}

/// What a PHY reports on RXD between frames (RX_DV and RX_ER low).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InBandStatus {
    pub link_up: bool,
    pub speed: Speed,
    pub full_duplex: bool,
}

impl InBandStatus {
    /// A PHY with no link (all of RXD low).
    pub const LINK_DOWN: InBandStatus = InBandStatus { link_up: false, speed: Speed::M10, full_duplex: false };
    pub const UP_1000_FULL: InBandStatus = InBandStatus { link_up: true, speed: Speed::M1000, full_duplex: true };

    /// RXD[3:0]: bit 0 link, bits 2:1 speed, bit 3 full duplex.
    pub fn nibble(self) -> u8 {
        u8::from(self.link_up) | (self.speed as u8) << 1 | u8::from(self.full_duplex) << 3
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersaConfig {
    /// The core clock (8 ns for 125 MHz).
    pub clk100: ClockSpec,
    /// Each PHY's receive clock.
    pub rxc: [ClockSpec; PORTS],
    /// What each PHY's idles say from the start.
    pub status: [InBandStatus; PORTS],
    /// The UART's bit period in core cycles: what the shell's bridge was
    /// built with (`arsenic_hdl::blocks::uart::bit_period` of the clock and
    /// `versa_ecp5::shell::UART_BAUD`).
    pub uart_bit_cycles: u64,
}

impl VersaConfig {
    /// 125 MHz core clock; port 0's RXC 250 ppm slower (8.002 ns) and port
    /// 1's 250 ppm faster (7.998 ns), at phases that are no simple fraction
    /// of the core clock's; both PHYs up at 1000 Mb/s full duplex.
    pub fn new(uart_bit_cycles: u64) -> Self {
        VersaConfig {
            clk100: ClockSpec { period_ps: 8000, first_rise_ps: 4000 },
            rxc: [ClockSpec { period_ps: 8002, first_rise_ps: 1300 }, ClockSpec { period_ps: 7998, first_rise_ps: 5900 }],
            status: [InBandStatus::UP_1000_FULL; PORTS],
            uart_bit_cycles,
        }
    }
}

/// A clock edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    Rise,
    Fall,
}

/// What happened at one instant of the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instant {
    pub time_ps: u64,
    pub clk100: Option<Edge>,
    pub rxc: [Option<Edge>; PORTS],
}

/// One transmission seen on a port's transmit pins: every byte while
/// TX_EN was high (preamble and FCS included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxBurst {
    /// Time and core cycle count of its first byte's first half.
    pub start_ps: u64,
    pub start_cycle: u64,
    pub bytes: Vec<u8>,
    /// Offsets of the bytes sent with TX_ER.
    pub er_at: Vec<usize>,
}

impl TxBurst {
    /// The frame the burst carries: after exactly seven 0x55 and the start
    /// delimiter 0xD5, before an FCS that matches, with no TX_ER anywhere.
    /// Padding is part of the frame. Otherwise, what is wrong.
    pub fn frame(&self) -> Result<Vec<u8>, String> {
        if let Some(at) = self.er_at.first() {
            return Err(format!("TX_ER at byte {at} of {}", self.bytes.len()));
        }
        let b = &self.bytes;
        if b.len() < 8 || b[..7] != [0x55; 7] || b[7] != 0xD5 {
            return Err(format!("no 7-byte preamble and start delimiter: {:02x?}", &b[..b.len().min(8)]));
        }
        let body = &b[8..];
        if body.len() < 4 {
            return Err(format!("{} bytes after the delimiter, no room for an FCS", body.len()));
        }
        let (data, fcs_bytes) = body.split_at(body.len() - 4);
        let sent = u32::from_le_bytes(fcs_bytes.try_into().unwrap());
        if sent != fcs(data) {
            return Err(format!("FCS {sent:08x} on the wire, {:08x} computed over {} bytes", fcs(data), data.len()));
        }
        Ok(data.to_vec())
    }
}

/// What one port's transmit pins did besides bursts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxLineStats {
    pub txc_rises: u64,
    /// TXC periods (rise to rise) other than the core clock's.
    pub txc_bad_periods: u64,
    /// Byte times with TX_ER but not TX_EN (carrier extension or a fault).
    pub er_outside_bursts: u64,
}

/// The Ethernet FCS: CRC-32, reflected polynomial 0xEDB88320, initial and
/// final inversion; sent least significant byte first. Written here from
/// the standard, independently of the gateware's CRC.
pub fn fcs(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { crc >> 1 ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A frame as it goes on the wire: seven 0x55, the start delimiter 0xD5,
/// the frame, then `fcs` least significant byte first.
pub fn wire_bytes(frame: &[u8], fcs: u32) -> Vec<u8> {
    let mut v = vec![0x55; 7];
    v.push(0xD5);
    v.extend_from_slice(frame);
    v.extend_from_slice(&fcs.to_le_bytes());
    v
}

/// Idle byte times after each frame `send_frame` queues: the standard gap.
pub const INTERFRAME_GAP: usize = 12;

/// One PHY's receive side: the GMII beats it will put on RGMII, one per
/// RXC cycle.
struct PhyRx {
    /// `None` is an idle beat, which carries the status current when it
    /// goes out.
    queue: VecDeque<Option<Gmii>>,
    status: InBandStatus,
    /// The beat of the current RXC cycle.
    beat: Gmii,
}

impl PhyRx {
    fn idle(&self) -> Gmii {
        let s = self.status.nibble();
        Gmii { en: false, er: false, data: s << 4 | s }
    }

    /// After a falling edge: the next beat's first half, for the rising edge.
    fn next_beat(&mut self) -> (u8, bool) {
        self.beat = match self.queue.pop_front() {
            Some(Some(g)) => g,
            _ => self.idle(),
        };
        (self.beat.data & 15, self.beat.en)
    }

    /// After a rising edge: the beat's second half, for the falling edge.
    fn second_half(&self) -> (u8, bool) {
        (self.beat.data >> 4, self.beat.en ^ self.beat.er)
    }
}

/// One port's transmit pins, decoded.
#[derive(Default)]
struct PhyTx {
    /// TXC, TXD, TX_CTL as they were before the evaluation in progress.
    txc: bool,
    txd: u8,
    ctl: bool,
    /// Bits 3:0 and TX_EN of the byte in progress.
    first_half: Option<(u8, bool)>,
    open: Option<TxBurst>,
    done: Vec<TxBurst>,
    last_rise_ps: Option<u64>,
    stats: TxLineStats,
}

impl PhyTx {
    /// The pins after an evaluation at `time_ps`.
    fn observe(&mut self, txc: bool, txd: u8, ctl: bool, time_ps: u64, cycle: u64, period_ps: u64) {
        if txc != self.txc {
            if !txc {
                // TXC fell: what it was high over is the byte's first half.
                self.first_half = Some((self.txd & 15, self.ctl));
            } else {
                if let Some(last) = self.last_rise_ps.replace(time_ps) {
                    if time_ps - last != period_ps {
                        self.stats.txc_bad_periods += 1;
                    }
                }
                self.stats.txc_rises += 1;
                if let Some((low, en)) = self.first_half.take() {
                    let g = Gmii { en, er: en ^ self.ctl, data: low | (self.txd & 15) << 4 };
                    self.push(g, time_ps, cycle, period_ps);
                }
            }
        }
        (self.txc, self.txd, self.ctl) = (txc, txd, ctl);
    }

    fn push(&mut self, g: Gmii, time_ps: u64, cycle: u64, period_ps: u64) {
        if !g.en {
            self.stats.er_outside_bursts += u64::from(g.er);
            if let Some(b) = self.open.take() {
                self.done.push(b);
            }
            return;
        }
        // The byte began a period before the rise that completed it.
        let b = self.open.get_or_insert_with(|| TxBurst {
            start_ps: time_ps.saturating_sub(period_ps),
            start_cycle: cycle.saturating_sub(1),
            bytes: vec![],
            er_at: vec![],
        });
        if g.er {
            b.er_at.push(b.bytes.len());
        }
        b.bytes.push(g.data);
    }
}

/// The host's end of the UART, sending: bytes onto `uart_rx`, 8N1.
struct UartOut {
    bit_cycles: u64,
    queue: VecDeque<u8>,
    /// The frame in progress, next bit lowest, and bits left in it.
    frame: u16,
    bits_left: u32,
    /// Cycles left of the bit on the line.
    cycles_left: u64,
    level: bool,
}

impl UartOut {
    /// The line for the next core cycle.
    fn next_cycle(&mut self) -> bool {
        if self.cycles_left == 0 {
            if self.bits_left == 0 {
                match self.queue.pop_front() {
                    // Start bit, data least significant first, stop bit.
                    Some(b) => (self.frame, self.bits_left) = ((b as u16) << 1 | 1 << 9, 10),
                    None => return true,
                }
            }
            self.level = self.frame & 1 != 0;
            self.frame >>= 1;
            self.bits_left -= 1;
            self.cycles_left = self.bit_cycles;
        }
        self.cycles_left -= 1;
        self.level
    }

    fn pending(&self) -> usize {
        self.queue.len() + usize::from(self.bits_left > 0 || self.cycles_left > 0)
    }
}

/// The host's end of the UART, receiving `uart_tx`, 8N1, sampled mid-bit.
struct UartIn {
    bit_cycles: u64,
    /// Cycles since the start bit's falling edge was seen, while receiving.
    since_start: Option<u64>,
    shift: u8,
    /// After a low stop bit: wait for the line to go high again.
    wait_high: bool,
    received: Vec<u8>,
    framing_errors: u64,
}

impl UartIn {
    fn sample(&mut self, line: bool) {
        if self.wait_high {
            self.wait_high = !line;
            return;
        }
        let Some(n) = self.since_start else {
            if !line {
                self.since_start = Some(0);
            }
            return;
        };
        let n = n + 1;
        self.since_start = Some(n);
        let half = self.bit_cycles / 2;
        if n < half || !(n - half).is_multiple_of(self.bit_cycles) {
            return;
        }
        match (n - half) / self.bit_cycles {
            0 if line => self.since_start = None, // a glitch, not a start bit
            0 => {}
            k @ 1..=8 => self.shift |= u8::from(line) << (k - 1),
            _ => {
                if line {
                    self.received.push(self.shift);
                } else {
                    self.framing_errors += 1;
                    self.wait_high = true;
                }
                self.since_start = None;
                self.shift = 0;
            }
        }
    }
}

/// The Verilated Versa shell and what stands around it on the board: two
/// PHYs (receive pins driven, transmit pins decoded), the FT2232's UART and
/// the reset button. Inputs hold until changed; nothing moves until the
/// timeline is stepped.
pub struct VersaSim {
    model: VersaModel,
    pins: VersaPins,
    config: VersaConfig,
    now_ps: u64,
    /// Next edge time and level of clk100, rxc0, rxc1.
    next_edge: [u64; 3],
    high: [bool; 3],
    cycles: u64,
    rxc_rises: [u64; PORTS],
    rx: [PhyRx; PORTS],
    tx: [PhyTx; PORTS],
    uart_out: UartOut,
    uart_in: UartIn,
    /// Core cycle counts at which each PHY reset pin rose.
    reset_rises: [Vec<u64>; PORTS],
}

const CORE: usize = 0;

impl VersaSim {
    pub fn new(config: VersaConfig) -> Self {
        for c in [config.clk100, config.rxc[0], config.rxc[1]] {
            assert!(c.period_ps >= 2, "a clock period of {} ps has no two halves", c.period_ps);
        }
        assert!(config.uart_bit_cycles >= 4, "a UART bit of {} cycles", config.uart_bit_cycles);
        let rx = config.status.map(|status| {
            let mut p = PhyRx { queue: VecDeque::new(), status, beat: Gmii::IDLE };
            p.beat = p.idle();
            p
        });
        let mut sim = VersaSim {
            model: VersaModel::new(),
            pins: VersaPins { rst_n: 1, uart_rx: 1, ..Default::default() },
            config,
            now_ps: 0,
            next_edge: [config.clk100.first_rise_ps, config.rxc[0].first_rise_ps, config.rxc[1].first_rise_ps],
            high: [false; 3],
            cycles: 0,
            rxc_rises: [0; PORTS],
            rx,
            tx: Default::default(),
            uart_out: UartOut {
                bit_cycles: config.uart_bit_cycles,
                queue: VecDeque::new(),
                frame: 0,
                bits_left: 0,
                cycles_left: 0,
                level: true,
            },
            uart_in: UartIn {
                bit_cycles: config.uart_bit_cycles,
                since_start: None,
                shift: 0,
                wait_high: false,
                received: vec![],
                framing_errors: 0,
            },
            reset_rises: Default::default(),
        };
        for p in 0..PORTS {
            let (nibble, ctl) = sim.rx[p].next_beat();
            sim.set_rx_pins(p, nibble, ctl);
        }
        sim.eval(0);
        sim
    }

    pub fn config(&self) -> &VersaConfig {
        &self.config
    }

    /// Writes a VCD waveform of every signal from now on (times in ps).
    pub fn trace(&mut self, path: &Path) -> Result<(), String> {
        self.model.trace(path)
    }

    pub fn now_ps(&self) -> u64 {
        self.now_ps
    }

    /// Rising edges of the core clock so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Rising edges of port `port`'s receive clock so far.
    pub fn rxc_rises(&self, port: usize) -> u64 {
        self.rxc_rises[port]
    }

    fn set_rx_pins(&mut self, port: usize, nibble: u8, ctl: bool) {
        let p = &mut self.pins;
        let (rxd, rx_ctl) = if port == 0 { (&mut p.eth0_rxd, &mut p.eth0_rx_ctl) } else { (&mut p.eth1_rxd, &mut p.eth1_rx_ctl) };
        *rxd = nibble;
        *rx_ctl = u8::from(ctl);
    }

    fn eval(&mut self, time_ps: u64) {
        let resets_before = self.phy_reset_n();
        self.model.eval(&mut self.pins, time_ps);
        for (port, (before, now)) in resets_before.into_iter().zip(self.phy_reset_n()).enumerate() {
            if now && !before {
                self.reset_rises[port].push(self.cycles);
            }
        }
        let p = &self.pins;
        let period = self.config.clk100.period_ps;
        self.tx[0].observe(p.eth0_txc != 0, p.eth0_txd, p.eth0_tx_ctl != 0, time_ps, self.cycles, period);
        self.tx[1].observe(p.eth1_txc != 0, p.eth1_txd, p.eth1_tx_ctl != 0, time_ps, self.cycles, period);
    }

    /// Moves to the next instant at which any clock has an edge, applies
    /// every edge due then, and lets the PHYs and the UART react to them.
    pub fn step(&mut self) -> Instant {
        let t = *self.next_edge.iter().min().unwrap();
        let due = self.next_edge.map(|e| e == t);
        let specs = [self.config.clk100, self.config.rxc[0], self.config.rxc[1]];
        let mut edges = [None; 3];
        for i in 0..3 {
            if due[i] {
                let rising = !self.high[i];
                self.high[i] = rising;
                let half = specs[i].period_ps / 2;
                self.next_edge[i] = t + if rising { half } else { specs[i].period_ps - half };
                edges[i] = Some(if rising { Edge::Rise } else { Edge::Fall });
            }
        }
        if edges[CORE] == Some(Edge::Fall) {
            // The UART line moves between the core clock's rising edges.
            self.pins.uart_rx = u8::from(self.uart_out.next_cycle());
        }
        self.pins.clk100 = u8::from(self.high[0]);
        self.pins.eth0_rxc = u8::from(self.high[1]);
        self.pins.eth1_rxc = u8::from(self.high[2]);
        self.now_ps = t;
        if edges[CORE] == Some(Edge::Rise) {
            self.cycles += 1;
        }
        self.eval(t);
        if edges[CORE] == Some(Edge::Rise) {
            self.uart_in.sample(self.pins.uart_tx != 0);
        }
        for p in 0..PORTS {
            let (nibble, ctl) = match edges[1 + p] {
                None => continue,
                Some(Edge::Rise) => {
                    self.rxc_rises[p] += 1;
                    self.rx[p].second_half()
                }
                Some(Edge::Fall) => self.rx[p].next_beat(),
            };
            self.set_rx_pins(p, nibble, ctl);
        }
        Instant { time_ps: t, clk100: edges[0], rxc: [edges[1], edges[2]] }
    }

    /// Runs until `n` more rising edges of the core clock have passed.
    pub fn run_cycles(&mut self, n: u64) {
        let end = self.cycles + n;
        while self.cycles < end {
            self.step();
        }
    }

    /// Runs until `done` holds (checked after every core cycle) or
    /// `max_cycles` core cycles pass; whether it held.
    pub fn run_until(&mut self, max_cycles: u64, mut done: impl FnMut(&VersaSim) -> bool) -> bool {
        let end = self.cycles + max_cycles;
        while !done(self) {
            if self.cycles >= end {
                return false;
            }
            self.run_cycles(1);
        }
        true
    }

    /// Queues `frame` on port `port`'s receive pins: preamble, start
    /// delimiter, the frame, its FCS, then the interframe gap.
    pub fn send_frame(&mut self, port: usize, frame: &[u8]) {
        self.send_frame_with_fcs(port, frame, fcs(frame));
    }

    /// As `send_frame`, with `fcs` on the wire whatever the frame's is.
    pub fn send_frame_with_fcs(&mut self, port: usize, frame: &[u8], fcs: u32) {
        self.send_beats(port, wire_bytes(frame, fcs).into_iter().map(Gmii::byte));
        self.send_idle(port, INTERFRAME_GAP);
    }

    /// Queues GMII beats as they are (RX_DV low and RX_ER low is in-band
    /// status with the beat's data, whatever the port's status says).
    pub fn send_beats(&mut self, port: usize, beats: impl IntoIterator<Item = Gmii>) {
        self.rx[port].queue.extend(beats.into_iter().map(Some));
    }

    /// Queues `n` idle beats, carrying the in-band status current when each
    /// goes out.
    pub fn send_idle(&mut self, port: usize, n: usize) {
        self.rx[port].queue.extend(std::iter::repeat_n(None, n));
    }

    /// What port `port`'s idles say from now on (already queued idles too).
    pub fn set_in_band_status(&mut self, port: usize, status: InBandStatus) {
        self.rx[port].status = status;
    }

    /// Beats queued on port `port`'s receive pins and not yet begun.
    pub fn rx_pending(&self, port: usize) -> usize {
        self.rx[port].queue.len()
    }

    /// Transmissions completed on port `port`'s transmit pins since the last call.
    pub fn take_bursts(&mut self, port: usize) -> Vec<TxBurst> {
        std::mem::take(&mut self.tx[port].done)
    }

    /// Transmissions completed and not yet taken.
    pub fn bursts_waiting(&self, port: usize) -> usize {
        self.tx[port].done.len()
    }

    /// A transmission is under way on port `port`.
    pub fn tx_busy(&self, port: usize) -> bool {
        self.tx[port].open.is_some()
    }

    pub fn tx_line_stats(&self, port: usize) -> TxLineStats {
        self.tx[port].stats
    }

    /// Queues bytes for the board's UART receiver.
    pub fn uart_write(&mut self, bytes: &[u8]) {
        self.uart_out.queue.extend(bytes);
    }

    /// Bytes queued or on the line towards the board.
    pub fn uart_write_pending(&self) -> usize {
        self.uart_out.pending()
    }

    /// Bytes the board's UART sent since the last call.
    pub fn uart_read(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.uart_in.received)
    }

    /// Bytes from the board with a low stop bit (dropped, not returned).
    pub fn uart_framing_errors(&self) -> u64 {
        self.uart_in.framing_errors
    }

    /// The LED pins as driven (an LED is lit when its pin is low).
    pub fn led_pins(&self) -> u8 {
        self.pins.led
    }

    /// The LEDs lit, one bit each.
    pub fn leds_lit(&self) -> u8 {
        !self.pins.led
    }

    /// Each PHY's reset pin (`ethN_rst_n`): true once the PHY is let out of reset.
    pub fn phy_reset_n(&self) -> [bool; PORTS] {
        [self.pins.eth0_rst_n != 0, self.pins.eth1_rst_n != 0]
    }

    /// The core cycle counts (`cycles()` just after the edge) at which port
    /// `port`'s PHY reset pin rose, i.e. the PHY was let out of reset.
    pub fn phy_reset_rises(&self, port: usize) -> &[u64] {
        &self.reset_rises[port]
    }

    /// Each PHY's MDC pin.
    pub fn mdc(&self) -> [bool; PORTS] {
        [self.pins.eth0_mdc != 0, self.pins.eth1_mdc != 0]
    }

    /// Holds the board's reset button (`rst_n` low) or lets it go.
    pub fn set_reset_button(&mut self, pressed: bool) {
        self.pins.rst_n = u8::from(!pressed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fcs_of_the_check_string() {
        // The CRC-32 catalogue's check value for "123456789".
        assert_eq!(fcs(b"123456789"), 0xCBF4_3926);
        let frame: Vec<u8> = (0..60).collect();
        let burst = TxBurst { start_ps: 0, start_cycle: 0, bytes: wire_bytes(&frame, fcs(&frame)), er_at: vec![] };
        assert_eq!(burst.frame().unwrap(), frame);
        let bad = TxBurst { bytes: wire_bytes(&frame, fcs(&frame) ^ 1), ..burst.clone() };
        assert!(bad.frame().unwrap_err().contains("FCS"));
    }

    #[test]
    fn uart_out_frames_bytes_8n1() {
        let mut u = UartOut { bit_cycles: 4, queue: VecDeque::from([0xA5]), frame: 0, bits_left: 0, cycles_left: 0, level: true };
        let line: Vec<bool> = (0..48).map(|_| u.next_cycle()).collect();
        let bits: Vec<bool> = line.chunks(4).map(|c| {
            assert!(c.iter().all(|&b| b == c[0]));
            c[0]
        }).collect();
        // Start, 0xA5 least significant bit first, stop, idle.
        assert_eq!(bits, [false, true, false, true, false, false, true, false, true, true, true, true]);
        assert_eq!(u.pending(), 0);
    }

    #[test]
    fn uart_in_decodes_what_uart_out_sends() {
        let bytes = [0x00, 0xFF, 0x5A, 0x13];
        let mut out = UartOut { bit_cycles: 9, queue: bytes.iter().copied().collect(), frame: 0, bits_left: 0, cycles_left: 0, level: true };
        let mut inp = UartIn { bit_cycles: 9, since_start: None, shift: 0, wait_high: false, received: vec![], framing_errors: 0 };
        for _ in 0..500 {
            inp.sample(out.next_cycle());
        }
        assert_eq!(inp.received, bytes);
        assert_eq!(inp.framing_errors, 0);
    }

    /// The core's loopback switched on through the UART, as the host's
    /// `uart` backend does it: one register write, answered Ok.
    fn loopback_on(sim: &mut VersaSim) {
        use arsenic_hdl::blocks::uart_bridge::{crc16_update, CMD_WRITE32, REPLY_LEN, SYNC_REPLY, SYNC_REQUEST};
        use arsenic_hdl::regmap::{CONTROL, CONTROL_LOOPBACK};
        let mut req = vec![SYNC_REQUEST, CMD_WRITE32, 7];
        req.extend_from_slice(&CONTROL.to_be_bytes()[1..]);
        req.extend_from_slice(&CONTROL_LOOPBACK.to_be_bytes());
        req.extend_from_slice(&crc16_update(0xFFFF, &req).to_be_bytes());
        sim.uart_write(&req);
        let mut reply = vec![];
        let bit = sim.config().uart_bit_cycles;
        while reply.len() < REPLY_LEN {
            assert!(sim.cycles() < 40 * 10 * bit, "no reply to the loopback write: {reply:02x?}");
            sim.run_cycles(bit);
            reply.extend(sim.uart_read());
        }
        // Sync, status (0 is Ok), sequence, command.
        assert_eq!(&reply[..4], [SYNC_REPLY, 0, 7, CMD_WRITE32], "the write was answered Ok");
    }

    /// A frame into port 1 comes out of port 0, through the core's
    /// loopback: its source was received on port 1, so it leaves by port 0.
    fn forward_one_frame(config: VersaConfig) {
        let mut sim = VersaSim::new(config);
        let mut frame: Vec<u8> = (0..64u32).map(|i| (i * 7 + 3) as u8).collect();
        // An individual (not group) source address, which the board learns.
        frame[6] = 0x02;
        sim.run_cycles(50);
        loopback_on(&mut sim);
        let start = sim.cycles();
        sim.send_frame(1, &frame);
        assert!(sim.run_until(3000, |s| s.bursts_waiting(0) > 0), "no frame out of port 0 {} cycles on", sim.cycles() - start);
        let cycles = sim.cycles();
        let bursts = sim.take_bursts(0);
        assert_eq!(bursts.len(), 1);
        assert_eq!(bursts[0].frame().unwrap(), frame);
        assert_eq!(sim.bursts_waiting(1), 0);
        let line = sim.tx_line_stats(0);
        assert!(line.txc_rises + 4 >= cycles && line.txc_bad_periods == 0, "{line:?} after {cycles} cycles");
        assert_eq!(sim.phy_reset_n(), [false, false]);
        assert_eq!(sim.uart_read(), Vec::<u8>::new());
        assert_eq!(sim.leds_lit() & 1 << 4, 0, "PLL lock LED");
    }

    /// The shim's pin order matches the ports, with the default clocks.
    #[test]
    fn a_frame_into_port_1_leaves_port_0() {
        forward_one_frame(VersaConfig::new(1085));
    }

    /// Every receive clock edge on a core clock edge, so no evaluation
    /// falls between two edges of a receive clock: each nibble reaches the
    /// model with the very edge that must sample it.
    #[test]
    fn frames_pass_when_every_clock_edge_coincides() {
        let mut config = VersaConfig::new(1085);
        config.rxc = [config.clk100; PORTS];
        forward_one_frame(config);
    }
}
