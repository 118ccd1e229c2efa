//! The board's UART control-plane bridge: turns each 12-byte request on
//! `rx` into one access on the register port and answers with a 10-byte
//! reply on `tx`. The frame layouts, the CRC and the board's rules are the
//! contract in `host-driver/src/uart/protocol.rs`; the Rust reference of
//! this block is `host-driver/src/uart/server.rs`.
//!
//! Behaviour, in the order the checks are made once twelve bytes from a
//! sync byte (0xA5) are in:
//! - CRC-16/CCITT-FALSE of bytes 0..10 differs from bytes 10..12:
//!   `BadChecksum` (1), no access;
//! - command neither 'R' (0x52) nor 'W' (0x57): `BadCommand` (3), no access;
//! - address not a multiple of 4: `BadAddress` (2), no access;
//! - otherwise one access (`strobe` for one cycle, `write` for 'W', the
//!   24-bit address, the value as `wdata`); an `ack` within
//!   `ACK_TIMEOUT_CYCLES` gives `Ok` (0) with `rdata` as the reply's data
//!   for a read, 0 for a write; no ack in time gives `BadAddress` (2).
//!   The register port has no error signal, so a target that never acks
//!   is how an unmapped address shows here.
//!
//! The reply echoes the sequence number and command byte as received and
//! carries 0 as data for anything but a good read. Bytes that arrive while
//! no frame is open and are not 0xA5 are skipped. While a frame is open, a
//! gap of `idle_cycles` with no byte received drops it without a reply.
//! Bytes received framed badly (stop bit low) are not bytes: they are
//! skipped and do not restart the idle count.
//!
//! One request is in flight at a time, as the contract says: bytes that
//! complete while the bridge checks a frame, waits for the ack or sends
//! the reply are ignored. A target that acks after the timeout does so
//! while the reply is being sent (at least 100 bit periods), when acks are
//! ignored too.

use super::uart::{bit_period, UartRx, UartTx};
use crate::ports::RegInitiator;
use rust_hdl::prelude::*;

/// The protocol's framing constants: the host's `uart::protocol` takes
/// them from here, so board and host cannot drift apart.
pub const SYNC_REQUEST: u8 = 0xA5;
pub const SYNC_REPLY: u8 = 0x5A;
pub const REQUEST_LEN: usize = 12;
pub const REPLY_LEN: usize = 10;
pub const CMD_READ32: u8 = b'R';
pub const CMD_WRITE32: u8 = b'W';
/// The line idle time that drops a partial request.
pub const IDLE_RESET_MS: u64 = 10;

// Literals in the kernel below stand for these.
const _: () = {
    assert!(SYNC_REQUEST == 0xA5 && SYNC_REPLY == 0x5A && CMD_READ32 == 0x52 && CMD_WRITE32 == 0x57);
    // Counts run 0..=11 for a request's bytes and 0..=9 for a reply's.
    assert!(REQUEST_LEN == 12 && REPLY_LEN == 10);
};
/// Cycles the bridge waits for the register port's ack.
pub const ACK_TIMEOUT_CYCLES: u16 = 1024;
pub const CRC16_POLY: u16 = 0x1021;

/// CRC-16/CCITT-FALSE register update over `bytes`, bit by bit, most
/// significant bit first (start from 0xFFFF; no final XOR).
pub fn crc16_update(mut crc: u16, bytes: &[u8]) -> u16 {
    for &b in bytes {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { crc << 1 ^ CRC16_POLY } else { crc << 1 };
        }
    }
    crc
}

/// One byte's CRC-16/CCITT-FALSE update, combinational: eight unrolled
/// shift-and-conditional-xor steps, most significant bit first.
#[derive(LogicBlock)]
pub struct Crc16Byte {
    pub crc_in: Signal<In, Bits<16>>,
    pub data: Signal<In, Bits<8>>,
    pub crc_out: Signal<Out, Bits<16>>,
    poly: Constant<Bits<16>>,
    s0: Signal<Local, Bits<16>>,
    s1: Signal<Local, Bits<16>>,
    s2: Signal<Local, Bits<16>>,
    s3: Signal<Local, Bits<16>>,
    s4: Signal<Local, Bits<16>>,
    s5: Signal<Local, Bits<16>>,
    s6: Signal<Local, Bits<16>>,
    s7: Signal<Local, Bits<16>>,
}

