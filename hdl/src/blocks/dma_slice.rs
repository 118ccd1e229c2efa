//! A register slice on the DMA port, between the core's arbiter and
//! whatever serves host memory (a PCIe shell, the board's block RAM). The
//! port's four handshakes each go through a skid buffer, requests and
//! write data toward the host, read completions back, so no path runs
//! from the arbiter's request logic into the server's and back. Every
//! beat passes unchanged and in order, two cycles late, and `rd_rsp_ready`
//! keeps its meaning: a held completion stays in the slice.

use super::skid::Skid;
use crate::params::{DMA_DATA_BITS, DMA_LEN_BITS, DMA_TAG_BITS};
use crate::ports::{DmaMaster, DmaSlave};
use rust_hdl::prelude::*;

const _: () = assert!(DMA_DATA_BITS == 64);

#[derive(LogicBlock, Default)]
pub struct DmaSlice {
    pub clock: Signal<In, Clock>,
    /// From the core.
    pub core: DmaSlave,
    /// Toward host memory.
    pub host: DmaMaster,
    rd_req: Skid,
    rd_rsp: Skid,
    wr_req: Skid,
    wr_data: Skid,
}

impl Logic for DmaSlice {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, rd_req, rd_rsp, wr_req, wr_data);
        self.rd_req.in_valid.next = self.core.rd_req_valid.val();
        self.rd_req.in_x.next = self.core.rd_req_addr.val();
        self.rd_req.in_y.next = self.core.rd_req_len.val();
        self.rd_req.in_z.next = self.core.rd_req_tag.val();
        self.rd_req.in_f.next = false;
        self.core.rd_req_ready.next = self.rd_req.in_ready.val();
        self.host.rd_req_valid.next = self.rd_req.out_valid.val();
        self.host.rd_req_addr.next = self.rd_req.out_x.val();
        self.host.rd_req_len.next = self.rd_req.out_y.val();
        self.host.rd_req_tag.next = self.rd_req.out_z.val();
        self.rd_req.out_ready.next = self.host.rd_req_ready.val();

        self.rd_rsp.in_valid.next = self.host.rd_rsp_valid.val();
        self.rd_rsp.in_x.next = self.host.rd_rsp_data.val();
        self.rd_rsp.in_y.next = 0.into();
        self.rd_rsp.in_z.next = self.host.rd_rsp_tag.val();
        self.rd_rsp.in_f.next = self.host.rd_rsp_last.val();
        self.host.rd_rsp_ready.next = self.rd_rsp.in_ready.val();
        self.core.rd_rsp_valid.next = self.rd_rsp.out_valid.val();
        self.core.rd_rsp_data.next = self.rd_rsp.out_x.val();
        self.core.rd_rsp_tag.next = self.rd_rsp.out_z.val();
        self.core.rd_rsp_last.next = self.rd_rsp.out_f.val();
        self.rd_rsp.out_ready.next = self.core.rd_rsp_ready.val();

        self.wr_req.in_valid.next = self.core.wr_req_valid.val();
        self.wr_req.in_x.next = self.core.wr_req_addr.val();
        self.wr_req.in_y.next = self.core.wr_req_len.val();
        self.wr_req.in_z.next = 0.into();
        self.wr_req.in_f.next = false;
        self.core.wr_req_ready.next = self.wr_req.in_ready.val();
        self.host.wr_req_valid.next = self.wr_req.out_valid.val();
        self.host.wr_req_addr.next = self.wr_req.out_x.val();
        self.host.wr_req_len.next = self.wr_req.out_y.val();
        self.wr_req.out_ready.next = self.host.wr_req_ready.val();

        self.wr_data.in_valid.next = self.core.wr_data_valid.val();
        self.wr_data.in_x.next = self.core.wr_data.val();
        self.wr_data.in_y.next = 0.into();
        self.wr_data.in_z.next = 0.into();
        self.wr_data.in_f.next = self.core.wr_data_last.val();
        self.core.wr_data_ready.next = self.wr_data.in_ready.val();
        self.host.wr_data_valid.next = self.wr_data.out_valid.val();
        self.host.wr_data.next = self.wr_data.out_x.val();
        self.host.wr_data_last.next = self.wr_data.out_f.val();
        self.wr_data.out_ready.next = self.host.wr_data_ready.val();
    }
}

