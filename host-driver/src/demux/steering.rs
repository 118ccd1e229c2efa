//! The control plane's view of the demultiplexer: the installed filters,
//! their ids, and the two tables they occupy, written to the device through
//! the FILTER_* registers of the control page.
//!
//! The shadow tables start empty, as the hardware's are after reset: this
//! must be the only writer of the tables since then.

use super::filters::{Filter, Target};
use super::table::{CuckooTable, SlotWriter};
use crate::control::DeviceInfo;
use crate::device::RegisterPage;
use anyhow::{anyhow, bail, Context, Result};
use arsenic_hdl::filter::{Action, Key, Table, KEY_WORDS};
use arsenic_hdl::regmap;
use std::collections::BTreeMap;

/// Reported with every decision a filter makes (`Decision::filter_id`).
/// 0 is never an id: it is what decisions without a hit report.
pub type FilterId = u16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledFilter {
    pub id: FilterId,
    pub filter: Filter,
    pub target: Target,
}

struct Installed {
    filter: Filter,
    target: Target,
    keys: Vec<Key>,
}

pub struct Steering {
    exact: CuckooTable,
    wildcard: CuckooTable,
    installed: BTreeMap<FilterId, Installed>,
    /// Where the search for the next free id starts, so a removed filter's
    /// id is not handed out again at once and a late decision naming it is
    /// not mistaken for the new filter's.
    next_id: FilterId,
    queues: u32,
}

/// Slot writes through the control page's staging registers.
struct PageWriter<'a> {
    page: &'a dyn RegisterPage,
    wildcard: bool,
}

impl SlotWriter for PageWriter<'_> {
    fn write_slot(&mut self, slot: u32, entry: Option<(Key, u32)>) -> Result<()> {
        let clear = entry.is_none();
        if let Some((key, value)) = entry {
            for (i, word) in key.0.iter().enumerate() {
                self.page.write32(regmap::FILTER_KEY + 4 * i as u32, *word)?;
            }
            self.page.write32(regmap::FILTER_VALUE, value)?;
        }
        // The command moves the staged entry into the slot in one cycle, so
        // a lookup never sees half of it.
        self.page.command(regmap::FILTER_CMD, regmap::filter_cmd(self.wildcard, slot, clear))
    }
}

const _: () = assert!(KEY_WORDS == 10 && regmap::FILTER_VALUE == regmap::FILTER_KEY + 4 * KEY_WORDS as u32);

impl Steering {
    /// Empty tables sized as the device reports.
    pub fn new(info: &DeviceInfo) -> Result<Steering> {
        Ok(Steering {
            exact: CuckooTable::new("exact", info.exact_filters)?,
            wildcard: CuckooTable::new("wildcard", info.wildcard_filters)?,
            installed: BTreeMap::new(),
            next_id: 1,
            queues: info.queues,
        })
    }

    fn table_mut(&mut self, table: Table) -> (&mut CuckooTable, bool) {
        match table {
            Table::Exact => (&mut self.exact, false),
            Table::Wildcard => (&mut self.wildcard, true),
        }
    }

    pub fn table(&self, table: Table) -> &CuckooTable {
        match table {
            Table::Exact => &self.exact,
            Table::Wildcard => &self.wildcard,
        }
    }

    /// Installs a filter; the frames it matches go to `target`. A filter
    /// whose table entries are already installed is refused, naming the
    /// filter that has them; a full table is refused and changes nothing.
    pub fn install(&mut self, page: &dyn RegisterPage, filter: &Filter, target: Target) -> Result<FilterId> {
        let keys = filter.keys()?;
        target.validate(self.queues)?;
        let table = filter.table();
        if let Some(value) = keys.iter().find_map(|k| self.table(table).get(k)) {
            bail!("{filter} is already installed, as filter {}", Action::decode(value).filter_id);
        }
        let id = self.free_id()?;
        let value = target.action(id).encode();
        let (t, wildcard) = self.table_mut(table);
        let mut w = PageWriter { page, wildcard };
        for (done, key) in keys.iter().enumerate() {
            if let Err(e) = t.insert(*key, value, &mut w) {
                // Take back the entries already in, so a filter is either
                // wholly installed or not at all.
                for key in &keys[..done] {
                    t.remove(key, &mut w).context("undoing a partly installed filter")?;
                }
                return Err(e);
            }
        }
        self.installed.insert(id, Installed { filter: *filter, target, keys });
        self.next_id = id.checked_add(1).unwrap_or(1);
        Ok(id)
    }

    pub fn remove(&mut self, page: &dyn RegisterPage, id: FilterId) -> Result<()> {
        let installed = self.installed.get(&id).ok_or_else(|| anyhow!("no filter {id} is installed"))?;
        let keys = installed.keys.clone();
        let (t, wildcard) = self.table_mut(installed.filter.table());
        let mut w = PageWriter { page, wildcard };
        for key in &keys {
            t.remove(key, &mut w)?;
        }
        self.installed.remove(&id);
        Ok(())
    }

    /// The installed filters, by id.
    pub fn list(&self) -> Vec<InstalledFilter> {
        self.installed.iter().map(|(&id, i)| InstalledFilter { id, filter: i.filter, target: i.target }).collect()
    }

