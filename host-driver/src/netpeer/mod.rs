//! The Linux kernel's own TCP/IP stack as a peer for a simulated NIC:
//! frames the NIC's MAC sends go into a TAP link, and what Linux sends on
//! that link comes back out, so an application's stack on an Arsenic
//! queue can talk to real Linux sockets.
//!
//! Everything Linux-side lives in a namespace made for the purpose and
//! deleted afterwards; the caller's own network is never touched.
//! `tap` is the link's file-descriptor end; `netns` the namespace (and
//! threads whose sockets live in it); `linux_peer` puts the two together,
//! configured; `frames` answers ARP by hand.
//!
//! What the NIC side of the TAP sees, as the tests hold it to:
//! - nothing at all after bring-up until a socket in the namespace
//!   sends; then an ARP request for the destination first (IPv6 is off;
//!   IPv4's arp_notify and the like come from the host's defaults);
//! - frames without FCS or padding (an ARP request is 42 bytes), never
//!   longer than MTU + 14: no offloads are enabled on the TAP, so TCP is
//!   cut to the MSS and every checksum is filled in;
//! - and Linux checks every checksum of what is written into the TAP,
//!   dropping a wrong one silently, so the NIC side must fill them in.
//!
//! Sockets belong to the namespace they were made in, not the thread
//! that uses them: one made in `Namespace::spawn` can be returned from
//! the closure and used anywhere.

pub mod frames;
pub mod linux_peer;
pub mod netns;
pub mod tap;

pub use linux_peer::{LinuxPeer, PeerConfig};
pub use netns::Namespace;
pub use tap::Tap;

#[cfg(test)]
mod tests;
