//! The transmit template check: watches a frame go by one byte per beat
//! and says, on its last beat, whether its headers fit the queue's
//! template, so an application can only send as the source it was given.
//!
//! The rules, with `b[0..len)` the frame's bytes:
//! - `check_mac`: `b[6..12] == tpl_mac` (b[6] is bits 47..40).
//! - VLAN tags: the type at `12 + 4n` is a tag while it is 0x8100 or
//!   0x88A8 and `n < 2`; the first tag's VID is `(b[14] << 8 | b[15]) & 0xFFF`.
//!   `check_vlan`: at least one tag, and that VID equals `tpl_vlan`.
//! - L3 starts at `l3 = 14 + 4 * tags` with the type T found there. IPv4:
//!   T == 0x0800 and `b[l3] >> 4 == 4`; source `b[l3+12..l3+16]`, protocol
//!   `b[l3+9]`, a non-first fragment if the 13-bit offset in
//!   `b[l3+6..l3+8]` is not 0, L4 at `l3 + 4 * IHL` (IHL not validated).
//!   IPv6: T == 0x86DD and `b[l3] >> 4 == 6`; source `b[l3+8..l3+24]`, next
//!   header `b[l3+6]`, L4 at `l3 + 40` (extension headers are not walked, so
//!   a frame with one fails a port check: its next header is not TCP/UDP).
//! - `check_ip`: IPv4 with source == the low 32 bits of `tpl_ip` when
//!   `!ip_v6`, IPv6 with source == all 128 bits when `ip_v6`.
//! - `check_port`: IPv4 TCP/UDP (protocol 6 or 17) that is not a non-first
//!   fragment, or IPv6 with next header 6 or 17, and the source port
//!   `b[L4] << 8 | b[L4+1]` equals `tpl_port`.
//!
//! A field that lies past the frame's end fails its check; with no check
//! set every frame passes. `unrestricted` is not looked at here: the engine
//! skips the check for such queues.
//!
//! Each header field is compared byte by byte as it passes, against the
//! template's byte for that position: a field passes if it was seen whole
//! and no byte of it differed. The IP source and MAC are compared against
//! shifting copies of the template, loaded while the check is at the
//! frame's first byte (so `settings` must be in place by then). The
//! verdict takes two registered steps: the last beat's field flags and the
//! checks asked for are captured (`f_*`), and the cycle after, the verdict
//! is taken from them. `ok` holds it from the second cycle after the last
//! beat until the next frame's verdict replaces it, so whoever reads it sees a
//! flip-flop, and neither step has the last byte's compares and the pass
//! terms in one chain (that chain, routed across the engine, was the
//! board's critical path twice). The state restarts after every last beat,
//! and `settings` may change once the last beat is in.

