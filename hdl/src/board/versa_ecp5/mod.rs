//! The Lattice ECP5 Versa-5G (LFE5UM5G-45F-8BG381C): a 100 MHz LVDS
//! oscillator, eight LEDs (lit when driven low), a reset button, the
//! FT2232H's second channel as a UART, and two Marvell 88E1512 PHYs on
//! RGMII. The pins were taken from two independent board descriptions that
//! agree on every pin used here (see `SOURCES`); the LEDs and resets are
//! active low in both.

pub mod forwarder;
pub mod regions;
pub mod shell;

pub use shell::VersaEcp5;

use super::{Board, ClockKind, ClockSpec, Pin};

const fn pin(port: &'static str, site: &'static str, io_type: &'static str) -> Pin {
    Pin { port, site, io_type, extra: "" }
}

const L25: &str = "LVCMOS25";

/// The shell's top-level ports, one entry per bit.
pub const PINS: &[Pin] = &[
    pin("clk100", "P3", "LVDS"),
    pin("rst_n", "T1", "LVCMOS33"),
    pin("led[0]", "E16", L25),
    pin("led[1]", "D17", L25),
    pin("led[2]", "D18", L25),
    pin("led[3]", "E18", L25),
    pin("led[4]", "F17", L25),
    pin("led[5]", "F18", L25),
    pin("led[6]", "E17", L25),
    pin("led[7]", "F16", L25),
    // The FT2232H drives this line only once its UART channel is open: the
    // pull-up keeps an idle line from reading as a start bit.
    Pin { port: "uart_rx", site: "C11", io_type: "LVCMOS33", extra: "PULLMODE=UP" },
    pin("uart_tx", "A11", "LVCMOS33"),
    // Ethernet port 0 (J5 on the board).
    pin("eth0_rst_n", "U17", L25),
    pin("eth0_mdc", "T18", L25),
    pin("eth0_rxc", "L20", L25),
    pin("eth0_rx_ctl", "U19", L25),
    pin("eth0_rxd[0]", "T20", L25),
    pin("eth0_rxd[1]", "U20", L25),
    pin("eth0_rxd[2]", "T19", L25),
    pin("eth0_rxd[3]", "R18", L25),
    pin("eth0_txc", "P19", L25),
    pin("eth0_tx_ctl", "R20", L25),
    pin("eth0_txd[0]", "N19", L25),
    pin("eth0_txd[1]", "N20", L25),
    pin("eth0_txd[2]", "P18", L25),
    pin("eth0_txd[3]", "P20", L25),
    // Ethernet port 1.
    pin("eth1_rst_n", "F20", L25),
    pin("eth1_mdc", "G19", L25),
    pin("eth1_rxc", "J19", L25),
    pin("eth1_rx_ctl", "F19", L25),
    pin("eth1_rxd[0]", "G18", L25),
    pin("eth1_rxd[1]", "G16", L25),
    pin("eth1_rxd[2]", "H18", L25),
    pin("eth1_rxd[3]", "H17", L25),
    pin("eth1_txc", "C20", L25),
    pin("eth1_tx_ctl", "E19", L25),
    pin("eth1_txd[0]", "J17", L25),
    pin("eth1_txd[1]", "J16", L25),
    pin("eth1_txd[2]", "D19", L25),
    pin("eth1_txd[3]", "D20", L25),
];

pub const SOURCES: &[&str] = &[
    "litex-hub/litex-boards litex_boards/platforms/lattice_versa_ecp5.py (clk100, rst_n, user_led, serial, eth/eth_clocks 0 and 1)",
    "amaranth-lang/amaranth-boards amaranth_boards/versa_ecp5.py (clk100, rst, led (inverted), uart, eth_rgmii 0 and 1)",
    "YosysHQ/prjtrellis examples/soc_versa5g/versa.lpf (clkin, led, uart)",
];

/// The receive clocks come from the PHYs; the core clock is derived by the
/// PLL from `clk100`, and nextpnr propagates the constraint through it.
pub const CLOCKS: &[ClockSpec] = &[
    ClockSpec { kind: ClockKind::Port, name: "clk100", mhz: 100.0 },
    ClockSpec { kind: ClockKind::Port, name: "eth0_rxc", mhz: 125.0 },
    ClockSpec { kind: ClockKind::Port, name: "eth1_rxc", mhz: 125.0 },
];

pub const BOARD: Board = Board {
    name: "versa-ecp5",
    what: "Lattice ECP5 Versa-5G, LFE5UM5G-45F-8BG381C",
    part: "LFE5UM5G-45F-8BG381C",
    nextpnr_device: &["--um5g-45k", "--package", "CABGA381", "--speed", "8"],
    top_module: "top",
    pins: PINS,
    clocks: CLOCKS,
    sources: SOURCES,
    verilog: shell::verilog,
    verilog_file: "versa_ecp5.v",
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The RGMII pins of both ports, bit order as the PHY numbers them, as
    /// both board descriptions in `SOURCES` give them.
    #[test]
    fn ethernet_pins_match_the_board_descriptions() {
        let b = &BOARD;
        assert_eq!(b.sites_of("eth0_rxd"), ["T20", "U20", "T19", "R18"]);
        assert_eq!(b.sites_of("eth0_txd"), ["N19", "N20", "P18", "P20"]);
        assert_eq!(b.sites_of("eth1_rxd"), ["G18", "G16", "H18", "H17"]);
        assert_eq!(b.sites_of("eth1_txd"), ["J17", "J16", "D19", "D20"]);
        let one = |p: &str| b.sites_of(p)[0];
        assert_eq!([one("eth0_rxc"), one("eth0_rx_ctl"), one("eth0_txc"), one("eth0_tx_ctl")], ["L20", "U19", "P19", "R20"]);
        assert_eq!([one("eth1_rxc"), one("eth1_rx_ctl"), one("eth1_txc"), one("eth1_tx_ctl")], ["J19", "F19", "C20", "E19"]);
        assert_eq!([one("eth0_rst_n"), one("eth1_rst_n")], ["U17", "F20"]);
        assert_eq!([one("uart_rx"), one("uart_tx"), one("clk100")], ["C11", "A11", "P3"]);
        // RGMII signals at 2.5 V: the PHYs' I/O supply on this board.
        for p in PINS.iter().filter(|p| p.port.starts_with("eth")) {
            assert_eq!(p.io_type, "LVCMOS25", "{}", p.port);
        }
    }
}
