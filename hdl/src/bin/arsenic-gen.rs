//! `make verilog`: writes the default NIC's Verilog, and the test tops the
//! Verilated tests need, into a directory (default `verilog-out`). It
//! needs nothing but the hdl crate, so the Verilog can be regenerated even
//! when the simulator does not build.

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "verilog-out".into());
    match arsenic_hdl::generate::write(&arsenic_hdl::NicParams::default(), dir.as_ref()) {
        Ok(paths) => {
            for path in paths {
                println!("wrote {}", path.display());
            }
        }
        Err(e) => {
            eprintln!("arsenic-gen: {e}");
            std::process::exit(1);
        }
    }
}
