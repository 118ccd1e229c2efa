//! What the PCIe backends share and can check without a device: PCI
//! addresses, the NIC's identity in a configuration header, the command
//! register's bus-master bit, BAR0's extent, and a walk of sysfs that turns
//! "vfio open failed: ENOENT" into the one line saying what to fix.
//!
//! Everything here reads only the paths and bytes it is given, so tests run
//! it against fake sysfs trees.

use anyhow::{bail, Context, Result};
use arsenic_hdl::pci::{self, config};
use arsenic_hdl::regmap::PAGE_BYTES;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A PCI function's address as sysfs and `lspci -D` spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddress {
    /// Wider than 16 bits on hosts with VMD, whose domains start at 0x10000.
    pub domain: u32,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl FromStr for PciAddress {
    type Err = anyhow::Error;

    /// "0000:01:00.0", or "01:00.0" for domain 0 as plain `lspci` prints it.
    fn from_str(s: &str) -> Result<PciAddress> {
        let bad = || {
            anyhow::anyhow!(
                "'{s}' is not a PCI address: expected DDDD:BB:DD.F or BB:DD.F in hex, e.g. 0000:01:00.0 (see lspci -D)"
            )
        };
        let (rest, function) = s.rsplit_once('.').ok_or_else(bad)?;
        let parts: Vec<&str> = rest.split(':').collect();
        let (domain, bus, device) = match parts[..] {
            [d, b, dev] => (d, b, dev),
            [b, dev] => ("0", b, dev),
            _ => return Err(bad()),
        };
        let hex = |field: &str, max_digits: usize| -> Result<u32> {
            if field.is_empty() || field.len() > max_digits || !field.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad());
            }
            u32::from_str_radix(field, 16).map_err(|_| bad())
        };
        let address = PciAddress {
            domain: hex(domain, 8)?,
            bus: hex(bus, 2)? as u8,
            device: hex(device, 2)? as u8,
            function: hex(function, 1)? as u8,
        };
        if address.device > 31 || address.function > 7 {
            bail!(
                "'{s}' is not a PCI address: device is 00..1f and function 0..7 (found device {:#x}, function {})",
                address.device,
                address.function
            );
        }
        Ok(address)
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:02x}:{:02x}.{:x}", self.domain, self.bus, self.device, self.function)
    }
}

fn le16(config: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([config[at], config[at + 1]])
}

/// Checks that a configuration header is an Arsenic NIC's, before anything
/// maps its BARs: a mistyped address must not get someone else's device
/// poked at.
pub fn check_identity(header: &[u8]) -> Result<()> {
    if header.len() < config::HEADER_BYTES {
        bail!(
            "configuration header is {} bytes, expected at least {}: read it as root or from the device's sysfs config file",
            header.len(),
            config::HEADER_BYTES
        );
    }
    let (vendor, device) = (le16(header, config::VENDOR_ID), le16(header, config::DEVICE_ID));
    if (vendor, device) != (pci::VENDOR_ID, pci::DEVICE_ID) {
        bail!(
            "not an Arsenic NIC: vendor:device {vendor:04x}:{device:04x}, expected {:04x}:{:04x} (check the address with lspci -nn)",
            pci::VENDOR_ID,
            pci::DEVICE_ID
        );
    }
    let class = header[config::CLASS + 2];
    if class != pci::CLASS_NETWORK {
        bail!(
            "device {vendor:04x}:{device:04x} has base class {class:#04x}, expected {:#04x} (network): the board's PCIe shell presents the wrong header",
            pci::CLASS_NETWORK
        );
    }
    Ok(())
}

/// The command register with bus mastering on, so the NIC may start DMA,
/// and memory decoding, without which BAR0 answers nothing. Other bits are
/// left as they were.
pub fn with_bus_master(command: u16) -> u16 {
    command | config::COMMAND_BUS_MASTER | config::COMMAND_MEMORY
}

/// `IORESOURCE_MEM` in a sysfs `resource` line's flags: a memory BAR.
pub const IORESOURCE_MEM: u64 = 0x200;
/// `IORESOURCE_IO`: an I/O-port BAR, which cannot be mapped.
pub const IORESOURCE_IO: u64 = 0x100;

/// One line of a device's sysfs `resource` file: where the BAR sits in
/// host physical memory. An unassigned BAR reads as all zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarResource {
    pub start: u64,
    /// Inclusive, as the kernel prints it.
    pub end: u64,
    pub flags: u64,
}

