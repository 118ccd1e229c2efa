//! Shares the one DMA master port among the receive engine (`rx`), the
//! transmit engine (`tx`) and the event engine (`evt`).
//!
//! Reads: a round-robin grant among the sources with `rd_req_valid`; the
//! granted request passes through combinationally with its tag rewritten to
//! `(source << 6) | (tag & 0x3F)`, source rx = 0, tx = 1, evt = 2 (so a
//! source must use only the low 6 bits of its tags). A request the host has
//! not yet accepted stays granted until it is, so the host sees a stable
//! request while `valid && !ready`. Responses go to the source named by
//! `tag >> 6`, with the tag cut back to its low 6 bits, and
//! `host.rd_rsp_ready` is that source's `rd_rsp_ready`; a response tagged
//! with source 3 (none) is accepted and dropped.
//!
//! Writes: a round-robin grant among the sources with `wr_req_valid`, held
//! until the host accepts the request. Once it has, the arbiter is locked to
//! that source until its beat with `wr_data_last` is accepted: only that
//! source's data beats pass, and no other write request is forwarded (the
//! host takes one write at a time). The lock starts the cycle after the
//! request moves, so a source's first beat can follow its request a cycle
//! later at the earliest; a new request can be forwarded the cycle after the
//! last beat moved.
//!
//! Every valid and ready passes through in the same cycle (no registers in
//! the data paths), so the arbiter adds no latency and no beat can be
//! duplicated or lost. Fairness: the round-robin pointer moves to each
//! source granted, so a source waiting for a grant is served after at most
//! one grant of each other source, for reads and writes alike.

use crate::ports::{DmaMaster, DmaSlave};
use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct DmaArbiter {
    pub clock: Signal<In, Clock>,
    pub rx: DmaSlave,
    pub tx: DmaSlave,
    pub evt: DmaSlave,
    pub host: DmaMaster,
    /// The source whose read request moved last: round-robin starts after it.
    rd_last: DFF<Bits<2>>,
    /// A read request was shown to the host but not taken: keep showing it.
    rd_hold: DFF<Bit>,
    rd_hold_src: DFF<Bits<2>>,
    wr_last: DFF<Bits<2>>,
    wr_hold: DFF<Bit>,
    wr_hold_src: DFF<Bits<2>>,
    /// A write request moved; its data beats are flowing from `wr_src`.
    wr_busy: DFF<Bit>,
    wr_src: DFF<Bits<2>>,
    rd_grant: Signal<Local, Bits<2>>,
    wr_grant: Signal<Local, Bits<2>>,
    rsp_src: Signal<Local, Bits<2>>,
}

