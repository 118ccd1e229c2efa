//! Streaming header parser: watches the checked receive stream one byte per
//! cycle and, three cycles after each frame's last byte, reports what it
//! found and the frame's RSS hash, computed on the fly from the bytes as
//! they pass. The rules are outlined in `crate::filter` and stated exactly,
//! rule by rule, in the host driver's `demux/parse.rs`, which the model runs
//! and the differential tests hold this block to.
//!
//! It never stalls the stream and keeps no copy of the frame: each header
//! is walked by position, with `base` the offset where the current header
//! starts and `rel` the current byte's offset inside it. The report for one
//! frame is taken from registers in the same cycle as the next frame's
//! first byte updates them, with its length checks compared there too; the
//! next cycle turns those into the reason, so frames may follow each other
//! with no gap.
//!
//! For 125 MHz the per-byte state machine compares nothing against `rel`:
//! every offset it acts on is a flag in `at`, computed for the next byte
//! while the current one is handled (from `rel` plus one, or for offset 0
//! when the header changes), so a byte's decisions read flags rather than
//! decode an 11-bit count behind the state.

use crate::filter::Reason;
use crate::params::DATA_BITS;
use crate::ports::ParsedFrame;
use rust_hdl::prelude::*;

/// The current byte's offset `rel` inside its header, decoded: `oK` is
/// `rel % 64 == K`, the ranges are the address bytes of IPv4 and IPv6
/// (also modulo 64), `x0`/`x1` are the full 11-bit `rel` being 0 or 1 (an
/// IPv6 extension header is longer than 64 bytes), and the three `*_end`
/// flags are `rel` reaching the last byte of the IPv4, TCP and extension
/// header as their length fields gave it.
#[derive(Copy, Clone, Debug, Default, PartialEq, LogicStruct)]
struct At {
    o0: bool,
    o2: bool,
    o3: bool,
    o4: bool,
    o5: bool,
    o6: bool,
    o7: bool,
    o9: bool,
    o12: bool,
    o39: bool,
    lt2: bool,
    lt4: bool,
    src4: bool,
    dst4: bool,
    src6: bool,
    dst6: bool,
    x0: bool,
    x1: bool,
    ihl_end: bool,
    l4_end: bool,
    ext_end: bool,
}

#[derive(LogicBlock, Default)]
pub struct HeaderParser {
    pub clock: Signal<In, Clock>,
    pub data: Signal<In, Bits<DATA_BITS>>,
    pub valid: Signal<In, Bit>,
    pub last: Signal<In, Bit>,
    pub error: Signal<In, Bit>,
    /// The RSS secret key (first byte on top), taken at each frame's start.
    pub rss_key: Signal<In, Bits<320>>,
    /// One-cycle pulse: `result` describes the frame that just ended.
    pub result_valid: Signal<Out, Bit>,
    pub result: Signal<Out, ParsedFrame>,

