//! Figures of the descriptor engine and the driver: line rate with
//! minimum frames over 16 queues each way, wire-to-host latency, the
//! driver's own cost per packet, and the protection fuzz.

use anyhow::{bail, Result};
use arsenic::control::Nic;
use arsenic::demux::filters::{Filter, Target, PROTO_UDP};
use arsenic::device::model::ModelDevice;
use arsenic::device::rtl::RtlDevice;
use arsenic::device::{Demux, Device, DmaLog, Wire};
use arsenic::protection::{self, Action};
use arsenic::queue::{QueuePair, QueueSpec};
use arsenic::traffic::{udp4, Rng, Udp4};
use arsenic_testbench::wire::{wire_cycles, NS_PER_CYCLE};
use arsenic_testbench::TxPacing;
use std::collections::VecDeque;
use std::time::Instant;

const QUEUES: u32 = 16;
/// 60 bytes plus a 4-byte FCS: the minimum Ethernet frame.
const MIN_LEN: usize = 60;

fn addrs(q: u32, to_app: bool) -> Udp4 {
    let (app, peer) = ([0x02, 0, 0, 0, 0xA0, q as u8], [0x02, 0, 0, 0, 0xB0, 1]);
    let port = 7000 + q as u16;
    if to_app {
        Udp4 { src_mac: peer, dst_mac: app, src: [10, 0, 0, 1], dst: [10, 0, 1, q as u8], sport: 5000, dport: port }
    } else {
        Udp4 { src_mac: app, dst_mac: peer, src: [10, 0, 1, q as u8], dst: [10, 0, 0, 1], sport: port, dport: 5000 }
    }
}

/// The kernel's queue 0 and application queues 1..=QUEUES, each steered
/// its UDP port.
fn queues<D: Device>(dev: &D, spec: &QueueSpec) -> Result<(Nic, Vec<QueuePair>)> {
    let mut nic = Nic::open(dev)?;
    let mut pairs = vec![nic.create_queue(dev, 0, &QueueSpec { unrestricted: true, ..spec.clone() })?];
    for q in 1..=QUEUES {
        pairs.push(nic.create_queue(dev, q, spec)?);
        nic.install_filter(&Filter::Listen { proto: PROTO_UDP, dst: None, dport: Some(7000 + q as u16) }, Target::queue(q))?;
    }
    Ok((nic, pairs))
}

fn spec() -> QueueSpec {
    QueueSpec { rx_ring_log2: 9, tx_ring_log2: 9, buffers: 1200, buffer_bytes: 256, ..Default::default() }
}

/// Minimum frames at line rate spread over 16 queues: the share delivered.
/// Any shortfall against line rate would pile up in the 8 KiB receive
/// buffer and overflow long before the run ends.
pub fn rx_line_rate() -> Result<f64> {
    let mut dev = RtlDevice::new();
    let (_nic, mut pairs) = queues(&dev, &spec())?;
    let n = 16 * 300;
    for i in 0..n {
        let q = 1 + (i as u32 % QUEUES);
        dev.send(&udp4(&addrs(q, true), MIN_LEN, i as u32), false);
    }
    dev.drain()?;
    let delivered: usize = pairs.iter_mut().map(|p| p.rx_burst(usize::MAX).map(|v| v.len())).sum::<Result<usize>>()?;
    if dev.rx_stall_cycles() != 0 {
        bail!("the NIC stalled the receive MAC");
    }
    Ok(delivered as f64 / n as f64)
}

/// Minimum frames posted on 16 queues, the MAC paced at line rate: the
/// share of line rate from the first frame's start to the last one's end.
pub fn tx_line_rate() -> Result<f64> {
    let mut dev = RtlDevice::new();
    dev.set_tx_pacing(TxPacing::LineRate);
    let (_nic, mut pairs) = queues(&dev, &spec())?;
    let per_queue = 300;
    for p in pairs.iter_mut().skip(1) {
        let q = p.queue();
        let mut burst: VecDeque<_> = (0..per_queue)
            .map(|i| {
                let f = udp4(&addrs(q, false), MIN_LEN, i);
                let mut pkt = p.alloc(f.len()).expect("pool sized for the run");
                pkt.copy_from_slice(&f);
                pkt
            })
            .collect();
        if p.tx_burst(&mut burst)? != per_queue as usize {
            bail!("queue {q}: the ring did not take the burst");
        }
    }
    // Transmit-only work outlasts drain's allowance past the last received
    // frame; give it the time 4800 frames take, and more.
    if !dev.settle(2_000_000)? {
        bail!("the transmit run did not finish");
    }
    let sent = dev.take_transmitted();
    let n = QUEUES as usize * per_queue as usize;
    if sent.len() != n {
        bail!("{} of {n} frames left", sent.len());
    }
    let span = sent.last().unwrap().cycle + wire_cycles(MIN_LEN) - sent[0].cycle;
    Ok((n as u64 * wire_cycles(MIN_LEN)) as f64 / span as f64)
}