const _: () = assert!(DMA_LEN_BITS == 16 && DMA_TAG_BITS == 8);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Harness, Rng};
    use std::collections::VecDeque;

    /// Each of the four handshakes, driven at once with random stalls on
    /// both ends, delivers every item once and in order.
    #[test]
    fn every_handshake_passes_in_order_under_random_stalls() {
        let mut h = Harness::new(DmaSlice::default(), |s| &mut s.clock);
        let mut rng = Rng(5);
        let mut queues: [VecDeque<u64>; 4] = Default::default();
        let mut sent = [0u64; 4];
        let mut got = [0u64; 4];
        let word = |n: u64| n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for _ in 0..6000 {
            let offer: [bool; 4] = std::array::from_fn(|_| rng.chance(70));
            let take: [bool; 4] = std::array::from_fn(|_| rng.chance(60));
            let u = &mut h.uut;
            u.core.rd_req_valid.next = offer[0];
            u.core.rd_req_addr.next = word(sent[0]).into();
            u.core.rd_req_len.next = (sent[0] & 0xFFFF).into();
            u.core.rd_req_tag.next = (sent[0] & 0xFF).into();
            u.host.rd_rsp_valid.next = offer[1];
            u.host.rd_rsp_data.next = word(sent[1]).into();
            u.host.rd_rsp_tag.next = (sent[1] & 0xFF).into();
            u.host.rd_rsp_last.next = sent[1] % 3 == 0;
            u.core.wr_req_valid.next = offer[2];
            u.core.wr_req_addr.next = word(sent[2]).into();
            u.core.wr_req_len.next = (sent[2] & 0xFFFF).into();
            u.core.wr_data_valid.next = offer[3];
            u.core.wr_data.next = word(sent[3]).into();
            u.core.wr_data_last.next = sent[3] % 4 == 0;
            u.host.rd_req_ready.next = take[0];
            u.core.rd_rsp_ready.next = take[1];
            u.host.wr_req_ready.next = take[2];
            u.host.wr_data_ready.next = take[3];
            h.settle();
            let u = &h.uut;
            let out = [
                (u.host.rd_req_valid.val(), u64::from(u.host.rd_req_addr.val()), u64::from(u.host.rd_req_len.val()) | (u64::from(u.host.rd_req_tag.val()) << 16)),
                (u.core.rd_rsp_valid.val(), u64::from(u.core.rd_rsp_data.val()), u64::from(u.core.rd_rsp_tag.val()) | ((u.core.rd_rsp_last.val() as u64) << 16)),
                (u.host.wr_req_valid.val(), u64::from(u.host.wr_req_addr.val()), u64::from(u.host.wr_req_len.val())),
                (u.host.wr_data_valid.val(), u64::from(u.host.wr_data.val()), u.host.wr_data_last.val() as u64),
            ];
            let side = |n: u64, i: usize| match i {
                0 => (n & 0xFFFF) | ((n & 0xFF) << 16),
                1 => (n & 0xFF) | ((n.is_multiple_of(3) as u64) << 16),
                2 => n & 0xFFFF,
                _ => n.is_multiple_of(4) as u64,
            };
            let in_ready = [u.core.rd_req_ready.val(), u.host.rd_rsp_ready.val(), u.core.wr_req_ready.val(), u.core.wr_data_ready.val()];
            for i in 0..4 {
                let (valid, x, rest) = out[i];
                if valid && take[i] {
                    let n = queues[i].pop_front().expect("an item nobody sent");
                    assert_eq!((x, rest), (word(n), side(n, i)), "handshake {i}, item {n}");
                    got[i] += 1;
                }
                if offer[i] && in_ready[i] {
                    queues[i].push_back(sent[i]);
                    sent[i] += 1;
                }
            }
            h.cycle();
        }
        for i in 0..4 {
            assert!(got[i] > 2000 && sent[i] - got[i] <= 2, "handshake {i}: sent {}, got {}", sent[i], got[i]);
        }
    }
}
