//! One token bucket's update, as a three-stage pipeline: the shaper
//! (`tx_shaper`) runs one for the guarantee and one for the ceiling of the
//! queue in each of its stages.
//!
//! The update is `shaping::Bucket`'s refill then charge, refund or nothing:
//! `result = min(tokens + rate * elapsed + add, lim)` compared as signed, with
//! `lim = burst << 24 - (charge ? ADMIT << 24 : 0)` (capping before or after a
//! refund is the same cap, and a turn takes its admission off a value
//! already capped), and `admit` says `result` holds an admission.
//!
//! - Cycle k: `diff` (cycles since the bucket's last update, mod 2^16; the
//!   refill counts at most 1023 of them), `rate`, `burst`, `add` (the
//!   operation's signed change), `charge` (a turn), `empty` (no guarantee:
//!   the bucket counts from 0 and never admits) and `full` (no ceiling: it
//!   counts from its burst and always admits). The rate's partial products
//!   and everything that does not need the tokens are worked out here.
//! - Cycle k+1: `tokens`, the count before the update, or `chain`: the
//!   update of cycle k-1 (on `result` now) is this one's count, so updates
//!   of one bucket can follow each other every cycle. The product is summed.
//! - Cycle k+2: `result` and `admit`, from registers through one carry-save
//!   layer and one carry chain per output: the only part of the update
//!   that waits for the tokens.
//!
//! rust-hdl has no multiplier: `rate * elapsed` is five 2-bit partial
//! products of `elapsed` (0, r, 2r, 3r) summed as a tree. Comparisons are
//! moved ahead of the tokens: `tokens + A < lim` is the sign of
//! `tokens + s + (add + p4 - lim)` with `A = s + add + p4`, the sum of the
//! partial products split so that the last addition is a three-input one.
//! They are done in 50 bits so that no operand range wraps.

use crate::shaping::{ADMIT_BYTES, BURST_BITS, RATE_BITS, RATE_FRAC_BITS};
use rust_hdl::prelude::*;

/// Token counts: signed, 2^-24 bytes. Bursts are below 2^46 units, a refill
/// adds below 2^38 and a refund below 2^36, so 48 bits never wrap.
pub const TOKEN_BITS: usize = 48;
/// Elapsed cycles a refill counts at most.
pub const ELAPSED_BITS: usize = 10;

// Literals in the kernel below stand for these.
const _: () = {
    assert!(RATE_FRAC_BITS == 24 && RATE_BITS == 28 && BURST_BITS == 22);
    assert!(TOKEN_BITS == 48 && ELAPSED_BITS == 10);
    // cap + refill + refund < 2^46 + 2^46 fits a signed 48-bit count.
    assert!((BURST_BITS as usize) + (RATE_FRAC_BITS as usize) < TOKEN_BITS - 1);
    assert!(RATE_BITS as usize + ELAPSED_BITS < (BURST_BITS + RATE_FRAC_BITS) as usize);
    // `lim_ok`'s thresholds fit the burst's width.
    assert!(2 * ADMIT_BYTES < 1 << BURST_BITS);
};