impl Logic for DmaArbiter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rd_last, rd_hold, rd_hold_src, wr_last, wr_hold, wr_hold_src, wr_busy, wr_src);

        // Read grant: the held source, else the first valid one after the
        // last granted, in the order rx, tx, evt.
        self.rd_grant.next = self.rd_last.q.val();
        if self.rd_last.q.val() == 0 {
            if self.tx.rd_req_valid.val() {
                self.rd_grant.next = 1.into();
            } else if self.evt.rd_req_valid.val() {
                self.rd_grant.next = 2.into();
            } else {
                self.rd_grant.next = 0.into();
            }
        } else if self.rd_last.q.val() == 1 {
            if self.evt.rd_req_valid.val() {
                self.rd_grant.next = 2.into();
            } else if self.rx.rd_req_valid.val() {
                self.rd_grant.next = 0.into();
            } else {
                self.rd_grant.next = 1.into();
            }
        } else if self.rx.rd_req_valid.val() {
            self.rd_grant.next = 0.into();
        } else if self.tx.rd_req_valid.val() {
            self.rd_grant.next = 1.into();
        } else {
            self.rd_grant.next = 2.into();
        }
        if self.rd_hold.q.val() {
            self.rd_grant.next = self.rd_hold_src.q.val();
        }

        self.host.rd_req_valid.next = self.rx.rd_req_valid.val();
        self.host.rd_req_addr.next = self.rx.rd_req_addr.val();
        self.host.rd_req_len.next = self.rx.rd_req_len.val();
        self.host.rd_req_tag.next = self.rx.rd_req_tag.val() & 0x3F;
        if self.rd_grant.val() == 1 {
            self.host.rd_req_valid.next = self.tx.rd_req_valid.val();
            self.host.rd_req_addr.next = self.tx.rd_req_addr.val();
            self.host.rd_req_len.next = self.tx.rd_req_len.val();
            self.host.rd_req_tag.next = (self.tx.rd_req_tag.val() & 0x3F) | 0x40;
        } else if self.rd_grant.val() == 2 {
            self.host.rd_req_valid.next = self.evt.rd_req_valid.val();
            self.host.rd_req_addr.next = self.evt.rd_req_addr.val();
            self.host.rd_req_len.next = self.evt.rd_req_len.val();
            self.host.rd_req_tag.next = (self.evt.rd_req_tag.val() & 0x3F) | 0x80;
        }
        self.rx.rd_req_ready.next = self.host.rd_req_ready.val() & (self.rd_grant.val() == 0);
        self.tx.rd_req_ready.next = self.host.rd_req_ready.val() & (self.rd_grant.val() == 1);
        self.evt.rd_req_ready.next = self.host.rd_req_ready.val() & (self.rd_grant.val() == 2);
        self.rd_hold.d.next = self.host.rd_req_valid.val() & !self.host.rd_req_ready.val();
        self.rd_hold_src.d.next = self.rd_grant.val();
        if self.host.rd_req_valid.val() & self.host.rd_req_ready.val() {
            self.rd_last.d.next = self.rd_grant.val();
        }

        // Read responses, routed by the source in the tag's top bits.
        self.rsp_src.next = self.host.rd_rsp_tag.val().get_bits::<2>(6);
        self.rx.rd_rsp_valid.next = self.host.rd_rsp_valid.val() & (self.rsp_src.val() == 0);
        self.tx.rd_rsp_valid.next = self.host.rd_rsp_valid.val() & (self.rsp_src.val() == 1);
        self.evt.rd_rsp_valid.next = self.host.rd_rsp_valid.val() & (self.rsp_src.val() == 2);
        self.rx.rd_rsp_data.next = self.host.rd_rsp_data.val();
        self.tx.rd_rsp_data.next = self.host.rd_rsp_data.val();
        self.evt.rd_rsp_data.next = self.host.rd_rsp_data.val();
        self.rx.rd_rsp_tag.next = self.host.rd_rsp_tag.val() & 0x3F;
        self.tx.rd_rsp_tag.next = self.host.rd_rsp_tag.val() & 0x3F;
        self.evt.rd_rsp_tag.next = self.host.rd_rsp_tag.val() & 0x3F;
        self.rx.rd_rsp_last.next = self.host.rd_rsp_last.val();
        self.tx.rd_rsp_last.next = self.host.rd_rsp_last.val();
        self.evt.rd_rsp_last.next = self.host.rd_rsp_last.val();
        self.host.rd_rsp_ready.next = true;
        if self.rsp_src.val() == 0 {
            self.host.rd_rsp_ready.next = self.rx.rd_rsp_ready.val();
        } else if self.rsp_src.val() == 1 {
            self.host.rd_rsp_ready.next = self.tx.rd_rsp_ready.val();
        } else if self.rsp_src.val() == 2 {
            self.host.rd_rsp_ready.next = self.evt.rd_rsp_ready.val();
        }

        // Write grant, as for reads; only while no write's data is flowing.
        self.wr_grant.next = self.wr_last.q.val();
        if self.wr_last.q.val() == 0 {
            if self.tx.wr_req_valid.val() {
                self.wr_grant.next = 1.into();
            } else if self.evt.wr_req_valid.val() {
                self.wr_grant.next = 2.into();
            } else {
                self.wr_grant.next = 0.into();
            }
        } else if self.wr_last.q.val() == 1 {
            if self.evt.wr_req_valid.val() {
                self.wr_grant.next = 2.into();
            } else if self.rx.wr_req_valid.val() {
                self.wr_grant.next = 0.into();
            } else {
                self.wr_grant.next = 1.into();
            }
        } else if self.rx.wr_req_valid.val() {
            self.wr_grant.next = 0.into();
        } else if self.tx.wr_req_valid.val() {
            self.wr_grant.next = 1.into();
        } else {
            self.wr_grant.next = 2.into();
        }
        if self.wr_hold.q.val() {
            self.wr_grant.next = self.wr_hold_src.q.val();
        }

        self.host.wr_req_valid.next = self.rx.wr_req_valid.val();
        self.host.wr_req_addr.next = self.rx.wr_req_addr.val();
        self.host.wr_req_len.next = self.rx.wr_req_len.val();
        if self.wr_grant.val() == 1 {
            self.host.wr_req_valid.next = self.tx.wr_req_valid.val();
            self.host.wr_req_addr.next = self.tx.wr_req_addr.val();
            self.host.wr_req_len.next = self.tx.wr_req_len.val();
        } else if self.wr_grant.val() == 2 {
            self.host.wr_req_valid.next = self.evt.wr_req_valid.val();
            self.host.wr_req_addr.next = self.evt.wr_req_addr.val();
            self.host.wr_req_len.next = self.evt.wr_req_len.val();
        }
        if self.wr_busy.q.val() {
            self.host.wr_req_valid.next = false;
        }
        self.rx.wr_req_ready.next =
            self.host.wr_req_ready.val() & !self.wr_busy.q.val() & (self.wr_grant.val() == 0);
        self.tx.wr_req_ready.next =
            self.host.wr_req_ready.val() & !self.wr_busy.q.val() & (self.wr_grant.val() == 1);
        self.evt.wr_req_ready.next =
            self.host.wr_req_ready.val() & !self.wr_busy.q.val() & (self.wr_grant.val() == 2);
        self.wr_hold.d.next = self.host.wr_req_valid.val() & !self.host.wr_req_ready.val();
        self.wr_hold_src.d.next = self.wr_grant.val();
        if self.host.wr_req_valid.val() & self.host.wr_req_ready.val() {
            self.wr_last.d.next = self.wr_grant.val();
            self.wr_busy.d.next = true;
            self.wr_src.d.next = self.wr_grant.val();
        }

        // Write data, only from the locked source.
        self.host.wr_data_valid.next = false;
        self.host.wr_data.next = self.rx.wr_data.val();
        self.host.wr_data_last.next = self.rx.wr_data_last.val();
        if self.wr_src.q.val() == 0 {
            self.host.wr_data_valid.next = self.wr_busy.q.val() & self.rx.wr_data_valid.val();
        } else if self.wr_src.q.val() == 1 {
            self.host.wr_data_valid.next = self.wr_busy.q.val() & self.tx.wr_data_valid.val();
            self.host.wr_data.next = self.tx.wr_data.val();
            self.host.wr_data_last.next = self.tx.wr_data_last.val();
        } else {
            self.host.wr_data_valid.next = self.wr_busy.q.val() & self.evt.wr_data_valid.val();
            self.host.wr_data.next = self.evt.wr_data.val();
            self.host.wr_data_last.next = self.evt.wr_data_last.val();
        }
        self.rx.wr_data_ready.next =
            self.host.wr_data_ready.val() & self.wr_busy.q.val() & (self.wr_src.q.val() == 0);
        self.tx.wr_data_ready.next =
            self.host.wr_data_ready.val() & self.wr_busy.q.val() & (self.wr_src.q.val() == 1);
        self.evt.wr_data_ready.next =
            self.host.wr_data_ready.val() & self.wr_busy.q.val() & (self.wr_src.q.val() == 2);
        if self.host.wr_data_valid.val() & self.host.wr_data_ready.val() & self.host.wr_data_last.val() {
            self.wr_busy.d.next = false;
        }
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
                let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
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
            for i in 0..3 {
                let m = &mut masters[i];
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
                let rsp_ready = rng.chance(70);
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
            host.rsp_shown = rsp.is_some() && !u.host.rd_rsp_ready.val();

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
                let src = (0..3).find(|&i| port(&mut h.uut, i).wr_req_ready.val()).unwrap();
                wr_grants[src] += 1;
                host.write = Some(wr_fields);
            }

            // What each master saw.
            for i in 0..3 {
                let p = port(&mut h.uut, i);
                let rd_moved = p.rd_req_valid.val() && p.rd_req_ready.val();
                let wr_moved = p.wr_req_valid.val() && p.wr_req_ready.val();
                let data_moved = p.wr_data_valid.val() && p.wr_data_ready.val();
                let rsp = (p.rd_rsp_valid.val() && p.rd_rsp_ready.val()).then(|| {
                    (u64::from(p.rd_rsp_data.val()), u64::from(p.rd_rsp_tag.val()) as u8, p.rd_rsp_last.val())
                });
                let m = &mut masters[i];
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
    fn a_lone_source_passes_through_in_the_same_cycle() {
        let mut h = Harness::new(DmaArbiter::default(), |a| &mut a.clock);
        h.uut.host.rd_req_ready.next = true;
        h.uut.host.wr_req_ready.next = true;
        h.uut.host.wr_data_ready.next = true;
        h.uut.evt.rd_req_valid.next = true;
        h.uut.evt.rd_req_addr.next = 0x1234.into();
        h.uut.evt.rd_req_tag.next = 0x25.into();
        h.uut.tx.wr_req_valid.next = true;
        h.uut.tx.wr_req_addr.next = 0x88.into();
        h.uut.tx.wr_req_len.next = 8.into();
        h.settle();
        assert!(h.uut.host.rd_req_valid.val() && h.uut.evt.rd_req_ready.val());
        assert_eq!(u64::from(h.uut.host.rd_req_tag.val()), 0x80 | 0x25);
        assert!(h.uut.host.wr_req_valid.val() && h.uut.tx.wr_req_ready.val());
        assert!(!h.uut.rx.rd_req_ready.val() && !h.uut.rx.wr_req_ready.val());
        h.cycle();
        h.uut.evt.rd_req_valid.next = false;
        h.uut.tx.wr_req_valid.next = false;
        h.uut.tx.wr_data_valid.next = true;
        h.uut.tx.wr_data.next = 0xABCD.into();
        h.uut.tx.wr_data_last.next = true;
        // A beat from a source that holds no grant must not pass.
        h.uut.rx.wr_data_valid.next = true;
        h.settle();
        assert!(h.uut.host.wr_data_valid.val() && h.uut.tx.wr_data_ready.val());
        assert!(!h.uut.rx.wr_data_ready.val());
        assert_eq!(u64::from(h.uut.host.wr_data.val()), 0xABCD);
        // A response goes only to the source its tag names.
        h.uut.host.rd_rsp_valid.next = true;
        h.uut.host.rd_rsp_tag.next = (0x80 | 0x25).into();
        h.uut.evt.rd_rsp_ready.next = false;
        h.uut.rx.rd_rsp_ready.next = true;
        h.settle();
        assert!(h.uut.evt.rd_rsp_valid.val() && !h.uut.rx.rd_rsp_valid.val() && !h.uut.tx.rd_rsp_valid.val());
        assert_eq!(u64::from(h.uut.evt.rd_rsp_tag.val()), 0x25);
        assert!(!h.uut.host.rd_rsp_ready.val());
        h.cycle();
        h.uut.tx.wr_data_valid.next = false;
        h.settle();
        assert!(!h.uut.host.wr_data_valid.val(), "the lock ends with the last beat");
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
