//! Verilates `verilog-out/arsenic_top.v` (the NIC, prefix `Varsenic`),
//! `verilog-out/mac_loop.v` (the GMII MAC test top, prefix `Vmacloop`) and
//! `verilog-out/versa_ecp5.v` (the Versa board shell with the NIC inside,
//! prefix `Vversa`, with `hdl/verilog/ecp5_sim.v` for its ECP5 cells), and
//! compiles the models, Verilator's runtime and a C shim for each into one
//! static library. The prefixes keep the models' symbols apart; the
//! runtime is shared.
//!
//! Verilator 5.006's `--build` does not build its runtime, so the runtime
//! sources are compiled here alongside the models.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    // The board shell instantiates the ECP5 PLL and DDR I/O cells by name;
    // Verilator gets their behavioural models (never given to synthesis).
    let cell_models = manifest.join("../hdl/verilog/ecp5_sim.v");
    let models: [(&str, &str, &str, &str, Option<&Path>); 3] = [
        ("arsenic_top.v", "Varsenic", "verilated", "shim.cpp", None),
        ("mac_loop.v", "Vmacloop", "verilated_mac_loop", "mac_loop_shim.cpp", None),
        ("versa_ecp5.v", "Vversa", "verilated_versa", "versa_shim.cpp", Some(&cell_models)),
    ];
    for (verilog, _, _, shim, _) in models {
        println!("cargo:rerun-if-changed={}", manifest.join("../verilog-out").join(verilog).display());
        println!("cargo:rerun-if-changed={}", manifest.join("csrc").join(shim).display());
    }
    println!("cargo:rerun-if-changed={}", cell_models.display());
    println!("cargo:rerun-if-changed=csrc/pins.h");
    println!("cargo:rerun-if-changed=csrc/mac_loop_pins.h");
    println!("cargo:rerun-if-changed=csrc/versa_pins.h");

    let root = match Command::new("verilator").args(["--getenv", "VERILATOR_ROOT"]).output() {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        _ => panic!(
            "verilator was not found on PATH: run `scripts/setup.sh` (or `apt-get install verilator`)"
        ),
    };
    let include = root.join("include");
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .opt_level(3)
        .flag_if_supported("-march=native")
        .debug(false)
        .warnings(false)
        .include(&include)
        .include(include.join("vltstd"))
        .include(manifest.join("csrc"))
        .define("VM_TRACE", "1");
    for (verilog, prefix, dir, shim, cells) in models {
        let verilog = manifest.join("../verilog-out").join(verilog);
        let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join(dir);
        verilate(&verilog, cells, prefix, &out);
        build.include(&out).file(manifest.join("csrc").join(shim));
        for file in generated_sources(&out) {
            build.file(file);
        }
    }
    for runtime in ["verilated.cpp", "verilated_threads.cpp", "verilated_vcd_c.cpp"] {
        build.file(include.join(runtime));
    }
    build.compile("arsenic_verilated");
}

fn verilate(verilog: &Path, cells: Option<&Path>, prefix: &str, out: &Path) {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).unwrap();
    // -Wno-WIDTH: rust-hdl is loose about literal and slice widths.
    // -Wno-UNOPTFLAT: rust-hdl puts each module's logic in one always block,
    // so a child's output read by its parent looks like a loop to Verilator.
    let status = Command::new("verilator")
        .args(["--cc", "--prefix", prefix, "--top-module", "top"])
        .args(["-Wno-WIDTH", "-Wno-UNOPTFLAT", "--trace", "-O3", "--x-assign", "fast"])
        .args(["--x-initial", "fast", "--noassert", "-Mdir"])
        .arg(out)
        .args(cells)
        .arg(verilog)
        .status()
        .expect("running verilator");
    assert!(status.success(), "verilator failed on {}", verilog.display());
}

fn generated_sources(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cpp"))
        .collect();
    files.sort();
    files
}
