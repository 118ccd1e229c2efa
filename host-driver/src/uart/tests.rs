//! The protocol's frames, the framer's resynchronisation, the server's
//! answers and the link's retries, over in-memory streams.

use super::framer::Framer;
use super::link::Link;
use super::protocol::*;
use super::server::{Registers, Server};
use anyhow::{bail, Result};
use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

fn read(seq: u8, addr: u32) -> Request {
    Request { seq, command: Command::Read32, addr, value: 0 }
}

#[test]
fn uart_crc_matches_the_published_check_value() {
    // The CRC-16/CCITT-FALSE check value of "123456789".
    assert_eq!(crc16(b"123456789"), 0x29B1);
}

#[test]
fn uart_request_layout_is_the_documented_one() {
    let req = Request { seq: 7, command: Command::Write32, addr: 0x00_1234, value: 0xDEAD_BEEF };
    let f = encode_request(&req).unwrap();
    assert_eq!(&f[..10], &[0xA5, b'W', 7, 0x00, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF]);
    assert_eq!(u16::from_be_bytes([f[10], f[11]]), crc16(&f[..10]));
    let reply = Reply { status: Status::BadAddress, seq: 7, command: b'W', data: 0x0102_0304 };
    let r = encode_reply(&reply);
    assert_eq!(&r[..8], &[0x5A, 2, 7, b'W', 1, 2, 3, 4]);
    assert_eq!(u16::from_be_bytes([r[8], r[9]]), crc16(&r[..8]));
}

#[test]
fn uart_frames_round_trip() {
    for (seq, command, addr, value) in [(0, Command::Read32, 0, 0), (255, Command::Write32, 0xFF_FFFC, u32::MAX)] {
        let req = Request { seq, command, addr, value };
        assert_eq!(decode_request(&encode_request(&req).unwrap()).unwrap(), req);
    }
    for status in [Status::Ok, Status::BadChecksum, Status::BadAddress, Status::BadCommand] {
        let reply = Reply { status, seq: 9, command: b'R', data: 0x8000_0001 };
        assert_eq!(decode_reply(&encode_reply(&reply)).unwrap(), reply);
    }
}

#[test]
fn uart_every_decode_error_is_reported() {
    let good = encode_request(&read(1, 0x40)).unwrap();
    assert_eq!(decode_request(&good[..11]), Err(ProtocolError::Truncated { have: 11, need: 12 }));
    assert_eq!(decode_request(&[]), Err(ProtocolError::Truncated { have: 0, need: 12 }));
    let mut bad = good;
    bad[0] = 0x00;
    assert_eq!(decode_request(&bad), Err(ProtocolError::WrongSync { expected: 0xA5, found: 0 }));
    // A reply's sync byte is not a request's: an echoed request is no reply.
    assert!(matches!(decode_reply(&good[..10]), Err(ProtocolError::WrongSync { expected: 0x5A, found: 0xA5 })));
    // Every single-bit error anywhere in the frame fails the CRC.
    for byte in 1..12 {
        for bit in 0..8 {
            let mut bad = good;
            bad[byte] ^= 1 << bit;
            assert!(matches!(decode_request(&bad), Err(ProtocolError::BadChecksum { .. })), "byte {byte} bit {bit}");
        }
    }
    let mut unknown = good;
    unknown[1] = b'X';
    let crc = crc16(&unknown[..10]);
    unknown[10..].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(decode_request(&unknown), Err(ProtocolError::UnknownCommand(b'X')));
    let mut status = encode_reply(&Reply { status: Status::Ok, seq: 1, command: b'R', data: 0 });
    status[1] = 9;
    let crc = crc16(&status[..8]);
    status[8..].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(decode_reply(&status), Err(ProtocolError::UnknownStatus(9)));
    assert_eq!(encode_request(&read(1, 1 << 24)), Err(ProtocolError::AddressTooWide(1 << 24)));
}

