//! One token bucket's update, in one cycle of combinational logic: the
//! shaper runs it for the guarantee and for the ceiling of the queue its
//! pipeline holds (`tx_shaper`).
//!
//! `result = min(tokens + rate * elapsed + add, burst << 24 - (charge ? ADMIT << 24 : 0))`,
//! compared as signed: the refill, its cap and the operation folded into
//! one sum and one cap (capping before or after a refund is the same cap,
//! and a turn takes its admission off a value already capped), exactly
//! `shaping::Bucket`'s refill then charge or refund. `admit` says `result`
//! holds an admission. The multiply is five 2-bit partial products of
//! `elapsed` (0, r, 2r, 3r) summed as a tree: rust-hdl has no multiplier,
//! and this keeps it to adders a synthesiser can lay out.

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
    assert!(BURST_BITS as usize + RATE_FRAC_BITS as usize + 1 <= TOKEN_BITS - 1);
    assert!(RATE_BITS as usize + ELAPSED_BITS < (BURST_BITS + RATE_FRAC_BITS) as usize);
};

#[derive(LogicBlock)]
pub struct TokenBucket {
    pub tokens: Signal<In, Bits<TOKEN_BITS>>,
    pub rate: Signal<In, Bits<28>>,
    pub burst: Signal<In, Bits<22>>,
    pub elapsed: Signal<In, Bits<ELAPSED_BITS>>,
    /// The operation's signed change, in token units.
    pub add: Signal<In, Bits<TOKEN_BITS>>,
    /// A turn: the result must leave room for the admission it took.
    pub charge: Signal<In, Bit>,
    pub result: Signal<Out, Bits<TOKEN_BITS>>,
    pub admit: Signal<Out, Bit>,
    admit_tok: Constant<Bits<TOKEN_BITS>>,
    /// The sign bit, flipped to compare signed counts as unsigned.
    flip: Constant<Bits<TOKEN_BITS>>,
    r1: Signal<Local, Bits<38>>,
    r3: Signal<Local, Bits<38>>,
    pp0: Signal<Local, Bits<38>>,
    pp1: Signal<Local, Bits<38>>,
    pp2: Signal<Local, Bits<38>>,
    pp3: Signal<Local, Bits<38>>,
    pp4: Signal<Local, Bits<38>>,
    product: Signal<Local, Bits<38>>,
    sum: Signal<Local, Bits<TOKEN_BITS>>,
    cap: Signal<Local, Bits<TOKEN_BITS>>,
    lim: Signal<Local, Bits<TOKEN_BITS>>,
}

impl Default for TokenBucket {
    fn default() -> Self {
        Self {
            tokens: Default::default(),
            rate: Default::default(),
            burst: Default::default(),
            elapsed: Default::default(),
            add: Default::default(),
            charge: Default::default(),
            result: Default::default(),
            admit: Default::default(),
            admit_tok: Constant::new(((ADMIT_BYTES as u64) << RATE_FRAC_BITS).into()),
            flip: Constant::new((1u64 << (TOKEN_BITS - 1)).into()),
            r1: Default::default(),
            r3: Default::default(),
            pp0: Default::default(),
            pp1: Default::default(),
            pp2: Default::default(),
            pp3: Default::default(),
            pp4: Default::default(),
            product: Default::default(),
            sum: Default::default(),
            cap: Default::default(),
            lim: Default::default(),
        }
    }
}

