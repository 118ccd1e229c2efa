//! The `uart` backend end to end: a pseudo-terminal pair, the Rust UART
//! server with the behavioural model behind it on one side (the board),
//! `UartDevice` on the other (the host). The control plane must give the
//! same results through it as on the model directly, and faults on the
//! wire must end in a retry that works or a clear error, never a hang.

mod common;

use common::tcp;

use arsenic::control::{Counters, Nic};
use arsenic::demux::filters::{Filter, Target};
use arsenic::device::model::ModelDevice;
use arsenic::device::uart::UartDevice;
use arsenic::device::{Decision, Demux, Device, Page, Wire};
use arsenic::shaping::{Rate, Shaping};
use arsenic::uart::protocol::IDLE_RESET_MS;
use arsenic::uart::server::{DevicePages, Server, ServerStats};
use arsenic::uart::tty::Tty;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// For tests that expect a timeout: short, so they fail fast instead of
/// hanging; far longer than a round trip through a pseudo-terminal.
const TIMEOUT: Duration = Duration::from_millis(150);
/// For tests that expect none: room for a loaded machine, still bounded.
const GENEROUS: Duration = Duration::from_secs(2);

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

/// Traffic before the control plane is touched: counters to read.
fn before(dev: &mut ModelDevice) {
    dev.send(&tcp(1000, 80), false);
    dev.send(&tcp(1001, 22), true);
    dev.send(&[0u8; 20], false);
    dev.drain().unwrap();
}

/// Traffic after: decisions that show which filters are installed.
fn after(dev: &mut ModelDevice) -> Vec<Decision> {
    dev.take_received();
    for f in [tcp(1000, 80), tcp(1001, 80), tcp(1001, 22)] {
        dev.send(&f, false);
    }
    dev.drain().unwrap();
    dev.take_received().into_iter().map(|r| r.decision).collect()
}

/// What the board saw, once the host hung up.
struct BoardEnd {
    stats: ServerStats,
    decisions: Vec<Decision>,
}

/// A model served on a pseudo-terminal's master side in a thread; the
/// slave side, raw, for the host. The model lives in the thread (it is
/// not `Send`); the thread ends when the host closes its side.
fn board() -> (Tty, JoinHandle<BoardEnd>) {
    let pty = nix::pty::openpty(None, None).unwrap();
    let name = nix::unistd::ttyname(&pty.slave).unwrap().display().to_string();
    let host = Tty::from_fd(pty.slave, &name).unwrap();
    let mut line = Tty::from_fd(pty.master, "pty master").unwrap();
    // The board drops a partial request after this much silence.
    line.set_read_timeout(Duration::from_millis(IDLE_RESET_MS));
    let thread = std::thread::spawn(move || {
        let mut model = ModelDevice::default();
        before(&mut model);
        let mut server = Server::new(DevicePages::map(&model).unwrap());
        server.serve(&mut line).unwrap();
        BoardEnd { stats: server.stats(), decisions: after(&mut model) }
    });
    (host, thread)
}

/// The same control-plane work on any backend: what it reads back.
fn control_plane(dev: &dyn Device) -> (arsenic::control::DeviceInfo, Counters, Vec<Shaping>, u32) {
    let mut nic = Nic::open(dev).unwrap();
    nic.set_default_queue(63).unwrap();
    nic.install_filter(&Filter::Exact5 { proto: 6, src: A, sport: 1000, dst: B, dport: 80 }, Target::queue(3))
        .unwrap();
    nic.install_filter(&Filter::Listen { proto: 6, dst: Some(B), dport: Some(80) }, Target::queue(4)).unwrap();
    let settings = [
        (1, Shaping { guarantee: Some(Rate { bits_per_s: 10_000_000, burst_bytes: 4096 }), ceiling: None, weight: 1 }),
        (
            7,
            Shaping {
                guarantee: None,
                ceiling: Some(Rate { bits_per_s: 123_456_789, burst_bytes: 20_000 }),
                weight: 9,
            },
        ),
    ];
    for (q, s) in &settings {
        nic.set_shaping(dev, *q, s).unwrap();
    }
    let shaping = settings.iter().map(|(q, _)| nic.shaping(dev, *q).unwrap()).collect();
    let mut info = nic.info.clone();
    info.backend.clear();
    (info, nic.counters().unwrap(), shaping, nic.default_queue().unwrap())
}