#[test]
fn uart_replies_are_matched_to_their_request() {
    let req = read(5, 0x100);
    let ok = Reply { status: Status::Ok, seq: 5, command: b'R', data: 42 };
    assert_eq!(check_reply(&req, &ok), Ok(42));
    assert_eq!(
        check_reply(&req, &Reply { seq: 4, ..ok }),
        Err(ProtocolError::SequenceMismatch { sent: 5, received: 4 })
    );
    assert_eq!(
        check_reply(&req, &Reply { command: b'W', ..ok }),
        Err(ProtocolError::CommandMismatch { sent: b'R', received: b'W' })
    );
    for status in [Status::BadChecksum, Status::BadAddress, Status::BadCommand] {
        let err = check_reply(&req, &Reply { status, ..ok }).unwrap_err();
        assert_eq!(err, ProtocolError::Refused { status, command: b'R', addr: 0x100 });
        assert!(err.to_string().contains("0x000100"), "{err}");
    }
}

#[test]
fn uart_framer_skips_garbage_and_counts_it() {
    let frame = encode_reply(&Reply { status: Status::Ok, seq: 3, command: b'R', data: 7 });
    let mut f = Framer::new(SYNC_REPLY, REPLY_LEN);
    f.push(&[1, 2, 3]);
    assert!(f.candidate().is_none());
    assert_eq!(f.skipped(), 3);
    f.push(&frame[..4]);
    assert!(f.candidate().is_none(), "a partial frame is no frame");
    f.push(&frame[4..]);
    assert_eq!(f.candidate(), Some(&frame[..]));
    f.take();
    assert_eq!((f.pending(), f.skipped()), (0, 3));
}

#[test]
fn uart_framer_finds_a_frame_that_starts_inside_a_false_one() {
    let frame = encode_reply(&Reply { status: Status::Ok, seq: 3, command: b'R', data: 7 });
    let mut f = Framer::new(SYNC_REPLY, REPLY_LEN);
    // Garbage holding a sync byte, then the real frame.
    f.push(&[SYNC_REPLY, 0x11, 0x22]);
    f.push(&frame);
    let false_start = f.candidate().unwrap().to_vec();
    assert!(decode_reply(&false_start).is_err());
    f.reject();
    assert_eq!(decode_reply(f.candidate().unwrap()).unwrap().data, 7);
    assert_eq!(f.skipped(), 3);
}

/// A register file that maps the first 8 KiB and refuses the rest.
#[derive(Default)]
struct Regs(HashMap<u32, u32>);