use crate::params::DATA_BITS;
use crate::ports::QueueConfig;
use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct TxTemplateCheck {
    pub clock: Signal<In, Clock>,
    pub data: Signal<In, Bits<DATA_BITS>>,
    pub valid: Signal<In, Bit>,
    pub last: Signal<In, Bit>,
    /// The sending queue's configuration; must hold still from the frame's
    /// first beat to its last.
    pub settings: Signal<In, QueueConfig>,
    /// The verdict on the frame whose last beat was the previous valid
    /// `last` beat, from the second cycle after it.
    pub ok: Signal<Out, Bit>,
    verdict: DFF<Bit>,
    /// The last beat was in last cycle; the flags and checks it left.
    f_end: DFF<Bit>,
    f_is_v4: DFF<Bit>,
    f_is_v6: DFF<Bit>,
    f_frag_ok: DFF<Bit>,
    f_proto_ok: DFF<Bit>,
    f_mac_ok: DFF<Bit>,
    f_vid_ok: DFF<Bit>,
    f_src_seen: DFF<Bit>,
    f_src_bad: DFF<Bit>,
    f_sport_ok: DFF<Bit>,
    f_check_mac: DFF<Bit>,
    f_check_vlan: DFF<Bit>,
    f_check_ip: DFF<Bit>,
    f_ip_v6: DFF<Bit>,
    f_check_port: DFF<Bit>,

    /// Offset of the current byte in its frame, up to 255 (every header
    /// field looked at lies below: L4 starts by byte 22 + 60).
    pos: DFF<Bits<8>>,
    /// The byte before the current one (the high half of a type).
    held: DFF<Bits<8>>,
    tags: DFF<Bits<2>>,
    l3_known: DFF<Bit>,
    /// Offset of the current byte from L3's start once that is known, up
    /// to 31 (the fields looked at end by 24).
    rel: DFF<Bits<5>>,
    type_v4: DFF<Bit>,
    type_v6: DFF<Bit>,
    is_v4: DFF<Bit>,
    is_v6: DFF<Bit>,
    l4_known: DFF<Bit>,
    /// Where L4 starts, and the byte after.
    l4: DFF<Bits<8>>,
    l4_next: DFF<Bits<8>>,
    frag_hi: DFF<Bits<8>>,
    frag_seen: DFF<Bit>,
    later_fragment: DFF<Bit>,
    proto_seen: DFF<Bit>,
    proto_tcp_udp: DFF<Bit>,
    /// The template's MAC and IP source, shifted a byte up per byte
    /// compared: the top byte is the one the next field byte must equal.
    mac_exp: DFF<Bits<48>>,
    ip_exp: DFF<Bits<128>>,
    /// A byte of the field differed from the template.
    mac_bad: DFF<Bit>,
    mac_seen: DFF<Bit>,
    vid_bad: DFF<Bit>,
    vid_seen: DFF<Bit>,
    src_bad: DFF<Bit>,
    src_seen: DFF<Bit>,
    sport_bad: DFF<Bit>,
    sport_seen: DFF<Bit>,
    p: Signal<Local, Bits<8>>,
    at_type: Signal<Local, Bit>,
    at_l3: Signal<Local, Bit>,
    tpid: Signal<Local, Bits<16>>,
    mac_take: Signal<Local, Bit>,
    src_take: Signal<Local, Bit>,
    sport_take0: Signal<Local, Bit>,
    sport_take1: Signal<Local, Bit>,
    mac_pass: Signal<Local, Bit>,
    vlan_pass: Signal<Local, Bit>,
    ip_pass: Signal<Local, Bit>,
    port_pass: Signal<Local, Bit>,
    now_ok: Signal<Local, Bit>,
    // The state after the current beat, which the verdict is taken from.
    n_is_v4: Signal<Local, Bit>,
    n_is_v6: Signal<Local, Bit>,
    n_frag_seen: Signal<Local, Bit>,
    n_later_fragment: Signal<Local, Bit>,
    n_proto_seen: Signal<Local, Bit>,
    n_proto_tcp_udp: Signal<Local, Bit>,
    n_mac_bad: Signal<Local, Bit>,
    n_mac_seen: Signal<Local, Bit>,
    n_vid_bad: Signal<Local, Bit>,
    n_vid_seen: Signal<Local, Bit>,
    n_src_bad: Signal<Local, Bit>,
    n_src_seen: Signal<Local, Bit>,
    n_sport_bad: Signal<Local, Bit>,
    n_sport_seen: Signal<Local, Bit>,
}

