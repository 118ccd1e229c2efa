//! The Ethernet FCS: CRC-32 with the reflected polynomial 0xEDB88320,
//! register preset to all ones, complemented at the end and sent least
//! significant byte first. The MACs update it one byte per cycle with
//! [`Crc32Byte`]; [`crc32_update`] and [`fcs`] are the software reference
//! the tests check the gateware against.
//!
//! Running the register over a frame's data and its own FCS leaves the
//! constant [`CRC32_RESIDUE`] (before the final complement), which is how
//! the receiver checks a frame without knowing where its data ends.

use rust_hdl::prelude::*;

pub const CRC32_POLY: u32 = 0xEDB8_8320;
pub const CRC32_INIT: u32 = 0xFFFF_FFFF;
pub const CRC32_RESIDUE: u32 = 0xDEBB_20E3;

/// Runs the (uncomplemented) CRC register over `bytes`, one bit at a time.
pub fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ CRC32_POLY } else { crc >> 1 };
        }
    }
    crc
}

/// The FCS of `bytes`: its four wire bytes are `fcs(..).to_le_bytes()`.
pub fn fcs(bytes: &[u8]) -> u32 {
    !crc32_update(CRC32_INIT, bytes)
}

/// One byte's update of the CRC register, combinational: eight unrolled
/// shift-and-conditional-xor steps, least significant data bit first.
#[derive(LogicBlock)]
pub struct Crc32Byte {
    pub crc_in: Signal<In, Bits<32>>,
    pub data: Signal<In, Bits<8>>,
    pub crc_out: Signal<Out, Bits<32>>,
    poly: Constant<Bits<32>>,
    s1: Signal<Local, Bits<32>>,
    s2: Signal<Local, Bits<32>>,
    s3: Signal<Local, Bits<32>>,
    s4: Signal<Local, Bits<32>>,
    s5: Signal<Local, Bits<32>>,
    s6: Signal<Local, Bits<32>>,
    s7: Signal<Local, Bits<32>>,
}

impl Default for Crc32Byte {
    fn default() -> Self {
        Self {
            crc_in: Default::default(),
            data: Default::default(),
            crc_out: Default::default(),
            poly: Constant::new((CRC32_POLY as u64).into()),
            s1: Default::default(),
            s2: Default::default(),
            s3: Default::default(),
            s4: Default::default(),
            s5: Default::default(),
            s6: Default::default(),
            s7: Default::default(),
        }
    }
}

impl Logic for Crc32Byte {
    #[hdl_gen]
    fn update(&mut self) {
        self.s1.next = self.crc_in.val() >> 1;
        if self.crc_in.val().get_bit(0) ^ self.data.val().get_bit(0) {
            self.s1.next = (self.crc_in.val() >> 1) ^ self.poly.val();
        }
        self.s2.next = self.s1.val() >> 1;
        if self.s1.val().get_bit(0) ^ self.data.val().get_bit(1) {
            self.s2.next = (self.s1.val() >> 1) ^ self.poly.val();
        }
        self.s3.next = self.s2.val() >> 1;
        if self.s2.val().get_bit(0) ^ self.data.val().get_bit(2) {
            self.s3.next = (self.s2.val() >> 1) ^ self.poly.val();
        }
        self.s4.next = self.s3.val() >> 1;
        if self.s3.val().get_bit(0) ^ self.data.val().get_bit(3) {
            self.s4.next = (self.s3.val() >> 1) ^ self.poly.val();
        }
        self.s5.next = self.s4.val() >> 1;
        if self.s4.val().get_bit(0) ^ self.data.val().get_bit(4) {
            self.s5.next = (self.s4.val() >> 1) ^ self.poly.val();
        }
        self.s6.next = self.s5.val() >> 1;
        if self.s5.val().get_bit(0) ^ self.data.val().get_bit(5) {
            self.s6.next = (self.s5.val() >> 1) ^ self.poly.val();
        }
        self.s7.next = self.s6.val() >> 1;
        if self.s6.val().get_bit(0) ^ self.data.val().get_bit(6) {
            self.s7.next = (self.s6.val() >> 1) ^ self.poly.val();
        }
        self.crc_out.next = self.s7.val() >> 1;
        if self.s7.val().get_bit(0) ^ self.data.val().get_bit(7) {
            self.crc_out.next = (self.s7.val() >> 1) ^ self.poly.val();
        }
    }
}

/// What a 1 Gb/s PHY puts on GMII for `frame` (no FCS): `preamble` bytes of
/// 0x55, the start delimiter 0xD5, the frame zero-padded to 60 bytes, and
/// the FCS over data and padding, least significant byte first.
#[cfg(test)]
pub(crate) fn wire_bytes(frame: &[u8], preamble: usize) -> Vec<u8> {
    let mut body = frame.to_vec();
    body.resize(body.len().max(60), 0);
    let f = fcs(&body);
    let mut w = vec![0x55; preamble];
    w.push(0xD5);
    w.extend_from_slice(&body);
    w.extend_from_slice(&f.to_le_bytes());
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_crc_matches_the_standard_check_value_and_residue() {
        // The CRC-32 catalogue's check value for "123456789".
        assert_eq!(fcs(b"123456789"), 0xCBF4_3926);
        let mut framed = b"123456789".to_vec();
        framed.extend_from_slice(&fcs(&framed).to_le_bytes());
        assert_eq!(crc32_update(CRC32_INIT, &framed), CRC32_RESIDUE);
    }

    #[test]
    fn gateware_byte_update_matches_software() {
        let mut uut = Crc32Byte::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let mut crc = CRC32_INIT;
        let mut x: u32 = 0x1234_5678;
        for i in 0..3000u32 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let b = (x >> 24) as u8;
            // Also start from arbitrary register values, not only from a chain.
            let start = if i % 7 == 0 { x.rotate_left(9) } else { crc };
            uut.crc_in.next = (start as u64).into();
            uut.data.next = (b as u64).into();
            assert!(simulate(&mut uut, 100), "did not settle");
            crc = crc32_update(start, &[b]);
            assert_eq!(u64::from(uut.crc_out.val()), crc as u64, "byte {b:#x} from {start:#x}");
        }
        assert!(generate_verilog(&uut).contains("module top"));
    }
}
