//! Time on the simulated device: its cycle counter, which the simulator
//! publishes in `sim/clock`. A driver that waits "100 cycles" must wait for
//! the simulator to run them, however long that takes in wall time, and
//! must notice a simulator that stopped rather than wait forever.

use super::shared_map::SharedMap;
use super::sim_dir::{self, SimDir};
use super::Waiter;
use anyhow::{bail, Result};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Wall time the clock may stand still before the simulator counts as
/// hung: it runs thousands of cycles a millisecond even when idle.
const STALL_LIMIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct SimClock {
    map: Rc<SharedMap>,
    /// What the device is called in messages: its folder, or for a
    /// process handed only the clock, the control process that granted it.
    name: String,
    /// How to start it again, where this process could.
    restart: Option<String>,
}

impl SimClock {
    pub fn open(root: &Path) -> Result<SimClock> {
        let dir = SimDir::new(root);
        let map = SharedMap::open(&dir.clock(), 0, sim_dir::CLOCK_BYTES)?;
        Ok(SimClock {
            map: Rc::new(map),
            name: format!("the simulated device at {}", root.display()),
            restart: Some(format!("start it again with `arsenic sim-device --dir {}`", root.display())),
        })
    }

    /// The clock of a device whose folder this process cannot open, from a
    /// descriptor the control process handed over; mapped read-only.
    /// `granted_by` is the control process's socket, for messages.
    pub fn from_file(file: &std::fs::File, granted_by: &Path) -> Result<SimClock> {
        let map = SharedMap::read_only(file, sim_dir::CLOCK_BYTES, "the device clock")?;
        let name = format!("the simulated device behind the control process at {}", granted_by.display());
        Ok(SimClock { map: Rc::new(map), name, restart: None })
    }

    fn state(&self) -> u32 {
        self.map.word(sim_dir::CLOCK_STATE).load(Ordering::Acquire)
    }

    /// Fails unless the simulator is running.
    pub fn check_running(&self) -> Result<()> {
        match self.state() {
            sim_dir::STATE_RUNNING => Ok(()),
            sim_dir::STATE_STARTING => bail!("{} is still starting", self.name),
            _ => bail!(
                "{} has stopped (it was process {}){}",
                self.name,
                self.map.word(sim_dir::CLOCK_PID).load(Ordering::Acquire),
                self.restart.as_ref().map(|r| format!("; {r}")).unwrap_or_default()
            ),
        }
    }
}

impl Waiter for SimClock {
    fn now(&self) -> u64 {
        self.map.word64(sim_dir::CLOCK_CYCLE).load(Ordering::Acquire)
    }

    fn advance(&self, cycles: u64) -> Result<()> {
        let target = self.now().saturating_add(cycles);
        let (mut seen, mut since) = (self.now(), Instant::now());
        let mut spins = 0u32;
        while self.now() < target {
            self.check_running()?;
            let now = self.now();
            if now != seen {
                (seen, since) = (now, Instant::now());
            } else if since.elapsed() > STALL_LIMIT {
                bail!("{} has not advanced for {STALL_LIMIT:?}", self.name);
            }
            // Spin briefly (a scan is a fraction of a millisecond away),
            // then sleep, so a long wait leaves the core to the simulator.
            spins += 1;
            if spins < 64 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        Ok(())
    }
}