impl Logic for TxTemplateCheck {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            pos,
            held,
            tags,
            l3_known,
            rel,
            type_v4,
            type_v6,
            is_v4,
            is_v6,
            l4_known,
            l4,
            l4_next,
            frag_hi,
            frag_seen,
            later_fragment,
            proto_seen,
            proto_tcp_udp,
            mac_exp,
            ip_exp,
            mac_bad,
            mac_seen,
            vid_bad,
            vid_seen,
            src_bad,
            src_seen,
            sport_bad,
            sport_seen,
            verdict,
            f_end,
            f_is_v4,
            f_is_v6,
            f_frag_ok,
            f_proto_ok,
            f_mac_ok,
            f_vid_ok,
            f_src_seen,
            f_src_bad,
            f_sport_ok,
            f_check_mac,
            f_check_vlan,
            f_check_ip,
            f_ip_v6,
            f_check_port
        );
        self.p.next = self.pos.q.val();
        self.at_type.next = !self.l3_known.q.val()
            & (((self.tags.q.val() == 0) & (self.p.val() == 13))
                | ((self.tags.q.val() == 1) & (self.p.val() == 17))
                | ((self.tags.q.val() == 2) & (self.p.val() == 21)));
        self.at_l3.next = self.l3_known.q.val() & (self.rel.q.val() == 0);
        self.tpid.next = (bit_cast::<16, 8>(self.held.q.val()) << 8) | bit_cast::<16, 8>(self.data.val());
        self.n_is_v4.next = self.is_v4.q.val();
        self.n_is_v6.next = self.is_v6.q.val();
        self.n_frag_seen.next = self.frag_seen.q.val();
        self.n_later_fragment.next = self.later_fragment.q.val();
        self.n_proto_seen.next = self.proto_seen.q.val();
        self.n_proto_tcp_udp.next = self.proto_tcp_udp.q.val();
        self.n_mac_bad.next = self.mac_bad.q.val();
        self.n_mac_seen.next = self.mac_seen.q.val();
        self.n_vid_bad.next = self.vid_bad.q.val();
        self.n_vid_seen.next = self.vid_seen.q.val();
        self.n_src_bad.next = self.src_bad.q.val();
        self.n_src_seen.next = self.src_seen.q.val();
        self.n_sport_bad.next = self.sport_bad.q.val();
        self.n_sport_seen.next = self.sport_seen.q.val();
        self.mac_take.next = false;
        self.src_take.next = false;
        self.sport_take0.next = false;
        self.sport_take1.next = false;
        // The template's fields are loaded while at the first byte.
        if self.p.val() == 0 {
            self.mac_exp.d.next = self.settings.val().tpl_mac;
            self.ip_exp.d.next = self.settings.val().tpl_ip << 96;
            if self.settings.val().ip_v6 {
                self.ip_exp.d.next = self.settings.val().tpl_ip;
            }
        }

        if self.valid.val() {
            if self.p.val() != 255 {
                self.pos.d.next = self.p.val() + 1;
            }
            if self.rel.q.val() != 31 {
                self.rel.d.next = self.rel.q.val() + 1;
            }
            self.held.d.next = self.data.val();
            if (self.p.val() >= 6) & (self.p.val() < 12) {
                self.mac_take.next = true;
                self.mac_exp.d.next = self.mac_exp.q.val() << 8;
                if self.data.val() != self.mac_exp.q.val().get_bits::<8>(40) {
                    self.n_mac_bad.next = true;
                }
            }
            if self.p.val() == 11 {
                self.n_mac_seen.next = true;
            }
            // Types and tags, up to two tags.
            if self.at_type.val() {
                if ((self.tpid.val() == 0x8100) | (self.tpid.val() == 0x88A8)) & (self.tags.q.val() != 2) {
                    self.tags.d.next = self.tags.q.val() + 1;
                } else {
                    self.l3_known.d.next = true;
                    self.rel.d.next = 0.into();
                    self.type_v4.d.next = self.tpid.val() == 0x0800;
                    self.type_v6.d.next = self.tpid.val() == 0x86DD;
                }
            }
            // The first tag's VID: 12 bits over bytes 14 and 15.
            if (self.p.val() == 14)
                & (self.data.val().get_bits::<4>(0) != self.settings.val().tpl_vlan.get_bits::<4>(8))
            {
                self.n_vid_bad.next = true;
            }
            if (self.p.val() == 15) & (self.data.val() != self.settings.val().tpl_vlan.get_bits::<8>(0)) {
                self.n_vid_bad.next = true;
            }
            if (self.p.val() == 15) & (self.tags.q.val() != 0) {
                self.n_vid_seen.next = true;
            }
            // The IP version byte fixes the family and where L4 starts.
            // With IHL 0 the port starts on the version byte itself.
            if self.at_l3.val() {
                self.n_is_v4.next = self.type_v4.q.val() & (self.data.val().get_bits::<4>(4) == 4);
                self.n_is_v6.next = self.type_v6.q.val() & (self.data.val().get_bits::<4>(4) == 6);
                if self.type_v4.q.val() & (self.data.val().get_bits::<4>(4) == 4) {
                    self.l4_known.d.next = true;
                    self.l4.d.next = self.p.val() + (bit_cast::<8, 4>(self.data.val().get_bits::<4>(0)) << 2);
                    self.l4_next.d.next =
                        self.p.val() + ((bit_cast::<8, 4>(self.data.val().get_bits::<4>(0)) << 2) | 1);
                    if self.data.val().get_bits::<4>(0) == 0 {
                        self.sport_take0.next = true;
                    }
                }
                if self.type_v6.q.val() & (self.data.val().get_bits::<4>(4) == 6) {
                    self.l4_known.d.next = true;
                    self.l4.d.next = self.p.val() + 40;
                    self.l4_next.d.next = self.p.val() + 41;
                }
            }
            if self.is_v4.q.val() {
                if self.rel.q.val() == 6 {
                    self.frag_hi.d.next = self.data.val() & 0x1F;
                }
                if self.rel.q.val() == 7 {
                    self.n_frag_seen.next = true;
                    self.n_later_fragment.next = (self.frag_hi.q.val() != 0) | (self.data.val() != 0);
                }
                if self.rel.q.val() == 9 {
                    self.n_proto_seen.next = true;
                    self.n_proto_tcp_udp.next = (self.data.val() == 6) | (self.data.val() == 17);
                }
                if (self.rel.q.val() >= 12) & (self.rel.q.val() < 16) {
                    self.src_take.next = true;
                }
                if self.rel.q.val() == 15 {
                    self.n_src_seen.next = true;
                }
            }
            if self.is_v6.q.val() {
                if self.rel.q.val() == 6 {
                    self.n_proto_seen.next = true;
                    self.n_proto_tcp_udp.next = (self.data.val() == 6) | (self.data.val() == 17);
                }
                if (self.rel.q.val() >= 8) & (self.rel.q.val() < 24) {
                    self.src_take.next = true;
                }
                if self.rel.q.val() == 23 {
                    self.n_src_seen.next = true;
                }
            }
            if self.src_take.val() {
                self.ip_exp.d.next = self.ip_exp.q.val() << 8;
                if self.data.val() != self.ip_exp.q.val().get_bits::<8>(120) {
                    self.n_src_bad.next = true;
                }
            }
            if self.l4_known.q.val() & (self.p.val() == self.l4.q.val()) {
                self.sport_take0.next = true;
            }
            if self.l4_known.q.val() & (self.p.val() == self.l4_next.q.val()) {
                self.sport_take1.next = true;
                self.n_sport_seen.next = true;
            }
            if self.sport_take0.val() & (self.data.val() != self.settings.val().tpl_port.get_bits::<8>(8)) {
                self.n_sport_bad.next = true;
            }
            if self.sport_take1.val() & (self.data.val() != self.settings.val().tpl_port.get_bits::<8>(0)) {
                self.n_sport_bad.next = true;
            }
        }

        // Second step: the verdict from what the last beat left.
        self.mac_pass.next = !self.f_check_mac.q.val() | self.f_mac_ok.q.val();
        self.vlan_pass.next = !self.f_check_vlan.q.val() | self.f_vid_ok.q.val();
        // The source compared is the template's family's: the shifting copy
        // was loaded for it.
        self.ip_pass.next = !self.f_check_ip.q.val();
        if self.f_check_ip.q.val() & self.f_src_seen.q.val() {
            if self.f_ip_v6.q.val() {
                self.ip_pass.next = self.f_is_v6.q.val() & !self.f_src_bad.q.val();
            } else {
                self.ip_pass.next = self.f_is_v4.q.val() & !self.f_src_bad.q.val();
            }
        }
        self.port_pass.next = !self.f_check_port.q.val()
            | (self.f_sport_ok.q.val()
                & self.f_proto_ok.q.val()
                & (self.f_is_v6.q.val() | (self.f_is_v4.q.val() & self.f_frag_ok.q.val())));
        self.now_ok.next = self.mac_pass.val() & self.vlan_pass.val() & self.ip_pass.val() & self.port_pass.val();
        self.f_end.d.next = false;
        if self.f_end.q.val() {
            self.verdict.d.next = self.now_ok.val();
        }
        self.ok.next = self.verdict.q.val();

        self.is_v4.d.next = self.n_is_v4.val();
        self.is_v6.d.next = self.n_is_v6.val();
        self.frag_seen.d.next = self.n_frag_seen.val();
        self.later_fragment.d.next = self.n_later_fragment.val();
        self.proto_seen.d.next = self.n_proto_seen.val();
        self.proto_tcp_udp.d.next = self.n_proto_tcp_udp.val();
        self.mac_bad.d.next = self.n_mac_bad.val();
        self.mac_seen.d.next = self.n_mac_seen.val();
        self.vid_bad.d.next = self.n_vid_bad.val();
        self.vid_seen.d.next = self.n_vid_seen.val();
        self.src_bad.d.next = self.n_src_bad.val();
        self.src_seen.d.next = self.n_src_seen.val();
        self.sport_bad.d.next = self.n_sport_bad.val();
        self.sport_seen.d.next = self.n_sport_seen.val();
        // The next frame starts from a clean slate. (Nothing reads a `d`
        // input: rust-hdl's simulator would see these resets there.)
        if self.valid.val() & self.last.val() {
            // First step: each field's flags, merged as far as they can be
            // without the template, and the checks asked for.
            self.f_end.d.next = true;
            self.f_is_v4.d.next = self.n_is_v4.val();
            self.f_is_v6.d.next = self.n_is_v6.val();
            self.f_frag_ok.d.next = self.n_frag_seen.val() & !self.n_later_fragment.val();
            self.f_proto_ok.d.next = self.n_proto_seen.val() & self.n_proto_tcp_udp.val();
            self.f_mac_ok.d.next = self.n_mac_seen.val() & !self.n_mac_bad.val();
            self.f_vid_ok.d.next = self.n_vid_seen.val() & !self.n_vid_bad.val();
            self.f_src_seen.d.next = self.n_src_seen.val();
            self.f_src_bad.d.next = self.n_src_bad.val();
            self.f_sport_ok.d.next = self.n_sport_seen.val() & !self.n_sport_bad.val();
            self.f_check_mac.d.next = self.settings.val().check_mac;
            self.f_check_vlan.d.next = self.settings.val().check_vlan;
            self.f_check_ip.d.next = self.settings.val().check_ip;
            self.f_ip_v6.d.next = self.settings.val().ip_v6;
            self.f_check_port.d.next = self.settings.val().check_port;
            self.pos.d.next = 0.into();
            self.held.d.next = 0.into();
            self.tags.d.next = 0.into();
            self.l3_known.d.next = false;
            self.rel.d.next = 0.into();
            self.type_v4.d.next = false;
            self.type_v6.d.next = false;
            self.is_v4.d.next = false;
            self.is_v6.d.next = false;
            self.l4_known.d.next = false;
            self.l4.d.next = 0.into();
            self.l4_next.d.next = 0.into();
            self.frag_hi.d.next = 0.into();
            self.frag_seen.d.next = false;
            self.later_fragment.d.next = false;
            self.proto_seen.d.next = false;
            self.proto_tcp_udp.d.next = false;
            self.mac_bad.d.next = false;
            self.mac_seen.d.next = false;
            self.vid_bad.d.next = false;
            self.vid_seen.d.next = false;
            self.src_bad.d.next = false;
            self.src_seen.d.next = false;
            self.sport_bad.d.next = false;
            self.sport_seen.d.next = false;
        }
    }
}

