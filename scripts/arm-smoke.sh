#!/usr/bin/env bash
# Builds the board binaries and runs them under qemu user emulation: `version`, and a short headless sim.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s arm arm64
for pair in "armv7 qemu-arm-static" "arm64 qemu-aarch64-static"; do
  set -- $pair
  bin="bin/coldaisle-linux-$1"
  size=$(stat -c %s "$bin")
  echo "$bin: $size bytes (aim: at most 10 MB)"
  "$2" "$bin" version
  if "$2" "$bin" help 2>&1 | grep -q '^  sim'; then
    timeout 120 "$2" "$bin" sim --headless --duration 5m --speed 60 --plot "" >/tmp/coldaisle-smoke-$1.log 2>&1 || { tail -40 /tmp/coldaisle-smoke-$1.log; exit 1; }
    tail -3 /tmp/coldaisle-smoke-$1.log
  fi
done
