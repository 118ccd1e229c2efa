//! The Versa board shell's own Verilog (`verilog-out/versa_ecp5.v`) as a
//! system: the Verilated board with both PHYs and the FT2232 around it
//! (`arsenic_testbench::versa::VersaSim`), its UART bridged to a
//! pseudo-terminal, and the real host driver (`UartDevice`, `Nic`) on the
//! other side, as on a desk with a board plugged in.
//!
//! The board runs in a thread of its own, free-running like a real one: it
//! moves the pseudo-terminal's bytes to and from its UART pins every
//! `SLICE` core cycles and, between slices, runs what the test hands it
//! (frames to inject, pins to look at) through `Board::with`.
//!
//! The UART is the slow part: at 115200 baud a register access is 22 bytes
//! on the line, about 239,000 core cycles, so every test makes as few as
//! it can.

use arsenic::board_forward::{self, ForwardSpec, SlotStatus};
use arsenic::board_stats;
use arsenic::demux::filters::{Filter, Target};
use arsenic::shaping::{Rate, Shaping};
use arsenic::control::Nic;
use arsenic::device::uart::UartDevice;
use arsenic::uart::tty::Tty;
use arsenic_hdl::blocks::uart::bit_period;
use arsenic_hdl::board::versa_ecp5::regions::{
    stat_offset, PortStat, MEMORY_WINDOW, STATS_WINDOW,
};
use arsenic_hdl::board::versa_ecp5::shell::UART_BAUD;
use arsenic_hdl::regmap::{self, Counter};
use arsenic_hdl::shaping::MIN_BURST_BYTES;
use arsenic_hdl::NicParams;
use arsenic_testbench::mac_loop::Gmii;
use arsenic_testbench::versa::{fcs, wire_bytes, InBandStatus, TxBurst, VersaConfig, VersaSim, INTERFRAME_GAP};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Per register access: far longer than one takes in simulation on a
/// loaded machine (a few seconds), still a bound.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Core cycles between looks at the pseudo-terminal: about one UART bit.
const SLICE: u64 = 1024;
/// The shell holds the PHYs in reset for 2^21 core cycles; the reset
/// button's two-flop synchroniser adds two.
const PHY_RESET_CYCLES: u64 = (1 << 21) + 2;
/// LEDs (lit low), from the shell's documentation.
const LED_LINK0: u8 = 1 << 0;
const LED_ACT0: u8 = 1 << 1;
const LED_LINK1: u8 = 1 << 2;
const LED_ACT1: u8 = 1 << 3;
const LED_PLL_UNLOCKED: u8 = 1 << 4;
const LED_UART: u8 = 1 << 5;
const LED_RX_ERROR: u8 = 1 << 6;

type Job = Box<dyn FnOnce(&mut VersaSim) + Send>;

/// The simulated board in its thread.
struct Board {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// The shell's UART bit period in core cycles, as its bridge was built.
fn uart_bit_cycles() -> u64 {
    bit_period(NicParams::default().clock_hz as u64, UART_BAUD) as u64
}

impl Board {
    /// Starts the board and gives the host its end of the line.
    fn start(config: VersaConfig) -> (Board, UartDevice) {
        let pty = nix::pty::openpty(None, None).unwrap();
        let name = nix::unistd::ttyname(&pty.slave).unwrap().display().to_string();
        let host = Tty::from_fd(pty.slave, &name).unwrap();
        let mut line = Tty::from_fd(pty.master, "pty master").unwrap();
        // The board's clock does not wait for the host: just look.
        line.set_read_timeout(Duration::ZERO);
        let (jobs, inbox) = mpsc::channel::<Job>();
        let thread = std::thread::spawn(move || {
            let mut sim = VersaSim::new(config);
            let mut buf = [0u8; 256];
            loop {
                loop {
                    match inbox.try_recv() {
                        Ok(job) => job(&mut sim),
                        Err(mpsc::TryRecvError::Empty) => break,
                        Err(mpsc::TryRecvError::Disconnected) => return,
                    }
                }
                match line.read(&mut buf) {
                    Ok(n) => sim.uart_write(&buf[..n]),
                    // The host has closed its side; the test may still
                    // have jobs for the board.
                    Err(e) if e.raw_os_error() == Some(nix::errno::Errno::EIO as i32) => {}
                    Err(e) => panic!("reading the pseudo-terminal: {e}"),
                }
                sim.run_cycles(SLICE);
                let out = sim.uart_read();
                if !out.is_empty() {
                    line.write_all(&out).expect("writing the pseudo-terminal");
                }
            }
        });
        let uart = UartDevice::new(host, &name, TIMEOUT);
        (Board { jobs: Some(jobs), thread: Some(thread) }, uart)
    }

