// Behavioural models of the ECP5 x1 DDR I/O cells, for Verilator only.
// Never give this file to synthesis: Yosys' synth_ecp5 maps the real cells
// (+/ecp5/cells_bb.v). The timing matches the rust-hdl models in
// hdl/src/blocks/ecp5_io.rs (see there for the sources):
//   IDDRX1F: after rising edge k+1, Q0 = D at rising edge k and
//            Q1 = D at the falling edge after it.
//   ODDRX1F: D0/D1 sampled at rising edge k; Q = D0 while SCLK is high
//            after rising edge k+2, then D1 while SCLK is low.
// RST clears every register asynchronously.

module IDDRX1F (input D, input SCLK, input RST, output reg Q0, output reg Q1);
    parameter GSR = "ENABLED";
    reg rise = 1'b0;
    reg fall = 1'b0;
    initial begin
        Q0 = 1'b0;
        Q1 = 1'b0;
    end
    always @(posedge SCLK or posedge RST) begin
        if (RST) begin
            rise <= 1'b0;
            Q0 <= 1'b0;
            Q1 <= 1'b0;
        end else begin
            Q0 <= rise;
            Q1 <= fall;
            rise <= D;
        end
    end
    always @(negedge SCLK or posedge RST) begin
        if (RST) fall <= 1'b0;
        else fall <= D;
    end
endmodule

module ODDRX1F (input SCLK, input RST, input D0, input D1, output Q);
    parameter GSR = "ENABLED";
    reg d0_1 = 1'b0, d1_1 = 1'b0, d0_2 = 1'b0, d1_2 = 1'b0;
    reg high = 1'b0, low = 1'b0;
    always @(posedge SCLK or posedge RST) begin
        if (RST) begin
            {d0_1, d1_1, d0_2, d1_2, high, low} <= 6'b0;
        end else begin
            high <= d0_2;
            low <= d1_2;
            d0_2 <= d0_1;
            d1_2 <= d1_1;
            d0_1 <= D0;
            d1_1 <= D1;
        end
    end
    assign Q = SCLK ? high : low;
endmodule

// EHXPLLL, for lint only: the shells' PLL (blocks/ecp5_pll.rs) passes its
// reference through, as the rust-hdl model does. Only the ports the shell
// connects are modelled; the parameters are accepted and ignored.
module EHXPLLL #(
    parameter PLLRST_ENA = "DISABLED", parameter INTFB_WAKE = "DISABLED",
    parameter STDBY_ENABLE = "DISABLED", parameter DPHASE_SOURCE = "DISABLED",
    parameter OUTDIVIDER_MUXA = "DIVA", parameter OUTDIVIDER_MUXB = "DIVB",
    parameter OUTDIVIDER_MUXC = "DIVC", parameter OUTDIVIDER_MUXD = "DIVD",
    parameter CLKI_DIV = 1, parameter CLKOP_ENABLE = "ENABLED", parameter CLKOP_DIV = 8,
    parameter CLKOP_CPHASE = 0, parameter CLKOP_FPHASE = 0, parameter CLKOS_ENABLE = "DISABLED",
    parameter CLKOS_DIV = 8, parameter CLKOS_CPHASE = 0, parameter CLKOS_FPHASE = 0,
    parameter FEEDBK_PATH = "CLKOP", parameter CLKFB_DIV = 1
) (
    input CLKI, input CLKFB, input RST, input STDBY, input PHASESEL0, input PHASESEL1,
    input PHASEDIR, input PHASESTEP, input PHASELOADREG, input PLLWAKESYNC, input ENCLKOP,
    output CLKOP, output CLKOS, output CLKINTFB, output LOCK
);
    assign CLKOP = CLKI;
    assign CLKOS = CLKI;
    assign CLKINTFB = 1'b0;
    assign LOCK = 1'b1;
    /* verilator lint_off UNUSED */
    wire unused = &{CLKFB, RST, STDBY, PHASESEL0, PHASESEL1, PHASEDIR, PHASESTEP, PHASELOADREG, PLLWAKESYNC, ENCLKOP};
    /* verilator lint_on UNUSED */
endmodule
