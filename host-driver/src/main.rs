//! The `arsenic` command.

use anyhow::{bail, Result};
use arsenic::board::{self, signoff, BuildOptions};
use arsenic::config::SteeringConfig;
use arsenic::control::Nic;
use arsenic::device::uart::{UartDevice, DEFAULT_BAUD};
use arsenic::device::{model::ModelDevice, rtl::RtlDevice, sysfs::SysfsDevice, Device};
use arsenic::sim_device;
use arsenic::sim_run::{self, Backend, Input, SimOptions, SimReport};
use arsenic::stack::{self, demo_show::{DemoBackend, PeerChoice}};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "arsenic", version, about = "Arsenic: a user-accessible NIC, generated from Rust")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the NIC's Verilog and the test tops beside it (what `make verilog` does).
    Gen {
        /// Output directory.
        #[arg(long, default_value = "verilog-out")]
        out: PathBuf,
    },
    /// Play traffic into a simulated NIC and collect what it sends.
    Sim {
        /// Send every received frame back out (the loopback mode).
        #[arg(long)]
        loopback: bool,
        /// Capture to play (pcap or pcapng, Ethernet); without it, built-in traffic.
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Where tx.pcap and stats.json go.
        #[arg(long, default_value = "out/sim")]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "rtl")]
        backend: Backend,
        /// Frames of built-in traffic.
        #[arg(long, default_value_t = 600)]
        frames: usize,
        /// Seed of the built-in traffic.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write a VCD waveform of the RTL to this file.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Skip running the behavioural model alongside the RTL for comparison.
        #[arg(long)]
        no_check: bool,
        /// Steering config (TOML): filters and default queue to install; each
        /// queue's frames then go to rxq<N>.pcap.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Every application queue sends back each frame it receives, MAC
        /// addresses swapped (a reflector on each queue).
        #[arg(long)]
        echo: bool,
        /// Transmit the frames of a capture from queue N (repeatable).
        #[arg(long, value_name = "N=FILE", value_parser = parse_txq)]
        txq: Vec<(u32, PathBuf)>,
        /// For --backend sim-device: a running `arsenic sim-device` folder
        /// (without it, one is started for the run).
        #[arg(long)]
        device: Option<PathBuf>,
    },
    /// Demonstrations that run end to end on the simulated NIC.
    Demo {
        #[command(subcommand)]
        what: DemoCommand,
    },
    /// Run the Verilated NIC as a device of its own, served from a folder
    /// shaped like its sysfs folder, for the sysfs backend (and other
    /// processes) to drive; runs until interrupted.
    SimDevice {
        /// The device's folder; best on tmpfs, as its files are shared memory.
        #[arg(long, default_value = "/dev/shm/arsenic-sim")]
        dir: PathBuf,
        /// 2 MiB chunks of host memory to share with drivers (sparse: an
        /// untouched chunk costs nothing).
        #[arg(long, default_value_t = 256)]
        chunks: usize,
        /// Stop after this many core cycles.
        #[arg(long)]
        max_cycles: Option<u64>,
        /// Stop when the process that started this one ends (for tests).
        #[arg(long)]
        die_with_parent: bool,
    },
    /// The privileged control process: owns a simulated device and hands
    /// each application that asks only its own queue's page and memory,
    /// as descriptors over a Unix socket. Runs until interrupted.
    Ctl {
        /// The `arsenic sim-device` folder.
        #[arg(long)]
        device: PathBuf,
        /// Where applications reach it.
        #[arg(long, default_value = "/run/arsenic-ctl.sock")]
        socket: PathBuf,
    },
    /// An application on a queue granted by `arsenic ctl`: sends and
    /// receives UDP on its port, and can try what it must not be able to
    /// do; prints a JSON report.
    App {
        #[arg(long)]
        ctl: PathBuf,
        #[arg(long)]
        queue: u32,
        #[arg(long)]
        port: u16,
        /// Send this many datagrams to --to-port on the same host.
        #[arg(long, default_value_t = 0)]
        send: u32,
        #[arg(long)]
        to_port: Option<u16>,
        /// Wait for this many datagrams.
        #[arg(long, default_value_t = 0)]
        recv: usize,
        /// Post a transmit descriptor naming this bus address, outside the queue's window.
        #[arg(long, value_parser = parse_hex)]
        attack_bus: Option<u64>,
        /// Try to reach this device folder's files, another queue's page and past the granted page.
        #[arg(long)]
        probe_dir: Option<PathBuf>,
        /// Give up root (become nobody) once the queue is granted, as an application would run.
        #[arg(long)]
        drop_privileges: bool,
    },
    /// Find the NIC and print what its identification registers say.
    Info {
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// Read the NIC's statistics counters.
    Counters {
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// Read a board's per-port MAC statistics over its serial port (the
    /// Versa shell's two Ethernet ports).
    Ports {
        /// The board's serial port (the FT2232's second channel, e.g. /dev/ttyUSB1).
        #[arg(long)]
        port: PathBuf,
        #[arg(long, default_value_t = DEFAULT_BAUD)]
        baud: u32,
        #[arg(long, default_value_t = 200)]
        timeout_ms: u64,
    },
    /// Forward a queue out of the other port with the Versa shell's hardware
    /// forwarder: lay the queue out in on-chip memory, commit it, post its
    /// buffers and start a slot on it (steer traffic to the queue with
    /// filters); prints the slot's status.
    Forward {
        /// The board's serial port (the FT2232's second channel, e.g. /dev/ttyUSB1).
        #[arg(long)]
        port: PathBuf,
        #[arg(long, default_value_t = DEFAULT_BAUD)]
        baud: u32,
        #[arg(long, default_value_t = 200)]
        timeout_ms: u64,
        /// The forwarder slot (0..=3).
        #[arg(long, default_value_t = 0)]
        slot: u32,
        /// The queue to forward; not needed with --status or --stop.
        #[arg(long)]
        queue: Option<u32>,
        /// Byte offset in on-chip memory of the queue's rings and buffers.
        #[arg(long, default_value_t = 0)]
        offset: u32,
        #[arg(long, default_value_t = 3)]
        ring_log2: u8,
        /// Receive buffers, at most one per descriptor.
        #[arg(long, default_value_t = 4)]
        buffers: u32,
        #[arg(long, default_value_t = 1536)]
        buffer_bytes: u32,
        /// Only print the slot's status.
        #[arg(long)]
        status: bool,
        /// Stop the slot, then print its status.
        #[arg(long)]
        stop: bool,
    },
    /// Build a board's bitstream: synthesis, place and route, the timing
    /// check, the bitstream; prints each clock's Fmax and the resources used,
    /// and on a pass records the sign-off in signoff/<BOARD>.json.
    Build {
        /// The board (versa-ecp5).
        #[arg(long)]
        board: String,
        /// Build directory [default: out/board/<BOARD>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// nextpnr's placement seed: the same seed gives the same result.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Map to LUTs with yosys's classic ABC instead of ABC9 (for when
        /// ABC9 fails on a design).
        #[arg(long)]
        no_abc9: bool,
        /// nextpnr's router.
        #[arg(long, value_enum, default_value_t = board::Router::Router1)]
        router: board::Router,
    },
    /// Check that the board's committed timing sign-off
    /// (signoff/<BOARD>.json) is for today's gateware, constraints, options
    /// and tools; if not, build the bitstream and record a new one, failing
    /// if a clock misses its frequency.
    Signoff {
        /// The board (versa-ecp5).
        #[arg(long)]
        board: String,
        /// Build directory [default: out/board/<BOARD>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Fail instead of building when the record is stale.
        #[arg(long, conflicts_with = "rebuild")]
        check_only: bool,
        /// Build even if the record is current, and check that the
        /// bitstream comes out byte for byte the same.
        #[arg(long)]
        rebuild: bool,
        /// Record the passing build already in DIR instead of building, if
        /// it is of today's gateware and flow.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["rebuild", "check_only"])]
        adopt: Option<PathBuf>,
    },
    /// Load a board's bitstream with openFPGALoader.
    Program {
        /// The board (versa-ecp5).
        #[arg(long)]
        board: String,
        /// The bitstream [default: out/board/<BOARD>/<BOARD>.bit].
        #[arg(long)]
        bitstream: Option<PathBuf>,
        /// Write the board's SPI flash, loaded at every power-up, instead of
        /// the FPGA's SRAM.
        #[arg(long)]
        flash: bool,
        /// Print the openFPGALoader command instead of running it.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// An application runs smoltcp on its own queue and swaps a file each
    /// way over TCP with Linux's own stack (in a network namespace this
    /// command makes, behind a TAP device), or with a second simulated NIC
    /// where namespaces are not allowed; both files are checked byte for byte.
    Tcp {
        /// Bytes of each file.
        #[arg(long, default_value_t = 1 << 20)]
        bytes: usize,
        #[arg(long, value_enum, default_value = "auto")]
        peer: PeerChoice,
        #[arg(long, value_enum, default_value = "rtl")]
        backend: DemoBackend,
        /// Frames the wire loses, per thousand, each way.
        #[arg(long, default_value_t = 0)]
        loss: u32,
        /// Frames the wire reorders, per thousand, each way.
        #[arg(long, default_value_t = 0)]
        reorder: u32,
        /// Cap the application's queue at this many Mb/s (its rate limiter).
        #[arg(long)]
        rate_mbps: Option<u64>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also write the summary as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

/// The device a command that only reads the control page talks to.
#[derive(clap::Args)]
struct DeviceArgs {
    #[arg(long, value_enum, default_value = "rtl")]
    backend: DeviceBackend,
    /// The board's serial port, for --backend uart (the FT2232's second
    /// channel, e.g. /dev/ttyUSB1).
    #[arg(long)]
    port: Option<PathBuf>,
    /// Baud rate of the board's UART bridge.
    #[arg(long, default_value_t = DEFAULT_BAUD)]
    baud: u32,
    /// How long a register access waits for the board's reply, in ms.
    #[arg(long, default_value_t = 200)]
    timeout_ms: u64,
    /// For --backend sysfs or vfio: a PCI address (0000:01:00.0), a device's sysfs
    /// folder, or an `arsenic sim-device` folder.
    #[arg(long)]
    device: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DeviceBackend {
    /// The generated Verilog, Verilated.
    Rtl,
    /// The behavioural model in plain Rust.
    Model,
    /// A board's control page over its serial line (no PCIe).
    Uart,
    /// A PCIe board through sysfs with no IOMMU, or an `arsenic sim-device`.
    Sysfs,
    /// A PCIe board bound to vfio-pci, DMA through the IOMMU.
    Vfio,
}

fn open_device(a: &DeviceArgs) -> Result<Box<dyn Device>> {
    if a.backend != DeviceBackend::Uart && a.port.is_some() {
        bail!("--port names a board's serial port; it needs --backend uart");
    }
    if !matches!(a.backend, DeviceBackend::Sysfs | DeviceBackend::Vfio) && a.device.is_some() {
        bail!("--device names a PCI device or a simulated device's folder; it needs --backend sysfs or vfio");
    }
    Ok(match a.backend {
        DeviceBackend::Rtl => Box::new(RtlDevice::new()),
        DeviceBackend::Model => Box::new(ModelDevice::default()),
        DeviceBackend::Uart => {
            let Some(port) = &a.port else {
                bail!("--backend uart needs --port, the board's serial port (e.g. /dev/ttyUSB1)");
            };
            Box::new(UartDevice::open(port, a.baud, Duration::from_millis(a.timeout_ms))?)
        }
        DeviceBackend::Sysfs => {
            let Some(device) = &a.device else {
                bail!("--backend sysfs needs --device: a PCI address (0000:01:00.0) or an `arsenic sim-device` folder");
            };
            Box::new(if device.is_dir() {
                SysfsDevice::open(device)?
            } else {
                SysfsDevice::open_pci(&device.to_string_lossy())?
            })
        }
        DeviceBackend::Vfio => {
            let Some(device) = &a.device else {
                bail!("--backend vfio needs --device, the board's PCI address (0000:01:00.0)");
            };
            Box::new(arsenic::device::vfio::open(&device.to_string_lossy())?)
        }
    })
}

fn parse_hex(s: &str) -> Result<u64, String> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|_| format!("'{s}' is not a hexadecimal address"))
}

fn parse_txq(s: &str) -> Result<(u32, PathBuf), String> {
    let (q, file) = s.split_once('=').ok_or_else(|| format!("expected N=FILE, got '{s}'"))?;
    let q = q.trim().parse::<u32>().map_err(|_| format!("'{q}' is not a queue number"))?;
    if file.is_empty() {
        return Err(format!("no capture after '{q}='"));
    }
    Ok((q, PathBuf::from(file)))
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("arsenic: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo { what: DemoCommand::Tcp { bytes, peer, backend, loss, reorder, rate_mbps, seed, json } } => {
            if bytes == 0 || bytes > 1 << 30 {
                bail!("--bytes must be 1..={} (1 GiB), got {bytes}", 1u64 << 30);
            }
            if loss >= 1000 || reorder >= 1000 {
                bail!("--loss and --reorder are per thousand frames: 0..=999");
            }
            let shaping = rate_mbps.map(stack::demo::cap).transpose()?;
            let impair = stack::link::Impairment { loss_per_mille: loss, reorder_per_mille: reorder, seed };
            let cfg = stack::demo::DemoConfig { bytes, impair, shaping, seed, ..Default::default() };
            stack::demo_show::run(&cfg, peer, backend, json.as_deref())?;
        }
        Command::Gen { out } => {
            let paths = arsenic_hdl::generate::write(&arsenic_hdl::NicParams::default(), &out)
                .map_err(anyhow::Error::msg)?;
            for path in paths {
                println!("wrote {}", path.display());
            }
        }
        Command::Sim { loopback, pcap, out, backend, frames, seed, trace, no_check, config, txq, echo, device } => {
            if trace.is_some() && backend != Backend::Rtl {
                bail!("--trace records the RTL's signals; it needs --backend rtl");
            }
            if device.is_some() && backend != Backend::SimDevice {
                bail!("--device names a running simulated device; it needs --backend sim-device");
            }
            // Read before the simulation starts, so a mistake costs nothing.
            let steering = config.as_deref().map(SteeringConfig::load).transpose()?;
            let input = match pcap {
                Some(path) => Input::Pcap(path),
                None => Input::Builtin { frames, seed },
            };
            let txq = sim_run::load_txq(&txq, arsenic_hdl::NicParams::default().queues)?;
            if echo && loopback {
                bail!("--echo answers from the queues; with --loopback no frame reaches one");
            }
            let opts = SimOptions { backend, loopback, input, trace, check_model: !no_check, steering, txq, echo, device };
            let report = sim_run::run(&opts)?;
            sim_run::write_outputs(&report, &out)?;
            print_report(&report, &out);
            if let Some(check) = &report.model_check {
                if !check.agrees {
                    bail!(
                        "the RTL and the model disagree: {}",
                        check.difference.as_deref().unwrap_or("?")
                    );
                }
            }
        }
        Command::SimDevice { dir, chunks, max_cycles, die_with_parent } => {
            if die_with_parent {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)?;
            }
            let stop = sim_device::stop_on_signals()?;
            let opts = sim_device::Options { dir, chunks, max_cycles };
            let summary = sim_device::run(&opts, stop, |d| {
                println!("simulated device at {} (process {}); stop with Ctrl-C", d.root().display(), std::process::id());
            })?;
            sim_device::print_summary(&summary);
        }
        Command::Ctl { device, socket } => {
            let dev = SysfsDevice::open(&device)?;
            let mut ctl = arsenic::ctl::server::Ctl::new(&dev)?;
            let _ = std::fs::remove_file(&socket);
            let listener = std::os::unix::net::UnixListener::bind(&socket)
                .map_err(|e| anyhow::anyhow!("listening at {}: {e}", socket.display()))?;
            println!("control process for {} at {}; stop with Ctrl-C", device.display(), socket.display());
            ctl.serve(&listener, sim_device::stop_on_signals()?, &mut |g| {
                // One line per grant, flushed: scripts and tests wait on it.
                println!("granted queue {} port {} ring 0x{:x} pool 0x{:x}", g.queue, g.port, g.ring_bus, g.pool_bus);
                let _ = std::io::Write::flush(&mut std::io::stdout());
            })?;
            println!("{} queues granted, {} requests refused", ctl.granted, ctl.refused);
        }
        Command::App { ctl, queue, port, send, to_port, recv, attack_bus, probe_dir, drop_privileges } => {
            use arsenic::ctl::{actions, app};
            let mut q = app::connect(&ctl, &arsenic::ctl::Request { queue, port })?;
            if drop_privileges && nix::unistd::geteuid().is_root() {
                let nobody = nix::unistd::Uid::from_raw(65534);
                nix::unistd::setgid(nix::unistd::Gid::from_raw(65534))?;
                nix::unistd::setuid(nobody)?;
            }
            let probes = probe_dir.map(|d| actions::probe(&d, queue + 1, &q.page_file)).unwrap_or_default();
            let rejected = attack_bus.map(|bus| actions::post_outside(&mut q, bus)).transpose()?;
            let sent = match (send, to_port) {
                (0, _) => 0,
                (n, Some(p)) => actions::send(&mut q, p, n)?,
                (_, None) => bail!("--send needs --to-port"),
            };
            let received = if recv > 0 { actions::receive(&mut q, recv)? } else { vec![] };
            let counters = q.pair.counters()?;
            let report = serde_json::json!({
                "queue": queue, "port": port, "pool_bus": q.grant.pool_bus,
                "uid": nix::unistd::geteuid().as_raw(),
                "sent": sent, "received": received, "attack_rejected": rejected,
                "probes": probes, "tx_sent": counters.tx_sent, "tx_rejected": counters.tx_rejected,
                "rx_delivered": counters.rx_delivered,
            });
            println!("{report}");
        }
        Command::Info { device } => {
            let dev = open_device(&device)?;
            let nic = Nic::open(dev.as_ref())?;
            println!("{}", serde_json::to_string_pretty(&nic.info)?);
        }
        Command::Counters { device } => {
            let dev = open_device(&device)?;
            let nic = Nic::open(dev.as_ref())?;
            println!("{}", serde_json::to_string_pretty(&nic.counters()?)?);
        }
        Command::Ports { port, baud, timeout_ms } => {
            let dev = UartDevice::open(&port, baud, Duration::from_millis(timeout_ms))?;
            println!("{}", serde_json::to_string_pretty(&arsenic::board_stats::read(&dev)?)?);
        }
        Command::Forward { port, baud, timeout_ms, slot, queue, offset, ring_log2, buffers, buffer_bytes, status, stop } => {
            use arsenic::board_forward::{self, ForwardSpec};
            let start = match (queue, status || stop) {
                (_, true) => None,
                (Some(queue), false) => {
                    let spec = ForwardSpec { slot, queue, offset, ring_log2, buffers, buffer_bytes };
                    spec.validate(arsenic_hdl::params::QUEUE_COUNT as u32)?;
                    Some(spec)
                }
                (None, false) => bail!("forward needs --queue (or --status or --stop)"),
            };
            board_forward::check_slot(slot)?;
            let dev = UartDevice::open(&port, baud, Duration::from_millis(timeout_ms))?;
            if stop {
                board_forward::stop(&dev, slot)?;
            }
            if let Some(spec) = start {
                let mut nic = Nic::open(&dev)?;
                board_forward::start(&mut nic, &dev, &spec)?;
            }
            println!("{}", serde_json::to_string_pretty(&board_forward::status(&dev, slot)?)?);
        }
        Command::Build { board: name, out, seed, no_abc9, router } => {
            let inputs = board::board_inputs(&name)?;
            let out = out.unwrap_or_else(|| board::default_out_dir(&name));
            let record = signoff::record_path(&name);
            signoff::build_and_record(&inputs, &out, &BuildOptions { seed, abc9: !no_abc9, router }, &record)?;
            println!("sign-off  {}", record.display());
        }
        Command::Signoff { board: name, out, check_only, rebuild, adopt } => {
            let inputs = board::board_inputs(&name)?;
            if let Some(dir) = adopt {
                let record = signoff::record_path(&name);
                println!("{}", signoff::summary(&signoff::adopt(&inputs, &dir, &record)?));
                println!("sign-off  {}", record.display());
                return Ok(());
            }
            let out = out.unwrap_or_else(|| board::default_out_dir(&name));
            let mode = if check_only {
                signoff::Mode::CheckOnly
            } else if rebuild {
                signoff::Mode::Rebuild
            } else {
                signoff::Mode::BuildIfStale
            };
            signoff::sign_off(&inputs, &out, &signoff::record_path(&name), mode)?;
        }
        Command::Program { board: name, bitstream, flash, dry_run } => {
            board::check_board(&name)?;
            let bitstream = bitstream.unwrap_or_else(|| board::default_bitstream(&name));
            board::program(&bitstream, flash, dry_run)?;
        }
    }
    Ok(())
}

fn print_report(r: &SimReport, out: &std::path::Path) {
    let d = &r.device;
    println!(
        "device   Arsenic NIC {} on the {} backend: {} queues, {} exact and {} wildcard filters, \
         {}-byte datapath at {} MHz, frames {}..={} bytes",
        d.version,
        d.backend,
        d.queues,
        d.exact_filters,
        d.wildcard_filters,
        d.datapath_bytes,
        d.clock_hz / 1_000_000,
        d.min_frame_bytes,
        d.max_frame_bytes
    );
    let i = &r.input;
    println!("input    {}: {} frames", i.source, i.records);
    if i.fcs_error_frames > 0 {
        println!("         {} sent with a bad FCS", i.fcs_error_frames);
    }
    if i.empty_records > 0 {
        println!("         {} empty records not sent (nothing to put on a wire)", i.empty_records);
    }
    if i.snapped_records > 0 {
        println!("         {} records were cut short by the capture's snap length; played as captured", i.snapped_records);
    }
    if let Some(damage) = &i.damage {
        eprintln!("warning: {}: {damage}; played the {} frames before it", i.source, i.records);
    }
    let s = &r.sim;
    println!(
        "run      {:.3} ms simulated ({} cycles) in {:.2} s ({:.2} M cycles/s)",
        s.simulated_ns as f64 / 1e6,
        s.cycles,
        s.wall_seconds,
        s.cycles_per_second / 1e6
    );
    println!("counters (read back through the register port)");
    for (name, value) in r.counters.iter() {
        println!("         {name:<20} {value:>12}");
    }
    if r.transmitted_frames > 0 {
        println!(
            "output   {} frames, {} bytes transmitted -> {}",
            r.transmitted_frames,
            r.transmitted_bytes,
            out.join("tx.pcap").display()
        );
    } else {
        println!("output   nothing transmitted ({} is empty)", out.join("tx.pcap").display());
    }
    if let Some(st) = &r.steering {
        println!("steering {}: {} filters, default queue {}", st.config, st.filters.len(), st.default_queue);
        for f in &st.filters {
            let spread = if f.spread > 0 { format!(" (spread over {})", 1u32 << f.spread) } else { String::new() };
            let hits = st.filter_hits.get(&f.id).copied().unwrap_or(0);
            println!("         filter {:<3} {:<44} -> queue {}{spread}: {hits} frames", f.id, f.filter, f.queue);
        }
        let reasons: Vec<String> = st.reasons.iter().map(|(name, n)| format!("{name} {n}")).collect();
        println!("         decisions: {}", reasons.join(", "));
        for (q, shaping) in &st.shaping {
            println!("         shaping queue {q:<3} {shaping}");
        }
    }
    if let Some(queues) = &r.queues {
        println!("queues   through the driver (rx_burst / tx_burst on each queue's own page)");
        for (q, s) in queues {
            let mut line = format!("         queue {q:<4} received {:>6}", s.received);
            if s.rx_dropped > 0 {
                line += &format!(", dropped {}", s.rx_dropped);
            }
            if s.posted > 0 {
                line += &format!(", sent {} of {} posted ({} rejected)", s.tx_sent, s.posted, s.tx_rejected);
            }
            if s.received > 0 {
                line += &format!(" -> {}", sim_run::queue_capture(out, *q).display());
            }
            println!("{line}");
        }
    }
    if r.sent_by.iter().any(|q| q.is_some()) {
        println!("         throughput per queue over time -> {}, {}", out.join("rates.csv").display(), out.join("rates.svg").display());
    }
    println!("         counters and run details -> {}", out.join("stats.json").display());
    match &r.model_check {
        Some(c) if c.agrees => println!("check    the RTL and the behavioural model agree on every frame and counter"),
        Some(c) => println!("check    MISMATCH: {}", c.difference.as_deref().unwrap_or("?")),
        None => {}
    }
}
