//! Filters as a user states them, checked, and turned into the table keys
//! the hardware looks up. Keys are built by describing the traffic a filter
//! matches as a `Flow` and asking `filter::lookup_key` for its key, so the
//! key layout has one definition, shared with the lookups themselves.

use anyhow::{bail, Result};
use arsenic_hdl::filter::{lookup_key, Action, FilterKind, Flow, IpFlow, Key, Table};
use std::fmt;
use std::net::IpAddr;

pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
/// The widest spread the Action encoding holds: 2^7 queues.
pub const MAX_SPREAD: u8 = 7;

/// Traffic to steer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// One TCP or UDP flow, both ends given (the exact table).
    Exact5 { proto: u8, src: IpAddr, sport: u16, dst: IpAddr, dport: u16 },
    /// Traffic of a protocol to an address, a port, both, or neither (the
    /// wildcard table). Without an address it matches IPv4 and IPv6 alike,
    /// which takes one table entry for each.
    Listen { proto: u8, dst: Option<IpAddr>, dport: Option<u16> },
    /// Frames to a MAC address, on one VLAN or on any (the wildcard table).
    Mac { mac: [u8; 6], vlan: Option<u16> },
}

/// Where a filter's traffic goes: queues `queue .. queue + 2^spread`, the
/// frame's RSS hash choosing among them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub queue: u32,
    pub spread: u8,
}

impl Target {
    pub fn queue(queue: u32) -> Target {
        Target { queue, spread: 0 }
    }

    /// Checks the target against a device with `queues` queues.
    pub fn validate(&self, queues: u32) -> Result<()> {
        if self.queue >= queues {
            bail!("queue {} does not exist: the device has queues 0..={}", self.queue, queues.saturating_sub(1));
        }
        if self.spread > MAX_SPREAD {
            bail!("spread {} is too wide: at most {MAX_SPREAD} (2^{MAX_SPREAD} queues)", self.spread);
        }
        // A group wider than the device would wrap onto itself and weigh
        // some queues twice.
        if 1u64 << self.spread > queues as u64 {
            bail!(
                "spread {} makes a group of {} queues, more than the device's {queues}",
                self.spread,
                1u64 << self.spread
            );
        }
        Ok(())
    }

    /// The table value for this target, reporting `filter_id` on a hit.
    pub fn action(&self, filter_id: u16) -> Action {
        Action { queue: self.queue as u16, spread: self.spread, filter_id }
    }
}

fn is_v6(addr: &IpAddr) -> bool {
    matches!(addr, IpAddr::V6(_))
}

/// An address as a flow holds it: IPv4 in the low 32 bits.
fn addr_bits(addr: &IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u32::from(*a) as u128,
        IpAddr::V6(a) => u128::from(*a),
    }
}

fn has_ports(proto: u8) -> bool {
    proto == PROTO_TCP || proto == PROTO_UDP
}

pub fn proto_name(proto: u8) -> String {
    match proto {
        PROTO_TCP => "tcp".into(),
        PROTO_UDP => "udp".into(),
        p => format!("proto {p}"),
    }
}

impl Filter {
    /// The lookup that finds this filter.
    pub fn kind(&self) -> FilterKind {
        match self {
            Filter::Exact5 { .. } => FilterKind::Exact5,
            Filter::Listen { dst: Some(_), dport: Some(_), .. } => FilterKind::ListenAddrPort,
            Filter::Listen { dst: None, dport: Some(_), .. } => FilterKind::ListenPort,
            Filter::Listen { dst: Some(_), dport: None, .. } => FilterKind::ListenAddr,
            Filter::Listen { dst: None, dport: None, .. } => FilterKind::Proto,
            Filter::Mac { vlan: Some(_), .. } => FilterKind::MacVlan,
            Filter::Mac { vlan: None, .. } => FilterKind::Mac,
        }
    }

    pub fn table(&self) -> Table {
        self.kind().table()
    }

