//! The UART control-plane protocol: the contract between the host's `uart`
//! backend and the gateware's UART bridge, which turns each request into
//! one 32-bit access to the NIC's register space.
//!
//! Every frame has a fixed size and a fixed layout, so the bridge is a byte
//! counter and a shift register: no length field to trust, no escaping
//! stage (COBS or SLIP would need one and make frames variable). A sync
//! byte marks a frame's start and a CRC over the whole frame rejects a false
//! start, so a receiver that lost its place skips to the next sync byte.
//! Requests and replies have different sync bytes, so a line that echoes
//! (a tty left in echo mode, a loop-back plug) never passes a request off
//! as a reply. All multi-byte fields are big-endian.
//!
//! Request, 12 bytes, host to board:
//!
//! | byte  | field                                               |
//! |-------|-----------------------------------------------------|
//! | 0     | `SYNC_REQUEST` 0xA5                                 |
//! | 1     | command: `'R'` (0x52) read32, `'W'` (0x57) write32  |
//! | 2     | sequence number, echoed in the reply                |
//! | 3..6  | register byte address, 24 bits (`REG_ADDR_BITS`)    |
//! | 6..10 | value to write; 0 for a read (the board ignores it) |
//! | 10..12| CRC-16 of bytes 0..10                               |
//!
//! Reply, 10 bytes, board to host:
//!
//! | byte  | field                                               |
//! |-------|-----------------------------------------------------|
//! | 0     | `SYNC_REPLY` 0x5A                                   |
//! | 1     | status (`Status`)                                   |
//! | 2     | the request's sequence number as received           |
//! | 3     | the request's command byte as received              |
//! | 4..8  | the value read; 0 for a write or an error           |
//! | 8..10 | CRC-16 of bytes 0..8                                |
//!
//! The CRC is CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF,
//! no reflection, no final XOR): a 16-bit shift register with three XOR
//! taps in hardware, and it catches every error burst up to 16 bits.
//!
//! The board answers every frame that starts with `SYNC_REQUEST` once its
//! twelve bytes are in: with `BadChecksum` if the CRC fails (the whole
//! twelve bytes are dropped; the echoed sequence number and command are
//! then as received and may be wrong), `BadCommand` for a command other
//! than read32 and write32, `BadAddress` for an address not 32-bit aligned
//! or outside the mapped pages (control page and the queue pages), and
//! `Ok` otherwise. Bytes outside a frame are skipped. If the line goes idle
//! for `IDLE_RESET_MS` in the middle of a request, the board drops the
//! partial frame without a reply, so a cut request cannot swallow the start
//! of the next one.
//!
//! One request is in flight at a time. At 115200 baud a register access
//! takes 22 bytes on the wire, about 1.9 ms; at the FT2232's 3 Mbaud, 73 us.

use arsenic_hdl::params::REG_ADDR_BITS;
use std::fmt;

/// The framing constants and the idle time (a gap in a request longer than
/// `IDLE_RESET_MS` makes the board drop it) are the gateware bridge's.
pub use arsenic_hdl::blocks::uart_bridge::{
    CMD_READ32, CMD_WRITE32, IDLE_RESET_MS, REPLY_LEN, REQUEST_LEN, SYNC_REPLY, SYNC_REQUEST,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Read32,
    Write32,
}

impl Command {
    pub fn byte(self) -> u8 {
        match self {
            Command::Read32 => CMD_READ32,
            Command::Write32 => CMD_WRITE32,
        }
    }

