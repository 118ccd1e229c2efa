//! The shaping scenarios on the behavioural model, at 10 ms windows.

mod common;

use arsenic::device::model::ModelDevice;
use arsenic_hdl::shaping::wire_bytes;
use arsenic::shaping::measure::{BIG_FRAME, WINDOW_10MS};
use common::shaping::*;

/// Every rate across the range holds to its ceiling. Each run is long
/// enough for 400 frames after the first window, so one frame is 0.25%
/// of the total and the 0.5% bound is a real test of the mean.
#[test]
fn model_conformance_across_the_range() {
    for mbps in [1u64, 2, 5, 10, 50, 100, 500, 1000] {
        let per_window = mbps * 1_000_000 / 8 / 100;
        let frames_needed = 400 * wire_bytes(BIG_FRAME as u32) as u64;
        let windows = 1 + frames_needed.div_ceil(per_window).max(10);
        let error = conformance(&mut ModelDevice::default(), mbps * 1_000_000, BIG_FRAME, windows, WINDOW_10MS);
        println!("conformance {mbps} Mb/s: {windows} windows of 10 ms, mean error {error:+.4}%");
    }
}

/// Minimum frames too: the same bounds with 84 wire bytes a frame.
#[test]
fn model_conformance_with_minimum_frames() {
    let error = conformance(&mut ModelDevice::default(), 100_000_000, 60, 5, WINDOW_10MS);
    println!("conformance 100 Mb/s, 60-byte frames: mean error {error:+.4}%");
}

#[test]
fn model_a_guarantee_holds_beside_63_greedy_queues() {
    let fraction = isolation(&mut ModelDevice::default(), 63, BIG_FRAME, 5, WINDOW_10MS);
    println!("isolation: the guaranteed queue got {:.2}% of 100 Mb/s", fraction * 100.0);
}

#[test]
fn model_63_equal_queues_share_fairly() {
    let (jain, utilisation) = fairness(&mut ModelDevice::default(), 63, BIG_FRAME, 5, WINDOW_10MS);
    println!("fairness over 63 queues: Jain {jain:.5}, link utilisation {utilisation:.4}");
}

#[test]
fn model_weights_share_one_two_four() {
    let shares = weighted(&mut ModelDevice::default(), BIG_FRAME, 5, WINDOW_10MS);
    println!("weights 1:2:4 got {shares:.4?}");
}

#[test]
fn model_settings_round_trip() {
    settings_round_trip(&ModelDevice::default());
}

#[test]
fn model_invalid_settings_are_refused() {
    invalid_settings_are_refused(&ModelDevice::default());
}