impl Logic for TokenBucket {
    #[hdl_gen]
    fn update(&mut self) {
        self.r1.next = bit_cast::<38, 28>(self.rate.val());
        self.r3.next = self.r1.val() + (self.r1.val() << 1);
        self.pp0.next = 0.into();
        if self.elapsed.val().get_bits::<2>(0) == 1 {
            self.pp0.next = self.r1.val();
        }
        if self.elapsed.val().get_bits::<2>(0) == 2 {
            self.pp0.next = self.r1.val() << 1;
        }
        if self.elapsed.val().get_bits::<2>(0) == 3 {
            self.pp0.next = self.r3.val();
        }
        self.pp1.next = 0.into();
        if self.elapsed.val().get_bits::<2>(2) == 1 {
            self.pp1.next = self.r1.val() << 2;
        }
        if self.elapsed.val().get_bits::<2>(2) == 2 {
            self.pp1.next = self.r1.val() << 3;
        }
        if self.elapsed.val().get_bits::<2>(2) == 3 {
            self.pp1.next = self.r3.val() << 2;
        }
        self.pp2.next = 0.into();
        if self.elapsed.val().get_bits::<2>(4) == 1 {
            self.pp2.next = self.r1.val() << 4;
        }
        if self.elapsed.val().get_bits::<2>(4) == 2 {
            self.pp2.next = self.r1.val() << 5;
        }
        if self.elapsed.val().get_bits::<2>(4) == 3 {
            self.pp2.next = self.r3.val() << 4;
        }
        self.pp3.next = 0.into();
        if self.elapsed.val().get_bits::<2>(6) == 1 {
            self.pp3.next = self.r1.val() << 6;
        }
        if self.elapsed.val().get_bits::<2>(6) == 2 {
            self.pp3.next = self.r1.val() << 7;
        }
        if self.elapsed.val().get_bits::<2>(6) == 3 {
            self.pp3.next = self.r3.val() << 6;
        }
        self.pp4.next = 0.into();
        if self.elapsed.val().get_bits::<2>(8) == 1 {
            self.pp4.next = self.r1.val() << 8;
        }
        if self.elapsed.val().get_bits::<2>(8) == 2 {
            self.pp4.next = self.r1.val() << 9;
        }
        if self.elapsed.val().get_bits::<2>(8) == 3 {
            self.pp4.next = self.r3.val() << 8;
        }
        self.product.next = ((self.pp0.val() + self.pp1.val()) + (self.pp2.val() + self.pp3.val())) + self.pp4.val();
        self.sum.next = (self.tokens.val() + self.add.val()) + bit_cast::<48, 38>(self.product.val());
        self.cap.next = bit_cast::<48, 22>(self.burst.val()) << 24;
        self.lim.next = self.cap.val();
        if self.charge.val() {
            self.lim.next = self.cap.val() - self.admit_tok.val();
        }
        self.result.next = self.lim.val();
        if (self.sum.val() ^ self.flip.val()) < (self.lim.val() ^ self.flip.val()) {
            self.result.next = self.sum.val();
        }
        self.admit.next = !self.sum.val().get_bit(47)
            & (self.sum.val() >= self.admit_tok.val())
            & !self.lim.val().get_bit(47)
            & (self.lim.val() >= self.admit_tok.val());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Rng;
    use crate::shaping::{Bucket, LINE_RATE};

    fn wrap(t: i64) -> u64 {
        (t as u64) & ((1 << TOKEN_BITS) - 1)
    }

    fn signed(v: u64) -> i64 {
        ((v << (64 - TOKEN_BITS)) as i64) >> (64 - TOKEN_BITS)
    }

    /// Refill, then a turn, a refund or nothing: exactly `shaping::Bucket`.
    #[test]
    fn matches_the_contract_s_arithmetic() {
        let mut x = TokenBucket::default();
        x.connect_all();
        check_all(&x).unwrap();
        let mut rng = Rng(0x5EED_B0C7);
        for _ in 0..20_000 {
            let burst = ([0u64, 3092, 8192, (1 << 22) - 1][rng.below(4) as usize] + rng.below(5000)).min((1 << 22) - 1);
            let burst = burst as u32;
            let rate = [0, 1, 16777, LINE_RATE, (1 << 28) - 1][rng.below(5) as usize];
            let rate = if rate > 16 && rng.below(2) == 0 { rate - rng.below(16) as u32 } else { rate };
            let elapsed = if rng.below(2) == 0 { rng.below(1024) } else { [0, 1, 64, 1023][rng.below(4) as usize] };
            // What the state RAM can hold: at most the burst, at least a few
            // admissions in debt.
            let tokens = ((rng.below(burst as u64 + 4000) as i64 - 4000) << 24) | rng.below(1 << 24) as i64;
            let bytes = rng.below(ADMIT_BYTES as u64 + 1) as u32;
            let mut want = Bucket { tokens };
            want.refill(rate, burst, elapsed);
            let (add, charge) = match rng.below(3) {
                0 => (0, false),
                1 => {
                    want.charge(ADMIT_BYTES);
                    (-((ADMIT_BYTES as i64) << 24), true)
                }
                _ => {
                    want.refund(bytes, burst);
                    ((bytes as i64) << 24, false)
                }
            };
            x.tokens.next = wrap(tokens).into();
            x.rate.next = (rate as u64).into();
            x.burst.next = (burst as u64).into();
            x.elapsed.next = elapsed.into();
            x.add.next = wrap(add).into();
            x.charge.next = charge;
            assert!(simulate(&mut x, 100), "did not settle");
            let case = format!("tokens {tokens}, rate {rate}, burst {burst}, elapsed {elapsed}, add {add}, charge {charge}");
            assert_eq!(signed(u64::from(x.result.val())), want.tokens, "{case}");
            assert_eq!(x.admit.val(), want.ok(), "{case}");
        }
    }

    #[test]
    fn generates_verilog() {
        let mut uut = TokenBucket::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        assert!(generate_verilog(&uut).contains("module top"));
    }
}
