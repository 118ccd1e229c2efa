//! Transmit shaping as a user asks for it: a guaranteed rate and a ceiling
//! per transmit queue, in bits per second of wire time, and a weight for
//! sharing what is left. `arsenic_hdl::shaping` holds the rules the NIC
//! follows; this module converts to and from its register units and
//! refuses settings the NIC could not honour.
//!
//! `measure` runs backlogged queues on any backend and measures what
//! reached the wire: the figures the tests hold to the bounds and
//! the benchmark reports.

pub mod measure;

use crate::control::Nic;
use crate::device::Device;
use anyhow::{bail, Result};
use arsenic_hdl::regmap;
use arsenic_hdl::shaping::{
    bps_from_rate, rate_from_bps, ShapeSettings, LINE_RATE, MAX_BURST_BYTES, MIN_BURST_BYTES, SHAPE_WORDS,
};

/// The slowest rate accepted: below it a rate unit (about 60 b/s) is more
/// than 0.006% of the rate and a frame's wait spans seconds.
pub const MIN_RATE_BPS: u64 = 1_000_000;

/// A token bucket: wire bits per second (preamble, FCS and gap included,
/// so line rate is the whole link) and how many wire bytes may leave at
/// once after an idle spell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub bits_per_s: u64,
    pub burst_bytes: u32,
}

/// One transmit queue's shaping. `guarantee` is served before any queue
/// borrows; `ceiling` caps the queue even when the link is idle; spare
/// bandwidth is shared in proportion to `weight`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shaping {
    pub guarantee: Option<Rate>,
    pub ceiling: Option<Rate>,
    pub weight: u8,
}

impl Default for Shaping {
    /// Unshaped: no guarantee, no ceiling, an equal share.
    fn default() -> Self {
        Self { guarantee: None, ceiling: None, weight: 1 }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{:.3} Mb/s (burst {} bytes)", self.bits_per_s as f64 / 1e6, self.burst_bytes)
    }
}

impl std::fmt::Display for Shaping {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self.guarantee {
            Some(g) => write!(f, "guarantee {g}")?,
            None => write!(f, "no guarantee")?,
        }
        match self.ceiling {
            Some(c) => write!(f, ", ceiling {c}")?,
            None => write!(f, ", no ceiling")?,
        }
        write!(f, ", weight {}", self.weight)
    }
}

/// Line rate in bits per second for a NIC clocked at `clock_hz`: one wire
/// byte per cycle.
pub fn line_rate_bps(clock_hz: u32) -> u64 {
    8 * clock_hz as u64
}

fn check_rate(name: &str, r: &Rate, clock_hz: u32) -> Result<()> {
    let line = line_rate_bps(clock_hz);
    if !(MIN_RATE_BPS..=line).contains(&r.bits_per_s) {
        bail!("{name} rate must be {MIN_RATE_BPS}..={line} b/s (1 Mb/s to line rate), got {}", r.bits_per_s);
    }
    if !(MIN_BURST_BYTES..=MAX_BURST_BYTES).contains(&r.burst_bytes) {
        bail!(
            "{name} burst must be {MIN_BURST_BYTES}..={MAX_BURST_BYTES} bytes (two maximum frames to 4 MiB), got {}",
            r.burst_bytes
        );
    }
    Ok(())
}

impl Shaping {
    /// Checks what a single queue's settings can be checked for alone.
    pub fn validate(&self, clock_hz: u32) -> Result<()> {
        if let Some(g) = &self.guarantee {
            check_rate("guaranteed", g, clock_hz)?;
        }
        if let Some(c) = &self.ceiling {
            check_rate("ceiling", c, clock_hz)?;
        }
        if let (Some(g), Some(c)) = (&self.guarantee, &self.ceiling) {
            if c.bits_per_s < g.bits_per_s {
                bail!("the ceiling ({} b/s) is below the guarantee ({} b/s)", c.bits_per_s, g.bits_per_s);
            }
        }
        if self.weight == 0 {
            bail!("weight must be 1..=255, got 0");
        }
        Ok(())
    }

    /// The register form at `clock_hz`, after validation.
    pub fn to_settings(&self, clock_hz: u32) -> Result<ShapeSettings> {
        self.validate(clock_hz)?;
        // Validated rates are at most line rate, LINE_RATE units, so the
        // conversion fits a u32.
        let units = |r: &Option<Rate>| r.map_or((0, 0), |r| (rate_from_bps(r.bits_per_s, clock_hz) as u32, r.burst_bytes));
        let (g_rate, g_burst) = units(&self.guarantee);
        let (c_rate, c_burst) = units(&self.ceiling);
        Ok(ShapeSettings { g_rate, g_burst, c_rate, c_burst, weight: self.weight })
    }

    /// What `s` means at `clock_hz`: rates are the quantised ones the NIC
    /// applies, rounded to the bit per second.
    pub fn from_settings(s: &ShapeSettings, clock_hz: u32) -> Shaping {
        let rate = |units: u32, burst: u32| {
            (units != 0).then(|| Rate { bits_per_s: bps_from_rate(units, clock_hz).round() as u64, burst_bytes: burst })
        };
        Shaping {
            guarantee: rate(s.g_rate, s.g_burst),
            ceiling: rate(s.c_rate, s.c_burst),
            // The NIC counts a zero weight as 1.
            weight: s.weight.max(1),
        }
    }
}

