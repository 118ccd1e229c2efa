//! A TAP device: a link whose "wire" is a file descriptor, so every
//! Ethernet frame the kernel transmits on it can be read here and every
//! frame written here arrives at the kernel as if received.

use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TUN_PATH: &str = "/dev/net/tun";

/// Larger than any frame the kernel can hand over: without IFF_VNET_HDR
/// it segments before the TAP, so a frame is at most MTU + 18 bytes, and
/// the MTU of a TAP is at most 65535. A read into a shorter buffer would
/// silently cut the frame.
const MAX_FRAME: usize = 65535 + 18;

pub struct Tap {
    file: File,
    name: String,
    /// Read into once and copied out at the frame's length, so that a
    /// caller polling `recv` in a loop does not allocate 64 KiB a call.
    scratch: Mutex<Vec<u8>>,
}

impl Tap {
    /// Creates the TAP device `name` in the calling thread's network
    /// namespace. It exists while this `Tap` is open and vanishes when it
    /// is dropped (not persistent), whichever namespace it was moved to.
    pub fn open(name: &str) -> Result<Tap> {
        check_name(name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            // Non-blocking so that `recv` can say "nothing waiting"; the
            // waiting is done in `wait_readable`, with a timeout.
            .custom_flags(libc::O_NONBLOCK)
            .open(TUN_PATH)
            .map_err(|e| open_error(&e))?;

        // SAFETY: `ifreq` is a C struct of byte arrays, integers and unions
        // of those; every field is valid when all its bytes are zero.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
            *dst = src as libc::c_char;
        }
        // No packet-information header: reads and writes are bare frames.
        req.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one `struct ifreq` through the
        // pointer; `req` is one, initialised, and lives across the call.
        // The fd is ours and open on /dev/net/tun.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut req as *mut libc::ifreq) };
        if rc < 0 {
            return Err(setiff_error(name, &io::Error::last_os_error()));
        }
        // The kernel writes back the name it used; with a name free of
        // `%d` it is ours, but reading it back keeps `name()` honest.
        let got: Vec<u8> = req.ifr_name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        let name = String::from_utf8(got).context("the kernel named the TAP device in non-UTF-8")?;
        Ok(Tap { file, name, scratch: Mutex::new(vec![0; MAX_FRAME]) })
    }

    /// The link's name, the same in every namespace it is moved to.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Hands one Ethernet frame (destination MAC first, no FCS) to the
    /// kernel as if it had arrived on the link.
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        if frame.len() < 14 {
            bail!("frame of {} bytes on TAP {}: an Ethernet frame needs at least its 14-byte header", frame.len(), self.name);
        }
        // A TAP takes a frame in one write, and its send buffer has no
        // limit, so a write does not return EAGAIN: a frame the kernel
        // cannot take is dropped, as on a wire. Only EINTR is retried.
        loop {
            match (&self.file).write(frame) {
                Ok(n) if n == frame.len() => return Ok(()),
                Ok(n) => bail!("TAP {} took {n} of a {}-byte frame", self.name, frame.len()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // tun refuses writes while the link is administratively down.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => {
                    bail!("TAP {} is down, the frame was refused: bring it up (`ip link set {} up`)", self.name, self.name)
                }
                Err(e) if e.raw_os_error() == Some(libc::EBADFD) => return Err(self.detached()),
                Err(e) => return Err(e).with_context(|| format!("writing a {}-byte frame to TAP {}", frame.len(), self.name)),
            }
        }
    }

    /// The next frame the kernel has transmitted on the link, or `None`
    /// if none is waiting.
    pub fn recv(&self) -> Result<Option<Vec<u8>>> {
        // A poisoned lock only means another thread panicked mid-read;
        // the buffer holds no state worth distrusting.
        let mut buf = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match (&self.file).read(&mut buf) {
                Ok(n) => return Ok(Some(buf[..n].to_vec())),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::EBADFD) => return Err(self.detached()),
                Err(e) => return Err(e).with_context(|| format!("reading a frame from TAP {}", self.name)),
            }
        }
    }

    /// Waits until a frame is waiting or `timeout` has passed; true if one is.
    pub fn wait_readable(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // Rounded up: a sub-millisecond remainder must still wait, not spin.
            let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
            let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)) {
                Ok(0) => return Ok(false),
                Ok(_) => {
                    let revents = fds[0].revents().unwrap_or(PollFlags::empty());
                    if revents.contains(PollFlags::POLLIN) {
                        return Ok(true);
                    }
                    // POLLERR: tun reports it once the device is gone
                    // (deleted with its namespace) and the fd is left
                    // detached; waiting on would spin.
                    return Err(self.detached());
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e).with_context(|| format!("waiting on TAP {}", self.name)),
            }
        }
    }

    fn detached(&self) -> anyhow::Error {
        anyhow::anyhow!("TAP {} is gone (deleted with its namespace?): open a new one", self.name)
    }
}

fn check_name(name: &str) -> Result<()> {
    // IFNAMSIZ counts the terminating NUL.
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        bail!("TAP name {name:?} must be 1 to {} bytes long: pick a shorter name", libc::IFNAMSIZ - 1);
    }
    if name.bytes().any(|b| b == b'/' || b == b':' || b == b'%' || b.is_ascii_whitespace() || !b.is_ascii_graphic()) {
        bail!("TAP name {name:?} has a character a link name cannot hold (space, '/', ':' or '%'): pick another name");
    }
    Ok(())
}

fn open_error(e: &io::Error) -> anyhow::Error {
    match e.kind() {
        ErrorKind::NotFound => anyhow::anyhow!("{TUN_PATH} is missing: load the tun module (`modprobe tun`) or make the node (`mknod {TUN_PATH} c 10 200`)"),
        ErrorKind::PermissionDenied => anyhow::anyhow!("{TUN_PATH} cannot be opened ({e}): run as root"),
        _ => anyhow::anyhow!("{TUN_PATH} cannot be opened ({e}): check that the tun module is loaded (`modprobe tun`)"),
    }
}

fn setiff_error(name: &str, e: &io::Error) -> anyhow::Error {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            anyhow::anyhow!("creating TAP {name} was refused ({e}): it needs CAP_NET_ADMIN, run as root")
        }
        // EBUSY: another process holds a TAP by that name; EINVAL: a
        // link of another kind (or a TUN) has it.
        Some(libc::EBUSY) | Some(libc::EINVAL) | Some(libc::EEXIST) => {
            anyhow::anyhow!("TAP name {name} is taken by another link ({e}): pick another name or delete it (`ip link del {name}`)")
        }
        _ => anyhow::anyhow!("creating TAP {name} failed ({e}): check that the tun module works (`modprobe tun`)"),
    }
}
