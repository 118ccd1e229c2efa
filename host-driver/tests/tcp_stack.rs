//! TCP over applications' own queues between two simulated NICs.

use arsenic::device::model::ModelDevice;
use arsenic::device::rtl::RtlDevice;
use arsenic::stack::demo::{two_nics, DemoConfig};

#[test]
fn a_file_crosses_both_ways_between_two_model_nics() {
    let cfg = DemoConfig { bytes: 64 * 1024, ..Default::default() };
    let r = two_nics(ModelDevice::default(), ModelDevice::default(), &cfg, &mut |_, _| {}).unwrap();
    println!("{r:#?}");
    assert_eq!(r.to_peer.bytes, 64 * 1024);
    assert_eq!(r.from_peer.bytes, 64 * 1024);
}

#[test]
fn a_file_crosses_both_ways_between_two_rtl_nics() {
    let cfg = DemoConfig { bytes: 1 << 20, ..Default::default() };
    let r = two_nics(RtlDevice::new(), RtlDevice::new(), &cfg, &mut |_, _| {}).unwrap();
    println!("{r:#?}");
    assert_eq!(r.to_peer.bytes, 1 << 20);
}
