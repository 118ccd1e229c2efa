//! Timing sign-off: the record of a routed build that met every clock,
//! committed beside the gateware, and the check that the gateware is still
//! the one it signed off.
//!
//! A full build of the Versa's bitstream takes 40 to 80 minutes on two
//! cores, longer than CI's whole budget. nextpnr is deterministic for the
//! same netlist, constraints, options and tool version, so a passing build
//! is valid for exactly those: the record keeps their hashes and versions
//! (a `Fingerprint`). `make test` checks that the fingerprint of today's
//! gateware is the recorded one, in seconds; when it is not, it runs the
//! full build, which fails on a missed clock as any build does, and records
//! the new sign-off on a pass. The recorded bitstream's hash lets anyone
//! rebuild and compare (`arsenic signoff --rebuild`).

use super::{build, command_lines, tool_versions, BoardReport, BuildInputs, BuildOptions, Router};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Everything that decides what nextpnr routes, and so whether it meets
/// timing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// SHA-256 of the Verilog top the flow synthesises.
    pub top_v_sha256: String,
    /// SHA-256 of the constraints as nextpnr reads them (pins and clocks).
    pub lpf_sha256: String,
    /// The three tools' command lines, with the seed, router and device.
    pub commands: Vec<String>,
    /// Each tool's own version line.
    pub tools: Vec<String>,
}

/// A build that met timing, and what it was built from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignOff {
    /// The options it was built with: the check and a rebuild use these.
    pub options: BuildOptions,
    pub fingerprint: Fingerprint,
    /// SHA-256 of the bitstream it wrote.
    pub bitstream_sha256: String,
    pub report: BoardReport,
}

/// What the check found.
#[derive(Debug)]
pub enum Status {
    /// The record is for these inputs and met every clock.
    Current(Box<SignOff>),
    /// No record, or one for other inputs: each line says what differs.
    Stale(Vec<String>),
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a board's record is committed: `signoff/<board>.json` in the
/// repository, found from where the crate was built so it works from any
/// directory.
pub fn record_path(board: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).join("signoff").join(format!("{board}.json"))
}

/// The fingerprint of a build of `inputs` with `opts` by the installed tools.
pub fn fingerprint(inputs: &BuildInputs, opts: &BuildOptions) -> Result<Fingerprint> {
    let lpf = super::lpf::with_clocks(&inputs.lpf, &inputs.clocks);
    let tools = tool_versions(inputs, opts)?;
    Ok(Fingerprint {
        top_v_sha256: sha256_hex(inputs.verilog.as_bytes()),
        lpf_sha256: sha256_hex(lpf.as_bytes()),
        commands: command_lines(inputs, opts),
        tools,
    })
}

/// What differs between a recorded fingerprint and today's, in words.
pub fn differences(recorded: &Fingerprint, now: &Fingerprint) -> Vec<String> {
    let mut d = vec![];
    if recorded.top_v_sha256 != now.top_v_sha256 {
        d.push(format!("the Verilog top changed (sha256 {} -> {})", short(&recorded.top_v_sha256), short(&now.top_v_sha256)));
    }
    if recorded.lpf_sha256 != now.lpf_sha256 {
        d.push(format!("the constraints changed (sha256 {} -> {})", short(&recorded.lpf_sha256), short(&now.lpf_sha256)));
    }
    for (was, is) in recorded.commands.iter().zip(&now.commands) {
        if was != is {
            d.push(format!("a command changed: '{was}' -> '{is}'"));
        }
    }
    if recorded.commands.len() != now.commands.len() {
        d.push(format!("the flow has {} steps, the record {}", now.commands.len(), recorded.commands.len()));
    }
    for (was, is) in recorded.tools.iter().zip(&now.tools) {
        if was != is {
            d.push(format!("a tool changed: '{was}' -> '{is}'"));
        }
    }
    if recorded.tools.len() != now.tools.len() {
        d.push(format!("the flow runs {} tools, the record {}", now.tools.len(), recorded.tools.len()));
    }
    d
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// The record at `path`, if there is one; a file that is there but is not
/// a record is an error, not a missing sign-off.
pub fn load(path: &Path) -> Result<Option<SignOff>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let rec = serde_json::from_str(&text).with_context(|| format!("{} is not a sign-off record", path.display()))?;
    Ok(Some(rec))
}