/// From a minimum frame's last byte in to its write-back landing in host
/// memory, on an idle NIC: the median over 100 frames, in ns.
pub fn wire_to_host_ns() -> Result<f64> {
    let mut dev = RtlDevice::new();
    let (_nic, mut pairs) = queues(&dev, &spec())?;
    let (_, ring, _) = pairs[1].ring_memory();
    let ring_end = ring + 16 * 512;
    let mut samples = vec![];
    for i in 0..100 {
        dev.send(&udp4(&addrs(1, true), MIN_LEN, i), false);
        dev.drain()?;
        let start = dev.take_received().last().map(|r| r.cycle).unwrap_or(0);
        let last_byte = start + MIN_LEN as u64 - 1;
        let wb = dev
            .take_dma_log()
            .into_iter()
            .find(|a| a.len == 8 && a.addr >= ring && a.addr < ring_end && a.addr % 16 == 8)
            .ok_or_else(|| anyhow::anyhow!("no write-back for frame {i}"))?;
        // The write-back's one data beat lands the cycle after its request.
        samples.push((wb.cycle + 1 - last_byte) * NS_PER_CYCLE);
        pairs[1].rx_burst(8)?;
    }
    samples.sort();
    Ok(samples[samples.len() / 2] as f64)
}

/// A forwarding loop on the model: receive a burst of 32, send the same
/// buffers back out. Returns (driver ns per packet, model's share of the
/// loop's time); the model's receive and transmit work is timed apart.
pub fn driver_forwarding(rounds: u64) -> Result<(f64, f64)> {
    let mut dev = ModelDevice::default();
    let spec = QueueSpec { rx_ring_log2: 7, tx_ring_log2: 7, buffers: 512, buffer_bytes: 2048, ..Default::default() };
    let mut nic = Nic::open(&dev)?;
    let mut pair = nic.create_queue(&dev, 1, &spec)?;
    nic.install_filter(&Filter::Listen { proto: PROTO_UDP, dst: None, dport: Some(7001) }, Target::queue(1))?;
    let frames: Vec<Vec<u8>> = (0..32).map(|i| udp4(&addrs(1, true), MIN_LEN, i)).collect();
    let mut model = std::time::Duration::ZERO;
    let mut forwarded = 0u64;
    let mut run = |dev: &mut ModelDevice, rounds: u64, model: &mut std::time::Duration, forwarded: &mut u64| -> Result<()> {
        for _ in 0..rounds {
            let t = Instant::now();
            for f in &frames {
                dev.send(f, false);
            }
            *model += t.elapsed();
            let mut burst: VecDeque<_> = pair.rx_burst(32)?.into();
            *forwarded += pair.tx_burst(&mut burst)? as u64;
            let t = Instant::now();
            dev.take_transmitted();
            dev.take_received();
            *model += t.elapsed();
        }
        Ok(())
    };
    run(&mut dev, 1000, &mut model, &mut forwarded)?;
    let (mut model, mut forwarded) = (std::time::Duration::ZERO, 0u64);
    let doorbells_before = dev.tx_doorbell_nanos();
    let started = Instant::now();
    run(&mut dev, rounds, &mut model, &mut forwarded)?;
    let total = started.elapsed().as_nanos() as f64;
    if forwarded != rounds * 32 {
        bail!("forwarded {forwarded} of {} packets", rounds * 32);
    }
    let model_ns = model.as_nanos() as f64 + (dev.tx_doorbell_nanos() - doorbells_before) as f64;
    Ok(((total - model_ns) / forwarded as f64, model_ns / total))
}

/// Random hostile cases on the RTL: (cases, DMA accesses outside a
/// queue's reach plus disturbances of the victim).
pub fn protection_fuzz(cases: u64) -> Result<(u64, u64)> {
    let mut rng = Rng::new(0xA75E);
    let mut bad = 0;
    for _ in 0..cases {
        let hostile: Vec<Action> = (0..rng.range(5, 30)).map(|_| Action::random(&mut rng)).collect();
        let mixed: Vec<Action> = (0..rng.range(1, 12)).map(|_| Action::random(&mut rng)).collect();
        let o = protection::run_case(&mut RtlDevice::new(), &hostile, &mixed, 12)?;
        bad += (o.violations.len() + o.victim_damage.len()) as u64;
    }
    Ok((cases, bad))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_forwarding_loop_forwards_every_packet() {
        let (ns, share) = super::driver_forwarding(200).unwrap();
        assert!(ns > 0.0 && (0.0..1.0).contains(&share), "{ns} ns, model share {share}");
    }
}
