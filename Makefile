# The two commands of the README are `make sim` and `make test`; each
# installs what it needs first (scripts/setup.sh).

CARGO ?= cargo
OUT ?= out/sim

.PHONY: all setup verilog sim test lint bench clean

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

lint: setup
	@scripts/lint-verilog.sh

# Every test: the gateware's unit tests in rust-hdl's simulator, the
# generated-Verilog drift check, Verilator and Yosys lint, and the system
# tests of the real driver against the Verilated NIC and the model.
test: setup lint
	$(CARGO) test --workspace --release

bench: setup
	$(CARGO) run -q --release -p arsenic --bin arsenic-bench -- bench/results.json

clean:
	$(CARGO) clean
	rm -rf out