    /// The first id from `next_id` on, wrapping past 65535 to 1, that no
    /// installed filter has. The tables hold far fewer than 65535 entries,
    /// so one is always free.
    fn free_id(&self) -> Result<FilterId> {
        let start = self.next_id.max(1);
        (start..=FilterId::MAX)
            .chain(1..start)
            .find(|id| !self.installed.contains_key(id))
            .ok_or_else(|| anyhow!("all {} filter ids are in use", FilterId::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Nic;
    use crate::device::model::ModelDevice;
    use crate::device::{Device, Page};
    use arsenic_hdl::filter::{table_hash, WAYS};
    use std::cell::RefCell;
    use std::net::IpAddr;

    /// A control page that records every write and answers reads from the
    /// model, so the register sequence can be checked.
    struct Recording {
        inner: Box<dyn RegisterPage>,
        writes: RefCell<Vec<(u32, u32)>>,
    }

    impl RegisterPage for Recording {
        fn read32(&self, offset: u32) -> Result<u32> {
            self.inner.read32(offset)
        }
        fn write32(&self, offset: u32, value: u32) -> Result<()> {
            self.writes.borrow_mut().push((offset, value));
            self.inner.write32(offset, value)
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn setup() -> (ModelDevice, Recording, Steering) {
        let dev = ModelDevice::default();
        let info = Nic::open(&dev).unwrap().info;
        let page = Recording { inner: dev.map_page(Page::Control).unwrap(), writes: RefCell::new(Vec::new()) };
        (dev, page, Steering::new(&info).unwrap())
    }

    #[test]
    fn install_writes_key_value_then_command() {
        let (_dev, page, mut s) = setup();
        let f = Filter::Exact5 { proto: 6, src: ip("10.0.0.1"), sport: 5000, dst: ip("10.0.0.2"), dport: 80 };
        let id = s.install(&page, &f, Target { queue: 3, spread: 1 }).unwrap();
        assert_eq!(id, 1);
        let key = f.keys().unwrap()[0];
        let writes = page.writes.borrow().clone();
        assert_eq!(writes.len(), 12);
        for (i, &(offset, value)) in writes[..10].iter().enumerate() {
            assert_eq!((offset, value), (regmap::FILTER_KEY + 4 * i as u32, key.0[i]));
        }
        assert_eq!(writes[10], (regmap::FILTER_VALUE, Action { queue: 3, spread: 1, filter_id: 1 }.encode()));
        let (offset, cmd) = writes[11];
        assert_eq!(offset, regmap::FILTER_CMD);
        assert_eq!(cmd & (regmap::FILTER_CMD_WILDCARD | regmap::FILTER_CMD_CLEAR), 0);
        let bucket = (cmd & regmap::FILTER_CMD_SLOT_MASK) / WAYS as u32;
        assert_eq!(bucket, table_hash(0, &key) & 255, "first free slot of the first bucket");

        page.writes.borrow_mut().clear();
        s.remove(&page, id).unwrap();
        assert_eq!(
            *page.writes.borrow(),
            vec![(regmap::FILTER_CMD, regmap::filter_cmd(false, cmd & regmap::FILTER_CMD_SLOT_MASK, true))]
        );
        assert!(s.list().is_empty());
        assert!(s.table(Table::Exact).is_empty());
    }

    #[test]
    fn ids_are_small_unique_and_not_reused_at_once() {
        let (_dev, page, mut s) = setup();
        let mac = |i: u8| Filter::Mac { mac: [2, 0, 0, 0, 0, i], vlan: None };
        let ids: Vec<_> = (0..5).map(|i| s.install(&page, &mac(i), Target::queue(0)).unwrap()).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5]);
        s.remove(&page, 2).unwrap();
        assert_eq!(s.install(&page, &mac(9), Target::queue(0)).unwrap(), 6);
        assert!(s.remove(&page, 2).unwrap_err().to_string().contains("no filter 2"));
        let listed: Vec<_> = s.list().iter().map(|f| f.id).collect();
        assert_eq!(listed, vec![1, 3, 4, 5, 6]);
        // Past the top, the search wraps to the free ids.
        s.next_id = FilterId::MAX;
        assert_eq!(s.install(&page, &mac(10), Target::queue(0)).unwrap(), FilterId::MAX);
        assert_eq!(s.install(&page, &mac(11), Target::queue(0)).unwrap(), 2);
    }

    #[test]
    fn duplicates_and_bad_targets_are_refused_without_writes() {
        let (_dev, page, mut s) = setup();
        let f = Filter::Listen { proto: 17, dst: None, dport: Some(53) };
        s.install(&page, &f, Target::queue(4)).unwrap();
        assert_eq!(s.table(Table::Wildcard).len(), 2, "an IPv4 and an IPv6 entry");
        page.writes.borrow_mut().clear();
        let e = s.install(&page, &f, Target::queue(5)).unwrap_err().to_string();
        assert!(e.contains("already installed, as filter 1"), "{e}");
        let e = s.install(&page, &Filter::Mac { mac: [0; 6], vlan: None }, Target::queue(64)).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(page.writes.borrow().is_empty());
    }

    #[test]
    fn a_full_table_refuses_whole_filters_and_keeps_the_rest() {
        let (_dev, page, mut s) = setup();
        let mut installed = 0;
        let err = (0..=64u8)
            .find_map(|i| {
                match s.install(&page, &Filter::Listen { proto: 6, dst: None, dport: Some(i as u16) }, Target::queue(0))
                {
                    Ok(_) => {
                        installed += 1;
                        None
                    }
                    Err(e) => Some(e),
                }
            })
            .expect("64 slots cannot hold 65 two-entry filters");
        assert!(err.to_string().contains("wildcard filter table is full"), "{err}");
        // The failed filter left no half behind.
        assert_eq!(s.table(Table::Wildcard).len(), 2 * installed);
        assert_eq!(s.list().len(), installed);
    }
}
