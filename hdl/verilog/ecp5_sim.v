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
