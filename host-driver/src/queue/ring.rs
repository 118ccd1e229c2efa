//! One descriptor ring in DMA memory, seen from the driver: which slots it
//! has posted, which the NIC has finished, and the free-running indices
//! both sides count in.

use crate::dma::DmaBlock;
use arsenic_hdl::queue::{post_word, WriteBack, DESC_BYTES, DESC_WRITEBACK_OFFSET};
use std::rc::Rc;

pub struct Ring {
    mem: Rc<DmaBlock>,
    /// Byte offset of slot 0 in `mem`.
    base: usize,
    log2: u8,
    /// Producer index: descriptors ever posted (mod 2^16, as the NIC counts).
    pub tail: u16,
    /// Descriptors ever seen finished.
    pub done: u16,
}

impl Ring {
    pub fn new(mem: Rc<DmaBlock>, base: usize, log2: u8) -> Self {
        Self { mem, base, log2, tail: 0, done: 0 }
    }

    pub fn size(&self) -> u16 {
        1 << self.log2
    }

    pub fn bus(&self) -> u64 {
        self.mem.bus(self.base)
    }

    pub fn slot(&self, index: u16) -> usize {
        (index & (self.size() - 1)) as usize
    }

    /// Descriptors posted and not yet finished.
    pub fn outstanding(&self) -> u16 {
        self.tail.wrapping_sub(self.done)
    }

    pub fn has_room(&self) -> bool {
        self.outstanding() < self.size()
    }

    /// Writes the descriptor for `addr`/`len` at the tail; returns its slot.
    /// The caller rings the doorbell with `tail` once a batch is posted.
    pub fn post(&mut self, addr: u64, len: u16) -> usize {
        debug_assert!(self.has_room());
        let slot = self.slot(self.tail);
        let at = self.base + slot * DESC_BYTES as usize;
        self.mem.write_u64(at, addr);
        self.mem.write_u64(at + DESC_WRITEBACK_OFFSET as usize, post_word(len));
        self.tail = self.tail.wrapping_add(1);
        slot
    }

    /// The oldest outstanding descriptor's write-back, once the NIC wrote it.
    pub fn next_done(&self) -> Option<(usize, WriteBack)> {
        if self.outstanding() == 0 {
            return None;
        }
        let slot = self.slot(self.done);
        let word = self.mem.read_u64(self.base + slot * DESC_BYTES as usize + DESC_WRITEBACK_OFFSET as usize);
        WriteBack::decode(word).map(|wb| (slot, wb))
    }

    pub fn retire(&mut self) {
        self.done = self.done.wrapping_add(1);
    }
}
