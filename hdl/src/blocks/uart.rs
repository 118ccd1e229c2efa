//! An 8N1 UART receiver and transmitter (one start bit, eight data bits
//! least significant first, one stop bit, no parity), for the board's
//! control-plane bridge. The bit period is a number of clock cycles fixed
//! when the block is built (125 MHz / 115200 baud is 1085 cycles).
//!
//! Both keep the line level inverted in their registers, so that the
//! all-zero reset state is an idle (high) line: no spurious start bit at
//! power-up and no need for registers with a non-zero initial value.

use rust_hdl::prelude::*;

/// Cycles per bit at `clock_hz` and `baud`, rounded to the nearest cycle.
pub fn bit_period(clock_hz: u64, baud: u64) -> u16 {
    let p = (clock_hz + baud / 2) / baud;
    assert!((4..=0xFFFF).contains(&p), "bit period of {p} cycles is out of range");
    p as u16
}

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum RxState {
    Idle,
    /// Seen a low line; checking it is still low half a bit later.
    Start,
    Data,
    Stop,
    /// A framing error: wait for the line to go high (a break holds it low)
    /// before looking for the next start bit.
    WaitHigh,
}

/// Receives bytes from `rx`. The line goes through a two-flop synchroniser;
/// a falling edge starts a byte, the start bit is checked at its middle
/// (a shorter low pulse is ignored as a glitch), and every later bit is
/// sampled one bit period after the previous one. When the stop bit is
/// high, `valid` is high for one cycle with `data`; when it is low,
/// `framing_error` is high for one cycle instead and the byte is dropped.
/// Both come from registers, about 9.5 bit periods (+ 3 cycles) after the
/// start edge.
#[derive(LogicBlock)]
pub struct UartRx {
    pub clock: Signal<In, Clock>,
    pub rx: Signal<In, Bit>,
    pub data: Signal<Out, Bits<8>>,
    pub valid: Signal<Out, Bit>,
    pub framing_error: Signal<Out, Bit>,
    period_m1: Constant<Bits<16>>,
    half_m1: Constant<Bits<16>>,
    /// The synchroniser, holding the inverted line (1 = low).
    low1: DFF<Bit>,
    low2: DFF<Bit>,
    state: DFF<RxState>,
    count: DFF<Bits<16>>,
    bit_no: DFF<Bits<3>>,
    shift: DFF<Bits<8>>,
    data_q: DFF<Bits<8>>,
    valid_q: DFF<Bit>,
    error_q: DFF<Bit>,
}

impl UartRx {
    /// `period`: the bit period in clock cycles, at least 4.
    pub fn new(period: u16) -> Self {
        assert!(period >= 4, "a bit period under 4 cycles cannot be sampled mid-bit");
        Self {
            clock: Default::default(),
            rx: Default::default(),
            data: Default::default(),
            valid: Default::default(),
            framing_error: Default::default(),
            period_m1: Constant::new(((period - 1) as u64).into()),
            half_m1: Constant::new(((period / 2 - 1) as u64).into()),
            low1: Default::default(),
            low2: Default::default(),
            state: Default::default(),
            count: Default::default(),
            bit_no: Default::default(),
            shift: Default::default(),
            data_q: Default::default(),
            valid_q: Default::default(),
            error_q: Default::default(),
        }
    }
}

impl Logic for UartRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, low1, low2, state, count, bit_no, shift, data_q, valid_q, error_q);
        self.data.next = self.data_q.q.val();
        self.valid.next = self.valid_q.q.val();
        self.framing_error.next = self.error_q.q.val();
        self.low1.d.next = !self.rx.val();
        self.low2.d.next = self.low1.q.val();
        self.valid_q.d.next = false;
        self.error_q.d.next = false;
        self.count.d.next = self.count.q.val() + 1;

        match self.state.q.val() {
            RxState::Idle => {
                self.count.d.next = 0.into();
                if self.low2.q.val() {
                    self.state.d.next = RxState::Start;
                }
            }
            RxState::Start => {
                if self.count.q.val() == self.half_m1.val() {
                    self.count.d.next = 0.into();
                    self.bit_no.d.next = 0.into();
                    if self.low2.q.val() {
                        self.state.d.next = RxState::Data;
                    } else {
                        self.state.d.next = RxState::Idle;
                    }
                }
            }
            RxState::Data => {
                if self.count.q.val() == self.period_m1.val() {
                    self.count.d.next = 0.into();
                    self.shift.d.next = self.shift.q.val() >> 1;
                    if !self.low2.q.val() {
                        self.shift.d.next = (self.shift.q.val() >> 1) | 0x80;
                    }
                    self.bit_no.d.next = self.bit_no.q.val() + 1;
                    if self.bit_no.q.val() == 7 {
                        self.state.d.next = RxState::Stop;
                    }
                }
            }
            RxState::Stop => {
                if self.count.q.val() == self.period_m1.val() {
                    self.count.d.next = 0.into();
                    if self.low2.q.val() {
                        self.error_q.d.next = true;
                        self.state.d.next = RxState::WaitHigh;
                    } else {
                        self.valid_q.d.next = true;
                        self.data_q.d.next = self.shift.q.val();
                        self.state.d.next = RxState::Idle;
                    }
                }
            }
            RxState::WaitHigh => {
                self.count.d.next = 0.into();
                if !self.low2.q.val() {
                    self.state.d.next = RxState::Idle;
                }
            }
        }
    }
}