/// The rules above in plain Rust, over a whole frame: what the block must
/// agree with, for its own tests and the engine's.
#[cfg(test)]
pub(crate) fn model_ok(cfg: &QueueConfig, b: &[u8]) -> bool {
    let at = |i: usize| b.get(i).copied();
    let be16 = |i: usize| Some((at(i)? as u16) << 8 | at(i + 1)? as u16);
    let mut tags = 0;
    let mut first_vid = None;
    let mut ty = be16(12);
    while let Some(t) = ty {
        if !(t == 0x8100 || t == 0x88A8) || tags == 2 {
            break;
        }
        if tags == 0 {
            first_vid = be16(14).map(|v| v & 0xFFF);
        }
        tags += 1;
        ty = be16(12 + 4 * tags);
    }
    let l3 = 14 + 4 * tags;
    let ver = at(l3).map(|v| v >> 4);
    let v4 = ty == Some(0x0800) && ver == Some(4);
    let v6 = ty == Some(0x86DD) && ver == Some(6);
    let bytes = |from: usize, n: usize| -> Option<u128> {
        (from..from + n).try_fold(0u128, |a, i| Some(a << 8 | at(i)? as u128))
    };
    let mac_ok = bytes(6, 6).map(|m| m as u64) == Some(u64::from(cfg.tpl_mac));
    let vlan_ok = first_vid.is_some() && first_vid.map(|v| v as u64) == Some(u64::from(cfg.tpl_vlan));
    let tpl_ip = cfg.tpl_ip.to_u128();
    let ip_ok = if cfg.ip_v6 {
        v6 && bytes(l3 + 8, 16) == Some(tpl_ip)
    } else {
        v4 && bytes(l3 + 12, 4) == Some(tpl_ip & 0xFFFF_FFFF)
    };
    let tcp_udp = |p: Option<u8>| matches!(p, Some(6) | Some(17));
    let port_ok = if v4 {
        let ihl = (at(l3).unwrap() & 15) as usize;
        let frag = be16(l3 + 6).map(|f| f & 0x1FFF);
        tcp_udp(at(l3 + 9)) && frag == Some(0) && be16(l3 + 4 * ihl).map(|p| p as u64) == Some(u64::from(cfg.tpl_port))
    } else if v6 {
        tcp_udp(at(l3 + 6)) && be16(l3 + 40).map(|p| p as u64) == Some(u64::from(cfg.tpl_port))
    } else {
        false
    };
    (!cfg.check_mac || mac_ok)
        && (!cfg.check_vlan || vlan_ok)
        && (!cfg.check_ip || ip_ok)
        && (!cfg.check_port || port_ok)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::harness::Harness;
    use crate::queue::{QueueSettings, Template};
    use std::net::IpAddr;

    /// The block's view of a queue's settings, as the control page builds it.
    pub(crate) fn config_of(s: &QueueSettings) -> QueueConfig {
        let w = s.words();
        let w64 = |lo: usize| (w[lo] as u64 | (w[lo + 1] as u64) << 32).into();
        let flags = w[12];
        let ip = (w[16..20].iter().rev().fold(0u128, |a, &x| a << 32 | x as u128)).to_bits::<128>();
        use crate::queue::*;
        QueueConfig {
            enable: flags & FLAG_ENABLE != 0,
            unrestricted: flags & FLAG_UNRESTRICTED != 0,
            rx_ring: w64(0),
            rx_log2: ((w[4] & 0xF) as u64).into(),
            tx_ring: w64(2),
            tx_log2: (((w[4] >> 8) & 0xF) as u64).into(),
            win_base: w64(5),
            win_limit: w64(7),
            evt_addr: w64(9),
            evt_count: ((w[11] & 0xFF) as u64).into(),
            evt_ticks: ((w[11] >> 16) as u64).into(),
            check_mac: flags & FLAG_CHECK_MAC != 0,
            check_vlan: flags & FLAG_CHECK_VLAN != 0,
            check_ip: flags & FLAG_CHECK_IP != 0,
            ip_v6: flags & FLAG_IP_V6 != 0,
            check_port: flags & FLAG_CHECK_PORT != 0,
            tpl_mac: (w[13] as u64 | (w[14] as u64) << 32).into(),
            tpl_vlan: ((w[15] & 0xFFF) as u64).into(),
            tpl_ip: ip,
            tpl_port: ((w[20] & 0xFFFF) as u64).into(),
        }
    }

    pub(crate) const MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
    pub(crate) const IP4: [u8; 4] = [10, 1, 2, 3];
    pub(crate) const IP6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xef];

    /// Ethernet header from `MAC` with the given tags (TPID, TCI) and type.
    pub(crate) fn eth(src: [u8; 6], tags: &[(u16, u16)], ty: u16) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 0x01];
        f.extend_from_slice(&src);
        for &(tpid, tci) in tags {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&tci.to_be_bytes());
        }
        f.extend_from_slice(&ty.to_be_bytes());
        f
    }

    /// An IPv4 header with `ihl` words (options filled with NOPs).
    pub(crate) fn ipv4(ihl: u8, src: [u8; 4], proto: u8, frag: u16) -> Vec<u8> {
        let mut h = vec![0x40 | ihl, 0, 0, 60, 0, 1];
        h.extend_from_slice(&frag.to_be_bytes());
        h.extend_from_slice(&[64, proto, 0, 0]);
        h.extend_from_slice(&src);
        h.extend_from_slice(&[10, 9, 9, 9]);
        while h.len() < 4 * ihl as usize {
            h.push(1);
        }
        h
    }

    pub(crate) fn ipv6(src: [u8; 16], next: u8) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0, 0, 20, next, 64];
        h.extend_from_slice(&src);
        h.extend_from_slice(&[0xfd; 16]);
        h
    }

    pub(crate) fn l4(sport: u16) -> Vec<u8> {
        let mut h = sport.to_be_bytes().to_vec();
        h.extend_from_slice(&[0x1F, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD]);
        h
    }

    pub(crate) fn udp4(src_mac: [u8; 6], src: [u8; 4], sport: u16) -> Vec<u8> {
        [eth(src_mac, &[], 0x0800), ipv4(5, src, 17, 0), l4(sport)].concat()
    }

    fn settings(t: Template) -> QueueConfig {
        config_of(&QueueSettings { enable: true, template: t, ..Default::default() })
    }

    fn full() -> Template {
        Template { src_mac: Some(MAC), vlan: None, src_ip: Some(IpAddr::from(IP4)), src_port: Some(5000) }
    }

    /// Runs each frame through the block with a few idle cycles between
    /// them; returns the verdict seen in the second cycle after each last
    /// beat, and checks it is still held a cycle later.
    fn verdicts(cfg: QueueConfig, frames: &[Vec<u8>]) -> Vec<bool> {
        let mut h = Harness::new(TxTemplateCheck::default(), |c| &mut c.clock);
        h.uut.settings.next = cfg;
        let mut out = vec![];
        for f in frames {
            for (i, &b) in f.iter().enumerate() {
                h.uut.valid.next = true;
                h.uut.data.next = (b as u64).into();
                h.uut.last.next = i + 1 == f.len();
                h.cycle();
                // A stall in the middle of the frame changes nothing.
                if i % 5 == 3 && i + 1 < f.len() {
                    h.uut.valid.next = false;
                    h.cycle();
                }
            }
            h.uut.valid.next = false;
            h.cycle();
            h.settle();
            out.push(h.uut.ok.val());
            h.cycle();
            assert_eq!(h.uut.ok.val(), *out.last().unwrap(), "the verdict is held until the next frame ends");
        }
        out
    }

    /// Frames back to back, the settings changing as each last beat goes
    /// in (as the engine's do when its next job starts): each verdict is
    /// the one its own frame and settings earn, and shows for one cycle.
    #[test]
    fn back_to_back_frames_keep_their_own_settings_and_verdicts() {
        let good = udp4(MAC, IP4, 5000);
        let open = settings(Template::default());
        let strict = settings(full());
        // (frame, its settings, the verdict)
        let cases = [
            (good.clone(), strict, true),
            (udp4([9; 6], IP4, 5000), strict, false),
            (udp4([9; 6], IP4, 5000), open, true),
            (udp4(MAC, [1, 1, 1, 1], 5000), strict, false),
            (good.clone(), strict, true),
        ];
        let mut h = Harness::new(TxTemplateCheck::default(), |c| &mut c.clock);
        let mut seen = vec![];
        let mut ends = vec![];
        for (f, cfg, _) in &cases {
            h.uut.settings.next = *cfg;
            for (i, &b) in f.iter().enumerate() {
                h.uut.valid.next = true;
                h.uut.data.next = (b as u64).into();
                h.uut.last.next = i + 1 == f.len();
                h.cycle();
                seen.push(h.uut.ok.val());
            }
            ends.push(seen.len() - 1);
        }
        h.uut.valid.next = false;
        // The settings after the last frame fail it: they must not count.
        h.uut.settings.next = settings(Template { src_port: Some(1), ..full() });
        for _ in 0..3 {
            h.cycle();
            seen.push(h.uut.ok.val());
        }
        for (k, &end) in ends.iter().enumerate() {
            // seen[j] is `ok` after the j-th edge; the last beat went in at edge `end`.
            assert_eq!(seen[end + 1], cases[k].2, "frame {k}'s verdict, in the second cycle after its last beat");
        }
    }

    /// Checks the block against the expected verdicts and the model.
    fn expect(cfg: QueueConfig, cases: &[(Vec<u8>, bool)]) {
        let frames: Vec<Vec<u8>> = cases.iter().map(|c| c.0.clone()).collect();
        let want: Vec<bool> = cases.iter().map(|c| c.1).collect();
        let model: Vec<bool> = frames.iter().map(|f| model_ok(&cfg, f)).collect();
        assert_eq!(model, want, "the model disagrees with the stated cases");
        assert_eq!(verdicts(cfg, &frames), want);
    }

    #[test]
    fn no_checks_pass_everything() {
        let cfg = settings(Template::default());
        expect(cfg, &[(vec![0xFF], true), (udp4([9; 6], [1, 2, 3, 4], 1), true), (vec![0; 14], true)]);
    }

    #[test]
    fn source_mac_rule() {
        let cfg = settings(Template { src_mac: Some(MAC), ..Default::default() });
        let good = udp4(MAC, IP4, 5000);
        let mut other = good.clone();
        other[11] ^= 1;
        let mut first = good.clone();
        first[6] ^= 0x80;
        expect(
            cfg,
            &[
                (good.clone(), true),
                (other, false),
                (first, false),
                // The MAC's last byte is the frame's last byte: still checked.
                (good[..12].to_vec(), true),
                (good[..11].to_vec(), false),
                (good[..3].to_vec(), false),
            ],
        );
    }

    #[test]
    fn vlan_rule_takes_the_first_tag_of_two() {
        let cfg = settings(Template { vlan: Some(0x123), ..Default::default() });
        let tagged = |tags: &[(u16, u16)]| [eth(MAC, tags, 0x0800), ipv4(5, IP4, 17, 0), l4(1)].concat();
        let qinq = tagged(&[(0x88A8, 0x5123), (0x8100, 0x0456)]);
        expect(
            cfg,
            &[
                // Priority bits above the VID are ignored.
                (tagged(&[(0x8100, 0xE123)]), true),
                (tagged(&[(0x8100, 0x0124)]), false),
                (qinq.clone(), true),
                (tagged(&[(0x88A8, 0x0456), (0x8100, 0x0123)]), false),
                (tagged(&[]), false),
                // Cut inside the first tag's VID.
                (qinq[..15].to_vec(), false),
                (qinq[..16].to_vec(), true),
            ],
        );
    }

    #[test]
    fn ipv4_source_rule_with_tags_and_options() {
        let cfg = settings(Template { src_ip: Some(IpAddr::from(IP4)), ..Default::default() });
        let plain = udp4(MAC, IP4, 1);
        let opts = [eth(MAC, &[], 0x0800), ipv4(8, IP4, 6, 0), l4(1)].concat();
        let qinq = [eth(MAC, &[(0x88A8, 1), (0x8100, 2)], 0x0800), ipv4(5, IP4, 17, 0)].concat();
        let three = [eth(MAC, &[(0x8100, 1), (0x8100, 2), (0x8100, 3)], 0x0800), ipv4(5, IP4, 17, 0)].concat();
        let mut wrong_version = plain.clone();
        wrong_version[14] = 0x65;
        expect(
            cfg,
            &[
                (plain.clone(), true),
                (udp4(MAC, [10, 1, 2, 4], 1), false),
                (opts, true),
                (qinq, true),
                // A third tag is not a tag: the type there is 0x8100, not IP.
                (three, false),
                (wrong_version, false),
                ([eth(MAC, &[], 0x86DD), ipv6(IP6, 17)].concat(), false),
                // Cut right after / inside the source address.
                (plain[..30].to_vec(), true),
                (plain[..29].to_vec(), false),
                (plain[..14].to_vec(), false),
            ],
        );
    }

    #[test]
    fn ipv6_source_rule() {
        let cfg = settings(Template { src_ip: Some(IpAddr::from(IP6)), ..Default::default() });
        let good = [eth(MAC, &[], 0x86DD), ipv6(IP6, 6), l4(7)].concat();
        let mut high = good.clone();
        high[22] ^= 0x01;
        let mut low = good.clone();
        low[37] ^= 0x10;
        let tagged = [eth(MAC, &[(0x8100, 9)], 0x86DD), ipv6(IP6, 6)].concat();
        expect(
            cfg,
            &[
                (good.clone(), true),
                (high, false),
                (low, false),
                (tagged, true),
                (udp4(MAC, IP4, 7), false),
                (good[..38].to_vec(), true),
                (good[..37].to_vec(), false),
            ],
        );
    }

    #[test]
    fn port_rule_needs_tcp_or_udp_and_no_later_fragment() {
        let cfg = settings(Template { src_port: Some(5000), ..Default::default() });
        let v4 = |ihl: u8, proto: u8, frag: u16, sport: u16| {
            [eth(MAC, &[], 0x0800), ipv4(ihl, IP4, proto, frag), l4(sport)].concat()
        };
        let v6 = |next: u8, sport: u16| [eth(MAC, &[], 0x86DD), ipv6(IP6, next), l4(sport)].concat();
        expect(
            cfg,
            &[
                (v4(5, 17, 0, 5000), true),
                (v4(5, 6, 0, 5000), true),
                (v4(5, 6, 0, 5001), false),
                (v4(5, 1, 0, 5000), false),
                // More-fragments with offset 0 is a first fragment: allowed.
                (v4(5, 17, 0x2000, 5000), true),
                (v4(5, 17, 0x0001, 5000), false),
                (v4(5, 17, 0x1000, 5000), false),
                // The DF flag is not part of the offset.
                (v4(5, 17, 0x4000, 5000), true),
                (v4(15, 17, 0, 5000), true),
                (v4(15, 17, 0, 5000)[..14 + 60 + 1].to_vec(), false),
                (v4(15, 17, 0, 5000)[..14 + 60 + 2].to_vec(), true),
                (v6(17, 5000), true),
                (v6(6, 4999), false),
                // A hop-by-hop header is not walked.
                (v6(0, 5000), false),
                ([eth(MAC, &[], 0x0806), vec![0; 28]].concat(), false),
            ],
        );
    }

    #[test]
    fn short_ihl_puts_the_port_inside_the_ip_header() {
        let cfg = settings(Template { src_port: Some(0x4000 | 1), ..Default::default() });
        // IHL 1: L4 at l3 + 4, which is the header's identification field
        // (0x0001 here, from ipv4()): the port read there is 0x0001.
        let mut f = [eth(MAC, &[], 0x0800), ipv4(5, IP4, 17, 0), l4(9)].concat();
        f[14] = 0x41;
        let cfg1 = settings(Template { src_port: Some(1), ..Default::default() });
        // IHL 0: the port's first byte is the version byte itself.
        let mut g = f.clone();
        g[14] = 0x40;
        g[15] = 0x01;
        expect(cfg1, &[(f.clone(), true)]);
        expect(cfg, &[(g, true), (f, false)]);
    }

    #[test]
    fn all_checks_together() {
        let cfg = settings(Template { vlan: Some(7), ..full() });
        let good = [eth(MAC, &[(0x8100, 7)], 0x0800), ipv4(5, IP4, 17, 0), l4(5000)].concat();
        let mut bad_mac = good.clone();
        bad_mac[6] = 0;
        let mut bad_vlan = good.clone();
        bad_vlan[15] = 8;
        let mut bad_ip = good.clone();
        bad_ip[18 + 12] = 0;
        let mut bad_port = good.clone();
        bad_port[38 + 1] = 0;
        expect(
            cfg,
            &[
                (good.clone(), true),
                (bad_mac, false),
                (bad_vlan, false),
                (bad_ip, false),
                (bad_port, false),
                (good, true),
            ],
        );
    }

    #[test]
    fn agrees_with_the_model_on_damaged_frames() {
        // Every check on, frames of every kind cut at every length and with
        // single bytes flipped: the block and the model must agree.
        let mut bases = vec![
            [eth(MAC, &[(0x8100, 7)], 0x0800), ipv4(6, IP4, 17, 0), l4(5000)].concat(),
            [eth(MAC, &[(0x88A8, 7), (0x8100, 3)], 0x86DD), ipv6(IP6, 6), l4(5000)].concat(),
        ];
        bases.push(udp4(MAC, IP4, 5000));
        let mut frames = vec![];
        let mut x = 12345u32;
        for b in &bases {
            for cut in 1..=b.len() {
                frames.push(b[..cut].to_vec());
            }
            for _ in 0..40 {
                x = x.wrapping_mul(1103515245).wrapping_add(12345);
                let mut f = b.clone();
                f[(x >> 8) as usize % b.len()] ^= 1 << ((x >> 4) % 8);
                frames.push(f);
            }
        }
        for (tpl, v6) in [
            (Template { vlan: Some(7), ..full() }, false),
            (Template { vlan: Some(7), src_ip: Some(IpAddr::from(IP6)), ..full() }, true),
        ] {
            let cfg = settings(tpl);
            assert_eq!(cfg.ip_v6, v6);
            let model: Vec<bool> = frames.iter().map(|f| model_ok(&cfg, f)).collect();
            assert!(model.iter().any(|&m| m) && model.iter().any(|&m| !m));
            assert_eq!(verdicts(cfg, &frames), model);
        }
    }

    #[test]
    fn generates_verilog() {
        let mut uut = TxTemplateCheck::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
        if let Ok(p) = std::env::var("DUMP_VERILOG") {
            std::fs::write(p, v).unwrap();
        }
    }
}
