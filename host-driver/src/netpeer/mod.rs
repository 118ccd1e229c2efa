//! The Linux kernel's own TCP/IP stack as a peer for a simulated NIC:
//! frames the NIC's MAC sends go into a TAP link, and what Linux sends on
//! that link comes back out, so an application's stack on an Arsenic
//! queue can talk to real Linux sockets.
//!
//! `tap` is the link's file-descriptor end; `netns` a namespace (and
//! threads whose sockets live in it); `frames` answers ARP by hand.

pub mod frames;
pub mod netns;
pub mod tap;

pub use netns::Namespace;
pub use tap::Tap;
