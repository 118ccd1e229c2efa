//! A driver's view of `arsenic sim-device`: the `sysfs` backend for the
//! registers and memory, and the device's wire socket for the frames, so
//! everything that runs against the in-process `rtl` backend (`arsenic
//! sim`, the differential check against the model) runs against the RTL
//! in its own process too.

use super::decisions::DecisionLog;
use super::sim_clock::SimClock;
use super::sim_wire::{FromDevice, ToDevice};
use super::sysfs::SysfsDevice;
use super::{Demux, Device, Page, Received, RegisterPage, Waiter, Wire, WireFrame};
use crate::dma::DmaBlock;
use anyhow::{bail, Context, Result};
use arsenic_testbench::{wire::wire_cycles, RawDecision};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{connect, recv, send, socket, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};
use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

/// Longest message the device sends: a header and a jumbo frame.
const MAX_MESSAGE: usize = 16 * 1024 + 16;

pub struct SimDeviceClient {
    dev: SysfsDevice,
    sock: OwnedFd,
    clock: SimClock,
    /// Messages not yet taken by the device's socket.
    outgoing: VecDeque<Vec<u8>>,
    /// Wire time of the frames sent since the last drain.
    pending_cycles: u64,
    transmitted: Vec<WireFrame>,
    raw_decisions: Vec<RawDecision>,
    decisions: DecisionLog,
    aborted: u64,
    cycle: u64,
}

impl SimDeviceClient {
    /// Opens the simulated device in `dir` and plugs into its wire.
    pub fn open(dir: &Path) -> Result<SimDeviceClient> {
        let dev = SysfsDevice::open(dir)?;
        let Some(sim) = dev.sim_dir() else {
            bail!("{} is a board's folder, not a simulated device: it has no wire to plug into", dir.display());
        };
        let clock = SimClock::open(dir)?;
        let sock = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC, None)
            .context("creating a socket for the simulated wire")?;
        let addr = UnixAddr::new(&sim.wire()).context("the wire socket's path is too long")?;
        connect(sock.as_raw_fd(), &addr).with_context(|| format!("plugging into {}", sim.wire().display()))?;
        Ok(SimDeviceClient {
            dev,
            sock,
            clock,
            outgoing: VecDeque::new(),
            pending_cycles: 0,
            transmitted: Vec::new(),
            raw_decisions: Vec::new(),
            decisions: DecisionLog::default(),
            aborted: 0,
            cycle: 0,
        })
    }

    pub fn sysfs(&self) -> &SysfsDevice {
        &self.dev
    }

    /// Frames the NIC flagged bad on transmit; a MAC aborts those.
    pub fn aborted_frames(&self) -> u64 {
        self.aborted
    }

    pub fn undecodable_decisions(&self) -> u64 {
        self.decisions.undecodable()
    }

    /// Asks the device to run until quiet (or `limit` cycles after its wire
    /// is free), moving frames both ways meanwhile; returns whether it
    /// went quiet.
    fn drain_for(&mut self, limit: u64, report: &mut dyn FnMut(u64)) -> Result<bool> {
        self.outgoing.push_back(ToDevice::Drain { limit }.encode());
        let mut buf = vec![0u8; MAX_MESSAGE];
        loop {
            self.flush()?;
            let mut flags = PollFlags::POLLIN;
            if !self.outgoing.is_empty() {
                flags |= PollFlags::POLLOUT;
            }
            let mut fds = [PollFd::new(self.sock.as_fd(), flags)];
            poll(&mut fds, PollTimeout::from(100u16)).context("waiting on the simulated wire")?;
            loop {
                match recv(self.sock.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
                    Ok(0) => bail!("the simulated device hung up its wire (did it stop?)"),
                    Ok(n) => match FromDevice::decode(&buf[..n]) {
                        Some(FromDevice::Frame { cycle, data, aborted }) => {
                            if aborted {
                                self.aborted += 1;
                            } else {
                                self.transmitted.push(WireFrame { cycle, data });
                            }
                        }
                        Some(FromDevice::Decision(d)) => self.raw_decisions.push(d),
                        Some(FromDevice::Drained { quiet, cycle, taken }) => {
                            self.cycle = cycle;
                            report(taken);
                            self.pending_cycles = 0;
                            return Ok(quiet);
                        }
                        None => bail!("the simulated device sent a message this driver does not know ({n} bytes)"),
                    },
                    Err(Errno::EAGAIN) => break,
                    Err(e) => return Err(e).context("reading the simulated wire"),
                }
            }
            // The device's clock says whether it is still alive.
            self.clock.check_running()?;
        }
    }

    fn flush(&mut self) -> Result<()> {
        while let Some(m) = self.outgoing.front() {
            match send(self.sock.as_raw_fd(), m, MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL) {
                Ok(_) => {
                    self.outgoing.pop_front();
                }
                Err(Errno::EAGAIN) => return Ok(()),
                Err(e) => return Err(e).context("writing to the simulated wire"),
            }
        }
        Ok(())
    }
}

impl Device for SimDeviceClient {
    fn backend(&self) -> &'static str {
        "sim-device"
    }

    fn map_page(&self, page: Page) -> Result<Box<dyn RegisterPage>> {
        self.dev.map_page(page)
    }

    fn dma_alloc(&self, len: usize) -> Result<DmaBlock> {
        self.dev.dma_alloc(len)
    }

    fn waiter(&self) -> Box<dyn Waiter> {
        self.dev.waiter()
    }
}

impl Wire for SimDeviceClient {
    fn send(&mut self, frame: &[u8], fcs_error: bool) {
        if frame.is_empty() {
            return;
        }
        // The device stamps the frame's arrival; here it counts from now.
        self.decisions.sent(self.dev.waiter().now(), frame);
        self.outgoing.push_back(ToDevice::Frame { data: frame.to_vec(), fcs_error }.encode());
        self.pending_cycles += wire_cycles(frame.len());
    }

    fn drain_reporting(&mut self, report: &mut dyn FnMut(u64)) -> Result<()> {
        let limit = self.pending_cycles + super::rtl::DRAIN_SLACK_CYCLES;
        if !self.drain_for(limit, report)? {
            bail!(
                "the simulated device was still busy {limit} cycles after its wire went free ({} frames not yet decided)",
                self.decisions.awaiting().saturating_sub(self.raw_decisions.len())
            );
        }
        Ok(())
    }

    fn settle(&mut self, max_cycles: u64) -> Result<bool> {
        self.drain_for(max_cycles, &mut |_| {})
    }

    fn take_transmitted(&mut self) -> Vec<WireFrame> {
        std::mem::take(&mut self.transmitted)
    }

    fn cycles(&self) -> u64 {
        self.cycle.max(self.dev.waiter().now())
    }
}

impl Demux for SimDeviceClient {
    fn take_received(&mut self) -> Vec<Received> {
        let raw = std::mem::take(&mut self.raw_decisions);
        self.decisions.pair(raw)
    }
}