    /// Runs `f` on the board between two slices and returns what it gives.
    fn with<R: Send + 'static>(&mut self, f: impl FnOnce(&mut VersaSim) -> R + Send + 'static) -> R {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |sim| {
            let _ = tx.send(f(sim));
        });
        if self.jobs.as_ref().unwrap().send(job).is_ok() {
            if let Ok(r) = rx.recv() {
                return r;
            }
        }
        // The board thread is gone: show why.
        match self.thread.take().unwrap().join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("the board thread ended"),
        }
    }
}

impl Board {
    /// How long the test took and how fast the board ran, for the log.
    fn report(&mut self, test: &str, started: Instant) {
        let cycles = self.with(|s| s.cycles());
        let t = started.elapsed().as_secs_f64();
        eprintln!("{test}: {cycles} core cycles in {t:.1} s, {:.0} cycles/s", cycles as f64 / t);
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A frame to pass through the board: addressed, with a payload that
/// differs at every offset and between frames.
fn frame(len: usize, seed: u8) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, seed, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xB5];
    f.extend((14..len).map(|i| (i as u8).wrapping_mul(31) ^ seed));
    f.truncate(len);
    f
}

/// The same from the host whose MAC ends in `src`.
fn frame_from(src: u8, len: usize, seed: u8) -> Vec<u8> {
    let mut f = frame(len, seed);
    f[11] = src;
    f
}

/// A port's statistics, read over the UART.
fn port_stats(uart: &UartDevice, port: u32, stats: &[PortStat]) -> Vec<u32> {
    stats.iter().map(|&s| uart.read32_at(STATS_WINDOW + stat_offset(port, s)).unwrap()).collect()
}

fn sum(frames: &[Vec<u8>]) -> u64 {
    frames.iter().map(|f| f.len() as u64).sum()
}

/// Each burst carries a good frame, and the bursts start far enough apart
/// for their bytes and the interframe gap.
fn frames_of(bursts: &[TxBurst]) -> Vec<Vec<u8>> {
    for pair in bursts.windows(2) {
        let needed = (pair[0].bytes.len() + INTERFRAME_GAP) as u64;
        assert!(
            pair[1].start_cycle - pair[0].start_cycle >= needed,
            "bursts at cycles {} and {}: less than {needed} byte times apart",
            pair[0].start_cycle,
            pair[1].start_cycle
        );
    }
    bursts.iter().enumerate().map(|(i, b)| b.frame().unwrap_or_else(|e| panic!("burst {i}: {e}"))).collect()
}

