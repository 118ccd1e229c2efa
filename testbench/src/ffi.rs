//! The Verilated models behind safe handles: the NIC ([`Model`]), the
//! GMII MAC test top ([`MacLoopModel`]) and the Versa board shell
//! ([`VersaModel`]). This is the only unsafe code in the crate.

use crate::pins::{MacLoopPins, Pins, VersaPins};
use std::ffi::CString;
use std::path::Path;

#[repr(C)]
struct RawSim {
    _private: [u8; 0],
}

#[repr(C)]
struct RawMacLoop {
    _private: [u8; 0],
}

#[repr(C)]
struct RawVersa {
    _private: [u8; 0],
}

extern "C" {
    fn arsenic_sim_new() -> *mut RawSim;
    fn arsenic_sim_free(sim: *mut RawSim);
    fn arsenic_sim_trace(sim: *mut RawSim, path: *const std::os::raw::c_char) -> i32;
    fn arsenic_sim_cycle(sim: *mut RawSim, pins: *mut Pins);
    fn mac_loop_pins_size() -> usize;
    fn mac_loop_sim_new() -> *mut RawMacLoop;
    fn mac_loop_sim_free(sim: *mut RawMacLoop);
    fn mac_loop_sim_trace(sim: *mut RawMacLoop, path: *const std::os::raw::c_char) -> i32;
    fn mac_loop_sim_cycle(sim: *mut RawMacLoop, pins: *mut MacLoopPins);
    fn versa_pins_size() -> usize;
    fn versa_sim_new() -> *mut RawVersa;
    fn versa_sim_free(sim: *mut RawVersa);
    fn versa_sim_trace(sim: *mut RawVersa, path: *const std::os::raw::c_char) -> i32;
    fn versa_sim_eval(sim: *mut RawVersa, pins: *mut VersaPins, time_ps: u64);
}

/// Owns one Verilated NIC with its own Verilator context.
pub struct Model {
    raw: *mut RawSim,
}

// The model is plain C++ state reached only through `&mut self`; its
// context is private to it, so moving it to another thread is sound.
unsafe impl Send for Model {}

impl Model {
    pub fn new() -> Self {
        // SAFETY: arsenic_sim_new has no preconditions and returns an owned,
        // non-null instance (operator new throws rather than return null).
        let raw = unsafe { arsenic_sim_new() };
        assert!(!raw.is_null());
        Self { raw }
    }

    /// Runs one clock period with `pins` as inputs; fills in the outputs.
    pub fn cycle(&mut self, pins: &mut Pins) {
        // SAFETY: `raw` is live until Drop; `pins` is a valid, exclusive
        // #[repr(C)] struct laid out as csrc/pins.h declares.
        unsafe { arsenic_sim_cycle(self.raw, pins) }
    }

    pub fn trace(&mut self, path: &Path) -> Result<(), String> {
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("trace path {} contains a NUL byte", path.display()))?;
        // SAFETY: `raw` is live and `c` is a NUL-terminated string that
        // outlives the call (the shim copies the name).
        match unsafe { arsenic_sim_trace(self.raw, c.as_ptr()) } {
            0 => Ok(()),
            _ => Err(format!("cannot open trace file {}", path.display())),
        }
    }
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: `raw` came from arsenic_sim_new and is freed exactly once.
        unsafe { arsenic_sim_free(self.raw) }
    }
}

/// Owns one Verilated MAC test top with its own Verilator context.
pub(crate) struct MacLoopModel {
    raw: *mut RawMacLoop,
}

// As for Model: C++ state reached only through `&mut self`, with a private
// Verilator context, so moving it to another thread is sound.
unsafe impl Send for MacLoopModel {}

