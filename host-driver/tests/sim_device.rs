//! `arsenic sim-device`: the Verilated NIC in its own process, reached
//! only through its sysfs-shaped folder. The sysfs backend drives it with
//! loads and stores into mapped pages and DMA into shared memory, and
//! everything it does is checked against the behavioural model.

use arsenic::config::SteeringConfig;
use arsenic::control::Nic;
use arsenic::device::sim_dir::SimDir;
use arsenic::device::sysfs::SysfsDevice;
use arsenic::device::{Device, Page};
use arsenic::sim_device::spawn::SpawnedDevice;
use arsenic::sim_run::{self, Backend, Input, SimOptions};
use arsenic_hdl::pci;
use arsenic_hdl::regmap;
use std::path::Path;

fn demo_config() -> SteeringConfig {
    SteeringConfig::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/demo.toml")).unwrap()
}

#[test]
fn the_whole_path_through_mapped_pages_agrees_with_the_model() {
    let dev = SpawnedDevice::start(160).unwrap();
    let opts = SimOptions {
        backend: Backend::SimDevice,
        loopback: false,
        input: Input::Builtin { frames: 1500, seed: 7 },
        trace: None,
        check_model: true,
        steering: Some(demo_config()),
        txq: vec![],
        // Every queue sends back what it receives: transmit through the
        // mapped pages too.
        echo: true,
        device: Some(dev.dir().to_path_buf()),
    };
    let report = sim_run::run(&opts).unwrap();
    let check = report.model_check.as_ref().unwrap();
    assert!(check.agrees, "{:?}", check.difference);
    assert_eq!(report.device.backend, "sim-device");
    let queues_used = report.delivered.iter().filter(|(_, v)| !v.is_empty()).count();
    assert!(queues_used >= 6, "traffic reached only {queues_used} queues");
    assert!(report.transmitted_frames > 300, "{} frames echoed", report.transmitted_frames);
    assert!(report.counters.get("demux_exact_hit").unwrap() > 0);
}

#[test]
fn the_folder_is_shaped_like_sysfs_and_opening_it_turns_bus_mastering_on() {
    let dev = SpawnedDevice::start(4).unwrap();
    let dir = SimDir::new(dev.dir());
    let read = |name: &str| std::fs::read_to_string(dev.dir().join(name)).unwrap();
    assert_eq!(read("vendor").trim(), format!("0x{:04x}", pci::VENDOR_ID));
    assert_eq!(read("device").trim(), format!("0x{:04x}", pci::DEVICE_ID));
    assert_eq!(read("class").trim(), "0x020000");
    let config = std::fs::read(dir.config()).unwrap();
    let command = |c: &[u8]| u16::from_le_bytes([c[pci::config::COMMAND], c[pci::config::COMMAND + 1]]);
    assert_eq!(command(&config) & pci::config::COMMAND_BUS_MASTER, 0, "bus mastering starts off");

    let sysfs = SysfsDevice::open(dev.dir()).unwrap();
    assert!(sysfs.is_simulated());
    let config = std::fs::read(dir.config()).unwrap();
    assert_ne!(command(&config) & pci::config::COMMAND_BUS_MASTER, 0);
    let nic = Nic::open(&sysfs).unwrap();
    assert_eq!(nic.info.queues, arsenic_hdl::NicParams::default().queues);
    // A store lands: the scratch register reads back once the simulator
    // has scanned the page, and the NIC's own registers answer it.
    let control = sysfs.map_page(Page::Control).unwrap();
    control.write32(regmap::SCRATCH, 0x5EED_CAFE).unwrap();
    sysfs.waiter().advance(1000).unwrap();
    assert_eq!(control.read32(regmap::SCRATCH).unwrap(), 0x5EED_CAFE);
    // A page past BAR0 is refused rather than mapped.
    let past = (1u32 << arsenic_hdl::params::REG_ADDR_BITS) / regmap::PAGE_BYTES;
    let e = sysfs.map_page(Page::Queue(past)).err().unwrap().to_string();
    assert!(e.contains("outside"), "{e}");
}

#[test]
fn a_stopped_device_and_a_stranger_are_refused_in_one_line() {
    let dev = SpawnedDevice::start(4).unwrap();
    let dir = dev.dir().to_path_buf();
    let sysfs = SysfsDevice::open(&dir).unwrap();
    let waiter = sysfs.waiter();
    drop(dev);
    let e = format!("{:#}", waiter.advance(1_000_000).unwrap_err());
    assert!(e.contains("has stopped") || e.contains("opening"), "{e}");

    // A folder whose configuration header names another device.
    let stranger = std::env::temp_dir().join(format!("arsenic-stranger-{}", std::process::id()));
    std::fs::create_dir_all(&stranger).unwrap();
    let mut header = vec![0u8; 256];
    header[0..4].copy_from_slice(&[0x86, 0x80, 0x3c, 0x15]);
    std::fs::write(stranger.join("config"), &header).unwrap();
    let e = format!("{:#}", SysfsDevice::open(&stranger).err().unwrap());
    std::fs::remove_dir_all(&stranger).unwrap();
    assert!(e.contains("8086") && !e.contains('\n'), "{e}");
}
