//! The board's side of the UART protocol in Rust: the reference the
//! gateware bridge is checked against, and the far end of the pseudo-
//! terminal in the `uart` backend's tests (with the model behind it).
//!
//! It behaves as the protocol module specifies for the bridge: every
//! twelve bytes from a sync byte are one frame, answered whatever they
//! hold; bytes between frames are skipped; a partial frame is dropped
//! when the line has been idle for `IDLE_RESET_MS`.

use super::framer::Framer;
use super::protocol::{self, Command, Reply, Status, REQUEST_LEN, SYNC_REQUEST};
use crate::device::{Device, Page, RegisterPage};
use anyhow::{Context, Result};
use arsenic_hdl::regmap::{self, PAGE_BYTES};
use std::io::{ErrorKind, Read, Write};

/// Register access by device-wide byte address; an error means the
/// address is not mapped.
pub trait Registers {
    fn read32(&mut self, addr: u32) -> Result<u32>;
    fn write32(&mut self, addr: u32, value: u32) -> Result<()>;
}

/// The pages of a device as the bridge reaches them: the control page and
/// one page a queue, nothing past them.
pub struct DevicePages {
    pages: Vec<Box<dyn RegisterPage>>,
}

impl DevicePages {
    /// Maps the control page and as many queue pages as the device's
    /// QUEUES register says it has.
    pub fn map(device: &dyn Device) -> Result<Self> {
        let control = device.map_page(Page::Control)?;
        let queues = control.read32(regmap::QUEUES).context("reading the queue count")?;
        let mut pages = vec![control];
        for q in 0..queues {
            pages.push(device.map_page(Page::Queue(q))?);
        }
        Ok(DevicePages { pages })
    }

    fn page(&self, addr: u32) -> Result<&dyn RegisterPage> {
        let index = (addr / PAGE_BYTES) as usize;
        self.pages
            .get(index)
            .map(|p| p.as_ref())
            .with_context(|| format!("address 0x{addr:06x} lies past the last mapped page"))
    }
}

impl Registers for DevicePages {
    fn read32(&mut self, addr: u32) -> Result<u32> {
        self.page(addr)?.read32(addr % PAGE_BYTES)
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<()> {
        self.page(addr)?.write32(addr % PAGE_BYTES, value)
    }
}

/// What the server has seen, for tests and for comparing with the
/// bridge's own counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    pub ok: u64,
    pub bad_checksum: u64,
    pub bad_address: u64,
    pub bad_command: u64,
    /// Bytes outside frames and dropped partial frames.
    pub skipped: u64,
}

pub struct Server<R: Registers> {
    regs: R,
    framer: Framer,
    stats: ServerStats,
}

impl<R: Registers> Server<R> {
    pub fn new(regs: R) -> Self {
        Server { regs, framer: Framer::new(SYNC_REQUEST, REQUEST_LEN), stats: ServerStats::default() }
    }

    pub fn stats(&self) -> ServerStats {
        ServerStats { skipped: self.framer.skipped(), ..self.stats }
    }

    /// Takes bytes from the line; returns the replies they complete.
    pub fn handle(&mut self, input: &[u8]) -> Vec<u8> {
        self.framer.push(input);
        let mut out = Vec::new();
        while let Some(frame) = self.framer.candidate() {
            let mut raw = [0u8; REQUEST_LEN];
            raw.copy_from_slice(frame);
            self.framer.take();
            out.extend_from_slice(&protocol::encode_reply(&self.answer(&raw)));
        }
        out
    }

    /// The line went idle: a partial frame will never complete.
    pub fn idle(&mut self) {
        self.framer.reset();
    }

    fn answer(&mut self, raw: &[u8; REQUEST_LEN]) -> Reply {
        // Echo what arrived, even from a frame that cannot be trusted, so
        // the bridge need not hold back a byte it has already shifted in.
        let mut reply = Reply { status: Status::Ok, seq: raw[2], command: raw[1], data: 0 };
        reply.status = match protocol::decode_request(raw) {
            Err(protocol::ProtocolError::UnknownCommand(_)) => Status::BadCommand,
            Err(_) => Status::BadChecksum,
            Ok(req) if req.addr % 4 != 0 => Status::BadAddress,
            Ok(req) => {
                let done = match req.command {
                    Command::Read32 => self.regs.read32(req.addr).map(|v| reply.data = v),
                    Command::Write32 => self.regs.write32(req.addr, req.value),
                };
                if done.is_ok() {
                    Status::Ok
                } else {
                    Status::BadAddress
                }
            }
        };
        match reply.status {
            Status::Ok => self.stats.ok += 1,
            Status::BadChecksum => self.stats.bad_checksum += 1,
            Status::BadAddress => self.stats.bad_address += 1,
            Status::BadCommand => self.stats.bad_command += 1,
        }
        reply
    }

    /// Serves requests from `stream` until the other end hangs up. The
    /// stream's reads must return `Ok(0)` (or `TimedOut`/`WouldBlock`)
    /// when the line has been idle a while, as a `Tty` does; each such
    /// return drops a partial frame. A pseudo-terminal whose other side
    /// closed reports `EIO`, which ends the service without an error, as
    /// does an `UnexpectedEof`.
    pub fn serve<S: Read + Write>(&mut self, stream: &mut S) -> Result<()> {
        let mut buf = [0u8; 256];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => self.idle(),
                Ok(n) => {
                    let out = self.handle(&buf[..n]);
                    if !out.is_empty() {
                        stream.write_all(&out).context("writing a reply")?;
                        stream.flush().context("writing a reply")?;
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => self.idle(),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::UnexpectedEof || e.raw_os_error() == Some(nix::errno::Errno::EIO as i32) => return Ok(()),
                Err(e) => return Err(e).context("reading requests"),
            }
        }
    }
}
