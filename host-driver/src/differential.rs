//! The project's backbone check: the same frames and the same filters on
//! the RTL and on the behavioural model must give every frame the same
//! decision (reason, queue, filter, RSS hash) and the same counters. Used by
//! the tests and by the benchmark that reports corpus disagreements.

use crate::control::{Counters, Nic};
use crate::demux::filters::{Filter, Target};
use crate::demux::parse::parse;
use crate::device::model::ModelDevice;
use crate::device::rtl::RtlDevice;
use crate::device::{Decision, Demux, Device, Received, Wire};
use crate::traffic::TestFrame;
use anyhow::{bail, Result};
use arsenic_hdl::filter::Flow;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Default)]
pub struct Agreement {
    /// Frames decided (non-empty frames sent).
    pub frames: u64,
    /// Frames a filter claimed (on the model), so a caller can tell the
    /// comparison exercised the tables and not just the default queue.
    pub hits: u64,
    /// Frames whose decision differs between RTL and model.
    pub disagreements: u64,
    /// The first difference, in words.
    pub first: Option<String>,
    /// The model's decision for every frame, for callers that check what
    /// the traffic covered.
    pub decisions: Vec<Decision>,
}

/// How both devices are set up before the frames play.
#[derive(Clone, Debug)]
pub struct Setup {
    pub default_queue: u32,
    pub rss_key: [u8; 40],
    pub filters: Vec<(Filter, Target)>,
}

impl Setup {
    /// Reset values, with these filters.
    pub fn with_filters(filters: Vec<(Filter, Target)>) -> Setup {
        Setup { default_queue: 0, rss_key: arsenic_hdl::filter::RSS_KEY, filters }
    }
}

fn play<D: Device + Wire + Demux>(dev: &mut D, setup: &Setup, frames: &[TestFrame]) -> Result<(Vec<Received>, Counters)> {
    let mut nic = Nic::open(dev)?;
    nic.set_default_queue(setup.default_queue)?;
    nic.set_rss_key(&setup.rss_key)?;
    for (f, t) in &setup.filters {
        nic.install_filter(f, *t)?;
    }
    for f in frames {
        dev.send(&f.data, f.fcs_error);
    }
    dev.drain()?;
    Ok((dev.take_received(), nic.counters()?))
}

/// Plays `frames` with `filters` installed (other registers at reset) on a
/// fresh RTL and a fresh model and compares every decision and counter.
pub fn rtl_vs_model(filters: &[(Filter, Target)], frames: &[TestFrame]) -> Result<Agreement> {
    rtl_vs_model_with(&Setup::with_filters(filters.to_vec()), frames)
}

/// `rtl_vs_model` with the devices set up as `setup` says.
pub fn rtl_vs_model_with(setup: &Setup, frames: &[TestFrame]) -> Result<Agreement> {
    let mut rtl = RtlDevice::new();
    let (got, got_counters) = play(&mut rtl, setup, frames)?;
    let (want, want_counters) = play(&mut ModelDevice::default(), setup, frames)?;
    if rtl.undecodable_decisions() != 0 {
        bail!("the RTL produced {} undecodable decisions", rtl.undecodable_decisions());
    }
    let hits = want.iter().filter(|r| r.decision.reason == arsenic_hdl::filter::Reason::Hit).count() as u64;
    let decisions = want.iter().map(|r| r.decision).collect();
    let mut a = Agreement { frames: want.len() as u64, hits, decisions, ..Agreement::default() };
    if got.len() != want.len() {
        a.disagreements = got.len().abs_diff(want.len()) as u64;
        a.first = Some(format!("the RTL decided {} frames, the model {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if g.data != w.data || g.decision != w.decision {
            a.disagreements += 1;
            a.first.get_or_insert_with(|| {
                format!("frame {}: RTL {:?}, model {:?} ({} bytes)", i + 1, g.decision, w.decision, w.data.len())
            });
        }
    }
    if a.first.is_none() {
        if let Some((name, v)) = got_counters.iter().find(|(n, v)| want_counters.get(n) != Some(*v)) {
            a.first = Some(format!("counter {name}: RTL {v}, model {:?}", want_counters.get(name)));
        }
    }
    Ok(a)
}

fn addr(v6: bool, bits: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(bits))
    } else {
        IpAddr::V4(Ipv4Addr::from(bits as u32))
    }
}

/// Filters built from the traffic itself, so that a capture exercises hits
/// of every kind as well as misses: exact filters for some of its flows,
/// listeners on some destinations and ports, a whole protocol, and MAC
/// filters, spread over queues 1..=62 (some as RSS groups).
pub fn filters_for(frames: &[TestFrame]) -> Vec<(Filter, Target)> {
    let flows: Vec<Flow> = frames.iter().filter_map(|f| parse(&f.data).ok()).collect();
    let mut out = vec![];
    let mut seen = BTreeSet::new();
    let mut queue = 0u32;
    let mut next = |spread: u8| {
        queue = queue % 58 + 1;
        Target { queue, spread }
    };
    for (i, flow) in flows.iter().enumerate() {
        let Some(ip) = flow.ip else { continue };
        let (src, dst) = (addr(ip.v6, ip.src), addr(ip.v6, ip.dst));
        let candidate = match (i % 5, ip.ports) {
            (0 | 1, Some((sport, dport))) => Filter::Exact5 { proto: ip.proto, src, sport, dst, dport },
            (2, Some((_, dport))) => Filter::Listen { proto: ip.proto, dst: Some(dst), dport: Some(dport) },
            (3, Some((_, dport))) => Filter::Listen { proto: ip.proto, dst: None, dport: Some(dport) },
            (4, _) => Filter::Listen { proto: ip.proto, dst: Some(dst), dport: None },
            _ => continue,
        };
        if seen.insert(format!("{candidate:?}")) && seen.len() <= 40 {
            out.push((candidate, next((i % 3) as u8)));
        }
    }
    if let Some(ip) = flows.iter().find_map(|f| f.ip) {
        out.push((Filter::Listen { proto: ip.proto, dst: None, dport: None }, next(0)));
    }
    for flow in flows.iter().take(50) {
        let f = Filter::Mac { mac: flow.dst_mac, vlan: flow.vlan };
        if seen.insert(format!("{f:?}")) && seen.len() <= 48 {
            out.push((f, next(0)));
        }
    }
    out
}