#[test]
fn versa_shell_discovery_over_the_uart_and_phy_reset() {
    let started = Instant::now();
    let (mut board, uart) = Board::start(VersaConfig::new(uart_bit_cycles()));
    let (resets, mdc) = board.with(|s| (s.phy_reset_n(), s.mdc()));
    assert_eq!(resets, [false, false], "the PHYs must be held in reset from the start");
    assert_eq!(mdc, [false, false]);

    // The ID page of the core inside the shell, through the real driver.
    let nic = Nic::open(&uart).unwrap();
    let params = NicParams::default();
    assert_eq!(nic.info.backend, "uart");
    let info = &nic.info;
    let (major, minor) = info.version.split_once('.').unwrap();
    let version = major.parse::<u32>().unwrap() << 16 | minor.parse::<u32>().unwrap();
    let read = [
        (regmap::MAGIC, regmap::MAGIC_VALUE),
        (regmap::VERSION, version),
        (regmap::QUEUES, info.queues),
        (regmap::EXACT_FILTERS, info.exact_filters),
        (regmap::WILDCARD_FILTERS, info.wildcard_filters),
        (regmap::DATAPATH_BYTES, info.datapath_bytes),
        (regmap::MAX_FRAME, info.max_frame_bytes),
        (regmap::CLOCK_HZ, info.clock_hz),
        (regmap::MIN_FRAME, info.min_frame_bytes),
    ];
    assert_eq!(read.to_vec(), regmap::id_registers(&params).to_vec());
    let link = uart.link_stats();
    assert_eq!((link.accesses, link.retries, link.skipped, link.stale), (9, 0, 0, 0), "{link:?}");

    // Nine accesses take longer than the PHY reset: it has been let go,
    // once, exactly 2^21 cycles after the synchroniser let the count run.
    let (rises, now, framing) = board.with(|s| {
        assert!(s.run_until(4 * PHY_RESET_CYCLES, |s| s.phy_reset_n() == [true, true]));
        ([s.phy_reset_rises(0).to_vec(), s.phy_reset_rises(1).to_vec()], s.cycles(), s.uart_framing_errors())
    });
    assert_eq!(rises, [vec![PHY_RESET_CYCLES], vec![PHY_RESET_CYCLES]], "at cycle {now}");
    assert_eq!(framing, 0);

    // The reset button puts both PHYs back in reset and restarts the count.
    board.with(|s| {
        s.set_reset_button(true);
        s.run_cycles(4);
        assert_eq!(s.phy_reset_n(), [false, false], "reset button held");
        s.run_cycles(1000);
        s.set_reset_button(false);
        s.run_cycles(10_000);
        assert_eq!(s.phy_reset_n(), [false, false], "the count restarts when the button is let go");
    });
    drop(uart);
    board.report("discovery and PHY reset", started);
}

