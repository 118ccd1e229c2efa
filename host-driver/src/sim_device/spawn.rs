//! Starts `arsenic sim-device` as a child process in a folder of its own
//! and stops it again: what `arsenic sim --backend sim-device`, the tests
//! and the benchmark use when no device is running already.

use crate::device::shared_map::SharedMap;
use crate::device::sim_dir::{self, SimDir};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long the device may take to build its folder and start its clock.
const START_LIMIT: Duration = Duration::from_secs(60);

pub struct SpawnedDevice {
    child: Child,
    dir: PathBuf,
}

/// The `arsenic` binary: `ARSENIC_EXE` if set, this process if it is
/// `arsenic`, else the one beside it or one folder up (where cargo puts
/// it for integration tests and benchmarks).
pub fn arsenic_exe() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("ARSENIC_EXE") {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe().context("finding this program's path")?;
    if me.file_name().is_some_and(|n| n == "arsenic") {
        return Ok(me);
    }
    let dir = me.parent().map(Path::to_path_buf).unwrap_or_default();
    for candidate in [dir.join("arsenic"), dir.join("../arsenic")] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!("cannot find the `arsenic` program beside {}; set ARSENIC_EXE to it", me.display())
}

impl SpawnedDevice {
    /// Starts a device with `chunks` chunks of memory in a new folder under
    /// /dev/shm (or the temporary folder where there is none) and waits
    /// for its clock to run.
    pub fn start(chunks: usize) -> Result<SpawnedDevice> {
        static SERIAL: AtomicU32 = AtomicU32::new(0);
        let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let dir = base.join(format!("arsenic-sim-{}-{}", std::process::id(), SERIAL.fetch_add(1, Ordering::Relaxed)));
        let exe = arsenic_exe()?;
        let child = Command::new(&exe)
            .arg("sim-device")
            .arg("--dir")
            .arg(&dir)
            .args(["--chunks", &chunks.to_string(), "--die-with-parent"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {} sim-device", exe.display()))?;
        let mut dev = SpawnedDevice { child, dir };
        dev.wait_running()?;
        Ok(dev)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_running(&mut self) -> Result<()> {
        let started = Instant::now();
        let clock = SimDir::new(&self.dir).clock();
        loop {
            if let Some(status) = self.child.try_wait()? {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                bail!("the simulated device exited ({status}) before it ran: {}", err.trim());
            }
            if let Ok(map) = SharedMap::open(&clock, 0, sim_dir::CLOCK_BYTES) {
                if map.word(sim_dir::CLOCK_STATE).load(Ordering::Acquire) == sim_dir::STATE_RUNNING {
                    return Ok(());
                }
            }
            if started.elapsed() > START_LIMIT {
                bail!("the simulated device did not start within {START_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SpawnedDevice {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