/// Sends bytes on `tx`, which idles high. A byte moves on `valid && ready`;
/// `ready` is high while the line is idle and in the last cycle of a stop
/// bit, so bytes offered back to back go out every ten bit periods with
/// no idle time between them. `tx` comes from a register; the start
/// bit begins the cycle after the byte is taken.
#[derive(LogicBlock)]
pub struct UartTx {
    pub clock: Signal<In, Clock>,
    pub data: Signal<In, Bits<8>>,
    pub valid: Signal<In, Bit>,
    pub ready: Signal<Out, Bit>,
    pub tx: Signal<Out, Bit>,
    period_m1: Constant<Bits<16>>,
    busy: DFF<Bit>,
    /// The inverted line (1 = low).
    line_low: DFF<Bit>,
    /// Data bits still to send, then the stop bit.
    shift: DFF<Bits<9>>,
    count: DFF<Bits<16>>,
    bit_no: DFF<Bits<4>>,
    /// The stop bit's last cycle, when the next byte may already be taken.
    last_cycle: Signal<Local, Bit>,
}

impl UartTx {
    /// `period`: the bit period in clock cycles, at least 4.
    pub fn new(period: u16) -> Self {
        assert!(period >= 4, "a bit period under 4 cycles is not supported");
        Self {
            clock: Default::default(),
            data: Default::default(),
            valid: Default::default(),
            ready: Default::default(),
            tx: Default::default(),
            period_m1: Constant::new(((period - 1) as u64).into()),
            busy: Default::default(),
            line_low: Default::default(),
            shift: Default::default(),
            count: Default::default(),
            bit_no: Default::default(),
            last_cycle: Default::default(),
        }
    }
}

impl Logic for UartTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, busy, line_low, shift, count, bit_no);
        self.tx.next = !self.line_low.q.val();
        self.last_cycle.next = (self.bit_no.q.val() == 9) & (self.count.q.val() == self.period_m1.val());
        self.ready.next = !self.busy.q.val() | self.last_cycle.val();
        self.count.d.next = self.count.q.val() + 1;
        if self.busy.q.val() & (self.count.q.val() == self.period_m1.val()) {
            self.count.d.next = 0.into();
            self.bit_no.d.next = self.bit_no.q.val() + 1;
            if self.bit_no.q.val() == 9 {
                self.busy.d.next = false;
            } else {
                self.line_low.d.next = !self.shift.q.val().get_bit(0);
                self.shift.d.next = self.shift.q.val() >> 1;
            }
        }
        if (!self.busy.q.val() | self.last_cycle.val()) & self.valid.val() {
            self.busy.d.next = true;
            self.line_low.d.next = true;
            self.shift.d.next = bit_cast::<9, 8>(self.data.val()) | 0x100;
            self.count.d.next = 0.into();
            self.bit_no.d.next = 0.into();
        }
    }
}

/// Software model of the line, for tests: the levels of `bytes` sent 8N1
/// at `period` cycles a bit, one entry per cycle, with `gap` idle cycles
/// after each byte.
#[cfg(test)]
pub(crate) fn line_levels(bytes: &[u8], period: usize, gap: usize) -> Vec<bool> {
    let mut v = vec![];
    for &b in bytes {
        let bits = std::iter::once(false).chain((0..8).map(|i| b >> i & 1 != 0)).chain(std::iter::once(true));
        for level in bits {
            v.extend(std::iter::repeat_n(level, period));
        }
        v.extend(std::iter::repeat_n(true, gap));
    }
    v
}

/// Software receiver for tests: fed the line one cycle at a time, samples
/// each bit at its middle and collects the bytes (None for a framing error).
#[cfg(test)]
pub(crate) struct LineDecoder {
    period: usize,
    /// Cycles since the start edge, while in a byte.
    at: Option<usize>,
    byte: u8,
    pub bytes: Vec<Option<u8>>,
    /// Cycle index of each start edge.
    pub starts: Vec<u64>,
    cycle: u64,
}

#[cfg(test)]
impl LineDecoder {
    pub fn new(period: usize) -> Self {
        Self { period, at: None, byte: 0, bytes: vec![], starts: vec![], cycle: 0 }
    }

