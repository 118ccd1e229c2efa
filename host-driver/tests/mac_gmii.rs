//! The 1 Gb/s MAC in Verilator at GMII level (`verilog-out/mac_loop.v`:
//! MacTx and MacRx with the wire open, driven through
//! `arsenic_testbench::mac_loop`): every frame of the corpus through
//! MacTx, the wire and MacRx, with the wire itself checked byte for byte;
//! then each kind of bad frame, on a wire the bench corrupts or drives
//! itself, marked and counted exactly once; frames at the minimum gap; and
//! the transmitter's two ways of cutting a frame short.
//!
//! MacRx does not drop bad frames: it streams them with `error` on the last
//! beat (FrameCheck and the FIFOs behind it discard them), so "not
//! delivered" below means "came out marked".

mod common;

use arsenic::capture;
use arsenic_hdl::NicParams;
use arsenic_testbench::mac_loop::{Gmii, Loopback, MacCounters, MacLoopSim, RxCollector, RxFrame};
use common::corpus_files;

/// The Ethernet FCS, bit by bit, written here so the wire is checked
/// against something that shares no code with the gateware or its own
/// software reference.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            let lsb = crc & 1;
            crc >>= 1;
            if lsb != 0 {
                crc ^= 0xEDB8_8320;
            }
        }
    }
    !crc
}

#[test]
fn the_reference_crc_gives_the_catalogue_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
}

fn max_frame() -> usize {
    NicParams::default().max_frame_bytes as usize
}

/// What the receiver returns for a frame the transmitter sent: the frame
/// zero-padded to 60 bytes.
fn padded(frame: &[u8]) -> Vec<u8> {
    let mut p = frame.to_vec();
    p.resize(p.len().max(60), 0);
    p
}

/// A burst as a PHY would deliver `data` (no padding added): `preamble`
/// bytes of 0x55, the start delimiter, the data and its FCS.
fn burst(data: &[u8], preamble: usize) -> Vec<u8> {
    let mut w = vec![0x55; preamble];
    w.push(0xD5);
    w.extend_from_slice(data);
    w.extend_from_slice(&crc32(data).to_le_bytes());
    w
}

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(113).wrapping_add(seed) ^ (i >> 8) as u8).collect()
}

/// Checks one transmission of `frame` as MacTx put it on the wire.
fn check_burst(bytes: &[u8], frame: &[u8]) -> Result<(), String> {
    let body = padded(frame);
    if bytes.len() != 8 + body.len() + 4 {
        return Err(format!("{} bytes on the wire for a {}-byte frame", bytes.len(), frame.len()));
    }
    if bytes[..7] != [0x55; 7] {
        return Err(format!("preamble {:02x?}", &bytes[..7]));
    }
    if bytes[7] != 0xD5 {
        return Err(format!("start delimiter {:#04x}", bytes[7]));
    }
    if bytes[8..8 + body.len()] != body[..] {
        return Err("data or padding differs".into());
    }
    let fcs = crc32(&body).to_le_bytes();
    if bytes[8 + body.len()..] != fcs {
        return Err(format!("FCS {:02x?}, expected {fcs:02x?}", &bytes[8 + body.len()..]));
    }
    Ok(())
}

