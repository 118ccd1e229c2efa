//! Loading a bitstream onto the board with openFPGALoader: into the FPGA's
//! SRAM (gone at power-off) or its SPI flash (loaded at every power-up).
//! The Versa's JTAG is channel A of its FT2232H, openFPGALoader's `ft2232`
//! cable; it has no preset for the board.

use super::tools::{on_path, shell_quote};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// The Versa's USB JTAG bridge, FTDI FT2232H: vendor and product ids.
pub const FT2232H: (&str, &str) = ("0403", "6010");

const LOADER: &str = "openFPGALoader";

/// Whether openFPGALoader is installed (on PATH).
pub fn loader_on_path() -> bool {
    on_path(LOADER).is_some()
}

/// The command that loads `bitstream`: program and arguments.
pub fn loader_command(bitstream: &Path, flash: bool) -> Vec<String> {
    let mut cmd = vec![LOADER.to_string(), "-c".into(), "ft2232".into()];
    if flash {
        cmd.push("--write-flash".into());
    }
    cmd.push(bitstream.display().to_string());
    cmd
}

/// Whether a USB device with the FT2232H's ids is attached, from sysfs
/// (`<root>/*/idVendor` and `idProduct`; the root is normally
/// /sys/bus/usb/devices). No such directory means no USB devices.
pub fn ftdi_attached(root: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(root) else { return false };
    entries.filter_map(|e| e.ok()).any(|e| {
        let id = |f: &str| std::fs::read_to_string(e.path().join(f)).map(|s| s.trim().to_ascii_lowercase());
        matches!((id("idVendor"), id("idProduct")), (Ok(v), Ok(p)) if v == FT2232H.0 && p == FT2232H.1)
    })
}

/// Loads `bitstream` onto the attached board (`flash`: into its SPI flash).
/// With `dry_run`, prints the command and does nothing else.
pub fn program(bitstream: &Path, flash: bool, dry_run: bool) -> Result<()> {
    if !bitstream.is_file() {
        bail!(
            "no bitstream at {}: `arsenic build --board versa-ecp5` makes it (or give --bitstream)",
            bitstream.display()
        );
    }
    let cmd = loader_command(bitstream, flash);
    let line = cmd.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ");
    if dry_run {
        println!("{line}");
        return Ok(());
    }
    if !loader_on_path() {
        bail!("{LOADER} is not installed: `sudo apt-get install openfpgaloader` (Debian, Ubuntu), or see https://github.com/trabucayre/openFPGALoader");
    }
    if !ftdi_attached(Path::new("/sys/bus/usb/devices")) {
        bail!(
            "no Versa board attached: no FTDI FT2232H (USB {}:{}) found; connect the board's USB port and power it",
            FT2232H.0,
            FT2232H.1
        );
    }
    let target = if flash { "SPI flash" } else { "SRAM" };
    println!("{line}");
    let status = Command::new(&cmd[0])
        .args(&cmd[1..])
        .status()
        .with_context(|| format!("cannot run {LOADER}"))?;
    if !status.success() {
        bail!(
            "{LOADER} could not load {} into the board's {target} ({status}); see its output above: \
             is the board powered, is nothing else using the FT2232H, may this user open the USB device (udev rule)?",
            bitstream.display()
        );
    }
    println!("loaded {} into the board's {target}", bitstream.display());
    Ok(())
}
