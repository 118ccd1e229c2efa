#!/usr/bin/env python3
"""Ranks the register-to-register paths of a synthesised ECP5 netlist by an
estimated delay, in seconds rather than the half hour a full place and route
of the board takes.

Usage: timing-paths.py synth.json [--top N] [--under PREFIX] [--budget NS]

nextpnr reports one critical path per clock, and only after routing; to
pipeline a design we need every slow endpoint at once, named after the
rust-hdl signal it ends in. The delays are a coarse model of a speed-8
LFE5UM5G (a LUT plus an average route per level, carry chains per cell,
block RAM clock-to-out), close enough to rank paths and find the ones that
need a register, not a substitute for nextpnr's sign-off.
"""
import argparse
import collections
import json
import re
import sys

# Nanoseconds. A LUT level's cost is dominated by the route into it.
ROUTE = 0.75
CELL = {
    "LUT4": 0.25,
    "PFUMX": 0.2,
    "L6MUX21": 0.2,
    "TRELLIS_DPR16X4": 0.6,
}
CARRY_ENTRY = 0.45  # A/B into COUT of the first CCU2C
CARRY_STEP = 0.06  # CIN to COUT of each further CCU2C
CARRY_SUM = 0.35  # CIN to S
CLK_TO_Q = {"TRELLIS_FF": 0.45, "DP16KD": 3.9, "IDDRX1F": 0.45, "MULT18X18D": 0.6, "ALU54B": 0.6}
SETUP = 0.15

SEQUENTIAL_INPUTS = {
    "TRELLIS_FF": None,  # every input ends a path
    "DP16KD": None,
    "ODDRX1F": None,
    "TRELLIS_DPR16X4": {"DI", "WAD", "WRE"},  # writes are clocked; RAD is combinational
}


def load(path):
    design = json.load(open(path))
    for name, module in design["modules"].items():
        if module.get("attributes", {}).get("top"):
            return module
    sys.exit(f"{path}: no top module")


def analyse(module):
    names = {}
    for net, info in module["netnames"].items():
        for bit in info["bits"]:
            if isinstance(bit, int) and (bit not in names or (info.get("hide_name") == 0 and "$" not in net)):
                names[bit] = net
    cells = {k: v for k, v in module["cells"].items() if v["type"] != "$scopeinfo"}
    driver = {}
    for name, cell in cells.items():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) == "output":
                for i, bit in enumerate(bits):
                    if isinstance(bit, int):
                        driver[bit] = (name, port, i)

    arrival = {}
    via = {}
    visiting = set()

    def net_arrival(bit):
        if not isinstance(bit, int) or bit not in driver:
            return 0.0
        if bit in arrival:
            return arrival[bit]
        name, port, index = driver[bit]
        cell = cells[name]
        kind = cell["type"]
        if kind in CLK_TO_Q or (kind == "TRELLIS_DPR16X4" and False):
            arrival[bit] = CLK_TO_Q[kind]
            via[bit] = None
            return arrival[bit]
        if bit in visiting:
            return 0.0  # combinational loop: counted once
        visiting.add(bit)
        conn = cell["connections"]
        if kind == "CCU2C":
            best, came = 0.0, None
            for p in ("A0", "B0", "C0", "D0", "A1", "B1", "C1", "D1"):
                for b in conn.get(p, []):
                    t = net_arrival(b) + ROUTE + (CARRY_ENTRY if port == "COUT" else CARRY_SUM)
                    if t > best:
                        best, came = t, b
            for b in conn.get("CIN", []):
                t = net_arrival(b) + (CARRY_STEP if port == "COUT" else CARRY_SUM)
                if t > best:
                    best, came = t, b
        else:
            inputs = [p for p, d in cell["port_directions"].items() if d == "input"]
            if kind == "TRELLIS_DPR16X4":
                inputs = ["RAD"]
            step = CELL.get(kind, 0.5)
            best, came = 0.0, None
            for p in inputs:
                # The wide-function muxes take their data inputs from the
                # LUTs beside them in the slice, with no general route.
                route = 0.0 if kind in ("PFUMX", "L6MUX21") and p != "SD" and p != "C0" else ROUTE
                for b in conn.get(p, []):
                    t = net_arrival(b) + route + step
                    if t > best:
                        best, came = t, b
        visiting.discard(bit)
        arrival[bit] = best
        via[bit] = came
        return best

    sys.setrecursionlimit(1_000_000)
    endpoints = []
    for name, cell in cells.items():
        kind = cell["type"]
        if kind not in SEQUENTIAL_INPUTS:
            continue
        wanted = SEQUENTIAL_INPUTS[kind]
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) != "input" or port in ("CLK", "CLKA", "CLKB", "WCK", "SCLK"):
                continue
            if wanted is not None and not any(port.startswith(w) for w in wanted):
                continue
            for b in bits:
                if isinstance(b, int) and b in driver:
                    endpoints.append((net_arrival(b) + ROUTE + SETUP, name, port, b))
    return endpoints, via, names, driver, cells, arrival


