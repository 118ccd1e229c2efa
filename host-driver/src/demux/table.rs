//! One filter table as the control plane manages it: 2^b buckets of
//! `WAYS` slots (slot = bucket * WAYS + way), each key in any slot of
//! either of its two buckets (`table_hash(0, key)` and `table_hash(1, key)`,
//! low b bits). The manager keeps a shadow of what the hardware holds and
//! sends every change through a `SlotWriter`, one slot at a time.
//!
//! The hardware looks keys up while they are being moved, so the order of
//! the writes matters: a relocation copies each entry into its new slot
//! before the old slot is overwritten, working back from the free slot, so
//! every installed key can be found after every single write.

use anyhow::{bail, Result};
use arsenic_hdl::filter::{table_hash, Key, HASH_BITS, WAYS};
use std::collections::VecDeque;
use std::fmt;

/// Where the manager's writes go: the FILTER_* registers of a device, or a
/// test's fake.
pub trait SlotWriter {
    /// Makes `slot` hold `entry` (key and encoded value), or empties it.
    fn write_slot(&mut self, slot: u32, entry: Option<(Key, u32)>) -> Result<()>;
}

/// Slots a relocation search may visit before giving up: enough to reach
/// over 90% load on the 1024-entry table while keeping a failed insert
/// cheap.
const MAX_SEARCH_SLOTS: usize = 500;

/// The table had no room for a key, even after trying to move others.
/// Nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableFull {
    pub table: &'static str,
    pub entries: usize,
    pub capacity: usize,
}

impl fmt::Display for TableFull {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "the {} filter table is full: {} of {} entries in use ({:.1}% load), and no relocation frees a slot \
             for this filter",
            self.table,
            self.entries,
            self.capacity,
            100.0 * self.entries as f64 / self.capacity as f64
        )
    }
}

impl std::error::Error for TableFull {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    key: Key,
    value: u32,
    /// The key's two buckets, kept so a relocation search need not hash.
    buckets: [u32; 2],
}

pub struct CuckooTable {
    name: &'static str,
    bucket_mask: u32,
    slots: Vec<Option<Entry>>,
}

