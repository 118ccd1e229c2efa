//! One filter table: 2^BB buckets of `WAYS` entries in block RAM, one RAM
//! per way so a whole bucket is read in one cycle. A key may sit in any way
//! of either of its two buckets (`filter::table_hash` 0 and 1), which is
//! what lets the host's cuckoo insertion fill it past 90%.
//!
//! A lookup takes three cycles when the key is in its first bucket and four
//! otherwise: latch the key, read bucket 0, compare and read bucket 1,
//! compare. Writes come from the control page and never stall a lookup; a
//! lookup racing a write to the same slot sees the old or the new entry,
//! never a mixture, because each entry is written in one cycle.

use crate::filter::{self, ENTRY_BITS, HASH_BITS, KEY_BITS, VALUE_LSB, WAYS};

// The value's position is a literal in the kernel below.
const _: () = assert!(VALUE_LSB == 320);
use crate::ports::FilterWriteSink;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct FilterTable<const BB: usize> {
    pub clock: Signal<In, Clock>,
    /// Lookup request: `key` is taken when `start` is high and the table is idle.
    pub start: Signal<In, Bit>,
    pub key: Signal<In, Bits<KEY_BITS>>,
    pub busy: Signal<Out, Bit>,
    /// One-cycle pulse with the result.
    pub done: Signal<Out, Bit>,
    pub hit: Signal<Out, Bit>,
    pub value: Signal<Out, Bits<32>>,
    /// Entry writes addressed to either table; this one takes those whose
    /// `wildcard` flag is its own.
    pub writes: FilterWriteSink,
    is_wildcard: Constant<Bit>,
    ways: [RAM<Bits<ENTRY_BITS>, BB>; WAYS],
    masks0: [Constant<Bits<KEY_BITS>>; HASH_BITS],
    masks1: [Constant<Bits<KEY_BITS>>; HASH_BITS],
    key_q: DFF<Bits<KEY_BITS>>,
    /// 0 idle, 1 reading bucket 0, 2 comparing it and reading bucket 1, 3 comparing that.
    state: DFF<Bits<2>>,
    h0: Signal<Local, Bits<HASH_BITS>>,
    h1: Signal<Local, Bits<HASH_BITS>>,
    way_select: Signal<Local, Bits<WAYS>>,
    mine: Signal<Local, Bit>,
    matched: Signal<Local, Bit>,
    matched_value: Signal<Local, Bits<32>>,
    entry: Signal<Local, Bits<ENTRY_BITS>>,
}

fn masks(f: usize) -> [Constant<Bits<KEY_BITS>>; HASH_BITS] {
    filter::hash_masks(f).map(|m| {
        let mut bits: Bits<KEY_BITS> = 0.into();
        for (w, word) in m.0.iter().enumerate() {
            bits = bits | (bit_cast::<KEY_BITS, 32>((*word as u64).into()) << (32 * w as u64));
        }
        Constant::new(bits)
    })
}

impl<const BB: usize> FilterTable<BB> {
    /// The exact table (`false`) or the wildcard table (`true`).
    pub fn new(wildcard: bool) -> Self {
        Self { is_wildcard: Constant::new(wildcard), ..Self::default() }
    }
}

impl<const BB: usize> Default for FilterTable<BB> {
    fn default() -> Self {
        assert!(BB + 2 <= 16 && BB <= HASH_BITS, "slot numbers are 16 bits");
        Self {
            clock: Default::default(),
            start: Default::default(),
            key: Default::default(),
            busy: Default::default(),
            done: Default::default(),
            hit: Default::default(),
            value: Default::default(),
            writes: Default::default(),
            is_wildcard: Constant::new(false),
            ways: Default::default(),
            masks0: masks(0),
            masks1: masks(1),
            key_q: Default::default(),
            state: Default::default(),
            h0: Default::default(),
            h1: Default::default(),
            way_select: Default::default(),
            mine: Default::default(),
            matched: Default::default(),
            matched_value: Default::default(),
            entry: Default::default(),
        }
    }
}