impl Registers for Regs {
    fn read32(&mut self, addr: u32) -> Result<u32> {
        if addr >= 0x2000 {
            bail!("unmapped");
        }
        Ok(self.0.get(&addr).copied().unwrap_or(0))
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<()> {
        if addr >= 0x2000 {
            bail!("unmapped");
        }
        self.0.insert(addr, value);
        Ok(())
    }
}

fn answer(server: &mut Server<Regs>, bytes: &[u8]) -> Vec<Reply> {
    server.handle(bytes).chunks(REPLY_LEN).map(|r| decode_reply(r).unwrap()).collect()
}

#[test]
fn uart_server_answers_every_request_kind() {
    let mut s = Server::new(Regs::default());
    let write = Request { seq: 1, command: Command::Write32, addr: 0x44, value: 0x1234 };
    let mut bytes = encode_request(&write).unwrap().to_vec();
    bytes.extend_from_slice(&encode_request(&read(2, 0x44)).unwrap());
    bytes.extend_from_slice(&encode_request(&read(3, 0x46)).unwrap());
    bytes.extend_from_slice(&encode_request(&read(4, 0x3000)).unwrap());
    let mut bad_cmd = encode_request(&read(5, 0)).unwrap();
    bad_cmd[1] = b'Z';
    let crc = crc16(&bad_cmd[..10]);
    bad_cmd[10..].copy_from_slice(&crc.to_be_bytes());
    bytes.extend_from_slice(&bad_cmd);
    let mut corrupt = encode_request(&read(6, 0x44)).unwrap();
    corrupt[7] ^= 0x10;
    bytes.extend_from_slice(&corrupt);
    let replies = answer(&mut s, &bytes);
    let got: Vec<_> = replies.iter().map(|r| (r.seq, r.status, r.data)).collect();
    assert_eq!(
        got,
        [
            (1, Status::Ok, 0),
            (2, Status::Ok, 0x1234),
            (3, Status::BadAddress, 0),
            (4, Status::BadAddress, 0),
            (5, Status::BadCommand, 0),
            (6, Status::BadChecksum, 0),
        ]
    );
    let st = s.stats();
    assert_eq!((st.ok, st.bad_address, st.bad_command, st.bad_checksum, st.skipped), (2, 2, 1, 1, 0));
}

#[test]
fn uart_server_resynchronises_after_garbage_and_idle() {
    let mut s = Server::new(Regs::default());
    // Garbage, then a request: the garbage is skipped and counted.
    let mut bytes = vec![0x00, 0xFF, 0x13];
    bytes.extend_from_slice(&encode_request(&read(1, 0)).unwrap());
    assert_eq!(answer(&mut s, &bytes).len(), 1);
    assert_eq!(s.stats().skipped, 3);
    // A cut request, the line goes idle, then a whole one: only it is
    // answered, and the cut one's bytes count as skipped.
    let cut = encode_request(&read(2, 0)).unwrap();
    assert!(answer(&mut s, &cut[..5]).is_empty());
    s.idle();
    let replies = answer(&mut s, &encode_request(&read(3, 0)).unwrap());
    assert_eq!(replies.iter().map(|r| (r.seq, r.status)).collect::<Vec<_>>(), [(3, Status::Ok)]);
    assert_eq!(s.stats().skipped, 8);
}

/// The line in memory: the server answers each write at once, and
/// What a test does to the bytes of each message on their way.
type Fault = Box<dyn FnMut(Direction, &mut Vec<u8>)>;

/// `fault` may change the bytes on their way.
struct Loop {
    server: Server<Regs>,
    to_host: VecDeque<u8>,
    fault: Fault,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToBoard,
    ToHost,
}

impl Loop {
    fn new(fault: impl FnMut(Direction, &mut Vec<u8>) + 'static) -> Self {
        Loop { server: Server::new(Regs::default()), to_host: VecDeque::new(), fault: Box::new(fault) }
    }
}

impl Write for Loop {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut bytes = buf.to_vec();
        (self.fault)(Direction::ToBoard, &mut bytes);
        let mut out = self.server.handle(&bytes);
        (self.fault)(Direction::ToHost, &mut out);
        self.to_host.extend(out);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Loop {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.to_host.is_empty() {
            // Nothing will come: stand for a read that timed out.
            std::thread::sleep(Duration::from_millis(1));
            return Ok(0);
        }
        let n = buf.len().min(self.to_host.len());
        for b in buf.iter_mut().take(n) {
            *b = self.to_host.pop_front().unwrap();
        }
        Ok(n)
    }
}

const TIMEOUT: Duration = Duration::from_millis(50);

/// A fault that strikes the `nth` frame going `dir` (counting from 0).
fn nth(dir: Direction, nth: usize, f: impl Fn(&mut Vec<u8>) + 'static) -> impl FnMut(Direction, &mut Vec<u8>) {
    let mut seen = 0;
    move |d, bytes| {
        if d == dir && !bytes.is_empty() {
            if seen == nth {
                f(bytes);
            }
            seen += 1;
        }
    }
}

#[test]
fn uart_link_reads_and_writes() {
    let mut link = Link::new(Loop::new(|_, _| {}), "loop", TIMEOUT);
    link.write32(0x40, 0xCAFE).unwrap();
    assert_eq!(link.read32(0x40).unwrap(), 0xCAFE);
    let err = link.read32(0x3000).unwrap_err();
    assert!(format!("{err:#}").contains("unmapped"), "{err:#}");
    assert_eq!(link.stats().retries, 0);
}

#[test]
fn uart_link_retries_a_request_the_line_corrupted() {
    let mut link = Link::new(Loop::new(nth(Direction::ToBoard, 1, |b| b[8] ^= 4)), "loop", TIMEOUT);
    link.write32(0x40, 0xCAFE).unwrap();
    assert_eq!(link.read32(0x40).unwrap(), 0xCAFE);
    assert_eq!(link.stats().retries, 1);
}

#[test]
fn uart_link_retries_a_reply_the_line_corrupted() {
    let mut link = Link::new(Loop::new(nth(Direction::ToHost, 0, |b| b[5] ^= 0x80)), "loop", TIMEOUT);
    link.write32(0x40, 0xCAFE).unwrap();
    assert_eq!(link.read32(0x40).unwrap(), 0xCAFE);
    assert_eq!(link.stats().retries, 1);
}

#[test]
fn uart_link_retries_when_the_replys_sync_byte_is_hit() {
    let mut link = Link::new(Loop::new(nth(Direction::ToHost, 0, |b| b[0] = 0)), "loop", TIMEOUT);
    link.write32(0x40, 0xCAFE).unwrap();
    let st = link.stats();
    assert_eq!((st.retries, st.skipped), (1, 10));
}

#[test]
fn uart_link_passes_over_garbage_before_a_reply() {
    let mut link = Link::new(Loop::new(nth(Direction::ToHost, 0, |b| b.splice(0..0, [SYNC_REPLY, 1, 2, 3]).for_each(drop))), "loop", TIMEOUT);
    link.write32(0x40, 0xCAFE).unwrap();
    assert_eq!(link.read32(0x40).unwrap(), 0xCAFE);
    let st = link.stats();
    assert_eq!((st.retries, st.skipped), (0, 4));
}

#[test]
fn uart_link_gives_up_after_a_second_corruption() {
    let mut link = Link::new(Loop::new(|d, b| if d == Direction::ToBoard { b[4] ^= 1 }), "loop", TIMEOUT);
    let err = format!("{:#}", link.read32(0x40).unwrap_err());
    assert!(err.contains("corrupted twice") && err.contains("on loop"), "{err}");
}

#[test]
fn uart_link_times_out_on_a_silent_board_naming_the_port() {
    // Every request cut short: the board never answers.
    let mut link = Link::new(Loop::new(|d, b| if d == Direction::ToBoard { b.truncate(6) }), "/dev/ttyTEST", TIMEOUT);
    let started = Instant::now();
    let err = format!("{:#}", link.read32(0x40).unwrap_err());
    assert!(err.contains("no reply from /dev/ttyTEST within 50 ms"), "{err}");
    assert!(started.elapsed() < 4 * TIMEOUT, "took {:?}", started.elapsed());
}

#[test]
fn uart_link_skips_a_late_reply_to_an_earlier_request() {
    // The first reply is held back and delivered with the second.
    let held = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let h = held.clone();
    let mut seen = 0;
    let fault = move |d: Direction, b: &mut Vec<u8>| {
        if d == Direction::ToHost && !b.is_empty() {
            if seen == 0 {
                h.borrow_mut().append(b);
            } else if seen == 1 {
                b.splice(0..0, h.borrow_mut().drain(..)).for_each(drop);
            }
            seen += 1;
        }
    };
    let mut link = Link::new(Loop::new(fault), "loop", TIMEOUT);
    let err = format!("{:#}", link.write32(0x40, 1).unwrap_err());
    assert!(err.contains("no reply"), "{err}");
    assert_eq!(link.read32(0x40).unwrap(), 1);
    assert_eq!(link.stats().stale, 1);
    assert!(held.borrow().is_empty());
}