#[test]
fn versa_shell_port0_through_core_loopback_to_port1() {
    let started = Instant::now();
    let (mut board, uart) = Board::start(VersaConfig::new(uart_bit_cycles()));
    let nic = Nic::open(&uart).unwrap();
    nic.set_loopback(true).unwrap();

    let sizes = [60usize, 61, 64, 127, 1514, 59, 1522, 300];
    let sent: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| frame(n, 0x10 + i as u8)).collect();
    // 59 bytes is 63 with the FCS: a runt, which port 0's MAC marks bad.
    let good: Vec<Vec<u8>> = sent.iter().filter(|f| f.len() >= 60).cloned().collect();
    let want = good.len();
    let inject = sent.clone();
    let (done, out1, out0, leds, line, clocks) = board.with(move |s| {
        let before = [s.cycles(), s.rxc_rises(0), s.rxc_rises(1)];
        for f in &inject {
            s.send_frame(0, f);
        }
        let done = s.run_until(100_000, |s| s.rx_pending(0) == 0 && s.bursts_waiting(1) >= want);
        // Room for anything that should not come.
        s.run_cycles(5_000);
        let clocks = [s.cycles() - before[0], s.rxc_rises(0) - before[1], s.rxc_rises(1) - before[2]];
        (done, s.take_bursts(1), s.take_bursts(0), s.leds_lit(), s.tx_line_stats(1), clocks)
    });
    // The receive clocks really are others than the core's: 250 ppm slow
    // and fast, so over these cycles each slipped by whole periods.
    let [core, rxc0, rxc1] = clocks;
    assert!(core > 10_000 && rxc0 + core / 5000 <= core && rxc1 >= core + core / 5000, "{clocks:?}");
    assert!(done, "{} of {want} frames out of port 1", out1.len());
    assert_eq!(frames_of(&out1), good, "port 1 must send exactly the good frames port 0 received");
    assert!(out0.is_empty(), "port 0 sent {} bursts", out0.len());
    assert_eq!((line.txc_bad_periods, line.er_outside_bursts), (0, 0), "{line:?}");
    assert!(line.txc_rises > 0);
    let lit = LED_LINK0 | LED_LINK1 | LED_ACT0 | LED_ACT1 | LED_RX_ERROR | LED_UART;
    assert_eq!(leds & !(1 << 7), lit, "LEDs lit: {leds:08b}");

    // The core saw and sent the good frames: port 0's MAC counted the
    // runt, and its wait for the core dropped it.
    let counters: Vec<u64> = [Counter::RxFrames, Counter::RxBytes, Counter::RxDropMacError, Counter::TxFrames, Counter::TxBytes]
        .iter()
        .map(|&c| nic.counter(c).unwrap())
        .collect();
    assert_eq!(counters, [want as u64, sum(&good), 0, want as u64, sum(&good)]);
    // The shell's port statistics: port 0 received, port 1 sent.
    let rx0 = port_stats(
        &uart,
        0,
        &[PortStat::RxFrames, PortStat::RxBytes, PortStat::RxRunts, PortStat::RxFcsErrors, PortStat::RxCrossingOverflows, PortStat::RxCrossingUnderruns],
    );
    assert_eq!(rx0, [want as u32, sum(&good) as u32, 1, 0, 0, 0]);
    let tx1 = port_stats(&uart, 1, &[PortStat::TxFrames, PortStat::TxBytes, PortStat::TxAborted]);
    assert_eq!(tx1, [want as u32, sum(&good) as u32, 0]);
    assert_eq!(uart.link_stats().retries, 0);
    drop(uart);
    board.report("port 0 -> core -> port 1", started);
}

