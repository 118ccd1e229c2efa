//! Pairs the demultiplexer's decisions, as the NIC reports them, with the
//! frames sent into the wire: exactly one decision per non-empty frame, in
//! order. Shared by the in-process `rtl` backend and the out-of-process
//! simulated device's client.

use super::{Decision, Received};
use arsenic_hdl::filter::{FilterKind, Reason};
use arsenic_testbench::RawDecision;
use std::collections::VecDeque;

#[derive(Default)]
pub struct DecisionLog {
    /// Frames sent and not yet paired, with the cycle each counts from.
    awaiting: VecDeque<(u64, Vec<u8>)>,
    /// Decisions whose codes mean nothing, or with no frame waiting: a
    /// gateware bug, never expected.
    undecodable: u64,
}

impl DecisionLog {
    pub fn sent(&mut self, cycle: u64, frame: &[u8]) {
        self.awaiting.push_back((cycle, frame.to_vec()));
    }

    pub fn undecodable(&self) -> u64 {
        self.undecodable
    }

    /// Frames sent and not decided yet.
    pub fn awaiting(&self) -> usize {
        self.awaiting.len()
    }

    /// Pairs `raw` with the oldest frames; each `Received` keeps the cycle
    /// given at `sent`.
    pub fn pair(&mut self, raw: Vec<RawDecision>) -> Vec<Received> {
        let mut out = Vec::with_capacity(raw.len());
        for r in raw {
            let Some((cycle, data)) = self.awaiting.pop_front() else {
                self.undecodable += 1;
                continue;
            };
            let decision = self.decode(r);
            out.push(Received { cycle, data, decision });
        }
        out
    }

    fn decode(&mut self, raw: RawDecision) -> Decision {
        let reason = Reason::from_u8(raw.reason);
        let kind = FilterKind::from_u8(raw.kind);
        if reason.is_none() || (raw.kind != 0 && kind.is_none()) {
            self.undecodable += 1;
        }
        Decision {
            reason: reason.unwrap_or(Reason::FrameError),
            queue: raw.queue as u32,
            kind,
            filter_id: raw.filter_id,
            rss: raw.rss,
        }
    }
}
