//! The timing sign-off with the real tools on small designs: a passing
//! build records what it was built from and the check then needs no build;
//! a changed top, a record that missed timing or is not a record, and a
//! build that fails timing are each caught; a rebuild reproduces the
//! recorded bitstream; a build made before can be adopted only if it is
//! of today's top and flow; and the committed record for the Versa's NIC
//! is for today's gateware.

mod common;

use arsenic::board::signoff::{self, Mode, Status};
use arsenic::board::{self, BuildOptions, Router};
use common::board::{counter_inputs, slow_inputs, tmp};

fn expect_stale(status: Status) -> Vec<String> {
    match status {
        Status::Stale(why) => why,
        Status::Current(rec) => panic!("expected a stale record, got {}", signoff::summary(&rec)),
    }
}

#[test]
fn a_signed_off_build_needs_no_rebuild_until_its_top_changes() {
    let dir = tmp("signoff");
    let record = dir.join("versa-ecp5.json");
    let out = dir.join("build");
    let inputs = counter_inputs();

    let why = expect_stale(signoff::check(&inputs, &record).unwrap());
    assert!(why[0].starts_with("there is no sign-off record at"), "{why:?}");
    let err = signoff::sign_off(&inputs, &out, &record, Mode::CheckOnly).unwrap_err().to_string();
    assert!(err.contains("not signed off") && err.contains("make bitstream BOARD=versa-ecp5"), "{err}");
    assert!(!out.exists(), "a check-only run built something");

    // Seed 5, not the default: the check must use the recorded options.
    let opts = BuildOptions { seed: 5, ..Default::default() };
    let rec = signoff::build_and_record(&inputs, &out, &opts, &record).unwrap();
    let bit = std::fs::read(out.join("versa-ecp5.bit")).unwrap();
    assert_eq!(rec.bitstream_sha256, signoff::sha256_hex(&bit));
    assert_eq!(rec.fingerprint.top_v_sha256, signoff::sha256_hex(inputs.verilog.as_bytes()));
    assert_eq!(rec.options.seed, 5);
    assert!(rec.fingerprint.commands[1].contains("--seed 5"), "{:?}", rec.fingerprint.commands);
    assert_eq!(rec.fingerprint.tools.len(), 3);
    assert!(rec.fingerprint.tools[0].starts_with("Yosys "), "{:?}", rec.fingerprint.tools);
    assert_eq!(signoff::load(&record).unwrap().as_ref(), Some(&rec), "the record reads back as written");

    // With the build gone, the check still passes: it reads only the record.
    std::fs::remove_dir_all(&out).unwrap();
    match signoff::check(&inputs, &record).unwrap() {
        Status::Current(r) => assert_eq!(*r, rec),
        Status::Stale(why) => panic!("stale right after signing off: {why:?}"),
    }
    signoff::sign_off(&inputs, &out, &record, Mode::BuildIfStale).unwrap();
    assert!(!out.exists(), "a current record was rebuilt");

    // One changed constant in the top: stale, and named as the top.
    let mut changed = inputs.clone();
    changed.verilog = changed.verilog.replace("count + 1", "count + 3");
    assert_ne!(changed.verilog, inputs.verilog);
    let why = expect_stale(signoff::check(&changed, &record).unwrap());
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(why[0].starts_with("the Verilog top changed"), "{why:?}");
    // A changed requirement changes the constraints nextpnr reads.
    let mut faster = inputs.clone();
    faster.clocks[0].mhz = 120.0;
    let why = expect_stale(signoff::check(&faster, &record).unwrap());
    assert!(why.iter().any(|w| w.starts_with("the constraints changed")), "{why:?}");

    // Building the stale one signs it off, with the recorded seed.
    let renewed = signoff::sign_off(&changed, &out, &record, Mode::BuildIfStale).unwrap();
    assert!(out.join("versa-ecp5.bit").is_file());
    assert_eq!(renewed.options.seed, 5);
    assert_ne!(renewed.fingerprint.top_v_sha256, rec.fingerprint.top_v_sha256);
    assert!(matches!(signoff::check(&changed, &record).unwrap(), Status::Current(_)));
    assert!(matches!(signoff::check(&inputs, &record).unwrap(), Status::Stale(_)));

    // A rebuild of the same inputs gives the recorded bitstream.
    let again = signoff::sign_off(&changed, &dir.join("again"), &record, Mode::Rebuild).unwrap();
    assert_eq!(again.bitstream_sha256, renewed.bitstream_sha256);
}