#[test]
fn versa_shell_both_ways_through_the_core_and_bad_frames_dropped() {
    let started = Instant::now();
    let (mut board, uart) = Board::start(VersaConfig::new(uart_bit_cycles()));
    let nic = Nic::open(&uart).unwrap();
    nic.set_loopback(true).unwrap();
    // Two hosts, one on each side: each one's frames must come out of the
    // other port, whatever order the core took them in.
    let good0 = vec![frame_from(0xA0, 60, 0x30), frame_from(0xA0, 1514, 0x31), frame_from(0xA0, 64, 0x32)];
    let good1 = vec![frame_from(0xB1, 60, 0x40), frame_from(0xB1, 1514, 0x41), frame_from(0xB1, 200, 0x42), frame_from(0xB1, 64, 0x43)];
    let bad_fcs = frame_from(0xB1, 100, 0x44);
    // A symbol error: RX_ER with RX_DV in the middle of a good-looking frame.
    let symbol = frame_from(0xB1, 80, 0x45);
    let mut symbol_beats: Vec<Gmii> = wire_bytes(&symbol, fcs(&symbol)).into_iter().map(Gmii::byte).collect();
    symbol_beats[40].er = true;
    let to_send = (good0.clone(), good1.clone(), bad_fcs.clone(), symbol_beats);
    let want = (good0.len(), good1.len());
    let (done, out0, out1) = board.with(move |s| {
        let (good0, good1, bad_fcs, symbol_beats) = to_send;
        for f in &good0 {
            s.send_frame(0, f);
        }
        s.send_frame(1, &good1[0]);
        s.send_frame_with_fcs(1, &bad_fcs, fcs(&bad_fcs) ^ 0x0400_0000);
        s.send_frame(1, &good1[1]);
        s.send_beats(1, symbol_beats);
        s.send_idle(1, INTERFRAME_GAP);
        s.send_frame(1, &good1[2]);
        s.send_frame(1, &good1[3]);
        let done = s.run_until(200_000, |s| {
            s.rx_pending(0) == 0 && s.rx_pending(1) == 0 && s.bursts_waiting(1) >= want.0 && s.bursts_waiting(0) >= want.1
        });
        s.run_cycles(5_000);
        (done, s.take_bursts(0), s.take_bursts(1))
    });
    assert!(done, "{} of {} frames out of port 1, {} of {} out of port 0", out1.len(), want.0, out0.len(), want.1);
    assert_eq!(frames_of(&out1), good0, "port 1 must send exactly port 0's good frames");
    assert_eq!(frames_of(&out0), good1, "port 0 must send exactly port 1's good frames");

    // The core saw and sent only the good frames: port 1 dropped the bad
    // ones before they took a turn into the core.
    let good = sum(&good0) + sum(&good1);
    let counters: Vec<u64> = [Counter::RxFrames, Counter::RxBytes, Counter::RxDropMacError, Counter::TxFrames, Counter::TxBytes]
        .iter()
        .map(|&c| nic.counter(c).unwrap())
        .collect();
    let n = (want.0 + want.1) as u64;
    assert_eq!(counters, [n, good, 0, n, good]);

    // Every statistic of both ports, through what `arsenic ports` prints:
    // each port received its own and dropped by reason, and sent the
    // other's; every source was learned.
    let stats = board_stats::read(&uart).unwrap();
    let expect = |nonzero: &[(PortStat, u32)]| -> BTreeMap<&'static str, u32> {
        let mut m: BTreeMap<&'static str, u32> = PortStat::ALL.iter().map(|s| (s.name(), 0)).collect();
        m.insert(PortStat::Link.name(), 1);
        for &(s, v) in nonzero {
            m.insert(s.name(), v);
        }
        m
    };
    let (bytes0, bytes1) = (sum(&good0) as u32, sum(&good1) as u32);
    let port0 = [(PortStat::RxFrames, want.0 as u32), (PortStat::RxBytes, bytes0), (PortStat::TxFrames, want.1 as u32), (PortStat::TxBytes, bytes1)];
    assert_eq!(stats.ports[0], expect(&port0), "port 0");
    let port1 = [
        (PortStat::RxFrames, want.1 as u32),
        (PortStat::RxBytes, bytes1),
        (PortStat::RxFcsErrors, 1),
        (PortStat::RxSymbolErrors, 1),
        (PortStat::TxFrames, want.0 as u32),
        (PortStat::TxBytes, bytes0),
    ];
    assert_eq!(stats.ports[1], expect(&port1), "port 1");
    assert_eq!(stats.ports.len(), 2);
    assert_eq!(stats.unlearned_frames, 0);
    // Nothing else is mapped in the window: not a copy of the counters
    // 256 bytes on (the shell decoded only the low 8 address bits).
    assert_eq!(uart.read32_at(STATS_WINDOW + 0x100 + stat_offset(1, PortStat::RxFrames)).unwrap(), 0);
    assert_eq!(uart.link_stats().retries, 0);
    drop(uart);
    board.report("port 0 <-> core <-> port 1", started);
}

