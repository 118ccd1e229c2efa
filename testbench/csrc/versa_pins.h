// The Versa shell's top-level pins (verilog-out/versa_ecp5.v) as one plain
// struct, shared with Rust (src/pins.rs, #[repr(C)]), so one evaluation
// crosses the FFI boundary in one call. Every field is one pin or one bus,
// a level, not an edge: clocks are inputs like any other, toggled by the
// Rust side's event loop.
#pragma once
#include <stdint.h>

typedef struct {
    // Inputs.
    uint8_t clk100;
    uint8_t rst_n;
    uint8_t uart_rx;
    uint8_t eth0_rxc;
    uint8_t eth0_rx_ctl;
    uint8_t eth0_rxd;
    uint8_t eth1_rxc;
    uint8_t eth1_rx_ctl;
    uint8_t eth1_rxd;
    // Outputs after the evaluation.
    uint8_t led;
    uint8_t uart_tx;
    uint8_t eth0_rst_n;
    uint8_t eth0_mdc;
    uint8_t eth0_txc;
    uint8_t eth0_tx_ctl;
    uint8_t eth0_txd;
    uint8_t eth1_rst_n;
    uint8_t eth1_mdc;
    uint8_t eth1_txc;
    uint8_t eth1_tx_ctl;
    uint8_t eth1_txd;
} versa_pins;
