//! The buffer pool of one queue: fixed-size buffers in one DMA block, which
//! is also the queue's DMA window, and the packets that own them.

use crate::dma::DmaBlock;
use arsenic_hdl::queue::WriteBack;
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

pub struct Mempool {
    mem: DmaBlock,
    buf_bytes: usize,
    count: u32,
    free: RefCell<Vec<u32>>,
}

impl Mempool {
    pub fn new(mem: DmaBlock, buf_bytes: usize, count: u32) -> Rc<Self> {
        assert!(buf_bytes * count as usize <= mem.len());
        Rc::new(Self { mem, buf_bytes, count, free: RefCell::new((0..count).rev().collect()) })
    }

    pub fn buf_bytes(&self) -> usize {
        self.buf_bytes
    }

    pub fn capacity(&self) -> u32 {
        self.count
    }

    pub fn free_count(&self) -> usize {
        self.free.borrow().len()
    }

    /// The window the NIC enforces for this pool's queue.
    pub fn window(&self) -> (u64, u64) {
        (self.mem.bus(0), self.mem.bus(self.buf_bytes * self.count as usize))
    }

    pub(crate) fn bus(&self, index: u32) -> u64 {
        self.mem.bus(index as usize * self.buf_bytes)
    }

    /// A free buffer, owned by the returned packet until it is dropped or
    /// posted; `len` bytes of it are the packet.
    pub fn alloc(self: &Rc<Self>, len: usize) -> Option<Packet> {
        if len > self.buf_bytes {
            return None;
        }
        let index = self.free.borrow_mut().pop()?;
        Some(Packet { pool: Rc::clone(self), index, len, meta: None })
    }

    /// Takes a buffer for the NIC (receive ring); back through `reclaim`.
    pub(crate) fn take_raw(&self) -> Option<u32> {
        self.free.borrow_mut().pop()
    }

    /// Makes a buffer the NIC finished with a packet again.
    pub(crate) fn reclaim(self: &Rc<Self>, index: u32, len: usize, meta: Option<WriteBack>) -> Packet {
        Packet { pool: Rc::clone(self), index, len, meta }
    }

    pub(crate) fn release(&self, index: u32) {
        self.free.borrow_mut().push(index);
    }
}

/// A frame in a pool buffer. The packet owns the buffer: the NIC only
/// touches it while a descriptor naming it is posted, and posting takes
/// the packet away, so references into it are never written behind.
pub struct Packet {
    pool: Rc<Mempool>,
    index: u32,
    len: usize,
    meta: Option<WriteBack>,
}

impl Packet {
    /// The receive write-back: queue, filter id, demux reason.
    pub fn meta(&self) -> Option<&WriteBack> {
        self.meta.as_ref()
    }

    pub fn set_len(&mut self, len: usize) {
        assert!(len <= self.pool.buf_bytes, "{len} bytes do not fit a {}-byte buffer", self.pool.buf_bytes);
        self.len = len;
    }

    pub fn bus(&self) -> u64 {
        self.pool.bus(self.index)
    }

    pub fn pool(&self) -> &Rc<Mempool> {
        &self.pool
    }
}

impl Deref for Packet {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: this packet owns the buffer (see the type's comment), and
        // `len` never exceeds the buffer size.
        unsafe { self.pool.mem.bytes(self.index as usize * self.pool.buf_bytes, self.len) }
    }
}

impl DerefMut for Packet {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only slice.
        unsafe { self.pool.mem.bytes_mut(self.index as usize * self.pool.buf_bytes, self.len) }
    }
}

impl Drop for Packet {
    fn drop(&mut self) {
        self.pool.release(self.index);
    }
}
