//! The Linux kernel's stack as the far end of the wire (through a TAP
//! device in a namespace of its own), and the side of the transfer it
//! serves: plain `std::net` sockets, so all of TCP on that side is Linux's.

use super::net::FarEnd;
use crate::netpeer::linux_peer::LinuxPeer;
use anyhow::{bail, Context, Result};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpListener};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The shortest frame a MAC puts on the wire, without its FCS: Linux hands
/// the TAP ARP and bare ACKs unpadded, where its NIC would pad them.
const MIN_FRAME: usize = 60;

pub struct LinuxEnd {
    pub peer: LinuxPeer,
}

impl FarEnd for LinuxEnd {
    fn deliver(&mut self, frame: Vec<u8>) -> Result<()> {
        self.peer.tap().send(&frame)
    }

    fn collect(&mut self) -> Result<Vec<Vec<u8>>> {
        let mut out = vec![];
        while let Some(mut f) = self.peer.tap().recv()? {
            if f.len() < MIN_FRAME {
                f.resize(MIN_FRAME, 0);
            }
            out.push(f);
        }
        Ok(out)
    }

    // Linux runs on its own, in wall time.
    fn run(&mut self, _cycles: u64) -> Result<bool> {
        Ok(false)
    }

    fn idle(&mut self) -> bool {
        true
    }

    fn poll_delay_cycles(&mut self) -> Option<u64> {
        None
    }

    fn skip(&mut self, _cycles: u64) {}

    fn wait_wall(&mut self, d: Duration) -> Result<bool> {
        self.peer.tap().wait_readable(d)
    }
}

/// What the Linux side of a transfer saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinuxSide {
    pub received: usize,
}

/// Serves one transfer on `listen` inside the peer's namespace: takes the
/// connection, reads to the end and checks it against `expect`, sends
/// `reply`, and closes. Returns once listening, with the thread's handle.
pub fn serve(peer: &LinuxPeer, listen: SocketAddrV4, expect: Vec<u8>, reply: Vec<u8>, timeout: Duration) -> Result<JoinHandle<Result<LinuxSide>>> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let handle = peer.namespace().spawn(move || {
        let listener = TcpListener::bind(listen).with_context(|| format!("listening on {listen} in the peer's namespace"));
        let listener = match listener {
            Ok(l) => {
                let _ = ready_tx.send(Ok(()));
                l
            }
            Err(e) => {
                let _ = ready_tx.send(Err(format!("{e:#}")));
                return Err(e);
            }
        };
        listener.set_nonblocking(true)?;
        let deadline = Instant::now() + timeout;
        let mut stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        bail!("the application never connected to {listen} (waited {timeout:?})");
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(e).context("accepting"),
            }
        };
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut got = Vec::with_capacity(expect.len());
        stream.read_to_end(&mut got).context("the Linux side reading the application's file")?;
        if got != expect {
            let at = got.iter().zip(&expect).position(|(a, b)| a != b).unwrap_or(got.len().min(expect.len()));
            bail!("Linux received {} bytes of {}, differing from the file sent at byte {at}", got.len(), expect.len());
        }
        stream.write_all(&reply).context("the Linux side sending its file")?;
        stream.shutdown(Shutdown::Write)?;
        // Wait for the application's side to finish, so the close is clean.
        let mut rest = [0u8; 64];
        let _ = stream.read(&mut rest);
        Ok(LinuxSide { received: got.len() })
    });
    match ready_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => bail!("{e}"),
        Err(_) => match handle.join() {
            Ok(Err(e)) => Err(e),
            _ => bail!("the Linux side did not start listening within 10 s"),
        },
    }
}
