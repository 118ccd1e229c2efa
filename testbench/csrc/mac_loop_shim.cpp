// A C face for the Verilated MAC test top (MacTx and MacRx with the GMII
// open): create, trace, run one clock cycle. Like shim.cpp, each instance
// has its own VerilatedContext, so parallel tests never share state.
#include <cstddef>
#include <memory>
#include "Vmacloop.h"
#include "mac_loop_pins.h"
#include "verilated.h"
#include "verilated_vcd_c.h"

struct mac_loop_sim {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vmacloop> top;
    std::unique_ptr<VerilatedVcdC> trace;
    uint64_t time = 0;
};

extern "C" {

// Rust checks its mirror of mac_loop_pins against this before the first cycle.
size_t mac_loop_pins_size(void) { return sizeof(mac_loop_pins); }

mac_loop_sim* mac_loop_sim_new(void) {
    auto* s = new mac_loop_sim;
    s->ctx = std::make_unique<VerilatedContext>();
    s->ctx->traceEverOn(true);
    s->top = std::make_unique<Vmacloop>(s->ctx.get(), "top");
    s->top->clock = 0;
    s->top->eval();
    return s;
}

void mac_loop_sim_free(mac_loop_sim* s) {
    if (s->trace) s->trace->close();
    s->top->final();
    delete s;
}

// Opens a VCD file; returns 0 on success.
int mac_loop_sim_trace(mac_loop_sim* s, const char* path) {
    if (s->trace) s->trace->close();
    s->trace = std::make_unique<VerilatedVcdC>();
    s->top->trace(s->trace.get(), 99);
    s->trace->open(path);
    return s->trace->isOpen() ? 0 : -1;
}

// One clock period: inputs applied with the clock low, stream and GMII
// outputs read back before the rising edge, counters after it.
void mac_loop_sim_cycle(mac_loop_sim* s, mac_loop_pins* p) {
    Vmacloop* t = s->top.get();
    t->tx_frames__024data = p->tx_data;
    t->tx_frames__024valid = p->tx_valid;
    t->tx_frames__024last = p->tx_last;
    t->tx_frames__024error = p->tx_error;
    t->gmii_rxd = p->gmii_rxd;
    t->gmii_rx_dv = p->gmii_rx_dv;
    t->gmii_rx_er = p->gmii_rx_er;
    t->rx_frames__024ready = p->rx_ready;
    t->eval();
    p->tx_ready = t->tx_frames__024ready;
    p->gmii_txd = t->gmii_txd;
    p->gmii_tx_en = t->gmii_tx_en;
    p->gmii_tx_er = t->gmii_tx_er;
    p->rx_data = t->rx_frames__024data;
    p->rx_valid = t->rx_frames__024valid;
    p->rx_last = t->rx_frames__024last;
    p->rx_error = t->rx_frames__024error;
    if (s->trace) s->trace->dump(s->time);
    t->clock = 1;
    t->eval();
    if (s->trace) s->trace->dump(s->time + 1);
    t->clock = 0;
    t->eval();
    s->time += 2;
    p->tx_frames_sent = t->tx_frames_sent;
    p->tx_bytes_sent = t->tx_bytes_sent;
    p->tx_frames_aborted = t->tx_frames_aborted;
    p->rx_symbol_errors = t->rx_symbol_errors;
    p->rx_fcs_errors = t->rx_fcs_errors;
    p->rx_runts = t->rx_runts;
    p->rx_giants = t->rx_giants;
    p->rx_no_sfd = t->rx_no_sfd;
    p->rx_good_frames = t->rx_good_frames;
    p->rx_good_bytes = t->rx_good_bytes;
}

}  // extern "C"
