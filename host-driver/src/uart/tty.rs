//! A serial port (or one side of a pseudo-terminal) as a byte stream whose
//! reads give up after a timeout, which is what keeps every UART access
//! from hanging on a board that does not answer.

use anyhow::{bail, Context, Result};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, BaudRate, SetArg};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

pub struct Tty {
    file: File,
    name: String,
    read_timeout: Duration,
    write_timeout: Duration,
}

/// How long one read waits for a byte by default: short, so a caller
/// with its own deadline looks at the clock often.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_millis(10);

/// How long a write waits for the line to take bytes: a serial line
/// always drains at its baud rate, so this only runs out on a line that
/// is stuck (a pseudo-terminal nobody reads).
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

impl Tty {
    /// Opens a serial port raw, 8N1, no flow control, at `baud`.
    pub fn open(path: &Path, baud: u32) -> Result<Tty> {
        let name = path.display().to_string();
        let speed = baud_rate(baud)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            // Not our controlling terminal; and no wait for a carrier.
            .custom_flags((OFlag::O_NOCTTY | OFlag::O_NONBLOCK).bits())
            .open(path)
            .with_context(|| format!("opening serial port {name}"))?;
        let tty = Tty::from_fd(file.into(), &name)?;
        let mut t = termios::tcgetattr(&tty.file).with_context(|| format!("{name} is not a terminal"))?;
        termios::cfsetspeed(&mut t, speed).with_context(|| format!("setting {name} to {baud} baud"))?;
        termios::tcsetattr(&tty.file, SetArg::TCSANOW, &t).with_context(|| format!("setting {name} to {baud} baud"))?;
        Ok(tty)
    }

    /// A terminal already open (a pseudo-terminal's side), put in raw mode:
    /// no echo, no line editing, no translation of CR and LF, reads that
    /// return what has arrived.
    pub fn from_fd(fd: OwnedFd, name: &str) -> Result<Tty> {
        let file = File::from(fd);
        let mut t = termios::tcgetattr(&file).with_context(|| format!("{name} is not a terminal"))?;
        // Non-blocking, so neither side of a read or write can stall past
        // what poll allows: a blocking tty write waits until all of a
        // buffer is taken, however long.
        fcntl(&file, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).with_context(|| format!("setting {name} non-blocking"))?;
        termios::cfmakeraw(&mut t);
        // Let a read return at once with whatever there is; the timeout
        // comes from poll, which works the same on both sides of a pty.
        t.control_chars[termios::SpecialCharacterIndices::VMIN as usize] = 0;
        t.control_chars[termios::SpecialCharacterIndices::VTIME as usize] = 0;
        t.control_flags |= termios::ControlFlags::CLOCAL | termios::ControlFlags::CREAD;
        // The FT2232 link has no RTS/CTS wired to the bridge: waiting for
        // CTS would block every write.
        t.control_flags &= !termios::ControlFlags::CRTSCTS;
        termios::tcsetattr(&file, SetArg::TCSANOW, &t).with_context(|| format!("setting {name} raw"))?;
        Ok(Tty {
            file,
            name: name.to_string(),
            read_timeout: DEFAULT_READ_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long a read waits for the first byte before it returns 0.
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        self.read_timeout = timeout;
    }

    /// How long a write waits for the line to take a byte before it fails.
    pub fn set_write_timeout(&mut self, timeout: Duration) {
        self.write_timeout = timeout;
    }

    /// Waits up to `timeout` for `flags` on the file; whether they came.
    fn ready(&self, flags: PollFlags, timeout: Duration) -> io::Result<bool> {
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.file.as_fd(), flags)];
        Ok(poll(&mut fds, timeout)? > 0)
    }
}

impl Read for Tty {
    /// Returns 0 if nothing arrived within the read timeout.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.ready(PollFlags::POLLIN, self.read_timeout)? {
            return Ok(0);
        }
        // Ready: data, or a hang-up that the read reports (EIO on a pty).
        match self.file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            r => r,
        }
    }
}

impl Write for Tty {
    /// Fails with `TimedOut` if the line takes nothing within the write
    /// timeout, so a stuck line is an error, not a hang.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let deadline = Instant::now() + self.write_timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.ready(PollFlags::POLLOUT, left)? {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{} took no bytes within {} ms", self.name, self.write_timeout.as_millis()),
                ));
            }
            match self.file.write(buf) {
                // Writable by poll's count, yet no room for a byte now.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return r,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The termios speed for `baud`: the rates an FT2232 and a USB serial
/// adapter commonly run at.
fn baud_rate(baud: u32) -> Result<BaudRate> {
    Ok(match baud {
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        115200 => BaudRate::B115200,
        230400 => BaudRate::B230400,
        460800 => BaudRate::B460800,
        921600 => BaudRate::B921600,
        1000000 => BaudRate::B1000000,
        2000000 => BaudRate::B2000000,
        3000000 => BaudRate::B3000000,
        other => bail!(
            "{other} baud is not supported; use one of 9600, 19200, 38400, 57600, 115200, 230400, \
             460800, 921600, 1000000, 2000000, 3000000"
        ),
    })
}
