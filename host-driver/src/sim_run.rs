//! The `arsenic sim` job: play frames into a simulated NIC, collect what it
//! transmits and what its demultiplexer decided, read its counters back
//! through the register port, and check the result against the behavioural
//! model. Unless looping back, received frames are delivered into queue
//! pairs (`sim_queues`) and taken out through the driver, and `--txq`
//! captures are transmitted from their queues; with a steering config, the
//! filters are installed through the control plane first. Each queue's
//! frames are written to a capture.

use crate::capture;
use crate::config::SteeringConfig;
use crate::control::{Counters, DeviceInfo, Nic};
use crate::device::model::ModelDevice;
use crate::device::rtl::RtlDevice;
use crate::device::sim_client::SimDeviceClient;
use crate::device::{Demux, Device, Received, Wire, WireFrame};
use crate::sim_device::spawn::SpawnedDevice;
use crate::sim_queues::{Delivered, QueueReport, SimQueues, CHUNK_FRAMES};
use crate::traffic::{self, TestFrame};
use anyhow::{Context, Result};
use arsenic_hdl::filter::Reason;
use arsenic_hdl::NicParams;
use arsenic_testbench::wire::NS_PER_CYCLE;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The generated Verilog, Verilated.
    Rtl,
    /// The behavioural model in plain Rust.
    Model,
    /// The generated Verilog in its own process (`arsenic sim-device`),
    /// driven through the sysfs backend's mapped pages.
    #[value(name = "sim-device")]
    #[serde(rename = "sim-device")]
    SimDevice,
}

#[derive(Clone, Debug)]
pub enum Input {
    Pcap(PathBuf),
    /// Generated traffic: this many frames from this seed.
    Builtin { frames: usize, seed: u64 },
    /// Frames a caller made, described by `source`.
    Frames { source: String, frames: Vec<TestFrame> },
}

