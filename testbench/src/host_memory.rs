//! Host memory behind the NIC's DMA master port, with the latency of a
//! PCIe round trip: what the descriptor engine will read rings from and
//! write frames and completions into. Every access is logged with the cycle
//! it was accepted, so protection tests can prove none left its window.
//!
//! Protocol, as `arsenic_hdl::ports::DmaMaster` describes it: a read
//! request (address, length, tag) is accepted when `rd_req_ready`; after
//! the latency its data returns as 8-byte beats, in request order, byte 0
//! of a beat being the lowest address, the last beat flagged `last` and any
//! bytes past the length zero. A write request is followed by its data in
//! beats of the same shape; one write is in progress at a time.

use crate::pins::Pins;
use std::alloc::{self, Layout};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::ptr::NonNull;
use std::rc::Rc;

const PAGE: u64 = 4096;
/// Where the arena hands out bus addresses: above 4 GiB, so every DMA
/// address the NIC forms uses the upper half of its 64 bits.
pub const ARENA_BUS_BASE: u64 = 0x10_0000_0000;
/// Read requests in flight at once, as a PCIe endpoint's tag space allows.
pub const MAX_OUTSTANDING_READS: usize = 32;
/// A PCIe round trip, in 125 MHz cycles (500 ns, rounded up).
pub const DEFAULT_READ_LATENCY_CYCLES: u64 = 63;

/// Memory a driver allocates for DMA: zeroed, page-aligned regions that
/// never move and live as long as any holder of the arena, each at a bus
/// address. The driver reaches a region through its pointer, the NIC
/// through `HostMemory` by bus address, as host memory is shared on a real
/// machine.
pub struct DmaArena {
    regions: RefCell<Vec<RawRegion>>,
    next_bus: Cell<u64>,
}

struct RawRegion {
    bus: u64,
    ptr: NonNull<u8>,
    layout: Layout,
    /// Allocated by the arena (and freed with it), or memory someone else
    /// mapped and lent (`lend`).
    owned: bool,
}

impl Default for DmaArena {
    fn default() -> Self {
        Self { regions: RefCell::new(Vec::new()), next_bus: Cell::new(ARENA_BUS_BASE) }
    }
}

impl DmaArena {
    /// A new zeroed region of `len` bytes (at least one page): its bus
    /// address and where it lives. A page of bus addresses is left unused
    /// after each region so an overrun never lands in the next one.
    pub fn alloc(&self, len: usize) -> (u64, NonNull<u8>) {
        let size = (len.max(1) as u64).div_ceil(PAGE) * PAGE;
        let layout = Layout::from_size_align(size as usize, PAGE as usize).expect("region size fits a Layout");
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        let bus = self.next_bus.get();
        self.next_bus.set(bus + size + PAGE);
        self.regions.borrow_mut().push(RawRegion { bus, ptr, layout, owned: true });
        (bus, ptr)
    }

    /// Makes `len` bytes at `ptr` reachable by DMA at `bus`: memory another
    /// process shares with the simulated NIC (the simulated device's
    /// chunks), which the arena neither allocates nor frees.
    ///
    /// # Safety
    /// `ptr..ptr+len` must stay mapped and writable for as long as the
    /// arena lives, and must not overlap another region's bus range.
    pub unsafe fn lend(&self, bus: u64, ptr: NonNull<u8>, len: usize) {
        let layout = Layout::from_size_align(len.max(1), 1).expect("a region's size fits a Layout");
        self.regions.borrow_mut().push(RawRegion { bus, ptr, layout, owned: false });
    }

    /// The pointer behind `[bus, bus + len)` if one region holds all of it.
    fn resolve(&self, bus: u64, len: usize) -> Option<*mut u8> {
        let regions = self.regions.borrow();
        let r = regions.iter().find(|r| bus >= r.bus && bus - r.bus < r.layout.size() as u64)?;
        let off = (bus - r.bus) as usize;
        // SAFETY: `off` is inside the region, so the offset pointer stays
        // within one allocation.
        (off + len <= r.layout.size()).then(|| unsafe { r.ptr.as_ptr().add(off) })
    }
}

