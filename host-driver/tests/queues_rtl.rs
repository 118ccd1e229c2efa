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
