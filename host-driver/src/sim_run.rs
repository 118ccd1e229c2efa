//! The `arsenic sim` job: play frames into a simulated NIC, collect what it
//! transmits, read its counters back through the register port, and check
//! the result against the behavioural model.

use crate::capture;
use crate::control::{Counters, DeviceInfo, Nic};
use crate::device::model::ModelDevice;
use crate::device::rtl::RtlDevice;
use crate::device::{Device, Wire, WireFrame};
use crate::traffic::{self, TestFrame};
use anyhow::{Context, Result};
use arsenic_hdl::NicParams;
use arsenic_testbench::wire::NS_PER_CYCLE;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The generated Verilog, Verilated.
    Rtl,
    /// The behavioural model in plain Rust.
    Model,
}

#[derive(Clone, Debug)]
pub enum Input {
    Pcap(PathBuf),
    /// Generated traffic: this many frames from this seed.
    Builtin { frames: usize, seed: u64 },
}

#[derive(Clone, Debug)]
pub struct SimOptions {
    pub backend: Backend,
    pub loopback: bool,
    pub input: Input,
    pub trace: Option<PathBuf>,
    /// Also run the model and compare (only meaningful for `Rtl`).
    pub check_model: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct InputSummary {
    pub source: String,
    /// Records read from the capture, or frames generated.
    pub records: u64,
    /// Records with no bytes at all: nothing to put on a wire.
    pub empty_records: u64,
    /// Records captured shorter than they were on the wire; played as captured.
    pub snapped_records: u64,
    /// Generated frames sent with a bad FCS.
    pub fcs_error_frames: u64,
    /// Why reading the capture stopped early, if it did.
    pub damage: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModelCheck {
    pub agrees: bool,
    /// The first difference, if any.
    pub difference: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SimStats {
    pub backend: Backend,
    pub cycles: u64,
    pub simulated_ns: u64,
    pub wall_seconds: f64,
    pub cycles_per_second: f64,
}

#[derive(Debug, Serialize)]
pub struct SimReport {
    pub device: DeviceInfo,
    pub input: InputSummary,
    pub counters: Counters,
    pub transmitted_frames: u64,
    pub transmitted_bytes: u64,
    pub sim: SimStats,
    pub model_check: Option<ModelCheck>,
    #[serde(skip)]
    pub transmitted: Vec<WireFrame>,
}

/// Reads or generates the frames to play.
pub fn load_input(input: &Input) -> Result<(Vec<TestFrame>, InputSummary)> {
    match input {
        Input::Pcap(path) => {
            let cap = capture::read_ethernet(path)?;
            let summary = InputSummary {
                source: path.display().to_string(),
                records: cap.frames.len() as u64,
                empty_records: cap.frames.iter().filter(|f| f.is_empty()).count() as u64,
                snapped_records: cap.snapped,
                fcs_error_frames: 0,
                damage: cap.damage,
            };
            let frames = cap.frames.into_iter().map(|data| TestFrame { data, fcs_error: false });
            Ok((frames.collect(), summary))
        }
        Input::Builtin { frames, seed } => {
            let max = NicParams::default().max_frame_bytes as usize;
            let frames = traffic::mixed(*frames, *seed, max);
            let summary = InputSummary {
                source: format!("built-in mixed traffic, seed {seed}"),
                records: frames.len() as u64,
                empty_records: 0,
                snapped_records: 0,
                fcs_error_frames: frames.iter().filter(|f| f.fcs_error).count() as u64,
                damage: None,
            };
            Ok((frames, summary))
        }
    }
}

/// What one device did with the frames.
struct Outcome {
    info: DeviceInfo,
    counters: Counters,
    transmitted: Vec<WireFrame>,
    cycles: u64,
}

fn play<D: Device + Wire>(dev: &mut D, loopback: bool, frames: &[TestFrame]) -> Result<Outcome> {
    let nic = Nic::open(dev)?;
    nic.set_loopback(loopback).context("setting loopback")?;
    for f in frames {
        dev.send(&f.data, f.fcs_error);
    }
    dev.drain()?;
    let counters = nic.counters().context("reading the counters")?;
    Ok(Outcome {
        info: nic.info.clone(),
        counters,
        transmitted: dev.take_transmitted(),
        cycles: dev.cycles(),
    })
}

fn compare(rtl: &Outcome, model: &Outcome) -> ModelCheck {
    let difference = if rtl.transmitted.len() != model.transmitted.len() {
        Some(format!(
            "the RTL transmitted {} frames, the model {}",
            rtl.transmitted.len(),
            model.transmitted.len()
        ))
    } else if let Some(i) =
        rtl.transmitted.iter().zip(&model.transmitted).position(|(a, b)| a.data != b.data)
    {
        Some(format!("transmitted frame {} differs", i + 1))
    } else {
        rtl.counters
            .iter()
            .find(|(name, v)| model.counters.get(name) != Some(*v))
            .map(|(name, v)| format!("counter {name}: RTL {v}, model {:?}", model.counters.get(name)))
    };
    ModelCheck { agrees: difference.is_none(), difference }
}

pub fn run(opts: &SimOptions) -> Result<SimReport> {
    let (frames, input) = load_input(&opts.input)?;
    let started = Instant::now();
    let outcome = match opts.backend {
        Backend::Rtl => {
            let mut dev = RtlDevice::new();
            if let Some(path) = &opts.trace {
                dev.trace(path)?;
            }
            play(&mut dev, opts.loopback, &frames)?
        }
        Backend::Model => play(&mut ModelDevice::default(), opts.loopback, &frames)?,
    };
    let wall = started.elapsed();
    let model_check = if opts.check_model && opts.backend == Backend::Rtl {
        let model = play(&mut ModelDevice::default(), opts.loopback, &frames)?;
        Some(compare(&outcome, &model))
    } else {
        None
    };
    Ok(SimReport {
        device: outcome.info,
        input,
        transmitted_frames: outcome.transmitted.len() as u64,
        transmitted_bytes: outcome.transmitted.iter().map(|f| f.data.len() as u64).sum(),
        counters: outcome.counters,
        sim: SimStats {
            backend: opts.backend,
            cycles: outcome.cycles,
            simulated_ns: outcome.cycles * NS_PER_CYCLE,
            wall_seconds: wall.as_secs_f64(),
            cycles_per_second: outcome.cycles as f64 / wall.as_secs_f64().max(1e-9),
        },
        model_check,
        transmitted: outcome.transmitted,
    })
}

/// Writes `tx.pcap` and `stats.json` into `dir`.
pub fn write_outputs(report: &SimReport, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let frames: Vec<(Duration, &[u8])> = report
        .transmitted
        .iter()
        .map(|f| (Duration::from_nanos(f.cycle * NS_PER_CYCLE), f.data.as_slice()))
        .collect();
    capture::write_pcap(&dir.join("tx.pcap"), &frames)?;
    let stats = dir.join("stats.json");
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(&stats, json + "\n").with_context(|| format!("cannot write {}", stats.display()))?;
    Ok(())
}
