//! TCP over an application's own queue of the RTL NIC: 1 MiB each way
//! with Linux's stack (or a second simulated NIC where the machine allows
//! no namespace), goodput over simulated time on the 1 Gb/s wire.

use anyhow::Result;
use arsenic::device::rtl::RtlDevice;
use arsenic::netpeer::linux_peer::LinuxPeer;
use arsenic::stack::demo::{self, DemoConfig, DemoReport};

pub fn transfer() -> Result<DemoReport> {
    let cfg = DemoConfig::default();
    let r = match LinuxPeer::probe() {
        Ok(()) => demo::linux(RtlDevice::new(), &cfg, &mut |_, _| {})?,
        Err(why) => {
            eprintln!("tcp: no Linux peer ({why}); measuring against a second simulated NIC");
            demo::two_nics(RtlDevice::new(), RtlDevice::new(), &cfg, &mut |_, _| {})?
        }
    };
    Ok(r)
}
