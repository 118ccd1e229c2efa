//! The build's result as a table for people: each clock's Fmax and its
//! margin over what it needs, then the resources used of what the device has.

use super::report::BoardReport;
use std::fmt::Write;

fn percent(used: u64, available: u64) -> String {
    if available == 0 {
        String::new()
    } else {
        format!("{:5.1}%", 100.0 * used as f64 / available as f64)
    }
}

pub fn table(r: &BoardReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "timing    {:<28} {:>10} {:>10} {:>9}", "clock", "fmax MHz", "needs MHz", "margin");
    for c in &r.clocks {
        let verdict = if c.met() { "" } else { "  FAILED" };
        let _ = writeln!(
            s,
            "          {:<28} {:>10.1} {:>10.1} {:>+8.1}%{verdict}",
            c.net,
            c.fmax_mhz,
            c.constraint_mhz,
            (c.margin() - 1.0) * 100.0
        );
        if let (false, Some(p)) = (c.met(), &c.critical_path) {
            let _ = writeln!(
                s,
                "            worst path {:.2} ns ({:.2} ns routing): {} -> {}",
                p.ns, p.routing_ns, p.from, p.to
            );
        }
    }
    for net in &r.untimed_clocks {
        let _ = writeln!(s, "          {net:<28} no register paths (feeds only other clocks, e.g. a PLL)");
    }
    let _ = writeln!(s, "resources {:<28} {:>10} {:>10} {:>9}", "", "used", "available", "");
    let rows = [
        ("LUT4", r.luts, r.luts_available),
        ("registers", r.registers, r.registers_available),
        ("block RAM (DP16KD)", r.brams, r.brams_available),
        ("multipliers (MULT18X18D)", r.multipliers, r.multipliers_available),
        ("PLLs (EHXPLLL)", r.plls, r.plls_available),
        ("I/O pins", r.io, r.io_available),
        ("I/O logic (DDR registers)", r.ddr_io, r.ddr_io_available),
    ];
    for (name, used, available) in rows {
        let _ = writeln!(s, "          {name:<28} {used:>10} {available:>10} {:>9}", percent(used, available));
    }
    if !r.ddr_cells.is_empty() {
        let cells: Vec<String> = r.ddr_cells.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(s, "          DDR cells: {}", cells.join(", "));
    }
    s
}
