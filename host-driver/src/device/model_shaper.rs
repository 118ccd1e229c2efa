//! The transmit shaper of the `model` backend: `arsenic_hdl::shaping`'s
//! rules applied at the instant a turn is picked. It owns the SHAPE
//! registers' state and answers one question: at cycle `t`, which queue
//! with posted frames sends next, or from when on could one?
//!
//! Readings of the contract where it is silent, so the RTL can be held to
//! the same: a bucket whose rate is zero is neither refilled nor charged
//! (a queue without a ceiling keeps no debt that a later ceiling would
//! inherit), and a queue without a guarantee is never green whatever its
//! bucket holds. Deficits are kept while a queue is idle, as the contract
//! names no reset.

use arsenic_hdl::params::QUEUE_COUNT;
use arsenic_hdl::regmap;
use arsenic_hdl::shaping::{quantum, Bucket, ShapeSettings, RATE_FRAC_BITS, SHAPE_WORDS};

#[derive(Clone, Copy, Default)]
struct QueueShape {
    settings: ShapeSettings,
    guarantee: Bucket,
    ceiling: Bucket,
    /// Deficit round robin's credit, in wire bytes.
    deficit: i64,
    /// The cycle both buckets were last refilled to.
    updated: u64,
}

impl QueueShape {
    /// Refills both buckets to cycle `t`. `Bucket::refill` takes at most
    /// 2^24 cycles at a time, as the gateware's periodic updates never
    /// need more; the model updates lazily, so it refills in such steps
    /// and stops once a step changes nothing (both buckets full).
    fn refill(&mut self, t: u64) {
        let s = self.settings;
        let mut left = t.saturating_sub(self.updated);
        self.updated = self.updated.max(t);
        loop {
            let step = left.min(1 << RATE_FRAC_BITS);
            let before = (self.guarantee, self.ceiling);
            self.guarantee.refill(s.g_rate, s.g_burst, step);
            self.ceiling.refill(s.c_rate, s.c_burst, step);
            left -= step;
            if left == 0 || before == (self.guarantee, self.ceiling) {
                return;
            }
        }
    }

    fn ceiling_ok(&self) -> bool {
        self.settings.c_rate == 0 || self.ceiling.ok()
    }

    fn green(&self) -> bool {
        self.settings.g_rate != 0 && self.guarantee.ok() && self.ceiling_ok()
    }
}

/// The shaper's answer for one cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// `queue` takes a turn; `green` says which buckets it is charged to.
    Serve { queue: usize, green: bool },
    /// Queues have frames, but none may send before this cycle.
    At(u64),
    /// No queue has frames.
    Idle,
}

pub struct Shaper {
    queues: Vec<QueueShape>,
    staged: [u32; SHAPE_WORDS],
    /// The queue last given a green turn; the round robin goes on after it.
    last_green: usize,
    /// The queue deficit round robin is on.
    drr: usize,
}

impl Default for Shaper {
    fn default() -> Self {
        Self {
            queues: vec![QueueShape::default(); QUEUE_COUNT],
            staged: [0; SHAPE_WORDS],
            last_green: QUEUE_COUNT - 1,
            drr: QUEUE_COUNT - 1,
        }
    }
}

impl Shaper {
    pub fn staged(&self, word: usize) -> u32 {
        self.staged[word]
    }

    pub fn stage(&mut self, word: usize, value: u32) {
        self.staged[word] = value;
    }

    /// A write to `SHAPE_CMD` at cycle `now`. The buckets keep their
    /// tokens, refilled at the old rates up to `now` and capped at the new
    /// bursts at their next update.
    pub fn command(&mut self, now: u64, value: u32) {
        let queue = (value & regmap::SHAPE_CMD_QUEUE_MASK) as usize;
        let Some(q) = self.queues.get_mut(queue) else { return };
        if value & regmap::SHAPE_CMD_WRITE != 0 {
            q.refill(now);
            q.settings = ShapeSettings::from_words(&self.staged);
        }
        if value & regmap::SHAPE_CMD_READ != 0 {
            self.staged = q.settings.words();
        }
    }

    /// Refills the queues with work to cycle `t`; returns them, or what to
    /// answer if none of them may send at `t`.
    fn ready(&mut self, t: u64, has_work: &impl Fn(usize) -> bool) -> Result<Vec<usize>, Pick> {
        let work: Vec<usize> = (0..QUEUE_COUNT).filter(|&q| has_work(q)).collect();
        if work.is_empty() {
            return Err(Pick::Idle);
        }
        for &q in &work {
            self.queues[q].refill(t);
        }
        if work.iter().any(|&q| self.queues[q].ceiling_ok()) {
            return Ok(work);
        }
        // Nobody is ceiling-ok, so every queue with work has a ceiling (and
        // none is green): the first to refill to its admission goes next.
        let wait = work.iter().filter_map(|&q| self.queues[q].ceiling.cycles_until_ok(self.queues[q].settings.c_rate));
        Err(wait.min().map_or(Pick::Idle, |w| Pick::At(t + w)))
    }

    /// Whether a turn could be taken at `t`, without taking it: `Serve`
    /// names some queue that could, not necessarily the one `pick` will.
    pub fn peek(&mut self, t: u64, has_work: impl Fn(usize) -> bool) -> Pick {
        match self.ready(t, &has_work) {
            Ok(work) => Pick::Serve { queue: work[0], green: self.queues[work[0]].green() },
            Err(p) => p,
        }
    }