def short(name):
    # Yosys names a mapped net after the first named net it grew from, plus a
    # suffix per cell it went through; the named stem is what we can act on.
    return re.split(r"_(?:LUT4|CCU2C|PFUMX|L6MUX21|TRELLIS_FF|TRELLIS_DPR16X4)_", name)[0]


def trace(bit, via, names, driver, cells, arrival):
    steps = []
    while isinstance(bit, int):
        cell = driver.get(bit, ("?",))[0]
        info = cells.get(cell, {})
        src = info.get("attributes", {}).get("src", "").split("|")[0]
        steps.append((info.get("type", "?"), short(names.get(bit, str(bit))), src, arrival.get(bit, 0.0)))
        bit = via.get(bit)
    steps.reverse()
    # A carry chain reads as one step with its length.
    out, i = [], 0
    while i < len(steps):
        j = i
        while j + 1 < len(steps) and steps[j + 1][0] == "CCU2C" and steps[i][0] == "CCU2C":
            j += 1
        kind, name, src, t = steps[j]
        label = f"CCU2C x{j - i + 1}" if j > i else kind
        out.append(f"{t:6.2f}  {label:16} {name}  {src}")
        i = j + 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("--top", type=int, default=30, help="endpoints to list")
    ap.add_argument("--under", default="", help="only endpoints whose cell name starts with this")
    ap.add_argument("--budget", type=float, default=8.0, help="clock period in ns")
    ap.add_argument("--paths", type=int, default=5, help="worst paths to trace in full")
    args = ap.parse_args()
    endpoints, via, names, driver, cells, arrival = analyse(load(args.json))
    endpoints = [e for e in endpoints if e[1].startswith(args.under)]
    endpoints.sort(reverse=True)
    # One line per register, not per bit.
    seen, rows = set(), []
    for t, cell, port, bit in endpoints:
        key = re.sub(r"_D[IO][AB]?\d+$", "", cell.split("_TRELLIS_FF")[0])
        if key in seen:
            continue
        seen.add(key)
        rows.append((t, key, port, bit))
    failing = sum(1 for t, *_ in endpoints if t > args.budget)
    groups = collections.Counter(".".join(r[1].split(".")[:3]) for r in rows if r[0] > args.budget)
    print(f"estimated endpoints over {args.budget} ns: {failing} bits, {sum(1 for r in rows if r[0] > args.budget)} registers")
    for g, n in groups.most_common(25):
        print(f"  {n:5} {g}")
    print()
    for t, key, port, bit in rows[: args.top]:
        print(f"{t:6.2f} ns  {key} .{port}")
    for t, key, port, bit in rows[: args.paths]:
        print(f"\n{t:.2f} ns into {key}.{port}:")
        for step in trace(bit, via, names, driver, cells, arrival):
            print("    " + step)


if __name__ == "__main__":
    main()