#[test]
fn uart_model_control_plane_matches_the_model() {
    let mut direct = ModelDevice::default();
    before(&mut direct);
    let want = control_plane(&direct);
    let want_decisions = after(&mut direct);
    assert!(want.1.get("rx_frames").unwrap_or(0) > 0, "the traffic before must show in the counters: {:?}", want.1);

    let (host, board) = board();
    let uart = UartDevice::new(host, "pty", GENEROUS);
    assert_eq!(uart.backend(), "uart");
    let got = control_plane(&uart);
    let link = uart.link_stats();
    drop(uart);
    let end = board.join().unwrap();

    assert_eq!(got, want);
    // The filters installed over the line steer the board's frames as the
    // ones installed directly steer the model's.
    assert_eq!(end.decisions, want_decisions);
    assert_eq!((end.stats.bad_checksum, end.stats.bad_address, end.stats.bad_command, end.stats.skipped), (0, 0, 0, 0));
    assert_eq!(end.stats.ok, link.accesses);
    assert_eq!(link.retries, 0);
}

#[test]
fn uart_model_refuses_what_the_link_cannot_do() {
    let (host, board) = board();
    let uart = UartDevice::new(host, "pty", GENEROUS);
    let err = uart.dma_alloc(4096).err().expect("no DMA on a UART").to_string();
    assert!(err.contains("control plane only") && err.contains("no host DMA"), "{err}");
    // A queue page inside the 24-bit space but past the board's queues.
    let page = uart.map_page(Page::Queue(100)).unwrap();
    let err = format!("{:#}", page.read32(0).unwrap_err());
    assert!(err.contains("refused the address") && err.contains("0x065000"), "{err}");
    // The host's own checks come first.
    assert!(uart.map_page(Page::Queue(1 << 20)).is_err());
    assert!(uart.map_page(Page::Control).unwrap().read32(2).is_err());
    drop((uart, page));
    assert_eq!(board.join().unwrap().stats.bad_address, 1);
}

/// The host's side of the line with one fault on it.
struct Faulty {
    inner: Tty,
    fault: Fault,
    writes: usize,
    reads: usize,
    /// Requests whose replies got their garbage.
    junked: usize,
}

#[derive(Clone, Copy)]
enum Fault {
    /// Flip a bit in request `n`'s byte `i`.
    FlipRequest(usize, usize),
    /// Flip a bit in the `n`th chunk read from the board (a reply).
    FlipReply(usize),
    /// Send only the first `i` bytes of request `n`.
    Cut(usize, usize),
    /// Garbage before every request's reply.
    Garbage,
}

impl Write for Faulty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writes;
        self.writes += 1;
        let mut bytes = buf.to_vec();
        match self.fault {
            Fault::FlipRequest(at, i) if at == n => bytes[i] ^= 0x04,
            Fault::Cut(at, i) if at == n => bytes.truncate(i),
            _ => {}
        }
        self.inner.write_all(&bytes)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Read for Faulty {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Fault::Garbage = self.fault {
            if self.junked < self.writes {
                // Once per request: garbage with a false sync byte in it.
                self.junked = self.writes;
                let junk = [0x00, 0x5A, 0x13, 0x5A, 0xFF];
                buf[..junk.len()].copy_from_slice(&junk);
                return Ok(junk.len());
            }
        }
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Fault::FlipReply(at) = self.fault {
                if at == self.reads {
                    buf[n - 1] ^= 0x20;
                }
            }
            self.reads += 1;
        }
        Ok(n)
    }
}

/// Opens the NIC through a line with `fault` on it; the result, the
/// link's and the board's counts.
fn open_through(fault: Fault) -> (Result<arsenic::control::DeviceInfo, String>, arsenic::uart::link::LinkStats, ServerStats) {
    let (host, board) = board();
    let uart = UartDevice::new(Faulty { inner: host, fault, writes: 0, reads: 0, junked: 0 }, "pty", GENEROUS);
    let started = Instant::now();
    let result = Nic::open(&uart).map(|n| n.info).map_err(|e| format!("{e:#}"));
    // A retry must not have waited for a timeout.
    assert!(started.elapsed() < GENEROUS, "opening took {:?}", started.elapsed());
    let link = uart.link_stats();
    drop(uart);
    (result, link, board.join().unwrap().stats)
}

