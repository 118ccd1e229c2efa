//! The filter tables: buckets of `WAYS` entries in block RAM, one RAM per
//! way so a whole bucket is read in one cycle. A key may sit in any way of
//! either of its two buckets (`filter::table_hash` 0 and 1), which is what
//! lets the host's cuckoo insertion fill it past 90%.
//!
//! The exact and the wildcard table share the RAMs and the one compare
//! pipeline: 2^AB buckets, the lower half the exact table's, the upper half
//! the wildcard table's (of which it uses the first 2^`wild_bits`). The
//! demux looks up one kind at a time anyway, and a block RAM 512 deep costs
//! what one 256 deep does, so the wildcard table's own LUT RAM, comparators
//! and hash registers (over a third of the demux's LUTs on the board)
//! bought nothing.
//!
//! A lookup is a pipeline, so that no stage does more than a few LUT levels
//! at 125 MHz: the cycle `start` is taken latches the key, its table and both hashes
//! (as 8 partial parities per bit, XORed in front of the RAM address);
//! then bucket 0 is read; its ways are compared with the key in 4-bit
//! chunks (registered) while bucket 1 is read; the chunks are ANDed into
//! one match per way (registered) while bucket 1 is compared; then the
//! result is registered. `done` shows 5 cycles after the cycle `start` was
//! taken in when the key is in its first bucket, 6 otherwise (a miss takes
//! 6); the table is idle again in the cycle `done` shows. Within a
//! bucket the lowest way wins, then bucket 0 before bucket 1, as in the
//! model (`arsenic::demux::decide`). Writes come from the control page and
//! never stall a lookup; a lookup racing a write to the same slot sees the
//! old or the new entry, never a mixture, because each entry is written in
//! one cycle.

use crate::filter::{self, ENTRY_BITS, HASH_BITS, KEY_BITS, VALUE_LSB, WAYS};