#[test]
fn versa_shell_both_ports_at_line_rate_drop_whole_frames_and_count_them() {
    let started = Instant::now();
    let (mut board, uart) = Board::start(VersaConfig::new(uart_bit_cycles()));
    let nic = Nic::open(&uart).unwrap();
    nic.set_loopback(true).unwrap();
    // Twice what the core moves: maximum frames back to back on both ports.
    let n = 8;
    let sent: [Vec<Vec<u8>>; 2] = [0xA0u8, 0xB1].map(|src| {
        (0..n).map(|i| frame_from(src, 1514, src ^ i as u8)).collect()
    });
    let inject = sent.clone();
    let (out0, out1) = board.with(move |s| {
        for (a, b) in inject[0].iter().zip(&inject[1]) {
            s.send_frame(0, a);
            s.send_frame(1, b);
        }
        s.run_until(400_000, |s| s.rx_pending(0) == 0 && s.rx_pending(1) == 0);
        // Whatever made it into the core leaves within this.
        s.run_cycles(20_000);
        (s.take_bursts(0), s.take_bursts(1))
    });
    let stats = board_stats::read(&uart).unwrap();
    let dropped = |p: usize| stats.ports[p][PortStat::RxWaitOverflows.name()] as usize;
    // Each side's frames leave by the other port whole, in order, and
    // every one that did not was counted as dropped by its own port.
    for (p, out) in [(0, frames_of(&out1)), (1, frames_of(&out0))] {
        let mut rest = sent[p].iter();
        assert!(out.iter().all(|f| rest.any(|s| s == f)), "port {p}'s frames came out changed or out of order");
        assert_eq!(out.len() + dropped(p), n, "port {p}: {} out, {} counted dropped", out.len(), dropped(p));
        assert_eq!(stats.ports[p][PortStat::RxFrames.name()] as usize, n);
        assert_eq!(stats.ports[p][PortStat::RxCrossingOverflows.name()], 0);
    }
    assert!(dropped(0) + dropped(1) > 0, "twice the core's rate must drop something");
    assert!(out0.len() + out1.len() >= n, "the core must keep moving at its own rate");
    drop(uart);
    board.report("both ports at line rate", started);
}

#[test]
fn versa_shell_memory_window_round_trips_over_the_uart() {
    let started = Instant::now();
    let (mut board, uart) = Board::start(VersaConfig::new(uart_bit_cycles()));
    // First word, last word of the 8 KiB, one between; then one past the end.
    let words = [(0x0000, 0x0123_4567), (0x1FFC, 0x89AB_CDEF), (0x0ABC, 0xDEAD_BEEF)];
    for (offset, value) in words {
        uart.write32_at(MEMORY_WINDOW + offset, value).unwrap();
    }
    uart.write32_at(MEMORY_WINDOW + 0x2000, 0x5555_AAAA).unwrap();
    for (offset, value) in words {
        assert_eq!(uart.read32_at(MEMORY_WINDOW + offset).unwrap(), value, "offset 0x{offset:x}");
    }
    assert_eq!(uart.read32_at(MEMORY_WINDOW + 0x2000).unwrap(), 0, "past the memory's end reads 0");
    // The bridge refuses a misaligned address without touching anything.
    let err = format!("{:#}", uart.read32_at(MEMORY_WINDOW + 2).unwrap_err());
    assert!(err.contains("refused the address"), "{err}");
    assert_eq!(uart.link_stats().retries, 0);
    drop(uart);
    board.report("memory window", started);
}

#[test]
fn versa_shell_in_band_link_status_reaches_stats_and_leds() {
    let started = Instant::now();
    let mut config = VersaConfig::new(uart_bit_cycles());
    config.status = [InBandStatus::LINK_DOWN; 2];
    let (mut board, uart) = Board::start(config);
    let link = |uart: &UartDevice| -> [u32; 2] {
        [0, 1].map(|p| uart.read32_at(STATS_WINDOW + stat_offset(p, PortStat::Link)).unwrap())
    };
    let leds = |board: &mut Board| board.with(|s| s.leds_lit() & (LED_LINK0 | LED_LINK1 | LED_PLL_UNLOCKED));

    assert_eq!(link(&uart), [0, 0]);
    assert_eq!(leds(&mut board), 0);

    board.with(|s| s.set_in_band_status(0, InBandStatus::UP_1000_FULL));
    assert_eq!(link(&uart), [1, 0]);
    assert_eq!(leds(&mut board), LED_LINK0);

    board.with(|s| {
        s.set_in_band_status(0, InBandStatus::LINK_DOWN);
        s.set_in_band_status(1, InBandStatus::UP_1000_FULL);
    });
    assert_eq!(link(&uart), [0, 1]);
    assert_eq!(leds(&mut board), LED_LINK1);
    drop(uart);
    board.report("link status", started);
}