#[test]
fn every_corpus_frame_crosses_tx_gmii_and_rx_unchanged() {
    let max = max_frame();
    let (mut files, mut frames, mut skipped_empty, mut skipped_giant) = (0, vec![], 0, 0);
    for path in corpus_files() {
        // Other link types are refused; they are not Ethernet frames.
        let Ok(cap) = capture::read_ethernet(&path) else { continue };
        files += 1;
        for f in cap.frames {
            if f.is_empty() {
                // A stream has no empty frame.
                skipped_empty += 1;
            } else if f.len() > max {
                // Longer than MacRx takes as good; giants are tested below.
                skipped_giant += 1;
            } else {
                frames.push(f);
            }
        }
    }
    assert!(files > 300 && frames.len() > 5000, "corpus looks incomplete: {files} files, {} frames", frames.len());

    let mut lb = Loopback::new();
    for f in &frames {
        lb.feeder.push(f.clone(), false);
    }
    let budget: u64 = frames.iter().map(|f| f.len().max(60) as u64 + 24).sum::<u64>() + 1000;
    assert!(lb.run_until_quiet(32, budget, &mut |_, g| g), "not quiet after {budget} cycles");
    println!(
        "mac_gmii corpus: {files} captures, {} frames carried ({} cycles), {skipped_empty} empty and \
         {skipped_giant} over {max} bytes skipped",
        frames.len(),
        lb.sim.cycle()
    );

    let wire = &lb.wire.bursts;
    assert_eq!(wire.len(), frames.len(), "bursts on the wire");
    assert_eq!(lb.wire.er_outside, 0);
    let mut failures = vec![];
    for (i, (b, f)) in wire.iter().zip(&frames).enumerate() {
        if !b.er_at.is_empty() {
            failures.push(format!("frame {i}: tx_er at {:?}", b.er_at));
        }
        if let Err(e) = check_burst(&b.bytes, f) {
            failures.push(format!("frame {i} ({} bytes) on the wire: {e}", f.len()));
        }
        if i > 0 {
            let prev = &wire[i - 1];
            let gap = b.start - (prev.start + prev.bytes.len() as u64);
            if gap < 12 {
                failures.push(format!("frame {i}: {gap} idle cycles before it"));
            }
            // The feeder never starves MacTx, so each frame holds the wire
            // exactly its preamble, data or padding, FCS and minimum gap.
            let held = b.start - prev.start;
            if held != frames[i - 1].len().max(60) as u64 + 24 {
                failures.push(format!("frame {}: held the wire {held} cycles", i - 1));
            }
        }
    }
    let got = &lb.rx.frames;
    assert_eq!(got.len(), frames.len(), "frames out of MacRx");
    assert_eq!(lb.rx.stray_errors, 0);
    for (i, (g, f)) in got.iter().zip(&frames).enumerate() {
        if g.error || g.data != padded(f) {
            failures.push(format!(
                "frame {i} ({} bytes) came back as {} bytes, error {}",
                f.len(),
                g.data.len(),
                g.error
            ));
        }
    }
    assert!(failures.is_empty(), "{} failures, first ones:\n{}", failures.len(), failures[..failures.len().min(20)].join("\n"));

    let sent: u64 = frames.iter().map(|f| f.len() as u64).sum();
    let received: u64 = frames.iter().map(|f| f.len().max(60) as u64).sum();
    assert_eq!(
        lb.sim.counters(),
        MacCounters {
            tx_frames_sent: frames.len() as u32,
            tx_bytes_sent: sent as u32,
            rx_good_frames: frames.len() as u32,
            rx_good_bytes: received as u32,
            ..Default::default()
        }
    );
}

#[test]
fn a_bit_flipped_on_the_wire_is_an_fcs_error_and_the_frames_around_it_pass() {
    let frames: Vec<Vec<u8>> = [64usize, 100, 1514, 60, 200, 14].iter().enumerate().map(|(i, &l)| frame(l, i as u8)).collect();
    let mut lb = Loopback::new();
    for f in &frames {
        lb.feeder.push(f.clone(), false);
    }
    // Frame 1: one bit of its FCS. Frame 4: one bit of its data.
    let (fcs_at, data_at) = (8 + 100 + 2, 8 + 77);
    let ok = lb.run_until_quiet(32, 10_000, &mut |place, mut g| {
        match place {
            Some((1, at)) if at == fcs_at => g.data ^= 0x20,
            Some((4, at)) if at == data_at => g.data ^= 0x01,
            _ => {}
        }
        g
    });
    assert!(ok);
    // The wire as sent is intact; the corruption was after it.
    for (b, f) in lb.wire.bursts.iter().zip(&frames) {
        check_burst(&b.bytes, f).unwrap();
    }
    let mut want: Vec<(Vec<u8>, bool)> = frames.iter().enumerate().map(|(i, f)| (padded(f), i == 1 || i == 4)).collect();
    want[4].0[77] ^= 0x01;
    assert_frames(&lb.rx.frames, &want, "flipped bits");
    let good: u64 = [0, 2, 3, 5].iter().map(|&i| frames[i].len().max(60) as u64).sum();
    let c = lb.sim.counters();
    assert_eq!(
        c,
        MacCounters {
            tx_frames_sent: 6,
            tx_bytes_sent: frames.iter().map(|f| f.len() as u32).sum(),
            rx_fcs_errors: 2,
            rx_good_frames: 4,
            rx_good_bytes: good as u32,
            ..Default::default()
        }
    );
}

/// The bench drives MacRx's GMII itself.
struct Phy {
    sim: MacLoopSim,
    rx: RxCollector,
}

impl Phy {
    fn new() -> Self {
        Self { sim: MacLoopSim::new(), rx: RxCollector::default() }
    }

    fn beat(&mut self, g: Gmii) {
        self.sim.drive_gmii_rx(g);
        let edge = self.sim.step();
        assert!(!edge.gmii_tx.en && !edge.tx_taken, "MacTx moved with nothing offered");
        if let Some(b) = edge.rx {
            self.rx.push(edge.cycle, b);
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.beat(Gmii::byte(b));
        }
    }

