//! Shares the one DMA master port among the receive engine (`rx`), the
//! transmit engine (`tx`) and the event engine (`evt`).
//!
//! Every handshake toward a source is registered: each source's read and
//! write requests go into a two-entry skid buffer whose `ready` is a
//! register (not full), so a source's valid never reaches its own ready or
//! the host in the same cycle, and a source can still hand over one request
//! per cycle. Requests toward the host come from an output register per
//! direction, loaded from the skid buffers by round-robin.
//!
//! Reads: the round-robin grant picks among the sources whose skid buffer
//! holds a request, starting after the source granted last (order rx, tx,
//! evt), and loads the request into the read output register with its tag
//! rewritten to `(source << 6) | (tag & 0x3F)`, source rx = 0, tx = 1,
//! evt = 2 (so a source must use only the low 6 bits of its tags). The
//! output register changes only when the host takes it or it is empty, so
//! the host sees a stable request while `valid && !ready`. A request reaches
//! the host two cycles after it moved at the source (skid, output register).
//!
//! Responses: `host.rd_rsp_ready` is always high (the DMA contract: every
//! source reserves room before it asks). A response beat is registered once
//! and goes to the source named by `tag >> 6` the next cycle, with the tag
//! cut back to its low 6 bits; a response tagged with source 3 (none) is
//! dropped. Sources must keep `rd_rsp_ready` high: it is not looked at.
//!
//! Writes: when no write is in progress, the round-robin grant loads a
//! source's write request into the write output register. Once the host has
//! taken it, the arbiter is locked to that source: only its data beats are
//! accepted (through a two-entry skid buffer, so their ready is registered
//! too), up to and including the one with `wr_data_last`; the next write
//! request is loaded the cycle after the host took that last beat. So every
//! write's beats reach the host after its request and before any other
//! write's request (the host takes one write at a time).
//!
//! Fairness: the round-robin pointer moves to each source granted, so a
//! source waiting for a grant is served after at most one grant of each
//! other source, for reads and writes alike.

use crate::params::{DMA_ADDR_BITS, DMA_LEN_BITS, DMA_TAG_BITS};
use super::skid::Skid;
use crate::ports::{DmaMaster, DmaSlave};
use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct DmaArbiter {
    pub clock: Signal<In, Clock>,
    pub rx: DmaSlave,
    pub tx: DmaSlave,
    pub evt: DmaSlave,
    pub host: DmaMaster,
    rx_rd: Skid,
    tx_rd: Skid,
    evt_rd: Skid,
    rx_wr: Skid,
    tx_wr: Skid,
    evt_wr: Skid,
    /// Data beats of the write in progress, from the locked source.
    wd: Skid,
    /// The source whose read request was granted last: round-robin starts after it.
    rd_last: DFF<Bits<2>>,
    /// The read request shown to the host.
    ro_valid: DFF<Bit>,
    ro_addr: DFF<Bits<DMA_ADDR_BITS>>,
    ro_len: DFF<Bits<DMA_LEN_BITS>>,
    ro_tag: DFF<Bits<DMA_TAG_BITS>>,
    wr_last: DFF<Bits<2>>,
    /// The write request shown to the host, and its source.
    wo_valid: DFF<Bit>,
    wo_addr: DFF<Bits<DMA_ADDR_BITS>>,
    wo_len: DFF<Bits<DMA_LEN_BITS>>,
    wo_src: DFF<Bits<2>>,
    /// The host took a write request; its data beats come from `wr_src`.
    wr_busy: DFF<Bit>,
    wr_src: DFF<Bits<2>>,
    /// The write's last beat has entered `wd`: take no more from the source.
    last_in: DFF<Bit>,
    /// Per source: its data beats may enter `wd` (busy, locked to it, not past last).
    rx_den: DFF<Bit>,
    tx_den: DFF<Bit>,
    evt_den: DFF<Bit>,
    /// The response beat from the host, one cycle later, per destination.
    rsp_rx: DFF<Bit>,
    rsp_tx: DFF<Bit>,
    rsp_evt: DFF<Bit>,
    rsp_data: DFF<Bits<64>>,
    rsp_tag: DFF<Bits<DMA_TAG_BITS>>,
    rsp_last: DFF<Bit>,
    rd_grant: Signal<Local, Bits<2>>,
    rd_any: Signal<Local, Bit>,
    rd_load: Signal<Local, Bit>,
    wr_grant: Signal<Local, Bits<2>>,
    wr_any: Signal<Local, Bit>,
    wr_load: Signal<Local, Bit>,
}