#[test]
fn versa_shell_forwarder_sends_a_filtered_queue_out_of_port1() {
    let started = Instant::now();
    let (mut board, uart) = Board::start(VersaConfig::new(uart_bit_cycles()));
    let mut nic = Nic::open(&uart).unwrap();
    let mac = [0x02, 0, 0, 0, 0, 0x77];
    nic.install_filter(&Filter::Mac { mac, vlan: None }, Target::queue(3)).unwrap();
    // Four 1 KiB buffers for eight descriptors: 4.3 KiB of the 8.
    let spec = ForwardSpec { slot: 1, queue: 3, offset: 0x400, ring_log2: 3, buffers: 4, buffer_bytes: 1024 };
    board_forward::start(&mut nic, &uart, &spec).unwrap();
    let setup = uart.link_stats().accesses;

    // Frames to the filter's address, one too long for a buffer, and one
    // to another address (the default queue, 0, is not enabled), spaced so
    // the four buffers never run out; ten frames wrap the rings.
    let to_queue = |n: usize, seed: u8| {
        let mut f = frame(n, seed);
        f[..6].copy_from_slice(&mac);
        f
    };
    let sizes = [60usize, 1018, 200, 1200, 64, 61, 1000, 300, 127, 800, 1024, 75];
    let mut sent: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| to_queue(n, 0x50 + i as u8)).collect();
    sent.insert(5, frame(100, 0x99));
    let good: Vec<Vec<u8>> = sent.iter().filter(|f| f[..6] == mac && f.len() <= 1024).cloned().collect();
    let want = good.len();
    let inject = sent.clone();
    let (done, out1, out0) = board.with(move |s| {
        for f in &inject {
            s.send_frame(0, f);
            s.run_cycles(6_000);
        }
        let done = s.run_until(100_000, |s| s.rx_pending(0) == 0 && s.bursts_waiting(1) >= want);
        s.run_cycles(5_000);
        (done, s.take_bursts(1), s.take_bursts(0))
    });
    assert!(done, "{} of {want} frames out of port 1", out1.len());
    assert_eq!(frames_of(&out1), good, "port 1 must send exactly the queue's frames that fit a buffer, in order");
    assert!(out0.is_empty());

    let slot = board_forward::status(&uart, 1).unwrap();
    assert_eq!(slot, SlotStatus { running: true, status: 0, forwarded: want as u32, rx_errors: 1, tx_errors: 0 });
    let counters: Vec<u64> = [Counter::RxDelivered, Counter::RxDropTooLong, Counter::RxDropDisabled, Counter::TxFrames, Counter::TxBytes]
        .iter()
        .map(|&c| nic.counter(c).unwrap())
        .collect();
    assert_eq!(counters, [want as u64, 1, 1, want as u64, sum(&good)]);
    assert_eq!(port_stats(&uart, 1, &[PortStat::TxFrames, PortStat::TxBytes]), [want as u32, sum(&good) as u32]);
    // The other slots never ran.
    assert_eq!(uart.read32_at(arsenic_hdl::board::versa_ecp5::regions::fwd_register(0, 0)).unwrap(), 0);
    assert_eq!(uart.link_stats().retries, 0);
    eprintln!("forwarder setup: {setup} register accesses over the UART");
    drop(uart);
    board.report("forwarder", started);
}

