//! The queue scenarios on the behavioural model.

mod common;

use arsenic::device::model::ModelDevice;
use common::queues::*;

#[test]
fn model_steered_frames_reach_their_queues() {
    steered_frames_reach_their_queues(&mut ModelDevice::default());
}

#[test]
fn model_a_full_ring_drops_only_its_own_frames() {
    a_full_ring_drops_only_its_own_frames(&mut ModelDevice::default());
}

#[test]
fn model_transmit_interleaves_and_enforces_templates() {
    transmit_interleaves_and_enforces_templates(&mut ModelDevice::default());
}

#[test]
fn model_events_report_completions() {
    events_report_completions(&mut ModelDevice::default());
}

#[test]
fn model_every_ring_size_wraps() {
    every_ring_size_wraps(&mut ModelDevice::default());
}

/// The model's transmit wire runs on time: a doorbell on an idle wire
/// sends its first frame at once, the rest leave back to back as time is
/// let pass, and `settle` reports a shaped queue that needs longer.
#[test]
fn model_transmit_follows_the_wire_clock() {
    use arsenic::device::{Device, Wire};
    use arsenic::shaping::{Rate, Shaping};
    use arsenic_testbench::wire::wire_cycles;
    use std::collections::VecDeque;
    let mut dev = ModelDevice::default();
    let (mut nic, _kernel, mut apps) = setup(&dev, &[3]);
    let waiter = dev.waiter();
    let post = |pair: &mut arsenic::queue::QueuePair, n: u32| {
        let mut burst: VecDeque<_> = (0..n)
            .map(|i| {
                let f = from_app(3, 1514, i);
                let mut p = pair.alloc(f.len()).unwrap();
                p.copy_from_slice(&f);
                p
            })
            .collect();
        assert_eq!(pair.tx_burst(&mut burst).unwrap(), n as usize);
    };
    post(&mut apps[0], 10);
    let t0 = waiter.now();
    let first = dev.take_transmitted();
    assert_eq!(first.iter().map(|f| f.cycle).collect::<Vec<_>>(), [t0], "one frame at the doorbell");
    waiter.advance(3 * wire_cycles(1514)).unwrap();
    assert_eq!(dev.take_transmitted().len(), 3, "three more as the wire frees");
    dev.drain().unwrap();
    let rest = dev.take_transmitted();
    let cycles: Vec<u64> = rest.iter().map(|f| f.cycle).collect();
    let want: Vec<u64> = (4..10).map(|i| t0 + i * wire_cycles(1514)).collect();
    assert_eq!(cycles, want, "back to back");
    assert_eq!(apps[0].tx_outstanding(), 0);
    // At 1 Mb/s a 1514-byte frame takes 12.3 ms (1.5 million cycles).
    let slow = Shaping { ceiling: Some(Rate { bits_per_s: 1_000_000, burst_bytes: 4000 }), ..Default::default() };
    nic.set_shaping(&dev, 3, &slow).unwrap();
    post(&mut apps[0], 2);
    assert!(!dev.settle(1_000_000).unwrap(), "two frames at 1 Mb/s cannot leave within 8 ms");
    assert!(dev.settle(4_000_000).unwrap());
    assert_eq!(dev.take_transmitted().len(), 2);
}
