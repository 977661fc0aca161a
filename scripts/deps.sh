#!/usr/bin/env bash
# Installs the test peers that `make test` needs, from Debian's packages, only when missing.
# The peers are programs we did not write (socat, mbpoll, pymodbus) plus qemu for the ARM test runs,
# and a C compiler: scripts/test.sh runs the host tests with -race, which needs cgo, which needs one.
# board/ops checks its metrics with promtool (Debian ships it in the prometheus package) and loads
# its status page in headless Chromium.
set -euo pipefail
need=()
command -v socat >/dev/null || need+=(socat)
command -v mbpoll >/dev/null || need+=(mbpoll)
command -v qemu-arm-static >/dev/null || need+=(qemu-user-static)
command -v ip >/dev/null || need+=(iproute2)
/usr/bin/python3 -c 'import pymodbus' 2>/dev/null || need+=(python3-pymodbus)
/usr/bin/python3 -c 'import serial' 2>/dev/null || need+=(python3-serial)
command -v promtool >/dev/null || need+=(prometheus)
command -v chromium >/dev/null || need+=(chromium)
{ command -v gcc || command -v cc; } >/dev/null || need+=(gcc libc6-dev)
if ((${#need[@]})); then
  echo "deps: installing ${need[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "deps: ok"
