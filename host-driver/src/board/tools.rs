//! The open tools the flow runs: where they are, and one step of the flow,
//! run in the build directory with everything it prints kept in a log.

use super::progress::StepProgress;
use anyhow::{bail, Context, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The repository's `.venv/bin`, where scripts/setup.sh installs the
/// YoWASP tools. Found from where the crate was built, so the flow works
/// from any directory and in `cargo test`.
pub fn venv_bin() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).join(".venv").join("bin")
}

/// A program on PATH, if there is one.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// A YoWASP tool: the repository's `.venv` first (the version setup.sh
/// pins), then PATH.
pub fn find(name: &str) -> Result<PathBuf> {
    let venv = venv_bin().join(name);
    if venv.is_file() {
        return Ok(venv);
    }
    if let Some(p) = on_path(name) {
        return Ok(p);
    }
    bail!("{name} is not installed (not in {} nor on PATH): run scripts/setup.sh", venv_bin().display())
}

/// One step of the flow: a tool, its arguments (paths relative to the
/// build directory), and the log its output goes to.
pub struct Step {
    /// What the step does, for the progress line and errors.
    pub what: &'static str,
    pub tool: &'static str,
    pub args: Vec<String>,
    /// File name of the log in the build directory.
    pub log: &'static str,
    /// A file the step must leave behind: a tool that dies without saying
    /// so can still exit 0.
    pub output: String,
    /// Appended to the error when the step fails, if not empty.
    pub hint: &'static str,
    /// The flag that makes the tool print its version.
    pub version_flag: &'static str,
}

impl Step {
    /// The command as a shell would take it, for the log and the report.
    pub fn command_line(&self) -> String {
        std::iter::once(self.tool.to_string())
            .chain(self.args.iter().map(|a| shell_quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The tool's version: the first line it prints for `version_flag`.
    pub fn version(&self) -> Result<String> {
        let tool = find(self.tool)?;
        let out = Command::new(&tool)
            .arg(self.version_flag)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", tool.display()))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        match text.lines().map(str::trim).find(|l| !l.is_empty()) {
            Some(line) if out.status.success() => Ok(line.to_string()),
            _ => bail!("{} {} printed no version ({})", self.tool, self.version_flag, out.status),
        }
    }

    /// Runs the step in `dir`, the tool's stdout and stderr both into the
    /// log (whose first line is the command). On failure, shows the log's
    /// last lines and names it, since the tools say what went wrong there.
    pub fn run(&self, dir: &Path) -> Result<Duration> {
        let tool = find(self.tool)?;
        let log_path = dir.join(self.log);
        let mut log = File::create(&log_path).with_context(|| format!("cannot write {}", log_path.display()))?;
        writeln!(log, "$ {}", self.command_line())?;
        let progress = StepProgress::start(self.what);
        let status = Command::new(&tool)
            .args(&self.args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .with_context(|| format!("cannot run {}", tool.display()));
        let elapsed = progress.finish();
        let status = status?;
        let failure = if !status.success() {
            format!("{} {status}", self.tool)
        } else if std::fs::metadata(dir.join(&self.output)).map_or(true, |m| m.len() == 0) {
            format!("{} exited cleanly but wrote no {}", self.tool, self.output)
        } else {
            return Ok(elapsed);
        };
        show_tail(&log_path, 20);
        let hint = if self.hint.is_empty() { String::new() } else { format!("; {}", self.hint) };
        bail!("{} failed ({failure}){hint}; its log: {}", self.what, log_path.display())
    }
}

/// The last `n` lines of a log, on stderr.
fn show_tail(path: &Path, n: usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    eprintln!("--- last lines of {} ---", path.display());
    for line in &lines[lines.len().saturating_sub(n)..] {
        eprintln!("{line}");
    }
    eprintln!("---");
}

/// Quotes an argument only when a shell would need it.
pub fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:+,@%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}
