//! The kernel's path: a stack on the default queue, where every frame no
//! filter claimed lands. It answers ARP for the host's address and pings,
//! resets TCP segments for ports nobody listens on (smoltcp does, as
//! Linux would), and resolves next hops for the applications, whose queues
//! never see ARP.

use super::ip_stack::IpStack;
use super::queue_phy::{Framing, QueuePhy};
use crate::queue::QueuePair;
use anyhow::Result;
use serde::Serialize;
use smoltcp::socket::icmp;
use smoltcp::time::Instant;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, IpAddress};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::rc::Rc;

const PING_IDENT: u16 = 0x4152;

/// What reached the default queue, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KernelSeen {
    pub arp: u64,
    pub icmp: u64,
    pub tcp: u64,
    pub udp: u64,
    pub other: u64,
    /// Ping replies the kernel path's own resolver got back.
    pub ping_replies: u64,
    /// Addresses learnt from ARP requests and replies.
    #[serde(skip)]
    pub neighbors: BTreeMap<Ipv4Addr, [u8; 6]>,
}

impl KernelSeen {
    fn watch(&mut self, f: &[u8]) {
        let Some(ethertype) = f.get(12..14).map(|t| u16::from_be_bytes([t[0], t[1]])) else {
            self.other += 1;
            return;
        };
        match ethertype {
            0x0806 => {
                self.arp += 1;
                // Ethernet/IPv4 ARP: sender hardware address at 22, sender
                // protocol address at 28.
                if f.len() >= 42 && f[14..20] == [0, 1, 8, 0, 6, 4] {
                    let ip = Ipv4Addr::new(f[28], f[29], f[30], f[31]);
                    if !ip.is_unspecified() {
                        self.neighbors.insert(ip, f[22..28].try_into().expect("six bytes"));
                    }
                }
            }
            0x0800 => match f.get(14 + 9) {
                Some(1) => self.icmp += 1,
                Some(6) => self.tcp += 1,
                Some(17) => self.udp += 1,
                _ => self.other += 1,
            },
            _ => self.other += 1,
        }
    }
}

pub struct KernelPath {
    stack: IpStack,
    ping: smoltcp::iface::SocketHandle,
    ping_seq: u16,
    seen: Rc<RefCell<KernelSeen>>,
}

impl KernelPath {
    /// `queue` must be the NIC's default queue, created unrestricted.
    pub fn new(queue: QueuePair, mac: [u8; 6], ip: Ipv4Addr, prefix_len: u8, now: Instant) -> KernelPath {
        let mut phy = QueuePhy::new(queue, Framing::Ethernet, 1500);
        let seen = Rc::new(RefCell::new(KernelSeen::default()));
        let s = Rc::clone(&seen);
        phy.set_watch(move |f| s.borrow_mut().watch(f));
        let mut stack = IpStack::new(phy, mac, ip, prefix_len, 0x6b65726e, now);
        let buf = || icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 1024]);
        let mut socket = icmp::Socket::new(buf(), buf());
        // Binding fails only for identifier 0 or a bound socket.
        let _ = socket.bind(icmp::Endpoint::Ident(PING_IDENT));
        let ping = stack.add(socket);
        KernelPath { stack, ping, ping_seq: 0, seen }
    }

    pub fn stack(&mut self) -> &mut IpStack {
        &mut self.stack
    }

    pub fn seen(&self) -> KernelSeen {
        self.seen.borrow().clone()
    }

    pub fn neighbor(&self, ip: Ipv4Addr) -> Option<[u8; 6]> {
        self.seen.borrow().neighbors.get(&ip).copied()
    }

    /// Pings `ip`: smoltcp resolves it by ARP first, and the reply teaches
    /// `neighbor` its MAC.
    pub fn ping(&mut self, ip: Ipv4Addr) -> Result<()> {
        self.ping_seq = self.ping_seq.wrapping_add(1);
        let repr = Icmpv4Repr::EchoRequest { ident: PING_IDENT, seq_no: self.ping_seq, data: b"arsenic" };
        let socket = self.stack.socket::<icmp::Socket>(self.ping);
        if socket.can_send() {
            let buf = socket
                .send(repr.buffer_len(), IpAddress::Ipv4(ip))
                .map_err(|e| anyhow::anyhow!("the kernel path could not queue a ping: {e}"))?;
            repr.emit(&mut Icmpv4Packet::new_unchecked(buf), &smoltcp::phy::ChecksumCapabilities::default());
        }
        Ok(())
    }

    pub fn poll(&mut self, now: Instant) -> Result<bool> {
        let changed = self.stack.poll(now)?;
        let socket = self.stack.socket::<icmp::Socket>(self.ping);
        while socket.can_recv() {
            if socket.recv().is_ok() {
                self.seen.borrow_mut().ping_replies += 1;
            }
        }
        Ok(changed)
    }
}
