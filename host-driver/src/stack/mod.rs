//! User-level TCP/IP on an application's own queue, as Arsenic ran it:
//! each application links a stack (smoltcp) that drives its queue pair
//! directly (`queue_phy`, `ip_stack`), the kernel's stack keeps the default
//! queue for everything no filter claimed (`kernel_path`), and the
//! privileged side binds the two with filters and transmit templates
//! (`sim_host`). `net` and `link` wire a simulated host to its peer, with
//! loss and reordering on demand; `transfer` is the file transfer the demo
//! and the tests run.

pub mod demo;
pub mod demo_show;
pub mod ip_stack;
pub mod kernel_path;
pub mod link;
pub mod linux_end;
pub mod net;
pub mod queue_phy;
pub mod sim_host;
pub mod transfer;
