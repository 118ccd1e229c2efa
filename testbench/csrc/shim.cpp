// A C face for the Verilated NIC: create, trace, run one clock cycle.
// Each instance has its own VerilatedContext, so simulations in different
// threads (parallel tests) never share state.
#include <memory>
#include "Varsenic.h"
#include "pins.h"
#include "verilated.h"
#include "verilated_vcd_c.h"

struct arsenic_sim {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Varsenic> top;
    std::unique_ptr<VerilatedVcdC> trace;
    uint64_t time = 0;
};

static void apply_inputs(Varsenic* t, const arsenic_pins* p) {
    t->regs__024addr = p->reg_addr;
    t->regs__024wdata = p->reg_wdata;
    t->regs__024strobe = p->reg_strobe;
    t->regs__024write = p->reg_write;
    t->mac_rx__024data = p->rx_data;
    t->mac_rx__024valid = p->rx_valid;
    t->mac_rx__024last = p->rx_last;
    t->mac_rx__024error = p->rx_error;
    t->mac_tx__024ready = p->tx_ready;
    t->dma__024rd_req_ready = p->dma_rd_req_ready;
    t->dma__024rd_rsp_data = p->dma_rd_rsp_data;
    t->dma__024rd_rsp_valid = p->dma_rd_rsp_valid;
    t->dma__024rd_rsp_tag = p->dma_rd_rsp_tag;
    t->dma__024rd_rsp_last = p->dma_rd_rsp_last;
    t->dma__024wr_req_ready = p->dma_wr_req_ready;
    t->dma__024wr_data_ready = p->dma_wr_data_ready;
}

static void read_outputs(const Varsenic* t, arsenic_pins* p) {
    p->reg_ack = t->regs__024ack;
    p->reg_rdata = t->regs__024rdata;
    p->rx_ready = t->mac_rx__024ready;
    p->tx_data = t->mac_tx__024data;
    p->tx_valid = t->mac_tx__024valid;
    p->tx_last = t->mac_tx__024last;
    p->tx_error = t->mac_tx__024error;
    p->dma_rd_req_valid = t->dma__024rd_req_valid;
    p->dma_rd_req_addr = t->dma__024rd_req_addr;
    p->dma_rd_req_len = t->dma__024rd_req_len;
    p->dma_rd_req_tag = t->dma__024rd_req_tag;
    p->dma_rd_rsp_ready = t->dma__024rd_rsp_ready;
    p->dma_wr_req_valid = t->dma__024wr_req_valid;
    p->dma_wr_req_addr = t->dma__024wr_req_addr;
    p->dma_wr_req_len = t->dma__024wr_req_len;
    p->dma_wr_data_valid = t->dma__024wr_data_valid;
    p->dma_wr_data = t->dma__024wr_data;
    p->dma_wr_data_last = t->dma__024wr_data_last;
    p->decision_valid = t->decision__024valid;
    p->decision_reason = t->decision__024reason;
    p->decision_queue = t->decision__024queue;
    p->decision_kind = t->decision__024kind;
    p->decision_filter_id = t->decision__024filter_id;
    p->decision_rss = t->decision__024rss;
}

extern "C" {

arsenic_sim* arsenic_sim_new(void) {
    auto* s = new arsenic_sim;
    s->ctx = std::make_unique<VerilatedContext>();
    s->ctx->traceEverOn(true);
    s->top = std::make_unique<Varsenic>(s->ctx.get(), "top");
    // Settle once with the clock low before the first rising edge.
    s->top->clock = 0;
    s->top->eval();
    return s;
}

void arsenic_sim_free(arsenic_sim* s) {
    if (s->trace) s->trace->close();
    s->top->final();
    delete s;
}

// Opens a VCD file; returns 0 on success.
int arsenic_sim_trace(arsenic_sim* s, const char* path) {
    if (s->trace) s->trace->close();
    s->trace = std::make_unique<VerilatedVcdC>();
    s->top->trace(s->trace.get(), 99);
    s->trace->open(path);
    return s->trace->isOpen() ? 0 : -1;
}

// One clock period: inputs are applied with the clock low and outputs read
// back before the rising edge, so `pins` shows exactly what the edge sees.
void arsenic_sim_cycle(arsenic_sim* s, arsenic_pins* pins) {
    Varsenic* t = s->top.get();
    apply_inputs(t, pins);
    t->eval();
    read_outputs(t, pins);
    if (s->trace) s->trace->dump(s->time);
    t->clock = 1;
    t->eval();
    if (s->trace) s->trace->dump(s->time + 1);
    t->clock = 0;
    t->eval();
    s->time += 2;
}

}  // extern "C"