impl BarResource {
    pub fn len(&self) -> u64 {
        if self.end == 0 && self.start == 0 {
            0
        } else {
            self.end - self.start + 1
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// BAR `bar`'s line of a sysfs `resource` file's text.
pub fn parse_resource(text: &str, bar: usize) -> Result<BarResource> {
    let line = text
        .lines()
        .nth(bar)
        .with_context(|| format!("the resource file has no line for BAR{bar}: is this a PCI device's directory?"))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .map(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16))
        .collect::<Result<_, _>>()
        .with_context(|| format!("BAR{bar}'s resource line '{line}' is not three hex numbers"))?;
    let [start, end, flags] = fields[..] else {
        bail!("BAR{bar}'s resource line '{line}' is not three hex numbers");
    };
    if end < start {
        bail!("BAR{bar}'s resource line '{line}' ends before it starts");
    }
    Ok(BarResource { start, end, flags })
}

/// Bytes BAR0 must span to hold the control page and `queues` queue pages.
pub fn bar_bytes_needed(queues: u32) -> u64 {
    (1 + queues as u64) * PAGE_BYTES as u64
}

/// Checks that BAR0 is a memory BAR holding the control page and `queues`
/// queue pages.
pub fn check_register_bar(bar: &BarResource, queues: u32) -> Result<()> {
    if bar.is_empty() {
        bail!("BAR0 is not assigned: the board's shell exposes no BAR0, or the kernel gave it no address (see dmesg)");
    }
    if bar.flags & IORESOURCE_MEM == 0 {
        bail!("BAR0 is not a memory BAR (flags {:#x}): the board's shell must expose the register pages as memory", bar.flags);
    }
    check_bar_len(bar.len(), queues)
}

/// Checks a BAR0 length against the control page plus `queues` pages.
pub fn check_bar_len(len: u64, queues: u32) -> Result<()> {
    let needed = bar_bytes_needed(queues);
    if len < needed {
        bail!(
            "BAR0 is {len} bytes, too small for the control page and {queues} queue pages ({needed} bytes): the gateware was built with fewer queues"
        );
    }
    Ok(())
}

/// Where the host's sysfs and device nodes are: "/sys" and "/dev" except
/// in tests, which lay out fake trees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRoots {
    pub sys: PathBuf,
    pub dev: PathBuf,
}

impl Default for HostRoots {
    fn default() -> Self {
        HostRoots { sys: PathBuf::from("/sys"), dev: PathBuf::from("/dev") }
    }
}

impl HostRoots {
    /// The device's sysfs directory.
    pub fn device_dir(&self, addr: &PciAddress) -> PathBuf {
        self.sys.join("bus/pci/devices").join(addr.to_string())
    }
}

/// The name a symlink points at (a driver's, a group's), if it exists.
fn link_name(path: &Path) -> Option<String> {
    let target = std::fs::read_link(path).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

/// The commands that hand `addr` to vfio-pci, as the user types them (always
/// under the real /sys, whatever tree was inspected). `bound` says whether
/// another driver must let go first.
pub fn vfio_bind_commands(addr: &PciAddress, bound: bool) -> String {
    let dev = format!("/sys/bus/pci/devices/{addr}");
    let unbind = if bound { format!("echo {addr} > {dev}/driver/unbind; ") } else { String::new() };
    format!("modprobe vfio-pci; {unbind}echo vfio-pci > {dev}/driver_override; echo {addr} > /sys/bus/pci/drivers_probe")
}

/// Checks that `addr` is present and is an Arsenic NIC, from its sysfs
/// config file (the first 64 bytes are readable without privilege); returns
/// its sysfs directory. What every PCIe backend runs first.
pub fn diagnose_present(addr: &PciAddress, roots: &HostRoots) -> Result<PathBuf> {
    let dir = roots.device_dir(addr);
    if !dir.exists() {
        bail!("no PCI device at {addr} (no {}): check the address with lspci -D -d {:04x}:", dir.display(), pci::VENDOR_ID);
    }
    let header = std::fs::read(dir.join("config")).with_context(|| format!("reading {addr}'s configuration header from sysfs"))?;
    check_identity(&header).map_err(|e| anyhow::anyhow!("{addr}: {e}"))?;
    Ok(dir)
}

/// Drivers that leave an IOMMU group usable by vfio: the kernel refuses the
/// group while any other driver holds one of its devices.
const VFIO_FRIENDLY: [&str; 3] = ["vfio-pci", "pci-stub", "pcieport"];

/// Everything that must hold before vfio can open `addr`, checked in the
/// order a user fixes them; returns the IOMMU group's number.
pub fn diagnose_vfio(addr: &PciAddress, roots: &HostRoots) -> Result<u32> {
    let dir = diagnose_present(addr, roots)?;
    let Some(group) = link_name(&dir.join("iommu_group")) else {
        bail!(
            "{addr} has no IOMMU group: enable the IOMMU (intel_iommu=on or amd_iommu=on on the kernel command line), or use the sysfs backend"
        );
    };
    let group_number: u32 =
        group.parse().with_context(|| format!("{addr}'s iommu_group link names '{group}', not a group number"))?;
    match link_name(&dir.join("driver")) {
        Some(driver) if driver == "vfio-pci" => {}
        Some(driver) => bail!("{addr} is bound to {driver}, not vfio-pci: {}", vfio_bind_commands(addr, true)),
        None => bail!("{addr} is bound to no driver, vfio needs vfio-pci: {}", vfio_bind_commands(addr, false)),
    }
    let members = dir.join("iommu_group/devices");
    if let Ok(entries) = std::fs::read_dir(&members) {
        let mut others: Vec<(String, String)> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| *name != addr.to_string())
            .filter_map(|name| {
                let driver = link_name(&roots.sys.join("bus/pci/devices").join(&name).join("driver"))?;
                (!VFIO_FRIENDLY.contains(&driver.as_str())).then_some((name, driver))
            })
            .collect();
        others.sort();
        if let Some((other, driver)) = others.first() {
            bail!(
                "IOMMU group {group_number} also holds {other}, bound to {driver}: bind it to vfio-pci too ({}) or move the board to a slot with a group of its own",
                vfio_bind_commands(&other.parse()?, true)
            );
        }
    }
    let node = roots.dev.join("vfio").join(group_number.to_string());
    if !node.exists() {
        bail!("{} does not exist: modprobe vfio-pci, and check that {addr} is bound to it", node.display());
    }
    if let Err(e) = std::fs::OpenOptions::new().read(true).write(true).open(&node) {
        bail!("{} cannot be opened read-write ({e}): run as root or chown $USER {}", node.display(), node.display());
    }
    Ok(group_number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const ADDR: &str = "0000:01:00.0";

    fn header(vendor: u16, device: u16, class: u8) -> Vec<u8> {
        let mut h = vec![0u8; config::HEADER_BYTES];
        h[0..2].copy_from_slice(&vendor.to_le_bytes());
        h[2..4].copy_from_slice(&device.to_le_bytes());
        h[config::CLASS + 2] = class;
        h
    }

    fn arsenic_header() -> Vec<u8> {
        header(pci::VENDOR_ID, pci::DEVICE_ID, pci::CLASS_NETWORK)
    }

    #[test]
    fn addresses_parse_in_both_forms_and_print_in_the_long_one() {
        let a: PciAddress = ADDR.parse().unwrap();
        assert_eq!(a, PciAddress { domain: 0, bus: 1, device: 0, function: 0 });
        assert_eq!(a.to_string(), ADDR);
        let short: PciAddress = "3b:1f.7".parse().unwrap();
        assert_eq!(short, PciAddress { domain: 0, bus: 0x3b, device: 0x1f, function: 7 });
        assert_eq!(short.to_string(), "0000:3b:1f.7");
        let vmd: PciAddress = "10000:e1:00.1".parse().unwrap();
        assert_eq!(vmd.to_string(), "10000:e1:00.1");
    }

    #[test]
    fn malformed_addresses_are_refused_with_the_expected_form() {
        for bad in ["", "01:00", "0000:01:00:0", "0000:01:00.", "0000:01:00.8", "0000:01:20.0", "0000:1g:00.0", "0000:001:00.0", "a:b:c:d.0"] {
            let e = bad.parse::<PciAddress>().unwrap_err().to_string();
            assert!(e.contains("is not a PCI address"), "{bad}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let e = "0000:01:00".parse::<PciAddress>().unwrap_err().to_string();
        assert!(e.contains("DDDD:BB:DD.F"), "{e}");
    }

    #[test]
    fn identity_accepts_the_nic_and_names_each_mismatch() {
        check_identity(&arsenic_header()).unwrap();
        let e = check_identity(&header(0x8086, 0x1533, 0x02)).unwrap_err().to_string();
        assert!(e.contains("8086:1533") && e.contains("1234:4153"), "{e}");
        let e = check_identity(&header(pci::VENDOR_ID, 0x1111, 0x02)).unwrap_err().to_string();
        assert!(e.contains("1234:1111") && e.contains("expected 1234:4153"), "{e}");
        let e = check_identity(&header(pci::VENDOR_ID, pci::DEVICE_ID, 0x03)).unwrap_err().to_string();
        assert!(e.contains("base class 0x03") && e.contains("expected 0x02"), "{e}");
        let e = check_identity(&arsenic_header()[..12]).unwrap_err().to_string();
        assert!(e.contains("12 bytes") && e.contains("at least 64"), "{e}");
    }

    #[test]
    fn bus_mastering_sets_its_bit_and_memory_decoding_and_keeps_the_rest() {
        assert_eq!(with_bus_master(0), config::COMMAND_BUS_MASTER | config::COMMAND_MEMORY);
        assert_eq!(with_bus_master(0x0400), 0x0406);
        assert_eq!(with_bus_master(0x0006), 0x0006);
    }

    #[test]
    fn resource_lines_give_bar0_and_its_size() {
        let text = "0x00000000fe000000 0x00000000fe00ffff 0x0000000000040200\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
        let bar = parse_resource(text, 0).unwrap();
        assert_eq!(bar, BarResource { start: 0xfe00_0000, end: 0xfe00_ffff, flags: 0x40200 });
        assert_eq!(bar.len(), 64 * 1024);
        check_register_bar(&bar, 15).unwrap();
        let e = check_register_bar(&bar, 16).unwrap_err().to_string();
        assert!(e.contains("65536 bytes") && e.contains("16 queue pages (69632 bytes)"), "{e}");
        let empty = parse_resource(text, 1).unwrap();
        assert!(empty.is_empty());
        assert!(check_register_bar(&empty, 1).unwrap_err().to_string().contains("not assigned"));
        let io = BarResource { start: 0xe000, end: 0xe01f, flags: IORESOURCE_IO };
        assert!(check_register_bar(&io, 0).unwrap_err().to_string().contains("not a memory BAR"));
        assert!(parse_resource(text, 2).unwrap_err().to_string().contains("no line for BAR2"));
        assert!(parse_resource("0x1 zz 0x2\n", 0).unwrap_err().to_string().contains("not three hex numbers"));
        assert!(parse_resource("0x10 0x1 0x200\n", 0).unwrap_err().to_string().contains("ends before"));
    }

    /// A fake /sys and /dev under a temporary directory.
    struct FakeHost {
        _dir: tempfile::TempDir,
        roots: HostRoots,
    }

    impl FakeHost {
        fn new() -> FakeHost {
            let dir = tempfile::tempdir().unwrap();
            let roots = HostRoots { sys: dir.path().join("sys"), dev: dir.path().join("dev") };
            std::fs::create_dir_all(roots.sys.join("bus/pci/devices")).unwrap();
            std::fs::create_dir_all(roots.sys.join("kernel/iommu_groups")).unwrap();
            std::fs::create_dir_all(roots.sys.join("bus/pci/drivers")).unwrap();
            std::fs::create_dir_all(roots.dev.join("vfio")).unwrap();
            FakeHost { _dir: dir, roots }
        }

        fn add_device(&self, addr: &str, header: &[u8]) -> PathBuf {
            let dir = self.roots.sys.join("bus/pci/devices").join(addr);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("config"), header).unwrap();
            dir
        }

        fn join_group(&self, addr: &str, group: u32) {
            let group_dir = self.roots.sys.join("kernel/iommu_groups").join(group.to_string());
            std::fs::create_dir_all(group_dir.join("devices")).unwrap();
            let dev = self.roots.sys.join("bus/pci/devices").join(addr);
            symlink(&group_dir, dev.join("iommu_group")).unwrap();
            symlink(&dev, group_dir.join("devices").join(addr)).unwrap();
        }

        fn bind(&self, addr: &str, driver: &str) {
            let driver_dir = self.roots.sys.join("bus/pci/drivers").join(driver);
            std::fs::create_dir_all(&driver_dir).unwrap();
            symlink(&driver_dir, self.roots.sys.join("bus/pci/devices").join(addr).join("driver")).unwrap();
        }

        /// A device ready for vfio: present, in group 7, bound, node there.
        fn ready() -> FakeHost {
            let host = FakeHost::new();
            host.add_device(ADDR, &arsenic_header());
            host.join_group(ADDR, 7);
            host.bind(ADDR, "vfio-pci");
            std::fs::write(host.roots.dev.join("vfio/7"), b"").unwrap();
            host
        }

        fn diagnose(&self) -> String {
            diagnose_vfio(&ADDR.parse().unwrap(), &self.roots).unwrap_err().to_string()
        }
    }

    fn one_line(e: &str) {
        assert!(!e.contains('\n'), "not one line: {e}");
    }

    #[test]
    fn a_device_ready_for_vfio_passes_and_gives_its_group() {
        let host = FakeHost::ready();
        assert_eq!(diagnose_vfio(&ADDR.parse().unwrap(), &host.roots).unwrap(), 7);
    }

    #[test]
    fn diagnosis_says_when_the_device_is_absent() {
        let host = FakeHost::new();
        let e = host.diagnose();
        assert!(e.starts_with("no PCI device at 0000:01:00.0") && e.contains("lspci -D"), "{e}");
        one_line(&e);
    }

    #[test]
    fn diagnosis_refuses_someone_elses_device_before_suggesting_an_unbind() {
        let host = FakeHost::new();
        host.add_device(ADDR, &header(0x8086, 0x1533, 0x02));
        host.bind(ADDR, "igb");
        let e = host.diagnose();
        assert!(e.contains("not an Arsenic NIC") && e.contains("8086:1533"), "{e}");
        assert!(!e.contains("unbind"), "{e}");
    }

    #[test]
    fn diagnosis_says_to_enable_the_iommu_when_there_is_no_group() {
        let host = FakeHost::new();
        host.add_device(ADDR, &arsenic_header());
        let e = host.diagnose();
        assert!(e.contains("no IOMMU group"), "{e}");
        assert!(e.contains("intel_iommu=on") && e.contains("amd_iommu=on") && e.contains("sysfs backend"), "{e}");
        one_line(&e);
    }

    #[test]
    fn diagnosis_gives_the_exact_rebind_commands_for_another_driver() {
        let host = FakeHost::new();
        host.add_device(ADDR, &arsenic_header());
        host.join_group(ADDR, 7);
        host.bind(ADDR, "arsenic_kmod");
        let e = host.diagnose();
        assert_eq!(
            e,
            "0000:01:00.0 is bound to arsenic_kmod, not vfio-pci: modprobe vfio-pci; \
             echo 0000:01:00.0 > /sys/bus/pci/devices/0000:01:00.0/driver/unbind; \
             echo vfio-pci > /sys/bus/pci/devices/0000:01:00.0/driver_override; \
             echo 0000:01:00.0 > /sys/bus/pci/drivers_probe"
        );
    }

    #[test]
    fn diagnosis_gives_the_bind_commands_for_an_unbound_device() {
        let host = FakeHost::new();
        host.add_device(ADDR, &arsenic_header());
        host.join_group(ADDR, 7);
        let e = host.diagnose();
        assert!(e.contains("bound to no driver") && !e.contains("unbind"), "{e}");
        assert!(e.contains("echo vfio-pci > /sys/bus/pci/devices/0000:01:00.0/driver_override"), "{e}");
        assert!(e.contains("echo 0000:01:00.0 > /sys/bus/pci/drivers_probe"), "{e}");
    }

    #[test]
    fn diagnosis_names_a_group_mate_held_by_another_driver() {
        let host = FakeHost::ready();
        host.add_device("0000:01:00.1", &header(0x10ee, 0x0001, 0x04));
        host.join_group("0000:01:00.1", 7);
        host.bind("0000:01:00.1", "snd_hda_intel");
        let e = host.diagnose();
        assert!(e.contains("IOMMU group 7 also holds 0000:01:00.1, bound to snd_hda_intel"), "{e}");
        assert!(e.contains("echo 0000:01:00.1 > /sys/bus/pci/devices/0000:01:00.1/driver/unbind"), "{e}");
        one_line(&e);
        // A bridge under pcieport does not stop vfio.
        let host = FakeHost::ready();
        host.add_device("0000:00:01.0", &header(0x8086, 0x1901, 0x06));
        host.join_group("0000:00:01.0", 7);
        host.bind("0000:00:01.0", "pcieport");
        assert_eq!(diagnose_vfio(&ADDR.parse().unwrap(), &host.roots).unwrap(), 7);
    }

    #[test]
    fn diagnosis_says_to_load_vfio_pci_when_the_group_node_is_missing() {
        let host = FakeHost::ready();
        std::fs::remove_file(host.roots.dev.join("vfio/7")).unwrap();
        let e = host.diagnose();
        assert!(e.ends_with("vfio/7 does not exist: modprobe vfio-pci, and check that 0000:01:00.0 is bound to it"), "{e}");
    }

    #[test]
    fn diagnosis_says_to_run_as_root_when_the_group_node_cannot_be_opened() {
        // Root opens any file whatever its mode, so a directory stands in
        // for a node this process may not open.
        let host = FakeHost::ready();
        std::fs::remove_file(host.roots.dev.join("vfio/7")).unwrap();
        std::fs::create_dir(host.roots.dev.join("vfio/7")).unwrap();
        let e = host.diagnose();
        assert!(e.contains("vfio/7 cannot be opened read-write") && e.contains("run as root or chown $USER"), "{e}");
        one_line(&e);
    }
}