#[test]
fn uart_model_a_corrupted_request_is_retried() {
    let (result, link, board) = open_through(Fault::FlipRequest(2, 7));
    assert_eq!(result.unwrap().queues, 64);
    assert_eq!((link.retries, board.bad_checksum), (1, 1));
}

#[test]
fn uart_model_a_corrupted_reply_is_retried() {
    let (result, link, _) = open_through(Fault::FlipReply(0));
    assert_eq!(result.unwrap().queues, 64);
    assert_eq!(link.retries, 1);
}

#[test]
fn uart_model_garbage_on_the_line_is_skipped() {
    let (result, link, _) = open_through(Fault::Garbage);
    assert_eq!(result.unwrap().queues, 64);
    assert_eq!(link.retries, 0);
    assert!(link.skipped >= 5 * link.accesses, "{link:?}");
}

#[test]
fn uart_model_a_cut_request_times_out_naming_the_port_and_the_line_recovers() {
    let (host, board) = board();
    let uart = UartDevice::new(Faulty { inner: host, fault: Fault::Cut(0, 5), writes: 0, reads: 0, junked: 0 }, "pty", TIMEOUT);
    let started = Instant::now();
    let err = format!("{:#}", Nic::open(&uart).err().expect("a cut request cannot be answered"));
    assert!(err.contains("no reply from pty within 150 ms"), "{err}");
    assert!(started.elapsed() < 3 * TIMEOUT, "took {:?}", started.elapsed());
    // The board dropped the partial frame when the line went idle, so the
    // next access is answered.
    assert_eq!(Nic::open(&uart).unwrap().info.queues, 64);
    drop(uart);
    let stats = board.join().unwrap().stats;
    assert_eq!((stats.skipped, stats.bad_checksum), (5, 0));
}

#[test]
fn uart_model_a_silent_board_is_a_timeout_not_a_hang() {
    let pty = nix::pty::openpty(None, None).unwrap();
    let name = nix::unistd::ttyname(&pty.slave).unwrap().display().to_string();
    let host = Tty::from_fd(pty.slave, &name).unwrap();
    // The master stays open and unread: nothing ever answers.
    let uart = UartDevice::new(host, &name, TIMEOUT);
    let started = Instant::now();
    let err = format!("{:#}", Nic::open(&uart).err().expect("nothing answers"));
    assert!(err.contains(&format!("no reply from {name} within 150 ms")), "{err}");
    assert!(err.contains("magic number"), "{err}");
    assert!(started.elapsed() < 3 * TIMEOUT, "took {:?}", started.elapsed());
    drop(pty.master);
}

#[test]
fn uart_model_a_line_that_takes_no_bytes_is_an_error_not_a_hang() {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut host = Tty::from_fd(pty.slave, "stuck pty").unwrap();
    host.set_write_timeout(TIMEOUT);
    // Nobody reads the master: the pty's buffer fills, then writes stop.
    let started = Instant::now();
    let err = host.write_all(&vec![0u8; 1 << 22]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(err.to_string().contains("stuck pty took no bytes within 150 ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    drop(pty.master);
}

#[test]
fn uart_model_open_names_a_missing_port_and_a_bad_baud_rate() {
    let err = format!("{:#}", UartDevice::open("/dev/arsenic-no-such-tty".as_ref(), 115_200, TIMEOUT).err().unwrap());
    assert!(err.contains("/dev/arsenic-no-such-tty"), "{err}");
    let err = format!("{:#}", UartDevice::open("/dev/null".as_ref(), 12_345, TIMEOUT).err().unwrap());
    assert!(err.contains("12345 baud is not supported"), "{err}");
    let err = format!("{:#}", UartDevice::open("/dev/null".as_ref(), 115_200, TIMEOUT).err().unwrap());
    assert!(err.contains("/dev/null is not a terminal"), "{err}");
}
