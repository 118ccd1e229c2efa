//! A store-and-forward frame FIFO in block RAM.
//!
//! Frames are written as they arrive and become visible to the reader only
//! once their last beat is in and good: a frame flagged `error`, or one that
//! finds the buffer full, is rolled back as if it never arrived, so the
//! reader only ever sees whole, good frames. The writer is never stalled,
//! which is what a MAC receive port needs.
//!
//! Read side: the RAM answers one cycle after it is addressed, so fetched
//! words land in a two-entry output stage (head and spare). A fetch is only
//! issued when the stage is sure to have room, which keeps one beat per cycle
//! flowing while the consumer is ready and loses nothing when it stalls.
//! The stage is two slots used in turn rather than a head fed from a spare,
//! so the block RAM's late read data goes straight into a register, and
//! `frames_out` is one multiplexer level after registers.

use crate::params::DATA_BITS;
use crate::ports::{FrameSink, FrameSource};
use rust_hdl::prelude::*;

/// A RAM word: data above the last flag in bit 0.
const WORD_BITS: usize = DATA_BITS + 1;

#[derive(LogicBlock, Default)]
pub struct FrameFifo<const AW: usize> {
    pub clock: Signal<In, Clock>,
    pub frames_in: FrameSink,
    pub frames_out: FrameSource,
    /// One-cycle pulse on the last beat of a good frame that was dropped
    /// because the buffer filled up while it arrived.
    pub overflow: Signal<Out, Bit>,
    ram: RAM<Bits<WORD_BITS>, AW>,
    /// Next address the writer fills.
    wr_ptr: DFF<Bits<AW>>,
    /// `(wr_ptr + 1) ^ 1`: the full test compares registers, no adder (the
    /// `^ 1` makes the reset value 0 match `wr_ptr` = 0).
    wr_next_x: DFF<Bits<AW>>,
    /// End of the last complete good frame: the reader stops here.
    commit_ptr: DFF<Bits<AW>>,
    /// `(commit_ptr + 1) ^ 1`, for `wr_next_x` on a roll-back.
    commit_next_x: DFF<Bits<AW>>,
    /// Next address the reader fetches.
    rd_ptr: DFF<Bits<AW>>,
    /// The current frame ran out of room; it is discarded at its last beat.
    overflowed: DFF<Bit>,
    /// A word was fetched last cycle and is on the RAM's frames_out now.
    pending: DFF<Bit>,
    /// One or two words are held; `frames_out` shows slot `rd_slot`.
    head_valid: DFF<Bit>,
    spare_valid: DFF<Bit>,
    slot0: DFF<Bits<WORD_BITS>>,
    slot1: DFF<Bits<WORD_BITS>>,
    rd_slot: DFF<Bit>,
    /// The slot the next fetched word lands in.
    wr_slot: DFF<Bit>,
    full: Signal<Local, Bit>,
    head_kept: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    fetch: Signal<Local, Bit>,
    head_word: Signal<Local, Bits<WORD_BITS>>,
}

