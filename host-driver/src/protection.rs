//! The protection check: one application's queue turned hostile. It
//! scribbles any descriptor into its own rings, rings its doorbells with
//! any value and writes anything anywhere on its own user page, while a
//! well-behaved application and the kernel's queue carry on. Afterwards
//! every DMA access the NIC made is held against the address ranges the
//! queue that caused it may reach, and the well-behaved traffic must have
//! come through whole.
//!
//! Attribution: in the hostile phase only the attacker and the kernel's
//! queue (whose descriptors are this driver's own) are active, so every
//! access there must lie in one of their ranges, the attacker's being its
//! window, its rings and its event word. In the mixed phase the victim is
//! active too, and accesses may also lie in the victim's ranges; what the
//! victim sees is then checked frame by frame. Proptest (`tests/`) and the
//! benchmark draw the cases; this file runs them on any backend.

use crate::control::Nic;
use crate::demux::filters::{Filter, Target, PROTO_UDP};
use crate::device::{DmaLog, Device, Wire};
use crate::queue::{QueuePair, QueueSpec};
use crate::traffic::{udp4, Rng, Udp4};
use anyhow::Result;
use arsenic_hdl::queue::{post_word, Template, DESC_BYTES, DESC_WRITEBACK_OFFSET};
use std::collections::VecDeque;

/// Cycles a phase may run before the check goes on with the NIC busy.
const SETTLE_CYCLES: u64 = 50_000;

pub const KERNEL: u32 = 0;
pub const VICTIM: u32 = 2;
pub const ATTACKER: u32 = 5;

/// Where a hostile descriptor points.
#[derive(Clone, Copy, Debug)]
pub enum Aim {
    /// Inside the attacker's own window, at this offset (may overrun it).
    Own(u64),
    /// Into the victim's buffers.
    Victim(u64),
    /// Into the kernel's buffers.
    Kernel(u64),
    /// Into the attacker's own rings.
    Rings(u64),
    /// Anywhere.
    Raw(u64),
    /// Just below 2^64, so address + length wraps.
    Top(u64),
}

#[derive(Clone, Copy, Debug)]
pub enum Action {
    RxDescriptor { slot: u16, at: Aim, len: u16 },
    TxDescriptor { slot: u16, at: Aim, len: u16 },
    /// A receive doorbell this many descriptors past the last one (wraps).
    RxTail(u16),
    TxTail(u16),
    /// Any 32-bit write anywhere on its own user page.
    PageWrite { offset: u16, value: u32 },
    /// Frames on the wire to the attacker's port.
    Traffic { frames: u8, len: u16 },
    Run(u16),
}

impl Action {
    /// A random action, as the benchmark draws them.
    pub fn random(rng: &mut Rng) -> Action {
        let at = |rng: &mut Rng| match rng.range(0, 5) {
            0 => Aim::Own(rng.next_u64() % 300_000),
            1 => Aim::Victim(rng.next_u64() % 300_000),
            2 => Aim::Kernel(rng.next_u64() % 300_000),
            3 => Aim::Rings(rng.next_u64() % 2048),
            4 => Aim::Raw(rng.next_u64()),
            _ => Aim::Top(rng.next_u64() % 4096),
        };
        let len = |rng: &mut Rng| match rng.range(0, 3) {
            0 => rng.range(0, 70) as u16,
            1 => rng.range(60, 2100) as u16,
            2 => rng.next_u64() as u16,
            _ => 1514,
        };
        let tail = |rng: &mut Rng| if rng.range(0, 19) == 0 { rng.next_u64() as u16 } else { rng.range(0, 40) as u16 };
        match rng.range(0, 7) {
            0 => Action::RxDescriptor { slot: rng.next_u64() as u16, at: at(rng), len: len(rng) },
            1 => Action::TxDescriptor { slot: rng.next_u64() as u16, at: at(rng), len: len(rng) },
            2 => Action::RxTail(tail(rng)),
            3 => Action::TxTail(tail(rng)),
            4 => Action::PageWrite { offset: (rng.range(0, 1023) * 4) as u16, value: rng.next_u64() as u32 },
            5 => Action::Traffic { frames: rng.range(1, 4) as u8, len: rng.range(60, 1514) as u16 },
            _ => Action::Run(rng.range(1, 3000) as u16),
        }
    }
}

/// The address ranges one queue may reach, from its memory.
#[derive(Clone, Debug)]
struct Reach {
    ranges: Vec<(u64, u64)>,
}

