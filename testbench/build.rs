//! Verilates `verilog-out/arsenic_top.v` and compiles it, Verilator's
//! runtime and our C shim into a static library.
//!
//! Verilator 5.006's `--build` does not build its runtime, so the runtime
//! sources are compiled here alongside the model.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let verilog = manifest.join("../verilog-out/arsenic_top.v");
    let shim = manifest.join("csrc/shim.cpp");
    println!("cargo:rerun-if-changed={}", verilog.display());
    println!("cargo:rerun-if-changed={}", shim.display());
    println!("cargo:rerun-if-changed=csrc/pins.h");

    let root = match Command::new("verilator").args(["--getenv", "VERILATOR_ROOT"]).output() {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        _ => panic!(
            "verilator was not found on PATH: run `scripts/setup.sh` (or `apt-get install verilator`)"
        ),
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("verilated");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();

    // -Wno-WIDTH: rust-hdl is loose about literal and slice widths.
    // -Wno-UNOPTFLAT: rust-hdl puts each module's logic in one always block,
    // so a child's output read by its parent looks like a loop to Verilator.
    let status = Command::new("verilator")
        .args(["--cc", "--prefix", "Varsenic", "--top-module", "top"])
        .args(["-Wno-WIDTH", "-Wno-UNOPTFLAT", "--trace", "-O3", "--x-assign", "fast"])
        .args(["--x-initial", "fast", "--noassert", "-Mdir"])
        .arg(&out)
        .arg(&verilog)
        .status()
        .expect("running verilator");
    assert!(status.success(), "verilator failed on {}", verilog.display());

    let include = root.join("include");
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .opt_level(3)
        .flag_if_supported("-march=native")
        .debug(false)
        .warnings(false)
        .include(&out)
        .include(&include)
        .include(include.join("vltstd"))
        .include(manifest.join("csrc"))
        .define("VM_TRACE", "1")
        .file(&shim);
    for runtime in ["verilated.cpp", "verilated_threads.cpp", "verilated_vcd_c.cpp"] {
        build.file(include.join(runtime));
    }
    for file in generated_sources(&out) {
        build.file(file);
    }
    build.compile("arsenic_verilated");
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
