//! The Arsenic host driver.
//!
//! `device` holds the trait every backend implements and the backends;
//! `control` is the privileged control plane; `capture` reads and writes
//! pcap files; `traffic` generates test traffic; `sim_run` is the job behind
//! `arsenic sim`.

pub mod capture;
pub mod control;
pub mod device;
pub mod sim_run;
pub mod traffic;