#[derive(LogicBlock)]
pub struct TokenBucket {
    pub clock: Signal<In, Clock>,
    // Cycle k.
    pub diff: Signal<In, Bits<16>>,
    pub rate: Signal<In, Bits<28>>,
    pub burst: Signal<In, Bits<22>>,
    /// The operation's signed change, in token units.
    pub add: Signal<In, Bits<TOKEN_BITS>>,
    /// A turn: the result must leave room for the admission it took.
    pub charge: Signal<In, Bit>,
    /// Count from 0, never admit (a zero guaranteed rate).
    pub empty: Signal<In, Bit>,
    /// Count from the burst, always admit (a zero ceiling rate).
    pub full: Signal<In, Bit>,
    // Cycle k+1.
    pub tokens: Signal<In, Bits<TOKEN_BITS>>,
    /// Count from `result` (the previous update) instead of `tokens`.
    pub chain: Signal<In, Bit>,
    // Cycle k+2.
    pub result: Signal<Out, Bits<TOKEN_BITS>>,
    pub admit: Signal<Out, Bit>,
    admit_tok: Constant<Bits<TOKEN_BITS>>,
    admit_tok50: Constant<Bits<50>>,
    /// The two bits a negative count gains in 50 bits.
    ext: Constant<Bits<50>>,
    low48: Constant<Bits<50>>,
    one_admit: Constant<Bits<22>>,
    two_admits: Constant<Bits<22>>,
    r1: Signal<Local, Bits<30>>,
    r3: Signal<Local, Bits<30>>,
    pa0: Signal<Local, Bits<30>>,
    pa1: Signal<Local, Bits<30>>,
    pa2: Signal<Local, Bits<30>>,
    pa3: Signal<Local, Bits<30>>,
    pa4: Signal<Local, Bits<30>>,
    cap: Signal<Local, Bits<TOKEN_BITS>>,
    lim: Signal<Local, Bits<TOKEN_BITS>>,
    lim_ok: Signal<Local, Bit>,
    add_hi: Signal<Local, Bits<50>>,
    add50: Signal<Local, Bits<50>>,
    lim_hi: Signal<Local, Bits<50>>,
    lim50: Signal<Local, Bits<50>>,
    // Cycle k+1's registers: partial products (each 0, 1, 2 or 3 times the
    // rate), and the operation's terms with the cap and the admission
    // taken off.
    b_pp0: DFF<Bits<30>>,
    b_pp1: DFF<Bits<30>>,
    b_pp2: DFF<Bits<30>>,
    b_pp3: DFF<Bits<30>>,
    b_pp4: DFF<Bits<30>>,
    /// 1023 cycles or more: every digit of `elapsed` is 3.
    b_hi: DFF<Bit>,
    b_r3: DFF<Bits<30>>,
    b_add: DFF<Bits<TOKEN_BITS>>,
    b_add_l: DFF<Bits<50>>,
    b_add_m: DFF<Bits<50>>,
    /// 2^48 times this (0, +1 or -1) forces the admission's comparison.
    b_f: DFF<Bits<2>>,
    b_lim: DFF<Bits<TOKEN_BITS>>,
    b_ovr: DFF<Bit>,
    b_ovr_tok: DFF<Bits<TOKEN_BITS>>,
    q0: Signal<Local, Bits<30>>,
    q1: Signal<Local, Bits<30>>,
    q2: Signal<Local, Bits<30>>,
    q3: Signal<Local, Bits<30>>,
    q4: Signal<Local, Bits<30>>,
    x01: Signal<Local, Bits<38>>,
    x23: Signal<Local, Bits<38>>,
    q4s: Signal<Local, Bits<TOKEN_BITS>>,
    q4s50: Signal<Local, Bits<50>>,
    e_m0: Signal<Local, Bits<50>>,
    top2: Signal<Local, Bits<2>>,
    other: Signal<Local, Bits<TOKEN_BITS>>,
    // Cycle k+2's registers: the refill's partial sum `s`, the rest of the
    // change `e = add + p4`, and `e - lim`, `e - ADMIT` (forced).
    c_s: DFF<Bits<38>>,
    c_e: DFF<Bits<TOKEN_BITS>>,
    c_el: DFF<Bits<50>>,
    c_em: DFF<Bits<50>>,
    c_lim: DFF<Bits<TOKEN_BITS>>,
    c_tok: DFF<Bits<TOKEN_BITS>>,
    t_hi: Signal<Local, Bits<50>>,
    t50: Signal<Local, Bits<50>>,
    s48: Signal<Local, Bits<TOKEN_BITS>>,
    s50: Signal<Local, Bits<50>>,
    sum: Signal<Local, Bits<TOKEN_BITS>>,
    lt50: Signal<Local, Bits<50>>,
    am50: Signal<Local, Bits<50>>,
}

