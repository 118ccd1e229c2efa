//! The NIC's top level: the register port and DMA master toward the host,
//! the MAC-side frame streams toward the wire, and the blocks between them.
//!
//! Receive: MAC rx -> frame check -> (loopback on) loopback FIFO, or (off)
//! the receive engine, which delivers each frame into a buffer of the
//! queue the flow demultiplexer chose. The path is chosen at a frame's
//! first beat, so flipping loopback mid-frame never cuts a frame in two.
//! Transmit: the transmit engine fetches frames from the queues' rings in
//! round robin, checks them against their queue's template, and shares the
//! MAC with the loopback path frame by frame. The event engine turns both
//! engines' completions into moderated events; the DMA arbiter gives the
//! three one DMA port. Queue configuration from the control page and
//! doorbells from the user pages go to every engine that keeps queue state.

use crate::blocks::{
    ControlPage, DecisionOut, DmaArbiter, Skid, EventEngine, FlowDemux, FrameCheck, FrameFifo, FrameMux, QueueCounters,
    RxEngine, TxEngine, TxShaper,
};
use crate::params::{NicParams, LOOPBACK_BUFFER_LOG2};
use crate::ports::{
    CompletionSource, DmaMaster, FilterWriteSource, FrameSink, FrameSource, QueueCountSource, RegTarget, ShapeConfigSource,
    ShaperSource,
};
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct NicTop {
    pub clock: Signal<In, Clock>,
    pub regs: RegTarget,
    pub dma: DmaMaster,
    pub mac_rx: FrameSink,
    pub mac_tx: FrameSource,
    /// Every demultiplexer decision, for observation by a test bench.
    pub decision: DecisionOut,
    control: ControlPage,
    demux: FlowDemux,
    check: FrameCheck,
    loop_fifo: FrameFifo<LOOPBACK_BUFFER_LOG2>,
    rx: RxEngine,
    tx: TxEngine,
    shaper: TxShaper,
    evt: EventEngine,
    qcount: QueueCounters,
    arbiter: DmaArbiter,
    /// The receive engine's DMA write data leaves its frame RAM's read
    /// port; this register slice keeps the arbiter's source mux off that
    /// path (block RAM clock-to-out takes half the cycle on its own).
    rx_wd: Skid,
    mux: FrameMux,
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
            rx: RxEngine::new(params),
            tx: TxEngine::new(params),
            shaper: Default::default(),
            evt: EventEngine::new(params),
            qcount: Default::default(),
            arbiter: Default::default(),
            rx_wd: Default::default(),
            mux: Default::default(),
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
        clock!(self, clock, control, check, loop_fifo, demux, rx, tx, shaper, evt, qcount, arbiter, rx_wd, mux);
        dff_setup!(self, clock, in_frame, frame_looped);
        RegTarget::link(&mut self.regs, &mut self.control.regs);
        FrameSink::link(&mut self.mac_rx, &mut self.check.frames_in);
        FrameSource::link(&mut self.mac_tx, &mut self.mux.frames_out);
        DmaMaster::link(&mut self.dma, &mut self.arbiter.host);
        self.arbiter.rx.rd_req_valid.next = self.rx.dma.rd_req_valid.val();
        self.arbiter.rx.rd_req_addr.next = self.rx.dma.rd_req_addr.val();
        self.arbiter.rx.rd_req_len.next = self.rx.dma.rd_req_len.val();
        self.arbiter.rx.rd_req_tag.next = self.rx.dma.rd_req_tag.val();
        self.rx.dma.rd_req_ready.next = self.arbiter.rx.rd_req_ready.val();
        self.rx.dma.rd_rsp_valid.next = self.arbiter.rx.rd_rsp_valid.val();
        self.rx.dma.rd_rsp_data.next = self.arbiter.rx.rd_rsp_data.val();
        self.rx.dma.rd_rsp_tag.next = self.arbiter.rx.rd_rsp_tag.val();
        self.rx.dma.rd_rsp_last.next = self.arbiter.rx.rd_rsp_last.val();
        self.arbiter.rx.rd_rsp_ready.next = self.rx.dma.rd_rsp_ready.val();
        self.arbiter.rx.wr_req_valid.next = self.rx.dma.wr_req_valid.val();
        self.arbiter.rx.wr_req_addr.next = self.rx.dma.wr_req_addr.val();
        self.arbiter.rx.wr_req_len.next = self.rx.dma.wr_req_len.val();
        self.rx.dma.wr_req_ready.next = self.arbiter.rx.wr_req_ready.val();
        self.rx_wd.in_valid.next = self.rx.dma.wr_data_valid.val();
        self.rx_wd.in_x.next = self.rx.dma.wr_data.val();
        self.rx_wd.in_y.next = 0.into();
        self.rx_wd.in_z.next = 0.into();
        self.rx_wd.in_f.next = self.rx.dma.wr_data_last.val();
        self.rx.dma.wr_data_ready.next = self.rx_wd.in_ready.val();
        self.arbiter.rx.wr_data_valid.next = self.rx_wd.out_valid.val();
        self.arbiter.rx.wr_data.next = self.rx_wd.out_x.val();
        self.arbiter.rx.wr_data_last.next = self.rx_wd.out_f.val();
        self.rx_wd.out_ready.next = self.arbiter.rx.wr_data_ready.val();
        DmaMaster::join(&mut self.tx.dma, &mut self.arbiter.tx);
        DmaMaster::join(&mut self.evt.dma, &mut self.arbiter.evt);
        FrameSource::join(&mut self.loop_fifo.frames_out, &mut self.mux.a);
        FrameSource::join(&mut self.tx.frames_out, &mut self.mux.b);
        FilterWriteSource::join(&mut self.control.filter, &mut self.demux.filter);
        ShapeConfigSource::join(&mut self.control.shape, &mut self.shaper.shape);
        ShaperSource::join(&mut self.tx.shaper, &mut self.shaper.sched);

        // The demultiplexer watches the checked stream.
        self.demux.data.next = self.check.frames_out.data.val();
        self.demux.valid.next = self.check.frames_out.valid.val();
        self.demux.last.next = self.check.frames_out.last.val();
        self.demux.error.next = self.check.frames_out.error.val();
        self.demux.default_queue.next = self.control.default_queue.val();
        self.demux.rss_key.next = self.control.rss_key.val();
        DecisionOut::link(&mut self.decision, &mut self.demux.decision);
        self.rx.decision.valid.next = self.decision.valid.val();
        self.rx.decision.reason.next = self.decision.reason.val();
        self.rx.decision.queue.next = self.decision.queue.val();
        self.rx.decision.kind.next = self.decision.kind.val();
        self.rx.decision.filter_id.next = self.decision.filter_id.val();
        self.rx.decision.rss.next = self.decision.rss.val();

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
        self.rx.frames_in.data.next = self.check.frames_out.data.val();
        self.rx.frames_in.valid.next = self.check.frames_out.valid.val();
        self.rx.frames_in.last.next = self.check.frames_out.last.val();
        self.rx.frames_in.error.next = self.check.frames_out.error.val();
        self.rx.keep.next = !self.take.val();

        // Queue configuration and doorbells reach every block with queue state.
        self.rx.settings.write.next = self.control.settings.write.val();
        self.rx.settings.queue.next = self.control.settings.queue.val();
        self.rx.settings.settings.next = self.control.settings.settings.val();
        self.tx.settings.write.next = self.control.settings.write.val();
        self.tx.settings.queue.next = self.control.settings.queue.val();
        self.tx.settings.settings.next = self.control.settings.settings.val();
        self.evt.settings.write.next = self.control.settings.write.val();
        self.evt.settings.queue.next = self.control.settings.queue.val();
        self.evt.settings.settings.next = self.control.settings.settings.val();
        self.qcount.settings.write.next = self.control.settings.write.val();
        self.qcount.settings.queue.next = self.control.settings.queue.val();
        self.qcount.settings.settings.next = self.control.settings.settings.val();
        self.rx.doorbell.valid.next = self.control.doorbell.valid.val();
        self.rx.doorbell.queue.next = self.control.doorbell.queue.val();
        self.rx.doorbell.kind.next = self.control.doorbell.kind.val();
        self.rx.doorbell.value.next = self.control.doorbell.value.val();
        self.tx.doorbell.valid.next = self.control.doorbell.valid.val();
        self.tx.doorbell.queue.next = self.control.doorbell.queue.val();
        self.tx.doorbell.kind.next = self.control.doorbell.kind.val();
        self.tx.doorbell.value.next = self.control.doorbell.value.val();
        self.evt.doorbell.valid.next = self.control.doorbell.valid.val();
        self.evt.doorbell.queue.next = self.control.doorbell.queue.val();
        self.evt.doorbell.kind.next = self.control.doorbell.kind.val();
        self.evt.doorbell.value.next = self.control.doorbell.value.val();
        self.control.cfg_busy.next =
            self.rx.cfg_busy.val() | self.tx.cfg_busy.val() | self.evt.cfg_busy.val() | self.qcount.cfg_busy.val();

        // Completions become events; per-queue counts reach the user pages.
        CompletionSource::join(&mut self.rx.completion, &mut self.evt.rx_done);
        CompletionSource::join(&mut self.tx.completion, &mut self.evt.tx_done);
        QueueCountSource::join(&mut self.rx.qcount, &mut self.qcount.rx);
        QueueCountSource::join(&mut self.tx.qcount, &mut self.qcount.tx);
        self.qcount.rd_strobe.next = self.control.qc_rd_strobe.val();
        self.qcount.rd_queue.next = self.control.qc_rd_queue.val();
        self.qcount.rd_counter.next = self.control.qc_rd_counter.val();
        self.control.qc_rd_ack.next = self.qcount.rd_ack.val();
        self.control.qc_rd_data.next = self.qcount.rd_data.val();

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
            | (bit_cast::<32, 1>((self.loop_fifo.overflow.val() | self.rx.counts.val().get_bit(5)).into()) << 7)
            | (bit_cast::<32, 10>(self.demux.counts.val()) << 8)
            | (bit_cast::<32, 5>(self.rx.counts.val().get_bits::<5>(0)) << 18)
            | (bit_cast::<32, 3>(self.tx.counts.val()) << 23)
            | (bit_cast::<32, 1>(self.evt.counts.val().into()) << 26);
    }
}

// The counter bit positions above are literal: pin them to regmap.
const _: () = {
    use crate::regmap::Counter::*;
    assert!(RxDropOverflow as u32 == 7 && DemuxExactHit as u32 == 8 && DemuxOverrun as u32 == 17);
    assert!(RxDelivered as u32 == 18 && RxDropTooLong as u32 == 22);
    assert!(TxDropWindow as u32 == 23 && TxDropBadLength as u32 == 25 && EventsSent as u32 == 26);
};

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
        // Loopback off: every good frame goes to the receive engine, whose
        // queues are all disabled after reset.
        assert!(t.stream(&frames(), 24, 400).is_empty());
        assert_eq!(counter(&mut t, Counter::RxDropDisabled), 5);

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
