//! The Linux kernel's own TCP/IP stack as a peer for a simulated NIC:
//! frames the NIC's MAC sends go into a TAP link, and what Linux sends on
//! that link comes back out, so an application's stack on an Arsenic
//! queue can talk to real Linux sockets.
//!
//! `tap` is the link's file-descriptor end; `frames` answers ARP by hand.

pub mod frames;
pub mod tap;

pub use tap::Tap;