    fn idle(&mut self, n: usize) {
        for _ in 0..n {
            self.beat(Gmii::IDLE);
        }
    }

    /// Idles long enough for MacRx to finish, returns the frames so far.
    fn finish(&mut self) -> Vec<RxFrame> {
        self.idle(16);
        assert!(!self.rx.in_frame(), "a frame without its last beat");
        assert_eq!(self.rx.stray_errors, 0);
        std::mem::take(&mut self.rx.frames)
    }
}

/// Checks the frames MacRx streamed against (data, marked bad), saying
/// briefly where they differ rather than printing whole frames.
fn assert_frames(got: &[RxFrame], want: &[(Vec<u8>, bool)], what: &str) {
    let brief = |d: &[u8], e: bool| format!("{} bytes{}", d.len(), if e { " marked bad" } else { "" });
    let got_brief: Vec<String> = got.iter().map(|f| brief(&f.data, f.error)).collect();
    let want_brief: Vec<String> = want.iter().map(|(d, e)| brief(d, *e)).collect();
    assert_eq!(got_brief, want_brief, "{what}: frames out of MacRx");
    for (i, (g, (w, _))) in got.iter().zip(want).enumerate() {
        if let Some(at) = g.data.iter().zip(w).position(|(a, b)| a != b) {
            panic!("{what}: frame {i} differs first at byte {at}: {:#04x}, expected {:#04x}", g.data[at], w[at]);
        }
    }
}

/// A good frame before and after each bad one must pass untouched.
fn good_counters(frames: &[&[u8]]) -> MacCounters {
    MacCounters {
        rx_good_frames: frames.len() as u32,
        rx_good_bytes: frames.iter().map(|f| f.len() as u32).sum(),
        ..Default::default()
    }
}

#[test]
fn a_runt_with_a_good_fcs_is_counted_as_a_runt() {
    let (a, b, runt) = (frame(64, 1), frame(64, 2), frame(40, 3));
    let mut phy = Phy::new();
    phy.send(&burst(&a, 7));
    phy.idle(12);
    phy.send(&burst(&runt, 7));
    phy.idle(12);
    phy.send(&burst(&b, 7));
    let got = phy.finish();
    assert_frames(&got, &[(a.clone(), false), (runt, true), (b.clone(), false)], "runt");
    assert_eq!(phy.sim.counters(), MacCounters { rx_runts: 1, ..good_counters(&[&a, &b]) });
}

#[test]
fn a_giant_is_streamed_whole_marked_and_counted_and_the_longest_frame_passes() {
    let max = max_frame();
    let (longest, giant, after) = (frame(max, 4), frame(max + 1, 5), frame(60, 6));
    let mut phy = Phy::new();
    phy.send(&burst(&longest, 7));
    phy.idle(12);
    phy.send(&burst(&giant, 7));
    phy.idle(12);
    phy.send(&burst(&after, 7));
    let got = phy.finish();
    // MacRx documents giants as streamed whole, error on the last beat.
    assert_frames(&got, &[(longest.clone(), false), (giant, true), (after.clone(), false)], "giant");
    assert_eq!(phy.sim.counters(), MacCounters { rx_giants: 1, ..good_counters(&[&longest, &after]) });
}

#[test]
fn a_burst_without_a_start_delimiter_is_dropped_and_counted() {
    let (a, lost, b) = (frame(70, 7), frame(70, 8), frame(70, 9));
    let mut phy = Phy::new();
    phy.send(&burst(&a, 7));
    phy.idle(12);
    // The preamble runs straight into the data.
    let mut w = burst(&lost, 7);
    w.remove(7);
    phy.send(&w);
    phy.idle(12);
    phy.send(&burst(&b, 7));
    let got = phy.finish();
    assert_frames(&got, &[(a.clone(), false), (b.clone(), false)], "no start delimiter");
    assert_eq!(phy.sim.counters(), MacCounters { rx_no_sfd: 1, ..good_counters(&[&a, &b]) });

    // No preamble either: the first byte is data.
    phy.send(&burst(&lost, 7)[8..]);
    phy.idle(12);
    phy.send(&burst(&a, 7));
    assert_frames(&phy.finish(), &[(a.clone(), false)], "no preamble");
    assert_eq!(phy.sim.counters(), MacCounters { rx_no_sfd: 2, ..good_counters(&[&a, &b, &a]) });
}

