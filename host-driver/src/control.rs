//! The privileged control plane: find the NIC behind a device, check it is
//! one this driver understands, and drive the control page: control bits,
//! counters, and the demultiplexer's filters and default queue.

use crate::demux::filters::{Filter, Target};
use crate::demux::steering::{FilterId, InstalledFilter, Steering};
use crate::device::{Device, Page, RegisterPage, Waiter};
use anyhow::{bail, Context, Result};
use arsenic_hdl::regmap::{self, Counter};
use serde::Serialize;

/// What the identification registers say about the device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    pub backend: String,
    pub version: String,
    pub queues: u32,
    pub exact_filters: u32,
    pub wildcard_filters: u32,
    pub datapath_bytes: u32,
    pub min_frame_bytes: u32,
    pub max_frame_bytes: u32,
    pub clock_hz: u32,
}

/// The statistics counters in register order, serialised as a JSON object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters(pub Vec<(&'static str, u64)>);

impl Counters {
    pub fn get(&self, name: &str) -> Option<u64> {
        self.0.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = &(&'static str, u64)> {
        self.0.iter()
    }
}

impl Serialize for Counters {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

pub struct Nic {
    control: Box<dyn RegisterPage>,
    /// Device time, for waiting on the NIC by cycles rather than by reads.
    waiter: Box<dyn Waiter>,
    pub info: DeviceInfo,
    steering: Steering,
    /// Queues committed enabled by this driver.
    live: Vec<bool>,
}

/// The major version this driver speaks; minor versions only add.
const SUPPORTED_MAJOR: u32 = regmap::VERSION_VALUE >> 16;

impl Nic {
    /// Maps the control page and checks the identification registers.
    pub fn open(device: &dyn Device) -> Result<Nic> {
        let control = device.map_page(Page::Control).context("mapping the control page")?;
        let magic = control.read32(regmap::MAGIC).context("reading the device's magic number")?;
        if magic != regmap::MAGIC_VALUE {
            bail!(
                "no Arsenic NIC on the {} backend: magic number 0x{magic:08x}, expected 0x{:08x}",
                device.backend(),
                regmap::MAGIC_VALUE
            );
        }
        let version = control.read32(regmap::VERSION)?;
        if version >> 16 != SUPPORTED_MAJOR {
            bail!(
                "the NIC speaks register-map version {}.{}, this driver only {}.x",
                version >> 16,
                version & 0xFFFF,
                SUPPORTED_MAJOR
            );
        }
        let info = DeviceInfo {
            backend: device.backend().to_string(),
            version: format!("{}.{}", version >> 16, version & 0xFFFF),
            queues: control.read32(regmap::QUEUES)?,
            exact_filters: control.read32(regmap::EXACT_FILTERS)?,
            wildcard_filters: control.read32(regmap::WILDCARD_FILTERS)?,
            datapath_bytes: control.read32(regmap::DATAPATH_BYTES)?,
            min_frame_bytes: control.read32(regmap::MIN_FRAME)?,
            max_frame_bytes: control.read32(regmap::MAX_FRAME)?,
            clock_hz: control.read32(regmap::CLOCK_HZ)?,
        };
        let steering = Steering::new(&info)?;
        let live = vec![false; info.queues as usize];
        Ok(Nic { control, waiter: device.waiter(), info, steering, live })
    }

    pub(crate) fn control(&self) -> &dyn RegisterPage {
        self.control.as_ref()
    }

    pub(crate) fn waiter(&self) -> &dyn Waiter {
        self.waiter.as_ref()
    }

    pub(crate) fn queue_live(&self, queue: u32) -> bool {
        self.live.get(queue as usize).copied().unwrap_or(false)
    }

    pub(crate) fn set_queue_live(&mut self, queue: u32, live: bool) {
        if let Some(l) = self.live.get_mut(queue as usize) {
            *l = live;
        }
    }

    pub fn set_loopback(&self, on: bool) -> Result<()> {
        let control = self.control.read32(regmap::CONTROL)?;
        let control = if on {
            control | regmap::CONTROL_LOOPBACK
        } else {
            control & !regmap::CONTROL_LOOPBACK
        };
        self.control.write32(regmap::CONTROL, control)
    }

    pub fn loopback(&self) -> Result<bool> {
        Ok(self.control.read32(regmap::CONTROL)? & regmap::CONTROL_LOOPBACK != 0)
    }

    pub fn counter(&self, c: Counter) -> Result<u64> {
        // The low read latches the high word, so the pair is one value.
        let lo = self.control.read32(c.offset())?;
        let hi = self.control.read32(c.offset() + 4)?;
        Ok((hi as u64) << 32 | lo as u64)
    }

    pub fn counters(&self) -> Result<Counters> {
        let values: Result<Vec<_>> = Counter::ALL.iter().map(|&c| Ok((c.name(), self.counter(c)?))).collect();
        Ok(Counters(values?))
    }

    /// Steers the frames `filter` matches to `target`; returns the id their
    /// decisions will report.
    pub fn install_filter(&mut self, filter: &Filter, target: Target) -> Result<FilterId> {
        self.steering.install(self.control.as_ref(), filter, target)
    }

    pub fn remove_filter(&mut self, id: FilterId) -> Result<()> {
        self.steering.remove(self.control.as_ref(), id)
    }

    pub fn list_filters(&self) -> Vec<InstalledFilter> {
        self.steering.list()
    }

    /// The queue for misses, fragments and malformed frames.
    pub fn set_default_queue(&self, queue: u32) -> Result<()> {
        if queue >= self.info.queues {
            let last = self.info.queues.saturating_sub(1);
            bail!("default queue {queue} does not exist: the device has queues 0..={last}");
        }
        self.control.write32(regmap::DEFAULT_QUEUE, queue)
    }

    pub fn default_queue(&self) -> Result<u32> {
        Ok(self.control.read32(regmap::DEFAULT_QUEUE)? & DEFAULT_QUEUE_MASK)
    }

    /// Sets the RSS secret key that spreads a filter's flows over its
    /// queue group; frames that start after the last word is written use
    /// it. (A frame already arriving may hash with a mixture: write the key
    /// before installing the filters that spread.)
    pub fn set_rss_key(&self, key: &[u8; 40]) -> Result<()> {
        for (i, w) in regmap::rss_key_words(key).iter().enumerate() {
            self.control.write32(regmap::RSS_KEY + 4 * i as u32, *w)?;
        }
        Ok(())
    }

    pub fn rss_key(&self) -> Result<[u8; 40]> {
        let mut key = [0u8; 40];
        for i in 0..regmap::RSS_KEY_WORDS as usize {
            let w = self.control.read32(regmap::RSS_KEY + 4 * i as u32)?;
            key[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
        }
        Ok(key)
    }
}

/// The bits of DEFAULT_QUEUE the NIC keeps: a gateware queue number.
const DEFAULT_QUEUE_MASK: u32 = (1 << arsenic_hdl::params::QUEUE_BITS) - 1;
