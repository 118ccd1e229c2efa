//! Small designs for the Versa-5G's real pins, for the bitstream flow's
//! tests, and a fresh directory to build each in.

use arsenic::board::{self, BoardTop, BuildInputs, ClockSpec};
use std::path::PathBuf;

/// A new empty directory under the system's temporary one, per process.
pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arsenic-board-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The Versa's 100 MHz oscillator (LVDS on P3) and its eight LEDs.
pub const VERSA_CLOCK_AND_LEDS: &str = r#"
LOCATE COMP "clk" SITE "P3";
IOBUF PORT "clk" IO_TYPE=LVDS;
LOCATE COMP "led[0]" SITE "E16";
LOCATE COMP "led[1]" SITE "D17";
LOCATE COMP "led[2]" SITE "D18";
LOCATE COMP "led[3]" SITE "E18";
LOCATE COMP "led[4]" SITE "F17";
LOCATE COMP "led[5]" SITE "F18";
LOCATE COMP "led[6]" SITE "E17";
LOCATE COMP "led[7]" SITE "F16";
IOBUF PORT "led[0]" IO_TYPE=LVCMOS25;
IOBUF PORT "led[1]" IO_TYPE=LVCMOS25;
IOBUF PORT "led[2]" IO_TYPE=LVCMOS25;
IOBUF PORT "led[3]" IO_TYPE=LVCMOS25;
IOBUF PORT "led[4]" IO_TYPE=LVCMOS25;
IOBUF PORT "led[5]" IO_TYPE=LVCMOS25;
IOBUF PORT "led[6]" IO_TYPE=LVCMOS25;
IOBUF PORT "led[7]" IO_TYPE=LVCMOS25;
"#;

/// A 32-bit counter whose top byte lights the LEDs (they are active low).
pub const COUNTER: &str = r#"
module blink(input clk, output [7:0] led);
  reg [31:0] count = 0;
  always @(posedge clk) count <= count + 1;
  assign led = ~count[31:24];
endmodule
"#;

pub fn counter_inputs() -> BuildInputs {
    board::versa_ecp5(BoardTop {
        verilog: COUNTER.into(),
        top_module: "blink".into(),
        lpf: VERSA_CLOCK_AND_LEDS.into(),
        clocks: vec![ClockSpec { net: "clk".into(), mhz: 100.0 }],
    })
}

/// A 32x32 multiply-accumulate in one cycle: nowhere near 450 MHz.
pub const SLOW: &str = r#"
module slow(input clk, output reg [7:0] led);
  reg [31:0] x = 0, y = 1, acc = 0;
  always @(posedge clk) begin
    x <= x + 32'd3;
    y <= {y[30:0], y[31] ^ y[21] ^ y[1] ^ y[0]};
    acc <= acc + x * y + x * {y[15:0], y[31:16]};
    led <= acc[31:24] ^ acc[7:0];
  end
endmodule
"#;

/// The multiply-accumulate, required to run at `mhz` on the oscillator.
pub fn slow_inputs(mhz: f64) -> BuildInputs {
    board::versa_ecp5(BoardTop {
        verilog: SLOW.into(),
        top_module: "slow".into(),
        lpf: VERSA_CLOCK_AND_LEDS.into(),
        clocks: vec![ClockSpec { net: "clk".into(), mhz }],
    })
}