impl Reach {
    fn of(pair: &QueuePair) -> Reach {
        let (window_base, window_limit) = pair.pool().window();
        let (ctrl, _, _) = pair.ring_memory();
        Reach { ranges: vec![(window_base, window_limit), (ctrl.bus(0), ctrl.bus(ctrl.len()))] }
    }

    fn holds(&self, addr: u64, len: u64) -> bool {
        self.ranges.iter().any(|&(lo, hi)| addr >= lo && (addr as u128 + len as u128) <= hi as u128)
    }
}

/// What one case found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub accesses: u64,
    /// Accesses outside every range their phase allows, described.
    pub violations: Vec<String>,
    /// Ways the victim's traffic differed from what it should have been.
    pub victim_damage: Vec<String>,
}

fn app_frame(q: u32, to_app: bool, len: usize, seq: u32) -> Vec<u8> {
    let app = [0x02, 0, 0, 0, 0xA0, q as u8];
    let peer = [0x02, 0, 0, 0, 0xB0, 0x01];
    let (ip, other) = ([10, 0, 0, 10 + q as u8], [10, 0, 0, 1]);
    let port = 7000 + q as u16;
    let a = if to_app {
        Udp4 { src_mac: peer, dst_mac: app, src: other, dst: ip, sport: 5000, dport: port }
    } else {
        Udp4 { src_mac: app, dst_mac: peer, src: ip, dst: other, sport: port, dport: 5000 }
    };
    udp4(&a, len, seq)
}

fn spec(q: u32) -> QueueSpec {
    let template = Template {
        src_mac: Some([0x02, 0, 0, 0, 0xA0, q as u8]),
        vlan: None,
        src_ip: Some(std::net::IpAddr::V4([10, 0, 0, 10 + q as u8].into())),
        src_port: Some(7000 + q as u16),
    };
    QueueSpec { rx_ring_log2: 4, tx_ring_log2: 4, buffers: 64, buffer_bytes: 2048, template, ..Default::default() }
}

fn apply<D: Device + Wire>(dev: &mut D, attacker: &QueuePair, victim: &QueuePair, kernel: &QueuePair, a: &Action, tails: &mut (u16, u16), seq: &mut u32) -> Result<()> {
    let (ctrl, rx_ring, tx_ring) = attacker.ring_memory();
    let addr = |t: &Aim| -> u64 {
        match *t {
            Aim::Own(o) => attacker.pool().window().0.wrapping_add(o),
            Aim::Victim(o) => victim.pool().window().0.wrapping_add(o),
            Aim::Kernel(o) => kernel.pool().window().0.wrapping_add(o),
            Aim::Rings(o) => rx_ring.wrapping_add(o),
            Aim::Raw(a) => a,
            Aim::Top(o) => u64::MAX - o,
        }
    };
    let write_desc = |ring: u64, log2: u32, slot: u16, at: &Aim, len: u16| {
        let slot = (slot as u64) & ((1 << log2) - 1);
        let off = (ring - ctrl.bus(0) + slot * DESC_BYTES) as usize;
        ctrl.write_u64(off, addr(at));
        ctrl.write_u64(off + DESC_WRITEBACK_OFFSET as usize, post_word(len));
    };
    let page = attacker.page();
    match a {
        Action::RxDescriptor { slot, at, len } => write_desc(rx_ring, 4, *slot, at, *len),
        Action::TxDescriptor { slot, at, len } => write_desc(tx_ring, 4, *slot, at, *len),
        Action::RxTail(d) => {
            tails.0 = tails.0.wrapping_add(*d);
            page.write32(arsenic_hdl::regmap::UQ_RX_TAIL, tails.0 as u32)?;
        }
        Action::TxTail(d) => {
            tails.1 = tails.1.wrapping_add(*d);
            page.write32(arsenic_hdl::regmap::UQ_TX_TAIL, tails.1 as u32)?;
        }
        Action::PageWrite { offset, value } => page.write32(*offset as u32 & 0xFFC, *value)?,
        Action::Traffic { frames, len } => {
            for _ in 0..*frames {
                *seq += 1;
                dev.send(&app_frame(ATTACKER, true, *len as usize, *seq), false);
            }
        }
        Action::Run(c) => attacker.advance(*c as u64)?,
    }
    Ok(())
}

/// A frame the victim sent: its source address and port (the hostile queue
/// cannot forge them; its template check drops such frames).
fn is_victims(d: &[u8]) -> bool {
    d.get(34..36) == Some(&(7000 + VICTIM as u16).to_be_bytes()[..]) && d[6..12] == [0x02, 0, 0, 0, 0xA0, VICTIM as u8]
}

