#!/usr/bin/env bash
# Installs coldaisle on a gateway board (run as root on the board, or with ROOT=/mnt/sdcard to
# prepare an image). Usage: scripts/install-board.sh [--import] BINARY [SITE.toml]
#   BINARY     bin/coldaisle-linux-armv7 or bin/coldaisle-linux-arm64 (make arm / make arm64)
#   SITE.toml  the site configuration; imported into the database on first boot
#   --import   also apply SITE.toml to a board that already runs from its database: the file is
#              validated as the controller would, stored as a new configuration version, and the
#              controller restarted on it (without --import an existing database keeps running its
#              stored version, and the controller's log says how the file differs)
# State lives in /var/lib/coldaisle (bbolt database); configuration in /etc/coldaisle.
set -euo pipefail
import=0
if [ "${1:-}" = "--import" ]; then import=1; shift; fi
bin=${1:?usage: install-board.sh [--import] BINARY [SITE.toml]}
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
db="$root/var/lib/coldaisle/coldaisle.db"
if [ "$import" = 1 ]; then
  [ -n "$site" ] || { echo "install-board: --import needs SITE.toml" >&2; exit 2; }
  if [ -n "$root" ]; then
    echo "install-board: --import runs on the board itself (it needs the board's binary); the file is installed and imported on first boot" >&2
  elif [ -f "$db" ]; then
    running=0
    if command -v systemctl >/dev/null && systemctl is-active --quiet coldaisle.service 2>/dev/null; then
      running=1
      systemctl stop coldaisle.service
    fi
    # The controller's own validation runs first; on a refusal nothing is stored and the old
    # version goes on running.
    if ! /usr/local/bin/coldaisle db import-config "$root/etc/coldaisle/site.toml" --db "$db" --who install-board --comment "install-board --import"; then
      echo "install-board: $site refused; the stored configuration is unchanged" >&2
      [ "$running" = 1 ] && systemctl start coldaisle.service
      exit 1
    fi
  fi
fi
if [ -z "$root" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now coldaisle.service
  echo "install-board: coldaisle enabled and started; 'journalctl -u coldaisle -f' shows it"
else
  echo "install-board: installed under ${root:-/}; enable with 'systemctl enable coldaisle' on the board"
fi