// The value's position and the chunking of the key are literals in the
// kernel below.
const _: () = assert!(VALUE_LSB == 320 && KEY_BITS == CHUNKS * 4 && KEY_BITS == 8 * 38);
/// 4-bit chunks of a key: block RAM data (late, 3.9 ns) plus the two LUT
/// levels of a 4-bit compare fit one cycle; 8-bit chunks took three.
const CHUNKS: usize = 76;
use crate::ports::FilterWriteSink;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct FilterTable<const AB: usize> {
    pub clock: Signal<In, Clock>,
    /// Lookup request: `key` is taken, in the wildcard table if `wild`, when
    /// `start` is high and the table is idle. The hashes are taken from
    /// `key` directly, so drive it from a register.
    pub start: Signal<In, Bit>,
    pub key: Signal<In, Bits<KEY_BITS>>,
    pub wild: Signal<In, Bit>,
    pub busy: Signal<Out, Bit>,
    /// One-cycle pulse with the result, all three from registers.
    pub done: Signal<Out, Bit>,
    pub hit: Signal<Out, Bit>,
    pub value: Signal<Out, Bits<32>>,
    /// Entry writes to either table.
    pub writes: FilterWriteSink,
    /// Each table's bucket mask, and the wildcard table's region bit. A
    /// slot past a table's end wraps, as it did in a table of its own.
    exact_mask: Constant<Bits<AB>>,
    wild_mask: Constant<Bits<AB>>,
    wild_region: Constant<Bits<AB>>,
    ways: [RAM<Bits<ENTRY_BITS>, AB>; WAYS],
    /// The lookup's table, taken with its key.
    wild_q: DFF<Bit>,
    masks0: [Constant<Bits<KEY_BITS>>; HASH_BITS],
    masks1: [Constant<Bits<KEY_BITS>>; HASH_BITS],
    key_q: DFF<Bits<KEY_BITS>>,
    /// Per hash bit, the parities of the key's 8 slices of 38 bits under
    /// its mask: a 304-bit parity is too deep for one cycle behind the
    /// key's register, and the last XOR of 8 is cheap in front of the RAM
    /// address.
    h0_part: [DFF<Bits<8>>; HASH_BITS],
    h1_part: [DFF<Bits<8>>; HASH_BITS],
    /// 0 idle, 1 reading bucket 0, 2 comparing it and reading bucket 1,
    /// 3 matching bucket 0 and comparing bucket 1, 4 deciding on bucket 0
    /// and matching bucket 1, 5 deciding on bucket 1.
    state: DFF<Bits<3>>,
    /// Per way: which 4-bit chunks of the entry differ from the key's, at
    /// each chunk's lowest bit (the other bits are always 0, and synthesis
    /// drops their flops). Kept key-wide rather than packed into 76 bits
    /// because packing bit by bit costs Verilator 76 wide shifts a way
    /// every cycle, which halved the whole NIC's simulation speed.
    chunks_ne: [DFF<Bits<KEY_BITS>>; WAYS],
    /// Bit 4c for each chunk c.
    chunk_lsb: Constant<Bits<KEY_BITS>>,
    /// Per way: the value read with those chunks.
    read_value: [DFF<Bits<32>>; WAYS],
    /// Per way: the whole key matched; and the value that goes with it.
    way_match: DFF<Bits<WAYS>>,
    match_value: [DFF<Bits<32>>; WAYS],
    done_q: DFF<Bit>,
    hit_q: DFF<Bit>,
    value_q: DFF<Bits<32>>,
    masked0: Signal<Local, Bits<KEY_BITS>>,
    masked1: Signal<Local, Bits<KEY_BITS>>,
    part0: Signal<Local, Bits<8>>,
    part1: Signal<Local, Bits<8>>,
    h0: Signal<Local, Bits<HASH_BITS>>,
    h1: Signal<Local, Bits<HASH_BITS>>,
    way_select: Signal<Local, Bits<WAYS>>,
    w_bucket: Signal<Local, Bits<AB>>,
    r_mask: Signal<Local, Bits<AB>>,
    r_region: Signal<Local, Bits<AB>>,
    entry: Signal<Local, Bits<ENTRY_BITS>>,
    diff: Signal<Local, Bits<KEY_BITS>>,
    match_now: Signal<Local, Bits<WAYS>>,
    first_value: Signal<Local, Bits<32>>,
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

impl<const AB: usize> FilterTable<AB> {
    /// Tables of 2^(AB-1) exact and 2^`wild_bits` wildcard buckets.
    pub fn new(wild_bits: usize) -> Self {
        assert!((2..16).contains(&AB) && AB - 1 <= HASH_BITS, "slot numbers are 16 bits");
        assert!(wild_bits < AB, "the wildcard table fits in its half");
        let ones = |n: usize| Bits::<AB>::from((1u64 << n) - 1);
        Self {
            exact_mask: Constant::new(ones(AB - 1)),
            wild_mask: Constant::new(ones(wild_bits)),
            wild_region: Constant::new(Bits::<AB>::from(1u64 << (AB - 1))),
            clock: Default::default(),
            start: Default::default(),
            key: Default::default(),
            wild: Default::default(),
            busy: Default::default(),
            done: Default::default(),
            hit: Default::default(),
            value: Default::default(),
            writes: Default::default(),
            ways: Default::default(),
            wild_q: Default::default(),
            masks0: masks(0),
            masks1: masks(1),
            key_q: Default::default(),
            h0_part: Default::default(),
            h1_part: Default::default(),
            state: Default::default(),
            chunks_ne: Default::default(),
            chunk_lsb: Constant::new((0..CHUNKS).fold(Bits::<KEY_BITS>::default(), |m, c| m | (Bits::<KEY_BITS>::from(1u64) << (4 * c as u64)))),
            read_value: Default::default(),
            way_match: Default::default(),
            match_value: Default::default(),
            done_q: Default::default(),
            hit_q: Default::default(),
            value_q: Default::default(),
            masked0: Default::default(),
            masked1: Default::default(),
            part0: Default::default(),
            part1: Default::default(),
            h0: Default::default(),
            h1: Default::default(),
            way_select: Default::default(),
            w_bucket: Default::default(),
            r_mask: Default::default(),
            r_region: Default::default(),
            entry: Default::default(),
            diff: Default::default(),
            match_now: Default::default(),
            first_value: Default::default(),
        }
    }
}

impl<const AB: usize> Logic for FilterTable<AB> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, key_q, wild_q, state, way_match, done_q, hit_q, value_q);
        // H3 hashes of the key: each bit the parity of the key under one
        // mask, in slices registered with the key, finished from them.
        self.h0.next = 0.into();
        self.h1.next = 0.into();
        for j in 0..HASH_BITS {
            self.h0_part[j].clock.next = self.clock.val();
            self.h1_part[j].clock.next = self.clock.val();
            self.h0_part[j].d.next = self.h0_part[j].q.val();
            self.h1_part[j].d.next = self.h1_part[j].q.val();
            self.masked0.next = self.key.val() & self.masks0[j].val();
            self.masked1.next = self.key.val() & self.masks1[j].val();
            self.part0.next = 0.into();
            self.part1.next = 0.into();
            for k in 0..8 {
                self.part0.next = self.part0.val().replace_bit(k, self.masked0.val().get_bits::<38>(38 * k).xor());
                self.part1.next = self.part1.val().replace_bit(k, self.masked1.val().get_bits::<38>(38 * k).xor());
            }
            if (self.state.q.val() == 0) & self.start.val() {
                self.h0_part[j].d.next = self.part0.val();
                self.h1_part[j].d.next = self.part1.val();
            }
            self.h0.next = self.h0.val().replace_bit(j, self.h0_part[j].q.val().xor());
            self.h1.next = self.h1.val().replace_bit(j, self.h1_part[j].q.val().xor());
        }
        self.w_bucket.next = self.writes.slot.val().get_bits::<AB>(2) & self.exact_mask.val();
        if self.writes.wildcard.val() {
            self.w_bucket.next =
                (self.writes.slot.val().get_bits::<AB>(2) & self.wild_mask.val()) | self.wild_region.val();
        }
        self.r_mask.next = self.exact_mask.val();
        self.r_region.next = 0.into();
        if self.wild_q.q.val() {
            self.r_mask.next = self.wild_mask.val();
            self.r_region.next = self.wild_region.val();
        }
        self.way_select.next = bit_cast::<WAYS, 1>(true.into()) << self.writes.slot.val().get_bits::<2>(0);
        // The bucket read in each state's cycle arrives in the next.
        self.match_now.next = 0.into();
        for i in 0..WAYS {
            self.ways[i].read_clock.next = self.clock.val();
            self.ways[i].write_clock.next = self.clock.val();
            self.ways[i].write_address.next = self.w_bucket.val();
            self.ways[i].write_data.next = self.writes.entry.val();
            if self.writes.clear.val() {
                self.ways[i].write_data.next = 0.into();
            }
            self.ways[i].write_enable.next = self.writes.write.val() & self.way_select.val().get_bit(i);
            self.ways[i].read_address.next = (self.h0.val().get_bits::<AB>(0) & self.r_mask.val()) | self.r_region.val();
            if self.state.q.val() == 2 {
                self.ways[i].read_address.next =
                    (self.h1.val().get_bits::<AB>(0) & self.r_mask.val()) | self.r_region.val();
            }
            self.chunks_ne[i].clock.next = self.clock.val();
            self.read_value[i].clock.next = self.clock.val();
            self.match_value[i].clock.next = self.clock.val();
            self.entry.next = self.ways[i].read_data.val();
            // A chunk differs if any of its four bits does: OR each bit with
            // the three above it, and keep each chunk's lowest bit.
            self.diff.next = self.entry.val().get_bits::<KEY_BITS>(0) ^ self.key_q.q.val();
            self.chunks_ne[i].d.next =
                (self.diff.val() | (self.diff.val() >> 1) | (self.diff.val() >> 2) | (self.diff.val() >> 3)) & self.chunk_lsb.val();
            self.read_value[i].d.next = self.entry.val().get_bits::<32>(320);
            self.match_now.next = self.match_now.val().replace_bit(i, !self.chunks_ne[i].q.val().any());
            self.match_value[i].d.next = self.read_value[i].q.val();
        }
        self.way_match.d.next = self.match_now.val();
        // The lowest matching way's value.
        self.first_value.next = self.match_value[3].q.val();
        if self.way_match.q.val().get_bit(2) {
            self.first_value.next = self.match_value[2].q.val();
        }
        if self.way_match.q.val().get_bit(1) {
            self.first_value.next = self.match_value[1].q.val();
        }
        if self.way_match.q.val().get_bit(0) {
            self.first_value.next = self.match_value[0].q.val();
        }

        self.busy.next = self.state.q.val() != 0;
        self.done.next = self.done_q.q.val();
        self.hit.next = self.hit_q.q.val();
        self.value.next = self.value_q.q.val();
        self.done_q.d.next = false;
        if self.state.q.val() == 0 {
            if self.start.val() {
                self.key_q.d.next = self.key.val();
                self.wild_q.d.next = self.wild.val();
                self.state.d.next = 1.into();
            }
        } else if self.state.q.val() == 4 {
            if self.way_match.q.val().any() {
                self.done_q.d.next = true;
                self.hit_q.d.next = true;
                self.value_q.d.next = self.first_value.val();
                self.state.d.next = 0.into();
            } else {
                self.state.d.next = 5.into();
            }
        } else if self.state.q.val() == 5 {
            self.done_q.d.next = true;
            self.hit_q.d.next = self.way_match.q.val().any();
            self.value_q.d.next = self.first_value.val();
            self.state.d.next = 0.into();
        } else {
            self.state.d.next = self.state.q.val() + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{table_hash, Key};
    use crate::harness::Harness;

    const AB: usize = 5;
    /// Exact buckets, and the wildcard table's bucket bits.
    const BB: usize = AB - 1;
    const WB: usize = 2;
    type Table = FilterTable<AB>;

    fn table() -> Harness<Table> {
        Harness::new(Table::new(WB), |t| &mut t.clock)
    }

    fn key_bits(k: &Key) -> Bits<KEY_BITS> {
        let mut bits: Bits<KEY_BITS> = 0.into();
        for (w, word) in k.0.iter().enumerate() {
            bits = bits | (bit_cast::<KEY_BITS, 32>((*word as u64).into()) << (32 * w as u64));
        }
        bits
    }

    fn write(h: &mut Harness<Table>, slot: u32, entry: Option<(&Key, u32)>) {
        write_to(h, false, slot, entry)
    }

    fn write_to(h: &mut Harness<Table>, wildcard: bool, slot: u32, entry: Option<(&Key, u32)>) {
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

    /// Returns (hit, value, cycles from start to done), in the cycle done
    /// shows (so the next lookup may start in it).
    fn lookup(h: &mut Harness<Table>, k: &Key) -> (bool, u32, u32) {
        lookup_in(h, false, k)
    }

    fn lookup_in(h: &mut Harness<Table>, wildcard: bool, k: &Key) -> (bool, u32, u32) {
        h.uut.key.next = key_bits(k);
        h.uut.wild.next = wildcard;
        h.uut.start.next = true;
        h.cycle();
        h.uut.start.next = false;
        for n in 1..10 {
            h.settle();
            if h.uut.done.val() {
                return (h.uut.hit.val(), h.uut.value.val().index() as u32, n);
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
        let mut h = table();
        let mask = (1 << BB) - 1;
        let (a, b, c) = (key(1), key(2), key(3));
        // a in its first bucket, b in its second, c nowhere.
        write(&mut h, (table_hash(0, &a) & mask) * 4 + 3, Some((&a, 0xA)));
        write(&mut h, (table_hash(1, &b) & mask) * 4 + 1, Some((&b, 0xB)));
        assert_eq!(lookup(&mut h, &a), (true, 0xA, 5));
        assert_eq!(lookup(&mut h, &b), (true, 0xB, 6));
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
        assert_eq!(lookup(&mut h, &d), (true, 0xD, 5));
        // Clearing removes the entry.
        write(&mut h, (table_hash(0, &a) & mask) * 4 + 3, None);
        assert!(!lookup(&mut h, &a).0);
    }

    #[test]
    fn hardware_hashes_equal_the_software_ones() {
        let mut h = table();
        for n in 0..50 {
            let k = key(n * 7919);
            h.uut.key.next = key_bits(&k);
            h.uut.start.next = true;
            h.cycle();
            h.uut.start.next = false;
            h.settle();
            assert_eq!(h.uut.h0.val().index() as u32, table_hash(0, &k), "h0 of key {n}");
            assert_eq!(h.uut.h1.val().index() as u32, table_hash(1, &k), "h1 of key {n}");
            for _ in 0..5 {
                h.cycle();
            }
        }
    }

    /// Duplicate keys (which the control plane never installs) resolve as
    /// the model's lookup does: lowest way first, bucket 0 before bucket 1.
    #[test]
    fn the_first_way_of_the_first_bucket_wins() {
        let mut h = table();
        let mask = (1 << BB) - 1;
        let a = (1..).map(key).find(|k| table_hash(0, k) & mask != table_hash(1, k) & mask).unwrap();
        write(&mut h, (table_hash(1, &a) & mask) * 4, Some((&a, 0x10)));
        write(&mut h, (table_hash(0, &a) & mask) * 4 + 3, Some((&a, 0x13)));
        assert_eq!(lookup(&mut h, &a), (true, 0x13, 5));
        write(&mut h, (table_hash(0, &a) & mask) * 4 + 1, Some((&a, 0x11)));
        assert_eq!(lookup(&mut h, &a), (true, 0x11, 5));
        write(&mut h, (table_hash(0, &a) & mask) * 4 + 1, None);
        write(&mut h, (table_hash(0, &a) & mask) * 4 + 3, None);
        assert_eq!(lookup(&mut h, &a), (true, 0x10, 6));
    }

    /// Back-to-back lookups, each started the cycle its predecessor's
    /// result shows, get their own results.
    #[test]
    fn back_to_back_lookups_keep_their_own_results() {
        let mut h = table();
        let mask = (1 << BB) - 1;
        let keys: Vec<Key> = (10..16).map(key).collect();
        for (n, k) in keys.iter().enumerate().step_by(2) {
            write(&mut h, (table_hash((n / 2) % 2, k) & mask) * 4 + (n as u32 / 2) % 4, Some((k, n as u32)));
        }
        for _ in 0..2 {
            for (n, k) in keys.iter().enumerate() {
                let (hit, value, _) = lookup(&mut h, k);
                assert_eq!(hit, n % 2 == 0, "key {n}");
                if hit {
                    assert_eq!(value, n as u32);
                }
            }
        }
    }

    /// The two tables share the RAMs but not their entries: a key written
    /// to one is found only by lookups in that one, each with its own
    /// value, and a wildcard slot past the table's end wraps inside it.
    #[test]
    fn the_exact_and_wildcard_tables_keep_their_own_entries() {
        let mut h = table();
        let (exact, wild) = ((1 << BB) - 1, (1 << WB) - 1);
        // A key whose bucket number is the same in both tables, so only
        // the region tells its two entries apart.
        let k = (1..).map(key).find(|k| table_hash(0, k) & exact <= wild).unwrap();
        write_to(&mut h, true, (table_hash(0, &k) & wild) * 4 + 2, Some((&k, 0x77)));
        assert_eq!(lookup_in(&mut h, true, &k), (true, 0x77, 5));
        assert!(!lookup(&mut h, &k).0, "a wildcard entry was found by an exact lookup");
        write(&mut h, (table_hash(0, &k) & exact) * 4 + 2, Some((&k, 0x55)));
        assert_eq!(lookup(&mut h, &k), (true, 0x55, 5));
        assert_eq!(lookup_in(&mut h, true, &k), (true, 0x77, 5));
        // Clearing one leaves the other.
        write_to(&mut h, true, (table_hash(0, &k) & wild) * 4 + 2, None);
        assert!(!lookup_in(&mut h, true, &k).0);
        assert_eq!(lookup(&mut h, &k), (true, 0x55, 5));
        // Slot numbers past the wildcard table's end land on its own
        // buckets, never on the exact table's.
        let beyond = ((table_hash(1, &k) & wild) + (1 << WB)) * 4 + 1;
        write_to(&mut h, true, beyond, Some((&k, 0x99)));
        assert_eq!(lookup_in(&mut h, true, &k).1, 0x99);
        assert_eq!(lookup(&mut h, &k), (true, 0x55, 5));
    }

    #[test]
    fn filter_table_generates_verilog() {
        let mut uut = Table::new(WB);
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
