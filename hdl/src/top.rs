//! The NIC's top level: the register port and DMA master toward the host,
//! the MAC-side frame streams toward the wire, and the blocks between them.
//!
//! Receive path today: MAC rx -> frame check -> (loopback on) frame FIFO ->
//! MAC tx. The path a frame takes is chosen at its first beat, so flipping
//! loopback mid-frame never cuts a frame in two. Beside it, the flow
//! demultiplexer decides every checked frame's queue and reports it on the
//! decision port, which is where frames are collected until the descriptor
//! engine delivers them into host memory.

use crate::blocks::{ControlPage, DecisionOut, FlowDemux, FrameCheck, FrameFifo};
use crate::params::{NicParams, LOOPBACK_BUFFER_LOG2};
use crate::ports::{DmaMaster, FilterWriteSource, FrameSink, FrameSource, RegTarget};
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct NicTop {
    pub clock: Signal<In, Clock>,
    pub regs: RegTarget,
    pub dma: DmaMaster,
    pub mac_rx: FrameSink,
    pub mac_tx: FrameSource,
    pub decision: DecisionOut,
    control: ControlPage,
    demux: FlowDemux,
    check: FrameCheck,
    loop_fifo: FrameFifo<LOOPBACK_BUFFER_LOG2>,
    /// A frame has started on the checked stream and not yet ended.
    in_frame: DFF<Bit>,
    /// The path chosen for the frame in progress.
    frame_looped: DFF<Bit>,
    take: Signal<Local, Bit>,
    frame_end: Signal<Local, Bit>,
    tx_beat: Signal<Local, Bit>,
}

impl NicTop {
    pub fn new(params: &NicParams) -> Self {
        Self {
            clock: Default::default(),
            regs: Default::default(),
            dma: Default::default(),
            mac_rx: Default::default(),
            mac_tx: Default::default(),
            decision: Default::default(),
            control: ControlPage::new(params),
            demux: FlowDemux::new(params),
            check: FrameCheck::new(params),
            loop_fifo: Default::default(),
            in_frame: Default::default(),
            frame_looped: Default::default(),
            take: Default::default(),
            frame_end: Default::default(),
            tx_beat: Default::default(),
        }
    }
}

impl Logic for NicTop {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, control, check, loop_fifo, demux);
        DecisionOut::link(&mut self.decision, &mut self.demux.decision);
        self.demux.data.next = self.check.frames_out.data.val();
        self.demux.valid.next = self.check.frames_out.valid.val();
        self.demux.last.next = self.check.frames_out.last.val();
        self.demux.error.next = self.check.frames_out.error.val();
        self.demux.default_queue.next = self.control.default_queue.val();
        self.demux.rss_key.next = self.control.rss_key.val();
        FilterWriteSource::join(&mut self.control.filter, &mut self.demux.filter);
        dff_setup!(self, clock, in_frame, frame_looped);
        RegTarget::link(&mut self.regs, &mut self.control.regs);
        FrameSink::link(&mut self.mac_rx, &mut self.check.frames_in);
        FrameSource::link(&mut self.mac_tx, &mut self.loop_fifo.frames_out);

        // The receive path never stalls the MAC: what cannot be kept is
        // dropped downstream and counted.
        self.check.frames_out.ready.next = true;
        self.take.next = self.frame_looped.q.val();
        if !self.in_frame.q.val() {
            self.take.next = self.control.loopback.val();
        }
        if self.check.frames_out.valid.val() {
            self.in_frame.d.next = !self.check.frames_out.last.val();
            self.frame_looped.d.next = self.take.val();
        }
        self.loop_fifo.frames_in.data.next = self.check.frames_out.data.val();
        self.loop_fifo.frames_in.valid.next = self.check.frames_out.valid.val() & self.take.val();
        self.loop_fifo.frames_in.last.next = self.check.frames_out.last.val();
        self.loop_fifo.frames_in.error.next = self.check.frames_out.error.val();

        // Counter bits follow `regmap::Counter` order.
        self.frame_end.next = self.check.frames_out.valid.val() & self.check.frames_out.last.val();
        self.tx_beat.next = self.mac_tx.valid.val() & self.mac_tx.ready.val();
        self.control.inc.next = bit_cast::<32, 1>(self.frame_end.val().into())
            | (bit_cast::<32, 1>(self.check.frames_out.valid.val().into()) << 1)
            | (bit_cast::<32, 1>((self.tx_beat.val() & self.mac_tx.last.val()).into()) << 2)
            | (bit_cast::<32, 1>(self.tx_beat.val().into()) << 3)
            | (bit_cast::<32, 1>(self.check.runt.val().into()) << 4)
            | (bit_cast::<32, 1>(self.check.giant.val().into()) << 5)
            | (bit_cast::<32, 1>(self.check.mac_error.val().into()) << 6)
            | (bit_cast::<32, 1>(self.loop_fifo.overflow.val().into()) << 7)
            | (bit_cast::<32, 1>(
                (self.frame_end.val() & !self.check.frames_out.error.val() & !self.take.val()).into(),
            ) << 8)
            | (bit_cast::<32, 10>(self.demux.counts.val()) << 9);

        // No block issues DMA yet: requests stay idle and any stray read
        // completion is accepted so a shell can never wedge on it.
        self.dma.rd_req_valid.next = false;
        self.dma.rd_req_addr.next = 0.into();
        self.dma.rd_req_len.next = 0.into();
        self.dma.rd_req_tag.next = 0.into();
        self.dma.rd_rsp_ready.next = true;
        self.dma.wr_req_valid.next = false;
        self.dma.wr_req_addr.next = 0.into();
        self.dma.wr_req_len.next = 0.into();
        self.dma.wr_data_valid.next = false;
        self.dma.wr_data.next = 0.into();
        self.dma.wr_data_last.next = false;
    }
}

#[cfg(test)]
mod tests {
    use crate::harness::TopHarness;
    use crate::regmap::{self, Counter};
    use crate::NicParams;

    fn frames() -> Vec<Vec<u8>> {
        [60usize, 13, 14, 200, 1522, 1523, 64]
            .iter()
            .enumerate()
            .map(|(i, &n)| (0..n).map(|j| (i * 7 + j) as u8).collect())
            .collect()
    }

    fn counter(t: &mut TopHarness, c: Counter) -> u64 {
        let lo = t.reg_read(c.offset()) as u64;
        lo | (t.reg_read(c.offset() + 4) as u64) << 32
    }

    #[test]
    fn loopback_returns_good_frames_and_counts_the_rest() {
        let mut t = TopHarness::new(&NicParams::default());
        assert_eq!(t.reg_read(regmap::MAGIC), regmap::MAGIC_VALUE);
        // Loopback off: everything good is dropped for want of a path.
        assert!(t.stream(&frames(), 24, 100).is_empty());

        t.reg_write(regmap::CONTROL, regmap::CONTROL_LOOPBACK);
        let back = t.stream(&frames(), 24, 2000);
        let good: Vec<Vec<u8>> = frames().into_iter().filter(|f| (14..=1522).contains(&f.len())).collect();
        assert_eq!(back, good);
        assert_eq!(counter(&mut t, Counter::RxFrames), 14);
        assert_eq!(counter(&mut t, Counter::TxFrames), 5);
        assert_eq!(counter(&mut t, Counter::RxDropRunt), 2);
        assert_eq!(counter(&mut t, Counter::RxDropGiant), 2);
        let tx_bytes: u64 = good.iter().map(|f| f.len() as u64).sum();
        assert_eq!(counter(&mut t, Counter::TxBytes), tx_bytes);
    }
}
