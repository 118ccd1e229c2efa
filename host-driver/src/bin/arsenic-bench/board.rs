//! Figures of a board build, from its `BoardReport`: the slowest clock's
//! Fmax, the tightest margin over a clock's requirement, and the share of
//! the device used. `make bench` takes them from the board's committed
//! timing sign-off (signoff/<board>.json), the build CI holds the gateware
//! to, or failing that from the last `make bitstream` (its report.json),
//! rather than spending the best part of an hour on a build of its own.

use anyhow::{bail, Context, Result};
use arsenic::board::{self, signoff, BoardReport};
use std::path::PathBuf;

/// `board.<board>.*` (the board's name with '_' for '-'):
/// - `fmax_mhz`: the lowest Fmax of any clock;
/// - `fmax_margin`: the lowest Fmax over requirement of any clock, as a
///   ratio (above 1 meets timing); with clocks of different requirements it
///   can be another clock's than the lowest Fmax;
/// - `luts`, `lut_fraction` (of the device's), `brams`.
pub fn figures(r: &BoardReport) -> Result<Vec<(String, f64)>> {
    if r.clocks.is_empty() {
        bail!("the {} report times no clock", r.board);
    }
    let fmax = r.clocks.iter().map(|c| c.fmax_mhz).fold(f64::INFINITY, f64::min);
    let margin = r.clocks.iter().map(|c| c.margin()).fold(f64::INFINITY, f64::min);
    let key = |figure: &str| format!("board.{}.{figure}", r.board.replace('-', "_"));
    Ok(vec![
        (key("fmax_mhz"), (fmax * 10.0).round() / 10.0),
        (key("fmax_margin"), (margin * 1000.0).round() / 1000.0),
        (key("luts"), r.luts as f64),
        (key("lut_fraction"), (r.luts as f64 / r.luts_available.max(1) as f64 * 1e4).round() / 1e4),
        (key("brams"), r.brams as f64),
    ])
}

/// The report of the signed-off build for `board`, or of its last build.
pub fn last_build(board: &str) -> Result<Option<(PathBuf, BoardReport)>> {
    let record = signoff::record_path(board);
    if let Some(rec) = signoff::load(&record)? {
        return Ok(Some((record, rec.report)));
    }
    let path = board::default_out_dir(board).join("report.json");
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(None) };
    let report = serde_json::from_str(&text).with_context(|| format!("{} is not a board report", path.display()))?;
    Ok(Some((path, report)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arsenic::board::{assemble, parse_nextpnr, ClockSpec};

    #[test]
    fn figures_take_the_slowest_clock_and_the_tightest_margin() {
        let pnr = parse_nextpnr(
            r#"{"fmax": {"$glbnet$clk125": {"achieved": 150.04, "constraint": 125},
                         "$glbnet$mdc$TRELLIS_IO_IN": {"achieved": 100.0, "constraint": 25}},
                "utilization": {"TRELLIS_COMB": {"used": 10962, "available": 43848},
                                "DP16KD": {"used": 95, "available": 108}}}"#,
        )
        .unwrap();
        let clocks = [ClockSpec { net: "clk125".into(), mhz: 125.0 }, ClockSpec { net: "mdc".into(), mhz: 25.0 }];
        let r = assemble("versa-ecp5", 1, &pnr, &clocks, Default::default(), "").unwrap();
        let f = figures(&r).unwrap();
        let got: Vec<(&str, f64)> = f.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            got,
            [
                ("board.versa_ecp5.fmax_mhz", 100.0),
                ("board.versa_ecp5.fmax_margin", 1.2),
                ("board.versa_ecp5.luts", 10962.0),
                ("board.versa_ecp5.lut_fraction", 0.25),
                ("board.versa_ecp5.brams", 95.0),
            ]
        );
    }
}