#[test]
fn a_record_that_missed_timing_or_is_not_a_record_is_refused() {
    let dir = tmp("signoff-bad");
    let record = dir.join("versa-ecp5.json");
    let inputs = counter_inputs();
    let mut rec = signoff::build_and_record(&inputs, &dir.join("build"), &BuildOptions::default(), &record).unwrap();

    // Edited by hand to a clock below its requirement: the fingerprint
    // matches, the figures do not pass.
    rec.report.clocks[0].fmax_mhz = rec.report.clocks[0].constraint_mhz - 1.0;
    signoff::save(&rec, &record).unwrap();
    let err = format!("{:#}", signoff::check(&inputs, &record).unwrap_err());
    assert!(err.contains("records a build that missed timing") && err.contains("clock clk reaches"), "{err}");

    let mut other = rec.clone();
    other.report.board = "some-other-board".into();
    signoff::save(&other, &record).unwrap();
    let err = signoff::check(&inputs, &record).unwrap_err().to_string();
    assert!(err.contains("records board some-other-board, not versa-ecp5"), "{err}");

    for junk in ["", "{", "{\"fingerprint\": 3}", "[1, 2]"] {
        std::fs::write(&record, junk).unwrap();
        let err = signoff::check(&inputs, &record).unwrap_err().to_string();
        assert_eq!(err, format!("{} is not a sign-off record", record.display()), "for {junk:?}");
    }
}

#[test]
fn a_build_that_misses_timing_records_nothing() {
    let dir = tmp("signoff-slow");
    let record = dir.join("versa-ecp5.json");
    std::fs::write(&record, "kept").unwrap();
    let err = signoff::build_and_record(&slow_inputs(450.0), &dir.join("build"), &BuildOptions::default(), &record)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("timing failed: clock clk reaches"), "{err}");
    assert_eq!(std::fs::read_to_string(&record).unwrap(), "kept", "a failed build touched the record");
    let err = signoff::sign_off(&slow_inputs(450.0), &dir.join("b2"), &dir.join("none.json"), Mode::BuildIfStale)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("timing failed"), "{err}");
    assert!(!dir.join("none.json").exists());
}

#[test]
fn an_earlier_build_is_adopted_only_if_it_is_of_todays_top_and_flow() {
    let dir = tmp("signoff-adopt");
    let record = dir.join("versa-ecp5.json");
    let out = dir.join("build");
    let inputs = counter_inputs();
    let opts = BuildOptions { seed: 3, router: Router::Router2, ..Default::default() };
    board::build(&inputs, &out, &opts).unwrap();
    assert!(!record.exists());

    // A different top: its own top.v does not match, so nothing is recorded.
    let mut changed = inputs.clone();
    changed.verilog = changed.verilog.replace("count + 1", "count + 3");
    let err = signoff::adopt(&changed, &out, &record).unwrap_err().to_string();
    assert_eq!(err, format!("{} is not what today's gateware gives for versa-ecp5", out.join("top.v").display()));
    assert!(!record.exists());

    // The build itself: its options are read back from its logs.
    let rec = signoff::adopt(&inputs, &out, &record).unwrap();
    assert_eq!(rec.options, opts);
    assert_eq!(rec.bitstream_sha256, signoff::sha256_hex(&std::fs::read(out.join("versa-ecp5.bit")).unwrap()));
    match signoff::check(&inputs, &record).unwrap() {
        Status::Current(r) => assert_eq!(*r, rec),
        Status::Stale(why) => panic!("an adopted build is stale: {why:?}"),
    }

    // A log that does not start with today's command, and a report that
    // missed timing, are refused.
    let log = out.join("nextpnr.log");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, text.replacen("--seed 3", "--seed 4", 1)).unwrap();
    let err = signoff::adopt(&inputs, &out, &record).unwrap_err().to_string();
    assert!(err.contains("do not start with the commands of today's flow for seed 3"), "{err}");
    std::fs::write(&log, text).unwrap();
    let report = out.join("report.json");
    let good = std::fs::read_to_string(&report).unwrap();
    let mut r: arsenic::board::BoardReport = serde_json::from_str(&good).unwrap();
    r.clocks[0].fmax_mhz = 99.0;
    std::fs::write(&report, serde_json::to_string(&r).unwrap()).unwrap();
    let err = format!("{:#}", signoff::adopt(&inputs, &out, &record).unwrap_err());
    assert!(err.contains("missed timing") && err.contains("reaches 99.0 MHz"), "{err}");
    std::fs::write(&report, good).unwrap();
    signoff::adopt(&inputs, &out, &record).unwrap();
}

/// The CI gate: the record committed in signoff/ is for the Versa's NIC as
/// the generator makes it today, with today's tools, and met every clock.
/// When it fails, `make bitstream` builds and records a new sign-off.
#[test]
fn the_committed_versa_sign_off_is_for_todays_gateware() {
    let inputs = board::board_inputs("versa-ecp5").unwrap();
    let record = signoff::record_path("versa-ecp5");
    match signoff::check(&inputs, &record).unwrap() {
        Status::Current(rec) => {
            let core = rec.report.clocks.iter().find(|c| c.net == "act0.clock").expect("the core clock is timed");
            assert!(core.constraint_mhz == 125.0 && core.fmax_mhz >= 125.0, "{core:?}");
            eprintln!("{}", signoff::summary(&rec));
        }
        Status::Stale(why) => panic!("{} is stale: {}; run `make bitstream`", record.display(), why.join("; ")),
    }
}