/// Compares the record at `path` with a build of `inputs` now, with the
/// options it records (a seed that met timing is as good as any other).
/// A record that matches but does not meet every clock (written by hand:
/// the flow records only passing builds) is refused.
pub fn check(inputs: &BuildInputs, path: &Path) -> Result<Status> {
    let Some(rec) = load(path)? else {
        return Ok(Status::Stale(vec![format!("there is no sign-off record at {}", path.display())]));
    };
    let now = fingerprint(inputs, &rec.options)?;
    if rec.report.board != inputs.name {
        bail!("{} records board {}, not {}", path.display(), rec.report.board, inputs.name);
    }
    let diff = differences(&rec.fingerprint, &now);
    if !diff.is_empty() {
        return Ok(Status::Stale(diff));
    }
    super::timing_gate(&rec.report).with_context(|| format!("{} records a build that missed timing", path.display()))?;
    for want in &inputs.clocks {
        if !rec.report.clocks.iter().any(|c| c.net == want.net) && !rec.report.untimed_clocks.contains(&want.net) {
            bail!("{} has no figure for clock {}", path.display(), want.net);
        }
    }
    Ok(Status::Current(Box::new(rec)))
}

/// Builds into `out_dir` (failing on a missed clock, as `build` does) and,
/// on a pass, writes the sign-off record to `path`.
pub fn build_and_record(inputs: &BuildInputs, out_dir: &Path, opts: &BuildOptions, path: &Path) -> Result<SignOff> {
    let fingerprint = fingerprint(inputs, opts)?;
    let report = build(inputs, out_dir, opts)?;
    let bit = report.bitstream.as_ref().context("the build met timing but wrote no bitstream")?;
    let bytes = std::fs::read(bit).with_context(|| format!("cannot read {}", bit.display()))?;
    let rec = SignOff { options: *opts, fingerprint, bitstream_sha256: sha256_hex(&bytes), report };
    save(&rec, path)?;
    Ok(rec)
}

/// Records a build already in `dir` (made by `build`, with these tools) as
/// the sign-off for `inputs`, without building again: its `top.v` and
/// `board.lpf` must be today's, each log must start with the command today's
/// flow runs (which also tells the seed, router and mapping it used), and
/// its report must meet every clock.
pub fn adopt(inputs: &BuildInputs, dir: &Path, path: &Path) -> Result<SignOff> {
    let file = |f: &str| dir.join(f);
    let text = |f: &str| std::fs::read_to_string(file(f)).with_context(|| format!("cannot read {}", file(f).display()));
    let report: BoardReport = serde_json::from_str(&text("report.json")?)
        .with_context(|| format!("{} is not a build report", file("report.json").display()))?;
    if report.board != inputs.name {
        bail!("{} is a build of {}, not {}", dir.display(), report.board, inputs.name);
    }
    super::timing_gate(&report).with_context(|| format!("the build in {} missed timing", dir.display()))?;
    let first_lines: Vec<String> = ["yosys.log", "nextpnr.log", "ecppack.log"]
        .iter()
        .map(|log| Ok(text(log)?.lines().next().unwrap_or("").trim_start_matches("$ ").to_string()))
        .collect::<Result<_>>()?;
    let opts = [true, false]
        .into_iter()
        .flat_map(|abc9| [Router::Router1, Router::Router2].map(|router| BuildOptions { seed: report.seed, abc9, router }))
        .find(|o| command_lines(inputs, o) == first_lines)
        .with_context(|| format!("the logs in {} do not start with the commands of today's flow for seed {}", dir.display(), report.seed))?;
    let fingerprint = fingerprint(inputs, &opts)?;
    for (f, want) in [("top.v", &fingerprint.top_v_sha256), ("board.lpf", &fingerprint.lpf_sha256)] {
        if sha256_hex(text(f)?.as_bytes()) != *want {
            bail!("{} is not what today's gateware gives for {}", file(f).display(), inputs.name);
        }
    }
    if !text("yosys.log")?.contains(&fingerprint.tools[0]) {
        bail!("{} was not made by {}", file("yosys.log").display(), fingerprint.tools[0]);
    }
    let bit = file(&format!("{}.bit", inputs.name));
    let bytes = std::fs::read(&bit).with_context(|| format!("cannot read {}", bit.display()))?;
    let rec = SignOff { options: opts, fingerprint, bitstream_sha256: sha256_hex(&bytes), report };
    save(&rec, path)?;
    Ok(rec)
}

