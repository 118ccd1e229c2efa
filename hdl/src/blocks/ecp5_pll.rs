//! The ECP5 PLL (EHXPLLL) set up for the board shells: the 125 MHz core
//! clock from a 100 MHz reference, and a copy shifted by 90 degrees that
//! clocks the RGMII transmit clock out, so its edges sit in the middle of
//! each data bit at the PHY (2 ns after the data changes).
//!
//! The divider and phase settings are what Project Trellis's `ecppll`
//! computes for `-i 100 -o 125 --clkout1 125 --phase1 90` (VCO 625 MHz);
//! a test runs `ecppll` and compares. In rust-hdl's simulator the PLL is
//! a wire from the reference to both outputs, locked from the start: the
//! shells are simulated from their core clock, not through the PLL.

use rust_hdl::prelude::*;

/// The settings the Verilog below carries, as `ecppll` reports them.
pub const CLKI_DIV: u32 = 4;
pub const CLKFB_DIV: u32 = 5;
pub const CLKOP_DIV: u32 = 5;
pub const CLKOS_DIV: u32 = 5;
pub const CLKOP_CPHASE: u32 = 2;
pub const CLKOS_CPHASE: u32 = 3;
pub const CLKOS_FPHASE: u32 = 2;

#[derive(LogicBlock, Default)]
pub struct Ecp5Pll {
    /// The 100 MHz reference.
    pub clkin: Signal<In, Clock>,
    /// 125 MHz, the core clock.
    pub clkout: Signal<Out, Clock>,
    /// 125 MHz, 90 degrees after `clkout`.
    pub clkout90: Signal<Out, Clock>,
    pub locked: Signal<Out, Bit>,
}

impl Logic for Ecp5Pll {
    fn update(&mut self) {
        self.clkout.next = self.clkin.val();
        self.clkout90.next = self.clkin.val();
        self.locked.next = true;
    }

    fn connect(&mut self) {
        self.clkout.connect();
        self.clkout90.connect();
        self.locked.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Wrapper(Wrapper {
            code: format!(
                r#"
    // Feedback from CLKOP keeps CLKOP phase-aligned to the reference.
    (* FREQUENCY_PIN_CLKI="100" *)
    (* FREQUENCY_PIN_CLKOP="125" *)
    (* FREQUENCY_PIN_CLKOS="125" *)
    (* ICP_CURRENT="12" *) (* LPF_RESISTOR="8" *) (* MFG_ENABLE_FILTEROPAMP="1" *) (* MFG_GMCREF_SEL="2" *)
    EHXPLLL #(
        .PLLRST_ENA("DISABLED"),
        .INTFB_WAKE("DISABLED"),
        .STDBY_ENABLE("DISABLED"),
        .DPHASE_SOURCE("DISABLED"),
        .OUTDIVIDER_MUXA("DIVA"),
        .OUTDIVIDER_MUXB("DIVB"),
        .OUTDIVIDER_MUXC("DIVC"),
        .OUTDIVIDER_MUXD("DIVD"),
        .CLKI_DIV({CLKI_DIV}),
        .CLKOP_ENABLE("ENABLED"),
        .CLKOP_DIV({CLKOP_DIV}),
        .CLKOP_CPHASE({CLKOP_CPHASE}),
        .CLKOP_FPHASE(0),
        .CLKOS_ENABLE("ENABLED"),
        .CLKOS_DIV({CLKOS_DIV}),
        .CLKOS_CPHASE({CLKOS_CPHASE}),
        .CLKOS_FPHASE({CLKOS_FPHASE}),
        .FEEDBK_PATH("CLKOP"),
        .CLKFB_DIV({CLKFB_DIV})
    ) pll_i (
        .RST(1'b0),
        .STDBY(1'b0),
        .CLKI(clkin),
        .CLKOP(clkout),
        .CLKOS(clkout90),
        .CLKFB(clkout),
        .CLKINTFB(),
        .PHASESEL0(1'b0),
        .PHASESEL1(1'b0),
        .PHASEDIR(1'b1),
        .PHASESTEP(1'b1),
        .PHASELOADREG(1'b1),
        .PLLWAKESYNC(1'b0),
        .ENCLKOP(1'b0),
        .LOCK(locked)
    );
"#
            ),
            cores: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn venv_tool(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin").join(name)
    }

    /// The settings above are the ones the PLL calculator derives, so the
    /// clocks really are 125 MHz and 90 degrees apart.
    #[test]
    fn settings_match_the_pll_calculator() {
        let dir = tempdir();
        let out = Command::new(venv_tool("yowasp-ecppll"))
            .current_dir(&dir)
            .args(["-i", "100", "-o", "125", "--clkout1", "125", "--phase1", "90", "-n", "p", "-f", "p.v"])
            .output()
            .expect("running yowasp-ecppll (scripts/setup.sh installs it)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v = std::fs::read_to_string(dir.join("p.v")).unwrap();
        for (name, value) in [
            ("CLKI_DIV", CLKI_DIV),
            ("CLKFB_DIV", CLKFB_DIV),
            ("CLKOP_DIV", CLKOP_DIV),
            ("CLKOS_DIV", CLKOS_DIV),
            ("CLKOP_CPHASE", CLKOP_CPHASE),
            ("CLKOS_CPHASE", CLKOS_CPHASE),
            ("CLKOS_FPHASE", CLKOS_FPHASE),
        ] {
            assert!(v.contains(&format!(".{name}({value})")), "ecppll gives a different {name}:\n{v}");
        }
        let mut pll = Ecp5Pll::default();
        pll.clkin.connect();
        pll.connect_all();
        let ours = generate_verilog(&pll);
        assert!(ours.contains(".CLKOS_FPHASE(2)") && ours.contains("EHXPLLL"));
    }

    fn tempdir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("arsenic-pll-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
