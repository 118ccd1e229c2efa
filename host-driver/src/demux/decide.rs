//! The demultiplexer's decision for one frame, as the gateware makes it,
//! from the filter tables as the gateware holds them: slot-addressed arrays
//! written one slot at a time through the FILTER_* registers. The model
//! runs this on every frame; nothing here knows about the control plane.

use super::parse::parse;
use crate::device::Decision;
use arsenic_hdl::filter::{lookup_key, rss_hash_with, table_hash, Action, FilterKind, Key, Reason, Table, WAYS};
use arsenic_hdl::regmap::Counter;
use arsenic_hdl::NicParams;

/// One table in hardware form.
#[derive(Clone, Debug)]
struct SlotArray {
    slots: Vec<Option<(Key, u32)>>,
    bucket_mask: u32,
}

impl SlotArray {
    fn new(entries: u32) -> SlotArray {
        let buckets = (entries as usize / WAYS).max(1);
        SlotArray { slots: vec![None; entries as usize], bucket_mask: buckets.next_power_of_two() as u32 - 1 }
    }

    /// Bucket h0's slots then h1's, way 0 first; the first equal key wins.
    fn lookup(&self, key: &Key) -> Option<u32> {
        [table_hash(0, key), table_hash(1, key)]
            .iter()
            .flat_map(|h| {
                let bucket = (h & self.bucket_mask) as usize;
                bucket * WAYS..(bucket + 1) * WAYS
            })
            .find_map(|s| match self.slots.get(s) {
                Some(Some((k, v))) if k == key => Some(*v),
                _ => None,
            })
    }
}

/// The exact and wildcard tables, empty after reset.
#[derive(Clone, Debug)]
pub struct SlotTables {
    exact: SlotArray,
    wildcard: SlotArray,
}

impl SlotTables {
    pub fn new(params: &NicParams) -> SlotTables {
        SlotTables { exact: SlotArray::new(params.exact_filters), wildcard: SlotArray::new(params.wildcard_filters) }
    }

    fn array(&self, table: Table) -> &SlotArray {
        match table {
            Table::Exact => &self.exact,
            Table::Wildcard => &self.wildcard,
        }
    }

    /// What a FILTER_CMD does: the slot takes the entry, or empties. Like
    /// the gateware, only the slot number's low bits that address the table
    /// count, so a slot past the end wraps (the control plane never names
    /// one).
    pub fn write(&mut self, table: Table, slot: u32, entry: Option<(Key, u32)>) {
        let array = match table {
            Table::Exact => &mut self.exact,
            Table::Wildcard => &mut self.wildcard,
        };
        let slots = array.slots.len();
        if slots > 0 {
            array.slots[(slot as usize & (slots.next_power_of_two() - 1)) % slots] = entry;
        }
    }

    pub fn lookup(&self, table: Table, key: &Key) -> Option<u32> {
        self.array(table).lookup(key)
    }
}

/// What the demultiplexer holds besides the tables: the registers that
/// shape its decisions.
#[derive(Clone, Copy, Debug)]
pub struct DemuxRegisters {
    pub default_queue: u32,
    pub rss_key: [u8; 40],
}

impl Default for DemuxRegisters {
    fn default() -> Self {
        DemuxRegisters { default_queue: 0, rss_key: arsenic_hdl::filter::RSS_KEY }
    }
}

/// The decision for a frame (no FCS; `fcs_error` as the MAC flagged it).
pub fn decide(frame: &[u8], fcs_error: bool, params: &NicParams, tables: &SlotTables, regs: &DemuxRegisters) -> Decision {
    let default_queue = regs.default_queue;
    let len = frame.len();
    let to_default = |reason, rss| Decision { reason, queue: default_queue, kind: None, filter_id: 0, rss };
    if fcs_error || len < params.min_frame_bytes as usize || len > params.max_frame_bytes as usize {
        return Decision { reason: Reason::FrameError, queue: 0, kind: None, filter_id: 0, rss: 0 };
    }
    let flow = match parse(frame) {
        Ok(flow) => flow,
        Err(reason) => return to_default(reason, 0),
    };
    let rss = rss_hash_with(&regs.rss_key, &flow);
    for kind in FilterKind::ORDER {
        let Some(key) = lookup_key(kind, &flow) else { continue };
        if let Some(value) = tables.lookup(kind.table(), &key) {
            let action = Action::decode(value);
            // max(1): a NIC has at least one queue (NicParams::validate);
            // never divide by zero on a model built without that check.
            let queue = action.queue_for(rss, params.queues.max(1));
            return Decision { reason: Reason::Hit, queue, kind: Some(kind), filter_id: action.filter_id, rss };
        }
    }
    to_default(Reason::Miss, rss)
}