    pub fn from_byte(b: u8) -> Result<Command, ProtocolError> {
        match b {
            CMD_READ32 => Ok(Command::Read32),
            CMD_WRITE32 => Ok(Command::Write32),
            other => Err(ProtocolError::UnknownCommand(other)),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Command::Read32 => "read32",
            Command::Write32 => "write32",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok = 0,
    BadChecksum = 1,
    BadAddress = 2,
    BadCommand = 3,
}

impl Status {
    pub fn from_byte(b: u8) -> Result<Status, ProtocolError> {
        match b {
            0 => Ok(Status::Ok),
            1 => Ok(Status::BadChecksum),
            2 => Ok(Status::BadAddress),
            3 => Ok(Status::BadCommand),
            other => Err(ProtocolError::UnknownStatus(other)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub seq: u8,
    pub command: Command,
    /// Byte address in the register space, below 2^`REG_ADDR_BITS`.
    pub addr: u32,
    pub value: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: Status,
    pub seq: u8,
    /// The command byte as the board received it (raw, since a
    /// `BadCommand` reply echoes a byte that names no command).
    pub command: u8,
    pub data: u32,
}

/// Why a frame could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    WrongSync { expected: u8, found: u8 },
    BadChecksum { computed: u16, received: u16 },
    Truncated { have: usize, need: usize },
    UnknownCommand(u8),
    UnknownStatus(u8),
    AddressTooWide(u32),
    SequenceMismatch { sent: u8, received: u8 },
    CommandMismatch { sent: u8, received: u8 },
    /// The board answered with an error status.
    Refused { status: Status, command: u8, addr: u32 },
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ProtocolError::WrongSync { expected, found } => {
                write!(f, "frame starts with 0x{found:02x}, not the sync byte 0x{expected:02x}")
            }
            ProtocolError::BadChecksum { computed, received } => {
                write!(f, "frame failed its checksum: CRC 0x{received:04x} on the wire, 0x{computed:04x} computed")
            }
            ProtocolError::Truncated { have, need } => write!(f, "frame truncated: {have} of {need} bytes"),
            ProtocolError::UnknownCommand(c) => write!(f, "unknown command byte 0x{c:02x}"),
            ProtocolError::UnknownStatus(s) => write!(f, "unknown status byte 0x{s:02x}"),
            ProtocolError::AddressTooWide(a) => {
                write!(f, "address 0x{a:x} does not fit the {REG_ADDR_BITS}-bit register space")
            }
            ProtocolError::SequenceMismatch { sent, received } => {
                write!(f, "reply carries sequence number {received}, the request had {sent}")
            }
            ProtocolError::CommandMismatch { sent, received } => {
                write!(f, "reply echoes command 0x{received:02x}, the request had 0x{sent:02x}")
            }
            ProtocolError::Refused { status, command, addr } => {
                let why = match status {
                    Status::Ok => "accepted it",
                    Status::BadChecksum => "says the request failed its checksum",
                    Status::BadAddress => "refused the address as unaligned or unmapped",
                    Status::BadCommand => "does not know the command",
                };
                write!(f, "the board {why} (command 0x{command:02x}, address 0x{addr:06x})")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// CRC-16/CCITT-FALSE, the same function the gateware bridge is checked
/// against.
pub fn crc16(bytes: &[u8]) -> u16 {
    arsenic_hdl::blocks::uart_bridge::crc16_update(0xFFFF, bytes)
}

pub fn encode_request(r: &Request) -> Result<[u8; REQUEST_LEN], ProtocolError> {
    if r.addr >> REG_ADDR_BITS != 0 {
        return Err(ProtocolError::AddressTooWide(r.addr));
    }
    let mut f = [0u8; REQUEST_LEN];
    f[0] = SYNC_REQUEST;
    f[1] = r.command.byte();
    f[2] = r.seq;
    f[3..6].copy_from_slice(&r.addr.to_be_bytes()[1..]);
    f[6..10].copy_from_slice(&r.value.to_be_bytes());
    let crc = crc16(&f[..10]);
    f[10..].copy_from_slice(&crc.to_be_bytes());
    Ok(f)
}

/// Checks length, sync byte and CRC of a frame; the checks every decoder
/// makes before it trusts a field.
fn check_frame(frame: &[u8], sync: u8, len: usize) -> Result<(), ProtocolError> {
    if frame.len() < len {
        return Err(ProtocolError::Truncated { have: frame.len(), need: len });
    }
    if frame[0] != sync {
        return Err(ProtocolError::WrongSync { expected: sync, found: frame[0] });
    }
    let computed = crc16(&frame[..len - 2]);
    let received = u16::from_be_bytes([frame[len - 2], frame[len - 1]]);
    if computed != received {
        return Err(ProtocolError::BadChecksum { computed, received });
    }
    Ok(())
}

/// Decodes the first `REQUEST_LEN` bytes of `frame`.
pub fn decode_request(frame: &[u8]) -> Result<Request, ProtocolError> {
    check_frame(frame, SYNC_REQUEST, REQUEST_LEN)?;
    Ok(Request {
        command: Command::from_byte(frame[1])?,
        seq: frame[2],
        addr: u32::from_be_bytes([0, frame[3], frame[4], frame[5]]),
        value: u32::from_be_bytes([frame[6], frame[7], frame[8], frame[9]]),
    })
}

pub fn encode_reply(r: &Reply) -> [u8; REPLY_LEN] {
    let mut f = [0u8; REPLY_LEN];
    f[0] = SYNC_REPLY;
    f[1] = r.status as u8;
    f[2] = r.seq;
    f[3] = r.command;
    f[4..8].copy_from_slice(&r.data.to_be_bytes());
    let crc = crc16(&f[..8]);
    f[8..].copy_from_slice(&crc.to_be_bytes());
    f
}

/// Decodes the first `REPLY_LEN` bytes of `frame`.
pub fn decode_reply(frame: &[u8]) -> Result<Reply, ProtocolError> {
    check_frame(frame, SYNC_REPLY, REPLY_LEN)?;
    Ok(Reply {
        status: Status::from_byte(frame[1])?,
        seq: frame[2],
        command: frame[3],
        data: u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]),
    })
}

/// Matches a reply to the request it answers; the value read (0 for a
/// write) if the board carried the request out.
pub fn check_reply(req: &Request, reply: &Reply) -> Result<u32, ProtocolError> {
    if reply.status == Status::Ok || reply.status == Status::BadAddress || reply.status == Status::BadCommand {
        // Only a reply the board built from a request it trusted echoes
        // fields worth comparing.
        if reply.seq != req.seq {
            return Err(ProtocolError::SequenceMismatch { sent: req.seq, received: reply.seq });
        }
        if reply.command != req.command.byte() {
            return Err(ProtocolError::CommandMismatch { sent: req.command.byte(), received: reply.command });
        }
    }
    match reply.status {
        Status::Ok => Ok(reply.data),
        status => Err(ProtocolError::Refused { status, command: req.command.byte(), addr: req.addr }),
    }
}
