//! Every capture of the tcpdump corpus through `arsenic sim --loopback` on
//! the RTL: each Ethernet capture comes back frame for frame, the counters
//! read through the register port account for every frame, and the model
//! agrees; every other file is refused with a one-line reason.

mod common;

use arsenic::capture;
use arsenic::sim_run::{self, Backend, Input, SimOptions};
use common::*;
use std::path::PathBuf;

#[derive(Default)]
struct Tally {
    played_files: usize,
    refused_files: usize,
    frames_in: u64,
    frames_back: u64,
    failures: Vec<String>,
}

fn check_file(path: &PathBuf, tally: &mut Tally) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let bytes = std::fs::read(path).unwrap();
    let opts = SimOptions {
        backend: Backend::Rtl,
        loopback: true,
        input: Input::Pcap(path.clone()),
        trace: None,
        check_model: true,
        steering: None,
        txq: vec![],
        echo: false,
        device: None,
    };
    let result = std::panic::catch_unwind(|| sim_run::run(&opts));
    let report = match result {
        Err(_) => {
            tally.failures.push(format!("{name}: panicked"));
            return;
        }
        Ok(Err(e)) => {
            let msg = format!("{e:#}");
            let clean = msg.contains("is not Ethernet") || msg.contains("not a pcap") || msg.contains("too short");
            if !clean || msg.contains('\n') {
                tally.failures.push(format!("{name}: refused unclearly: {msg}"));
            }
            if pcap_link_type(&bytes) == Some(1) {
                tally.failures.push(format!("{name}: an Ethernet pcap was refused: {msg}"));
            }
            tally.refused_files += 1;
            return;
        }
        Ok(Ok(report)) => report,
    };
    tally.played_files += 1;
    let input = capture::read_ethernet(path).unwrap();
    let expected = looped(&input.frames);
    let got: Vec<Vec<u8>> = report.transmitted.iter().map(|f| f.data.clone()).collect();
    if got != expected {
        tally.failures.push(format!(
            "{name}: sent back {} frames, expected {} (first difference at {:?})",
            got.len(),
            expected.len(),
            got.iter().zip(&expected).position(|(a, b)| a != b)
        ));
    }
    let on_wire = input.frames.iter().filter(|f| !f.is_empty());
    let c = |n: &str| report.counters.get(n).unwrap();
    let want = [
        ("rx_frames", on_wire.clone().count() as u64),
        ("rx_bytes", on_wire.clone().map(|f| f.len() as u64).sum()),
        ("tx_frames", expected.len() as u64),
        ("tx_bytes", expected.iter().map(|f| f.len() as u64).sum()),
        ("rx_drop_runt", on_wire.clone().filter(|f| f.len() < MIN_FRAME).count() as u64),
        ("rx_drop_giant", on_wire.clone().filter(|f| f.len() > MAX_FRAME).count() as u64),
        ("rx_drop_mac_error", 0),
        ("rx_drop_overflow", 0),
    ];
    for (counter, value) in want {
        if c(counter) != value {
            tally.failures.push(format!("{name}: counter {counter} is {}, expected {value}", c(counter)));
        }
    }
    match &report.model_check {
        Some(m) if m.agrees => {}
        other => tally.failures.push(format!("{name}: model check {other:?}")),
    }
    tally.frames_in += input.frames.len() as u64;
    tally.frames_back += got.len() as u64;
}

#[test]
fn every_corpus_capture_loops_back_or_is_refused_cleanly() {
    let files = corpus_files();
    // Two workers: one per core of the CI machine.
    let halves: Vec<Vec<PathBuf>> = vec![
        files.iter().step_by(2).cloned().collect(),
        files.iter().skip(1).step_by(2).cloned().collect(),
    ];
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = halves
            .iter()
            .map(|part| {
                s.spawn(move || {
                    let mut t = Tally::default();
                    for f in part {
                        check_file(f, &mut t);
                    }
                    t
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total = Tally::default();
    for t in tallies {
        total.played_files += t.played_files;
        total.refused_files += t.refused_files;
        total.frames_in += t.frames_in;
        total.frames_back += t.frames_back;
        total.failures.extend(t.failures);
    }
    println!(
        "corpus: {} files played ({} frames in, {} looped back), {} refused",
        total.played_files, total.frames_in, total.frames_back, total.refused_files
    );
    assert!(total.played_files > 300, "too few Ethernet captures played");
    assert!(total.failures.is_empty(), "{} failures:\n{}", total.failures.len(), total.failures.join("\n"));
}