impl<const BB: usize> Logic for FilterTable<BB> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, key_q, state);
        // H3 hashes: each bit the parity of the key under one mask.
        self.h0.next = 0.into();
        self.h1.next = 0.into();
        for j in 0..HASH_BITS {
            self.h0.next = self.h0.val().replace_bit(j, (self.key_q.q.val() & self.masks0[j].val()).xor());
            self.h1.next = self.h1.val().replace_bit(j, (self.key_q.q.val() & self.masks1[j].val()).xor());
        }
        self.mine.next = self.writes.write.val() & (self.writes.wildcard.val() == self.is_wildcard.val());
        self.way_select.next = bit_cast::<WAYS, 1>(true.into()) << self.writes.slot.val().get_bits::<2>(0);
        self.matched.next = false;
        self.matched_value.next = 0.into();
        for i in 0..WAYS {
            self.ways[i].read_clock.next = self.clock.val();
            self.ways[i].write_clock.next = self.clock.val();
            self.ways[i].write_address.next = self.writes.slot.val().get_bits::<BB>(2);
            self.ways[i].write_data.next = self.writes.entry.val();
            if self.writes.clear.val() {
                self.ways[i].write_data.next = 0.into();
            }
            self.ways[i].write_enable.next = self.mine.val() & self.way_select.val().get_bit(i);
            self.ways[i].read_address.next = self.h0.val().get_bits::<BB>(0);
            if self.state.q.val() == 2 {
                self.ways[i].read_address.next = self.h1.val().get_bits::<BB>(0);
            }
            self.entry.next = self.ways[i].read_data.val();
            if self.entry.val().get_bits::<KEY_BITS>(0) == self.key_q.q.val() {
                self.matched.next = true;
                self.matched_value.next = self.entry.val().get_bits::<32>(320);
            }
        }

        self.busy.next = self.state.q.val() != 0;
        self.done.next = false;
        self.hit.next = false;
        self.value.next = self.matched_value.val();
        if self.state.q.val() == 0 {
            if self.start.val() {
                self.key_q.d.next = self.key.val();
                self.state.d.next = 1.into();
            }
        } else if self.state.q.val() == 1 {
            self.state.d.next = 2.into();
        } else if self.state.q.val() == 2 {
            if self.matched.val() {
                self.done.next = true;
                self.hit.next = true;
                self.state.d.next = 0.into();
            } else {
                self.state.d.next = 3.into();
            }
        } else {
            self.done.next = true;
            self.hit.next = self.matched.val();
            self.state.d.next = 0.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{table_hash, Key};
    use crate::harness::Harness;

    const BB: usize = 4;

    fn key_bits(k: &Key) -> Bits<KEY_BITS> {
        let mut bits: Bits<KEY_BITS> = 0.into();
        for (w, word) in k.0.iter().enumerate() {
            bits = bits | (bit_cast::<KEY_BITS, 32>((*word as u64).into()) << (32 * w as u64));
        }
        bits
    }

    fn write(h: &mut Harness<FilterTable<BB>>, slot: u32, entry: Option<(&Key, u32)>) {
        write_to(h, false, slot, entry)
    }

    fn write_to(h: &mut Harness<FilterTable<BB>>, wildcard: bool, slot: u32, entry: Option<(&Key, u32)>) {
        h.uut.writes.write.next = true;
        h.uut.writes.wildcard.next = wildcard;
        h.uut.writes.slot.next = (slot as u64).into();
        h.uut.writes.clear.next = entry.is_none();
        if let Some((k, v)) = entry {
            let e = bit_cast::<ENTRY_BITS, KEY_BITS>(key_bits(k))
                | (bit_cast::<ENTRY_BITS, 32>((v as u64).into()) << VALUE_LSB as u64);
            h.uut.writes.entry.next = e;
        }
        h.cycle();
        h.uut.writes.write.next = false;
    }

    /// Returns (hit, value, cycles from start to done).
    fn lookup(h: &mut Harness<FilterTable<BB>>, k: &Key) -> (bool, u32, u32) {
        h.uut.key.next = key_bits(k);
        h.uut.start.next = true;
        h.cycle();
        h.uut.start.next = false;
        for n in 1..10 {
            h.settle();
            if h.uut.done.val() {
                let r = (h.uut.hit.val(), h.uut.value.val().index() as u32, n);
                h.cycle();
                return r;
            }
            h.cycle();
        }
        panic!("lookup never finished");
    }

    fn key(n: u32) -> Key {
        let mut k = Key::default();
        k.0[0] = n.wrapping_mul(2_654_435_761);
        k.0[4] = n;
        k.set(crate::filter::KIND_LSB, 3, 2);
        k
    }

    #[test]
    fn finds_keys_in_either_bucket_and_misses_the_rest() {
        let mut h = Harness::new(FilterTable::<BB>::new(false), |t| &mut t.clock);
        let mask = (1 << BB) - 1;
        let (a, b, c) = (key(1), key(2), key(3));
        // a in its first bucket, b in its second, c nowhere.
        write(&mut h, (table_hash(0, &a) & mask) * 4 + 3, Some((&a, 0xA)));
        write(&mut h, (table_hash(1, &b) & mask) * 4 + 1, Some((&b, 0xB)));
        assert_eq!(lookup(&mut h, &a), (true, 0xA, 2));
        assert_eq!(lookup(&mut h, &b), (true, 0xB, 3));
        assert!(!lookup(&mut h, &c).0);
        // A key in a bucket that is neither of its own is not found.
        let wrong = ((table_hash(0, &c) & mask) + 1) & mask;
        let wrong = if wrong == table_hash(1, &c) & mask { (wrong + 1) & mask } else { wrong };
        write(&mut h, wrong * 4, Some((&c, 0xC)));
        assert!(!lookup(&mut h, &c).0);
        // A write for the other table is not this one's.
        let d = key(4);
        write_to(&mut h, true, (table_hash(0, &d) & mask) * 4, Some((&d, 0xD)));
        assert!(!lookup(&mut h, &d).0);
        write(&mut h, (table_hash(0, &d) & mask) * 4, Some((&d, 0xD)));
        assert_eq!(lookup(&mut h, &d), (true, 0xD, 2));
        // Clearing removes the entry.
        write(&mut h, (table_hash(0, &a) & mask) * 4 + 3, None);
        assert!(!lookup(&mut h, &a).0);
    }

    #[test]
    fn hardware_hashes_equal_the_software_ones() {
        let mut h = Harness::new(FilterTable::<BB>::default(), |t| &mut t.clock);
        for n in 0..50 {
            let k = key(n * 7919);
            h.uut.key.next = key_bits(&k);
            h.uut.start.next = true;
            h.cycle();
            h.uut.start.next = false;
            h.settle();
            assert_eq!(h.uut.h0.val().index() as u32, table_hash(0, &k), "h0 of key {n}");
            assert_eq!(h.uut.h1.val().index() as u32, table_hash(1, &k), "h1 of key {n}");
            for _ in 0..4 {
                h.cycle();
            }
        }
    }
}
