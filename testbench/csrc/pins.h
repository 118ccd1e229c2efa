// The NIC top's pins as one plain struct, shared with Rust (src/pins.rs,
// #[repr(C)]), so a whole cycle crosses the FFI boundary in one call.
#pragma once
#include <stdint.h>

typedef struct {
    // Inputs to the NIC.
    uint32_t reg_addr;
    uint32_t reg_wdata;
    uint8_t reg_strobe;
    uint8_t reg_write;
    uint8_t rx_data;
    uint8_t rx_valid;
    uint8_t rx_last;
    uint8_t rx_error;
    uint8_t tx_ready;
    uint8_t dma_rd_req_ready;
    uint64_t dma_rd_rsp_data;
    uint8_t dma_rd_rsp_valid;
    uint8_t dma_rd_rsp_tag;
    uint8_t dma_rd_rsp_last;
    uint8_t dma_wr_req_ready;
    uint8_t dma_wr_data_ready;
    // Outputs of the NIC, as seen just before the rising edge.
    uint8_t reg_ack;
    uint32_t reg_rdata;
    uint8_t rx_ready;
    uint8_t tx_data;
    uint8_t tx_valid;
    uint8_t tx_last;
    uint8_t tx_error;
    uint8_t dma_rd_req_valid;
    uint64_t dma_rd_req_addr;
    uint16_t dma_rd_req_len;
    uint8_t dma_rd_req_tag;
    uint8_t dma_rd_rsp_ready;
    uint8_t dma_wr_req_valid;
    uint64_t dma_wr_req_addr;
    uint16_t dma_wr_req_len;
    uint8_t dma_wr_data_valid;
    uint64_t dma_wr_data;
    uint8_t dma_wr_data_last;
    uint8_t decision_valid;
    uint8_t decision_reason;
    uint16_t decision_queue;
    uint8_t decision_kind;
    uint16_t decision_filter_id;
    uint32_t decision_rss;
} arsenic_pins;
