//! `make bench`: measures, prints a table, and merges the figures into
//! `bench/results.json` (a flat object of named numbers, so figures from
//! other benchmarks stay). `arsenic-bench FILE PREFIX...` measures only the
//! figures whose names start with one of the prefixes (`mac.`, say) and
//! leaves the rest of the file as it was.
//!
//! sim.verilator_cycles_per_s and sim.rusthdl_cycles_per_s run the same
//! top with loopback on and the same traffic in one run, so they compare.
//! board.versa_ecp5.* come from the last `make bitstream`, when there is one.

mod board;
mod cosim;
mod mac;
mod queues;
mod rates;
mod tcp;

use anyhow::{bail, Context, Result};
use arsenic::capture;
use arsenic::control::Nic;
use arsenic::demux::filters::{Filter, Target};
use arsenic::device::model::ModelDevice;
use arsenic::differential;
use arsenic::traffic::{self, TestFrame};
use std::net::{IpAddr, Ipv4Addr};
use arsenic_hdl::harness::TopHarness;
use arsenic_hdl::filter::Reason;
use arsenic_hdl::{regmap, NicParams};
use arsenic_testbench::Sim;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Good frames of mixed sizes, so the whole datapath is busy.
fn frames(count: usize) -> Vec<Vec<u8>> {
    traffic::mixed(count * 2, 5, 1522)
        .into_iter()
        .filter(|f| !f.fcs_error && (14..=1522).contains(&f.data.len()))
        .map(|f| f.data)
        .take(count)
        .collect()
}

fn verilator_cycles_per_s() -> Result<f64> {
    let frames = frames(4000);
    let mut sim = Sim::new();
    sim.reg_write(regmap::CONTROL, regmap::CONTROL_LOOPBACK)?;
    let start_cycle = sim.cycle();
    let started = Instant::now();
    sim.inject_line_rate(frames.iter().cloned(), start_cycle);
    if !sim.run_until_quiet(256, 10_000_000) {
        bail!("the Verilated NIC did not drain");
    }
    let wall = started.elapsed().as_secs_f64();
    let sent = sim.take_tx();
    if sent.len() != frames.len() {
        bail!("Verilator run looped {} of {} frames back", sent.len(), frames.len());
    }
    Ok((sim.cycle() - start_cycle) as f64 / wall)
}

fn rusthdl_cycles_per_s() -> Result<f64> {
    let frames = frames(150);
    let mut top = TopHarness::new(&NicParams::default());
    top.reg_write(regmap::CONTROL, regmap::CONTROL_LOOPBACK);
    let start_cycle = top.h.cycles;
    let started = Instant::now();
    let back = top.stream(&frames, 24, 2000);
    let wall = started.elapsed().as_secs_f64();
    if back != frames {
        bail!("rust-hdl run looped {} of {} frames back", back.len(), frames.len());
    }
    Ok((top.h.cycles - start_cycle) as f64 / wall)
}

/// Minimum frames (60 bytes, 64 with FCS) whose flow misses every filter
/// kind, the longest lookup, back to back at line rate. Returns (the most
/// cycles from a frame's last byte to its decision, the most cycles from its
/// first byte to its decision).
fn demux_timing() -> Result<(u64, u64)> {
    let mut sim = Sim::new();
    let mut frames = vec![];
    for i in 0..500u16 {
        // VLAN-tagged TCP over IPv4, so every one of the seven kinds applies.
        let mut f = vec![0x02, 0, 0, 0, 0, 0x42, 0x02, 0, 0, 0, 0, 1, 0x81, 0x00, 0, 7, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&i.to_be_bytes());
        f.extend_from_slice(&[0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0, 0, 0, 0, 0, 0]);
        f.truncate(60);
        frames.push(f);
    }
    let start = sim.cycle();
    let mut starts = vec![];
    let mut t = start;
    for f in &frames {
        starts.push(t);
        t += arsenic_testbench::wire::wire_cycles(f.len());
    }
    sim.inject_line_rate(frames.iter().cloned(), start);
    if !sim.run_until_quiet(256, 1_000_000) {
        bail!("the demux run did not drain");
    }
    let decisions = sim.take_decisions();
    if decisions.len() != frames.len() || decisions.iter().any(|d| d.reason != Reason::Miss as u8) {
        bail!("expected {} misses, got {:?}", frames.len(), decisions.iter().take(3).collect::<Vec<_>>());
    }
    let mut per_frame = 0;
    let mut latency = 0;
    for ((d, s), f) in decisions.iter().zip(&starts).zip(&frames) {
        let last_byte = s + f.len() as u64 - 1;
        per_frame = per_frame.max(d.cycle - last_byte);
        latency = latency.max(d.cycle - s);
    }
    Ok((per_frame, latency))
}

