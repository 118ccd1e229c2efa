//! Gateware blocks, one job each, connected in `top`. The GMII MACs
//! (`mac_tx`, `mac_rx`) and the board edge in front of them (`rgmii`,
//! `ecp5_io`, `rx_crossing`) are the exception: `top` keeps frame-level MAC
//! ports, and the board shell puts these blocks in front of them.

pub mod control_page;
pub mod count_crossing;
pub mod counter_bank;
pub mod crc32;
pub mod dma_arbiter;
pub mod dma_memory;
pub mod dma_slice;
pub mod ecp5_pll;
pub mod ecp5_io;
pub mod event_engine;
pub mod filter_table;
pub mod flow_demux;
pub mod frame_check;
pub mod frame_fifo;
pub mod frame_mux;
pub mod frame_slice;
pub mod header_parser;
pub mod mac_rx;
pub mod mac_tx;
pub mod queue_counters;
pub mod reg_slice;
pub mod rgmii;
pub mod rx_crossing;
pub mod rx_engine;
pub mod skid;
pub mod steered_fifo;
pub mod token_bucket;
pub mod tx_engine;
pub mod tx_shaper;
pub mod tx_template;
pub mod uart;
pub mod uart_bridge;

pub use control_page::ControlPage;
pub use count_crossing::CountCrossing;
pub use dma_arbiter::DmaArbiter;
pub use dma_memory::{DmaMemory, DmaMemory8K};
pub use dma_slice::DmaSlice;
pub use ecp5_pll::Ecp5Pll;
pub use ecp5_io::{Iddrx1f, Oddrx1f};
pub use event_engine::EventEngine;
pub use filter_table::FilterTable;
pub use flow_demux::{DecisionIn, DecisionOut, FlowDemux};
pub use frame_check::FrameCheck;
pub use frame_fifo::FrameFifo;
pub use frame_mux::FrameMux;
pub use frame_slice::FrameSlice;
pub use header_parser::HeaderParser;
pub use mac_rx::MacRx;
pub use mac_tx::MacTx;
pub use queue_counters::QueueCounters;
pub use reg_slice::RegSlice;
pub use rgmii::{RgmiiRx, RgmiiTx};
pub use rx_crossing::RxCrossing;
pub use rx_engine::RxEngine;
pub use skid::Skid;
pub use counter_bank::CounterBank;
pub use token_bucket::TokenBucket;
pub use tx_engine::TxEngine;
pub use tx_shaper::TxShaper;
pub use tx_template::TxTemplateCheck;
pub use uart::{UartRx, UartTx};
pub use uart_bridge::UartBridge;
