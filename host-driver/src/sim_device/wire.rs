//! The simulated device's Ethernet port: a `SOCK_SEQPACKET` socket in its
//! folder, one message a frame (`device::sim_wire`), so a short read cannot
//! split a frame. One peer at a time, like a cable; a new peer unplugs the
//! old one. Frames the NIC sends while no peer is plugged in are dropped
//! and counted, as on a wire.
//!
//! The port never blocks the simulation: frames are taken from the socket
//! only while the NIC has room for them, and messages the peer has not
//! read yet wait in memory, up to `MAX_OUTGOING`.

use crate::device::sim_wire::{FromDevice, ToDevice};
use anyhow::{Context, Result};
use arsenic_testbench::{wire::wire_cycles, RawDecision, Sim, TxFrame};
use nix::errno::Errno;
use nix::sys::socket::{
    accept4, bind, listen, recv, send, socket, AddressFamily, Backlog, MsgFlags, SockFlag, SockType, UnixAddr,
};
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// Frames waiting to enter the NIC before the port stops reading the
/// socket, so a fast peer is held back by the socket, not by memory.
const MAX_PENDING_RX: usize = 64;
/// Longest message accepted: a kind, a flags byte and a jumbo frame.
const MAX_MESSAGE: usize = 16 * 1024;
/// Messages kept for a peer that does not read before they are dropped.
const MAX_OUTGOING: usize = 1 << 20;

#[derive(Clone, Copy, Debug, Default)]
pub struct WireStats {
    pub rx_frames: u64,
    pub tx_frames: u64,
    /// Messages that are no message of the protocol.
    pub rx_malformed: u64,
    /// Transmitted frames no peer took.
    pub tx_dropped: u64,
    /// Frames the NIC flagged bad on transmit (a MAC aborts them).
    pub tx_aborted: u64,
}

/// A peer's request to be told when the NIC has gone quiet.
#[derive(Clone, Copy, Debug)]
pub struct DrainRequest {
    pub deadline: u64,
}

pub struct WirePort {
    listener: OwnedFd,
    peer: Option<OwnedFd>,
    outgoing: VecDeque<Vec<u8>>,
    /// First cycle at which the receive wire is free for the next frame.
    free_at: u64,
    pub stats: WireStats,
}

impl WirePort {
    pub fn bind(path: &Path) -> Result<WirePort> {
        let _ = std::fs::remove_file(path);
        let fd = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC, None)
            .context("creating the wire socket")?;
        let addr = UnixAddr::new(path).context("the wire socket's path is too long")?;
        bind(fd.as_raw_fd(), &addr).with_context(|| format!("binding the wire socket at {}", path.display()))?;
        listen(&fd, Backlog::new(4).expect("4 is a valid backlog")).context("listening on the wire socket")?;
        Ok(WirePort { listener: fd, peer: None, outgoing: VecDeque::new(), free_at: 0, stats: WireStats::default() })
    }

    /// Takes a new peer if one is waiting, then moves its frames onto the
    /// NIC's receive wire, back to back at 1 Gb/s. Returns whether any
    /// arrived, and a drain request if the peer made one.
    pub fn receive(&mut self, sim: &mut Sim) -> Result<(bool, Option<DrainRequest>)> {
        match accept4(self.listener.as_raw_fd(), SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC) {
            Ok(fd) => {
                // SAFETY: accept4 returned a new descriptor nothing else owns.
                self.peer = Some(unsafe { OwnedFd::from_raw_fd(fd) });
                self.outgoing.clear();
            }
            Err(Errno::EAGAIN) => {}
            Err(e) => return Err(e).context("accepting a peer on the wire socket"),
        }
        let Some(peer) = &self.peer else { return Ok((false, None)) };
        let mut buf = vec![0u8; MAX_MESSAGE + 1];
        let mut any = false;
        while sim.rx_pending() < MAX_PENDING_RX {
            match recv(peer.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                // An empty read is the peer hanging up: the protocol has no
                // empty messages.
                Ok(0) => {
                    self.peer = None;
                    break;
                }
                Ok(n) => match (n <= MAX_MESSAGE).then(|| ToDevice::decode(&buf[..n])).flatten() {
                    Some(ToDevice::Frame { data, fcs_error }) => {
                        let at = self.free_at.max(sim.cycle());
                        self.free_at = at + wire_cycles(data.len());
                        sim.inject(data, at, fcs_error);
                        self.stats.rx_frames += 1;
                        any = true;
                    }
                    Some(ToDevice::Drain { limit }) => {
                        let deadline = self.free_at.max(sim.cycle()).saturating_add(limit);
                        return Ok((any, Some(DrainRequest { deadline })));
                    }
                    None => self.stats.rx_malformed += 1,
                },
                Err(Errno::EAGAIN) => break,
                Err(_) => {
                    self.peer = None;
                    break;
                }
            }
        }
        Ok((any, None))
    }

    pub fn transmit(&mut self, frames: Vec<TxFrame>) {
        for f in frames {
            if f.error {
                self.stats.tx_aborted += 1;
            }
            if self.peer.is_none() {
                self.stats.tx_dropped += 1;
                continue;
            }
            self.stats.tx_frames += u64::from(!f.error);
            self.queue(FromDevice::Frame { cycle: f.start_cycle, data: f.data, aborted: f.error });
        }
    }

    pub fn decisions(&mut self, decisions: Vec<RawDecision>) {
        for d in decisions {
            self.queue(FromDevice::Decision(d));
        }
    }

    pub fn drained(&mut self, quiet: bool, sim: &Sim) {
        let taken = self.stats.rx_frames - sim.rx_pending() as u64;
        self.queue(FromDevice::Drained { quiet, cycle: sim.cycle(), taken });
    }

    fn queue(&mut self, m: FromDevice) {
        if self.peer.is_some() && self.outgoing.len() < MAX_OUTGOING {
            self.outgoing.push_back(m.encode());
        }
    }

    /// Sends what the peer can take now.
    pub fn flush(&mut self) {
        let Some(peer) = &self.peer else { return };
        while let Some(m) = self.outgoing.front() {
            match send(peer.as_raw_fd(), m, MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT) {
                Ok(_) => {
                    self.outgoing.pop_front();
                }
                Err(Errno::EAGAIN) => return,
                Err(_) => {
                    self.peer = None;
                    self.outgoing.clear();
                    return;
                }
            }
        }
    }
}
