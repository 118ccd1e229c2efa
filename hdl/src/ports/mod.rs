//! The few interface types blocks talk through. Each comes as a pair whose
//! directions mirror each other, so `join` connects a producer to a consumer.

pub mod dma;
pub mod filter_write;
pub mod frame_stream;
pub mod parsed_frame;
pub mod queue;
pub mod reg_bus;
pub mod shaper;

pub use dma::{DmaMaster, DmaSlave};
pub use filter_write::{FilterWriteSink, FilterWriteSource};
pub use frame_stream::{FrameSink, FrameSource};
pub use parsed_frame::ParsedFrame;
pub use queue::{
    CompletionSink, CompletionSource, DoorbellSink, DoorbellSource, QueueConfig, QueueConfigSink, QueueConfigSource,
    QueueCountSink, QueueCountSource,
};
pub use reg_bus::{RegInitiator, RegTarget};
pub use shaper::{ShapeConfig, ShapeConfigSink, ShapeConfigSource, ShaperSink, ShaperSource};
