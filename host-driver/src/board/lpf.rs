//! The constraints file nextpnr reads: the board's LPF, then one FREQUENCY
//! line per clock the board names. nextpnr takes the last FREQUENCY for a
//! net, so the board's `ClockSpec`s are what timing is checked against even
//! if its LPF says otherwise, and no clock falls back to nextpnr's 12 MHz.

use super::ClockSpec;

pub fn with_clocks(lpf: &str, clocks: &[ClockSpec]) -> String {
    let mut s = lpf.trim_end().to_string();
    s.push_str("\n\n# The board's clock requirements (BuildInputs.clocks).\n");
    for c in clocks {
        s.push_str(&format!("FREQUENCY NET \"{}\" {} MHZ;\n", c.net, c.mhz));
    }
    s
}