impl Logic for DmaArbiter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, rd_last, ro_valid, ro_addr, ro_len, ro_tag, wr_last, wo_valid, wo_addr, wo_len, wo_src,
            wr_busy, wr_src, last_in, rx_den, tx_den, evt_den, rsp_rx, rsp_tx, rsp_evt, rsp_data, rsp_tag, rsp_last
        );
        clock!(self, clock, rx_rd, tx_rd, evt_rd, rx_wr, tx_wr, evt_wr, wd);

        // Sources into their read skid buffers.
        self.rx_rd.in_valid.next = self.rx.rd_req_valid.val();
        self.rx_rd.in_x.next = self.rx.rd_req_addr.val();
        self.rx_rd.in_y.next = self.rx.rd_req_len.val();
        self.rx_rd.in_z.next = self.rx.rd_req_tag.val() & 0x3F;
        self.rx_rd.in_f.next = false;
        self.rx.rd_req_ready.next = self.rx_rd.in_ready.val();
        self.tx_rd.in_valid.next = self.tx.rd_req_valid.val();
        self.tx_rd.in_x.next = self.tx.rd_req_addr.val();
        self.tx_rd.in_y.next = self.tx.rd_req_len.val();
        self.tx_rd.in_z.next = (self.tx.rd_req_tag.val() & 0x3F) | 0x40;
        self.tx_rd.in_f.next = false;
        self.tx.rd_req_ready.next = self.tx_rd.in_ready.val();
        self.evt_rd.in_valid.next = self.evt.rd_req_valid.val();
        self.evt_rd.in_x.next = self.evt.rd_req_addr.val();
        self.evt_rd.in_y.next = self.evt.rd_req_len.val();
        self.evt_rd.in_z.next = (self.evt.rd_req_tag.val() & 0x3F) | 0x80;
        self.evt_rd.in_f.next = false;
        self.evt.rd_req_ready.next = self.evt_rd.in_ready.val();

        // Read grant among the buffered requests, after the last granted.
        self.rd_any.next = self.rx_rd.out_valid.val() | self.tx_rd.out_valid.val() | self.evt_rd.out_valid.val();
        if self.rd_last.q.val() == 0 {
            if self.tx_rd.out_valid.val() {
                self.rd_grant.next = 1.into();
            } else if self.evt_rd.out_valid.val() {
                self.rd_grant.next = 2.into();
            } else {
                self.rd_grant.next = 0.into();
            }
        } else if self.rd_last.q.val() == 1 {
            if self.evt_rd.out_valid.val() {
                self.rd_grant.next = 2.into();
            } else if self.rx_rd.out_valid.val() {
                self.rd_grant.next = 0.into();
            } else {
                self.rd_grant.next = 1.into();
            }
        } else if self.rx_rd.out_valid.val() {
            self.rd_grant.next = 0.into();
        } else if self.tx_rd.out_valid.val() {
            self.rd_grant.next = 1.into();
        } else {
            self.rd_grant.next = 2.into();
        }
        // The output register is free when empty or taken this cycle.
        self.rd_load.next = !self.ro_valid.q.val() | self.host.rd_req_ready.val();
        self.rx_rd.out_ready.next = self.rd_load.val() & (self.rd_grant.val() == 0);
        self.tx_rd.out_ready.next = self.rd_load.val() & (self.rd_grant.val() == 1);
        self.evt_rd.out_ready.next = self.rd_load.val() & (self.rd_grant.val() == 2);
        if self.rd_load.val() {
            self.ro_valid.d.next = self.rd_any.val();
            if self.rd_grant.val() == 0 {
                self.ro_addr.d.next = self.rx_rd.out_x.val();
                self.ro_len.d.next = self.rx_rd.out_y.val();
                self.ro_tag.d.next = self.rx_rd.out_z.val();
            } else if self.rd_grant.val() == 1 {
                self.ro_addr.d.next = self.tx_rd.out_x.val();
                self.ro_len.d.next = self.tx_rd.out_y.val();
                self.ro_tag.d.next = self.tx_rd.out_z.val();
            } else {
                self.ro_addr.d.next = self.evt_rd.out_x.val();
                self.ro_len.d.next = self.evt_rd.out_y.val();
                self.ro_tag.d.next = self.evt_rd.out_z.val();
            }
            if self.rd_any.val() {
                self.rd_last.d.next = self.rd_grant.val();
            }
        }
        self.host.rd_req_valid.next = self.ro_valid.q.val();
        self.host.rd_req_addr.next = self.ro_addr.q.val();
        self.host.rd_req_len.next = self.ro_len.q.val();
        self.host.rd_req_tag.next = self.ro_tag.q.val();

        // Read responses: never held, registered once, routed by the tag's top bits.
        self.host.rd_rsp_ready.next = true;
        self.rsp_rx.d.next = self.host.rd_rsp_valid.val() & (self.host.rd_rsp_tag.val().get_bits::<2>(6) == 0);
        self.rsp_tx.d.next = self.host.rd_rsp_valid.val() & (self.host.rd_rsp_tag.val().get_bits::<2>(6) == 1);
        self.rsp_evt.d.next = self.host.rd_rsp_valid.val() & (self.host.rd_rsp_tag.val().get_bits::<2>(6) == 2);
        self.rsp_data.d.next = self.host.rd_rsp_data.val();
        self.rsp_tag.d.next = self.host.rd_rsp_tag.val() & 0x3F;
        self.rsp_last.d.next = self.host.rd_rsp_last.val();
        self.rx.rd_rsp_valid.next = self.rsp_rx.q.val();
        self.tx.rd_rsp_valid.next = self.rsp_tx.q.val();
        self.evt.rd_rsp_valid.next = self.rsp_evt.q.val();
        self.rx.rd_rsp_data.next = self.rsp_data.q.val();
        self.tx.rd_rsp_data.next = self.rsp_data.q.val();
        self.evt.rd_rsp_data.next = self.rsp_data.q.val();
        self.rx.rd_rsp_tag.next = self.rsp_tag.q.val();
        self.tx.rd_rsp_tag.next = self.rsp_tag.q.val();
        self.evt.rd_rsp_tag.next = self.rsp_tag.q.val();
        self.rx.rd_rsp_last.next = self.rsp_last.q.val();
        self.tx.rd_rsp_last.next = self.rsp_last.q.val();
        self.evt.rd_rsp_last.next = self.rsp_last.q.val();

        // Sources into their write request skid buffers.
        self.rx_wr.in_valid.next = self.rx.wr_req_valid.val();
        self.rx_wr.in_x.next = self.rx.wr_req_addr.val();
        self.rx_wr.in_y.next = self.rx.wr_req_len.val();
        self.rx_wr.in_z.next = 0.into();
        self.rx_wr.in_f.next = false;
        self.rx.wr_req_ready.next = self.rx_wr.in_ready.val();
        self.tx_wr.in_valid.next = self.tx.wr_req_valid.val();
        self.tx_wr.in_x.next = self.tx.wr_req_addr.val();
        self.tx_wr.in_y.next = self.tx.wr_req_len.val();
        self.tx_wr.in_z.next = 0.into();
        self.tx_wr.in_f.next = false;
        self.tx.wr_req_ready.next = self.tx_wr.in_ready.val();
        self.evt_wr.in_valid.next = self.evt.wr_req_valid.val();
        self.evt_wr.in_x.next = self.evt.wr_req_addr.val();
        self.evt_wr.in_y.next = self.evt.wr_req_len.val();
        self.evt_wr.in_z.next = 0.into();
        self.evt_wr.in_f.next = false;
        self.evt.wr_req_ready.next = self.evt_wr.in_ready.val();

        // Write grant, only while no write is shown or in progress.
        self.wr_any.next = self.rx_wr.out_valid.val() | self.tx_wr.out_valid.val() | self.evt_wr.out_valid.val();
        if self.wr_last.q.val() == 0 {
            if self.tx_wr.out_valid.val() {
                self.wr_grant.next = 1.into();
            } else if self.evt_wr.out_valid.val() {
                self.wr_grant.next = 2.into();
            } else {
                self.wr_grant.next = 0.into();
            }
        } else if self.wr_last.q.val() == 1 {
            if self.evt_wr.out_valid.val() {
                self.wr_grant.next = 2.into();
            } else if self.rx_wr.out_valid.val() {
                self.wr_grant.next = 0.into();
            } else {
                self.wr_grant.next = 1.into();
            }
        } else if self.rx_wr.out_valid.val() {
            self.wr_grant.next = 0.into();
        } else if self.tx_wr.out_valid.val() {
            self.wr_grant.next = 1.into();
        } else {
            self.wr_grant.next = 2.into();
        }
        self.wr_load.next = !self.wo_valid.q.val() & !self.wr_busy.q.val();
        self.rx_wr.out_ready.next = self.wr_load.val() & (self.wr_grant.val() == 0);
        self.tx_wr.out_ready.next = self.wr_load.val() & (self.wr_grant.val() == 1);
        self.evt_wr.out_ready.next = self.wr_load.val() & (self.wr_grant.val() == 2);
        if self.wr_load.val() & self.wr_any.val() {
            self.wo_valid.d.next = true;
            self.wo_src.d.next = self.wr_grant.val();
            self.wr_last.d.next = self.wr_grant.val();
            if self.wr_grant.val() == 0 {
                self.wo_addr.d.next = self.rx_wr.out_x.val();
                self.wo_len.d.next = self.rx_wr.out_y.val();
            } else if self.wr_grant.val() == 1 {
                self.wo_addr.d.next = self.tx_wr.out_x.val();
                self.wo_len.d.next = self.tx_wr.out_y.val();
            } else {
                self.wo_addr.d.next = self.evt_wr.out_x.val();
                self.wo_len.d.next = self.evt_wr.out_y.val();
            }
        }
        self.host.wr_req_valid.next = self.wo_valid.q.val();
        self.host.wr_req_addr.next = self.wo_addr.q.val();
        self.host.wr_req_len.next = self.wo_len.q.val();
        if self.wo_valid.q.val() & self.host.wr_req_ready.val() {
            self.wo_valid.d.next = false;
            self.wr_busy.d.next = true;
            self.wr_src.d.next = self.wo_src.q.val();
        }

        // Data beats of the locked source into `wd`, up to its last one.
        self.wd.in_valid.next = (self.rx_den.q.val() & self.rx.wr_data_valid.val())
            | (self.tx_den.q.val() & self.tx.wr_data_valid.val())
            | (self.evt_den.q.val() & self.evt.wr_data_valid.val());
        self.wd.in_x.next = self.rx.wr_data.val();
        self.wd.in_f.next = self.rx.wr_data_last.val();
        if self.wr_src.q.val() == 1 {
            self.wd.in_x.next = self.tx.wr_data.val();
            self.wd.in_f.next = self.tx.wr_data_last.val();
        } else if self.wr_src.q.val() == 2 {
            self.wd.in_x.next = self.evt.wr_data.val();
            self.wd.in_f.next = self.evt.wr_data_last.val();
        }
        self.wd.in_y.next = 0.into();
        self.wd.in_z.next = 0.into();
        self.rx.wr_data_ready.next = self.rx_den.q.val() & self.wd.in_ready.val();
        self.tx.wr_data_ready.next = self.tx_den.q.val() & self.wd.in_ready.val();
        self.evt.wr_data_ready.next = self.evt_den.q.val() & self.wd.in_ready.val();
        if self.wd.in_valid.val() & self.wd.in_ready.val() & self.wd.in_f.val() {
            self.last_in.d.next = true;
        }
        self.host.wr_data_valid.next = self.wd.out_valid.val();
        self.host.wr_data.next = self.wd.out_x.val();
        self.host.wr_data_last.next = self.wd.out_f.val();
        self.wd.out_ready.next = self.host.wr_data_ready.val();
        if self.wd.out_valid.val() & self.host.wr_data_ready.val() & self.wd.out_f.val() {
            self.wr_busy.d.next = false;
            self.last_in.d.next = false;
        }
        self.rx_den.d.next = self.wr_busy.d.val() & !self.last_in.d.val() & (self.wr_src.d.val() == 0);
        self.tx_den.d.next = self.wr_busy.d.val() & !self.last_in.d.val() & (self.wr_src.d.val() == 1);
        self.evt_den.d.next = self.wr_busy.d.val() & !self.last_in.d.val() & (self.wr_src.d.val() == 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};
    use std::collections::{HashMap, VecDeque};


    /// Host memory: read-only pattern below `WRITE_BASE`, written bytes above.
    fn pattern(addr: u64) -> u8 {
        (addr.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8
    }
    const WRITE_BASE: u64 = 0x10_0000;

    /// The beats that carry `bytes`, packed from the first.
    fn beats_of(bytes: &[u8]) -> Vec<(u64, bool)> {
        let n = bytes.len().div_ceil(8);
        bytes
            .chunks(8)
            .enumerate()
            .map(|(i, c)| {
                let mut b = [0u8; 8];
                b[..c.len()].copy_from_slice(c);
                (u64::from_le_bytes(b), i + 1 == n)
            })
            .collect()
    }

    struct HostRead {
        ready_at: u64,
        addr: u64,
        len: u64,
        tag: u8,
        sent: u64,
    }

    #[derive(Default)]
    struct Host {
        mem: HashMap<u64, u8>,
        reads: VecDeque<HostRead>,
        /// The write in progress: next address, bytes left.
        write: Option<(u64, u64)>,
        rsp_shown: bool,
        /// Request shown but not taken last cycle, which must be shown again.
        rd_shown: Option<(u64, u64, u64)>,
        wr_shown: Option<(u64, u64)>,
    }

    impl Host {
        fn byte(&self, a: u64) -> u8 {
            if a < WRITE_BASE {
                pattern(a)
            } else {
                *self.mem.get(&a).unwrap_or(&0)
            }
        }
    }

    /// A scripted DMA master behind one arbiter port.
    #[derive(Default)]
    struct Master {
        reads: VecDeque<(u64, u64, u8)>,
        /// Reads issued, with the beats they must return, in order.
        expect: VecDeque<(u8, VecDeque<(u64, bool)>)>,
        writes: VecDeque<(u64, Vec<u8>)>,
        beats: VecDeque<(u64, bool)>,
        rd_valid: bool,
        wr_valid: bool,
        data_valid: bool,
        expected_mem: HashMap<u64, u8>,
        rd_wait: Option<[u64; 3]>,
        wr_wait: Option<[u64; 3]>,
        beats_got: u64,
    }

    fn port(u: &mut DmaArbiter, i: usize) -> &mut DmaSlave {
        match i {
            0 => &mut u.rx,
            1 => &mut u.tx,
            _ => &mut u.evt,
        }
    }

    #[test]
    fn routes_reads_and_writes_of_three_masters_fairly() {
        let mut rng = Rng(0x1234_5678_9ABC_DEF1);
        let mut h = Harness::new(DmaArbiter::default(), |a| &mut a.clock);
        let mut masters: Vec<Master> = (0..3).map(|_| Master::default()).collect();
        for (i, m) in masters.iter_mut().enumerate() {
            for n in 0..400 {
                let addr = rng.below(0x8000);
                let len = 1 + rng.below(64);
                m.reads.push_back((addr, len, (n % 64) as u8));
            }
            for _ in 0..300 {
                let addr = WRITE_BASE * (i as u64 + 1) + rng.below(0x200);
                let len = 1 + rng.below(48);
                let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                m.writes.push_back((addr, data));
            }
        }
        let mut host = Host::default();
        let mut rd_grants = [0u64; 3];
        let mut wr_grants = [0u64; 3];
        let mut worst_rd_wait = 0;
        let mut worst_wr_wait = 0;
        let mut done_at = None;
        while h.cycles < 60_000 {
            let cycle = h.cycles;
            // Masters: valid rises at random and then holds until taken.
            for (i, m) in masters.iter_mut().enumerate() {
                if !m.rd_valid && !m.reads.is_empty() && rng.chance(40) {
                    m.rd_valid = true;
                    m.rd_wait = Some(rd_grants);
                }
                if !m.wr_valid && m.beats.is_empty() && !m.writes.is_empty() && rng.chance(40) {
                    m.wr_valid = true;
                    m.wr_wait = Some(wr_grants);
                }
                if !m.data_valid && !m.beats.is_empty() && rng.chance(60) {
                    m.data_valid = true;
                }
                // The DMA contract: responses are never held.
                let rsp_ready = true;
                let (rd, wr, beat) = (m.reads.front().copied(), m.writes.front().cloned(), m.beats.front().copied());
                let (rd_valid, wr_valid, data_valid) = (m.rd_valid, m.wr_valid, m.data_valid);
                let p = port(&mut h.uut, i);
                p.rd_req_valid.next = rd_valid;
                if let Some((addr, len, tag)) = rd {
                    p.rd_req_addr.next = addr.into();
                    p.rd_req_len.next = len.into();
                    p.rd_req_tag.next = (tag as u64).into();
                }
                p.wr_req_valid.next = wr_valid;
                if let Some((addr, data)) = wr {
                    p.wr_req_addr.next = addr.into();
                    p.wr_req_len.next = (data.len() as u64).into();
                }
                p.wr_data_valid.next = data_valid;
                if let Some((d, last)) = beat {
                    p.wr_data.next = d.into();
                    p.wr_data_last.next = last;
                }
                p.rd_rsp_ready.next = rsp_ready;
            }
            // Host: random readiness, responses after the latency in order.
            let u = &mut h.uut;
            u.host.rd_req_ready.next = host.reads.len() < 32 && rng.chance(60);
            u.host.wr_req_ready.next = host.write.is_none() && rng.chance(60);
            u.host.wr_data_ready.next = host.write.is_some() && rng.chance(60);
            let show = host.rsp_shown || rng.chance(80);
            let mut rsp = None;
            if let Some(r) = host.reads.front().filter(|r| r.ready_at <= cycle && show) {
                let mut b = [0u8; 8];
                let n = (r.len - r.sent).min(8);
                for k in 0..n {
                    b[k as usize] = host.byte(r.addr + r.sent + k);
                }
                rsp = Some((u64::from_le_bytes(b), r.tag, r.sent + n >= r.len));
            }
            u.host.rd_rsp_valid.next = rsp.is_some();
            let (d, tag, last) = rsp.unwrap_or((0, 0, false));
            u.host.rd_rsp_data.next = d.into();
            u.host.rd_rsp_tag.next = (tag as u64).into();
            u.host.rd_rsp_last.next = last;
            h.settle();

            // What the host saw: stable requests while not taken.
            let u = &h.uut;
            let rd_req = (u.host.rd_req_valid.val(), u.host.rd_req_ready.val());
            let rd_fields = (
                u64::from(u.host.rd_req_addr.val()),
                u64::from(u.host.rd_req_len.val()),
                u64::from(u.host.rd_req_tag.val()),
            );
            if let Some(shown) = host.rd_shown {
                assert!(rd_req.0 && rd_fields == shown, "read request changed before it was taken");
            }
            host.rd_shown = (rd_req.0 && !rd_req.1).then_some(rd_fields);
            let wr_req = (u.host.wr_req_valid.val(), u.host.wr_req_ready.val());
            let wr_fields = (u64::from(u.host.wr_req_addr.val()), u64::from(u.host.wr_req_len.val()));
            if let Some(shown) = host.wr_shown {
                assert!(wr_req.0 && wr_fields == shown, "write request changed before it was taken");
            }
            host.wr_shown = (wr_req.0 && !wr_req.1).then_some(wr_fields);
            assert!(u.host.rd_rsp_ready.val(), "a response was held");
            host.rsp_shown = false;

            if rd_req.0 && rd_req.1 {
                let (addr, len, tag) = rd_fields;
                let src = (tag >> 6) as usize;
                assert!(src < 3);
                rd_grants[src] += 1;
                host.reads.push_back(HostRead { ready_at: cycle + 20, addr, len, tag: tag as u8, sent: 0 });
            }
            if rsp.is_some() && u.host.rd_rsp_ready.val() {
                let r = host.reads.front_mut().unwrap();
                r.sent = (r.sent + 8).min(r.len);
                if r.sent == r.len {
                    host.reads.pop_front();
                }
            }
            if u.host.wr_data_valid.val() && u.host.wr_data_ready.val() {
                let (addr, left) = host.write.take().expect("a data beat with no write in progress");
                let n = left.min(8);
                let bytes = u64::from(u.host.wr_data.val()).to_le_bytes();
                for k in 0..n {
                    host.mem.insert(addr + k, bytes[k as usize]);
                }
                assert_eq!(u.host.wr_data_last.val(), n == left, "last flag on the wrong beat");
                if n < left {
                    host.write = Some((addr + n, left - n));
                }
            }
            if wr_req.0 && wr_req.1 {
                // Master i writes only at WRITE_BASE * (i + 1) and up.
                let src = (wr_fields.0 / WRITE_BASE - 1) as usize;
                wr_grants[src] += 1;
                host.write = Some(wr_fields);
            }

            // What each master saw.
            for (i, m) in masters.iter_mut().enumerate() {
                let p = port(&mut h.uut, i);
                let rd_moved = p.rd_req_valid.val() && p.rd_req_ready.val();
                let wr_moved = p.wr_req_valid.val() && p.wr_req_ready.val();
                let data_moved = p.wr_data_valid.val() && p.wr_data_ready.val();
                let rsp = (p.rd_rsp_valid.val() && p.rd_rsp_ready.val()).then(|| {
                    (u64::from(p.rd_rsp_data.val()), u64::from(p.rd_rsp_tag.val()) as u8, p.rd_rsp_last.val())
                });
                if rd_moved {
                    let (addr, len, tag) = m.reads.pop_front().unwrap();
                    let bytes: Vec<u8> = (0..len).map(|k| pattern(addr + k)).collect();
                    m.expect.push_back((tag, beats_of(&bytes).into()));
                    m.rd_valid = false;
                    let waited = m.rd_wait.take().unwrap();
                    for j in (0..3).filter(|&j| j != i) {
                        worst_rd_wait = worst_rd_wait.max(rd_grants[j] - waited[j]);
                    }
                }
                if let Some((data, tag, last)) = rsp {
                    let (want_tag, beats) = m.expect.front_mut().expect("a response nobody asked for");
                    assert_eq!(tag, *want_tag, "master {i}: response tag");
                    let (want_data, want_last) = beats.pop_front().unwrap();
                    assert_eq!((data, last), (want_data, want_last), "master {i}: response beat");
                    m.beats_got += 1;
                    if beats.is_empty() {
                        m.expect.pop_front();
                    }
                }
                if data_moved {
                    m.beats.pop_front();
                    m.data_valid = false;
                }
                if wr_moved {
                    let (addr, data) = m.writes.pop_front().unwrap();
                    for (k, &b) in data.iter().enumerate() {
                        m.expected_mem.insert(addr + k as u64, b);
                    }
                    m.beats = beats_of(&data).into();
                    m.wr_valid = false;
                    let waited = m.wr_wait.take().unwrap();
                    for j in (0..3).filter(|&j| j != i) {
                        worst_wr_wait = worst_wr_wait.max(wr_grants[j] - waited[j]);
                    }
                }
            }
            h.cycle();
            let idle = masters.iter().all(|m| {
                m.reads.is_empty() && m.expect.is_empty() && m.writes.is_empty() && m.beats.is_empty()
            });
            if idle && host.write.is_none() {
                done_at = Some(h.cycles);
                break;
            }
        }
        assert!(done_at.is_some(), "traffic did not finish");
        assert_eq!(rd_grants, [400; 3]);
        assert_eq!(wr_grants, [300; 3]);
        let mut expected = HashMap::new();
        for m in &masters {
            expected.extend(m.expected_mem.iter().map(|(&a, &b)| (a, b)));
        }
        assert_eq!(host.mem, expected, "written bytes");
        assert!(worst_rd_wait <= 1, "a read waited for {worst_rd_wait} grants of one other source");
        assert!(worst_wr_wait <= 1, "a write waited for {worst_wr_wait} writes of one other source");
    }

    #[test]
    fn a_lone_source_goes_through_registers() {
        let mut h = Harness::new(DmaArbiter::default(), |a| &mut a.clock);
        h.uut.host.rd_req_ready.next = true;
        h.uut.host.wr_req_ready.next = true;
        h.uut.host.wr_data_ready.next = true;
        h.uut.evt.rd_req_valid.next = true;
        h.uut.evt.rd_req_addr.next = 0x1234.into();
        h.uut.evt.rd_req_len.next = 5.into();
        h.uut.evt.rd_req_tag.next = 0x25.into();
        h.uut.tx.wr_req_valid.next = true;
        h.uut.tx.wr_req_addr.next = 0x88.into();
        h.uut.tx.wr_req_len.next = 8.into();
        h.settle();
        // Ready comes from a register (empty skid buffer), not from the host.
        assert!(h.uut.evt.rd_req_ready.val() && h.uut.tx.wr_req_ready.val());
        assert!(!h.uut.host.rd_req_valid.val() && !h.uut.host.wr_req_valid.val());
        h.cycle();
        h.uut.evt.rd_req_valid.next = false;
        h.uut.tx.wr_req_valid.next = false;
        // The first data beat may be offered at once; it waits for the lock.
        h.uut.tx.wr_data_valid.next = true;
        h.uut.tx.wr_data.next = 0xABCD.into();
        h.uut.tx.wr_data_last.next = true;
        // A beat from a source that holds no grant must never pass.
        h.uut.rx.wr_data_valid.next = true;
        h.settle();
        assert!(!h.uut.host.rd_req_valid.val() && !h.uut.tx.wr_data_ready.val());
        h.cycle();
        h.settle();
        // Two cycles after it moved at the source, the request is at the host.
        assert!(h.uut.host.rd_req_valid.val());
        assert_eq!(u64::from(h.uut.host.rd_req_tag.val()), 0x80 | 0x25);
        assert_eq!(u64::from(h.uut.host.rd_req_addr.val()), 0x1234);
        assert_eq!(u64::from(h.uut.host.rd_req_len.val()), 5);
        assert!(h.uut.host.wr_req_valid.val());
        assert_eq!(u64::from(h.uut.host.wr_req_addr.val()), 0x88);
        assert!(!h.uut.host.wr_data_valid.val(), "no data before its request is taken");
        h.cycle();
        h.settle();
        assert!(!h.uut.host.rd_req_valid.val() && !h.uut.host.wr_req_valid.val());
        // Locked to tx now: its beat enters, rx's does not.
        assert!(h.uut.tx.wr_data_ready.val() && !h.uut.rx.wr_data_ready.val());
        h.cycle();
        h.uut.tx.wr_data_valid.next = false;
        h.settle();
        assert!(h.uut.host.wr_data_valid.val() && h.uut.host.wr_data_last.val());
        assert_eq!(u64::from(h.uut.host.wr_data.val()), 0xABCD);
        assert!(!h.uut.rx.wr_data_ready.val());
        // A response goes, one cycle later, only to the source its tag names.
        h.uut.host.rd_rsp_valid.next = true;
        h.uut.host.rd_rsp_tag.next = (0x80 | 0x25).into();
        h.uut.host.rd_rsp_data.next = 0x77.into();
        h.uut.host.rd_rsp_last.next = true;
        h.uut.evt.rd_rsp_ready.next = false;
        h.settle();
        assert!(h.uut.host.rd_rsp_ready.val(), "responses are never held");
        h.cycle();
        h.uut.host.rd_rsp_valid.next = false;
        h.settle();
        assert!(h.uut.evt.rd_rsp_valid.val() && !h.uut.rx.rd_rsp_valid.val() && !h.uut.tx.rd_rsp_valid.val());
        assert_eq!(u64::from(h.uut.evt.rd_rsp_tag.val()), 0x25);
        assert_eq!(u64::from(h.uut.evt.rd_rsp_data.val()), 0x77);
        assert!(h.uut.evt.rd_rsp_last.val());
        h.cycle();
        h.settle();
        assert!(!h.uut.host.wr_data_valid.val(), "the lock ends with the last beat");
        assert!(!h.uut.evt.rd_rsp_valid.val());
        assert!(!h.uut.rx.wr_data_ready.val());
    }

    /// All three sources keep a request valid every cycle with the host always
    /// ready: every source still moves one request per cycle into the arbiter
    /// until its buffer fills, the host takes one read per cycle in strict
    /// round-robin, and writes follow each other with their beats in order.
    #[test]
    fn back_to_back_requests_from_all_three_sources() {
        let mut h = Harness::new(DmaArbiter::default(), |a| &mut a.clock);
        h.uut.host.rd_req_ready.next = true;
        h.uut.host.wr_req_ready.next = true;
        h.uut.host.wr_data_ready.next = true;
        const N: u64 = 20;
        // Each source: N reads, N two-beat writes, data offered every cycle.
        let mut rd_sent = [0u64; 3];
        let mut wr_sent = [0u64; 3];
        let mut beat_sent = [0u64; 3];
        let mut host_reads = Vec::new();
        let mut host_writes = Vec::new();
        let mut host_beats = Vec::new();
        let mut write_open = false;
        let mut read_cycles = Vec::new();
        for _ in 0..400 {
            for i in 0..3 {
                let (r, w, b) = (rd_sent[i], wr_sent[i], beat_sent[i]);
                let p = port(&mut h.uut, i);
                p.rd_req_valid.next = r < N;
                p.rd_req_addr.next = ((i as u64) << 32 | r).into();
                p.rd_req_len.next = 8.into();
                p.rd_req_tag.next = (r % 64).into();
                p.wr_req_valid.next = w < N;
                p.wr_req_addr.next = ((i as u64) << 32 | w << 4).into();
                p.wr_req_len.next = 16.into();
                // Beats of write k are offered once its request moved.
                p.wr_data_valid.next = b < 2 * w;
                p.wr_data.next = ((i as u64) << 32 | b).into();
                p.wr_data_last.next = b % 2 == 1;
            }
            h.settle();
            for i in 0..3 {
                let p = port(&mut h.uut, i);
                if p.rd_req_valid.val() && p.rd_req_ready.val() {
                    rd_sent[i] += 1;
                }
                if p.wr_req_valid.val() && p.wr_req_ready.val() {
                    wr_sent[i] += 1;
                }
                if p.wr_data_valid.val() && p.wr_data_ready.val() {
                    beat_sent[i] += 1;
                }
            }
            let u = &h.uut;
            if u.host.rd_req_valid.val() {
                host_reads.push((u64::from(u.host.rd_req_addr.val()), u64::from(u.host.rd_req_tag.val())));
                read_cycles.push(h.cycles);
            }
            if u.host.wr_req_valid.val() {
                assert!(!write_open, "a write request before the last beat of the one before");
                host_writes.push(u64::from(u.host.wr_req_addr.val()));
                write_open = true;
            }
            if u.host.wr_data_valid.val() {
                assert!(write_open, "a data beat with no write request");
                let d = u64::from(u.host.wr_data.val());
                host_beats.push(d);
                if u.host.wr_data_last.val() {
                    write_open = false;
                }
            }
            h.cycle();
        }
        assert_eq!(rd_sent, [N; 3]);
        assert_eq!(wr_sent, [N; 3]);
        assert_eq!(beat_sent, [2 * N; 3]);
        // Reads: one per cycle at the host once all are filled, in round-robin.
        assert_eq!(host_reads.len() as u64, 3 * N);
        assert_eq!(read_cycles[3 * N as usize - 1] - read_cycles[0], 3 * N - 1, "a read bubble at the host");
        for (k, &(addr, tag)) in host_reads.iter().enumerate() {
            // rx was "granted last" at reset, so tx comes first.
            let (src, n) = (((k + 1) % 3) as u64, (k / 3) as u64);
            assert_eq!((addr, tag), (src << 32 | n, src << 6 | (n % 64)), "read {k}");
        }
        // Writes: round-robin too, each followed by exactly its two beats.
        assert_eq!(host_writes.len() as u64, 3 * N);
        assert_eq!(host_beats.len() as u64, 6 * N);
        for (k, &addr) in host_writes.iter().enumerate() {
            let (src, n) = (((k + 1) % 3) as u64, (k / 3) as u64);
            assert_eq!(addr, src << 32 | n << 4, "write {k}");
            assert_eq!(host_beats[2 * k], (src << 32) | (2 * n), "first beat of write {k}");
            assert_eq!(host_beats[2 * k + 1], src << 32 | (2 * n + 1), "second beat of write {k}");
        }
    }

    #[test]
    fn generates_verilog() {
        let mut uut = DmaArbiter::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
