//! Gateware blocks, one job each, connected in `top`.

pub mod control_page;
pub mod frame_check;
pub mod frame_fifo;
pub mod stat_counter;

pub use control_page::ControlPage;
pub use frame_check::FrameCheck;
pub use frame_fifo::FrameFifo;
pub use stat_counter::StatCounter;
