//! `scripts/block-timing.sh`: writes the Verilog of one block of the NIC on
//! its own, so its timing can be estimated without synthesising the whole
//! board. `arsenic-block NAME FILE`; `arsenic-block` alone lists the names.

use arsenic_hdl::blocks::*;
use arsenic_hdl::NicParams;
use rust_hdl::prelude::*;

fn emit<B: Block>(mut block: B) -> String {
    block.connect_all();
    generate_verilog(&block)
}

type Emit = fn(&NicParams) -> String;

const BLOCKS: &[(&str, Emit)] = &[
    ("control_page", |p| emit(ControlPage::new(p))),
    ("dma_arbiter", |_| emit(DmaArbiter::default())),
    ("event_engine", |p| emit(EventEngine::new(p))),
    ("flow_demux", |p| emit(FlowDemux::new(p))),
    ("frame_check", |p| emit(FrameCheck::new(p))),
    ("queue_counters", |_| emit(QueueCounters::default())),
    ("rx_engine", |p| emit(RxEngine::new(p))),
    ("tx_engine", |p| emit(TxEngine::new(p))),
    ("tx_shaper", |_| emit(TxShaper::default())),
    ("mac_rx", |p| emit(MacRx::new(p))),
    ("mac_tx", |_| emit(MacTx::default())),
    ("header_parser", |_| emit(HeaderParser::default())),
    ("rx_crossing", |_| emit(RxCrossing::default())),
    ("dma_memory", |_| emit(DmaMemory8K::new(dma_memory::DMA_MEMORY_BASE))),
    ("frame_fifo", |_| emit(FrameFifo::<{ arsenic_hdl::params::LOOPBACK_BUFFER_LOG2 }>::default())),
    ("filter_table", |_| {
        use arsenic_hdl::params::{EXACT_BUCKET_BITS, WILDCARD_BUCKET_BITS};
        emit(FilterTable::<{ EXACT_BUCKET_BITS + 1 }>::new(WILDCARD_BUCKET_BITS))
    }),
    ("tx_template", |_| emit(TxTemplateCheck::default())),
    ("uart_bridge", |p| emit(UartBridge::for_clock(p.clock_hz as u64, 115_200))),
    ("reg_arbiter", |_| emit(RegArbiter::default())),
    ("egress_steer", |_| emit(arsenic_hdl::blocks::EgressSteer::default())),
    ("forwarder", |_| emit(arsenic_hdl::board::versa_ecp5::forwarder::Forwarder::default())),
    ("nic_top", |p| emit(arsenic_hdl::top::NicTop::new(p))),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names = || BLOCKS.iter().map(|b| b.0).collect::<Vec<_>>().join(" ");
    let (Some(name), Some(file)) = (args.first(), args.get(1)) else {
        eprintln!("usage: arsenic-block NAME FILE\nblocks: {}", names());
        std::process::exit(2);
    };
    let Some((_, make)) = BLOCKS.iter().find(|b| b.0 == name) else {
        eprintln!("arsenic-block: no block named {name}; blocks: {}", names());
        std::process::exit(2);
    };
    if let Err(e) = std::fs::write(file, make(&NicParams::default())) {
        eprintln!("arsenic-block: cannot write {file}: {e}");
        std::process::exit(1);
    }
}
