//! How the NIC identifies itself on PCIe: what a PCIe shell puts in its
//! configuration header and what the host driver checks before it maps
//! anything. The simulated device (`arsenic sim-device`) presents the same
//! header, so the driver's checks run there too.

/// 0x1234 is the vendor ID open-hardware NICs use while they have none of
/// their own (Corundum does); a board shipped to others needs a real one.
pub const VENDOR_ID: u16 = 0x1234;
/// "AS", for Arsenic.
pub const DEVICE_ID: u16 = 0x4153;
/// Base class 0x02 (network controller), subclass 0x00 (Ethernet),
/// programming interface 0x00: the 24-bit class code as sysfs prints it.
pub const CLASS_CODE: u32 = 0x02_00_00;
/// The base class alone, which is what the driver insists on.
pub const CLASS_NETWORK: u8 = 0x02;
/// BAR0 holds the register pages: the control page, then one per queue.
pub const REGISTER_BAR: u8 = 0;
/// Revision of the configuration header's layout the shell presents.
pub const REVISION: u8 = 0x01;

/// Byte offsets in the standard configuration header (PCI Local Bus 3.0,
/// type 0), for the few fields the driver reads or writes.
pub mod config {
    pub const VENDOR_ID: usize = 0x00;
    pub const DEVICE_ID: usize = 0x02;
    pub const COMMAND: usize = 0x04;
    pub const REVISION: usize = 0x08;
    /// Programming interface, subclass, base class at 0x09, 0x0A, 0x0B.
    pub const CLASS: usize = 0x09;
    pub const BAR0: usize = 0x10;
    /// Command register bits.
    pub const COMMAND_MEMORY: u16 = 1 << 1;
    pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
    /// The header a type 0 function must implement.
    pub const HEADER_BYTES: usize = 64;
}