impl Drop for DmaArena {
    fn drop(&mut self) {
        for r in self.regions.get_mut().drain(..).filter(|r| r.owned) {
            // SAFETY: allocated in `alloc` with this layout; the arena is
            // dropped only when no holder (and so no pointer user) is left.
            unsafe { alloc::dealloc(r.ptr.as_ptr(), r.layout) };
        }
    }
}

/// Host memory as the NIC sees it: the arena's regions, and sparse memory
/// everywhere else (untouched bytes read as zero), so a stray DMA address
/// is served and logged rather than crashing the harness.
#[derive(Default)]
pub struct HostMemory {
    pages: HashMap<u64, Box<[u8; PAGE as usize]>>,
    arena: Rc<DmaArena>,
}

impl HostMemory {
    /// The arena drivers allocate from; shared, so regions outlive neither.
    pub fn arena(&self) -> Rc<DmaArena> {
        Rc::clone(&self.arena)
    }

    pub fn read(&self, addr: u64, buf: &mut [u8]) {
        if let Some(p) = self.arena.resolve(addr, buf.len()) {
            // SAFETY: `p..p+len` lies inside one live region. The driver may
            // hold references into regions, but only to buffers it has not
            // posted to the NIC; reading posted or ring memory is what DMA
            // does, and this copies without forming a reference to it.
            unsafe { std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) };
            return;
        }
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr.wrapping_add(i as u64);
            *b = match self.arena.resolve(a, 1) {
                // SAFETY: as above, one byte inside a live region.
                Some(p) => unsafe { p.read() },
                None => self.pages.get(&(a / PAGE)).map_or(0, |p| p[(a % PAGE) as usize]),
            };
        }
    }

    pub fn write(&mut self, addr: u64, data: &[u8]) {
        if let Some(p) = self.arena.resolve(addr, data.len()) {
            // SAFETY: inside one live region; the NIC writes only buffers
            // and ring slots the driver posted to it, which the driver does
            // not reference until the write-back says they are done.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
            return;
        }
        for (i, &b) in data.iter().enumerate() {
            let a = addr.wrapping_add(i as u64);
            match self.arena.resolve(a, 1) {
                // SAFETY: as above, one byte inside a live region.
                Some(p) => unsafe { p.write(b) },
                None => {
                    self.pages.entry(a / PAGE).or_insert_with(|| Box::new([0; PAGE as usize]))[(a % PAGE) as usize] = b
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaKind {
    Read,
    Write,
}

/// One DMA request, as accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaAccess {
    pub cycle: u64,
    pub kind: DmaKind,
    pub addr: u64,
    pub len: u32,
    pub tag: u8,
}

struct PendingRead {
    ready_at: u64,
    addr: u64,
    len: u32,
    tag: u8,
    /// Bytes already returned.
    sent: u32,
}

struct PendingWrite {
    addr: u64,
    len: u32,
    written: u32,
}

pub struct DmaServer {
    pub memory: HostMemory,
    read_latency: u64,
    reads: VecDeque<PendingRead>,
    write: Option<PendingWrite>,
    log: Vec<DmaAccess>,
    protocol_errors: u64,
    accepted: u64,
}

impl Default for DmaServer {
    fn default() -> Self {
        Self::new(DEFAULT_READ_LATENCY_CYCLES)
    }
}

impl DmaServer {
    pub fn new(read_latency_cycles: u64) -> Self {
        Self {
            memory: HostMemory::default(),
            read_latency: read_latency_cycles.max(1),
            reads: VecDeque::new(),
            write: None,
            log: Vec::new(),
            protocol_errors: 0,
            accepted: 0,
        }
    }

    /// Requests in flight: reads not fully returned, a write not finished.
    pub fn busy(&self) -> bool {
        !self.reads.is_empty() || self.write.is_some()
    }

    /// Requests accepted so far (reads and writes).
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    pub fn set_read_latency(&mut self, cycles: u64) {
        self.read_latency = cycles.max(1);
    }

    /// Accesses accepted since the last call.
    pub fn take_log(&mut self) -> Vec<DmaAccess> {
        std::mem::take(&mut self.log)
    }

    /// Requests that broke the protocol (zero length, a write's data not
    /// matching its length); each was ignored. Must stay 0.
    pub fn protocol_errors(&self) -> u64 {
        self.protocol_errors
    }

    /// Sets the port's inputs for the coming cycle.
    pub fn drive(&self, cycle: u64, pins: &mut Pins) {
        pins.dma_rd_req_ready = u8::from(self.reads.len() < MAX_OUTSTANDING_READS);
        pins.dma_wr_req_ready = u8::from(self.write.is_none());
        pins.dma_wr_data_ready = u8::from(self.write.is_some());
        pins.dma_rd_rsp_valid = 0;
        pins.dma_rd_rsp_last = 0;
        pins.dma_rd_rsp_data = 0;
        pins.dma_rd_rsp_tag = 0;
        if let Some(r) = self.reads.front().filter(|r| r.ready_at <= cycle) {
            let mut beat = [0u8; 8];
            let n = (r.len - r.sent).min(8) as usize;
            self.memory.read(r.addr + r.sent as u64, &mut beat[..n]);
            pins.dma_rd_rsp_valid = 1;
            pins.dma_rd_rsp_data = u64::from_le_bytes(beat);
            pins.dma_rd_rsp_tag = r.tag;
            pins.dma_rd_rsp_last = u8::from(r.sent as usize + n >= r.len as usize);
        }
    }

    /// Takes what moved in the cycle just run: `pins` holds the inputs
    /// `drive` set and the outputs the NIC showed before the clock edge.
    pub fn observe(&mut self, cycle: u64, pins: &Pins) {
        if pins.dma_rd_rsp_valid != 0 && pins.dma_rd_rsp_ready != 0 {
            if let Some(r) = self.reads.front_mut() {
                r.sent = (r.sent + 8).min(r.len);
                if r.sent == r.len {
                    self.reads.pop_front();
                }
            }
        }
        if pins.dma_rd_req_valid != 0 && pins.dma_rd_req_ready != 0 {
            let (addr, len, tag) = (pins.dma_rd_req_addr, pins.dma_rd_req_len as u32, pins.dma_rd_req_tag);
            self.log.push(DmaAccess { cycle, kind: DmaKind::Read, addr, len, tag });
            self.accepted += 1;
            if len == 0 {
                self.protocol_errors += 1;
            } else {
                // Requests queue behind each other: a PCIe link returns
                // completions in order for one requester.
                let ready_at = cycle + self.read_latency;
                self.reads.push_back(PendingRead { ready_at, addr, len, tag, sent: 0 });
            }
        }
        if pins.dma_wr_data_valid != 0 && pins.dma_wr_data_ready != 0 {
            if let Some(w) = self.write.as_mut() {
                let n = (w.len - w.written).min(8) as usize;
                let bytes = pins.dma_wr_data.to_le_bytes();
                self.memory.write(w.addr + w.written as u64, &bytes[..n]);
                w.written += n as u32;
                let done = w.written == w.len;
                if done != (pins.dma_wr_data_last != 0) {
                    self.protocol_errors += 1;
                }
                if done || pins.dma_wr_data_last != 0 {
                    self.write = None;
                }
            }
        }
        if pins.dma_wr_req_valid != 0 && pins.dma_wr_req_ready != 0 {
            let (addr, len) = (pins.dma_wr_req_addr, pins.dma_wr_req_len as u32);
            self.log.push(DmaAccess { cycle, kind: DmaKind::Write, addr, len, tag: 0 });
            self.accepted += 1;
            if len == 0 {
                self.protocol_errors += 1;
            } else {
                self.write = Some(PendingWrite { addr, len, written: 0 });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted DMA master: what it asks for on each cycle.
    #[derive(Default)]
    struct Master {
        read_reqs: VecDeque<(u64, u16, u8)>,
        write_reqs: VecDeque<(u64, Vec<u8>)>,
        /// Data beats of the write in progress.
        beats: VecDeque<(u64, bool)>,
        ready_pattern: Option<fn(u64) -> bool>,
        got: Vec<(u64, u8, u64, bool)>,
    }

    impl Master {
        fn outputs(&self, cycle: u64, pins: &mut Pins) {
            pins.dma_rd_req_valid = 0;
            pins.dma_wr_req_valid = 0;
            pins.dma_wr_data_valid = 0;
            if let Some(&(addr, len, tag)) = self.read_reqs.front() {
                pins.dma_rd_req_valid = 1;
                pins.dma_rd_req_addr = addr;
                pins.dma_rd_req_len = len;
                pins.dma_rd_req_tag = tag;
            }
            if self.beats.is_empty() {
                if let Some((addr, data)) = self.write_reqs.front() {
                    pins.dma_wr_req_valid = 1;
                    pins.dma_wr_req_addr = *addr;
                    pins.dma_wr_req_len = data.len() as u16;
                }
            } else {
                let (data, last) = self.beats[0];
                pins.dma_wr_data_valid = 1;
                pins.dma_wr_data = data;
                pins.dma_wr_data_last = u8::from(last);
            }
            pins.dma_rd_rsp_ready = u8::from(self.ready_pattern.is_none_or(|f| f(cycle)));
        }

        fn moved(&mut self, cycle: u64, pins: &Pins) {
            if pins.dma_rd_req_valid != 0 && pins.dma_rd_req_ready != 0 {
                self.read_reqs.pop_front();
            }
            if pins.dma_rd_rsp_valid != 0 && pins.dma_rd_rsp_ready != 0 {
                self.got.push((cycle, pins.dma_rd_rsp_tag, pins.dma_rd_rsp_data, pins.dma_rd_rsp_last != 0));
            }
            if pins.dma_wr_data_valid != 0 && pins.dma_wr_data_ready != 0 {
                self.beats.pop_front();
            }
            if pins.dma_wr_req_valid != 0 && pins.dma_wr_req_ready != 0 {
                let (_, data) = self.write_reqs.pop_front().unwrap();
                let n = data.len().div_ceil(8);
                for (i, chunk) in data.chunks(8).enumerate() {
                    let mut b = [0u8; 8];
                    b[..chunk.len()].copy_from_slice(chunk);
                    self.beats.push_back((u64::from_le_bytes(b), i + 1 == n));
                }
            }
        }
    }

    fn run(server: &mut DmaServer, master: &mut Master, cycles: u64) {
        let mut pins = Pins::default();
        for cycle in 0..cycles {
            server.drive(cycle, &mut pins);
            master.outputs(cycle, &mut pins);
            server.observe(cycle, &pins);
            master.moved(cycle, &pins);
        }
    }

    #[test]
    fn reads_return_after_the_latency_in_order_at_a_beat_a_cycle() {
        let mut s = DmaServer::new(63);
        s.memory.write(0x1000, &(0..40u8).collect::<Vec<_>>());
        let mut m = Master::default();
        m.read_reqs.extend([(0x1000, 16, 7), (0x1010, 13, 9)]);
        run(&mut s, &mut m, 120);
        let cycles: Vec<u64> = m.got.iter().map(|g| g.0).collect();
        // Accepted on cycles 0 and 1; data from cycle 63, back to back.
        assert_eq!(cycles, vec![63, 64, 65, 66]);
        assert_eq!(m.got[0], (63, 7, u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]), false));
        assert!(m.got[1].3);
        assert_eq!(m.got[2].1, 9);
        // 13 bytes: the second beat carries 5, the rest zero.
        assert_eq!(m.got[3], (66, 9, u64::from_le_bytes([24, 25, 26, 27, 28, 0, 0, 0]), true));
        let log = s.take_log();
        assert_eq!(log.len(), 2);
        assert_eq!((log[1].kind, log[1].addr, log[1].len, log[1].cycle), (DmaKind::Read, 0x1010, 13, 1));
        assert_eq!(s.protocol_errors(), 0);
    }

    #[test]
    fn a_master_that_stalls_gets_every_beat_once() {
        let mut s = DmaServer::new(10);
        s.memory.write(0, &[0xAB; 64]);
        let mut m = Master { ready_pattern: Some(|c| c % 3 != 0), ..Master::default() };
        m.read_reqs.push_back((0, 64, 1));
        run(&mut s, &mut m, 100);
        assert_eq!(m.got.len(), 8);
        assert!(m.got.iter().all(|g| g.2 == 0xABAB_ABAB_ABAB_ABAB));
        assert_eq!(m.got.iter().filter(|g| g.3).count(), 1);
    }

    #[test]
    fn writes_land_byte_exact_and_are_logged() {
        let mut s = DmaServer::default();
        let mut m = Master::default();
        let data: Vec<u8> = (1..=21).collect();
        m.write_reqs.push_back((0x2FFC, data.clone()));
        run(&mut s, &mut m, 20);
        let mut back = vec![0u8; 23];
        s.memory.read(0x2FFC, &mut back);
        assert_eq!(&back[..21], &data[..]);
        assert_eq!(&back[21..], &[0, 0], "nothing written past the length");
        let log = s.take_log();
        assert_eq!((log[0].kind, log[0].addr, log[0].len), (DmaKind::Write, 0x2FFC, 21));
        assert_eq!(s.protocol_errors(), 0);
    }

    #[test]
    fn zero_length_requests_are_counted_and_ignored() {
        let mut s = DmaServer::new(5);
        let mut m = Master::default();
        m.read_reqs.push_back((0, 0, 1));
        m.write_reqs.push_back((0, vec![]));
        run(&mut s, &mut m, 20);
        assert!(m.got.is_empty());
        assert_eq!(s.protocol_errors(), 2);
    }

    #[test]
    fn outstanding_reads_are_capped() {
        let mut s = DmaServer::new(1000);
        let mut m = Master::default();
        for t in 0..40 {
            m.read_reqs.push_back((t * 8, 8, t as u8));
        }
        run(&mut s, &mut m, 100);
        assert_eq!(s.take_log().len(), MAX_OUTSTANDING_READS);
        assert_eq!(m.read_reqs.len(), 40 - MAX_OUTSTANDING_READS);
    }

    #[test]
    fn arena_regions_are_shared_with_the_dma_side_and_stray_addresses_are_not() {
        let mut mem = HostMemory::default();
        let arena = mem.arena();
        let (a, pa) = arena.alloc(100);
        let (b, _) = arena.alloc(5000);
        assert!(a >= ARENA_BUS_BASE && b >= a + 2 * PAGE, "regions are separated by a guard page");
        mem.write(a + 4090, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        // SAFETY: region `a` is a live page of the arena; nothing else refers to it.
        let seen = unsafe { std::slice::from_raw_parts(pa.as_ptr().add(4090), 6) }.to_vec();
        assert_eq!(seen, [1, 2, 3, 4, 5, 6]);
        let mut back = [0u8; 10];
        mem.read(a + 4090, &mut back);
        assert_eq!(back, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "bytes past the region go to sparse memory");
        mem.read(b + 4096, &mut back[..4]);
        assert_eq!(back[..4], [0, 0, 0, 0]);
    }
}
