//! The backbone check, through queues: the same frames, filters and driver
//! actions on the RTL and on the model give the same frames in the same
//! queues (with the same write-backs), the same frames on the wire from
//! each transmitting queue, and the same counters, global and per queue.

mod common;

use arsenic::capture;
use arsenic::config::{ConfigFilter, SteeringConfig};
use arsenic::differential::filters_for;
use arsenic::sim_run::{self, Backend, Input, SimOptions};
use arsenic::traffic::{self, udp4, TestFrame, Udp4};
use common::corpus_files;
use proptest::prelude::*;

fn config(frames: &[TestFrame]) -> SteeringConfig {
    let filters = filters_for(frames)
        .into_iter()
        .enumerate()
        .map(|(i, (filter, target))| ConfigFilter { index: i + 1, filter, target })
        .collect();
    SteeringConfig { path: "generated".into(), default_queue: Some(0), rss_key: None, filters, shapes: vec![] }
}

fn agree(source: &str, frames: Vec<TestFrame>, txq: Vec<(u32, Vec<Vec<u8>>)>) -> Result<sim_run::SimReport, String> {
    let opts = SimOptions {
        backend: Backend::Rtl,
        loopback: false,
        steering: Some(config(&frames)),
        input: Input::Frames { source: source.into(), frames },
        trace: None,
        check_model: true,
        txq,
        // Every application queue reflects what it receives, so many
        // queues transmit at once as well.
        echo: true,
        device: None,
    };
    let report = sim_run::run(&opts).map_err(|e| format!("{source}: {e:#}"))?;
    let check = report.model_check.as_ref().unwrap();
    if !check.agrees {
        return Err(format!("{source}: {}", check.difference.as_deref().unwrap_or("?")));
    }
    Ok(report)
}

/// Frames for queue `q` to send: UDP of every size class, and now and then
/// a length the NIC must refuse.
fn tx_frames(q: u32, n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = traffic::Rng::new(seed);
    let a = Udp4 { src_mac: [2, 0, 0, 0, 0xA0, q as u8], dst_mac: [2, 0, 0, 0, 0xB0, 1], src: [10, 1, 0, q as u8], dst: [10, 0, 0, 1], sport: 9000, dport: 9 };
    (0..n)
        .map(|i| match rng.range(0, 12) {
            0 => vec![0x5A; rng.range(1, 13)],
            1 => udp4(&a, rng.range(1523, 2000), i as u32),
            _ => udp4(&a, rng.range(42, 1522), i as u32),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn random_traffic_and_transmissions_agree_through_queues(
        seed in any::<u64>(),
        n in 1usize..400,
        txq in prop::collection::vec((0u32..64, 1usize..40), 0..4),
    ) {
        let frames = traffic::mixed(n, seed, 1522);
        let txq: Vec<(u32, Vec<Vec<u8>>)> = txq.iter().enumerate().map(|(i, &(q, k))| (q, tx_frames(q, k, seed ^ i as u64))).collect();
        let txq_frames: Vec<Vec<Vec<u8>>> = txq.iter().map(|(_, f)| f.clone()).collect();
        let report = agree("proptest", frames, txq).map_err(TestCaseError::fail)?;
        let delivered: u64 = report.queues.as_ref().unwrap().values().map(|q| q.received).sum();
        prop_assert_eq!(delivered, report.counters.get("rx_delivered").unwrap());
        prop_assert_eq!(report.counters.get("rx_drop_no_buffer"), Some(0));
        let echoed: u64 = report.queues.as_ref().unwrap().iter().filter(|(q, _)| **q != 0).map(|(_, r)| r.received).sum();
        let txq_good: u64 = txq_frames.iter().flatten().filter(|f| (14..=1522).contains(&f.len())).count() as u64;
        prop_assert_eq!(report.counters.get("tx_frames"), Some(echoed + txq_good));
    }
}

/// Every Ethernet capture of the corpus, into queues chosen by filters drawn
/// from its own flows.
#[test]
fn every_corpus_capture_agrees_through_queues() {
    let files = corpus_files();
    let mut played = 0;
    let mut delivered = 0;
    let mut failures = vec![];
    for path in &files {
        let Ok(cap) = capture::read_ethernet(path) else { continue };
        let frames: Vec<TestFrame> = cap.frames.into_iter().map(|data| TestFrame { data, fcs_error: false }).collect();
        match agree(&path.display().to_string(), frames, vec![]) {
            Ok(r) => {
                played += 1;
                delivered += r.counters.get("rx_delivered").unwrap();
            }
            Err(e) => failures.push(e),
        }
    }
    println!("corpus through queues: {played} captures, {delivered} frames delivered");
    assert!(played > 300);
    assert!(failures.is_empty(), "{} captures disagree:\n{}", failures.len(), failures.join("\n"));
}