/// The counter a decision adds one to; none for frames the frame check
/// rejected, which the receive drop counters already account for.
pub fn counter(d: &Decision) -> Option<Counter> {
    Some(match d.reason {
        Reason::Hit if d.kind == Some(FilterKind::Exact5) => Counter::DemuxExactHit,
        Reason::Hit => Counter::DemuxWildcardHit,
        Reason::Miss => Counter::DemuxMiss,
        Reason::Fragment => Counter::DemuxFragment,
        Reason::Truncated => Counter::DemuxTruncated,
        Reason::BadIpv4 => Counter::DemuxBadIpv4,
        Reason::BadIpv6 => Counter::DemuxBadIpv6,
        Reason::BadL4 => Counter::DemuxBadL4,
        Reason::BadTags => Counter::DemuxBadTags,
        Reason::Overrun => Counter::DemuxOverrun,
        Reason::FrameError => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs(default_queue: u32) -> DemuxRegisters {
        DemuxRegisters { default_queue, ..DemuxRegisters::default() }
    }
    use crate::demux::filters::{Filter, Target};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// TCP over IPv4 from 10.0.0.1:sport to 10.0.0.2:80, VLAN 7.
    fn tcp_frame(sport: u16) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x81, 0, 0, 7, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&[0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0, 0, 0, 0, 0, 0]);
        f
    }

    /// Puts a filter's keys into the first way of their h1 bucket, where a
    /// lookup only finds them by probing both buckets.
    fn install(tables: &mut SlotTables, params: &NicParams, filter: Filter, target: Target, id: u16) {
        let entries = match filter.table() {
            Table::Exact => params.exact_filters,
            Table::Wildcard => params.wildcard_filters,
        };
        for key in filter.keys().unwrap() {
            let bucket = table_hash(1, &key) & (entries / WAYS as u32 - 1);
            tables.write(filter.table(), bucket * WAYS as u32 + 3, Some((key, target.action(id).encode())));
        }
    }

    #[test]
    fn the_most_specific_filter_wins_in_lookup_order() {
        let p = NicParams::default();
        let mut t = SlotTables::new(&p);
        let f = tcp_frame(5000);
        let d = decide(&f, false, &p, &t, &regs(9));
        assert_eq!((d.reason, d.queue, d.kind, d.filter_id), (Reason::Miss, 9, None, 0));
        assert_ne!(d.rss, 0);
        let filters = [
            (Filter::Mac { mac: [2, 0, 0, 0, 0, 1], vlan: None }, FilterKind::Mac),
            (Filter::Mac { mac: [2, 0, 0, 0, 0, 1], vlan: Some(7) }, FilterKind::MacVlan),
            (Filter::Listen { proto: 6, dst: None, dport: None }, FilterKind::Proto),
            (Filter::Listen { proto: 6, dst: Some(ip("10.0.0.2")), dport: None }, FilterKind::ListenAddr),
            (Filter::Listen { proto: 6, dst: None, dport: Some(80) }, FilterKind::ListenPort),
            (Filter::Listen { proto: 6, dst: Some(ip("10.0.0.2")), dport: Some(80) }, FilterKind::ListenAddrPort),
            (
                Filter::Exact5 { proto: 6, src: ip("10.0.0.1"), sport: 5000, dst: ip("10.0.0.2"), dport: 80 },
                FilterKind::Exact5,
            ),
        ];
        for (i, (filter, kind)) in filters.into_iter().enumerate() {
            install(&mut t, &p, filter, Target::queue(10 + i as u32), 100 + i as u16);
            let d = decide(&f, false, &p, &t, &regs(9));
            assert_eq!(
                (d.reason, d.queue, d.kind, d.filter_id),
                (Reason::Hit, 10 + i as u32, Some(kind), 100 + i as u16)
            );
        }
        // Another flow of the same listener misses the exact filter.
        let d = decide(&tcp_frame(5001), false, &p, &t, &regs(9));
        assert_eq!(d.kind, Some(FilterKind::ListenAddrPort));
    }

    #[test]
    fn spread_picks_by_rss_and_wraps() {
        let p = NicParams::default();
        let mut t = SlotTables::new(&p);
        install(
            &mut t,
            &p,
            Filter::Listen { proto: 6, dst: None, dport: Some(80) },
            Target { queue: 62, spread: 2 },
            1,
        );
        let mut seen = std::collections::BTreeSet::new();
        for sport in 0..64 {
            let d = decide(&tcp_frame(sport), false, &p, &t, &regs(0));
            assert_eq!(d.queue, (62 + (d.rss & 3)) % 64);
            seen.insert(d.queue);
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![0, 1, 62, 63]);
    }

    #[test]
    fn frame_errors_and_parse_errors() {
        let p = NicParams::default();
        let t = SlotTables::new(&p);
        let frame_error = Decision { reason: Reason::FrameError, queue: 0, kind: None, filter_id: 0, rss: 0 };
        assert_eq!(decide(&tcp_frame(1), true, &p, &t, &regs(5)), frame_error);
        assert_eq!(decide(&[0; 13], false, &p, &t, &regs(5)), frame_error);
        assert_eq!(decide(&[0; 1523], false, &p, &t, &regs(5)), frame_error);
        let mut bad = tcp_frame(1);
        bad[18] = 0x55;
        let d = decide(&bad, false, &p, &t, &regs(5));
        assert_eq!((d.reason, d.queue, d.rss), (Reason::BadIpv4, 5, 0));
        assert_eq!(counter(&d), Some(Counter::DemuxBadIpv4));
        assert_eq!(counter(&frame_error), None);
    }

    #[test]
    fn cleared_and_wrapping_slots() {
        let p = NicParams::default();
        let mut t = SlotTables::new(&p);
        let filter = Filter::Mac { mac: [2, 0, 0, 0, 0, 1], vlan: None };
        install(&mut t, &p, filter, Target::queue(3), 1);
        assert_eq!(decide(&tcp_frame(1), false, &p, &t, &regs(0)).reason, Reason::Hit);
        for slot in 0..p.wildcard_filters {
            t.write(Table::Wildcard, slot, None);
        }
        assert_eq!(decide(&tcp_frame(1), false, &p, &t, &regs(0)).reason, Reason::Miss);
        // Slot numbers wrap at the table's size.
        let key = filter.keys().unwrap()[0];
        let slot = (table_hash(0, &key) & 15) * WAYS as u32;
        t.write(Table::Wildcard, slot + 64 * 5, Some((key, Target::queue(4).action(2).encode())));
        assert_eq!(decide(&tcp_frame(1), false, &p, &t, &regs(0)).queue, 4);
    }
}
