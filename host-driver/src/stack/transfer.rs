//! A file sent both ways over one TCP connection on a smoltcp socket: the
//! client sends its file and closes its half, the server then sends its
//! own and closes. Each side checks what it got byte for byte, and marks
//! when each direction started and finished, in cycles, for goodput.

use super::ip_stack::IpStack;
use anyhow::{bail, Result};
use serde::Serialize;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{self, State};
use smoltcp::wire::{IpAddress, IpEndpoint};
use std::net::Ipv4Addr;

/// Socket buffers: four times what a 1 Gb/s path of ~100 us holds.
const SOCKET_BUFFER: usize = 256 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Client { remote: Ipv4Addr, remote_port: u16 },
    Server,
}

/// Cycle marks of one direction of the transfer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: Option<u64>,
    pub end: Option<u64>,
}

impl Span {
    pub fn cycles(&self) -> Option<u64> {
        Some(self.end? - self.start?)
    }
}

pub struct Transfer {
    handle: SocketHandle,
    role: Role,
    out: Vec<u8>,
    sent: usize,
    expect: Vec<u8>,
    got: Vec<u8>,
    closed: bool,
    /// Sending this side's file: first byte queued to all of it acknowledged.
    pub send_span: Span,
    /// Receiving the other side's: first byte in to the last.
    pub recv_span: Span,
}

impl Transfer {
    /// Opens the socket on `local_port` and starts: a client connects, a
    /// server listens. `out` is what this side sends, `expect` what it must
    /// receive.
    pub fn open(stack: &mut IpStack, role: Role, local_port: u16, out: Vec<u8>, expect: Vec<u8>) -> Result<Transfer> {
        let mut socket = tcp::Socket::new(tcp::SocketBuffer::new(vec![0; SOCKET_BUFFER]), tcp::SocketBuffer::new(vec![0; SOCKET_BUFFER]));
        socket.set_nagle_enabled(false);
        let handle = stack.add(socket);
        match role {
            Role::Client { remote, remote_port } => {
                let remote = IpEndpoint::new(IpAddress::Ipv4(remote), remote_port);
                stack.connect(handle, remote, local_port)?;
            }
            Role::Server => {
                if let Err(e) = stack.socket::<tcp::Socket>(handle).listen(local_port) {
                    bail!("cannot listen on port {local_port}: {e}");
                }
            }
        }
        Ok(Transfer { handle, role, out, sent: 0, expect, got: vec![], closed: false, send_span: Span::default(), recv_span: Span::default() })
    }

    /// The client sends first; the server once the client has closed.
    fn my_turn(&self, socket: &tcp::Socket) -> bool {
        match self.role {
            Role::Client { .. } => true,
            Role::Server => !socket.may_recv() && socket.state() == State::CloseWait,
        }
    }

    /// Moves data between the socket and the files; call after each poll.
    /// Fails when the connection is reset or the data differs.
    pub fn step(&mut self, stack: &mut IpStack, clock: u64) -> Result<()> {
        let socket = stack.socket::<tcp::Socket>(self.handle);
        if socket.state() == State::Closed && self.sent > 0 && !self.done_inner(socket) {
            bail!("the connection closed early: sent {} of {} bytes, received {} of {}", self.sent, self.out.len(), self.got.len(), self.expect.len());
        }
        while socket.can_recv() {
            let before = self.got.len();
            let r = socket.recv(|b| (b.len(), b.to_vec()));
            match r {
                Ok(data) => self.got.extend_from_slice(&data),
                Err(e) => bail!("receiving: {e}"),
            }
            if self.got.len() > before {
                self.recv_span.start.get_or_insert(clock);
                self.recv_span.end = Some(clock);
            }
            if self.got.len() > self.expect.len() || self.got[before..] != self.expect[before..self.got.len()] {
                let at = (before..self.got.len()).find(|&i| self.expect.get(i) != Some(&self.got[i])).unwrap_or(before);
                bail!("the received file differs from the one sent at byte {at}");
            }
        }
        if self.my_turn(socket) && socket.may_send() {
            while self.sent < self.out.len() && socket.can_send() {
                self.send_span.start.get_or_insert(clock);
                match socket.send_slice(&self.out[self.sent..]) {
                    Ok(0) => break,
                    Ok(n) => self.sent += n,
                    Err(e) => bail!("sending: {e}"),
                }
            }
            if self.sent == self.out.len() && socket.send_queue() == 0 && !self.closed {
                self.send_span.start.get_or_insert(clock);
                self.send_span.end = Some(clock);
                socket.close();
                self.closed = true;
            }
        }
        Ok(())
    }

    fn done_inner(&self, socket: &tcp::Socket) -> bool {
        self.closed && self.got.len() == self.expect.len() && !socket.may_recv() && socket.send_queue() == 0
    }

    /// Both files have crossed and this side has seen the other close.
    pub fn done(&self, stack: &mut IpStack) -> bool {
        let socket = stack.socket::<tcp::Socket>(self.handle);
        self.done_inner(socket)
    }

    pub fn sent(&self) -> usize {
        self.sent
    }

    pub fn received(&self) -> usize {
        self.got.len()
    }

    pub fn state(&self, stack: &mut IpStack) -> State {
        stack.socket::<tcp::Socket>(self.handle).state()
    }
}