    in_frame: DFF<Bit>,
    pos: DFF<Bits<16>>,
    /// The current byte's position is 0xFFFF, where it stays.
    p_sat: DFF<Bit>,
    /// For the current byte: its position is 6 or more, and it is 11 (the
    /// MAC addresses' last byte); both clear for a frame's first byte.
    mac_full: DFF<Bit>,
    mac_end: DFF<Bit>,
    /// Which header the current byte belongs to, one-hot so that no
    /// decoding stands between it and the next-state logic: bit 8 clear
    /// for the two MAC addresses (also the reset state), else bit 0 an
    /// ethertype (or a tag protocol identifier), 1 a VLAN tag's control
    /// information, 2 IPv4, 3 IPv6, 4 an IPv6 hop-by-hop, routing or
    /// destination options header, 5 the first byte of an IPv6 fragment
    /// header, 6 a TCP or UDP header, 7 nothing more to parse.
    state: DFF<Bits<9>>,
    base: DFF<Bits<16>>,
    tags: DFF<Bits<2>>,
    held: DFF<Bits<8>>,
    /// `held` is 0x81, 0x88, 0x08, 0x86 (bits 0 to 3): the first bytes of
    /// the ethertypes the `Type` header tells apart, classified as taken.
    held_class: DFF<Bits<4>>,
    vlan_id: DFF<Bits<12>>,
    vlan_seen: DFF<Bit>,
    ip: DFF<Bit>,
    v6: DFF<Bit>,
    mac: DFF<Bits<48>>,
    protocol: DFF<Bits<8>>,
    /// The addresses and the RSS hash are wide (128, 128, 32 + the 320-bit
    /// key) and loaded from byte decodes: they take their bytes a cycle
    /// late, from `cap_*`, so each load enable is one register fanning out
    /// rather than the end of the state decode (the routed board's worst
    /// path). They are complete by the report's second cycle, where `out`
    /// takes them directly.
    src_addr: DFF<Bits<128>>,
    dst_addr: DFF<Bits<128>>,
    cap_data: DFF<Bits<8>>,
    cap_src: DFF<Bit>,
    cap_dst: DFF<Bit>,
    cap_feed: DFF<Bit>,
    cap_clear: DFF<Bit>,
    ports: DFF<Bit>,
    src_port: DFF<Bits<16>>,
    dst_port: DFF<Bits<16>>,
    ihl_bytes: DFF<Bits<8>>,
    /// The header lengths in their own units less one (IHL - 1, TCP data
    /// offset - 1, the extension header's length byte): the byte before a
    /// header's last is at `rel` = that * 4 + 2 (modulo 64), or * 8 + 6
    /// for the extension header, when its `*_end` flag is computed.
    ihl_m1: DFF<Bits<4>>,
    ext_m1: DFF<Bits<8>>,
    l4_m1: DFF<Bits<4>>,
    ip_len: DFF<Bits<16>>,
    frag_hi: DFF<Bits<8>>,
    fragment: DFF<Bit>,
    ip_end: DFF<Bits<17>>,
    need_end: DFF<Bits<17>>,
    next_hdr: DFF<Bits<8>>,
    /// The current byte's offset in its header: counts up with `pos` and
    /// restarts whenever `base` moves to the next byte. Only as wide as the
    /// decoding needs: no header is walked past its last byte, and the
    /// longest, an IPv6 extension header, ends by offset 2047; IPv4, IPv6
    /// and TCP headers by 59, the tags and types by 1, so their offsets
    /// use the low 6 bits. (Past a header, in `Done`, `rel` is not looked
    /// at.)
    rel_q: DFF<Bits<11>>,
    /// `rel_q` decoded; changes exactly when `rel_q` does.
    at: DFF<At>,
    /// The current byte is the last of an IPv4 header that is not a
    /// fragment, of an IPv6 header or of an extension header, so the next
    /// header is chosen by the class of its protocol / next header. Set
    /// from the previous byte's header and `rel` + 1: a header only
    /// changes with `rel` restarting or by going to `Done`, both on a byte
    /// whose next offset is none of these ends.
    ends: DFF<Bit>,
    /// Whether `next_hdr` and `protocol` name an extension header (0, 43,
    /// 60), a fragment header (44), TCP or UDP, or UDP, bits 0 to 3,
    /// classified as they are taken so the dispatch does not compare them.
    nh_class: DFF<Bits<4>>,
    proto_class: DFF<Bits<4>>,
    /// The report as the last byte left the registers (`res`, its reason
    /// left 0) and the checks its reason needs, then the report itself.
    res_valid: DFF<Bit>,
    res: DFF<ParsedFrame>,
    r_error: DFF<Bit>,
    r_verdict: DFF<Bits<4>>,
    r_open: DFF<Bit>,
    r_short_ip: DFF<Bit>,
    r_past_frame: DFF<Bit>,
    r_past_ip: DFF<Bit>,
    out_valid: DFF<Bit>,
    out: DFF<ParsedFrame>,
    verdict: DFF<Bits<4>>,
    rss_hash: DFF<Bits<32>>,
    /// The key, shifted one byte per hashed input byte.
    key_shift: DFF<Bits<320>>,
    finishing: DFF<Bit>,
    frame_error: DFF<Bit>,
    frame_len: DFF<Bits<17>>,
    st: Signal<Local, Bits<9>>,
    p: Signal<Local, Bits<16>>,
    q6: Signal<Local, Bits<6>>,
    at_inc: Signal<Local, At>,
    ends_inc: Signal<Local, Bit>,
    at_zero: Signal<Local, At>,
    data_class: Signal<Local, Bits<4>>,
    data_held_class: Signal<Local, Bits<4>>,
    dispatch_class: Signal<Local, Bits<4>>,
    next_base: Signal<Local, Bits<16>>,
    ethertype: Signal<Local, Bits<16>>,
    dispatch: Signal<Local, Bit>,
    dispatch_nh: Signal<Local, Bits<8>>,
    feed: Signal<Local, Bit>,
    to_src: Signal<Local, Bit>,
    to_dst: Signal<Local, Bit>,
    clear: Signal<Local, Bit>,
    rss_mix: Signal<Local, Bits<32>>,
    c_reason: Signal<Local, Bits<4>>,
}

// The kernel below writes reason codes as literals (rust-hdl cannot name
// a Rust constant in Verilog); these pin them to the shared enum.
const _: () = {
    assert!(Reason::Fragment as u8 == 2);
    assert!(Reason::Truncated as u8 == 3);
    assert!(Reason::BadIpv4 as u8 == 4);
    assert!(Reason::BadIpv6 as u8 == 5);
    assert!(Reason::BadL4 as u8 == 6);
    assert!(Reason::BadTags as u8 == 7);
    assert!(Reason::FrameError as u8 == 8);
};