    pub fn push(&mut self, level: bool) {
        match self.at {
            None => {
                if !level {
                    self.at = Some(0);
                    self.byte = 0;
                    self.starts.push(self.cycle);
                }
            }
            Some(t) => {
                let t = t + 1;
                self.at = Some(t);
                if t % self.period == self.period / 2 {
                    let n = t / self.period;
                    if n == 0 {
                        assert!(!level, "start bit not low at its middle (cycle {})", self.cycle);
                    } else if n <= 8 {
                        self.byte |= (level as u8) << (n - 1);
                    } else {
                        self.bytes.push(if level { Some(self.byte) } else { None });
                        self.at = None;
                    }
                }
            }
        }
        self.cycle += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;

    #[test]
    fn loopback_of_every_byte_value_back_to_back() {
        const P: u16 = 8;
        let mut tx = Harness::new(UartTx::new(P), |u| &mut u.clock);
        let mut rx = Harness::new(UartRx::new(P), |u| &mut u.clock);
        let mut decoder = LineDecoder::new(P as usize);
        let mut sent = 0usize;
        let mut got = vec![];
        let mut errors = 0;
        while got.len() < 256 {
            tx.uut.valid.next = sent < 256;
            tx.uut.data.next = ((sent % 256) as u64).into();
            tx.settle();
            if tx.uut.valid.val() && tx.uut.ready.val() {
                sent += 1;
            }
            tx.cycle();
            let line = tx.uut.tx.val();
            decoder.push(line);
            rx.uut.rx.next = line;
            rx.cycle();
            if rx.uut.valid.val() {
                got.push(u64::from(rx.uut.data.val()) as u8);
            }
            errors += rx.uut.framing_error.val() as usize;
            assert!(tx.cycles < 256 * 10 * P as u64 + 100, "loopback stalled");
        }
        assert_eq!(got, (0..=255u8).collect::<Vec<_>>());
        assert_eq!(errors, 0);
        // The software decoder sees the same bytes, and the transmitter
        // keeps the line busy: a start edge every ten bit periods.
        assert_eq!(decoder.bytes, (0..=255u8).map(Some).collect::<Vec<_>>());
        for w in decoder.starts.windows(2) {
            assert_eq!(w[1] - w[0], 10 * P as u64);
        }
    }

    /// Feeds `levels` to a receiver; returns its bytes and framing errors
    /// in order (None for an error).
    fn receive(period: u16, levels: &[bool]) -> Vec<Option<u8>> {
        let mut rx = Harness::new(UartRx::new(period), |u| &mut u.clock);
        let mut out = vec![];
        for &l in levels.iter().chain(std::iter::repeat_n(&true, 4 * period as usize)) {
            rx.uut.rx.next = l;
            rx.cycle();
            assert!(!(rx.uut.valid.val() && rx.uut.framing_error.val()));
            if rx.uut.valid.val() {
                out.push(Some(u64::from(rx.uut.data.val()) as u8));
            }
            if rx.uut.framing_error.val() {
                out.push(None);
            }
        }
        out
    }

    #[test]
    fn framing_error_glitch_and_break() {
        const P: usize = 8;
        let mut levels = line_levels(&[0x3C], P, 3);
        // 0xC3 with its stop bit low: a framing error, the byte dropped.
        let mut bad = line_levels(&[0xC3], P, 0);
        for l in &mut bad[9 * P..] {
            *l = false;
        }
        levels.extend(bad);
        levels.extend(std::iter::repeat_n(true, 2 * P));
        // A glitch shorter than half a bit is not a start bit.
        levels.extend(std::iter::repeat_n(false, P / 2 - 2));
        levels.extend(std::iter::repeat_n(true, 2 * P));
        // A break (line low for 30 bits) is one framing error, then the
        // receiver waits for the line to rise before the next byte.
        levels.extend(std::iter::repeat_n(false, 30 * P));
        levels.extend(std::iter::repeat_n(true, P));
        levels.extend(line_levels(&[0xA5, 0x00, 0xFF], P, 0));
        assert_eq!(receive(P as u16, &levels), vec![Some(0x3C), None, None, Some(0xA5), Some(0x00), Some(0xFF)]);
    }

    #[test]
    fn receives_at_115200_baud_from_125_mhz_with_a_slow_sender() {
        let p = bit_period(125_000_000, 115_200);
        assert_eq!(p, 1085);
        // The sender is 2% slow; mid-bit sampling still lands inside each bit.
        let levels = line_levels(&[0x55, 0x81, 0x7E], 1107, 0);
        assert_eq!(receive(p, &levels), vec![Some(0x55), Some(0x81), Some(0x7E)]);
    }

    #[test]
    fn generates_verilog() {
        let mut rx = UartRx::new(1085);
        rx.connect_all();
        check_all(&rx).unwrap();
        assert!(generate_verilog(&rx).contains("module top"));
        let mut tx = UartTx::new(1085);
        tx.connect_all();
        check_all(&tx).unwrap();
        assert!(generate_verilog(&tx).contains("module top"));
    }
}
