//! `arsenic info` and `arsenic counters` against a board on a serial line:
//! a pseudo-terminal with the model served on its other side.

mod common;

use arsenic::device::model::ModelDevice;
use arsenic::device::Wire;
use arsenic::uart::protocol::IDLE_RESET_MS;
use arsenic::uart::server::{DevicePages, Server};
use arsenic::uart::tty::Tty;
use std::process::Output;
use std::time::Duration;
use common::cli::{arsenic, stderr};

/// Runs `arsenic` with `args` and `--port` set to a pseudo-terminal whose
/// other side serves a model that has received `frames` frames.
fn with_board(args: &[&str], frames: usize) -> Output {
    let pty = nix::pty::openpty(None, None).unwrap();
    let name = nix::unistd::ttyname(&pty.slave).unwrap().display().to_string();
    let mut line = Tty::from_fd(pty.master, "pty master").unwrap();
    line.set_read_timeout(Duration::from_millis(IDLE_RESET_MS));
    let board = std::thread::spawn(move || {
        let mut model = ModelDevice::default();
        for _ in 0..frames {
            model.send(&[0x55; 64], false);
        }
        Server::new(DevicePages::map(&model).unwrap()).serve(&mut line).unwrap();
    });
    let mut all = args.to_vec();
    all.extend(["--backend", "uart", "--port", &name]);
    let o = arsenic(&all);
    // The slave stayed open so the board did not see a hang-up before the
    // command opened it; closing it now ends the board.
    drop(pty.slave);
    board.join().unwrap();
    o
}

#[test]
fn cli_uart_info_reads_the_board() {
    let o = with_board(&["info"], 0);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["backend"], "uart");
    assert_eq!(v["queues"], 64);
    assert_eq!(v["max_frame_bytes"], 1522);
}

#[test]
fn cli_uart_counters_reads_the_boards_counters() {
    let o = with_board(&["counters"], 3);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rx_frames"], 3);
    assert_eq!(v["rx_bytes"], 192);
}

#[test]
fn cli_uart_bad_arguments_are_refused_in_one_line() {
    for (args, needle) in [
        (&["info", "--backend", "uart"][..], "--backend uart needs --port"),
        (&["counters", "--backend", "model", "--port", "/dev/ttyUSB1"][..], "it needs --backend uart"),
        (&["info", "--backend", "uart", "--port", "/dev/arsenic-no-such-tty"][..], "opening serial port /dev/arsenic-no-such-tty"),
        (&["info", "--backend", "uart", "--port", "/dev/null", "--baud", "7"][..], "7 baud is not supported"),
        (&["forward", "--port", "/dev/null", "--queue", "3", "--buffers", "9"][..], "buffers must be 1..=8"),
        (&["forward", "--port", "/dev/null", "--queue", "3", "--offset", "4096"][..], "do not fit the 8192 bytes"),
        (&["forward", "--port", "/dev/null", "--slot", "4", "--status"][..], "forwarder slot 4 does not exist"),
        (&["forward", "--port", "/dev/null"][..], "forward needs --queue"),
    ] {
        let o = arsenic(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: expected {needle:?} in {err}");
    }
}
