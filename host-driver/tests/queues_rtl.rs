//! The queue scenarios on the Verilated gateware, with the DMA port's
//! 500 ns read latency, and the same driver code as on the model.

mod common;

use arsenic::device::rtl::RtlDevice;
use common::queues::*;

fn dev() -> RtlDevice {
    let d = RtlDevice::new();
    d.set_dma_read_latency(arsenic_testbench::host_memory::DEFAULT_READ_LATENCY_CYCLES);
    d
}

fn clean(d: &RtlDevice) {
    assert_eq!(d.dma_protocol_errors(), 0, "the NIC broke the DMA port's protocol");
    assert_eq!(d.rx_stall_cycles(), 0, "the NIC held off the MAC");
}

#[test]
fn rtl_steered_frames_reach_their_queues() {
    let mut d = dev();
    steered_frames_reach_their_queues(&mut d);
    clean(&d);
}

#[test]
fn rtl_a_full_ring_drops_only_its_own_frames() {
    let mut d = dev();
    a_full_ring_drops_only_its_own_frames(&mut d);
    clean(&d);
}

#[test]
fn rtl_transmit_interleaves_and_enforces_templates() {
    let mut d = dev();
    transmit_interleaves_and_enforces_templates(&mut d);
    clean(&d);
}

#[test]
fn rtl_events_report_completions() {
    let mut d = dev();
    events_report_completions(&mut d);
    clean(&d);
}

/// Every ring size the generator allows, receive and transmit, through
/// several wraps of the ring's index.
#[test]
fn rtl_every_ring_size_wraps() {
    every_ring_size_wraps(&mut dev());
}

/// Two unshaped queues with long backlogs share the wire by deficit round
/// robin: once both have frames waiting, neither holds the wire for more
/// than its quantum and one admission while the other waits.
#[test]
fn rtl_transmit_shares_by_deficit_round_robin() {
    use std::collections::VecDeque;
    let mut d = dev();
    let (_nic, _kernel, mut apps) = setup(&d, &[2, 4]);
    for pair in apps.iter_mut() {
        let q = pair.queue();
        let mut burst: VecDeque<_> = (0..30u32)
            .map(|i| {
                let f = from_app(q, 200, i);
                let mut p = pair.alloc(f.len()).unwrap();
                p.copy_from_slice(&f);
                p
            })
            .collect();
        assert_eq!(pair.tx_burst(&mut burst).unwrap(), 30);
    }
    arsenic::device::Wire::drain(&mut d).unwrap();
    let order: Vec<u8> = arsenic::device::Wire::take_transmitted(&mut d).iter().map(|f| (u16::from_be_bytes([f.data[34], f.data[35]]) - 7000) as u8).collect();
    assert_eq!(order.len(), 60);
    // Queue 2's doorbell lands a few register accesses before queue 4's,
    // so it may start alone; from queue 4's first frame on they alternate.
    let first4 = order.iter().position(|&p| p == 4).unwrap();
    assert!(first4 <= 2, "queue 4 waited {first4} frames: {order:?}");
    let tail = &order[first4..];
    let both = 2 * tail.iter().filter(|&&p| p == 4).count().min(tail.iter().filter(|&&p| p == 2).count());
    let longest = tail[..both].chunk_by(|a, b| a == b).map(|run| run.len()).max().unwrap();
    let wire = arsenic_hdl::shaping::wire_bytes(200) as usize;
    let bound = (arsenic_hdl::shaping::quantum(1) + arsenic_hdl::shaping::ADMIT_BYTES) as usize / wire;
    assert!(longest <= bound, "a queue sent {longest} frames in a row, more than {bound}: {order:?}");
    assert!(longest > 1, "frame by frame: the queues do not keep their turn for a quantum: {order:?}");
    clean(&d);
}