#[test]
fn rx_er_inside_a_burst_is_a_symbol_error() {
    let (a, hit, b) = (frame(100, 10), frame(100, 11), frame(100, 12));
    let mut phy = Phy::new();
    phy.send(&burst(&a, 7));
    phy.idle(12);
    let w = burst(&hit, 7);
    for (i, &byte) in w.iter().enumerate() {
        phy.beat(Gmii { en: true, er: i == 8 + 40, data: byte });
    }
    phy.idle(12);
    phy.send(&burst(&b, 7));
    let got = phy.finish();
    // The FCS is good: only the error symbol condemns the frame.
    assert_frames(&got, &[(a.clone(), false), (hit, true), (b.clone(), false)], "rx_er");
    assert_eq!(phy.sim.counters(), MacCounters { rx_symbol_errors: 1, ..good_counters(&[&a, &b]) });
}

#[test]
fn frames_back_to_back_at_the_minimum_gap_and_at_one_idle_cycle_all_arrive() {
    let max = max_frame();
    for gap in [12usize, 1] {
        let frames: Vec<Vec<u8>> =
            (0..40).map(|i| frame([60, 61, 64, 100, 333, 1514, max][i % 7], i as u8)).collect();
        let mut phy = Phy::new();
        for f in &frames {
            phy.send(&burst(f, 7));
            phy.idle(gap);
        }
        let got = phy.finish();
        let want: Vec<(Vec<u8>, bool)> = frames.iter().map(|f| (f.clone(), false)).collect();
        assert_frames(&got, &want, &format!("gap {gap}"));
        let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
        assert_eq!(phy.sim.counters(), good_counters(&refs), "gap {gap}");
    }
}

/// MacTx cuts a frame the core marks bad, and one its source starves,
/// with an error symbol and no FCS; MacRx counts both as symbol errors.
#[test]
fn tx_aborts_and_underruns_reach_the_receiver_as_symbol_errors() {
    let frames = [frame(100, 13), frame(90, 14), frame(80, 15), frame(120, 16), frame(60, 17)];
    let mut lb = Loopback::new();
    for (i, f) in frames.iter().enumerate() {
        lb.feeder.push(f.clone(), i == 1);
    }
    // Frame 3 loses its source for one cycle where byte 30 was due.
    let mut starved = false;
    let mut cycles = 0;
    loop {
        if !starved && lb.feeder.position() == (3, 30) {
            starved = true;
            lb.step_withholding_tx();
        } else {
            lb.step();
        }
        cycles += 1;
        assert!(cycles < 10_000, "transmitter hung");
        if lb.feeder.pending() == 0 && !lb.wire.is_open() {
            break;
        }
    }
    assert!(lb.run_until_quiet(32, 1000, &mut |_, g| g));
    assert!(starved);

    let wire = &lb.wire.bursts;
    assert_eq!(wire.len(), 5);
    for i in [0, 2, 4] {
        check_burst(&wire[i].bytes, &frames[i]).unwrap();
        assert!(wire[i].er_at.is_empty());
    }
    // The marked frame: its last byte goes out as an error symbol, then nothing.
    let n = frames[1].len();
    assert_eq!(wire[1].bytes.len(), 8 + n);
    assert_eq!(wire[1].bytes[8..8 + n - 1], frames[1][..n - 1]);
    assert_eq!(wire[1].er_at, vec![8 + n - 1]);
    // The starved frame: the error symbol where byte 30 was due, then nothing.
    assert_eq!(wire[3].bytes.len(), 8 + 31);
    assert_eq!(wire[3].bytes[8..8 + 30], frames[3][..30]);
    assert_eq!(wire[3].er_at, vec![8 + 30]);
    for i in 1..wire.len() {
        let gap = wire[i].start - (wire[i - 1].start + wire[i - 1].bytes.len() as u64);
        assert!(gap >= 12, "{gap} idle cycles before frame {i}");
    }

    // MacRx streams a cut burst less its last four bytes (it takes them
    // for an FCS), marked bad: 90 bytes after the delimiter, the last
    // one the error symbol, and 30 bytes and the error symbol.
    let want = [
        (padded(&frames[0]), false),
        (frames[1][..n - 4].to_vec(), true),
        (padded(&frames[2]), false),
        (frames[3][..31 - 4].to_vec(), true),
        (padded(&frames[4]), false),
    ];
    assert_frames(&lb.rx.frames, &want, "cut frames");
    assert_eq!(
        lb.sim.counters(),
        MacCounters {
            tx_frames_sent: 3,
            tx_bytes_sent: 100 + 80 + 60,
            tx_frames_aborted: 2,
            rx_symbol_errors: 2,
            rx_good_frames: 3,
            rx_good_bytes: 100 + 80 + 60,
            ..Default::default()
        }
    );
}