/// Runs one case: `hostile` alone, then `mixed` while the victim receives
/// and sends `victim_frames` frames each way.
pub fn run_case<D: Device + Wire + DmaLog>(dev: &mut D, hostile: &[Action], mixed: &[Action], victim_frames: u32) -> Result<Outcome> {
    let mut nic = Nic::open(&*dev)?;
    let kernel = nic.create_queue(&*dev, KERNEL, &QueueSpec { unrestricted: true, rx_ring_log2: 6, buffers: 128, ..Default::default() })?;
    let mut victim = nic.create_queue(&*dev, VICTIM, &spec(VICTIM))?;
    let attacker = nic.create_queue(&*dev, ATTACKER, &spec(ATTACKER))?;
    for q in [VICTIM, ATTACKER] {
        nic.install_filter(&Filter::Listen { proto: PROTO_UDP, dst: None, dport: Some(7000 + q as u16) }, Target::queue(q))?;
    }
    // The attacker's driver posted 15 receive buffers at creation.
    let mut tails = (15u16, 0u16);
    let mut seq = 0;
    let (k, v, a) = (Reach::of(&kernel), Reach::of(&victim), Reach::of(&attacker));
    let mut out = Outcome::default();
    dev.drain()?;
    dev.take_dma_log();
    for act in hostile {
        apply(dev, &attacker, &victim, &kernel, act, &mut tails, &mut seq)?;
    }
    // A doorbell far past the ring keeps the NIC walking stale descriptors
    // of the attacker's for a long time: that is its own queue's time, not
    // a hang, so the phase ends after a budget rather than at quiet.
    dev.settle(SETTLE_CYCLES)?;
    let check = |log: Vec<arsenic_testbench::host_memory::DmaAccess>, allowed: &[&Reach], out: &mut Outcome, phase: &str| {
        for acc in log {
            out.accesses += 1;
            if !allowed.iter().any(|r| r.holds(acc.addr, acc.len as u64)) {
                out.violations.push(format!("{phase}: {:?} of {} bytes at 0x{:x} (cycle {})", acc.kind, acc.len, acc.addr, acc.cycle));
            }
        }
    };
    check(dev.take_dma_log(), &[&a, &k], &mut out, "hostile phase");

    // The victim's traffic, with the attacker still at it.
    let mut want_rx = vec![];
    let mut want_tx = vec![];
    let mut burst = VecDeque::new();
    for i in 0..victim_frames {
        let f = app_frame(VICTIM, true, 60 + (i as usize * 97) % 1400, 1000 + i);
        dev.send(&f, false);
        want_rx.push(f);
        let t = app_frame(VICTIM, false, 60 + (i as usize * 61) % 1400, 2000 + i);
        let mut p = victim.alloc(t.len()).expect("the victim's pool has room");
        p.copy_from_slice(&t);
        burst.push_back(p);
        want_tx.push(t);
    }
    let mut sent = 0;
    let mut got_rx = vec![];
    let mut got_tx = vec![];
    for act in mixed {
        apply(dev, &attacker, &victim, &kernel, act, &mut tails, &mut seq)?;
        sent += victim.tx_burst(&mut burst)?;
    }
    // A completion means the NIC has copied the frame out, not that it has
    // left the wire, so the wire is gathered like the receive ring: until
    // every frame is in or the budget runs out.
    for _ in 0..40 {
        sent += victim.tx_burst(&mut burst)?;
        dev.settle(SETTLE_CYCLES)?;
        got_rx.extend(victim.rx_burst(64)?.iter().map(|p| p.to_vec()));
        got_tx.extend(dev.take_transmitted().into_iter().map(|f| f.data).filter(|d| is_victims(d)));
        if burst.is_empty() && victim.tx_outstanding() == 0 && got_rx.len() >= want_rx.len() && got_tx.len() >= want_tx.len() {
            break;
        }
    }
    check(dev.take_dma_log(), &[&a, &k, &v], &mut out, "mixed phase");
    if got_rx != want_rx {
        out.victim_damage.push(format!("received {} of {} frames intact", got_rx.iter().zip(&want_rx).filter(|(a, b)| a == b).count(), want_rx.len()));
    }
    if got_tx != want_tx || sent != victim_frames as usize {
        out.victim_damage.push(format!("{} of {} frames left on the wire intact", got_tx.iter().zip(&want_tx).filter(|(a, b)| a == b).count(), want_tx.len()));
    }
    let c = victim.counters()?;
    if (c.rx_delivered, c.rx_dropped, c.tx_sent, c.tx_rejected) != (victim_frames, 0, victim_frames, 0) {
        out.victim_damage.push(format!("victim counters {c:?}"));
    }
    Ok(out)
}
