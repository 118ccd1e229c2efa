//! Gateware blocks, one job each, connected in `top`.

pub mod control_page;
pub mod filter_table;
pub mod flow_demux;
pub mod frame_check;
pub mod frame_fifo;
pub mod header_parser;
pub mod stat_counter;
pub mod tx_engine;
pub mod tx_template;

pub use control_page::ControlPage;
pub use filter_table::FilterTable;
pub use flow_demux::{DecisionOut, FlowDemux};
pub use frame_check::FrameCheck;
pub use frame_fifo::FrameFifo;
pub use header_parser::HeaderParser;
pub use stat_counter::StatCounter;
pub use tx_engine::TxEngine;
pub use tx_template::TxTemplateCheck;