    /// Checks that the filter can match anything and fits the key.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Filter::Exact5 { proto, src, dst, .. } => {
                if !has_ports(proto) {
                    bail!("an exact filter needs tcp or udp (it matches ports), not {}", proto_name(proto));
                }
                if is_v6(&src) != is_v6(&dst) {
                    bail!("an exact filter's addresses must both be IPv4 or both IPv6, not {src} and {dst}");
                }
            }
            Filter::Listen { proto, dport: Some(port), .. } if !has_ports(proto) => {
                bail!("port {port} given for {}: only tcp and udp have ports", proto_name(proto));
            }
            Filter::Listen { .. } => {}
            Filter::Mac { vlan: Some(vlan), .. } if vlan > 0xFFF => {
                bail!("VLAN {vlan} does not exist: VLAN IDs are 0..=4095");
            }
            Filter::Mac { .. } => {}
        }
        Ok(())
    }

    /// The table keys that make up this filter: one, or one for each IP
    /// version for an address-less listen filter.
    pub fn keys(&self) -> Result<Vec<Key>> {
        self.validate()?;
        let kind = self.kind();
        let flows: Vec<Flow> = match *self {
            Filter::Exact5 { proto, src, sport, dst, dport } => {
                let ip = IpFlow {
                    v6: is_v6(&dst),
                    proto,
                    src: addr_bits(&src),
                    dst: addr_bits(&dst),
                    ports: Some((sport, dport)),
                };
                vec![Flow { ip: Some(ip), ..Flow::default() }]
            }
            Filter::Listen { proto, dst, dport } => {
                // The fields the lookup ignores (source, source port) stay 0.
                let families = match dst {
                    Some(addr) => vec![is_v6(&addr)],
                    None => vec![false, true],
                };
                families
                    .into_iter()
                    .map(|v6| {
                        let ip = IpFlow {
                            v6,
                            proto,
                            src: 0,
                            dst: dst.as_ref().map_or(0, addr_bits),
                            ports: dport.map(|p| (0, p)),
                        };
                        Flow { ip: Some(ip), ..Flow::default() }
                    })
                    .collect()
            }
            Filter::Mac { mac, vlan } => vec![Flow { dst_mac: mac, vlan, ip: None }],
        };
        flows
            .iter()
            .map(|flow| {
                lookup_key(kind, flow)
                    .ok_or_else(|| anyhow::anyhow!("no {kind:?} key for {self} (a bug: validate let it through)"))
            })
            .collect()
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let sock = |addr: &IpAddr, port: Option<u16>| {
            let port = port.map_or("*".to_string(), |p| p.to_string());
            match addr {
                IpAddr::V4(a) => format!("{a}:{port}"),
                IpAddr::V6(a) => format!("[{a}]:{port}"),
            }
        };
        match self {
            Filter::Exact5 { proto, src, sport, dst, dport } => {
                write!(f, "exact {} {} -> {}", proto_name(*proto), sock(src, Some(*sport)), sock(dst, Some(*dport)))
            }
            Filter::Listen { proto, dst, dport } => {
                let to = match dst {
                    Some(addr) if has_ports(*proto) => sock(addr, *dport),
                    Some(addr) => addr.to_string(),
                    None if has_ports(*proto) => format!("*:{}", dport.map_or("*".to_string(), |p| p.to_string())),
                    None => "*".to_string(),
                };
                write!(f, "listen {} {to}", proto_name(*proto))
            }
            Filter::Mac { mac, vlan } => {
                write!(f, "mac {}", format_mac(mac))?;
                match vlan {
                    Some(v) => write!(f, " vlan {v}"),
                    None => Ok(()),
                }
            }
        }
    }
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demux::parse::parse;
    use arsenic_hdl::filter::{KIND_LSB, PROTO_LSB};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A UDP or TCP frame from `src:sport` to `dst:dport`, IPv4 or IPv6 by
    /// the addresses, with an optional VLAN tag.
    fn frame(proto: u8, src: IpAddr, sport: u16, dst: IpAddr, dport: u16, vlan: Option<u16>) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02];
        if let Some(v) = vlan {
            f.extend_from_slice(&[0x81, 0x00]);
            f.extend_from_slice(&v.to_be_bytes());
        }
        let mut l4 = vec![0u8; if proto == PROTO_TCP { 20 } else { 8 }];
        l4[..2].copy_from_slice(&sport.to_be_bytes());
        l4[2..4].copy_from_slice(&dport.to_be_bytes());
        if proto == PROTO_TCP {
            l4[12] = 0x50;
        }
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
                f.extend_from_slice(&(20 + l4.len() as u16).to_be_bytes());
                f.extend_from_slice(&[0, 0, 0, 0, 64, proto, 0, 0]);
                f.extend_from_slice(&s.octets());
                f.extend_from_slice(&d.octets());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                f.extend_from_slice(&[0x86, 0xDD, 0x60, 0, 0, 0]);
                f.extend_from_slice(&(l4.len() as u16).to_be_bytes());
                f.extend_from_slice(&[proto, 64]);
                f.extend_from_slice(&s.octets());
                f.extend_from_slice(&d.octets());
            }
            _ => unreachable!("mixed families"),
        }
        f.extend_from_slice(&l4);
        f
    }

    /// The key a frame is looked up with for `kind`.
    fn frame_key(kind: FilterKind, f: &[u8]) -> Option<Key> {
        lookup_key(kind, &parse(f).unwrap())
    }

    #[test]
    fn filter_keys_are_the_keys_matching_frames_are_looked_up_with() {
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        let (a6, b6) = (ip("2001:db8::1"), ip("2001:db8::2"));
        let tcp4 = frame(PROTO_TCP, a, 5000, b, 80, None);
        let udp6 = frame(PROTO_UDP, a6, 5000, b6, 53, Some(10));
        let cases = [
            (Filter::Exact5 { proto: PROTO_TCP, src: a, sport: 5000, dst: b, dport: 80 }, &tcp4),
            (Filter::Listen { proto: PROTO_TCP, dst: Some(b), dport: Some(80) }, &tcp4),
            (Filter::Listen { proto: PROTO_TCP, dst: Some(b), dport: None }, &tcp4),
            (Filter::Listen { proto: PROTO_UDP, dst: Some(b6), dport: Some(53) }, &udp6),
            (Filter::Mac { mac: [2, 0, 0, 0, 0, 1], vlan: Some(10) }, &udp6),
            (Filter::Mac { mac: [2, 0, 0, 0, 0, 1], vlan: None }, &tcp4),
        ];
        for (filter, f) in cases {
            assert_eq!(filter.keys().unwrap(), vec![frame_key(filter.kind(), f).unwrap()], "{filter}");
        }
        // Without an address: one key per IP version, each matching frames
        // of that version only.
        let listen = Filter::Listen { proto: PROTO_UDP, dst: None, dport: Some(53) };
        let udp4 = frame(PROTO_UDP, a, 1, b, 53, None);
        let keys = listen.keys().unwrap();
        assert_eq!(
            keys,
            vec![frame_key(FilterKind::ListenPort, &udp4).unwrap(), frame_key(FilterKind::ListenPort, &udp6).unwrap()]
        );
        let proto = Filter::Listen { proto: PROTO_TCP, dst: None, dport: None };
        assert_eq!(proto.kind(), FilterKind::Proto);
        assert_eq!(proto.keys().unwrap()[0], frame_key(FilterKind::Proto, &tcp4).unwrap());
    }

    #[test]
    fn a_filter_does_not_match_other_flows() {
        let exact =
            Filter::Exact5 { proto: PROTO_TCP, src: ip("10.0.0.1"), sport: 5000, dst: ip("10.0.0.2"), dport: 80 };
        let key = exact.keys().unwrap()[0];
        let other_port = frame(PROTO_TCP, ip("10.0.0.1"), 5001, ip("10.0.0.2"), 80, None);
        let udp = frame(PROTO_UDP, ip("10.0.0.1"), 5000, ip("10.0.0.2"), 80, None);
        assert_ne!(frame_key(FilterKind::Exact5, &other_port), Some(key));
        assert_ne!(frame_key(FilterKind::Exact5, &udp), Some(key));
        // An IPv4 address is not the IPv6 address with the same low bits.
        let v6 = Filter::Listen { proto: PROTO_TCP, dst: Some(ip("::a00:2")), dport: None };
        assert_ne!(
            v6.keys().unwrap()[0],
            Filter::Listen { proto: PROTO_TCP, dst: Some(ip("10.0.0.2")), dport: None }.keys().unwrap()[0]
        );
    }

    #[test]
    fn kinds_and_tables() {
        let key = Filter::Listen { proto: 1, dst: Some(ip("10.0.0.2")), dport: None }.keys().unwrap()[0];
        assert_eq!(key.kind(), Some(FilterKind::ListenAddr));
        assert!(key.bit(PROTO_LSB) && !key.bit(PROTO_LSB + 1), "proto 1");
        assert!(!key.bit(KIND_LSB) && !key.bit(KIND_LSB + 1) && key.bit(KIND_LSB + 2), "kind 4");
        assert_eq!(Filter::Mac { mac: [0; 6], vlan: None }.table(), Table::Wildcard);
        assert_eq!(
            Filter::Exact5 { proto: 6, src: ip("::1"), sport: 1, dst: ip("::2"), dport: 2 }.table(),
            Table::Exact
        );
    }

    #[test]
    fn bad_filters_are_refused_with_the_reason() {
        let refused = |f: Filter, needle: &str| {
            let e = f.keys().unwrap_err().to_string();
            assert!(e.contains(needle), "{f}: {e}");
        };
        refused(
            Filter::Exact5 { proto: 6, src: ip("10.0.0.1"), sport: 1, dst: ip("::1"), dport: 2 },
            "must both be IPv4 or both IPv6",
        );
        refused(
            Filter::Exact5 { proto: 1, src: ip("10.0.0.1"), sport: 1, dst: ip("10.0.0.2"), dport: 2 },
            "needs tcp or udp",
        );
        refused(Filter::Listen { proto: 47, dst: None, dport: Some(1) }, "only tcp and udp have ports");
        refused(Filter::Mac { mac: [0; 6], vlan: Some(4096) }, "VLAN IDs are 0..=4095");
    }

    #[test]
    fn targets_are_checked_against_the_device() {
        assert!(Target::queue(63).validate(64).is_ok());
        assert!(Target::queue(64).validate(64).unwrap_err().to_string().contains("queues 0..=63"));
        assert!(Target { queue: 0, spread: 8 }.validate(4096).unwrap_err().to_string().contains("at most 7"));
        assert!(Target { queue: 0, spread: 7 }.validate(64).unwrap_err().to_string().contains("128 queues"));
        assert!(Target { queue: 60, spread: 6 }.validate(64).is_ok(), "a group may wrap around");
        assert_eq!(Target { queue: 5, spread: 2 }.action(9), Action { queue: 5, spread: 2, filter_id: 9 });
    }

    #[test]
    fn filters_print_as_a_user_writes_them() {
        let f = Filter::Exact5 { proto: 6, src: ip("10.0.0.1"), sport: 5000, dst: ip("::1"), dport: 80 };
        assert_eq!(f.to_string(), "exact tcp 10.0.0.1:5000 -> [::1]:80");
        assert_eq!(Filter::Listen { proto: 17, dst: None, dport: Some(53) }.to_string(), "listen udp *:53");
        assert_eq!(Filter::Listen { proto: 6, dst: None, dport: None }.to_string(), "listen tcp *:*");
        assert_eq!(
            Filter::Listen { proto: 1, dst: Some(ip("10.0.0.2")), dport: None }.to_string(),
            "listen proto 1 10.0.0.2"
        );
        assert_eq!(
            Filter::Mac { mac: [2, 0, 0, 0, 0, 0xab], vlan: Some(10) }.to_string(),
            "mac 02:00:00:00:00:ab vlan 10"
        );
    }
}
