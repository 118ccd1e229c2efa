//! What `arsenic demo tcp` shows: a progress bar while the files cross,
//! and a summary after. The peer is Linux where the machine allows
//! namespaces and TAP devices, otherwise a second simulated NIC, and the
//! summary says which and why.

use super::demo::{self, DemoConfig, DemoReport};
use crate::device::model::ModelDevice;
use crate::device::rtl::RtlDevice;
use crate::netpeer::linux_peer::LinuxPeer;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PeerChoice {
    /// Linux if this machine allows it, else a second simulated NIC.
    Auto,
    Linux,
    /// A second simulated NIC running its own application.
    Sim,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoBackend {
    Rtl,
    Model,
}

pub fn run(cfg: &DemoConfig, peer: PeerChoice, backend: DemoBackend, json: Option<&Path>) -> Result<DemoReport> {
    let use_linux = match peer {
        PeerChoice::Sim => false,
        PeerChoice::Linux => {
            if let Err(why) = LinuxPeer::probe() {
                anyhow::bail!("no Linux peer on this machine: {why}");
            }
            true
        }
        PeerChoice::Auto => match LinuxPeer::probe() {
            Ok(()) => true,
            Err(why) => {
                eprintln!("no Linux peer on this machine ({why}); using a second simulated NIC as the peer");
                false
            }
        },
    };
    let total = 2 * cfg.bytes as u64;
    let bar = if std::io::stderr().is_terminal() {
        let style = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({elapsed})")
            .expect("a valid template")
            .progress_chars("=> ");
        ProgressBar::new(total).with_style(style)
    } else {
        ProgressBar::hidden()
    };
    bar.set_message(if use_linux { "TCP with Linux" } else { "TCP with a simulated NIC" });
    let mut progress = |to: u64, from: u64| bar.set_position(to + from);
    let report = match (use_linux, backend) {
        (true, DemoBackend::Rtl) => demo::linux(RtlDevice::new(), cfg, &mut progress)?,
        (true, DemoBackend::Model) => demo::linux(ModelDevice::default(), cfg, &mut progress)?,
        (false, DemoBackend::Rtl) => demo::two_nics(RtlDevice::new(), RtlDevice::new(), cfg, &mut progress)?,
        (false, DemoBackend::Model) => demo::two_nics(ModelDevice::default(), ModelDevice::default(), cfg, &mut progress)?,
    };
    bar.finish_and_clear();
    print_summary(&report);
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
        println!("report: {}", path.display());
    }
    Ok(report)
}

pub fn print_summary(r: &DemoReport) {
    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    println!("TCP over the application's own queue, peer: {}", r.peer);
    println!(
        "  to the peer:   {:.2} MiB in {:.3} ms simulated, {:.1}% of 1 Gb/s",
        mb(r.to_peer.bytes),
        r.to_peer.cycles as f64 / 125_000.0,
        100.0 * r.to_peer.goodput_fraction
    );
    println!(
        "  from the peer: {:.2} MiB in {:.3} ms simulated, {:.1}% of 1 Gb/s",
        mb(r.from_peer.bytes),
        r.from_peer.cycles as f64 / 125_000.0,
        100.0 * r.from_peer.goodput_fraction
    );
    println!("  both files checked byte for byte");
    println!(
        "  time: {:.4} s simulated in {:.1} s wall ({:.2e} simulated seconds per second)",
        r.sim_seconds,
        r.wall_seconds,
        r.sim_seconds_per_wall_second()
    );
    println!(
        "  wire: {} frames out, {} back; retransmitted segments: {} out, {} back; dropped on purpose: {} out, {} back",
        r.net.out.frames, r.net.back.frames, r.net.out.tcp_retransmits, r.net.back.tcp_retransmits, r.net.out.dropped, r.net.back.dropped
    );
    let q = &r.app_queue;
    println!(
        "  the application's queue {}: rx delivered {}, rx dropped {}, tx sent {}, tx rejected {}",
        demo::APP_QUEUE,
        q.rx_delivered,
        q.rx_dropped,
        q.tx_sent,
        q.tx_rejected
    );
    let k = &r.kernel;
    println!("  the kernel's default queue saw: {} ARP, {} ICMP, {} TCP, {} UDP, {} other", k.arp, k.icmp, k.tcp, k.udp, k.other);
}
