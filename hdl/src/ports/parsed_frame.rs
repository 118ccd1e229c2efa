//! What the header parser reports for a frame, carried as one value from
//! the parser to the lookup sequencer and held there while it waits and
//! while it is looked up.

use rust_hdl::prelude::*;

#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
pub struct ParsedFrame {
    /// 0 if the frame parsed cleanly; otherwise a `filter::Reason` code.
    pub reason: Bits<4>,
    pub dst_mac: Bits<48>,
    pub vlan_valid: bool,
    /// The first VLAN tag's ID.
    pub vlan: Bits<12>,
    pub is_ip: bool,
    pub is_v6: bool,
    pub proto: Bits<8>,
    /// Addresses as big-endian numbers; IPv4 in the low 32 bits.
    pub src: Bits<128>,
    pub dst: Bits<128>,
    pub has_ports: bool,
    pub sport: Bits<16>,
    pub dport: Bits<16>,
    pub rss: Bits<32>,
}