#[derive(Clone, Debug)]
pub struct SimOptions {
    pub backend: Backend,
    pub loopback: bool,
    pub input: Input,
    pub trace: Option<PathBuf>,
    /// Also run the model and compare (only meaningful for `Rtl`).
    pub check_model: bool,
    /// Filters and default queue to install before the traffic.
    pub steering: Option<SteeringConfig>,
    /// Frames to transmit from queues, as `load_txq` reads them.
    pub txq: Vec<(u32, Vec<Vec<u8>>)>,
    /// Every application queue sends back what it receives.
    pub echo: bool,
    /// For `SimDevice`: a running device's folder; `None` starts one.
    pub device: Option<PathBuf>,
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
    /// What the steering config did, if one was given.
    pub steering: Option<SteeringReport>,
    /// Each queue pair the job created, by queue number.
    pub queues: Option<BTreeMap<u32, QueueReport>>,
    #[serde(skip)]
    pub transmitted: Vec<WireFrame>,
    /// The queue that sent each transmitted frame, if one did.
    #[serde(skip)]
    pub sent_by: Vec<Option<u32>>,
    /// What each queue's application received, with the cycle each frame
    /// began to arrive.
    #[serde(skip)]
    pub delivered: BTreeMap<u32, Vec<(u64, Delivered)>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct InstalledSummary {
    pub id: u16,
    pub filter: String,
    pub queue: u32,
    pub spread: u8,
}

#[derive(Debug, Serialize)]
pub struct SteeringReport {
    pub config: String,
    pub default_queue: u32,
    pub filters: Vec<InstalledSummary>,
    /// Frames each queue received, by queue number; frames the frame check
    /// rejected are in none.
    pub queue_frames: BTreeMap<u32, u64>,
    /// Every decision, by reason (frame errors included).
    pub reasons: BTreeMap<&'static str, u64>,
    /// Frames each filter steered, by filter id.
    pub filter_hits: BTreeMap<u16, u64>,
    /// Each queue the config shapes, as the NIC reads its shaping back.
    pub shaping: BTreeMap<u32, String>,
    #[serde(skip)]
    pub received: Vec<Received>,
}

impl SteeringReport {
    fn new(config: &SteeringConfig, nic: &Nic, device: &dyn Device, received: Vec<Received>) -> Result<SteeringReport> {
        let mut queue_frames = BTreeMap::new();
        let mut reasons = BTreeMap::new();
        let mut filter_hits = BTreeMap::new();
        for r in &received {
            let d = &r.decision;
            *reasons.entry(d.reason.name()).or_insert(0) += 1;
            if d.reason != Reason::FrameError {
                *queue_frames.entry(d.queue).or_insert(0) += 1;
            }
            if d.reason == Reason::Hit {
                *filter_hits.entry(d.filter_id).or_insert(0) += 1;
            }
        }
        let filters = nic
            .list_filters()
            .into_iter()
            .map(|f| InstalledSummary {
                id: f.id,
                filter: f.filter.to_string(),
                queue: f.target.queue,
                spread: f.target.spread,
            })
            .collect();
        Ok(SteeringReport {
            config: config.path.display().to_string(),
            default_queue: nic.default_queue().context("reading the default queue")?,
            filters,
            queue_frames,
            reasons,
            filter_hits,
            shaping: config
                .shapes
                .iter()
                .map(|(_, q, _)| Ok((*q, nic.shaping(device, *q).with_context(|| format!("reading queue {q}'s shaping"))?.to_string())))
                .collect::<Result<_>>()?,
            received,
        })
    }
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
        Input::Frames { source, frames } => {
            let summary = InputSummary {
                source: source.clone(),
                records: frames.len() as u64,
                empty_records: frames.iter().filter(|f| f.data.is_empty()).count() as u64,
                snapped_records: 0,
                fcs_error_frames: frames.iter().filter(|f| f.fcs_error).count() as u64,
                damage: None,
            };
            Ok((frames.clone(), summary))
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
    /// Every non-empty frame with its decision.
    received: Vec<Received>,
    steering: Option<SteeringReport>,
    queues: Option<BTreeMap<u32, QueueReport>>,
    delivered: BTreeMap<u32, Vec<Delivered>>,
    /// The queue that sent each transmitted frame, if one did.
    sent_by: Vec<Option<u32>>,
    cycles: u64,
}

/// Memory for a device `arsenic sim` starts itself: a chunk per queue's
/// rings and one per pool, for every queue the NIC has.
const SIM_DEVICE_CHUNKS: usize = 2 * arsenic_hdl::params::QUEUE_COUNT + 8;

/// Runs shorter than this finish too soon for a progress bar to help.
const PROGRESS_MIN_FRAMES: u64 = 5000;

/// Transmit rounds after the received traffic before giving up on frames
/// the NIC never finished.
const MAX_TX_ROUNDS: usize = 10_000;

fn play<D: Device + Wire + Demux>(
    dev: &mut D,
    loopback: bool,
    steering: Option<&SteeringConfig>,
    frames: &[TestFrame],
    txq: &[(u32, Vec<Vec<u8>>)],
    echo: bool,
) -> Result<Outcome> {
    let mut nic = Nic::open(dev)?;
    nic.set_loopback(loopback).context("setting loopback")?;
    if let Some(config) = steering {
        config.apply(&mut nic)?;
    }
    let mut queues = if !loopback || !txq.is_empty() {
        let mut targets = BTreeSet::new();
        if !loopback {
            for f in nic.list_filters() {
                targets.extend(f.target.queue..f.target.queue + (1 << f.target.spread));
            }
        }
        let default_queue = nic.default_queue()?;
        Some(SimQueues::create(&mut nic, &*dev, default_queue, &targets, txq, echo)?)
    } else {
        None
    };
    if let Some(config) = steering {
        config.apply_shaping(&mut nic, &*dev)?;
    }
    // A bar on a terminal for runs long enough to wait for; indicatif draws
    // nothing when stderr is not a terminal (tests, CI, pipes).
    let sent = frames.iter().filter(|f| !f.data.is_empty()).count() as u64;
    let bar = if sent >= PROGRESS_MIN_FRAMES {
        let style = ProgressStyle::with_template("simulating {bar:40} {pos}/{len} frames, {eta} left")
            .expect("a valid progress template");
        ProgressBar::new(sent).with_style(style)
    } else {
        ProgressBar::hidden()
    };
    for chunk in frames.chunks(CHUNK_FRAMES) {
        for f in chunk {
            dev.send(&f.data, f.fcs_error);
        }
        if let Some(q) = queues.as_mut() {
            q.post_tx()?;
        }
        dev.drain_reporting(&mut |done| bar.set_position(done))?;
        if let Some(q) = queues.as_mut() {
            q.reap()?;
        }
    }
    bar.finish_and_clear();
    if let Some(q) = queues.as_mut() {
        let mut rounds = 0;
        while q.tx_waiting() > 0 || q.tx_outstanding() > 0 {
            rounds += 1;
            if rounds > MAX_TX_ROUNDS {
                anyhow::bail!("the NIC left {} transmit descriptors unfinished", q.tx_outstanding());
            }
            q.post_tx()?;
            dev.drain()?;
            q.reap()?;
        }
    }
    // A frame is written back once it is in the NIC's transmit FIFO, before
    // it has left, and a device in its own process runs on while the driver
    // reaps: settle until every frame the queues sent is on the wire. (The
    // counters are read after each settle, which brings a simulated
    // device's copies of them up to date.)
    let mut transmitted = dev.take_transmitted();
    if let (Some(q), false) = (queues.as_ref(), loopback) {
        for _ in 0..MAX_TX_ROUNDS {
            dev.settle(crate::device::rtl::QUIET_CYCLES)?;
            transmitted.extend(dev.take_transmitted());
            let sent: u64 = q.report()?.values().map(|r| r.tx_sent as u64).sum();
            if transmitted.len() as u64 >= sent {
                break;
            }
        }
    }
    let counters = nic.counters().context("reading the counters")?;
    transmitted.extend(dev.take_transmitted());
    let sent_by = match queues.as_mut() {
        Some(q) => q.attribute(&transmitted.iter().map(|f| f.data.clone()).collect::<Vec<_>>()),
        None => vec![None; transmitted.len()],
    };
    let received = dev.take_received();
    let steering = steering.map(|c| SteeringReport::new(c, &nic, &*dev, received.clone())).transpose()?;
    Ok(Outcome {
        info: nic.info.clone(),
        counters,
        transmitted,
        sent_by,
        received,
        steering,
        queues: queues.as_ref().map(|q| q.report()).transpose()?,
        delivered: queues.map(|q| q.delivered).unwrap_or_default(),
        cycles: dev.cycles(),
    })
}

/// The frames on the wire by sender (None: looped back), each in the order
/// it left: the RTL interleaves queues as their doorbells arrive, the
/// model serves each doorbell at once, and only each sender's own order
/// is defined.
fn wire_by_sender(o: &Outcome) -> BTreeMap<Option<u32>, Vec<&[u8]>> {
    let mut by: BTreeMap<Option<u32>, Vec<&[u8]>> = BTreeMap::new();
    for (f, q) in o.transmitted.iter().zip(&o.sent_by) {
        by.entry(*q).or_default().push(f.data.as_slice());
    }
    by
}

fn compare(rtl: &Outcome, model: &Outcome) -> ModelCheck {
    let (rtl_wire, model_wire) = (wire_by_sender(rtl), wire_by_sender(model));
    let difference = if rtl.transmitted.len() != model.transmitted.len() {
        Some(format!(
            "the RTL transmitted {} frames, the model {}",
            rtl.transmitted.len(),
            model.transmitted.len()
        ))
    } else if let Some((q, a)) = rtl_wire.iter().find(|(q, a)| model_wire.get(q) != Some(a)) {
        let b = model_wire.get(q).map_or(&[][..], |v| v.as_slice());
        let i = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        let who = q.map_or("looped back".to_string(), |q| format!("from queue {q}"));
        Some(format!("frame {} sent {who} differs (RTL sent {}, model {})", i + 1, a.len(), b.len()))
    } else if rtl.delivered != model.delivered {
        let q = rtl.delivered.keys().chain(model.delivered.keys()).find(|q| rtl.delivered.get(q) != model.delivered.get(q));
        Some(format!("the frames delivered to queue {} differ", q.copied().unwrap_or(0)))
    } else if rtl.received.len() != model.received.len() {
        Some(format!(
            "the RTL decided {} frames, the model {}",
            rtl.received.len(),
            model.received.len()
        ))
    } else if let Some((i, (a, b))) = rtl
        .received
        .iter()
        .zip(&model.received)
        .enumerate()
        .find(|(_, (a, b))| a.data != b.data || a.decision != b.decision)
    {
        // Arrival cycles are left out: register accesses take RTL cycles,
        // and the model has no clock.
        Some(if a.data != b.data {
            format!("received frame {} differs", i + 1)
        } else {
            format!("decision for received frame {}: RTL {:?}, model {:?}", i + 1, a.decision, b.decision)
        })
    } else if let Some((q, a, b)) = rtl.queues.iter().flatten().find_map(|(q, a)| {
        let b = model.queues.as_ref().and_then(|m| m.get(q));
        (Some(a) != b).then(|| (q, a.clone(), b.cloned()))
    }) {
        Some(format!("queue {q}: RTL {a:?}, model {b:?}"))
    } else {
        rtl.counters
            .iter()
            .find(|(name, v)| model.counters.get(name) != Some(*v))
            .map(|(name, v)| format!("counter {name}: RTL {v}, model {:?}", model.counters.get(name)))
    };
    ModelCheck { agrees: difference.is_none(), difference }
}

/// Reads each `--txq` capture: every record with bytes is a frame to send.
pub fn load_txq(txq: &[(u32, PathBuf)], queues: u32) -> Result<Vec<(u32, Vec<Vec<u8>>)>> {
    let mut out = vec![];
    for (q, path) in txq {
        if *q >= queues {
            anyhow::bail!("--txq {q}={}: the NIC has queues 0..={}", path.display(), queues - 1);
        }
        let cap = capture::read_ethernet(path)?;
        if let Some(damage) = &cap.damage {
            eprintln!("warning: {}: {damage}; sending the {} frames before it", path.display(), cap.frames.len());
        }
        out.push((*q, cap.frames.into_iter().filter(|f| !f.is_empty()).collect()));
    }
    Ok(out)
}

pub fn run(opts: &SimOptions) -> Result<SimReport> {
    let (frames, input) = load_input(&opts.input)?;
    let txq = &opts.txq;
    let steering = opts.steering.as_ref();
    let started = Instant::now();
    let outcome = match opts.backend {
        Backend::Rtl => {
            let mut dev = RtlDevice::new();
            if let Some(path) = &opts.trace {
                dev.trace(path)?;
            }
            play(&mut dev, opts.loopback, steering, &frames, txq, opts.echo)?
        }
        Backend::Model => play(&mut ModelDevice::default(), opts.loopback, steering, &frames, txq, opts.echo)?,
        Backend::SimDevice => {
            let spawned = match &opts.device {
                Some(_) => None,
                None => Some(SpawnedDevice::start(SIM_DEVICE_CHUNKS)?),
            };
            let dir = opts.device.as_deref().or(spawned.as_ref().map(|s| s.dir())).expect("a device folder");
            let mut dev = SimDeviceClient::open(dir)?;
            play(&mut dev, opts.loopback, steering, &frames, txq, opts.echo)?
        }
    };
    let wall = started.elapsed();
    let model_check = if opts.check_model && opts.backend != Backend::Model {
        let model = play(&mut ModelDevice::default(), opts.loopback, steering, &frames, txq, opts.echo)?;
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
        delivered: arrival_cycles(&outcome.received, outcome.delivered),
        steering: outcome.steering,
        queues: outcome.queues,
        sent_by: outcome.sent_by,
        transmitted: outcome.transmitted,
    })
}

/// Pairs each delivered frame with the cycle its copy began to arrive:
/// per queue, the delivered frames are the decided ones in order, less any
/// the NIC dropped.
fn arrival_cycles(received: &[Received], delivered: BTreeMap<u32, Vec<Delivered>>) -> BTreeMap<u32, Vec<(u64, Delivered)>> {
    delivered
        .into_iter()
        .map(|(q, frames)| {
            let mut decided = received.iter().filter(|r| r.decision.reason != Reason::FrameError && r.decision.queue == q);
            let stamped = frames
                .into_iter()
                .map(|d| (decided.find(|r| r.data == d.data).map_or(0, |r| r.cycle), d))
                .collect();
            (q, stamped)
        })
        .collect()
}

/// The capture of queue `q`'s frames in an output directory.
pub fn queue_capture(dir: &Path, queue: u32) -> PathBuf {
    dir.join(format!("rxq{queue}.pcap"))
}

/// Whether `name` is one of the files `queue_capture` names.
fn is_queue_capture(name: &str) -> bool {
    name.strip_prefix("rxq")
        .and_then(|r| r.strip_suffix(".pcap"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Writes `tx.pcap`, `stats.json` and, with steering, `rxq<N>.pcap` for
/// every queue that received a frame into `dir`. Queue captures an earlier
/// run left there are removed first, so every one present is this run's.
pub fn write_outputs(report: &SimReport, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let stale = std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in stale {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if entry.file_name().to_str().is_some_and(is_queue_capture) {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("cannot remove the earlier run's {}", entry.path().display()))?;
        }
    }
    let stamp = |cycle: u64| Duration::from_nanos(cycle * NS_PER_CYCLE);
    let frames: Vec<(Duration, &[u8])> =
        report.transmitted.iter().map(|f| (stamp(f.cycle), f.data.as_slice())).collect();
    capture::write_pcap(&dir.join("tx.pcap"), &frames)?;
    for (queue, frames) in &report.delivered {
        let frames: Vec<(Duration, &[u8])> = frames.iter().map(|(c, d)| (stamp(*c), d.data.as_slice())).collect();
        if !frames.is_empty() {
            capture::write_pcap(&queue_capture(dir, *queue), &frames)?;
        }
    }
    let sent: Vec<(u64, usize, u32)> = report
        .transmitted
        .iter()
        .zip(&report.sent_by)
        .filter_map(|(f, q)| q.map(|q| (f.cycle, f.data.len(), q)))
        .collect();
    match crate::rates::Rates::of(&sent) {
        Some(rates) => {
            rates.write_csv(&dir.join("rates.csv"))?;
            rates.draw_svg(&dir.join("rates.svg"))?;
        }
        None => {
            // No queue sent anything: an earlier run's plot would mislead.
            for stale in ["rates.csv", "rates.svg"] {
                match std::fs::remove_file(dir.join(stale)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(e).with_context(|| format!("cannot remove the earlier run's {stale}"))
                    }
                    _ => {}
                }
            }
        }
    }
    let stats = dir.join("stats.json");
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(&stats, json + "\n").with_context(|| format!("cannot write {}", stats.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_queue_capture;

    #[test]
    fn only_queue_captures_are_taken_for_stale_ones() {
        for name in ["rxq0.pcap", "rxq63.pcap", "rxq4095.pcap"] {
            assert!(is_queue_capture(name), "{name}");
        }
        for name in ["rxq.pcap", "rxqa.pcap", "rxq1.pcapng", "tx.pcap", "my-rxq1.pcap", "rxq1.pcap.bak"] {
            assert!(!is_queue_capture(name), "{name}");
        }
    }
}
