//! Per-process protection on the simulated device: a control process
//! (`arsenic ctl`) hands each application process only its queue's page
//! and memory, as descriptors. Two applications exchange datagrams
//! through the NIC (the wire's far end sends every frame back in); a
//! third tries to reach what is not its own and is refused, by the
//! operating system for paths and mappings, by the NIC for DMA.

use arsenic::control::Nic;
use arsenic::device::sim_dir::SimDir;
use arsenic::device::sim_wire::{FromDevice, ToDevice};
use arsenic::device::sysfs::SysfsDevice;
use arsenic::sim_device::spawn::{arsenic_exe, SpawnedDevice};
use arsenic_hdl::regmap::Counter;
use nix::sys::socket::{connect, recv, send, socket, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The wire's far end: every frame the NIC sends comes straight back in.
fn reflector(dir: &SimDir, stop: Arc<AtomicBool>, seen: Arc<Mutex<Vec<Vec<u8>>>>) -> std::thread::JoinHandle<()> {
    let sock = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).unwrap();
    connect(sock.as_raw_fd(), &UnixAddr::new(&dir.wire()).unwrap()).unwrap();
    nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::ReceiveTimeout, &nix::sys::time::TimeVal::new(0, 100_000)).unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 20_000];
        while !stop.load(Ordering::Relaxed) {
            let Ok(n) = recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty()) else { continue };
            if let Some(FromDevice::Frame { data, aborted: false, .. }) = FromDevice::decode(&buf[..n]) {
                seen.lock().unwrap().push(data.clone());
                send(sock.as_raw_fd(), &ToDevice::Frame { data, fcs_error: false }.encode(), MsgFlags::empty()).unwrap();
            }
        }
    })
}

fn app(socket: &std::path::Path, args: &[&str]) -> Child {
    Command::new(arsenic_exe().unwrap())
        .arg("app")
        .arg("--ctl")
        .arg(socket)
        .args(args)
        .arg("--drop-privileges")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn report(child: Child) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "app failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn applications_reach_only_their_own_queue() {
    let dev = SpawnedDevice::start(16).unwrap();
    let dir = SimDir::new(dev.dir());
    let socket = std::env::temp_dir().join(format!("arsenic-ctl-{}.sock", std::process::id()));
    let mut ctl = Killed(
        Command::new(arsenic_exe().unwrap())
            .args(["ctl", "--device"])
            .arg(dev.dir())
            .arg("--socket")
            .arg(&socket)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(ctl.0.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().starts_with("control process"));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let wire = reflector(&dir, Arc::clone(&stop), Arc::clone(&seen));

    // B listens first; its grant line gives its buffers' bus address.
    let b = app(&socket, &["--queue", "5", "--port", "7005", "--recv", "20"]);
    let line = lines.next().unwrap().unwrap();
    assert!(line.starts_with("granted queue 5 port 7005"), "{line}");
    let b_pool = line.rsplit(' ').next().unwrap().to_string();
    // C attacks B's memory and probes the device's files.
    let c = app(
        &socket,
        &["--queue", "6", "--port", "7006", "--attack-bus", &b_pool, "--probe-dir", dev.dir().to_str().unwrap()],
    );
    assert!(lines.next().unwrap().unwrap().starts_with("granted queue 6"));
    let c = report(c);
    eprintln!("attacker: {c}");
    // A sends B twenty datagrams.
    let a = app(&socket, &["--queue", "4", "--port", "7004", "--send", "20", "--to-port", "7005"]);
    let a = report(a);
    let b = report(b);
    stop.store(true, Ordering::Relaxed);
    wire.join().unwrap();

    assert_eq!(a["sent"], 20, "{a}");
    let got: Vec<u64> = b["received"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(got, (0..20).collect::<Vec<_>>(), "{b}");
    assert_eq!(c["attack_rejected"], 1, "{c}");
    assert_eq!(c["tx_sent"], 0, "{c}");
    let root = nix::unistd::geteuid().is_root();
    for p in c["probes"].as_array().unwrap() {
        // Paths are closed to an application only once it is not root;
        // the page after the granted one is never there.
        if root || p["what"].as_str().unwrap().starts_with("map") {
            assert!(!p["refused"].is_null(), "breach: {p}");
        }
    }
    if root {
        assert_eq!(c["uid"], 65534);
    }
    // Only A's datagrams crossed the wire: nothing of B's buffers left.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 20);
    assert!(seen.iter().all(|f| f.len() == 128 && f[34..36] == 7004u16.to_be_bytes()));
    // Wrong requests are refused in one line; a queue an application gave
    // back (A's, when it exited) is granted again.
    for (args, expect) in [
        (&["--queue", "0", "--port", "7100"][..], "default queue"),
        (&["--queue", "999", "--port", "7100"][..], "does not exist"),
    ] {
        let out = app(&socket, args).wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expect) && err.trim().lines().count() == 1, "{err}");
    }
    let again = report(app(&socket, &["--queue", "4", "--port", "7004"]));
    assert_eq!(again["queue"], 4, "{again}");
    let out = Command::new(arsenic_exe().unwrap())
        .args(["app", "--ctl", "/nonexistent/ctl.sock", "--queue", "4", "--port", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("reaching the control process"), "{err}");
    // The NIC counted the refusal.
    let sysfs = SysfsDevice::open(dev.dir()).unwrap();
    let nic = Nic::open(&sysfs).unwrap();
    assert!(nic.counter(Counter::TxDropWindow).unwrap() >= 1);
    let _ = std::fs::remove_file(&socket);
}