impl Logic for HeaderParser {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, in_frame, pos, p_sat, mac_full, mac_end, state, base, tags, held, held_class,
            vlan_id, vlan_seen, ip, v6, mac, protocol, src_addr, dst_addr, ports, src_port,
            dst_port, ihl_bytes, ihl_m1, ext_m1, l4_m1, ip_len, frag_hi, fragment, ip_end,
            need_end, next_hdr, rel_q, at, ends, nh_class, proto_class, res_valid, res, r_error,
            r_verdict, r_open, r_short_ip, r_past_frame, r_past_ip, out_valid, out, verdict,
            rss_hash, key_shift, finishing, frame_error, frame_len, cap_data, cap_src, cap_dst,
            cap_feed, cap_clear
        );
        // A frame's first byte starts from a clean slate. (The headers'
        // branches below are separate `if`s: one-hot, at most one applies.)
        self.st.next = self.state.q.val();
        self.p.next = self.pos.q.val();
        if !self.in_frame.q.val() {
            self.st.next = 0.into();
            self.p.next = 0.into();
        }

        // The next byte's `at`: `rel` + 1 decoded from `rel` (each offset
        // K is `rel % 64 == K - 1`), or offset 0 when its header starts.
        // The `*_end` flags are never set from the byte that writes their
        // length (IPv4 offset 0, extension offset 1, TCP offset 12), while
        // their register is still the old one: their low bits differ.
        self.q6.next = self.rel_q.q.val().get_bits::<6>(0);
        self.at_inc.next.o0 = self.q6.val() == 63;
        self.at_inc.next.o2 = self.q6.val() == 1;
        self.at_inc.next.o3 = self.q6.val() == 2;
        self.at_inc.next.o4 = self.q6.val() == 3;
        self.at_inc.next.o5 = self.q6.val() == 4;
        self.at_inc.next.o6 = self.q6.val() == 5;
        self.at_inc.next.o7 = self.q6.val() == 6;
        self.at_inc.next.o9 = self.q6.val() == 8;
        self.at_inc.next.o12 = self.q6.val() == 11;
        self.at_inc.next.o39 = self.q6.val() == 38;
        self.at_inc.next.lt2 = (self.q6.val() == 63) | (self.q6.val() == 0);
        self.at_inc.next.lt4 = (self.q6.val() == 63) | (self.q6.val() < 3);
        self.at_inc.next.src4 = (self.q6.val() >= 11) & (self.q6.val() < 15);
        self.at_inc.next.dst4 = (self.q6.val() >= 15) & (self.q6.val() < 19);
        self.at_inc.next.src6 = (self.q6.val() >= 7) & (self.q6.val() < 23);
        self.at_inc.next.dst6 = (self.q6.val() >= 23) & (self.q6.val() < 39);
        self.at_inc.next.x0 = self.rel_q.q.val() == 2047;
        self.at_inc.next.x1 = self.rel_q.q.val() == 0;
        // (With the low bits 2, resp. 6, `rel` + 1 is neither 0 nor 1.)
        self.at_inc.next.ihl_end = (self.q6.val().get_bits::<2>(0) == 2)
            & (self.q6.val().get_bits::<4>(2) == self.ihl_m1.q.val());
        self.at_inc.next.l4_end = (self.q6.val().get_bits::<2>(0) == 2)
            & (self.q6.val().get_bits::<4>(2) == self.l4_m1.q.val())
            & (self.q6.val() > 12);
        self.at_inc.next.ext_end = (self.rel_q.q.val().get_bits::<3>(0) == 6)
            & (self.rel_q.q.val().get_bits::<8>(3) == self.ext_m1.q.val());
        self.ends_inc.next = (self.st.val().get_bit(2) & self.at_inc.val().ihl_end & !self.fragment.q.val())
            | (self.st.val().get_bit(3) & self.at_inc.val().o39)
            | (self.st.val().get_bit(4) & self.at_inc.val().ext_end);
        self.at_zero.next.o0 = true;
        self.at_zero.next.o2 = false;
        self.at_zero.next.o3 = false;
        self.at_zero.next.o4 = false;
        self.at_zero.next.o5 = false;
        self.at_zero.next.o6 = false;
        self.at_zero.next.o7 = false;
        self.at_zero.next.o9 = false;
        self.at_zero.next.o12 = false;
        self.at_zero.next.o39 = false;
        self.at_zero.next.lt2 = true;
        self.at_zero.next.lt4 = true;
        self.at_zero.next.src4 = false;
        self.at_zero.next.dst4 = false;
        self.at_zero.next.src6 = false;
        self.at_zero.next.dst6 = false;
        self.at_zero.next.x0 = true;
        self.at_zero.next.x1 = false;
        self.at_zero.next.ihl_end = false;
        self.at_zero.next.l4_end = false;
        self.at_zero.next.ext_end = false;

        self.data_class.next = 0.into();
        if (self.data.val() == 0) | (self.data.val() == 43) | (self.data.val() == 60) {
            self.data_class.next = 1.into();
        }
        if self.data.val() == 44 {
            self.data_class.next = 2.into();
        }
        if self.data.val() == 6 {
            self.data_class.next = 4.into();
        }
        if self.data.val() == 17 {
            self.data_class.next = 12.into();
        }
        self.data_held_class.next = 0.into();
        if self.data.val() == 0x81 {
            self.data_held_class.next = 1.into();
        }
        if self.data.val() == 0x88 {
            self.data_held_class.next = 2.into();
        }
        if self.data.val() == 0x08 {
            self.data_held_class.next = 4.into();
        }
        if self.data.val() == 0x86 {
            self.data_held_class.next = 8.into();
        }
        self.next_base.next = self.p.val() + 1;
        self.ethertype.next =
            (bit_cast::<16, 8>(self.held.q.val()) << 8) | bit_cast::<16, 8>(self.data.val());
        self.dispatch.next = self.ends.q.val();
        // Only the IPv4 header dispatches on its protocol; the IPv6 header
        // and the extension headers on their next header.
        self.dispatch_nh.next = self.next_hdr.q.val();
        self.dispatch_class.next = self.nh_class.q.val();
        if self.st.val().get_bit(2) {
            self.dispatch_nh.next = self.protocol.q.val();
            self.dispatch_class.next = self.proto_class.q.val();
        }
        self.feed.next = false;
        self.to_src.next = false;
        self.to_dst.next = false;
        self.clear.next = false;
        self.finishing.d.next = false;

        // The RSS hash takes each input byte's bits most significant first,
        // each selecting the 32 key bits starting at its own position.
        self.rss_mix.next = self.rss_hash.q.val();
        for j in 0..8 {
            if self.cap_data.q.val().get_bit(7 - j) {
                self.rss_mix.next = self.rss_mix.val() ^ self.key_shift.q.val().get_bits::<32>(288 - j);
            }
        }

        if self.valid.val() {
            self.in_frame.d.next = !self.last.val();
            // `rel` restarts only on a header's last byte, for which the
            // next byte is none of the ends, so `ends_inc` is already clear
            // there. While `pos` is stuck at 0xFFFF, `rel` stands still, but
            // then a set `ends` dispatches and restarts it: clear either way.
            self.ends.d.next = !self.last.val() & !self.p_sat.q.val() & self.ends_inc.val();
            if !self.p_sat.q.val() {
                self.pos.d.next = self.p.val() + 1;
                self.p_sat.d.next = self.p.val() == 0xFFFE;
                self.rel_q.d.next = self.rel_q.q.val() + 1;
                self.at.d.next = self.at_inc.val();
                self.mac_full.d.next = self.p.val() >= 5;
                self.mac_end.d.next = self.p.val() == 10;
            }
            if !self.in_frame.q.val() {
                self.state.d.next = 0.into();
                self.tags.d.next = 0.into();
                self.vlan_seen.d.next = false;
                self.ip.d.next = false;
                self.v6.d.next = false;
                self.ports.d.next = false;
                self.fragment.d.next = false;
                self.verdict.d.next = 0.into();
                self.clear.next = true;
                self.src_port.d.next = 0.into();
                self.dst_port.d.next = 0.into();
                self.protocol.d.next = 0.into();
                self.proto_class.d.next = 1.into();
                self.need_end.d.next = 0.into();
                self.ip_end.d.next = 0.into();
            }
            if self.last.val() {
                self.finishing.d.next = true;
                self.frame_error.d.next = self.error.val();
                self.frame_len.d.next = bit_cast::<17, 16>(self.p.val()) + 1;
                self.mac_full.d.next = false;
                self.mac_end.d.next = false;
                self.p_sat.d.next = false;
            }

            if !self.st.val().get_bit(8) {
                if !self.mac_full.q.val() {
                    self.mac.d.next = (self.mac.q.val() << 8) | bit_cast::<48, 8>(self.data.val());
                }
                if self.mac_end.q.val() {
                    self.state.d.next = 0x101.into();
                    self.base.d.next = 12.into();
                    self.rel_q.d.next = 0.into();
                    self.at.d.next = self.at_zero.val();
                }
            }
            if self.st.val().get_bit(0) {
                if self.at.q.val().o0 {
                    self.held.d.next = self.data.val();
                    self.held_class.d.next = self.data_held_class.val();
                } else {
                    self.base.d.next = self.next_base.val();
                    self.rel_q.d.next = 0.into();
                    self.at.d.next = self.at_zero.val();
                    if (self.held_class.q.val().get_bit(0) & (self.data.val() == 0x00))
                        | (self.held_class.q.val().get_bit(1) & (self.data.val() == 0xA8))
                    {
                        if self.tags.q.val() == 2 {
                            self.verdict.d.next = 7.into();
                            self.state.d.next = 0x180.into();
                        } else {
                            self.state.d.next = 0x102.into();
                        }
                    } else if self.held_class.q.val().get_bit(2) & (self.data.val() == 0x00) {
                        self.ip.d.next = true;
                        self.state.d.next = 0x104.into();
                    } else if self.held_class.q.val().get_bit(3) & (self.data.val() == 0xDD) {
                        self.ip.d.next = true;
                        self.v6.d.next = true;
                        self.state.d.next = 0x108.into();
                    } else {
                        self.state.d.next = 0x180.into();
                    }
                }
            }
            if self.st.val().get_bit(1) {
                if self.at.q.val().o0 {
                    self.held.d.next = self.data.val();
                    self.held_class.d.next = self.data_held_class.val();
                } else {
                    if self.tags.q.val() == 0 {
                        self.vlan_seen.d.next = true;
                        self.vlan_id.d.next = (bit_cast::<12, 8>(self.held.q.val() & 0x0F) << 8)
                            | bit_cast::<12, 8>(self.data.val());
                    }
                    self.tags.d.next = self.tags.q.val() + 1;
                    self.state.d.next = 0x101.into();
                    self.base.d.next = self.next_base.val();
                    self.rel_q.d.next = 0.into();
                    self.at.d.next = self.at_zero.val();
                }
            }
            if self.st.val().get_bit(2) {
                if self.at.q.val().o0 {
                    self.ihl_bytes.d.next = bit_cast::<8, 4>(self.data.val().get_bits::<4>(0)) << 2;
                    self.ihl_m1.d.next = self.data.val().get_bits::<4>(0) - 1;
                    if (self.data.val().get_bits::<4>(4) != 4) | (self.data.val().get_bits::<4>(0) < 5) {
                        self.verdict.d.next = 4.into();
                        self.state.d.next = 0x180.into();
                    }
                }
                if self.at.q.val().o2 {
                    self.held.d.next = self.data.val();
                    self.held_class.d.next = self.data_held_class.val();
                }
                if self.at.q.val().o3 {
                    self.ip_len.d.next = self.ethertype.val();
                }
                if self.at.q.val().o6 {
                    self.frag_hi.d.next = self.data.val();
                }
                if self.at.q.val().o7 {
                    self.fragment.d.next = (self.frag_hi.q.val() & 0x3F).any() | self.data.val().any();
                }
                if self.at.q.val().o9 {
                    self.protocol.d.next = self.data.val();
                    self.proto_class.d.next = self.data_class.val();
                }
                if self.at.q.val().src4 {
                    self.to_src.next = true;
                    self.feed.next = true;
                }
                if self.at.q.val().dst4 {
                    self.to_dst.next = true;
                    self.feed.next = true;
                }
                if self.at.q.val().ihl_end {
                    if self.fragment.q.val() {
                        self.verdict.d.next = 2.into();
                        self.state.d.next = 0x180.into();
                    } else {
                        self.ip_end.d.next =
                            bit_cast::<17, 16>(self.base.q.val()) + bit_cast::<17, 16>(self.ip_len.q.val());
                    }
                }
            }
            if self.st.val().get_bit(3) {
                if self.at.q.val().o0 & (self.data.val().get_bits::<4>(4) != 6) {
                    self.verdict.d.next = 5.into();
                    self.state.d.next = 0x180.into();
                }
                if self.at.q.val().o4 {
                    self.held.d.next = self.data.val();
                    self.held_class.d.next = self.data_held_class.val();
                }
                if self.at.q.val().o5 {
                    self.ip_len.d.next = self.ethertype.val();
                }
                if self.at.q.val().o6 {
                    self.next_hdr.d.next = self.data.val();
                    self.nh_class.d.next = self.data_class.val();
                }
                if self.at.q.val().src6 {
                    self.to_src.next = true;
                    self.feed.next = true;
                }
                if self.at.q.val().dst6 {
                    self.to_dst.next = true;
                    self.feed.next = true;
                }
                if self.at.q.val().o39 {
                    self.ip_end.d.next = bit_cast::<17, 16>(self.base.q.val())
                        + bit_cast::<17, 16>(self.ip_len.q.val())
                        + 40;
                }
            }
            if self.st.val().get_bit(4) {
                if self.at.q.val().x0 {
                    self.next_hdr.d.next = self.data.val();
                    self.nh_class.d.next = self.data_class.val();
                }
                if self.at.q.val().x1 {
                    self.ext_m1.d.next = self.data.val();
                }
            }
            if self.st.val().get_bit(5) {
                self.verdict.d.next = 2.into();
                self.state.d.next = 0x180.into();
            }
            if self.st.val().get_bit(6) {
                if self.at.q.val().lt2 {
                    self.src_port.d.next = (self.src_port.q.val() << 8) | bit_cast::<16, 8>(self.data.val());
                    self.feed.next = true;
                } else if self.at.q.val().lt4 {
                    self.dst_port.d.next = (self.dst_port.q.val() << 8) | bit_cast::<16, 8>(self.data.val());
                    self.feed.next = true;
                }
                // Bit 3 of the class: the protocol is UDP.
                if self.proto_class.q.val().get_bit(3) {
                    if self.at.q.val().o7 {
                        self.state.d.next = 0x180.into();
                        self.need_end.d.next = bit_cast::<17, 16>(self.next_base.val());
                    }
                } else {
                    if self.at.q.val().o12 {
                        self.l4_m1.d.next = self.data.val().get_bits::<4>(4) - 1;
                        if self.data.val().get_bits::<4>(4) < 5 {
                            self.verdict.d.next = 6.into();
                            self.state.d.next = 0x180.into();
                        }
                    }
                    if self.at.q.val().l4_end {
                        self.state.d.next = 0x180.into();
                        self.need_end.d.next = bit_cast::<17, 16>(self.next_base.val());
                    }
                }
            }

            // The current header ended: decide what follows it.
            if self.dispatch.val() {
                self.base.d.next = self.next_base.val();
                self.rel_q.d.next = 0.into();
                self.at.d.next = self.at_zero.val();
                self.need_end.d.next = bit_cast::<17, 16>(self.next_base.val());
                if self.dispatch_class.val().get_bit(0) {
                    self.state.d.next = 0x110.into();
                } else if self.dispatch_class.val().get_bit(1) {
                    self.state.d.next = 0x120.into();
                } else {
                    self.protocol.d.next = self.dispatch_nh.val();
                    self.proto_class.d.next = self.dispatch_class.val();
                    if self.dispatch_class.val().get_bit(2) {
                        self.ports.d.next = true;
                        self.state.d.next = 0x140.into();
                    } else {
                        self.state.d.next = 0x180.into();
                    }
                }
            }
        }

        // The capture stage, a cycle behind the decode.
        self.cap_data.d.next = self.data.val();
        self.cap_src.d.next = self.to_src.val();
        self.cap_dst.d.next = self.to_dst.val();
        self.cap_feed.d.next = self.feed.val();
        self.cap_clear.d.next = self.clear.val();
        if self.cap_clear.q.val() {
            self.src_addr.d.next = 0.into();
            self.dst_addr.d.next = 0.into();
            self.rss_hash.d.next = 0.into();
            self.key_shift.d.next = self.rss_key.val();
        }
        if self.cap_src.q.val() {
            self.src_addr.d.next = (self.src_addr.q.val() << 8) | bit_cast::<128, 8>(self.cap_data.q.val());
        }
        if self.cap_dst.q.val() {
            self.dst_addr.d.next = (self.dst_addr.q.val() << 8) | bit_cast::<128, 8>(self.cap_data.q.val());
        }
        if self.cap_feed.q.val() {
            self.rss_hash.d.next = self.rss_mix.val();
            self.key_shift.d.next = self.key_shift.q.val() << 8;
        }

        // The report, from the registers as the last byte left them, with
        // the length checks compared but not yet combined.
        self.res_valid.d.next = self.finishing.q.val();
        self.r_error.d.next = self.frame_error.q.val();
        self.r_verdict.d.next = self.verdict.q.val();
        self.r_open.d.next = !self.state.q.val().get_bit(7);
        self.r_short_ip.d.next =
            !self.v6.q.val() & (self.ip_len.q.val() < bit_cast::<16, 8>(self.ihl_bytes.q.val()));
        self.r_past_frame.d.next = self.ip_end.q.val() > self.frame_len.q.val();
        self.r_past_ip.d.next = self.need_end.q.val() > self.ip_end.q.val();
        self.res.d.next.reason = 0.into();
        self.res.d.next.dst_mac = self.mac.q.val();
        self.res.d.next.vlan_valid = self.vlan_seen.q.val();
        self.res.d.next.vlan = self.vlan_id.q.val();
        self.res.d.next.is_ip = self.ip.q.val();
        self.res.d.next.is_v6 = self.v6.q.val();
        self.res.d.next.proto = self.protocol.q.val();
        self.res.d.next.has_ports = self.ports.q.val();
        self.res.d.next.sport = self.src_port.q.val();
        self.res.d.next.dport = self.dst_port.q.val();

        // A cycle later, the reason.
        self.c_reason.next = 0.into();
        if self.r_error.q.val() {
            self.c_reason.next = 8.into();
        } else if self.r_verdict.q.val() != 0 {
            self.c_reason.next = self.r_verdict.q.val();
        } else if self.r_open.q.val() {
            self.c_reason.next = 3.into();
        } else if self.res.q.val().is_ip {
            if self.r_short_ip.q.val() {
                self.c_reason.next = 4.into();
            } else if self.r_past_frame.q.val() | self.r_past_ip.q.val() {
                self.c_reason.next = 3.into();
            }
        }
        self.out_valid.d.next = self.res_valid.q.val();
        self.out.d.next = self.res.q.val();
        self.out.d.next.reason = self.c_reason.val();
        self.out.d.next.src = self.src_addr.q.val();
        self.out.d.next.dst = self.dst_addr.q.val();
        self.out.d.next.rss = self.rss_hash.q.val();
        self.result_valid.next = self.out_valid.q.val();
        self.result.next = self.out.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{rss_hash, Flow, IpFlow};
    use crate::harness::Harness;

    #[derive(Debug, PartialEq)]
    struct Report {
        reason: u64,
        flow: Flow,
        rss: u32,
    }

    /// Streams frames with `gap` idle cycles between them; returns one
    /// report per frame.
    fn parse(frames: &[Vec<u8>], gap: usize) -> Vec<Report> {
        let mut h = Harness::new(HeaderParser::default(), |p| &mut p.clock);
        let mut key: Bits<320> = 0.into();
        for &byte in crate::filter::RSS_KEY.iter() {
            key = (key << 8) | bit_cast::<320, 8>((byte as u64).into());
        }
        h.uut.rss_key.next = key;
        let mut out = vec![];
        let beats: Vec<Option<(u8, bool)>> = frames
            .iter()
            .flat_map(|f| {
                let n = f.len();
                f.iter()
                    .enumerate()
                    .map(move |(i, &b)| Some((b, i + 1 == n)))
                    .chain(std::iter::repeat_n(None, gap))
            })
            .chain(std::iter::repeat_n(None, 3))
            .collect();
        for beat in beats {
            h.uut.valid.next = beat.is_some();
            let (b, last) = beat.unwrap_or((0, false));
            h.uut.data.next = (b as u64).into();
            h.uut.last.next = last;
            h.uut.error.next = false;
            h.settle();
            if h.uut.result_valid.val() {
                let u = h.uut.result.val();
                let ip = u.is_ip.then(|| IpFlow {
                    v6: u.is_v6,
                    proto: u.proto.index() as u8,
                    src: wide(u.src),
                    dst: wide(u.dst),
                    ports: u.has_ports.then(|| (u.sport.index() as u16, u.dport.index() as u16)),
                });
                let mut mac = [0u8; 6];
                for (i, m) in mac.iter_mut().enumerate() {
                    *m = (u64::from(u.dst_mac) >> (40 - 8 * i)) as u8;
                }
                out.push(Report {
                    reason: u.reason.index() as u64,
                    flow: Flow { dst_mac: mac, vlan: u.vlan_valid.then(|| u.vlan.index() as u16), ip },
                    rss: u.rss.index() as u32,
                });
            }
            h.cycle();
        }
        out
    }

    fn wide(b: Bits<128>) -> u128 {
        u64::from(b.get_bits::<64>(0)) as u128 | (u64::from(b.get_bits::<64>(64)) as u128) << 64
    }

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x42];

    fn eth(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = MAC.to_vec();
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
        for &vid in tags {
            f.extend_from_slice(&[0x81, 0x00]);
            f.extend_from_slice(&vid.to_be_bytes());
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], options: usize, l4: &[u8], frag: u16) -> Vec<u8> {
        let ihl = 5 + options / 4;
        let total = (ihl * 4 + l4.len()) as u16;
        let mut h = vec![0x40 | ihl as u8, 0];
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&frag.to_be_bytes());
        h.extend_from_slice(&[64, proto, 0, 0]);
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h.extend(std::iter::repeat_n(1, options));
        h.extend_from_slice(l4);
        h
    }

    fn tcp(sport: u16, dport: u16, doff: u8) -> Vec<u8> {
        let mut t = sport.to_be_bytes().to_vec();
        t.extend_from_slice(&dport.to_be_bytes());
        t.extend_from_slice(&[0; 8]);
        t.push(doff << 4);
        t.extend_from_slice(&[0; 7]);
        t.extend(std::iter::repeat_n(0, (doff as usize * 4).saturating_sub(20)));
        t
    }

    fn ipv6(next: u8, src: u128, dst: u128, rest: &[u8]) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0];
        h.extend_from_slice(&(rest.len() as u16).to_be_bytes());
        h.extend_from_slice(&[next, 64]);
        h.extend_from_slice(&src.to_be_bytes());
        h.extend_from_slice(&dst.to_be_bytes());
        h.extend_from_slice(rest);
        h
    }

    fn v4flow(proto: u8, ports: Option<(u16, u16)>) -> Flow {
        Flow {
            dst_mac: MAC,
            vlan: None,
            ip: Some(IpFlow { v6: false, proto, src: 0x4209_95BB, dst: 0xA18E_6450, ports }),
        }
    }

    const SRC4: [u8; 4] = [66, 9, 149, 187];
    const DST4: [u8; 4] = [161, 142, 100, 80];

    #[test]
    fn parses_tcp_over_ipv4_with_options_and_hashes_it() {
        let f = eth(&[], 0x0800, &ipv4(6, SRC4, DST4, 8, &tcp(2794, 1766, 6), 0));
        let r = parse(&[f], 0);
        let flow = v4flow(6, Some((2794, 1766)));
        assert_eq!(r, vec![Report { reason: 0, flow, rss: 0x51ccc178 }]);
        assert_eq!(rss_hash(&flow), 0x51ccc178);
    }

    #[test]
    fn parses_vlans_and_non_ip_and_rejects_a_third_tag() {
        let arp = eth(&[100], 0x0806, &[0; 28]);
        let qinq = eth(&[7, 200], 0x0800, &ipv4(1, SRC4, DST4, 0, &[0; 8], 0));
        let three = eth(&[1, 2, 3], 0x0800, &[0; 40]);
        let r = parse(&[arp, qinq, three], 12);
        assert_eq!(r[0].reason, 0);
        assert_eq!(r[0].flow, Flow { dst_mac: MAC, vlan: Some(100), ip: None });
        assert_eq!(r[1].reason, 0);
        assert_eq!(r[1].flow.vlan, Some(7), "the outer tag is the frame's VLAN");
        assert_eq!(r[1].flow.ip.unwrap().ports, None);
        assert_eq!(r[1].rss, 0x323e8fc2, "non-TCP/UDP hashes the addresses only");
        assert_eq!(r[2].reason, Reason::BadTags as u64);
    }

    #[test]
    fn walks_the_ipv6_extension_chain() {
        let src = 0x3ffe_2501_0200_1fff_0000_0000_0000_0007u128;
        let dst = 0x3ffe_2501_0200_0003_0000_0000_0000_0001u128;
        let mut udp = 2794u16.to_be_bytes().to_vec();
        udp.extend_from_slice(&1766u16.to_be_bytes());
        udp.extend_from_slice(&[0, 8, 0, 0]);
        // Hop-by-hop (8 bytes) then destination options (16 bytes) then UDP.
        let mut chain = vec![60, 0, 0, 0, 0, 0, 0, 0, 17, 1];
        chain.extend_from_slice(&[0; 14]);
        chain.extend_from_slice(&udp);
        let f = eth(&[], 0x86DD, &ipv6(0, src, dst, &chain));
        let r = parse(std::slice::from_ref(&f), 0);
        assert_eq!(r[0].reason, 0);
        let ip = r[0].flow.ip.unwrap();
        assert_eq!((ip.v6, ip.proto, ip.src, ip.dst, ip.ports), (true, 17, src, dst, Some((2794, 1766))));
        assert_eq!(r[0].rss, 0x40207d3d);
        // The same through a fragment header is a fragment.
        let mut frag_chain = vec![44, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 1, 0, 0, 0, 9];
        frag_chain.extend_from_slice(&udp);
        let f = eth(&[], 0x86DD, &ipv6(0, src, dst, &frag_chain));
        assert_eq!(parse(&[f], 0)[0].reason, Reason::Fragment as u64);
    }

    #[test]
    fn reports_fragments_truncation_and_bad_headers() {
        let good = eth(&[], 0x0800, &ipv4(6, SRC4, DST4, 0, &tcp(1, 2, 5), 0));
        let cases: Vec<(Vec<u8>, Reason)> = vec![
            (eth(&[], 0x0800, &ipv4(17, SRC4, DST4, 0, &[0; 8], 0x2000)), Reason::Fragment),
            (eth(&[], 0x0800, &ipv4(17, SRC4, DST4, 0, &[0; 8], 0x0010)), Reason::Fragment),
            (good[..good.len() - 1].to_vec(), Reason::Truncated),
            (good[..30].to_vec(), Reason::Truncated),
            (good[..14].to_vec(), Reason::Truncated),
            (eth(&[], 0x0800, &ipv4(6, SRC4, DST4, 0, &tcp(1, 2, 4), 0)), Reason::BadL4),
            (eth(&[], 0x86DD, &[0x40; 60]), Reason::BadIpv6),
            ({
                let mut f = good.clone();
                f[14] = 0x44; // IHL 4
                f
            }, Reason::BadIpv4),
            ({
                let mut f = good.clone();
                f[17] = 10; // total length below the header's
                f
            }, Reason::BadIpv4),
            ({
                let mut f = good.clone();
                f[17] += 1; // total length one past the frame
                f
            }, Reason::Truncated),
        ];
        let frames: Vec<Vec<u8>> = cases.iter().map(|c| c.0.clone()).collect();
        // No gap at all between frames: each report is still its own frame's.
        let r = parse(&frames, 0);
        assert_eq!(r.len(), cases.len());
        for (i, (rep, (_, want))) in r.iter().zip(&cases).enumerate() {
            assert_eq!(rep.reason, *want as u64, "case {i}");
        }
        // Ethernet padding after the IP packet is fine.
        let mut padded = eth(&[], 0x0800, &ipv4(17, SRC4, DST4, 0, &[0; 8], 0));
        padded.extend_from_slice(&[0; 18]);
        assert_eq!(parse(&[padded], 0)[0].reason, 0);
    }

    /// Frames that end on an address byte, each followed at once by the
    /// next: the addresses and the hash (taken a cycle behind the decode)
    /// are still each frame's own, as when the frames come apart.
    #[test]
    fn addresses_and_hash_ending_a_frame_stay_its_own_back_to_back() {
        let v4 = eth(&[], 0x0800, &ipv4(6, SRC4, DST4, 0, &tcp(1, 2, 5), 0));
        let src = 0x3ffe_2501_0200_1fff_0000_0000_0000_0007u128;
        let v6 = eth(&[], 0x86DD, &ipv6(17, src, !src, &[0; 8]));
        let frames = vec![v4[..34].to_vec(), v6[..54].to_vec(), v4.clone(), v6[..54].to_vec(), v4[..34].to_vec()];
        let apart: Vec<Report> = frames.iter().flat_map(|f| parse(std::slice::from_ref(f), 0)).collect();
        assert_eq!(apart[0].flow.ip.unwrap().dst, 0xA18E_6450);
        assert_eq!(apart[1].flow.ip.unwrap().dst, !src);
        assert_ne!(apart[0].rss, 0);
        assert_eq!(parse(&frames, 0), apart);
    }
}