impl Nic {
    /// Sets queue `queue`'s shaping. It applies at once, to frames already
    /// posted too; the queue need not exist. Fails, changing nothing, if
    /// the guarantees of all queues together would exceed line rate.
    pub fn set_shaping(&mut self, device: &dyn Device, queue: u32, s: &Shaping) -> Result<()> {
        self.check_shaping_queue(queue)?;
        let clock_hz = self.info.clock_hz;
        let settings = s.to_settings(clock_hz)?;
        let mut others = 0u64;
        for q in (0..self.info.queues).filter(|&q| q != queue) {
            others += self.read_shape(device, q)?.g_rate as u64;
        }
        if others + settings.g_rate as u64 > LINE_RATE as u64 {
            let free = line_rate_bps(clock_hz).saturating_sub(bps_from_rate(others as u32, clock_hz).round() as u64);
            bail!(
                "queue {queue}: a guarantee of {} b/s would take the guarantees over line rate; {free} b/s are left",
                s.guarantee.map_or(0, |g| g.bits_per_s)
            );
        }
        for (i, w) in settings.words().iter().enumerate() {
            self.control().write32(regmap::SHAPE + 4 * i as u32, *w)?;
        }
        self.control().command(regmap::SHAPE_CMD, regmap::SHAPE_CMD_WRITE | queue)
    }

    /// Queue `queue`'s shaping as the NIC holds it.
    pub fn shaping(&self, device: &dyn Device, queue: u32) -> Result<Shaping> {
        self.check_shaping_queue(queue)?;
        Ok(Shaping::from_settings(&self.read_shape(device, queue)?, self.info.clock_hz))
    }

    fn check_shaping_queue(&self, queue: u32) -> Result<()> {
        if queue >= self.info.queues {
            bail!("queue {queue} does not exist: the device has queues 0..={}", self.info.queues.saturating_sub(1));
        }
        Ok(())
    }

    /// Loads the NIC's copy of a queue's shaping into the staging words
    /// and reads them: the hardware's state, not what this driver wrote,
    /// so settings made by an earlier driver instance count too.
    fn read_shape(&self, device: &dyn Device, queue: u32) -> Result<ShapeSettings> {
        self.control().command(regmap::SHAPE_CMD, regmap::SHAPE_CMD_READ | queue)?;
        // The staging words are readable the cycle after the command.
        device.waiter().advance(1)?;
        let mut words = [0u32; SHAPE_WORDS];
        for (i, w) in words.iter_mut().enumerate() {
            *w = self.control().read32(regmap::SHAPE + 4 * i as u32)?;
        }
        Ok(ShapeSettings::from_words(&words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOCK: u32 = 125_000_000;

    fn rate(bits_per_s: u64) -> Option<Rate> {
        Some(Rate { bits_per_s, burst_bytes: 8192 })
    }

    #[test]
    fn conversion_round_trips_to_the_quantised_rate() {
        let s = Shaping { guarantee: rate(250_000_000), ceiling: rate(1_000_000_000), weight: 3 };
        let w = s.to_settings(CLOCK).unwrap();
        assert_eq!((w.c_rate, w.c_burst, w.weight), (LINE_RATE, 8192, 3));
        let back = Shaping::from_settings(&w, CLOCK);
        assert_eq!(back, s, "250 Mb/s and 1 Gb/s are exact in rate units");
        let odd = Shaping { ceiling: rate(1_234_567), ..Default::default() };
        let back = Shaping::from_settings(&odd.to_settings(CLOCK).unwrap(), CLOCK);
        let got = back.ceiling.unwrap().bits_per_s;
        assert!(got != 1_234_567 && got.abs_diff(1_234_567) < 60, "quantised to {got}");
        assert_eq!(back.to_settings(CLOCK).unwrap(), odd.to_settings(CLOCK).unwrap());
        assert_eq!(Shaping::from_settings(&ShapeSettings::default(), CLOCK), Shaping::default());
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let err = |s: Shaping| s.validate(CLOCK).unwrap_err().to_string();
        assert!(err(Shaping { ceiling: rate(999_999), ..Default::default() }).contains("1000000..=1000000000"));
        assert!(err(Shaping { guarantee: rate(1_000_000_001), ..Default::default() }).contains("guaranteed rate"));
        let shallow = Some(Rate { bits_per_s: 5_000_000, burst_bytes: MIN_BURST_BYTES - 1 });
        assert!(err(Shaping { ceiling: shallow, ..Default::default() }).contains("burst"));
        let deep = Some(Rate { bits_per_s: 5_000_000, burst_bytes: MAX_BURST_BYTES + 1 });
        assert!(err(Shaping { guarantee: deep, ..Default::default() }).contains("burst"));
        assert!(err(Shaping { weight: 0, ..Default::default() }).contains("weight"));
        assert!(err(Shaping { guarantee: rate(20_000_000), ceiling: rate(10_000_000), weight: 1 }).contains("below"));
        assert!(Shaping { guarantee: rate(10_000_000), ceiling: rate(10_000_000), weight: 255 }.validate(CLOCK).is_ok());
    }
}
