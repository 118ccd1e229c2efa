#!/usr/bin/env python3
"""Where the LUTs go: a synthesised ECP5 netlist's cells summed by the
rust-hdl block they came from, largest first.

Usage: area.py synth.json [--depth N] [--under PREFIX] [--top N]

nextpnr reports the whole chip's utilisation only, and Yosys's per-module
`stat` needs a hierarchy that the board's flattened netlist no longer has;
but every cell keeps its hierarchical name (`core.demux.wild_table...`),
so the cells can be summed by name. `lut_eq` counts what a block takes of
the LUT4 budget the place-and-route report gives: a LUT4 is one, a carry
cell (CCU2C) two, a 16x4 distributed RAM (TRELLIS_DPR16X4) two. The
totals line is the whole netlist, so the rows can be checked against it.
"""
import argparse
import collections
import json

# LUT4 sites each cell takes.
LUT_EQ = {"LUT4": 1, "CCU2C": 2, "TRELLIS_DPR16X4": 2}
COLUMNS = ["LUT4", "CCU2C", "TRELLIS_DPR16X4", "TRELLIS_FF", "DP16KD"]


def block_of(name, depth):
    """The first `depth` parts of a cell's hierarchical name; the last part
    is the cell itself, and `$`-suffixes (yosys's split registers) go."""
    parts = name.lstrip("\\$").replace(" ", ".").split(".")
    parts = parts[: min(depth, len(parts) - 1)]
    return ".".join(p.split("$")[0] for p in parts) or "(top)"


def census(netlist, depth, under):
    top = max(netlist["modules"].values(), key=lambda m: len(m.get("cells", {})))
    rows = collections.defaultdict(collections.Counter)
    total = collections.Counter()
    for name, cell in top["cells"].items():
        name = cell.get("attributes", {}).get("hdlname") or name
        kind = cell["type"]
        total[kind] += 1
        total["lut_eq"] += LUT_EQ.get(kind, 0)
        block = block_of(name, depth)
        if not block.startswith(under):
            continue
        rows[block][kind] += 1
        rows[block]["lut_eq"] += LUT_EQ.get(kind, 0)
    return rows, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json")
    ap.add_argument("--depth", type=int, default=2, help="levels of the hierarchy to sum by")
    ap.add_argument("--under", default="", help="only blocks whose name starts with this")
    ap.add_argument("--top", type=int, default=30, help="rows to print")
    args = ap.parse_args()
    with open(args.json) as f:
        rows, total = census(json.load(f), args.depth, args.under)
    header = "".join(f"{c:>10}" for c in ["lut_eq"] + ["LUT4", "CCU2C", "DPR16X4", "FF", "DP16KD"])
    print(f"{'block':44}{header}")

    def line(name, counts):
        return f"{name:44}" + "".join(f"{counts[c]:>10}" for c in ["lut_eq"] + COLUMNS)

    for name, counts in sorted(rows.items(), key=lambda kv: (-kv[1]["lut_eq"], kv[0]))[: args.top]:
        print(line(name, counts))
    print(line("(whole netlist)", total))


if __name__ == "__main__":
    main()