impl Default for TokenBucket {
    fn default() -> Self {
        let admit_tok = (ADMIT_BYTES as u64) << RATE_FRAC_BITS;
        Self {
            clock: Default::default(),
            diff: Default::default(),
            rate: Default::default(),
            burst: Default::default(),
            add: Default::default(),
            charge: Default::default(),
            empty: Default::default(),
            full: Default::default(),
            tokens: Default::default(),
            chain: Default::default(),
            result: Default::default(),
            admit: Default::default(),
            admit_tok: Constant::new(admit_tok.into()),
            admit_tok50: Constant::new(admit_tok.into()),
            ext: Constant::new((3u64 << TOKEN_BITS).into()),
            low48: Constant::new(((1u64 << TOKEN_BITS) - 1).into()),
            one_admit: Constant::new((ADMIT_BYTES as u64).into()),
            two_admits: Constant::new((2 * ADMIT_BYTES as u64).into()),
            r1: Default::default(),
            r3: Default::default(),
            pa0: Default::default(),
            pa1: Default::default(),
            pa2: Default::default(),
            pa3: Default::default(),
            pa4: Default::default(),
            cap: Default::default(),
            lim: Default::default(),
            lim_ok: Default::default(),
            add_hi: Default::default(),
            add50: Default::default(),
            lim_hi: Default::default(),
            lim50: Default::default(),
            b_pp0: Default::default(),
            b_pp1: Default::default(),
            b_pp2: Default::default(),
            b_pp3: Default::default(),
            b_pp4: Default::default(),
            b_hi: Default::default(),
            b_r3: Default::default(),
            b_add: Default::default(),
            b_add_l: Default::default(),
            b_add_m: Default::default(),
            b_f: Default::default(),
            b_lim: Default::default(),
            b_ovr: Default::default(),
            b_ovr_tok: Default::default(),
            q0: Default::default(),
            q1: Default::default(),
            q2: Default::default(),
            q3: Default::default(),
            q4: Default::default(),
            x01: Default::default(),
            x23: Default::default(),
            q4s: Default::default(),
            q4s50: Default::default(),
            e_m0: Default::default(),
            top2: Default::default(),
            other: Default::default(),
            c_s: Default::default(),
            c_e: Default::default(),
            c_el: Default::default(),
            c_em: Default::default(),
            c_lim: Default::default(),
            c_tok: Default::default(),
            t_hi: Default::default(),
            t50: Default::default(),
            s48: Default::default(),
            s50: Default::default(),
            sum: Default::default(),
            lt50: Default::default(),
            am50: Default::default(),
        }
    }
}

