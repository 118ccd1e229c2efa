//! The shaping scenarios on the Verilated gateware, with the same driver
//! code as on the model, and the model and the gateware compared on one
//! mixed scenario. The gateware simulates a few hundred thousand cycles a
//! second, so windows here are fewer than the model's; rates of a few Mb/s,
//! whose 10 ms windows hold only a frame or two, are checked on the model
//! (`shaping_model`), which this file holds to the gateware's figures.

mod common;

use arsenic::device::model::ModelDevice;
use arsenic::device::rtl::RtlDevice;
use arsenic::shaping::measure::{mixed_rates, BIG_FRAME, WINDOW_10MS, WINDOW_1MS};
use common::shaping::*;

fn dev() -> RtlDevice {
    let d = RtlDevice::new();
    d.set_dma_read_latency(arsenic_testbench::host_memory::DEFAULT_READ_LATENCY_CYCLES);
    d
}

fn clean(d: &RtlDevice) {
    assert_eq!(d.dma_protocol_errors(), 0, "the NIC broke the DMA port's protocol");
}

#[test]
fn rtl_conformance_at_10_100_and_1000_mbps() {
    // Minimum frames at the lower rates, so one frame is a small part of
    // a window; full frames at line rate.
    for (mbps, len, windows) in [(10u64, 60usize, 4u64), (100, 60, 2), (1000, BIG_FRAME, 2)] {
        let mut d = dev();
        let error = conformance(&mut d, mbps * 1_000_000, len, windows, WINDOW_10MS);
        println!("conformance {mbps} Mb/s, {len}-byte frames: mean error {error:+.4}%");
        clean(&d);
    }
}

#[test]
fn rtl_a_guarantee_holds_beside_63_greedy_queues() {
    let mut d = dev();
    let fraction = isolation(&mut d, 63, BIG_FRAME, 4, WINDOW_1MS);
    println!("isolation: the guaranteed queue got {:.2}% of 100 Mb/s", fraction * 100.0);
    clean(&d);
}

#[test]
fn rtl_63_equal_queues_share_fairly() {
    let mut d = dev();
    let (jain, utilisation) = fairness(&mut d, 63, BIG_FRAME, 3, WINDOW_10MS);
    println!("fairness over 63 queues: Jain {jain:.5}, link utilisation {utilisation:.4}");
    clean(&d);
}

#[test]
fn rtl_weights_share_one_two_four() {
    let mut d = dev();
    let shares = weighted(&mut d, BIG_FRAME, 5, WINDOW_1MS);
    println!("weights 1:2:4 got {shares:.4?}");
    clean(&d);
}

#[test]
fn rtl_settings_round_trip() {
    settings_round_trip(&dev());
}

#[test]
fn rtl_invalid_settings_are_refused() {
    invalid_settings_are_refused(&dev());
}

/// The same backlogged mix on both: every queue's bytes per millisecond
/// within 0.5% of the model's.
#[test]
fn rtl_rates_match_the_model() {
    let (len, windows) = (256, 4);
    let mut d = dev();
    let rtl = mixed_rates(&mut d, len, windows, WINDOW_10MS).unwrap();
    clean(&d);
    let model = mixed_rates(&mut ModelDevice::default(), len, windows, WINDOW_10MS).unwrap();
    for (q, m) in &model {
        let r = rtl[q];
        let diff = (r - m) / m * 100.0;
        println!("queue {q}: model {m:.0} B/ms, gateware {r:.0} B/ms ({diff:+.3}%)");
        assert!(diff.abs() <= 0.5, "queue {q}: gateware {r:.0} B/ms, model {m:.0} B/ms");
    }
}