/// Installs random exact filters through the control plane (on the model,
/// whose tables are written through the same registers) until one fails;
/// returns the lowest load at first failure over several seeds.
fn load_factor_at_first_failure() -> Result<f64> {
    let mut worst = f64::MAX;
    for seed in 1..=5 {
        let dev = ModelDevice::default();
        let mut nic = Nic::open(&dev)?;
        let mut rng = traffic::Rng::new(seed);
        let capacity = nic.info.exact_filters as f64;
        let mut installed = 0u32;
        loop {
            let ip = |r: &mut traffic::Rng| IpAddr::V4(Ipv4Addr::from(r.next_u64() as u32));
            let f = Filter::Exact5 {
                proto: 6,
                src: ip(&mut rng),
                sport: rng.next_u64() as u16,
                dst: ip(&mut rng),
                dport: rng.next_u64() as u16,
            };
            if nic.install_filter(&f, Target::queue(1)).is_err() {
                break;
            }
            installed += 1;
            if installed as f64 > capacity {
                bail!("installed more filters than the table holds");
            }
        }
        worst = worst.min(installed as f64 / capacity);
    }
    Ok(worst)
}

/// Every Ethernet capture of the corpus through RTL and model with filters
/// drawn from its own flows: (frames decided, decisions that differ).
fn corpus_agreement() -> Result<(u64, u64)> {
    let dir = std::env::var("ARSENIC_CORPUS").unwrap_or_else(|_| "../shared/corpus/tcpdump".into());
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("corpus {dir} (set ARSENIC_CORPUS)"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let (mut frames, mut disagreements) = (0, 0);
    for path in paths {
        let Ok(cap) = capture::read_ethernet(&path) else { continue };
        let input: Vec<TestFrame> = cap.frames.into_iter().map(|data| TestFrame { data, fcs_error: false }).collect();
        let a = differential::rtl_vs_model(&differential::filters_for(&input), &input)?;
        frames += a.frames;
        disagreements += a.disagreements;
    }
    Ok((frames, disagreements))
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "bench/results.json".into()));
    let only: Vec<String> = args.collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|p| name.starts_with(p.as_str()));
    // A group runs when any of its figures is wanted; they share one run.
    let wants = |names: &[&str]| names.iter().any(|n| wanted(n));
    let mut results: BTreeMap<String, serde_json::Value> = match std::fs::read_to_string(&out) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("{} is not a JSON object", out.display()))?,
        Err(_) => BTreeMap::new(),
    };
    let mut measured: Vec<(&str, f64)> = vec![];
    if wants(&["sim.verilator_cycles_per_s", "sim.rusthdl_cycles_per_s"]) {
        measured.push(("sim.verilator_cycles_per_s", verilator_cycles_per_s()?));
        measured.push(("sim.rusthdl_cycles_per_s", rusthdl_cycles_per_s()?));
    }
    if wants(&[
        "demux.cycles_per_frame_min",
        "demux.latency_cycles",
        "demux.load_factor_at_first_failure",
        "demux.corpus_frames",
        "demux.corpus_disagreements",
    ]) {
        let (per_frame, latency) = demux_timing()?;
        let (corpus_frames, corpus_disagreements) = corpus_agreement()?;
        measured.extend([
            ("demux.cycles_per_frame_min", per_frame as f64),
            ("demux.latency_cycles", latency as f64),
            ("demux.load_factor_at_first_failure", (load_factor_at_first_failure()? * 1000.0).round() / 1000.0),
            ("demux.corpus_frames", corpus_frames as f64),
            ("demux.corpus_disagreements", corpus_disagreements as f64),
        ]);
    }
    if wants(&["rx.line_rate_fraction_64b", "tx.line_rate_fraction_64b", "rx.wire_to_host_ns"]) {
        measured.extend([
            ("rx.line_rate_fraction_64b", queues::rx_line_rate()?),
            ("tx.line_rate_fraction_64b", queues::tx_line_rate()?),
            ("rx.wire_to_host_ns", queues::wire_to_host_ns()?),
        ]);
    }
    if wants(&["driver.ns_per_packet_batch32", "driver.model_share_of_loop"]) {
        let (driver_ns, model_share) = queues::driver_forwarding(30_000)?;
        measured.extend([("driver.ns_per_packet_batch32", driver_ns), ("driver.model_share_of_loop", model_share)]);
    }
    if wants(&["protection.fuzz_cases", "protection.violations"]) {
        let (fuzz_cases, violations) = queues::protection_fuzz(40)?;
        measured.extend([("protection.fuzz_cases", fuzz_cases as f64), ("protection.violations", violations as f64)]);
    }
    if wants(&[
        "rate.max_error_pct",
        "rate.isolation_fraction",
        "rate.link_utilisation",
        "rate.jain_fairness",
        "rate.decision_cycles",
    ]) {
        let (jain, utilisation) = rates::fairness()?;
        measured.extend([
            ("rate.max_error_pct", (rates::max_error_pct()? * 1e4).round() / 1e4),
            ("rate.isolation_fraction", (rates::isolation_fraction()? * 1e4).round() / 1e4),
            ("rate.link_utilisation", (utilisation * 1e4).round() / 1e4),
            ("rate.jain_fairness", (jain * 1e5).round() / 1e5),
            ("rate.decision_cycles", rates::decision_cycles()),
        ]);
    }
    if wants(&["mac.line_rate_fraction_64b", "mac.verilator_cycles_per_s"]) {
        let (fraction, cycles_per_s) = mac::line_rate_64b(100_000)?;
        measured.extend([
            ("mac.line_rate_fraction_64b", (fraction * 1e4).round() / 1e4),
            ("mac.verilator_cycles_per_s", cycles_per_s),
        ]);
    }
    if wants(&["tcp.goodput_fraction_of_line_rate", "tcp.goodput_fraction_from_peer", "tcp.sim_seconds_per_wall_second"]) {
        let r = tcp::transfer()?;
        let round = |x: f64| (x * 1e4).round() / 1e4;
        measured.extend([
            ("tcp.goodput_fraction_of_line_rate", round(r.to_peer.goodput_fraction)),
            ("tcp.goodput_fraction_from_peer", round(r.from_peer.goodput_fraction)),
            ("tcp.sim_seconds_per_wall_second", (r.sim_seconds_per_wall_second() * 1e6).round() / 1e6),
        ]);
    }
    if wants(&["driver.doorbell_ns"]) {
        measured.push(("driver.doorbell_ns", (cosim::doorbell_ns()? * 100.0).round() / 100.0));
    }
    if wants(&["cosim.frames_per_wall_second", "cosim.in_process_frames_per_wall_second"]) {
        let (out_of_process, in_process) = cosim::frames_per_wall_second()?;
        measured.extend([
            ("cosim.frames_per_wall_second", out_of_process.round()),
            ("cosim.in_process_frames_per_wall_second", in_process.round()),
        ]);
    }
    let board_build = board::last_build("versa-ecp5")?;
    let mut measured: Vec<(String, f64)> = measured.into_iter().map(|(n, v)| (n.to_string(), v)).collect();
    if let Some((_, report)) = &board_build {
        measured.extend(board::figures(report)?);
    }
    measured.retain(|m| wanted(&m.0));
    if measured.is_empty() {
        bail!("no figure's name starts with {}", only.join(" or "));
    }
    println!("{:<36} {:>16}", "figure", "value");
    for (name, value) in &measured {
        if value.fract() == 0.0 || *value > 1000.0 {
            println!("{name:<36} {value:>16.0}");
            results.insert(name.to_string(), serde_json::json!(value.round()));
        } else {
            println!("{name:<36} {value:>16.3}");
            results.insert(name.to_string(), serde_json::json!(value));
        }
    }
    if let Some((path, _)) = &board_build {
        println!("{:<36} {:>16}", "(board figures from)", path.display());
    }
    let figure = |name: &str| measured.iter().find(|m| m.0 == name).map(|m| m.1);
    if let (Some(v), Some(r)) = (figure("sim.verilator_cycles_per_s"), figure("sim.rusthdl_cycles_per_s")) {
        println!("{:<36} {:>16.1}", "(Verilator / rust-hdl)", v / r);
    }
    if figure("demux.cycles_per_frame_min").is_some() || figure("mac.line_rate_fraction_64b").is_some() {
        println!("{:<36} {:>16}", "(64-byte frame budget at 1G, cycles)", "84");
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).ok();
    }
    std::fs::write(&out, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}
