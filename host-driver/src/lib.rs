//! The Arsenic host driver.
//!
//! `device` holds the trait every backend implements and the backends;
//! `control` is the privileged control plane; `demux` is the flow
//! demultiplexer's host side (parser, filter tables, filters); `queue` the
//! queue pairs applications hold, over `dma` memory; `config`
//! reads steering configs; `capture` reads and writes pcap files; `traffic`
//! generates test traffic; `shaping` sets per-queue transmit rates;
//! `sim_run` is the job behind `arsenic sim`; `uart` is the serial-line
//! control-plane protocol behind the `uart` backend; `board` builds a
//! board's bitstream and programs it; `netpeer` puts the Linux kernel's
//! TCP/IP stack, in a namespace of its own, at the far end of a TAP link.

pub mod board;
pub mod board_forward;
pub mod board_stats;
pub mod capture;
pub mod config;
pub mod control;
pub mod ctl;
pub mod demux;
pub mod device;
pub mod dma;
pub mod differential;
pub mod netpeer;
pub mod protection;
pub mod queue;
pub mod rates;
pub mod shape_config;
pub mod sim_device;
pub mod sim_queues;
pub mod shaping;
pub mod sim_run;
pub mod stack;
pub mod traffic;
pub mod uart;
