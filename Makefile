# The two commands of the README are `make sim` and `make test`; each
# installs what it needs first (scripts/setup.sh).

CARGO ?= cargo
OUT ?= out/sim
BOARD ?= versa-ecp5

.PHONY: all setup verilog sim demo-tcp test lint bench bitstream program timing area clean

all: test

setup:
	@scripts/setup.sh

# Regenerate the Verilog from the Rust gateware. It is committed; a test
# fails if this changes a byte.
verilog:
	$(CARGO) run -q --release -p arsenic-hdl --bin arsenic-gen -- verilog-out

# The main job: generate, Verilate, steer built-in traffic to queues by the
# demo config's filters, and show the result (rxq<N>.pcap, stats.json in
# $(OUT)), checked against the behavioural model.
sim: setup verilog
	$(CARGO) run -q --release -p arsenic --bin arsenic -- sim --config configs/demo.toml --echo --out $(OUT)

# smoltcp on an application's own queue of the RTL NIC swaps 1 MiB each
# way over TCP with Linux's stack in a namespace of its own (needs root;
# otherwise a second simulated NIC is the peer).
demo-tcp: setup verilog
	$(CARGO) run -q --release -p arsenic --bin arsenic -- demo tcp

lint: setup
	@scripts/lint-verilog.sh

# Every test: the gateware's unit tests in rust-hdl's simulator, the
# generated-Verilog drift check, Verilator and Yosys lint, the board's
# timing sign-off, and the system tests of the real driver against the
# Verilated NIC and the model. The sign-off takes seconds when
# signoff/$(BOARD).json is for today's gateware and tools; otherwise it
# runs the full bitstream build (40 to 80 minutes) and fails if a clock
# misses its frequency.
test: setup lint
	$(CARGO) run --release -q -p arsenic --bin arsenic -- signoff --board $(BOARD)
	$(CARGO) test --workspace --release

# The board's bitstream in out/board/$(BOARD): synthesis, place and route,
# and a timing check that fails the target if a clock misses its frequency;
# a pass writes the sign-off signoff/$(BOARD).json, to commit.
bitstream: setup
	$(CARGO) run --release -q -p arsenic --bin arsenic -- build --board $(BOARD)

# Estimated register-to-register paths of one block synthesised on its
# own, worst first, in a minute: `make timing BLOCK=tx_shaper`
# (`scripts/block-timing.sh` lists the blocks). The board build signs off.
timing: setup
	@scripts/block-timing.sh $(BLOCK) --top 20 --paths 3

# Load that bitstream into the board's FPGA (SRAM) over its USB JTAG; run
# `arsenic program --board $(BOARD) --flash` to keep it over power cycles.
# Where the board's LUTs go, summed by block, from its last synthesis
# (`make bitstream` first): `make area DEPTH=3 UNDER=core.demux` looks inside one.
DEPTH ?= 2
area:
	@python3 scripts/area.py out/board/$(BOARD)/synth.json --depth $(DEPTH) $(if $(UNDER),--under $(UNDER))

program:
	$(CARGO) run --release -q -p arsenic --bin arsenic -- program --board $(BOARD)

bench: setup
	$(CARGO) run -q --release -p arsenic --bin arsenic-bench -- bench/results.json

clean:
	$(CARGO) clean
	rm -rf out