impl Default for Crc16Byte {
    fn default() -> Self {
        Self {
            crc_in: Default::default(),
            data: Default::default(),
            crc_out: Default::default(),
            poly: Constant::new((CRC16_POLY as u64).into()),
            s0: Default::default(),
            s1: Default::default(),
            s2: Default::default(),
            s3: Default::default(),
            s4: Default::default(),
            s5: Default::default(),
            s6: Default::default(),
            s7: Default::default(),
        }
    }
}

impl Logic for Crc16Byte {
    #[hdl_gen]
    fn update(&mut self) {
        self.s0.next = self.crc_in.val() ^ (bit_cast::<16, 8>(self.data.val()) << 8);
        self.s1.next = self.s0.val() << 1;
        if self.s0.val().get_bit(15) {
            self.s1.next = (self.s0.val() << 1) ^ self.poly.val();
        }
        self.s2.next = self.s1.val() << 1;
        if self.s1.val().get_bit(15) {
            self.s2.next = (self.s1.val() << 1) ^ self.poly.val();
        }
        self.s3.next = self.s2.val() << 1;
        if self.s2.val().get_bit(15) {
            self.s3.next = (self.s2.val() << 1) ^ self.poly.val();
        }
        self.s4.next = self.s3.val() << 1;
        if self.s3.val().get_bit(15) {
            self.s4.next = (self.s3.val() << 1) ^ self.poly.val();
        }
        self.s5.next = self.s4.val() << 1;
        if self.s4.val().get_bit(15) {
            self.s5.next = (self.s4.val() << 1) ^ self.poly.val();
        }
        self.s6.next = self.s5.val() << 1;
        if self.s5.val().get_bit(15) {
            self.s6.next = (self.s5.val() << 1) ^ self.poly.val();
        }
        self.s7.next = self.s6.val() << 1;
        if self.s6.val().get_bit(15) {
            self.s7.next = (self.s6.val() << 1) ^ self.poly.val();
        }
        self.crc_out.next = self.s7.val() << 1;
        if self.s7.val().get_bit(15) {
            self.crc_out.next = (self.s7.val() << 1) ^ self.poly.val();
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum BridgeState {
    /// Hunting for a sync byte or collecting a frame.
    Receive,
    /// Twelve bytes are in: check them, start the access if they are good.
    Check,
    WaitAck,
    Reply,
}

#[derive(LogicBlock)]
pub struct UartBridge {
    pub clock: Signal<In, Clock>,
    pub rx: Signal<In, Bit>,
    pub tx: Signal<Out, Bit>,
    pub regs: RegInitiator,
    receiver: UartRx,
    transmitter: UartTx,
    crc_rx: Crc16Byte,
    crc_tx: Crc16Byte,
    idle_limit: Constant<Bits<24>>,
    ack_limit: Constant<Bits<16>>,
    /// Reply byte 0 (the sync byte) and byte 1 (the statuses) in place.
    sync_word: Constant<Bits<64>>,
    bad_checksum: Constant<Bits<64>>,
    bad_address: Constant<Bits<64>>,
    bad_command: Constant<Bits<64>>,
    state: DFF<BridgeState>,
    /// Bytes of the open frame so far; 0 while hunting for a sync byte.
    count: DFF<Bits<4>>,
    /// Cycles since the open frame's last byte.
    idle: DFF<Bits<24>>,
    cmd: DFF<Bits<8>>,
    seq: DFF<Bits<8>>,
    addr: DFF<Bits<24>>,
    value: DFF<Bits<32>>,
    /// CRC register over the frame's bytes 0..10.
    crc: DFF<Bits<16>>,
    /// The CRC the frame carries (bytes 10..12).
    crc_got: DFF<Bits<16>>,
    waited: DFF<Bits<16>>,
    strobe: DFF<Bit>,
    /// Reply bytes 0..8, the next one to send in the top byte.
    reply: DFF<Bits<64>>,
    /// CRC register over the reply bytes sent so far.
    crc_out: DFF<Bits<16>>,
    /// Reply bytes sent so far.
    sent: DFF<Bits<4>>,
    /// Reply bytes 0..4 with status Ok and data 0.
    header: Signal<Local, Bits<64>>,
}

impl UartBridge {
    /// `period`: the UART bit period in clock cycles; `idle_cycles`: the
    /// gap inside a request that drops it, longer than two byte times and
    /// below 2^24.
    pub fn new(period: u16, idle_cycles: u32) -> Self {
        assert!(idle_cycles as u64 > 20 * period as u64, "an idle limit this short would drop good requests");
        assert!(idle_cycles < 1 << 24, "idle limit too long for its counter");
        Self {
            clock: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            regs: Default::default(),
            receiver: UartRx::new(period),
            transmitter: UartTx::new(period),
            crc_rx: Default::default(),
            crc_tx: Default::default(),
            idle_limit: Constant::new((idle_cycles as u64).into()),
            ack_limit: Constant::new(((ACK_TIMEOUT_CYCLES - 1) as u64).into()),
            sync_word: Constant::new((0x5Au64 << 56).into()),
            bad_checksum: Constant::new((1u64 << 48).into()),
            bad_address: Constant::new((2u64 << 48).into()),
            bad_command: Constant::new((3u64 << 48).into()),
            state: Default::default(),
            count: Default::default(),
            idle: Default::default(),
            cmd: Default::default(),
            seq: Default::default(),
            addr: Default::default(),
            value: Default::default(),
            crc: Default::default(),
            crc_got: Default::default(),
            waited: Default::default(),
            strobe: Default::default(),
            reply: Default::default(),
            crc_out: Default::default(),
            sent: Default::default(),
            header: Default::default(),
        }
    }

    /// The bridge at `clock_hz` and `baud`, dropping partial requests after
    /// `IDLE_RESET_MS`.
    pub fn for_clock(clock_hz: u64, baud: u64) -> Self {
        Self::new(bit_period(clock_hz, baud), (IDLE_RESET_MS * clock_hz / 1000) as u32)
    }
}

impl Logic for UartBridge {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, count, idle, cmd, seq, addr, value, crc, crc_got, waited, strobe, reply, crc_out,
            sent
        );
        clock!(self, clock, receiver, transmitter);
        self.receiver.rx.next = self.rx.val();
        self.tx.next = self.transmitter.tx.val();

        self.regs.strobe.next = self.strobe.q.val();
        self.regs.write.next = self.cmd.q.val() == 0x57;
        self.regs.addr.next = self.addr.q.val();
        self.regs.wdata.next = self.value.q.val();
        self.strobe.d.next = false;

        // Sync byte 0x5A, status 0, then seq and command as received.
        self.header.next = (bit_cast::<64, 8>(self.seq.q.val()) << 40)
            | (bit_cast::<64, 8>(self.cmd.q.val()) << 32)
            | self.sync_word.val();

        self.crc_rx.crc_in.next = self.crc.q.val();
        self.crc_rx.data.next = self.receiver.data.val();
        self.crc_tx.crc_in.next = self.crc_out.q.val();
        self.crc_tx.data.next = self.reply.q.val().get_bits::<8>(56);
        self.transmitter.valid.next = false;
        self.transmitter.data.next = self.reply.q.val().get_bits::<8>(56);
        if self.sent.q.val() == 8 {
            self.transmitter.data.next = self.crc_out.q.val().get_bits::<8>(8);
        }
        if self.sent.q.val() == 9 {
            self.transmitter.data.next = self.crc_out.q.val().get_bits::<8>(0);
        }

        match self.state.q.val() {
            BridgeState::Receive => {
                self.idle.d.next = self.idle.q.val() + 1;
                if self.count.q.val() == 0 {
                    self.idle.d.next = 0.into();
                }
                if (self.count.q.val() != 0) & (self.idle.q.val() == self.idle_limit.val()) {
                    self.count.d.next = 0.into();
                    self.idle.d.next = 0.into();
                }
                if self.receiver.valid.val() {
                    self.idle.d.next = 0.into();
                    self.count.d.next = self.count.q.val() + 1;
                    self.crc.d.next = self.crc_rx.crc_out.val();
                    if self.count.q.val() == 0 {
                        self.crc_rx.crc_in.next = 0xFFFF.into();
                        if self.receiver.data.val() != 0xA5 {
                            self.count.d.next = 0.into();
                        }
                    }
                    if self.count.q.val() == 1 {
                        self.cmd.d.next = self.receiver.data.val();
                    }
                    if self.count.q.val() == 2 {
                        self.seq.d.next = self.receiver.data.val();
                    }
                    if (self.count.q.val() >= 3) & (self.count.q.val() <= 5) {
                        self.addr.d.next =
                            (self.addr.q.val() << 8) | bit_cast::<24, 8>(self.receiver.data.val());
                    }
                    if (self.count.q.val() >= 6) & (self.count.q.val() <= 9) {
                        self.value.d.next =
                            (self.value.q.val() << 8) | bit_cast::<32, 8>(self.receiver.data.val());
                    }
                    if self.count.q.val() >= 10 {
                        self.crc.d.next = self.crc.q.val();
                        self.crc_got.d.next =
                            (self.crc_got.q.val() << 8) | bit_cast::<16, 8>(self.receiver.data.val());
                    }
                    if self.count.q.val() == 11 {
                        self.count.d.next = 0.into();
                        self.state.d.next = BridgeState::Check;
                    }
                }
            }
            BridgeState::Check => {
                self.state.d.next = BridgeState::Reply;
                self.sent.d.next = 0.into();
                self.crc_out.d.next = 0xFFFF.into();
                if self.crc.q.val() != self.crc_got.q.val() {
                    self.reply.d.next = self.header.val() | self.bad_checksum.val();
                } else if (self.cmd.q.val() != 0x52) & (self.cmd.q.val() != 0x57) {
                    self.reply.d.next = self.header.val() | self.bad_command.val();
                } else if self.addr.q.val().get_bits::<2>(0) != 0 {
                    self.reply.d.next = self.header.val() | self.bad_address.val();
                } else {
                    self.strobe.d.next = true;
                    self.waited.d.next = 0.into();
                    self.state.d.next = BridgeState::WaitAck;
                }
            }
            BridgeState::WaitAck => {
                self.waited.d.next = self.waited.q.val() + 1;
                if self.regs.ack.val() {
                    self.state.d.next = BridgeState::Reply;
                    self.reply.d.next = self.header.val();
                    if self.cmd.q.val() == 0x52 {
                        self.reply.d.next = self.header.val() | bit_cast::<64, 32>(self.regs.rdata.val());
                    }
                } else if self.waited.q.val() == self.ack_limit.val() {
                    self.state.d.next = BridgeState::Reply;
                    self.reply.d.next = self.header.val() | self.bad_address.val();
                }
            }
            BridgeState::Reply => {
                self.transmitter.valid.next = true;
                if self.transmitter.ready.val() {
                    self.sent.d.next = self.sent.q.val() + 1;
                    if self.sent.q.val() < 8 {
                        self.crc_out.d.next = self.crc_tx.crc_out.val();
                        self.reply.d.next = self.reply.q.val() << 8;
                    }
                    // `count` and `idle` are already 0: both were cleared
                    // with the byte that completed the request. Not clearing
                    // them again keeps the transmitter's handshake out of
                    // their reset logic.
                    if self.sent.q.val() == 9 {
                        self.state.d.next = BridgeState::Receive;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::uart::{line_levels, LineDecoder};
    use crate::harness::Harness;
    use std::collections::{HashMap, VecDeque};

    const P: u16 = 8;
    const IDLE: u32 = 600;
    /// Register addresses from here up are never acknowledged.
    const UNMAPPED: u32 = 0x80_0000;

    /// A request laid out as host-driver's `protocol::encode_request`.
    fn request(cmd: u8, seq: u8, addr: u32, value: u32) -> Vec<u8> {
        let mut f = vec![0xA5, cmd, seq];
        f.extend_from_slice(&addr.to_be_bytes()[1..]);
        f.extend_from_slice(&value.to_be_bytes());
        let crc = crc16_update(0xFFFF, &f);
        f.extend_from_slice(&crc.to_be_bytes());
        f
    }

    #[derive(Debug, PartialEq)]
    struct Reply {
        status: u8,
        seq: u8,
        cmd: u8,
        data: u32,
    }

    fn decode_reply(f: &[u8]) -> Reply {
        assert_eq!(f.len(), 10);
        assert_eq!(f[0], 0x5A, "reply sync byte");
        assert_eq!(crc16_update(0xFFFF, &f[..8]), u16::from_be_bytes([f[8], f[9]]), "reply CRC of {f:02x?}");
        Reply { status: f[1], seq: f[2], cmd: f[3], data: u32::from_be_bytes([f[4], f[5], f[6], f[7]]) }
    }

    fn ok(seq: u8, cmd: u8, data: u32) -> Reply {
        Reply { status: 0, seq, cmd, data }
    }

    /// The bridge with a host on its UART pins and a register target
    /// (a map, acking two cycles after the strobe) on its port.
    struct Bench {
        h: Harness<UartBridge>,
        regs: HashMap<u32, u32>,
        pending: Option<(u32, u32)>,
        /// (write, addr, wdata) of every strobe.
        accesses: Vec<(bool, u32, u32)>,
        line: VecDeque<bool>,
        decoder: LineDecoder,
        taken: usize,
    }

    impl Bench {
        fn new() -> Self {
            Self {
                h: Harness::new(UartBridge::new(P, IDLE), |b| &mut b.clock),
                regs: HashMap::new(),
                pending: None,
                accesses: vec![],
                line: VecDeque::new(),
                decoder: LineDecoder::new(P as usize),
                taken: 0,
            }
        }

        fn send(&mut self, bytes: &[u8], gap: usize) {
            self.line.extend(line_levels(bytes, P as usize, gap));
        }

        fn step(&mut self) {
            let u = &mut self.h.uut;
            u.rx.next = self.line.pop_front().unwrap_or(true);
            u.regs.ack.next = false;
            if let Some((n, d)) = self.pending {
                if n == 0 {
                    u.regs.ack.next = true;
                    u.regs.rdata.next = (d as u64).into();
                    self.pending = None;
                } else {
                    self.pending = Some((n - 1, d));
                }
            }
            self.h.settle();
            let r = &self.h.uut.regs;
            if r.strobe.val() {
                assert!(self.pending.is_none(), "a second access while one is outstanding");
                let (write, addr, wdata) =
                    (r.write.val(), u64::from(r.addr.val()) as u32, u64::from(r.wdata.val()) as u32);
                self.accesses.push((write, addr, wdata));
                if addr < UNMAPPED {
                    let d = if write {
                        self.regs.insert(addr, wdata);
                        0xBAD0_BAD0
                    } else {
                        *self.regs.get(&addr).unwrap_or(&(addr ^ 0x5EED_0000))
                    };
                    self.pending = Some((2, d));
                }
            }
            self.h.cycle();
            self.decoder.push(self.h.uut.tx.val());
        }

        /// Runs until the host's bytes are out and a reply, the longest
        /// ack wait included, would have finished; returns the new replies.
        fn run(&mut self) -> Vec<Reply> {
            while !self.line.is_empty() {
                self.step();
            }
            for _ in 0..ACK_TIMEOUT_CYCLES as usize + 12 * 10 * P as usize {
                self.step();
            }
            let bytes: Vec<u8> = self.decoder.bytes[self.taken..].iter().map(|b| b.expect("framing error on tx")).collect();
            self.taken = self.decoder.bytes.len();
            assert_eq!(bytes.len() % 10, 0, "partial reply {bytes:02x?}");
            bytes.chunks(10).map(decode_reply).collect()
        }

        fn exchange(&mut self, req: &[u8]) -> Vec<Reply> {
            self.send(req, 0);
            self.run()
        }
    }

    #[test]
    fn software_crc16_matches_the_check_value() {
        assert_eq!(crc16_update(0xFFFF, b"123456789"), 0x29B1);
    }

    #[test]
    fn gateware_crc16_byte_matches_software() {
        let mut uut = Crc16Byte::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let mut x: u32 = 0x1234_5678;
        for _ in 0..3000 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let (start, b) = ((x >> 3) as u16, (x >> 24) as u8);
            uut.crc_in.next = (start as u64).into();
            uut.data.next = (b as u64).into();
            assert!(simulate(&mut uut, 100), "did not settle");
            assert_eq!(u64::from(uut.crc_out.val()) as u16, crc16_update(start, &[b]), "{b:#x} from {start:#x}");
        }
    }

    #[test]
    fn bridge_read_and_write_round_trips() {
        let mut b = Bench::new();
        assert_eq!(b.exchange(&request(b'R', 1, 0x40, 0)), vec![ok(1, b'R', 0x40 ^ 0x5EED_0000)]);
        assert_eq!(b.exchange(&request(b'W', 2, 0x40, 0x1234_5678)), vec![ok(2, b'W', 0)]);
        assert_eq!(b.exchange(&request(b'R', 3, 0x40, 0xFFFF_FFFF)), vec![ok(3, b'R', 0x1234_5678)]);
        assert_eq!(b.exchange(&request(b'W', 0xFF, 0x7F_FFFC, 0xFEDC_BA98)), vec![ok(0xFF, b'W', 0)]);
        assert_eq!(b.exchange(&request(b'R', 0, 0x7F_FFFC, 0)), vec![ok(0, b'R', 0xFEDC_BA98)]);
        // Requests back to back, each sent as soon as the previous reply is in.
        for i in 0..8u32 {
            let addr = 0x1000 + 4 * i;
            assert_eq!(b.exchange(&request(b'W', i as u8, addr, i * 0x0101_0101)), vec![ok(i as u8, b'W', 0)]);
        }
        for i in 0..8u32 {
            let addr = 0x1000 + 4 * i;
            assert_eq!(b.exchange(&request(b'R', 0x80 + i as u8, addr, 0)), vec![ok(0x80 + i as u8, b'R', i * 0x0101_0101)]);
        }
        let mut expect = vec![(false, 0x40, 0), (true, 0x40, 0x1234_5678), (false, 0x40, 0xFFFF_FFFF)];
        expect.push((true, 0x7F_FFFC, 0xFEDC_BA98));
        expect.push((false, 0x7F_FFFC, 0));
        expect.extend((0..8u32).map(|i| (true, 0x1000 + 4 * i, i * 0x0101_0101)));
        expect.extend((0..8u32).map(|i| (false, 0x1000 + 4 * i, 0)));
        assert_eq!(b.accesses, expect);
    }

    #[test]
    fn bridge_refuses_bad_requests_without_an_access() {
        let mut b = Bench::new();
        let mut bad_crc = request(b'W', 7, 0x40, 0x1111_1111);
        bad_crc[11] ^= 0x01;
        assert_eq!(b.exchange(&bad_crc), vec![Reply { status: 1, seq: 7, cmd: b'W', data: 0 }]);
        let mut bad_body = request(b'W', 8, 0x40, 0x1111_1111);
        bad_body[7] ^= 0x80;
        assert_eq!(b.exchange(&bad_body), vec![Reply { status: 1, seq: 8, cmd: b'W', data: 0 }]);
        assert_eq!(b.exchange(&request(b'X', 9, 0x40, 0)), vec![Reply { status: 3, seq: 9, cmd: b'X', data: 0 }]);
        assert_eq!(b.exchange(&request(b'r', 10, 0x40, 0)), vec![Reply { status: 3, seq: 10, cmd: b'r', data: 0 }]);
        for (seq, addr) in [(11u8, 0x41u32), (12, 0x42), (13, 0x43), (14, 0x7F_FFFE)] {
            assert_eq!(b.exchange(&request(b'R', seq, addr, 0)), vec![Reply { status: 2, seq, cmd: b'R', data: 0 }]);
        }
        assert!(b.accesses.is_empty(), "{:?}", b.accesses);
        // An address no target acks: one access, then BadAddress after the timeout.
        let start = b.h.cycles;
        assert_eq!(b.exchange(&request(b'W', 15, UNMAPPED, 5)), vec![Reply { status: 2, seq: 15, cmd: b'W', data: 0 }]);
        let reply_start = b.decoder.starts[b.decoder.starts.len() - 10] - start;
        let request_end = 12 * 10 * P as u64;
        assert!(
            reply_start > request_end + ACK_TIMEOUT_CYCLES as u64 && reply_start < request_end + ACK_TIMEOUT_CYCLES as u64 + 4 * P as u64,
            "reply started {reply_start} cycles after the request"
        );
        assert_eq!(b.exchange(&request(b'R', 16, 0xFF_FFFC, 0)), vec![Reply { status: 2, seq: 16, cmd: b'R', data: 0 }]);
        assert_eq!(b.accesses, vec![(true, UNMAPPED, 5), (false, 0xFF_FFFC, 0)]);
        // The bridge still serves good requests.
        assert_eq!(b.exchange(&request(b'W', 17, 0x44, 6)), vec![ok(17, b'W', 0)]);
        assert_eq!(b.exchange(&request(b'R', 18, 0x44, 0)), vec![ok(18, b'R', 6)]);
    }

    #[test]
    fn bridge_skips_garbage_and_drops_a_cut_request_after_the_idle_time() {
        let mut b = Bench::new();
        // Bytes before the sync byte, the reply's sync byte among them, are skipped.
        let mut line = vec![0x00, 0x5A, 0xFF, b'R', 0x13];
        line.extend(request(b'W', 1, 0x80, 0xCAFE_F00D));
        line.extend([0x5A, 0x00]);
        assert_eq!(b.exchange(&line), vec![ok(1, b'W', 0)]);
        // Gaps inside a request shorter than the idle limit keep it.
        b.send(&request(b'R', 2, 0x80, 0), IDLE as usize - 20 * P as usize);
        assert_eq!(b.run(), vec![ok(2, b'R', 0xCAFE_F00D)]);
        // A request cut after 7 bytes, the line idle past the limit, then a good one.
        let cut = request(b'W', 3, 0x84, 0xDEAD_BEEF);
        b.send(&cut[..7], 0);
        while !b.line.is_empty() {
            b.step();
        }
        for _ in 0..IDLE + 10 {
            b.step();
        }
        assert_eq!(b.exchange(&request(b'W', 4, 0x88, 0x0BAD_CAFE)), vec![ok(4, b'W', 0)]);
        assert_eq!(b.exchange(&request(b'R', 5, 0x88, 0)), vec![ok(5, b'R', 0x0BAD_CAFE)]);
        // Without the idle gap, the cut request swallows the head of the
        // next one: the twelve bytes fail their CRC, and the rest of the
        // good request (no sync byte in it) is skipped.
        let next = request(b'W', 6, 0x8C, 0x0102_0304);
        assert!(!next[5..].contains(&0xA5));
        b.send(&cut[..7], 0);
        b.send(&next, 0);
        assert_eq!(b.run(), vec![Reply { status: 1, seq: 3, cmd: b'W', data: 0 }]);
        assert_eq!(b.accesses, vec![(true, 0x80, 0xCAFE_F00D), (false, 0x80, 0), (true, 0x88, 0x0BAD_CAFE), (false, 0x88, 0)]);
    }

    #[test]
    fn bridge_generates_verilog() {
        let mut uut = UartBridge::for_clock(125_000_000, 115_200);
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
        if let Ok(p) = std::env::var("DUMP_VERILOG") {
            std::fs::write(p, v).unwrap();
        }
    }
}