impl MacLoopModel {
    pub fn new() -> Self {
        // SAFETY: a pure function of the C struct's layout.
        let c_size = unsafe { mac_loop_pins_size() };
        // The shim reads and writes the whole struct through the pointer
        // `cycle` passes, so a mirror that drifted from the header would
        // corrupt memory; a size check catches an added or retyped field.
        assert_eq!(c_size, std::mem::size_of::<MacLoopPins>(), "MacLoopPins does not mirror csrc/mac_loop_pins.h");
        // SAFETY: no preconditions; returns an owned, non-null instance
        // (operator new throws rather than return null).
        let raw = unsafe { mac_loop_sim_new() };
        assert!(!raw.is_null());
        Self { raw }
    }

    /// Runs one clock period with `pins` as inputs; fills in the outputs.
    pub fn cycle(&mut self, pins: &mut MacLoopPins) {
        // SAFETY: `raw` is live until Drop; `pins` is a valid, exclusive
        // #[repr(C)] struct laid out as csrc/mac_loop_pins.h declares (its
        // size checked in new), used only for the duration of the call.
        unsafe { mac_loop_sim_cycle(self.raw, pins) }
    }

    pub fn trace(&mut self, path: &Path) -> Result<(), String> {
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("trace path {} contains a NUL byte", path.display()))?;
        // SAFETY: `raw` is live and `c` is a NUL-terminated string that
        // outlives the call (VerilatedVcdC copies the name).
        match unsafe { mac_loop_sim_trace(self.raw, c.as_ptr()) } {
            0 => Ok(()),
            _ => Err(format!("cannot open trace file {}", path.display())),
        }
    }
}

impl Drop for MacLoopModel {
    fn drop(&mut self) {
        // SAFETY: `raw` came from mac_loop_sim_new and is freed exactly once.
        unsafe { mac_loop_sim_free(self.raw) }
    }
}

/// Owns one Verilated Versa shell with its own Verilator context.
///
/// Soundness: the only pointer is `raw`, created by `versa_sim_new`, used
/// only through `&mut self` (so never from two threads at once, and never
/// re-entered: the shim calls no Rust), and freed once in `Drop`. The pins
/// cross as a `#[repr(C)]` struct of bytes whose size is checked against the
/// C header's before the model exists, and the shim touches them only
/// during the call.
pub(crate) struct VersaModel {
    raw: *mut RawVersa,
}

// As for Model: C++ state reached only through `&mut self`, with a private
// Verilator context and no thread-local state, so moving it to another
// thread is sound.
unsafe impl Send for VersaModel {}

impl VersaModel {
    pub fn new() -> Self {
        // SAFETY: a pure function of the C struct's layout.
        let c_size = unsafe { versa_pins_size() };
        // The shim reads and writes the whole struct through the pointer
        // `eval` passes, so a mirror that drifted from the header would
        // corrupt memory; a size check catches an added or retyped field.
        assert_eq!(c_size, std::mem::size_of::<VersaPins>(), "VersaPins does not mirror csrc/versa_pins.h");
        // SAFETY: no preconditions; returns an owned, non-null instance
        // (operator new throws rather than return null).
        let raw = unsafe { versa_sim_new() };
        assert!(!raw.is_null());
        Self { raw }
    }

    /// Applies `pins`' inputs, evaluates, fills in its outputs.
    pub fn eval(&mut self, pins: &mut VersaPins, time_ps: u64) {
        // SAFETY: `raw` is live until Drop; `pins` is a valid, exclusive
        // #[repr(C)] struct laid out as csrc/versa_pins.h declares (its size
        // checked in new), used only for the duration of the call.
        unsafe { versa_sim_eval(self.raw, pins, time_ps) }
    }

    pub fn trace(&mut self, path: &Path) -> Result<(), String> {
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("trace path {} contains a NUL byte", path.display()))?;
        // SAFETY: `raw` is live and `c` is a NUL-terminated string that
        // outlives the call (VerilatedVcdC copies the name).
        match unsafe { versa_sim_trace(self.raw, c.as_ptr()) } {
            0 => Ok(()),
            _ => Err(format!("cannot open trace file {}", path.display())),
        }
    }
}

impl Drop for VersaModel {
    fn drop(&mut self) {
        // SAFETY: `raw` came from versa_sim_new and is freed exactly once.
        unsafe { versa_sim_free(self.raw) }
    }
}
