// The MAC test top's pins (verilog-out/mac_loop.v) as one plain struct,
// shared with Rust (src/mac_loop.rs, #[repr(C)]), so a whole cycle crosses
// the FFI boundary in one call.
#pragma once
#include <stdint.h>

typedef struct {
    // Inputs.
    uint8_t tx_data;
    uint8_t tx_valid;
    uint8_t tx_last;
    uint8_t tx_error;
    uint8_t gmii_rxd;
    uint8_t gmii_rx_dv;
    uint8_t gmii_rx_er;
    uint8_t rx_ready;
    // Outputs as seen just before the rising edge (what the edge sees).
    uint8_t tx_ready;
    uint8_t gmii_txd;
    uint8_t gmii_tx_en;
    uint8_t gmii_tx_er;
    uint8_t rx_data;
    uint8_t rx_valid;
    uint8_t rx_last;
    uint8_t rx_error;
    // Counters as they stand just after the rising edge, so they include
    // what that edge counted.
    uint32_t tx_frames_sent;
    uint32_t tx_bytes_sent;
    uint32_t tx_frames_aborted;
    uint32_t rx_symbol_errors;
    uint32_t rx_fcs_errors;
    uint32_t rx_runts;
    uint32_t rx_giants;
    uint32_t rx_no_sfd;
    uint32_t rx_good_frames;
    uint32_t rx_good_bytes;
} mac_loop_pins;
