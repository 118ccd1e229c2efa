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