pub fn save(rec: &SignOff, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(rec)? + "\n";
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// One line per clock of a record, for the check's output.
pub fn summary(rec: &SignOff) -> String {
    let clocks: Vec<String> = rec
        .report
        .clocks
        .iter()
        .map(|c| format!("{} {:.1} MHz (needs {:.1})", c.net, c.fmax_mhz, c.constraint_mhz))
        .collect();
    format!(
        "{}: signed off for Verilog top {} with seed {}: {}; {} LUT4s, {} block RAMs; bitstream sha256 {}",
        rec.report.board,
        short(&rec.fingerprint.top_v_sha256),
        rec.report.seed,
        clocks.join(", "),
        rec.report.luts,
        rec.report.brams,
        short(&rec.bitstream_sha256)
    )
}

/// How `sign_off` treats a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Fail if the record is not for today's inputs.
    CheckOnly,
    /// Build and record when the record is not for today's inputs (CI).
    BuildIfStale,
    /// Build and record whatever the record says, and say whether the
    /// bitstream came out the same as the recorded one.
    Rebuild,
}

/// `arsenic signoff`: the record at `path` for `inputs`, checked, and
/// built into `out_dir` as `mode` says. Prints what it found and did.
pub fn sign_off(inputs: &BuildInputs, out_dir: &Path, path: &Path, mode: Mode) -> Result<SignOff> {
    let old = load(path)?;
    let opts = old.as_ref().map_or_else(BuildOptions::default, |r| r.options);
    if mode != Mode::Rebuild {
        match check(inputs, path)? {
            Status::Current(rec) => {
                println!("{}", summary(&rec));
                return Ok(*rec);
            }
            Status::Stale(why) if mode == Mode::CheckOnly => {
                bail!(
                    "{} is not signed off for today's gateware: {}; `make bitstream BOARD={}` builds it and writes {}",
                    inputs.name,
                    why.join("; "),
                    inputs.name,
                    path.display()
                );
            }
            Status::Stale(why) => {
                println!("{}: not signed off: {}", inputs.name, why.join("; "));
                println!("{}: building to sign off (40 to 80 minutes on two cores for the Versa's NIC)", inputs.name);
            }
        }
    }
    let rec = build_and_record(inputs, out_dir, &opts, path)?;
    println!("{}", summary(&rec));
    println!("sign-off  {} (commit it with the gateware)", path.display());
    if let Some(old) = old.filter(|o| mode == Mode::Rebuild && o.fingerprint == rec.fingerprint) {
        if old.bitstream_sha256 != rec.bitstream_sha256 {
            bail!(
                "the same inputs gave a different bitstream (sha256 {} recorded, {} now): the flow is not reproducible here",
                short(&old.bitstream_sha256),
                short(&rec.bitstream_sha256)
            );
        }
        println!("{}: reproduced the recorded bitstream byte for byte", inputs.name);
    }
    Ok(rec)
}
