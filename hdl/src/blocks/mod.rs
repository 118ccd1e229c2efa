//! Gateware blocks, one job each, connected in `top`.

pub mod control_page;
pub mod filter_table;
pub mod flow_demux;
pub mod frame_check;
pub mod frame_fifo;
pub mod frame_mux;
pub mod header_parser;
pub mod rx_engine;
pub mod stat_counter;

pub use control_page::ControlPage;
pub use filter_table::FilterTable;
pub use flow_demux::{DecisionIn, DecisionOut, FlowDemux};
pub use frame_check::FrameCheck;
pub use frame_fifo::FrameFifo;
pub use frame_mux::FrameMux;
pub use header_parser::HeaderParser;
pub use rx_engine::RxEngine;
pub use stat_counter::StatCounter;