impl CuckooTable {
    /// A table of `entries` slots, as the ID page reports it: `WAYS` times a
    /// power of two, addressable by a FILTER_CMD slot number.
    pub fn new(name: &'static str, entries: u32) -> Result<CuckooTable> {
        let buckets = entries / WAYS as u32;
        let max_buckets = (1u32 << HASH_BITS).min(arsenic_hdl::regmap::FILTER_CMD_SLOT_MASK / WAYS as u32 + 1);
        if !entries.is_multiple_of(WAYS as u32) || !buckets.is_power_of_two() || buckets > max_buckets {
            bail!(
                "the device reports {entries} {name} filter entries, but a table must be {WAYS} times a power of two \
                 buckets, at most {max_buckets}"
            );
        }
        Ok(CuckooTable { name, bucket_mask: buckets - 1, slots: vec![None; entries as usize] })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Occupied slots over all slots, 0.0 to 1.0.
    pub fn load_factor(&self) -> f64 {
        self.len() as f64 / self.capacity() as f64
    }

    /// The key's two buckets, as the hardware computes them.
    pub fn buckets(&self, key: &Key) -> [u32; 2] {
        [table_hash(0, key) & self.bucket_mask, table_hash(1, key) & self.bucket_mask]
    }

    /// The value stored with `key`, if it is installed.
    pub fn get(&self, key: &Key) -> Option<u32> {
        self.holding(key).first().and_then(|&s| self.slots[s as usize]).map(|e| e.value)
    }

    /// What slot `slot` holds, as the hardware has it.
    pub fn slot(&self, slot: u32) -> Option<(Key, u32)> {
        self.slots.get(slot as usize).copied().flatten().map(|e| (e.key, e.value))
    }

    /// Every installed entry: slot, key, value, in slot order.
    pub fn entries(&self) -> Vec<(u32, Key, u32)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.map(|e| (i as u32, e.key, e.value))).collect()
    }

    /// Installs `key` with `value`, or updates its value where it is.
    /// Returns the slot it landed in. A full table changes nothing.
    pub fn insert(&mut self, key: Key, value: u32, w: &mut dyn SlotWriter) -> Result<u32> {
        let existing = self.holding(&key);
        if let Some(&first) = existing.first() {
            // A key is in one slot, except after a relocation that a failed
            // write cut short, which leaves a second copy: update both.
            for slot in existing {
                self.write(slot, Some(Entry { key, value, buckets: self.buckets(&key) }), w)?;
            }
            return Ok(first);
        }
        let entry = Entry { key, value, buckets: self.buckets(&key) };
        let path = match self.free_in(&entry.buckets) {
            Some(slot) => vec![slot],
            None => self.relocation_path(&entry.buckets).ok_or_else(|| TableFull {
                table: self.name,
                entries: self.len(),
                capacity: self.capacity(),
            })?,
        };
        // path[i]'s entry moves to path[i + 1]; the last slot is free.
        for i in (0..path.len() - 1).rev() {
            self.write(path[i + 1], self.slots[path[i] as usize], w)?;
        }
        self.write(path[0], Some(entry), w)?;
        Ok(path[0])
    }

    /// Removes `key`; returns its value if it was installed.
    pub fn remove(&mut self, key: &Key, w: &mut dyn SlotWriter) -> Result<Option<u32>> {
        let value = self.get(key);
        for slot in self.holding(key) {
            self.write(slot, None, w)?;
        }
        Ok(value)
    }

    /// Writes one slot through `w`, and into the shadow only once the write
    /// succeeded, so the shadow never claims what the hardware lacks.
    fn write(&mut self, slot: u32, entry: Option<Entry>, w: &mut dyn SlotWriter) -> Result<()> {
        w.write_slot(slot, entry.map(|e| (e.key, e.value)))?;
        self.slots[slot as usize] = entry;
        Ok(())
    }

    fn bucket_slots(bucket: u32) -> std::ops::Range<u32> {
        bucket * WAYS as u32..(bucket + 1) * WAYS as u32
    }

    fn holding(&self, key: &Key) -> Vec<u32> {
        let [b0, b1] = self.buckets(key);
        let mut slots: Vec<u32> = Self::bucket_slots(b0)
            .chain(if b1 != b0 { Self::bucket_slots(b1) } else { 0..0 })
            .filter(|&s| self.slots[s as usize].is_some_and(|e| e.key == *key))
            .collect();
        slots.dedup();
        slots
    }

    fn free_in(&self, buckets: &[u32; 2]) -> Option<u32> {
        buckets.iter().flat_map(|&b| Self::bucket_slots(b)).find(|&s| self.slots[s as usize].is_none())
    }

    /// Breadth-first search from the full buckets of a new key for the
    /// shortest chain of moves ending in a free slot, each entry moving to
    /// its other bucket. Returns the slots from a slot of `buckets` to the
    /// free one, or None if none is found within `MAX_SEARCH_SLOTS`.
    fn relocation_path(&self, buckets: &[u32; 2]) -> Option<Vec<u32>> {
        let mut parent: Vec<Option<u32>> = vec![None; self.slots.len()];
        let mut seen = vec![false; self.slots.len()];
        let mut queue = VecDeque::new();
        for &b in buckets {
            for s in Self::bucket_slots(b) {
                if !seen[s as usize] {
                    seen[s as usize] = true;
                    queue.push_back(s);
                }
            }
        }
        let mut visited = 0;
        while let Some(s) = queue.pop_front() {
            visited += 1;
            if visited > MAX_SEARCH_SLOTS {
                return None;
            }
            let Some(e) = self.slots[s as usize] else { continue };
            let here = s / WAYS as u32;
            let other = if e.buckets[0] == here { e.buckets[1] } else { e.buckets[0] };
            if other == here {
                continue;
            }
            for t in Self::bucket_slots(other) {
                if self.slots[t as usize].is_none() {
                    let mut path = vec![t, s];
                    let mut at = s;
                    while let Some(p) = parent[at as usize] {
                        path.push(p);
                        at = p;
                    }
                    path.reverse();
                    return Some(path);
                }
                if !seen[t as usize] {
                    seen[t as usize] = true;
                    parent[t as usize] = Some(s);
                    queue.push_back(t);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::Rng;
    use arsenic_hdl::filter::{lookup_key, FilterKind, Flow, IpFlow};
    use std::collections::HashMap;

    /// A fake table in hardware: slot-addressed, as the gateware holds it.
    /// After every write it checks that every key the test says is
    /// installed can still be found in one of its buckets.
    struct FakeHardware {
        slots: Vec<Option<(Key, u32)>>,
        bucket_mask: u32,
        /// Installed keys: value, and buckets (cached: hashing is the slow part).
        installed: HashMap<Key, (u32, [u32; 2])>,
        writes: usize,
    }

    impl FakeHardware {
        fn install(&mut self, key: Key, value: u32) {
            let buckets = self.buckets(&key);
            self.installed.insert(key, (value, buckets));
        }

        fn new(entries: usize) -> Self {
            let bucket_mask = (entries / WAYS) as u32 - 1;
            Self { slots: vec![None; entries], bucket_mask, installed: HashMap::new(), writes: 0 }
        }

        fn buckets(&self, key: &Key) -> [u32; 2] {
            [table_hash(0, key) & self.bucket_mask, table_hash(1, key) & self.bucket_mask]
        }

        fn lookup(&self, key: &Key) -> Option<u32> {
            self.lookup_in(key, self.buckets(key))
        }

        fn lookup_in(&self, key: &Key, buckets: [u32; 2]) -> Option<u32> {
            buckets.iter().flat_map(|&b| CuckooTable::bucket_slots(b)).find_map(|s| match self.slots[s as usize] {
                Some((k, v)) if k == *key => Some(v),
                _ => None,
            })
        }
    }

    impl SlotWriter for FakeHardware {
        fn write_slot(&mut self, slot: u32, entry: Option<(Key, u32)>) -> Result<()> {
            self.slots[slot as usize] = entry;
            self.writes += 1;
            for (key, &(value, buckets)) in &self.installed {
                assert_eq!(self.lookup_in(key, buckets), Some(value), "a write made an installed key unfindable");
            }
            Ok(())
        }
    }

    fn random_key(rng: &mut Rng) -> Key {
        let ip = IpFlow {
            v6: rng.next_u64() & 1 != 0,
            proto: 6,
            src: (rng.next_u64() as u128) << 64 | rng.next_u64() as u128,
            dst: (rng.next_u64() as u128) << 64 | rng.next_u64() as u128,
            ports: Some((rng.next_u64() as u16, rng.next_u64() as u16)),
        };
        lookup_key(FilterKind::Exact5, &Flow { ip: Some(ip), ..Flow::default() }).unwrap()
    }

    /// Inserts random keys until the first failure; returns the load then.
    fn fill(table: &mut CuckooTable, hw: &mut FakeHardware, rng: &mut Rng) -> f64 {
        for i in 0.. {
            let key = random_key(rng);
            let before = hw.slots.clone();
            match table.insert(key, i, hw) {
                Ok(_) => {
                    hw.install(key, i);
                }
                Err(e) => {
                    let full = e.downcast_ref::<TableFull>().expect("a TableFull error");
                    assert_eq!(full.entries, table.len());
                    assert!(hw.slots == before, "a failed insert wrote something");
                    return table.load_factor();
                }
            }
        }
        unreachable!()
    }

    #[test]
    fn the_exact_table_fills_past_ninety_percent_and_every_write_keeps_keys_findable() {
        for seed in 1..=3 {
            let mut table = CuckooTable::new("exact", 1024).unwrap();
            let mut hw = FakeHardware::new(1024);
            let mut rng = Rng::new(seed);
            let load = fill(&mut table, &mut hw, &mut rng);
            assert!(load >= 0.9, "seed {seed}: first failure at {load:.3} load");
            // Relocations happened (more writes than keys), and the shadow
            // is exactly the hardware.
            assert!(hw.writes > hw.installed.len(), "no relocation was exercised");
            let shadow: Vec<_> = (0..1024).map(|s| table.slot(s)).collect();
            assert!(shadow == hw.slots);
            for (key, (value, _)) in &hw.installed {
                assert_eq!(table.get(key), Some(*value));
            }
        }
    }

    #[test]
    fn the_wildcard_table_fills_well_too() {
        let mut table = CuckooTable::new("wildcard", 64).unwrap();
        let mut hw = FakeHardware::new(64);
        let load = fill(&mut table, &mut hw, &mut Rng::new(5));
        assert!(load >= 0.85, "first failure at {load:.3} load");
    }

    #[test]
    fn a_full_table_error_names_the_table_and_its_load() {
        let mut table = CuckooTable::new("exact", 1024).unwrap();
        let mut hw = FakeHardware::new(1024);
        fill(&mut table, &mut hw, &mut Rng::new(9));
        let mut rng = Rng::new(10);
        let err = (0..100).find_map(|_| table.insert(random_key(&mut rng), 0, &mut hw).err()).unwrap();
        let text = err.to_string();
        assert!(text.starts_with("the exact filter table is full:"), "{text}");
        assert!(text.contains(&format!("{} of 1024 entries", table.len())), "{text}");
    }

    #[test]
    fn duplicate_insert_updates_the_value_in_place() {
        let mut table = CuckooTable::new("exact", 1024).unwrap();
        let mut hw = FakeHardware::new(1024);
        let key = random_key(&mut Rng::new(1));
        let slot = table.insert(key, 7, &mut hw).unwrap();
        assert_eq!(table.insert(key, 8, &mut hw).unwrap(), slot);
        assert_eq!(table.len(), 1);
        assert_eq!(table.get(&key), Some(8));
        assert_eq!(hw.slots[slot as usize], Some((key, 8)));
        assert!(table.buckets(&key).contains(&(slot / WAYS as u32)));
    }

    #[test]
    fn remove_clears_the_slot_and_the_key_can_come_back() {
        let mut table = CuckooTable::new("wildcard", 64).unwrap();
        let mut hw = FakeHardware::new(64);
        let mut rng = Rng::new(2);
        let keys: Vec<Key> = (0..40).map(|_| random_key(&mut rng)).collect();
        for (i, k) in keys.iter().enumerate() {
            table.insert(*k, i as u32, &mut hw).unwrap();
            hw.install(*k, i as u32);
        }
        for (i, k) in keys.iter().enumerate().step_by(3) {
            hw.installed.remove(k);
            assert_eq!(table.remove(k, &mut hw).unwrap(), Some(i as u32));
            assert_eq!(hw.lookup(k), None);
            assert_eq!(table.get(k), None);
            assert_eq!(table.remove(k, &mut hw).unwrap(), None, "a second remove finds nothing");
        }
        assert_eq!(table.len(), 40 - 14);
        assert_eq!(table.entries().len(), table.len());
        for (i, k) in keys.iter().enumerate().step_by(3) {
            table.insert(*k, 100 + i as u32, &mut hw).unwrap();
            hw.install(*k, 100 + i as u32);
            assert_eq!(hw.lookup(k), Some(100 + i as u32));
        }
        assert_eq!(table.len(), 40);
    }

    #[test]
    fn a_failed_write_leaves_the_shadow_as_the_hardware() {
        struct Failing(usize);
        impl SlotWriter for Failing {
            fn write_slot(&mut self, _: u32, _: Option<(Key, u32)>) -> Result<()> {
                if self.0 == 0 {
                    bail!("register write failed");
                }
                self.0 -= 1;
                Ok(())
            }
        }
        let mut table = CuckooTable::new("exact", 1024).unwrap();
        let key = random_key(&mut Rng::new(3));
        assert!(table.insert(key, 1, &mut Failing(0)).is_err());
        assert_eq!(table.len(), 0);
        table.insert(key, 1, &mut Failing(1)).unwrap();
        assert!(table.remove(&key, &mut Failing(0)).is_err());
        assert_eq!(table.get(&key), Some(1));
    }

    #[test]
    fn bad_sizes_are_refused() {
        for entries in [0, 6, 12, 1 << 20] {
            assert!(CuckooTable::new("exact", entries).is_err(), "{entries}");
        }
        assert!(CuckooTable::new("exact", 4).is_ok());
    }
}