impl Logic for TokenBucket {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, b_pp0, b_pp1, b_pp2, b_pp3, b_pp4, b_hi, b_r3, b_add, b_add_l, b_add_m, b_f, b_lim, b_ovr,
            b_ovr_tok, c_s, c_e, c_el, c_em, c_lim, c_tok
        );
        // Cycle k: partial products of the unclamped difference (the clamp
        // is applied to them next cycle), the cap and the comparisons'
        // constant terms.
        self.r1.next = bit_cast::<30, 28>(self.rate.val());
        self.r3.next = self.r1.val() + (self.r1.val() << 1);
        self.pa0.next = 0.into();
        if self.diff.val().get_bits::<2>(0) == 1 {
            self.pa0.next = self.r1.val();
        }
        if self.diff.val().get_bits::<2>(0) == 2 {
            self.pa0.next = self.r1.val() << 1;
        }
        if self.diff.val().get_bits::<2>(0) == 3 {
            self.pa0.next = self.r3.val();
        }
        self.pa1.next = 0.into();
        if self.diff.val().get_bits::<2>(2) == 1 {
            self.pa1.next = self.r1.val();
        }
        if self.diff.val().get_bits::<2>(2) == 2 {
            self.pa1.next = self.r1.val() << 1;
        }
        if self.diff.val().get_bits::<2>(2) == 3 {
            self.pa1.next = self.r3.val();
        }
        self.pa2.next = 0.into();
        if self.diff.val().get_bits::<2>(4) == 1 {
            self.pa2.next = self.r1.val();
        }
        if self.diff.val().get_bits::<2>(4) == 2 {
            self.pa2.next = self.r1.val() << 1;
        }
        if self.diff.val().get_bits::<2>(4) == 3 {
            self.pa2.next = self.r3.val();
        }
        self.pa3.next = 0.into();
        if self.diff.val().get_bits::<2>(6) == 1 {
            self.pa3.next = self.r1.val();
        }
        if self.diff.val().get_bits::<2>(6) == 2 {
            self.pa3.next = self.r1.val() << 1;
        }
        if self.diff.val().get_bits::<2>(6) == 3 {
            self.pa3.next = self.r3.val();
        }
        self.pa4.next = 0.into();
        if self.diff.val().get_bits::<2>(8) == 1 {
            self.pa4.next = self.r1.val();
        }
        if self.diff.val().get_bits::<2>(8) == 2 {
            self.pa4.next = self.r1.val() << 1;
        }
        if self.diff.val().get_bits::<2>(8) == 3 {
            self.pa4.next = self.r3.val();
        }
        self.b_pp0.d.next = self.pa0.val();
        self.b_pp1.d.next = self.pa1.val();
        self.b_pp2.d.next = self.pa2.val();
        self.b_pp3.d.next = self.pa3.val();
        self.b_pp4.d.next = self.pa4.val();
        self.b_hi.d.next = self.diff.val().get_bits::<6>(10) != 0;
        self.b_r3.d.next = self.r3.val();
        self.cap.next = bit_cast::<48, 22>(self.burst.val()) << 24;
        self.lim.next = self.cap.val();
        self.lim_ok.next = self.burst.val() >= self.one_admit.val();
        if self.charge.val() {
            self.lim.next = self.cap.val() - self.admit_tok.val();
            self.lim_ok.next = self.burst.val() >= self.two_admits.val();
        }
        self.add_hi.next = 0.into();
        if self.add.val().get_bit(47) {
            self.add_hi.next = self.ext.val();
        }
        self.add50.next = bit_cast::<50, 48>(self.add.val()) | self.add_hi.val();
        self.lim_hi.next = 0.into();
        if self.lim.val().get_bit(47) {
            self.lim_hi.next = self.ext.val();
        }
        self.lim50.next = bit_cast::<50, 48>(self.lim.val()) | self.lim_hi.val();
        self.b_add.d.next = self.add.val();
        self.b_add_l.d.next = self.add50.val() - self.lim50.val();
        self.b_add_m.d.next = self.add50.val() - self.admit_tok50.val();
        self.b_f.d.next = 0.into();
        if !self.lim_ok.val() | self.empty.val() {
            self.b_f.d.next = 3.into();
        }
        if self.full.val() {
            self.b_f.d.next = 1.into();
        }
        self.b_lim.d.next = self.lim.val();
        self.b_ovr.d.next = self.empty.val() | self.full.val();
        self.b_ovr_tok.d.next = 0.into();
        if self.full.val() {
            self.b_ovr_tok.d.next = self.cap.val();
        }

        // Cycle k+1: the clamp, and the product summed down to `s` and `p4`.
        self.q0.next = self.b_pp0.q.val();
        self.q1.next = self.b_pp1.q.val();
        self.q2.next = self.b_pp2.q.val();
        self.q3.next = self.b_pp3.q.val();
        self.q4.next = self.b_pp4.q.val();
        if self.b_hi.q.val() {
            self.q0.next = self.b_r3.q.val();
            self.q1.next = self.b_r3.q.val();
            self.q2.next = self.b_r3.q.val();
            self.q3.next = self.b_r3.q.val();
            self.q4.next = self.b_r3.q.val();
        }
        self.x01.next = bit_cast::<38, 30>(self.q0.val()) + (bit_cast::<38, 30>(self.q1.val()) << 2);
        self.x23.next = (bit_cast::<38, 30>(self.q2.val()) << 4) + (bit_cast::<38, 30>(self.q3.val()) << 6);
        self.c_s.d.next = self.x01.val() + self.x23.val();
        self.q4s.next = bit_cast::<48, 30>(self.q4.val()) << 8;
        self.q4s50.next = bit_cast::<50, 30>(self.q4.val()) << 8;
        self.c_e.d.next = self.b_add.q.val() + self.q4s.val();
        self.c_el.d.next = self.b_add_l.q.val() + self.q4s50.val();
        self.e_m0.next = self.b_add_m.q.val() + self.q4s50.val();
        self.top2.next = self.e_m0.val().get_bits::<2>(48) + self.b_f.q.val();
        self.c_em.d.next = (self.e_m0.val() & self.low48.val()) | (bit_cast::<50, 2>(self.top2.val()) << 48);

        // Cycle k+2: three-input sums as one carry-save layer and a chain.
        self.t_hi.next = 0.into();
        if self.c_tok.q.val().get_bit(47) {
            self.t_hi.next = self.ext.val();
        }
        self.t50.next = bit_cast::<50, 48>(self.c_tok.q.val()) | self.t_hi.val();
        self.s48.next = bit_cast::<48, 38>(self.c_s.q.val());
        self.s50.next = bit_cast::<50, 38>(self.c_s.q.val());
        self.sum.next = (self.c_tok.q.val() ^ self.s48.val() ^ self.c_e.q.val())
            + (((self.c_tok.q.val() & self.s48.val())
                | (self.c_tok.q.val() & self.c_e.q.val())
                | (self.s48.val() & self.c_e.q.val()))
                << 1);
        self.lt50.next = (self.t50.val() ^ self.s50.val() ^ self.c_el.q.val())
            + (((self.t50.val() & self.s50.val())
                | (self.t50.val() & self.c_el.q.val())
                | (self.s50.val() & self.c_el.q.val()))
                << 1);
        self.am50.next = (self.t50.val() ^ self.s50.val() ^ self.c_em.q.val())
            + (((self.t50.val() & self.s50.val())
                | (self.t50.val() & self.c_em.q.val())
                | (self.s50.val() & self.c_em.q.val()))
                << 1);
        self.result.next = self.c_lim.q.val();
        if self.lt50.val().get_bit(49) {
            self.result.next = self.sum.val();
        }
        self.admit.next = !self.am50.val().get_bit(49);

        // Cycle k+1, last: the count this update starts from (after the
        // result it may chain on has been worked out above).
        self.c_lim.d.next = self.b_lim.q.val();
        self.other.next = self.tokens.val();
        if self.b_ovr.q.val() {
            self.other.next = self.b_ovr_tok.q.val();
        }
        self.c_tok.d.next = self.other.val();
        if self.chain.val() & !self.b_ovr.q.val() {
            self.c_tok.d.next = self.result.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};
    use crate::shaping::{Bucket, LINE_RATE};

    fn wrap(t: i64) -> u64 {
        (t as u64) & ((1 << TOKEN_BITS) - 1)
    }

    fn signed(v: u64) -> i64 {
        ((v << (64 - TOKEN_BITS)) as i64) >> (64 - TOKEN_BITS)
    }

    /// One update's inputs, for the failure message.
    #[derive(Clone, Copy, Debug)]
    #[allow(dead_code)]
    struct Update {
        tokens: i64,
        chain: bool,
        rate: u32,
        burst: u32,
        diff: u64,
        add: i64,
        charge: bool,
        /// 0 none, 1 turn, 2 refund of `bytes`.
        kind: u32,
        bytes: u32,
        empty: bool,
        full: bool,
    }

    /// Refill, then a turn, a refund or nothing, one update a cycle, some
    /// counting from the one before: exactly `shaping::Bucket`.
    #[test]
    fn matches_the_contract_s_arithmetic() {
        let mut h = Harness::new(TokenBucket::default(), |b| &mut b.clock);
        let mut rng = Rng(0x5EED_B0C7);
        let mut ups: Vec<Update> = vec![];
        let mut want: Vec<(i64, bool)> = vec![];
        let n = 20_000;
        let mut chained = 0;
        for k in 0..n + 2 {
            if k >= 2 {
                let (tok, ok) = want[k - 2];
                let u = ups[k - 2];
                let case = format!("update {}: {u:?}", k - 2);
                assert_eq!(signed(u64::from(h.uut.result.val())), tok, "{case}");
                assert_eq!(h.uut.admit.val(), ok, "{case}");
            }
            if k < n {
                let burst = ([0u64, 3092, 8192, (1 << 22) - 1][rng.below(4) as usize] + rng.below(5000)).min((1 << 22) - 1);
                let burst = burst as u32;
                let mut rate = [0, 1, 16777, LINE_RATE, (1 << 28) - 1][rng.below(5) as usize];
                if rate > 16 && rng.below(2) == 0 {
                    rate -= rng.below(16) as u32;
                }
                let diff = match rng.below(4) {
                    0 => rng.below(1 << 16),
                    1 => rng.below(1024),
                    2 => [0, 1, 64, 1023, 1024, 65535][rng.below(6) as usize],
                    _ => 1 + rng.below(6),
                };
                // What the state RAM can hold: at most the burst, at least
                // a few admissions in debt.
                let tokens = ((rng.below(burst as u64 + 4000) as i64 - 4000) << 24) | rng.below(1 << 24) as i64;
                let kind = rng.below(3) as u32;
                let bytes = rng.below(4096) as u32;
                let (add, charge) = match kind {
                    0 => (0, false),
                    1 => (-((ADMIT_BYTES as i64) << 24), true),
                    _ => ((bytes as i64) << 24, false),
                };
                let (empty, full) = match rng.below(8) {
                    0 => (true, false),
                    1 => (false, true),
                    _ => (false, false),
                };
                if empty || full {
                    rate = 0;
                }
                let chain = k > 0 && rng.below(2) == 0;
                chained += chain as u32;
                let u = Update { tokens, chain, rate, burst, diff, add, charge, kind, bytes, empty, full };
                let start = if full {
                    (burst as i64) << 24
                } else if empty {
                    0
                } else if chain {
                    want[k - 1].0
                } else {
                    tokens
                };
                let mut b = Bucket { tokens: start };
                b.refill(rate, burst, diff.min(1023));
                match kind {
                    1 => b.charge(ADMIT_BYTES),
                    2 => b.refund(bytes, burst),
                    _ => {}
                }
                let ok = full || (!empty && b.ok());
                want.push((b.tokens, ok));
                ups.push(u);
                let x = &mut h.uut;
                x.diff.next = diff.into();
                x.rate.next = (rate as u64).into();
                x.burst.next = (burst as u64).into();
                x.add.next = wrap(add).into();
                x.charge.next = charge;
                x.empty.next = empty;
                x.full.next = full;
            }
            if k >= 1 && k <= n {
                let u = ups[k - 1];
                h.uut.tokens.next = wrap(u.tokens).into();
                h.uut.chain.next = u.chain;
            }
            h.cycle();
        }
        assert!(chained > n as u32 / 3);
    }

    #[test]
    fn generates_verilog() {
        let mut uut = TokenBucket::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        assert!(generate_verilog(&uut).contains("module top"));
    }
}
