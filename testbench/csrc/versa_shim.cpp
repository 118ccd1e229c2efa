// A C face for the Verilated Versa shell (the NIC between two RGMII ports,
// its control page on a UART): create, trace, evaluate. Unlike the other
// shims this one owns no clock: the board has three independent clocks
// (clk100 and each PHY's RXC), so the Rust side keeps the timeline, sets
// every pin including the clocks, and asks for one evaluation per instant
// at which something changes. Each instance has its own VerilatedContext,
// so simulations in different threads never share state.
#include <cstddef>
#include <memory>
#include "Vversa.h"
#include "versa_pins.h"
#include "verilated.h"
#include "verilated_vcd_c.h"

struct versa_sim {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vversa> top;
    std::unique_ptr<VerilatedVcdC> trace;
};

static void read_outputs(const Vversa* t, versa_pins* p) {
    p->led = t->led;
    p->uart_tx = t->uart_tx;
    p->eth0_rst_n = t->eth0_rst_n;
    p->eth0_mdc = t->eth0_mdc;
    p->eth0_txc = t->eth0_txc;
    p->eth0_tx_ctl = t->eth0_tx_ctl;
    p->eth0_txd = t->eth0_txd;
    p->eth1_rst_n = t->eth1_rst_n;
    p->eth1_mdc = t->eth1_mdc;
    p->eth1_txc = t->eth1_txc;
    p->eth1_tx_ctl = t->eth1_tx_ctl;
    p->eth1_txd = t->eth1_txd;
}

extern "C" {

// Rust checks its mirror of versa_pins against this before the first eval.
size_t versa_pins_size(void) { return sizeof(versa_pins); }

versa_sim* versa_sim_new(void) {
    auto* s = new versa_sim;
    s->ctx = std::make_unique<VerilatedContext>();
    s->ctx->traceEverOn(true);
    s->top = std::make_unique<Vversa>(s->ctx.get(), "top");
    return s;
}

void versa_sim_free(versa_sim* s) {
    if (s->trace) s->trace->close();
    s->top->final();
    delete s;
}

// Opens a VCD file; returns 0 on success. Times in it are picoseconds.
int versa_sim_trace(versa_sim* s, const char* path) {
    if (s->trace) s->trace->close();
    s->trace = std::make_unique<VerilatedVcdC>();
    s->top->trace(s->trace.get(), 99);
    s->trace->set_time_unit("1ps");
    s->trace->set_time_resolution("1ps");
    s->trace->open(path);
    return s->trace->isOpen() ? 0 : -1;
}

// Applies every input in `p`, evaluates, and fills in the outputs;
// `time_ps` stamps the trace, if one is open.
void versa_sim_eval(versa_sim* s, versa_pins* p, uint64_t time_ps) {
    Vversa* t = s->top.get();
    t->clk100 = p->clk100;
    t->rst_n = p->rst_n;
    t->uart_rx = p->uart_rx;
    t->eth0_rxc = p->eth0_rxc;
    t->eth0_rx_ctl = p->eth0_rx_ctl;
    t->eth0_rxd = p->eth0_rxd;
    t->eth1_rxc = p->eth1_rxc;
    t->eth1_rx_ctl = p->eth1_rx_ctl;
    t->eth1_rxd = p->eth1_rxd;
    s->ctx->time(time_ps);
    t->eval();
    read_outputs(t, p);
    if (s->trace) s->trace->dump(time_ps);
}

}  // extern "C"