impl<const AW: usize> Logic for FrameFifo<AW> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            wr_ptr,
            wr_next_x,
            commit_ptr,
            commit_next_x,
            rd_ptr,
            overflowed,
            pending,
            head_valid,
            spare_valid,
            slot0,
            slot1,
            rd_slot,
            wr_slot
        );
        self.ram.write_clock.next = self.clock.val();
        self.ram.read_clock.next = self.clock.val();

        // Writer: never stalls; keeps or rolls back each frame at its end.
        self.frames_in.ready.next = true;
        self.overflow.next = false;
        self.full.next = self.wr_next_x.q.val() == (self.rd_ptr.q.val() ^ 1);
        self.ram.write_address.next = self.wr_ptr.q.val();
        self.ram.write_data.next =
            (bit_cast::<WORD_BITS, DATA_BITS>(self.frames_in.data.val()) << 1)
                | bit_cast::<WORD_BITS, 1>(self.frames_in.last.val().into());
        self.ram.write_enable.next = false;
        if self.frames_in.valid.val() {
            if !self.full.val() & !self.overflowed.q.val() {
                self.ram.write_enable.next = true;
                self.wr_ptr.d.next = self.wr_next_x.q.val() ^ 1;
                self.wr_next_x.d.next = ((self.wr_next_x.q.val() ^ 1) + 1) ^ 1;
            } else {
                self.overflowed.d.next = true;
            }
            if self.frames_in.last.val() {
                self.overflowed.d.next = false;
                if self.frames_in.error.val() | self.full.val() | self.overflowed.q.val() {
                    self.wr_ptr.d.next = self.commit_ptr.q.val();
                    self.wr_next_x.d.next = self.commit_next_x.q.val();
                    self.overflow.next = !self.frames_in.error.val();
                } else {
                    self.commit_ptr.d.next = self.wr_next_x.q.val() ^ 1;
                    self.commit_next_x.d.next = ((self.wr_next_x.q.val() ^ 1) + 1) ^ 1;
                }
            }
        }

        // Reader: the head is the slot `rd_slot`; a fetched word lands in
        // slot `wr_slot` the cycle after the fetch. Words held: head_valid +
        // spare_valid, minus a pop, plus an arrival.
        self.head_word.next = self.slot0.q.val();
        if self.rd_slot.q.val() {
            self.head_word.next = self.slot1.q.val();
        }
        self.frames_out.valid.next = self.head_valid.q.val();
        self.frames_out.data.next = self.head_word.val().get_bits::<DATA_BITS>(1);
        self.frames_out.last.next = self.head_word.val().get_bit(0);
        self.frames_out.error.next = false;
        self.head_kept.next = self.head_valid.q.val() & !self.frames_out.ready.val();
        self.pop.next = self.head_valid.q.val() & self.frames_out.ready.val();
        if self.pending.q.val() {
            if self.wr_slot.q.val() {
                self.slot1.d.next = self.ram.read_data.val();
            } else {
                self.slot0.d.next = self.ram.read_data.val();
            }
            self.wr_slot.d.next = !self.wr_slot.q.val();
        }
        if self.pop.val() {
            self.rd_slot.d.next = !self.rd_slot.q.val();
        }
        if self.head_kept.val() {
            if !self.spare_valid.q.val() & self.pending.q.val() {
                self.spare_valid.d.next = true;
            }
        } else if self.spare_valid.q.val() {
            self.head_valid.d.next = true;
            self.spare_valid.d.next = self.pending.q.val();
        } else {
            self.head_valid.d.next = self.pending.q.val();
        }
        // Fetch only if at most one word will be held once this cycle's
        // moves are done, so next cycle's arrival always has a slot.
        self.fetch.next = (self.rd_ptr.q.val() != self.commit_ptr.q.val())
            & !((self.head_kept.val() & self.spare_valid.q.val())
                | (self.head_kept.val() & self.pending.q.val())
                | (self.spare_valid.q.val() & self.pending.q.val()));
        self.ram.read_address.next = self.rd_ptr.q.val();
        self.pending.d.next = self.fetch.val();
        if self.fetch.val() {
            self.rd_ptr.d.next = self.rd_ptr.q.val() + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;
    use std::collections::VecDeque;

    struct Frame {
        bytes: Vec<u8>,
        error: bool,
    }

    /// Pushes `frames` back to back (or with `gap` idle cycles between them)
    /// while the consumer is ready on cycles where `ready(cycle)` is true;
    /// returns the frames that came out and the overflow pulses seen.
    fn run<const AW: usize>(
        frames: &[Frame],
        gap: usize,
        ready: impl Fn(u64) -> bool,
    ) -> (Vec<Vec<u8>>, usize) {
        let mut h = Harness::new(FrameFifo::<AW>::default(), |c| &mut c.clock);
        let mut beats: VecDeque<Option<(u8, bool, bool)>> = VecDeque::new();
        for f in frames {
            for (i, &b) in f.bytes.iter().enumerate() {
                let last = i + 1 == f.bytes.len();
                beats.push_back(Some((b, last, last && f.error)));
            }
            for _ in 0..gap {
                beats.push_back(None);
            }
        }
        let mut out = vec![];
        let mut current = vec![];
        let mut overflows = 0;
        let mut idle = 0;
        while idle < 400 {
            let beat = beats.pop_front().flatten();
            h.uut.frames_in.valid.next = beat.is_some();
            if let Some((b, last, error)) = beat {
                h.uut.frames_in.data.next = (b as u64).into();
                h.uut.frames_in.last.next = last;
                h.uut.frames_in.error.next = error;
            }
            h.uut.frames_out.ready.next = ready(h.cycles);
            h.settle();
            if h.uut.overflow.val() {
                overflows += 1;
            }
            if h.uut.frames_out.valid.val() && h.uut.frames_out.ready.val() {
                current.push(h.uut.frames_out.data.val().index() as u8);
                if h.uut.frames_out.last.val() {
                    out.push(std::mem::take(&mut current));
                }
                idle = 0;
            } else if beats.is_empty() {
                idle += 1;
            }
            h.cycle();
        }
        assert!(current.is_empty(), "a partial frame came out");
        (out, overflows)
    }

    fn frame(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    #[test]
    fn passes_good_frames_in_order_at_full_rate() {
        let frames: Vec<Frame> = (1..40)
            .map(|i| Frame { bytes: frame(i * 7 % 90 + 1, i as u8), error: false })
            .collect();
        let (out, overflows) = run::<8>(&frames, 0, |_| true);
        assert_eq!(overflows, 0);
        assert_eq!(out, frames.iter().map(|f| f.bytes.clone()).collect::<Vec<_>>());
    }

    #[test]
    fn drops_error_frames_without_counting_overflow() {
        let frames = vec![
            Frame { bytes: frame(20, 1), error: false },
            Frame { bytes: frame(30, 2), error: true },
            Frame { bytes: frame(1, 3), error: true },
            Frame { bytes: frame(25, 4), error: false },
        ];
        let (out, overflows) = run::<8>(&frames, 3, |_| true);
        assert_eq!(overflows, 0);
        assert_eq!(out, vec![frame(20, 1), frame(25, 4)]);
    }

    #[test]
    fn survives_a_stalling_consumer_without_loss_or_duplication() {
        let frames: Vec<Frame> = (0..30)
            .map(|i| Frame { bytes: frame(5 + i % 11, i as u8), error: false })
            .collect();
        // Irregular back-pressure exercises every head/spare/pending case;
        // the gap keeps the writer from outrunning a reader that is ready
        // only about half the time.
        let (out, overflows) =
            run::<8>(&frames, 20, |c| (c * 7919 % 13) < 7 || c % 5 == 0);
        assert_eq!(overflows, 0);
        assert_eq!(out, frames.iter().map(|f| f.bytes.clone()).collect::<Vec<_>>());
    }

    #[test]
    fn overflow_drops_whole_frames_and_recovers() {
        // A 64-byte buffer, a consumer that only wakes up late: the frame that
        // does not fit is dropped whole, the ones before and after arrive.
        let frames = vec![
            Frame { bytes: frame(40, 1), error: false },
            Frame { bytes: frame(40, 2), error: false },
            Frame { bytes: frame(10, 3), error: false },
        ];
        let (out, overflows) = run::<6>(&frames, 0, |c| c > 200);
        assert_eq!(overflows, 1);
        assert_eq!(out, vec![frame(40, 1), frame(10, 3)]);
        // A frame longer than the whole buffer can never fit.
        let (out, overflows) = run::<6>(&[Frame { bytes: frame(100, 9), error: false }], 0, |_| true);
        assert_eq!((out.len(), overflows), (0, 1));
    }
}
