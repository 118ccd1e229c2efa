//! DMA memory as the driver holds it: a block of host memory the NIC can
//! reach at a bus address. This file and `queue::pool` are the only places
//! the driver dereferences raw pointers into memory the NIC also touches.
//!
//! Soundness rests on the ownership protocol every NIC driver follows: a
//! byte range belongs either to the driver or to the NIC (from the moment
//! its descriptor is posted until its write-back says done). The driver
//! forms references only to ranges it owns; ring slots and event words,
//! which the NIC writes at any time, are only read and written with
//! volatile accesses, never referenced.

use std::any::Any;
use std::ptr::NonNull;
use std::rc::Rc;

pub struct DmaBlock {
    ptr: NonNull<u8>,
    len: usize,
    bus: u64,
    /// Whatever keeps the memory alive and mapped (an arena, a mapping).
    _owner: Rc<dyn Any>,
}

impl DmaBlock {
    /// # Safety
    /// `ptr..ptr+len` must stay valid, writable and at bus address `bus`
    /// for as long as `owner` is alive, and nothing but the NIC and this
    /// block may access it.
    pub unsafe fn new(ptr: NonNull<u8>, len: usize, bus: u64, owner: Rc<dyn Any>) -> Self {
        Self { ptr, len, bus, _owner: owner }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bus address of byte `offset`.
    pub fn bus(&self, offset: usize) -> u64 {
        self.bus + offset as u64
    }

    fn word_ptr(&self, offset: usize) -> *mut u64 {
        assert!(offset.is_multiple_of(8) && offset + 8 <= self.len, "word at {offset} outside a {}-byte block", self.len);
        // SAFETY: checked in bounds just above; the block is page aligned,
        // so an 8-aligned offset gives an aligned u64.
        unsafe { self.ptr.as_ptr().add(offset) as *mut u64 }
    }

    /// Reads a little-endian word the NIC may write at any moment.
    pub fn read_u64(&self, offset: usize) -> u64 {
        // SAFETY: in bounds and aligned (`word_ptr`); volatile because the
        // device changes it behind the compiler's back.
        u64::from_le(unsafe { self.word_ptr(offset).read_volatile() })
    }

    pub fn write_u64(&self, offset: usize, value: u64) {
        // SAFETY: as in `read_u64`.
        unsafe { self.word_ptr(offset).write_volatile(value.to_le()) }
    }

    /// The bytes `offset..offset+len`, which the caller owns (no posted
    /// descriptor covers them) for as long as the slice lives.
    ///
    /// # Safety
    /// The NIC must not be writing the range, i.e. no descriptor naming it
    /// may be outstanding while the slice lives.
    pub unsafe fn bytes(&self, offset: usize, len: usize) -> &[u8] {
        assert!(offset + len <= self.len);
        std::slice::from_raw_parts(self.ptr.as_ptr().add(offset), len)
    }

    /// # Safety
    /// As `bytes`, and no other slice of the range may be alive.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn bytes_mut(&self, offset: usize, len: usize) -> &mut [u8] {
        assert!(offset + len <= self.len);
        std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(offset), len)
    }
}
