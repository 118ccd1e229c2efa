//! The DMA master port: reads and writes of host memory by bus address and
//! length. Requests and data are valid/ready handshakes; read completions
//! carry the tag of their request so a shell may return them out of order
//! between tags, in order within one.

use crate::params::{DMA_ADDR_BITS, DMA_DATA_BITS, DMA_LEN_BITS, DMA_TAG_BITS};
use rust_hdl::prelude::*;

/// The core's side: it issues requests.
#[derive(LogicInterface, Default)]
#[join = "DmaSlave"]
pub struct DmaMaster {
    pub rd_req_valid: Signal<Out, Bit>,
    pub rd_req_addr: Signal<Out, Bits<DMA_ADDR_BITS>>,
    pub rd_req_len: Signal<Out, Bits<DMA_LEN_BITS>>,
    pub rd_req_tag: Signal<Out, Bits<DMA_TAG_BITS>>,
    pub rd_req_ready: Signal<In, Bit>,
    pub rd_rsp_valid: Signal<In, Bit>,
    pub rd_rsp_data: Signal<In, Bits<DMA_DATA_BITS>>,
    pub rd_rsp_tag: Signal<In, Bits<DMA_TAG_BITS>>,
    pub rd_rsp_last: Signal<In, Bit>,
    pub rd_rsp_ready: Signal<Out, Bit>,
    pub wr_req_valid: Signal<Out, Bit>,
    pub wr_req_addr: Signal<Out, Bits<DMA_ADDR_BITS>>,
    pub wr_req_len: Signal<Out, Bits<DMA_LEN_BITS>>,
    pub wr_req_ready: Signal<In, Bit>,
    pub wr_data_valid: Signal<Out, Bit>,
    pub wr_data: Signal<Out, Bits<DMA_DATA_BITS>>,
    pub wr_data_last: Signal<Out, Bit>,
    pub wr_data_ready: Signal<In, Bit>,
}

/// The shell's side: it serves requests from host memory.
#[derive(LogicInterface, Default)]
#[join = "DmaMaster"]
pub struct DmaSlave {
    pub rd_req_valid: Signal<In, Bit>,
    pub rd_req_addr: Signal<In, Bits<DMA_ADDR_BITS>>,
    pub rd_req_len: Signal<In, Bits<DMA_LEN_BITS>>,
    pub rd_req_tag: Signal<In, Bits<DMA_TAG_BITS>>,
    pub rd_req_ready: Signal<Out, Bit>,
    pub rd_rsp_valid: Signal<Out, Bit>,
    pub rd_rsp_data: Signal<Out, Bits<DMA_DATA_BITS>>,
    pub rd_rsp_tag: Signal<Out, Bits<DMA_TAG_BITS>>,
    pub rd_rsp_last: Signal<Out, Bit>,
    pub rd_rsp_ready: Signal<In, Bit>,
    pub wr_req_valid: Signal<In, Bit>,
    pub wr_req_addr: Signal<In, Bits<DMA_ADDR_BITS>>,
    pub wr_req_len: Signal<In, Bits<DMA_LEN_BITS>>,
    pub wr_req_ready: Signal<Out, Bit>,
    pub wr_data_valid: Signal<In, Bit>,
    pub wr_data: Signal<In, Bits<DMA_DATA_BITS>>,
    pub wr_data_last: Signal<In, Bit>,
    pub wr_data_ready: Signal<Out, Bit>,
}
