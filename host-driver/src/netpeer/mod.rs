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

pub mod frames;
pub mod linux_peer;
pub mod netns;
pub mod tap;

pub use linux_peer::{LinuxPeer, PeerConfig};
pub use netns::Namespace;
pub use tap::Tap;

#[cfg(test)]
mod tests;