    /// The turn at cycle `t` among the queues for which `has_work` holds:
    /// green queues round robin first, else the yellow ones by deficit
    /// round robin. `t` must not go back in time between calls.
    pub fn pick(&mut self, t: u64, has_work: impl Fn(usize) -> bool) -> Pick {
        if let Err(p) = self.ready(t, &has_work) {
            return p;
        }
        let after = |from: usize, i: usize| (from + i) % QUEUE_COUNT;
        let green = (1..=QUEUE_COUNT).map(|i| after(self.last_green, i)).find(|&q| has_work(q) && self.queues[q].green());
        if let Some(queue) = green {
            self.last_green = queue;
            return Pick::Serve { queue, green: true };
        }
        let yellow: Vec<bool> = (0..QUEUE_COUNT).map(|q| has_work(q) && self.queues[q].ceiling_ok()).collect();
        if yellow[self.drr] && self.queues[self.drr].deficit >= 0 {
            return Pick::Serve { queue: self.drr, green: false };
        }
        // Visit the yellow queues after the current one, in turn (`ready`
        // found at least one). Deficits never fall below minus one frame
        // and a quantum exceeds a frame, so the first visit settles it.
        loop {
            let next = (1..=QUEUE_COUNT).map(|i| after(self.drr, i)).find(|&q| yellow[q]);
            let Some(queue) = next else { return Pick::Idle };
            self.drr = queue;
            let q = &mut self.queues[queue];
            q.deficit += quantum(q.settings.weight) as i64;
            if q.deficit >= 0 {
                return Pick::Serve { queue, green: false };
            }
        }
    }

    /// Charges a turn that put `wire_bytes` on the wire.
    pub fn charge(&mut self, queue: usize, green: bool, wire_bytes: u32) {
        let q = &mut self.queues[queue];
        if q.settings.c_rate != 0 {
            q.ceiling.charge(wire_bytes);
        }
        if green {
            q.guarantee.charge(wire_bytes);
        } else {
            q.deficit -= wire_bytes as i64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arsenic_hdl::shaping::{wire_bytes, ADMIT_BYTES, LINE_RATE};

    fn set(s: &mut Shaper, queue: u32, settings: ShapeSettings) {
        for (i, w) in settings.words().iter().enumerate() {
            s.stage(i, *w);
        }
        s.command(0, regmap::SHAPE_CMD_WRITE | queue);
    }

    #[test]
    fn green_goes_first_and_a_ceiling_makes_a_queue_wait() {
        let mut s = Shaper::default();
        set(&mut s, 1, ShapeSettings { g_rate: LINE_RATE / 16, g_burst: 4000, ..Default::default() });
        set(&mut s, 2, ShapeSettings { c_rate: LINE_RATE / 64, c_burst: 4000, ..Default::default() });
        // At 0 no bucket has tokens: queue 1 is yellow (no ceiling), queue 2 waits.
        assert_eq!(s.pick(0, |q| q == 2), Pick::At(ADMIT_BYTES as u64 * 64));
        assert_eq!(s.pick(0, |q| q == 1 || q == 2), Pick::Serve { queue: 1, green: false });
        // Once its guarantee holds an admission, queue 1 is green and first.
        let t = ADMIT_BYTES as u64 * 64;
        assert_eq!(s.pick(t, |q| q == 1 || q == 2), Pick::Serve { queue: 1, green: true });
        s.charge(1, true, wire_bytes(1514));
        // 4000 - 1538 bytes still admit a frame; after another, queue 1 is
        // only yellow.
        assert_eq!(s.pick(t, |q| q == 1 || q == 2), Pick::Serve { queue: 1, green: true });
        s.charge(1, true, wire_bytes(1514));
        // Deficit round robin: queue 1 keeps its turn (a 2048-byte quantum
        // from the visit at cycle 0, never charged) until its deficit goes
        // negative, then queue 2 is visited.
        for _ in 0..2 {
            assert_eq!(s.pick(t, |q| q == 1 || q == 2), Pick::Serve { queue: 1, green: false });
            s.charge(1, false, wire_bytes(1514));
        }
        assert_eq!(s.pick(t, |q| q == 1 || q == 2), Pick::Serve { queue: 2, green: false });
        assert_eq!(s.pick(t, |_| false), Pick::Idle);
    }

    #[test]
    fn reading_back_gives_what_the_registers_keep() {
        let mut s = Shaper::default();
        for (i, w) in [u32::MAX, 5000, 7, 6000, 0x1FF].iter().enumerate() {
            s.stage(i, *w);
        }
        s.command(0, regmap::SHAPE_CMD_WRITE | 3);
        s.stage(0, 0);
        s.command(0, regmap::SHAPE_CMD_READ | 3);
        assert_eq!((0..SHAPE_WORDS).map(|i| s.staged(i)).collect::<Vec<_>>(), [(1 << 28) - 1, 5000, 7, 6000, 0xFF]);
        s.command(0, regmap::SHAPE_CMD_READ | 4000);
        assert_eq!(s.staged(1), 5000, "a queue past the last is ignored");
    }
}