#[test]
fn versa_shell_forwarder_shapes_one_queue_and_not_the_other() {
    let started = Instant::now();
    let (mut board, uart) = Board::start(VersaConfig::new(uart_bit_cycles()));
    let mut nic = Nic::open(&uart).unwrap();
    let (fast, slow) = ([0x02, 0, 0, 0, 0, 0x33], [0x02, 0, 0, 0, 0, 0x55]);
    nic.install_filter(&Filter::Mac { mac: fast, vlan: None }, Target::queue(3)).unwrap();
    nic.install_filter(&Filter::Mac { mac: slow, vlan: None }, Target::queue(5)).unwrap();
    let a = ForwardSpec { slot: 0, queue: 3, offset: 0, ring_log2: 3, buffers: 4, buffer_bytes: 1024 };
    let b = ForwardSpec { slot: 2, queue: 5, offset: a.bytes() as u32, ring_log2: 3, buffers: 2, buffer_bytes: 1536 };
    // Queue 5 capped at 1 Mb/s with the smallest bucket. Written straight
    // to the staging words: `Nic::set_shaping` reads every queue's
    // guarantee first, 64 round trips on this line.
    let ceiling = Rate { bits_per_s: 1_000_000, burst_bytes: MIN_BURST_BYTES };
    let shape = Shaping { ceiling: Some(ceiling), ..Default::default() }.to_settings(nic.info.clock_hz).unwrap();
    for (i, w) in shape.words().iter().enumerate() {
        uart.write32_at(regmap::SHAPE + 4 * i as u32, *w).unwrap();
    }
    uart.write32_at(regmap::SHAPE_CMD, regmap::SHAPE_CMD_WRITE | 5).unwrap();
    // The accesses after the commit take tens of milliseconds, time for a
    // 1 Mb/s bucket to fill however it starts.
    board_forward::start(&mut nic, &uart, &a).unwrap();
    board_forward::start(&mut nic, &uart, &b).unwrap();

    let to = |mac: [u8; 6], n: usize, seed: u8| {
        let mut f = frame(n, seed);
        f[..6].copy_from_slice(&mac);
        f
    };
    let slow_frames: Vec<Vec<u8>> = (0..3).map(|i| to(slow, 1500, 0x70 + i)).collect();
    let fast_frame = to(fast, 200, 0x7F);
    let inject = (slow_frames.clone(), fast_frame.clone());
    let (out, injected) = board.with(move |s| {
        let (slow_frames, fast_frame) = inject;
        let mut injected = vec![];
        for f in &slow_frames {
            injected.push(s.cycles());
            s.send_frame(0, f);
            s.run_cycles(6_000);
        }
        injected.push(s.cycles());
        s.send_frame(0, &fast_frame);
        assert!(s.run_until(3_000_000, |s| s.bursts_waiting(1) >= 4), "{} bursts", s.bursts_waiting(1));
        s.run_cycles(5_000);
        (s.take_bursts(1), injected)
    });
    let frames = frames_of(&out);
    // The fast queue's frame overtakes the third slow one, held by the cap.
    assert_eq!(frames, [slow_frames[0].clone(), slow_frames[1].clone(), fast_frame, slow_frames[2].clone()]);
    assert!(out[2].start_cycle - injected[3] < 20_000, "the fast frame left {} cycles after it came", out[2].start_cycle - injected[3]);
    // The full bucket (3092 bytes) admits the first two (1524 wire bytes
    // each); the third waits until it again holds a maximum frame's
    // admission (1546 bytes), about 1480 bytes at 1 Mb/s: 12 ms, 1.5 M cycles.
    let held = out[3].start_cycle - out[0].start_cycle;
    assert!(out[1].start_cycle - out[0].start_cycle < 10_000);
    assert!((1_400_000..1_700_000).contains(&held), "the third slow frame left {held} cycles after the first");
    eprintln!("forwarder with shaping: the capped queue's third frame held {held} cycles, the other queue's frame out {} cycles after it came", out[2].start_cycle - injected[3]);
    for (slot, queue_frames) in [(0, 1), (2, 3)] {
        let st = board_forward::status(&uart, slot).unwrap();
        assert_eq!((st.running, st.forwarded, st.rx_errors, st.tx_errors), (true, queue_frames, 0, 0), "slot {slot}");
    }
    drop(uart);
    board.report("forwarder with shaping", started);
}
