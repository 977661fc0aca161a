#!/usr/bin/env bash
# Installs coldaisle on a gateway board (run as root on the board, or with ROOT=/mnt/sdcard to
# prepare an image). Usage: scripts/install-board.sh BINARY [SITE.toml]
#   BINARY     bin/coldaisle-linux-armv7 or bin/coldaisle-linux-arm64 (make arm / make arm64)
#   SITE.toml  the site configuration; imported into the database on first boot
# State lives in /var/lib/coldaisle (bbolt database); configuration in /etc/coldaisle.
set -euo pipefail
bin=${1:?usage: install-board.sh BINARY [SITE.toml]}
site=${2:-}
root=${ROOT:-}
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$bin" ] || { echo "install-board: $bin is not an executable" >&2; exit 2; }
install -D -m 0755 "$bin" "$root/usr/local/bin/coldaisle"
install -d -m 0750 "$root/var/lib/coldaisle" "$root/etc/coldaisle"
if [ -n "$site" ]; then
  install -m 0640 "$site" "$root/etc/coldaisle/site.toml"
fi
[ -f "$root/etc/default/coldaisle" ] || printf '# extra flags for coldaisle run, e.g. --console /dev/ttyS0\nCOLDAISLE_ARGS=\n' > "$root/etc/default/coldaisle"
install -D -m 0644 "$here/coldaisle.service" "$root/etc/systemd/system/coldaisle.service"
if [ -z "$root" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now coldaisle.service
  echo "install-board: coldaisle enabled and started; 'journalctl -u coldaisle -f' shows it"
else
  echo "install-board: installed under ${root:-/}; enable with 'systemctl enable coldaisle' on the board"
fi
